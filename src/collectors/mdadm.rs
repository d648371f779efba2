//! `mdadm`: the state of Linux software RAID (md) arrays, from
//! `<procfs>/mdstat`, plus the member counts the kernel keeps under
//! `<sysfs>/block/md*/md/`.
//!
//! The `/proc/mdstat` reading follows node_exporter's, quirks included:
//! `node_md_state` has only the states `active`, `inactive`, `recovering`,
//! `resync` and `check`, so an array being reshaped (or in a state the kernel
//! names otherwise, such as `broken`) has all five at 0; a `repair` shows as
//! `resync` because the kernel prints it so; and while a sync is queued
//! (`resync=PENDING`/`DELAYED`) `node_md_blocks_synced` is 0.
//!
//! Where node_exporter fails the whole collector on things it does not
//! report, this collector does not: a sync line needs only its
//! `(done/total)`, not the percentage, finish time and speed, and a
//! `resync=REMOTE` (md-cluster) counts as queued. In sysfs, node_exporter
//! also reads attributes it does not report and fails when one is missing
//! (`uuid` before Linux 5.x) or odd (`sync_completed` reads `delayed` while a
//! sync is queued, `raid_disks` reads `5 (4)` during a reshape); here only
//! `level`, `raid_disks` and `degraded` are read, and one that is absent or
//! unparsable drops just the sample that needs it.

use std::fs;
use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, read_trimmed, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "mdadm",
    default_enabled: true,
    reads: "/proc/mdstat, /sys/block/md*/md/{level,raid_disks,degraded}",
    flags: None,
    build: plain::<MdadmCollector>,
};

/// Reports the `node_md_*` families.
#[derive(Default)]
struct MdadmCollector;

/// What an array is doing, as `/proc/mdstat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Running, no sync in progress (`active`, read-only or not).
    Active,
    /// Assembled but not started (`inactive`).
    Inactive,
    /// Rebuilding a member (`recovery = ...`).
    Recovering,
    /// Resynchronising, or a resync queued (`resync = ...`,
    /// `resync=PENDING`, `resync=DELAYED`).
    Resyncing,
    /// Checking parity or mirrors (`check = ...`).
    Checking,
    /// Changing layout or member count (`reshape = ...`).
    Reshaping,
    /// A state word this parser does not know (`broken` on some kernels).
    Other,
}

/// One array of `/proc/mdstat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdArray {
    /// Kernel device name (`md0`, `md127`, `md_d0`).
    pub name: String,
    /// What the array is doing.
    pub activity: Activity,
    /// Members in sync (`[total/active]`), or every member of a `raid0` or
    /// `linear` array, or 0 for an inactive array.
    pub disks_active: u64,
    /// Members the array needs (`[total/active]`).
    pub disks_required: u64,
    /// Members marked faulty, `(F)`.
    pub disks_failed: u64,
    /// Spare members, `(S)`.
    pub disks_spare: u64,
    /// Size in 1 KiB blocks.
    pub blocks: u64,
    /// Blocks in sync: the size unless a sync runs (then its progress) or is
    /// queued (then 0).
    pub blocks_synced: u64,
}

impl MdArray {
    /// Parses `/proc/mdstat`: one entry per array, in file order. A file
    /// with no arrays (no md devices, only `Personalities` and `unused
    /// devices` lines) gives none. An array whose lines are cut short or do
    /// not have the kernel's shape is an error, as node_exporter fails then.
    pub fn parse_all(text: &str) -> Result<Vec<MdArray>, String> {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut arrays = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            // Arrays start at column 0 with `<name> : <state> ...`; their
            // other lines are indented.
            if line.starts_with(char::is_whitespace) {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 3 || fields[1] != ":" || fields[0] == "Personalities" {
                continue;
            }
            let array = MdArray::parse_one(&fields, line, &lines[index + 1..])
                .map_err(|e| format!("array {}: {e}", fields[0]))?;
            arrays.push(array);
        }
        Ok(arrays)
    }

