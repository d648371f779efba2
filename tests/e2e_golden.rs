//! End to end: the real binary on the fixture host tree with every collector
//! enabled, scraped in both text formats (OpenMetrics with
//! `--web.enable-openmetrics`) and compared with the golden files
//! `tests/golden/e2e.txt` and `tests/golden/e2e.openmetrics.txt`.
//!
//! Values and labels that legitimately differ between runs or machines are
//! replaced by a placeholder, so the set of series is still compared.
//! Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test e2e_golden`.

mod common;

use common::exposition::{self, Sample};
use common::fixture_run::{self, golden_collectors};
use common::{golden, PROMETHEUS_ACCEPT};

/// How to rewrite the golden files.
const REGENERATE: &str = "UPDATE_GOLDEN=1 cargo test --test e2e_golden";

/// What replaces a volatile value or label value.
const PLACEHOLDER: &str = "<varies>";

/// A metric whose value or some label values vary between runs or machines.
struct Volatile {
    /// The sample's metric name, or a prefix followed by `*`.
    metric: &'static str,
    /// Label values to replace.
    labels: &'static [&'static str],
    /// Whether the sample value is replaced.
    value: bool,
}

const VOLATILE: &[Volatile] = &[
    // The agent's own process: CPU time, memory, descriptors, start time.
    Volatile {
        metric: "process_*",
        labels: &[],
        value: true,
    },
    Volatile {
        metric: "node_scrape_collector_duration_seconds",
        labels: &[],
        value: true,
    },
    // Build facts change with every commit, toolchain and target.
    Volatile {
        metric: "node_exporter_build_info",
        labels: &["goarch", "goversion", "revision", "version"],
        value: false,
    },
    Volatile {
        metric: "hostwatch_build_info",
        labels: &["arch", "revision", "rustversion", "version"],
        value: false,
    },
    // The clock. (The zone is not volatile: the golden run sets `TZ`.)
    Volatile {
        metric: "node_time_seconds",
        labels: &[],
        value: true,
    },
    // statfs(2) of the fixture mount points measures the filesystem the
    // checkout lives on.
    Volatile {
        metric: "node_filesystem_size_bytes",
        labels: &[],
        value: true,
    },
    Volatile {
        metric: "node_filesystem_free_bytes",
        labels: &[],
        value: true,
    },
    Volatile {
        metric: "node_filesystem_avail_bytes",
        labels: &[],
        value: true,
    },
    Volatile {
        metric: "node_filesystem_files",
        labels: &[],
        value: true,
    },
    Volatile {
        metric: "node_filesystem_files_free",
        labels: &[],
        value: true,
    },
    // adjtimex(2) describes the clock of the machine running the test.
    Volatile {
        metric: "node_timex_*",
        labels: &[],
        value: true,
    },
];

fn rule_for(metric: &str) -> Option<&'static Volatile> {
    VOLATILE
        .iter()
        .find(|rule| match rule.metric.strip_suffix('*') {
            Some(prefix) => metric.starts_with(prefix),
            None => metric == rule.metric,
        })
}

fn mask_sample(sample: &Sample<'_>, rule: &Volatile) -> String {
    let labels: Vec<(&str, &str)> = sample
        .labels
        .iter()
        .map(|&(name, value)| {
            if rule.labels.contains(&name) {
                (name, PLACEHOLDER)
            } else {
                (name, value)
            }
        })
        .collect();
    let value = if rule.value {
        PLACEHOLDER
    } else {
        sample.value
    };
    sample.render(&labels, value)
}

/// Replaces the volatile parts of every sample line; other lines are kept.
fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match exposition::parse_sample(line) {
            Some(sample) => match rule_for(sample.name) {
                Some(rule) => out.push_str(&mask_sample(&sample, rule)),
                None => out.push_str(line),
            },
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Every collector of the golden run ran on the fixture tree and succeeded.
fn assert_all_collectors_succeeded(text: &str) {
    let expected: Vec<String> = golden_collectors()
        .map(|spec| spec.name.to_string())
        .collect();
    let scraped: Vec<String> = exposition::scraped_collectors(text).into_iter().collect();
    assert_eq!(scraped, expected, "the golden run enables every collector");
    for name in &scraped {
        assert_eq!(
            exposition::collector_success(text, name),
            Some(1.0),
            "collector {name} fails on the fixture tree: give it the files it reads"
        );
    }
}

/// Starts the golden run with `flags`, scrapes with `accept`, checks the
/// content type, and compares the masked body with the golden file at
/// `golden_path`.
fn check_format(flags: &[&str], accept: Option<&str>, content_type: &str, golden_path: &str) {
    let agent = fixture_run::start_with(flags);
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
    let response = agent.request("GET", "/metrics", &headers);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(content_type));
    let text = response.text();
    assert_all_collectors_succeeded(&text);
    golden::check(golden_path, &mask(&text), REGENERATE);
}

#[test]
fn text_format_matches_golden() {
    check_format(
        &[],
        None,
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
        "tests/golden/e2e.txt",
    );
}

#[test]
fn prometheus_gets_the_text_golden_by_default() {
    check_format(
        &[],
        Some(PROMETHEUS_ACCEPT),
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
        "tests/golden/e2e.txt",
    );
}

#[test]
fn openmetrics_format_matches_golden() {
    check_format(
        &["--web.enable-openmetrics"],
        Some(PROMETHEUS_ACCEPT),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
        "tests/golden/e2e.openmetrics.txt",
    );
}

#[test]
fn masking_keeps_series_and_hides_only_volatile_parts() {
    let text = "# TYPE process_open_fds gauge\nprocess_open_fds 9\n\
                node_exporter_build_info{branch=\"\",goarch=\"amd64\",revision=\"abc\",tags=\"hostwatch\"} 1\n\
                node_load1 0.5\n";
    assert_eq!(
        mask(text),
        "# TYPE process_open_fds gauge\nprocess_open_fds <varies>\n\
         node_exporter_build_info{branch=\"\",goarch=\"<varies>\",revision=\"<varies>\",tags=\"hostwatch\"} 1\n\
         node_load1 0.5\n"
    );
}
