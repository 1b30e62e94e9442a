//! WorldSense and TempCompass answer rules, as their reference scorers read a generation.
//!
//! - WorldSense, lmms-eval (`lmms_eval/tasks/worldsense/utils.py`, `parse_multi_choice_response`):
//!   [`worldsense_lmms_extract`]. VLMEvalKit (`vlmeval/dataset/utils/worldsense.py`,
//!   `extract_characters_regex`) is the same rule as Video-MME's official extraction
//!   ([`videomme_official_extract`](super::videomme_official_extract)); under exact matching an
//!   empty extraction scores 0.
//! - TempCompass (`lmms_eval/tasks/tempcompass/utils.py` and `vlmeval/dataset/utils/tempcompass.py`
//!   carry the same three rules): [`tempcompass_multi_choice`], [`tempcompass_yes_no`],
//!   [`tempcompass_caption_matching`]. Where a rule cannot read the prediction the references ask
//!   a ChatGPT judge; without one (VLMEvalKit's `exact_matching`) the sample scores 0, which is
//!   what [`tempcompass_score`] does.
//!
//! Indexes and lengths are code points and string tests are Python's, as in the references.

use smolbench_core::ScoringContext;

use super::MetricProfile;
use crate::pycompat::{py_lower, py_split};

/// The letters WorldSense's lmms-eval parser knows.
const WORLDSENSE_LETTERS: [&str; 4] = ["A", "B", "C", "D"];

