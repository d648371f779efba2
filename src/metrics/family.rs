//! A metric family: its name, help, type and label names, and its samples,
//! each with its label values and which line of its series it is.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
/// The type of a metric family, as the exposition formats name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A monotonically increasing value (`counter`).
    Counter,
    /// A value that can go up and down (`gauge`).
    Gauge,
    /// A value of unknown semantics (`untyped` in text 0.0.4, `unknown` in
    /// OpenMetrics); node_exporter uses it for vmstat and netstat fields.
    Untyped,
    /// Quantiles plus a sum and a count, sampled as [`SamplePart::Quantile`],
    /// [`SamplePart::Sum`] and [`SamplePart::Count`] (only from textfiles).
    Summary,
    /// Cumulative buckets plus a sum and a count, sampled as
    /// [`SamplePart::Bucket`], [`SamplePart::Sum`] and [`SamplePart::Count`]
    /// (only from textfiles).
    Histogram,
}

/// A family's name or help: text fixed in the program, or text made from
/// host data and shared, so that a collector keeping the names it has built
/// hands them to every scrape without copying them.
#[derive(Clone)]
pub enum Text {
    /// Text in the program.
    Static(&'static str),
    /// Text built at run time.
    Shared(Arc<str>),
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Static(text) => text,
            Text::Shared(text) => text,
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        **self == **other
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Text {
        Text::Static(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::Shared(text.into())
    }
}

impl From<Arc<str>> for Text {
    fn from(text: Arc<str>) -> Text {
        Text::Shared(text)
    }
}

impl From<Cow<'static, str>> for Text {
    fn from(text: Cow<'static, str>) -> Text {
        match text {
            Cow::Borrowed(text) => Text::Static(text),
            Cow::Owned(text) => text.into(),
        }
    }
}

/// Which line of its family a sample is: the one value of a counter, gauge
/// or untyped series, or one component of a summary or histogram series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplePart {
    /// The value of a counter, gauge or untyped series.
    Value,
    /// A summary quantile, written `name{…,quantile="q"}`.
    Quantile(f64),
    /// A cumulative histogram bucket, written `name_bucket{…,le="bound"}`.
    Bucket(f64),
    /// A summary's or histogram's `name_sum`.
    Sum,
    /// A summary's or histogram's `name_count`.
    Count,
}

impl SamplePart {
    /// The order of a series' lines as client_golang writes them: quantiles
    /// or buckets by bound, then the sum, then the count.
    fn cmp_within_series(&self, other: &SamplePart) -> std::cmp::Ordering {
        fn rank(part: &SamplePart) -> (u8, f64) {
            match *part {
                SamplePart::Value => (0, 0.0),
                SamplePart::Quantile(bound) | SamplePart::Bucket(bound) => (0, bound),
                SamplePart::Sum => (1, 0.0),
                SamplePart::Count => (2, 0.0),
            }
        }
        let (a, b) = (rank(self), rank(other));
        a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
    }
}

/// One sample of a family: its value and which line of its series it is.
/// Its label values are kept by the family ([`Family::label_values`]).
#[derive(Debug, Clone)]
pub struct Sample {
    /// Where the sample's label values start in the family's list of them.
    first_label: u32,
    /// The sample value.
    pub value: f64,
    /// Which line of the series this is; [`SamplePart::Value`] except in
    /// summaries and histograms.
    pub part: SamplePart,
}

/// A metric family: name, help, type, label names and samples.
///
/// The samples' label values are stored back to back in one string rather
/// than as a vector of strings per sample: a scrape pushes hundreds of
/// samples, and two allocations each were a large share of its cost.
#[derive(Debug, Clone)]
pub struct Family {
    name: Text,
    help: Text,
    metric_type: MetricType,
    label_names: Vec<Cow<'static, str>>,
    /// Where each caller-order label value goes in the sorted order; empty
    /// when the caller's label names were already sorted.
    permutation: Vec<usize>,
    samples: Vec<Sample>,
    /// Every sample's label values, concatenated.
    label_text: String,
    /// The end of each label value in `label_text`; sample `s`'s values are
    /// entries `s.first_label ..` of it, one per label name.
    label_ends: Vec<u32>,
}

/// Families are equal when they hold the same series in the same order
/// (name, help, type, label names, and each sample's label values, part and
/// value), however their label values happen to be laid out.
impl PartialEq for Family {
    fn eq(&self, other: &Family) -> bool {
        self.name == other.name
            && self.help == other.help
            && self.metric_type == other.metric_type
            && self.label_names == other.label_names
            && self.samples.len() == other.samples.len()
            && self.samples.iter().zip(&other.samples).all(|(a, b)| {
                a.value == b.value
                    && a.part == b.part
                    && self.label_values(a).eq(other.label_values(b))
            })
    }
}

/// The label values of one sample, in the order of [`Family::label_names`].
#[derive(Debug, Clone)]
pub struct LabelValues<'a> {
    text: &'a str,
    ends: &'a [u32],
    start: usize,
}

