//! The include/exclude device-name filter shared by collectors that take
//! `--collector.<name>.device-include` / `device-exclude` flags.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Mutex;

use regex_lite::Regex;

use crate::unpoisoned::lock;
use crate::word_hash::WordHasher;

/// Most decisions remembered; past it they are forgotten and made afresh. A
/// host's devices number far fewer, but their names are the host's to pick.
const MAX_DECISIONS: usize = 4096;

/// Decides which device names a collector reports: a name is dropped when it
/// matches the exclude pattern or fails to match the include pattern.
/// Patterns match anywhere in the name unless anchored, as Go's
/// `regexp.MatchString` does.
#[derive(Debug, Default)]
pub struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
    /// The decision for each name seen. The same devices come back every
    /// scrape, and a lookup costs a hundredth of a match by regex_lite's
    /// backtracking-free engine (some 4,000 instructions a name for the
    /// default diskstats pattern).
    decisions: Mutex<HashMap<Box<str>, bool, BuildHasherDefault<WordHasher>>>,
}

impl Clone for DeviceFilter {
    fn clone(&self) -> DeviceFilter {
        DeviceFilter::new(self.exclude.clone(), self.include.clone())
    }
}

impl DeviceFilter {
    /// A filter from optional exclude and include patterns; an empty pattern
    /// counts as absent, as node_exporter treats an empty flag.
    pub fn new(exclude: Option<Regex>, include: Option<Regex>) -> DeviceFilter {
        let present = |r: Option<Regex>| r.filter(|r| !r.as_str().is_empty());
        DeviceFilter {
            exclude: present(exclude),
            include: present(include),
            decisions: Mutex::default(),
        }
    }

    /// As [`DeviceFilter::new`], but refuses both patterns at once, as
    /// node_exporter's include/exclude flag pairs are mutually exclusive.
    pub fn exclusive(
        exclude: Option<Regex>,
        include: Option<Regex>,
    ) -> Result<DeviceFilter, String> {
        let filter = DeviceFilter::new(exclude, include);
        if filter.exclude.is_some() && filter.include.is_some() {
            return Err("device-exclude & device-include are mutually exclusive".to_string());
        }
        Ok(filter)
    }

    /// Whether `name` is filtered out.
    pub fn ignored(&self, name: &str) -> bool {
        if self.exclude.is_none() && self.include.is_none() {
            return false;
        }
        let mut decisions = lock(&self.decisions);
        if let Some(&ignored) = decisions.get(name) {
            return ignored;
        }
        let ignored = self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name));
        if decisions.len() >= MAX_DECISIONS {
            decisions.clear();
        }
        decisions.insert(name.into(), ignored);
        ignored
    }
}

/// Resolves a flag and its deprecated alias into one value: the alias (when
/// not empty) is used when the flag is not given, and giving both is an error
/// naming the two. A flag given explicitly empty stays `Some("")`, so a
/// caller can tell "match nothing" from "not given" and its default.
pub fn with_deprecated_alias(
    flag_name: &str,
    flag: Option<&Regex>,
    alias_name: &str,
    alias: Option<&Regex>,
) -> Result<Option<Regex>, String> {
    let alias = alias.filter(|r| !r.as_str().is_empty()).cloned();
    match (flag.cloned(), alias) {
        (Some(_), Some(_)) => Err(format!(
            "--{alias_name} and --{flag_name} are mutually exclusive"
        )),
        (Some(flag), None) => Ok(Some(flag)),
        (None, alias) => {
            if alias.is_some() {
                tracing::warn!(
                    "--{alias_name} is DEPRECATED and will be removed in 2.0.0, use --{flag_name}"
                );
            }
            Ok(alias)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Option<Regex> {
        Some(Regex::new(s).unwrap())
    }

    #[test]
    fn exclude_and_include() {
        let f = DeviceFilter::new(re("^lo$"), None);
        assert!(f.ignored("lo"));
        assert!(!f.ignored("eth0"));
        let f = DeviceFilter::new(None, re("^eth"));
        assert!(!f.ignored("eth0"));
        assert!(f.ignored("lo"));
        let f = DeviceFilter::new(re(""), re(""));
        assert!(!f.ignored("anything"));
    }

    #[test]
    fn remembered_decisions_agree_with_the_patterns_past_the_bound() {
        let f = DeviceFilter::new(re("^loop[0-9]+$"), None);
        for round in 0..2 {
            for i in 0..MAX_DECISIONS + 10 {
                assert!(f.ignored(&format!("loop{i}")), "round {round}, loop{i}");
                assert!(!f.ignored(&format!("sd{i}")), "round {round}, sd{i}");
            }
        }
        assert!(f.decisions.lock().unwrap().len() <= MAX_DECISIONS);
        let copy = f.clone();
        assert!(copy.ignored("loop1") && !copy.ignored("vda"));
    }

    #[test]
    fn exclusive_refuses_both() {
        assert!(DeviceFilter::exclusive(re("a"), re("b")).is_err());
        assert!(DeviceFilter::exclusive(re(""), re("b")).is_ok());
        assert!(DeviceFilter::exclusive(re("a"), None).is_ok());
    }

    #[test]
    fn patterns_are_unanchored() {
        let f = DeviceFilter::new(re("veth"), None);
        assert!(f.ignored("cali-veth1"));
    }

    #[test]
    fn deprecated_alias() {
        let a = Regex::new("a").unwrap();
        let b = Regex::new("b").unwrap();
        assert_eq!(
            with_deprecated_alias("new", None, "old", Some(&a))
                .unwrap()
                .map(|r| r.to_string()),
            Some("a".to_string())
        );
        assert_eq!(
            with_deprecated_alias("new", Some(&b), "old", None)
                .unwrap()
                .map(|r| r.to_string()),
            Some("b".to_string())
        );
        let err = with_deprecated_alias("new", Some(&b), "old", Some(&a)).unwrap_err();
        assert!(err.contains("--old") && err.contains("--new"), "{err}");
        assert!(with_deprecated_alias("new", None, "old", None)
            .unwrap()
            .is_none());
        let empty = Regex::new("").unwrap();
        assert!(with_deprecated_alias("new", Some(&empty), "old", Some(&a)).is_err());
        assert_eq!(
            with_deprecated_alias("new", None, "old", Some(&empty))
                .unwrap()
                .map(|r| r.to_string()),
            None
        );
    }
}
