//! The agent's own `process_*` metrics, as client_golang's process
//! collector reports them for node_exporter.
//!
//! These describe hostwatch itself, so they read the agent's own `/proc/self`
//! (always the real `/proc` of the agent's namespace), never `--path.procfs`.

use std::path::Path;
use std::sync::OnceLock;

use super::limits::{soft_limit, Limit};
use crate::host::read_text;
use crate::kernel::proc_stat::ProcStat;
use crate::metrics::MetricSet;

/// The fields of `/proc/<pid>/stat` the process metrics need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStat {
    /// User-mode CPU time, in clock ticks.
    pub utime_ticks: u64,
    /// Kernel-mode CPU time, in clock ticks.
    pub stime_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    /// Virtual memory size, in bytes.
    pub vsize_bytes: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

impl ProcessStat {
    /// Parses `/proc/<pid>/stat`. The command name (field 2) may contain
    /// spaces and parentheses, so fields are counted after its last `)`.
    pub fn parse(text: &str) -> Option<ProcessStat> {
        let after_comm = &text[text.rfind(')')? + 1..];
        // Field 3 (state) is the first after the command name.
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(ProcessStat {
            utime_ticks: field(14)?,
            stime_ticks: field(15)?,
            start_ticks: field(22)?,
            vsize_bytes: field(23)?,
            rss_pages: field(24)?,
        })
    }
}

/// The agent's start time in seconds since the epoch: the boot time plus
/// the start tick. It cannot change, and `/proc/stat`, where the boot time
/// is, costs the kernel a sum over every CPU and interrupt to produce, so it
/// is read until it has been read once.
fn start_time(proc_root: &Path, start_ticks: u64, ticks_per_second: f64) -> Option<f64> {
    static STARTED: OnceLock<f64> = OnceLock::new();
    if let Some(&started) = STARTED.get() {
        return Some(started);
    }
    let stat = ProcStat::parse(&read_text(&proc_root.join("stat")).ok()?).ok()?;
    let btime = stat.boot_time?;
    Some(*STARTED.get_or_init(|| btime + start_ticks as f64 / ticks_per_second))
}

/// The number of open descriptors, counted as client_golang counts them: by
/// listing `fd_dir`, whose own handle is one of them while it is listed.
/// Since Linux 6.2 the directory's size is that number without the listing
/// (which costs the kernel a lookup per descriptor); older kernels give 0.
fn open_fds(fd_dir: &Path) -> Option<u64> {
    match std::fs::metadata(fd_dir) {
        Ok(meta) if meta.len() > 0 => Some(meta.len() + 1),
        _ => Some(std::fs::read_dir(fd_dir).ok()?.count() as u64),
    }
}

/// Adds the agent's process metrics. Parts that cannot be read are left out.
pub fn collect(out: &mut MetricSet) {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // SAFETY: as above.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
    let proc_root = Path::new("/proc");

    if let Some(stat) = read_text(&proc_root.join("self/stat"))
        .ok()
        .and_then(|t| ProcessStat::parse(&t))
    {
        out.counter(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            (stat.utime_ticks + stat.stime_ticks) as f64 / ticks_per_second,
        );
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            stat.rss_pages as f64 * page_size,
        );
        out.gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            stat.vsize_bytes as f64,
        );
        if let Some(started) = start_time(proc_root, stat.start_ticks, ticks_per_second) {
            out.gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                started,
            );
        }
    }
    if let Some(open_fds) = open_fds(&proc_root.join("self/fd")) {
        out.gauge(
            "process_open_fds",
            "Number of open file descriptors.",
            open_fds as f64,
        );
    }
    if let Ok(max_fds) = soft_limit(Limit::OpenFiles) {
        out.gauge(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            max_fds.map_or(u64::MAX as f64, |v| v as f64),
        );
    }
    if let Ok(max_as) = soft_limit(Limit::AddressSpace) {
        out.gauge(
            "process_virtual_memory_max_bytes",
            "Maximum amount of virtual memory available in bytes.",
            max_as.map_or(u64::MAX as f64, |v| v as f64),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_name() {
        let text = "4242 (host (watch) x) S 1 4242 4242 0 -1 4194560 1203 0 0 0 150 37 0 0 20 0 6 0 123456 987654321 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let stat = ProcessStat::parse(text).unwrap();
        assert_eq!(stat.utime_ticks, 150);
        assert_eq!(stat.stime_ticks, 37);
        assert_eq!(stat.start_ticks, 123456);
        assert_eq!(stat.vsize_bytes, 987654321);
        assert_eq!(stat.rss_pages, 2048);
    }

    #[test]
    fn truncated_stat_is_none() {
        assert!(ProcessStat::parse("1 (x) S 1 2 3").is_none());
        assert!(ProcessStat::parse("garbage").is_none());
    }

    #[test]
    fn open_fds_counts_as_a_listing_does() {
        // Other tests open and close files meanwhile: compare only when two
        // listings around the count agree.
        let fd_dir = Path::new("/proc/self/fd");
        let list = || std::fs::read_dir(fd_dir).unwrap().count() as u64;
        for _ in 0..100 {
            let before = list();
            let counted = open_fds(fd_dir);
            if list() == before {
                assert_eq!(counted, Some(before));
                return;
            }
        }
        panic!("the descriptor count never held still");
    }
}
