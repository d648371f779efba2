//! HTTP behaviour of the real binary: content negotiation, compression,
//! collector selection, routes and methods, the concurrency limit, scrape
//! deadlines with a collector that really hangs, signals, and bad input.

mod common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use common::exposition::{self, collector_success, scraped_collectors};
use common::flood::{affordable, IdleFlood};
use common::http::{self, Response};
use common::{eventually, run_to_exit, Agent, HungTree, FIXTURE_TREE, LOOPBACK_ANY_PORT};

const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

/// What Prometheus asks for with native histograms or `scrape_protocols`
/// preferring `PrometheusProto`.
const PROTOBUF_FIRST: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// Only the collector that [`HungTree`] makes hang, so that thread counts
/// reflect its runs alone.
const ONLY_LOADAVG: &[&str] = &["--collector.disable-defaults", "--collector.loadavg"];

/// A valid `/proc/loadavg`, handed to a collector when its FIFO is released.
const LOADAVG: &str = "0.25 0.50 0.75 1/100 4242\n";

/// Asks Prometheus's way for a scrape that must be answered within 1 s.
const ONE_SECOND_SCRAPE: (&str, &str) = ("X-Prometheus-Scrape-Timeout-Seconds", "1");

/// Scrapes started before one wins the request slot from the probes.
const SLOT_ATTEMPTS: usize = 20;

/// Bound for anything that should happen at once (not a speed claim).
const SOON: Duration = Duration::from_secs(10);

fn fixture_agent(extra: &[&str]) -> Agent {
    let args: Vec<&str> = FIXTURE_TREE.iter().chain(extra).copied().collect();
    Agent::start(&args)
}

/// The agent on a copy of the fixture tree whose `proc/loadavg` is a FIFO.
/// It never becomes ready (`loadavg` is not a regular file), so only its
/// listening is waited for.
fn hung_agent(tree: &HungTree, extra: &[&str]) -> Agent {
    let mut args = tree.args();
    args.extend(ONLY_LOADAVG.iter().chain(extra).map(|s| s.to_string()));
    Agent::start_listening(&args, &[])
}

fn enabled_by_default() -> Vec<&'static str> {
    hostwatch::collectors::registry::ALL
        .iter()
        .filter(|spec| spec.default_enabled)
        .map(|spec| spec.name)
        .collect()
}

/// Starts a scrape in `scope` and returns once it holds the single request
/// slot of `--web.max-requests=1`. A probe naming an unknown collector tells:
/// with the slot free it is refused with 400 (starting no scrape), with the
/// slot taken it gets 503. A scrape that arrived while a probe held the slot
/// got 503 itself and is retried.
fn scrape_holding_the_slot<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    port: u16,
) -> ScopedJoinHandle<'scope, io::Result<Response>> {
    let probe = || {
        http::request(
            port,
            "GET",
            "/metrics?collect[]=probe-no-such-collector",
            &[],
        )
        .is_ok_and(|r| r.status == 503)
    };
    for _ in 0..SLOT_ATTEMPTS {
        let scrape = scope.spawn(move || http::request(port, "GET", "/metrics", &[]));
        assert!(
            eventually(SOON, || probe() || scrape.is_finished()),
            "the scrape neither took the request slot nor ended"
        );
        if !scrape.is_finished() {
            return scrape;
        }
        let lost = scrape.join().expect("the scrape's thread");
        assert_eq!(
            lost.expect("the scrape").status,
            503,
            "the scrape ended early"
        );
    }
    panic!("no scrape took the request slot in {SLOT_ATTEMPTS} attempts");
}

#[test]
fn no_accept_header_gets_text_format() {
    let agent = fixture_agent(&[]);
    let response = agent.get("/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(TEXT_CONTENT_TYPE));
    let text = response.text();
    assert!(
        text.contains("# TYPE node_load1 gauge\nnode_load1 "),
        "{text}"
    );
    assert!(!text.contains("# EOF"));
}

#[test]
fn prometheus_accept_header_gets_text_as_from_node_exporter() {
    let agent = fixture_agent(&[]);
    let response = agent.request("GET", "/metrics", &[("Accept", common::PROMETHEUS_ACCEPT)]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(TEXT_CONTENT_TYPE));
    assert!(!response.text().contains("# EOF"));
    // Prometheus 3 allows UTF-8 names: the answer says it was taken up.
    let v3 = agent.request(
        "GET",
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        )],
    );
    assert_eq!(
        v3.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8")
    );
    assert_eq!(
        exposition::series(&v3.text()).len(),
        exposition::series(&response.text()).len()
    );
    // Every scheme is named back; legacy names, all the collectors give,
    // are written the same under each.
    for scheme in ["underscores", "dots", "values", "allow-utf-8"] {
        let accept = format!("text/plain;version=0.0.4;escaping={scheme}");
        let answer = agent.request("GET", "/metrics?collect[]=loadavg", &[("Accept", &accept)]);
        assert_eq!(
            answer.header("content-type").map(str::to_string),
            Some(format!(
                "text/plain; version=0.0.4; charset=utf-8; escaping={scheme}"
            ))
        );
        assert!(answer.text().contains("\nnode_load1 "), "{scheme}");
    }
}

