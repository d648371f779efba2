//! `schedstat`: per-CPU scheduler time from `<procfs>/schedstat` (kernels
//! with `CONFIG_SCHED_INFO`): time spent running tasks, time tasks spent
//! waiting to run, and timeslices run.

use std::io;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::metrics::{Desc, MetricSet};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "schedstat",
    default_enabled: true,
    reads: "/proc/schedstat",
    flags: None,
    build: plain::<SchedstatCollector>,
};

/// Reports `node_schedstat_*_total`.
#[derive(Default)]
struct SchedstatCollector;

/// One `cpu<N>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSchedstat {
    /// The CPU number, as written after `cpu`.
    pub cpu: String,
    /// Time spent running tasks, ns.
    pub running_ns: u64,
    /// Time tasks spent waiting on the run queue, ns.
    pub waiting_ns: u64,
    /// Timeslices run.
    pub timeslices: u64,
}

/// The per-CPU lines of `/proc/schedstat`.
///
/// Since version 15 (Linux 2.6.25) a CPU line is `cpu<N>` and nine
/// counters, the last three being run time (ns), run-queue wait (ns) and
/// timeslices; versions 16 and 17 changed only the `domain` lines. Lines
/// that are not CPU lines with at least nine counters are skipped, as are
/// CPUs whose counters are not numbers, so the result may be empty.
pub fn parse_schedstat(text: &str) -> Vec<CpuSchedstat> {
    text.lines().filter_map(parse_cpu_line).collect()
}

fn parse_cpu_line(line: &str) -> Option<CpuSchedstat> {
    let mut fields = line.split(' ');
    let cpu = fields.next()?.strip_prefix("cpu")?;
    if cpu.is_empty() || !cpu.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let counters: Vec<&str> = fields.take(9).collect();
    if counters.len() < 9 || !counters.iter().all(|c| is_digits(c)) {
        return None;
    }
    Some(CpuSchedstat {
        cpu: cpu.to_string(),
        running_ns: counters[6].parse().ok()?,
        waiting_ns: counters[7].parse().ok()?,
        timeslices: counters[8].parse().ok()?,
    })
}

fn is_digits(field: &str) -> bool {
    !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit())
}

/// Reads one value of a [`CpuSchedstat`].
type CpuValue = fn(&CpuSchedstat) -> f64;

impl Collector for SchedstatCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let path = host.proc_path("schedstat");
        let text = match read_text(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(CollectError::no_data("schedstat file does not exist"))
            }
            Err(err) => return Err(CollectError::io(&path, &err)),
        };
        let cpus = parse_schedstat(&text);
        let families: [Desc<CpuValue>; 3] = [
            Desc::counter(
                "node_schedstat_running_seconds_total",
                "Number of seconds CPU spent running a process.",
                |cpu| cpu.running_ns as f64 / 1e9,
            ),
            Desc::counter(
                "node_schedstat_waiting_seconds_total",
                "Number of seconds spent by processing waiting for this CPU.",
                |cpu| cpu.waiting_ns as f64 / 1e9,
            ),
            Desc::counter(
                "node_schedstat_timeslices_total",
                "Number of timeslices executed by CPU.",
                |cpu| cpu.timeslices as f64,
            ),
        ];
        for desc in families {
            let family = desc.family(out, &["cpu"]);
            for cpu in &cpus {
                family.push(&[&cpu.cpu], (desc.source)(cpu));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{build, host_with_procfs, scrape_fixtures};

    /// Version 15, as Linux 5.15 writes it (one domain per CPU).
    const VERSION_15: &str = "\
version 15
timestamp 4297845436
cpu0 0 0 0 0 0 0 2045936778163039 343796328169361 4767485306
domain0 00000003 212499247 210112015 1861015 1860405795 536440 369895 32013 1545 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
cpu1 0 0 0 0 0 0 2055374839437216 346149102356734 4775519164
domain0 00000003 208706404 206409148 1892102 1851307906 547262 369843 34101 1457 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
";

    #[test]
    fn parses_version_15() {
        assert_eq!(
            parse_schedstat(VERSION_15),
            vec![
                CpuSchedstat {
                    cpu: "0".to_string(),
                    running_ns: 2045936778163039,
                    waiting_ns: 343796328169361,
                    timeslices: 4767485306
                },
                CpuSchedstat {
                    cpu: "1".to_string(),
                    running_ns: 2055374839437216,
                    waiting_ns: 346149102356734,
                    timeslices: 4775519164
                },
            ]
        );
    }

    #[test]
    fn parses_version_17_with_named_domains() {
        let text = "version 17\ntimestamp 4294892354\n\
                    cpu0 0 0 12 4 8 5 350000000 125000000 16\n\
                    domain0 SMT 00000003 0 0 0 0 0 0 0 0\n";
        let cpus = parse_schedstat(text);
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[0].running_ns, 350000000);
        assert_eq!(cpus[0].timeslices, 16);
    }

    #[test]
    fn skips_short_garbage_and_overflowing_lines() {
        let text = "cpu0 1 2 3\ncpuX 1 2 3 4 5 6 7 8 9\ncpu 1 2 3 4 5 6 7 8 9\n\
                    cpu2 0 0 0 0 0 0 99999999999999999999 1 1\n\
                    cpu3 0 0 0 0 0 0 1 -1 1\n\0\0\ncpu4 0 0 0 0 0 0 1 2 3 extra\n";
        let cpus = parse_schedstat(text);
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[0].cpu, "4");
        assert!(parse_schedstat("").is_empty());
    }

    #[test]
    fn fixture_schedstat() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# TYPE node_schedstat_running_seconds_total counter",
            r#"node_schedstat_running_seconds_total{cpu="0"} 2.045936778163039e+06"#,
            r#"node_schedstat_waiting_seconds_total{cpu="1"} 346149.102356734"#,
            r#"node_schedstat_timeslices_total{cpu="1"} 4.775519164e+09"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    #[test]
    fn missing_file_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_with_procfs(dir.path());
        let collector = build(&SPEC, host, &[]).unwrap();
        let err = collector.update(&mut MetricSet::new()).unwrap_err();
        assert_eq!(err.kind(), crate::collectors::ErrorKind::NoData);
    }
}