/// lmms-eval's WorldSense `parse_multi_choice_response`, with `choices` the `candidates` column
/// (`"A. text"`; the option text is what follows the first three characters).
///
/// Strip each of `, . ! ? ; : '` from both ends in turn and pad with spaces; the candidates are
/// the letters found anywhere in the text (flagged as bracketed, although the test is for the bare
/// letter), else those found as ` X `, else (more than five words) the letters whose option text
/// occurs, case-insensitively. None gives `A`; several give the one whose `(X)`, ` X ` or option
/// text occurs last (`rfind`), the first of them when none occurs (`np.argmax` of -1s).
pub fn worldsense_lmms_extract(response: &str, choices: &[String]) -> String {
    let mut text = response;
    for c in [',', '.', '!', '?', ';', ':', '\''] {
        text = text.trim_matches(c);
    }
    let padded = format!(" {text} ");
    let option_text = |i: usize| -> String { choices.get(i).map(|c| c.chars().skip(3).collect()).unwrap_or_default() };
    let mut candidates: Vec<usize> = (0..4).filter(|&i| padded.contains(WORLDSENSE_LETTERS[i])).collect();
    let bracketed = !candidates.is_empty();
    if candidates.is_empty() {
        candidates = (0..4).filter(|&i| padded.contains(&format!(" {} ", WORLDSENSE_LETTERS[i]))).collect();
    }
    let lowered = py_lower(&padded);
    let mut by_letter = true;
    if candidates.is_empty() && py_split(&padded).len() > 5 {
        candidates = (0..4).filter(|&i| lowered.contains(&py_lower(&option_text(i)))).collect();
        by_letter = candidates.is_empty();
    }
    let chosen = match candidates.as_slice() {
        [] => 0,
        [only] => *only,
        _ => {
            let position = |i: usize| -> Option<usize> {
                let letter = WORLDSENSE_LETTERS[i];
                if !by_letter {
                    lowered.rfind(&py_lower(&option_text(i)))
                } else if bracketed {
                    padded.rfind(&format!("({letter})"))
                } else {
                    padded.rfind(&format!(" {letter} "))
                }
            };
            // np.argmax: the first maximum; a missing occurrence (-1) is below every position.
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
    WORLDSENSE_LETTERS[chosen].to_string()
}

/// TempCompass multi-choice `eval_rule_multi_choice`, with `answer` the full gold option
/// (`"A. text"`): right if the prediction is the answer; a bare `A`–`D`, or one starting `X.`
/// or `X)`, is compared with the answer's first character; anything else is `None` (the judge's
/// case).
pub fn tempcompass_multi_choice(prediction: &str, answer: &str) -> Option<bool> {
    let gold = answer.chars().next().map(String::from).unwrap_or_default();
    if prediction == answer {
        return Some(true);
    }
    if WORLDSENSE_LETTERS.contains(&prediction) {
        return Some(prediction == gold);
    }
    for (separator, prefixes) in [('.', ["A.", "B.", "C.", "D."]), (')', ["A)", "B)", "C)", "D)"])] {
        if prefixes.iter().any(|p| prediction.starts_with(p)) {
            return Some(prediction.split(separator).next() == Some(gold.as_str()));
        }
    }
    None
}

/// TempCompass yes/no `extract_pred`: the lower-cased prediction starting with `yes` or `no`;
/// `None` otherwise.
pub fn tempcompass_yes_no(prediction: &str) -> Option<&'static str> {
    let lowered = py_lower(prediction);
    if lowered.starts_with("yes") {
        Some("yes")
    } else if lowered.starts_with("no") {
        Some("no")
    } else {
        None
    }
}

/// TempCompass caption matching `eval_rule`: `question`'s lines after the first are the options
/// (`Caption A: text`); the prediction may be a whole option line, an option's text (also after a
/// `) `), or an option's index (`Caption A`, or `A` with the `Sentence `/`Option `/`Caption `
/// word dropped, a `.` removed). The last matching rule wins; `None` when none matches. The
/// match is right when it equals the answer, the answer before its first `:`, after its first
/// `: `, or the second word before that.
///
/// The reference indexes `[1]` into `split(": ")`; an option or answer without `: ` raises
/// there, and such a sample is scored as unreadable (`None`).
pub fn tempcompass_caption_matching(prediction: &str, question: &str, answer: &str) -> Option<bool> {
    let options: Vec<&str> = question.split('\n').skip(1).collect();
    let mut sentences = Vec::new();
    let mut indexes = Vec::new();
    for option in &options {
        let mut parts = option.split(": ");
        let head = parts.next().unwrap_or_default();
        sentences.push(parts.next()?);
        indexes.push(head.to_string());
    }
    for option in &options {
        let head = option.split(": ").next().unwrap_or_default();
        indexes.push(head.replace("Sentence ", "").replace("Option ", "").replace("Caption ", ""));
    }
    let mut predicted: Option<String> = None;
    for option in &options {
        if *option == prediction {
            predicted = Some(option.to_string());
        }
    }
    let after_paren = prediction.split_once(") ").map(|(_, rest)| rest.split(") ").next().unwrap_or(rest));
    for sentence in &sentences {
        if *sentence == prediction || (prediction.contains(") ") && after_paren == Some(*sentence)) {
            predicted = Some(sentence.to_string());
        }
    }
    let without_dots = prediction.replace('.', "");
    for index in &indexes {
        if index == prediction || *index == without_dots {
            predicted = Some(index.clone());
        }
    }
    let predicted = predicted?;
    // Python's `or` stops at the first true test, so a later test that would raise is never run.
    if predicted == answer || predicted == answer.split(':').next().unwrap_or_default() {
        return Some(true);
    }
    let mut by_colon_space = answer.split(": ");
    let head = by_colon_space.next().unwrap_or_default();
    if predicted == by_colon_space.next()? {
        return Some(true);
    }
    Some(predicted == *py_split(head).get(1)?)
}

/// The registered `tempcompass` metric: 1.0 when the subtask's rule reads the prediction as the
/// answer, 0.0 when it reads another answer or cannot read it (no judge). Reads
/// `fields["subtask"]` (`multi-choice`, `yes_no`, `caption_matching`) and, for caption
/// matching, `fields["question"]`; `references[0]` is the `answer` column. The rules are the
/// same in lmms-eval, VLMEvalKit and the official code, so every profile scores alike.
pub fn tempcompass_score(prediction: &str, references: &[String], context: &ScoringContext, _: MetricProfile) -> f64 {
    let Some(answer) = references.first() else { return 0.0 };
    let subtask = context.fields.get("subtask").map(String::as_str).unwrap_or_default();
    let correct = match subtask {
        "multi-choice" => tempcompass_multi_choice(prediction, answer),
        "yes_no" => tempcompass_yes_no(prediction).map(|yn| yn == answer),
        "caption_matching" => {
            let question = context.fields.get("question").map(String::as_str).unwrap_or_default();
            tempcompass_caption_matching(prediction, question, answer)
        }
        other => panic!("tempcompass: unknown subtask `{other}` (multi-choice, yes_no, caption_matching)"),
    };
    if correct == Some(true) {
        1.0
    } else {
        0.0
    }
}
