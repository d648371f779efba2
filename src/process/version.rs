//! Build facts: version, revision, toolchain, and the build-info metrics.

use crate::metrics::{MetricSet, MetricType};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision built from, or `unknown`.
pub const REVISION: &str = env!("HOSTWATCH_REVISION");
/// The rustc version that built this binary.
pub const RUSTC_VERSION: &str = env!("HOSTWATCH_RUSTC_VERSION");
/// What `--version` prints after the program name.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision: ",
    env!("HOSTWATCH_REVISION"),
    ", rustc: ",
    env!("HOSTWATCH_RUSTC_VERSION"),
    ")"
);

/// The CPU architecture in Go's naming (`amd64`, `arm64`), which is what
/// node_exporter's `goarch` label holds and dashboards may match on.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
}

/// Adds `node_exporter_build_info` (what the standard dashboards' instance
/// pickers read) and `hostwatch_build_info`.
pub fn build_info(out: &mut MetricSet) {
    out.family(
        "node_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which node_exporter was built, and the goos and goarch for the build.",
        MetricType::Gauge,
        &["branch", "goarch", "goos", "goversion", "revision", "tags", "version"],
    )
    .push(
        &[
            "",
            go_arch(),
            std::env::consts::OS,
            &format!("rustc{RUSTC_VERSION}"),
            REVISION,
            "hostwatch",
            VERSION,
        ],
        1.0,
    );
    out.family(
        "hostwatch_build_info",
        "A metric with a constant '1' value labeled by the version, revision, rustc version and target of this hostwatch build.",
        MetricType::Gauge,
        &["arch", "os", "revision", "rustversion", "version"],
    )
    .push(
        &[std::env::consts::ARCH, std::env::consts::OS, REVISION, RUSTC_VERSION, VERSION],
        1.0,
    );
}