#[test]
fn openmetrics_when_enabled_and_preferred() {
    let agent = fixture_agent(&["--web.enable-openmetrics"]);
    let response = agent.request("GET", "/metrics", &[("Accept", common::PROMETHEUS_ACCEPT)]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores")
    );
    let text = response.text();
    assert!(text.ends_with("\n# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1);

    let old = agent.request(
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=0.0.1")],
    );
    assert_eq!(
        old.header("content-type"),
        Some("application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores")
    );
    assert!(old.text().ends_with("\n# EOF\n"));
    assert_eq!(
        agent.get("/metrics").header("content-type"),
        Some(TEXT_CONTENT_TYPE)
    );
}

#[test]
fn protobuf_when_asked_first_and_gzipped_when_accepted() {
    let agent = fixture_agent(&[]);
    let response = agent.request("GET", "/metrics", &[("Accept", PROTOBUF_FIRST)]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8")
    );
    // Delimited messages: a varint length, then the family's name field.
    let body = &response.body;
    let length_bytes = body.iter().position(|&b| b < 0x80).unwrap() + 1;
    assert!(
        body.len() > 1000 && body[length_bytes] == 0x0a,
        "{:?}",
        &body[..16]
    );
    let compressed = agent.request(
        "GET",
        "/metrics",
        &[("Accept", PROTOBUF_FIRST), ("Accept-Encoding", "gzip")],
    );
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert_eq!(&compressed.decoded_body()[..2], &body[..2]);
}

#[test]
fn name_filter_keeps_the_named_families() {
    let agent = fixture_agent(&[]);
    let text = agent
        .get("/metrics?name[]=node_load1&name%5B%5D=node_load15&name[]=no_such_metric")
        .text();
    assert_eq!(
        exposition::series(&text).into_iter().collect::<Vec<_>>(),
        vec!["node_load1", "node_load15"],
        "{text}"
    );
    // With collect[]: both apply.
    let text = agent
        .get("/metrics?collect[]=meminfo&name[]=node_load1&name[]=node_memory_MemTotal_bytes")
        .text();
    assert!(text.contains("\nnode_memory_MemTotal_bytes "), "{text}");
    assert!(!text.contains("node_load1"), "{text}");
    // An empty name matches no family; the answer is still 200.
    let empty = agent.get("/metrics?name[]=");
    assert_eq!(empty.status, 200);
    assert!(empty.body.is_empty(), "{}", empty.text());
}

#[test]
fn gzip_when_accepted_with_the_same_series() {
    let agent = fixture_agent(&[]);
    let plain = agent.get("/metrics");
    assert_eq!(plain.header("content-encoding"), None);

    let compressed = agent.request("GET", "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(compressed.status, 200);
    assert_eq!(compressed.header("content-encoding"), Some("gzip"));
    assert!(
        compressed.body.starts_with(&[0x1f, 0x8b]),
        "the raw body is gzip"
    );
    assert_eq!(compressed.header("content-type"), Some(TEXT_CONTENT_TYPE));
    assert_eq!(
        exposition::series(&compressed.text()),
        exposition::series(&plain.text())
    );

    let refused = agent.request("GET", "/metrics", &[("Accept-Encoding", "gzip;q=0")]);
    assert_eq!(refused.header("content-encoding"), None);
}

#[test]
fn head_on_metrics_has_headers_and_no_body() {
    let agent = fixture_agent(&[]);
    let response = agent.request("HEAD", "/metrics", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(TEXT_CONTENT_TYPE));
    assert!(response.body.is_empty(), "{:?}", response.body);
}

#[test]
fn collect_selects_a_subset() {
    let agent = fixture_agent(&[]);
    let text = agent.get("/metrics?collect[]=loadavg").text();
    assert_eq!(
        scraped_collectors(&text).into_iter().collect::<Vec<_>>(),
        vec!["loadavg"]
    );
    assert!(text.contains("\nnode_load1 "), "{text}");

    // Repeated and percent-encoded names select the same.
    let again = agent
        .get("/metrics?collect%5B%5D=loadavg&collect[]=loadavg")
        .text();
    assert_eq!(
        scraped_collectors(&again).into_iter().collect::<Vec<_>>(),
        vec!["loadavg"]
    );
}

#[test]
fn exclude_removes_collectors_and_ignores_unknown_names() {
    let agent = fixture_agent(&[]);
    let all = scraped_collectors(&agent.scrape_text());
    assert_eq!(
        all.iter().map(String::as_str).collect::<Vec<_>>(),
        enabled_by_default()
    );

    let text = agent.get("/metrics?exclude[]=loadavg").text();
    let mut expected = all.clone();
    expected.remove("loadavg");
    assert_eq!(scraped_collectors(&text), expected);
    assert!(!text.contains("node_load1"), "{text}");

    let response = agent.get("/metrics?exclude[]=no-such-collector");
    assert_eq!(response.status, 200);
    assert_eq!(scraped_collectors(&response.text()), all);
}

/// Checks that `target` is refused with 400 and a body containing `reason`.
fn assert_bad_request(agent: &Agent, target: &str, reason: &str) {
    let response = agent.get(target);
    assert_eq!(response.status, 400, "{target}");
    let body = response.text();
    assert!(body.contains(reason), "{target}: {body}");
}

#[test]
fn collect_of_unknown_collector_is_400_naming_it() {
    let agent = fixture_agent(&[]);
    assert_bad_request(
        &agent,
        "/metrics?collect[]=loadavg&collect[]=nosuchthing",
        "nosuchthing",
    );
}

#[test]
fn collect_and_exclude_together_are_400() {
    let agent = fixture_agent(&[]);
    assert_bad_request(
        &agent,
        "/metrics?collect[]=loadavg&exclude[]=loadavg",
        "collect and exclude",
    );
}

#[test]
fn disabled_collector_is_refused_and_not_listed() {
    let agent = fixture_agent(&["--no-collector.loadavg"]);
    assert_bad_request(
        &agent,
        "/metrics?collect[]=loadavg",
        "disabled collector: loadavg",
    );
    assert!(!agent.get("/").text().contains(">loadavg<"));
    assert!(!agent.scrape_text().contains("node_load1"));
}

#[test]
fn unknown_paths_are_404() {
    let agent = fixture_agent(&[]);
    for path in ["/nope", "/metricsx", "/metrics/more", "/-/other"] {
        assert_eq!(agent.get(path).status, 404, "{path}");
    }
}

#[test]
fn other_methods_are_405_with_allow() {
    let agent = fixture_agent(&[]);
    for path in ["/metrics", "/", "/-/healthy", "/-/ready"] {
        for method in ["POST", "PUT", "DELETE"] {
            let response = agent.request(method, path, &[("Content-Length", "0")]);
            assert_eq!(response.status, 405, "{method} {path}");
            let allow = response.header("allow").unwrap_or_default();
            assert!(
                allow.contains("GET") && allow.contains("HEAD"),
                "{method} {path}: Allow {allow:?}"
            );
        }
    }
}

#[test]
fn landing_page_lists_enabled_collectors() {
    let agent = fixture_agent(&[]);
    let response = agent.get("/");
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let page = response.text();
    assert!(page.contains("href=\"/metrics\""), "{page}");
    for name in enabled_by_default() {
        assert!(
            page.contains(&format!(">{name}<")),
            "{name} missing:\n{page}"
        );
    }
}

#[test]
fn telemetry_path_moves_the_metrics() {
    let agent = fixture_agent(&["--web.telemetry-path=/custom/metrics"]);
    let response = agent.get("/custom/metrics");
    assert_eq!(response.status, 200);
    assert!(response.text().contains("\nnode_load1 "));
    assert_eq!(agent.get("/metrics").status, 404);
    assert!(agent.get("/").text().contains("href=\"/custom/metrics\""));
}

#[test]
fn any_telemetry_path_is_served_as_written() {
    // Router pattern syntax, and the paths of the fixed pages: the metrics
    // are served at the path as written, and nothing else takes it.
    for path in ["/-/ready", "/*rest", "/:x", "/{x}", "/"] {
        let flag = format!("--web.telemetry-path={path}");
        let args: Vec<&str> = ONLY_LOADAVG
            .iter()
            .copied()
            .chain([flag.as_str()])
            .collect();
        let agent = fixture_agent(&args);
        let response = agent.get(path);
        assert_eq!(response.status, 200, "{path}");
        assert!(response.text().contains("\nnode_load1 "), "{path}");
        assert_eq!(agent.get("/other").status, 404, "{path} is no pattern");
        assert_eq!(agent.request("POST", path, &[]).status, 405, "{path}");
    }
}

#[test]
fn health_and_readiness_are_200() {
    let agent = fixture_agent(&[]);
    for path in ["/-/healthy", "/-/ready"] {
        let response = agent.get(path);
        assert_eq!(response.status, 200, "{path}");
        assert!(!response.body.is_empty());
    }
}

#[test]
fn readiness_refuses_roots_that_are_not_procfs_and_sysfs_and_logs_each_change_once() {
    let empty = tempfile::tempdir().expect("a temporary directory");
    let empty_dir = empty.path().display().to_string();
    let cases = [
        (
            format!("--path.procfs={empty_dir}"),
            "--path.sysfs=/sys".to_string(),
            "--path.procfs",
        ),
        (
            "--path.procfs=/proc".to_string(),
            format!("--path.sysfs={empty_dir}"),
            "--path.sysfs",
        ),
        (
            "--path.procfs=/nonexistent/proc".to_string(),
            "--path.sysfs=/nonexistent/sys".to_string(),
            "--path.procfs /nonexistent/proc",
        ),
    ];
    for (procfs, sysfs, named) in cases {
        let args = [
            procfs.as_str(),
            sysfs.as_str(),
            ONLY_LOADAVG[0],
            ONLY_LOADAVG[1],
        ];
        let mut agent = Agent::start_listening(&args, &[]);
        for _ in 0..3 {
            let response = agent.get("/-/ready");
            assert_eq!(response.status, 503, "{args:?}");
            let body = response.text();
            assert!(body.starts_with("Not ready: "), "{body}");
            assert!(body.contains(named), "{args:?}: {body}");
            assert_eq!(body.lines().count(), 1, "{body}");
        }
        assert_eq!(agent.get("/-/healthy").status, 200, "alive, if not ready");
        // Log lines are written off the serving threads: stopping the agent
        // flushes them all before they are counted.
        agent.stop();
        let not_ready = agent
            .log_lines()
            .iter()
            .filter(|l| l.contains("level=WARN") && l.contains("not ready"))
            .count();
        assert_eq!(
            not_ready,
            1,
            "logged once, not per probe:\n{}",
            agent.stderr()
        );
    }
}

#[test]
fn readiness_holds_on_this_hosts_roots_and_on_the_fixture_tree() {
    for args in [
        vec!["--path.procfs=/proc", "--path.sysfs=/sys"],
        FIXTURE_TREE.to_vec(),
    ] {
        let mut args = args;
        args.extend(ONLY_LOADAVG);
        let agent = Agent::start(&args);
        let response = agent.get("/-/ready");
        assert_eq!(response.status, 200, "{args:?}");
        assert_eq!(response.text(), "Ready\n");
        let ready = agent
            .log_lines()
            .iter()
            .filter(|l| l.contains("ready: the host's roots can be read"))
            .count();
        assert_eq!(ready, 1, "{}", agent.stderr());
    }
}

#[test]
fn readiness_answers_at_once_when_a_core_file_would_block() {
    // loadavg is a FIFO nobody writes to: reading it would block forever.
    let tree = HungTree::new("loadavg");
    let agent = hung_agent(&tree, &[]);
    let started = Instant::now();
    let response = agent.get("/-/ready");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status, 503);
    assert!(
        response.text().contains("loadavg: not a regular file"),
        "{}",
        response.text()
    );
}

#[test]
fn start_up_logs_one_line_naming_the_failing_collectors() {
    let args = [
        "--path.procfs=/nonexistent/proc",
        "--path.sysfs=tests/fixtures/sys",
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.meminfo",
        "--collector.uname",
    ];
    let agent = Agent::start_listening(&args, &[]);
    let summary = |agent: &Agent| {
        agent
            .log_lines()
            .into_iter()
            .filter(|l| l.contains("enabled collectors fail on this host"))
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(SOON, || !summary(&agent).is_empty()),
        "no summary line:\n{}",
        agent.stderr()
    );
    let lines = summary(&agent);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains("level=WARN"), "{line}");
    assert!(line.contains("2 of 3 enabled collectors"), "{line}");
    assert!(
        line.contains("loadavg: reading /nonexistent/proc/loadavg"),
        "{line}"
    );
    assert!(line.contains("meminfo: "), "{line}");
    assert!(!line.contains("uname:"), "{line}");

    // The next scrape does not log the same failures again one by one.
    agent.scrape_text();
    let repeated = agent
        .log_lines()
        .iter()
        .filter(|l| l.contains("collector failed") && l.contains("level=WARN"))
        .count();
    assert_eq!(repeated, 0, "{}", agent.stderr());
}

#[test]
fn request_over_the_limit_gets_503_with_the_reason() {
    let tree = HungTree::new("loadavg");
    let mut agent = hung_agent(&tree, &["--web.max-requests=1", "--scrape.timeout=60s"]);
    thread::scope(|scope| {
        let first = scrape_holding_the_slot(scope, agent.port());

        let second = agent.get("/metrics");
        assert_eq!(second.status, 503);
        assert!(
            second
                .text()
                .contains("Limit of concurrent requests reached (1), try again later."),
            "{}",
            second.text()
        );

        assert!(tree.release(LOADAVG), "loadavg was not blocked on the FIFO");
        let first = first
            .join()
            .expect("the first scrape's thread")
            .expect("the first scrape");
        assert_eq!(first.status, 200);
        assert_eq!(collector_success(&first.text(), "loadavg"), Some(1.0));
    });
    let status = agent.stop();
    assert!(status.success(), "{status}; stderr:\n{}", agent.stderr());
}

#[test]
fn scrape_timeout_header_bounds_a_hung_collector_which_runs_once() {
    let tree = HungTree::new("loadavg");
    let mut agent = hung_agent(&tree, &[]);

    let started = Instant::now();
    let first = agent.request("GET", "/metrics", &[ONE_SECOND_SCRAPE]);
    let waited = started.elapsed();
    assert_eq!(first.status, 200);
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    let text = first.text();
    assert_eq!(collector_success(&text, "loadavg"), Some(0.0), "{text}");
    assert!(!text.contains("node_load1"));

    // Single flight: later scrapes wait for the stuck run instead of adding
    // a thread each.
    let threads = agent.thread_count();
    for _ in 0..5 {
        let again = agent.request("GET", "/metrics", &[ONE_SECOND_SCRAPE]);
        assert_eq!(again.status, 200);
        assert_eq!(collector_success(&again.text(), "loadavg"), Some(0.0));
    }
    let threads_after = agent.thread_count();
    assert!(
        threads_after <= threads,
        "threads grew from {threads} to {threads_after} over five scrapes"
    );

    assert!(tree.release(LOADAVG), "loadavg was not blocked on the FIFO");
    let recovered = eventually(SOON, || {
        let text = agent.scrape_text();
        collector_success(&text, "loadavg") == Some(1.0)
    });
    assert!(
        recovered,
        "loadavg did not recover once its file was readable"
    );
    assert!(agent.scrape_text().contains("\nnode_load5 0.5\n"));

    let status = agent.stop();
    assert!(status.success(), "{status}; stderr:\n{}", agent.stderr());
}

fn assert_signal_exits_cleanly(signal: libc::c_int) {
    let mut agent = fixture_agent(&[]);
    agent.scrape_text();
    agent.signal(signal);
    let status = agent.wait_exit(Duration::from_secs(2));
    let status = status.unwrap_or_else(|| panic!("still running 2 s after signal {signal}"));
    assert_eq!(status.code(), Some(0), "stderr:\n{}", agent.stderr());
}

#[test]
fn sigterm_when_idle_exits_0() {
    assert_signal_exits_cleanly(libc::SIGTERM);
}

#[test]
fn sigint_when_idle_exits_0() {
    assert_signal_exits_cleanly(libc::SIGINT);
}

#[test]
fn sigterm_with_an_idle_keep_alive_connection_exits_0() {
    let mut agent = fixture_agent(&[]);
    // As Prometheus does: one scrape, then the connection stays open.
    let mut connection = TcpStream::connect(("127.0.0.1", agent.port())).expect("connecting");
    connection
        .set_read_timeout(Some(SOON))
        .expect("setting a read timeout");
    connection
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("sending a keep-alive request");
    let mut first_bytes = [0u8; 12];
    connection
        .read_exact(&mut first_bytes)
        .expect("reading the response");
    assert_eq!(&first_bytes, b"HTTP/1.1 200");

    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(2))
        .unwrap_or_else(|| panic!("still running 2 s after SIGTERM"));
    assert_eq!(status.code(), Some(0), "stderr:\n{}", agent.stderr());
}

