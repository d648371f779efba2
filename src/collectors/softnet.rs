//! `softnet`: per-CPU packet processing statistics from
//! `/proc/net/softnet_stat`, as `node_softnet_*{cpu}`.
//!
//! The statistics are per CPU, not per network namespace, so every
//! namespace's file says the same; it is read through [`Host::net_path`]
//! like the other network files all the same.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "softnet",
    default_enabled: true,
    reads: "/proc/1/net/softnet_stat",
    flags: None,
    build: plain::<SoftnetCollector>,
};

/// Reports one sample per CPU for each column.
#[derive(Default)]
struct SoftnetCollector;

/// One line of `softnet_stat`: one CPU's counters. Columns a kernel does not
/// write are 0, as upstream reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoftnetRow {
    /// The CPU: column 13 on Linux 5.10 and later, the line's position
    /// before (wrong when CPUs are offline, as their lines are missing, but
    /// all an older kernel tells).
    pub cpu: u32,
    /// Packets processed (column 1).
    pub processed: u32,
    /// Packets dropped because the backlog was full (column 2).
    pub dropped: u32,
    /// Times the NAPI budget or time ran out with work left (column 3).
    pub time_squeezed: u32,
    /// Transmit lock collisions (column 9; always 0 since Linux 4.x).
    pub cpu_collision: u32,
    /// Inter-processor interrupts received for RPS (column 10, Linux 2.6.36).
    pub received_rps: u32,
    /// Times the flow limit was hit (column 11, Linux 3.11).
    pub flow_limit_count: u32,
    /// Packets waiting in the backlog (column 12, Linux 5.10).
    pub backlog_len: u32,
}

impl SoftnetRow {
    /// Parses `softnet_stat`: one line per online CPU of hex columns, 9 on
    /// the oldest kernels, 10, 11, 13 and now 15 on later ones. A line of
    /// fewer than 9 columns or with a column that is not a 32-bit hex number
    /// makes the file an error; blank lines are skipped.
    pub fn parse(text: &str) -> Result<Vec<SoftnetRow>, String> {
        let mut rows = Vec::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let position = rows.len();
            let columns: Vec<&str> = line.split_whitespace().collect();
            if columns.len() < 9 {
                return Err(format!(
                    "line {}: {} columns, expected at least 9",
                    position + 1,
                    columns.len()
                ));
            }
            let hex = |index: usize| -> Result<u32, String> {
                u32::from_str_radix(columns[index], 16).map_err(|_| {
                    format!(
                        "line {}: column {} is not a hex number: {:?}",
                        position + 1,
                        index + 1,
                        columns[index]
                    )
                })
            };
            // Columns 4-8 are long unused; they are checked but not kept.
            for index in 3..8 {
                hex(index)?;
            }
            let optional = |index: usize| {
                if columns.len() > index {
                    hex(index)
                } else {
                    Ok(0)
                }
            };
            let (backlog_len, cpu) = if columns.len() >= 13 {
                (hex(11)?, hex(12)?)
            } else {
                (0, u32::try_from(position).unwrap_or(u32::MAX))
            };
            rows.push(SoftnetRow {
                cpu,
                processed: hex(0)?,
                dropped: hex(1)?,
                time_squeezed: hex(2)?,
                cpu_collision: hex(8)?,
                received_rps: optional(9)?,
                flow_limit_count: optional(10)?,
                backlog_len,
            });
        }
        Ok(rows)
    }
}

/// Reads one column of a [`SoftnetRow`].
type Column = fn(&SoftnetRow) -> u32;

/// The `node_softnet_*` families, named after the prefix, with upstream's
/// help (which has no final period); each source is the column reported.
const FAMILIES: &[Desc<Column>] = &[
    Desc::counter("processed_total", "Number of processed packets", |r| {
        r.processed
    }),
    Desc::counter("dropped_total", "Number of dropped packets", |r| r.dropped),
    Desc::counter(
        "times_squeezed_total",
        "Number of times processing packets ran out of quota",
        |r| r.time_squeezed,
    ),
    Desc::counter(
        "cpu_collision_total",
        "Number of collision occur while obtaining device lock while transmitting",
        |r| r.cpu_collision,
    ),
    Desc::counter(
        "received_rps_total",
        "Number of times cpu woken up received_rps",
        |r| r.received_rps,
    ),
    Desc::counter(
        "flow_limit_count_total",
        "Number of times flow limit has been reached",
        |r| r.flow_limit_count,
    ),
    Desc::gauge("backlog_len", "Softnet backlog status", |r| r.backlog_len),
];

