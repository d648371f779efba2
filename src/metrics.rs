//! The metric families a collector produces: a small, owned model that the
//! encoders in [`crate::exposition`] write out in either text format.
//!
//! Families carry their label names once; samples carry only values. Label
//! names are kept sorted, and samples sorted by label values, because that is
//! the order node_exporter (client_golang) writes and what makes output
//! deterministic.

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
    fn renew<N, H, L>(&mut self, name: N, help: H, metric_type: MetricType, label_names: &[L])
    where
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

    /// Whether the family has no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
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

/// The families one collector produced in one run.
#[derive(Debug, Default)]
pub struct MetricSet {
    families: Vec<Family>,
    /// Families of an earlier run, in the order they were created, whose
    /// buffers the families started next take over (see
    /// [`MetricSet::reusing`]).
    spare: std::vec::IntoIter<Family>,
}

impl MetricSet {
    /// An empty set.
    pub fn new() -> MetricSet {
        MetricSet::default()
    }

    /// An empty set whose families reuse the buffers of `earlier`, what
    /// [`MetricSet::into_finished`] returned for an earlier run of the same
    /// collector: the n-th family started takes over the n-th family's
    /// buffers, which a collector that builds its families in the same order
    /// every run has already grown to the right size.
    pub fn reusing(earlier: Vec<Family>) -> MetricSet {
        MetricSet {
            families: Vec::with_capacity(earlier.len()),
            spare: earlier.into_iter(),
        }
    }

    /// Starts a new family with labels and returns it for samples to be
    /// pushed; the family is kept even if it stays empty (and is then not
    /// written out).
    pub fn family<N, H, L>(
        &mut self,
        name: N,
        help: H,
        metric_type: MetricType,
        label_names: &[L],
    ) -> &mut Family
    where
        N: Into<Text>,
        H: Into<Text>,
        L: Clone + Into<Cow<'static, str>>,
    {
        let family = match self.spare.next() {
            Some(mut family) => {
                family.renew(name, help, metric_type, label_names);
                family
            }
            None => Family::new(name, help, metric_type, label_names),
        };
        self.families.push(family);
        self.families.last_mut().expect("just pushed")
    }

    /// The family named `name` if one was started already (its help, type
    /// and label names stay as first given), else a new one: for families
    /// whose names come from host data and recur across devices or files.
    pub fn family_named<N, H, L>(
        &mut self,
        name: N,
        help: H,
        metric_type: MetricType,
        label_names: &[L],
    ) -> &mut Family
    where
        N: Into<Text>,
        H: Into<Text>,
        L: Clone + Into<Cow<'static, str>>,
    {
        let name = name.into();
        match self.families.iter().position(|f| f.name == name) {
            Some(index) => &mut self.families[index],
            None => self.family(name, help, metric_type, label_names),
        }
    }

    /// Adds a family that has one label-less sample.
    pub fn single<N, H>(&mut self, name: N, help: H, metric_type: MetricType, value: f64)
    where
        N: Into<Text>,
        H: Into<Text>,
    {
        self.family::<_, _, &'static str>(name, help, metric_type, &[])
            .push::<&str>(&[], value);
    }

    /// Adds a label-less gauge.
    pub fn gauge<N, H>(&mut self, name: N, help: H, value: f64)
    where
        N: Into<Text>,
        H: Into<Text>,
    {
        self.single(name, help, MetricType::Gauge, value);
    }

    /// Adds a label-less counter.
    pub fn counter<N, H>(&mut self, name: N, help: H, value: f64)
    where
        N: Into<Text>,
        H: Into<Text>,
    {
        self.single(name, help, MetricType::Counter, value);
    }

    /// Adds a label-less untyped metric.
    pub fn untyped<N, H>(&mut self, name: N, help: H, value: f64)
    where
        N: Into<Text>,
        H: Into<Text>,
    {
        self.single(name, help, MetricType::Untyped, value);
    }

    /// The families added so far.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// Finishes the set for encoding: drops empty families, sorts each
    /// family's samples and the families by name.
    pub fn into_sorted(self) -> Vec<Family> {
        let mut families = self.into_finished();
        families.retain(|f| !f.is_empty());
        families.sort_by(|a, b| a.name.cmp(&b.name));
        families
    }

