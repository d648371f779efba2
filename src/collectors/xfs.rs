//! `xfs`: per-filesystem XFS counters from
//! `/sys/fs/xfs/<device>/stats/stats` (Linux 4.4+), as node_exporter's
//! `node_xfs_*{device}`.
//!
//! Each file is the format of the global `/proc/fs/xfs/stat`: one group per
//! line, a name and its counters (`extent_alloc 2 2 0 0`). Without any XFS
//! filesystem mounted there is nothing to read and the collector reports no
//! data.

use std::collections::HashMap;
use std::fs;
use std::io;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "xfs",
    default_enabled: true,
    reads: "/sys/fs/xfs/*/stats/stats",
    flags: None,
    build: plain::<XfsCollector>,
};

/// Reports every mounted XFS filesystem's counters.
#[derive(Default)]
struct XfsCollector;

/// The groups upstream's parser checks, with how many counters each must
/// have; `vnodes` lost its last counter in older kernels. Other groups
/// (`push_ail`, `xstrat`, the v2 B-trees, `qm`, `defer_relog`, ...) are
/// not reported and not checked.
const GROUP_LENGTHS: &[(&str, &[usize])] = &[
    ("extent_alloc", &[4]),
    ("abt", &[4]),
    ("blk_map", &[7]),
    ("bmbt", &[4]),
    ("dir", &[4]),
    ("trans", &[3]),
    ("ig", &[7]),
    ("log", &[5]),
    ("rw", &[2]),
    ("attr", &[4]),
    ("icluster", &[3]),
    ("vnodes", &[7, 8]),
    ("buf", &[9]),
    ("xpc", &[3]),
];

