//! `/proc/stat`: per-CPU time, interrupts, context switches, forks, boot
//! time, process counts and softirqs. One parser for the `cpu` and `stat`
//! collectors, so the file format lives in one place.

use std::collections::BTreeMap;

use crate::parse::{lines, number};

/// Clock ticks per second of the time columns (`USER_HZ`): part of the
/// kernel's userspace ABI and 100 on every architecture.
pub const USER_HZ: f64 = 100.0;

/// The softirq vectors in the column order of the `softirq` line, named as
/// node_exporter labels them.
pub const SOFTIRQ_VECTORS: [&str; 10] = [
    "hi",
    "timer",
    "net_tx",
    "net_rx",
    "block",
    "block_iopoll",
    "tasklet",
    "sched",
    "hrtimer",
    "rcu",
];

/// The time one CPU spent in each mode, in seconds.
///
/// Columns an older kernel does not print are zero, as node_exporter
/// reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// Normal processes in user mode (includes `guest`).
    pub user: f64,
    /// Niced processes in user mode (includes `guest_nice`).
    pub nice: f64,
    /// Kernel mode.
    pub system: f64,
    /// Idle.
    pub idle: f64,
    /// Idle with I/O outstanding (Linux 2.5.41+).
    pub iowait: f64,
    /// Servicing hardware interrupts (2.6.0+).
    pub irq: f64,
    /// Servicing softirqs (2.6.0+).
    pub softirq: f64,
    /// Stolen by the hypervisor (2.6.11+).
    pub steal: f64,
    /// Running a guest's vCPU (2.6.24+).
    pub guest: f64,
    /// Running a niced guest's vCPU (2.6.33+).
    pub guest_nice: f64,
}

/// The least number of time columns a `cpuN` line has: user, nice, system
/// and idle have been printed since Linux 2.4. Fewer means a damaged file.
const MIN_CPU_COLUMNS: usize = 4;

impl CpuTimes {
    /// Parses the time columns of a `cpu`/`cpuN` line (ticks), as many as
    /// the kernel printed; columns beyond `guest_nice` are ignored.
    fn parse<'a>(columns: impl Iterator<Item = &'a str>) -> Result<CpuTimes, String> {
        let mut seconds = [0.0; 10];
        let mut printed = 0;
        for (slot, column) in seconds.iter_mut().zip(columns) {
            *slot = count(column).ok_or_else(|| format!("invalid time {column:?}"))? / USER_HZ;
            printed += 1;
        }
        if printed < MIN_CPU_COLUMNS {
            return Err(format!(
                "{printed} time columns, expected at least {MIN_CPU_COLUMNS}"
            ));
        }
        let [user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice] = seconds;
        Ok(CpuTimes {
            user,
            nice,
            system,
            idle,
            iowait,
            irq,
            softirq,
            steal,
            guest,
            guest_nice,
        })
    }
}

/// The parts of `/proc/stat` hostwatch reports. A line the kernel did not
/// print leaves its field `None` (or its collection empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcStat {
    /// Per-CPU times by CPU number (`cpuN` lines; offline CPUs are absent).
    pub cpus: BTreeMap<u32, CpuTimes>,
    /// Interrupts serviced since boot (first number of `intr`).
    pub interrupts: Option<f64>,
    /// Context switches since boot (`ctxt`).
    pub context_switches: Option<f64>,
    /// Boot time, seconds since the epoch (`btime`).
    pub boot_time: Option<f64>,
    /// Processes and threads created since boot (`processes`).
    pub forks: Option<f64>,
    /// Runnable tasks now (`procs_running`, Linux 2.5.45+).
    pub procs_running: Option<f64>,
    /// Tasks blocked on I/O now (`procs_blocked`, Linux 2.5.45+).
    pub procs_blocked: Option<f64>,
    /// Softirqs raised since boot per vector, for the vectors the kernel
    /// printed (`softirq`, Linux 2.6.31+), in [`SOFTIRQ_VECTORS`] order.
    pub softirqs: Vec<(&'static str, f64)>,
}

