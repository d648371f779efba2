//! The `--collector.<name>.fields` regex of netstat and vmstat, which picks a
//! few of the hundreds of counters a kernel file holds, with each counter
//! name's decision remembered: the files name the same counters every scrape,
//! so each name is matched and its family named once, not every scrape.
//! [`Descriptions`] is that memory, also used where every counter is kept
//! (meminfo).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};

use regex_lite::Regex;

use crate::fnv::Fnv1a;
use crate::metrics::{is_name_fragment, MetricSet};

/// More distinct counter names than any kernel has: past this the memory of
/// decisions starts again, so that files full of changing garbage cannot
/// grow it.
const MAX_REMEMBERED: usize = 4096;

/// A field-selecting regex and the decisions taken so far.
#[derive(Debug)]
pub struct FieldSelection {
    /// Matched anywhere in the counter's key (unanchored, as Go's
    /// `MatchString`).
    fields: Regex,
    /// The selected counters' family names and helps; `None` for those left
    /// out.
    decisions: Descriptions,
}

/// The family name and help of each counter key seen, or `None` for a key
/// that makes no family, kept between scrapes.
#[derive(Debug, Default)]
pub struct Descriptions {
    known: Mutex<Decisions>,
}

/// A selected counter's family name and help, shared with every scrape.
pub type Description = (Arc<str>, Arc<str>);

/// Counter key to the selected family's name and help, or `None`.
type Decisions = HashMap<String, Option<Description>, BuildHasherDefault<Fnv1a>>;

impl FieldSelection {
    /// A selection by `fields`, with nothing decided yet.
    pub fn new(fields: Regex) -> FieldSelection {
        FieldSelection {
            fields,
            decisions: Descriptions::default(),
        }
    }

    /// The family name and help of the counter `key` when `fields` selects
    /// it and it can form a metric name; `describe` makes them, the first
    /// time `key` is seen.
    pub fn select(
        &self,
        key: &str,
        describe: impl FnOnce() -> (String, String),
    ) -> Option<Description> {
        self.decisions.get_or_describe(key, || {
            (is_name_fragment(key) && self.fields.is_match(key)).then(describe)
        })
    }
}

/// Adds one untyped family per selected counter, in name order. A name
/// that occurs more than once (a kernel repeating a field) is one series,
/// with the value that comes first in `selected`.
pub fn add_untyped(out: &mut MetricSet, mut selected: Vec<(Description, f64)>) {
    // Stable: of equal names, the first stays first and is the one kept.
    selected.sort_by(|a, b| a.0 .0.cmp(&b.0 .0));
    selected.dedup_by(|later, earlier| later.0 .0 == earlier.0 .0);
    for ((name, help), value) in selected {
        out.untyped(name, help, value);
    }
}

impl Descriptions {
    /// What `key` was described as, or, the first time it is seen, what
    /// `describe` makes of it.
    pub fn get_or_describe(
        &self,
        key: &str,
        describe: impl FnOnce() -> Option<(String, String)>,
    ) -> Option<Description> {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(description) = known.get(key) {
            return description.clone();
        }
        let description = describe().map(|(name, help)| (Arc::from(name), Arc::from(help)));
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(key.to_string(), description.clone());
        description
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(key: &str) -> (String, String) {
        (format!("node_test_{key}"), format!("Field {key}."))
    }

    fn described(key: &str) -> Option<Description> {
        let (name, help) = describe(key);
        Some((name.into(), help.into()))
    }

    #[test]
    fn selects_by_unanchored_match_and_remembers() {
        let selection = FieldSelection::new(Regex::new("fault").unwrap());
        assert_eq!(
            selection.select("pgfault", || describe("pgfault")),
            described("pgfault")
        );
        assert_eq!(selection.select("pgpgin", || describe("pgpgin")), None);
        // Remembered: the second answer does not call `describe`.
        assert_eq!(
            selection.select("pgfault", || unreachable!()),
            described("pgfault")
        );
        assert_eq!(selection.select("pgpgin", || unreachable!()), None);
    }

    #[test]
    fn names_that_cannot_form_a_metric_name_are_left_out() {
        let selection = FieldSelection::new(Regex::new(".*").unwrap());
        assert_eq!(selection.select("bad-name", || describe("bad")), None);
        assert_eq!(selection.select("", || describe("empty")), None);
    }

    #[test]
    fn memory_is_bounded() {
        let selection = FieldSelection::new(Regex::new(".*").unwrap());
        for n in 0..(MAX_REMEMBERED * 2) {
            let key = format!("field{n}");
            assert!(selection.select(&key, || describe(&key)).is_some());
        }
        assert!(selection.decisions.known.lock().unwrap().len() <= MAX_REMEMBERED);
    }
}
