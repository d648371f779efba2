//! Small parsing pieces shared by the collectors' pure parsers.

/// Parses a kernel number field as f64; accepts integers (including ones
/// beyond 2^53, which lose precision exactly as node_exporter's do) and
/// decimals. `None` for anything else.
pub fn number(field: &str) -> Option<f64> {
    let field = field.trim();
    if field.is_empty() {
        return None;
    }
    if let Ok(v) = field.parse::<u64>() {
        return Some(v as f64);
    }
    if let Ok(v) = field.parse::<i64>() {
        return Some(v as f64);
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => None,
    }
}

/// Splits `key<sep>value` lines such as `/proc/meminfo`'s `MemTotal: 1 kB`
/// or `/proc/vmstat`'s `nr_free_pages 1`: yields the key and the rest of the
/// line, trimmed. Lines without the separator are skipped.
pub fn key_value_lines(text: &str, separator: char) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(move |line| {
        let (key, rest) = line.split_once(separator)?;
        let key = key.trim();
        (!key.is_empty()).then(|| (key, rest.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number("42"), Some(42.0));
        assert_eq!(number(" -3 "), Some(-3.0));
        assert_eq!(number("0.25"), Some(0.25));
        assert_eq!(number("18446744073709551615"), Some(18446744073709551615.0));
        assert_eq!(number(""), None);
        assert_eq!(number("abc"), None);
        assert_eq!(number("inf"), None);
        assert_eq!(number("NaN"), None);
    }

    #[test]
    fn key_values() {
        let pairs: Vec<_> = key_value_lines("a: 1 kB\nbad\n: 2\nb:3\n", ':').collect();
        assert_eq!(pairs, vec![("a", "1 kB"), ("b", "3")]);
    }
}
