//! Prometheus text exposition format 0.0.4, as client_golang writes it.

use super::float::write_go_float;
use super::names::Escaping;
use super::series::{implied_inf_bucket, write_escaped, write_name, write_series, Escape, Names};
use crate::metrics::{Family, MetricType};

/// Appends families, already sorted by name, in text format 0.0.4, their
/// names escaped as `escaping` says. Families sharing a name (from
/// different collectors) are written under one header.
pub fn encode(families: &[&Family], escaping: Escaping, out: &mut Vec<u8>) {
    let mut previous: Option<&str> = None;
    for family in families {
        let names = Names::of(family, escaping);
        if previous != Some(family.name()) {
            out.extend_from_slice(b"# HELP ");
            write_name(out, &names.metric);
            out.push(b' ');
            write_escaped(out, family.help(), Escape::Help);
            out.extend_from_slice(b"\n# TYPE ");
            write_name(out, &names.metric);
            out.extend_from_slice(match family.metric_type() {
                MetricType::Counter => b" counter\n",
                MetricType::Gauge => b" gauge\n",
                MetricType::Untyped => b" untyped\n",
                MetricType::Summary => b" summary\n",
                MetricType::Histogram => b" histogram\n",
            });
            previous = Some(family.name());
        }
        let samples = family.samples();
        for (at, sample) in samples.iter().enumerate() {
            let implied = implied_inf_bucket(family, samples, at);
            for sample in implied.iter().chain([sample]) {
                write_series(out, &names, family, sample, write_go_float);
                out.push(b' ');
                write_go_float(out, sample.value);
                out.push(b'\n');
            }
        }
    }
}
