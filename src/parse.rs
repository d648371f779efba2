//! Values as node_exporter reads them, shared by the kernel file formats,
//! the collectors and the command line: kernel numbers, Go's integer,
//! duration and regular-expression syntaxes, and the lines of a text.
//!
//! May import: the standard library and small parsing crates; nothing of
//! the agent's own.

use std::time::Duration;

/// Parses a kernel number field as f64; accepts integers (including ones
/// beyond 2^53, which lose precision exactly as node_exporter's do) and
/// decimals. `None` for anything else.
pub fn number(field: &str) -> Option<f64> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return None;
    }
    // Nearly every field is a plain decimal counter: at most 19 digits
    // cannot overflow, and need none of the general parsers' checks.
    let digits = field.as_bytes();
    if digits.len() <= 19 && digits.iter().all(u8::is_ascii_digit) {
        let value = digits
            .iter()
            .fold(0u64, |n, &digit| n * 10 + u64::from(digit - b'0'));
        return Some(value as f64);
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

/// The lines of `text`, as `str::lines` gives them (without `\n` or
/// `\r\n`), found with `memchr`: the standard splitter costs some 180
/// instructions a line on the short lines of kernel files, several times
/// what finding the newline takes.
pub fn lines(text: &str) -> Lines<'_> {
    Lines { rest: text }
}

/// The iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(end) = memchr::memchr(b'\n', self.rest.as_bytes()) else {
            return Some(std::mem::take(&mut self.rest));
        };
        // The newline is ASCII, so both cuts are on character boundaries.
        let line = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// Parses an unsigned integer as Go's `strconv.ParseUint(text, 0, 64)`
/// does, which is how node_exporter reads most sysfs counters: decimal,
/// `0x` hex (Fibre Channel statistics), `0o`/leading-zero octal, `0b`
/// binary. No sign, no surrounding whitespace; `None` beyond `u64`.
pub fn go_uint(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let (radix, digits) = go_radix(&lower);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The radix Go's base-0 integer parsing picks for lower-case `digits`,
/// and the digits without their prefix: `0x` hex, `0b` binary, `0o` or a
/// leading `0` octal, decimal otherwise.
pub fn go_radix(digits: &str) -> (u32, &str) {
    if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        (2, bin)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    }
}

/// Parses a sysfs integer as node_exporter does (Go's base-0 rules):
/// decimal, `0x` hex (`flags`, `dev_id`), `0o`/leading-zero octal, `0b`.
pub fn sysfs_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, digits) = go_radix(&lower);
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Parses a Go duration such as `5s`, `1m30s`, `250ms` or `1.5h`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?} (expected e.g. 10s, 500ms, 1m30s)");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let value: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += value * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

/// Parses a regular expression of a flag, naming the problem on error.
///
/// The engine is regex-lite: node_exporter's Go RE2 syntax, with `\d`, `\w`,
/// `\s` and `\b` ASCII-only as in Go, but without Unicode classes (`\pL`,
/// `\p{Greek}`), which are refused, and with `(?i)` folding ASCII letters
/// only. Device names, mount points and kernel counter names are ASCII; the
/// full engine cost some 800 KiB of resident memory for compiled patterns
/// and the code that compiles them.
pub fn regex(text: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::Regex::new(text).map_err(|e| e.to_string())
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
        assert_eq!(number("9999999999999999999"), Some(9999999999999999999.0));
        assert_eq!(number("9007199254740993"), Some(9007199254740992.0));
        assert_eq!(number("0042\n"), Some(42.0));
        assert_eq!(number("+7"), Some(7.0));
        assert_eq!(number("1e3"), Some(1000.0));
        assert_eq!(number("4 2"), None);
        assert_eq!(number(""), None);
        assert_eq!(number("abc"), None);
        assert_eq!(number("inf"), None);
        assert_eq!(number("NaN"), None);
    }

    #[test]
    fn lines_split_as_the_standard_splitter() {
        for text in [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\r\n",
            "a\r",
            "a\rb\n\r",
            "é\nü\r\n\u{2028}x",
        ] {
            let ours: Vec<&str> = lines(text).collect();
            let standard: Vec<&str> = text.lines().collect();
            assert_eq!(ours, standard, "{text:?}");
        }
    }

    #[test]
    fn go_unsigned_integers() {
        assert_eq!(go_uint("42"), Some(42));
        assert_eq!(go_uint("0x1f"), Some(31));
        assert_eq!(go_uint("0XFF"), Some(255));
        assert_eq!(go_uint("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(go_uint("017"), Some(15));
        assert_eq!(go_uint("0o17"), Some(15));
        assert_eq!(go_uint("0b101"), Some(5));
        assert_eq!(go_uint("0"), Some(0));
        assert_eq!(go_uint("0x"), None);
        assert_eq!(go_uint("+1"), None);
        assert_eq!(go_uint("-1"), None);
        assert_eq!(go_uint(" 1"), None);
        assert_eq!(go_uint("08"), None);
        assert_eq!(go_uint("18446744073709551616"), None);
        assert_eq!(go_uint("N/A (no PMA)"), None);
    }

    #[test]
    fn key_values() {
        let pairs: Vec<_> = key_value_lines("a: 1 kB\nbad\n: 2\nb:3\n", ':').collect();
        assert_eq!(pairs, vec![("a", "1 kB"), ("b", "3")]);
    }

    #[test]
    fn sysfs_integers() {
        assert_eq!(sysfs_int("1500\n"), Some(1500));
        assert_eq!(sysfs_int("0x1003"), Some(4099));
        assert_eq!(sysfs_int("0x0"), Some(0));
        assert_eq!(sysfs_int("0"), Some(0));
        assert_eq!(sysfs_int("-1"), Some(-1));
        assert_eq!(sysfs_int("010"), Some(8));
        assert_eq!(sysfs_int("0b101"), Some(5));
        assert_eq!(sysfs_int(""), None);
        assert_eq!(sysfs_int("0x"), None);
        assert_eq!(sysfs_int("up"), None);
        assert_eq!(sysfs_int("--1"), None);
        assert_eq!(sysfs_int("99999999999999999999"), None);
    }

    #[test]
    fn regex_flags_take_go_syntax_with_ascii_classes() {
        let re = regex(r"^(?i)(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$").unwrap();
        assert!(re.is_match("sda1") && re.is_match("NVME0N1P2") && re.is_match("loop7"));
        assert!(!re.is_match("sda") && !re.is_match("dm-0"));
        // As in Go, \d is an ASCII digit only.
        assert!(!regex(r"^sd\d$").unwrap().is_match("sd\u{0661}"));
        let refused = regex(r"^\pL+$").unwrap_err();
        assert!(!refused.is_empty());
        assert!(regex("(unclosed").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "s", "5x", "-1s", "1..2s"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
