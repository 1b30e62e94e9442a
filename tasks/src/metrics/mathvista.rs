//! MathVista scoring (`benchmarks.md` §9): rule-based answer extraction, the reference
//! normalisation, and correctness. **The metric asks no LLM judge**; a run given a judge endpoint
//! asks one where the official shortcuts fail ([`crate::judge`]) and scores its extraction with
//! steps 2 and 3.
//!
//! 1. **Extraction** (`extract_answer`'s rule-based shortcuts): an empty response gives `""`; a
//!    multi-choice response equal to one of the choices is kept; an `integer` answer that
//!    Python's `int()` reads gives `str(int(response))`; a `float` answer that `float()` reads
//!    gives `str(float(response))`. Where the reference would now prompt its GPT judge, this
//!    harness takes the stripped response itself (what the judge's demonstrations return for a
//!    bare answer). lmms-eval without a judge returns `""` there instead, which turns every such
//!    answer wrong; that is not reproduced.
//! 2. **Normalisation** (`normalize_extracted_answer`): multi-choice strips, takes the letter of
//!    the first `(x)` upper-cased, maps a letter `A`.. to its choice, else picks the choice at the
//!    smallest Levenshtein distance (first minimum); `integer` is `str(int(float(x)))`; `float`
//!    is `str(round(float(x), int(precision)))` officially, but lmms-eval passes the data set's
//!    float64 precision to `round()`, which raises, so every float item is `None` (wrong);
//!    `list` is the text as it is. A failure is `None`.
//! 3. **Correctness**: official `prediction == answer`; lmms-eval
//!    `str(prediction).strip() == str(answer).strip()` (`None` prints as `"None"`).
//!
//! **VLMEvalKit** (its judge-free prefetch, `post_check`): multi-choice is correct iff `can_infer`
//! finds the answer's letter; `integer` iff `int(response) == int(answer)`; `float` iff
//! `float(response) == float(answer)`; `list` never (it compares `str(None)`).

use smolbench_core::ScoringContext;

use super::anls::levenshtein;
use super::can_infer::can_infer;
use super::mmmu::option_letters;
use super::pyrepr::py_float_repr;
use super::MetricProfile;
use crate::pycompat::{is_py_space, py_decimal_digit, py_float, py_round, py_strip};

/// The data set's `precision` as `round()` receives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Precision {
    /// An integer (what the official code passes after `int(precision)`).
    Int(i64),
    /// A float64, as the HF parquet stores it (lmms-eval passes it to `round()` as it is).
    Float(f64),
}