#[test]
fn sigterm_during_a_hung_scrape_exits_0() {
    let tree = HungTree::new("loadavg");
    let mut agent = hung_agent(&tree, &["--web.max-requests=1", "--scrape.timeout=60s"]);
    // The collector's run is stuck on the FIFO ...
    let timed_out = agent.request("GET", "/metrics", &[ONE_SECOND_SCRAPE]);
    assert_eq!(collector_success(&timed_out.text(), "loadavg"), Some(0.0));
    thread::scope(|scope| {
        // ... and a request waits on it when the signal comes.
        let hung = scrape_holding_the_slot(scope, agent.port());
        agent.signal(libc::SIGTERM);
        let status = agent
            .wait_exit(Duration::from_secs(2))
            .unwrap_or_else(|| panic!("still running 2 s after SIGTERM"));
        assert_eq!(status.code(), Some(0), "stderr:\n{}", agent.stderr());
        // The request ends with the process, answered or cut.
        let _ = hung.join().expect("the hung request's thread");
    });
}

/// Scrapes that keep the agent busy while a signal comes.
const LOADERS: usize = 4;
/// Upper bound of each loader's scrapes.
const LOAD_SCRAPES: usize = 500;

#[test]
fn sigterm_during_an_in_flight_scrape_under_load_finishes_it_and_exits_0() {
    let tree = HungTree::new("loadavg");
    let mut args = tree.args();
    args.push("--scrape.timeout=60s".to_string());
    let mut agent = Agent::start_listening(&args, &[]);
    let port = agent.port();
    let stopped = AtomicBool::new(false);
    thread::scope(|scope| {
        let loaders: Vec<_> = (0..LOADERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut statuses = Vec::new();
                    while statuses.len() < LOAD_SCRAPES && !stopped.load(Ordering::Relaxed) {
                        match http::request(port, "GET", "/metrics?exclude[]=loadavg", &[]) {
                            Ok(response) => statuses.push(response.status),
                            // Refused or cut once the agent is gone.
                            Err(_) => break,
                        }
                    }
                    statuses
                })
            })
            .collect();
        // One scrape is surely in flight: its loadavg read waits on the FIFO.
        let in_flight = scope.spawn(|| http::request(port, "GET", "/metrics", &[]));
        let blocked = tree.wait_for_reader();
        assert!(blocked.is_some(), "loadavg did not block on the FIFO");
        agent.signal(libc::SIGTERM);
        let signalled = Instant::now();
        tree.hand_over(blocked, LOADAVG);

        let response = in_flight
            .join()
            .expect("the in-flight scrape's thread")
            .expect("the in-flight scrape is answered");
        assert_eq!(response.status, 200);
        let text = response.text();
        assert_eq!(collector_success(&text, "loadavg"), Some(1.0), "{text}");
        assert!(text.contains("\nnode_load1 0.25\n"), "{text}");
        let status = agent
            .wait_exit(Duration::from_secs(2).saturating_sub(signalled.elapsed()))
            .unwrap_or_else(|| panic!("still running 2 s after SIGTERM"));
        assert_eq!(status.code(), Some(0), "stderr:\n{}", agent.stderr());
        stopped.store(true, Ordering::Relaxed);
        for loader in loaders {
            let statuses = loader.join().expect("a loader's thread");
            assert!(
                statuses.iter().all(|&s| s == 200),
                "a scrape under load was not answered 200: {statuses:?}"
            );
        }
    });
}

