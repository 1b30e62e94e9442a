//! LLM-judge requests and how their replies score, as the references use a judge: the prompt a
//! task asks a judge for a prediction its rules cannot read, and the score the judge's reply
//! gives. Sending the prompt is the harness's job (any OpenAI-compatible server); this crate only
//! writes prompts and reads replies.
//!
//! Two judges, named by `[scoring] judge` in a `task.toml`:
//!
//! - `mathvista-extraction` (MathVista): the official `extract_answer`
//!   (`lupantech/MathVista` `evaluation/extract_answer.py`) asks its model when none of its
//!   shortcuts applies (empty response, a choice's exact text, an `int()` or `float()` answer):
//!   [`MATHVISTA_DEMO_PROMPT`] (`evaluation/prompts/ext_ans.py`, stripped), a blank line, the
//!   problem's `query`, a blank line, the response, and `\n\nExtracted answer: `. The reply is
//!   the extraction, normalised and compared as the official `calculate_score.py` does.
//! - `vlmevalkit-mcq` (MMMU, MMStar, AI2D, ScienceQA multiple choice): VLMEvalKit's
//!   `extract_answer_from_item` (`vlmeval/dataset/utils/multiple_choice.py`) asks its judge when
//!   `can_infer` finds no option in the prediction, with `build_prompt(question,
//!   build_option_str(options), prediction)`; the reply is read with `can_infer` again.
//!   VLMEvalKit retries an unreadable reply and finally draws a random option; here an
//!   unreadable reply leaves the rule-based score and is recorded as such.

use serde::{Deserialize, Serialize};
use smolbench_core::{ExtractionStep, ScoringContext};

use crate::metrics::mmmu::option_letters;
use crate::metrics::{can_infer, mathvista_correct, normalize_extracted_answer, py_int_str, MetricProfile, Precision};
use crate::pycompat::{py_float, py_strip};

/// Which judge a task asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JudgeRule {
    /// MathVista's official few-shot answer extraction.
    MathvistaExtraction,
    /// VLMEvalKit's option matching for multiple-choice answers `can_infer` cannot read.
    VlmevalkitMcq,
}

impl JudgeRule {
    /// The name task files use.
    pub fn name(self) -> &'static str {
        match self {
            JudgeRule::MathvistaExtraction => "mathvista-extraction",
            JudgeRule::VlmevalkitMcq => "vlmevalkit-mcq",
        }
    }
}

/// The scoring-context field holding the text a judge prompt quotes as the question (MathVista's
/// `query`, the question without its options elsewhere); filled when a task has a judge.
pub const JUDGE_QUESTION_FIELD: &str = "judge_question";

/// What to ask a judge about one prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeAsk {
    /// The judge.
    pub rule: JudgeRule,
    /// The user turn, word for word.
    pub prompt: String,
    /// The judge's token budget.
    pub max_new_tokens: usize,
}

/// MathVista's official in-context examples for answer extraction, `demo_prompt.strip()` of
/// `evaluation/prompts/ext_ans.py` (`lupantech/MathVista` at 53d5258; its SHA-256 is checked in
/// the tests).
pub const MATHVISTA_DEMO_PROMPT: &str = r#"Please read the following example. Then extract the answer from the model response and type it at the end of the prompt.

Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.
Question: Which number is missing?

Model response: The number missing in the sequence is 14.

Extracted answer: 14

Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.
Question: What is the fraction of females facing the camera?

Model response: The fraction of females facing the camera is 0.6, which means that six out of ten females in the group are facing the camera.

Extracted answer: 0.6

Hint: Please answer the question requiring a floating-point number with two decimal places and provide the final value, e.g., 1.23, 1.34, 1.45, at the end.
Question: How much money does Luca need to buy a sour apple candy and a butterscotch candy? (Unit: $)

Model response: Luca needs $1.45 to buy a sour apple candy and a butterscotch candy.

Extracted answer: 1.45

Hint: Please answer the question requiring a Python list as an answer and provide the final list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.
Question: Between which two years does the line  graph saw its maximum peak?

Model response: The line graph saw its maximum peak between 2007 and 2008.

Extracted answer: [2007, 2008]

Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.
Question: What fraction of the shape is blue?
Choices:
(A) 3/11
(B) 8/11
(C) 6/11
(D) 3/5

Model response: The correct answer is (B) 8/11.

Extracted answer: B"#;

/// The official `create_test_prompt(demo_prompt, query, response)`.
pub fn mathvista_extraction_prompt(query: &str, response: &str) -> String {
    format!("{MATHVISTA_DEMO_PROMPT}\n\n{query}\n\n{response}\n\nExtracted answer: ")
}

/// Whether the official `extract_answer` settles `response` without its model: empty, a
/// multi-choice response equal to a choice, an `integer` answer `int()` reads, a `float` answer
/// `float()` reads.
pub fn mathvista_shortcut_applies(response: &str, question_type: &str, answer_type: &str, choices: &[String]) -> bool {
    response.is_empty()
        || (question_type == "multi_choice" && choices.iter().any(|c| c == response))
        || (answer_type == "integer" && py_int_str(response).is_some())
        || (answer_type == "float" && py_float(response).is_some())
}

