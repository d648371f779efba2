//! `filesystem`: size, free space and inodes of every mounted filesystem.
//!
//! The mounts come from `<procfs>/1/mountinfo` (the host's init sees the
//! host's mounts; `<procfs>/self/mountinfo` when hidepid hides PID 1), each
//! mount point is filtered by the `--collector.filesystem.*` flags, and
//! `statfs(2)` is called on it under `<rootfs>`. The `mountpoint` label is the
//! host's path, with the rootfs prefix removed. `readonly` comes from the
//! `ro` mount option (per mount or of the filesystem), or ext4's
//! `emergency_ro` after an error shut the filesystem.
//!
//! Duplicate entries (a mount point listed twice, over-mounts) collapse into
//! one series per label set, as node_exporter's; each distinct path is
//! statted once per scrape, and where entries collide the last one listed,
//! which is the mount actually visible at that path, wins.
//!
//! # Hung mounts
//! `statfs` on a dead NFS server or a stuck FUSE daemon can block forever.
//! The calls run on a [`statfs_pool::StatfsPool`] of long-lived threads
//! (`--collector.filesystem.stat-workers`). A scrape waits for them at most
//! `--collector.filesystem.mount-timeout`, and never past the scrape's own
//! deadline (Prometheus's scrape timeout): every mount that answered by
//! then is reported, and one whose stat has not returned is reported with
//! `node_filesystem_device_error 1` and `device_error="mountpoint timeout"`,
//! without size metrics, as node_exporter reports a stuck mount. Later
//! scrapes report it the same way at once, without a new stat or thread,
//! until that stat returns. A blocked worker is replaced (up to
//! [`statfs_pool::SPARE_THREADS`] spares), so healthy mounts keep being
//! statted; a mount that no worker could start in time is reported the same
//! way for that scrape, and statted again by the next.

pub mod filter;
pub mod statfs;
pub mod statfs_pool;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use regex_lite::Regex;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec, RunDeadline};
use crate::host::Host;
use crate::metrics::{Desc, MetricSet, MetricType};
use crate::parse::{duration, regex};
use crate::unpoisoned::lock;

use self::filter::{FilterFlags, NameFilter};
use self::statfs::FsUsage;
use self::statfs_pool::{StatOutcome, StatfsPool};
use crate::host::mount_watch::{TableState, WatchedMountInfo};
use crate::kernel::mountinfo::{Mount, MountInfo};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "filesystem",
    default_enabled: true,
    reads: "/proc/1/mountinfo, statfs(2) of each mount point",
    flags: Some(Flags::augment_args),
    build,
};

/// node_exporter's default for `--collector.filesystem.mount-points-exclude`
/// on Linux.
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";

/// node_exporter's default for `--collector.filesystem.fs-types-exclude` on
/// Linux.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$";

/// The `device_error` label of a mount whose stat did not return in time
/// (node_exporter's for a stuck mount).
const TIMEOUT_LABEL: &str = "mountpoint timeout";

