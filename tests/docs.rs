//! Keeps the reference parts of `docs/` true to the code: the collectors and
//! every metric family they emit (`docs/metrics.md`), the flags
//! (`docs/configuration.md`), the node_exporter collectors hostwatch does not
//! have (`docs/migrating-from-node-exporter.md`) and the alerts with links to
//! their runbooks (`docs/operations.md`).
//!
//! Each is a region of its file between `<!-- generated: NAME -->` and
//! `<!-- end: NAME -->`, rendered here from the registry, the command line,
//! a scrape of the golden run and the shipped alert rules. A region that
//! differs fails the test; `UPDATE_DOCS=1 cargo test --test docs` rewrites
//! the regions and leaves the prose around them alone.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;

use clap::ArgAction;
use common::exposition::{self, FamilyShape};
use common::{crate_root, fixture_run};
use hostwatch::collectors::registry::{self, IGNORED_FLAGS, NOT_IMPLEMENTED};
use hostwatch::collectors::CollectorSpec;

/// How to rewrite the regions after an intended change.
const REGENERATE: &str = "UPDATE_DOCS=1 cargo test --test docs";

/// Collectors whose families the fixture tree cannot show: they talk to a
/// live service (systemd, logind over D-Bus), a network driver (ethtool) or
/// the kernel over netlink (qdisc, wifi). Their families come from a scrape
/// their own test script takes, saved as `tests/golden/live/<name>.prom`
/// and checked by that script (for wifi, which no test machine has, by its
/// unit tests on nl80211 messages).
const LIVE_FAMILIES: &[&str] = &["ethtool", "logind", "qdisc", "systemd", "wifi"];

/// Replaces the region `name` of the file at `relative` with `content`, or
/// checks that it holds it.
fn check_region(relative: &str, name: &str, content: &str) {
    let path = crate_root().join(relative);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {relative}: {e}"));
    let begin = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end: {name} -->");
    let start = text
        .find(&begin)
        .unwrap_or_else(|| panic!("{relative} has no {begin:?} marker"))
        + begin.len();
    let stop = start
        + text[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("{relative} has no {end:?} marker"));
    if text[start..stop] == *content {
        return;
    }
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        let updated = format!("{}{content}{}", &text[..start], &text[stop..]);
        fs::write(&path, updated).unwrap_or_else(|e| panic!("writing {relative}: {e}"));
        return;
    }
    panic!(
        "{relative}'s region {name:?} is out of date (- file, + generated):\n{}\n\
         Regenerate with: {REGENERATE}",
        common::golden::diff(&text[start..stop], content)
    );
}

/// Prose for Markdown: `<` and `>` as entities, so that `<uuid>` is not
/// taken for an HTML tag, and `*` escaped.
fn prose(text: &str) -> String {
    text.replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('*', "\\*")
}

/// Text for a Markdown table cell.
fn cell(text: &str) -> String {
    prose(text).replace('|', "\\|").replace('\n', " ")
}

/// A code span in a Markdown table cell.
fn code_cell(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

/// The families each collector emits: from one scrape per collector of the
/// golden run, and from the saved live scrapes.
fn families_by_collector() -> BTreeMap<&'static str, Vec<FamilyShape>> {
    let agent = fixture_run::start();
    let mut by_collector = BTreeMap::new();
    for spec in registry::ALL {
        let text = if LIVE_FAMILIES.contains(&spec.name) {
            let relative = format!("tests/golden/live/{}.prom", spec.name);
            fs::read_to_string(crate_root().join(&relative))
                .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
        } else {
            let response = agent.get(&format!("/metrics?collect[]={}", spec.name));
            assert_eq!(response.status, 200, "scraping {}", spec.name);
            response.text()
        };
        let families = exposition::families(&text)
            .into_values()
            .filter(|f| !f.name.starts_with("node_scrape_collector_"))
            .filter(|f| !f.name.starts_with("process_") && !f.name.ends_with("_build_info"))
            .collect();
        by_collector.insert(spec.name, families);
    }
    by_collector
}

