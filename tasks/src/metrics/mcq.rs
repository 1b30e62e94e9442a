//! Multiple-choice letter extraction and scoring: the ten reference extractors of
//! `mcq_extraction.jsonl` behind one metric (`benchmarks.md` §4–7, §10, §11).
//!
//! | name | reference | rule |
//! |---|---|---|
//! | `mmmu_official` | MMMU `parse_multi_choice_response` | `(X)`, ` X `, option text; else random |
//! | `mmmu_lmms` | lmms-eval `parse_multi_choice_response` | `(X)`, `X `, `X.`, option text; else random |
//! | `lmms_head` | lmms-eval HEAD `extract_mcq_answer` | prioritised formats, [`extract_mcq_answer`] |
//! | `mmstar_classic` | MMStar official / lmms-eval ≤ v0.7.1 | first-character checks |
//! | `videomme_official` | Video-MME `eval_your_results.py` | first `A`–`D` after prefix removal |
//! | `mlvu_lmms_v071` | lmms-eval ≤ v0.7.1 MLVU | character before the first `)` |
//! | `scienceqa_lmms` | lmms-eval `sqa_process_results` | exact letter, or `X.` prefix |
//! | `ai2d_lmms` | lmms-eval AI2D filter + `exact_match` | `X.` prefix, else the text |
//! | `mvbench_lmms` | lmms-eval MVBench `mcq_acc` | VQA punctuation, first standalone `a`–`e` |
//! | `can_infer` | VLMEvalKit `can_infer` (no judge) | token, verbose regex, option text |
//! | `worldsense_lmms` | lmms-eval WorldSense `parse_multi_choice_response` | bare letter, ` X `, option text; else `A` |
//!
//! A benchmark name picks the extractor the profile's reference uses for it (see
//! [`McqExtractor::resolve`]): `mmstar`, `videomme` and `mlvu` are the classic rules under
//! `official`, `lmms_head` under `lmms-eval` (HEAD, ≥ v0.7.2) and `can_infer` under
//! `vlmevalkit`; `mmmu` is `mmmu_official` / `mmmu_lmms` / `can_infer`; `ai2d`, `scienceqa`
//! and `mvbench` have no official scorer, so `official` and `lmms-eval` both use lmms-eval's.
//! `worldsense` is `worldsense_lmms` under `lmms-eval` and VLMEvalKit's `extract_characters_regex`
//! (the Video-MME official rule, `videomme_official`) under `official` and `vlmevalkit`, since
//! VLMEvalKit scores WorldSense with that rule and no judge by default.

use smolbench_core::ScoringContext;

use super::can_infer::can_infer;
use super::mcq_head::extract_mcq_answer;
use super::mcq_rules::{
    ai2d_correct, mlvu_v071_extract, mmstar_classic_correct, mvbench_correct, scienceqa_correct,
    videomme_official_extract,
};
use super::mmmu::{mmmu_seed, option_letters};
use super::mmmu_parse::{parse_multi_choice, MmmuParser};
use super::pyrandom::PyRandom;
use super::video_rules::worldsense_lmms_extract;
use super::MetricProfile;
use crate::error::TaskError;
use crate::pycompat::{py_strip, py_upper};

/// One reference multiple-choice extractor or scorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum McqExtractor {
    /// MMMU official parser (random fallback, seed 42).
    MmmuOfficial,
    /// lmms-eval's MMMU parser (random fallback, seed 0).
    MmmuLmms,
    /// lmms-eval HEAD `extract_mcq_answer`.
    LmmsHead,
    /// MMStar official / lmms-eval ≤ v0.7.1 correctness test.
    MmstarClassic,
    /// Video-MME official extraction.
    VideoMmeOfficial,
    /// lmms-eval ≤ v0.7.1 MLVU extraction.
    MlvuLmmsV071,
    /// lmms-eval ScienceQA scorer.
    ScienceQaLmms,
    /// lmms-eval AI2D filter and `exact_match`.
    Ai2dLmms,
    /// lmms-eval MVBench `mcq_acc`.
    MvBenchLmms,
    /// VLMEvalKit `can_infer`.
    CanInfer,
    /// lmms-eval WorldSense `parse_multi_choice_response`.
    WorldSenseLmms,
}