/// Python's `int(text)` printed back as `str(int(...))`: surrounding whitespace, a sign, decimal
/// digits of any script and single `_` between digits; leading zeros and `-0` canonicalised.
pub fn py_int_str(text: &str) -> Option<String> {
    let t = text.trim_matches(|c: char| if c.is_ascii() { matches!(c, ' ' | '\t'..='\r') } else { is_py_space(c) });
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut digits = String::new();
    let mut previous_underscore = true; // no leading underscore
    for c in body.chars() {
        if c == '_' && !previous_underscore {
            previous_underscore = true;
        } else if let Some(d) = py_decimal_digit(c) {
            digits.push(char::from(b'0' + d as u8));
            previous_underscore = false;
        } else {
            return None;
        }
    }
    if digits.is_empty() || previous_underscore {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(match (trimmed.is_empty(), negative) {
        (true, _) => "0".to_string(),
        (false, true) => format!("-{trimmed}"),
        (false, false) => trimmed.to_string(),
    })
}

/// `str(int(x))` for a float `x` (truncation toward zero), or `None` for NaN and infinities.
fn float_to_int_str(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let t = x.trunc();
    Some(if t == 0.0 { "0".to_string() } else { format!("{t:.0}") })
}

/// The rule-based `extract_answer`, with the stripped response standing in for the judge.
pub fn extract_answer(response: &str, question_type: &str, answer_type: &str, choices: &[String]) -> String {
    if response.is_empty() {
        return String::new();
    }
    if question_type == "multi_choice" && choices.iter().any(|c| c == response) {
        return response.to_string();
    }
    if answer_type == "integer" {
        if let Some(int) = py_int_str(response) {
            return int;
        }
    }
    if answer_type == "float" {
        if let Some(x) = py_float(response) {
            return py_float_repr(x);
        }
    }
    py_strip(response).to_string()
}

/// `normalize_extracted_answer`; `lmms` selects lmms-eval's float rule (`round(x, precision)`
/// without `int()`). `None` where the reference returns `None`.
pub fn normalize_extracted_answer(
    extraction: &str,
    choices: &[String],
    question_type: &str,
    answer_type: &str,
    precision: Option<Precision>,
    lmms: bool,
) -> Option<String> {
    if question_type == "multi_choice" {
        let mut extraction = py_strip(extraction).to_string();
        if let Some(letter) = first_parenthesised_letter(&extraction) {
            extraction = letter.to_ascii_uppercase().to_string();
        }
        let letters = option_letters(choices.len());
        if let Some(i) = letters.iter().take(choices.len()).position(|l| *l == extraction) {
            return Some(choices[i].clone());
        }
        let target: Vec<char> = extraction.chars().collect();
        let distance = |c: &String| levenshtein(&target, &c.chars().collect::<Vec<_>>());
        // min() keeps the first of equal distances, as list.index(min(...)) does.
        return choices.iter().min_by_key(|c| distance(c)).cloned();
    }
    match answer_type {
        "integer" => py_float(extraction).and_then(float_to_int_str),
        "float" => {
            let x = py_float(extraction)?;
            let digits = match (precision?, lmms) {
                (Precision::Int(p), _) => p,
                // round(x, 1.0) raises TypeError in lmms-eval.
                (Precision::Float(_), true) => return None,
                (Precision::Float(p), false) if p.is_finite() => p.trunc() as i64,
                (Precision::Float(_), false) => return None,
            };
            Some(py_float_repr(py_round(x, digits.clamp(-400, 400) as i32)))
        }
        "list" => Some(extraction.to_string()),
        _ => None,
    }
}

/// The letter inside the first `(x)` (ASCII letter).
fn first_parenthesised_letter(s: &str) -> Option<char> {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(3).find(|w| w[0] == '(' && w[1].is_ascii_alphabetic() && w[2] == ')').map(|w| w[1])
}

/// Whether a normalised prediction counts as correct under `profile` (official or lmms-eval).
pub fn mathvista_correct(prediction: Option<&str>, answer: &str, profile: MetricProfile) -> bool {
    match profile {
        MetricProfile::LmmsEval => py_strip(prediction.unwrap_or("None")) == py_strip(answer),
        _ => prediction == Some(answer),
    }
}

/// VLMEvalKit's judge-free `post_check`.
pub fn vlmevalkit_correct(
    response: &str,
    answer: &str,
    question_type: &str,
    answer_type: &str,
    choices: &[String],
) -> bool {
    if question_type == "multi_choice" {
        let letters = option_letters(choices.len());
        let answer_letter = choices.iter().position(|c| c == answer).map(|i| letters[i].clone());
        return answer_letter.is_some() && can_infer(response, &letters, choices) == answer_letter;
    }
    match answer_type {
        "integer" => matches!((py_int_str(response), py_int_str(answer)), (Some(r), Some(a)) if r == a),
        "float" => matches!((py_float(response), py_float(answer)), (Some(r), Some(a)) if r == a),
        _ => answer == "None",
    }
}

/// The registered `mathvista` metric: 1.0 if correct, else 0.0.
///
/// Reads `context.fields` `question_type` (`multi_choice`/`free_form`), `answer_type` (`text`,
/// `integer`, `float`, `list`) and `precision` (a number; missing or empty is none), and
/// `context.choices` (the choice texts); `references[0]` is the answer. `unit` only shapes the
/// prompt and is not read. Under lmms-eval a present precision is the data set's float64, so
/// float answers are always wrong, as in lmms-eval.
///
/// A field `extraction` is an extraction made elsewhere (the official pipeline's GPT judge,
/// kept in its output file and brought in by `bench import`): it is normalised and scored in
/// place of the rule-based extraction.
pub fn mathvista_score(
    prediction: &str,
    references: &[String],
    context: &ScoringContext,
    profile: MetricProfile,
) -> f64 {
    let field = |name: &str| context.fields.get(name).map(String::as_str).unwrap_or("");
    let (question_type, answer_type) = (field("question_type"), field("answer_type"));
    let Some(answer) = references.first() else { return 0.0 };
    let correct = match profile {
        MetricProfile::VlmEvalKit => {
            vlmevalkit_correct(prediction, answer, question_type, answer_type, &context.choices)
        }
        MetricProfile::Official | MetricProfile::LmmsEval => {
            let lmms = profile == MetricProfile::LmmsEval;
            let precision = py_float(field("precision")).map(Precision::Float);
            let extraction = match context.fields.get("extraction") {
                Some(stored) => stored.clone(),
                None => extract_answer(prediction, question_type, answer_type, &context.choices),
            };
            let normalised =
                normalize_extracted_answer(&extraction, &context.choices, question_type, answer_type, precision, lmms);
            mathvista_correct(normalised.as_deref(), answer, profile)
        }
    };
    if correct {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
#[path = "mathvista_tests.rs"]
mod tests;
