//! The delimited protobuf format: each family one
//! `io.prometheus.client.MetricFamily` message of client_model's
//! `metrics.proto`, preceded by its length as a varint.
//!
//! The fields are those client_golang sets for node_exporter's metrics,
//! which are all constant metrics: the family's name, help (even when empty)
//! and type; per metric the label pairs sorted by name and one of gauge,
//! counter, untyped, summary (count, sum, quantiles by rank) or histogram
//! (count, sum, buckets by bound); no timestamps, exemplars, units or
//! created timestamps. Fields go in field-number order, as Go's protobuf
//! library writes them, so the bytes are client_golang's.

use super::names::Escaping;
use super::series::Names;
use crate::metrics::{Family, MetricType, Sample, SamplePart};

/// Wire type of varints.
const VARINT: u8 = 0;
/// Wire type of doubles.
const FIXED64: u8 = 1;
/// Wire type of strings and messages.
const LEN: u8 = 2;

/// A field's key; every field number here is below 16, so it is one byte.
const fn key(field: u8, wire_type: u8) -> u8 {
    field << 3 | wire_type
}

/// `MetricFamily` fields.
const FAMILY_NAME: u8 = key(1, LEN);
const FAMILY_HELP: u8 = key(2, LEN);
const FAMILY_TYPE: u8 = key(3, VARINT);
const FAMILY_METRIC: u8 = key(4, LEN);
/// `Metric` fields.
const METRIC_LABEL: u8 = key(1, LEN);
const METRIC_GAUGE: u8 = key(2, LEN);
const METRIC_COUNTER: u8 = key(3, LEN);
const METRIC_SUMMARY: u8 = key(4, LEN);
const METRIC_UNTYPED: u8 = key(5, LEN);
const METRIC_HISTOGRAM: u8 = key(7, LEN);
/// `LabelPair` fields.
const LABEL_NAME: u8 = key(1, LEN);
const LABEL_VALUE: u8 = key(2, LEN);
/// The `value` of `Gauge`, `Counter` and `Untyped`.
const VALUE: u8 = key(1, FIXED64);
/// `Summary` and `Histogram` fields.
const SAMPLE_COUNT: u8 = key(1, VARINT);
const SAMPLE_SUM: u8 = key(2, FIXED64);
const QUANTILE_OR_BUCKET: u8 = key(3, LEN);
/// `Quantile` fields.
const QUANTILE_RANK: u8 = key(1, FIXED64);
const QUANTILE_VALUE: u8 = key(2, FIXED64);
/// `Bucket` fields.
const BUCKET_COUNT: u8 = key(1, VARINT);
const BUCKET_BOUND: u8 = key(2, FIXED64);

/// Scratch buffers for the nested messages, whose lengths precede them.
#[derive(Default)]
struct Scratch {
    family: Vec<u8>,
    metric: Vec<u8>,
    value: Vec<u8>,
}

/// Appends families, already sorted by name, in the delimited protobuf
/// format, their names escaped as `escaping` says. Families sharing a name
/// (from different collectors) become one message, as client_golang's
/// registry gathers them.
pub fn encode(families: &[&Family], escaping: Escaping, out: &mut Vec<u8>) {
    let mut scratch = Scratch::default();
    let mut rest = families;
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .take_while(|family| family.name() == first.name())
            .count();
        let (same_name, after) = rest.split_at(len);
        rest = after;
        if same_name.iter().all(|family| family.is_empty()) {
            continue;
        }
        let body = &mut scratch.family;
        body.clear();
        let names = Names::of(first, escaping);
        put_bytes(body, FAMILY_NAME, names.metric.as_bytes());
        put_bytes(body, FAMILY_HELP, first.help().as_bytes());
        body.push(FAMILY_TYPE);
        body.push(type_number(first.metric_type()));
        for family in same_name {
            let names = Names::of(family, escaping);
            put_metrics(family, &names, &mut scratch);
        }
        put_varint(out, scratch.family.len() as u64);
        out.extend_from_slice(&scratch.family);
    }
}

/// The `MetricType` enum's number for a type.
fn type_number(metric_type: MetricType) -> u8 {
    match metric_type {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Summary => 2,
        MetricType::Untyped => 3,
        MetricType::Histogram => 4,
    }
}

