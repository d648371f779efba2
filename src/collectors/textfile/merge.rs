//! Gathering the families of many textfiles into one consistent set.
//!
//! As node_exporter (through client_golang's registry) does, what
//! contradicts the families accepted before it is dropped alone, and the
//! rest of its file is kept: a family of another type or help than the same
//! metric in an earlier file, a family named like another's summary or
//! histogram lines, a series already seen. A help text that contradicts an
//! earlier one is also an error of the scrape (`node_textfile_scrape_error`
//! 1), and from then on every later family of that name is dropped as
//! inconsistent, whatever its help: node_exporter's textfile collector
//! checks help texts itself and keeps the conflict once it has seen one. Files are taken in name order and
//! a file's families in the order they first appear, so the output never
//! depends on chance. Within a file, samples of a family that lack labels
//! its other samples have get them with empty values, as node_exporter does.

use std::collections::{HashMap, HashSet};

use super::text_format::{ParsedFamily, SeriesValue};
use crate::metrics::{Family, MetricSet, MetricType, SamplePart};

/// The mtime of each file read, written by the collector itself.
pub const MTIME_METRIC: &str = "node_textfile_mtime_seconds";
/// Whether any file failed, written by the collector itself.
pub const SCRAPE_ERROR_METRIC: &str = "node_textfile_scrape_error";

/// Label names and values, sorted by name.
type LabelSet = Vec<(String, String)>;

/// What [`Textfiles::add`] left out of one file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Families and series dropped as client_golang drops them; the
    /// scrape still succeeds.
    pub dropped: Vec<String>,
    /// Families dropped for a help text inconsistent with an earlier file's;
    /// each makes the scrape an error, as node_exporter counts it.
    pub inconsistent_help: Vec<String>,
}

/// Why a family was refused.
enum Refusal {
    /// Dropped quietly (see [`LeftOut::dropped`]).
    Dropped(String),
    /// An inconsistent help text (see [`LeftOut::inconsistent_help`]).
    InconsistentHelp(String),
}

impl From<String> for Refusal {
    fn from(reason: String) -> Refusal {
        Refusal::Dropped(reason)
    }
}

/// The families accepted so far, from the files added in order.
#[derive(Debug, Default)]
pub struct Textfiles {
    families: Vec<Merged>,
    by_name: HashMap<String, usize>,
}

/// One metric's series from every accepted file.
#[derive(Debug)]
struct Merged {
    name: String,
    metric_type: MetricType,
    help: Option<String>,
    /// Whether a family of this name came with a help text other than
    /// `help`: every later one is then refused.
    help_conflict: bool,
    /// The files it came from, for the default help text.
    files: Vec<String>,
    series: Vec<(LabelSet, SeriesValue)>,
    keys: HashSet<LabelSet>,
}

impl Textfiles {
    /// Adds the families of the file at `path`. A file with client-side
    /// timestamps is refused whole, with the reason, as node_exporter
    /// refuses it; otherwise what contradicts earlier families is dropped
    /// and each drop described in what is returned.
    pub fn add(&mut self, path: &str, families: Vec<ParsedFamily>) -> Result<LeftOut, String> {
        if let Some(series) = families
            .iter()
            .flat_map(|f| &f.series)
            .find(|s| s.timestamp_ms.is_some())
        {
            return Err(format!(
                "line {}: client-side timestamps are not supported, skipping the entire file",
                series.line
            ));
        }
        let mut left_out = LeftOut::default();
        for family in families {
            match self.add_family(path, family, &mut left_out.dropped) {
                Ok(()) => {}
                Err(Refusal::Dropped(reason)) => left_out.dropped.push(reason),
                Err(Refusal::InconsistentHelp(reason)) => {
                    left_out.inconsistent_help.push(reason);
                }
            }
        }
        Ok(left_out)
    }

