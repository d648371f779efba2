//! `processes`: how many processes and threads exist and in which scheduler
//! state, from `<procfs>/<pid>/stat` and `<procfs>/<pid>/task/<tid>/stat`,
//! with the kernel's limits `kernel.pid_max` and `kernel.threads-max`.
//!
//! The scan visits every process and thread of the host, so it reuses one
//! path and one read buffer throughout and allocates per process only for
//! the directory listing. Processes and threads exit while being scanned: a
//! `stat` that is gone (or refused with ESRCH) is skipped, as node_exporter
//! does; any other unreadable or malformed `stat` fails the run.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::collectors::{plain, CollectError, Collector, CollectorSpec};
use crate::host::{read_trimmed, Host};
use crate::metrics::{MetricSet, MetricType};

/// Registry entry.
pub const SPEC: CollectorSpec = CollectorSpec {
    name: "processes",
    default_enabled: false,
    reads: "/proc/[pid]/stat, /proc/[pid]/task/[tid]/stat, /proc/sys/kernel/{pid_max,threads-max}",
    flags: None,
    build: plain::<ProcessesCollector>,
};

/// Reports the `node_processes_*` families.
#[derive(Default)]
struct ProcessesCollector;

/// The two fields of `/proc/<pid>/stat` this collector needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStat<'a> {
    /// The scheduler state letter (`R`, `S`, `D`, `Z`, `T`, `t`, `X`, `I`,
    /// `P`, and on older kernels `x`, `K`, `W`).
    pub state: &'a str,
    /// Threads in the process (`num_threads`, the 20th field).
    pub num_threads: u64,
}

/// Position of `num_threads` among the fields after the command name, where
/// the state is the first.
const NUM_THREADS_INDEX: usize = 17;

impl<'a> TaskStat<'a> {
    /// Parses a `stat` line such as `1 (systemd) S 0 1 1 0 -1 ... 1 0 23 ...`.
    /// The command name may hold spaces, parentheses and any byte, so the
    /// fields are counted from its last `)`. Lines of any kernel since 2.6
    /// have all the fields needed; later fields are not looked at.
    pub fn parse(stat: &'a [u8]) -> Result<TaskStat<'a>, String> {
        let close = stat
            .iter()
            .rposition(|&b| b == b')')
            .ok_or("no command name in parentheses")?;
        let mut fields = stat[close + 1..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let state = fields.next().ok_or("no state after the command name")?;
        let state = std::str::from_utf8(state)
            .ok()
            .filter(|s| s.chars().all(|c| c.is_ascii_alphabetic()))
            .ok_or("state is not a letter")?;
        let num_threads = fields
            .nth(NUM_THREADS_INDEX - 1)
            .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u64>().ok())
            .ok_or("no thread count")?;
        Ok(TaskStat { state, num_threads })
    }
}

/// How many processes or threads are in each state, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts(Vec<(String, u64)>);

impl StateCounts {
    /// Counts one more in `state`. States are few, so a scan of the list
    /// beats hashing, and a state allocates only when first seen.
    pub fn add(&mut self, state: &str) {
        match self.0.iter_mut().find(|(s, _)| s == state) {
            Some((_, count)) => *count += 1,
            None => self.0.push((state.to_string(), 1)),
        }
    }

    /// The states seen and their counts.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(s, n)| (s.as_str(), *n))
    }
}

/// What one scan of procfs found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessCounts {
    /// Processes whose `stat` was read.
    pub pids: u64,
    /// The sum of their `num_threads`.
    pub threads: u64,
    /// Processes per state.
    pub process_states: StateCounts,
    /// Threads per state, from each thread's own `stat`.
    pub thread_states: StateCounts,
}

/// Errors that mean the process or thread exited while being read.
fn vanished(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

/// Largest `stat` read: real ones are well under 1 KiB.
const MAX_STAT_BYTES: u64 = 64 * 1024;

/// Reads the file at `path` into `buf`, replacing its contents: one open and
/// one read, into memory reused from file to file.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    File::open(path)?.take(MAX_STAT_BYTES).read_to_end(buf)?;
    Ok(())
}

/// Whether a directory entry names a process or thread (all digits).
fn is_id(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(u8::is_ascii_digit)
}

/// A scan of one procfs, holding the reused path and buffer.
struct Scan {
    path: PathBuf,
    buf: Vec<u8>,
    /// The state of the process being scanned, for its main thread.
    process_state: String,
    counts: ProcessCounts,
}