    /// Parses the array whose device line is `line` (split into `fields`),
    /// followed in the file by `rest`.
    fn parse_one(fields: &[&str], line: &str, rest: &[&str]) -> Result<MdArray, String> {
        // The kernel prints at least a status line, a sync, bitmap or
        // whitespace line, and a line after it: fewer means a cut file.
        if rest.len() < 3 {
            return Err("too few lines".to_string());
        }
        let status = rest[0];
        let blocks = status
            .split_whitespace()
            .next()
            .and_then(decimal)
            .ok_or_else(|| format!("no block count in {status:?}"))?;

        let (disks_active, disks_required) = if line.contains("raid0") || line.contains("linear") {
            // Neither prints `[n/m]`; every member listed is in use. Only
            // members carry `[index]` on the device line.
            let members = line.matches('[').count() as u64;
            (members, members)
        } else if line.contains("inactive") {
            (0, 0)
        } else {
            let (required, active) =
                member_counts(status).ok_or_else(|| format!("no [n/m] [U_] in {status:?}"))?;
            (active, required)
        };

        // Sync progress comes before the bitmap line, so the line after the
        // bitmap only matters when the bitmap comes first (no sync running).
        let sync_line = if rest[1].contains("bitmap") {
            rest[2]
        } else {
            rest[1]
        };
        let activity = if sync_line.contains("recovery") {
            Activity::Recovering
        } else if sync_line.contains("reshape") {
            Activity::Reshaping
        } else if sync_line.contains("check") {
            Activity::Checking
        } else if sync_line.contains("resync") {
            Activity::Resyncing
        } else {
            match fields[2] {
                "active" => Activity::Active,
                "inactive" => Activity::Inactive,
                _ => Activity::Other,
            }
        };
        let syncing = matches!(
            activity,
            Activity::Recovering | Activity::Reshaping | Activity::Checking | Activity::Resyncing
        );
        let blocks_synced = if !syncing {
            blocks
        } else if ["PENDING", "DELAYED", "REMOTE"]
            .iter()
            .any(|queued| sync_line.contains(queued))
        {
            // Queued behind another array's sync, or run by another node of
            // a cluster: nothing synced here yet.
            0
        } else {
            sync_progress(sync_line)
                .ok_or_else(|| format!("no (done/total) in sync line {sync_line:?}"))?
        };

        Ok(MdArray {
            name: fields[0].to_string(),
            activity,
            disks_active,
            disks_required,
            disks_failed: line.matches("(F)").count() as u64,
            disks_spare: line.matches("(S)").count() as u64,
            blocks,
            blocks_synced,
        })
    }
}

/// The `[required/active]` counts of a status line such as `1046528 blocks
/// super 1.2 [2/1] [U_]`: the last `[n/m]` followed by a `[U_]` map.
fn member_counts(status: &str) -> Option<(u64, u64)> {
    let fields: Vec<&str> = status.split_whitespace().collect();
    fields.windows(2).rev().find_map(|pair| {
        let counts = pair[0].strip_prefix('[')?.strip_suffix(']')?;
        let map = pair[1].strip_prefix('[')?.strip_suffix(']')?;
        if map.is_empty() || !map.bytes().all(|b| b == b'U' || b == b'_') {
            return None;
        }
        let (required, active) = counts.split_once('/')?;
        Some((decimal(required)?, decimal(active)?))
    })
}

/// The blocks done of a sync line such as `[==>...]  recovery = 12.6%
/// (246312448/1953382400) finish=198.2min speed=143516K/sec`.
fn sync_progress(line: &str) -> Option<u64> {
    line.split_whitespace().find_map(|field| {
        let inner = field.strip_prefix('(')?.strip_suffix(')')?;
        let (done, total) = inner.split_once('/')?;
        decimal(total)?;
        decimal(done)
    })
}

