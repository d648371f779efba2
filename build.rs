//! Records the git revision and rustc version for `--version` and the
//! build-info metrics, and has cargo relink when the function layout of
//! `scripts/build-dist` changes (it reaches the linker in a flag, which
//! cargo does not track).

use std::path::Path;
use std::process::Command;

fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let revision = std::env::var("HOSTWATCH_REVISION")
        .ok()
        .or_else(|| output_of("git", &["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = output_of(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=HOSTWATCH_REVISION={revision}");
    println!("cargo:rustc-env=HOSTWATCH_RUSTC_VERSION={rustc_version}");
    println!("cargo:rerun-if-env-changed=HOSTWATCH_REVISION");
    println!("cargo:rerun-if-changed=scripts/text-order.txt");
    for git_file in [".git/HEAD", ".git/refs/heads"] {
        if Path::new(git_file).exists() {
            println!("cargo:rerun-if-changed={git_file}");
        }
    }
}
