//! The parts of a sample line both formats share: escaping, and the series
//! (name, suffix and label set) that starts each line.

use std::borrow::Cow;

use crate::metrics::{Family, LabelValues, Sample, SamplePart};

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
        out.extend_from_slice(name.as_bytes());
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
/// `write_bound`.
pub(super) fn write_series(
    out: &mut Vec<u8>,
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
    out.extend_from_slice(family.name().as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    let mut bound = Vec::new();
    let extra = extra.map(|(name, value)| {
        write_bound(&mut bound, value);
        (name, bound.as_slice())
    });
    write_labels(
        out,
        family.label_names(),
        family.label_values(sample),
        extra,
    );
}
