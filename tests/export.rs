//! End-to-end tests of `bench export`: a real run of the tiny model and a constructed run whose
//! texts hold every character CSV must quote, written as CSV, parquet and lmms-eval's layout and
//! read back (CSV by an RFC 4180 reader written here, parquet by polars).

mod support;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;
use support::runs::{binary_samples, manifest, write_run};
use support::Sandbox;

/// Parses RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "CSV ends mid-row");
    rows
}

fn export(sb: &Sandbox, run: &Path, format: &str, out: &Path) -> String {
    let o = sb.bench(&["export", run.to_str().unwrap(), "--format", format, "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "bench export failed: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("scores are fractions (0-1)"), "{stdout}");
    stdout
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn tiny_run(sb: &Sandbox) -> PathBuf {
    let dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--model",
        "tiny",
        "--task",
        "docvqa",
        "--task",
        "ai2d",
        "--limit",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "bench run failed: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

#[test]
fn csv_and_parquet_hold_every_sample_and_task_with_units_in_the_names() {
    let sb = Sandbox::new();
    let run = tiny_run(&sb);
    let records = jsonl(&run.join("samples.jsonl"));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();

    let csv_dir = sb.path("csv");
    export(&sb, &run, "csv", &csv_dir);
    let rows = parse_csv(&std::fs::read_to_string(csv_dir.join("samples.csv")).unwrap());
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    assert_eq!(rows.len() - 1, records.len());
    for (row, record) in rows[1..].iter().zip(&records) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[col("sample_id")], record["sample_id"].as_str().unwrap());
        let score: f64 = row[col("score_fraction")].parse().unwrap();
        assert_eq!(score, record["score"].as_f64().unwrap());
        assert_eq!(row[col("prediction")], record["prediction"].as_str().unwrap());
        let e2e: f64 = row[col("e2e_ms")].parse().unwrap();
        assert_eq!(e2e, record["generation"]["e2e_ms"].as_f64().unwrap());
    }
    let tasks = parse_csv(&std::fs::read_to_string(csv_dir.join("tasks.csv")).unwrap());
    let tcol = |name: &str| tasks[0].iter().position(|h| h == name).unwrap();
    for (row, t) in tasks[1..].iter().zip(summary["tasks"].as_array().unwrap()) {
        assert_eq!(row[tcol("task")], t["task"].as_str().unwrap());
        assert_eq!(row[tcol("score_fraction")].parse::<f64>().unwrap(), t["score"].as_f64().unwrap());
        assert_eq!(row[tcol("e2e_ms_p90")].parse::<f64>().unwrap(), t["e2e_ms"]["p90"].as_f64().unwrap());
    }

    let pq_dir = sb.path("pq");
    export(&sb, &run, "parquet", &pq_dir);
    let frame = ParquetReader::new(std::fs::File::open(pq_dir.join("samples.parquet")).unwrap()).finish().unwrap();
    assert_eq!(frame.height(), records.len());
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(&names, header, "CSV and parquet have the same columns");
    let scores = frame.column("score_fraction").unwrap().f64().unwrap().clone();
    for (i, record) in records.iter().enumerate() {
        assert_eq!(scores.get(i), record["score"].as_f64());
    }
    assert_eq!(frame.column("peak_memory_bytes").unwrap().dtype(), &DataType::Int64);
    let tasks_frame = ParquetReader::new(std::fs::File::open(pq_dir.join("tasks.parquet")).unwrap()).finish().unwrap();
    assert_eq!(tasks_frame.height(), summary["tasks"].as_array().unwrap().len());
}

#[test]
fn texts_with_quotes_commas_and_line_breaks_survive_csv_and_parquet() {
    let sb = Sandbox::new();
    let mut records = binary_samples("mmstar", 4);
    let nasty = ["a, b", "say \"no\"", "two\nlines", " padded "];
    for (r, text) in records.iter_mut().zip(nasty) {
        r.prediction = Some(text.to_string());
    }
    records[3].status = smolbench_core::SampleStatus::Failed;
    records[3].score = None;
    records[3].generation = None;
    records[3].error = Some("engine error: out of memory".into());
    let run = sb.path("run");
    write_run(&run, &manifest("r", &["mmstar"]), &records);
    export(&sb, &run, "csv", &sb.path("csv"));
    let rows = parse_csv(&std::fs::read_to_string(sb.path("csv/samples.csv")).unwrap());
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let predictions: Vec<&str> = rows[1..].iter().map(|r| r[col("prediction")].as_str()).collect();
    assert_eq!(predictions, nasty);
    // A failed sample: no score (an empty field), its error kept.
    assert_eq!(rows[4][col("score_fraction")], "");
    assert_eq!(rows[4][col("status")], "failed");
    assert_eq!(rows[4][col("error")], "engine error: out of memory");
    export(&sb, &run, "parquet", &sb.path("pq"));
    let frame = ParquetReader::new(std::fs::File::open(sb.path("pq/samples.parquet")).unwrap()).finish().unwrap();
    let predictions = frame.column("prediction").unwrap().str().unwrap();
    let got: Vec<Option<String>> = (0..predictions.len()).map(|i| predictions.get(i).map(str::to_string)).collect();
    assert_eq!(got, nasty.map(|s| Some(s.to_string())));
    assert_eq!(frame.column("score_fraction").unwrap().f64().unwrap().get(3), None);
}

#[test]
fn lmms_eval_layout_holds_fractions_per_task_and_every_sample() {
    let sb = Sandbox::new();
    let run = tiny_run(&sb);
    let records = jsonl(&run.join("samples.jsonl"));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let out = sb.path("lmms");
    let stdout = export(&sb, &run, "lmms-eval", &out);
    let results_path = stdout.lines().find(|l| l.ends_with("_results.json")).expect("a results file");
    assert!(Path::new(results_path).starts_with(&out));
    let results: Value = serde_json::from_str(&std::fs::read_to_string(results_path).unwrap()).unwrap();
    assert!(results["smolbench"]["score_unit"].as_str().unwrap().starts_with("fraction"));
    for t in summary["tasks"].as_array().unwrap() {
        let task = t["task"].as_str().unwrap();
        let metric = t["metric"].as_str().unwrap();
        let got = results["results"][task][format!("{metric},none")].as_f64().unwrap();
        assert!((got - t["score"].as_f64().unwrap()).abs() < 1e-12, "{task}: {got} vs {}", t["score"]);
        assert!(results["results"][task][format!("{metric}_stderr,none")].is_number());
        assert_eq!(results["n-samples"][task]["effective"], t["n_scored"]);
        assert_eq!(results["higher_is_better"][task][metric], Value::Bool(true));
        let samples_path = stdout.lines().find(|l| l.ends_with(&format!("_samples_{task}.jsonl"))).unwrap();
        let lines = jsonl(Path::new(samples_path));
        let of_task: Vec<&Value> = records.iter().filter(|r| r["task"] == task).collect();
        assert_eq!(lines.len(), of_task.len());
        for (line, record) in lines.iter().zip(of_task) {
            assert_eq!(line["doc_id"], record["index"]);
            assert_eq!(line["resps"][0][0], record["prediction"]);
            assert_eq!(line["filtered_resps"][0], record["extracted"]);
            assert_eq!(line[metric], record["score"]);
        }
    }
}

#[test]
fn a_missing_run_is_a_one_line_error_naming_it() {
    let sb = Sandbox::new();
    let o = sb.bench(&["export", sb.path("nope").to_str().unwrap(), "--format", "csv"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("nope") && errors[0].contains("does not exist"), "{stderr}");
}
