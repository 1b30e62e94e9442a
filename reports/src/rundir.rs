//! Reading a finished run directory (`run.json`, `samples.jsonl`, `summary.json`) for reports and
//! the regression gate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_core::aggregates::read_aggregates;
use smolbench_core::collate::{collate, task_order};
use smolbench_core::{AggregateRecord, RunManifest, SampleRecord};

use crate::summary::{summarise_run, RunSummary};

/// A run as read from its directory.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The directory.
    pub dir: PathBuf,
    /// `run.json`.
    pub manifest: RunManifest,
    /// `samples.jsonl`, one record per sample (its newest scored one), in the run's order.
    pub records: Vec<SampleRecord>,
    /// `summary.json`, or the summary computed from the records where the run has none (a run
    /// that was killed).
    pub summary: RunSummary,
    /// Whether `summary` was read from `summary.json`.
    pub summary_from_file: bool,
    /// `aggregates.json`: the numbers the benchmarks' references print (Video-MME, MLVU) and the
    /// scores of benchmarks split over several tasks (MVBench); empty where the run has none.
    pub aggregates: Vec<AggregateRecord>,
}

impl LoadedRun {
    /// The model's name for display: the Hugging Face repo id, or what the user asked for.
    pub fn model_label(&self) -> String {
        self.manifest.model.repo_id.clone().unwrap_or_else(|| self.manifest.model.requested.clone())
    }

    /// The device for display: the compute device and the GPU or CPU model.
    pub fn device_label(&self) -> String {
        let d = &self.manifest.device;
        let hardware = if d.compute.starts_with("cuda") {
            d.gpus.first().map(|g| g.name.clone()).unwrap_or_else(|| "GPU".into())
        } else {
            format!("{} ({} cores)", d.cpu_model.trim(), d.cpu_cores)
        };
        format!("{} / {}", d.compute, hardware)
    }

    /// The prompt profile of the run's tasks, e.g. `prompt profile lmms-eval` (several joined
    /// with `+`). Metric profiles follow from the task and are not part of it.
    pub fn profile_label(&self) -> String {
        let distinct = |ptr: &str| {
            let mut v: Vec<&str> = self
                .manifest
                .tasks
                .iter()
                .map(|t| t.config.pointer(ptr).and_then(|v| v.as_str()).unwrap_or("?"))
                .collect();
            v.sort_unstable();
            v.dedup();
            v.join("+")
        };
        format!("prompt profile {}", distinct("/prompt/default"))
    }
}

/// Reads `samples.jsonl`: every complete record. A last line cut short by a crash is skipped; a
/// damaged line elsewhere is an error naming the file and line.
pub fn read_records(dir: &Path) -> Result<Vec<SampleRecord>> {
    let path = dir.join("samples.jsonl");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(r) => records.push(r),
            Err(_) if i == lines.len() - 1 => tracing::warn!("{}: ignoring an incomplete last line", path.display()),
            Err(e) => anyhow::bail!("{}: line {} is not a sample record ({e})", path.display(), i + 1),
        }
    }
    Ok(records)
}

/// Reads a run directory.
pub fn load_run(dir: &Path) -> Result<LoadedRun> {
    if !dir.is_dir() {
        anyhow::bail!("run directory {} does not exist; pass a directory written by `bench run`", dir.display());
    }
    let manifest_path = dir.join("run.json");
    let text =
        std::fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest: RunManifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a SmolBench run manifest", manifest_path.display()))?;
    // One record per sample: a resumed run may hold a failed attempt and a later scored one.
    let records = collate(read_records(dir)?, &task_order(&manifest)).records;
    let summary_path = dir.join("summary.json");
    let (summary, summary_from_file) = if summary_path.is_file() {
        let text =
            std::fs::read_to_string(&summary_path).with_context(|| format!("reading {}", summary_path.display()))?;
        let summary = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a SmolBench summary", summary_path.display()))?;
        (summary, true)
    } else {
        (summarise_run(&manifest.run_id, &records), false)
    };
    let aggregates = read_aggregates(dir).map_err(|e| anyhow::anyhow!("{e}; it is not a SmolBench aggregates file"))?;
    Ok(LoadedRun { dir: dir.to_path_buf(), manifest, records, summary, summary_from_file, aggregates })
}
