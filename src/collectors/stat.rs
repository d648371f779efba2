//! `stat`: interrupts, context switches, forks, boot time, runnable and
//! blocked tasks and (optionally) softirqs per vector, from `<procfs>/stat`.

use clap::Args;

use crate::collectors::{BuildContext, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::proc_stat::ProcStat;
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "stat",
    default_enabled: true,
    reads: "/proc/stat",
    flags: Some(Flags::augment_args),
    build,
};

/// The `stat` collector's flags.
#[derive(Debug, Clone, Args)]
#[group(skip)]
pub struct Flags {
    /// Export softirq calls per vector
    #[arg(long = "collector.stat.softirq")]
    pub softirq: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Collector>, String> {
    Ok(Box::new(StatCollector {
        softirq: ctx.flags::<Flags>()?.softirq,
    }))
}

/// Reports the system-wide counters and gauges of `/proc/stat`.
struct StatCollector {
    softirq: bool,
}

impl Collector for StatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("stat");
        let text = read_text(&path).map_err(|e| CollectError::io(&path, &e))?;
        let stat = ProcStat::parse(&text).map_err(|e| CollectError::parse(&path, e))?;

        // A line the kernel did not print is left out rather than reported
        // as zero: a boot time of 0 would be a lie.
        let counters = [
            (
                "node_intr_total",
                "Total number of interrupts serviced.",
                stat.interrupts,
            ),
            (
                "node_context_switches_total",
                "Total number of context switches.",
                stat.context_switches,
            ),
            ("node_forks_total", "Total number of forks.", stat.forks),
        ];
        let gauges = [
            (
                "node_boot_time_seconds",
                "Node boot time, in unixtime.",
                stat.boot_time,
            ),
            (
                "node_procs_running",
                "Number of processes in runnable state.",
                stat.procs_running,
            ),
            (
                "node_procs_blocked",
                "Number of processes blocked waiting for I/O to complete.",
                stat.procs_blocked,
            ),
        ];
        let mut found = false;
        for (metric_type, metrics) in [(MetricType::Counter, counters), (MetricType::Gauge, gauges)]
        {
            for (name, help, value) in metrics {
                if let Some(value) = value {
                    out.single(name, help, metric_type, value);
                    found = true;
                }
            }
        }
        if !found {
            return Err(CollectError::parse(&path, "no system statistics found"));
        }

        if self.softirq {
            let softirqs = out.family(
                "node_softirqs_total",
                "Number of softirq calls.",
                MetricType::Counter,
                &["vector"],
            );
            for &(vector, count) in &stat.softirqs {
                softirqs.push(&[vector], count);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Family;

    fn collect(proc_stat: &str, softirq: bool) -> Result<Vec<Family>, CollectError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stat"), proc_stat).unwrap();
        let host = Host::new(dir.path(), "/nonexistent", "/", "/nonexistent");
        let collector = StatCollector { softirq };
        let mut out = MetricSet::new();
        collector.update(&host, &mut out)?;
        Ok(out.into_sorted())
    }

    fn find<'a>(families: &'a [Family], name: &str) -> Option<&'a Family> {
        families.iter().find(|f| f.name() == name)
    }

    const FIXTURE: &str = include_str!("../../tests/fixtures/proc/stat");

    #[test]
    fn reports_node_exporter_metrics_from_the_fixture() {
        let families = collect(FIXTURE, false).unwrap();
        let expected = [
            ("node_boot_time_seconds", MetricType::Gauge, 1795614664.0),
            (
                "node_context_switches_total",
                MetricType::Counter,
                1031238.0,
            ),
            ("node_forks_total", MetricType::Counter, 36202.0),
            ("node_intr_total", MetricType::Counter, 713282.0),
            ("node_procs_blocked", MetricType::Gauge, 0.0),
            ("node_procs_running", MetricType::Gauge, 5.0),
        ];
        let names: Vec<&str> = families.iter().map(Family::name).collect();
        assert_eq!(names, expected.map(|(name, _, _)| name));
        for (name, metric_type, value) in expected {
            let family = find(&families, name).unwrap();
            assert_eq!(family.metric_type(), metric_type, "{name}");
            assert!(family.label_names().is_empty(), "{name}");
            assert_eq!(family.samples()[0].value, value, "{name}");
        }
        assert_eq!(
            find(&families, "node_procs_blocked").unwrap().help(),
            "Number of processes blocked waiting for I/O to complete."
        );
    }

    #[test]
    fn softirqs_only_when_enabled() {
        assert!(find(&collect(FIXTURE, false).unwrap(), "node_softirqs_total").is_none());
        let families = collect(FIXTURE, true).unwrap();
        let softirqs = find(&families, "node_softirqs_total").unwrap();
        assert_eq!(softirqs.metric_type(), MetricType::Counter);
        assert_eq!(softirqs.help(), "Number of softirq calls.");
        assert_eq!(softirqs.label_names(), &["vector"]);
        let samples: Vec<(&str, f64)> = softirqs
            .samples()
            .iter()
            .map(|s| (softirqs.label_values(s).next().unwrap(), s.value))
            .collect();
        assert_eq!(samples.len(), 10);
        assert!(samples.contains(&("net_rx", 18231.0)));
        assert!(samples.contains(&("block_iopoll", 0.0)));
    }

    #[test]
    fn softirq_flag_follows_kingpin_conventions() {
        let softirq = |args: &[&str]| {
            let options = crate::cli::parse([&["hostwatch"], args].concat()).unwrap();
            options.collector_flags::<Flags>().softirq
        };
        assert!(!softirq(&[]));
        assert!(softirq(&["--collector.stat.softirq"]));
        assert!(!softirq(&[
            "--collector.stat.softirq",
            "--no-collector.stat.softirq"
        ]));
        assert!(!softirq(&["--collector.stat.softirq=false"]));
    }

    #[test]
    fn old_kernel_without_process_counts_reports_what_it_has() {
        let families = collect("cpu0 1 2 3 4\nctxt 7\nbtime 9\n", true).unwrap();
        let names: Vec<&str> = families.iter().map(Family::name).collect();
        assert_eq!(
            names,
            ["node_boot_time_seconds", "node_context_switches_total"]
        );
    }

    #[test]
    fn damaged_or_empty_file_fails() {
        for bad in ["", "garbage\n", "ctxt lots\n", "\u{0}\u{0}"] {
            let err = collect(bad, true).expect_err(bad);
            assert!(err.message().contains("stat"), "{}", err.message());
        }
    }

    #[test]
    fn missing_file_fails() {
        let host = Host::new("/nonexistent", "/nonexistent", "/", "/nonexistent");
        let collector = StatCollector { softirq: false };
        assert!(collector.update(&host, &mut MetricSet::new()).is_err());
    }
}
