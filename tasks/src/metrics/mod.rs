//! Metrics: one file per metric, and the registry that finds them by name.
//!
//! A [`Metric`] scores one extracted prediction against a sample's references. Every metric
//! reproduces a reference implementation exactly; where the references disagree, the
//! [`MetricProfile`] picks which one (`benchmarks.md` §0.2 recommends naming them). Each metric
//! file tests itself against the vectors in `shared/data/metric-vectors/`, row by row.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use smolbench_core::ScoringContext;

use crate::error::TaskError;

mod aggregate;
mod anls;
mod can_infer;
mod mathvista;
mod mcq;
mod mcq_head;
mod mcq_rules;
pub(crate) mod mmmu;
mod mmmu_parse;
mod ocrbench;
mod pyrandom;
mod pyrepr;
mod relaxed_accuracy;
#[cfg(test)]
pub(crate) mod vectors;
mod video_rules;
#[cfg(test)]
mod video_rules_tests;
mod vqa_accuracy;
mod vqa_normalise;
mod vqa_tables;

pub use aggregate::{aggregate, AggregateItem, AggregateReport, AggregationRule, CategoryScore, MLVU_DEV_TASK_TYPES};
pub use anls::{anls, levenshtein, AnlsProfile};
pub use can_infer::can_infer;
pub use mathvista::{
    extract_answer as mathvista_extract_answer, mathvista_correct, mathvista_score, normalize_extracted_answer,
    py_int_str, vlmevalkit_correct as mathvista_vlmevalkit_correct, Precision,
};
pub use mcq::{mcq_score, McqExtractor};
pub use mcq_head::extract_mcq_answer;
pub use mcq_rules::{
    ai2d_correct, ai2d_filter, exact_match_ignoring_case_and_punctuation, mlvu_v071_extract, mmstar_classic_correct,
    mvbench_correct, mvbench_process, scienceqa_correct, videomme_official_extract,
};
pub use mmmu::{
    eval_open, eval_open_lmms_v04, mmmu_score, mmmu_seed, mmmu_subject, score_mmmu_outputs, score_mmmu_responses,
    MmmuReport, MmmuResponse, MmmuScore, MMMU_DOMAINS, MMMU_SUBJECTS,
};
pub use mmmu_parse::{
    extract_numbers, normalize_str, parse_multi_choice, parse_open_response, McParse, MmmuParser, OpenValue,
};
pub use ocrbench::{ocrbench_match, ocrbench_score, OcrBenchProfile};
pub use pyrandom::PyRandom;
pub use pyrepr::py_float_repr;
pub use relaxed_accuracy::{relaxed_accuracy, relaxed_correctness};
pub use video_rules::{
    tempcompass_caption_matching, tempcompass_multi_choice, tempcompass_score, tempcompass_yes_no,
    worldsense_lmms_extract,
};
pub use vqa_accuracy::vqa_accuracy;
pub use vqa_normalise::{normalise_vqa_answer, VqaNormaliser};

/// Which reference implementation a score reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MetricProfile {
    /// The benchmark authors' own evaluation script.
    #[serde(rename = "official")]
    Official,
    /// lmms-eval (HEAD at the time of writing, 75571cfe).
    #[serde(rename = "lmms-eval")]
    LmmsEval,
    /// VLMEvalKit (e8e78f05).
    #[serde(rename = "vlmevalkit")]
    VlmEvalKit,
}

impl MetricProfile {
    /// Every profile, in the order they are listed to users.
    pub const ALL: [MetricProfile; 3] = [MetricProfile::Official, MetricProfile::LmmsEval, MetricProfile::VlmEvalKit];

    /// The profile's name in task files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MetricProfile::Official => "official",
            MetricProfile::LmmsEval => "lmms-eval",
            MetricProfile::VlmEvalKit => "vlmevalkit",
        }
    }
}

impl fmt::Display for MetricProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MetricProfile {
    type Err = TaskError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricProfile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| TaskError::unknown("metric profile", s, MetricProfile::ALL.iter().map(|p| p.name())))
    }
}