impl<'a> Iterator for LabelValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (&end, rest) = self.ends.split_first()?;
        let value = &self.text[self.start..end as usize];
        self.start = end as usize;
        self.ends = rest;
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ends.len(), Some(self.ends.len()))
    }
}

impl ExactSizeIterator for LabelValues<'_> {}

/// The label values of the sample starting at `first` (see
/// [`Family::label_values`]), from the family's parts so that they can be
/// read while its samples are being sorted.
fn label_values_in<'a>(
    text: &'a str,
    ends: &'a [u32],
    first: u32,
    count: usize,
) -> LabelValues<'a> {
    let first = first as usize;
    let start = match first {
        0 => 0,
        _ => ends[first - 1] as usize,
    };
    LabelValues {
        text,
        ends: &ends[first..first + count],
        start,
    }
}

impl Family {
    /// A new, empty family. Label names may come in any order; they are stored
    /// sorted and [`Family::push`] reorders values to match.
    pub fn new<N, H, L>(name: N, help: H, metric_type: MetricType, label_names: &[L]) -> Family
    where
        N: Into<Text>,
        H: Into<Text>,
        L: Clone + Into<Cow<'static, str>>,
    {
        let mut family = Family {
            name: name.into(),
            help: help.into(),
            metric_type,
            label_names: Vec::with_capacity(label_names.len()),
            permutation: Vec::new(),
            samples: Vec::new(),
            label_text: String::new(),
            label_ends: Vec::new(),
        };
        family.set_label_names(label_names);
        family
    }

    /// Makes this family a new, empty one, as [`Family::new`] would, but
    /// keeping the capacity of its buffers: a collector builds much the same
    /// families every scrape, and reusing the last run's buffers spares the
    /// allocations of growing them again.
    pub(super) fn renew<N, H, L>(
        &mut self,
        name: N,
        help: H,
        metric_type: MetricType,
        label_names: &[L],
    ) where
        N: Into<Text>,
        H: Into<Text>,
        L: Clone + Into<Cow<'static, str>>,
    {
        self.name = name.into();
        self.help = help.into();
        self.metric_type = metric_type;
        self.samples.clear();
        self.label_text.clear();
        self.label_ends.clear();
        self.set_label_names(label_names);
    }

    /// Stores the label names sorted, and the permutation that puts values
    /// given in the caller's order into the sorted one.
    fn set_label_names<L>(&mut self, label_names: &[L])
    where
        L: Clone + Into<Cow<'static, str>>,
    {
        self.label_names.clear();
        self.label_names
            .extend(label_names.iter().cloned().map(Into::into));
        self.permutation.clear();
        // Most collectors give their label names sorted: keep those as they
        // are, without building an identity permutation.
        if self.label_names.windows(2).all(|w| w[0] < w[1]) {
            return;
        }
        let names = &self.label_names;
        self.permutation.extend(0..names.len());
        self.permutation.sort_by(|&a, &b| names[a].cmp(&names[b]));
        self.label_names.sort();
    }

    /// Adds a sample whose label values are given in the order the label
    /// names were given to [`Family::new`].
    ///
    /// A sample with the wrong number of values is a bug in the collector; it
    /// is dropped (debug builds panic) rather than corrupting the output.
    pub fn push<V: AsRef<str>>(&mut self, label_values: &[V], value: f64) {
        self.push_part(label_values, SamplePart::Value, value);
    }

    /// Adds one line of a summary or histogram series (or, with
    /// [`SamplePart::Value`], a plain sample), label values ordered as in
    /// [`Family::push`].
    pub fn push_part<V: AsRef<str>>(&mut self, label_values: &[V], part: SamplePart, value: f64) {
        if label_values.len() != self.label_names.len() {
            debug_assert!(false, "{}: wrong number of label values", &*self.name);
            return;
        }
        let first_label = self.label_ends.len() as u32;
        let mut append = |value: &str| {
            self.label_text.push_str(value);
            self.label_ends.push(self.label_text.len() as u32);
        };
        if self.permutation.is_empty() {
            label_values.iter().for_each(|v| append(v.as_ref()));
        } else {
            let order = &self.permutation;
            order.iter().for_each(|&i| append(label_values[i].as_ref()));
        }
        self.samples.push(Sample {
            first_label,
            value,
            part,
        });
    }

    /// The metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The help text.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The metric type.
    pub fn metric_type(&self) -> MetricType {
        self.metric_type
    }

    /// The label names, sorted.
    pub fn label_names(&self) -> &[Cow<'static, str>] {
        &self.label_names
    }