/// The `--collector.<name>.*` flags of one collector, as written.
fn flags_of(spec: &CollectorSpec) -> Vec<String> {
    let Some(add_flags) = spec.flags else {
        return Vec::new();
    };
    add_flags(clap::Command::new("flags"))
        .get_arguments()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| arg.get_long().map(|long| format!("`--{long}`")))
        .collect()
}

fn render_collectors(families: &BTreeMap<&'static str, Vec<FamilyShape>>) -> String {
    let mut out = String::new();
    for spec in registry::ALL {
        let default = if spec.default_enabled {
            "enabled"
        } else {
            "disabled"
        };
        writeln!(out, "### `{}`\n", spec.name).unwrap();
        writeln!(out, "- Default: {default}").unwrap();
        writeln!(out, "- Reads: {}", prose(spec.reads)).unwrap();
        let flags = flags_of(spec);
        if !flags.is_empty() {
            writeln!(out, "- Flags: {}", flags.join(", ")).unwrap();
        }
        let list = &families[spec.name];
        if list.is_empty() {
            writeln!(out, "\nNo families on the test fixtures.\n").unwrap();
            continue;
        }
        writeln!(
            out,
            "\n| metric | type | labels | help |\n|---|---|---|---|"
        )
        .unwrap();
        for family in list {
            let labels: Vec<String> = family.labels.iter().map(|l| format!("`{l}`")).collect();
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                family.name,
                family.metric_type,
                labels.join(", "),
                cell(&family.help)
            )
            .unwrap();
        }
        out.push('\n');
    }
    out
}

#[test]
fn metrics_reference_lists_every_collector_and_family() {
    let families = families_by_collector();
    check_region(
        "docs/metrics.md",
        "collectors",
        &render_collectors(&families),
    );
}

/// One row of a flag table: the flag as given, its default and its help.
fn flag_row(arg: &clap::Arg) -> String {
    let long = arg.get_long().expect("every flag is long");
    let is_bool = arg.get_num_args() == Some(clap::builder::ValueRange::new(0..=1));
    let flag = if is_bool {
        format!("`--{long}`, `--no-{long}`")
    } else {
        let value = arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or("VALUE".to_string(), |name| name.to_string());
        format!("`--{long}={value}`")
    };
    let repeatable = matches!(arg.get_action(), ArgAction::Append);
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| code_cell(&v.to_string_lossy()))
        .collect();
    let default = if defaults.is_empty() {
        "(none)".to_string()
    } else {
        defaults.join(", ")
    };
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut help = help.trim().to_string();
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|_| !is_bool)
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !choices.is_empty() {
        help.push_str(&format!(" (one of {})", choices.join(", ")));
    }
    if repeatable && !help.to_lowercase().contains("repeatable") {
        help.push_str(" (repeatable)");
    }
    format!("| {flag} | {default} | {} |", cell(&help))
}

#[test]
fn configuration_lists_every_flag() {
    let command = hostwatch::cli::command();
    let toggles: Vec<String> = registry::ALL
        .iter()
        .map(|spec| format!("collector.{}", spec.name))
        .collect();
    let shown = || {
        command.get_arguments().filter(|arg| {
            !arg.is_hide_set()
                && arg
                    .get_long()
                    .is_some_and(|long| !toggles.iter().any(|t| t == long))
        })
    };
    let header = "| flag | default | meaning |\n|---|---|---|\n";
    let mut agent = String::from(header);
    let mut collectors = String::from(header);
    for arg in shown() {
        let long = arg.get_long().unwrap_or_default();
        let row = flag_row(arg) + "\n";
        if long.starts_with("collector.") && long != "collector.disable-defaults" {
            collectors.push_str(&row);
        } else {
            agent.push_str(&row);
        }
    }
    check_region("docs/configuration.md", "agent-flags", &agent);
    check_region("docs/configuration.md", "collector-flags", &collectors);
}