/// Appends one `Metric` per series of `family` to the family message:
/// one per sample, or one per run of a summary's or histogram's lines that
/// share a label set.
fn put_metrics(family: &Family, names: &Names<'_>, scratch: &mut Scratch) {
    let samples = family.samples();
    let mut start = 0;
    while start < samples.len() {
        let end = match family.metric_type() {
            MetricType::Summary | MetricType::Histogram => {
                let labels = family.label_values(&samples[start]);
                start
                    + samples[start..]
                        .iter()
                        .take_while(|s| family.label_values(s).eq(labels.clone()))
                        .count()
            }
            _ => start + 1,
        };
        let metric = &mut scratch.metric;
        metric.clear();
        for (name, value) in names
            .labels
            .iter()
            .zip(family.label_values(&samples[start]))
        {
            put_label_pair(metric, name, value);
        }
        let series = &samples[start..end];
        match family.metric_type() {
            MetricType::Gauge => put_single_value(metric, METRIC_GAUGE, series[0].value),
            MetricType::Counter => put_single_value(metric, METRIC_COUNTER, series[0].value),
            MetricType::Untyped => put_single_value(metric, METRIC_UNTYPED, series[0].value),
            MetricType::Summary => {
                put_distribution(&mut scratch.value, series);
                put_bytes(metric, METRIC_SUMMARY, &scratch.value);
            }
            MetricType::Histogram => {
                put_distribution(&mut scratch.value, series);
                put_bytes(metric, METRIC_HISTOGRAM, &scratch.value);
            }
        }
        put_bytes(&mut scratch.family, FAMILY_METRIC, &scratch.metric);
        start = end;
    }
}

/// Writes the body of a `Summary` or `Histogram` from the lines of one
/// series: sample count, sample sum, then each quantile or bucket in the
/// order of their bounds (the order the family keeps them in). A missing
/// sum or count is 0, as client_golang always sets both.
fn put_distribution(out: &mut Vec<u8>, series: &[Sample]) {
    out.clear();
    let part_value = |wanted: SamplePart| {
        series
            .iter()
            .find(|s| s.part == wanted)
            .map_or(0.0, |s| s.value)
    };
    out.push(SAMPLE_COUNT);
    put_varint(out, count(part_value(SamplePart::Count)));
    put_double(out, SAMPLE_SUM, part_value(SamplePart::Sum));
    for sample in series {
        match sample.part {
            SamplePart::Quantile(rank) => {
                out.push(QUANTILE_OR_BUCKET);
                out.push(18);
                put_double(out, QUANTILE_RANK, rank);
                put_double(out, QUANTILE_VALUE, sample.value);
            }
            SamplePart::Bucket(bound) => {
                let cumulative = count(sample.value);
                out.push(QUANTILE_OR_BUCKET);
                put_varint(out, 1 + varint_len(cumulative) as u64 + 9);
                out.push(BUCKET_COUNT);
                put_varint(out, cumulative);
                put_double(out, BUCKET_BOUND, bound);
            }
            SamplePart::Value | SamplePart::Sum | SamplePart::Count => {}
        }
    }
}

/// A count kept as a float in the model, as the integer the format holds
/// (a negative or NaN count, which no parser gives, becomes 0).
fn count(value: f64) -> u64 {
    value as u64
}

/// A `Gauge`, `Counter` or `Untyped` message holding `value`.
fn put_single_value(out: &mut Vec<u8>, field: u8, value: f64) {
    out.push(field);
    out.push(9);
    put_double(out, VALUE, value);
}

