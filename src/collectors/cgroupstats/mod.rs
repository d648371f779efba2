//! `cgroupstats`: CPU, memory, pids, pressure and optionally I/O of the
//! cgroup v2 hierarchy's workloads (the kubelet's pods and containers, the
//! system services), from the interface files under
//! `<sysfs>/fs/cgroup` (or its `unified/` mount on a hybrid host).
//!
//! The walk is breadth first, in name order, so that when
//! `--collector.cgroupstats.max-cgroups` cuts the list it keeps the
//! top of the tree (kubepods, the QoS classes, the slices) and drops the
//! deepest. Below `kubepods` the level is chosen by
//! `--collector.cgroupstats.kubepods-level`; elsewhere by
//! `--collector.cgroupstats.max-depth`. The root itself is the node, which
//! the node-wide collectors already report.
//!
//! Every file and every key is optional: a controller not enabled for a
//! cgroup leaves its files out, older kernels lack some keys, and a cgroup
//! removed during the walk answers `ENOENT` or `ENODEV`; each costs only its
//! series. A file that cannot be parsed, or another read error, fails the
//! run after every other series has been written.
//!
//! Files are opened afresh each scrape rather than kept open: cgroups come
//! and go with the workloads, and there may be thousands of them.

pub mod files;
pub mod workload;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use regex_lite::Regex;

use crate::collectors::common::device_filter::DeviceFilter;
use crate::collectors::diskstats;
use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_file_text, read_text, Host};
use crate::kernel::psi::PsiStats;
use crate::metrics::{Desc, MetricSet, MetricType};

use self::files::{block_device_names, flat_keyed, value_of, CpuMax, IoStatLine, Limit};
use self::workload::{
    container_id, is_kubepods, kubepods_child, pod_uid, KubepodsChild, QosClass, Runtime,
};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "cgroupstats",
    default_enabled: false,
    reads: "/sys/fs/cgroup/**/{cpu,memory,pids,io,cgroup}.*, /proc/diskstats",
    flags: Some(Flags::augment_args),
    build,
};

/// Flags of the cgroupstats collector.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Deepest level reported below the kubelet's kubepods cgroup: qos, pod
    /// or container.
    #[arg(id = "collector.cgroupstats.kubepods-level", long = "collector.cgroupstats.kubepods-level",
          value_name = "LEVEL", default_value = "pod", value_parser = KubepodsLevel::parse)]
    pub kubepods_level: KubepodsLevel,

    /// Deepest level reported of the other cgroups, counted from the root
    /// (system.slice is 1, system.slice/containerd.service 2).
    #[arg(
        id = "collector.cgroupstats.max-depth",
        long = "collector.cgroupstats.max-depth",
        value_name = "DEPTH",
        default_value_t = 2
    )]
    pub max_depth: usize,

    /// Regexp of cgroup paths to report, matched against the whole path
    /// below the root.
    #[arg(id = "collector.cgroupstats.cgroup-include", long = "collector.cgroupstats.cgroup-include",
          value_name = "REGEX", value_parser = crate::parse::regex)]
    pub cgroup_include: Option<Regex>,

    /// Regexp of cgroup paths not to report, matched against the whole path
    /// below the root.
    #[arg(id = "collector.cgroupstats.cgroup-exclude", long = "collector.cgroupstats.cgroup-exclude",
          value_name = "REGEX", value_parser = crate::parse::regex)]
    pub cgroup_exclude: Option<Regex>,

    /// Most cgroups reported in one scrape; node_cgroup_dropped_cgroups
    /// counts those left out.
    #[arg(
        id = "collector.cgroupstats.max-cgroups",
        long = "collector.cgroupstats.max-cgroups",
        value_name = "COUNT",
        default_value_t = 1000
    )]
    pub max_cgroups: usize,

    /// Report io.stat per device (devices filtered by the diskstats device
    /// flags).
    #[arg(id = "collector.cgroupstats.io", long = "collector.cgroupstats.io")]
    pub io: bool,

    /// Runtime of container cgroups named by a bare id (the cgroupfs driver
    /// with containerd or cri-dockerd): containerd, cri-o or docker.
    #[arg(id = "collector.cgroupstats.cgroupfs-runtime", long = "collector.cgroupstats.cgroupfs-runtime",
          value_name = "RUNTIME", default_value = "containerd", value_parser = Runtime::parse)]
    pub cgroupfs_runtime: Runtime,
}

/// How deep below kubepods the collector goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KubepodsLevel {
    /// kubepods and its Burstable and BestEffort cgroups.
    Qos,
    /// And each pod.
    Pod,
    /// And each container of each pod.
    Container,
}

impl KubepodsLevel {
    /// Parses `qos`, `pod` or `container`.
    pub fn parse(text: &str) -> Result<KubepodsLevel, String> {
        match text {
            "qos" => Ok(KubepodsLevel::Qos),
            "pod" => Ok(KubepodsLevel::Pod),
            "container" => Ok(KubepodsLevel::Container),
            other => Err(format!(
                "unknown level {other:?}: expected qos, pod or container"
            )),
        }
    }
}

/// Anchors a pattern so that it must match a whole path.
fn whole_path(pattern: Option<&Regex>) -> Result<Option<Regex>, String> {
    pattern
        .map(|p| Regex::new(&format!("^(?:{})$", p.as_str())).map_err(|e| e.to_string()))
        .transpose()
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags = ctx.flags::<Flags>()?;
    if flags.max_cgroups == 0 {
        return Err("--collector.cgroupstats.max-cgroups must be at least 1".to_string());
    }
    let cgroups = DeviceFilter::new(
        whole_path(flags.cgroup_exclude.as_ref())?,
        whole_path(flags.cgroup_include.as_ref())?,
    );
    let devices = ctx.flags::<diskstats::Flags>()?.device_filter()?;
    Ok(Box::new(CgroupstatsCollector {
        kubepods_level: flags.kubepods_level,
        max_depth: flags.max_depth,
        max_cgroups: flags.max_cgroups,
        io: flags.io,
        cgroupfs_runtime: flags.cgroupfs_runtime,
        cgroups,
        devices,
        v1_logged: AtomicBool::new(false),
    }))
}

