//! `softirqs`: softirq counts per CPU and vector from `<procfs>/softirqs`, as
//! `node_softirqs_functions_total{cpu,type}`.
//!
//! Distinct from the stat collector's `--collector.stat.softirq`, which
//! reports the all-CPU totals of `/proc/stat` as `node_softirqs_total`.
//! As node_exporter, only the ten vectors of kernels since 4.1 are reported
//! (2.6-era `BLOCK_IOPOLL` is not), and `cpu` is the column index.

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "softirqs",
    default_enabled: false,
    reads: "/proc/softirqs",
    flags: None,
    build: plain::<SoftirqsCollector>,
};

/// The vectors reported, as the kernel names them.
const VECTORS: [&str; 10] = [
    "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU",
];

/// Reports `node_softirqs_functions_total`.
#[derive(Default)]
struct SoftirqsCollector;

/// One known vector of `/proc/softirqs` and its count per CPU column.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftirqVector {
    /// The vector name without its colon (`NET_RX`).
    pub name: &'static str,
    /// The count per CPU column.
    pub counts: Vec<f64>,
}

impl SoftirqVector {
    /// Parses `/proc/softirqs`: a `CPU0 CPU1 ...` header, then `NAME: count
    /// ...` per vector. Lines of unknown vectors or without counts are
    /// skipped; a count that is not an unsigned integer fails the file, as
    /// does an empty one. A vector given twice keeps its last line.
    pub fn parse_all(text: &str) -> Result<Vec<SoftirqVector>, String> {
        let mut lines = text.lines();
        lines.next().ok_or("empty file")?;
        let mut vectors: Vec<SoftirqVector> = Vec::new();
        for line in lines {
            let mut fields = line.split_whitespace();
            let Some(label) = fields.next() else {
                continue;
            };
            let Some(name) = label
                .strip_suffix(':')
                .and_then(|n| VECTORS.iter().find(|&&v| v == n))
            else {
                continue;
            };
            let counts = fields
                .map(|f| {
                    f.parse::<u64>()
                        .map(|v| v as f64)
                        .map_err(|_| format!("{name}: invalid count {f:?}"))
                })
                .collect::<Result<Vec<f64>, String>>()?;
            if counts.is_empty() {
                continue;
            }
            vectors.retain(|v| v.name != *name);
            vectors.push(SoftirqVector { name, counts });
        }
        Ok(vectors)
    }
}

impl Collector for SoftirqsCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("softirqs");
        let text = read_text(&path).map_err(|e| CollectError::io_or_no_data(&path, &e))?;
        let vectors = SoftirqVector::parse_all(&text).map_err(|e| CollectError::parse(&path, e))?;
        let family = out.family(
            "node_softirqs_functions_total",
            "Softirq counts per CPU.",
            MetricType::Counter,
            &["cpu", "type"],
        );
        for vector in &vectors {
            for (cpu, &count) in vector.counts.iter().enumerate() {
                family.push(&[cpu.to_string().as_str(), vector.name], count);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, procfs_with, run, scrape_fixtures};

    /// This machine's `/proc/softirqs` (two CPUs, Linux 6.18).
    const CURRENT: &str = include_str!("../../tests/fixtures/proc/softirqs");

    /// Linux 2.6.32: `BLOCK_IOPOLL` where newer kernels have `IRQ_POLL`,
    /// and no `HRTIMER` line yet in some distribution kernels.
    const LINUX_2_6_32: &str = "\
                CPU0       CPU1       CPU2       CPU3       
      HI:          0          0          0          0
   TIMER:    1353214     994421     851246     838962
  NET_TX:       5130       2003       1888       1797
  NET_RX:     103402      34562      41037      33287
   BLOCK:      64582       1235       1002        986
BLOCK_IOPOLL:          0          0          0          0
 TASKLET:         20          3          1          0
   SCHED:     388912     370921     358204     351117
     RCU:    1219380    1147652    1112098    1087226
";

    fn names(vectors: &[SoftirqVector]) -> Vec<&str> {
        vectors.iter().map(|v| v.name).collect()
    }

    #[test]
    fn this_machine() {
        let vectors = SoftirqVector::parse_all(CURRENT).unwrap();
        assert_eq!(names(&vectors), VECTORS);
        assert_eq!(vectors[3].counts, [36746.0, 36389.0]);
        assert_eq!(vectors[9].counts, [323919.0, 362357.0]);
    }

    #[test]
    fn old_kernel_vectors_are_left_out() {
        let vectors = SoftirqVector::parse_all(LINUX_2_6_32).unwrap();
        assert_eq!(
            names(&vectors),
            ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "TASKLET", "SCHED", "RCU"]
        );
        assert_eq!(vectors[7].counts.len(), 4);
    }

    #[test]
    fn garbage_truncation_and_repeats() {
        assert!(SoftirqVector::parse_all("").is_err());
        let header = "        CPU0       CPU1\n";
        assert!(SoftirqVector::parse_all(header).unwrap().is_empty());
        let err = SoftirqVector::parse_all(&format!("{header}  TIMER: 1 -2\n")).unwrap_err();
        assert!(err.contains("-2"), "{err}");
        // A file cut after a name keeps the lines before it.
        let cut = format!("{header}  HI: 1 2\n  TIMER:");
        assert_eq!(names(&SoftirqVector::parse_all(&cut).unwrap()), ["HI"]);
        let twice = format!("{header}  HI: 1 2\nHI: 3 4\n\u{fffd}: 5\n");
        let vectors = SoftirqVector::parse_all(&twice).unwrap();
        assert_eq!(
            vectors,
            [SoftirqVector {
                name: "HI",
                counts: vec![3.0, 4.0]
            }]
        );
    }

    #[test]
    fn reports_every_cpu_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &["--collector.softirqs"]);
        for expected in [
            "# HELP node_softirqs_functions_total Softirq counts per CPU.",
            "# TYPE node_softirqs_functions_total counter",
            r#"node_softirqs_functions_total{cpu="0",type="NET_RX"} 36746"#,
            r#"node_softirqs_functions_total{cpu="1",type="BLOCK"} 341421"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 20);
    }

    #[test]
    fn missing_file_is_no_data_and_garbage_fails() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_procfs(dir.path());
        let collector = SoftirqsCollector;
        let err = run(&collector, &host).1.unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
        let dir = procfs_with(&[("softirqs", "CPU0\nHI: x\n")]);
        let host = host_with_procfs(dir.path());
        let collector = SoftirqsCollector;
        let err = run(&collector, &host).1.unwrap_err();
        assert!(err.message().contains("softirqs"), "{err}");
    }
}