/// The filesystem collector's flags, named as node_exporter's.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of mount points to exclude for filesystem collector. (mutually exclusive to mount-points-include) [default: ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)]
    #[arg(long = "collector.filesystem.mount-points-exclude", value_name = "REGEX", value_parser = regex)]
    pub mount_points_exclude: Option<Regex>,

    /// Regexp of mount points to include for filesystem collector. (mutually exclusive to mount-points-exclude)
    #[arg(long = "collector.filesystem.mount-points-include", value_name = "REGEX", value_parser = regex)]
    pub mount_points_include: Option<Regex>,

    /// Deprecated spelling of --collector.filesystem.mount-points-exclude.
    #[arg(long = "collector.filesystem.ignored-mount-points", value_name = "REGEX", value_parser = regex, hide = true)]
    pub ignored_mount_points: Option<Regex>,

    /// Regexp of filesystem types to exclude for filesystem collector. (mutually exclusive to fs-types-include) [default: ^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$]
    #[arg(long = "collector.filesystem.fs-types-exclude", value_name = "REGEX", value_parser = regex)]
    pub fs_types_exclude: Option<Regex>,

    /// Regexp of filesystem types to include for filesystem collector. (mutually exclusive to fs-types-exclude)
    #[arg(long = "collector.filesystem.fs-types-include", value_name = "REGEX", value_parser = regex)]
    pub fs_types_include: Option<Regex>,

    /// Deprecated spelling of --collector.filesystem.fs-types-exclude.
    #[arg(long = "collector.filesystem.ignored-fs-types", value_name = "REGEX", value_parser = regex, hide = true)]
    pub ignored_fs_types: Option<Regex>,

    /// How long to wait for a mount to respond before marking it as stale.
    #[arg(long = "collector.filesystem.mount-timeout", value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub mount_timeout: Duration,

    /// How many stat calls to process simultaneously.
    #[arg(
        long = "collector.filesystem.stat-workers",
        value_name = "N",
        default_value_t = 4
    )]
    pub stat_workers: i64,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    let flags: Flags = ctx.flags()?;
    let default_mount_points =
        Regex::new(DEFAULT_MOUNT_POINTS_EXCLUDE).map_err(|e| e.to_string())?;
    let default_fs_types = Regex::new(DEFAULT_FS_TYPES_EXCLUDE).map_err(|e| e.to_string())?;
    let mount_points = FilterFlags {
        exclude_name: "collector.filesystem.mount-points-exclude",
        exclude: flags.mount_points_exclude.as_ref(),
        default_exclude: &default_mount_points,
        include_name: "collector.filesystem.mount-points-include",
        include: flags.mount_points_include.as_ref(),
        deprecated_name: "collector.filesystem.ignored-mount-points",
        deprecated: flags.ignored_mount_points.as_ref(),
    }
    .resolve()?;
    let fs_types = FilterFlags {
        exclude_name: "collector.filesystem.fs-types-exclude",
        exclude: flags.fs_types_exclude.as_ref(),
        default_exclude: &default_fs_types,
        include_name: "collector.filesystem.fs-types-include",
        include: flags.fs_types_include.as_ref(),
        deprecated_name: "collector.filesystem.ignored-fs-types",
        deprecated: flags.ignored_fs_types.as_ref(),
    }
    .resolve()?;
    for warning in [&mount_points.warning, &fs_types.warning]
        .into_iter()
        .flatten()
    {
        tracing::warn!("{warning}");
    }
    let workers = usize::try_from(flags.stat_workers).unwrap_or(0).max(1);
    Ok(Box::new(FilesystemCollector {
        mount_points: mount_points.filter,
        fs_types: fs_types.filter,
        mount_timeout: flags.mount_timeout,
        pool: StatfsPool::new(workers, flags.mount_timeout, Arc::new(statfs::statfs)),
        mounts: Mutex::default(),
    }))
}

/// Reports `node_filesystem_*` for every selected mount.
struct FilesystemCollector {
    mount_points: NameFilter,
    fs_types: NameFilter,
    mount_timeout: Duration,
    pool: StatfsPool,
    /// The mount table as last read, and the file watching it.
    mounts: Mutex<MountTable>,
}

/// The last scrape's selection, reused while the mount table stays the
/// same: mounts rarely change, and parsing and filtering them cost more
/// than knowing that they did not (see [`crate::host::mount_watch`]).
#[derive(Default)]
struct MountTable {
    selection: Option<Arc<Selection>>,
    /// The mountinfo file `selection` was read from, when it can be
    /// watched; taken out while a new selection is made, so that one
    /// abandoned half-way (a panic) is never trusted.
    watched: Option<WatchedMountInfo>,
}

/// The mounts one mountinfo text selects, with what its parse found wrong.
struct Selection {
    /// The mountinfo file read.
    path: PathBuf,
    text: String,
    /// The selected mounts with their host paths, in file order.
    mounts: Vec<(Mount, String)>,
    /// How many lines were malformed, and the first one's message.
    malformed: Option<(usize, String)>,
}

/// What one reported mount contributes to the output.
struct Report<'a> {
    mount: &'a Mount,
    /// The host's path of the mount point.
    mount_point: &'a str,
    /// Usage, or the `device_error` label text.
    usage: Result<FsUsage, String>,
}

