//! Device selection by `--collector.<name>.device-include` and
//! `--collector.<name>.device-exclude`, with node_exporter's semantics.

use regex::Regex;

/// Which devices a collector reports: those matching the include pattern
/// (if any) and not matching the exclude pattern (if any). Patterns match
/// anywhere in the name unless anchored, as Go's `MatchString`.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
}

impl DeviceFilter {
    /// A filter from the two flags' values; an empty pattern counts as not
    /// given, as upstream treats the flags' empty default.
    pub fn new(exclude: Option<&Regex>, include: Option<&Regex>) -> DeviceFilter {
        let given = |pattern: Option<&Regex>| pattern.filter(|p| !p.as_str().is_empty()).cloned();
        DeviceFilter {
            exclude: given(exclude),
            include: given(include),
        }
    }

    /// Whether `device` is left out.
    pub fn ignores(&self, device: &str) -> bool {
        self.exclude.as_ref().is_some_and(|p| p.is_match(device))
            || self.include.as_ref().is_some_and(|p| !p.is_match(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(text: &str) -> Regex {
        Regex::new(text).unwrap()
    }

    #[test]
    fn no_patterns_keep_everything() {
        let filter = DeviceFilter::new(None, None);
        assert!(!filter.ignores("eth0"));
        let empty = regex("");
        let filter = DeviceFilter::new(Some(&empty), Some(&empty));
        assert!(!filter.ignores("eth0"));
    }

    #[test]
    fn exclude_drops_matches_anywhere() {
        let exclude = regex("veth|^lo$");
        let filter = DeviceFilter::new(Some(&exclude), None);
        assert!(filter.ignores("veth1234"));
        assert!(filter.ignores("lo"));
        assert!(!filter.ignores("lo0"));
        assert!(!filter.ignores("eth0"));
    }

    #[test]
    fn include_keeps_only_matches() {
        let include = regex("^eth");
        let filter = DeviceFilter::new(None, Some(&include));
        assert!(!filter.ignores("eth0"));
        assert!(filter.ignores("cni0"));
    }

    #[test]
    fn both_patterns_apply_together() {
        let (exclude, include) = (regex("1$"), regex("^eth"));
        let filter = DeviceFilter::new(Some(&exclude), Some(&include));
        assert!(!filter.ignores("eth0"));
        assert!(filter.ignores("eth1"));
        assert!(filter.ignores("cni0"));
    }
}
