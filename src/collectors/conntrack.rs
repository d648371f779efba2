//! `conntrack`: the size and limit of netfilter's connection tracking table
//! (`/proc/sys/net/netfilter/nf_conntrack_{count,max}`) and its per-CPU
//! statistics summed (`/proc/net/stat/nf_conntrack`), as `node_nf_conntrack_*`.
//!
//! Without the `nf_conntrack` module none of these exist, which is not a
//! failure: the collector reports no data. The statistics are read from the
//! host's network namespace (see [`Host::net_path`]); the two sysctls have
//! no per-process path and always show the agent's own namespace, so the
//! entry count is the host's only when the agent shares the host's network
//! (the limit is global either way).

use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, read_trimmed, Host};
use crate::metrics::MetricSet;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "conntrack",
    default_enabled: true,
    reads: "/proc/sys/net/netfilter/nf_conntrack_{count,max}, /proc/1/net/stat/nf_conntrack",
    flags: None,
    build: plain::<ConntrackCollector>,
};

/// Reports the table size, its limit and the summed statistics.
#[derive(Default)]
struct ConntrackCollector;

/// The statistics of `/proc/net/stat/nf_conntrack` that upstream reports,
/// summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConntrackStats {
    /// Successful lookups.
    pub found: u64,
    /// Packets that could not be tracked.
    pub invalid: u64,
    /// Packets already tracked (or marked not to be).
    pub ignore: u64,
    /// Entries inserted.
    pub insert: u64,
    /// Insertions that failed (the entry already existed).
    pub insert_failed: u64,
    /// Packets dropped because tracking failed.
    pub drop: u64,
    /// Entries dropped to make room when the table was full.
    pub early_drop: u64,
    /// Lookups restarted by a table resize (Linux 2.6.35 and later).
    pub search_restart: u64,
}

impl ConntrackStats {
    /// Parses `/proc/net/stat/nf_conntrack`: a header line, then one line per
    /// CPU of 16 hex columns (17 since Linux 2.6.35, which added
    /// `search_restart`). Columns are taken by position, as the kernel has
    /// renamed some (`searched` became `clashres`, `delete_list`
    /// `chainlength`) without moving any. A line of another width or with a
    /// non-hex column makes the file an error; blank lines are skipped.
    pub fn parse(text: &str) -> Result<ConntrackStats, String> {
        let mut stats = ConntrackStats::default();
        for (index, line) in text.lines().enumerate().skip(1) {
            let columns: Vec<&str> = line.split_whitespace().collect();
            if columns.is_empty() {
                continue;
            }
            if columns.len() != 16 && columns.len() != 17 {
                return Err(format!(
                    "line {}: {} columns, expected 16 or 17",
                    index + 1,
                    columns.len()
                ));
            }
            let mut values = [0u64; 17];
            for (value, column) in values.iter_mut().zip(&columns) {
                *value = u64::from_str_radix(column, 16)
                    .map_err(|_| format!("line {}: {column:?} is not a hex number", index + 1))?;
            }
            // Sums wrap, as the kernel's own per-CPU counters do.
            let add = |total: &mut u64, column: usize| *total = total.wrapping_add(values[column]);
            add(&mut stats.found, 2);
            add(&mut stats.invalid, 4);
            add(&mut stats.ignore, 5);
            add(&mut stats.insert, 8);
            add(&mut stats.insert_failed, 9);
            add(&mut stats.drop, 10);
            add(&mut stats.early_drop, 11);
            // Column 17 is zero in `values` when the line has only 16.
            add(&mut stats.search_restart, 16);
        }
        Ok(stats)
    }
}

/// Parses a sysctl holding one unsigned integer.
fn parse_count(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("not an unsigned integer: {text:?}"))
}

/// The error for an unreadable file: no data when it does not exist, since
/// the module is then simply not loaded.
fn read_error(path: &Path, err: &io::Error) -> CollectError {
    if err.kind() == io::ErrorKind::NotFound {
        CollectError::no_data(format!(
            "{} does not exist: conntrack probably not loaded",
            path.display()
        ))
    } else {
        CollectError::io(path, err)
    }
}

impl ConntrackCollector {
    fn read_sysctl(&self, host: &Host, name: &str) -> Result<f64, CollectError> {
        let path = host.proc_path(&format!("sys/net/netfilter/{name}"));
        let text = read_trimmed(&path).map_err(|e| read_error(&path, &e))?;
        let value = parse_count(&text).map_err(|e| CollectError::parse(&path, e))?;
        Ok(value as f64)
    }
}

