//! `pressure`: pressure stall information (PSI) totals from
//! `<procfs>/pressure/{cpu,io,memory,irq}`, as seconds.
//!
//! Each file has a `some` line (time at least one task was stalled) and a
//! `full` line (time all non-idle tasks were stalled at once), except that
//! `cpu` has no `full` line before Linux 5.13 and `irq` (Linux 6.1 and
//! later, with `CONFIG_IRQ_TIME_ACCOUNTING`) has only `full`. A missing file
//! is skipped; a kernel booted with `psi=0` answers reads with
//! `EOPNOTSUPP`, which means no data, as does a kernel without PSI at all.

use std::io;

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_text, Host};
use crate::kernel::psi::PsiStats;
use crate::metrics::MetricSet;

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "pressure",
    default_enabled: true,
    reads: "/proc/pressure/{cpu,io,memory,irq}",
    flags: None,
    build: plain::<PressureCollector>,
};

/// Reports the `node_pressure_*_seconds_total` counters.
#[derive(Default)]
struct PressureCollector;

/// The resources, in the order node_exporter reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Cpu,
    Io,
    Memory,
    Irq,
}

const RESOURCES: [Resource; 4] = [Resource::Cpu, Resource::Io, Resource::Memory, Resource::Irq];

impl Resource {
    fn file(self) -> &'static str {
        match self {
            Resource::Cpu => "pressure/cpu",
            Resource::Io => "pressure/io",
            Resource::Memory => "pressure/memory",
            Resource::Irq => "pressure/irq",
        }
    }

    /// IRQ pressure has no `some` line: an interrupt stalls the whole CPU.
    fn has_some(self) -> bool {
        self != Resource::Irq
    }

    /// CPU pressure may lack `full` (before Linux 5.13), and none is
    /// reported for it, as node_exporter reports none.
    fn needs_full(self) -> bool {
        self != Resource::Cpu
    }
}

/// What a failed read of a pressure file means.
#[derive(Debug, Clone, PartialEq)]
enum ReadFailure {
    /// The file does not exist: this resource is not tracked by the kernel.
    Missing,
    /// PSI is compiled in but disabled (`psi=0`): no data at all.
    Disabled,
    /// Anything else is a failure.
    Failed(CollectError),
}

fn classify(path: &std::path::Path, err: &io::Error) -> ReadFailure {
    if err.kind() == io::ErrorKind::NotFound {
        ReadFailure::Missing
    } else if err.raw_os_error() == Some(libc::EOPNOTSUPP) {
        ReadFailure::Disabled
    } else {
        ReadFailure::Failed(CollectError::io(path, err))
    }
}

/// Microseconds to seconds, dividing twice as node_exporter does, so that
/// the float results match it to the last bit.
fn seconds(micros: u64) -> f64 {
    micros as f64 / 1000.0 / 1000.0
}

impl Collector for PressureCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let mut found = 0;
        for resource in RESOURCES {
            let path = host.proc_path(resource.file());
            let text = match read_text(&path) {
                Ok(text) => text,
                Err(err) => match classify(&path, &err) {
                    ReadFailure::Missing => continue,
                    ReadFailure::Disabled => {
                        return Err(CollectError::no_data(
                            "pressure information is disabled, add psi=1 kernel command line to enable it",
                        ))
                    }
                    ReadFailure::Failed(err) => return Err(err),
                },
            };
            let stats = PsiStats::parse(&text).map_err(|e| CollectError::parse(&path, e))?;
            // Families already written stay in the output, as node_exporter
            // keeps the metrics it sent before giving up.
            if resource.has_some() && stats.some.is_none() {
                return Err(CollectError::no_data(format!(
                    "{} has no 'some' line",
                    path.display()
                )));
            }
            if resource.needs_full() && stats.full.is_none() {
                return Err(CollectError::no_data(format!(
                    "{} has no 'full' line",
                    path.display()
                )));
            }
            emit(out, resource, &stats);
            found += 1;
        }
        if found == 0 {
            return Err(CollectError::no_data(
                "pressure information is unavailable, you need a Linux kernel >= 4.20 and/or CONFIG_PSI enabled for your kernel",
            ));
        }
        Ok(())
    }
}