    /// Adds one family, or refuses it with the reason; its series already
    /// seen are dropped, each described in `dropped`.
    fn add_family(
        &mut self,
        path: &str,
        family: ParsedFamily,
        dropped: &mut Vec<String>,
    ) -> Result<(), Refusal> {
        if [MTIME_METRIC, SCRAPE_ERROR_METRIC].contains(&family.name.as_str()) {
            return Err(Refusal::Dropped(format!(
                "metric {} is the textfile collector's own; dropped",
                family.name
            )));
        }
        if let Some(&index) = self.by_name.get(&family.name) {
            let merged = &mut self.families[index];
            merged.check_type(&family)?;
            if let Err(reason) = merged.check_help(&family) {
                merged.help_conflict = true;
                return Err(Refusal::InconsistentHelp(reason));
            }
        }
        self.check_collisions(&family)?;

        let series = fill_missing_labels(&family);
        let index = *self.by_name.entry(family.name.clone()).or_insert_with(|| {
            self.families.push(Merged {
                name: family.name.clone(),
                metric_type: family.metric_type,
                help: None,
                help_conflict: false,
                files: Vec::new(),
                series: Vec::new(),
                keys: HashSet::new(),
            });
            self.families.len() - 1
        });
        let merged = &mut self.families[index];
        if merged.help.is_none() {
            merged.help = family.help;
        }
        if merged.files.last().is_none_or(|last| last != path) {
            merged.files.push(path.to_string());
        }
        for (labels, value) in series {
            if merged.keys.contains(&labels) {
                dropped.push(format!(
                    "duplicate series {}{}; dropped",
                    family.name,
                    describe(&labels)
                ));
                continue;
            }
            merged.keys.insert(labels.clone());
            merged.series.push((labels, value));
        }
        Ok(())
    }

    /// Refuses a family whose name collides with another family's summary
    /// or histogram lines (`x_sum` beside a summary `x`), among the families
    /// accepted so far, as client_golang does.
    fn check_collisions(&self, family: &ParsedFamily) -> Result<(), String> {
        let type_of = |name: &str| {
            self.by_name
                .get(name)
                .map(|&i| self.families[i].metric_type)
        };
        // Whether `line_name` is one of the lines of `base`.
        let clash = |base: &str, base_type: MetricType, line_name: &str| {
            let suffix = line_name.strip_prefix(base).unwrap_or_default();
            let clashes = match base_type {
                MetricType::Histogram => true,
                MetricType::Summary => suffix != "_bucket",
                _ => false,
            };
            clashes.then(|| {
                format!(
                    "metric {line_name} collides with the {} {base}; dropped",
                    type_name(base_type)
                )
            })
        };
        for suffix in ["_sum", "_count", "_bucket"] {
            if let Some(base) = family.name.strip_suffix(suffix) {
                if let Some(message) = type_of(base).and_then(|t| clash(base, t, &family.name)) {
                    return Err(message);
                }
            }
            let line_name = format!("{}{suffix}", family.name);
            if type_of(&line_name).is_some() {
                if let Some(message) = clash(&family.name, family.metric_type, &line_name) {
                    return Err(message);
                }
            }
        }
        Ok(())
    }

    /// Writes the accepted families. A family without HELP in any file is
    /// described as "Metric read from" its files, as node_exporter does.
    /// Series are ordered as client_golang orders them (fewer labels first,
    /// then by label values); families of one name but different label
    /// names become consecutive families the encoder writes under one header.
    pub fn write(self, out: &mut MetricSet) {
        for mut merged in self.families {
            let help = merged
                .help
                .unwrap_or_else(|| format!("Metric read from {}", merged.files.join(", ")));
            merged.series.sort_by(|(a, _), (b, _)| {
                a.len()
                    .cmp(&b.len())
                    .then_with(|| a.iter().map(|(_, v)| v).cmp(b.iter().map(|(_, v)| v)))
            });
            let mut series = merged.series.into_iter().peekable();
            while let Some((labels, value)) = series.next() {
                let names: Vec<String> = labels.iter().map(|(n, _)| n.clone()).collect();
                let family = out.family(
                    merged.name.clone(),
                    help.clone(),
                    merged.metric_type,
                    &names,
                );
                push_series(family, &labels, value);
                while let Some((labels, value)) =
                    series.next_if(|(next, _)| next.iter().map(|(n, _)| n).eq(&names))
                {
                    push_series(family, &labels, value);
                }
            }
        }
    }
}

impl Merged {
    /// Refuses a family that contradicts this one's type.
    fn check_type(&self, family: &ParsedFamily) -> Result<(), String> {
        if family.metric_type != self.metric_type {
            return Err(format!(
                "metric {} is {} here but {} in {}; dropped",
                family.name,
                type_name(family.metric_type),
                type_name(self.metric_type),
                self.files.join(", ")
            ));
        }
        Ok(())
    }

