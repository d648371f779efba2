//! Helpers for collectors' unit tests: hosts rooted in the fixture tree
//! under `tests/fixtures/` or a test's own tree, building a collector from
//! command-line flags, and running it once.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::exposition::Format;
use crate::host::Host;
use crate::metrics::{Family, MetricSet};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The procfs of the fixture tree.
pub fn fixture_procfs() -> PathBuf {
    fixtures().join("proc")
}

/// The fixture host: `tests/fixtures/{proc,sys,root,udev}`.
pub fn fixture_host() -> Host {
    let root = fixtures();
    Host::new(
        root.join("proc"),
        root.join("sys"),
        root.join("root"),
        root.join("udev"),
    )
}

/// A host whose procfs is `procfs`; its other roots do not exist.
pub fn host_with_procfs(procfs: &Path) -> Arc<Host> {
    Arc::new(Host::new(
        procfs,
        "/nonexistent/sys",
        "/nonexistent/root",
        "/nonexistent/udev",
    ))
}

/// A host whose sysfs is `sysfs`; its other roots do not exist.
pub fn host_with_sysfs(sysfs: &Path) -> Host {
    Host::new(
        "/nonexistent/proc",
        sysfs,
        "/nonexistent/root",
        "/nonexistent/udev",
    )
}

/// Builds `spec`'s collector on `host` with the command-line `flags`.
pub fn build(
    spec: &CollectorSpec,
    host: Host,
    flags: &[&str],
) -> Result<Box<dyn Collector>, String> {
    let options = parse_args(flags).map_err(|e| e.to_string())?;
    let ctx = BuildContext {
        host: Arc::new(host),
        flags: &options.cli.collectors,
        enabled: &options.enabled_collectors,
    };
    (spec.build)(&ctx)
}

/// A procfs in a temporary directory holding `files`: paths under its
/// root (parent directories are created) and their contents.
pub fn procfs_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (path, contents) in files {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("fixture directory");
        }
        std::fs::write(&path, contents).expect("fixture file");
    }
    dir
}

/// Parses a command line given without the program name.
pub fn parse_args(args: &[&str]) -> Result<crate::cli::Options, clap::Error> {
    crate::cli::parse([&["hostwatch"], args].concat())
}

/// Runs `collector` once: its finished families and its result.
pub fn run(collector: &dyn Collector) -> (Vec<Family>, Result<(), CollectError>) {
    let mut out = MetricSet::new();
    let result = collector.update(&mut out);
    (out.into_sorted(), result)
}

/// Every sample of `families` as its family name and value, in order.
pub fn series(families: &[Family]) -> Vec<(&str, f64)> {
    families
        .iter()
        .flat_map(|f| f.samples().iter().map(move |s| (f.name(), s.value)))
        .collect()
}

/// One successful run of `collector`, in the text exposition format.
pub fn render(collector: &dyn Collector) -> String {
    let (families, result) = run(collector);
    if let Err(err) = result {
        panic!("update failed: {err}");
    }
    let mut out = Vec::new();
    Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut out);
    String::from_utf8(out).expect("exposition is UTF-8")
}

/// Creates `dir` (and its parents) and writes each `(file, content)`
/// into it: a host directory in the kernel's format, for one test.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).expect("test directory");
    for (file, content) in files {
        std::fs::write(dir.join(file), content).expect("test file");
    }
}

/// Builds `spec`'s collector on the fixture host and renders one run.
pub fn scrape_fixtures(spec: &CollectorSpec, flags: &[&str]) -> String {
    let collector = build(spec, fixture_host(), flags).expect("collector builds");
    render(collector.as_ref())
}
