//! Start-up as node_exporter users know it: every flag of node_exporter
//! 1.12.1 (`tests/node_exporter_flags.txt`) starts the real binary, the
//! default collectors are node_exporter's, socket activation, exit
//! statuses, and the help and hints a person sees.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use common::{crate_root, eventually, run_to_exit, BINARY, FIXTURE_TREE, LOOPBACK_ANY_PORT};
use hostwatch::collectors::registry;

/// node_exporter 1.12.1's flags and default collectors.
const FLAGS_FILE: &str = "tests/node_exporter_flags.txt";

/// Collectors node_exporter does not have, so its flags cannot name them.
const HOSTWATCH_ONLY: &[&str] = &["cgroupstats"];

/// Agents started at once: enough to keep the run short, few enough for a
/// machine shared with other builds.
const PARALLEL_AGENTS: usize = 4;

/// Upper bound for an agent to start and answer a scrape.
const SERVE_TIMEOUT: Duration = Duration::from_secs(30);

/// The exit status of every start-up failure.
const START_UP_ERROR: i32 = 1;

/// One line of the flags file.
struct FlagLine {
    flag: String,
    kind: String,
    argument: String,
}

fn flags_file() -> (Vec<FlagLine>, BTreeSet<String>) {
    let text = fs::read_to_string(crate_root().join(FLAGS_FILE)).expect("reading the flags file");
    let mut flags = Vec::new();
    let mut defaults = BTreeSet::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        match columns.as_slice() {
            ["default-enabled", name] => {
                defaults.insert(name.to_string());
            }
            [flag, kind, rest @ ..] if flag.starts_with("--") => flags.push(FlagLine {
                flag: flag.to_string(),
                kind: kind.to_string(),
                argument: rest.first().copied().unwrap_or_default().to_string(),
            }),
            _ => panic!("{FLAGS_FILE}: malformed line {line:?}"),
        }
    }
    (flags, defaults)
}

/// The command lines to try for one flag: a value as given, a boolean as
/// `--flag` and `--no-flag`.
fn invocations(line: &FlagLine) -> Vec<String> {
    match line.kind.as_str() {
        "value" => vec![line.argument.clone()],
        "bool" => vec![line.flag.clone(), line.flag.replacen("--", "--no-", 1)],
        "exits" => Vec::new(),
        other => panic!("{FLAGS_FILE}: unknown kind {other:?} for {}", line.flag),
    }
}

