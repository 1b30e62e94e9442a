//! `mcq_extraction.jsonl`: every row, every extractor column.

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;
use crate::metrics::mcq_rules::ai2d_filter;
use crate::metrics::vectors::{read_jsonl, strings};

/// The marker for a reference that fell back to `random.choice`.
const RANDOM: &str = "<RANDOM>";

/// Checks one column; returns a failure message or `None`.
fn check(column: &str, row: &Value, response: &str, choices: &[String]) -> Option<String> {
    let expected = &row[column];
    let letters = option_letters(choices.len());
    let correct_letters = |e: McqExtractor| -> Vec<String> {
        letters.iter().filter(|l| e.is_correct(response, l, choices, &mut PyRandom::new(e.seed()))).cloned().collect()
    };
    let got: Value = match column {
        "mmmu_official_parse" | "lmms_eval_mmmu_parse" => {
            let parser = if column == "mmmu_official_parse" { MmmuParser::Official } else { MmmuParser::LmmsEval };
            let seed = if parser == MmmuParser::Official { 42 } else { 0 };
            let parsed = parse_multi_choice(response, &letters, choices, parser, &mut PyRandom::new(seed));
            if parsed.random_fallback {
                // The fallback is CPython's random.choice from a generator seeded like the reference.
                let want = PyRandom::new(seed).choice(&letters).clone();
                assert_eq!(parsed.letter, want, "fallback draw for {response:?}");
                Value::from(RANDOM)
            } else {
                Value::from(parsed.letter)
            }
        }
        "lmms_eval_head_extract_mcq_answer" => Value::from(extract_mcq_answer(response, &letters)),
        "videomme_official_extract" => Value::from(videomme_official_extract(response)),
        "mlvu_lmms_v071_extract" => Value::from(mlvu_v071_extract(response)),
        "ai2d_filtered" => Value::from(ai2d_filter(response)),
        "vlmevalkit_can_infer" => can_infer(response, &letters, choices).map_or(Value::Bool(false), Value::from),
        "mmstar_classic_exact_match_letters" => Value::from(correct_letters(McqExtractor::MmstarClassic)),
        "scienceqa_lmms_correct_if_answer_is" => Value::from(correct_letters(McqExtractor::ScienceQaLmms)),
        "ai2d_correct_if_answer_is" => Value::from(correct_letters(McqExtractor::Ai2dLmms)),
        "mvbench_correct_if_answer_is" => Value::from(correct_letters(McqExtractor::MvBenchLmms)),
        other => panic!("unexpected column {other}"),
    };
    (got != *expected).then(|| format!("{column} for {response:?}: got {got}, want {expected}"))
}

/// Every row of `mcq_extraction.jsonl` for all ten extractors (eleven columns: AI2D has its
/// filter output and its scorer).
#[test]
fn reference_vectors() {
    let rows = read_jsonl("mcq_extraction.jsonl");
    assert_eq!(rows.len(), 60, "mcq_extraction.jsonl should hold 60 responses");
    let columns = [
        "mmmu_official_parse",
        "lmms_eval_mmmu_parse",
        "lmms_eval_head_extract_mcq_answer",
        "mmstar_classic_exact_match_letters",
        "videomme_official_extract",
        "mlvu_lmms_v071_extract",
        "scienceqa_lmms_correct_if_answer_is",
        "ai2d_filtered",
        "ai2d_correct_if_answer_is",
        "mvbench_correct_if_answer_is",
        "vlmevalkit_can_infer",
    ];
    let mut failures = Vec::new();
    let mut passed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fallbacks = 0;
    for row in &rows {
        let response = row["response"].as_str().expect("response is a string");
        let choices = strings(&row["options"]);
        let keys: Vec<&String> = row.as_object().expect("row is an object").keys().collect();
        for key in keys {
            assert!(
                ["response", "options"].contains(&key.as_str()) || columns.contains(&key.as_str()),
                "unhandled column {key}"
            );
        }
        for column in columns {
            fallbacks += usize::from(row[column] == RANDOM);
            match check(column, row, response, &choices) {
                Some(failure) => failures.push(failure),
                None => *passed.entry(column).or_default() += 1,
            }
        }
    }
    println!("mcq_extraction.jsonl: {} random fallbacks checked; passed per column: {passed:?}", fallbacks);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(passed.values().sum::<usize>(), 60 * columns.len());
}

/// The registered metric gives the same verdicts as the extractors, through `fields["extractor"]`.
#[test]
fn metric_dispatch_matches_extractors() {
    let rows = read_jsonl("mcq_extraction.jsonl");
    for row in &rows {
        let response = row["response"].as_str().expect("response is a string");
        let choices = strings(&row["options"]);
        for (column, name) in [
            ("mmstar_classic_exact_match_letters", "mmstar"),
            ("scienceqa_lmms_correct_if_answer_is", "scienceqa"),
            ("ai2d_correct_if_answer_is", "ai2d"),
            ("mvbench_correct_if_answer_is", "mvbench"),
        ] {
            let want = strings(&row[column]);
            let mut context = ScoringContext { choices: choices.clone(), ..Default::default() };
            context.fields.insert("extractor".into(), name.into());
            for letter in option_letters(4) {
                let score = mcq_score(response, std::slice::from_ref(&letter), &context, MetricProfile::Official);
                assert_eq!(score, f64::from(u8::from(want.contains(&letter))), "{name} {response:?} gold {letter}");
            }
        }
        let context = ScoringContext { choices: choices.clone(), ..Default::default() };
        let head = row["lmms_eval_head_extract_mcq_answer"].as_str().expect("string");
        for letter in option_letters(4) {
            let score = mcq_score(response, std::slice::from_ref(&letter), &context, MetricProfile::LmmsEval);
            assert_eq!(score == 1.0, head == letter, "lmms_head {response:?} gold {letter}");
        }
    }
}

#[test]
fn resolve_names() {
    assert_eq!(McqExtractor::resolve("mmstar", MetricProfile::Official).ok(), Some(McqExtractor::MmstarClassic));
    assert_eq!(McqExtractor::resolve("mmstar", MetricProfile::LmmsEval).ok(), Some(McqExtractor::LmmsHead));
    assert_eq!(McqExtractor::resolve("ai2d", MetricProfile::VlmEvalKit).ok(), Some(McqExtractor::CanInfer));
    assert_eq!(McqExtractor::resolve("can_infer", MetricProfile::Official).ok(), Some(McqExtractor::CanInfer));
    for e in McqExtractor::ALL {
        assert_eq!(McqExtractor::resolve(e.name(), MetricProfile::LmmsEval).ok(), Some(e));
    }
    let err = McqExtractor::resolve("mmstr", MetricProfile::Official).expect_err("unknown").to_string();
    assert!(err.contains("did you mean `mmstar`?"), "{err}");
}
