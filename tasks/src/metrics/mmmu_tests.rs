//! MMMU: `mmmu_open.jsonl`, the Qwen-VL validation rescoring and the random-fallback order.

use std::path::PathBuf;

use super::*;
use crate::metrics::pyrepr::py_str_repr;
use crate::metrics::vectors::{read_jsonl, strings};

fn repr(value: &OpenValue) -> String {
    match value {
        OpenValue::Number(x) => py_float_repr(*x),
        OpenValue::Text(t) => py_str_repr(t),
    }
}

fn open_context() -> ScoringContext {
    let mut context = ScoringContext::default();
    context.fields.insert("question_type".into(), "open".into());
    context
}

/// Every row of `mmmu_open.jsonl`: the parsed predictions, official correctness, and lmms-eval
/// ≥ v0.4 (wrong whichever element `list(set(...))` puts first).
#[test]
fn open_answer_vectors() {
    let rows = read_jsonl("mmmu_open.jsonl");
    assert_eq!(rows.len(), 17, "mmmu_open.jsonl should hold 17 cases");
    let mut failures = Vec::new();
    for (line, row) in rows.iter().enumerate() {
        let response = row["response"].as_str().expect("response is a string");
        let gold = vec![row["gold"].as_str().expect("gold is a string").to_string()];
        let preds = parse_open_response(response);
        let mut reprs: Vec<String> = preds.iter().map(repr).collect();
        reprs.sort();
        let want_reprs = strings(&row["official_parsed_pred_sorted"]);
        if reprs != want_reprs {
            failures.push(format!("line {}: {response:?} parsed {reprs:?}, want {want_reprs:?}", line + 1));
        }
        let official = row["official_correct"].as_bool().expect("bool");
        if eval_open(&gold, &preds) != official {
            failures.push(format!("line {}: {response:?} vs {gold:?}: official should be {official}", line + 1));
        }
        let metric = mmmu_score(response, &gold, &open_context(), MetricProfile::Official);
        assert_eq!(metric == 1.0, official, "registered metric, line {}", line + 1);
        let lmms = row["lmms_eval_v0.4plus_correct_for_any_first_element"].as_bool().expect("bool");
        for first in &preds {
            if eval_open_lmms_v04(&gold, Some(first)) != lmms {
                failures.push(format!("line {}: lmms-eval with {} first should be {lmms}", line + 1, repr(first)));
            }
        }
        assert_eq!(mmmu_score(response, &gold, &open_context(), MetricProfile::LmmsEval) == 1.0, lmms);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn shared_json(name: &str) -> Value {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/mmmu")).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is required by this test and could not be read: {e}. Check out shared/ beside the repository.",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()))
}

fn print_report(title: &str, report: &MmmuReport) {
    println!("{title}");
    println!("{:<38} {:>7} {:>5} {:>7}", "subject", "correct", "total", "acc");
    for s in report.per_subject.iter().chain(&report.per_domain).chain([&report.overall]) {
        println!("{:<38} {:>7} {:>5} {:>7.3}", s.name, s.correct, s.total, s.accuracy());
    }
}