/// The counters upstream reports, with its names (after `node_xfs_`) and
/// help texts; each source is the group and the position in it. The kernel
/// writes `rw` as write calls, then read calls.
const COUNTERS: &[Desc<(&str, usize)>] = &[
    Desc::counter(
        "extent_allocation_extents_allocated_total",
        "Number of extents allocated for a filesystem.",
        ("extent_alloc", 0),
    ),
    Desc::counter(
        "extent_allocation_blocks_allocated_total",
        "Number of blocks allocated for a filesystem.",
        ("extent_alloc", 1),
    ),
    Desc::counter(
        "extent_allocation_extents_freed_total",
        "Number of extents freed for a filesystem.",
        ("extent_alloc", 2),
    ),
    Desc::counter(
        "extent_allocation_blocks_freed_total",
        "Number of blocks freed for a filesystem.",
        ("extent_alloc", 3),
    ),
    Desc::counter(
        "allocation_btree_lookups_total",
        "Number of allocation B-tree lookups for a filesystem.",
        ("abt", 0),
    ),
    Desc::counter(
        "allocation_btree_compares_total",
        "Number of allocation B-tree compares for a filesystem.",
        ("abt", 1),
    ),
    Desc::counter(
        "allocation_btree_records_inserted_total",
        "Number of allocation B-tree records inserted for a filesystem.",
        ("abt", 2),
    ),
    Desc::counter(
        "allocation_btree_records_deleted_total",
        "Number of allocation B-tree records deleted for a filesystem.",
        ("abt", 3),
    ),
    Desc::counter(
        "block_mapping_reads_total",
        "Number of block map for read operations for a filesystem.",
        ("blk_map", 0),
    ),
    Desc::counter(
        "block_mapping_writes_total",
        "Number of block map for write operations for a filesystem.",
        ("blk_map", 1),
    ),
    Desc::counter(
        "block_mapping_unmaps_total",
        "Number of block unmaps (deletes) for a filesystem.",
        ("blk_map", 2),
    ),
    Desc::counter(
        "block_mapping_extent_list_insertions_total",
        "Number of extent list insertions for a filesystem.",
        ("blk_map", 3),
    ),
    Desc::counter(
        "block_mapping_extent_list_deletions_total",
        "Number of extent list deletions for a filesystem.",
        ("blk_map", 4),
    ),
    Desc::counter(
        "block_mapping_extent_list_lookups_total",
        "Number of extent list lookups for a filesystem.",
        ("blk_map", 5),
    ),
    Desc::counter(
        "block_mapping_extent_list_compares_total",
        "Number of extent list compares for a filesystem.",
        ("blk_map", 6),
    ),
    Desc::counter(
        "block_map_btree_lookups_total",
        "Number of block map B-tree lookups for a filesystem.",
        ("bmbt", 0),
    ),
    Desc::counter(
        "block_map_btree_compares_total",
        "Number of block map B-tree compares for a filesystem.",
        ("bmbt", 1),
    ),
    Desc::counter(
        "block_map_btree_records_inserted_total",
        "Number of block map B-tree records inserted for a filesystem.",
        ("bmbt", 2),
    ),
    Desc::counter(
        "block_map_btree_records_deleted_total",
        "Number of block map B-tree records deleted for a filesystem.",
        ("bmbt", 3),
    ),
    Desc::counter(
        "directory_operation_lookup_total",
        "Number of file name directory lookups which miss the operating systems directory name lookup cache.",
        ("dir", 0),
    ),
    Desc::counter(
        "directory_operation_create_total",
        "Number of times a new directory entry was created for a filesystem.",
        ("dir", 1),
    ),
    Desc::counter(
        "directory_operation_remove_total",
        "Number of times an existing directory entry was created for a filesystem.",
        ("dir", 2),
    ),
    Desc::counter(
        "directory_operation_getdents_total",
        "Number of times the directory getdents operation was performed for a filesystem.",
        ("dir", 3),
    ),
    Desc::counter(
        "inode_operation_attempts_total",
        "Number of times the OS looked for an XFS inode in the inode cache.",
        ("ig", 0),
    ),
    Desc::counter(
        "inode_operation_found_total",
        "Number of times the OS looked for and found an XFS inode in the inode cache.",
        ("ig", 1),
    ),
    Desc::counter(
        "inode_operation_recycled_total",
        "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled.",
        ("ig", 2),
    ),
    Desc::counter(
        "inode_operation_missed_total",
        "Number of times the OS looked for an XFS inode in the cache, but did not find it.",
        ("ig", 3),
    ),
    Desc::counter(
        "inode_operation_duplicates_total",
        "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process.",
        ("ig", 4),
    ),
    Desc::counter(
        "inode_operation_reclaims_total",
        "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose.",
        ("ig", 5),
    ),
    Desc::counter(
        "inode_operation_attribute_changes_total",
        "Number of times the OS explicitly changed the attributes of an XFS inode.",
        ("ig", 6),
    ),
    Desc::counter(
        "read_calls_total",
        "Number of read(2) system calls made to files in a filesystem.",
        ("rw", 1),
    ),
    Desc::counter(
        "write_calls_total",
        "Number of write(2) system calls made to files in a filesystem.",
        ("rw", 0),
    ),
    Desc::counter(
        "vnode_active_total",
        "Number of vnodes not on free lists for a filesystem.",
        ("vnodes", 0),
    ),
    Desc::counter(
        "vnode_allocate_total",
        "Number of times vn_alloc called for a filesystem.",
        ("vnodes", 1),
    ),
    Desc::counter(
        "vnode_get_total",
        "Number of times vn_get called for a filesystem.",
        ("vnodes", 2),
    ),
    Desc::counter(
        "vnode_hold_total",
        "Number of times vn_hold called for a filesystem.",
        ("vnodes", 3),
    ),
    Desc::counter(
        "vnode_release_total",
        "Number of times vn_rele called for a filesystem.",
        ("vnodes", 4),
    ),
    Desc::counter(
        "vnode_reclaim_total",
        "Number of times vn_reclaim called for a filesystem.",
        ("vnodes", 5),
    ),
    Desc::counter(
        "vnode_remove_total",
        "Number of times vn_remove called for a filesystem.",
        ("vnodes", 6),
    ),
];

/// The counters of one XFS stats file, by group name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XfsStats {
    /// Group name to its counters, for the groups in [`GROUP_LENGTHS`].
    pub groups: HashMap<String, Vec<u64>>,
}

