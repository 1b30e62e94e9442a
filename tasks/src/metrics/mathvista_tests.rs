//! MathVista: `mathvista_normalize.jsonl`, official and lmms-eval, and the registered metric.

use serde_json::Value;

use super::*;
use crate::metrics::vectors::read_jsonl;

/// Every row of `mathvista_normalize.jsonl`: official prediction and verdict, lmms-eval with the
/// data set's float64 precision (prediction and verdict) and with an integer precision.
#[test]
fn normalisation_vectors() {
    let rows = read_jsonl("mathvista_normalize.jsonl");
    assert_eq!(rows.len(), 23, "mathvista_normalize.jsonl should hold 23 cases");
    let mut failures = Vec::new();
    let mut checks = 0;
    for (line, row) in rows.iter().enumerate() {
        let extraction = row["extraction"].as_str().expect("extraction is a string");
        let choices: Vec<String> = match &row["choices"] {
            Value::Null => Vec::new(),
            v => crate::metrics::vectors::strings(v),
        };
        let qt = row["question_type"].as_str().expect("question_type");
        let at = row["answer_type"].as_str().expect("answer_type");
        let answer = row["answer"].as_str().expect("answer");
        let precision = row["precision"].as_f64();
        let norm = |p: Option<Precision>, lmms| normalize_extracted_answer(extraction, &choices, qt, at, p, lmms);
        let official = norm(precision.map(|p| Precision::Int(p as i64)), false);
        let lmms_float = norm(precision.map(Precision::Float), true);
        let lmms_int = norm(precision.map(|p| Precision::Int(p as i64)), true);
        let results = [
            ("official_prediction", Value::from(official.clone())),
            (
                "official_true_false",
                Value::from(mathvista_correct(official.as_deref(), answer, MetricProfile::Official)),
            ),
            ("lmms_eval_prediction_precision_as_float64", Value::from(lmms_float.clone())),
            (
                "lmms_eval_true_false_precision_as_float64",
                Value::from(mathvista_correct(lmms_float.as_deref(), answer, MetricProfile::LmmsEval)),
            ),
            ("lmms_eval_prediction_precision_as_int", Value::from(lmms_int)),
        ];
        for (field, got) in results {
            checks += 1;
            if got != row[field] {
                failures.push(format!("line {}: {extraction:?} {field}: got {got}, want {}", line + 1, row[field]));
            }
        }
        // The registered metric, given the extraction as the response (the rule-based extraction
        // keeps every one of these), with precision as the float64 the data set stores.
        let mut context = ScoringContext { choices: choices.clone(), ..Default::default() };
        context.fields.insert("question_type".into(), qt.into());
        context.fields.insert("answer_type".into(), at.into());
        if let Some(p) = precision {
            context.fields.insert("precision".into(), format!("{p:?}"));
        }
        let gold = vec![answer.to_string()];
        for (profile, field) in [
            (MetricProfile::Official, "official_true_false"),
            (MetricProfile::LmmsEval, "lmms_eval_true_false_precision_as_float64"),
        ] {
            let want = row[field].as_bool().expect("bool");
            if (mathvista_score(extraction, &gold, &context, profile) == 1.0) != want {
                failures.push(format!("line {}: metric {profile} on {extraction:?} should be {want}", line + 1));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checks, 23 * 5);
}

#[test]
fn python_int_and_extraction() {
    for (text, want) in [("14", Some("14")), (" -007 ", Some("-7")), ("1_000", Some("1000")), ("-0", Some("0"))] {
        assert_eq!(py_int_str(text).as_deref(), want, "{text:?}");
    }
    for text in ["14.0", "1e2", "_1", "1_", "1__0", "", "+", "0x10"] {
        assert_eq!(py_int_str(text), None, "{text:?}");
    }
    assert_eq!(py_int_str("١٢").as_deref(), Some("12"));
    let choices: Vec<String> = ["3", "4"].map(String::from).to_vec();
    assert_eq!(extract_answer("4", "multi_choice", "text", &choices), "4");
    assert_eq!(extract_answer("007", "free_form", "integer", &[]), "7");
    assert_eq!(extract_answer("3", "free_form", "float", &[]), "3.0");
    assert_eq!(extract_answer(" The answer is 5 ", "free_form", "integer", &[]), "The answer is 5");
    assert_eq!(float_to_int_str(-0.5).as_deref(), Some("0"));
    assert_eq!(float_to_int_str(1e20).as_deref(), Some("100000000000000000000"));
}

#[test]
fn vlmevalkit_prefetch() {
    let choices: Vec<String> = ["hong kong", "osaka", "shanghai", "tokyo"].map(String::from).to_vec();
    assert!(vlmevalkit_correct("B", "osaka", "multi_choice", "text", &choices));
    assert!(vlmevalkit_correct("osaka", "osaka", "multi_choice", "text", &choices));
    assert!(!vlmevalkit_correct("C", "osaka", "multi_choice", "text", &choices));
    assert!(vlmevalkit_correct(" 14 ", "14", "free_form", "integer", &[]));
    assert!(!vlmevalkit_correct("14.0", "14", "free_form", "integer", &[]));
    assert!(vlmevalkit_correct("1.50", "1.5", "free_form", "float", &[]));
    assert!(!vlmevalkit_correct("[1, 2]", "[1, 2]", "free_form", "list", &[]));
}

#[test]
fn a_stored_extraction_is_scored_in_place_of_the_rule_based_one() {
    let mut context = ScoringContext { choices: vec!["3".into(), "5".into()], ..Default::default() };
    context.fields.insert("question_type".into(), "multi_choice".into());
    context.fields.insert("answer_type".into(), "text".into());
    let response = "Looking closely, the second bar wins.";
    let gold = vec!["5".to_string()];
    // Without it, our rules find no letter and the nearest choice by edit distance is "3".
    assert_eq!(mathvista_score(response, &gold, &context, MetricProfile::Official), 0.0);
    context.fields.insert("extraction".into(), "B".into());
    assert_eq!(mathvista_score(response, &gold, &context, MetricProfile::Official), 1.0);
    assert_eq!(mathvista_score(response, &gold, &context, MetricProfile::LmmsEval), 1.0);
}
