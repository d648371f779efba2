//! The metric families a collector produces: a small, owned model that the
//! encoders in [`crate::exposition`] write out in either text format.
//!
//! Families carry their label names once; samples carry only values. Label
//! names are kept sorted, and samples sorted by label values, because that is
//! the order node_exporter (client_golang) writes and what makes output
//! deterministic.
//!
//! May import: the standard library only.

mod desc;
mod family;
mod name;
mod set;

pub use desc::Desc;
pub use family::{Family, LabelValues, MetricType, Sample, SamplePart, Text};
pub use name::{is_name_fragment, sanitize_name};
pub use set::MetricSet;