impl McqExtractor {
    /// Every extractor, in the table's order.
    pub const ALL: [McqExtractor; 11] = [
        McqExtractor::MmmuOfficial,
        McqExtractor::MmmuLmms,
        McqExtractor::LmmsHead,
        McqExtractor::MmstarClassic,
        McqExtractor::VideoMmeOfficial,
        McqExtractor::MlvuLmmsV071,
        McqExtractor::ScienceQaLmms,
        McqExtractor::Ai2dLmms,
        McqExtractor::MvBenchLmms,
        McqExtractor::CanInfer,
        McqExtractor::WorldSenseLmms,
    ];

    /// Benchmark names accepted by [`McqExtractor::resolve`] besides the extractor names.
    pub const BENCHMARKS: [&'static str; 8] =
        ["mmstar", "videomme", "mlvu", "mmmu", "ai2d", "scienceqa", "mvbench", "worldsense"];

    /// The name `context.fields["extractor"]` uses.
    pub fn name(self) -> &'static str {
        match self {
            McqExtractor::MmmuOfficial => "mmmu_official",
            McqExtractor::MmmuLmms => "mmmu_lmms",
            McqExtractor::LmmsHead => "lmms_head",
            McqExtractor::MmstarClassic => "mmstar_classic",
            McqExtractor::VideoMmeOfficial => "videomme_official",
            McqExtractor::MlvuLmmsV071 => "mlvu_lmms_v071",
            McqExtractor::ScienceQaLmms => "scienceqa_lmms",
            McqExtractor::Ai2dLmms => "ai2d_lmms",
            McqExtractor::MvBenchLmms => "mvbench_lmms",
            McqExtractor::CanInfer => "can_infer",
            McqExtractor::WorldSenseLmms => "worldsense_lmms",
        }
    }

    /// The extractor used when a sample names none: `mmstar_classic` (official), `lmms_head`
    /// (lmms-eval), `can_infer` (VLMEvalKit).
    pub fn default_for(profile: MetricProfile) -> Self {
        match profile {
            MetricProfile::Official => McqExtractor::MmstarClassic,
            MetricProfile::LmmsEval => McqExtractor::LmmsHead,
            MetricProfile::VlmEvalKit => McqExtractor::CanInfer,
        }
    }

    /// An extractor name, or a benchmark name resolved for `profile` (module docs).
    pub fn resolve(name: &str, profile: MetricProfile) -> Result<Self, TaskError> {
        if let Some(e) = McqExtractor::ALL.into_iter().find(|e| e.name() == name) {
            return Ok(e);
        }
        use McqExtractor as E;
        use MetricProfile as P;
        let by_profile = |official, lmms| match profile {
            P::Official => official,
            P::LmmsEval => lmms,
            P::VlmEvalKit => E::CanInfer,
        };
        Ok(match name {
            "mmstar" => by_profile(E::MmstarClassic, E::LmmsHead),
            "videomme" => by_profile(E::VideoMmeOfficial, E::LmmsHead),
            "mlvu" => by_profile(E::MlvuLmmsV071, E::LmmsHead),
            "mmmu" => by_profile(E::MmmuOfficial, E::MmmuLmms),
            "ai2d" => by_profile(E::Ai2dLmms, E::Ai2dLmms),
            "scienceqa" => by_profile(E::ScienceQaLmms, E::ScienceQaLmms),
            "mvbench" => by_profile(E::MvBenchLmms, E::MvBenchLmms),
            "worldsense" => match profile {
                P::LmmsEval => E::WorldSenseLmms,
                P::Official | P::VlmEvalKit => E::VideoMmeOfficial,
            },
            _ => {
                let known = McqExtractor::ALL.iter().map(|e| e.name()).chain(McqExtractor::BENCHMARKS);
                return Err(TaskError::unknown("mcq extractor", name, known));
            }
        })
    }

