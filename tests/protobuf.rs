//! The protobuf exposition read by a real decoder: the golden run scraped
//! in the delimited format, decoded by `protoc` against client_model's
//! `metrics.proto` (`tests/proto/`), gives the families, types, help texts,
//! series and values of the text format.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use common::{exposition, fixture_run};
use hostwatch::exposition::float::write_go_float;

const PROTOBUF: &str =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

/// A family as `protoc --decode` prints it, reduced to what the text
/// format shows.
#[derive(Debug, Default)]
struct DecodedFamily {
    name: String,
    help: String,
    metric_type: String,
    /// Sample lines' series (as the text format writes them) and values.
    samples: Vec<(String, f64)>,
}

/// Turns a delimited stream into a `hostwatch.test.Families` message: each
/// length-prefixed message gets the key of field 1 in front.
fn as_families_message(mut stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stream.len() + stream.len() / 64);
    while !stream.is_empty() {
        let mut len = 0usize;
        let mut used = 0;
        loop {
            let byte = stream[used];
            len |= usize::from(byte & 0x7f) << (7 * used);
            used += 1;
            if byte < 0x80 {
                break;
            }
        }
        out.push(0x0a);
        out.extend_from_slice(&stream[..used + len]);
        stream = &stream[used + len..];
    }
    out
}

fn protoc_decode(message: &[u8]) -> String {
    let root = common::crate_root().join("tests/proto");
    let mut child = Command::new("protoc")
        .arg(format!("--proto_path={}", root.display()))
        .arg("--decode=hostwatch.test.Families")
        .arg("families.proto")
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("protoc (Debian's protobuf-compiler; scripts/install-test-deps installs it)");
    child.stdin.take().unwrap().write_all(message).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "protoc refused the scrape: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Undoes protoc's C escaping of a quoted string (octal bytes, `\n`,
/// `\"`, `\\`, `\'`).
fn unquote(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(quoted);
    let bytes = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0'..=b'7' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .count();
                let text = std::str::from_utf8(&bytes[i + 1..i + 1 + digits]).unwrap();
                out.push(u8::from_str_radix(text, 8).unwrap());
                i += 1 + digits;
                continue;
            }
            other => out.push(other),
        }
        i += 2;
    }
    String::from_utf8(out).unwrap()
}

/// A label value as the text format escapes it.
fn text_escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

fn go_float(value: f64) -> String {
    let mut out = Vec::new();
    write_go_float(&mut out, value);
    String::from_utf8(out).unwrap()
}

fn series(name: &str, labels: &[(String, String)], extra: Option<(&str, f64)>) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(n, v)| format!("{n}=\"{}\"", text_escaped(v)))
        .collect();
    if let Some((label, bound)) = extra {
        pairs.push(format!("{label}=\"{}\"", go_float(bound)));
    }
    if pairs.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", pairs.join(","))
    }
}