    /// The samples, in the order [`Family::sort_samples`] left them.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The label values of `sample` (one of [`Family::samples`]), in the
    /// order of [`Family::label_names`].
    pub fn label_values(&self, sample: &Sample) -> LabelValues<'_> {
        label_values_in(
            &self.label_text,
            &self.label_ends,
            sample.first_label,
            self.label_names.len(),
        )
    }

    /// Keeps only the samples for which `keep` is true, in their order.
    pub fn retain_samples(&mut self, mut keep: impl FnMut(&Family, &Sample) -> bool) {
        let mut samples = std::mem::take(&mut self.samples);
        samples.retain(|sample| keep(self, sample));
        self.samples = samples;
    }

    /// Whether the family has no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// About how many heap bytes the family holds: its buffers' capacities
    /// and the texts it does not share with a collector.
    pub fn heap_bytes(&self) -> usize {
        let text = |text: &Text| match text {
            Text::Static(_) => 0,
            Text::Shared(text) => text.len(),
        };
        text(&self.name)
            + text(&self.help)
            + self.label_names.capacity() * std::mem::size_of::<Cow<'static, str>>()
            + self.permutation.capacity() * std::mem::size_of::<usize>()
            + self.samples.capacity() * std::mem::size_of::<Sample>()
            + self.label_text.capacity()
            + self.label_ends.capacity() * std::mem::size_of::<u32>()
    }

    /// Sorts samples by label values (the lines of one summary or histogram
    /// series in their written order) and drops later duplicates of a line,
    /// as client_golang refuses a series collected twice.
    pub fn sort_samples(&mut self) {
        let count = self.label_names.len();
        let (text, ends) = (self.label_text.as_str(), self.label_ends.as_slice());
        let labels = |sample: &Sample| label_values_in(text, ends, sample.first_label, count);
        let order = |a: &Sample, b: &Sample| {
            labels(a)
                .cmp(labels(b))
                .then_with(|| a.part.cmp_within_series(&b.part))
        };
        // Collectors mostly push in order already: one comparison per pair
        // then settles both the order and the absence of duplicates.
        if self.samples.is_sorted_by(|a, b| order(a, b).is_lt()) {
            return;
        }
        self.samples.sort_by(order);
        self.samples
            .dedup_by(|later, earlier| order(later, earlier).is_eq());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_sorted_and_values_follow() {
        let mut f = Family::new("x", "h", MetricType::Gauge, &["mode", "cpu"]);
        f.push(&["idle", "0"], 1.0);
        assert_eq!(f.label_names(), &["cpu", "mode"]);
        let values: Vec<&str> = f.label_values(&f.samples()[0]).collect();
        assert_eq!(values, vec!["0", "idle"]);
    }
    #[test]
    fn samples_sort_by_label_values_as_strings_and_dedup() {
        let mut f = Family::new("x", "h", MetricType::Gauge, &["cpu"]);
        for (cpu, v) in [("2", 2.0), ("10", 10.0), ("1", 1.0), ("2", 99.0)] {
            f.push(&[cpu], v);
        }
        f.sort_samples();
        let order: Vec<_> = f
            .samples()
            .iter()
            .map(|s| (f.label_values(s).next().unwrap(), s.value))
            .collect();
        assert_eq!(order, vec![("1", 1.0), ("10", 10.0), ("2", 2.0)]);
    }
    #[test]
    fn summary_and_histogram_lines_sort_within_their_series() {
        let mut f = Family::new("h", "h", MetricType::Histogram, &["job"]);
        f.push_part(&["b"], SamplePart::Count, 3.0);
        f.push_part(&["b"], SamplePart::Bucket(f64::INFINITY), 3.0);
        f.push_part(&["b"], SamplePart::Sum, 9.5);
        f.push_part(&["b"], SamplePart::Bucket(0.5), 1.0);
        f.push_part(&["a"], SamplePart::Count, 1.0);
        f.push_part(&["b"], SamplePart::Bucket(0.5), 2.0);
        f.sort_samples();
        let lines: Vec<_> = f
            .samples()
            .iter()
            .map(|s| (f.label_values(s).next().unwrap(), s.part, s.value))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("a", SamplePart::Count, 1.0),
                ("b", SamplePart::Bucket(0.5), 1.0),
                ("b", SamplePart::Bucket(f64::INFINITY), 3.0),
                ("b", SamplePart::Sum, 9.5),
                ("b", SamplePart::Count, 3.0),
            ],
            "sorted by labels, then bound, sum, count; the repeated bucket dropped"
        );
    }
    #[test]
    fn families_compare_by_their_series_not_their_layout() {
        let mut pushed_in_order = Family::new("x", "h", MetricType::Gauge, &["a", "b"]);
        pushed_in_order.push(&["1", "x"], 1.0);
        pushed_in_order.push(&["2", "y"], 2.0);
        let mut pushed_reversed = Family::new("x", "h", MetricType::Gauge, &["a", "b"]);
        pushed_reversed.push(&["2", "y"], 2.0);
        pushed_reversed.push(&["1", "x"], 1.0);
        assert_ne!(pushed_in_order, pushed_reversed, "samples in another order");
        pushed_reversed.sort_samples();
        assert_eq!(pushed_in_order, pushed_reversed);
        let mut other_value = pushed_in_order.clone();
        other_value.push(&["3", "z"], 3.0);
        assert_ne!(pushed_in_order, other_value);
        let mut split_differently = Family::new("x", "h", MetricType::Gauge, &["a", "b"]);
        split_differently.push(&["1x", ""], 1.0);
        split_differently.push(&["2", "y"], 2.0);
        assert_ne!(pushed_in_order, split_differently);
    }
}