fn put_label_pair(out: &mut Vec<u8>, name: &str, value: &str) {
    let len = 2
        + varint_len(name.len() as u64)
        + name.len()
        + varint_len(value.len() as u64)
        + value.len();
    out.push(METRIC_LABEL);
    put_varint(out, len as u64);
    put_bytes(out, LABEL_NAME, name.as_bytes());
    put_bytes(out, LABEL_VALUE, value.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, key: u8, bytes: &[u8]) {
    out.push(key);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_double(out: &mut Vec<u8>, key: u8, value: f64) {
    out.push(key);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Base 128, least significant group first, the high bit marking that
/// more follow.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricSet;

    /// Splits a delimited stream into its messages.
    fn frames(mut bytes: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (len, used) = read_varint(bytes);
            out.push(&bytes[used..used + len as usize]);
            bytes = &bytes[used + len as usize..];
        }
        out
    }

    fn read_varint(bytes: &[u8]) -> (u64, usize) {
        let mut value = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return (value, i + 1);
            }
        }
        panic!("truncated varint");
    }

    #[test]
    fn varints() {
        for (value, bytes) in [
            (0u64, vec![0u8]),
            (1, vec![1]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
            (u64::MAX, vec![0xff; 9].into_iter().chain([1]).collect()),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(varint_len(value), bytes.len(), "{value}");
            assert_eq!(read_varint(&out), (value, bytes.len()));
        }
    }

    #[test]
    fn a_gauge_family_is_client_golangs_bytes() {
        let mut set = MetricSet::new();
        set.family("up", "", MetricType::Gauge, &["job"])
            .push(&["a"], 1.0);
        let families = set.into_sorted();
        let mut out = Vec::new();
        encode(&[&families[0]], Escaping::Underscores, &mut out);
        let mut want = vec![0x0a, 2, b'u', b'p', 0x12, 0, 0x18, 1, 0x22, 21];
        want.extend([0x0a, 8, 0x0a, 3, b'j', b'o', b'b', 0x12, 1, b'a']);
        want.extend([0x12, 9, 0x09]);
        want.extend(1.0f64.to_le_bytes());
        let mut framed = vec![want.len() as u8];
        framed.extend(want);
        assert_eq!(out, framed);
    }

    #[test]
    fn counters_untyped_summaries_and_histograms() {
        let mut set = MetricSet::new();
        set.counter("c_total", "C.", -0.0);
        set.untyped("u", "U.", 7.5);
        let s = set.family("s", "S.", MetricType::Summary, &[] as &[&str]);
        s.push_part::<&str>(&[], SamplePart::Quantile(0.5), 2.0);
        s.push_part::<&str>(&[], SamplePart::Sum, 3.0);
        s.push_part::<&str>(&[], SamplePart::Count, 300.0);
        let h = set.family("h", "H.", MetricType::Histogram, &["a"]);
        for a in ["x", "y"] {
            h.push_part(&[a], SamplePart::Bucket(1.0), 1.0);
            h.push_part(&[a], SamplePart::Bucket(f64::INFINITY), 2.0);
            h.push_part(&[a], SamplePart::Sum, 0.25);
            h.push_part(&[a], SamplePart::Count, 2.0);
        }
        let families = set.into_sorted();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        encode(&refs, Escaping::Underscores, &mut out);
        let messages = frames(&out);
        assert_eq!(messages.len(), 4);
        // c_total: counter (type 0 written), value -0 kept bit for bit.
        let c = messages[0];
        assert!(c.starts_with(&[0x0a, 7]));
        assert!(c.windows(2).any(|w| w == [0x18, 0]));
        let mut counter = vec![0x22, 11, 0x1a, 9, 0x09];
        counter.extend((-0.0f64).to_le_bytes());
        assert!(c.ends_with(&counter));
        // h: two metrics, each with its label, count, sum and two buckets.
        let h = messages[1];
        assert_eq!(
            h.windows(2).filter(|w| *w == [0x22, 47]).count(),
            2,
            "{h:?}"
        );
        let mut bucket = vec![0x1a, 11, 0x08, 2, 0x11];
        bucket.extend(f64::INFINITY.to_le_bytes());
        assert!(h.windows(bucket.len()).any(|w| w == bucket));
        // s: count 300 as a two-byte varint, then sum, then the quantile.
        let mut summary = vec![0x22, 34, 0x22, 32, 0x08, 0xac, 0x02, 0x11];
        summary.extend(3.0f64.to_le_bytes());
        summary.extend([0x1a, 18, 0x09]);
        summary.extend(0.5f64.to_le_bytes());
        summary.push(0x11);
        summary.extend(2.0f64.to_le_bytes());
        assert!(messages[2].ends_with(&summary), "{:?}", messages[2]);
        // u: untyped is type 3, field 5.
        assert!(messages[3].windows(2).any(|w| w == [0x18, 3]));
        assert!(messages[3].windows(3).any(|w| w == [0x2a, 9, 0x09]));
    }

    #[test]
    fn same_name_families_make_one_message_and_empty_ones_none() {
        let mut a = MetricSet::new();
        a.family("x", "h", MetricType::Gauge, &["c"])
            .push(&["a"], 1.0);
        let mut b = MetricSet::new();
        b.family("x", "h", MetricType::Gauge, &["c"])
            .push(&["b"], 2.0);
        let empty = Family::new("w", "h", MetricType::Gauge, &[] as &[&str]);
        let (a, b) = (a.into_sorted(), b.into_sorted());
        let mut out = Vec::new();
        encode(&[&empty, &a[0], &b[0]], Escaping::Underscores, &mut out);
        let messages = frames(&out);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].windows(1).filter(|w| w[0] == 0x22).count(), 2);
    }

    #[test]
    fn names_are_escaped_as_asked() {
        let family = {
            let mut set = MetricSet::new();
            set.family("a.b", "h", MetricType::Gauge, &["l.m"])
                .push(&["v"], 1.0);
            set.into_sorted().remove(0)
        };
        let encoded = |escaping| {
            let mut out = Vec::new();
            encode(&[&family], escaping, &mut out);
            out
        };
        let contains = |out: &[u8], s: &str| out.windows(s.len()).any(|w| w == s.as_bytes());
        let values = encoded(Escaping::Values);
        assert!(contains(&values, "U__a_2e_b") && contains(&values, "U__l_2e_m"));
        let utf8 = encoded(Escaping::AllowUtf8);
        assert!(contains(&utf8, "a.b") && contains(&utf8, "l.m"));
        let underscores = encoded(Escaping::Underscores);
        assert!(contains(&underscores, "a_b") && !contains(&underscores, "a.b"));
    }
}