/// An unsigned decimal of ASCII digits only (no sign, no spaces).
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// What `<sysfs>/block/<md>/md/` says of one array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdSysfs {
    /// Kernel device name.
    pub device: String,
    /// `raid_disks`: members of the complete array.
    pub raid_disks: Option<u64>,
    /// `degraded`: members missing. Only redundant levels have the file;
    /// others count as 0, as node_exporter reports them.
    pub degraded: Option<u64>,
}

/// Levels whose arrays have the redundancy attributes (`degraded`,
/// `sync_action`, ...).
const REDUNDANT_LEVELS: [&str; 5] = ["raid1", "raid4", "raid5", "raid6", "raid10"];

impl MdSysfs {
    /// Reads the `md` directory `dir` of array `device`. A missing
    /// attribute leaves its value unset; other read errors are returned.
    pub fn read(device: &str, dir: &Path) -> io::Result<MdSysfs> {
        let level = read_attribute(&dir.join("level"))?.unwrap_or_default();
        let raid_disks = read_attribute(&dir.join("raid_disks"))?
            .as_deref()
            .and_then(parse_raid_disks);
        let degraded = if REDUNDANT_LEVELS.contains(&level.as_str()) {
            read_attribute(&dir.join("degraded"))?.and_then(|v| decimal(&v))
        } else {
            Some(0)
        };
        Ok(MdSysfs {
            device: device.to_string(),
            raid_disks,
            degraded,
        })
    }
}

/// Parses `raid_disks`: a count, or during a reshape the new count followed
/// by the old one in parentheses (`5 (4)`).
fn parse_raid_disks(text: &str) -> Option<u64> {
    decimal(text.split_whitespace().next()?)
}

/// One attribute, trimmed; `None` when it does not exist.
fn read_attribute(path: &Path) -> io::Result<Option<String>> {
    match read_trimmed(path) {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

impl MdadmCollector {
    /// Every array under `<sysfs>/block` that has an `md` directory, in name
    /// order. No `block` directory means no arrays.
    fn read_sysfs(&self, host: &Host) -> Result<Vec<MdSysfs>, CollectError> {
        let block = host.sys_path("block");
        let entries = match fs::read_dir(&block) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(CollectError::io(&block, &err)),
        };
        let mut arrays = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let device = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path().join("md");
            if !device.starts_with("md") || !dir.is_dir() {
                continue;
            }
            match MdSysfs::read(&device, &dir) {
                Ok(array) => arrays.push(array),
                // Stopped between listing and reading.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(CollectError::io(&dir, &err)),
            }
        }
        arrays.sort_by(|a, b| a.device.cmp(&b.device));
        Ok(arrays)
    }
}

/// The `state` label values of `node_md_state`, with the activity each
/// stands for.
const STATES: [(&str, Activity); 5] = [
    ("active", Activity::Active),
    ("inactive", Activity::Inactive),
    ("recovering", Activity::Recovering),
    ("resync", Activity::Resyncing),
    ("check", Activity::Checking),
];

/// Adds the gauge family `name` with a sample per device that has a value.
fn device_gauge<'a>(
    out: &mut MetricSet,
    name: &'static str,
    help: &'static str,
    values: impl Iterator<Item = (&'a str, Option<u64>)>,
) {
    let family = out.family(name, help, MetricType::Gauge, &["device"]);
    for (device, value) in values {
        if let Some(value) = value {
            family.push(&[device], value as f64);
        }
    }
}

