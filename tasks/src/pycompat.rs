//! Python `str` and `float` semantics that reference metrics depend on.
//!
//! The reference implementations of every benchmark are Python. Rust's `trim`, `split_whitespace`,
//! `f64::from_str` and float formatting differ from Python's `strip`, `split`, `float()` and
//! `round()` in corner cases, and those corners move scores (see `benchmarks.md` §0.5). Metrics use
//! these helpers instead of the std ones wherever the reference code calls the Python builtin.

/// Zero of every run of ten Unicode decimal digits (general category `Nd`), as Python 3.11
/// (Unicode 14) knows them. Python's `float()` and `int()` accept any of them.
const DECIMAL_ZEROS: [u32; 66] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6,
    0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40,
    0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0,
    0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50,
    0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950,
    0x1FBF0,
];

/// Python's `str.isspace()` for one character.
///
/// Unlike Rust's `char::is_whitespace`, this includes the separators `\x1c`–`\x1f` and excludes
/// nothing Python counts.
pub fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\x0b'
            | '\x0c'
            | '\r'
            | '\x1c'..='\x1f'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The value of a Unicode decimal digit (what Python's `unicodedata.decimal` gives, and what
/// Python's regex `\d` and `float()` accept), or `None`.
pub fn py_decimal_digit(c: char) -> Option<u32> {
    let code = c as u32;
    if c.is_ascii_digit() {
        return Some(code - 0x30);
    }
    if code < 0x0660 {
        return None;
    }
    let idx = DECIMAL_ZEROS.partition_point(|&zero| zero <= code);
    let zero = DECIMAL_ZEROS[idx.checked_sub(1)?];
    (code - zero < 10).then_some(code - zero)
}

/// Python's `str.strip()` with no argument.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.split()` with no argument: runs of whitespace separate words, and no word is empty.
pub fn py_split(s: &str) -> Vec<&str> {
    s.split(is_py_space).filter(|w| !w.is_empty()).collect()
}

/// Python's `str.lower()` (full Unicode mapping; the length may change).
pub fn py_lower(s: &str) -> String {
    s.to_lowercase()
}

/// Python's `str.upper()` (full Unicode mapping: `'ß'` becomes `"SS"`).
pub fn py_upper(s: &str) -> String {
    s.to_uppercase()
}

/// Python's `len(str)`: the number of code points.
pub fn py_len(s: &str) -> usize {
    s.chars().count()
}

/// Python's `float(str)`, or `None` where Python raises `ValueError`.
///
/// Accepts surrounding whitespace, a sign, `_` between digits, `.5`, `5.`,
/// exponents, `inf`/`infinity`/`nan` in any case, and decimal digits of any script. Rejects
/// thousands separators (`1,000`), interior spaces and empty input.
///
/// The whitespace set is not quite `str.isspace`: CPython copies ASCII characters through
/// unchanged and strips only ` \t\n\v\f\r` among them, so `float("\x1c3")` fails while
/// `float("\u{a0}3")` (non-ASCII whitespace) succeeds.
pub fn py_float(s: &str) -> Option<f64> {
    let is_float_space = |c: char| {
        if c.is_ascii() {
            matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
        } else {
            is_py_space(c)
        }
    };
    let mut ascii = String::with_capacity(s.len());
    for c in s.trim_matches(is_float_space).chars() {
        if let Some(d) = py_decimal_digit(c) {
            ascii.push(char::from_digit(d, 10)?);
        } else if c.is_ascii() && !is_float_space(c) {
            ascii.push(c);
        } else {
            return None;
        }
    }
    let (sign, body) = match ascii.as_bytes().first() {
        Some(b'+') => (1.0, &ascii[1..]),
        Some(b'-') => (-1.0, &ascii[1..]),
        _ => (1.0, ascii.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN.copysign(sign));
    }
    let cleaned = validate_numeric(&lower)?;
    cleaned.parse::<f64>().ok().map(|v| sign * v)
}

/// Checks `numeric ::= digitpart ['.' [digitpart]] [exponent] | '.' digitpart [exponent]` with
/// `digitpart ::= digit (['_'] digit)*` and `exponent ::= 'e' [sign] digitpart`; returns the text
/// without underscores.
fn validate_numeric(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = String::with_capacity(s.len());
    let int_digits = digit_part(b, &mut i, &mut out);
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        out.push('.');
        i += 1;
        frac_digits = digit_part(b, &mut i, &mut out);
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if b.get(i) == Some(&b'e') {
        out.push('e');
        i += 1;
        if let Some(&sign @ (b'+' | b'-')) = b.get(i) {
            out.push(sign as char);
            i += 1;
        }
        if digit_part(b, &mut i, &mut out) == 0 {
            return None;
        }
    }
    (i == b.len()).then_some(out)
}

/// Consumes `digit (['_'] digit)*` at `*i`, appending the digits; returns how many were read
/// (0 when there is none, leaving `*i` unchanged).
fn digit_part(b: &[u8], i: &mut usize, out: &mut String) -> usize {
    let mut n = 0;
    loop {
        match b.get(*i) {
            Some(d) if d.is_ascii_digit() => {
                out.push(*d as char);
                *i += 1;
                n += 1;
            }
            Some(b'_') if n > 0 && b.get(*i + 1).is_some_and(u8::is_ascii_digit) => *i += 1,
            _ => return n,
        }
    }
}

/// Python's `round(x, ndigits)` for a float: the exact binary value rounded half-to-even at
/// decimal position `ndigits` (negative rounds to tens, hundreds...).
///
/// `round(2.675, 2) == 2.67` because 2.675 is stored as 2.67499999...; `round(0.125, 2) == 0.12`
/// because the tie goes to the even digit. NaN and infinities come back unchanged. Where Python
/// raises `OverflowError` (a finite value rounding past `f64::MAX`) this returns an infinity.
pub fn py_round(x: f64, ndigits: i32) -> f64 {
    // Python: beyond these bounds the result is x itself, or a zero of x's sign.
    const NDIGITS_MAX: i32 = 323;
    const NDIGITS_MIN: i32 = -308;
    if !x.is_finite() || x == 0.0 || ndigits > NDIGITS_MAX {
        return x;
    }
    if ndigits < NDIGITS_MIN {
        return 0.0 * x;
    }
    // Every finite f64 has at most 1074 decimals, so this expansion is exact.
    let exact = format!("{:.1074}", x.abs());
    let (int_part, frac_part) = exact.split_once('.').unwrap_or((&exact, ""));
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).map(|d| d - b'0').collect();
    // Index in `digits` of the first digit to drop.
    let point = int_part.len() as i64;
    let cut = point + i64::from(ndigits);
    let rounded_up = if cut < 0 {
        false
    } else {
        let cut = cut as usize;
        let first_dropped = digits.get(cut).copied().unwrap_or(0);
        let rest_nonzero = digits.iter().skip(cut + 1).any(|&d| d != 0);
        let last_kept_odd = cut > 0 && digits[cut - 1] % 2 == 1;
        let up = first_dropped > 5 || (first_dropped == 5 && (rest_nonzero || last_kept_odd));
        digits.truncate(cut);
        up
    };
    let cut = cut.max(0) as usize;
    digits.resize(cut, 0);
    if rounded_up {
        let mut carry = true;
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            digits.insert(0, 1);
        }
    }
    let mantissa: String =
        if digits.is_empty() { "0".to_string() } else { digits.iter().map(|d| char::from(b'0' + d)).collect() };
    // mantissa * 10^(-ndigits), parsed once so the result is correctly rounded.
    let text = format!("{mantissa}e{}", -i64::from(ndigits));
    let magnitude = text.parse::<f64>().unwrap_or(f64::INFINITY);
    magnitude.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_set_matches_python() {
        for c in ['\x1c', '\x1d', '\x1e', '\x1f', '\u{85}', '\u{a0}', '\u{3000}', '\u{2007}'] {
            assert!(is_py_space(c), "{c:?}");
        }
        for c in ['\u{200b}', '\u{180e}', 'a', '_', '\u{feff}'] {
            assert!(!is_py_space(c), "{c:?}");
        }
        // Every char Rust calls whitespace is Python whitespace too.
        for c in (0..=0x3000u32).filter_map(char::from_u32) {
            if c.is_whitespace() {
                assert!(is_py_space(c), "{c:?}");
            }
        }
    }

    #[test]
    fn strip_and_split() {
        assert_eq!(py_strip("\x1c a b \x1f\u{85}"), "a b");
        assert_eq!(py_split("  a\x1db\t\nc  "), vec!["a", "b", "c"]);
        assert!(py_split(" \x1e ").is_empty());
        assert_eq!(py_split("x"), vec!["x"]);
    }

    #[test]
    fn case_and_length() {
        assert_eq!(py_upper("ß"), "SS");
        assert_eq!(py_len(&py_upper("straße")), 7);
        assert_eq!(py_lower("ÀÉ"), "àé");
        assert_eq!(py_len("İ"), 1);
        assert_eq!(py_len(&py_lower("İ")), 2);
        assert_eq!(py_len("日本"), 2);
    }

    #[test]
    fn decimal_digits() {
        assert_eq!(py_decimal_digit('7'), Some(7));
        assert_eq!(py_decimal_digit('٣'), Some(3));
        assert_eq!(py_decimal_digit('９'), Some(9));
        assert_eq!(py_decimal_digit('²'), None);
        assert_eq!(py_decimal_digit('a'), None);
        assert_eq!(py_decimal_digit('\u{1FBF9}'), Some(9));
    }

    #[test]
    fn float_accepts_python_forms() {
        let ok = [
            ("1", 1.0),
            (" 2.5 ", 2.5),
            ("\u{85}3\u{3000}", 3.0),
            ("1_000", 1000.0),
            ("1_0.2_5", 10.25),
            ("1e1_0", 1e10),
            (".5", 0.5),
            ("5.", 5.0),
            ("-5.", -5.0),
            ("+.5e-1", 0.05),
            ("1E3", 1000.0),
            ("1e400", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("InFiNiTy", f64::INFINITY),
            ("００７", 7.0),
            ("0.1", 0.1),
        ];
        for (text, want) in ok {
            assert_eq!(py_float(text), Some(want), "{text:?}");
        }
        assert!(py_float("NaN").is_some_and(f64::is_nan));
        assert!(py_float("-nan").is_some_and(|v| v.is_nan() && v.is_sign_negative()));
    }

    #[test]
    fn float_rejects_what_python_rejects() {
        let bad = [
            "",
            " ",
            "1,000",
            "1 000",
            "_1",
            "1_",
            "1__0",
            "1._5",
            "1_.5",
            ".",
            "e5",
            "1e",
            "1e+",
            "--1",
            "+-1",
            "infi",
            "nan1",
            "0x10",
            "1.2.3",
            "50%",
            "1e_5",
            "inf_",
            "١,٢",
            "\x1c3",
            "3\x1f",
            "1\u{3000}2",
        ];
        for text in bad {
            assert_eq!(py_float(text), None, "{text:?}");
        }
    }

    #[test]
    fn round_is_half_even_on_the_binary_value() {
        let cases = [
            (2.675, 2, 2.67),
            (0.125, 2, 0.12),
            (0.375, 2, 0.38),
            (1.25, 1, 1.2),
            (1.35, 1, 1.4),
            (2.5, 0, 2.0),
            (3.5, 0, 4.0),
            (-2.5, 0, -2.0),
            (1234.5678, -2, 1200.0),
            (1250.0, -2, 1200.0),
            (1350.0, -2, 1400.0),
            (9.995, 2, 9.99),
            (9.9951, 2, 10.0),
            (0.5, -1, 0.0),
            (5.0, -1, 0.0),
            (15.0, -1, 20.0),
            (123.456, 5, 123.456),
            (1e300, 2, 1e300),
            (99.5, 0, 100.0),
            (1e-320, 2, 0.0),
        ];
        for (x, n, want) in cases {
            assert_eq!(py_round(x, n), want, "round({x}, {n})");
        }
        assert!(py_round(-0.001, 2).is_sign_negative());
        assert!(py_round(f64::NAN, 2).is_nan());
        assert_eq!(py_round(f64::INFINITY, 2), f64::INFINITY);
        assert_eq!(py_round(1.0, 400), 1.0);
        assert_eq!(py_round(f64::MAX, -308), f64::INFINITY);
    }
}