/// Reports the `node_cgroup_*` families.
struct CgroupstatsCollector {
    kubepods_level: KubepodsLevel,
    max_depth: usize,
    max_cgroups: usize,
    io: bool,
    cgroupfs_runtime: Runtime,
    /// The include and exclude patterns of cgroup paths.
    cgroups: DeviceFilter,
    /// The diskstats device filter, for io.stat's devices.
    devices: DeviceFilter,
    /// Whether the "no cgroup v2 hierarchy" line has been logged.
    v1_logged: AtomicBool,
}

/// What a cgroup is, which decides its labels and whether the walk goes
/// below it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// The hierarchy's root: not reported.
    Root,
    /// The kubelet's `kubepods`.
    Kubepods,
    /// A QoS class cgroup below kubepods.
    Qos(QosClass),
    /// A pod, with its UID.
    Pod { uid: String, qos: QosClass },
    /// A container of a pod.
    Container {
        uid: String,
        qos: QosClass,
        id: String,
    },
    /// Any other cgroup, at its depth below the root.
    Other { depth: usize },
}

/// One cgroup of the walk: its path below the root and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cgroup {
    path: String,
    kind: Kind,
}

impl Cgroup {
    /// The label values: `cgroup`, `uid`, `qos_class`, `container_id`.
    fn labels(&self) -> [&str; 4] {
        match &self.kind {
            Kind::Root | Kind::Kubepods | Kind::Other { .. } => [&self.path, "", "", ""],
            Kind::Qos(qos) => [&self.path, "", qos.label(), ""],
            Kind::Pod { uid, qos } => [&self.path, uid, qos.label(), ""],
            Kind::Container { uid, qos, id } => [&self.path, uid, qos.label(), id],
        }
    }
}

const LABELS: [&str; 4] = ["cgroup", "uid", "qos_class", "container_id"];

/// The cgroups a walk chose, in the order reported, and how many matched
/// but were left out by the cap.
#[derive(Debug, Default)]
struct Walk {
    chosen: Vec<Cgroup>,
    dropped: usize,
}

impl CgroupstatsCollector {
    /// What the child `name` of `parent` is, and whether it is within the
    /// levels reported; `None` when it is not.
    fn child_kind(&self, parent: &Kind, name: &str) -> Option<Kind> {
        let kind = match parent {
            Kind::Root if is_kubepods(name) => Kind::Kubepods,
            Kind::Root => Kind::Other { depth: 1 },
            Kind::Kubepods => match kubepods_child(name) {
                Some(KubepodsChild::Qos(qos)) => Kind::Qos(qos),
                Some(KubepodsChild::Pod(uid)) => Kind::Pod {
                    uid,
                    qos: QosClass::Guaranteed,
                },
                None => Kind::Other { depth: 2 },
            },
            Kind::Qos(qos) => match pod_uid(name, *qos) {
                Some(uid) => Kind::Pod { uid, qos: *qos },
                None => return None,
            },
            Kind::Pod { uid, qos } => Kind::Container {
                uid: uid.clone(),
                qos: *qos,
                id: container_id(name, self.cgroupfs_runtime)?,
            },
            Kind::Container { .. } => return None,
            Kind::Other { depth } => Kind::Other { depth: depth + 1 },
        };
        self.within_levels(&kind).then_some(kind)
    }

    fn within_levels(&self, kind: &Kind) -> bool {
        match kind {
            Kind::Root | Kind::Kubepods | Kind::Qos(_) => true,
            Kind::Pod { .. } => self.kubepods_level >= KubepodsLevel::Pod,
            Kind::Container { .. } => self.kubepods_level >= KubepodsLevel::Container,
            Kind::Other { depth } => *depth <= self.max_depth,
        }
    }

    /// Walks the hierarchy under `root`, breadth first and in name order.
    fn walk(&self, root: &Path) -> Walk {
        let mut walk = Walk::default();
        let mut queue = VecDeque::from([Cgroup {
            path: String::new(),
            kind: Kind::Root,
        }]);
        while let Some(cgroup) = queue.pop_front() {
            for name in subdirectories(&root.join(&cgroup.path)) {
                let Some(kind) = self.child_kind(&cgroup.kind, &name) else {
                    continue;
                };
                let path = match cgroup.kind {
                    Kind::Root => name,
                    _ => format!("{}/{}", cgroup.path, name),
                };
                let child = Cgroup { path, kind };
                if !self.cgroups.ignored(&child.path) {
                    if walk.chosen.len() < self.max_cgroups {
                        walk.chosen.push(child.clone());
                    } else {
                        walk.dropped += 1;
                    }
                }
                queue.push_back(child);
            }
        }
        walk
    }
}

/// The names of the directories in `dir`, sorted; none if it cannot be read
/// (a cgroup removed during the walk).
fn subdirectories(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort_unstable();
    names
}

/// The cgroup v2 hierarchy's root under `sysfs`: `fs/cgroup` on a unified
/// host, `fs/cgroup/unified` on a hybrid one; `None` on a v1-only host.
fn hierarchy_root(sysfs: &Path) -> Option<PathBuf> {
    let mount = sysfs.join("fs/cgroup");
    [mount.clone(), mount.join("unified")]
        .into_iter()
        .find(|root| root.join("cgroup.controllers").is_file())
}