impl Collector for SoftnetCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.net_path("softnet_stat");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let rows = SoftnetRow::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
        for spec in FAMILIES {
            let family = out.family(
                format!("node_softnet_{}", spec.name),
                spec.help,
                spec.metric_type,
                &["cpu"],
            );
            for row in &rows {
                family.push(&[row.cpu.to_string()], f64::from((spec.source)(row)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{fixture_procfs, host_with_procfs, procfs_with, run};
    use crate::metrics::{Family, MetricType};

    /// This machine's file: Linux 6.18, 2 CPUs, 15 columns (input and
    /// process queue lengths after the CPU index).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/1/net/softnet_stat");

    /// Linux 5.10+ with 13 columns, CPU 1 offline: the index column says 2
    /// for the second line.
    const LINUX_5_15: &str = "\
0358fe3 00006283 00000000 00000000 00000000 00000000 00000000 00000000 00000000 000855fc 00000076 00000000 00000000
00953d1a 00000446 000000b1 00000000 00000000 00000000 00000000 00000000 00000000 008eeb9a 0000000a 00000003 00000002
";

    /// Linux 4.19: 11 columns, no backlog length or CPU index.
    const LINUX_4_19: &str = "\
6dcad223 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000002
6f0e1565 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000003
";

    /// Linux 2.6.32: 10 columns (received_rps, no flow limit).
    const LINUX_2_6_32: &str = "\
0000e8d6 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000005 00000007
";

    /// Linux 2.6.18: 9 columns.
    const LINUX_2_6_18: &str = "\
00007a3c 00000001 00000003 00000000 00000000 00000000 00000000 00000000 00000004
";

    #[test]
    fn parses_this_machines_file() {
        let rows = SoftnetRow::parse(CURRENT).unwrap();
        assert_eq!(rows.len(), CURRENT.lines().count());
        let cpus: Vec<u32> = rows.iter().map(|r| r.cpu).collect();
        assert_eq!(cpus, (0..rows.len() as u32).collect::<Vec<_>>());
        assert!(rows.iter().all(|r| r.processed > 0));
    }

    #[test]
    fn thirteen_columns_carry_backlog_and_cpu_index() {
        let rows = SoftnetRow::parse(LINUX_5_15).unwrap();
        assert_eq!(
            rows[1],
            SoftnetRow {
                cpu: 2,
                processed: 0x00953d1a,
                dropped: 0x446,
                time_squeezed: 0xb1,
                cpu_collision: 0,
                received_rps: 0x008eeb9a,
                flow_limit_count: 0xa,
                backlog_len: 3,
            }
        );
        assert_eq!(rows[0].cpu, 0);
    }

    #[test]
    fn older_kernels_number_cpus_by_line_and_zero_missing_columns() {
        let rows = SoftnetRow::parse(LINUX_4_19).unwrap();
        assert_eq!(
            (rows[1].cpu, rows[1].flow_limit_count, rows[1].backlog_len),
            (1, 3, 0)
        );
        let rows = SoftnetRow::parse(LINUX_2_6_32).unwrap();
        assert_eq!(
            (
                rows[0].cpu_collision,
                rows[0].received_rps,
                rows[0].flow_limit_count
            ),
            (5, 7, 0)
        );
        let rows = SoftnetRow::parse(LINUX_2_6_18).unwrap();
        assert_eq!(
            rows[0],
            SoftnetRow {
                cpu: 0,
                processed: 0x7a3c,
                dropped: 1,
                time_squeezed: 3,
                cpu_collision: 4,
                ..SoftnetRow::default()
            }
        );
    }

    #[test]
    fn short_or_garbage_lines_are_errors() {
        for text in [
            "00000001 00000002 00000003\n",
            "0000000g 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n",
            "100000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n",
            "00000001 00000000 00000000 00000000 00000000 xx 00000000 00000000 00000000\n",
            "00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 zz\n",
        ] {
            assert!(SoftnetRow::parse(text).is_err(), "{text:?}");
        }
        assert!(SoftnetRow::parse("").unwrap().is_empty());
    }

    fn collect(procfs: &std::path::Path) -> (Vec<Family>, Result<(), CollectError>) {
        run(&SoftnetCollector, &host_with_procfs(procfs))
    }

    #[test]
    fn collector_emits_every_family_per_cpu() {
        let (families, result) = collect(&fixture_procfs());
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            vec![
                "node_softnet_backlog_len",
                "node_softnet_cpu_collision_total",
                "node_softnet_dropped_total",
                "node_softnet_flow_limit_count_total",
                "node_softnet_processed_total",
                "node_softnet_received_rps_total",
                "node_softnet_times_squeezed_total",
            ]
        );
        let rows = CURRENT.lines().count();
        for family in &families {
            assert_eq!(family.label_names(), &["cpu"]);
            assert_eq!(family.samples().len(), rows, "{}", family.name());
            let expected = if family.name() == "node_softnet_backlog_len" {
                MetricType::Gauge
            } else {
                MetricType::Counter
            };
            assert_eq!(family.metric_type(), expected);
        }
        assert_eq!(families[4].help(), "Number of processed packets");
    }

    #[test]
    fn values_land_on_the_right_cpu() {
        let procfs = procfs_with(&[("net/softnet_stat", LINUX_5_15)]);
        let (families, result) = collect(procfs.path());
        result.unwrap();
        let dropped = families
            .iter()
            .find(|f| f.name() == "node_softnet_dropped_total")
            .unwrap();
        let samples: Vec<(&str, f64)> = dropped
            .samples()
            .iter()
            .map(|s| (dropped.label_values(s).next().unwrap(), s.value))
            .collect();
        assert_eq!(samples, vec![("0", 25219.0), ("2", 1094.0)]);
    }

    #[test]
    fn missing_or_garbage_file_fails() {
        let empty = procfs_with(&[]);
        assert!(collect(empty.path()).1.is_err());
        let procfs = procfs_with(&[("net/softnet_stat", "garbage\n")]);
        let (families, result) = collect(procfs.path());
        assert!(families.is_empty());
        assert!(result.unwrap_err().message().contains("softnet_stat"));
    }
}
