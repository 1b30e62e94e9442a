//! `bench rescore RUN_DIR`: recompute scores from stored predictions, without a model.
//!
//! Each task is rebuilt from the definition stored in the run's `run.json` (not from today's
//! built-in version), optionally with another metric profile, and every stored prediction is
//! scored again. The result goes to `summary.<profile>.json` beside the run's own summary, and
//! the benchmark-specific aggregates (Video-MME, MLVU, MVBench) to `aggregates.<profile>.json`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_tasks::MetricProfile;

use crate::rescore::{rescore_records, tasks_of_run};
use crate::store::{read_manifest, read_samples};
use smolbench_core::collate::{collate, task_order};

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

/// Runs `bench rescore`.
pub fn run(args: RescoreArgs) -> Result<ExitCode> {
    let manifest = read_manifest(&args.run_dir)?;
    // One record per sample: a resumed run may hold a failed attempt and a later scored one.
    let records = collate(read_samples(&args.run_dir)?, &task_order(&manifest)).records;
    let profile: Option<MetricProfile> = args.metric_profile.as_deref().map(str::parse).transpose()?;
    let tasks = tasks_of_run(&manifest, profile, &args.run_dir)?;
    let (rescored, changed) = rescore_records(&tasks, &records)?;
    let summary = smolbench_reports::summarise_run(&manifest.run_id, &rescored);
    let label = profile.map_or("stored-profile", MetricProfile::name);
    let path = args.run_dir.join(format!("summary.{label}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{}", smolbench_reports::render_table(&summary));
    let aggregates = crate::aggregates::task_aggregates(&tasks, &rescored);
    crate::aggregates::write(&args.run_dir, &format!("aggregates.{label}.json"), &aggregates)?;
    if !aggregates.is_empty() {
        println!("{}", crate::aggregates::render(&aggregates));
    }
    println!(
        "{} of {} samples scored differently from the stored scores; summary in {}",
        changed,
        records.len(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