    /// Refuses a family whose help contradicts this one's, or any family
    /// once one has.
    fn check_help(&self, family: &ParsedFamily) -> Result<(), String> {
        let Some(before) = &self.help else {
            return Ok(());
        };
        match &family.help {
            Some(here) if here != before => Err(format!(
                "metric {} has help {here:?} here but {before:?} in {}; dropped",
                family.name,
                self.files.join(", ")
            )),
            _ if self.help_conflict => Err(format!(
                "metric {} had inconsistent help texts in an earlier file; dropped",
                family.name
            )),
            _ => Ok(()),
        }
    }
}

/// The family's series with every label any of them has, missing ones
/// empty, sorted by label name.
fn fill_missing_labels(family: &ParsedFamily) -> Vec<(LabelSet, SeriesValue)> {
    let mut all_names: Vec<&str> = family
        .series
        .iter()
        .flat_map(|s| s.labels.iter().map(|(n, _)| n.as_str()))
        .collect();
    all_names.sort_unstable();
    all_names.dedup();
    family
        .series
        .iter()
        .map(|s| {
            let labels = all_names
                .iter()
                .map(|&name| {
                    let value = s
                        .labels
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone());
                    (name.to_string(), value.unwrap_or_default())
                })
                .collect();
            (labels, s.value.clone())
        })
        .collect()
}

/// Adds one series' line(s) to a family whose label names are the series'.
fn push_series(family: &mut Family, labels: &LabelSet, value: SeriesValue) {
    let values: Vec<&str> = labels.iter().map(|(_, v)| v.as_str()).collect();
    match value {
        SeriesValue::Single(v) => family.push(&values, v),
        SeriesValue::Summary(summary) => {
            for (q, v) in summary.quantiles {
                family.push_part(&values, SamplePart::Quantile(q), v);
            }
            family.push_part(&values, SamplePart::Sum, summary.sum);
            family.push_part(&values, SamplePart::Count, summary.count as f64);
        }
        SeriesValue::Histogram(histogram) => {
            // A +Inf bucket the file leaves out stays out, as client_golang
            // keeps it: the text formats write it from the count, protobuf
            // does not.
            for (le, count) in histogram.buckets {
                family.push_part(&values, SamplePart::Bucket(le), count as f64);
            }
            family.push_part(&values, SamplePart::Sum, histogram.sum);
            family.push_part(&values, SamplePart::Count, histogram.count as f64);
        }
    }
}

/// The type as a TYPE line names it.
fn type_name(metric_type: MetricType) -> &'static str {
    match metric_type {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Untyped => "untyped",
        MetricType::Summary => "summary",
        MetricType::Histogram => "histogram",
    }
}

