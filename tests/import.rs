//! `bench import` of each harness's prediction file, then `bench rescore`, `bench diff`,
//! `bench report` and `bench gate` on the imported run, on the real binary.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use smolbench_core::SampleStatus;
use support::{read_records, stderr, Sandbox};

fn summary_score(dir: &Path, file: &str, task: &str) -> f64 {
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
    let tasks = summary["tasks"].as_array().expect("tasks");
    let entry = tasks.iter().find(|t| t["task"] == task).unwrap_or_else(|| panic!("{summary}"));
    entry["score"].as_f64().unwrap_or_else(|| panic!("{entry}"))
}

fn import(sb: &Sandbox, args: &[&str]) {
    let out = sb.bench(&[&["import"][..], args].concat());
    assert!(out.status.success(), "bench import {args:?}: {}", stderr(&out));
}

#[test]
fn lmms_eval_samples_import_and_diff_against_our_run() {
    let sb = Sandbox::new();
    let ours = sb.path("ours");
    let out = sb.run_tiny("docvqa", &["--limit", "4", "--out", ours.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let records = read_records(&ours);

    // lmms-eval's --log_samples lines for the same four documents: the first as ours, the
    // second with another answer, the third with another prompt, the fourth with our answer
    // padded by spaces (the same after lmms-eval's strip, scored alike, but a different string).
    let lines: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let prediction = match i {
                1 => r.references[0].clone(),
                3 => format!("  {}  ", r.prediction.as_deref().unwrap()),
                _ => r.prediction.clone().unwrap(),
            };
            let prompt = if i == 2 { format!("{} Be brief.", r.prompt) } else { r.prompt.clone() };
            json!({
                "doc_id": r.index,
                "doc": { "questionId": r.sample_id, "question": "..." },
                "target": r.references,
                "arguments": [[prompt.clone(), {"max_new_tokens": 32}]],
                "resps": [[prediction]],
                "filtered_resps": [prediction.trim()],
                "input": prompt,
                "anls": 0.0,
            })
            .to_string()
        })
        .collect();
    let file = sb.path("20260101_samples_docvqa_val.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let imported = sb.path("imported");
    import(
        &sb,
        &[
            "lmms-eval",
            file.to_str().unwrap(),
            "--task",
            "docvqa",
            "--out",
            imported.to_str().unwrap(),
            "--model",
            "tiny",
        ],
    );
    let back = read_records(&imported);
    assert_eq!(back.len(), 4);
    assert!(back.iter().all(|r| r.status == SampleStatus::Ok && r.score.is_some()));
    assert_eq!(back[1].score, Some(1.0), "the gold answer scores 1 under ANLS");
    assert_eq!(
        back.iter().map(|r| &r.sample_id).collect::<Vec<_>>(),
        records.iter().map(|r| &r.sample_id).collect::<Vec<_>>()
    );

    let out = sb.bench(&["rescore", imported.to_str().unwrap(), "--metric-profile", "vlmevalkit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(imported.join("summary.vlmevalkit.json").is_file());

    let report = sb.path("diff.json");
    let out =
        sb.bench(&["diff", ours.to_str().unwrap(), imported.to_str().unwrap(), "--json", report.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    let diff: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let task = &diff["tasks"]["docvqa"];
    assert_eq!(task["paired"], 4, "{diff}");
    assert_eq!(task["same"], 1, "{diff}");
    assert_eq!(task["reasons"]["different prediction"], 2, "{diff}");
    assert_eq!(task["reasons"]["different prompt"], 1, "{diff}");
    let padded =
        diff["samples"].as_array().unwrap().iter().find(|s| s["sample_id"] == records[3].sample_id.as_str()).unwrap();
    assert_eq!(padded["reason"], "different-prediction");
    assert_eq!(padded["a"]["score"], padded["b"]["score"], "the strip makes them score alike");
    assert!(text.contains("docvqa") && text.contains("different prompt"), "{text}");

    // The report puts the imported run beside ours.
    let site = sb.path("site");
    let out =
        sb.bench(&["report", ours.to_str().unwrap(), imported.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("imported"), "the imported run is listed");

    // The gate compares them (1: regression, 0: none; 2 would mean unusable input).
    let out = sb.bench(&["gate", "--baseline", ours.to_str().unwrap(), "--candidate", imported.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
}

#[test]
fn vlmevalkit_xlsx_predictions_are_scored_with_vlmevalkit_rules() {
    let sb = Sandbox::new();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import/vlmevalkit_mmstar.xlsx");
    let out_dir = sb.path("vlmevalkit");
    import(&sb, &["vlmevalkit", file.to_str().unwrap(), "--task", "mmstar", "--out", out_dir.to_str().unwrap()]);
    let records = read_records(&out_dir);
    assert_eq!(records.len(), 4);
    assert_eq!(records[1].context.choices, ["1", "2", "3", "4"]);
    assert_eq!(records[1].references, ["C"]);
    let scores: Vec<f64> = records.iter().map(|r| r.score.unwrap()).collect();
    assert_eq!(scores, [1.0, 0.0, 1.0, 0.0]);
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(out_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["tasks"][0]["metric_profile"], "vlmevalkit");
    assert_eq!(summary_score(&out_dir, "summary.json", "mmstar"), 0.5);
    let out = sb.bench(&["rescore", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_official_mmmu_eval_only_output_scores_as_the_official_script() {
    let sb = Sandbox::new();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mmmu");
    let out_dir = sb.path("mmmu");
    import(
        &sb,
        &[
            "mmmu",
            data.join("qwen_vl_val_output.json").to_str().unwrap(),
            "--answers",
            data.join("answer_dict_val.json").to_str().unwrap(),
            "--task",
            "mmmu",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    // shared/data/README.md: the official eval-only scoring of this file is 325/900.
    let score = summary_score(&out_dir, "summary.json", "mmmu");
    assert!((score - 325.0 / 900.0).abs() < 1e-12, "{score}");
    let out = sb.bench(&["rescore", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!((summary_score(&out_dir, "summary.stored-profile.json", "mmmu") - 325.0 / 900.0).abs() < 1e-12);
}

#[test]
fn the_official_mmmu_subject_folders_import() {
    let sb = Sandbox::new();
    let root = sb.path("mmmu_out");
    std::fs::create_dir_all(root.join("Accounting")).unwrap();
    let outputs = json!([
        {"id": "validation_Accounting_1", "question_type": "multiple-choice", "answer": "B",
         "all_choices": ["A", "B", "C", "D"], "index2ans": {"A": "$6", "B": "$7", "C": "$8", "D": "$9"},
         "response": "The answer is (B) $7."},
        {"id": "validation_Accounting_2", "question_type": "multiple-choice", "answer": "D",
         "all_choices": ["A", "B", "C", "D"], "index2ans": {"A": "1", "B": "2", "C": "3", "D": "4"},
         "response": "(A)"},
        {"id": "validation_Accounting_3", "question_type": "open", "answer": "['12', '12.0']",
         "all_choices": [], "index2ans": {}, "response": "So the total is 12."}
    ]);
    std::fs::write(root.join("Accounting/output.json"), outputs.to_string()).unwrap();
    let out_dir = sb.path("imported");
    import(&sb, &["mmmu", root.to_str().unwrap(), "--task", "mmmu", "--out", out_dir.to_str().unwrap()]);
    let records = read_records(&out_dir);
    assert_eq!(records.iter().map(|r| r.score.unwrap()).collect::<Vec<_>>(), [1.0, 0.0, 1.0]);
    assert_eq!(records[0].context.choices, ["$6", "$7", "$8", "$9"]);
    assert_eq!(records[2].references, ["12", "12.0"]);
    assert_eq!(records[0].breakdown["subject"], "Accounting");
}

#[test]
fn the_official_mathvista_output_keeps_its_stored_extraction() {
    let sb = Sandbox::new();
    let file = sb.path("output_model.json");
    let problems = json!({
        "1": {"pid": "1", "question": "Which is larger?", "choices": ["3", "5"], "answer": "5",
              "question_type": "multi_choice", "answer_type": "text", "precision": null, "unit": null,
              "query": "Which is larger?\nChoices:\n(A) 3\n(B) 5",
              "response": "Looking closely, the second bar wins.", "extraction": "B"},
        "2": {"pid": "2", "question": "How many?", "choices": null, "answer": "12",
              "question_type": "free_form", "answer_type": "integer", "precision": null, "unit": null,
              "query": "How many?", "response": "12"},
        "3": {"pid": "3", "question": "What length?", "choices": null, "answer": "1.5",
              "question_type": "free_form", "answer_type": "float", "precision": 1.0, "unit": "cm",
              "query": "What length?", "response": "It is about 2.5 cm", "extraction": "2.5"}
    });
    std::fs::write(&file, problems.to_string()).unwrap();
    let out_dir = sb.path("imported");
    import(&sb, &["mathvista", file.to_str().unwrap(), "--task", "mathvista", "--out", out_dir.to_str().unwrap()]);
    let records = read_records(&out_dir);
    // 1: the judge's stored extraction "B" maps to "5" (our rules alone find no letter in the
    // response); 2: a plain integer; 3: the stored extraction is wrong.
    assert_eq!(records.iter().map(|r| r.score.unwrap()).collect::<Vec<_>>(), [1.0, 1.0, 0.0]);
    assert_eq!(records[0].context.fields["extraction"], "B");
    assert_eq!(records[0].prompt, "Which is larger?\nChoices:\n(A) 3\n(B) 5");
    let out = sb.bench(&["rescore", out_dir.to_str().unwrap(), "--metric-profile", "lmms-eval"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
