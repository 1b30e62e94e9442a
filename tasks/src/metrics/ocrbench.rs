//! OCRBench substring matching (§8): a hit when a normalised gold answer occurs in the
//! normalised prediction.
//!
//! - **official** (`OCRBench/example.py`): the prediction is stripped. For `HME100k` (handwritten
//!   maths), both sides are stripped, `\n` becomes a space and every space is deleted; the test is
//!   case-sensitive. For every other source, both sides are `lower().strip()`-ed and `\n` becomes
//!   a space.
//! - **lmms-eval v0.4–v0.7.1**: as official, but the prediction is lower-cased before the HME100k
//!   branch, so HME answers with capitals never match.
//! - **lmms-eval HEAD**: as official, but outside HME100k both sides first fold full-width ASCII
//!   (U+FF01–U+FF5E) to ASCII and U+3000 to a space.
//!
//!
//! The registered `ocrbench` metric ([`ocrbench_score`]) maps the harness profiles onto these:
//! `official` → [`OcrBenchProfile::Official`]; `lmms-eval` → [`OcrBenchProfile::LmmsHead`]
//! (HEAD 75571cfe: v0.7.2's case fix plus the full-width fold of bbddc790);
//! `vlmevalkit` → [`OcrBenchProfile::Official`] (VLMEvalKit's `OCRBench_eval` applies the official
//! rules, keyed by the HME category instead of the source set). lmms-eval v0.4–v0.7.1 is
//! [`OcrBenchProfile::LmmsV04ToV071`], reachable through [`ocrbench_match`] only.

use smolbench_core::ScoringContext;

use super::MetricProfile;
use crate::pycompat::{py_lower, py_strip};

/// The source data set whose answers are compared without spaces and case-sensitively.
const HME: &str = "HME100k";

/// Which OCRBench scorer to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcrBenchProfile {
    /// `OCRBench/example.py`.
    Official,
    /// lmms-eval v0.4 to v0.7.1 (lower-cases the prediction first).
    LmmsV04ToV071,
    /// lmms-eval HEAD (folds full-width ASCII outside HME100k).
    LmmsHead,
}

/// 1.0 if some answer matches the prediction, else 0.0. `dataset` is the row's `dataset` column.
pub fn ocrbench_match(prediction: &str, answers: &[String], dataset: &str, profile: OcrBenchProfile) -> f64 {
    let mut pred = py_strip(prediction).to_string();
    if profile == OcrBenchProfile::LmmsV04ToV071 {
        pred = py_lower(&pred);
    }
    let hit = if dataset == HME {
        let squash = |s: &str| py_strip(s).replace('\n', " ").replace(' ', "");
        let pred = squash(&pred);
        answers.iter().any(|a| pred.contains(&squash(a)))
    } else {
        let fold = |s: &str| {
            if profile == OcrBenchProfile::LmmsHead {
                fold_full_width(s)
            } else {
                s.to_string()
            }
        };
        let norm = |s: &str| py_strip(&py_lower(&fold(s))).replace('\n', " ");
        let pred = norm(&pred);
        answers.iter().any(|a| pred.contains(&norm(a)))
    };
    if hit {
        1.0
    } else {
        0.0
    }
}

/// The question type of the HME100k items, used when a sample carries no `dataset` field.
const HME_QUESTION_TYPE: &str = "Handwritten Mathematical Expression Recognition";

impl From<MetricProfile> for OcrBenchProfile {
    fn from(profile: MetricProfile) -> Self {
        match profile {
            MetricProfile::Official | MetricProfile::VlmEvalKit => OcrBenchProfile::Official,
            MetricProfile::LmmsEval => OcrBenchProfile::LmmsHead,
        }
    }
}

/// The registered `ocrbench` metric. Reads `context.fields["dataset"]` (the source set; `HME100k`
/// switches to the space-free, case-sensitive rule) and, when that is missing,
/// `context.fields["question_type"]` (the HME category means `HME100k`).
pub fn ocrbench_score(
    prediction: &str,
    references: &[String],
    context: &ScoringContext,
    profile: MetricProfile,
) -> f64 {
    let dataset = match (context.fields.get("dataset"), context.fields.get("question_type")) {
        (Some(dataset), _) => dataset.as_str(),
        (None, Some(qt)) if qt == HME_QUESTION_TYPE => HME,
        _ => "",
    };
    ocrbench_match(prediction, references, dataset, profile.into())
}

/// Full-width ASCII (U+FF01–U+FF5E) to ASCII, the ideographic space U+3000 to a space.
fn fold_full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::vectors::{check_score_vectors, strings};

    /// Every row of `ocrbench_match.jsonl`, all three scorers.
    #[test]
    fn reference_vectors() {
        let fields = [
            ("expected_score_official_example_py", OcrBenchProfile::Official),
            ("expected_score_lmms_v0.4_to_v0.7", OcrBenchProfile::LmmsV04ToV071),
            ("expected_score_lmms_head", OcrBenchProfile::LmmsHead),
        ];
        check_score_vectors("ocrbench_match.jsonl", 520, &fields, |row, profile| {
            let prediction = row["prediction"].as_str().expect("prediction is a string");
            let dataset = row["dataset"].as_str().expect("dataset is a string");
            ocrbench_match(prediction, &strings(&row["answers"]), dataset, profile)
        });
    }

    #[test]
    fn full_width_fold() {
        assert_eq!(fold_full_width("（ＡＢ１）\u{3000}x"), "(AB1) x");
        let gold = vec!["AB1".to_string()];
        assert_eq!(ocrbench_match("ＡＢ１", &gold, "IIIT5K", OcrBenchProfile::LmmsHead), 1.0);
        assert_eq!(ocrbench_match("ＡＢ１", &gold, "IIIT5K", OcrBenchProfile::Official), 0.0);
    }
}
