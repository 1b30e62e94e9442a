//! MMMU response parsing (`benchmarks.md` §7.3–7.4): the multiple-choice letter parsers of the
//! official `eval_utils.py` and of lmms-eval, and `parse_open_response` with its number extractor
//! and `normalize_str`.
//!
//! The reference regexes use look-aheads and Python's Unicode `\d`, `\b`; they are hand-coded here
//! (`\d` = Unicode decimal digit, `\w` = alphanumeric or `_`).

use crate::pycompat::{py_decimal_digit, py_float, py_len, py_lower, py_round, py_split, py_strip};

use super::pyrandom::PyRandom;

/// Characters stripped, one `str.strip(c)` each and in this order, before letter matching.
const EDGE_PUNCTUATION: [char; 7] = [',', '.', '!', '?', ';', ':', '\''];

/// Which multiple-choice parser to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MmmuParser {
    /// MMMU `parse_multi_choice_response`: `(X)`, then ` X `, then option text.
    Official,
    /// lmms-eval (v0.3.0 to HEAD): `(X)`, then `X `, then `X.`, then option text.
    LmmsEval,
}

/// The outcome of parsing one multiple-choice response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McParse {
    /// The chosen letter.
    pub letter: String,
    /// Whether no rule matched and the letter was drawn at random.
    pub random_fallback: bool,
}

/// Parses a multiple-choice response. `options[i]` is the text of option `letters[i]`; `rng` is
/// only drawn from when no rule matches (then `random.choice(letters)`).
pub fn parse_multi_choice(
    response: &str,
    letters: &[String],
    options: &[String],
    parser: MmmuParser,
    rng: &mut PyRandom,
) -> McParse {
    let mut text = response;
    for c in EDGE_PUNCTUATION {
        text = text.trim_matches(c);
    }
    let padded = format!(" {text} ");
    let found = |pattern: &dyn Fn(&str) -> String| -> Vec<usize> {
        (0..letters.len()).filter(|&i| padded.contains(&pattern(&letters[i]))).collect()
    };
    let bracket = |l: &str| format!("({l})");
    let spaced = |l: &str| format!(" {l} ");
    let mut candidates = found(&bracket);
    let with_brackets = !candidates.is_empty();
    if candidates.is_empty() {
        candidates = match parser {
            MmmuParser::Official => found(&spaced),
            MmmuParser::LmmsEval => found(&|l: &str| format!("{l} ")),
        };
    }
    if candidates.is_empty() && parser == MmmuParser::LmmsEval {
        candidates = found(&|l: &str| format!("{l}."));
    }
    let mut by_content = false;
    let lowered = py_lower(&padded);
    if candidates.is_empty() && py_split(&padded).len() > 5 {
        candidates =
            (0..letters.len().min(options.len())).filter(|&i| lowered.contains(&py_lower(&options[i]))).collect();
        by_content = !candidates.is_empty();
    }
    let chosen = match candidates.len() {
        0 => {
            let letter = rng.choice(letters).clone();
            return McParse { letter, random_fallback: true };
        }
        1 => candidates[0],
        _ => {
            // The last occurrence wins; rfind's -1 is None here, which sorts below every Some.
            let position = |i: usize| -> Option<usize> {
                if by_content {
                    lowered.rfind(&py_lower(&options[i]))
                } else if with_brackets {
                    padded.rfind(&bracket(&letters[i]))
                } else {
                    padded.rfind(&spaced(&letters[i]))
                }
            };
            // np.argmax: the first maximum.
            let mut best = candidates[0];
            let mut best_pos = position(best);
            for &i in &candidates[1..] {
                let pos = position(i);
                if pos > best_pos {
                    best = i;
                    best_pos = pos;
                }
            }
            best
        }
    };
    McParse { letter: letters[chosen].clone(), random_fallback: false }
}

/// One element of a parsed (or normalised gold) open answer.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenValue {
    /// A number, rounded to two decimals.
    Number(f64),
    /// Lower-cased text (one-character text appears twice, padded left and right).
    Text(String),
}

/// `normalize_str`: a number (commas removed) becomes `round(x, 2)`; other text is lower-cased,
/// and one character `c` becomes `[" c", "c "]`.
pub fn normalize_str(s: &str) -> Vec<OpenValue> {
    let s = py_strip(s);
    if let Some(x) = py_float(&s.replace(',', "")) {
        return vec![OpenValue::Number(py_round(x, 2))];
    }
    let lower = py_lower(s);
    if py_len(&lower) == 1 {
        vec![OpenValue::Text(format!(" {lower}")), OpenValue::Text(format!("{lower} "))]
    } else {
        vec![OpenValue::Text(lower)]
    }
}

