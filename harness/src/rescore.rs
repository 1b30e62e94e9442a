//! Scoring stored predictions again: the tasks of a run rebuilt from the definitions its
//! `run.json` holds, and every stored prediction scored with them (`bench rescore`, `bench
//! merge`, `bench import`).

use std::path::Path;

use anyhow::{Context, Result};
use smolbench_core::{RunManifest, SampleRecord, SampleStatus};
use smolbench_tasks::run_order::rescore_in_run_order;
use smolbench_tasks::{MetricProfile, Task, TaskDef};

/// Rescores every record of `records` with the tasks of the run (per sample, then the draws that
/// depend on the whole run's order); returns the new records and how many scores changed.
pub fn rescore_records(tasks: &[Task], records: &[SampleRecord]) -> Result<(Vec<SampleRecord>, usize)> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let mut record = record.clone();
        if let (SampleStatus::Ok, Some(prediction)) = (record.status, record.prediction.as_deref()) {
            let task = tasks.iter().find(|t| t.name() == record.task).with_context(|| {
                format!("sample {} names task {} that run.json does not hold", record.sample_id, record.task)
            })?;
            let scored = task.score(prediction, &record.references, &record.context);
            record.score = Some(scored.score);
            record.extracted = Some(scored.extracted);
            record.extraction_trace = scored.trace;
        }
        out.push(record);
    }
    for task in tasks {
        rescore_in_run_order(task, &mut out);
    }
    let changed = out.iter().zip(records).filter(|(new, old)| new.score != old.score).count();
    Ok((out, changed))
}

/// The tasks of a run, rebuilt from the definitions stored in its `run.json`, scored with
/// `profile`, else the metric profile the run recorded (it may have been chosen on the run's
/// command line rather than by the definition). `dir` names the run in errors.
pub fn tasks_of_run(manifest: &RunManifest, profile: Option<MetricProfile>, dir: &Path) -> Result<Vec<Task>> {
    manifest
        .tasks
        .iter()
        .map(|t| {
            let def: TaskDef = serde_json::from_value(t.config.clone())
                .with_context(|| format!("{}: task {} has an unreadable definition", dir.display(), t.name))?;
            let task = Task::new(def)?;
            let recorded = t.metric_profile.parse::<MetricProfile>().ok();
            Ok(match profile.or(recorded) {
                Some(p) => task.with_profile(p),
                None => task,
            })
        })
        .collect()
}