    /// The seed of Python's `random` when the reference parses (only the MMMU parsers draw).
    pub fn seed(self) -> i64 {
        match self {
            McqExtractor::MmmuLmms => mmmu_seed(MetricProfile::LmmsEval),
            _ => mmmu_seed(MetricProfile::Official),
        }
    }

    /// The letter this extractor reads from `prediction`, for those that extract one (`None` for
    /// the scorers that only test a given gold letter, and where VLMEvalKit finds nothing).
    /// Random fallbacks draw from `rng`.
    pub fn extract(self, prediction: &str, choices: &[String], rng: &mut PyRandom) -> Option<String> {
        let letters = option_letters(choices.len());
        match self {
            McqExtractor::MmmuOfficial | McqExtractor::MmmuLmms => {
                let parser =
                    if self == McqExtractor::MmmuOfficial { MmmuParser::Official } else { MmmuParser::LmmsEval };
                Some(parse_multi_choice(prediction, &letters, choices, parser, rng).letter)
            }
            McqExtractor::LmmsHead => Some(extract_mcq_answer(prediction, &letters)),
            McqExtractor::VideoMmeOfficial => Some(videomme_official_extract(prediction)),
            McqExtractor::MlvuLmmsV071 => Some(mlvu_v071_extract(prediction)),
            McqExtractor::CanInfer => can_infer(prediction, &letters, choices),
            McqExtractor::WorldSenseLmms => Some(worldsense_lmms_extract(prediction, choices)),
            McqExtractor::MmstarClassic
            | McqExtractor::ScienceQaLmms
            | McqExtractor::Ai2dLmms
            | McqExtractor::MvBenchLmms => None,
        }
    }

    /// Whether `prediction` scores as correct for the gold letter `gold`.
    pub fn is_correct(self, prediction: &str, gold: &str, choices: &[String], rng: &mut PyRandom) -> bool {
        let gold = py_strip(gold);
        match self {
            McqExtractor::MmstarClassic => mmstar_classic_correct(prediction, gold),
            McqExtractor::ScienceQaLmms => scienceqa_correct(prediction, gold),
            McqExtractor::Ai2dLmms => ai2d_correct(prediction, gold),
            McqExtractor::MvBenchLmms => mvbench_correct(prediction, gold),
            McqExtractor::LmmsHead => self.extract(prediction, choices, rng).is_some_and(|l| l == py_upper(gold)),
            _ => self.extract(prediction, choices, rng).is_some_and(|l| l == gold),
        }
    }
}

/// The registered `mcq` metric: 1.0 if the prediction is correct for some reference letter.
///
/// Reads `context.fields["extractor"]` (an extractor or benchmark name; without it
/// [`McqExtractor::default_for`] the profile) and `context.choices` (option texts, A first;
/// without choices the letters are A–D). Random fallbacks draw from a fresh generator seeded as
/// the parser's reference seeds it (42 for `mmmu_official`, 0 for `mmmu_lmms`). An unknown
/// extractor name is a task definition bug and panics with the list of known names.
pub fn mcq_score(prediction: &str, references: &[String], context: &ScoringContext, profile: MetricProfile) -> f64 {
    let extractor = match context.fields.get("extractor") {
        Some(name) => McqExtractor::resolve(name, profile).unwrap_or_else(|e| panic!("{e}")),
        None => McqExtractor::default_for(profile),
    };
    let correct = references.iter().any(|gold| {
        let mut rng = PyRandom::new(extractor.seed());
        extractor.is_correct(prediction, gold, &context.choices, &mut rng)
    });
    if correct {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
#[path = "mcq_tests.rs"]
mod tests;