impl ProcStat {
    /// Parses `/proc/stat`. Unknown lines (other kernels' additions) and
    /// lines without a value are skipped; older kernels' shorter `cpuN` and
    /// `softirq` lines parse. A known line with a value that is not a
    /// non-negative number, or a `cpuN` line too short to be real, is an
    /// error naming the line: the file is damaged and none of it is trusted.
    pub fn parse(text: &str) -> Result<ProcStat, String> {
        let mut stat = ProcStat::default();
        for line in lines(text) {
            // Not collected into a vector: the `intr` line has a column per
            // interrupt, thousands on a large host, and only its first counts.
            let mut values = line.split_whitespace();
            let (Some(key), Some(first)) = (values.next(), values.next()) else {
                continue;
            };
            let scalar = || count(first).ok_or_else(|| format!("{key}: invalid value {first:?}"));
            match key {
                // The sum over all CPUs: node_exporter reports CPUs one by one.
                "cpu" => {}
                "intr" => stat.interrupts = Some(scalar()?),
                "ctxt" => stat.context_switches = Some(scalar()?),
                "btime" => stat.boot_time = Some(scalar()?),
                "processes" => stat.forks = Some(scalar()?),
                "procs_running" => stat.procs_running = Some(scalar()?),
                "procs_blocked" => stat.procs_blocked = Some(scalar()?),
                "softirq" => stat.softirqs = parse_softirqs(values)?,
                _ => {
                    if let Some(cpu) = cpu_number(key) {
                        let cpu = cpu.ok_or_else(|| format!("{key}: CPU number out of range"))?;
                        let columns = std::iter::once(first).chain(values);
                        let times = CpuTimes::parse(columns).map_err(|e| format!("{key}: {e}"))?;
                        stat.cpus.insert(cpu, times);
                    }
                }
            }
        }
        Ok(stat)
    }
}

/// The CPU number of a `cpuN` key: `None` for keys that are not `cpuN`
/// (future lines starting with "cpu" are not CPUs), `Some(None)` for a
/// number that does not fit.
fn cpu_number(key: &str) -> Option<Option<u32>> {
    let digits = key.strip_prefix("cpu")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().ok())
}

/// The per-vector counts after the total of the `softirq` line; a kernel
/// that printed fewer vectors yields fewer, one that printed more (a vector
/// added later) has the extra columns ignored, having no name to report.
fn parse_softirqs<'a>(
    columns: impl Iterator<Item = &'a str>,
) -> Result<Vec<(&'static str, f64)>, String> {
    SOFTIRQ_VECTORS
        .iter()
        .zip(columns)
        .map(|(&vector, column)| {
            count(column)
                .map(|value| (vector, value))
                .ok_or_else(|| format!("softirq: invalid {vector} count {column:?}"))
        })
        .collect()
}

