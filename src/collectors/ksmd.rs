//! `ksmd`: the kernel samepage merging daemon's counters and settings from
//! `<sysfs>/kernel/mm/ksm/`, as `node_ksmd_*`.
//!
//! One difference from node_exporter, which fails the whole collector when
//! any of its files is missing: `merge_across_nodes` exists only on NUMA
//! kernels, so a missing file leaves out its metric alone. A kernel without
//! KSM at all (no `ksm` directory) has no data.
//!
//! `general_profit` (Linux 6.7 and later) is the memory KSM saves net of
//! what its own bookkeeping costs, in bytes; it goes negative when the
//! bookkeeping costs more, and kernels without it have no such metric.

use std::io;
use std::path::Path;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_sysfs_attribute, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "ksmd",
    default_enabled: false,
    reads: "/sys/kernel/mm/ksm/{full_scans,general_profit,merge_across_nodes,pages_*,run,sleep_millisecs}",
    flags: None,
    build: plain::<KsmdCollector>,
};

/// The files read, in node_exporter's order.
const FILES: [&str; 10] = [
    "full_scans",
    "general_profit",
    "merge_across_nodes",
    "pages_shared",
    "pages_sharing",
    "pages_to_scan",
    "pages_unshared",
    "pages_volatile",
    "run",
    "sleep_millisecs",
];

/// Reports `node_ksmd_*`.
#[derive(Default)]
struct KsmdCollector;

/// The help of `node_ksmd_general_profit_bytes`, node_exporter's.
const GENERAL_PROFIT_HELP: &str = "Net memory saved by KSM after subtracting rmap_item tracking overhead in bytes. Negative means KSM overhead exceeds savings.";

/// One KSM file's metric: its name, help, type and value (converted to the
/// metric's unit).
#[derive(Debug, Clone, PartialEq)]
pub struct KsmdMetric {
    /// The full metric name.
    pub name: String,
    /// The help text.
    pub help: String,
    /// Counter for `full_scans`, gauge otherwise.
    pub metric_type: MetricType,
    /// The value; `sleep_millisecs` in seconds.
    pub value: f64,
}

impl KsmdMetric {
    /// The metric for KSM file `file` holding `text` (a decimal integer
    /// and a newline, signed only for `general_profit`), or why `text` is
    /// not one.
    pub fn from_file(file: &str, text: &str) -> Result<KsmdMetric, String> {
        let raw = text.trim();
        if file == "general_profit" {
            let bytes = raw
                .parse::<i64>()
                .map_err(|_| format!("{file}: not an integer: {raw:?}"))?;
            return Ok(KsmdMetric {
                name: "node_ksmd_general_profit_bytes".to_string(),
                help: GENERAL_PROFIT_HELP.to_string(),
                metric_type: MetricType::Gauge,
                value: bytes as f64,
            });
        }
        let value = raw
            .parse::<u64>()
            .map_err(|_| format!("{file}: not an unsigned integer: {raw:?}"))?
            as f64;
        let (suffix, metric_type, value) = match file {
            "full_scans" => ("full_scans_total".to_string(), MetricType::Counter, value),
            "sleep_millisecs" => (
                "sleep_seconds".to_string(),
                MetricType::Gauge,
                value / 1000.0,
            ),
            other => (other.to_string(), MetricType::Gauge, value),
        };
        Ok(KsmdMetric {
            name: format!("node_ksmd_{suffix}"),
            help: format!("ksmd '{file}' file."),
            metric_type,
            value,
        })
    }
}

impl Collector for KsmdCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let dir = host.sys_path("kernel/mm/ksm");
        if !dir.is_dir() {
            return Err(CollectError::no_data(format!(
                "{} does not exist (kernel without KSM)",
                dir.display()
            )));
        }
        for file in FILES {
            let path = dir.join(file);
            let Some(text) = read_optional(&path)? else {
                continue;
            };
            let metric =
                KsmdMetric::from_file(file, &text).map_err(|e| CollectError::parse(&path, e))?;
            out.single(metric.name, metric.help, metric.metric_type, metric.value);
        }
        Ok(())
    }
}