#[test]
fn migration_guide_lists_the_collectors_hostwatch_lacks() {
    let mut out = String::from("| collector | its flags, accepted and ignored |\n|---|---|\n");
    let mut names = NOT_IMPLEMENTED.to_vec();
    names.sort_unstable();
    let collector_of = |flag: &str| flag.split('.').nth(1).unwrap_or_default().to_string();
    for name in names {
        let flags: Vec<String> = IGNORED_FLAGS
            .iter()
            .filter(|(flag, _)| collector_of(flag) == name)
            .map(|(flag, _)| format!("`--{flag}`"))
            .collect();
        let flags = if flags.is_empty() {
            "(none)".to_string()
        } else {
            flags.join(", ")
        };
        writeln!(out, "| `{name}` | {flags} |").unwrap();
    }
    // Flags whose collector part is no collector's name (node_exporter's own
    // misspellings, kept for compatibility).
    let others: Vec<String> = IGNORED_FLAGS
        .iter()
        .filter(|(flag, _)| !NOT_IMPLEMENTED.contains(&collector_of(flag).as_str()))
        .map(|(flag, _)| format!("`--{flag}`"))
        .collect();
    if !others.is_empty() {
        writeln!(out, "\nAlso accepted and ignored: {}.", others.join(", ")).unwrap();
    }
    check_region(
        "docs/migrating-from-node-exporter.md",
        "not-implemented",
        &out,
    );
}

/// One alerting rule of the shipped rule files.
struct Alert {
    name: String,
    severity: String,
    wait: String,
    summary: String,
    runbook_url: String,
}

/// The alerting rules of every rule file under `deploy/prometheus/rules/`,
/// files in name order (as `scripts/render-prometheusrule` joins them).
fn shipped_alerts() -> Vec<Alert> {
    let dir = crate_root().join("deploy/prometheus/rules");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("the rules directory")
        .map(|entry| entry.expect("a rules directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().flat_map(|path| alerts_of(path)).collect()
}

fn alerts_of(path: &std::path::Path) -> Vec<Alert> {
    let text = fs::read_to_string(path).expect("the alert rules");
    let rules: serde_yaml::Value = serde_yaml::from_str(&text).expect("the alert rules parse");
    let field = |value: &serde_yaml::Value, path: &[&str]| {
        path.iter()
            .try_fold(value, |v, key| v.get(key))
            .and_then(serde_yaml::Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let groups = rules["groups"].as_sequence().expect("groups");
    groups
        .iter()
        .flat_map(|group| group["rules"].as_sequence().expect("rules").iter())
        .filter(|rule| rule.get("alert").is_some())
        .map(|rule| Alert {
            name: field(rule, &["alert"]),
            severity: field(rule, &["labels", "severity"]),
            wait: field(rule, &["for"]),
            summary: field(rule, &["annotations", "summary"]),
            runbook_url: field(rule, &["annotations", "runbook_url"]),
        })
        .collect()
}

#[test]
fn operations_guide_lists_every_alert_with_its_runbook() {
    // The runbooks themselves are docs/runbooks.md, where each alert's
    // runbook_url points (tests/scripts/lib/check_rules.py checks that the
    // heading exists); the guide links each rule to its section there.
    let mut out = String::from("| alert | severity | for | summary |\n|---|---|---|---|\n");
    for rule in shipped_alerts() {
        let (_, section) = rule
            .runbook_url
            .split_once("/docs/runbooks.md#")
            .unwrap_or_else(|| {
                panic!(
                    "{}: runbook_url {:?} does not point into docs/runbooks.md",
                    rule.name, rule.runbook_url
                )
            });
        let wait = if rule.wait.is_empty() {
            "0s"
        } else {
            &rule.wait
        };
        writeln!(
            out,
            "| [{}](runbooks.md#{section}) | {} | {wait} | {} |",
            rule.name,
            rule.severity,
            cell(&rule.summary)
        )
        .unwrap();
    }
    check_region("docs/operations.md", "alerts", &out);
}
