//! VLMEvalKit `can_infer` (`vlmeval/utils/matching_util.py`, exact-matching mode, no LLM judge;
//! `benchmarks.md` §11.3).
//!
//! 1. `can_infer_option`: a refusal phrase gives `Z`. Otherwise replace each of `.()[],:;!*#{}`
//!    by a space and split on whitespace. If exactly one option letter is a token and its first
//!    occurrence is among the last four tokens (`index > len - 5`), return it; if no letter is a
//!    token but `Z` is, return `Z`. Then the regex `(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**`:
//!    its letter, upper-cased, when it is an option.
//! 2. `can_infer_text`: if the lower-cased response is not longer than twice the summed option
//!    lengths and exactly one lower-cased option text occurs in it, that option's letter.
//! 3. Otherwise nothing (`False`).
//!
//! The `VERBOSE`-only "A might be a quantifier" rejection is off, as in a default run.

use crate::pycompat::{is_py_space, py_len, py_lower, py_split};

/// Replies that VLMEvalKit reads as a refusal (`Z`).
const REFUSALS: [&str; 4] = [
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
];

/// `can_infer(answer, choices)` with `choices = {letters[i]: options[i]}`: a letter, `Z` for a
/// refusal, or `None` where VLMEvalKit returns `False` (and would ask its judge).
pub fn can_infer(answer: &str, letters: &[String], options: &[String]) -> Option<String> {
    can_infer_option(answer, letters).or_else(|| can_infer_text(answer, letters, options))
}

fn can_infer_option(answer: &str, letters: &[String]) -> Option<String> {
    if answer.contains("Failed to obtain answer via API") {
        return None;
    }
    if REFUSALS.iter().any(|r| answer.contains(r)) {
        return Some("Z".to_string());
    }
    let spaced: String = answer.chars().map(|c| if ".()[],:;!*#{}".contains(c) { ' ' } else { c }).collect();
    let tokens = py_split(&spaced);
    let present: Vec<&String> = letters.iter().filter(|l| tokens.contains(&l.as_str())).collect();
    if let [only] = present.as_slice() {
        let first = tokens.iter().position(|t| *t == only.as_str()).unwrap_or(0) as i64;
        if first > tokens.len() as i64 - 5 {
            return Some((*only).clone());
        }
    } else if present.is_empty() && tokens.contains(&"Z") {
        return Some("Z".to_string());
    }
    verbose_answer(answer).filter(|l| letters.iter().any(|x| x == l))
}

/// The letter of the first `(correct )?answer is **X**` (case-insensitive, X in A–D), upper-cased.
fn verbose_answer(answer: &str) -> Option<String> {
    let chars: Vec<char> = answer.chars().collect();
    let word_at = |i: usize, word: &str| {
        let n = word.chars().count();
        i + n <= chars.len() && chars[i..i + n].iter().zip(word.chars()).all(|(a, b)| a.to_ascii_lowercase() == b)
    };
    let spaces = |mut i: usize| {
        let start = i;
        while chars.get(i).is_some_and(|&c| is_py_space(c)) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    (0..chars.len()).find_map(|start| {
        if !word_at(start, "answer") {
            return None;
        }
        let i = spaces(start + 6)?;
        if !word_at(i, "is") {
            return None;
        }
        let mut i = spaces(i + 2)?;
        while chars.get(i) == Some(&'*') {
            i += 1;
        }
        let letter = chars.get(i)?.to_ascii_uppercase();
        ('A'..='D').contains(&letter).then(|| letter.to_string())
    })
}

fn can_infer_text(answer: &str, letters: &[String], options: &[String]) -> Option<String> {
    let answer = py_lower(answer);
    let budget: usize = options.iter().map(|o| py_len(o)).sum();
    if py_len(&answer) > 2 * budget {
        return None;
    }
    let hits: Vec<&String> = letters
        .iter()
        .zip(options)
        .filter(|(_, option)| answer.contains(py_lower(option).as_str()))
        .map(|(letter, _)| letter)
        .collect();
    match hits.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_text_and_verbose_rules() {
        let letters: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
        let options: Vec<String> = ["a cat", "a dog", "two birds", "the sky is blue"].map(String::from).to_vec();
        let infer = |s: &str| can_infer(s, &letters, &options);
        assert_eq!(infer("The answer is A because a cat is visible.").as_deref(), Some("A"));
        assert_eq!(infer("so the ANSWER  is **c**").as_deref(), Some("C"));
        assert_eq!(infer("The answer is: two birds").as_deref(), Some("C"));
        assert_eq!(infer("Z").as_deref(), Some("Z"));
        assert_eq!(infer("A or B"), None);
        assert_eq!(infer("Cannot determine the answer").as_deref(), Some("Z"));
        // Too long for the option-text rule.
        assert_eq!(infer(&format!("{} a dog", "x".repeat(80))), None);
    }
}
