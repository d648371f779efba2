//! A metric family as a collector declares it in a table: its name, help
//! and type, with where its value comes from.

use super::family::{Family, MetricType};
use super::set::MetricSet;

/// One row of a collector's table of metric families, as client_golang's
/// `prometheus.Desc` with what the collector reads for it: `name` (the full
/// name, or the part after a prefix the collector adds), `help`, the
/// `metric_type`, and `source`, which the collector defines: a kernel key or
/// file name, a position in a line, a function of a parsed record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Desc<S> {
    /// The family name, or its part after the collector's prefix.
    pub name: &'static str,
    /// The help text, as node_exporter's.
    pub help: &'static str,
    /// The family type.
    pub metric_type: MetricType,
    /// Where the value comes from.
    pub source: S,
}

impl<S> Desc<S> {
    /// A counter read from `source`.
    pub const fn counter(name: &'static str, help: &'static str, source: S) -> Desc<S> {
        Desc::new(name, help, MetricType::Counter, source)
    }

    /// A gauge read from `source`.
    pub const fn gauge(name: &'static str, help: &'static str, source: S) -> Desc<S> {
        Desc::new(name, help, MetricType::Gauge, source)
    }

    /// An untyped metric read from `source`.
    pub const fn untyped(name: &'static str, help: &'static str, source: S) -> Desc<S> {
        Desc::new(name, help, MetricType::Untyped, source)
    }

    /// A family of type `metric_type` read from `source`.
    pub const fn new(
        name: &'static str,
        help: &'static str,
        metric_type: MetricType,
        source: S,
    ) -> Desc<S> {
        Desc {
            name,
            help,
            metric_type,
            source,
        }
    }

    /// Adds this family (with its full name) to `out` with one label-less
    /// sample.
    pub fn single(&self, out: &mut MetricSet, value: f64) {
        out.single(self.name, self.help, self.metric_type, value);
    }

    /// Starts this family (with its full name) in `out`, with `label_names`.
    pub fn family<'a>(
        &self,
        out: &'a mut MetricSet,
        label_names: &[&'static str],
    ) -> &'a mut Family {
        out.family(self.name, self.help, self.metric_type, label_names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_starts_its_family() {
        const ROWS: &[Desc<usize>] = &[
            Desc::counter("node_a_total", "A.", 0),
            Desc::gauge("node_b", "B.", 1),
            Desc::untyped("node_c", "C.", 2),
        ];
        let mut out = MetricSet::new();
        for row in ROWS {
            row.family(&mut out, &["device"])
                .push(&["sda"], row.source as f64);
        }
        let families = out.into_sorted();
        let described: Vec<_> = families
            .iter()
            .map(|f| (f.name(), f.help(), f.metric_type(), f.samples()[0].value))
            .collect();
        assert_eq!(
            described,
            [
                ("node_a_total", "A.", MetricType::Counter, 0.0),
                ("node_b", "B.", MetricType::Gauge, 1.0),
                ("node_c", "C.", MetricType::Untyped, 2.0),
            ]
        );
    }
}