/// VLMEvalKit's `build_option_str`: `There are several options: \n` and `X. text\n` per option.
pub fn vlmevalkit_option_str(choices: &[String]) -> String {
    let mut out = String::from("There are several options: \n");
    for (letter, choice) in option_letters(choices.len()).iter().zip(choices) {
        out.push_str(&format!("{letter}. {choice}\n"));
    }
    out
}

/// VLMEvalKit's `build_prompt(question, options, prediction)` for matching an answer to options.
pub fn vlmevalkit_mcq_prompt(question: &str, choices: &[String], prediction: &str) -> String {
    format!(
        "You are an AI assistant who will help me to match an answer with several options of a single-choice question. \
         You are provided with a question, several options, and an answer, and you need to find which option is most \
         similar to the answer. If the meaning of all options are significantly different from the answer, output Z. \
         Your should output a single uppercase character in A, B, C, D (if they are valid options), and Z. \n\
         Example 1: \n\
         Question: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n\
         Answer: a cute teddy bear\nYour output: A\n\
         Example 2: \n\
         Question: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n\
         Answer: Spider\nYour output: Z\n\
         Example 3: \n\
         Question: {question}?\nOptions: {}\nAnswer: {prediction}\nYour output: ",
        vlmevalkit_option_str(choices)
    )
}

/// What a judge's reply makes of a prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The answer read from the reply (MathVista: the normalised extraction; multiple choice:
    /// the option letter), `None` where the reply is unreadable.
    pub extracted: Option<String>,
    /// The score; `None` where the reply is unreadable (the rule-based score stands).
    pub score: Option<f64>,
    /// The step to add to the sample's extraction trace.
    pub step: ExtractionStep,
}

fn field<'a>(context: &'a ScoringContext, name: &str) -> &'a str {
    context.fields.get(name).map(String::as_str).unwrap_or("")
}

/// The judge request for `prediction` (after the task's extraction steps) under `rule`, or `None`
/// where the reference would not ask (its rules read the answer, or the item is not multiple
/// choice).
pub fn judge_ask(rule: JudgeRule, prediction: &str, context: &ScoringContext) -> Option<JudgeAsk> {
    match rule {
        JudgeRule::MathvistaExtraction => {
            let (question_type, answer_type) = (field(context, "question_type"), field(context, "answer_type"));
            if mathvista_shortcut_applies(prediction, question_type, answer_type, &context.choices) {
                return None;
            }
            let prompt = mathvista_extraction_prompt(field(context, JUDGE_QUESTION_FIELD), prediction);
            Some(JudgeAsk { rule, prompt, max_new_tokens: 64 })
        }
        JudgeRule::VlmevalkitMcq => {
            let multiple_choice = !context.choices.is_empty()
                && context.fields.get("question_type").is_none_or(|t| t == "multiple-choice");
            let letters = option_letters(context.choices.len());
            if !multiple_choice || can_infer(prediction, &letters, &context.choices).is_some() {
                return None;
            }
            let prompt = vlmevalkit_mcq_prompt(field(context, JUDGE_QUESTION_FIELD), &context.choices, prediction);
            Some(JudgeAsk { rule, prompt, max_new_tokens: 16 })
        }
    }
}