impl Collector for ConntrackCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        out.gauge(
            "node_nf_conntrack_entries",
            "Number of currently allocated flow entries for connection tracking.",
            self.read_sysctl(host, "nf_conntrack_count")?,
        );
        out.gauge(
            "node_nf_conntrack_entries_limit",
            "Maximum size of connection tracking table.",
            self.read_sysctl(host, "nf_conntrack_max")?,
        );

        let path = host.net_path("stat/nf_conntrack");
        let text = read_text(&path).map_err(|e| read_error(&path, &e))?;
        let stats = ConntrackStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        // Upstream exports these cumulative counts as gauges.
        let families = [
            ("found", "Number of searched entries which were successful.", stats.found),
            ("invalid", "Number of packets seen which can not be tracked.", stats.invalid),
            (
                "ignore",
                "Number of packets seen which are already connected to a conntrack entry.",
                stats.ignore,
            ),
            ("insert", "Number of entries inserted into the list.", stats.insert),
            (
                "insert_failed",
                "Number of entries for which list insertion was attempted but failed.",
                stats.insert_failed,
            ),
            ("drop", "Number of packets dropped due to conntrack failure.", stats.drop),
            (
                "early_drop",
                "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
                stats.early_drop,
            ),
            (
                "search_restart",
                "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
                stats.search_restart,
            ),
        ];
        for (suffix, help, value) in families {
            out.gauge(
                format!("node_nf_conntrack_stat_{suffix}"),
                help,
                value as f64,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_procfs, host_with_procfs, procfs_with, run};
    use crate::collectors::ErrorKind;
    use crate::metrics::{Family, MetricType};

    /// Linux 6.18's format (two CPUs, values made up): `clashres` and
    /// `chainlength` in the header, 17 columns.
    const LINUX_6: &str = include_str!("../../tests/fixtures/proc/1/net/stat/nf_conntrack");

    /// Linux 2.6.32: the old column names, 16 columns (no `search_restart`).
    const LINUX_2_6_32: &str = "\
entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete
0000008a  00000011 00000022 00000033 00000044 00000055 00000066 00000077 00000088 00000099 000000aa 000000bb 000000cc  000000dd 000000ee 000000ff
0000008a  00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008 00000009 0000000a 0000000b 0000000c  0000000d 0000000e 0000000f
";

    #[test]
    fn sums_columns_by_position_over_cpus() {
        let stats = ConntrackStats::parse(LINUX_6).unwrap();
        assert_eq!(
            stats,
            ConntrackStats {
                found: 0xd1c + 0xa03,
                invalid: 0x11 + 0x7,
                ignore: 0x108a7 + 0xea10,
                insert: 0,
                insert_failed: 2 + 1,
                drop: 1,
                early_drop: 0,
                search_restart: 5,
            }
        );
    }

    #[test]
    fn old_kernel_has_no_search_restart() {
        let stats = ConntrackStats::parse(LINUX_2_6_32).unwrap();
        assert_eq!(
            stats,
            ConntrackStats {
                found: 0x22 + 0x2,
                invalid: 0x44 + 0x4,
                ignore: 0x55 + 0x5,
                insert: 0x88 + 0x8,
                insert_failed: 0x99 + 0x9,
                drop: 0xaa + 0xa,
                early_drop: 0xbb + 0xb,
                search_restart: 0,
            }
        );
    }

    #[test]
    fn header_only_is_zero_and_garbage_is_an_error() {
        let header = LINUX_6.lines().next().unwrap();
        assert_eq!(
            ConntrackStats::parse(header).unwrap(),
            ConntrackStats::default()
        );
        assert_eq!(
            ConntrackStats::parse("").unwrap(),
            ConntrackStats::default()
        );
        let row = LINUX_6.lines().nth(1).unwrap();
        for bad in [
            format!("{header}\n{}", &row[..40]),
            format!("{header}\n{row} 00000000"),
            format!("{header}\n{}", row.replace("00000d1c", "0000zz1c")),
        ] {
            assert!(ConntrackStats::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sums_wrap_instead_of_overflowing() {
        let row = "ffffffffffffffff ".repeat(17);
        let stats = ConntrackStats::parse(&format!("header\n{row}\n{row}\n")).unwrap();
        assert_eq!(stats.found, u64::MAX - 1);
    }

    #[test]
    fn counts_are_unsigned_integers() {
        assert_eq!(parse_count("262144\n"), Ok(262144));
        assert!(parse_count("-1").is_err());
        assert!(parse_count("").is_err());
    }

    fn collect(procfs: &Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(&ConntrackCollector, &host_with_procfs(procfs))
    }

    fn value(families: &[Family], name: &str) -> f64 {
        families
            .iter()
            .find(|f| f.name() == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .samples()[0]
            .value
    }

    #[test]
    fn collector_emits_upstream_names_help_and_types() {
        let (families, result) = collect(&fixture_procfs());
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            vec![
                "node_nf_conntrack_entries",
                "node_nf_conntrack_entries_limit",
                "node_nf_conntrack_stat_drop",
                "node_nf_conntrack_stat_early_drop",
                "node_nf_conntrack_stat_found",
                "node_nf_conntrack_stat_ignore",
                "node_nf_conntrack_stat_insert",
                "node_nf_conntrack_stat_insert_failed",
                "node_nf_conntrack_stat_invalid",
                "node_nf_conntrack_stat_search_restart",
            ]
        );
        assert_eq!(value(&families, "node_nf_conntrack_entries"), 187.0);
        assert_eq!(
            value(&families, "node_nf_conntrack_entries_limit"),
            262144.0
        );
        assert_eq!(value(&families, "node_nf_conntrack_stat_found"), 5919.0);
        assert_eq!(
            families[1].help(),
            "Maximum size of connection tracking table."
        );
        assert!(families
            .iter()
            .all(|f| f.metric_type() == MetricType::Gauge && f.label_names().is_empty()));
    }

    #[test]
    fn module_not_loaded_is_no_data() {
        let procfs = procfs_with(&[]);
        let (families, result) = collect(procfs.path());
        assert!(families.is_empty());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
    }

    #[test]
    fn missing_statistics_keep_the_table_size() {
        let procfs = procfs_with(&[
            ("sys/net/netfilter/nf_conntrack_count", "12\n"),
            ("sys/net/netfilter/nf_conntrack_max", "65536\n"),
        ]);
        let (families, result) = collect(procfs.path());
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert_eq!(families.len(), 2);
        assert_eq!(value(&families, "node_nf_conntrack_entries"), 12.0);
    }

    #[test]
    fn garbage_fails() {
        let procfs = procfs_with(&[
            ("sys/net/netfilter/nf_conntrack_count", "many\n"),
            ("sys/net/netfilter/nf_conntrack_max", "65536\n"),
        ]);
        let (_, result) = collect(procfs.path());
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("nf_conntrack_count"), "{err}");
    }
}