/// The attribute at `path`, `None` when the kernel does not have it.
fn read_optional(path: &Path) -> Result<Option<String>, CollectError> {
    match read_sysfs_attribute(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(CollectError::io(path, &err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{run, scrape_fixtures, write_files};
    use crate::collectors::ErrorKind;

    fn host_on(sysfs: &Path) -> Host {
        Host::new("/nonexistent/proc", sysfs, "/r", "/u")
    }

    #[test]
    fn files_become_node_exporter_metrics() {
        let scans = KsmdMetric::from_file("full_scans", "42\n").unwrap();
        assert_eq!(scans.name, "node_ksmd_full_scans_total");
        assert_eq!(scans.metric_type, MetricType::Counter);
        assert_eq!(scans.value, 42.0);
        let sleep = KsmdMetric::from_file("sleep_millisecs", "20\n").unwrap();
        assert_eq!(sleep.name, "node_ksmd_sleep_seconds");
        assert_eq!(sleep.value, 0.02);
        let run = KsmdMetric::from_file("run", "1\n").unwrap();
        assert_eq!(
            (run.name.as_str(), run.metric_type, run.value),
            ("node_ksmd_run", MetricType::Gauge, 1.0)
        );
    }

    #[test]
    fn general_profit_is_signed_bytes() {
        // Linux 6.7 and later; negative when KSM's rmap items cost more than
        // the merged pages save.
        let loss = KsmdMetric::from_file("general_profit", "-201384320\n").unwrap();
        assert_eq!(
            (loss.name.as_str(), loss.metric_type, loss.value),
            (
                "node_ksmd_general_profit_bytes",
                MetricType::Gauge,
                -201384320.0
            )
        );
        assert_eq!(loss.help, GENERAL_PROFIT_HELP);
        let gain = KsmdMetric::from_file("general_profit", "1548288\n").unwrap();
        assert_eq!(gain.value, 1548288.0);
        for text in ["", "\n", "1.5\n", "--1\n", "9223372036854775808\n"] {
            let err = KsmdMetric::from_file("general_profit", text).unwrap_err();
            assert!(err.contains("general_profit"), "{err}");
        }
    }

    #[test]
    fn garbage_and_truncation_fail() {
        for text in ["", "\n", "-1\n", "1.5\n", "abc\n", "1 2\n"] {
            let err = KsmdMetric::from_file("pages_shared", text).unwrap_err();
            assert!(err.contains("pages_shared"), "{err}");
        }
        let big = KsmdMetric::from_file("pages_shared", "18446744073709551615").unwrap();
        assert_eq!(big.value, 18446744073709551615.0);
    }

    #[test]
    fn reports_the_fixture_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.ksmd"]);
        for expected in [
            "# HELP node_ksmd_full_scans_total ksmd 'full_scans' file.",
            "# TYPE node_ksmd_full_scans_total counter",
            "node_ksmd_full_scans_total 0",
            "# HELP node_ksmd_sleep_seconds ksmd 'sleep_millisecs' file.",
            "# TYPE node_ksmd_sleep_seconds gauge",
            "node_ksmd_sleep_seconds 0.02",
            "node_ksmd_merge_across_nodes 1",
            "node_ksmd_pages_to_scan 100",
            "# HELP node_ksmd_general_profit_bytes Net memory saved by KSM after subtracting rmap_item tracking overhead in bytes. Negative means KSM overhead exceeds savings.",
            "# TYPE node_ksmd_general_profit_bytes gauge",
            "node_ksmd_general_profit_bytes 1.548288e+06",
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        // Files node_exporter does not read (pages_scanned, ...) are left out.
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 10);
    }

    #[test]
    fn no_ksm_directory_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(&KsmdCollector, &host_on(dir.path())).1.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoData);
    }

    #[test]
    fn a_missing_file_leaves_out_its_metric_and_garbage_fails() {
        // A UMA kernel (no merge_across_nodes) with general_profit.
        let dir = tempfile::tempdir().unwrap();
        let ksm = dir.path().join("kernel/mm/ksm");
        let uma: Vec<(&str, &str)> = FILES
            .iter()
            .filter(|&&f| f != "merge_across_nodes")
            .map(|&f| (f, "3\n"))
            .collect();
        write_files(&ksm, &uma);
        let (families, result) = run(&KsmdCollector, &host_on(dir.path()));
        result.unwrap();
        assert_eq!(families.len(), 9);
        assert!(families
            .iter()
            .all(|f| f.name() != "node_ksmd_merge_across_nodes"));

        write_files(&ksm, &[("run", "on\n")]);
        let err = run(&KsmdCollector, &host_on(dir.path())).1.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("run"), "{err}");
    }
}