impl Scan {
    fn new(procfs: &Path) -> Scan {
        Scan {
            path: procfs.to_path_buf(),
            buf: Vec::with_capacity(4096),
            process_state: String::new(),
            counts: ProcessCounts::default(),
        }
    }

    /// Counts every process under the procfs root.
    fn run(mut self) -> Result<ProcessCounts, CollectError> {
        let root = self.path.clone();
        let entries = fs::read_dir(&root).map_err(|e| CollectError::io(&root, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| CollectError::io(&root, &e))?;
            let name = entry.file_name();
            if !is_id(name.as_encoded_bytes()) {
                continue;
            }
            self.path.push(&name);
            let result = self.process(name.as_encoded_bytes());
            self.path.pop();
            result?;
        }
        Ok(self.counts)
    }

    /// Counts the process whose directory `self.path` is.
    fn process(&mut self, pid: &[u8]) -> Result<(), CollectError> {
        self.path.push("stat");
        let stat = match read_into(&self.path, &mut self.buf) {
            Ok(()) => TaskStat::parse(&self.buf)
                .map(Some)
                .map_err(|e| CollectError::parse(&self.path, e)),
            Err(err) if vanished(&err) => Ok(None),
            Err(err) => Err(CollectError::io(&self.path, &err)),
        };
        self.path.pop();
        let Some(stat) = stat? else {
            return Ok(());
        };
        self.counts.pids += 1;
        self.counts.threads += stat.num_threads;
        self.counts.process_states.add(stat.state);
        self.process_state.clear();
        self.process_state.push_str(stat.state);

        self.path.push("task");
        let result = self.threads(pid);
        self.path.pop();
        result
    }

    /// Counts the threads under the task directory `self.path` of process
    /// `pid`. The main thread's state is the process's, already read.
    fn threads(&mut self, pid: &[u8]) -> Result<(), CollectError> {
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(err) if vanished(&err) => return Ok(()),
            Err(err) => return Err(CollectError::io(&self.path, &err)),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) if vanished(&err) => return Ok(()),
                Err(err) => return Err(CollectError::io(&self.path, &err)),
            };
            let tid = entry.file_name();
            if !is_id(tid.as_encoded_bytes()) {
                continue;
            }
            if tid.as_encoded_bytes() == pid {
                self.counts.thread_states.add(&self.process_state);
                continue;
            }
            self.path.push(&tid);
            self.path.push("stat");
            let result = match read_into(&self.path, &mut self.buf) {
                Ok(()) => TaskStat::parse(&self.buf)
                    .map(|stat| self.counts.thread_states.add(stat.state))
                    .map_err(|e| CollectError::parse(&self.path, e)),
                Err(err) if vanished(&err) => Ok(()),
                Err(err) => Err(CollectError::io(&self.path, &err)),
            };
            self.path.pop();
            self.path.pop();
            result?;
        }
        Ok(())
    }
}

impl ProcessesCollector {
    /// A kernel limit from `/proc/sys/kernel/<name>`.
    fn kernel_limit(&self, host: &Host, name: &str) -> Result<f64, CollectError> {
        let path = host.proc_path(&format!("sys/kernel/{name}"));
        let text = read_trimmed(&path).map_err(|e| CollectError::io(&path, &e))?;
        text.parse::<u64>()
            .map(|v| v as f64)
            .map_err(|_| CollectError::parse(&path, format!("not a count: {text:?}")))
    }
}

/// Adds the gauge family `name` with a sample per state, labelled `label`.
fn state_family(
    out: &mut MetricSet,
    name: &'static str,
    help: &'static str,
    label: &'static str,
    counts: &StateCounts,
) {
    let family = out.family(name, help, MetricType::Gauge, &[label]);
    for (state, n) in counts.iter() {
        family.push(&[state], n as f64);
    }
}