/// Reads protoc's text rendering of a `Families` message into families.
fn parse_decoded(text: &str) -> Vec<DecodedFamily> {
    let mut families = Vec::new();
    let mut family = DecodedFamily::default();
    let mut labels: Vec<(String, String)> = Vec::new();
    let mut pending_label = String::new();
    let mut path: Vec<String> = Vec::new();
    // Per metric: quantiles or buckets, sum and count, to write in order.
    let mut parts: Vec<(&'static str, f64, f64)> = Vec::new();
    let (mut bound, mut sum, mut count) = (0.0, 0.0, 0.0);
    for line in text.lines().map(str::trim) {
        if let Some(block) = line.strip_suffix(" {") {
            path.push(block.to_string());
            continue;
        }
        if line == "}" {
            let closed = path.pop().unwrap();
            match closed.as_str() {
                "family" => families.push(std::mem::take(&mut family)),
                "metric" => {
                    let name = family.name.clone();
                    let has_inf = parts.iter().any(|p| p.0 == "le" && p.1.is_infinite());
                    for &(label, b, v) in &parts {
                        let metric = if label == "le" {
                            format!("{name}_bucket")
                        } else {
                            name.clone()
                        };
                        family
                            .samples
                            .push((series(&metric, &labels, Some((label, b))), v));
                    }
                    if family.metric_type == "histogram" && !has_inf {
                        let inf = series(
                            &format!("{name}_bucket"),
                            &labels,
                            Some(("le", f64::INFINITY)),
                        );
                        family.samples.push((inf, count));
                    }
                    if matches!(family.metric_type.as_str(), "summary" | "histogram") {
                        family
                            .samples
                            .push((series(&format!("{name}_sum"), &labels, None), sum));
                        family
                            .samples
                            .push((series(&format!("{name}_count"), &labels, None), count));
                    }
                    labels.clear();
                    parts.clear();
                }
                _ => {}
            }
            continue;
        }
        let (key, value) = line.split_once(": ").expect("a field line");
        let parent = path.last().map(String::as_str).unwrap_or("");
        match (parent, key) {
            ("family", "name") => family.name = unquote(value),
            ("family", "help") => family.help = unquote(value),
            ("family", "type") => family.metric_type = value.to_ascii_lowercase(),
            ("label", "name") => pending_label = unquote(value),
            ("label", "value") => labels.push((std::mem::take(&mut pending_label), unquote(value))),
            ("gauge" | "counter" | "untyped", "value") => {
                let name = family.name.clone();
                family
                    .samples
                    .push((series(&name, &labels, None), value.parse().unwrap()));
            }
            ("summary" | "histogram", "sample_count") => count = value.parse().unwrap(),
            ("summary" | "histogram", "sample_sum") => sum = value.parse().unwrap(),
            ("quantile", "quantile") => bound = value.parse().unwrap(),
            ("quantile", "value") => parts.push(("quantile", bound, value.parse().unwrap())),
            ("bucket", "upper_bound") => {
                let last = parts.last_mut().expect("cumulative_count comes first");
                last.1 = value.parse().unwrap();
            }
            ("bucket", "cumulative_count") => parts.push(("le", 0.0, value.parse().unwrap())),
            other => panic!("a field client_golang does not set for node_exporter: {other:?}"),
        }
    }
    families
}

/// Families' type and help in a text scrape, by name.
fn text_headers(text: &str) -> BTreeMap<String, (String, String)> {
    let mut headers: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            let help = help.replace("\\n", "\n").replace("\\\\", "\\");
            headers.entry(name.to_string()).or_default().1 = help;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, metric_type) = rest.split_once(' ').unwrap();
            headers.entry(name.to_string()).or_default().0 = metric_type.to_string();
        }
    }
    headers
}

/// Each series' value in a text scrape.
fn values(text: &str) -> BTreeMap<String, f64> {
    exposition::samples(text)
        .into_iter()
        .filter_map(|s| {
            Some((
                s.series.to_string(),
                s.value.split(' ').next()?.parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn protoc_reads_the_text_formats_families_series_and_values() {
    let agent = fixture_run::start();
    let before = agent.get("/metrics").text();
    let response = agent.request("GET", "/metrics", &[("Accept", PROTOBUF)]);
    let after = agent.get("/metrics").text();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores")
    );
    let decoded = parse_decoded(&protoc_decode(&as_families_message(&response.body)));

    // Families: the same names, types and help texts, in the same order.
    let headers = text_headers(&after);
    let names: Vec<&str> = decoded.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        headers.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for family in &decoded {
        let (metric_type, help) = &headers[&family.name];
        assert_eq!(&family.metric_type, metric_type, "{}", family.name);
        assert_eq!(&family.help, help, "{}", family.name);
    }

    // Series: the same set; values: equal wherever the text scrapes before
    // and after agree (process and clock metrics move in between).
    let proto_series: BTreeSet<String> = decoded
        .iter()
        .flat_map(|f| f.samples.iter().map(|(s, _)| s.clone()))
        .collect();
    assert_eq!(proto_series, exposition::series(&after));
    let (before, after) = (values(&before), values(&after));
    let mut compared = 0;
    for (series, value) in decoded.iter().flat_map(|f| f.samples.iter()) {
        let (Some(&a), Some(&b)) = (before.get(series), after.get(series)) else {
            continue;
        };
        if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
            assert!(
                *value == a || (value.is_nan() && a.is_nan()),
                "{series}: protobuf {value}, text {a}"
            );
            compared += 1;
        }
    }
    assert!(
        compared > proto_series.len() / 2,
        "{compared} values compared"
    );
    // The fixture's textfiles give a summary and a histogram.
    for metric_type in ["summary", "histogram", "counter", "gauge", "untyped"] {
        assert!(
            decoded.iter().any(|f| f.metric_type == metric_type),
            "no {metric_type} family"
        );
    }
}
