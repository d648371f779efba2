//! Helpers for collectors' unit tests: hosts rooted in the fixture tree
//! under `tests/fixtures/` or a test's own tree, building a collector from
//! command-line flags, and running it once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::FromArgMatches;

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
pub fn host_with_procfs(procfs: &Path) -> Host {
    Host::new(
        procfs,
        "/nonexistent/sys",
        "/nonexistent/root",
        "/nonexistent/udev",
    )
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

/// A collector built for a test, with the host it reads.
pub struct Built {
    /// The collector.
    pub collector: Box<dyn Collector>,
    /// The host it was built for.
    pub host: Arc<Host>,
}

impl Built {
    /// Runs the collector's `update` on its host.
    pub fn update(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        self.collector.update(&self.host, out)
    }

    /// Runs the collector once, as [`run`].
    pub fn run(&self) -> (Vec<Family>, Result<(), CollectError>) {
        run(self.collector.as_ref(), &self.host)
    }

    /// One successful run, as [`render`].
    pub fn render(&self) -> String {
        render(self.collector.as_ref(), &self.host)
    }
}

/// Builds `spec`'s collector on `host` with the command-line `flags`.
pub fn build(spec: &CollectorSpec, host: Host, flags: &[&str]) -> Result<Built, String> {
    let options = parse_args(flags).map_err(|e| e.to_string())?;
    let host = Arc::new(host);
    let ctx = BuildContext::new(
        Arc::clone(&host),
        &options.matches,
        &options.enabled_collectors,
    );
    let collector = (spec.build)(&ctx)?;
    Ok(Built { collector, host })
}

/// The flags of type `F` (a collector's `Flags`) of a command line given
/// without the program name.
pub fn flags<F: FromArgMatches>(args: &[&str]) -> Result<F, String> {
    let options = parse_args(args).map_err(|e| e.to_string())?;
    Ok(options.collector_flags())
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

/// Runs `collector` once on `host`: its finished families and its result.
pub fn run(collector: &dyn Collector, host: &Host) -> (Vec<Family>, Result<(), CollectError>) {
    let mut out = MetricSet::new();
    let result = collector.update(host, &mut out);
    (out.into_sorted(), result)
}

/// Every sample of `families` as its family name and value, in order.
pub fn series(families: &[Family]) -> Vec<(&str, f64)> {
    families
        .iter()
        .flat_map(|f| f.samples().iter().map(move |s| (f.name(), s.value)))
        .collect()
}

/// One successful run of `collector` on `host`, in the text exposition
/// format.
pub fn render(collector: &dyn Collector, host: &Host) -> String {
    let (families, result) = run(collector, host);
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
    build(spec, fixture_host(), flags)
        .expect("collector builds")
        .render()
}
