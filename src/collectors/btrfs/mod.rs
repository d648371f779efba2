//! `btrfs`: space allocation, commit statistics and devices of every
//! mounted btrfs filesystem, from `<sysfs>/fs/btrfs/<uuid>/`, plus per-device
//! error counters from ioctls on a mount point, as node_exporter reports
//! them.
//!
//! The ioctls need the mount reachable under `--path.rootfs` and usually
//! `CAP_SYS_ADMIN`; when they fail (unprivileged, not mounted, not reachable)
//! the device metrics fall back to the sizes in sysfs, without the error
//! counters, and the failure is logged at debug level only. With ioctl data a
//! device's series also carry its `btrfs_dev_uuid`.

pub mod ioctl;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::mountinfo::{read_host_mountinfo, MountInfo};
use crate::metrics::{Desc, MetricSet, MetricType};

use self::ioctl::FilesystemStats;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "btrfs",
    default_enabled: true,
    reads: "/sys/fs/btrfs/<uuid>/{label,metadata_uuid,commit_stats,allocation/,devices/*/size}, /proc/1/mountinfo and BTRFS_IOC_{FS_INFO,DEV_INFO,GET_DEV_STATS} on each btrfs mount",
    flags: None,
    build: plain::<BtrfsCollector>,
};

/// The block group types of `allocation/`, in node_exporter's order.
const BLOCK_GROUP_TYPES: [&str; 3] = ["data", "metadata", "system"];

/// The device error counters of `BTRFS_IOC_GET_DEV_STATS`, in its order.
const ERROR_TYPES: [&str; 5] = ["write", "read", "flush", "corruption", "generation"];

/// Linux counts block device sizes in 512-byte sectors, whatever the
/// device's real block size.
const SECTOR_BYTES: u64 = 512;

/// Reports `node_btrfs_*`.
#[derive(Default)]
struct BtrfsCollector;

/// One filesystem's statistics from sysfs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filesystem {
    /// `metadata_uuid`, else the directory's name.
    pub uuid: String,
    /// The filesystem label, possibly empty.
    pub label: String,
    /// `allocation/global_rsv_size`.
    pub global_rsv_size: u64,
    /// Per block group type, in [`BLOCK_GROUP_TYPES`] order.
    pub allocations: Vec<Allocation>,
    /// Device name to size in bytes, from `devices/<name>/size`.
    pub devices: BTreeMap<String, u64>,
    /// `commit_stats` (kernel 6.0 and later; zero before).
    pub commits: CommitStats,
}

/// Space of one block group type (`allocation/<type>/`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allocation {
    /// `bytes_reserved`.
    pub reserved_bytes: u64,
    /// Per profile (`single`, `dup`, `raid1`, ...): used and total bytes.
    pub layouts: BTreeMap<String, Layout>,
}

/// Space of one profile of a block group type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Layout {
    /// `used_bytes`.
    pub used_bytes: u64,
    /// `total_bytes`.
    pub total_bytes: u64,
}

/// The transaction commit statistics of `commit_stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Commits since mount.
    pub commits: u64,
    /// Duration of the last commit, in milliseconds.
    pub last_commit_ms: u64,
    /// Duration of the slowest commit, in milliseconds.
    pub max_commit_ms: u64,
    /// Duration of all commits, in milliseconds.
    pub total_commit_ms: u64,
}

impl CommitStats {
    /// Parses `commit_stats`: `key value` lines; unknown keys are skipped,
    /// a line that is not exactly two fields is an error.
    pub fn parse(text: &str) -> Result<CommitStats, String> {
        let mut stats = CommitStats::default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [key, value] = fields[..] else {
                return Err(format!("invalid line {line:?}"));
            };
            let value: u64 = value
                .parse()
                .map_err(|_| format!("invalid value in line {line:?}"))?;
            match key {
                "commits" => stats.commits = value,
                "last_commit_ms" => stats.last_commit_ms = value,
                "max_commit_ms" => stats.max_commit_ms = value,
                "total_commit_ms" => stats.total_commit_ms = value,
                _ => {}
            }
        }
        Ok(stats)
    }
}

/// How many bytes of raw space a profile uses per byte stored, as
/// node_exporter computes it (profiles it does not know, such as
/// `raid1c3`, get 0).
pub fn allocation_ratio(profile: &str, device_count: usize) -> f64 {
    let devices = device_count as f64;
    match profile {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid5" => devices / (devices - 1.0),
        "raid6" => devices / (devices - 2.0),
        _ => 0.0,
    }
}