impl Collector for MdadmCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("mdstat");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let arrays = MdArray::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;

        let by_name = |value: fn(&MdArray) -> u64| {
            arrays
                .iter()
                .map(move |a| (a.name.as_str(), Some(value(a))))
        };
        device_gauge(
            out,
            "node_md_disks_required",
            "Total number of disks of device.",
            by_name(|a| a.disks_required),
        );
        let disks = out.family(
            "node_md_disks",
            "Number of active/failed/spare disks of device.",
            MetricType::Gauge,
            &["device", "state"],
        );
        for a in &arrays {
            disks.push(&[a.name.as_str(), "active"], a.disks_active as f64);
            disks.push(&[a.name.as_str(), "failed"], a.disks_failed as f64);
            disks.push(&[a.name.as_str(), "spare"], a.disks_spare as f64);
        }
        let state = out.family(
            "node_md_state",
            "Indicates the state of md-device.",
            MetricType::Gauge,
            &["device", "state"],
        );
        for a in &arrays {
            for (label, activity) in STATES {
                let value = if a.activity == activity { 1.0 } else { 0.0 };
                state.push(&[a.name.as_str(), label], value);
            }
        }
        device_gauge(
            out,
            "node_md_blocks",
            "Total number of blocks on device.",
            by_name(|a| a.blocks),
        );
        device_gauge(
            out,
            "node_md_blocks_synced",
            "Number of blocks synced on device.",
            by_name(|a| a.blocks_synced),
        );

        let sysfs = self.read_sysfs(host)?;
        device_gauge(
            out,
            "node_md_raid_disks",
            "Number of raid disks on device.",
            sysfs.iter().map(|a| (a.device.as_str(), a.raid_disks)),
        );
        device_gauge(
            out,
            "node_md_degraded",
            "Number of degraded disks on device.",
            sysfs.iter().map(|a| (a.device.as_str(), a.degraded)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Activity::*;
    use super::*;
    use crate::collectors::common::testing::scrape_fixtures;
    use crate::collectors::ErrorKind;

    /// The fixture tree's `/proc/mdstat`: a check, a delayed and a running
    /// recovery, a degraded mirror with a failed member, a spare, raid0,
    /// linear, a pending resync on a read-only raid10, an inactive array.
    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/mdstat");

    /// An array from its name, activity and `[active, required, failed,
    /// spare, blocks, blocks_synced]`.
    fn md(name: &str, activity: Activity, n: [u64; 6]) -> MdArray {
        MdArray {
            name: name.to_string(),
            activity,
            disks_active: n[0],
            disks_required: n[1],
            disks_failed: n[2],
            disks_spare: n[3],
            blocks: n[4],
            blocks_synced: n[5],
        }
    }

    #[test]
    fn fixture_arrays() {
        let arrays = MdArray::parse_all(FIXTURE).unwrap();
        let names: Vec<&str> = arrays.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["md3", "md6", "md2", "md1", "md0", "md4", "md5", "md7", "md127"]
        );
        let expected = [
            md("md3", Checking, [6, 6, 0, 0, 7813529600, 535573504]),
            md("md6", Resyncing, [1, 2, 0, 0, 523200, 0]),
            md("md2", Recovering, [3, 4, 0, 0, 5860147200, 246312448]),
            md("md1", Active, [1, 2, 1, 0, 488254464, 488254464]),
            md("md0", Active, [2, 2, 0, 1, 1046528, 1046528]),
            md("md4", Active, [2, 2, 0, 0, 1953260544, 1953260544]),
            md("md5", Resyncing, [4, 4, 0, 0, 3906764800, 0]),
            md("md7", Active, [2, 2, 0, 0, 2930010112, 2930010112]),
            md("md127", Inactive, [0, 0, 0, 1, 976630488, 976630488]),
        ];
        assert_eq!(arrays, expected);
    }

    /// A 2.6.18 kernel: 0.90 superblocks print no `super`, IDE members.
    #[test]
    fn linux_2_6_format() {
        let text = "\
Personalities : [raid1] [raid5] 
md1 : active raid5 hdg1[2] hde1[1] hdc1[0]
      390716672 blocks level 5, 64k chunk, algorithm 2 [3/3] [UUU]
      [>....................]  resync =  0.4% (839296/195358336) finish=270.8min speed=11967K/sec
      
md0 : active raid1 hdb1[1] hda1[0]
      104320 blocks [2/2] [UU]
      
unused devices: <none>
";
        let arrays = MdArray::parse_all(text).unwrap();
        assert_eq!(
            arrays,
            [
                md("md1", Resyncing, [3, 3, 0, 0, 390716672, 839296]),
                md("md0", Active, [2, 2, 0, 0, 104320, 104320]),
            ]
        );
    }

    #[test]
    fn reshape_has_its_own_activity() {
        let text = "\
Personalities : [raid6] [raid5] [raid4] 
md0 : active raid5 sde1[4] sdd1[3] sdc1[2] sdb1[1] sda1[0]
      2929893888 blocks super 1.2 level 5, 512k chunk, algorithm 2 [5/5] [UUUUU]
      [>....................]  reshape =  1.6% (31360640/1953262592) finish=1017.5min speed=31480K/sec
      bitmap: 0/15 pages [0KB], 65536KB chunk

unused devices: <none>
";
        let arrays = MdArray::parse_all(text).unwrap();
        assert_eq!(arrays[0].activity, Activity::Reshaping);
        assert_eq!(arrays[0].blocks_synced, 31360640);
        assert_eq!(arrays[0].disks_required, 5);
    }

    #[test]
    fn member_flags_other_than_failed_and_spare_are_not_counted() {
        // Write-mostly, journal and replacement members are in use; a
        // write-mostly member can also be faulty.
        let text = "\
md10 : active raid1 sdd1[3](R) sdc1[2](W)(F) sdb1[1](W) sda1[0]
      1046528 blocks super 1.2 [2/2] [UU]
      [=>...................]  recovery =  5.0% (52352/1046528) finish=0.3min speed=52352K/sec
      
md11 : active raid5 nvme0n1p1[3](J) sdg1[2] sdf1[1] sde1[0]
      20953088 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]
      
unused devices: <none>
";
        let arrays = MdArray::parse_all(text).unwrap();
        assert_eq!(
            arrays,
            [
                md("md10", Recovering, [2, 2, 1, 0, 1046528, 52352]),
                md("md11", Active, [3, 3, 0, 0, 20953088, 20953088]),
            ]
        );
    }

    #[test]
    fn many_members_with_failures_and_spares() {
        let members: Vec<String> = (0..24)
            .map(|i| match i {
                3 | 17 => format!("sd{}1[{i}](F)", (b'a' + i as u8) as char),
                22 | 23 => format!("sd{}1[{i}](S)", (b'a' + i as u8) as char),
                _ => format!("sd{}1[{i}]", (b'a' + i as u8) as char),
            })
            .collect();
        let text = format!(
            "md9 : active raid6 {}\n      \
             41016352768 blocks super 1.2 level 6, 512k chunk, algorithm 2 [22/20] [UUU_UUUUUUUUUUUUU_UUUU]\n      \
             bitmap: 3/11 pages [12KB], 262144KB chunk\n\nunused devices: <none>\n",
            members.join(" ")
        );
        let arrays = MdArray::parse_all(&text).unwrap();
        assert_eq!(
            arrays,
            [md("md9", Active, [20, 22, 2, 2, 41016352768, 41016352768])]
        );
    }

    #[test]
    fn read_only_multipath_and_inactive_variants() {
        let text = "\
Personalities : [multipath] [raid1] 
md126 : active (read-only) raid1 sdb[1] sda[0]
      976759808 blocks super external:/md127/0 [2/2] [UU]
      	resync=PENDING
      
md127 : inactive sdb[1](S) sda[0](S)
      5288 blocks super external:imsm
       
md8 : active multipath sdy[1] sdx[0]
      1048512 blocks [2/2] [UU]
      
md_d0 : inactive
      0 blocks
       
unused devices: <none>
";
        let arrays = MdArray::parse_all(text).unwrap();
        assert_eq!(
            arrays,
            [
                md("md126", Resyncing, [2, 2, 0, 0, 976759808, 0]),
                md("md127", Inactive, [0, 0, 0, 2, 5288, 5288]),
                md("md8", Active, [2, 2, 0, 0, 1048512, 1048512]),
                md("md_d0", Inactive, [0, 0, 0, 0, 0, 0]),
            ]
        );
    }

    #[test]
    fn remote_resync_counts_as_queued_and_unknown_state_is_other() {
        let text = "\
md0 : active raid1 sdb[1] sda[0]
      1046528 blocks super 1.2 [2/2] [UU]
      	resync=REMOTE
      
md1 : broken raid0 sdd[1] sdc[0]
      2093056 blocks super 1.2 512k chunks
      
";
        let arrays = MdArray::parse_all(text).unwrap();
        assert_eq!(arrays[0].activity, Activity::Resyncing);
        assert_eq!(arrays[0].blocks_synced, 0);
        assert_eq!(arrays[1].activity, Activity::Other);
        assert_eq!(arrays[1].disks_active, 2);
    }

    #[test]
    fn no_arrays() {
        assert_eq!(MdArray::parse_all("").unwrap(), []);
        assert_eq!(
            MdArray::parse_all("Personalities : \nunused devices: <none>\n").unwrap(),
            []
        );
        // Lines at column 0 that are not `<name> : <state>` are not arrays.
        assert_eq!(
            MdArray::parse_all("read_ahead 1024 sectors\n\u{fffd}\u{fffd}\n\0\0\n").unwrap(),
            []
        );
    }

    #[test]
    fn truncated_or_garbled_arrays_are_errors() {
        let cases = [
            // Cut after the device line, and inside the status line.
            "md0 : active raid1 sdb1[1] sda1[0]\n",
            "md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks super 1.2 [2/",
            // Status lines without a size or member map.
            "md0 : active raid1 sdb1[1] sda1[0]\n      garbage\n      \n\n",
            "md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks super 1.2\n      \n\n",
            "md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks [2/x] [UU]\n      \n\n",
            "md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks [2/2] [UX]\n      \n\n",
            "md0 : active raid0 sdb1[1] sda1[0]\n      -5 blocks 512k chunks\n      \n\n",
            // A running sync without its progress.
            "md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks [2/1] [U_]\n      \
             [=>..]  recovery =  5.0% finish=0.3min\n      \n\n",
            "md0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks [2/1] [U_]\n      \
             [=>..]  recovery =  5.0% (52352/x) finish=0.3min\n      \n\n",
        ];
        for text in cases {
            let err = MdArray::parse_all(text).unwrap_err();
            assert!(err.contains("md0"), "{err}");
        }
    }

    #[test]
    fn huge_sizes() {
        let text = "\
md0 : active raid6 sdb[1] sda[0]
      18446744073709551615 blocks super 1.2 level 6, 512k chunk, algorithm 2 [2/2] [UU]
      
";
        assert_eq!(
            MdArray::parse_all(text).unwrap()[0].blocks,
            18446744073709551615
        );
        let too_big = text.replace("18446744073709551615", "18446744073709551616");
        assert!(MdArray::parse_all(&too_big).is_err());
    }

    #[test]
    fn raid_disks_during_a_reshape() {
        assert_eq!(parse_raid_disks("4"), Some(4));
        assert_eq!(parse_raid_disks("5 (4)"), Some(5));
        assert_eq!(parse_raid_disks(""), None);
        assert_eq!(parse_raid_disks("-1"), None);
    }

    #[test]
    fn reads_sysfs_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let write = |array: &str, file: &str, value: &str| {
            let path = dir.path().join(array);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join(file), value).unwrap();
        };
        write("mirror", "level", "raid1\n");
        write("mirror", "raid_disks", "2\n");
        write("mirror", "degraded", "1\n");
        write("stripe", "level", "raid0\n");
        write("stripe", "raid_disks", "3\n");
        write("growing", "level", "raid5\n");
        write("growing", "raid_disks", "5 (4)\n");
        write("nodegraded", "level", "raid6\n");
        write("empty", "level", "");
        let read = |name: &str| MdSysfs::read(name, &dir.path().join(name)).unwrap();
        let summary = |m: MdSysfs| (m.raid_disks, m.degraded);
        assert_eq!(summary(read("mirror")), (Some(2), Some(1)));
        assert_eq!(summary(read("stripe")), (Some(3), Some(0)));
        assert_eq!(summary(read("growing")), (Some(5), None));
        assert_eq!(summary(read("nodegraded")), (None, None));
        assert_eq!(summary(read("empty")), (None, Some(0)));
    }

    #[test]
    fn reports_the_fixture_host() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_md_state Indicates the state of md-device.",
            "# TYPE node_md_state gauge",
            r#"node_md_state{device="md1",state="active"} 1"#,
            r#"node_md_state{device="md1",state="inactive"} 0"#,
            r#"node_md_state{device="md127",state="inactive"} 1"#,
            r#"node_md_state{device="md127",state="active"} 0"#,
            r#"node_md_state{device="md2",state="recovering"} 1"#,
            r#"node_md_state{device="md2",state="active"} 0"#,
            r#"node_md_state{device="md3",state="check"} 1"#,
            r#"node_md_state{device="md5",state="resync"} 1"#,
            r#"node_md_state{device="md6",state="resync"} 1"#,
            "# HELP node_md_disks Number of active/failed/spare disks of device.",
            r#"node_md_disks{device="md1",state="active"} 1"#,
            r#"node_md_disks{device="md1",state="failed"} 1"#,
            r#"node_md_disks{device="md0",state="spare"} 1"#,
            r#"node_md_disks{device="md4",state="active"} 2"#,
            "# HELP node_md_disks_required Total number of disks of device.",
            r#"node_md_disks_required{device="md2"} 4"#,
            r#"node_md_disks_required{device="md127"} 0"#,
            "# HELP node_md_blocks Total number of blocks on device.",
            r#"node_md_blocks{device="md2"} 5.8601472e+09"#,
            "# HELP node_md_blocks_synced Number of blocks synced on device.",
            r#"node_md_blocks_synced{device="md2"} 2.46312448e+08"#,
            r#"node_md_blocks_synced{device="md6"} 0"#,
            r#"node_md_blocks_synced{device="md0"} 1.046528e+06"#,
            "# HELP node_md_raid_disks Number of raid disks on device.",
            r#"node_md_raid_disks{device="md3"} 6"#,
            r#"node_md_raid_disks{device="md127"} 0"#,
            "# HELP node_md_degraded Number of degraded disks on device.",
            r#"node_md_degraded{device="md1"} 1"#,
            r#"node_md_degraded{device="md2"} 1"#,
            r#"node_md_degraded{device="md4"} 0"#,
            r#"node_md_degraded{device="md127"} 0"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        // Five states, three disk states, one each of the rest, for nine
        // arrays; both sysfs families for nine arrays.
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 9 * (5 + 3 + 3) + 9 * 2);
    }

    #[test]
    fn missing_mdstat_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path(), dir.path(), "/", "/nonexistent");
        let collector = crate::collectors::common::testing::build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoData);
    }

    #[test]
    fn no_arrays_and_no_sysfs_is_success_without_samples() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mdstat"),
            "Personalities : \nunused devices: <none>\n",
        )
        .unwrap();
        let host = Host::new(dir.path(), "/nonexistent/sys", "/", "/nonexistent");
        let collector = crate::collectors::common::testing::build(&SPEC, host, &[]).unwrap();
        assert_eq!(collector.render(), "");
    }

    #[test]
    fn garbled_mdstat_fails_the_collector() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mdstat"), "md0 : active raid1 sda[0]\n").unwrap();
        let host = Host::new(dir.path(), "/nonexistent/sys", "/", "/nonexistent");
        let collector = crate::collectors::common::testing::build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("mdstat"), "{err}");
    }
}