#[test]
fn missing_procfs_fails_the_collector_and_warns_once() {
    // Never ready: only its listening is waited for, then its start-up
    // summary of the failing collectors.
    let mut agent = Agent::start_listening(
        &[
            "--path.procfs=tests/fixtures/no-such-proc",
            "--path.sysfs=tests/fixtures/sys",
            "--path.rootfs=tests/fixtures/root",
            "--path.udev.data=tests/fixtures/udev",
        ],
        &[],
    );
    let summary = |agent: &Agent| {
        agent
            .log_lines()
            .into_iter()
            .filter(|l| l.contains("level=WARN") && l.contains("enabled collectors fail"))
            .count()
    };
    assert!(
        eventually(SOON, || summary(&agent) == 1),
        "{}",
        agent.stderr()
    );
    for _ in 0..2 {
        let text = agent.scrape_text();
        assert_eq!(collector_success(&text, "loadavg"), Some(0.0), "{text}");
    }
    let status = agent.stop();
    assert!(status.success());
    let log = agent.log_lines();
    assert!(
        log.iter()
            .any(|l| l.contains("level=WARN") && l.contains("--path.procfs")),
        "no start-up warning about --path.procfs:\n{}",
        log.join("\n")
    );
    let loadavg_warnings = log
        .iter()
        .filter(|l| {
            l.contains("level=WARN")
                && (l.contains("collector=loadavg") || l.contains("loadavg: reading"))
        })
        .count();
    assert_eq!(
        loadavg_warnings,
        1,
        "in the start-up summary only:\n{}",
        log.join("\n")
    );
}

