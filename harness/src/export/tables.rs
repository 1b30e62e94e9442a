//! The export tables: one row per sample (`samples`) and one per task (`tasks`), typed columns
//! whose names carry their units (`score_fraction`, `e2e_ms`, `peak_memory_bytes`).

use std::collections::BTreeSet;

use serde::Serialize;
use smolbench_core::{SampleRecord, SampleStatus};
use smolbench_reports::rundir::LoadedRun;
use smolbench_reports::Percentiles;

/// One column's values, one per row; `None` is a missing value (an empty CSV field, a parquet
/// null).
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// Text.
    Text(Vec<Option<String>>),
    /// Whole numbers (counts, bytes).
    Int(Vec<Option<i64>>),
    /// Real numbers.
    Float(Vec<Option<f64>>),
}

impl Cells {
    fn len(&self) -> usize {
        match self {
            Cells::Text(v) => v.len(),
            Cells::Int(v) => v.len(),
            Cells::Float(v) => v.len(),
        }
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header.
    pub name: String,
    /// The values.
    pub cells: Cells,
}

/// Columns of equal length.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// In order.
    pub columns: Vec<Column>,
}

impl Table {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.cells.len())
    }

    fn text<T>(&mut self, name: &str, rows: &[T], f: impl Fn(&T) -> Option<String>) {
        self.columns.push(Column { name: name.into(), cells: Cells::Text(rows.iter().map(f).collect()) });
    }

    fn int<T>(&mut self, name: &str, rows: &[T], f: impl Fn(&T) -> Option<i64>) {
        self.columns.push(Column { name: name.into(), cells: Cells::Int(rows.iter().map(f).collect()) });
    }

    fn float<T>(&mut self, name: &str, rows: &[T], f: impl Fn(&T) -> Option<f64>) {
        self.columns.push(Column { name: name.into(), cells: Cells::Float(rows.iter().map(f).collect()) });
    }
}

/// A serde enum's name as stored (`process_rss`, `stop`).
fn stored_name<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value).ok()?.as_str().map(str::to_string)
}

/// One row per sample record (the newest scored record of each sample, in run order).
pub fn samples_table(run: &LoadedRun) -> Table {
    let rows: &[SampleRecord] = &run.records;
    let run_id = run.manifest.run_id.clone();
    let mut t = Table::default();
    t.text("run_id", rows, |_| Some(run_id.clone()));
    t.text("task", rows, |r| Some(r.task.clone()));
    t.text("sample_id", rows, |r| Some(r.sample_id.clone()));
    t.int("index", rows, |r| Some(r.index as i64));
    t.text("status", rows, |r| stored_name(&r.status));
    t.text("metric", rows, |r| Some(r.metric.clone()));
    t.float("score_fraction", rows, |r| r.score);
    t.text("prediction", rows, |r| r.prediction.clone());
    t.text("extracted", rows, |r| r.extracted.clone());
    t.text("references_json", rows, |r| serde_json::to_string(&r.references).ok());
    t.int("n_images", rows, |r| Some(r.n_images as i64));
    t.int("prompt_tokens", rows, |r| r.generation.as_ref().map(|g| g.prompt_tokens as i64));
    t.int("image_tokens", rows, |r| r.generation.as_ref().map(|g| g.image_tokens as i64));
    t.int("completion_tokens", rows, |r| r.generation.as_ref().map(|g| g.completion_tokens as i64));
    t.float("preprocess_ms", rows, |r| r.generation.as_ref().and_then(|g| g.preprocess_ms));
    t.float("ttft_ms", rows, |r| r.generation.as_ref().map(|g| g.ttft_ms));
    t.float("e2e_ms", rows, |r| r.generation.as_ref().map(|g| g.e2e_ms));
    t.float("decode_tokens_per_s", rows, |r| r.generation.as_ref().and_then(|g| g.decode_tokens_per_s));
    t.text("finish_reason", rows, |r| r.generation.as_ref().and_then(|g| stored_name(&g.finish_reason)));
    t.int("peak_memory_bytes", rows, |r| r.memory.map(|m| m.peak_bytes as i64));
    t.text("memory_source", rows, |r| r.memory.and_then(|m| stored_name(&m.source)));
    t.text("error", rows, |r| r.error.clone());
    t.text("prompt", rows, |r| Some(r.prompt.clone()));
    let breakdowns: BTreeSet<&String> = rows.iter().flat_map(|r| r.breakdown.keys()).collect();
    for name in breakdowns {
        t.text(&format!("breakdown_{name}"), rows, |r| r.breakdown.get(name).cloned());
    }
    t
}

/// One row per task of the run's summary (`summary.json`, or computed from the records).
pub fn tasks_table(run: &LoadedRun) -> Table {
    let rows = &run.summary.tasks;
    let run_id = run.manifest.run_id.clone();
    let model = run.model_label();
    let device = run.device_label();
    let mut t = Table::default();
    t.text("run_id", rows, |_| Some(run_id.clone()));
    t.text("model", rows, |_| Some(model.clone()));
    t.text("device", rows, |_| Some(device.clone()));
    t.text("task", rows, |s| Some(s.task.clone()));
    t.text("metric", rows, |s| Some(s.metric.clone()));
    t.int("n_samples", rows, |s| Some(s.n_samples as i64));
    t.int("n_scored", rows, |s| Some(s.n_scored as i64));
    t.int("n_failed", rows, |s| Some(s.n_failed as i64));
    t.float("score_fraction", rows, |s| s.score);
    t.float("score_ci95_low_fraction", rows, |s| s.score_ci95.map(|c| c.0));
    t.float("score_ci95_high_fraction", rows, |s| s.score_ci95.map(|c| c.1));
    type Pick = fn(&smolbench_reports::TaskSummary) -> Option<Percentiles>;
    let measures: [(&str, Pick); 3] =
        [("e2e_ms", |s| s.e2e_ms), ("ttft_ms", |s| s.ttft_ms), ("decode_tokens_per_s", |s| s.decode_tokens_per_s)];
    for (name, pick) in measures {
        t.float(&format!("{name}_p50"), rows, |s| pick(s).map(|p| p.p50));
        t.float(&format!("{name}_p90"), rows, |s| pick(s).map(|p| p.p90));
        t.float(&format!("{name}_p95"), rows, |s| pick(s).map(|p| p.p95));
        t.float(&format!("{name}_p99"), rows, |s| pick(s).map(|p| p.p99));
    }
    t.float("mean_prompt_tokens", rows, |s| s.mean_prompt_tokens);
    t.float("mean_completion_tokens", rows, |s| s.mean_completion_tokens);
    t.int("peak_memory_bytes", rows, |s| s.peak_memory_bytes.map(|b| b as i64));
    t.text("memory_source", rows, |s| s.memory_source.as_ref().and_then(stored_name));
    t
}

/// Whether a record was answered (for exporters that leave failed samples out of metrics).
pub fn answered(r: &SampleRecord) -> bool {
    r.status == SampleStatus::Ok && r.score.is_some()
}
