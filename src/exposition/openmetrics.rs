//! OpenMetrics 1.0 text format, as client_golang writes it: counters are
//! declared without their `_total` suffix and sampled with it, untyped
//! families are `unknown`, and the body ends with `# EOF`.

use super::float::write_openmetrics_float;
use super::{write_escaped, Escape};
use crate::metrics::{Family, MetricType};

/// The Content-Type of OpenMetrics 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Appends families, already sorted by name, in OpenMetrics 1.0, including
/// the closing `# EOF` line.
pub fn encode(families: &[&Family], out: &mut Vec<u8>) {
    let mut previous: Option<&str> = None;
    for family in families {
        let is_counter = family.metric_type() == MetricType::Counter;
        let declared = if is_counter {
            family
                .name()
                .strip_suffix("_total")
                .unwrap_or(family.name())
        } else {
            family.name()
        };
        if previous != Some(family.name()) {
            out.extend_from_slice(b"# HELP ");
            out.extend_from_slice(declared.as_bytes());
            out.push(b' ');
            write_escaped(out, family.help(), Escape::LabelValue);
            out.extend_from_slice(b"\n# TYPE ");
            out.extend_from_slice(declared.as_bytes());
            out.extend_from_slice(match family.metric_type() {
                MetricType::Counter => b" counter\n",
                MetricType::Gauge => b" gauge\n",
                MetricType::Untyped => b" unknown\n",
            });
            previous = Some(family.name());
        }
        for sample in family.samples() {
            out.extend_from_slice(declared.as_bytes());
            if is_counter {
                out.extend_from_slice(b"_total");
            }
            super::write_labels(out, family.label_names(), &sample.label_values);
            out.push(b' ');
            write_openmetrics_float(out, sample.value);
            out.push(b'\n');
        }
    }
    out.extend_from_slice(b"# EOF\n");
}
