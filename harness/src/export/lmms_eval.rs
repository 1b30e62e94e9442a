//! lmms-eval's results layout, for people who compare with it: under `<out>/<model>/`,
//! `<date>_results.json` (per-task metrics as `"<metric>,none"` with `"<metric>_stderr,none"`,
//! `n-samples`, `versions`, `higher_is_better`, `config`) and one `<date>_samples_<task>.jsonl`
//! per task (`doc_id`, `target`, `resps`, `filtered_resps`, the per-sample metric, `input`).
//! `<model>` is the model's repository id with `/` as `__`, `<date>` the run's start as
//! `%Y%m%d_%H%M%S`, as lmms-eval names them.
//!
//! Scores are fractions (0..1), as lmms-eval reports these metrics (ANLS, accuracy, relaxed
//! accuracy) and as `summary.json` holds them; `bench run`'s terminal table shows percent. Task
//! names are SmolBench's (`docvqa`, where lmms-eval says `docvqa_val`). A failed sample (an
//! engine error) has no score: it is left out of the metric, as in `summary.json`, and its
//! samples line has a `null` metric. SmolBench's own fields sit under `smolbench`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use smolbench_core::SampleRecord;
use smolbench_reports::paired::std_dev;
use smolbench_reports::rundir::LoadedRun;

use super::tables::answered;

/// What every file says about its score unit.
pub const SCORE_UNIT: &str = "fraction (0-1); bench run's terminal table shows percent";

/// `YYYYMMDD_HHMMSS` of an RFC 3339 time, as lmms-eval dates its files.
fn file_date(started_at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(started_at)
        .map(|t| t.format("%Y%m%d_%H%M%S").to_string())
        .unwrap_or_else(|_| started_at.chars().filter(char::is_ascii_alphanumeric).collect())
}

/// The per-task entry of `results`: mean and standard error of the scored samples.
fn task_metrics(task: &str, metric: &str, records: &[&SampleRecord]) -> Value {
    let scores: Vec<f64> = records.iter().filter(|r| answered(r)).filter_map(|r| r.score).collect();
    let mut m = Map::new();
    m.insert("alias".into(), json!(task));
    if !scores.is_empty() {
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let stderr = std_dev(&scores) / (scores.len() as f64).sqrt();
        m.insert(format!("{metric},none"), json!(mean));
        m.insert(format!("{metric}_stderr,none"), json!(stderr));
    }
    Value::Object(m)
}

/// One line of a samples file.
fn sample_line(r: &SampleRecord) -> Value {
    let target = if r.references.len() == 1 { json!(r.references[0]) } else { json!(r.references) };
    let prediction = r.prediction.clone().unwrap_or_default();
    let mut line = json!({
        "doc_id": r.index,
        "target": target,
        "resps": [[prediction]],
        "filtered_resps": [r.extracted.clone().unwrap_or_default()],
        "input": r.prompt,
    });
    line[r.metric.as_str()] = json!(r.score.filter(|_| answered(r)));
    line["smolbench"] = json!({
        "sample_id": r.sample_id,
        "status": r.status,
        "score_unit": SCORE_UNIT,
        "e2e_ms": r.generation.as_ref().map(|g| g.e2e_ms),
        "ttft_ms": r.generation.as_ref().map(|g| g.ttft_ms),
        "prompt_tokens": r.generation.as_ref().map(|g| g.prompt_tokens),
        "completion_tokens": r.generation.as_ref().map(|g| g.completion_tokens),
        "peak_memory_bytes": r.memory.map(|m| m.peak_bytes),
        "error": r.error,
    });
    line
}

/// Writes the layout under `out`; returns the files written.
pub fn write(run: &LoadedRun, out: &Path) -> Result<Vec<PathBuf>> {
    let m = &run.manifest;
    let model = run.model_label();
    let dir = out.join(model.replace('/', "__"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let date = file_date(&m.started_at);
    let (mut results, mut versions, mut n_shot, mut higher, mut n_samples, mut configs, mut groups) =
        (Map::new(), Map::new(), Map::new(), Map::new(), Map::new(), Map::new(), Map::new());
    let mut written = Vec::new();
    for task in &m.tasks {
        let records: Vec<&SampleRecord> = run.records.iter().filter(|r| r.task == task.name).collect();
        let metric = records.first().map(|r| r.metric.clone()).unwrap_or_else(|| "score".into());
        results.insert(task.name.clone(), task_metrics(&task.name, &metric, &records));
        versions.insert(task.name.clone(), json!(task.version));
        n_shot.insert(task.name.clone(), json!(0));
        let mut better = Map::new();
        better.insert(metric.clone(), json!(true));
        higher.insert(task.name.clone(), Value::Object(better));
        n_samples.insert(
            task.name.clone(),
            json!({"original": task.available_samples, "effective": records.iter().filter(|r| answered(r)).count()}),
        );
        configs.insert(
            task.name.clone(),
            json!({
                "task": task.name,
                "metric_list": [{"metric": metric, "aggregation": "mean", "higher_is_better": true}],
                "smolbench_task_definition": task.config,
            }),
        );
        groups.insert(task.name.clone(), json!([]));
        let path = dir.join(format!("{date}_samples_{}.jsonl", task.name));
        let text: String = records.iter().map(|r| sample_line(r).to_string() + "\n").collect();
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    let results_json = json!({
        "results": results,
        "group_subtasks": groups,
        "configs": configs,
        "versions": versions,
        "n-shot": n_shot,
        "higher_is_better": higher,
        "n-samples": n_samples,
        "config": {
            "model": "smolbench",
            "model_args": format!("pretrained={model},dtype={}", m.model.dtype),
            "batch_size": "1",
            "limit": m.limit,
        },
        "git_hash": m.git_commit,
        "date": m.started_at,
        "smolbench": {
            "run_id": m.run_id,
            "score_unit": SCORE_UNIT,
            "engine": m.model.engine,
            "device": run.device_label(),
            "exported_by": format!("bench export (SmolBench {})", m.smolbench_version),
        },
    });
    let path = dir.join(format!("{date}_results.json"));
    let text = serde_json::to_string_pretty(&results_json).context("serialising the results")?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    written.insert(0, path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_dates_follow_lmms_eval() {
        assert_eq!(file_date("2026-12-01T17:03:06.123Z"), "20261201_170306");
        assert_eq!(file_date("not a date"), "notadate");
    }

    #[test]
    fn failed_samples_have_a_null_metric_and_task_metrics_skip_them() {
        let ok = SampleRecord {
            task: "docvqa".into(),
            sample_id: "d-1".into(),
            index: 3,
            status: smolbench_core::SampleStatus::Ok,
            metric: "anls".into(),
            score: Some(0.5),
            references: vec!["a".into()],
            prediction: Some("b".into()),
            extracted: Some("b".into()),
            ..Default::default()
        };
        let failed = SampleRecord { status: smolbench_core::SampleStatus::Failed, score: None, ..ok.clone() };
        let line = sample_line(&failed);
        assert_eq!(line["anls"], Value::Null);
        assert_eq!(sample_line(&ok)["anls"], json!(0.5));
        assert_eq!(sample_line(&ok)["doc_id"], json!(3));
        let metrics = task_metrics("docvqa", "anls", &[&ok, &failed]);
        assert_eq!(metrics["anls,none"], json!(0.5));
        assert_eq!(metrics["anls_stderr,none"], json!(0.0));
    }
}