/// What was read of one cgroup; `None` where the file or key is missing.
#[derive(Debug, Default, Clone, PartialEq)]
struct Reading {
    cpu_user_usec: Option<u64>,
    cpu_system_usec: Option<u64>,
    cpu_periods: Option<u64>,
    cpu_throttled_periods: Option<u64>,
    cpu_throttled_usec: Option<u64>,
    cpu_max: Option<CpuMax>,
    memory_current: Option<u64>,
    memory_max: Option<Limit>,
    memory_high: Option<Limit>,
    memory_stat: [Option<u64>; MEMORY_STAT_KEYS.len()],
    memory_events: Vec<(String, u64)>,
    swap_current: Option<u64>,
    swap_max: Option<Limit>,
    pids_current: Option<u64>,
    pids_max: Option<Limit>,
    pressure: [Option<PsiStats>; 3],
    descendants: Option<u64>,
    dying_descendants: Option<u64>,
    io: Vec<IoStatLine>,
}

/// The memory.stat keys reported, each as `node_cgroup_memory_<key>_bytes`.
const MEMORY_STAT_KEYS: [(&str, &str); 7] = [
    (
        "anon",
        "Anonymous memory (heap, stack, private mappings) of the cgroup in bytes.",
    ),
    ("file", "Page cache memory of the cgroup in bytes."),
    ("shmem", "Shared memory and tmpfs of the cgroup in bytes."),
    (
        "kernel",
        "Kernel memory of the cgroup in bytes (Linux 5.18 and later).",
    ),
    ("sock", "Network buffer memory of the cgroup in bytes."),
    (
        "active_file",
        "Page cache of the cgroup on the active LRU list in bytes.",
    ),
    (
        "inactive_file",
        "Page cache of the cgroup on the inactive LRU list (reclaimed first) in bytes.",
    ),
];

/// The pressure files, in the order of [`Reading::pressure`].
const PRESSURE_FILES: [&str; 3] = ["cpu.pressure", "memory.pressure", "io.pressure"];

/// Reads of one scrape that failed for another reason than the file or the
/// cgroup being gone: the first is reported, with how many there were.
#[derive(Debug, Default)]
struct Failures {
    first: Option<CollectError>,
    count: usize,
}

impl Failures {
    fn note(&mut self, err: CollectError) {
        self.count += 1;
        self.first.get_or_insert(err);
    }

    fn into_result(self) -> Result<(), CollectError> {
        match self.first {
            None => Ok(()),
            Some(first) if self.count == 1 => Err(first),
            Some(first) => Err(CollectError::failed(format!(
                "{first} (and {} more cgroup files)",
                self.count - 1
            ))),
        }
    }
}

/// Whether a read error means the file or its cgroup is not there: a
/// controller not enabled, a cgroup removed during the walk, or PSI
/// disabled (`psi=0` answers `EOPNOTSUPP`).
fn is_absent(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound
        || matches!(
            err.raw_os_error(),
            Some(libc::ENODEV) | Some(libc::EOPNOTSUPP)
        )
}

/// Reads and parses the cgroup's file `name` in `dir`; `None` when it is
/// absent or failed (the failure noted).
fn read_parsed<T>(
    dir: &Path,
    name: &str,
    failures: &mut Failures,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let path = dir.join(name);
    let text = match File::open(&path).and_then(|file| read_file_text(&file)) {
        Ok(text) => text,
        Err(err) if is_absent(&err) => return None,
        Err(err) => {
            failures.note(CollectError::io(&path, &err));
            return None;
        }
    };
    parse(&text)
        .map_err(|e| failures.note(CollectError::parse(&path, e)))
        .ok()
}

impl Reading {
    fn read(dir: &Path, with_io: bool, failures: &mut Failures) -> Reading {
        let mut reading = Reading::default();
        read_parsed(dir, "cpu.stat", failures, |text| {
            let pairs = flat_keyed(text)?;
            reading.cpu_user_usec = value_of(&pairs, "user_usec");
            reading.cpu_system_usec = value_of(&pairs, "system_usec");
            reading.cpu_periods = value_of(&pairs, "nr_periods");
            reading.cpu_throttled_periods = value_of(&pairs, "nr_throttled");
            reading.cpu_throttled_usec = value_of(&pairs, "throttled_usec");
            Ok(())
        });
        reading.cpu_max = read_parsed(dir, "cpu.max", failures, CpuMax::parse);
        reading.memory_current = read_parsed(dir, "memory.current", failures, files::count);
        reading.memory_max = read_parsed(dir, "memory.max", failures, Limit::parse);
        reading.memory_high = read_parsed(dir, "memory.high", failures, Limit::parse);
        read_parsed(dir, "memory.stat", failures, |text| {
            let pairs = flat_keyed(text)?;
            for (slot, (key, _)) in reading.memory_stat.iter_mut().zip(MEMORY_STAT_KEYS) {
                *slot = value_of(&pairs, key);
            }
            Ok(())
        });
        read_parsed(dir, "memory.events", failures, |text| {
            reading.memory_events = flat_keyed(text)?
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            Ok(())
        });
        reading.swap_current = read_parsed(dir, "memory.swap.current", failures, files::count);
        reading.swap_max = read_parsed(dir, "memory.swap.max", failures, Limit::parse);
        reading.pids_current = read_parsed(dir, "pids.current", failures, files::count);
        reading.pids_max = read_parsed(dir, "pids.max", failures, Limit::parse);
        for (slot, file) in reading.pressure.iter_mut().zip(PRESSURE_FILES) {
            *slot = read_parsed(dir, file, failures, PsiStats::parse);
        }
        read_parsed(dir, "cgroup.stat", failures, |text| {
            let pairs = flat_keyed(text)?;
            reading.descendants = value_of(&pairs, "nr_descendants");
            reading.dying_descendants = value_of(&pairs, "nr_dying_descendants");
            Ok(())
        });
        if with_io {
            reading.io = read_parsed(dir, "io.stat", failures, |text| {
                Ok(IoStatLine::parse_all(text))
            })
            .unwrap_or_default();
        }
        reading
    }
}

