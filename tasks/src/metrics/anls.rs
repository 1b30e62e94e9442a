//! ANLS (average normalised Levenshtein similarity), the DocVQA and InfographicVQA metric.
//!
//! Rules from `benchmarks.md` §1, as the RRC script, lmms-eval `anls` and VLMEvalKit
//! `anls_compute` define them. For one question with prediction `p` and gold answers `g_i`:
//!
//! 1. normalise each string: `strip()`, `lower()`, and collapse whitespace runs to one space;
//! 2. `dist` = Levenshtein distance (code points, unit costs) of the normalised strings;
//! 3. `length = max(len(g.upper()), len(p.upper()))` of the **raw** strings;
//! 4. `NL_i = dist / length`, or 0 when `length == 0`;
//! 5. score `= 1 - min_i NL_i`, set to 0 when below 0.5 (exactly 0.5 is kept).
//!
//! The profiles differ only in which `p` the raw length sees: lmms-eval strips every generation
//! before scoring, VLMEvalKit does not.

use crate::pycompat::{py_len, py_lower, py_split, py_strip, py_upper};

/// Scores below this become 0.
const THRESHOLD: f64 = 0.5;

/// Which reference implementation's ANLS to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnlsProfile {
    /// The RRC DocVQA script as run on stripped predictions (the challenge's own submissions).
    Official,
    /// lmms-eval: the generation is stripped before scoring. Identical to [`Self::Official`].
    LmmsEval,
    /// VLMEvalKit: the prediction is not stripped before its raw length is taken.
    VlmEvalKit,
    /// lmms-eval's formula applied to an unstripped prediction (what a caller that skipped the
    /// pipeline's strip would get); equals [`Self::VlmEvalKit`] on every reference vector.
    UnstrippedPred,
}

impl AnlsProfile {
    /// Whether the prediction is stripped before its raw length is measured.
    fn strips_prediction(self) -> bool {
        matches!(self, AnlsProfile::Official | AnlsProfile::LmmsEval)
    }
}

/// ANLS of one prediction against its gold answers, in [0, 1].
///
/// With no gold answers there is nothing to match and the score is 0 (the reference code raises
/// on `min([])`; data sets without gold, such as DocVQA test, are not scored locally).
pub fn anls(prediction: &str, answers: &[String], profile: AnlsProfile) -> f64 {
    let prediction = if profile.strips_prediction() { py_strip(prediction) } else { prediction };
    let pred_norm: Vec<char> = normalise(prediction).chars().collect();
    let pred_len = py_len(&py_upper(prediction));
    let min_nl = answers
        .iter()
        .map(|gold| {
            let gold_norm: Vec<char> = normalise(gold).chars().collect();
            let length = py_len(&py_upper(gold)).max(pred_len);
            if length == 0 {
                0.0
            } else {
                levenshtein(&gold_norm, &pred_norm) as f64 / length as f64
            }
        })
        .reduce(f64::min);
    match min_nl {
        Some(nl) if 1.0 - nl >= THRESHOLD => 1.0 - nl,
        _ => 0.0,
    }
}

/// `" ".join(s.strip().lower().split())`.
fn normalise(s: &str) -> String {
    py_split(&py_lower(py_strip(s))).join(" ")
}

/// Levenshtein distance with unit costs over two code-point sequences.
pub fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::vectors::{check_score_vectors, strings};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn levenshtein_counts_code_points() {
        let chars = |x: &str| x.chars().collect::<Vec<_>>();
        assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
        assert_eq!(levenshtein(&chars(""), &chars("abc")), 3);
        assert_eq!(levenshtein(&chars("abc"), &chars("")), 3);
        assert_eq!(levenshtein(&chars("日本語"), &chars("日本")), 1);
        assert_eq!(levenshtein(&chars("straße"), &chars("strasse")), 2);
    }

    #[test]
    fn threshold_keeps_exactly_one_half() {
        let gold = s(&["abcdefghij"]);
        assert_eq!(anls("abcde", &gold, AnlsProfile::Official), 0.5);
        assert_eq!(anls("abcd", &gold, AnlsProfile::Official), 0.0);
    }

    #[test]
    fn profiles_differ_on_padded_predictions() {
        let gold = s(&["Coca Cola", "Coca Cola Company"]);
        let lmms = anls("   CocaCola  ", &gold, AnlsProfile::LmmsEval);
        let vlm = anls("   CocaCola  ", &gold, AnlsProfile::VlmEvalKit);
        assert!((lmms - 8.0 / 9.0).abs() < 1e-15);
        assert!((vlm - 12.0 / 13.0).abs() < 1e-15);
    }

    #[test]
    fn no_answers_scores_zero() {
        assert_eq!(anls("x", &[], AnlsProfile::Official), 0.0);
    }

    /// Every row of `anls.jsonl`, every profile the file names.
    #[test]
    fn reference_vectors() {
        let fields = [
            ("expected_anls_lmms_eval", AnlsProfile::LmmsEval),
            ("expected_anls_lmms_eval", AnlsProfile::Official),
            ("expected_anls_vlmevalkit", AnlsProfile::VlmEvalKit),
            ("expected_anls_unstripped_pred", AnlsProfile::UnstrippedPred),
        ];
        check_score_vectors("anls.jsonl", 134, &fields, |row, profile| {
            anls(row["prediction"].as_str().expect("prediction is a string"), &strings(&row["answers"]), profile)
        });
    }
}