/// `parse_open_response`: key sub-responses, the numbers in them, each normalised; duplicates
/// dropped (first occurrence kept; the reference's `list(set(...))` order is arbitrary).
pub fn parse_open_response(response: &str) -> Vec<OpenValue> {
    let keys = key_subresponses(response);
    let numbers = keys.iter().flat_map(|k| extract_numbers(k));
    let mut out: Vec<OpenValue> = Vec::new();
    for value in keys.iter().cloned().chain(numbers).flat_map(|s| normalize_str(&s)) {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

/// `get_key_subresponses`: per line, the shortest tail after an answer indicator.
fn key_subresponses(response: &str) -> Vec<String> {
    const INDICATORS: [&str; 8] = ["could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result "];
    const TRIVIAL: [&str; 7] = [":", ",", ".", "!", "?", ";", "'"];
    let text = py_lower(py_strip(response).trim_matches('.'));
    let subs = split_sentences(&text);
    let mut keys = Vec::new();
    for (index, sub) in subs.iter().enumerate() {
        let last = index + 1 == subs.len();
        let mut shortest: Option<String> = None;
        for indicator in INDICATORS.iter().copied().chain(last.then_some("=")) {
            if let Some((_, tail)) = sub.rsplit_once(indicator) {
                let tail = py_strip(tail);
                match &shortest {
                    Some(s) if !s.is_empty() && py_len(tail) >= py_len(s) => {}
                    _ => shortest = Some(tail.to_string()),
                }
            }
        }
        if let Some(key) = shortest.filter(|k| !k.is_empty() && !TRIVIAL.contains(&py_strip(k))) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        vec![text]
    } else {
        keys
    }
}

/// `re.split(r'\.\s(?=[A-Z])|\n', text)`.
fn split_sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\n' {
            parts.push(std::mem::take(&mut current));
            i += 1;
        } else if chars[i] == '.'
            && chars.get(i + 1).is_some_and(|&c| crate::pycompat::is_py_space(c))
            && chars.get(i + 2).is_some_and(char::is_ascii_uppercase)
        {
            parts.push(std::mem::take(&mut current));
            i += 2;
        } else {
            current.push(chars[i]);
            i += 1;
        }
    }
    parts.push(current);
    parts
}

fn is_digit(c: Option<&char>) -> bool {
    c.is_some_and(|&c| py_decimal_digit(c).is_some())
}

fn is_word(c: Option<&char>) -> bool {
    c.is_some_and(|&c| c.is_alphanumeric() || c == '_')
}

/// End of the run of digits starting at `i` (`i` itself when there is none).
fn digits_end(s: &[char], i: usize) -> usize {
    let mut j = i;
    while is_digit(s.get(j)) {
        j += 1;
    }
    j
}

/// `extract_numbers`: every match of the comma pattern, then the scientific, then the simple one.
pub fn extract_numbers(text: &str) -> Vec<String> {
    let s: Vec<char> = text.chars().collect();
    let mut out = find_all(&s, comma_number);
    out.extend(find_all(&s, scientific_number));
    out.extend(find_all(&s, simple_number));
    out
}