/// Scores a judge's `reply` for the gold `references` under `rule` and `profile`.
pub fn judged_score(
    rule: JudgeRule,
    reply: &str,
    references: &[String],
    context: &ScoringContext,
    profile: MetricProfile,
) -> Judged {
    let (extracted, score) = match rule {
        JudgeRule::MathvistaExtraction => {
            let (question_type, answer_type) = (field(context, "question_type"), field(context, "answer_type"));
            let precision = py_float(field(context, "precision")).map(Precision::Float);
            let lmms = profile == MetricProfile::LmmsEval;
            let extraction = py_strip(reply);
            let normalised =
                normalize_extracted_answer(extraction, &context.choices, question_type, answer_type, precision, lmms);
            // Comparison as the official script does it, unless lmms-eval's is asked for.
            let compare = if lmms { MetricProfile::LmmsEval } else { MetricProfile::Official };
            let correct = references.first().is_some_and(|a| mathvista_correct(normalised.as_deref(), a, compare));
            match normalised {
                Some(n) => (Some(n), Some(if correct { 1.0 } else { 0.0 })),
                None => (None, None),
            }
        }
        JudgeRule::VlmevalkitMcq => {
            let letters = option_letters(context.choices.len());
            match can_infer(reply, &letters, &context.choices) {
                Some(letter) => {
                    let correct = references.iter().any(|gold| py_strip(gold) == letter);
                    (Some(letter), Some(if correct { 1.0 } else { 0.0 }))
                }
                None => (None, None),
            }
        }
    };
    let step = ExtractionStep { step: format!("judge:{}", rule.name()), output: extracted.clone().unwrap_or_default() };
    Judged { extracted, score, step }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_mathvista_demo_prompt_is_the_official_text() {
        // SHA-256 of `demo_prompt.strip()` as Python evaluates evaluation/prompts/ext_ans.py at
        // lupantech/MathVista 53d5258 (the `\n` inside its last example are newlines there).
        let digest = hex::encode(Sha256::digest(MATHVISTA_DEMO_PROMPT.as_bytes()));
        assert_eq!(digest, "2c251ab9e219c5d7db855ad5a9ef44d5bdb10639244b8d28e3ee66a5bda3f71c");
        assert_eq!(MATHVISTA_DEMO_PROMPT.len(), 1696);
        let prompt = mathvista_extraction_prompt("Question: How many?", "I count three of them.");
        assert!(prompt.starts_with("Please read the following example. Then extract the answer"));
        assert!(prompt
            .ends_with("Extracted answer: B\n\nQuestion: How many?\n\nI count three of them.\n\nExtracted answer: "));
    }

    #[test]
    fn mathvista_asks_only_where_its_shortcuts_fail() {
        let mut context = ScoringContext { choices: vec!["3/11".into(), "8/11".into()], ..Default::default() };
        context.fields.insert("question_type".into(), "multi_choice".into());
        context.fields.insert("answer_type".into(), "text".into());
        context.fields.insert(JUDGE_QUESTION_FIELD.into(), "Hint: ...\nQuestion: Which?".into());
        assert_eq!(judge_ask(JudgeRule::MathvistaExtraction, "8/11", &context), None);
        assert_eq!(judge_ask(JudgeRule::MathvistaExtraction, "", &context), None);
        let ask = judge_ask(JudgeRule::MathvistaExtraction, "It is (B)", &context).expect("asks");
        assert!(ask.prompt.ends_with("\n\nHint: ...\nQuestion: Which?\n\nIt is (B)\n\nExtracted answer: "));
        // The reply "B" normalises to the second choice.
        let judged =
            judged_score(JudgeRule::MathvistaExtraction, " B", &["8/11".into()], &context, MetricProfile::Official);
        assert_eq!((judged.extracted.as_deref(), judged.score), (Some("8/11"), Some(1.0)));
        context.fields.insert("question_type".into(), "free_form".into());
        context.fields.insert("answer_type".into(), "integer".into());
        assert_eq!(judge_ask(JudgeRule::MathvistaExtraction, " 12 ", &context), None);
        assert!(judge_ask(JudgeRule::MathvistaExtraction, "twelve", &context).is_some());
        let judged =
            judged_score(JudgeRule::MathvistaExtraction, "12", &["12".into()], &context, MetricProfile::Official);
        assert_eq!(judged.score, Some(1.0));
        let unreadable =
            judged_score(JudgeRule::MathvistaExtraction, "no idea", &["12".into()], &context, MetricProfile::Official);
        assert_eq!((unreadable.extracted, unreadable.score), (None, None));
    }

    #[test]
    fn vlmevalkit_asks_when_can_infer_finds_nothing() {
        let mut context =
            ScoringContext { choices: vec!["teddy bear".into(), "rabbit".into(), "cat".into()], ..Default::default() };
        context.fields.insert(JUDGE_QUESTION_FIELD.into(), "What is it".into());
        assert_eq!(judge_ask(JudgeRule::VlmevalkitMcq, "B", &context), None);
        let ask = judge_ask(JudgeRule::VlmevalkitMcq, "a fluffy toy", &context).expect("asks");
        assert!(ask.prompt.ends_with(
            "Example 3: \nQuestion: What is it?\nOptions: There are several options: \nA. teddy bear\nB. rabbit\nC. cat\n\n\
             Answer: a fluffy toy\nYour output: "
        ));
        let judged = judged_score(JudgeRule::VlmevalkitMcq, "A", &["A".into()], &context, MetricProfile::VlmEvalKit);
        assert_eq!((judged.extracted.as_deref(), judged.score), (Some("A"), Some(1.0)));
        assert_eq!(judged.step.step, "judge:vlmevalkit-mcq");
        // "Z" (no option fits) is an answer, and a wrong one, as can_infer reads it.
        let z = judged_score(JudgeRule::VlmevalkitMcq, "Z", &["A".into()], &context, MetricProfile::VlmEvalKit);
        assert_eq!((z.extracted.as_deref(), z.score), (Some("Z"), Some(0.0)));
        let unreadable =
            judged_score(JudgeRule::VlmevalkitMcq, "hmm", &["A".into()], &context, MetricProfile::VlmEvalKit);
        assert_eq!(unreadable.score, None);
        // MMMU's open questions are never sent.
        context.fields.insert("question_type".into(), "open".into());
        assert_eq!(judge_ask(JudgeRule::VlmevalkitMcq, "a fluffy toy", &context), None);
    }
}
