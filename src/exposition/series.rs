//! The parts of a sample line both text formats share: escaping, and the
//! series (name, suffix and label set) that starts each line.

use std::borrow::Cow;

use super::names::{is_legacy_name, Escaping};
use crate::metrics::{Family, LabelValues, MetricType, Sample, SamplePart};

/// The names a family is written under: its own, or as the negotiated
/// escaping rewrites those outside the legacy character set.
pub(super) struct Names<'a> {
    /// The metric name.
    pub metric: Cow<'a, str>,
    /// The label names, in the family's (sorted) order.
    pub labels: Cow<'a, [Cow<'static, str>]>,
}

impl<'a> Names<'a> {
    /// The names of `family` under `escaping`. Most families have legacy
    /// names only, and borrow them.
    pub fn of(family: &'a Family, escaping: Escaping) -> Names<'a> {
        let label_names = family.label_names();
        let labels = if escaping == Escaping::AllowUtf8
            || label_names.iter().all(|name| is_legacy_name(name))
        {
            Cow::Borrowed(label_names)
        } else {
            Cow::Owned(
                label_names
                    .iter()
                    .map(|name| Cow::Owned(escaping.apply(name).into_owned()))
                    .collect(),
            )
        };
        Names {
            metric: escaping.apply(family.name()),
            labels,
        }
    }
}

/// What to escape in a string written into the exposition.
#[derive(Clone, Copy)]
pub(super) enum Escape {
    /// HELP text in format 0.0.4: backslash and newline.
    Help,
    /// Label values (and OpenMetrics HELP): backslash, newline, double quote.
    LabelValue,
}

pub(super) fn write_escaped(out: &mut Vec<u8>, s: &str, escape: Escape) {
    let mut rest = s.as_bytes();
    // Runs between escapes are copied whole: most strings have none.
    loop {
        let next = match escape {
            Escape::Help => memchr::memchr2(b'\\', b'\n', rest),
            Escape::LabelValue => memchr::memchr3(b'\\', b'\n', b'"', rest),
        };
        let Some(at) = next else {
            out.extend_from_slice(rest);
            return;
        };
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(match rest[at] {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            _ => b"\\\"",
        });
        rest = &rest[at + 1..];
    }
}

/// The `+Inf` bucket line client_golang's text writers add to a histogram
/// series that has none (its `+Inf` is the count), to be written before
/// `samples[at]` when that is the first line after the series' buckets.
pub(super) fn implied_inf_bucket(family: &Family, samples: &[Sample], at: usize) -> Option<Sample> {
    let sample = &samples[at];
    if family.metric_type() != MetricType::Histogram
        || matches!(sample.part, SamplePart::Bucket(_) | SamplePart::Value)
    {
        return None;
    }
    let same_series = |other: &Sample| family.label_values(other).eq(family.label_values(sample));
    let earlier = samples[..at].iter().rev().take_while(|s| same_series(s));
    let mut earlier_parts = earlier.map(|s| s.part).peekable();
    if matches!(
        earlier_parts.peek(),
        Some(SamplePart::Sum | SamplePart::Count)
    ) {
        return None;
    }
    if earlier_parts.any(|part| part == SamplePart::Bucket(f64::INFINITY)) {
        return None;
    }
    let count = samples[at..]
        .iter()
        .take_while(|s| same_series(s))
        .find(|s| s.part == SamplePart::Count)
        .map_or(0.0, |s| s.value);
    let mut inf = sample.clone();
    inf.part = SamplePart::Bucket(f64::INFINITY);
    inf.value = count;
    Some(inf)
}

/// Writes a name token: a legacy name as it is, any other between double
/// quotes with backslash, newline and quote escaped.
pub(super) fn write_name(out: &mut Vec<u8>, name: &str) {
    if is_legacy_name(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        out.push(b'"');
        write_escaped(out, name, Escape::LabelValue);
        out.push(b'"');
    }
}

/// Writes a sample's label set: the family's labels, then `extra` (the
/// `quantile` or `le` of a summary or histogram line, already formatted),
/// which client_golang always writes last.
fn write_labels(
    out: &mut Vec<u8>,
    names: &[Cow<'static, str>],
    values: LabelValues<'_>,
    extra: Option<(&str, &[u8])>,
) {
    if names.is_empty() && extra.is_none() {
        return;
    }
    out.push(b'{');
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_name(out, name);
        out.extend_from_slice(b"=\"");
        write_escaped(out, value, Escape::LabelValue);
        out.push(b'"');
    }
    if let Some((name, value)) = extra {
        if !names.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        out.extend_from_slice(value);
        out.push(b'"');
    }
    out.push(b'}');
}

/// Writes the start of a sample line: the family name with the suffix of
/// the sample's part (`_bucket`, `_sum`, `_count`) and the labels, with the
/// `quantile` or `le` bound of a summary or histogram line formatted by
/// `write_bound`. A name outside the legacy set goes quoted inside the
/// braces, first, as prometheus/common writes it.
pub(super) fn write_series(
    out: &mut Vec<u8>,
    names: &Names<'_>,
    family: &Family,
    sample: &Sample,
    write_bound: fn(&mut Vec<u8>, f64),
) {
    let (suffix, extra) = match sample.part {
        SamplePart::Value => ("", None),
        SamplePart::Quantile(q) => ("", Some(("quantile", q))),
        SamplePart::Bucket(le) => ("_bucket", Some(("le", le))),
        SamplePart::Sum => ("_sum", None),
        SamplePart::Count => ("_count", None),
    };
    let mut bound = Vec::new();
    let extra = extra.map(|(name, value)| {
        write_bound(&mut bound, value);
        (name, bound.as_slice())
    });
    if is_legacy_name(&names.metric) {
        out.extend_from_slice(names.metric.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        write_labels(out, &names.labels, family.label_values(sample), extra);
        return;
    }
    out.extend_from_slice(b"{\"");
    write_escaped(out, &names.metric, Escape::LabelValue);
    write_escaped(out, suffix, Escape::LabelValue);
    out.push(b'"');
    let labelled = !names.labels.is_empty() || extra.is_some();
    if labelled {
        // The label set's own brace is replaced by the comma after the name.
        let start = out.len();
        write_labels(out, &names.labels, family.label_values(sample), extra);
        out[start] = b',';
    } else {
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_outside_the_set_are_quoted() {
        let mut out = Vec::new();
        write_name(&mut out, "node_x");
        out.push(b' ');
        write_name(&mut out, "a.\"b\"\\\n");
        assert_eq!(String::from_utf8(out).unwrap(), r#"node_x "a.\"b\"\\\n""#);
    }
}
