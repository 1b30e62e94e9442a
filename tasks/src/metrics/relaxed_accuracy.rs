//! ChartQA relaxed accuracy: numbers within 5 % of the target, other answers exactly (§3).
//!
//! `relaxed_correctness` of pix2struct, copied by lmms-eval and VLMEvalKit (identical on every
//! reference vector, so all profiles share it):
//!
//! 1. `to_float(t)`: `float(t.rstrip('%')) / 100` when `t` ends with `%`, else `float(t)`; `None`
//!    where Python's `float` raises.
//! 2. If the prediction parses and the target parses to a *truthy* value (non-zero; NaN is
//!    truthy), correct iff `|p - t| / |t| <= 0.05` (NaN compares false).
//! 3. Otherwise correct iff `prediction.lower() == target.lower()`.
//!
//! The prediction is stripped first (lmms-eval strips every generation; VLMEvalKit strips the
//! prediction). With several targets the best one counts.

use crate::pycompat::{py_float, py_lower, py_strip};

/// The largest relative error still counted as correct.
const MAX_RELATIVE_CHANGE: f64 = 0.05;

/// 1.0 if `prediction` is relaxed-correct for some target, else 0.0.
pub fn relaxed_accuracy(prediction: &str, targets: &[String]) -> f64 {
    let prediction = py_strip(prediction);
    let hit = targets.iter().any(|t| relaxed_correctness(t, prediction));
    if hit {
        1.0
    } else {
        0.0
    }
}

/// Whether `prediction` is within 5 % of `target` (or equal ignoring case).
pub fn relaxed_correctness(target: &str, prediction: &str) -> bool {
    match (to_float(prediction), to_float(target)) {
        (Some(p), Some(t)) if t != 0.0 => (p - t).abs() / t.abs() <= MAX_RELATIVE_CHANGE,
        _ => py_lower(prediction) == py_lower(target),
    }
}

/// `float(t.rstrip('%')) / 100` for percentages, `float(t)` otherwise.
fn to_float(text: &str) -> Option<f64> {
    match text.strip_suffix('%') {
        Some(_) => py_float(text.trim_end_matches('%')).map(|v| v / 100.0),
        None => py_float(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::vectors::read_jsonl;

    /// Every row of `chartqa_relaxed.jsonl`, both profiles it names.
    #[test]
    fn reference_vectors() {
        let rows = read_jsonl("chartqa_relaxed.jsonl");
        assert_eq!(rows.len(), 456, "chartqa_relaxed.jsonl should hold 456 cases");
        let mut failures = Vec::new();
        for (line, row) in rows.iter().enumerate() {
            let prediction = row["prediction"].as_str().expect("prediction is a string");
            let answer = row["answer"].as_str().expect("answer is a string");
            let got = relaxed_accuracy(prediction, &[answer.to_string()]);
            for field in ["expected_relaxed_lmms_eval", "expected_relaxed_vlmevalkit"] {
                let want = row[field].as_f64().expect("expected value is a number");
                if (got - want).abs() > 1e-12 {
                    failures.push(format!(
                        "line {}: {prediction:?} vs {answer:?} ({field}): got {got}, want {want}",
                        line + 1
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn edge_cases() {
        assert!(relaxed_correctness("50%", "0.5"));
        assert!(!relaxed_correctness("12.5", "12.5%"));
        assert!(relaxed_correctness("100", "104.9"));
        assert!(!relaxed_correctness("100", "105.1"));
        // A zero target falls through to string equality.
        assert!(!relaxed_correctness("0", "0.0"));
        assert!(relaxed_correctness("0", "0"));
        // NaN is truthy but never within tolerance; so is an infinite target.
        assert!(!relaxed_correctness("nan", "nan"));
        assert!(!relaxed_correctness("inf", "inf"));
        assert!(relaxed_correctness("1_000", "1000"));
        assert!(!relaxed_correctness("1,000", "1000"));
        assert_eq!(relaxed_accuracy("x", &[]), 0.0);
    }
}