/// Microseconds to seconds, dividing twice as the pressure collector does.
fn seconds(micros: u64) -> f64 {
    micros as f64 / 1000.0 / 1000.0
}

/// A family with one value per cgroup, read from a [`Reading`].
type Value = fn(&Reading) -> Option<f64>;

const PER_CGROUP: &[Desc<Value>] = &[
    Desc::counter(
        "node_cgroup_cpu_periods_total",
        "Number of CFS bandwidth enforcement periods that have elapsed for the cgroup.",
        |r| r.cpu_periods.map(|v| v as f64),
    ),
    Desc::counter(
        "node_cgroup_cpu_throttled_periods_total",
        "Number of CFS bandwidth periods in which the cgroup was throttled.",
        |r| r.cpu_throttled_periods.map(|v| v as f64),
    ),
    Desc::counter(
        "node_cgroup_cpu_throttled_seconds_total",
        "Total time in seconds the cgroup was throttled by its CPU quota.",
        |r| r.cpu_throttled_usec.map(seconds),
    ),
    Desc::gauge(
        "node_cgroup_cpu_quota_seconds",
        "CPU time in seconds the cgroup may use per period (cpu.max); absent when unlimited.",
        |r| r.cpu_max.and_then(|m| m.quota).map(seconds),
    ),
    Desc::gauge(
        "node_cgroup_cpu_period_seconds",
        "Length in seconds of the cgroup's CFS bandwidth period (cpu.max).",
        |r| r.cpu_max.map(|m| seconds(m.period)),
    ),
    Desc::gauge(
        "node_cgroup_memory_current_bytes",
        "Memory in use by the cgroup and its descendants in bytes.",
        |r| r.memory_current.map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_memory_max_bytes",
        "Memory limit of the cgroup in bytes (memory.max); absent when unlimited.",
        |r| r.memory_max.and_then(Limit::value).map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_memory_high_bytes",
        "Memory throttling threshold of the cgroup in bytes (memory.high); absent when unlimited.",
        |r| r.memory_high.and_then(Limit::value).map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_memory_swap_current_bytes",
        "Swap in use by the cgroup and its descendants in bytes.",
        |r| r.swap_current.map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_memory_swap_max_bytes",
        "Swap limit of the cgroup in bytes (memory.swap.max); absent when unlimited.",
        |r| r.swap_max.and_then(Limit::value).map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_pids",
        "Number of processes and threads in the cgroup and its descendants.",
        |r| r.pids_current.map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_pids_max",
        "Limit on processes and threads of the cgroup (pids.max); absent when unlimited.",
        |r| r.pids_max.and_then(Limit::value).map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_descendants",
        "Number of live descendant cgroups of the cgroup.",
        |r| r.descendants.map(|v| v as f64),
    ),
    Desc::gauge(
        "node_cgroup_dying_descendants",
        "Number of removed descendant cgroups the kernel still holds (dying).",
        |r| r.dying_descendants.map(|v| v as f64),
    ),
];

/// The pressure families: (resource index, `some` or `full`, name, help),
/// the names and help texts of `node_pressure_*` for a cgroup.
const PRESSURE: [(usize, bool, &str, &str); 6] = [
    (
        0,
        false,
        "node_cgroup_pressure_cpu_waiting_seconds_total",
        "Total time in seconds that processes of the cgroup have waited for CPU time",
    ),
    (
        0,
        true,
        "node_cgroup_pressure_cpu_stalled_seconds_total",
        "Total time in seconds no process of the cgroup could make progress due to CPU congestion",
    ),
    (
        1,
        false,
        "node_cgroup_pressure_memory_waiting_seconds_total",
        "Total time in seconds that processes of the cgroup have waited for memory",
    ),
    (
        1,
        true,
        "node_cgroup_pressure_memory_stalled_seconds_total",
        "Total time in seconds no process of the cgroup could make progress due to memory congestion",
    ),
    (
        2,
        false,
        "node_cgroup_pressure_io_waiting_seconds_total",
        "Total time in seconds that processes of the cgroup have waited due to IO congestion",
    ),
    (
        2,
        true,
        "node_cgroup_pressure_io_stalled_seconds_total",
        "Total time in seconds no process of the cgroup could make progress due to IO congestion",
    ),
];

/// A per-device io.stat counter, read from one device's line.
type IoValue = fn(&IoStatLine) -> Option<u64>;

/// The io.stat families, with the `node_disk_*` counterparts' names.
const IO_STAT: [Desc<IoValue>; 6] = [
    Desc::counter(
        "node_cgroup_io_read_bytes_total",
        "The total number of bytes read by the cgroup from the device.",
        |l| l.read_bytes,
    ),
    Desc::counter(
        "node_cgroup_io_written_bytes_total",
        "The total number of bytes written by the cgroup to the device.",
        |l| l.written_bytes,
    ),
    Desc::counter(
        "node_cgroup_io_reads_completed_total",
        "The total number of reads of the cgroup from the device completed successfully.",
        |l| l.reads,
    ),
    Desc::counter(
        "node_cgroup_io_writes_completed_total",
        "The total number of writes of the cgroup to the device completed successfully.",
        |l| l.writes,
    ),
    Desc::counter(
        "node_cgroup_io_discarded_bytes_total",
        "The total number of bytes the cgroup discarded on the device.",
        |l| l.discarded_bytes,
    ),
    Desc::counter(
        "node_cgroup_io_discards_completed_total",
        "The total number of discards of the cgroup on the device completed successfully.",
        |l| l.discards,
    ),
];

