//! OpenMetrics 1.0 text format, as client_golang writes it: counters are
//! declared without their `_total` suffix and sampled with it (a counter
//! whose name lacks `_total` is declared `unknown` instead), untyped
//! families are `unknown`, bucket and count lines are integers, and the body
//! ends with `# EOF`.

use super::float::write_openmetrics_float;
use super::names::Escaping;
use super::series::{implied_inf_bucket, write_escaped, write_name, write_series, Escape, Names};
use crate::metrics::{Family, MetricType, SamplePart};

/// Appends families, already sorted by name, in OpenMetrics 1.0, their
/// names escaped as `escaping` says, including the closing `# EOF` line.
pub fn encode(families: &[&Family], escaping: Escaping, out: &mut Vec<u8>) {
    let mut previous: Option<&str> = None;
    for family in families {
        let names = Names::of(family, escaping);
        let total_stripped = match family.metric_type() {
            MetricType::Counter => names.metric.strip_suffix("_total"),
            _ => None,
        };
        let declared = total_stripped.unwrap_or(&names.metric);
        if previous != Some(family.name()) {
            out.extend_from_slice(b"# HELP ");
            write_name(out, declared);
            out.push(b' ');
            write_escaped(out, family.help(), Escape::LabelValue);
            out.extend_from_slice(b"\n# TYPE ");
            write_name(out, declared);
            out.extend_from_slice(match family.metric_type() {
                MetricType::Counter if total_stripped.is_some() => b" counter\n",
                MetricType::Gauge => b" gauge\n",
                MetricType::Counter | MetricType::Untyped => b" unknown\n",
                MetricType::Summary => b" summary\n",
                MetricType::Histogram => b" histogram\n",
            });
            previous = Some(family.name());
        }
        let samples = family.samples();
        for (at, sample) in samples.iter().enumerate() {
            let implied = implied_inf_bucket(family, samples, at);
            for sample in implied.iter().chain([sample]) {
                write_series(out, &names, family, sample, write_openmetrics_float);
                out.push(b' ');
                match sample.part {
                    // Bucket and sample counts are integers in client_golang's
                    // model, and OpenMetrics writes them as such.
                    SamplePart::Bucket(_) | SamplePart::Count => {
                        out.extend_from_slice(
                            itoa::Buffer::new().format(sample.value as u64).as_bytes(),
                        );
                    }
                    _ => write_openmetrics_float(out, sample.value),
                }
                out.push(b'\n');
            }
        }
    }
    out.extend_from_slice(b"# EOF\n");
}
