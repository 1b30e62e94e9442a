//! Python's `str(float)` / `repr(float)` (and, for tests, `repr(str)`).
//!
//! MathVista compares `str(round(float(x), p))` with the gold string, so `3` becomes `"3.0"` and
//! `1e16` becomes `"1e+16"`. Python prints the shortest digit string that reads back to the same
//! float (as Rust's `{:e}` does), in fixed notation when the decimal exponent `e` of the first
//! digit satisfies `-4 <= e < 16`, otherwise as `d.ddde±XX` with at least two exponent digits.

/// `repr(x)` / `str(x)` for a Python float.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    // Shortest round-trip digits, e.g. "1.2345e3".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Position of the decimal point relative to the digit string.
    let point = exponent + 1;
    let n = digits.len() as i32;
    let body = if (-3..=16).contains(&point) {
        if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point >= n {
            format!("{digits}{}.0", "0".repeat((point - n) as usize))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() { first.to_string() } else { format!("{first}.{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{exp_sign}{:02}", exponent.abs())
    };
    format!("{sign}{body}")
}

/// `repr(s)` for a Python `str`: single quotes unless the text has `'` and no `"`; backslash
/// escapes for the quote, `\\`, `\t`, `\n`, `\r` and other control characters.
#[cfg(test)]
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (3.0, "3.0"),
            (1.2, "1.2"),
            (0.12, "0.12"),
            (2.67, "2.67"),
            (-3.0, "-3.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (42.0, "42.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.7, "1234567890123456.8"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1.5e300, "1.5e+300"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456789.0, "123456789.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (x, want) in cases {
            assert_eq!(py_float_repr(x), want, "{x:e}");
        }
        assert_eq!(py_float_repr(f64::NAN), "nan");
    }

    #[test]
    fn str_repr_matches_python() {
        assert_eq!(py_str_repr("a b"), "'a b'");
        assert_eq!(py_str_repr("it's"), "\"it's\"");
        assert_eq!(py_str_repr("'\""), "'\\'\"'");
        assert_eq!(py_str_repr("a\nb\\"), "'a\\nb\\\\'");
        assert_eq!(py_str_repr("é\x01"), "'é\\x01'");
    }
}