impl Report<'_> {
    fn error_label(&self) -> &str {
        self.usage.as_ref().err().map_or("", String::as_str)
    }

    /// The `ro` option of the mount; 0 for a mount whose stat did not
    /// return in time, as node_exporter reports a stuck mount without
    /// looking at its options.
    fn is_read_only(&self) -> bool {
        self.error_label() != TIMEOUT_LABEL && self.mount.is_read_only()
    }

    fn labels(&self) -> [&str; 4] {
        [
            &self.mount.source,
            self.error_label(),
            &self.mount.fs_type,
            self.mount_point,
        ]
    }
}

const LABELS: [&str; 4] = ["device", "device_error", "fstype", "mountpoint"];

/// Reads one value of an [`FsUsage`].
type UsageValue = fn(&FsUsage) -> f64;

/// The gauges read from [`FsUsage`], reported for mounts whose stat
/// succeeded; each source is the value's function of the usage.
const USAGE_METRICS: [Desc<UsageValue>; 5] = [
    Desc::gauge(
        "node_filesystem_size_bytes",
        "Filesystem size in bytes.",
        |u| u.size_bytes,
    ),
    Desc::gauge(
        "node_filesystem_free_bytes",
        "Filesystem free space in bytes.",
        |u| u.free_bytes,
    ),
    Desc::gauge(
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
        |u| u.avail_bytes,
    ),
    Desc::gauge(
        "node_filesystem_files",
        "Filesystem total file nodes.",
        |u| u.files,
    ),
    Desc::gauge(
        "node_filesystem_files_free",
        "Filesystem total free file nodes.",
        |u| u.files_free,
    ),
];

impl FilesystemCollector {
    /// The mounts selected from the host's current mount table.
    fn selection(&self, host: &Host) -> Result<Arc<Selection>, CollectError> {
        let mut table = lock(&self.mounts);
        let mut reread = None;
        if let Some(watched) = table.watched.take() {
            match (watched.poll(), &table.selection) {
                (TableState::Unchanged, Some(selection)) => {
                    let selection = Arc::clone(selection);
                    table.watched = Some(watched);
                    return Ok(selection);
                }
                (TableState::Broken, _) => {}
                _ => {
                    let path = watched.path().to_path_buf();
                    reread = Some(match watched.read() {
                        Ok(text) => (path, text, Some(watched)),
                        Err(e) => return Err(CollectError::io(&path, &e)),
                    });
                }
            }
        }
        let (path, text, watched) = match reread {
            Some(read) => read,
            None => {
                WatchedMountInfo::open(host).map_err(|(path, e)| CollectError::io(&path, &e))?
            }
        };
        let selection = match &table.selection {
            Some(last) if last.text == text && last.path == path => Arc::clone(last),
            _ => {
                let info = MountInfo::parse(&text);
                Arc::new(Selection {
                    mounts: self.select(host, info.mounts),
                    malformed: info
                        .malformed
                        .first()
                        .map(|first| (info.malformed.len(), first.clone())),
                    path,
                    text,
                })
            }
        };
        table.selection = Some(Arc::clone(&selection));
        table.watched = watched;
        Ok(selection)
    }

    /// The mounts the filters keep, with their host paths.
    fn select(&self, host: &Host, mounts: Vec<Mount>) -> Vec<(Mount, String)> {
        mounts
            .into_iter()
            .filter_map(|mount| {
                let mount_point = host
                    .host_path_of(Path::new(&mount.mount_point))
                    .to_string_lossy()
                    .into_owned();
                if self.mount_points.ignores(&mount_point) {
                    tracing::trace!(mountpoint = %mount_point, "ignoring mount point");
                    return None;
                }
                if self.fs_types.ignores(&mount.fs_type) {
                    tracing::trace!(fstype = %mount.fs_type, "ignoring fs type");
                    return None;
                }
                Some((mount, mount_point))
            })
            .collect()
    }
}

