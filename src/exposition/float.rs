//! Sample values written the way Go's `strconv.FormatFloat(v, 'g', -1, 64)`
//! writes them, which is what node_exporter emits: the shortest digits that
//! round-trip, in exponent form when the decimal exponent is below -4 or at
//! least 6 (`1.616987084e+09`, `2.105979e+06`, `123456`, `0.0001`).
//!
//! Matching Go byte for byte keeps our output diffable against
//! node_exporter's.

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
        out.extend_from_slice(itoa::Buffer::new().format(value as i64).as_bytes());
        return;
    }

    let (negative, digits, exponent) = shortest_digits(value);
    let digits = digits.as_slice();
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
        if exponent.abs() < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(
            itoa::Buffer::new()
                .format(exponent.unsigned_abs())
                .as_bytes(),
        );
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

/// 2^53: every integer below it is a double, and so is each neighbour.
const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// The significant decimal digits of a finite, non-zero `value`.
struct Digits {
    bytes: [u8; 24],
    len: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The shortest digits that round-trip to `value` (finite, non-zero), as
/// Go's strconv chooses them, with the sign and the decimal exponent of the
/// first digit: `-1234.5` is `(true, "12345", 3)`.
fn shortest_digits(value: f64) -> (bool, Digits, i32) {
    let mut digits = Digits {
        bytes: [0; 24],
        len: 0,
    };
    // Most values are counters: integers below 2^53, whose neighbours are
    // at most 1 away, so every digit of the integer is needed and none
    // more. Its decimal digits are the shortest form.
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGERS {
        let mut buffer = itoa::Buffer::new();
        let text = buffer.format(value.abs() as u64).as_bytes();
        let significant = text.len() - text.iter().rev().take_while(|&&b| b == b'0').count();
        digits.bytes[..significant].copy_from_slice(&text[..significant]);
        digits.len = significant;
        return (value < 0.0, digits, text.len() as i32 - 1);
    }
    // ryu finds the digits; its layout (`1234.5`, `1e-7`, `1.5e16`) is
    // taken apart here.
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value).as_bytes();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (&text[..at], parse_exponent(&text[at + 1..])),
        None => (mantissa_only(text), 0),
    };
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    // Digits before the first non-zero one shift the exponent down.
    let mut leading_zeros = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if digits.len == 0 && b == b'0' {
            leading_zeros += 1;
        } else if digits.len < digits.bytes.len() {
            digits.bytes[digits.len] = b;
            digits.len += 1;
        }
    }
    while digits.len > 1 && digits.bytes[digits.len - 1] == b'0' {
        digits.len -= 1;
    }
    let exponent = point as i32 - 1 + exponent - leading_zeros;
    (negative, digits, exponent)
}

/// ryu writes integral values as `1234.0`; the `.0` is not a digit of them.
fn mantissa_only(text: &[u8]) -> &[u8] {
    text.strip_suffix(b".0").unwrap_or(text)
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = text
        .iter()
        .fold(0i32, |n, &b| n * 10 + i32::from(b.wrapping_sub(b'0')));
    if negative {
        -magnitude
    } else {
        magnitude
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

    /// The digits and exponent Rust's own shortest formatting gives, which
    /// the ryu-based path must agree with.
    fn via_core(v: f64) -> (bool, String, i32) {
        let repr = format!("{v:e}");
        let (negative, repr) = match repr.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, repr),
        };
        let (mantissa, exponent) = repr.split_once('e').unwrap();
        (
            negative,
            mantissa.replace('.', ""),
            exponent.parse().unwrap(),
        )
    }

    #[test]
    fn shortest_digits_agree_with_core_formatting() {
        // A fixed xorshift sequence of bit patterns, plus values around the
        // points where ryu switches layout.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut values = vec![
            1e-7, 1e-5, 1.5e-5, 0.1, 0.3, 1e15, 1.5e16, 1e16, 1e17, 123e20, 5e-324,
        ];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(f64::from_bits(state));
            values.push((state >> 11) as f64);
            values.push((state >> 40) as f64 / 1000.0);
        }
        for v in values.into_iter().filter(|v| v.is_finite() && *v != 0.0) {
            let (negative, digits, exponent) = shortest_digits(v);
            let digits = String::from_utf8(digits.as_slice().to_vec()).unwrap();
            let (core_negative, core_digits, core_exponent) = via_core(v);
            assert_eq!(
                (negative, digits.len(), exponent),
                (core_negative, core_digits.len(), core_exponent),
                "value {v:e}"
            );
            let back: f64 = format!(
                "{}{}.{}e{exponent}",
                if negative { "-" } else { "" },
                &digits[..1],
                &digits[1..]
            )
            .parse()
            .unwrap();
            assert_eq!(back, v, "{digits} does not round-trip");
            // Where two shortest forms are equally close, core rounds the
            // last digit up and Go (like ryu) to even.
            if digits != core_digits {
                assert_eq!(
                    digits.as_bytes().last().unwrap() % 2,
                    0,
                    "value {v:e}: {digits} against {core_digits}"
                );
            }
        }
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
