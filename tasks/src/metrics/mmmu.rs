//! MMMU scoring (`benchmarks.md` §7): the official `eval_utils.py` and lmms-eval ≥ v0.4.
//!
//! - **Multiple choice**: the response is parsed to a letter ([`parse_multi_choice`]; official or
//!   lmms-eval rules), correct iff it equals the gold letter (or one of a gold list).
//! - **Open**: [`parse_open_response`] turns the response into normalised strings and numbers;
//!   official `eval_open` counts it correct iff some string prediction contains some normalised
//!   gold string, or some number equals a gold number (both rounded to 2 decimals). A gold list
//!   is extended element by element.
//! - **lmms-eval ≥ v0.4** collapses the parsed open answer to `str(parsed[0])` and `eval_open`
//!   then walks the characters of that string, so an open question is only "correct" when a gold
//!   normalises to the empty string: in practice every open question scores 0 (§0.2).
//! - **Aggregation**: accuracy per subject (the id's middle part, `validation_Art_Theory_3` →
//!   `Art_Theory`), per domain and overall, all instance-weighted (total correct / total).
//!
//! **Random fallback.** When no rule finds a letter the reference draws `random.choice(letters)`
//! from Python's global generator: seeded `random.seed(42)` at import by the official module,
//! `random.seed(0)` at start-up by the lmms-eval CLI. A whole run is reproduced by
//! [`score_mmmu_responses`], which parses subjects in the official `CAT_SHORT2LONG` order and items
//! in file order from one generator, as `main_parse_and_eval.py` does (the lmms-eval order also
//! depends on its batching, so its draws are not reproducible outside the exact run). The
//! per-sample metric cannot see the run's order: each call draws from a fresh generator with the
//! profile's seed, which is deterministic and matches the reference for a run's first fallback.

use std::collections::BTreeMap;

use serde_json::Value;

use smolbench_core::ScoringContext;

use super::can_infer::can_infer;
use super::mmmu_parse::{normalize_str, parse_multi_choice, parse_open_response, MmmuParser, OpenValue};
use super::pyrandom::PyRandom;
use super::pyrepr::py_float_repr;
use super::MetricProfile;
use crate::error::TaskError;

/// The 30 subjects in the official `CAT_SHORT2LONG` order (the order a run is parsed in).
pub const MMMU_SUBJECTS: [&str; 30] = [
    "Accounting",
    "Agriculture",
    "Architecture_and_Engineering",
    "Art",
    "Art_Theory",
    "Basic_Medical_Science",
    "Biology",
    "Chemistry",
    "Clinical_Medicine",
    "Computer_Science",
    "Design",
    "Diagnostics_and_Laboratory_Medicine",
    "Economics",
    "Electronics",
    "Energy_and_Power",
    "Finance",
    "Geography",
    "History",
    "Literature",
    "Manage",
    "Marketing",
    "Materials",
    "Math",
    "Mechanical_Engineering",
    "Music",
    "Pharmacy",
    "Physics",
    "Psychology",
    "Public_Health",
    "Sociology",
];

/// The official `DOMAIN_CAT2SUB_CAT`: six disciplines and their subjects.
pub const MMMU_DOMAINS: [(&str, &[&str]); 6] = [
    ("Art and Design", &["Art", "Art_Theory", "Design", "Music"]),
    ("Business", &["Accounting", "Economics", "Finance", "Manage", "Marketing"]),
    ("Science", &["Biology", "Chemistry", "Geography", "Math", "Physics"]),
    (
        "Health and Medicine",
        &[
            "Basic_Medical_Science",
            "Clinical_Medicine",
            "Diagnostics_and_Laboratory_Medicine",
            "Pharmacy",
            "Public_Health",
        ],
    ),
    ("Humanities and Social Science", &["History", "Literature", "Sociology", "Psychology"]),
    (
        "Tech and Engineering",
        &[
            "Agriculture",
            "Architecture_and_Engineering",
            "Computer_Science",
            "Electronics",
            "Energy_and_Power",
            "Materials",
            "Mechanical_Engineering",
        ],
    ),
];

/// The seed the reference gives Python's global `random` before parsing.
pub fn mmmu_seed(profile: MetricProfile) -> i64 {
    match profile {
        MetricProfile::LmmsEval => 0,
        MetricProfile::Official | MetricProfile::VlmEvalKit => 42,
    }
}

/// The subject of an MMMU id: `"_".join(id.split("_")[1:-1])`.
pub fn mmmu_subject(id: &str) -> String {
    let parts: Vec<&str> = id.split('_').collect();
    if parts.len() < 3 {
        return String::new();
    }
    parts[1..parts.len() - 1].join("_")
}

/// Letters `A, B, ...` for `n` options (A–D when there are none).
pub(crate) fn option_letters(n: usize) -> Vec<String> {
    let n = if n == 0 { 4 } else { n.min(26) };
    (0..n).map(|i| char::from(b'A' + i as u8).to_string()).collect()
}