impl From<MetricProfile> for AnlsProfile {
    fn from(profile: MetricProfile) -> Self {
        match profile {
            MetricProfile::Official => AnlsProfile::Official,
            MetricProfile::LmmsEval => AnlsProfile::LmmsEval,
            MetricProfile::VlmEvalKit => AnlsProfile::VlmEvalKit,
        }
    }
}

/// How per-sample scores combine into the task's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// The arithmetic mean over scored samples.
    Mean,
}

/// A per-sample metric, registered by name in [`METRICS`].
#[derive(Debug)]
pub struct Metric {
    /// The name task files use, e.g. `anls`.
    pub name: &'static str,
    /// One sentence on what it measures and where it comes from.
    pub description: &'static str,
    /// Whether a larger score is better.
    pub higher_is_better: bool,
    /// How sample scores combine.
    pub aggregation: Aggregation,
    score: fn(&str, &[String], &ScoringContext, MetricProfile) -> f64,
}

impl Metric {
    /// Scores an (already extracted) prediction against the references, as `profile` would.
    pub fn score(
        &self,
        prediction: &str,
        references: &[String],
        context: &ScoringContext,
        profile: MetricProfile,
    ) -> f64 {
        (self.score)(prediction, references, context, profile)
    }
}

/// Every metric task files can name.
pub static METRICS: &[Metric] = &[
    Metric {
        name: "anls",
        description: "Average normalised Levenshtein similarity with the 0.5 threshold \
                      (DocVQA, InfographicVQA; benchmarks.md §1).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: |prediction, references, _, profile| anls(prediction, references, profile.into()),
    },
    Metric {
        name: "vqa_accuracy",
        description: "VQA accuracy: min(1, matching other human answers / 3), leave-one-out \
                      over the answers, after the profile's answer normaliser (TextVQA; §2).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: |prediction, references, _, profile| vqa_accuracy(prediction, references, profile),
    },
    Metric {
        name: "relaxed_accuracy",
        description: "ChartQA relaxed accuracy: numbers within 5 % of the target, other \
                      answers equal ignoring case; the same in every profile (§3).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: |prediction, references, _, _| relaxed_accuracy(prediction, references),
    },
    Metric {
        name: "mcq",
        description: "Multiple-choice letter match (1/0) against a gold letter in `references`; reads \
                      `fields[\"extractor\"]` (an extractor such as `mmmu_official`, `lmms_head`, \
                      `can_infer`, or a benchmark name `mmstar`, `ai2d`, `scienceqa`, `videomme`, `mlvu`, \
                      `mvbench`, `mmmu`, `worldsense` resolved per profile; default by profile) and `choices` (option \
                      texts, A first; none means A-D) (AI2D §4, ScienceQA §5, MMStar §6, §10, §11).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: mcq_score,
    },
    Metric {
        name: "mmmu",
        description: "MMMU correctness (1/0); reads `fields[\"question_type\"]` (`multiple-choice` or \
                      `open`) and `choices`; references are the gold letter or the open answers. \
                      Official parser/eval_open, lmms-eval >= v0.4 (open always wrong), VLMEvalKit \
                      can_infer (§7).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: mmmu_score,
    },
    Metric {
        name: "mathvista",
        description: "MathVista correctness (1/0) with rule-based extraction and no LLM judge; reads \
                      `fields` `question_type`, `answer_type`, `precision` (`unit` is prompt-only) and \
                      `choices`; `references[0]` is the answer (§9).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: mathvista_score,
    },
    Metric {
        name: "ocrbench",
        description: "OCRBench substring hit (1/0); reads `fields[\"dataset\"]` (HME100k is compared \
                      without spaces, case-sensitively; falls back to `fields[\"question_type\"]`). \
                      official and vlmevalkit: OCRBench/example.py; lmms-eval: HEAD 75571cfe (§8).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: ocrbench_score,
    },
    Metric {
        name: "tempcompass",
        description: "TempCompass correctness (1/0) by the rule of `fields[\"subtask\"]` (`multi-choice`, \
                      `yes_no`, `caption_matching`, which also reads `fields[\"question\"]`); \
                      `references[0]` is the answer column; unreadable predictions score 0 (no \
                      judge); the same in every profile.",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: tempcompass_score,
    },
    Metric {
        name: "exact_match",
        description: "lmms-eval `exact_match` with ignore_case and ignore_punctuation: the stripped \
                      prediction equals a reference after lower-casing and deleting ASCII punctuation; \
                      reads no context fields; the same in every profile (§0.4).",
        higher_is_better: true,
        aggregation: Aggregation::Mean,
        score: |prediction, references, _, _| {
            let prediction = crate::pycompat::py_strip(prediction);
            let hit = references.iter().any(|r| exact_match_ignoring_case_and_punctuation(prediction, r));
            if hit {
                1.0
            } else {
                0.0
            }
        },
    },
];