impl XfsStats {
    /// Parses an XFS stats file. Lines without a counter are skipped. A
    /// checked group with the wrong number of counters, or a counter that
    /// is not an unsigned integer (32-bit, except `xpc`'s 64-bit byte
    /// counts), makes the file an error, as upstream's. A group missing
    /// from the file reads as zeros.
    pub fn parse(text: &str) -> Result<XfsStats, String> {
        let mut stats = XfsStats::default();
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some(group) = fields.next() else {
                continue;
            };
            let values: Vec<&str> = fields.collect();
            let Some(&(_, lengths)) = GROUP_LENGTHS.iter().find(|(name, _)| *name == group) else {
                continue;
            };
            if values.is_empty() {
                continue;
            }
            if !lengths.contains(&values.len()) {
                return Err(format!(
                    "{group}: {} counters, expected {lengths:?}",
                    values.len()
                ));
            }
            let counters = values
                .iter()
                .map(|value| parse_counter(group, value))
                .collect::<Result<Vec<u64>, String>>()?;
            stats.groups.insert(group.to_string(), counters);
        }
        Ok(stats)
    }

    /// A counter, 0 when its group is absent (or `vnodes` lacks `free`).
    pub fn get(&self, group: &str, position: usize) -> u64 {
        self.groups
            .get(group)
            .and_then(|values| values.get(position))
            .copied()
            .unwrap_or(0)
    }
}

fn parse_counter(group: &str, value: &str) -> Result<u64, String> {
    let parsed = if group == "xpc" {
        value.parse::<u64>().ok()
    } else {
        value.parse::<u32>().ok().map(u64::from)
    };
    parsed.ok_or_else(|| format!("{group}: invalid counter {value:?}"))
}

impl XfsCollector {
    /// Every filesystem's name and parsed stats, sorted by name. No XFS
    /// (module not loaded, or nothing mounted) is an empty list: node_exporter
    /// reports success with no series then, and so do we.
    fn read_all(&self, host: &Host) -> Result<Vec<(String, XfsStats)>, CollectError> {
        let root = host.sys_path("fs/xfs");
        let entries = match fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CollectError::io(&root, &e)),
        };
        let mut filesystems = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CollectError::io(&root, &e))?;
            let path = entry.path().join("stats/stats");
            let text = match read_sysfs_attribute(&path) {
                Ok(text) => text,
                // Not a filesystem: the global `stats` directory, whose
                // `stats` is the file itself, or another global entry.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(CollectError::io(&path, &e)),
            };
            let stats = XfsStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            filesystems.push((name, stats));
        }
        filesystems.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(filesystems)
    }
}

