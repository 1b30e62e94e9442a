//! lmms-eval's shared `extract_mcq_answer(response, choices)` (`_task_utils/mcq_extract.py` at
//! HEAD 75571cfe; MMStar, Video-MME and MLVU use it from v0.7.2; `benchmarks.md` §11.3).
//!
//! 1. An empty or blank response gives `""`.
//! 2. Strip, then one `str.strip(c)` each for `, . ! ? ; : ' "`, then pad with one space each side.
//! 3. Collect `(letter, position, priority)` candidates, for every choice letter `X`:
//!    `(X)` (last occurrence) 6, `X.` 5, `X:` 4, `X)` 3, `X ` 2; after the first occurrence of
//!    an answer phrase (lower-cased text), the first `X` (case-sensitive) 7; the stripped text
//!    starts with `X` not followed by a letter 10, ends with `X` not preceded by a letter 9; only
//!    when there is no candidate at all, the last `X` anywhere 0.
//! 4. The candidate with the highest (priority, position) wins; on a tie the first collected.
//!
//! Positions are code-point indexes, as in Python (the phrase index found in the lower-cased
//! text is reused on the original text, as the reference does).

use crate::pycompat::{py_lower, py_strip};

/// The 27 answer phrases, in the reference order.
const ANSWER_PHRASES: [&str; 27] = [
    "the answer is",
    "answer is",
    "the correct answer is",
    "correct answer is",
    "the best answer is",
    "best answer is",
    "the correct option is",
    "correct option is",
    "the best option is",
    "best option is",
    "the choice is",
    "choice is",
    "the correct choice is",
    "correct choice is",
    "i choose",
    "i select",
    "i pick",
    "my answer is",
    "my choice is",
    "옵션",
    "정답은",
    "답은",
    "답:",
    "答案是",
    "答案为",
    "选",
    "答えは",
];

/// First code-point index of `needle` in `hay` at or after `from`.
fn find_from(hay: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()] == *needle)
}

/// Last code-point index of `needle` in `hay`.
fn rfind(hay: &[char], needle: &[char]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).rev().find(|&i| hay[i..i + needle.len()] == *needle)
}

/// `extract_mcq_answer(response, choices)`: the chosen letter, or `""`.
pub fn extract_mcq_answer(response: &str, choices: &[String]) -> String {
    if py_strip(response).is_empty() {
        return String::new();
    }
    let mut stripped = py_strip(response);
    for c in [',', '.', '!', '?', ';', ':', '\'', '"'] {
        stripped = stripped.trim_matches(c);
    }
    let text: Vec<char> = format!(" {stripped} ").chars().collect();
    let choice_chars: Vec<Vec<char>> = choices.iter().map(|c| c.chars().collect()).collect();
    let mut candidates: Vec<(usize, usize, u8)> = Vec::new(); // (choice index, position, priority)
    let formats: [(&str, &str, u8); 5] = [("(", ")", 6), ("", ".", 5), ("", ":", 4), ("", ")", 3), ("", " ", 2)];
    for (prefix, suffix, priority) in formats {
        for (i, ch) in choice_chars.iter().enumerate() {
            let pattern: Vec<char> = prefix.chars().chain(ch.iter().copied()).chain(suffix.chars()).collect();
            if let Some(pos) = rfind(&text, &pattern) {
                candidates.push((i, pos, priority));
            }
        }
    }
    let lower: Vec<char> = py_lower(&text.iter().collect::<String>()).chars().collect();
    for phrase in ANSWER_PHRASES {
        let phrase: Vec<char> = phrase.chars().collect();
        if let Some(idx) = find_from(&lower, &phrase, 0) {
            let after = idx + phrase.len();
            for (i, ch) in choice_chars.iter().enumerate() {
                if after <= text.len() {
                    if let Some(pos) = find_from(&text, ch, after) {
                        candidates.push((i, pos, 7));
                    }
                }
            }
        }
    }
    let trimmed: Vec<char> = py_strip(&text.iter().collect::<String>()).chars().collect();
    for (i, ch) in choice_chars.iter().enumerate() {
        let standalone = trimmed.len() == 1 || !trimmed.get(1).is_some_and(|c| c.is_alphabetic());
        if trimmed.starts_with(ch) && standalone {
            candidates.push((i, 0, 10));
        }
    }
    for (i, ch) in choice_chars.iter().enumerate() {
        // The reference checks the character before the last one, whatever the choice's length.
        let before_last = trimmed.len().checked_sub(2).and_then(|k| trimmed.get(k));
        let standalone = trimmed.len() == 1 || !before_last.is_some_and(|c| c.is_alphabetic());
        if trimmed.ends_with(ch) && standalone {
            candidates.push((i, text.len() - 1, 9));
        }
    }
    if candidates.is_empty() {
        for (i, ch) in choice_chars.iter().enumerate() {
            if let Some(pos) = rfind(&text, ch) {
                candidates.push((i, pos, 0));
            }
        }
    }
    let mut best: Option<(usize, usize, u8)> = None;
    for candidate in candidates {
        if best.is_none_or(|(_, pos, priority)| (candidate.2, candidate.1) > (priority, pos)) {
            best = Some(candidate);
        }
    }
    best.map(|(i, _, _)| choices[i].clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        let abcd: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
        assert_eq!(extract_mcq_answer("A or B", &abcd), "A");
        assert_eq!(extract_mcq_answer("The correct option is B, not A.", &abcd), "A");
        assert_eq!(extract_mcq_answer("Apple", &abcd), "A");
        assert_eq!(extract_mcq_answer("  ", &abcd), "");
        assert_eq!(extract_mcq_answer("我选 C", &abcd), "C");
        assert_eq!(extract_mcq_answer("E", &abcd), "");
    }
}