/// `main_eval_only.py` on the official Qwen-VL validation predictions: 325/900 (data README).
#[test]
fn qwen_vl_validation_rescoring() {
    let outputs = shared_json("qwen_vl_val_output.json");
    let answers = shared_json("answer_dict_val.json");
    let report = score_mmmu_outputs(&outputs, &answers, MetricProfile::Official).expect("scores");
    print_report("MMMU validation, Qwen-VL, official eval-only", &report);
    assert_eq!((report.overall.correct, report.overall.total), (325, 900));
    assert!((report.overall.accuracy() - 0.361111).abs() < 5e-7);
    assert_eq!(report.per_subject.len(), 30);
    assert!(report.per_subject.iter().all(|s| s.total == 30));
    assert_eq!(report.per_subject.iter().map(|s| s.correct).sum::<usize>(), 325);
    assert_eq!(report.per_domain.iter().map(|s| s.total).sum::<usize>(), 900);
    assert_eq!(report.per_domain.iter().map(|s| s.correct).sum::<usize>(), 325);
    // Hand check: multiple-choice items are right when the stored letter equals the gold letter;
    // the 53 open items were judged one by one, and six are right: Computer_Science_9 ("60.0" vs
    // 60), Electronics_21 ("1.0" vs round(0.9965, 2)), Manage_25 ("0.96" vs round(0.963, 2)),
    // Marketing_11 ("0.1" vs "0.10"), Pharmacy_26 (" a" vs "A": both [" a", "a "]) and Physics_21
    // ("point a shows..." contains " a").
    let hand: [(&str, usize); 30] = [
        ("Accounting", 12),
        ("Agriculture", 12),
        ("Architecture_and_Engineering", 9),
        ("Art", 14),
        ("Art_Theory", 17),
        ("Basic_Medical_Science", 10),
        ("Biology", 11),
        ("Chemistry", 8),
        ("Clinical_Medicine", 9),
        ("Computer_Science", 7),
        ("Design", 18),
        ("Diagnostics_and_Laboratory_Medicine", 6),
        ("Economics", 7),
        ("Electronics", 6),
        ("Energy_and_Power", 13),
        ("Finance", 9),
        ("Geography", 6),
        ("History", 12),
        ("Literature", 24),
        ("Manage", 8),
        ("Marketing", 9),
        ("Materials", 10),
        ("Math", 10),
        ("Mechanical_Engineering", 10),
        ("Music", 11),
        ("Pharmacy", 13),
        ("Physics", 10),
        ("Psychology", 8),
        ("Public_Health", 13),
        ("Sociology", 13),
    ];
    let got: Vec<(&str, usize)> = report.per_subject.iter().map(|s| (s.name.as_str(), s.correct)).collect();
    assert_eq!(got, hand);
    // lmms-eval ≥ v0.4 loses exactly the open questions the official script gets right.
    let lmms = score_mmmu_outputs(&outputs, &answers, MetricProfile::LmmsEval).expect("scores");
    print_report("MMMU validation, Qwen-VL, lmms-eval >= v0.4", &lmms);
    assert_eq!(lmms.overall.correct, 325 - 6);
}

/// A run's random fallbacks are drawn in the official subject order, not the input order.
#[test]
fn fallbacks_follow_the_official_subject_order() {
    let two = vec!["yes".to_string(), "no".to_string()];
    // CPython: random.seed(42); [random.choice('AB') for _ in range(3)] == ['A', 'A', 'B'].
    let sample = |id: &str, gold: &str| MmmuResponse {
        id: id.into(),
        open: false,
        response: "?".into(),
        options: two.clone(),
        golds: vec![gold.into()],
    };
    let responses = [
        sample("validation_Art_1", "B"),
        sample("validation_Accounting_1", "A"),
        sample("validation_Agriculture_1", "A"),
    ];
    let report = score_mmmu_responses(&responses, MetricProfile::Official);
    assert_eq!(report.random_fallbacks, 3);
    assert_eq!(report.overall.correct, 3);
    assert_eq!(
        report.per_subject.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["Accounting", "Agriculture", "Art"]
    );
    // VLMEvalKit draws nothing and finds no letter in "?".
    assert_eq!(score_mmmu_responses(&responses, MetricProfile::VlmEvalKit).overall.correct, 0);
}

#[test]
fn multiple_choice_metric() {
    let context = ScoringContext {
        choices: ["$6", "$7", "$8", "$9"].map(String::from).to_vec(),
        fields: [("question_type".to_string(), "multiple-choice".to_string())].into(),
    };
    let gold = vec!["B".to_string()];
    assert_eq!(mmmu_score("(B) $7", &gold, &context, MetricProfile::Official), 1.0);
    assert_eq!(mmmu_score("B. $7", &gold, &context, MetricProfile::LmmsEval), 1.0);
    assert_eq!(mmmu_score("The answer is B", &gold, &context, MetricProfile::VlmEvalKit), 1.0);
    assert_eq!(mmmu_subject("validation_Art_Theory_12"), "Art_Theory");
}