/// The metric called `name`, or an error suggesting the nearest known name.
pub fn metric(name: &str) -> Result<&'static Metric, TaskError> {
    METRICS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| TaskError::unknown("metric", name, METRICS.iter().map(|m| m.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_and_suggestion() {
        let anls = metric("anls").expect("anls is registered");
        assert!(anls.higher_is_better);
        assert_eq!(anls.score("a", &["a".into()], &ScoringContext::default(), MetricProfile::Official), 1.0);
        let err = metric("anl").expect_err("anl is not a metric").to_string();
        assert!(err.contains("did you mean `anls`?"), "{err}");
        let err = metric("bleu").expect_err("bleu is not a metric").to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn metric_names_are_unique() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(METRICS[i + 1..].iter().all(|o| o.name != m.name), "{}", m.name);
        }
        assert_eq!(metric("vqa_accuracy").map(|m| m.name).ok(), Some("vqa_accuracy"));
        assert_eq!(metric("relaxed_accuracy").map(|m| m.name).ok(), Some("relaxed_accuracy"));
        for name in ["mcq", "mmmu", "mathvista", "ocrbench", "exact_match"] {
            assert_eq!(metric(name).map(|m| m.name).ok(), Some(name));
        }
    }

    #[test]
    fn context_metrics() {
        let ctx = |pairs: &[(&str, &str)]| ScoringContext {
            choices: Vec::new(),
            fields: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        let gold = vec!["x^2".to_string()];
        let ocr = metric("ocrbench").expect("registered");
        let hme = ctx(&[("dataset", "HME100k")]);
        assert_eq!(ocr.score("X ^ 2", &gold, &hme, MetricProfile::Official), 0.0);
        assert_eq!(ocr.score("x ^ 2", &gold, &hme, MetricProfile::Official), 1.0);
        assert_eq!(ocr.score("X^2", &gold, &ctx(&[("dataset", "IIIT5K")]), MetricProfile::LmmsEval), 1.0);
        let em = metric("exact_match").expect("registered");
        assert_eq!(em.score(" (B) ", &["B".into()], &ScoringContext::default(), MetricProfile::Official), 1.0);
        let mcq = metric("mcq").expect("registered");
        let scienceqa = ctx(&[("extractor", "scienceqa")]);
        assert_eq!(mcq.score("B. dog", &["B".into()], &scienceqa, MetricProfile::Official), 1.0);
        assert_eq!(mcq.score("(B)", &["B".into()], &scienceqa, MetricProfile::Official), 0.0);
    }

    #[test]
    fn profile_names_round_trip() {
        for profile in MetricProfile::ALL {
            assert_eq!(profile.name().parse::<MetricProfile>().ok(), Some(profile));
            let json = serde_json::to_string(&profile).expect("serialises");
            assert_eq!(json, format!("\"{}\"", profile.name()));
        }
        let err = "lmms_eval".parse::<MetricProfile>().expect_err("not a name");
        assert!(err.to_string().contains("did you mean `lmms-eval`?"), "{err}");
    }
}
