//! Writing metric families in the Prometheus exposition formats: text 0.0.4
//! and OpenMetrics, byte for byte as client_golang writes them.
//!
//! May import: [`crate::metrics`] and the lowest layer.

pub mod float;
pub mod openmetrics;
mod series;
pub mod text;

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

    /// Appends `families` (sorted by name) to `out` in this format. A family
    /// that contradicts an earlier one of the same name in type or help is
    /// left out.
    pub fn encode(self, families: &[&Family], out: &mut Vec<u8>) {
        let families = consistent(families);
        match self {
            Format::Text => text::encode(&families, out),
            Format::OpenMetrics1 | Format::OpenMetrics0 => openmetrics::encode(&families, out),
        }
    }
}

/// Drops every family that shares its name with an earlier one (from
/// another collector) but differs in type or help, as client_golang's
/// registry refuses such metrics: written under the first one's header they
/// would misstate their type. Families arrive sorted by name, so the first
/// of a name is the one from the collector that sorts first.
fn consistent<'a>(families: &[&'a Family]) -> Vec<&'a Family> {
    let mut kept: Vec<&'a Family> = Vec::with_capacity(families.len());
    let mut first: Option<&'a Family> = None;
    for &family in families {
        match first {
            Some(f) if f.name() == family.name() => {
                if f.metric_type() != family.metric_type() || f.help() != family.help() {
                    tracing::warn!(
                        metric = family.name(),
                        "dropping a metric family whose type or help differs from another collector's family of the same name"
                    );
                    continue;
                }
            }
            _ => first = Some(family),
        }
        kept.push(family);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricSet, MetricType, SamplePart};

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

    fn summary_and_histogram() -> Vec<Family> {
        let mut set = MetricSet::new();
        let h = set.family(
            "job_duration_seconds",
            "Job durations.",
            MetricType::Histogram,
            &["job", "az"],
        );
        h.push_part(&["backup", "a"], SamplePart::Bucket(0.5), 1.0);
        h.push_part(&["backup", "a"], SamplePart::Bucket(1e6), 3.0);
        h.push_part(&["backup", "a"], SamplePart::Bucket(f64::INFINITY), 4.0);
        h.push_part(&["backup", "a"], SamplePart::Sum, 1.0);
        h.push_part(&["backup", "a"], SamplePart::Count, 4.0);
        let s = set.family(
            "rpc_seconds",
            "RPC latency.",
            MetricType::Summary,
            &[] as &[&str],
        );
        s.push_part::<&str>(&[], SamplePart::Quantile(0.99), 2.5);
        s.push_part::<&str>(&[], SamplePart::Quantile(0.5), 1.0);
        s.push_part::<&str>(&[], SamplePart::Sum, 17.0);
        s.push_part::<&str>(&[], SamplePart::Count, 7.0);
        set.counter("runs", "Runs, named without _total.", 3.0);
        set.into_sorted()
    }

    #[test]
    fn text_format_writes_summary_and_histogram_lines() {
        let families = summary_and_histogram();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        let want = r##"# HELP job_duration_seconds Job durations.
# TYPE job_duration_seconds histogram
job_duration_seconds_bucket{az="a",job="backup",le="0.5"} 1
job_duration_seconds_bucket{az="a",job="backup",le="1e+06"} 3
job_duration_seconds_bucket{az="a",job="backup",le="+Inf"} 4
job_duration_seconds_sum{az="a",job="backup"} 1
job_duration_seconds_count{az="a",job="backup"} 4
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 1
rpc_seconds{quantile="0.99"} 2.5
rpc_seconds_sum 17
rpc_seconds_count 7
# HELP runs Runs, named without _total.
# TYPE runs counter
runs 3
"##;
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn openmetrics_writes_integer_counts_and_unknown_for_counters_without_total() {
        let families = summary_and_histogram();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::OpenMetrics1.encode(&refs, &mut out);
        let want = r##"# HELP job_duration_seconds Job durations.
# TYPE job_duration_seconds histogram
job_duration_seconds_bucket{az="a",job="backup",le="0.5"} 1
job_duration_seconds_bucket{az="a",job="backup",le="1e+06"} 3
job_duration_seconds_bucket{az="a",job="backup",le="+Inf"} 4
job_duration_seconds_sum{az="a",job="backup"} 1.0
job_duration_seconds_count{az="a",job="backup"} 4
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 1.0
rpc_seconds{quantile="0.99"} 2.5
rpc_seconds_sum 17.0
rpc_seconds_count 7
# HELP runs Runs, named without _total.
# TYPE runs unknown
runs 3.0
# EOF
"##;
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn a_same_name_family_with_another_type_or_help_is_dropped() {
        let mut first = MetricSet::new();
        first.gauge("node_load1", "1m load average.", 0.5);
        let mut other_help = MetricSet::new();
        other_help.gauge("node_load1", "Metric read from /x.prom", 7.0);
        let mut other_type = MetricSet::new();
        other_type
            .family(
                "node_load1",
                "1m load average.",
                MetricType::Counter,
                &["a"],
            )
            .push(&["b"], 8.0);
        let mut agreeing = MetricSet::new();
        agreeing
            .family("node_load1", "1m load average.", MetricType::Gauge, &["a"])
            .push(&["c"], 9.0);
        let sets = [first, other_help, other_type, agreeing].map(MetricSet::into_sorted);
        let refs: Vec<&Family> = sets.iter().flatten().collect();
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\nnode_load1{a=\"c\"} 9\n"
        );
    }
}
