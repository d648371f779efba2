//! The collectors, one per file with node_exporter's name, and what a
//! collector is: the [`Collector`] trait, how a run fails
//! ([`CollectError`]), and the [`CollectorSpec`] that registers one in
//! [`registry`].
//!
//! A collector file holds its registry entry (`SPEC`), its flags if it has
//! any, pure parsers from kernel text to typed values, and its `update`.
//! What several collectors share and that is not a collector itself lives
//! in [`common`]; kernel file formats that several read live in
//! [`crate::kernel`].
//!
//! May import: [`crate::host`], [`crate::kernel`], [`crate::metrics`],
//! [`crate::parse`] and the lowest layer; never the command line, the scrape
//! or the HTTP layer.

pub mod common;
pub mod registry;

pub mod arp;
pub mod bcache;
pub mod bcachefs;
pub mod bonding;
pub mod btrfs;
pub mod buddyinfo;
pub mod cgroups;
pub mod cgroupstats;
pub mod conntrack;
pub mod cpu;
pub mod cpu_vulnerabilities;
pub mod cpufreq;
pub mod diskstats;
pub mod dmi;
pub mod dmmultipath;
pub mod drbd;
pub mod drm;
pub mod edac;
pub mod entropy;
pub mod ethtool;
pub mod fibrechannel;
pub mod filefd;
pub mod filesystem;
pub mod hwmon;
pub mod infiniband;
pub mod interrupts;
pub mod ipvs;
pub mod kernel_hung;
pub mod ksmd;
pub mod lnstat;
pub mod loadavg;
pub mod logind;
pub mod mdadm;
pub mod meminfo;
pub mod meminfo_numa;
pub mod mountstats;
pub mod netclass;
pub mod netdev;
pub mod netstat;
pub mod network_route;
pub mod nfs;
pub mod nfsd;
pub mod nvme;
pub mod nvmesubsystem;
pub mod os;
pub mod pcidevice;
pub mod powersupplyclass;
pub mod pressure;
pub mod processes;
pub mod qdisc;
pub mod rapl;
pub mod schedstat;
pub mod selinux;
pub mod slabinfo;
pub mod sockstat;
pub mod softirqs;
pub mod softnet;
pub mod stat;
pub mod swap;
pub mod sysctl;
pub mod systemd;
pub mod tapestats;
pub mod tcpstat;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod timex;
pub mod udp_queues;
pub mod uname;
pub mod vmstat;
pub mod watchdog;
pub mod wifi;
pub mod xfrm;
pub mod xfs;
pub mod zfs;
pub mod zoneinfo;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{ArgMatches, Command, FromArgMatches};

use crate::host::{Host, LineError};
use crate::metrics::MetricSet;
use crate::unpoisoned::lock;

/// A source of metrics about the host, run once per scrape.
///
/// `update` runs on a blocking thread and may do file I/O and syscalls; it
/// must not panic on any host data (a panic is caught and reported as a
/// failure, but is still a bug).
pub trait Collector: Send + Sync + 'static {
    /// Reads `host` and appends this collector's families to `out`.
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError>;

    /// [`Collector::update`] for a run whose scrapes stop waiting at
    /// `deadline`. A collector whose calls can block for long (`statfs` of
    /// a hung mount, a D-Bus service that stopped answering) overrides it to
    /// return what it has by then, or fail, rather than be cut off by the
    /// scrape with nothing; the others ignore the deadline.
    fn update_until(
        &self,
        host: &Host,
        out: &mut MetricSet,
        deadline: &RunDeadline,
    ) -> Result<(), CollectError> {
        let _ = deadline;
        self.update(host, out)
    }
}

/// When the scrapes waiting for one collector run stop waiting: the
/// earliest deadline of the scrapes that started or joined it. A scrape
/// joining a run in flight may bring it forward, never push it back.
#[derive(Debug, Clone)]
pub struct RunDeadline(Arc<Mutex<Instant>>);

impl RunDeadline {
    /// A deadline at `at`.
    pub fn at(at: Instant) -> RunDeadline {
        RunDeadline(Arc::new(Mutex::new(at)))
    }

    /// A deadline `budget` from now (the cut-off of a run outside a scrape).
    pub fn after(budget: Duration) -> RunDeadline {
        let now = Instant::now();
        RunDeadline::at(
            now.checked_add(budget)
                .unwrap_or(now + Duration::from_secs(86_400)),
        )
    }

    /// The instant, as it stands now.
    pub fn instant(&self) -> Instant {
        *lock(&self.0)
    }

    /// What is left of it; zero once past.
    pub fn remaining(&self) -> Duration {
        self.instant().saturating_duration_since(Instant::now())
    }

    /// Brings the deadline forward to `at`, if that is earlier.
    pub fn bring_forward(&self, at: Instant) {
        let mut current = lock(&self.0);
        if at < *current {
            *current = at;
        }
    }
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

/// What a collector's constructor gets: the host, the command line, and
/// which collectors are enabled.
pub struct BuildContext<'a> {
    /// The observed host.
    pub host: Arc<Host>,
    matches: &'a ArgMatches,
    enabled: &'a [&'static str],
}

impl<'a> BuildContext<'a> {
    /// The context of a start-up: the command line's `matches`, which hold
    /// every collector's flags, and the names of the `enabled` collectors.
    pub fn new(
        host: Arc<Host>,
        matches: &'a ArgMatches,
        enabled: &'a [&'static str],
    ) -> BuildContext<'a> {
        BuildContext {
            host,
            matches,
            enabled,
        }
    }

    /// The flags a collector declared in its [`CollectorSpec::flags`].
    pub fn flags<F: FromArgMatches>(&self) -> Result<F, String> {
        F::from_arg_matches(self.matches).map_err(|e| e.to_string())
    }

    /// Whether the collector named `name` is enabled: node_exporter lets one
    /// collector's output depend on whether another runs.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.enabled.contains(&name)
    }
}

/// A registry entry: a collector's name, its default, what it reads, its
/// flags, and how to build it.
pub struct CollectorSpec {
    /// The name used in `--collector.<name>`, `collect[]` and the
    /// `collector` label, exactly as node_exporter's.
    pub name: &'static str,
    /// Whether node_exporter enables it by default on Linux.
    pub default_enabled: bool,
    /// What it reads, for the docs and landing page.
    pub reads: &'static str,
    /// Adds the collector's `--collector.<name>.*` flags to the command line
    /// (a `clap::Args` type's `augment_args`), which [`BuildContext::flags`]
    /// reads back. Booleans are declared as plain `bool` fields: the command
    /// line gives every one node_exporter's `--flag`, `--flag=false` and
    /// `--no-flag` forms.
    pub flags: Option<fn(Command) -> Command>,
    /// Builds the collector; an error names the flag or path at fault and
    /// stops start-up.
    pub build: fn(&BuildContext<'_>) -> Result<Box<dyn Collector>, String>,
}

/// Builds a collector that keeps nothing and takes no flags: the
/// [`CollectorSpec::build`] of most collectors.
pub fn plain<C: Collector + Default>(_: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(C::default()))
}

impl fmt::Debug for CollectorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectorSpec")
            .field("name", &self.name)
            .field("default_enabled", &self.default_enabled)
            .finish()
    }
}