/// A sysfs number: 0 if the file is missing or not an unsigned integer (as
/// node_exporter reads them); another read error fails the scrape.
fn read_number(path: &Path) -> Result<u64, CollectError> {
    Ok(read_optional(path)?.trim().parse().unwrap_or(0))
}

/// A sysfs file's text, empty if the file is missing.
fn read_optional(path: &Path) -> Result<String, CollectError> {
    match read_text(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(CollectError::io(path, &e)),
    }
}

/// The names in a directory, in name order; none if it is missing.
fn entry_names(dir: &Path, only_dirs: bool) -> Result<Vec<String>, CollectError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::io(dir, &e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CollectError::io(dir, &e))?;
        if only_dirs && !entry.path().is_dir() {
            continue;
        }
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Reads one filesystem's directory under `<sysfs>/fs/btrfs`.
fn read_filesystem(dir: &Path) -> Result<Filesystem, CollectError> {
    let mut devices = BTreeMap::new();
    for name in entry_names(&dir.join("devices"), false)? {
        let size = read_number(&dir.join("devices").join(&name).join("size"))?;
        devices.insert(name, size.wrapping_mul(SECTOR_BYTES));
    }
    let mut allocations = Vec::new();
    for kind in BLOCK_GROUP_TYPES {
        let kind_dir = dir.join("allocation").join(kind);
        let mut layouts = BTreeMap::new();
        for profile in entry_names(&kind_dir, true)? {
            let profile_dir = kind_dir.join(&profile);
            layouts.insert(
                profile,
                Layout {
                    used_bytes: read_number(&profile_dir.join("used_bytes"))?,
                    total_bytes: read_number(&profile_dir.join("total_bytes"))?,
                },
            );
        }
        allocations.push(Allocation {
            reserved_bytes: read_number(&kind_dir.join("bytes_reserved"))?,
            layouts,
        });
    }
    let commit_path = dir.join("commit_stats");
    let commits = CommitStats::parse(&read_optional(&commit_path)?)
        .map_err(|e| CollectError::parse(&commit_path, e))?;
    let mut uuid = read_optional(&dir.join("metadata_uuid"))?
        .trim()
        .to_string();
    if uuid.is_empty() {
        uuid = dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(Filesystem {
        uuid,
        label: read_optional(&dir.join("label"))?.trim().to_string(),
        global_rsv_size: read_number(&dir.join("allocation/global_rsv_size"))?,
        allocations,
        devices,
        commits,
    })
}

impl BtrfsCollector {
    /// Every filesystem under `<sysfs>/fs/btrfs` (the entries with a `-` in
    /// their name: the UUIDs, not `features`).
    fn filesystems(&self, host: &Host) -> Result<Vec<Filesystem>, CollectError> {
        let base = host.sys_path("fs/btrfs");
        let names = match fs::read_dir(&base) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.contains('-'))
                    .collect();
                names.sort();
                names
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(CollectError::io(&base, &e)),
        };
        names
            .iter()
            .map(|name| read_filesystem(&base.join(name)))
            .collect()
    }

    /// Device statistics from ioctls, by filesystem id (hex, no dashes), for
    /// every btrfs mount that can be opened and queried. Each filesystem is
    /// queried once, through the first of its mounts that answers.
    fn ioctl_stats(&self, host: &Host) -> HashMap<String, FilesystemStats> {
        let mut stats = HashMap::new();
        let text = match read_host_mountinfo(host) {
            Ok((_, text)) => text,
            Err((path, e)) => {
                tracing::debug!(path = %path.display(), err = %e, "cannot list btrfs mounts");
                return stats;
            }
        };
        let mut sources_done = HashSet::new();
        for mount in MountInfo::parse(&text).mounts {
            if mount.fs_type != "btrfs" || sources_done.contains(&mount.source) {
                continue;
            }
            let host_path = host.host_path_of(Path::new(&mount.mount_point));
            let path = host.root_path(&host_path.to_string_lossy());
            let result = File::open(&path).and_then(|dir| ioctl::filesystem_stats(&dir));
            match result {
                Ok(fs) => {
                    sources_done.insert(mount.source);
                    stats.entry(fs.fsid.clone()).or_insert(fs);
                }
                Err(e) => {
                    tracing::debug!(path = %path.display(), err = %e, "btrfs device stats unavailable");
                }
            }
        }
        stats
    }
}

impl Collector for BtrfsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let filesystems = self.filesystems(host)?;
        if filesystems.is_empty() {
            return Ok(());
        }
        let ioctl_stats = self.ioctl_stats(host);
        let devices_of = |fs: &Filesystem| ioctl_stats.get(&fs.uuid.replace('-', ""));
        emit_filesystems(out, &filesystems);
        emit_devices(out, &filesystems, devices_of);
        Ok(())
    }
}

