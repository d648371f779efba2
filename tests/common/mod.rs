//! The integration-test harness: start the real `hostwatch` binary on
//! loopback, talk HTTP to it, and stop it again, with every wait bounded.
//!
//! Each file under `tests/` is its own crate and uses a different part of
//! this module, so unused-item warnings are silenced here once.
#![allow(dead_code)]

pub mod exposition;
pub mod fixture_run;
pub mod flood;
pub mod golden;
pub mod http;

use std::fs;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::{symlink, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use http::Response;

/// The binary under test, built by cargo for this test run.
pub const BINARY: &str = env!("CARGO_BIN_EXE_hostwatch");

/// Lets the kernel choose a free loopback port; the harness reads it back
/// from the start-up log line.
pub const LOOPBACK_ANY_PORT: &str = "--web.listen-address=127.0.0.1:0";

/// The fixture host tree, relative to the crate root (the working
/// directory every agent is started in).
pub const FIXTURE_TREE: &[&str] = &[
    "--path.procfs=tests/fixtures/proc",
    "--path.sysfs=tests/fixtures/sys",
    "--path.rootfs=tests/fixtures/root",
    "--path.udev.data=tests/fixtures/udev",
];

/// Accept header Prometheus 2.x sends.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Upper bound for the agent to log its listen address and answer `/-/ready`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for a process to exit after it has been told to.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for a collector to reach a blocking open of a FIFO.
const READER_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between polls of a condition.
const POLL: Duration = Duration::from_millis(20);

/// The crate root, where relative fixture paths resolve.
pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The agent's standard error, collected line by line as it is written.
#[derive(Default)]
struct Log {
    state: Mutex<LogState>,
    changed: Condvar,
}

#[derive(Default)]
struct LogState {
    lines: Vec<String>,
    closed: bool,
}

impl Log {
    /// Collects `stream` into a new log on a thread that ends at EOF.
    fn collect(stream: impl io::Read + Send + 'static) -> (Arc<Log>, JoinHandle<()>) {
        let log = Arc::new(Log::default());
        let writer = Arc::clone(&log);
        let reader = thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                writer.lock().lines.push(line);
                writer.changed.notify_all();
            }
            writer.lock().closed = true;
            writer.changed.notify_all();
        });
        (log, reader)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lines(&self) -> Vec<String> {
        self.lock().lines.clone()
    }

    /// Waits until a line satisfies `want` and returns it, or `None` when the
    /// stream closed or `timeout` passed first.
    fn wait_for_line(&self, timeout: Duration, want: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(line) = state.lines.iter().find(|l| want(l)) {
                return Some(line.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if state.closed {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// A running `hostwatch` listening on a loopback port. Dropping it kills the
/// process.
pub struct Agent {
    child: Child,
    port: u16,
    log: Arc<Log>,
    log_reader: Option<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl Agent {
    /// Starts the agent with `args` on a free loopback port and waits until
    /// it is ready.
    pub fn start<S: AsRef<str>>(args: &[S]) -> Agent {
        Agent::start_with_env(args, &[])
    }

    /// [`Agent::start`] with extra environment variables for the process.
    pub fn start_with_env<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Agent {
        let mut agent = Agent::start_listening(args, env);
        agent.wait_ready();
        agent
    }

    /// Starts the agent and returns once it listens, without asking it for
    /// readiness: for agents that speak TLS or demand credentials.
    pub fn start_listening<S: AsRef<str>>(args: &[S], env: &[(&str, &str)]) -> Agent {
        let mut child = Command::new(BINARY)
            .current_dir(crate_root())
            .arg(LOOPBACK_ANY_PORT)
            .args(args.iter().map(AsRef::as_ref))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (log, log_reader) = Log::collect(stderr);
        let mut agent = Agent {
            child,
            port: 0,
            log,
            log_reader: Some(log_reader),
            exit: None,
        };
        let line = agent
            .log
            .wait_for_line(STARTUP_TIMEOUT, |l| l.contains(" listen="));
        agent.port = line
            .as_deref()
            .and_then(listen_port)
            .unwrap_or_else(|| panic!("no listen address logged; stderr:\n{}", agent.stderr()));
        agent
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(response) = http::request(self.port, "GET", "/-/ready", &[]) {
                if response.status == 200 {
                    return;
                }
            }
            if let Some(status) = self.try_wait() {
                panic!("agent exited ({status}); stderr:\n{}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "agent not ready; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(POLL);
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t")
    }

    /// Sends a request, failing the test on a transport error.
    pub fn request(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
        http::request(self.port, method, target, headers).unwrap_or_else(|e| {
            panic!(
                "{method} {target}: {e}; agent stderr:\n{}",
                self.log.lines().join("\n")
            )
        })
    }

    /// `GET target` with no extra headers.
    pub fn get(&self, target: &str) -> Response {
        self.request("GET", target, &[])
    }

    /// Scrapes `/metrics` in the text format, checking the status is 200.
    pub fn scrape_text(&self) -> String {
        let response = self.get("/metrics");
        assert_eq!(response.status, 200, "{}", response.text());
        response.text()
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill: {}", io::Error::last_os_error());
    }

    /// The number of threads the process has, from `/proc/<pid>/status`.
    pub fn thread_count(&self) -> usize {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("reading the agent's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("a Threads: line")
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("waiting for the agent");
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to exit; once it has, its whole
    /// standard error is in [`Agent::stderr`].
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.try_wait() {
                break status;
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        };
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
        Some(status)
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("no exit after SIGTERM; stderr:\n{}", self.stderr()))
    }

    /// Every line logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lines()
    }

    /// Standard error so far, as one string.
    pub fn stderr(&self) -> String {
        self.log.lines().join("\n")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
    }
}

/// The port of `listen=127.0.0.1:NNNNN` in the start-up log line.
fn listen_port(line: &str) -> Option<u16> {
    let rest = &line[line.find(" listen=127.0.0.1:")? + " listen=127.0.0.1:".len()..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// How a run of the binary that was expected to end, ended.
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote to standard error.
    pub stderr: String,
}

/// Runs the binary with exactly `args` (no listen address added) and waits,
/// bounded, for it to exit by itself.
pub fn run_to_exit<S: AsRef<str>>(args: &[S]) -> Exited {
    let mut child = Command::new(BINARY)
        .current_dir(crate_root())
        .args(args.iter().map(AsRef::as_ref))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
    let (log, reader) = Log::collect(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + EXIT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the agent") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            panic!(
                "{args:?}: still running; stderr:\n{}",
                log.lines().join("\n"),
                args = args.iter().map(AsRef::as_ref).collect::<Vec<_>>()
            );
        }
        thread::sleep(POLL);
    };
    let _ = reader.join();
    Exited {
        status,
        stderr: log.lines().join("\n"),
    }
}

/// A private copy of the fixture tree in which one procfs file is a FIFO,
/// so that the collector opening it blocks (no writer) exactly as a read of
/// a wedged kernel file would.
pub struct HungTree {
    dir: tempfile::TempDir,
    fifo: PathBuf,
}

impl HungTree {
    /// Copies the fixture tree and turns `proc/<file>` into a FIFO.
    pub fn new(file: &str) -> HungTree {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        copy_tree(&crate_root().join("tests/fixtures"), dir.path())
            .expect("copying the fixture tree");
        let fifo = dir.path().join("proc").join(file);
        let _ = fs::remove_file(&fifo);
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())
            .expect("no NUL in a temporary path");
        // SAFETY: a valid NUL-terminated path and a plain mode.
        let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
        assert_eq!(rc, 0, "mkfifo: {}", io::Error::last_os_error());
        HungTree { dir, fifo }
    }

    /// The `--path.*` flags for this tree.
    pub fn args(&self) -> Vec<String> {
        let root = self.dir.path().display();
        vec![
            format!("--path.procfs={root}/proc"),
            format!("--path.sysfs={root}/sys"),
            format!("--path.rootfs={root}/root"),
            format!("--path.udev.data={root}/udev"),
        ]
    }

    /// Waits (bounded) for a reader to block opening the FIFO, hands it
    /// `content`, and puts a regular file with `content` in the FIFO's place
    /// so later reads succeed. Returns whether a reader came.
    pub fn release(&self, content: &str) -> bool {
        let blocked = self.wait_for_reader();
        let came = blocked.is_some();
        self.hand_over(blocked, content);
        came
    }

    /// Waits (bounded) for a reader to block opening the FIFO; the FIFO's
    /// write end, which [`HungTree::hand_over`] takes, when one came.
    pub fn wait_for_reader(&self) -> Option<fs::File> {
        // Opening for write without blocking succeeds only if a reader waits.
        let mut writer = None;
        eventually(READER_TIMEOUT, || {
            match fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.fifo)
            {
                Ok(opened) => writer = Some(opened),
                Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {}
                Err(e) => panic!("opening the FIFO for write: {e}"),
            }
            writer.is_some()
        });
        writer
    }

    /// Puts a regular file with `content` in the FIFO's place and hands
    /// `content` to the reader blocked on `writer`'s FIFO, if any.
    pub fn hand_over(&self, writer: Option<fs::File>, content: &str) {
        let staged = self.fifo.with_extension("regular");
        fs::write(&staged, content).expect("writing the replacement file");
        fs::rename(&staged, &self.fifo).expect("replacing the FIFO");
        if let Some(mut writer) = writer {
            io::Write::write_all(&mut writer, content.as_bytes()).expect("writing the FIFO");
        }
    }
}

/// Copies a directory tree, keeping symlinks as symlinks (sysfs fixtures
/// are made of them) and skipping anything that is not a file or directory.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            symlink(fs::read_link(entry.path())?, &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Polls `condition` every few milliseconds for up to `timeout`; whether it
/// became true.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
}
