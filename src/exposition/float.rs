//! Sample values written the way Go's `strconv.FormatFloat(v, 'g', -1, 64)`
//! writes them, which is what node_exporter emits: the shortest digits that
//! round-trip, in exponent form when the decimal exponent is below -4 or at
//! least 6 (`1.616987084e+09`, `2.105979e+06`, `123456`, `0.0001`).
//!
//! Matching Go byte for byte keeps our output diffable against
//! node_exporter's.

use std::io::Write;

/// Appends `value` in Go's `%g` shortest form (text format 0.0.4).
pub fn write_go_float(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    // client_golang writes negative zero as plain 0, as it compares with 0
    // before formatting.
    if value == 0.0 {
        out.push(b'0');
        return;
    }
    // Fast path: integers below 1e6 print as plain integers in Go too.
    if value.fract() == 0.0 && value.abs() < 1e6 {
        let _ = write!(out, "{}", value as i64);
        return;
    }

    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "-1.5e-7".
    let mut scratch = [0u8; 40];
    let len = {
        let mut cursor = &mut scratch[..];
        let _ = write!(cursor, "{:e}", value);
        40 - cursor.len()
    };
    let repr = &scratch[..len];
    let (negative, repr) = match repr.first() {
        Some(b'-') => (true, &repr[1..]),
        _ => (false, repr),
    };
    let e_at = repr.iter().position(|&b| b == b'e').unwrap_or(repr.len());
    let (mantissa, exponent) = (&repr[..e_at], &repr[(e_at + 1).min(repr.len())..]);
    let exponent: i32 = std::str::from_utf8(exponent)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n_digits = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if n_digits < digits.len() {
            digits[n_digits] = b;
            n_digits += 1;
        }
    }
    let digits = &digits[..n_digits];

    if negative {
        out.push(b'-');
    }
    if !(-4..6).contains(&exponent) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let _ = write!(out, "{:02}", exponent.abs());
    } else if exponent < 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exponent - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let int_len = exponent as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(digits);
            for _ in digits.len()..int_len {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

/// Appends `value` as client_golang's OpenMetrics encoder does: the Go form,
/// with `.0` added to integers so every value reads as a float.
pub fn write_openmetrics_float(out: &mut Vec<u8>, value: f64) {
    let start = out.len();
    write_go_float(out, value);
    if value.is_finite() && !out[start..].iter().any(|&b| b == b'.' || b == b'e') {
        out.extend_from_slice(b".0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(v: f64) -> String {
        let mut out = Vec::new();
        write_go_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn om(v: f64) -> String {
        let mut out = Vec::new();
        write_openmetrics_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_go_strconv_g_shortest() {
        // Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (2105979.0, "2.105979e+06"),
            (1616987084.0, "1.616987084e+09"),
            (34359738368.0, "3.4359738368e+10"),
            (18446744073709551615.0, "1.8446744073709552e+19"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1.23456, "1.23456"),
            (123456.5, "123456.5"),
            (1234567.5, "1.2345675e+06"),
            (-0.25, "-0.25"),
            (0.001234, "0.001234"),
            (1e100, "1e+100"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for &(v, want) in cases {
            assert_eq!(go(v), want, "value {v:e}");
        }
        // Unlike strconv, client_golang's writer special-cases zero.
        assert_eq!(go(-0.0), "0");
    }

    #[test]
    fn openmetrics_adds_point_zero_to_integers_only() {
        assert_eq!(om(1.0), "1.0");
        assert_eq!(om(0.0), "0.0");
        assert_eq!(om(-0.0), "0.0");
        assert_eq!(om(1e6), "1e+06");
        assert_eq!(om(0.5), "0.5");
        assert_eq!(om(f64::NAN), "NaN");
        assert_eq!(om(f64::INFINITY), "+Inf");
    }
}