    /// Finishes the set for a scrape: sorts each family's samples, and keeps
    /// every family, empty ones too, in the order they were started, so
    /// that [`MetricSet::reusing`] can hand their buffers to the next run.
    /// Encoding skips empty families and orders families by name.
    pub fn into_finished(mut self) -> Vec<Family> {
        for family in &mut self.families {
            family.sort_samples();
        }
        self.families
    }
}

/// Turns an arbitrary string into a valid metric-name fragment the way
/// node_exporter does: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub fn sanitize_name(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `fragment` can be used as is in a metric name (`[a-zA-Z0-9_]+`):
/// collectors that turn kernel keys into names skip keys that cannot.
pub fn is_name_fragment(fragment: &str) -> bool {
    !fragment.is_empty()
        && fragment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
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

    #[test]
    fn into_sorted_drops_empty_families_and_sorts_by_name() {
        let mut set = MetricSet::new();
        set.gauge("b", "h", 1.0);
        set.family("c", "h", MetricType::Gauge, &["l"]);
        set.counter("a_total", "h", 2.0);
        let names: Vec<_> = set
            .into_sorted()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert_eq!(names, vec!["a_total", "b"]);
    }

    #[test]
    fn a_set_reusing_an_earlier_run_takes_over_its_buffers_and_nothing_else() {
        let mut earlier = MetricSet::new();
        let disks = earlier.family("node_disk", "Disks.", MetricType::Counter, &["device", "b"]);
        for device in ["sda", "sdb", "sdc"] {
            disks.push(&[device, "x"], 1.0);
        }
        earlier.family("node_empty", "Empty.", MetricType::Gauge, &["a"]);
        earlier.gauge("node_one", "One.", 1.0);
        let earlier = earlier.into_finished();
        assert_eq!(earlier.len(), 3, "empty families are kept for reuse");
        let buffer = earlier[0].samples.as_ptr();

        let build = |set: &mut MetricSet| {
            let cpus = set.family("node_cpu", "CPUs.", MetricType::Gauge, &["mode", "cpu"]);
            cpus.push(&["user", "0"], 2.0);
            cpus.push(&["idle", "0"], 3.0);
            set.counter("node_two", "Two.", 2.0);
            set.family("node_more", "More.", MetricType::Gauge, &["z"])
                .push(&["1"], 4.0);
            set.gauge("node_three", "Three.", 3.0);
        };
        let mut reusing = MetricSet::reusing(earlier);
        build(&mut reusing);
        let mut fresh = MetricSet::new();
        build(&mut fresh);
        let reused = reusing.into_finished();
        assert_eq!(reused, fresh.into_finished());
        assert_eq!(
            reused[0].samples.as_ptr(),
            buffer,
            "took over the first family's buffer"
        );
        assert_eq!(reused[0].label_names(), ["cpu", "mode"]);
        let values: Vec<Vec<&str>> = reused[0]
            .samples()
            .iter()
            .map(|s| reused[0].label_values(s).collect())
            .collect();
        assert_eq!(values, [["0", "idle"], ["0", "user"]]);
    }

    #[test]
    fn family_named_reuses_a_family_of_the_same_name() {
        let mut set = MetricSet::new();
        set.family_named("x", "first", MetricType::Untyped, &["pool"])
            .push(&["a"], 1.0);
        set.family_named("x", "second", MetricType::Gauge, &["pool"])
            .push(&["b"], 2.0);
        set.family_named("y", "other", MetricType::Untyped, &["pool"])
            .push(&["a"], 3.0);
        let families = set.into_sorted();
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].help(), "first");
        assert_eq!(families[0].metric_type(), MetricType::Untyped);
        assert_eq!(families[0].samples().len(), 2);
    }

    #[test]
    fn name_fragments() {
        assert!(is_name_fragment("Active_anon_bytes"));
        assert!(is_name_fragment("nr_free_pages"));
        assert!(!is_name_fragment(""));
        assert!(!is_name_fragment("Active(anon)"));
        assert!(!is_name_fragment("two words"));
        assert!(!is_name_fragment("caf\u{e9}"));
    }

    #[test]
    fn sanitize_replaces_non_name_characters() {
        assert_eq!(sanitize_name("Active(anon)"), "Active_anon_");
        assert_eq!(sanitize_name("a.b-c"), "a_b_c");
    }
}
