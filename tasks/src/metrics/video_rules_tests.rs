//! WorldSense and TempCompass rules against vectors computed by running the reference rules
//! (lmms-eval `worldsense/utils.py`, VLMEvalKit `utils/worldsense.py` and `utils/tempcompass.py`,
//! whose three TempCompass rules lmms-eval shares) on these inputs.

use smolbench_core::ScoringContext;

use super::*;

const CHOICES: [&str; 4] = ["A. a red ball", "B. a blue cube", "C. the dog", "D. nothing at all"];

/// (response, lmms-eval `parse_multi_choice_response`, VLMEvalKit `extract_characters_regex`).
const WORLDSENSE: &[(&str, &str, &str)] = &[
    ("B", "B", "B"),
    ("(C)", "C", "C"),
    ("The answer is D.", "D", "D"),
    ("I think it is a blue cube that moves around here", "B", ""),
    ("a blue cube", "A", ""),
    ("Both (B) and (D) fit", "D", "B"),
    ("A or B", "A", "A"),
    ("none of them really, it is hard to say honestly", "A", ""),
    ("b", "A", ""),
    ("The Dog is there but the red ball is larger, I think overall", "D", "D"),
    ("C.", "C", "C"),
    ("'D'", "D", "D"),
    ("Answer: (A) a red ball", "A", "A"),
    ("Definitely B", "B", "D"),
    ("the options b and c are wrong and so is a", "A", ""),
];

/// (prediction, answer, rating; `None` where the rule fails and the reference asks its judge).
const MULTI_CHOICE: &[(&str, &str, Option<bool>)] = &[
    ("B", "B. clockwise", Some(true)),
    ("B. clockwise", "B. clockwise", Some(true)),
    ("A", "B. clockwise", Some(false)),
    ("B.", "B. clockwise", Some(true)),
    ("C. anticlockwise", "B. clockwise", Some(false)),
    ("B) clockwise", "B. clockwise", Some(true)),
    ("D)", "B. clockwise", Some(false)),
    ("clockwise", "B. clockwise", None),
    ("(B)", "B. clockwise", None),
    ("b", "B. clockwise", None),
    ("", "B. clockwise", None),
];

/// (prediction, `extract_pred`).
const YES_NO: &[(&str, Option<&str>)] = &[
    ("yes", Some("yes")),
    ("Yes, it does.", Some("yes")),
    ("no", Some("no")),
    ("No.", Some("no")),
    ("nope", Some("no")),
    ("Not really", Some("no")),
    ("I think yes", None),
    ("", None),
    ("YES", Some("yes")),
];

/// (prediction, question, answer, rating; `None` where the rule fails).
const CAPTION_MATCHING: &[(&str, &str, &str, Option<bool>)] = &[
    ("Caption B: A man runs to the right", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("A man runs to the right", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("Caption B", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("B", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("B.", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("Caption A", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(false)),
    ("A", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(false)),
    ("(B) A man runs to the right", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("Caption B.", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(true)),
    ("the second", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", None),
    ("A man runs to the left", "Which caption matches the video better?\nCaption A: A man runs to the left\nCaption B: A man runs to the right", "Caption B: A man runs to the right", Some(false)),
    ("A", "Which sentence matches?\nSentence A: Up\nSentence B: Down", "Sentence A: Up", Some(true)),
    ("Up", "Which sentence matches?\nSentence A: Up\nSentence B: Down", "Sentence A: Up", Some(true)),
    ("Sentence A", "Which sentence matches?\nSentence A: Up\nSentence B: Down", "Sentence A: Up", Some(true)),
    ("Down", "Which sentence matches?\nSentence A: Up\nSentence B: Down", "Sentence A: Up", Some(false)),
    ("Sentence B: Down", "Which sentence matches?\nSentence A: Up\nSentence B: Down", "Sentence A: Up", Some(false)),
];

#[test]
fn worldsense_extractors_match_the_references() {
    let choices: Vec<String> = CHOICES.iter().map(|c| c.to_string()).collect();
    for (response, lmms, vlmevalkit) in WORLDSENSE {
        assert_eq!(worldsense_lmms_extract(response, &choices), *lmms, "lmms-eval: {response:?}");
        assert_eq!(videomme_official_extract(response), *vlmevalkit, "VLMEvalKit: {response:?}");
    }
}

#[test]
fn worldsense_scores_per_profile() {
    let choices: Vec<String> = CHOICES.iter().map(|c| c.to_string()).collect();
    let mut context = ScoringContext { choices, ..Default::default() };
    context.fields.insert("extractor".into(), "worldsense".into());
    let score = |response: &str, gold: &str, profile| mcq_score(response, &[gold.to_string()], &context, profile);
    // "Definitely B": lmms-eval reads B (two bare letters, no brackets: the first), VLMEvalKit D.
    assert_eq!(score("Definitely B", "B", MetricProfile::LmmsEval), 1.0);
    assert_eq!(score("Definitely B", "B", MetricProfile::VlmEvalKit), 0.0);
    assert_eq!(score("Definitely B", "D", MetricProfile::Official), 1.0);
    // Nothing readable: lmms-eval falls back to A, VLMEvalKit (no judge) scores 0.
    assert_eq!(score("b", "A", MetricProfile::LmmsEval), 1.0);
    assert_eq!(score("b", "A", MetricProfile::VlmEvalKit), 0.0);
}

#[test]
fn tempcompass_rules_match_the_references() {
    for (prediction, answer, rating) in MULTI_CHOICE {
        assert_eq!(tempcompass_multi_choice(prediction, answer), *rating, "{prediction:?}");
    }
    for (prediction, extracted) in YES_NO {
        assert_eq!(tempcompass_yes_no(prediction), *extracted, "{prediction:?}");
    }
    for (prediction, question, answer, rating) in CAPTION_MATCHING {
        assert_eq!(tempcompass_caption_matching(prediction, question, answer), *rating, "{prediction:?}");
    }
}

#[test]
fn tempcompass_metric_scores_unreadable_answers_zero() {
    let context = |subtask: &str, question: &str| {
        let mut c = ScoringContext::default();
        c.fields.insert("subtask".into(), subtask.into());
        c.fields.insert("question".into(), question.into());
        c
    };
    let score = |p: &str, gold: &str, c: &ScoringContext| {
        tempcompass_score(p, &[gold.to_string()], c, MetricProfile::VlmEvalKit)
    };
    let mc = context("multi-choice", "");
    assert_eq!(score("B", "B. clockwise", &mc), 1.0);
    assert_eq!(score("clockwise", "B. clockwise", &mc), 0.0);
    let yn = context("yes_no", "");
    assert_eq!(score("Yes, it is.", "yes", &yn), 1.0);
    assert_eq!(score("I think yes", "yes", &yn), 0.0);
    let (p, q, a, _) = CAPTION_MATCHING[2];
    assert_eq!(score(p, a, &context("caption_matching", q)), 1.0);
    assert_eq!(score("the second", a, &context("caption_matching", q)), 0.0);
}
