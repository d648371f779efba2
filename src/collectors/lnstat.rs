//! `lnstat`: the per-CPU network cache counters of the host's
//! `/proc/net/stat/*` (`arp_cache`, `ndisc_cache`, `nf_conntrack`,
//! `rt_cache`, ...), as `node_lnstat_<column>_total{subsystem,cpu}`.
//!
//! Every column is exported as a counter, as node_exporter does, including
//! those that are gauges in the kernel (`entries`).

use std::collections::BTreeMap;
use std::fs;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{is_name_fragment, MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "lnstat",
    default_enabled: false,
    reads: "/proc/1/net/stat/*",
    flags: None,
    build: plain::<LnstatCollector>,
};

/// Reports the counters of every file under `net/stat`.
#[derive(Default)]
struct LnstatCollector;

/// One `/proc/net/stat/<subsystem>` file: its column names and one row of
/// values per CPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// The column names of the header line.
    pub columns: Vec<String>,
    /// Per CPU (in row order), the values of the columns present.
    pub rows: Vec<Vec<u32>>,
}

impl CacheStats {
    /// Parses a header line of column names followed by rows of 8-digit hex
    /// values, one per CPU:
    ///
    /// ```text
    /// entries  allocs   destroys hash_grows lookups  hits ...
    /// 00000002 00000001 00000000 00000000   00000006 00000000 ...
    /// ```
    ///
    /// Blank lines are skipped. A row with more values than the header has
    /// names, or a value that is not 32-bit hex, makes the file an error; a
    /// row cut short keeps the values it has.
    pub fn parse(text: &str) -> Result<CacheStats, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let Some(header) = lines.next() else {
            return Ok(CacheStats::default());
        };
        let columns: Vec<String> = header.split_whitespace().map(str::to_string).collect();
        let mut rows = Vec::new();
        for (cpu, line) in lines.enumerate() {
            let values = line
                .split_whitespace()
                .map(|field| {
                    u32::from_str_radix(field, 16)
                        .map_err(|_| format!("cpu {cpu}: invalid value {field:?}"))
                })
                .collect::<Result<Vec<u32>, String>>()?;
            if values.len() > columns.len() {
                return Err(format!(
                    "cpu {cpu}: {} values but {} columns",
                    values.len(),
                    columns.len()
                ));
            }
            rows.push(values);
        }
        Ok(CacheStats { columns, rows })
    }
}

impl Collector for LnstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = host.net_path("stat");
        let entries = fs::read_dir(&dir).map_err(|e| CollectError::io_or_no_data(&dir, &e))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort_unstable();
        // Metric name to (subsystem, cpu, value): one family per column name,
        // whichever files it appears in.
        let mut families: BTreeMap<String, Vec<(String, String, f64)>> = BTreeMap::new();
        for subsystem in names {
            let path = dir.join(&subsystem);
            let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
            let stats = CacheStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
            for (cpu, row) in stats.rows.iter().enumerate() {
                for (column, value) in stats.columns.iter().zip(row) {
                    if !is_name_fragment(column) {
                        continue;
                    }
                    families
                        .entry(format!("node_lnstat_{column}_total"))
                        .or_default()
                        .push((subsystem.clone(), cpu.to_string(), f64::from(*value)));
                }
            }
        }
        for (name, samples) in families {
            let family = out.family(
                name,
                "linux network cache stats",
                MetricType::Counter,
                &["subsystem", "cpu"],
            );
            for (subsystem, cpu, value) in samples {
                family.push(&[subsystem, cpu], value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};
    use crate::collectors::ErrorKind;

    const ARP_CACHE: &str = include_str!("../../tests/fixtures/proc/1/net/stat/arp_cache");
    const RT_CACHE: &str = include_str!("../../tests/fixtures/proc/1/net/stat/rt_cache");

    #[test]
    fn parses_this_machines_files() {
        let arp = CacheStats::parse(ARP_CACHE).unwrap();
        assert_eq!(arp.columns.len(), 13);
        assert_eq!(arp.columns[12], "table_fulls");
        assert_eq!(arp.rows.len(), 2);
        assert_eq!(arp.rows[1][9], 0xfa);
        let rt = CacheStats::parse(RT_CACHE).unwrap();
        assert_eq!(rt.columns.len(), 17);
        assert_eq!(rt.rows[0][0], 5);
    }

    #[test]
    fn cut_rows_keep_their_values_and_garbage_is_refused() {
        let cut = CacheStats::parse("entries allocs\n00000001 00000002\n00000003\n").unwrap();
        assert_eq!(cut.rows, vec![vec![1, 2], vec![3]]);
        assert_eq!(CacheStats::parse("").unwrap(), CacheStats::default());
        for text in [
            "entries\n00000001 00000002\n",
            "entries\nzz\n",
            "entries\n100000000\n",
            "entries\n-1\n",
        ] {
            assert!(CacheStats::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn one_family_per_column_across_files() {
        let text = scrape_fixtures(&SPEC, &[]);
        assert!(
            text.contains(
                "# HELP node_lnstat_entries_total linux network cache stats\n\
             # TYPE node_lnstat_entries_total counter\n\
             node_lnstat_entries_total{cpu=\"0\",subsystem=\"arp_cache\"} 2\n\
             node_lnstat_entries_total{cpu=\"0\",subsystem=\"ndisc_cache\"} 4\n\
             node_lnstat_entries_total{cpu=\"0\",subsystem=\"nf_conntrack\"} 187\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "node_lnstat_periodic_gc_runs_total{cpu=\"1\",subsystem=\"arp_cache\"} 250\n"
        ));
        assert_eq!(text.matches("# TYPE node_lnstat_entries_total").count(), 1);
    }

    #[test]
    fn missing_directory_is_no_data_and_garbage_fails() {
        let empty = procfs_with(&[]);
        let (_, result) = run(&LnstatCollector, &host_with_procfs(empty.path()));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        let bad = procfs_with(&[("net/stat/arp_cache", "entries\nnope\n")]);
        let (_, result) = run(&LnstatCollector, &host_with_procfs(bad.path()));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("arp_cache"), "{err}");
    }
}