impl Collector for FilesystemCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        self.update_until(host, out, &RunDeadline::after(self.mount_timeout))
    }

    fn update_until(
        &self,
        host: &Host,
        out: &mut MetricSet,
        deadline: &RunDeadline,
    ) -> Result<(), CollectError> {
        let selection = self.selection(host)?;
        let selected = &selection.mounts;
        let stat_paths: Vec<PathBuf> = selected
            .iter()
            .map(|(_, mount_point)| host.root_path(mount_point))
            .collect();
        let outcomes = self.pool.stat_all(&stat_paths, deadline);

        // Last entry first: samples with equal labels keep the first one
        // pushed, and the last entry listed is the mount visible at its path.
        let mut reports = Vec::with_capacity(selected.len());
        for ((mount, mount_point), stat_path) in selected.iter().zip(&stat_paths).rev() {
            let usage = match outcomes.get(stat_path) {
                Some(StatOutcome::Done(result)) => match result {
                    Ok(usage) => Ok(*usage),
                    Err(e) => {
                        tracing::debug!(path = %stat_path.display(), err = %e, "statfs failed");
                        Err(statfs::error_label(e))
                    }
                },
                Some(StatOutcome::TimedOut | StatOutcome::Stuck) => Err(TIMEOUT_LABEL.to_string()),
                Some(StatOutcome::NotStarted) | None => {
                    tracing::debug!(
                        path = %stat_path.display(),
                        "no statfs worker was free before the deadline"
                    );
                    Err(TIMEOUT_LABEL.to_string())
                }
            };
            reports.push(Report {
                mount,
                mount_point,
                usage,
            });
        }
        // In the order the output lists them, so that the families need no
        // sorting once pushed. The sort is stable: of mounts with equal
        // labels, the one pushed first still wins.
        reports.sort_by(|a, b| a.labels().cmp(&b.labels()));
        emit(&reports, out);

        match &selection.malformed {
            None => Ok(()),
            Some((count, first)) => Err(CollectError::failed(format!(
                "parsing {}: {count} malformed line(s), first {first}",
                selection.path.display(),
            ))),
        }
    }
}

