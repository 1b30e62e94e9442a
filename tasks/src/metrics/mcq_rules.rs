//! Benchmark-specific multiple-choice rules (`benchmarks.md` §4, §5, §6, §10, §11).
//!
//! Each function reproduces one reference scorer or extractor; [`super::mcq`] picks among them.
//! Indexes and lengths are code points, as in Python.

use crate::pycompat::{is_py_space, py_lower, py_strip};

use super::vqa_normalise::{process_punctuation, VqaNormaliser};

/// MMStar, official `mmstar.py` and lmms-eval ≤ v0.7.1: with `a` the gold and `p` the prediction,
/// both `lower()`, `\n` → space, stripped, correct iff `p[0] == a`, or `p[0] == '('` and
/// `p[1] == a`, or `p[:7] == 'option '` and `p[7] == a`, or `p[:14] == 'the answer is '` and
/// `p[14] == a`. An index past the end counts as no match (the reference's `IndexError` → 0).
pub fn mmstar_classic_correct(prediction: &str, gold: &str) -> bool {
    let norm = |s: &str| py_strip(&py_lower(s).replace('\n', " ")).to_string();
    let answer = norm(gold);
    let p: Vec<char> = norm(prediction).chars().collect();
    let at = |i: usize| p.get(i).map(|c| c.to_string());
    let starts = |prefix: &str| p.iter().take(prefix.chars().count()).copied().eq(prefix.chars());
    let is_answer = |i: usize| at(i).as_deref() == Some(answer.as_str());
    is_answer(0)
        || (p.first() == Some(&'(') && is_answer(1))
        || (starts("option ") && is_answer(7))
        || (starts("the answer is ") && is_answer(14))
}

/// Video-MME `extract_characters_regex` (official `eval_your_results.py` ≡ lmms-eval ≤ v0.7.1):
/// strip, delete the answer prefixes (two of them glued together by missing commas in the
/// source), then the first of `A B C D` anywhere, case-sensitive; `""` when there is none.
pub fn videomme_official_extract(prediction: &str) -> String {
    const PREFIXES: [&str; 6] = [
        "The best answer is",
        "The correct answer is",
        "The answer is",
        "The answer",
        "The best option isThe correct option is",
        "Best answer:Best option:",
    ];
    let mut s = py_strip(prediction).to_string();
    for prefix in PREFIXES {
        s = s.replace(prefix, "");
    }
    // "More than 10 words and no letter" gives "" too, which the search below already returns.
    s.chars().find(|c| matches!(c, 'A'..='D')).map(String::from).unwrap_or_default()
}

/// MLVU, lmms-eval ≤ v0.7.1: strip; if there is a `)`, the one character before the first `)`
/// (`""` when it is the first character), otherwise the whole stripped text.
pub fn mlvu_v071_extract(prediction: &str) -> String {
    let s: Vec<char> = py_strip(prediction).chars().collect();
    match s.iter().position(|&c| c == ')') {
        Some(0) => String::new(),
        Some(i) => s[i - 1].to_string(),
        None => s.into_iter().collect(),
    }
}

/// ScienceQA-IMG, lmms-eval `sqa_process_results`: with `pred` the stripped prediction, correct
/// iff `pred.lower() == gold.lower()`, or `pred[0]` is upper-case, `pred[1] == '.'` and
/// `pred[0].lower() == gold.lower()`.
pub fn scienceqa_correct(prediction: &str, gold: &str) -> bool {
    let pred = py_strip(prediction);
    let target = py_lower(gold);
    if py_lower(pred) == target {
        return true;
    }
    let mut chars = pred.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some('.')) if first.is_uppercase() => py_lower(&first.to_string()) == target,
        _ => false,
    }
}

/// AI2D's `MultiChoiceRegexFilter` on the stripped generation: `^\s*([A-Z])\.` gives the letter,
/// anything else is kept as it is.
pub fn ai2d_filter(prediction: &str) -> String {
    let pred = py_strip(prediction);
    let mut chars = pred.chars();
    match (chars.next(), chars.next()) {
        (Some(letter @ 'A'..='Z'), Some('.')) => letter.to_string(),
        _ => pred.to_string(),
    }
}

/// lmms-eval's `exact_match` (HF evaluate) with `ignore_case` and `ignore_punctuation`: both sides
/// lower-cased, every ASCII punctuation character (`string.punctuation`) deleted, then equal.
pub fn exact_match_ignoring_case_and_punctuation(prediction: &str, reference: &str) -> bool {
    let norm = |s: &str| py_lower(s).chars().filter(|c| !c.is_ascii_punctuation()).collect::<String>();
    norm(prediction) == norm(reference)
}

/// AI2D (`benchmarks.md` §4): the filter, then `exact_match` against the gold letter.
pub fn ai2d_correct(prediction: &str, gold: &str) -> bool {
    exact_match_ignoring_case_and_punctuation(&ai2d_filter(prediction), gold)
}

/// MVBench `mcq_acc`'s `process`: `^([A-E])\.\s*(.+)$` (any case) on the stripped text gives the
/// letter; otherwise `\n`/`\t` → space, strip, the VQA punctuation step, strip `' " ) (` one at a
/// time, strip, lower, and the first standalone `a`–`e` upper-cased, or the processed text.
pub fn mvbench_process(answer: &str) -> String {
    let stripped: Vec<char> = py_strip(answer).chars().collect();
    if let [first @ ('A'..='E' | 'a'..='e'), '.', rest @ ..] = stripped.as_slice() {
        let start = rest.iter().position(|&c| !is_py_space(c)).unwrap_or(rest.len());
        if start < rest.len() && !rest[start..].contains(&'\n') {
            return first.to_ascii_uppercase().to_string();
        }
    }
    let text = py_strip(&answer.replace(['\n', '\t'], " ")).to_string();
    let mut text = process_punctuation(&text, VqaNormaliser::Official);
    for c in ['\'', '"', ')', '('] {
        text = text.trim_matches(c).to_string();
    }
    let text = py_lower(py_strip(&text));
    let chars: Vec<char> = text.chars().collect();
    let is_word = |i: Option<&char>| i.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    let letter = (0..chars.len()).find(|&i| {
        matches!(chars[i], 'a'..='e' | 'A'..='E')
            && (i == 0 || !is_word(chars.get(i - 1)))
            && !is_word(chars.get(i + 1))
    });
    match letter {
        Some(i) => chars[i].to_ascii_uppercase().to_string(),
        None => text,
    }
}

/// MVBench `mcq_acc`: correct iff the processed prediction equals the processed gold letter.
pub fn mvbench_correct(prediction: &str, gold: &str) -> bool {
    mvbench_process(prediction) == mvbench_process(gold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_cases() {
        assert!(mmstar_classic_correct("Answer: B", "A"));
        assert!(!mmstar_classic_correct("", "A"));
        assert!(mmstar_classic_correct("The answer is c", "C"));
        assert_eq!(mlvu_v071_extract(")A"), "");
        assert_eq!(videomme_official_extract("The best option isThe correct option is C"), "C");
        assert_eq!(mvbench_process("B. a dog"), "B");
        assert_eq!(mvbench_process("A. a cat\nB. a dog"), "A");
        assert!(exact_match_ignoring_case_and_punctuation("(b)", "B"));
        assert!(scienceqa_correct(" C. two", "C"));
        assert!(!scienceqa_correct("c. two", "C"));
    }
}
