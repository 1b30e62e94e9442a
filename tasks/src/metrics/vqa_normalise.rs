//! The VQA answer normaliser in its three reference flavours (`benchmarks.md` §2).
//!
//! All three share the punctuation and digit/article steps of the official `vqaEval.py`:
//!
//! - **punctuation**: for each of 21 characters in a fixed order, look at the step's *input*: if
//!   it contains `p + ' '` or `' ' + p`, or a digit-comma-digit run, delete every `p`; otherwise
//!   replace every `p` by a space. Then delete periods, at most 32 of them (`re.sub`'s count gets
//!   `re.UNICODE` = 32);
//! - **digit/article**: lower-case, split on Python whitespace, map number words to digits, drop
//!   articles, map contractions, join with single spaces.
//!
//! They differ in the details:
//!
//! | flavour | before | digit-comma-digit | period deleted when |
//! |---|---|---|---|
//! | lmms-eval `EvalAIAnswerProcessor` | word_tokenize: lower, delete `,` and `?`, `'s` → ` 's`, strip | `\d,+\d` | not followed by a digit |
//! | official `vqaEval` | — | `\d,\d` | not followed by a digit |
//! | VLMEvalKit `process_answer` | — | `\d,\d` | neither preceded nor followed by a digit |
//!
//! Every flavour first replaces `\n` and `\t` by spaces and strips. `\d` is Python's Unicode
//! decimal digit.

use crate::pycompat::{py_decimal_digit, py_lower, py_split, py_strip};

use super::vqa_tables::{ARTICLES, CONTRACTIONS, NUMBER_MAP, PUNCTUATIONS};

/// How many periods one `re.sub(..., re.UNICODE)` call deletes at most.
const PERIOD_STRIP_COUNT: usize = 32;

/// Which reference normaliser to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VqaNormaliser {
    /// lmms-eval's `EvalAIAnswerProcessor` (from MMF), used for TextVQA.
    LmmsEval,
    /// GT-Vision-Lab `vqaEval.py`: `processPunctuation` then `processDigitArticle`.
    Official,
    /// VLMEvalKit `process_answer`.
    VlmEvalKit,
}

/// Normalises one answer the way `flavour` does.
pub fn normalise_vqa_answer(answer: &str, flavour: VqaNormaliser) -> String {
    let text = match flavour {
        VqaNormaliser::LmmsEval => word_tokenize(answer),
        VqaNormaliser::Official | VqaNormaliser::VlmEvalKit => answer.to_string(),
    };
    let text = strip_lines(&text);
    let text = process_punctuation(&text, flavour);
    process_digit_article(&text)
}

/// `s.replace('\n', ' ').replace('\t', ' ').strip()`.
pub(crate) fn strip_lines(s: &str) -> String {
    py_strip(&s.replace(['\n', '\t'], " ")).to_string()
}

/// MMF's `word_tokenize`: lower-case, delete `,` and `?`, split off `'s`, strip.
fn word_tokenize(s: &str) -> String {
    let lowered = py_lower(s).replace([',', '?'], "").replace("'s", " 's");
    py_strip(&lowered).to_string()
}

/// The punctuation step, then the period step.
pub(crate) fn process_punctuation(input: &str, flavour: VqaNormaliser) -> String {
    let digit_comma_digit = has_digit_comma_digit(input, flavour == VqaNormaliser::LmmsEval);
    let mut out = input.to_string();
    for &p in PUNCTUATIONS {
        let spaced = input.contains(&format!("{p} ")) || input.contains(&format!(" {p}"));
        let replacement = if spaced || digit_comma_digit { "" } else { " " };
        out = out.replace(p, replacement);
    }
    strip_periods(&out, flavour == VqaNormaliser::VlmEvalKit)
}

/// Whether `s` has a digit, a comma (or, with `many_commas`, a run of commas) and a digit.
fn has_digit_comma_digit(s: &str, many_commas: bool) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let is_digit = |c: char| py_decimal_digit(c).is_some();
    (0..chars.len()).any(|i| {
        if !is_digit(chars[i]) {
            return false;
        }
        let commas = chars[i + 1..].iter().take_while(|&&c| c == ',').count();
        let allowed = if many_commas { commas >= 1 } else { commas == 1 };
        allowed && chars.get(i + 1 + commas).is_some_and(|&c| is_digit(c))
    })
}