/// Reads one value of a [`Filesystem`].
type FilesystemValue = fn(&Filesystem) -> f64;

/// Reads one value of a profile from its space and allocation ratio.
type LayoutValue = fn(&Layout, f64) -> f64;

fn emit_filesystems(out: &mut MetricSet, filesystems: &[Filesystem]) {
    let info = out.family(
        "node_btrfs_info",
        "Filesystem information",
        MetricType::Gauge,
        &["uuid", "label"],
    );
    for fs in filesystems {
        info.push(&[fs.uuid.as_str(), fs.label.as_str()], 1.0);
    }
    // Each source is the value's function of the filesystem.
    let simple: [Desc<FilesystemValue>; 5] = [
        Desc::gauge(
            "node_btrfs_global_rsv_size_bytes",
            "Size of global reserve.",
            |fs| fs.global_rsv_size as f64,
        ),
        Desc::counter(
            "node_btrfs_commits_total",
            "The total number of commits that have occurred.",
            |fs| fs.commits.commits as f64,
        ),
        Desc::gauge(
            "node_btrfs_last_commit_seconds",
            "Duration of the most recent commit, in seconds.",
            |fs| fs.commits.last_commit_ms as f64 / 1000.0,
        ),
        Desc::gauge(
            "node_btrfs_max_commit_seconds",
            "Duration of the slowest commit, in seconds.",
            |fs| fs.commits.max_commit_ms as f64 / 1000.0,
        ),
        Desc::counter(
            "node_btrfs_commit_seconds_total",
            "Sum of the duration of all commits, in seconds.",
            |fs| fs.commits.total_commit_ms as f64 / 1000.0,
        ),
    ];
    for metric in simple {
        let family = metric.family(out, &["uuid"]);
        for fs in filesystems {
            family.push(&[&fs.uuid], (metric.source)(fs));
        }
    }
    let reserved = out.family(
        "node_btrfs_reserved_bytes",
        "Amount of space reserved for a data type",
        MetricType::Gauge,
        &["uuid", "block_group_type"],
    );
    for fs in filesystems {
        for (kind, allocation) in BLOCK_GROUP_TYPES.iter().zip(&fs.allocations) {
            reserved.push(&[fs.uuid.as_str(), kind], allocation.reserved_bytes as f64);
        }
    }
    // Each source is the value's function of a profile's space and its
    // allocation ratio.
    let layout_metrics: [Desc<LayoutValue>; 3] = [
        Desc::gauge(
            "node_btrfs_used_bytes",
            "Amount of used space by a layout/data type",
            |layout, _| layout.used_bytes as f64,
        ),
        Desc::gauge(
            "node_btrfs_size_bytes",
            "Amount of space allocated for a layout/data type",
            |layout, _| layout.total_bytes as f64,
        ),
        Desc::gauge(
            "node_btrfs_allocation_ratio",
            "Data allocation ratio for a layout/data type",
            |_, ratio| ratio,
        ),
    ];
    for metric in layout_metrics {
        let family = metric.family(out, &["uuid", "block_group_type", "mode"]);
        for fs in filesystems {
            for (kind, allocation) in BLOCK_GROUP_TYPES.iter().zip(&fs.allocations) {
                for (profile, layout) in &allocation.layouts {
                    let ratio = allocation_ratio(profile, fs.devices.len());
                    family.push(
                        &[fs.uuid.as_str(), kind, profile],
                        (metric.source)(layout, ratio),
                    );
                }
            }
        }
    }
}

