//! `bench rescore RUN_DIR`: recompute scores from stored predictions, without a model.
//!
//! Each task is rebuilt from the definition stored in the run's `run.json` (not from today's
//! built-in version), optionally with another metric profile, and every stored prediction is
//! scored again. The result goes to `summary.<profile>.json` beside the run's own summary.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_core::{SampleRecord, SampleStatus};
use smolbench_tasks::{MetricProfile, Task, TaskDef};

use crate::collate::{collate, task_order};
use crate::store::{read_manifest, read_samples};

/// Arguments of `bench rescore`.
#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// The run directory (holding run.json and samples.jsonl).
    run_dir: PathBuf,
    /// Score with this metric profile (`official`, `lmms-eval`, `vlmevalkit`) instead of the
    /// task's own.
    #[arg(long, value_name = "PROFILE")]
    metric_profile: Option<String>,
}

/// Rescores every record of `records` with the tasks of the run; returns the new records and how
/// many scores changed.
pub fn rescore_records(tasks: &[Task], records: &[SampleRecord]) -> Result<(Vec<SampleRecord>, usize)> {
    let mut changed = 0;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let mut record = record.clone();
        if let (SampleStatus::Ok, Some(prediction)) = (record.status, record.prediction.as_deref()) {
            let task = tasks.iter().find(|t| t.name() == record.task).with_context(|| {
                format!("sample {} names task {} that run.json does not hold", record.sample_id, record.task)
            })?;
            let scored = task.score(prediction, &record.references, &record.context);
            if record.score != Some(scored.score) {
                changed += 1;
            }
            record.score = Some(scored.score);
            record.extracted = Some(scored.extracted);
            record.extraction_trace = scored.trace;
        }
        out.push(record);
    }
    Ok((out, changed))
}

/// Runs `bench rescore`.
pub fn run(args: RescoreArgs) -> Result<ExitCode> {
    let manifest = read_manifest(&args.run_dir)?;
    // One record per sample: a resumed run may hold a failed attempt and a later scored one.
    let records = collate(read_samples(&args.run_dir)?, &task_order(&manifest)).records;
    let profile: Option<MetricProfile> = args.metric_profile.as_deref().map(str::parse).transpose()?;
    let tasks = manifest
        .tasks
        .iter()
        .map(|t| {
            let def: TaskDef = serde_json::from_value(t.config.clone())
                .with_context(|| format!("{}: task {} has an unreadable definition", args.run_dir.display(), t.name))?;
            let task = Task::new(def)?;
            Ok(match profile {
                Some(p) => task.with_profile(p),
                None => task,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (rescored, changed) = rescore_records(&tasks, &records)?;
    let summary = smolbench_reports::summarise_run(&manifest.run_id, &rescored);
    let label = profile.map_or("stored-profile", MetricProfile::name);
    let path = args.run_dir.join(format!("summary.{label}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{}", smolbench_reports::render_table(&summary));
    println!(
        "{} of {} samples scored differently from the stored scores; summary in {}",
        changed,
        records.len(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
