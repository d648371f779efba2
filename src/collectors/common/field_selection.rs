//! The `--collector.<name>.fields` regex of netstat and vmstat, which picks a
//! few of the hundreds of counters a kernel file holds, with each counter
//! name's decision remembered: the files name the same counters every scrape,
//! so each name is matched and its family named once, not every scrape.
//! [`Descriptions`] is that memory, also used where every counter is kept
//! (meminfo). A [`SelectionPass`] also remembers the order the counters
//! came in, which is the same every read, so that a scrape mostly compares
//! each name with the one at its place last time instead of looking it up.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex, MutexGuard};

use regex_lite::Regex;

use crate::metrics::{is_name_fragment, MetricSet};
use crate::unpoisoned::lock;
use crate::word_hash::WordHasher;

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
    /// The counters of the last pass, in the order it met them.
    last_order: Mutex<KeyOrder>,
}

/// Counter names in the order a pass met them, with their decisions.
#[derive(Debug, Default)]
struct KeyOrder {
    /// The names, back to back.
    names: String,
    /// The end of each name in `names`.
    ends: Vec<usize>,
    decisions: Vec<Option<Description>>,
}

impl KeyOrder {
    /// The decision for `key` if it is the name at `position`.
    fn decision_at(&self, position: usize, key: &str) -> Option<&Option<Description>> {
        let end = *self.ends.get(position)?;
        (&self.names[self.start_of(position)..end] == key).then(|| &self.decisions[position])
    }

    /// Where the name at `position` starts in `names`.
    fn start_of(&self, position: usize) -> usize {
        position
            .checked_sub(1)
            .map_or(0, |before| self.ends[before])
    }

    /// Forgets the names from `position` on, and appends `key`.
    fn replace_from(&mut self, position: usize, key: &str, decision: Option<Description>) {
        self.names.truncate(self.start_of(position));
        self.ends.truncate(position);
        self.decisions.truncate(position);
        self.names.push_str(key);
        self.ends.push(self.names.len());
        self.decisions.push(decision);
    }
}

/// One read's counters, selected in the order the file lists them (see the
/// module documentation). It holds the selection for the whole read.
pub struct SelectionPass<'a> {
    selection: &'a FieldSelection,
    order: MutexGuard<'a, KeyOrder>,
    position: usize,
}

impl SelectionPass<'_> {
    /// As [`FieldSelection::select`], for the file's next counter.
    pub fn select(
        &mut self,
        key: &str,
        describe: impl FnOnce() -> (String, String),
    ) -> Option<Description> {
        let position = self.position;
        self.position += 1;
        if let Some(decision) = self.order.decision_at(position, key) {
            return decision.clone();
        }
        let decision = self.selection.select(key, describe);
        self.order.replace_from(position, key, decision.clone());
        decision
    }
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
type Decisions = HashMap<String, Option<Description>, BuildHasherDefault<WordHasher>>;

impl FieldSelection {
    /// A selection by `fields`, with nothing decided yet.
    pub fn new(fields: Regex) -> FieldSelection {
        FieldSelection {
            fields,
            decisions: Descriptions::default(),
            last_order: Mutex::default(),
        }
    }

    /// Starts selecting one read's counters in file order.
    pub fn pass(&self) -> SelectionPass<'_> {
        SelectionPass {
            selection: self,
            order: lock(&self.last_order),
            position: 0,
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
        let mut known = lock(&self.known);
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
    fn a_pass_decides_as_select_whatever_the_order() {
        let selection = FieldSelection::new(Regex::new("^(a|c|e)").unwrap());
        let reads: [&[&str]; 5] = [
            &["a1", "b1", "c1"],
            &["a1", "b1", "c1"],
            &["a1", "x", "c1", "e1"],
            &["e1"],
            &["a1", "b1", "c1", "d1", "e1"],
        ];
        for keys in reads {
            let mut pass = selection.pass();
            for key in keys {
                let expected = FieldSelection::new(Regex::new("^(a|c|e)").unwrap())
                    .select(key, || describe(key));
                assert_eq!(
                    pass.select(key, || describe(key)),
                    expected,
                    "{keys:?}: {key}"
                );
            }
        }
        // The same order again: decided from the remembered order alone.
        let mut pass = selection.pass();
        for key in reads[4] {
            pass.select(key, || unreachable!());
        }
        drop(pass);
        assert_eq!(selection.last_order.lock().unwrap().names, "a1b1c1d1e1");
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
