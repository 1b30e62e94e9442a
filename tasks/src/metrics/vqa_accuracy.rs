//! VQA accuracy: agreement with ten human answers, leave-one-out (TextVQA, VQAv2; §2).
//!
//! For each human answer `i`, `acc_i = min(1, #{j != i : gt_j == pred} / 3)`; the score is the
//! mean over `i`. The profiles differ in what they normalise:
//!
//! - **lmms-eval** (`textvqa_process_results`): the stripped prediction and every answer go
//!   through `EvalAIAnswerProcessor`.
//! - **official** (`vqaEval.py`): `\n`/`\t` become spaces and everything is stripped; then, only
//!   if the answers are not all identical, prediction and answers go through the official
//!   normaliser. So `"Donut World"` scores 0 against ten `"donut world"`.
//! - **VLMEvalKit**: `process_answer` on the prediction and every answer.

use super::vqa_normalise::{normalise_vqa_answer, strip_lines, VqaNormaliser};
use super::MetricProfile;
use crate::pycompat::py_strip;

/// VQA accuracy of one prediction against the human answers, in [0, 1]; 0 without answers.
pub fn vqa_accuracy(prediction: &str, answers: &[String], profile: MetricProfile) -> f64 {
    let (pred, gts): (String, Vec<String>) = match profile {
        MetricProfile::LmmsEval => (
            normalise_vqa_answer(py_strip(prediction), VqaNormaliser::LmmsEval),
            answers.iter().map(|a| normalise_vqa_answer(a, VqaNormaliser::LmmsEval)).collect(),
        ),
        MetricProfile::VlmEvalKit => (
            normalise_vqa_answer(prediction, VqaNormaliser::VlmEvalKit),
            answers.iter().map(|a| normalise_vqa_answer(a, VqaNormaliser::VlmEvalKit)).collect(),
        ),
        MetricProfile::Official => {
            let pred = strip_lines(prediction);
            let gts: Vec<String> = answers.iter().map(|a| strip_lines(a)).collect();
            let all_same = gts.windows(2).all(|w| w[0] == w[1]);
            if all_same {
                (pred, gts)
            } else {
                let norm = |s: &str| normalise_vqa_answer(s, VqaNormaliser::Official);
                (norm(&pred), gts.iter().map(|g| norm(g)).collect())
            }
        }
    };
    leave_one_out(&pred, &gts)
}

/// Mean over `i` of `min(1, matches among the other answers / 3)`.
fn leave_one_out(pred: &str, gts: &[String]) -> f64 {
    if gts.is_empty() {
        return 0.0;
    }
    let total_matches = gts.iter().filter(|g| *g == pred).count();
    let sum: f64 = gts
        .iter()
        .map(|g| {
            let others = total_matches - usize::from(g == pred);
            (others as f64 / 3.0).min(1.0)
        })
        .sum();
    sum / gts.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::vectors::{check_score_vectors, strings};

    /// Every row of `vqa_accuracy.jsonl`, all three profiles.
    #[test]
    fn reference_vectors() {
        let fields = [
            ("expected_lmms_eval_textvqa", MetricProfile::LmmsEval),
            ("expected_official_vqaEval", MetricProfile::Official),
            ("expected_vlmevalkit_vqa_score", MetricProfile::VlmEvalKit),
        ];
        check_score_vectors("vqa_accuracy.jsonl", 29, &fields, |row, profile| {
            vqa_accuracy(
                row["prediction"].as_str().expect("prediction is a string"),
                &strings(&row["answers"]),
                profile,
            )
        });
    }

    #[test]
    fn leave_one_out_counts_other_answers() {
        let gts: Vec<String> =
            ["a", "a", "b", "b", "b", "b", "b", "b", "b", "b"].iter().map(|s| s.to_string()).collect();
        // Two answers say "a": each sees one other (1/3), the eight others see two (2/3).
        let want = (2.0 * (1.0 / 3.0) + 8.0 * (2.0 / 3.0)) / 10.0;
        assert!((leave_one_out("a", &gts) - want).abs() < 1e-15);
        assert_eq!(leave_one_out("a", &[]), 0.0);
    }
}
