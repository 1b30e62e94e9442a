//! `bench rescore RUN_DIR`: recompute scores from stored predictions, without a model.
//!
//! Each task is rebuilt from the definition stored in the run's `run.json` (not from today's
//! built-in version), optionally with another metric profile, and every stored prediction is
//! scored again. The result goes to `summary.<profile>.json` beside the run's own summary, and
//! the benchmark-specific aggregates (Video-MME, MLVU, MVBench) to `aggregates.<profile>.json`.
//!
//! With `--judge-endpoint URL --judge-model ID`, the stored predictions a task's reference would
//! send to an LLM judge are judged (replies the run's judge cache already holds are not asked
//! again); the label gains `+judge` and the judged records go to `samples.<label>.jsonl`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_tasks::run_order::rescore_in_run_order;
use smolbench_tasks::MetricProfile;

use crate::judge::{scoring_line, Judge};
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
    /// Judge the stored predictions with this OpenAI-compatible server where a task's reference
    /// asks an LLM judge; cached replies are reused.
    #[arg(long, value_name = "URL", requires = "judge_model")]
    judge_endpoint: Option<String>,
    /// The model id to send to the judge.
    #[arg(long, value_name = "ID", requires = "judge_endpoint")]
    judge_model: Option<String>,
}

/// Runs `bench rescore`.
pub async fn run(args: RescoreArgs) -> Result<ExitCode> {
    let manifest = read_manifest(&args.run_dir)?;
    // One record per sample: a resumed run may hold a failed attempt and a later scored one.
    let records = collate(read_samples(&args.run_dir)?, &task_order(&manifest)).records;
    let profile: Option<MetricProfile> = args.metric_profile.as_deref().map(str::parse).transpose()?;
    let tasks = tasks_of_run(&manifest, profile, &args.run_dir)?;
    let (mut rescored, _) = rescore_records(&tasks, &records)?;
    let judge = match (&args.judge_endpoint, &args.judge_model) {
        (Some(endpoint), Some(model)) => Some(Judge::connect(endpoint, model, &args.run_dir).await?),
        _ => None,
    };
    eprintln!("{}", scoring_line(judge.as_ref().map(Judge::info)));
    if let Some(judge) = &judge {
        for record in &mut rescored {
            if let Some(task) = tasks.iter().find(|t| t.name() == record.task && t.judge_rule().is_some()) {
                judge.judge_record(task, record).await;
            }
        }
        for task in &tasks {
            rescore_in_run_order(task, &mut rescored);
        }
    } else {
        // Rule-based scoring: a judgement stored by the run does not carry over.
        for record in &mut rescored {
            record.judge = None;
        }
    }
    let changed = rescored.iter().zip(&records).filter(|(new, old)| new.score != old.score).count();
    let summary = smolbench_reports::summarise_run(&manifest.run_id, &rescored);
    let profile_label = profile.map_or("stored-profile", MetricProfile::name);
    let label = if judge.is_some() { format!("{profile_label}+judge") } else { profile_label.to_string() };
    if judge.is_some() {
        let path = args.run_dir.join(format!("samples.{label}.jsonl"));
        let mut lines = String::new();
        for record in &rescored {
            lines.push_str(&serde_json::to_string(record)?);
            lines.push('\n');
        }
        std::fs::write(&path, lines).with_context(|| format!("writing {}", path.display()))?;
        let asked = rescored.iter().filter_map(|r| r.judge.as_ref());
        let (mut fresh, mut cached, mut failed) = (0, 0, 0);
        for j in asked {
            match (j.cached, j.error.is_some()) {
                (_, true) => failed += 1,
                (true, false) => cached += 1,
                (false, false) => fresh += 1,
            }
        }
        println!(
            "judge: {fresh} asked, {cached} from the cache, {failed} failed; judged samples in {}",
            path.display()
        );
    }
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
