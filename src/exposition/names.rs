//! Metric and label names outside the legacy character set
//! (`[a-zA-Z_:][a-zA-Z0-9_:]*`): how each `escaping=` scheme of an `Accept`
//! header rewrites them, and how the text formats quote the ones a client
//! takes as they are (`allow-utf-8`, see [`super::series`]), as
//! prometheus/common's `model` and `expfmt` packages do.

use std::borrow::Cow;

/// How names outside the legacy character set are written, as the client
/// asked with the `escaping` parameter of its `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// `allow-utf-8`: names as they are, quoted in the text formats.
    AllowUtf8,
    /// `underscores`: each character outside the set becomes `_` (the
    /// default when the client names none).
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, any other character
    /// outside the set `__`.
    Dots,
    /// `values`: `U__` then the name with `_` doubled and each character
    /// outside the set written as its code point in hex between underscores.
    Values,
}

impl Escaping {
    /// The scheme named by an `escaping` parameter, if it is one.
    pub fn from_param(value: &str) -> Option<Escaping> {
        match value {
            "allow-utf-8" => Some(Escaping::AllowUtf8),
            "underscores" => Some(Escaping::Underscores),
            "dots" => Some(Escaping::Dots),
            "values" => Some(Escaping::Values),
            _ => None,
        }
    }

    /// The parameter value naming this scheme.
    pub fn param(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }

    /// `name` as this scheme writes it. Legacy names are left alone by every
    /// scheme, as client_golang escapes only the names that need it.
    pub fn apply(self, name: &str) -> Cow<'_, str> {
        if is_legacy_name(name) {
            return Cow::Borrowed(name);
        }
        let legacy = |i: usize, c: char| is_legacy_char(i, c);
        let mut out = String::with_capacity(name.len() + 8);
        match self {
            Escaping::AllowUtf8 => return Cow::Borrowed(name),
            Escaping::Underscores => {
                for (i, c) in name.char_indices() {
                    out.push(if legacy(i, c) { c } else { '_' });
                }
            }
            Escaping::Dots => {
                for (i, c) in name.char_indices() {
                    match c {
                        '_' => out.push_str("__"),
                        '.' => out.push_str("_dot_"),
                        c if legacy(i, c) => out.push(c),
                        _ => out.push_str("__"),
                    }
                }
            }
            Escaping::Values => {
                out.push_str("U__");
                for (i, c) in name.char_indices() {
                    match c {
                        '_' => out.push_str("__"),
                        c if legacy(i, c) => out.push(c),
                        c => {
                            use std::fmt::Write;
                            let _ = write!(out, "_{:x}_", u32::from(c));
                        }
                    }
                }
            }
        }
        Cow::Owned(out)
    }
}

/// Whether `c`, at byte offset `at` of a name, is in the legacy set: a digit
/// only after the first byte.
fn is_legacy_char(at: usize, c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c.is_ascii_digit() && at > 0)
}

/// Whether `name` is a legacy metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
/// client_golang checks label names against the same set when escaping and
/// quoting.
pub fn is_legacy_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphabetic() || b == b'_' || b == b':' || (b.is_ascii_digit() && i > 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names() {
        for name in ["node_load1", "a:b", "_x", ":", "A9"] {
            assert!(is_legacy_name(name), "{name}");
        }
        for name in ["", "9a", "a.b", "a-b", "caf\u{e9}", "a b", "\u{0}"] {
            assert!(!is_legacy_name(name), "{name}");
        }
    }

    #[test]
    fn every_scheme_leaves_legacy_names_alone() {
        for scheme in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            assert!(matches!(scheme.apply("node_x_total"), Cow::Borrowed(_)));
            assert_eq!(Escaping::from_param(scheme.param()), Some(scheme));
        }
        assert_eq!(Escaping::from_param("Underscores"), None);
        assert_eq!(Escaping::from_param(""), None);
    }

    #[test]
    fn schemes_rewrite_as_prometheus_common_does() {
        let cases = [
            ("my.metric", "my_metric", "my_dot_metric", "U__my_2e_metric"),
            ("a_b.c-d", "a_b_c_d", "a__b_dot_c__d", "U__a__b_2e_c_2d_d"),
            ("9lives", "_lives", "__lives", "U___39_lives"),
            ("caf\u{e9}", "caf_", "caf__", "U__caf_e9_"),
            ("\u{1f600}x", "_x", "__x", "U___1f600_x"),
        ];
        for (name, underscores, dots, values) in cases {
            assert_eq!(Escaping::Underscores.apply(name), underscores, "{name}");
            assert_eq!(Escaping::Dots.apply(name), dots, "{name}");
            assert_eq!(Escaping::Values.apply(name), values, "{name}");
            assert_eq!(Escaping::AllowUtf8.apply(name), name, "{name}");
        }
    }
}
