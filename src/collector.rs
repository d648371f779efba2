//! The collector interface: what a collector is, how it fails, and how the
//! registry in [`crate::collectors`] describes and builds one.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::collectors::CollectorFlags;
use crate::host::{Host, LineError};
use crate::metrics::MetricSet;

/// A source of metrics about the host, run once per scrape.
///
/// `update` runs on a blocking thread and may do file I/O and syscalls; it
/// must not panic on any host data (a panic is caught and reported as a
/// failure, but is still a bug).
pub trait Collector: Send + Sync + 'static {
    /// Reads the host and appends this collector's families to `out`.
    fn update(&self, out: &mut MetricSet) -> Result<(), CollectError>;
}

/// Why a collector produced no (or partial) data in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectError {
    kind: ErrorKind,
    message: String,
}

/// The two ways a collector run can fail, which differ in how loudly they
/// are logged: both set `node_scrape_collector_success` to 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The host simply lacks what the collector reads (no PSI, no hardware):
    /// logged at debug only, as node_exporter's `ErrNoData`.
    NoData,
    /// Reading or parsing failed.
    Failed,
}

impl CollectError {
    /// A failure with a message that names what failed.
    pub fn failed(message: impl Into<String>) -> CollectError {
        CollectError {
            kind: ErrorKind::Failed,
            message: message.into(),
        }
    }

    /// The host does not have what this collector reads.
    pub fn no_data(message: impl Into<String>) -> CollectError {
        CollectError {
            kind: ErrorKind::NoData,
            message: message.into(),
        }
    }

    /// An I/O error while reading `path`.
    pub fn io(path: &Path, err: &io::Error) -> CollectError {
        CollectError::failed(format!("reading {}: {}", path.display(), err))
    }

    /// An I/O error while reading `path`, where a missing file means the host
    /// lacks the feature (kernel option, hardware) rather than a failure.
    pub fn io_or_no_data(path: &Path, err: &io::Error) -> CollectError {
        if err.kind() == io::ErrorKind::NotFound {
            CollectError::no_data(format!("{} does not exist", path.display()))
        } else {
            CollectError::io(path, err)
        }
    }

    /// Content of `path` that could not be parsed.
    pub fn parse(path: &Path, what: impl fmt::Display) -> CollectError {
        CollectError::failed(format!("parsing {}: {}", path.display(), what))
    }

    /// A failure of [`crate::host::for_each_line`] over `path`: as
    /// [`CollectError::io_or_no_data`] for I/O, and naming the line for a
    /// line that could not be parsed.
    pub fn lines(path: &Path, err: LineError) -> CollectError {
        match err {
            LineError::Io(e) => CollectError::io_or_no_data(path, &e),
            LineError::Refused { line, message } => {
                CollectError::parse(path, format!("line {line}: {message}"))
            }
        }
    }

    /// Which kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, naming the path or call that failed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CollectError {}

/// What a collector's constructor gets: the host and the parsed flags.
pub struct BuildContext<'a> {
    /// The observed host.
    pub host: Arc<Host>,
    /// Every collector-specific flag, parsed.
    pub flags: &'a CollectorFlags,
    /// The names of every enabled collector: node_exporter lets one
    /// collector's output depend on whether another runs.
    pub enabled: &'a [&'static str],
}

impl BuildContext<'_> {
    /// Whether the collector named `name` is enabled.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled.contains(&name)
    }
}

/// A registry entry: a collector's name, its default, what it reads, and how
/// to build it.
pub struct CollectorSpec {
    /// The name used in `--collector.<name>`, `collect[]` and the
    /// `collector` label, exactly as node_exporter's.
    pub name: &'static str,
    /// Whether node_exporter enables it by default on Linux.
    pub default_enabled: bool,
    /// What it reads, for the README and landing page.
    pub reads: &'static str,
    /// Builds the collector; an error names the flag or path at fault and
    /// stops start-up.
    pub build: fn(&BuildContext<'_>) -> Result<Box<dyn Collector>, String>,
}

impl fmt::Debug for CollectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectorSpec")
            .field("name", &self.name)
            .field("default_enabled", &self.default_enabled)
            .finish()
    }
}

/// Helpers for collectors' unit tests: hosts rooted in the fixture tree
/// under `tests/fixtures/` or a test's own tree, building a collector from
/// command-line flags, and running it once.
#[cfg(test)]
pub mod testing {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::{BuildContext, CollectError, Collector, CollectorSpec};
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
}