impl Collector for ProcessesCollector {
    fn update(&self, host: &Host, out: &mut MetricSet) -> Result<(), CollectError> {
        let counts = Scan::new(host.procfs()).run()?;

        // node_exporter's order: a missing limit fails the run after the
        // families before it were reported.
        out.gauge(
            "node_processes_threads",
            "Allocated threads in system",
            counts.threads as f64,
        );
        out.gauge(
            "node_processes_max_threads",
            "Limit of threads in the system",
            self.kernel_limit(host, "threads-max")?,
        );
        state_family(
            out,
            "node_processes_state",
            "Number of processes in each state.",
            "state",
            &counts.process_states,
        );
        state_family(
            out,
            "node_processes_threads_state",
            "Number of threads in each state.",
            "thread_state",
            &counts.thread_states,
        );
        let pid_max = self.kernel_limit(host, "pid_max")?;
        out.gauge("node_processes_pids", "Number of PIDs", counts.pids as f64);
        out.gauge(
            "node_processes_max_processes",
            "Number of max PIDs limit",
            pid_max,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::common::testing::{
        fixture_procfs, host_with_procfs, run, scrape_fixtures,
    };
    use crate::collectors::ErrorKind;

    /// This machine's init, captured into the fixture tree (Linux 6.18).
    const INIT: &[u8] = include_bytes!("../../tests/fixtures/proc/1/stat");

    fn parse(line: &[u8]) -> Result<(String, u64), String> {
        TaskStat::parse(line).map(|s| (s.state.to_string(), s.num_threads))
    }

    #[test]
    fn parses_current_kernel_lines() {
        assert_eq!(parse(INIT).unwrap(), ("S".to_string(), 13));
        let kworker = b"10 (kworker/0:0H-kblockd) I 2 0 0 0 -1 69238880 0 0 0 0 0 38 0 0 0 -20 1 0 23 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        assert_eq!(parse(kworker).unwrap(), ("I".to_string(), 1));
    }

    /// 2.6.18 printed 41 fields (no guest times, no later additions).
    #[test]
    fn parses_old_kernel_lines() {
        let line = b"3117 (sshd) S 1 3117 3117 0 -1 4194560 1089 5474 0 2 1 3 9 10 15 0 1 0 1864 6725632 272 4294967295 134512640 134843060 3219128560 3219127676 6754832 0 0 4096 73733 3222346385 0 0 17 0 0 0 0\n";
        assert_eq!(parse(line).unwrap(), ("S".to_string(), 1));
    }

    #[test]
    fn command_names_with_spaces_parentheses_and_odd_bytes() {
        let cases: [&[u8]; 4] = [
            b"1187 ((sd-pam)) S 1186 1187 1187 0 -1 1077936448 1520 0 3 0 211 97 0 0 20 0 1 0 5187",
            b"4242 (a) S 1 (b) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 7 0 1",
            b"4243 (tmux: server) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 7 0 1",
            b"4244 (bad\xff\nname) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 7 0 1",
        ];
        let parsed: Vec<_> = cases.iter().map(|l| parse(l).unwrap()).collect();
        assert_eq!(parsed[0], ("S".to_string(), 1));
        // The last `)` ends the name, whatever the name holds.
        assert_eq!(parsed[1], ("R".to_string(), 7));
        assert_eq!(parsed[2], ("S".to_string(), 7));
        assert_eq!(parsed[3], ("S".to_string(), 7));
    }

    #[test]
    fn truncated_and_garbage_lines_are_errors() {
        let cut = &INIT[..INIT
            .windows(3)
            .position(|w| w == b"-10")
            .expect("nice field")];
        for line in [
            cut,
            b"",
            b"1 (init",
            b"1 (init)",
            b"1 (init) S",
            b"1 (init) 5 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1",
            b"1 (init) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 many 0 1",
            b"\0\0\0\0",
        ] {
            assert!(
                TaskStat::parse(line).is_err(),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn state_counts_allocate_per_state_not_per_process() {
        let mut counts = StateCounts::default();
        for state in ["S", "R", "S", "I", "S"] {
            counts.add(state);
        }
        let seen: Vec<_> = counts.iter().collect();
        assert_eq!(seen, [("S", 3), ("R", 1), ("I", 1)]);
    }

    fn sorted(counts: &StateCounts) -> Vec<(&str, u64)> {
        let mut v: Vec<_> = counts.iter().collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn scans_the_fixture_procfs() {
        let counts = Scan::new(&fixture_procfs()).run().unwrap();
        assert_eq!(counts.pids, 10);
        // init's 13, java's 4, one each for the other eight.
        assert_eq!(counts.threads, 25);
        assert_eq!(
            sorted(&counts.process_states),
            [
                ("D", 1),
                ("I", 1),
                ("P", 1),
                ("S", 4),
                ("T", 1),
                ("Z", 1),
                ("t", 1)
            ]
        );
        // java's threads run, sleep and block while the process sleeps.
        assert_eq!(
            sorted(&counts.thread_states),
            [
                ("D", 2),
                ("I", 1),
                ("P", 1),
                ("R", 1),
                ("S", 17),
                ("T", 1),
                ("Z", 1),
                ("t", 1)
            ]
        );
    }

    const LINE: &str = "(x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 1\n";

    fn write(root: &Path, path: &str, content: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    #[test]
    fn vanished_processes_and_threads_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "100/stat", &format!("100 {LINE}"));
        write(root, "100/task/100/stat", "");
        write(
            root,
            "100/task/101/stat",
            &format!("101 {}", LINE.replace(" S ", " R ")),
        );
        // A thread gone between listing and reading.
        fs::create_dir_all(root.join("100/task/102")).unwrap();
        // A process gone before its stat was read, one gone before its task
        // directory was listed, and entries that are not processes.
        fs::create_dir_all(root.join("200")).unwrap();
        write(
            root,
            "300/stat",
            &format!("300 {}", LINE.replace(" S ", " Z ")),
        );
        write(root, "self/stat", "garbage");
        write(root, "meminfo", "garbage");
        write(root, "sys/kernel/pid_max", "4194304\n");
        write(root, "sys/kernel/threads-max", "63590\n");

        let counts = Scan::new(root).run().unwrap();
        assert_eq!(counts.pids, 2);
        assert_eq!(counts.threads, 4);
        assert_eq!(sorted(&counts.process_states), [("S", 1), ("Z", 1)]);
        assert_eq!(sorted(&counts.thread_states), [("R", 1), ("S", 1)]);

        let host = host_with_procfs(root);
        let collector = ProcessesCollector;
        let (families, result) = run(&collector, &host);
        result.unwrap();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "node_processes_max_processes",
                "node_processes_max_threads",
                "node_processes_pids",
                "node_processes_state",
                "node_processes_threads",
                "node_processes_threads_state",
            ]
        );
    }

    #[test]
    fn malformed_stat_fails_the_run_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "7/stat", "7 (cut");
        let err = Scan::new(dir.path()).run().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert!(err.message().contains("7/stat"), "{err}");

        write(dir.path(), "7/stat", &format!("7 {LINE}"));
        write(dir.path(), "7/task/8/stat", "8 (x) ?");
        let err = Scan::new(dir.path()).run().unwrap_err();
        assert!(err.message().contains("task/8/stat"), "{err}");
    }

    #[test]
    fn missing_limits_fail_after_what_node_exporter_reports_first() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "7/stat", &format!("7 {LINE}"));
        write(dir.path(), "7/task/7/stat", &format!("7 {LINE}"));
        let host = host_with_procfs(dir.path());
        let collector = ProcessesCollector;
        let (families, result) = run(&collector, &host);
        assert!(result.unwrap_err().message().contains("threads-max"));
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names, ["node_processes_threads"]);

        write(dir.path(), "sys/kernel/threads-max", "63590\n");
        write(dir.path(), "sys/kernel/pid_max", "lots\n");
        let (families, result) = run(&collector, &host);
        assert!(result.unwrap_err().message().contains("pid_max"));
        assert_eq!(families.len(), 4);
    }

    #[test]
    fn reports_the_fixture_host_as_node_exporter() {
        let text = scrape_fixtures(&SPEC, &[]);
        for expected in [
            "# HELP node_processes_max_processes Number of max PIDs limit",
            "# TYPE node_processes_max_processes gauge",
            "node_processes_max_processes 32768",
            "# HELP node_processes_max_threads Limit of threads in the system",
            "node_processes_max_threads 192729",
            "# HELP node_processes_pids Number of PIDs",
            "node_processes_pids 10",
            "# HELP node_processes_state Number of processes in each state.",
            r#"node_processes_state{state="D"} 1"#,
            r#"node_processes_state{state="S"} 4"#,
            r#"node_processes_state{state="t"} 1"#,
            "# HELP node_processes_threads Allocated threads in system",
            "node_processes_threads 25",
            "# HELP node_processes_threads_state Number of threads in each state.",
            r#"node_processes_threads_state{thread_state="R"} 1"#,
            r#"node_processes_threads_state{thread_state="S"} 17"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }

    /// The running kernel's procfs, with processes starting and exiting
    /// while it is scanned.
    #[test]
    fn scans_this_machine() {
        let procfs = Path::new("/proc");
        if !procfs.join("self/stat").exists() {
            return;
        }
        let counts = Scan::new(procfs).run().unwrap();
        assert!(counts.pids > 0);
        assert!(counts.threads >= counts.pids);
        let thread_total: u64 = counts.thread_states.iter().map(|(_, n)| n).sum();
        assert!(thread_total >= counts.pids);
    }
}