/// Visible collector flags that by node_exporter's naming take a regular
/// expression.
fn regex_flags() -> Vec<String> {
    const REGEX_NAME_PARTS: &[&str] = &[
        "include",
        "exclude",
        "ignored",
        "fields",
        "whitelist",
        "blacklist",
    ];
    hostwatch::cli::command()
        .get_arguments()
        .filter(|arg| !arg.is_hide_set() && arg.get_action().takes_values())
        .filter_map(|arg| arg.get_long())
        .filter(|name| name.starts_with("collector."))
        // Parameter names, not regular expressions.
        .filter(|name| !name.starts_with("collector.sysctl."))
        .filter(|name| REGEX_NAME_PARTS.iter().any(|part| name.contains(part)))
        .map(str::to_string)
        .collect()
}

fn assert_refused(flag: &str, names: &str) {
    let exited = run_to_exit(&[LOOPBACK_ANY_PORT, flag]);
    assert!(!exited.status.success(), "{flag} was accepted");
    assert!(
        exited.stderr.contains(names),
        "{flag}: stderr does not name {names}:\n{}",
        exited.stderr
    );
    assert!(
        !exited.stderr.contains(" listen="),
        "{flag}: the agent started listening:\n{}",
        exited.stderr
    );
}

#[test]
fn bad_flag_values_stop_start_up_naming_the_flag() {
    assert_refused("--collector.nosuch", "--collector.nosuch");
    assert_refused("--web.max-requests=x", "--web.max-requests");
    assert_refused("--scrape.timeout=soon", "--scrape.timeout");
    assert_refused(
        "--collector.sysctl.include=net.ipv4.tcp_rmem:min,,max",
        "--collector.sysctl.include",
    );
    for flag in regex_flags() {
        assert_refused(&format!("--{flag}=(unclosed"), &format!("--{flag}"));
    }
    let exited = run_to_exit(&["--web.listen-address=nonsense"]);
    assert!(!exited.status.success());
    assert!(
        exited.stderr.contains("--web.listen-address"),
        "{}",
        exited.stderr
    );
    assert!(!exited.stderr.contains(" listen="), "{}", exited.stderr);
}