/// `re.findall` for a matcher that returns the end of a match starting at `i`.
fn find_all(s: &[char], matcher: fn(&[char], usize) -> Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match matcher(s, i) {
            Some(end) if end > i => {
                out.push(s[i..end].iter().collect());
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// Skips an optional leading `-`.
fn after_sign(s: &[char], i: usize) -> usize {
    if s.get(i) == Some(&'-') {
        i + 1
    } else {
        i
    }
}

/// `-?\b\d{1,3}(?:,\d{3})+\b`.
fn comma_number(s: &[char], i: usize) -> Option<usize> {
    let p = after_sign(s, i);
    // \b before a digit: the previous character is not a word character.
    if !is_digit(s.get(p)) || (p > 0 && is_word(s.get(p - 1))) {
        return None;
    }
    let lead = digits_end(s, p) - p;
    if lead > 3 {
        return None;
    }
    let mut ends = Vec::new();
    let mut j = p + lead;
    while s.get(j) == Some(&',') && (1..=3).all(|k| is_digit(s.get(j + k))) {
        j += 4;
        ends.push(j);
    }
    // Greedy groups, backing off until a word boundary follows.
    ends.into_iter().rev().find(|&end| !is_word(s.get(end)))
}

/// `-?\d+(?:\.\d+)?[eE][+-]?\d+`.
fn scientific_number(s: &[char], i: usize) -> Option<usize> {
    let p = after_sign(s, i);
    let mut j = digits_end(s, p);
    if j == p {
        return None;
    }
    if s.get(j) == Some(&'.') && is_digit(s.get(j + 1)) {
        j = digits_end(s, j + 1);
    }
    exponent_end(s, j)
}

/// The end of `[eE][+-]?\d+` at `j`, if there is one.
fn exponent_end(s: &[char], j: usize) -> Option<usize> {
    if !matches!(s.get(j), Some('e' | 'E')) {
        return None;
    }
    let mut k = j + 1;
    if matches!(s.get(k), Some('+' | '-')) {
        k += 1;
    }
    let end = digits_end(s, k);
    (end > k).then_some(end)
}

/// `-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])`.
fn simple_number(s: &[char], i: usize) -> Option<usize> {
    let p = after_sign(s, i);
    let accept = |end: usize| exponent_end(s, end).is_none() && !is_digit(s.get(end)) && s.get(end) != Some(&',');
    let int_end = digits_end(s, p);
    // \d+\.\d+ (only maximal runs can pass the (?![,\d]) check).
    if int_end > p && s.get(int_end) == Some(&'.') && is_digit(s.get(int_end + 1)) {
        let end = digits_end(s, int_end + 1);
        if accept(end) {
            return Some(end);
        }
    }
    // \.\d+
    if s.get(p) == Some(&'.') && is_digit(s.get(p + 1)) {
        let end = digits_end(s, p + 1);
        if accept(end) {
            return Some(end);
        }
    }
    // \d+\b
    if int_end > p && !is_word(s.get(int_end)) && accept(int_end) {
        return Some(int_end);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letters(n: usize) -> Vec<String> {
        (0..n).map(|i| char::from(b'A' + i as u8).to_string()).collect()
    }

    #[test]
    fn number_patterns_follow_python_backtracking() {
        // Expected lists printed by CPython 3.11 running the reference regexes.
        let cases: [(&str, &[&str]); 14] = [
            ("2.5e3", &["2.5e3", "2", "3"]),
            ("1,234 dollars", &["1,234", "234"]),
            ("12.5, 7", &["12", "7"]),
            ("12px -3 .5 x1,234,56", &["-3", ".5", "56"]),
            ("a 1,234,567 b", &["1,234,567", "567"]),
            ("1e-5 and 3E+2", &["1e-5", "3E+2", "-5", "2"]),
            ("١٢ apples", &["١٢"]),
            ("-1,234.5", &["-1,234", "234.5"]),
            ("3.14.15", &["3.14", ".15"]),
            ("1,234,5678", &["1,234", "5678"]),
            ("--5", &["-5"]),
            ("5_000", &["000"]),
            ("x-12.5e", &["-12.5"]),
            ("1.5e+", &["1.5"]),
        ];
        for (text, want) in cases {
            assert_eq!(extract_numbers(text), want, "{text:?}");
        }
    }

    #[test]
    fn sentence_split_only_on_newlines_after_lowering() {
        assert_eq!(split_sentences("a. b\nc"), ["a. b", "c"]);
        assert_eq!(split_sentences("a. B"), ["a", "B"]);
    }

    #[test]
    fn key_responses() {
        assert_eq!(key_subresponses("So the final answer is 7. It could be 8."), ["8"]);
        assert_eq!(key_subresponses("x = 5"), ["5"]);
        assert_eq!(key_subresponses("No idea"), ["no idea"]);
        // An empty tail is replaced by the next indicator's, even a longer one.
        assert_eq!(key_subresponses("is so \nx"), ["so"]);
    }

    #[test]
    fn multi_choice_parsers() {
        let opts: Vec<String> = ["a cat", "a dog", "two birds", "the sky is blue"].map(String::from).to_vec();
        let mut rng = PyRandom::new(42);
        let mut parse = |r: &str, p| parse_multi_choice(r, &letters(4), &opts, p, &mut rng);
        assert_eq!(parse("B. a dog", MmmuParser::LmmsEval).letter, "B");
        assert!(parse("B. a dog", MmmuParser::Official).random_fallback);
        assert_eq!(parse("A. a cat\nB. a dog", MmmuParser::Official).letter, "B");
        assert_eq!(parse("A. a cat\nB. a dog", MmmuParser::LmmsEval).letter, "A");
        assert_eq!(parse("A or B", MmmuParser::Official).letter, "B");
    }
}
