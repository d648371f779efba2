//! Writing metric families in the Prometheus exposition formats: text 0.0.4,
//! OpenMetrics and delimited protobuf, byte for byte as client_golang writes
//! them, with names outside the legacy character set escaped as the client
//! asks.
//!
//! May import: [`crate::metrics`] and the lowest layer.

pub mod float;
pub mod names;
pub mod openmetrics;
pub mod protobuf;
mod series;
pub mod text;

use std::borrow::Cow;
use std::collections::HashSet;

pub use names::Escaping;

use crate::metrics::{Family, Sample, SamplePart};

/// An exposition format a scrape can be answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0.
    OpenMetrics1,
    /// OpenMetrics 0.0.1 (same body; older clients ask for it by this name).
    OpenMetrics0,
    /// Length-delimited `io.prometheus.client.MetricFamily` messages.
    Protobuf,
}

impl Format {
    /// The Content-Type client_golang answers with: the format's, then the
    /// escaping scheme applied to names.
    pub fn content_type(self, escaping: Escaping) -> &'static str {
        macro_rules! with_escaping {
            ($base:expr) => {
                match escaping {
                    Escaping::AllowUtf8 => concat!($base, "; escaping=allow-utf-8"),
                    Escaping::Underscores => concat!($base, "; escaping=underscores"),
                    Escaping::Dots => concat!($base, "; escaping=dots"),
                    Escaping::Values => concat!($base, "; escaping=values"),
                }
            };
        }
        match self {
            Format::Text => with_escaping!("text/plain; version=0.0.4; charset=utf-8"),
            Format::OpenMetrics1 => {
                with_escaping!("application/openmetrics-text; version=1.0.0; charset=utf-8")
            }
            Format::OpenMetrics0 => {
                with_escaping!("application/openmetrics-text; version=0.0.1; charset=utf-8")
            }
            Format::Protobuf => with_escaping!(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            ),
        }
    }

    /// Appends `families` (sorted by name) to `out` in this format, names
    /// outside the legacy character set written as client_golang writes
    /// them by default (`escaping=underscores`).
    pub fn encode(self, families: &[&Family], out: &mut Vec<u8>) {
        self.encode_escaped(families, Escaping::Underscores, out);
    }

    /// Appends `families` (sorted by name) to `out` in this format, names
    /// escaped as `escaping` says. A family that contradicts an earlier one
    /// of the same name in type or help is left out, and so is a series an
    /// earlier family already holds.
    pub fn encode_escaped(self, families: &[&Family], escaping: Escaping, out: &mut Vec<u8>) {
        let kept = consistent(families);
        let families: Vec<&Family> = kept.iter().map(|family| family.as_ref()).collect();
        match self {
            Format::Text => text::encode(&families, escaping, out),
            Format::OpenMetrics1 | Format::OpenMetrics0 => {
                openmetrics::encode(&families, escaping, out)
            }
            Format::Protobuf => protobuf::encode(&families, escaping, out),
        }
    }
}

/// What client_golang's registry refuses when several collectors give
/// families of one name, and node_exporter drops with a logged error:
///
/// - a family whose type or help differs from the first one of its name:
///   written under the first one's header it would misstate its type;
/// - a series (name and labels; a summary or histogram series with all its
///   lines) that an earlier family already gave: one exposition never holds two samples
///   of a series, which Prometheus would reject as a duplicate.
///
/// Families arrive sorted by name, so the first of a name is the one from
/// the collector that sorts first, and its series are the ones kept. A name
/// given by one family only, the common case, costs a comparison.
fn consistent<'a>(families: &[&'a Family]) -> Vec<Cow<'a, Family>> {
    let mut kept: Vec<Cow<'a, Family>> = Vec::with_capacity(families.len());
    let mut group = families;
    while let Some((first, _)) = group.split_first() {
        let len = group
            .iter()
            .take_while(|family| family.name() == first.name())
            .count();
        let (same_name, rest) = group.split_at(len);
        if let [only] = same_name {
            kept.push(Cow::Borrowed(*only));
        } else {
            keep_distinct_series(same_name, &mut kept);
        }
        group = rest;
    }
    kept
}

