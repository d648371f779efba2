//! The families one collector run produces, reusing the buffers of the
//! collector's last run.

use std::borrow::Cow;

use super::family::{Family, MetricType, Text};

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
        match self.families.iter().position(|f| f.name() == &*name) {
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
        families.sort_by(|a, b| a.name().cmp(b.name()));
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let buffer = earlier[0].samples().as_ptr();

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
            reused[0].samples().as_ptr(),
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
}