#[test]
fn port_in_use_stops_start_up_with_a_clear_message() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let address = taken.local_addr().expect("its address");
    let exited = run_to_exit(&[format!("--web.listen-address={address}")]);
    assert!(!exited.status.success(), "started on a taken port");
    assert!(
        exited
            .stderr
            .contains("cannot listen on --web.listen-address")
            && exited.stderr.contains(&address.to_string())
            && exited.stderr.contains("in use"),
        "{}",
        exited.stderr
    );
}

#[test]
fn help_and_version_exit_0() {
    for flag in ["--help", "--version"] {
        let exited = run_to_exit(&[flag]);
        assert!(exited.status.success(), "{flag}: {}", exited.stderr);
    }
}

#[test]
fn a_standard_error_nobody_reads_never_holds_the_agent() {
    let port = {
        let free = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        free.local_addr().expect("its address").port()
    };
    // Debug logging with every collector failing (no procfs) writes some
    // kilobytes a scrape into a pipe nobody reads: it fills within a few
    // dozen scrapes.
    let mut child = std::process::Command::new(common::BINARY)
        .current_dir(common::crate_root())
        .args([
            &format!("--web.listen-address=127.0.0.1:{port}"),
            "--path.procfs=/nonexistent/proc",
            "--path.sysfs=/nonexistent/sys",
            "--log.level=debug",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting the agent");
    assert!(
        eventually(SOON, || http::request(port, "GET", "/-/healthy", &[])
            .is_ok_and(|r| r.status == 200)),
        "the agent never answered"
    );
    for scrape in 0..200 {
        let started = Instant::now();
        let response = http::request(port, "GET", "/metrics", &[]).expect("scraping");
        assert_eq!(response.status, 200, "scrape {scrape}");
        assert!(
            started.elapsed() < SOON,
            "scrape {scrape} waited for the log"
        );
    }
    assert_eq!(
        http::request(port, "GET", "/-/healthy", &[])
            .map(|r| r.status)
            .ok(),
        Some(200)
    );

    // Reading again, the log says what it dropped.
    let mut stderr = child.stderr.take().expect("the agent's stderr");
    let (lines, reader) = {
        let (sender, lines) = std::sync::mpsc::channel();
        let reader = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = sender.send(text);
        });
        (lines, reader)
    };
    // A fresh scrape logs again, which reports the lines dropped before.
    let _ = http::request(port, "GET", "/metrics", &[]);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the agent") {
            break status;
        }
        assert!(started.elapsed() < SOON, "SIGTERM did not end the agent");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let text = lines.recv_timeout(SOON).expect("the log");
    reader.join().expect("the reader");
    assert!(
        text.contains("log lines dropped: standard error was not being read"),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
}