impl Collector for CgroupstatsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let Some(root) = hierarchy_root(host.sysfs()) else {
            if !self.v1_logged.swap(true, Ordering::Relaxed) {
                tracing::info!(
                    path = %host.sys_path("fs/cgroup").display(),
                    "no cgroup v2 hierarchy (cgroup.controllers) found: cgroupstats reports nothing on a cgroup v1 host"
                );
            }
            return Err(CollectError::no_data(
                "no cgroup v2 hierarchy under the sysfs cgroup mount",
            ));
        };
        let walk = self.walk(&root);
        let mut failures = Failures::default();
        let readings: Vec<Reading> = walk
            .chosen
            .iter()
            .map(|cgroup| Reading::read(&root.join(&cgroup.path), self.io, &mut failures))
            .collect();
        let devices = if readings.iter().any(|r| !r.io.is_empty()) {
            self.device_names(host, &mut failures)
        } else {
            HashMap::new()
        };
        emit(out, &walk, &readings, &devices);
        failures.into_result()
    }
}

impl CgroupstatsCollector {
    /// Block device names by number, as the diskstats filter passes them.
    fn device_names(&self, host: &Host, failures: &mut Failures) -> HashMap<(u32, u32), String> {
        let path = host.proc_path("diskstats");
        match read_text(&path) {
            Ok(text) => block_device_names(&text)
                .into_iter()
                .filter(|(_, name)| !self.devices.ignored(name))
                .collect(),
            Err(err) => {
                failures.note(CollectError::io(&path, &err));
                HashMap::new()
            }
        }
    }
}