/// `{a="b",c=""}` for messages.
fn describe(labels: &LabelSet) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::super::text_format::parse;
    use super::*;
    use crate::exposition::Format;

    /// Adds a file; what was dropped of it, inconsistent help texts
    /// included.
    fn add(files: &mut Textfiles, path: &str, text: &str) -> Result<Vec<String>, String> {
        files.add(path, parse(text).unwrap()).map(|left_out| {
            let mut all = left_out.dropped;
            all.extend(left_out.inconsistent_help);
            all
        })
    }

    fn render(files: Textfiles) -> String {
        let mut set = MetricSet::new();
        files.write(&mut set);
        let families = set.into_sorted();
        let refs: Vec<&Family> = families.iter().collect();
        let mut out = Vec::new();
        Format::Text.encode(&refs, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_family_in_two_files_merges_with_joined_default_help() {
        let mut files = Textfiles::default();
        add(&mut files, "/t/a.prom", "foo{x=\"1\"} 1\nfoo 2\nbar -0\n").unwrap();
        add(&mut files, "/t/b.prom", "foo{y=\"2\"} 3\nfoo{y=\"0\"} 4\n").unwrap();
        assert_eq!(
            render(files),
            "# HELP bar Metric read from /t/a.prom\n\
             # TYPE bar untyped\n\
             bar 0\n\
             # HELP foo Metric read from /t/a.prom, /t/b.prom\n\
             # TYPE foo untyped\n\
             foo{x=\"\"} 2\n\
             foo{y=\"0\"} 4\n\
             foo{x=\"1\"} 1\n\
             foo{y=\"2\"} 3\n",
            "ordered as client_golang does: by label values, whatever the names"
        );
    }

    #[test]
    fn help_given_in_any_file_wins_over_the_default() {
        let mut files = Textfiles::default();
        add(&mut files, "/t/a.prom", "foo{x=\"1\"} 1\n").unwrap();
        add(&mut files, "/t/b.prom", "# HELP foo Foo.\nfoo{x=\"2\"} 2\n").unwrap();
        add(&mut files, "/t/c.prom", "foo{x=\"3\"} 3\n").unwrap();
        assert!(render(files).starts_with("# HELP foo Foo.\n"));
    }

    #[test]
    fn missing_labels_are_filled_with_empty_values_per_file() {
        let mut files = Textfiles::default();
        add(
            &mut files,
            "/t/a.prom",
            "# TYPE job_ok gauge\njob_ok{job=\"a\",env=\"prod\"} 1\njob_ok{job=\"b\"} 0\njob_ok 1\n",
        )
        .unwrap();
        let out = render(files);
        assert!(
            out.ends_with(
                "job_ok{env=\"\",job=\"\"} 1\njob_ok{env=\"\",job=\"b\"} 0\njob_ok{env=\"prod\",job=\"a\"} 1\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn a_conflicting_type_drops_that_family_alone() {
        let mut files = Textfiles::default();
        add(&mut files, "/t/a.prom", "# TYPE t gauge\nt 1\n").unwrap();
        let dropped = add(
            &mut files,
            "/t/b.prom",
            "other 1\n# TYPE t counter\nt{a=\"b\"} 2\n",
        )
        .unwrap();
        assert_eq!(
            dropped,
            ["metric t is counter here but gauge in /t/a.prom; dropped"]
        );
        let out = render(files);
        assert!(
            out.contains("\nother 1\n"),
            "the rest of the file is kept:\n{out}"
        );
        assert!(!out.contains("t{a="), "{out}");
    }

    #[test]
    fn a_conflicting_help_drops_that_family_and_later_ones_as_errors() {
        let mut files = Textfiles::default();
        let parsed = |text: &str| parse(text).unwrap();
        let first = files
            .add(
                "/t/a.prom",
                parsed("# HELP h First.\nh 1\n# HELP g G.\ng 1\n"),
            )
            .unwrap();
        assert_eq!(first, LeftOut::default());
        // No help at all agrees with any: not a conflict.
        let no_help = files.add("/t/a2.prom", parsed("h{a=\"w\"} 0\n")).unwrap();
        assert_eq!(no_help, LeftOut::default());
        let second = files
            .add(
                "/t/b.prom",
                parsed("# HELP h Second.\nh{a=\"x\"} 2\nkept 1\n# HELP g G.\ng{a=\"b\"} 2\n"),
            )
            .unwrap();
        assert!(second.dropped.is_empty(), "{second:?}");
        assert_eq!(second.inconsistent_help.len(), 1, "{second:?}");
        assert!(
            second.inconsistent_help[0].contains("has help \"Second.\" here but \"First.\""),
            "{second:?}"
        );
        // Once inconsistent, a metric stays so for the scrape, even when a
        // later file agrees with the first help again.
        let third = files
            .add("/t/c.prom", parsed("# HELP h First.\nh{a=\"y\"} 3\n"))
            .unwrap();
        assert_eq!(third.inconsistent_help.len(), 1, "{third:?}");
        assert!(third.inconsistent_help[0].contains("inconsistent help texts in an earlier file"));
        let out = render(files);
        for kept in ["\nkept 1\n", "\nh 1\n", "h{a=\"w\"} 0", "g{a=\"b\"} 2"] {
            assert!(out.contains(kept), "{kept} missing: {out}");
        }
        for dropped in ["h{a=\"x\"}", "h{a=\"y\"}"] {
            assert!(!out.contains(dropped), "{dropped} leaked: {out}");
        }
    }

    #[test]
    fn a_duplicate_series_is_dropped_and_the_first_kept() {
        let mut files = Textfiles::default();
        let dropped = add(&mut files, "/t/a.prom", "dup 1\ndup 2\n").unwrap();
        assert_eq!(dropped, ["duplicate series dup; dropped"]);
        let dropped = add(&mut files, "/t/a2.prom", "d{x=\"\"} 1\nd 2\n").unwrap();
        assert_eq!(
            dropped,
            ["duplicate series d{x=\"\"}; dropped"],
            "filled labels make them equal"
        );
        add(&mut files, "/t/b.prom", "d{x=\"1\"} 1\n").unwrap();
        let dropped = add(&mut files, "/t/c.prom", "e 1\nd{x=\"1\"} 2\n").unwrap();
        assert_eq!(dropped, ["duplicate series d{x=\"1\"}; dropped"]);
        let out = render(files);
        assert!(out.contains("\ndup 1\n") && !out.contains("dup 2"), "{out}");
        assert!(
            out.contains("d{x=\"1\"} 1") && !out.contains("d{x=\"1\"} 2"),
            "{out}"
        );
        assert!(out.contains("\ne 1\n"), "{out}");
    }

    #[test]
    fn timestamps_refuse_the_file_and_own_names_are_dropped() {
        let mut files = Textfiles::default();
        let err = add(&mut files, "/t/a.prom", "ok 1\nts 1 1700000000000\n").unwrap_err();
        assert!(err.starts_with("line 2: client-side timestamps"), "{err}");
        let dropped = add(&mut files, "/t/b.prom", "node_textfile_scrape_error 0\n").unwrap();
        assert_eq!(
            dropped,
            ["metric node_textfile_scrape_error is the textfile collector's own; dropped"]
        );
        assert_eq!(render(files), "");
    }

    #[test]
    fn names_colliding_with_summary_or_histogram_lines_are_dropped() {
        let summary = "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n";
        let mut files = Textfiles::default();
        add(&mut files, "/t/a.prom", summary).unwrap();
        let dropped = add(&mut files, "/t/b.prom", "s_count{x=\"1\"} 1\n").unwrap();
        assert_eq!(
            dropped,
            ["metric s_count collides with the summary s; dropped"]
        );
        assert_eq!(
            add(&mut files, "/t/c.prom", "s_bucket 1\n").unwrap(),
            Vec::<String>::new()
        );

        let mut files = Textfiles::default();
        add(&mut files, "/t/a.prom", "h_bucket 1\n").unwrap();
        let dropped = add(&mut files, "/t/b.prom", "# TYPE h histogram\nh_sum 1\n").unwrap();
        assert_eq!(
            dropped,
            ["metric h_bucket collides with the histogram h; dropped"]
        );

        // Within a file, the family that comes first wins.
        let mut files = Textfiles::default();
        let dropped = add(
            &mut files,
            "/t/a.prom",
            "x_sum 1\n# TYPE x summary\nx_count 2\n",
        )
        .unwrap();
        assert_eq!(
            dropped,
            ["metric x_sum collides with the summary x; dropped"]
        );
        assert_eq!(
            render(files),
            "# HELP x_sum Metric read from /t/a.prom\n# TYPE x_sum untyped\nx_sum 1\n"
        );
    }

    #[test]
    fn summaries_and_histograms_are_written_complete() {
        let mut files = Textfiles::default();
        add(
            &mut files,
            "/t/a.prom",
            "# TYPE h histogram\n\
             h_bucket{le=\"2.5\",z=\"a\",a=\"b\"} 2\n\
             h_bucket{le=\"1\",z=\"a\",a=\"b\"} 1\n\
             h_sum{z=\"a\",a=\"b\"} 3\n\
             h_count{z=\"a\",a=\"b\"} 4\n\
             # TYPE s summary\n\
             s{quantile=\"0.99\"} 2\n\
             s{quantile=\"0.5\"} 1\n\
             s_count 1e6\n",
        )
        .unwrap();
        assert_eq!(
            render(files),
            "# HELP h Metric read from /t/a.prom\n\
             # TYPE h histogram\n\
             h_bucket{a=\"b\",z=\"a\",le=\"1\"} 1\n\
             h_bucket{a=\"b\",z=\"a\",le=\"2.5\"} 2\n\
             h_bucket{a=\"b\",z=\"a\",le=\"+Inf\"} 4\n\
             h_sum{a=\"b\",z=\"a\"} 3\n\
             h_count{a=\"b\",z=\"a\"} 4\n\
             # HELP s Metric read from /t/a.prom\n\
             # TYPE s summary\n\
             s{quantile=\"0.5\"} 1\n\
             s{quantile=\"0.99\"} 2\n\
             s_sum 0\n\
             s_count 1e+06\n"
        );
    }
}