/// Writes one resource's counters; `stats` has the lines it needs.
fn emit(out: &mut MetricSet, resource: Resource, stats: &PsiStats) {
    let some = stats.some.map(|l| seconds(l.total)).unwrap_or_default();
    let full = stats.full.map(|l| seconds(l.total)).unwrap_or_default();
    match resource {
        Resource::Cpu => out.counter(
            "node_pressure_cpu_waiting_seconds_total",
            "Total time in seconds that processes have waited for CPU time",
            some,
        ),
        Resource::Io => {
            out.counter(
                "node_pressure_io_waiting_seconds_total",
                "Total time in seconds that processes have waited due to IO congestion",
                some,
            );
            out.counter(
                "node_pressure_io_stalled_seconds_total",
                "Total time in seconds no process could make progress due to IO congestion",
                full,
            );
        }
        Resource::Memory => {
            out.counter(
                "node_pressure_memory_waiting_seconds_total",
                "Total time in seconds that processes have waited for memory",
                some,
            );
            out.counter(
                "node_pressure_memory_stalled_seconds_total",
                "Total time in seconds no process could make progress due to memory congestion",
                full,
            );
        }
        Resource::Irq => out.counter(
            "node_pressure_irq_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IRQ congestion",
            full,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{host_with_procfs, run, scrape_fixtures};
    use crate::collectors::ErrorKind;
    use crate::metrics::Family;

    use crate::kernel::psi::samples::{CPU_4_20, CPU_5_13, IO, IRQ, MEMORY};

    #[test]
    fn seconds_match_node_exporters_rounding() {
        // node_exporter prints 15.927052999999999 for 15927053 µs.
        assert_eq!(seconds(15927053), 15.927052999999999);
        assert_eq!(seconds(98196282), 98.19628200000001);
        assert_eq!(seconds(0), 0.0);
    }

    #[test]
    fn classifies_read_failures() {
        let path = std::path::Path::new("/proc/pressure/cpu");
        assert_eq!(
            classify(path, &io::Error::from(io::ErrorKind::NotFound)),
            ReadFailure::Missing
        );
        assert_eq!(
            classify(path, &io::Error::from_raw_os_error(libc::EOPNOTSUPP)),
            ReadFailure::Disabled
        );
        assert!(matches!(
            classify(path, &io::Error::from_raw_os_error(libc::EACCES)),
            ReadFailure::Failed(_)
        ));
    }

    fn collect(files: &[(&str, &str)]) -> (Vec<Family>, Result<(), CollectError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pressure")).unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join("pressure").join(name), content).unwrap();
        }
        run(&PressureCollector, &host_with_procfs(dir.path()))
    }

    fn values(families: &[Family]) -> Vec<(&str, f64)> {
        families
            .iter()
            .map(|f| (f.name(), f.samples()[0].value))
            .collect()
    }

    #[test]
    fn newest_kernel_reports_all_six_counters() {
        let (families, result) = collect(&[
            ("cpu", CPU_5_13),
            ("io", IO),
            ("memory", MEMORY),
            ("irq", IRQ),
        ]);
        result.unwrap();
        assert_eq!(
            values(&families),
            vec![
                ("node_pressure_cpu_waiting_seconds_total", 145.294539),
                ("node_pressure_io_stalled_seconds_total", 12.174265),
                ("node_pressure_io_waiting_seconds_total", 15.852917999999999),
                ("node_pressure_irq_stalled_seconds_total", 2.715391),
                ("node_pressure_memory_stalled_seconds_total", 0.0),
                ("node_pressure_memory_waiting_seconds_total", 0.0),
            ]
        );
    }

    #[test]
    fn old_kernel_without_cpu_full_or_irq_succeeds() {
        let (families, result) = collect(&[("cpu", CPU_4_20), ("io", IO), ("memory", MEMORY)]);
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), 5);
        assert!(!names.iter().any(|n| n.contains("irq")));
        assert_eq!(values(&families)[0].1, 2.473621);
    }

    #[test]
    fn no_pressure_directory_is_no_data() {
        let dir = tempfile::tempdir().unwrap();
        let (families, result) = run(&PressureCollector, &host_with_procfs(dir.path()));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert!(families.is_empty());
    }

    #[test]
    fn one_resource_alone_is_enough() {
        let (families, result) = collect(&[("memory", MEMORY)]);
        result.unwrap();
        assert_eq!(families.len(), 2);
    }

    #[test]
    fn missing_full_line_is_no_data_after_what_was_collected() {
        let (families, result) = collect(&[
            ("cpu", CPU_5_13),
            ("io", "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"),
            ("memory", MEMORY),
        ]);
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NoData);
        assert!(err.message().contains("'full'"), "{err}");
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names, vec!["node_pressure_cpu_waiting_seconds_total"]);
    }

    #[test]
    fn empty_cpu_file_is_no_data() {
        let (families, result) = collect(&[("cpu", ""), ("io", IO)]);
        assert_eq!(result.unwrap_err().kind(), ErrorKind::NoData);
        assert!(families.is_empty());
    }

    #[test]
    fn garbled_file_fails() {
        let (_, result) = collect(&[("cpu", CPU_5_13), ("io", "some avg10=0.00 avg60=\n")]);
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("pressure/io"), "{err}");
    }

    #[test]
    fn fixture_tree_reports_every_resource() {
        assert_eq!(
            scrape_fixtures(&SPEC, &[]),
            "# HELP node_pressure_cpu_waiting_seconds_total Total time in seconds that processes have waited for CPU time\n\
             # TYPE node_pressure_cpu_waiting_seconds_total counter\n\
             node_pressure_cpu_waiting_seconds_total 153.936288\n\
             # HELP node_pressure_io_stalled_seconds_total Total time in seconds no process could make progress due to IO congestion\n\
             # TYPE node_pressure_io_stalled_seconds_total counter\n\
             node_pressure_io_stalled_seconds_total 12.824705\n\
             # HELP node_pressure_io_waiting_seconds_total Total time in seconds that processes have waited due to IO congestion\n\
             # TYPE node_pressure_io_waiting_seconds_total counter\n\
             node_pressure_io_waiting_seconds_total 16.708861000000002\n\
             # HELP node_pressure_irq_stalled_seconds_total Total time in seconds no process could make progress due to IRQ congestion\n\
             # TYPE node_pressure_irq_stalled_seconds_total counter\n\
             node_pressure_irq_stalled_seconds_total 2.715391\n\
             # HELP node_pressure_memory_stalled_seconds_total Total time in seconds no process could make progress due to memory congestion\n\
             # TYPE node_pressure_memory_stalled_seconds_total counter\n\
             node_pressure_memory_stalled_seconds_total 0\n\
             # HELP node_pressure_memory_waiting_seconds_total Total time in seconds that processes have waited for memory\n\
             # TYPE node_pressure_memory_waiting_seconds_total counter\n\
             node_pressure_memory_waiting_seconds_total 0\n"
        );
    }
}