/// Appends the families of one name to `kept`, each without the series the
/// ones before it gave and without those that contradict the first.
fn keep_distinct_series<'a>(same_name: &[&'a Family], kept: &mut Vec<Cow<'a, Family>>) {
    let first = same_name[0];
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut key = Vec::new();
    // A series is its label set: the lines of a summary or histogram
    // series go or stay together, as client_golang keeps or drops a metric.
    let mut series_key = |family: &Family, sample: &Sample| {
        let mut series = sample.clone();
        series.part = SamplePart::Value;
        key.clear();
        let names = series::Names::of(family, Escaping::AllowUtf8);
        series::write_series(&mut key, &names, family, &series, float::write_go_float);
        key.clone()
    };
    for (index, &family) in same_name.iter().enumerate() {
        if index > 0
            && (family.metric_type() != first.metric_type() || family.help() != first.help())
        {
            tracing::warn!(
                metric = family.name(),
                "dropping a metric family whose type or help differs from another collector's family of the same name"
            );
            continue;
        }
        let mut given = HashSet::new();
        let mut repeated = Vec::new();
        for sample in family.samples() {
            let key = series_key(family, sample);
            if seen.contains(&key) {
                repeated.push(key);
            } else {
                given.insert(key);
            }
        }
        seen.extend(given);
        if repeated.is_empty() {
            kept.push(Cow::Borrowed(family));
            continue;
        }
        tracing::warn!(
            metric = family.name(),
            series = %String::from_utf8_lossy(&repeated[0]),
            lines = repeated.len(),
            "dropping series another collector already gave in this scrape"
        );
        let repeated: HashSet<Vec<u8>> = repeated.into_iter().collect();
        let mut filtered = family.clone();
        filtered.retain_samples(|family, sample| !repeated.contains(&series_key(family, sample)));
        kept.push(Cow::Owned(filtered));
    }
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

    #[test]
    fn a_series_an_earlier_family_gave_is_left_out() {
        let family = |values: &[(&str, f64)]| {
            let mut set = MetricSet::new();
            let f = set.family("node_x", "help", MetricType::Gauge, &["c"]);
            values.iter().for_each(|(c, v)| f.push(&[c], *v));
            set.into_sorted().remove(0)
        };
        let first = family(&[("a", 1.0), ("b", 2.0)]);
        let second = family(&[("b", 20.0), ("c", 30.0)]);
        let third = family(&[("a", 100.0)]);
        let mut histogram = Family::new("node_h", "help", MetricType::Histogram, &[] as &[&str]);
        histogram.push_part::<&str>(&[], SamplePart::Bucket(1.0), 1.0);
        histogram.push_part::<&str>(&[], SamplePart::Count, 1.0);
        let mut repeated = Family::new("node_h", "help", MetricType::Histogram, &[] as &[&str]);
        repeated.push_part::<&str>(&[], SamplePart::Bucket(2.0), 5.0);
        repeated.push_part::<&str>(&[], SamplePart::Count, 5.0);
        let refs = vec![&histogram, &repeated, &first, &second, &third];
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP node_h help\n# TYPE node_h histogram\n\
             node_h_bucket{le=\"1\"} 1\nnode_h_bucket{le=\"+Inf\"} 1\nnode_h_count 1\n\
             # HELP node_x help\n# TYPE node_x gauge\n\
             node_x{c=\"a\"} 1\nnode_x{c=\"b\"} 2\nnode_x{c=\"c\"} 30\n"
        );
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

    #[test]
    fn a_histogram_series_without_inf_gets_it_from_its_count_in_text_only() {
        let mut set = MetricSet::new();
        let h = set.family("h", "H.", MetricType::Histogram, &["a"]);
        h.push_part(&["x"], SamplePart::Bucket(1.0), 1.0);
        h.push_part(&["x"], SamplePart::Sum, 2.0);
        h.push_part(&["x"], SamplePart::Count, 3.0);
        h.push_part(&["y"], SamplePart::Bucket(1.0), 1.0);
        h.push_part(&["y"], SamplePart::Bucket(f64::INFINITY), 4.0);
        h.push_part(&["y"], SamplePart::Sum, 2.0);
        h.push_part(&["y"], SamplePart::Count, 4.0);
        let families = set.into_sorted();
        let refs: Vec<&Family> = families.iter().collect();
        let mut text = Vec::new();
        Format::Text.encode(&refs, &mut text);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "# HELP h H.\n# TYPE h histogram\n\
             h_bucket{a=\"x\",le=\"1\"} 1\nh_bucket{a=\"x\",le=\"+Inf\"} 3\n\
             h_sum{a=\"x\"} 2\nh_count{a=\"x\"} 3\n\
             h_bucket{a=\"y\",le=\"1\"} 1\nh_bucket{a=\"y\",le=\"+Inf\"} 4\n\
             h_sum{a=\"y\"} 2\nh_count{a=\"y\"} 4\n"
        );
        let mut om = Vec::new();
        Format::OpenMetrics1.encode(&refs, &mut om);
        assert_eq!(
            String::from_utf8(om)
                .unwrap()
                .matches("le=\"+Inf\"")
                .count(),
            2
        );
        let mut proto = Vec::new();
        Format::Protobuf.encode(&refs, &mut proto);
        let inf = f64::INFINITY.to_le_bytes();
        assert_eq!(proto.windows(8).filter(|w| *w == inf).count(), 1);
    }

    fn unusual_names() -> Vec<Family> {
        let mut set = MetricSet::new();
        set.family("a.b", "Dotted.", MetricType::Gauge, &["l.m", "ok"])
            .push(&["v", "w"], 1.0);
        set.gauge("c-d", "Dashed.", 2.0);
        let h = set.family("h.x", "H.", MetricType::Histogram, &[] as &[&str]);
        h.push_part::<&str>(&[], SamplePart::Bucket(1.0), 1.0);
        h.push_part::<&str>(&[], SamplePart::Sum, 0.5);
        h.push_part::<&str>(&[], SamplePart::Count, 1.0);
        set.into_sorted()
    }

    fn text_with(escaping: Escaping) -> String {
        let families = unusual_names();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::Text.encode_escaped(&refs, escaping, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn allow_utf8_quotes_names_inside_the_braces() {
        let want = r##"# HELP "a.b" Dotted.
# TYPE "a.b" gauge
{"a.b","l.m"="v",ok="w"} 1
# HELP "c-d" Dashed.
# TYPE "c-d" gauge
{"c-d"} 2
# HELP "h.x" H.
# TYPE "h.x" histogram
{"h.x_bucket",le="1"} 1
{"h.x_bucket",le="+Inf"} 1
{"h.x_sum"} 0.5
{"h.x_count"} 1
"##;
        assert_eq!(text_with(Escaping::AllowUtf8), want);
    }

    #[test]
    fn escaping_schemes_rewrite_metric_and_label_names() {
        let underscores = text_with(Escaping::Underscores);
        assert!(
            underscores.contains("\na_b{l_m=\"v\",ok=\"w\"} 1\n"),
            "{underscores}"
        );
        assert!(underscores.contains("# TYPE c_d gauge\nc_d 2\n"));
        assert!(underscores.contains("h_x_bucket{le=\"1\"} 1\n"));
        let values = text_with(Escaping::Values);
        assert!(
            values.contains("U__a_2e_b{U__l_2e_m=\"v\",ok=\"w\"} 1"),
            "{values}"
        );
        let dots = text_with(Escaping::Dots);
        assert!(dots.contains("a_dot_b{l_dot_m=\"v\",ok=\"w\"} 1"), "{dots}");
        // Legacy names are never touched, whatever the scheme.
        let families = sample_families();
        let refs: Vec<&Family> = families.iter().collect();
        let mut plain = Vec::new();
        Format::Text.encode(&refs, &mut plain);
        for escaping in [Escaping::AllowUtf8, Escaping::Dots, Escaping::Values] {
            let mut out = Vec::new();
            Format::Text.encode_escaped(&refs, escaping, &mut out);
            assert_eq!(out, plain);
        }
    }

    #[test]
    fn openmetrics_quotes_too() {
        let families = unusual_names();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::OpenMetrics1.encode_escaped(&refs, Escaping::AllowUtf8, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("# HELP \"a.b\" Dotted.\n# TYPE \"a.b\" gauge\n{\"a.b\",\"l.m\"=\"v\",ok=\"w\"} 1.0\n"), "{text}");
    }
}