/// Official `eval_open`: some string prediction contains a normalised gold string, or some number
/// prediction equals a normalised gold number.
pub fn eval_open(golds: &[String], preds: &[OpenValue]) -> bool {
    let golds: Vec<OpenValue> = golds.iter().flat_map(|g| normalize_str(g)).collect();
    preds.iter().any(|pred| match pred {
        OpenValue::Text(p) => golds.iter().any(|g| matches!(g, OpenValue::Text(g) if p.contains(g.as_str()))),
        OpenValue::Number(p) => golds.iter().any(|g| matches!(g, OpenValue::Number(g) if g == p)),
    })
}

/// lmms-eval ≥ v0.4: `eval_open(gold, str(parsed[0]))`, which iterates over the characters of the
/// string. `first` is the parsed answer's first element.
pub fn eval_open_lmms_v04(golds: &[String], first: Option<&OpenValue>) -> bool {
    let Some(first) = first else { return false };
    let text = match first {
        OpenValue::Number(x) => py_float_repr(*x),
        OpenValue::Text(t) => t.clone(),
    };
    let golds: Vec<OpenValue> = golds.iter().flat_map(|g| normalize_str(g)).collect();
    text.chars().any(|c| {
        let c = c.to_string();
        golds.iter().any(|g| matches!(g, OpenValue::Text(g) if c.contains(g.as_str())))
    })
}

/// Whether `question_type` (MMMU `multiple-choice`, `open`; the answer file's `short-answer`)
/// names an open question.
pub(crate) fn is_open(question_type: &str) -> bool {
    matches!(question_type, "open" | "short-answer")
}

/// Scores one open answer (the raw or already-parsed response text).
fn score_open(response: &str, golds: &[String], profile: MetricProfile) -> bool {
    let preds = parse_open_response(response);
    match profile {
        MetricProfile::LmmsEval => eval_open_lmms_v04(golds, preds.first()),
        MetricProfile::Official | MetricProfile::VlmEvalKit => eval_open(golds, &preds),
    }
}

/// The registered `mmmu` metric: 1.0 if correct, else 0.0.
///
/// Reads `context.fields["question_type"]` (`multiple-choice`, or `open`/`short-answer`; when it
/// is missing, a sample with choices is multiple-choice) and `context.choices` (option texts, A
/// first). `references` holds the gold letter, or the accepted open answers. Under VLMEvalKit the
/// letter comes from `can_infer` (no judge, no random fallback; an unparsed answer is wrong) and
/// open answers use the official rules.
pub fn mmmu_score(prediction: &str, references: &[String], context: &ScoringContext, profile: MetricProfile) -> f64 {
    let open = match context.fields.get("question_type") {
        Some(t) => is_open(t),
        None => context.choices.is_empty(),
    };
    let correct = if open {
        score_open(prediction, references, profile)
    } else {
        let letters = option_letters(context.choices.len());
        let letter = match profile {
            MetricProfile::VlmEvalKit => can_infer(prediction, &letters, &context.choices),
            MetricProfile::Official | MetricProfile::LmmsEval => {
                let parser =
                    if profile == MetricProfile::LmmsEval { MmmuParser::LmmsEval } else { MmmuParser::Official };
                let mut rng = PyRandom::new(mmmu_seed(profile));
                Some(parse_multi_choice(prediction, &letters, &context.choices, parser, &mut rng).letter)
            }
        };
        letter.is_some_and(|l| references.contains(&l))
    };
    if correct {
        1.0
    } else {
        0.0
    }
}

/// Correct and total counts for one subject, domain or the whole set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmmuScore {
    /// Subject or domain name (`Overall` for the total).
    pub name: String,
    /// Items scored correct.
    pub correct: usize,
    /// Items scored.
    pub total: usize,
}

impl MmmuScore {
    /// correct / total (0 when empty).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// A whole run's MMMU scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmmuReport {
    /// All items.
    pub overall: MmmuScore,
    /// Per subject, in the official order (unknown subjects last, by name).
    pub per_subject: Vec<MmmuScore>,
    /// Per domain (`DOMAIN_CAT2SUB_CAT`), over the subjects present.
    pub per_domain: Vec<MmmuScore>,
    /// Multiple-choice items whose letter was drawn at random.
    pub random_fallbacks: usize,
}

impl MmmuReport {
    fn from_results(results: &BTreeMap<String, (usize, usize)>, random_fallbacks: usize) -> Self {
        let mut names: Vec<&str> = MMMU_SUBJECTS.iter().copied().filter(|s| results.contains_key(*s)).collect();
        names.extend(results.keys().map(String::as_str).filter(|s| !MMMU_SUBJECTS.contains(s)));
        let score = |name: &str| {
            let (correct, total) = results[name];
            MmmuScore { name: name.to_string(), correct, total }
        };
        let per_subject: Vec<MmmuScore> = names.iter().map(|n| score(n)).collect();
        let sum = |name: &str, items: &mut dyn Iterator<Item = &MmmuScore>| {
            let (correct, total) = items.fold((0, 0), |(c, t), s| (c + s.correct, t + s.total));
            MmmuScore { name: name.to_string(), correct, total }
        };
        let per_domain = MMMU_DOMAINS
            .iter()
            .map(|(domain, subjects)| {
                sum(domain, &mut per_subject.iter().filter(|s| subjects.contains(&s.name.as_str())))
            })
            .filter(|d| d.total > 0)
            .collect();
        let overall = sum("Overall", &mut per_subject.iter());
        MmmuReport { overall, per_subject, per_domain, random_fallbacks }
    }
}

