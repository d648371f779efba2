//! Writing metric families in the Prometheus exposition formats, and choosing
//! which one a request gets.

pub mod float;
pub mod negotiate;
pub mod openmetrics;
pub mod text;

use std::borrow::Cow;

use crate::metrics::Family;

/// An exposition format a scrape can be answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0.
    OpenMetrics1,
    /// OpenMetrics 0.0.1 (same body; older clients ask for it by this name).
    OpenMetrics0,
}

impl Format {
    /// The Content-Type header value for a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => text::CONTENT_TYPE,
            Format::OpenMetrics1 => openmetrics::CONTENT_TYPE,
            Format::OpenMetrics0 => "application/openmetrics-text; version=0.0.1; charset=utf-8",
        }
    }

    /// Appends `families` (sorted by name) to `out` in this format.
    pub fn encode(self, families: &[&Family], out: &mut Vec<u8>) {
        match self {
            Format::Text => text::encode(families, out),
            Format::OpenMetrics1 | Format::OpenMetrics0 => openmetrics::encode(families, out),
        }
    }
}

/// What to escape in a string written into the exposition.
#[derive(Clone, Copy)]
pub(crate) enum Escape {
    /// HELP text in format 0.0.4: backslash and newline.
    Help,
    /// Label values (and OpenMetrics HELP): backslash, newline, double quote.
    LabelValue,
}

pub(crate) fn write_escaped(out: &mut Vec<u8>, s: &str, escape: Escape) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if matches!(escape, Escape::LabelValue) => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
}

pub(crate) fn write_labels(out: &mut Vec<u8>, names: &[Cow<'static, str>], values: &[String]) {
    if names.is_empty() {
        return;
    }
    out.push(b'{');
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        write_escaped(out, value, Escape::LabelValue);
        out.push(b'"');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricSet, MetricType};

    fn sample_families() -> Vec<Family> {
        let mut set = MetricSet::new();
        let cpu = set.family(
            "node_cpu_seconds_total",
            "Seconds the CPUs spent in each mode.",
            MetricType::Counter,
            &["mode", "cpu"],
        );
        cpu.push(&["user", "0"], 12.5);
        cpu.push(&["idle", "0"], 1_234_567.0);
        set.untyped(
            "node_vmstat_pgfault",
            "/proc/vmstat information field pgfault.",
            42.0,
        );
        let info = set.family(
            "node_uname_info",
            "Labeled system information.",
            MetricType::Gauge,
            &["version"],
        );
        info.push(&["#1 SMP \"quoted\" back\\slash\nnewline"], 1.0);
        set.gauge("node_help_escape", "line one\nline \"two\" \\", 0.5);
        set.into_sorted()
    }

    #[test]
    fn text_format_is_client_golang_shaped() {
        let families = sample_families();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        let want = r##"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1.234567e+06
node_cpu_seconds_total{cpu="0",mode="user"} 12.5
# HELP node_help_escape line one\nline "two" \\
# TYPE node_help_escape gauge
node_help_escape 0.5
# HELP node_uname_info Labeled system information.
# TYPE node_uname_info gauge
node_uname_info{version="#1 SMP \"quoted\" back\\slash\nnewline"} 1
# HELP node_vmstat_pgfault /proc/vmstat information field pgfault.
# TYPE node_vmstat_pgfault untyped
node_vmstat_pgfault 42
"##;
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn openmetrics_format_strips_total_and_ends_with_eof() {
        let families = sample_families();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::OpenMetrics1.encode(&refs, &mut out);
        let want = r##"# HELP node_cpu_seconds Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1.234567e+06
node_cpu_seconds_total{cpu="0",mode="user"} 12.5
# HELP node_help_escape line one\nline \"two\" \\
# TYPE node_help_escape gauge
node_help_escape 0.5
# HELP node_uname_info Labeled system information.
# TYPE node_uname_info gauge
node_uname_info{version="#1 SMP \"quoted\" back\\slash\nnewline"} 1.0
# HELP node_vmstat_pgfault /proc/vmstat information field pgfault.
# TYPE node_vmstat_pgfault unknown
node_vmstat_pgfault 42.0
# EOF
"##;
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn same_name_families_share_one_header() {
        let mut a = MetricSet::new();
        a.family("node_x", "help", MetricType::Gauge, &["c"])
            .push(&["a"], 1.0);
        let mut b = MetricSet::new();
        b.family("node_x", "help", MetricType::Gauge, &["c"])
            .push(&["b"], 2.0);
        let (a, b) = (a.into_sorted(), b.into_sorted());
        let refs = vec![&a[0], &b[0]];
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("# TYPE").count(), 1);
        assert!(text.contains("node_x{c=\"a\"} 1\nnode_x{c=\"b\"} 2\n"));
    }
}