#[test]
fn a_series_given_twice_is_exposed_once_and_logged() {
    let textfiles = tempfile::tempdir().expect("a textfile directory");
    // The agent's own process_open_fds, and a cpu series the cpu collector
    // gives from the fixture, besides a series of that name it does not.
    std::fs::write(
        textfiles.path().join("repeats.prom"),
        "# HELP process_open_fds Number of open file descriptors.\n\
         # TYPE process_open_fds gauge\n\
         process_open_fds 99999\n\
         # HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n\
         # TYPE node_cpu_seconds_total counter\n\
         node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 99999\n\
         node_cpu_seconds_total{cpu=\"0\",mode=\"from_textfile\"} 7\n",
    )
    .expect("writing the textfile");
    let directory = format!(
        "--collector.textfile.directory={}",
        textfiles.path().display()
    );
    let mut agent = fixture_agent(&[&directory]);
    let text = agent.scrape_text();
    let user = "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}";
    let from_textfile = "node_cpu_seconds_total{cpu=\"0\",mode=\"from_textfile\"}";
    for series in ["process_open_fds", user, from_textfile] {
        let written = exposition::samples(&text)
            .iter()
            .filter(|s| s.series == series)
            .count();
        assert_eq!(written, 1, "{series}:\n{text}");
    }
    // The collectors' own values win: they sort before the textfile's.
    assert_ne!(exposition::value(&text, "process_open_fds"), Some(99999.0));
    assert_ne!(exposition::value(&text, user), Some(99999.0));
    assert_eq!(exposition::value(&text, from_textfile), Some(7.0));
    assert_eq!(collector_success(&text, "textfile"), Some(1.0));
    assert_eq!(
        exposition::value(&text, "node_textfile_scrape_error"),
        Some(0.0)
    );
    agent.stop();
    let log = agent.log_lines();
    for metric in ["process_open_fds", "node_cpu_seconds_total"] {
        assert!(
            log.iter().any(|l| l.contains("level=WARN")
                && l.contains("dropping series")
                && l.contains(&format!("metric={metric}"))),
            "no warning for {metric}:\n{}",
            log.join("\n")
        );
    }
}