/// A kernel counter: a non-negative number (huge ones lose precision as
/// node_exporter's float64 does).
fn count(field: &str) -> Option<f64> {
    number(field).filter(|v| *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Linux 6.x `/proc/stat` with 2 CPUs (the `intr` line shortened).
    const CURRENT: &str = "\
cpu  24971 0 7270 179934 983 0 89 18 0 0
cpu0 10418 0 3146 92857 170 0 21 6 0 0
cpu1 14553 0 4123 87076 813 0 67 11 0 0
intr 445637 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 14 0 0 0 0 213 140
ctxt 578718
btime 1795614664
processes 18001
procs_running 1
procs_blocked 0
softirq 223021 0 29084 4 9736 75878 0 118 48121 0 60080
";

    #[test]
    fn parses_current_kernel() {
        let stat = ProcStat::parse(CURRENT).unwrap();
        assert_eq!(stat.cpus.len(), 2);
        assert_eq!(
            stat.cpus[&1],
            CpuTimes {
                user: 145.53,
                nice: 0.0,
                system: 41.23,
                idle: 870.76,
                iowait: 8.13,
                irq: 0.0,
                softirq: 0.67,
                steal: 0.11,
                guest: 0.0,
                guest_nice: 0.0,
            }
        );
        assert_eq!(stat.interrupts, Some(445637.0));
        assert_eq!(stat.context_switches, Some(578718.0));
        assert_eq!(stat.boot_time, Some(1795614664.0));
        assert_eq!(stat.forks, Some(18001.0));
        assert_eq!(stat.procs_running, Some(1.0));
        assert_eq!(stat.procs_blocked, Some(0.0));
        assert_eq!(stat.softirqs.len(), 10);
        assert_eq!(stat.softirqs[0], ("hi", 0.0));
        assert_eq!(stat.softirqs[1], ("timer", 29084.0));
        assert_eq!(stat.softirqs[9], ("rcu", 60080.0));
    }

    #[test]
    fn parses_guest_columns() {
        let stat = ProcStat::parse("cpu3 1 2 3 4 5 6 7 8 900 1000\n").unwrap();
        assert_eq!(stat.cpus[&3].guest, 9.0);
        assert_eq!(stat.cpus[&3].guest_nice, 10.0);
    }

    #[test]
    fn parses_linux_2_6_lines() {
        // 2.6.0-2.6.10: no steal, guest or guest_nice column; no softirq line.
        let text = "\
cpu  2255 34 2290 22625563 6290 127 456
cpu0 1132 34 1441 11311718 3675 127 438
cpu1 1123 0 849 11313845 2614 0 18
intr 114930548 113199788 3 0 5 263 0 4 [...]
ctxt 1990473
btime 1062191376
processes 2915
procs_running 1
procs_blocked 0
";
        let stat = ProcStat::parse(text).unwrap();
        assert_eq!(stat.cpus[&0].softirq, 4.38);
        assert_eq!(stat.cpus[&0].steal, 0.0);
        assert_eq!(stat.cpus[&1].guest_nice, 0.0);
        assert_eq!(stat.interrupts, Some(114930548.0));
        assert!(stat.softirqs.is_empty());
    }

    #[test]
    fn parses_linux_2_4_lines_without_process_counts() {
        let stat = ProcStat::parse("cpu0 1 2 3 4\nbtime 1\n").unwrap();
        assert_eq!(stat.cpus[&0].idle, 0.04);
        assert_eq!(stat.procs_running, None);
        assert_eq!(stat.context_switches, None);
    }

    #[test]
    fn short_softirq_line_names_the_vectors_present() {
        let stat = ProcStat::parse("softirq 10 1 2 3\n").unwrap();
        assert_eq!(
            stat.softirqs,
            vec![("hi", 1.0), ("timer", 2.0), ("net_tx", 3.0)]
        );
        let longer = ProcStat::parse("softirq 66 1 2 3 4 5 6 7 8 9 10 11\n").unwrap();
        assert_eq!(longer.softirqs.len(), 10);
    }

    #[test]
    fn skips_unknown_and_empty_lines() {
        let stat =
            ProcStat::parse("\n\npage 5741 1808\nswap 1 0\ncpufreq 7\ncpu_x 1 2\nctxt\nctxt 3\n")
                .unwrap();
        assert!(stat.cpus.is_empty());
        assert_eq!(stat.context_switches, Some(3.0));
        assert_eq!(ProcStat::parse("").unwrap(), ProcStat::default());
    }

    #[test]
    fn huge_numbers_parse_as_floats() {
        let stat =
            ProcStat::parse("ctxt 18446744073709551615\nprocesses 99999999999999999999999\n")
                .unwrap();
        assert_eq!(stat.context_switches, Some(18446744073709551615.0));
        assert_eq!(stat.forks, Some(1e23));
    }

    #[test]
    fn rejects_damaged_known_lines() {
        for bad in [
            "ctxt many\n",
            "btime -5\n",
            "intr x 1 2\n",
            "cpu0 1 2 3\n",
            "cpu0 1 2 3 four\n",
            "cpu99999999999 1 2 3 4\n",
            "softirq 1 2 three\n",
            "procs_running NaN\n",
        ] {
            let err = ProcStat::parse(bad).expect_err(bad);
            let key = bad.split_whitespace().next().unwrap();
            assert!(err.starts_with(key), "{bad:?}: {err}");
        }
    }

    #[test]
    fn survives_binary_garbage() {
        assert!(ProcStat::parse("\u{0}\u{1}\u{fffd}\n\u{fffd}cpu 1\n").is_ok());
    }
}
