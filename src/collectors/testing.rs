//! Test support: runs a collector against the fixture host tree under
//! `tests/fixtures/` and renders what it reports in the text format.

use std::path::PathBuf;
use std::sync::Arc;

use crate::collector::{BuildContext, Collector, CollectorSpec};
use crate::exposition::Format;
use crate::host::Host;
use crate::metrics::MetricSet;

/// The fixture host: `tests/fixtures/{proc,sys,root,udev}`.
pub fn fixture_host() -> Host {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    Host::new(
        root.join("proc"),
        root.join("sys"),
        root.join("root"),
        root.join("udev"),
    )
}

/// Builds `spec`'s collector on `host` with the command-line `flags`.
pub fn build(
    spec: &CollectorSpec,
    host: Host,
    flags: &[&str],
) -> Result<Box<dyn Collector>, String> {
    let args = std::iter::once("hostwatch").chain(flags.iter().copied());
    let options = crate::cli::parse(args).map_err(|e| e.to_string())?;
    let ctx = BuildContext {
        host: Arc::new(host),
        flags: &options.cli.collectors,
    };
    (spec.build)(&ctx)
}

/// One run of `collector`, in the text exposition format.
pub fn render(collector: &dyn Collector) -> String {
    let mut set = MetricSet::new();
    if let Err(err) = collector.update(&mut set) {
        panic!("update failed: {err}");
    }
    let families = set.into_sorted();
    let mut out = Vec::new();
    Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut out);
    String::from_utf8(out).expect("exposition is UTF-8")
}

/// Builds `spec`'s collector on the fixture host and renders one run.
pub fn scrape_fixtures(spec: &CollectorSpec, flags: &[&str]) -> String {
    let collector = build(spec, fixture_host(), flags).expect("collector builds");
    render(collector.as_ref())
}