#[test]
fn idle_connections_never_starve_scrapes() {
    let mut agent = fixture_agent(&[]);
    // Two other hosts holding more connections than every bound, and the
    // scrapers' own address some idle ones. (A flood from the scraper's own
    // address is told from it only by its silence: see the unit tests of
    // the connection table.)
    let elsewhere = IdleFlood::start(agent.port(), "127.0.0.2".parse().unwrap(), affordable(1500));
    let alongside = IdleFlood::start(agent.port(), "127.0.0.3".parse().unwrap(), affordable(300));
    let own = IdleFlood::start(agent.port(), "127.0.0.1".parse().unwrap(), 32);
    for scrape in 0..30 {
        let started = Instant::now();
        let response = http::request(agent.port(), "GET", "/metrics", &[])
            .unwrap_or_else(|e| panic!("scrape {scrape}: {e}"));
        assert_eq!(response.status, 200, "scrape {scrape}");
        assert!(response.text().contains("\nnode_load1 "));
        assert!(started.elapsed() < SOON, "scrape {scrape} waited");
    }
    let (elsewhere, alongside) = (elsewhere.stop(), alongside.stop());
    own.stop();
    assert!(
        elsewhere.closed_by_agent > 0 && alongside.closed_by_agent > 0,
        "the floods were never pushed out: {elsewhere:?} {alongside:?}"
    );
    agent.stop();
    assert!(
        agent
            .log_lines()
            .iter()
            .any(|l| l.contains("level=WARN") && l.contains("to make room for new ones")),
        "{}",
        agent.stderr()
    );
}

#[test]
fn a_request_head_sent_too_slowly_is_cut_off_while_scrapes_go_on() {
    let agent = fixture_agent(&[]);
    let mut slow = http::connect(agent.port()).expect("connecting");
    let started = Instant::now();
    let head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut cut_off = None;
    // One byte every 200 ms: the head would take minutes to finish.
    for byte in head.iter().cycle().take(200) {
        if slow.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        if started.elapsed().as_secs().is_multiple_of(3) {
            assert_eq!(agent.get("/-/healthy").status, 200);
        }
        thread::sleep(Duration::from_millis(200));
    }
    let cut_off = cut_off.expect("the slow connection was never closed");
    assert!(
        cut_off >= Duration::from_secs(9) && cut_off < Duration::from_secs(20),
        "closed after {cut_off:?}"
    );
}

#[test]
fn clients_resetting_mid_response_leave_the_agent_serving() {
    let agent = fixture_agent(&[]);
    for _ in 0..50 {
        let mut stream = http::connect(agent.port()).expect("connecting");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("sending the request");
        let mut first = [0u8; 64];
        let _ = stream.read(&mut first);
        // SO_LINGER 0: close() sends a reset instead of a FIN.
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .expect("setting SO_LINGER");
        drop(stream);
    }
    let text = agent.scrape_text();
    assert!(text.contains("\nnode_load1 "));
    assert_eq!(agent.get("/-/healthy").status, 200);
}

#[test]
fn hostile_textfiles_and_a_huge_mountinfo_never_hold_a_scrape() {
    let tree = tempfile::tempdir().expect("a temporary directory");
    common::copy_tree(&common::crate_root().join("tests/fixtures"), tree.path())
        .expect("copying the fixture tree");
    let root = tree.path();
    // A container host's mount table: 50,000 overlay and nsfs mounts.
    let mut mountinfo = std::fs::read_to_string(root.join("proc/1/mountinfo")).unwrap();
    for i in 0..50_000 {
        let (fs, source) = if i % 2 == 0 {
            ("overlay", "overlay")
        } else {
            ("nsfs", "nsfs")
        };
        mountinfo.push_str(&format!(
            "{} 22 0:{} / /run/containers/{i}/rootfs rw,relatime - {fs} {source} rw\n",
            1000 + i,
            100 + i % 900
        ));
    }
    std::fs::write(root.join("proc/1/mountinfo"), mountinfo).unwrap();
    // Textfiles that are not regular files.
    let textfiles = root.join("textfile");
    let fifo = std::ffi::CString::new(
        textfiles
            .join("fifo.prom")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid NUL-terminated path and a plain mode.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("loop.prom", textfiles.join("loop.prom")).unwrap();
    std::fs::create_dir(textfiles.join("directory.prom")).unwrap();
    std::fs::write(textfiles.join("good.prom"), "hostile_tree_good 1\n").unwrap();

    let args = [
        format!("--path.procfs={}/proc", root.display()),
        format!("--path.sysfs={}/sys", root.display()),
        format!("--path.rootfs={}/root", root.display()),
        format!("--path.udev.data={}/udev", root.display()),
        format!("--collector.textfile.directory={}", textfiles.display()),
    ];
    let agent = Agent::start(&args);
    for _ in 0..3 {
        let started = Instant::now();
        let response = agent.request(
            "GET",
            "/metrics",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "5")],
        );
        assert_eq!(response.status, 200);
        assert!(
            started.elapsed() < SOON,
            "the scrape took {:?}",
            started.elapsed()
        );
        let text = response.text();
        assert_eq!(
            exposition::value(&text, "hostile_tree_good"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(collector_success(&text, "filesystem"), Some(1.0));
        assert_eq!(collector_success(&text, "textfile"), Some(1.0));
    }
    assert_eq!(agent.get("/-/healthy").status, 200);
}