/// A started agent whose standard error goes to a file.
struct Started {
    child: Child,
    log: tempfile::NamedTempFile,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Started {
    fn log(&self) -> String {
        fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

/// Starts the agent on the fixture tree with `argument`, listening on a
/// loopback port of its choice, or on `passed` handed over as systemd
/// does when the flag is `--web.systemd-socket`.
fn start(argument: &str, passed: Option<&TcpListener>) -> Started {
    let log = tempfile::NamedTempFile::new().expect("creating a log file");
    let stderr = log.reopen().expect("reopening the log file");
    let mut command = match passed {
        // The shell's pid is the agent's once it execs, which LISTEN_PID
        // must name.
        Some(socket) => {
            let fd = socket.as_raw_fd();
            let mut command = Command::new("sh");
            command
                .args(["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", BINARY])
                .env("LISTEN_FDS", "1");
            // SAFETY: dup2 and fcntl are async-signal-safe; the child gets
            // the socket as descriptor 3, where socket activation passes the
            // first. A socket that already is descriptor 3 keeps its
            // close-on-exec flag through dup2, so the flag is cleared instead.
            unsafe {
                command.pre_exec(move || {
                    let done = if fd == 3 {
                        libc::fcntl(3, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(fd, 3)
                    };
                    if done == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            command
        }
        None => {
            let mut command = Command::new(BINARY);
            command.arg(LOOPBACK_ANY_PORT);
            command
        }
    };
    let child = command
        .current_dir(crate_root())
        .args(FIXTURE_TREE)
        .arg(argument)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("starting the agent");
    Started { child, log }
}

/// The first port in the start-up line, in either log format.
fn logged_port(log: &str) -> Option<u16> {
    ["listen=127.0.0.1:", "\"listen\":\"127.0.0.1:"]
        .iter()
        .find_map(|key| {
            let rest = &log[log.find(key)? + key.len()..];
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            rest[..end].parse().ok()
        })
}

/// Starts the agent with `argument` and scrapes it: `Ok` when the scrape
/// answers 200, else why not.
fn serves_a_scrape(argument: &str) -> Result<(), String> {
    let socket;
    let (passed, known_port) = if argument == "--web.systemd-socket" {
        socket = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = socket.local_addr().map_err(|e| e.to_string())?.port();
        (Some(&socket), Some(port))
    } else {
        (None, None)
    };
    let mut agent = start(argument, passed);
    let deadline = Instant::now() + SERVE_TIMEOUT;
    let mut port = known_port;
    loop {
        if let Some(status) = agent.child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited ({status}):\n{}", agent.log()));
        }
        port = port.or_else(|| logged_port(&agent.log()));
        if let Some(port) = port {
            if let Ok(response) = common::http::request(port, "GET", "/metrics", &[]) {
                return if response.status == 200 {
                    Ok(())
                } else {
                    Err(format!(
                        "scrape answered {}:\n{}",
                        response.status,
                        agent.log()
                    ))
                };
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("no scrape answered:\n{}", agent.log()));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_node_exporter_flag_starts_hostwatch_and_serves() {
    let (flags, _) = flags_file();
    let runs: Vec<(&str, String)> = flags
        .iter()
        .flat_map(|line| {
            invocations(line)
                .into_iter()
                .map(move |argument| (line.flag.as_str(), argument))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..PARALLEL_AGENTS {
            scope.spawn(|| {
                while let Some((flag, argument)) = runs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(why) = serves_a_scrape(argument) {
                        failures
                            .lock()
                            .unwrap()
                            .push((*flag, argument.clone(), why));
                    }
                }
            });
        }
    });
    let failures: Vec<String> = failures
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|(_, argument, why)| format!("{argument}: {why}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn flags_that_print_exit_0_with_output() {
    let (flags, _) = flags_file();
    for line in flags.iter().filter(|line| line.kind == "exits") {
        let output = Command::new(BINARY)
            .arg(&line.flag)
            .output()
            .expect("running the binary");
        assert!(
            output.status.success(),
            "{}: {:?}",
            line.flag,
            output.status
        );
        assert!(!output.stdout.is_empty(), "{}: printed nothing", line.flag);
    }
}

#[test]
fn default_collectors_are_node_exporters() {
    let (_, node_exporter) = flags_file();
    let ours: BTreeSet<String> = registry::ALL
        .iter()
        .filter(|spec| spec.default_enabled)
        .map(|spec| spec.name.to_string())
        .collect();
    assert_eq!(
        ours.difference(&node_exporter).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "enabled by default in hostwatch only"
    );
    assert_eq!(
        node_exporter.difference(&ours).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "enabled by default in node_exporter only"
    );
}

#[test]
fn every_node_exporter_collector_has_a_toggle_in_the_data() {
    let (flags, _) = flags_file();
    let toggles: BTreeSet<&str> = flags
        .iter()
        .filter_map(|line| line.flag.strip_prefix("--collector."))
        .filter(|name| !name.contains('.'))
        .collect();
    for name in registry::ALL
        .iter()
        .map(|spec| spec.name)
        .filter(|name| !HOSTWATCH_ONLY.contains(name))
        .chain(registry::NOT_IMPLEMENTED.iter().copied())
    {
        assert!(
            toggles.contains(name),
            "{FLAGS_FILE} lacks --collector.{name}"
        );
    }
}

#[test]
fn systemd_socket_without_passed_sockets_stops_with_a_clear_error() {
    let exited = run_to_exit(&["--web.systemd-socket"]);
    assert_eq!(
        exited.status.code(),
        Some(START_UP_ERROR),
        "{}",
        exited.stderr
    );
    assert!(
        exited
            .stderr
            .contains("no socket activation file descriptors found"),
        "{}",
        exited.stderr
    );
    assert!(!exited.stderr.contains(" listen="), "{}", exited.stderr);
}

#[test]
fn systemd_socket_refuses_sockets_meant_for_another_process() {
    let output = Command::new(BINARY)
        .arg("--web.systemd-socket")
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1")
        .output()
        .expect("running the binary");
    assert_eq!(output.status.code(), Some(START_UP_ERROR));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no socket activation file descriptors found"),
        "{stderr}"
    );
}

#[test]
fn systemd_socket_serves_on_the_passed_socket_only() {
    let socket = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let port = socket.local_addr().expect("its address").port();
    let agent = start("--web.systemd-socket", Some(&socket));
    drop(socket);
    let scraped = eventually(SERVE_TIMEOUT, || {
        common::http::request(port, "GET", "/metrics", &[]).is_ok_and(|r| r.status == 200)
    });
    assert!(scraped, "no scrape on the passed socket:\n{}", agent.log());
    let log = agent.log();
    assert!(
        log.contains("Listening on systemd activated listeners instead of port listeners."),
        "{log}"
    );
    assert!(
        log.contains(&format!("msg=\"Listening on\" address=127.0.0.1:{port}")),
        "{log}"
    );
    // --web.listen-address's default, :9100, is not bound.
    assert!(!log.contains(":9100"), "{log}");
}

#[test]
fn start_up_errors_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let address = taken.local_addr().expect("its address");
    for args in [
        vec!["--collector.nosuch".to_string()],
        vec!["--web.max-requests=lots".to_string()],
        vec!["--log.level=loud".to_string()],
        vec![format!("--web.listen-address={address}")],
        vec![
            LOOPBACK_ANY_PORT.to_string(),
            "--web.config.file=/nonexistent/web.yml".to_string(),
        ],
    ] {
        let exited = run_to_exit(&args);
        assert_eq!(
            exited.status.code(),
            Some(START_UP_ERROR),
            "{args:?}: {}",
            exited.stderr
        );
    }
}

#[test]
fn port_in_use_is_reported_once() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let address = taken.local_addr().expect("its address");
    let exited = run_to_exit(&[format!("--web.listen-address={address}")]);
    let reports = exited
        .stderr
        .lines()
        .filter(|line| line.contains("in use"))
        .count();
    assert_eq!(reports, 1, "{}", exited.stderr);
}

#[test]
fn a_mistyped_negation_gets_a_hint_that_keeps_no() {
    let exited = run_to_exit(&["--no-collector.loadavgg"]);
    assert_eq!(exited.status.code(), Some(START_UP_ERROR));
    assert!(
        exited.stderr.contains("'--no-collector.loadavg'"),
        "{}",
        exited.stderr
    );
    let exited = run_to_exit(&["--no-web.listen-address"]);
    assert_eq!(exited.status.code(), Some(START_UP_ERROR));
    assert!(exited.stderr.contains("takes a value"), "{}", exited.stderr);
}

#[test]
fn help_shows_booleans_in_kingpins_no_form() {
    let output = Command::new(BINARY)
        .arg("--help")
        .output()
        .expect("running the binary");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for flag in [
        "--[no-]collector.loadavg",
        "--[no-]collector.disable-defaults",
        "--[no-]web.systemd-socket",
        "--[no-]collector.cpu.info",
    ] {
        assert!(
            help.lines().any(|line| line.trim_start() == flag),
            "{flag} missing:\n{help}"
        );
    }
    assert!(!help.contains("[=<BOOL>]"), "{help}");
    assert!(help.contains("--web.listen-address <ADDR>"), "{help}");
}