/// Deletes the first 32 periods not followed by a digit (and, with `look_behind`, not preceded
/// by one); lookarounds see the original text, as `re.sub` does.
fn strip_periods(s: &str, look_behind: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let is_digit = |i: Option<&char>| i.is_some_and(|&c| py_decimal_digit(c).is_some());
    let mut removed = 0;
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let deletable = c == '.'
            && removed < PERIOD_STRIP_COUNT
            && !is_digit(chars.get(i + 1))
            && !(look_behind && i > 0 && is_digit(chars.get(i - 1)));
        if deletable {
            removed += 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// `processDigitArticle`: number words to digits, articles dropped, contractions mapped.
fn process_digit_article(s: &str) -> String {
    let lowered = py_lower(s);
    let lookup = |table: &'static [(&'static str, &'static str)], word: &str| {
        table.iter().find(|(k, _)| *k == word).map(|(_, v)| *v)
    };
    py_split(&lowered)
        .into_iter()
        .map(|word| lookup(NUMBER_MAP, word).unwrap_or(word))
        .filter(|word| !ARTICLES.contains(word))
        .map(|word| lookup(CONTRACTIONS, word).unwrap_or(word))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::vectors::{read_jsonl, read_vector_file};

    /// Every row of `evalai_answer_processor.jsonl`, all three normalisers.
    #[test]
    fn reference_vectors() {
        let rows = read_jsonl("evalai_answer_processor.jsonl");
        assert_eq!(rows.len(), 54, "evalai_answer_processor.jsonl should hold 54 inputs");
        let fields = [
            ("lmms_eval_EvalAIAnswerProcessor", VqaNormaliser::LmmsEval),
            ("official_vqaEval_punct_then_digit_article", VqaNormaliser::Official),
            ("vlmevalkit_process_answer", VqaNormaliser::VlmEvalKit),
        ];
        let mut failures = Vec::new();
        for (line, row) in rows.iter().enumerate() {
            let input = row["input"].as_str().expect("input is a string");
            for (field, flavour) in fields {
                let want = row[field].as_str().expect("expected value is a string");
                let got = normalise_vqa_answer(input, flavour);
                if got != want {
                    failures.push(format!("line {}: {input:?} ({flavour:?}): got {got:?}, want {want:?}", line + 1));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// The embedded tables equal `vqa_normalisation_tables.json`, entry by entry and in order.
    #[test]
    fn tables_match_the_reference_file() {
        let json: serde_json::Value =
            serde_json::from_str(&read_vector_file("vqa_normalisation_tables.json")).expect("valid JSON");
        let pairs = |key: &str| -> Vec<(String, String)> {
            json[key]
                .as_object()
                .unwrap_or_else(|| panic!("{key} is an object"))
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_string()))
                .collect()
        };
        let ours = |t: &[(&str, &str)]| -> Vec<(String, String)> {
            t.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let mut want = pairs("CONTRACTIONS");
        let mut got = ours(CONTRACTIONS);
        want.sort();
        got.sort();
        assert_eq!(got, want);
        assert_eq!(CONTRACTIONS.len(), 120);
        let mut want = pairs("NUMBER_MAP");
        let mut got = ours(NUMBER_MAP);
        want.sort();
        got.sort();
        assert_eq!(got, want);
        let list = |key: &str| -> Vec<String> {
            json[key]
                .as_array()
                .unwrap_or_else(|| panic!("{key} is an array"))
                .iter()
                .map(|v| v.as_str().expect("string").to_string())
                .collect()
        };
        assert_eq!(list("ARTICLES"), ARTICLES.to_vec());
        let punct: Vec<String> = PUNCTUATIONS.iter().map(char::to_string).collect();
        assert_eq!(list("PUNCTUATIONS"), punct);
    }

    #[test]
    fn comma_regexes_differ_on_comma_runs() {
        assert!(has_digit_comma_digit("1,,2", true));
        assert!(!has_digit_comma_digit("1,,2", false));
        assert!(has_digit_comma_digit("a 1,2", false));
        assert!(has_digit_comma_digit("١,٢", false));
        assert!(!has_digit_comma_digit("1, 2", true));
    }

    #[test]
    fn period_rules() {
        assert_eq!(strip_periods("3. a.b .5", false), "3 ab .5");
        assert_eq!(strip_periods("3. a.b .5", true), "3. ab .5");
        let many = ".".repeat(40);
        assert_eq!(strip_periods(&many, false), ".".repeat(8));
    }
}