/// Device sizes: from the ioctls where they answered (with the device's
/// UUID, unused space and error counters), else from sysfs.
fn emit_devices<'a>(
    out: &mut MetricSet,
    filesystems: &'a [Filesystem],
    devices_of: impl Fn(&'a Filesystem) -> Option<&'a FilesystemStats>,
) {
    let any_ioctl = filesystems.iter().any(|fs| devices_of(fs).is_some());
    // One family cannot mix label sets: when some filesystems have ioctl data
    // and others not, the latter get an empty `btrfs_dev_uuid`, which
    // Prometheus treats as absent.
    let size_labels: &[&str] = if any_ioctl {
        &["uuid", "device", "btrfs_dev_uuid"]
    } else {
        &["uuid", "device"]
    };
    let sizes = out.family(
        "node_btrfs_device_size_bytes",
        "Size of a device that is part of the filesystem.",
        MetricType::Gauge,
        size_labels,
    );
    for fs in filesystems {
        match devices_of(fs) {
            Some(stats) => {
                for device in &stats.devices {
                    let name = device_name(&device.path);
                    sizes.push(
                        &[fs.uuid.as_str(), name, &device.uuid],
                        device.total_bytes as f64,
                    );
                }
            }
            None => {
                for (name, size) in &fs.devices {
                    let mut labels = vec![fs.uuid.as_str(), name.as_str()];
                    if any_ioctl {
                        labels.push("");
                    }
                    sizes.push(&labels, *size as f64);
                }
            }
        }
    }
    let unused = out.family(
        "node_btrfs_device_unused_bytes",
        "Unused bytes unused on a device that is part of the filesystem.",
        MetricType::Gauge,
        &["uuid", "device", "btrfs_dev_uuid"],
    );
    for fs in filesystems {
        for device in devices_of(fs).map_or(&[][..], |s| &s.devices) {
            let name = device_name(&device.path);
            let free = device.total_bytes.saturating_sub(device.bytes_used);
            unused.push(&[fs.uuid.as_str(), name, &device.uuid], free as f64);
        }
    }
    let errors = out.family(
        "node_btrfs_device_errors_total",
        "Errors reported for the device",
        MetricType::Counter,
        &["uuid", "type", "device", "btrfs_dev_uuid"],
    );
    for fs in filesystems {
        for device in devices_of(fs).map_or(&[][..], |s| &s.devices) {
            let name = device_name(&device.path);
            for (kind, count) in ERROR_TYPES.iter().zip(device.errors) {
                errors.push(&[fs.uuid.as_str(), kind, name, &device.uuid], count as f64);
            }
        }
    }
}