fn emit(
    out: &mut MetricSet,
    walk: &Walk,
    readings: &[Reading],
    devices: &HashMap<(u32, u32), String>,
) {
    let cgroups = || walk.chosen.iter().zip(readings);
    let cpu = out.family(
        "node_cgroup_cpu_seconds_total",
        "Seconds the cgroup's tasks spent in each mode.",
        MetricType::Counter,
        &[LABELS.as_slice(), &["mode"]].concat(),
    );
    for (cgroup, reading) in cgroups() {
        let [path, uid, qos, id] = cgroup.labels();
        for (mode, value) in [
            ("user", reading.cpu_user_usec),
            ("system", reading.cpu_system_usec),
        ] {
            if let Some(value) = value {
                cpu.push(&[path, uid, qos, id, mode], seconds(value));
            }
        }
    }
    for desc in PER_CGROUP {
        let family = desc.family(out, &LABELS);
        for (cgroup, reading) in cgroups() {
            if let Some(value) = (desc.source)(reading) {
                family.push(&cgroup.labels(), value);
            }
        }
    }
    for (index, (key, help)) in MEMORY_STAT_KEYS.iter().enumerate() {
        let family = out.family(
            format!("node_cgroup_memory_{key}_bytes"),
            *help,
            MetricType::Gauge,
            &LABELS,
        );
        for (cgroup, reading) in cgroups() {
            if let Some(value) = reading.memory_stat[index] {
                family.push(&cgroup.labels(), value as f64);
            }
        }
    }
    let events = out.family(
        "node_cgroup_memory_events_total",
        "Number of times the cgroup hit each memory event (memory.events): reclaim below low, throttling above high, the max limit, OOM, OOM kills.",
        MetricType::Counter,
        &[LABELS.as_slice(), &["event"]].concat(),
    );
    for (cgroup, reading) in cgroups() {
        let [path, uid, qos, id] = cgroup.labels();
        for (event, value) in &reading.memory_events {
            events.push(&[path, uid, qos, id, event], *value as f64);
        }
    }
    for (resource, full, name, help) in PRESSURE {
        let family = out.family(name, help, MetricType::Counter, &LABELS);
        for (cgroup, reading) in cgroups() {
            let line = reading.pressure[resource].and_then(|p| if full { p.full } else { p.some });
            if let Some(line) = line {
                family.push(&cgroup.labels(), seconds(line.total));
            }
        }
    }
    for desc in IO_STAT {
        let family = desc.family(out, &[LABELS.as_slice(), &["device"]].concat());
        for (cgroup, reading) in cgroups() {
            let [path, uid, qos, id] = cgroup.labels();
            for line in &reading.io {
                let (Some(device), Some(value)) =
                    (devices.get(&(line.major, line.minor)), (desc.source)(line))
                else {
                    continue;
                };
                family.push(&[path, uid, qos, id, device], value as f64);
            }
        }
    }
    out.gauge(
        "node_cgroup_cgroups",
        "Number of cgroups reported by the cgroupstats collector.",
        walk.chosen.len() as f64,
    );
    out.gauge(
        "node_cgroup_dropped_cgroups",
        "Number of cgroups within the reported levels left out because --collector.cgroupstats.max-cgroups was reached.",
        walk.dropped as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, host_with_sysfs, write_files};
    use crate::collectors::ErrorKind;
    use crate::metrics::Family;

    const UID: &str = "6b5a4c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";
    const UID2: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";
    const STATIC_UID: &str = "8a4f2a2c6e0b1d3f5a7c9e1b3d5f7a9c";
    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
    const ID2: &str = "aa4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    // Linux 6.8's files of a cgroup with every controller enabled.
    const FULL: &[(&str, &str)] = &[
        ("cpu.stat", "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 40\nnr_throttled 4\nthrottled_usec 250000\n"),
        ("cpu.max", "50000 100000\n"),
        ("memory.current", "1048576\n"),
        ("memory.max", "2097152\n"),
        ("memory.high", "max\n"),
        ("memory.stat", "anon 524288\nfile 262144\nkernel 8192\nkernel_stack 16384\nsock 0\nshmem 4096\ninactive_file 131072\nactive_file 131072\n"),
        ("memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n"),
        ("memory.swap.current", "0\n"),
        ("memory.swap.max", "max\n"),
        ("pids.current", "7\n"),
        ("pids.max", "1024\n"),
        ("cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500000\n"),
        ("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=2000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n"),
        ("io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
        ("io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n7:0 rbytes=1 wbytes=1 rios=1 wios=1 dbytes=0 dios=0\n"),
        ("cgroup.stat", "nr_descendants 3\nnr_dying_descendants 1\n"),
    ];
    // Only the files every cgroup has, with Linux 5.4's cpu.stat: no
    // controller enabled.
    const BARE: &[(&str, &str)] = &[
        (
            "cpu.stat",
            "usage_usec 1210\nuser_usec 530\nsystem_usec 680\n",
        ),
        ("cgroup.stat", "nr_descendants 0\nnr_dying_descendants 0\n"),
    ];

    /// A sysfs whose cgroup v2 hierarchy (under `fs/cgroup/<under>`) has
    /// the cgroups `paths`, each with `files`.
    fn tree(under: &str, paths: &[&str], files: &[(&str, &str)]) -> tempfile::TempDir {
        let sysfs = tempfile::tempdir().unwrap();
        let root = sysfs.path().join("fs/cgroup").join(under);
        write_files(&root, &[("cgroup.controllers", "cpu io memory pids\n")]);
        for path in paths {
            let mut cgroup = root.clone();
            for name in path.split('/') {
                cgroup.push(name);
                write_files(&cgroup, files);
            }
        }
        sysfs
    }

    fn collect(sysfs: &Path, flags: &[&str]) -> (Vec<Family>, Result<(), CollectError>) {
        let args = [&["--collector.cgroupstats"], flags].concat();
        build(&SPEC, host_with_sysfs(sysfs), &args).unwrap().run()
    }

    /// The label values of every sample of family `name`, joined by `,` in
    /// the order `cgroup`, `uid`, `qos_class`, `container_id`, then the
    /// family's own label, with its value.
    fn samples(families: &[Family], name: &str) -> Vec<(String, f64)> {
        // A family without samples is not in a finished run.
        let Some(family) = families.iter().find(|f| f.name() == name) else {
            return Vec::new();
        };
        let order = |label: &str| {
            LABELS
                .iter()
                .position(|l| *l == label)
                .unwrap_or(LABELS.len())
        };
        family
            .samples()
            .iter()
            .map(|s| {
                let mut labels: Vec<(&str, &str)> = family
                    .label_names()
                    .iter()
                    .map(|n| n.as_ref())
                    .zip(family.label_values(s))
                    .collect();
                labels.sort_by_key(|(n, _)| order(n));
                let values: Vec<&str> = labels.into_iter().map(|(_, v)| v).collect();
                (values.join(","), s.value)
            })
            .collect()
    }

    fn cgroups(families: &[Family]) -> Vec<String> {
        samples(families, "node_cgroup_pids")
            .into_iter()
            .map(|(labels, _)| labels)
            .collect()
    }

    fn systemd_pod(qos: &str, uid: &str) -> String {
        let uid = uid.replace('-', "_");
        match qos {
            "" => format!("kubepods.slice/kubepods-pod{uid}.slice"),
            qos => format!("kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{uid}.slice"),
        }
    }

    fn systemd_node() -> Vec<String> {
        let burstable = systemd_pod("burstable", UID);
        let guaranteed = systemd_pod("", UID2);
        vec![
            "kubepods.slice".into(),
            "kubepods.slice/kubepods-burstable.slice".into(),
            "kubepods.slice/kubepods-besteffort.slice".into(),
            burstable.clone(),
            format!("{burstable}/cri-containerd-{ID}.scope"),
            guaranteed.clone(),
            format!("{guaranteed}/cri-containerd-{ID2}.scope"),
            systemd_pod("besteffort", STATIC_UID),
            "system.slice".into(),
            "system.slice/containerd.service".into(),
            r"system.slice/system-systemd\x2dfsck.slice".into(),
            r"system.slice/system-systemd\x2dfsck.slice/systemd-fsck@dev-vda1.service".into(),
            "user.slice".into(),
        ]
    }

    #[test]
    fn reports_every_family_of_a_full_cgroup() {
        let sysfs = tree("", &["system.slice"], FULL);
        let (families, result) = collect(sysfs.path(), &[]);
        result.unwrap();
        let one = |name: &str| samples(&families, name)[0].1;
        assert_eq!(
            samples(&families, "node_cgroup_cpu_seconds_total"),
            vec![
                ("system.slice,,,,system".to_string(), 1.0),
                ("system.slice,,,,user".to_string(), 2.0)
            ]
        );
        assert_eq!(one("node_cgroup_cpu_periods_total"), 40.0);
        assert_eq!(one("node_cgroup_cpu_throttled_periods_total"), 4.0);
        assert_eq!(one("node_cgroup_cpu_throttled_seconds_total"), 0.25);
        assert_eq!(one("node_cgroup_cpu_quota_seconds"), 0.05);
        assert_eq!(one("node_cgroup_cpu_period_seconds"), 0.1);
        assert_eq!(one("node_cgroup_memory_current_bytes"), 1048576.0);
        assert_eq!(one("node_cgroup_memory_max_bytes"), 2097152.0);
        assert!(samples(&families, "node_cgroup_memory_high_bytes").is_empty());
        assert!(samples(&families, "node_cgroup_memory_swap_max_bytes").is_empty());
        assert_eq!(one("node_cgroup_memory_swap_current_bytes"), 0.0);
        assert_eq!(one("node_cgroup_memory_anon_bytes"), 524288.0);
        assert_eq!(one("node_cgroup_memory_kernel_bytes"), 8192.0);
        assert_eq!(one("node_cgroup_memory_inactive_file_bytes"), 131072.0);
        assert_eq!(one("node_cgroup_pids"), 7.0);
        assert_eq!(one("node_cgroup_pids_max"), 1024.0);
        assert_eq!(one("node_cgroup_pressure_cpu_waiting_seconds_total"), 1.5);
        assert_eq!(one("node_cgroup_pressure_cpu_stalled_seconds_total"), 0.5);
        assert_eq!(
            one("node_cgroup_pressure_memory_stalled_seconds_total"),
            0.001
        );
        assert_eq!(one("node_cgroup_descendants"), 3.0);
        assert_eq!(one("node_cgroup_dying_descendants"), 1.0);
        let events = samples(&families, "node_cgroup_memory_events_total");
        assert_eq!(events.len(), 6);
        assert!(events.contains(&("system.slice,,,,oom_kill".to_string(), 1.0)));
        assert_eq!(one("node_cgroup_cgroups"), 1.0);
        assert_eq!(one("node_cgroup_dropped_cgroups"), 0.0);
        // io.stat only when asked for.
        assert!(samples(&families, "node_cgroup_io_read_bytes_total").is_empty());
    }

    #[test]
    fn names_io_devices_through_the_diskstats_filter() {
        let sysfs = tree("", &["system.slice"], FULL);
        let procfs = tempfile::tempdir().unwrap();
        write_files(
            procfs.path(),
            &[("diskstats", "   7       0 loop0 1 0 0 0 0 0 0 0 0 0 0\n   8       0 sda 1 0 0 0 0 0 0 0 0 0 0\n")],
        );
        let host = Host::new(procfs.path(), sysfs.path(), "/nonexistent", "/nonexistent");
        let built = build(
            &SPEC,
            host,
            &["--collector.cgroupstats", "--collector.cgroupstats.io"],
        )
        .unwrap();
        let (families, result) = built.run();
        result.unwrap();
        // loop0 is left out by the default diskstats exclude pattern.
        assert_eq!(
            samples(&families, "node_cgroup_io_written_bytes_total"),
            vec![("system.slice,,,,sda".to_string(), 8192.0)]
        );
        assert_eq!(
            samples(&families, "node_cgroup_io_discards_completed_total").len(),
            1
        );
    }

    #[test]
    fn labels_pods_and_containers_of_the_systemd_driver() {
        let paths = systemd_node();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let sysfs = tree("", &paths, BARE);
        let (families, result) = collect(
            sysfs.path(),
            &["--collector.cgroupstats.kubepods-level=container"],
        );
        result.unwrap();
        let labels: Vec<(String, f64)> = samples(&families, "node_cgroup_cpu_seconds_total")
            .into_iter()
            .filter(|(l, _)| l.ends_with(",user"))
            .collect();
        let burstable = systemd_pod("burstable", UID);
        let guaranteed = systemd_pod("", UID2);
        let besteffort = systemd_pod("besteffort", STATIC_UID);
        let expected: Vec<String> = vec![
            "kubepods.slice,,,".into(),
            "kubepods.slice/kubepods-besteffort.slice,,BestEffort,".into(),
            format!("{besteffort},{STATIC_UID},BestEffort,"),
            "kubepods.slice/kubepods-burstable.slice,,Burstable,".into(),
            format!("{burstable},{UID},Burstable,"),
            format!("{burstable}/cri-containerd-{ID}.scope,{UID},Burstable,containerd://{ID}"),
            format!("{guaranteed},{UID2},Guaranteed,"),
            format!("{guaranteed}/cri-containerd-{ID2}.scope,{UID2},Guaranteed,containerd://{ID2}"),
            "system.slice,,,".into(),
            "system.slice/containerd.service,,,".into(),
            r"system.slice/system-systemd\x2dfsck.slice,,,".into(),
            "user.slice,,,".into(),
        ];
        let got: Vec<String> = labels
            .iter()
            .map(|(l, _)| l.trim_end_matches(",user").to_string())
            .collect();
        assert_eq!(got, expected);
        assert_eq!(labels[0].1, 0.00053);
        // Bare cgroups have no memory or pids files: those series are absent.
        assert!(samples(&families, "node_cgroup_memory_current_bytes").is_empty());
    }

    #[test]
    fn kubepods_level_bounds_the_depth_below_kubepods() {
        let paths = systemd_node();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let sysfs = tree("", &paths, FULL);
        let count = |level: &str| {
            let (families, result) = collect(
                sysfs.path(),
                &[&format!("--collector.cgroupstats.kubepods-level={level}")],
            );
            result.unwrap();
            cgroups(&families)
                .iter()
                .filter(|c| c.starts_with("kubepods"))
                .count()
        };
        assert_eq!(count("qos"), 3);
        assert_eq!(count("pod"), 6);
        assert_eq!(count("container"), 8);
        let (families, _) = collect(sysfs.path(), &["--collector.cgroupstats.max-depth=1"]);
        assert!(!cgroups(&families)
            .iter()
            .any(|c| c.starts_with("system.slice/")));
        let (families, _) = collect(sysfs.path(), &["--collector.cgroupstats.max-depth=3"]);
        assert!(cgroups(&families)
            .iter()
            .any(|c| c.contains("fsck@dev-vda1.service")));
    }

    #[test]
    fn labels_pods_and_containers_of_the_cgroupfs_driver_and_every_runtime() {
        let pod = format!("kubepods/burstable/pod{UID}");
        let guaranteed = format!("kubepods/pod{UID2}");
        let paths = [
            format!("{pod}/{ID}"),
            format!("{pod}/crio-{ID2}"),
            format!("{pod}/crio-conmon-{ID2}"),
            format!("{guaranteed}/{ID2}"),
            "kubepods/besteffort".to_string(),
        ];
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let sysfs = tree("", &paths, BARE);
        let ids = |runtime: &str| {
            let (families, result) = collect(
                sysfs.path(),
                &[
                    "--collector.cgroupstats.kubepods-level=container",
                    &format!("--collector.cgroupstats.cgroupfs-runtime={runtime}"),
                ],
            );
            result.unwrap();
            samples(&families, "node_cgroup_cpu_seconds_total")
                .into_iter()
                .filter(|(l, _)| l.ends_with(",user"))
                .map(|(l, _)| l.trim_end_matches(",user").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids("containerd"),
            vec![
                "kubepods,,,".to_string(),
                "kubepods/besteffort,,BestEffort,".into(),
                "kubepods/burstable,,Burstable,".into(),
                format!("{pod},{UID},Burstable,"),
                format!("{pod}/{ID},{UID},Burstable,containerd://{ID}"),
                format!("{pod}/crio-{ID2},{UID},Burstable,cri-o://{ID2}"),
                format!("{guaranteed},{UID2},Guaranteed,"),
                format!("{guaranteed}/{ID2},{UID2},Guaranteed,containerd://{ID2}"),
            ]
        );
        assert!(ids("docker").contains(&format!("{pod}/{ID},{UID},Burstable,docker://{ID}")));
    }

    #[test]
    fn reads_the_unified_mount_of_a_hybrid_host() {
        let sysfs = tree("unified", &["system.slice", "kubepods.slice"], BARE);
        std::fs::create_dir_all(sysfs.path().join("fs/cgroup/cpu/kubepods.slice")).unwrap();
        let (families, result) = collect(sysfs.path(), &[]);
        result.unwrap();
        assert_eq!(
            cgroups(&families).len(),
            0,
            "bare cgroups have no pids files"
        );
        assert_eq!(samples(&families, "node_cgroup_cgroups")[0].1, 2.0);
    }

    #[test]
    fn a_v1_only_host_is_no_data() {
        let sysfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(sysfs.path().join("fs/cgroup/cpu/kubepods")).unwrap();
        let (families, result) = collect(sysfs.path(), &[]);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert!(families.is_empty());
    }

    #[test]
    fn missing_files_and_keys_cost_only_their_series() {
        let sysfs = tree("", &["a.slice", "b.slice"], FULL);
        let b = sysfs.path().join("fs/cgroup/b.slice");
        for file in ["memory.max", "cpu.max", "io.pressure", "memory.events"] {
            std::fs::remove_file(b.join(file)).unwrap();
        }
        std::fs::write(b.join("cpu.stat"), "usage_usec 5\nuser_usec 3\n").unwrap();
        let (families, result) = collect(sysfs.path(), &[]);
        result.unwrap();
        assert_eq!(samples(&families, "node_cgroup_memory_max_bytes").len(), 1);
        assert_eq!(samples(&families, "node_cgroup_cpu_seconds_total").len(), 3);
        assert_eq!(samples(&families, "node_cgroup_cpu_periods_total").len(), 1);
        assert_eq!(
            samples(&families, "node_cgroup_pressure_io_waiting_seconds_total").len(),
            1
        );
        assert_eq!(
            samples(&families, "node_cgroup_memory_events_total").len(),
            6
        );
        assert_eq!(samples(&families, "node_cgroup_pids").len(), 2);
    }

    #[test]
    fn a_garbled_file_fails_the_run_after_the_rest_is_written() {
        let sysfs = tree("", &["a.slice", "b.slice"], FULL);
        let b = sysfs.path().join("fs/cgroup/b.slice");
        std::fs::write(b.join("memory.current"), "lots\n").unwrap();
        std::fs::write(b.join("cpu.pressure"), "some avg10=x\n").unwrap();
        let (families, result) = collect(sysfs.path(), &[]);
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("b.slice/memory.current"), "{err}");
        assert!(err.message().contains("and 1 more"), "{err}");
        assert_eq!(
            samples(&families, "node_cgroup_memory_current_bytes").len(),
            1
        );
        assert_eq!(samples(&families, "node_cgroup_pids").len(), 2);
    }

    #[test]
    fn the_cap_keeps_the_top_of_the_tree_and_counts_the_rest() {
        let paths = systemd_node();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let sysfs = tree("", &paths, FULL);
        let (families, result) = collect(sysfs.path(), &["--collector.cgroupstats.max-cgroups=4"]);
        result.unwrap();
        assert_eq!(
            cgroups(&families),
            vec![
                "kubepods.slice,,,",
                "kubepods.slice/kubepods-besteffort.slice,,BestEffort,",
                "system.slice,,,",
                "user.slice,,,"
            ]
        );
        assert_eq!(samples(&families, "node_cgroup_dropped_cgroups")[0].1, 6.0);
    }

    #[test]
    fn include_and_exclude_match_whole_paths() {
        let paths = systemd_node();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let sysfs = tree("", &paths, FULL);
        let (families, _) = collect(
            sysfs.path(),
            &["--collector.cgroupstats.cgroup-include=system.slice/.*"],
        );
        assert_eq!(
            cgroups(&families),
            vec![
                "system.slice/containerd.service,,,",
                r"system.slice/system-systemd\x2dfsck.slice,,,"
            ]
        );
        let (families, _) = collect(
            sysfs.path(),
            &["--collector.cgroupstats.cgroup-exclude=kubepods.*|user.slice"],
        );
        assert_eq!(cgroups(&families).len(), 3);
    }

    #[test]
    fn refuses_bad_flags_naming_them() {
        let host = || host_with_sysfs(Path::new("/nonexistent"));
        let err = build(&SPEC, host(), &["--collector.cgroupstats.max-cgroups=0"])
            .err()
            .unwrap();
        assert!(err.contains("max-cgroups"), "{err}");
        let err = build(
            &SPEC,
            host(),
            &["--collector.cgroupstats.kubepods-level=node"],
        )
        .err()
        .unwrap();
        assert!(
            err.contains("kubepods-level") && err.contains("qos, pod or container"),
            "{err}"
        );
        let err = build(
            &SPEC,
            host(),
            &["--collector.cgroupstats.cgroupfs-runtime=rkt"],
        )
        .err()
        .unwrap();
        assert!(err.contains("cgroupfs-runtime"), "{err}");
    }
}