fn emit(reports: &[Report<'_>], out: &mut MetricSet) {
    let gauge = MetricType::Gauge;
    let errors = out.family(
        "node_filesystem_device_error",
        "Whether an error occurred while getting statistics for the given device.",
        gauge,
        &LABELS,
    );
    for report in reports {
        errors.push(&report.labels(), f64::from(u8::from(report.usage.is_err())));
    }
    let read_only = out.family(
        "node_filesystem_readonly",
        "Filesystem read-only status.",
        gauge,
        &LABELS,
    );
    for report in reports {
        read_only.push(&report.labels(), f64::from(u8::from(report.is_read_only())));
    }
    for metric in USAGE_METRICS {
        let family = metric.family(out, &LABELS);
        for report in reports {
            if let Ok(usage) = &report.usage {
                family.push(&report.labels(), (metric.source)(usage));
            }
        }
    }
    let mount_info = out.family(
        "node_filesystem_mount_info",
        "Filesystem mount information.",
        gauge,
        &["device", "major", "minor", "mountpoint"],
    );
    for report in reports.iter().filter(|r| r.usage.is_ok()) {
        let mount = report.mount;
        mount_info.push(
            &[
                mount.source.as_str(),
                &mount.major.to_string(),
                &mount.minor.to_string(),
                report.mount_point,
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{self, fixture_host, Built};
    use crate::exposition::Format;

    fn fixture(dir: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir)
    }

    fn flags(args: &[&str]) -> Flags {
        testing::flags(args).unwrap()
    }

    fn collector(host: Host, args: &[&str]) -> Result<Built, String> {
        testing::build(&SPEC, host, args)
    }

    /// Runs the collector once; the text exposition of its metrics, and
    /// its error.
    fn scrape(built: &Built) -> (String, Option<CollectError>) {
        let (families, result) = built.run();
        let mut out = Vec::new();
        Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut out);
        (String::from_utf8(out).unwrap(), result.err())
    }

    fn unfiltered() -> FilesystemCollector {
        let timeout = Duration::from_secs(1);
        FilesystemCollector {
            mount_points: NameFilter::default(),
            fs_types: NameFilter::default(),
            mount_timeout: timeout,
            pool: StatfsPool::new(1, timeout, Arc::new(statfs::statfs)),
            mounts: Mutex::default(),
        }
    }

    #[test]
    fn the_real_mount_table_is_watched_and_its_selection_kept() {
        let c = unfiltered();
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        let first = c.selection(&host).unwrap();
        assert!(c.mounts.lock().unwrap().watched.is_some());
        assert!(!first.mounts.is_empty());
        let second = c.selection(&host).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "unchanged, not read again");
    }

    #[test]
    fn a_copied_mount_table_is_read_every_time() {
        let c = unfiltered();
        let host = testing::fixture_host();
        let first = c.selection(&host).unwrap();
        assert!(c.mounts.lock().unwrap().watched.is_none());
        // Read again, and the same text keeps the same selection.
        let second = c.selection(&host).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        let other = Host::new(fixture("no-such-tree"), "/sys", "/", "/");
        assert!(unfiltered().selection(&other).is_err());
    }

    /// The sample lines of one metric, without their values.
    fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series))
            .collect()
    }

    #[test]
    fn fixture_host_with_default_flags() {
        let built = collector(fixture_host(), &[]).unwrap();
        let (text, error) = scrape(&built);
        assert_eq!(error, None, "{text}");

        let errors = series(&text, "node_filesystem_device_error");
        let mount_points: Vec<&str> = errors
            .iter()
            .map(|s| {
                s.split("mountpoint=\"")
                    .nth(1)
                    .unwrap()
                    .trim_end_matches("\"}")
            })
            .collect();
        assert_eq!(
            mount_points,
            [
                "/mnt/backup disk",
                "/boot",
                "/",
                "/home",
                "/srv/data",
                "/mnt/archive",
                "/mnt/legacy",
                "/media/usb",
                "/mnt/nfs",
                "/run",
                "/run/lock",
                "/run/user/1000",
                "/var/lib/kubelet/pods/8d0e7b1c/volumes/kubernetes.io~projected/kube-api-access-x2x5k",
            ],
            "one series per mount, sorted by device; excluded paths and types absent"
        );
        for line in [
            r#"node_filesystem_device_error{device="/dev/sdc1",device_error="no such file or directory",fstype="vfat",mountpoint="/media/usb"} 1"#,
            r#"node_filesystem_device_error{device="/dev/sda1",device_error="",fstype="ext4",mountpoint="/boot"} 0"#,
            r#"node_filesystem_readonly{device="/dev/sdb2",device_error="",fstype="ext4",mountpoint="/mnt/archive"} 1"#,
            r#"node_filesystem_readonly{device="/dev/sdb3",device_error="",fstype="xfs",mountpoint="/mnt/legacy"} 1"#,
            r#"node_filesystem_readonly{device="/dev/sda2",device_error="",fstype="ext4",mountpoint="/"} 0"#,
            r#"node_filesystem_readonly{device="/dev/disk/by-label/Backup Disk",device_error="",fstype="ext4",mountpoint="/mnt/backup disk"} 1"#,
            r#"node_filesystem_readonly{device="/dev/sdc1",device_error="no such file or directory",fstype="vfat",mountpoint="/media/usb"} 0"#,
            r#"node_filesystem_mount_info{device="tmpfs",major="0",minor="27",mountpoint="/run/lock"} 1"#,
            r#"node_filesystem_mount_info{device="tmpfs",major="0",minor="52",mountpoint="/run/lock"} 1"#,
            r#"node_filesystem_mount_info{device="/dev/disk/by-label/Backup Disk",major="8",minor="17",mountpoint="/mnt/backup disk"} 1"#,
            "# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.",
            "# TYPE node_filesystem_size_bytes gauge",
        ] {
            assert!(text.contains(line), "missing {line}\n{text}");
        }
        assert_eq!(series(&text, "node_filesystem_mount_info").len(), 13);
        assert_eq!(
            series(&text, "node_filesystem_readonly").len(),
            13,
            "readonly also for failed mounts"
        );
        for name in [
            "node_filesystem_size_bytes",
            "node_filesystem_free_bytes",
            "node_filesystem_avail_bytes",
            "node_filesystem_files",
            "node_filesystem_files_free",
        ] {
            let lines = series(&text, name);
            assert_eq!(lines.len(), 12, "{name}: all but the failed mount");
            assert!(!lines.iter().any(|l| l.contains("/media/usb")));
        }
        let size = text
            .lines()
            .find(|l| l.starts_with("node_filesystem_size_bytes{device=\"/dev/sda2\""))
            .and_then(|l| l.rsplit_once(' '))
            .and_then(|(_, v)| v.parse::<f64>().ok())
            .unwrap();
        let real = statfs::statfs(&fixture("root")).unwrap();
        assert_eq!(size, real.size_bytes, "statfs of <rootfs>/<mountpoint>");
    }

    #[test]
    fn at_the_deadline_answered_mounts_are_reported_and_the_pending_one_is_a_device_error() {
        use std::sync::Condvar;
        // statfs of /home and of the read-only /mnt/archive never returns
        // until the test ends; the others do.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let stat_gate = Arc::clone(&gate);
        let stat = move |path: &Path| {
            if path.ends_with("home") || path.ends_with("archive") {
                let (released, wake) = &*stat_gate;
                let mut released = released.lock().unwrap();
                while !*released {
                    released = wake.wait(released).unwrap();
                }
            }
            statfs::statfs(&fixture("root"))
        };
        let timeout = Duration::from_secs(30);
        let c = FilesystemCollector {
            mount_points: NameFilter::default(),
            fs_types: NameFilter::default(),
            mount_timeout: timeout,
            pool: StatfsPool::new(2, timeout, Arc::new(stat)),
            mounts: Mutex::default(),
        };
        let host = fixture_host();
        let run = |budget_ms: u64| {
            let mut out = MetricSet::new();
            let started = std::time::Instant::now();
            let result = c.update_until(
                &host,
                &mut out,
                &RunDeadline::after(Duration::from_millis(budget_ms)),
            );
            let mut text = Vec::new();
            let families = out.into_sorted();
            Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut text);
            (started.elapsed(), result, String::from_utf8(text).unwrap())
        };

        let (took, result, text) = run(300);
        assert!(
            took < Duration::from_secs(5),
            "{took:?}: cut at the deadline"
        );
        assert_eq!(result, Ok(()), "the collector succeeds");
        let hung = r#"node_filesystem_device_error{device="/dev/sda3",device_error="mountpoint timeout",fstype="xfs",mountpoint="/home"} 1"#;
        assert!(text.contains(hung), "{text}");
        // As node_exporter reports a stuck mount: read-only 0, whatever its
        // options say.
        let archive = r#"node_filesystem_readonly{device="/dev/sdb2",device_error="mountpoint timeout",fstype="ext4",mountpoint="/mnt/archive"} 0"#;
        assert!(text.contains(archive), "{text}");
        assert!(text.contains(r#"node_filesystem_size_bytes{device="/dev/sda2",device_error="",fstype="ext4",mountpoint="/"}"#));
        assert!(!series(&text, "node_filesystem_size_bytes")
            .iter()
            .any(|s| s.contains("mountpoint=\"/home\"")));

        // The next run has a long deadline yet does not wait for the stat
        // still pending from the first.
        let (took, _, again) = run(20_000);
        assert!(
            took < Duration::from_secs(5),
            "{took:?}: not waited on again"
        );
        assert!(again.contains(hung), "{again}");
        assert_eq!(
            c.pool.thread_count(),
            4,
            "one replacement per hung mount, once"
        );

        let (released, wake) = &*gate;
        *released.lock().unwrap() = true;
        wake.notify_all();
    }

    #[test]
    fn include_and_type_flags_select_mounts() {
        let built = collector(
            fixture_host(),
            &[
                "--collector.filesystem.mount-points-include=^/(dev|proc|run/lock)$",
                "--collector.filesystem.fs-types-exclude=^(proc)$",
            ],
        )
        .unwrap();
        let (text, _) = scrape(&built);
        let mut points: Vec<_> = series(&text, "node_filesystem_device_error")
            .iter()
            .map(|s| s.split("mountpoint=").nth(1).unwrap().to_string())
            .collect();
        points.sort();
        assert_eq!(points, [r#""/dev"}"#, r#""/run/lock"}"#]);

        let built = collector(
            fixture_host(),
            &["--collector.filesystem.fs-types-include=^(xfs|nfs4)$"],
        )
        .unwrap();
        let (text, _) = scrape(&built);
        assert_eq!(series(&text, "node_filesystem_device_error").len(), 4);
    }

    #[test]
    fn rootfs_prefix_is_stripped_and_self_mountinfo_is_the_fallback() {
        let procfs = tempfile::tempdir().unwrap();
        let rootfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(rootfs.path().join("data dir")).unwrap();
        std::fs::create_dir_all(procfs.path().join("self")).unwrap();
        let root = rootfs.path().display().to_string();
        let escaped = root.replace(' ', "\\040");
        std::fs::write(
            procfs.path().join("self/mountinfo"),
            format!(
                "1 0 8:1 / {escaped} ro,relatime - ext4 /dev/sda1 rw\n\
                 2 1 8:2 / {escaped}/data\\040dir rw,relatime - ext4 /dev/sda2 rw\n\
                 3 0 0:5 / /etc/hostname rw - ext4 /dev/sda9 rw\n"
            ),
        )
        .unwrap();
        let host = Host::new(procfs.path(), "/sys", rootfs.path(), "/run/udev/data");
        let built = collector(host, &[]).unwrap();
        let (text, error) = scrape(&built);
        assert_eq!(error, None);
        for line in [
            r#"node_filesystem_readonly{device="/dev/sda1",device_error="",fstype="ext4",mountpoint="/"} 1"#,
            r#"node_filesystem_device_error{device="/dev/sda2",device_error="",fstype="ext4",mountpoint="/data dir"} 0"#,
            // Outside rootfs: kept as is, and statted under rootfs, where it
            // does not exist.
            r#"node_filesystem_device_error{device="/dev/sda9",device_error="no such file or directory",fstype="ext4",mountpoint="/etc/hostname"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line}\n{text}");
        }
    }

    #[test]
    fn duplicates_collapse_and_the_last_entry_listed_wins() {
        let procfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(procfs.path().join("1")).unwrap();
        std::fs::write(
            procfs.path().join("1/mountinfo"),
            "1 0 8:1 / /boot ro - ext4 /dev/sda1 rw\n\
             2 0 8:1 / /boot rw - ext4 /dev/sda1 rw\n\
             3 0 8:5 / /boot rw - ext4 /dev/sda5 rw\n",
        )
        .unwrap();
        let host = Host::new(procfs.path(), "/sys", fixture("root"), "/run/udev/data");
        let (text, error) = scrape(&collector(host, &[]).unwrap());
        assert_eq!(error, None);
        assert_eq!(
            series(&text, "node_filesystem_readonly"),
            [
                r#"node_filesystem_readonly{device="/dev/sda1",device_error="",fstype="ext4",mountpoint="/boot"}"#,
                r#"node_filesystem_readonly{device="/dev/sda5",device_error="",fstype="ext4",mountpoint="/boot"}"#,
            ]
        );
        assert!(text.contains(r#"node_filesystem_readonly{device="/dev/sda1",device_error="",fstype="ext4",mountpoint="/boot"} 0"#));
        assert_eq!(series(&text, "node_filesystem_mount_info").len(), 2);
    }

    #[test]
    fn malformed_lines_cost_their_mount_and_fail_the_collector() {
        let procfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(procfs.path().join("1")).unwrap();
        std::fs::write(
            procfs.path().join("1/mountinfo"),
            "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n1 0 8:2 / /broken rw ext4\n",
        )
        .unwrap();
        let host = Host::new(procfs.path(), "/sys", fixture("root"), "/run/udev/data");
        let (text, error) = scrape(&collector(host, &[]).unwrap());
        assert_eq!(series(&text, "node_filesystem_size_bytes").len(), 1);
        let error = error.unwrap();
        assert!(
            error.message().contains("line 2: too few fields"),
            "{error}"
        );
    }

    #[test]
    fn a_changed_mountinfo_is_read_again_and_an_unchanged_one_reused() {
        let procfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(procfs.path().join("1")).unwrap();
        let mountinfo = procfs.path().join("1/mountinfo");
        let boot = "1 0 8:1 / /boot rw - ext4 /dev/sda1 rw\n";
        std::fs::write(&mountinfo, boot).unwrap();
        let host = Host::new(procfs.path(), "/sys", fixture("root"), "/run/udev/data");
        let built = collector(host, &[]).unwrap();
        let (first, _) = scrape(&built);
        let (again, _) = scrape(&built);
        assert_eq!(
            series(&again, "node_filesystem_readonly"),
            series(&first, "node_filesystem_readonly")
        );
        assert_eq!(series(&first, "node_filesystem_readonly").len(), 1);
        // Remounted read-only, and a second mount, then a malformed line.
        std::fs::write(
            &mountinfo,
            "1 0 8:1 / /boot ro - ext4 /dev/sda1 rw\n2 0 8:5 / / rw - ext4 /dev/sda5 rw\n",
        )
        .unwrap();
        let (changed, error) = scrape(&built);
        assert_eq!(error, None);
        assert!(changed.contains(r#"node_filesystem_readonly{device="/dev/sda1",device_error="",fstype="ext4",mountpoint="/boot"} 1"#), "{changed}");
        assert_eq!(series(&changed, "node_filesystem_readonly").len(), 2);
        std::fs::write(&mountinfo, format!("{boot}1 0 8:2 / /broken rw ext4\n")).unwrap();
        for _ in 0..2 {
            let (text, error) = scrape(&built);
            assert_eq!(series(&text, "node_filesystem_readonly").len(), 1);
            assert!(error
                .unwrap()
                .message()
                .contains("1 malformed line(s), first line 2"));
        }
    }

    #[test]
    fn missing_mountinfo_is_an_error() {
        let procfs = tempfile::tempdir().unwrap();
        let host = Host::new(procfs.path(), "/sys", "/", "/run/udev/data");
        let (_, error) = scrape(&collector(host, &[]).unwrap());
        assert!(error.unwrap().message().contains("self/mountinfo"));
    }

    #[test]
    fn flag_defaults_and_conflicts_match_node_exporter() {
        let f = flags(&[]);
        assert_eq!(f.mount_timeout, Duration::from_secs(5));
        assert_eq!(f.stat_workers, 4);
        assert!(f.mount_points_exclude.is_none() && f.fs_types_include.is_none());
        let help = crate::cli::command().render_long_help().to_string();
        let unwrapped: String = help.split_whitespace().collect();
        for default in [DEFAULT_MOUNT_POINTS_EXCLUDE, DEFAULT_FS_TYPES_EXCLUDE] {
            assert!(
                unwrapped.contains(default),
                "help names the default {default}"
            );
        }

        for (args, message) in [
            (
                vec![
                    "--collector.filesystem.ignored-mount-points=^/x",
                    "--collector.filesystem.mount-points-exclude=^/y",
                ],
                "--collector.filesystem.ignored-mount-points and --collector.filesystem.mount-points-exclude are mutually exclusive",
            ),
            (
                vec![
                    "--collector.filesystem.fs-types-exclude=^x$",
                    "--collector.filesystem.fs-types-include=^y$",
                ],
                "--collector.filesystem.fs-types-exclude and --collector.filesystem.fs-types-include are mutually exclusive",
            ),
        ] {
            let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
            assert_eq!(collector(host, &args).err().as_deref(), Some(message));
        }
        let host = Host::new("/proc", "/sys", "/", "/run/udev/data");
        assert!(collector(
            host,
            &[
                "--collector.filesystem.ignored-fs-types=^x$",
                "--collector.filesystem.stat-workers=-3",
                "--collector.filesystem.mount-timeout=250ms",
            ]
        )
        .is_ok());
        let bad = crate::cli::parse(["hostwatch", "--collector.filesystem.mount-points-include=("]);
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("mount-points-include"));
    }
}
