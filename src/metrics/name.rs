//! Metric names made from host data, as node_exporter makes them.

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
