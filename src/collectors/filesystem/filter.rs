//! Which mount points and filesystem types the collector reports, from the
//! include/exclude flag pairs, resolved exactly as node_exporter resolves
//! them (including its deprecated flag names).

use regex_lite::Regex;

/// Drops names matching `exclude`, and names not matching `include`.
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
}

impl NameFilter {
    /// Whether `name` is left out. Patterns match anywhere in the name
    /// (unanchored), as Go's `MatchString`.
    pub fn ignores(&self, name: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(name))
            || self.include.as_ref().is_some_and(|r| !r.is_match(name))
    }
}

/// One include/exclude flag pair as given on the command line, with the
/// deprecated spelling of its exclude flag.
#[derive(Debug, Clone, Copy)]
pub struct FilterFlags<'a> {
    /// The exclude flag's name, e.g. `collector.filesystem.fs-types-exclude`.
    pub exclude_name: &'static str,
    /// Its value, if the flag was given (even as the empty string).
    pub exclude: Option<&'a Regex>,
    /// Its value when not given.
    pub default_exclude: &'a Regex,
    /// The include flag's name.
    pub include_name: &'static str,
    /// Its value, if given.
    pub include: Option<&'a Regex>,
    /// The deprecated exclude flag's name.
    pub deprecated_name: &'static str,
    /// Its value, if given.
    pub deprecated: Option<&'a Regex>,
}

/// A resolved filter, and the warning to log if a deprecated flag was used.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The filter to apply.
    pub filter: NameFilter,
    /// Set when the deprecated flag took effect.
    pub warning: Option<String>,
}

impl FilterFlags<'_> {
    /// Resolves the flags as node_exporter does: the deprecated flag stands in
    /// for an exclude flag that was not given (and conflicts with one that
    /// was); an include flag without an explicit exclude flag drops the
    /// default exclusion; an include and an exclude together are refused.
    /// Empty patterns mean "no pattern".
    pub fn resolve(&self) -> Result<Resolved, String> {
        let non_empty = |r: Option<&Regex>| r.filter(|r| !r.as_str().is_empty()).cloned();
        let exclude_given = self.exclude.is_some();
        let mut exclude = match self.exclude {
            Some(given) => non_empty(Some(given)),
            None => non_empty(Some(self.default_exclude)),
        };
        let mut warning = None;
        if let Some(deprecated) = non_empty(self.deprecated) {
            if exclude_given {
                return Err(format!(
                    "--{} and --{} are mutually exclusive",
                    self.deprecated_name, self.exclude_name
                ));
            }
            warning = Some(format!(
                "--{} is DEPRECATED and will be removed in 2.0.0, use --{}",
                self.deprecated_name, self.exclude_name
            ));
            exclude = Some(deprecated);
        }
        let include = non_empty(self.include);
        if include.is_some() && !exclude_given {
            exclude = None;
        }
        if exclude.is_some() && include.is_some() {
            return Err(format!(
                "--{} and --{} are mutually exclusive",
                self.exclude_name, self.include_name
            ));
        }
        Ok(Resolved {
            filter: NameFilter { exclude, include },
            warning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(text: &str) -> Regex {
        Regex::new(text).unwrap()
    }

    fn flags<'a>(
        default: &'a Regex,
        exclude: Option<&'a Regex>,
        include: Option<&'a Regex>,
        deprecated: Option<&'a Regex>,
    ) -> FilterFlags<'a> {
        FilterFlags {
            exclude_name: "x.exclude",
            exclude,
            default_exclude: default,
            include_name: "x.include",
            include,
            deprecated_name: "x.ignored",
            deprecated,
        }
    }

    #[test]
    fn default_exclusion_applies_unanchored() {
        let default = re("^/(dev|proc)($|/)");
        let r = flags(&default, None, None, None).resolve().unwrap();
        assert!(r.warning.is_none());
        assert!(r.filter.ignores("/proc"));
        assert!(r.filter.ignores("/dev/shm"));
        assert!(!r.filter.ignores("/device"));
        assert!(!r.filter.ignores("/"));
        let types = re("tmp");
        let r = flags(&types, None, None, None).resolve().unwrap();
        assert!(
            r.filter.ignores("tmpfs"),
            "matches anywhere, as Go's MatchString"
        );
    }

    #[test]
    fn include_alone_replaces_the_default_exclusion() {
        let default = re("^/(dev|proc)($|/)");
        let include = re("^/(dev|boot)$");
        let r = flags(&default, None, Some(&include), None)
            .resolve()
            .unwrap();
        assert!(!r.filter.ignores("/dev"));
        assert!(!r.filter.ignores("/boot"));
        assert!(r.filter.ignores("/"));
    }

    #[test]
    fn include_with_explicit_exclude_is_refused_unless_exclude_is_empty() {
        let default = re("^/dev");
        let exclude = re("^/proc");
        let include = re("^/boot");
        let err = flags(&default, Some(&exclude), Some(&include), None)
            .resolve()
            .unwrap_err();
        assert_eq!(err, "--x.exclude and --x.include are mutually exclusive");
        let empty = re("");
        let r = flags(&default, Some(&empty), Some(&include), None)
            .resolve()
            .unwrap();
        assert!(!r.filter.ignores("/boot"));
        assert!(r.filter.ignores("/"));
    }

    #[test]
    fn explicit_empty_exclude_keeps_everything() {
        let default = re("^/dev");
        let empty = re("");
        let r = flags(&default, Some(&empty), None, None).resolve().unwrap();
        assert!(!r.filter.ignores("/dev"));
    }

    #[test]
    fn deprecated_flag_stands_in_for_exclude_with_a_warning() {
        let default = re("^/dev");
        let old = re("^/old");
        let r = flags(&default, None, None, Some(&old)).resolve().unwrap();
        assert!(r.filter.ignores("/old"));
        assert!(!r.filter.ignores("/dev"));
        assert_eq!(
            r.warning.as_deref(),
            Some("--x.ignored is DEPRECATED and will be removed in 2.0.0, use --x.exclude")
        );
        let exclude = re("^/new");
        let err = flags(&default, Some(&exclude), None, Some(&old))
            .resolve()
            .unwrap_err();
        assert_eq!(err, "--x.ignored and --x.exclude are mutually exclusive");
        // An empty deprecated flag counts as not given.
        let empty = re("");
        let r = flags(&default, Some(&exclude), None, Some(&empty))
            .resolve()
            .unwrap();
        assert!(r.filter.ignores("/new"));
    }

    #[test]
    fn include_overrides_the_deprecated_exclusion_as_upstream() {
        let default = re("^/dev");
        let old = re("^/old");
        let include = re("^/(old|boot)$");
        let r = flags(&default, None, Some(&include), Some(&old))
            .resolve()
            .unwrap();
        assert!(!r.filter.ignores("/old"));
        assert!(r.filter.ignores("/"));
    }
}