/// The last component of a device path: `/dev/sda1` is `sda1`, as in the
/// sysfs fallback.
fn device_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::btrfs::ioctl::DeviceStats;
    use crate::collectors::common::testing::{run, scrape_fixtures, write_files};

    #[test]
    fn commit_stats_parse_known_keys_and_refuse_garbage() {
        let text = "commits 70649\nlast_commit_ms 2\nmax_commit_ms 146\ntotal_commit_ms 300698\n";
        assert_eq!(
            CommitStats::parse(text).unwrap(),
            CommitStats {
                commits: 70649,
                last_commit_ms: 2,
                max_commit_ms: 146,
                total_commit_ms: 300698
            }
        );
        assert_eq!(
            CommitStats::parse("commits 3\nnew_key 9\n")
                .unwrap()
                .commits,
            3
        );
        assert_eq!(CommitStats::parse("").unwrap(), CommitStats::default());
        assert!(CommitStats::parse("commits\n").is_err());
        assert!(CommitStats::parse("commits 1 2\n").is_err());
        assert!(CommitStats::parse("commits -1\n").is_err());
    }

    #[test]
    fn allocation_ratios_follow_the_profile() {
        assert_eq!(allocation_ratio("single", 1), 1.0);
        assert_eq!(allocation_ratio("dup", 1), 2.0);
        assert_eq!(allocation_ratio("raid10", 4), 2.0);
        assert_eq!(allocation_ratio("raid5", 3), 1.5);
        assert_eq!(allocation_ratio("raid6", 4), 2.0);
        assert_eq!(allocation_ratio("raid1c3", 3), 0.0);
    }

    #[test]
    fn fixture_tree_reports_allocation_commits_and_devices() {
        let text = scrape_fixtures(&SPEC, &[]);
        for line in [
            "# HELP node_btrfs_info Filesystem information",
            r#"node_btrfs_info{label="fixture",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 1"#,
            r#"node_btrfs_info{label="",uuid="7f07c59f-6136-449c-ab87-e1cf2328731b"} 1"#,
            r#"node_btrfs_global_rsv_size_bytes{uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 1.6777216e+07"#,
            "# TYPE node_btrfs_commits_total counter",
            r#"node_btrfs_commits_total{uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 258051"#,
            r#"node_btrfs_commit_seconds_total{uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 1113.449"#,
            r#"node_btrfs_last_commit_seconds{uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 1"#,
            r#"node_btrfs_commits_total{uuid="7f07c59f-6136-449c-ab87-e1cf2328731b"} 0"#,
            r#"node_btrfs_reserved_bytes{block_group_type="system",uuid="7f07c59f-6136-449c-ab87-e1cf2328731b"} 0"#,
            r#"node_btrfs_used_bytes{block_group_type="data",mode="single",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 8.08189952e+08"#,
            r#"node_btrfs_allocation_ratio{block_group_type="metadata",mode="dup",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 2"#,
            r#"node_btrfs_allocation_ratio{block_group_type="data",mode="raid5",uuid="7f07c59f-6136-449c-ab87-e1cf2328731b"} 1.5"#,
            r#"node_btrfs_device_size_bytes{device="loop25",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 1.073741824e+10"#,
            r#"node_btrfs_device_size_bytes{device="loop23",uuid="7f07c59f-6136-449c-ab87-e1cf2328731b"} 1.073741824e+10"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("node_btrfs_device_errors_total"));
    }

    #[test]
    fn ioctl_data_replaces_sysfs_device_sizes() {
        let filesystems = vec![
            Filesystem {
                uuid: "0abb23a9-579b-43e6-ad30-227ef47fcb9d".into(),
                devices: BTreeMap::from([("sda1".into(), 100)]),
                ..Filesystem::default()
            },
            Filesystem {
                uuid: "7f07c59f-6136-449c-ab87-e1cf2328731b".into(),
                devices: BTreeMap::from([("loop1".into(), 50)]),
                ..Filesystem::default()
            },
        ];
        let stats = FilesystemStats {
            fsid: "0abb23a9579b43e6ad30227ef47fcb9d".into(),
            devices: vec![DeviceStats {
                path: "/dev/sda1".into(),
                uuid: "11111111-2222-3333-4444-555555555555".into(),
                bytes_used: 40,
                total_bytes: 100,
                errors: [1, 2, 3, 4, 5],
            }],
        };
        let mut out = MetricSet::new();
        emit_devices(&mut out, &filesystems, |fs| {
            (fs.uuid.replace('-', "") == stats.fsid).then_some(&stats)
        });
        let families = out.into_sorted();
        let mut text = Vec::new();
        crate::exposition::Format::Text.encode(&families.iter().collect::<Vec<_>>(), &mut text);
        let text = String::from_utf8(text).unwrap();
        for line in [
            r#"node_btrfs_device_errors_total{btrfs_dev_uuid="11111111-2222-3333-4444-555555555555",device="sda1",type="corruption",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 4"#,
            r#"node_btrfs_device_errors_total{btrfs_dev_uuid="11111111-2222-3333-4444-555555555555",device="sda1",type="write",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 1"#,
            r#"node_btrfs_device_unused_bytes{btrfs_dev_uuid="11111111-2222-3333-4444-555555555555",device="sda1",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 60"#,
            r#"node_btrfs_device_size_bytes{btrfs_dev_uuid="11111111-2222-3333-4444-555555555555",device="sda1",uuid="0abb23a9-579b-43e6-ad30-227ef47fcb9d"} 100"#,
            r#"node_btrfs_device_size_bytes{btrfs_dev_uuid="",device="loop1",uuid="7f07c59f-6136-449c-ab87-e1cf2328731b"} 50"#,
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn a_btrfs_mount_that_refuses_the_ioctls_falls_back_to_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir
            .path()
            .join("sys/fs/btrfs/0abb23a9-579b-43e6-ad30-227ef47fcb9d");
        write_files(&sys, &[("label", "x\n")]);
        write_files(&sys.join("devices/sda1"), &[("size", "8\n")]);
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("data")).unwrap();
        write_files(
            &dir.path().join("proc/1"),
            &[(
                "mountinfo",
                "40 1 0:40 / /data rw,relatime shared:1 - btrfs /dev/sda1 rw,space_cache=v2,subvolid=5,subvol=/\n",
            )],
        );
        let host = Host::new(
            dir.path().join("proc"),
            dir.path().join("sys"),
            &root,
            "/nonexistent/udev",
        );
        let collector = BtrfsCollector;
        let (families, result) = run(&collector, &host);
        result.unwrap();
        let sizes = families
            .iter()
            .find(|f| f.name() == "node_btrfs_device_size_bytes")
            .unwrap();
        assert_eq!(sizes.label_names(), ["device", "uuid"]);
        assert_eq!(sizes.samples()[0].value, 4096.0);
        assert!(families
            .iter()
            .all(|f| f.name() != "node_btrfs_device_errors_total"));
    }

    #[test]
    fn without_btrfs_nothing_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), dir.path(), dir.path(), dir.path());
        let collector = BtrfsCollector;
        let (families, result) = run(&collector, &host);
        result.unwrap();
        assert!(families.is_empty());
    }

    #[test]
    fn malformed_commit_stats_fail_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir
            .path()
            .join("fs/btrfs/0abb23a9-579b-43e6-ad30-227ef47fcb9d");
        write_files(&sys, &[("commit_stats", "commits many\n")]);
        let host = Host::new("/nonexistent", dir.path(), "/nonexistent", "/nonexistent");
        let collector = BtrfsCollector;
        let (_, result) = run(&collector, &host);
        assert!(result.unwrap_err().message().contains("commit_stats"));
    }
}