impl Collector for XfsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let filesystems = self.read_all(host)?;
        if filesystems.is_empty() {
            // No families to make: without samples they would not be shown.
            return Ok(());
        }
        for counter in COUNTERS {
            let (group, position) = counter.source;
            let family = out.family(
                format!("node_xfs_{}", counter.name),
                counter.help,
                counter.metric_type,
                &["device"],
            );
            for (device, stats) in &filesystems {
                family.push(&[device], stats.get(group, position) as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_host, render, run, write_files};
    use crate::collectors::ErrorKind;
    use crate::host::Host;
    use crate::metrics::MetricType;

    /// A 6.x filesystem's stats: later groups (`rmapbt`, `refcntbt`,
    /// `rmapbt_mem`, `rcbagbt`, `defer_relog`) upstream does not know.
    const LINUX_6: &str = "\
extent_alloc 2 4 1 3
abt 0 0 0 0
blk_map 12 6 2 3 1 20 0
bmbt 0 0 0 0
dir 17 5 2 9
trans 0 11 0
ig 0 8 0 6 0 4 1
log 4 7 0 3 1
push_ail 11 0 43 20 0 0 0 0 0 0
xstrat 2 0
rw 41 22
attr 3 0 0 0
icluster 1 2 3
vnodes 4 0 0 0 10 10 10 0
buf 57 1 56 3 0 0 0 0 2
abtb2 4 10 1 1 0 0 0 0 0 0 0 0 0 0 12
abtc2 8 21 4 4 0 0 0 0 0 0 0 0 0 0 25
bmbt2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
ibt2 10 20 2 2 0 0 0 0 0 0 0 0 0 0 6
fibt2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
rmapbt 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
refcntbt 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
rmapbt_mem 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
rcbagbt 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
qm 0 0 0 0 0 0 0 0 0
xpc 399360 91045 12885286914
defer_relog 18446744073709551615
debug 0
";

    /// An older kernel's `vnodes` without `free`, and no `ig`/`xpc` lines.
    const SHORT: &str = "\
extent_alloc 1 1 1 1
vnodes 5 6 7 8 9 10 11
rw 3 4
";

    #[test]
    fn parses_a_current_file() {
        let stats = XfsStats::parse(LINUX_6).unwrap();
        assert_eq!(stats.get("extent_alloc", 1), 4);
        assert_eq!(stats.get("blk_map", 5), 20);
        assert_eq!(stats.get("ig", 6), 1);
        assert_eq!(stats.get("rw", 0), 41);
        assert_eq!(stats.get("vnodes", 6), 10);
        assert_eq!(stats.get("xpc", 2), 12885286914);
        assert!(!stats.groups.contains_key("defer_relog"));
    }

    #[test]
    fn seven_vnode_counters_and_missing_groups_are_fine() {
        let stats = XfsStats::parse(SHORT).unwrap();
        assert_eq!(stats.get("vnodes", 6), 11);
        assert_eq!(stats.get("vnodes", 7), 0);
        assert_eq!(stats.get("ig", 0), 0);
    }

    #[test]
    fn broken_checked_groups_are_errors() {
        for text in [
            "extent_alloc 1 2 3\n",
            "vnodes 1 2 3 4 5 6\n",
            "buf 1 2 3 4 5 6 7 8 9 10\n",
            "rw 1 x\n",
            "rw 1 4294967296\n",
            "xpc 1 2\n",
            "trans 1 2 3 4\n",
        ] {
            assert!(XfsStats::parse(text).is_err(), "{text:?}");
        }
        // Lines without counters and unknown groups are skipped.
        let stats = XfsStats::parse("rw\nfuture 1 x\n\ngarbage\n").unwrap();
        assert!(stats.groups.is_empty());
        // A cut last line fails when its count is short.
        assert!(XfsStats::parse("rw 1 2\nblk_map 1 2 3").is_err());
    }

    fn host_on(sys: &std::path::Path) -> Host {
        Host::new("/nonexistent/proc", sys, "/nonexistent", "/nonexistent")
    }

    #[test]
    fn no_xfs_is_success_without_series() {
        let dir = tempfile::tempdir().unwrap();
        let (families, result) = run(&XfsCollector, &host_on(dir.path()));
        result.unwrap();
        assert!(families.is_empty());
        // The module loaded, nothing mounted: only the global files.
        write_files(&dir.path().join("fs/xfs/stats"), &[("stats", LINUX_6)]);
        std::fs::create_dir_all(dir.path().join("fs/xfs/features")).unwrap();
        let (families, result) = run(&XfsCollector, &host_on(dir.path()));
        result.unwrap();
        assert!(families.is_empty());
    }

    #[test]
    fn one_broken_file_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        write_files(&dir.path().join("fs/xfs/sda1/stats"), &[("stats", LINUX_6)]);
        write_files(
            &dir.path().join("fs/xfs/sdb1/stats"),
            &[("stats", "rw 1\n")],
        );
        let (_, result) = run(&XfsCollector, &host_on(dir.path()));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("sdb1"), "{err}");
    }

    #[test]
    fn reports_every_device() {
        let dir = tempfile::tempdir().unwrap();
        write_files(&dir.path().join("fs/xfs/sda1/stats"), &[("stats", LINUX_6)]);
        write_files(&dir.path().join("fs/xfs/dm-0/stats"), &[("stats", SHORT)]);
        let (families, result) = run(&XfsCollector, &host_on(dir.path()));
        result.unwrap();
        assert_eq!(families.len(), 39);
        for family in &families {
            assert_eq!(family.metric_type(), MetricType::Counter);
            assert_eq!(family.samples().len(), 2, "{}", family.name());
        }
        let writes = families
            .iter()
            .find(|f| f.name() == "node_xfs_write_calls_total")
            .unwrap();
        let values: Vec<(&str, f64)> = writes
            .samples()
            .iter()
            .map(|s| (writes.label_values(s).next().unwrap(), s.value))
            .collect();
        assert_eq!(values, [("dm-0", 3.0), ("sda1", 41.0)]);
    }

    #[test]
    fn fixture_host_output() {
        let text = render(&XfsCollector, &fixture_host());
        for line in [
            "# HELP node_xfs_inode_operation_attempts_total Number of times the OS looked for an XFS inode in the inode cache.",
            "# TYPE node_xfs_read_calls_total counter",
            "node_xfs_extent_allocation_blocks_allocated_total{device=\"sda3\"} 1.114866e+06",
            "node_xfs_vnode_remove_total{device=\"sdb3\"} 3",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