/// The gold answers of an answer-file entry: a string, or a list of strings.
fn gold_list(value: &Value, id: &str) -> Result<Vec<String>, TaskError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad_input(format!("{id}: ground_truth item {v}"))))
            .collect(),
        other => Err(bad_input(format!("{id}: ground_truth must be a string or list, got {other}"))),
    }
}

fn bad_input(message: String) -> TaskError {
    TaskError::Config { origin: "MMMU scoring input".to_string(), message }
}

/// `main_eval_only.py`: rescores a file of already-parsed predictions (`{id: letter or open
/// answer text}`) against an answer file (`{id: {question_type, ground_truth}}`).
///
/// Multiple-choice predictions are compared as given; open ones go through
/// [`parse_open_response`] first, as the official script does. Under [`MetricProfile::LmmsEval`]
/// open questions follow the v0.4+ behaviour; VLMEvalKit is scored as official.
pub fn score_mmmu_outputs(outputs: &Value, answers: &Value, profile: MetricProfile) -> Result<MmmuReport, TaskError> {
    let outputs = outputs.as_object().ok_or_else(|| bad_input("outputs must be a JSON object".into()))?;
    let answers = answers.as_object().ok_or_else(|| bad_input("answers must be a JSON object".into()))?;
    let mut results: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (id, pred) in outputs {
        let answer = answers.get(id).ok_or_else(|| bad_input(format!("{id}: not in the answer file")))?;
        let question_type = answer["question_type"].as_str().unwrap_or("multiple-choice");
        let golds = gold_list(&answer["ground_truth"], id)?;
        let pred = pred.as_str().ok_or_else(|| bad_input(format!("{id}: prediction must be a string")))?;
        let correct =
            if is_open(question_type) { score_open(pred, &golds, profile) } else { golds.iter().any(|g| g == pred) };
        let entry = results.entry(mmmu_subject(id)).or_default();
        entry.0 += usize::from(correct);
        entry.1 += 1;
    }
    Ok(MmmuReport::from_results(&results, 0))
}

/// One raw MMMU response with what parsing and scoring need.
#[derive(Debug, Clone)]
pub struct MmmuResponse {
    /// The MMMU id, e.g. `validation_Art_3` (the subject is taken from it).
    pub id: String,
    /// Whether the question is open (`open`/`short-answer`) rather than multiple-choice.
    pub open: bool,
    /// The model's response.
    pub response: String,
    /// Option texts, A first (empty for open questions).
    pub options: Vec<String>,
    /// The gold letter, or the accepted open answers.
    pub golds: Vec<String>,
}

/// `main_parse_and_eval.py`: parses raw responses with one generator seeded as the profile's
/// reference seeds it, subjects in the official order and items in the given order, and scores
/// them. Under VLMEvalKit the letter comes from `can_infer` instead (no random draw).
pub fn score_mmmu_responses(responses: &[MmmuResponse], profile: MetricProfile) -> MmmuReport {
    let mut order: Vec<usize> = (0..responses.len()).collect();
    let rank = |id: &str| {
        let subject = mmmu_subject(id);
        MMMU_SUBJECTS.iter().position(|s| *s == subject).unwrap_or(MMMU_SUBJECTS.len())
    };
    order.sort_by_key(|&i| rank(&responses[i].id)); // stable: file order within a subject
    let mut rng = PyRandom::new(mmmu_seed(profile));
    let mut results: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut fallbacks = 0;
    for i in order {
        let r = &responses[i];
        let correct = if r.open {
            score_open(&r.response, &r.golds, profile)
        } else {
            let letters = option_letters(r.options.len());
            let letter = match profile {
                MetricProfile::VlmEvalKit => can_infer(&r.response, &letters, &r.options),
                MetricProfile::Official | MetricProfile::LmmsEval => {
                    let parser =
                        if profile == MetricProfile::LmmsEval { MmmuParser::LmmsEval } else { MmmuParser::Official };
                    let parsed = parse_multi_choice(&r.response, &letters, &r.options, parser, &mut rng);
                    fallbacks += usize::from(parsed.random_fallback);
                    Some(parsed.letter)
                }
            };
            letter.is_some_and(|l| r.golds.contains(&l))
        };
        let entry = results.entry(mmmu_subject(&r.id)).or_default();
        entry.0 += usize::from(correct);
        entry.1 += 1;
    }
    MmmuReport::from_results(&results, fallbacks)
}

#[cfg(test)]
#[path = "mmmu_tests.rs"]
mod tests;
