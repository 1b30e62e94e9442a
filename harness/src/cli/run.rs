//! `bench run`: plan, load the model, run the sample loop, summarise.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_core::{ModelRecord, RunManifest, TaskRecord, STORE_FORMAT_VERSION};
use smolbench_runners::device::{fingerprint, ComputeDevice};
use smolbench_runners::{default_compute_device, MistralRsRunner, ENGINE};
use smolbench_tasks::{builtin_task, suite, Task};

use crate::execute::{run_tasks, LoopSettings, Outcome};
use crate::fixtures::default_fixtures_root;
use crate::plan::{hash_dir_files, hash_file, plan_run, PlanRequest, RunPlan};
use crate::store::RunStore;

/// Arguments of `bench run`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
pub struct RunArgs {
    /// A suite of tasks: `image` (OCRBench, AI2D, ChartQA, TextVQA, DocVQA, ScienceQA, MMMU, MathVista, MMStar)
    /// or `video` (Video-MME with and without subtitles, MLVU, the 20 MVBench tasks; needs ffmpeg).
    #[arg(long, group = "what")]
    suite: Option<String>,
    /// A task by name; repeatable. Adds to --suite.
    #[arg(long = "task", group = "what", value_name = "NAME")]
    tasks: Vec<String>,
    /// The model: an alias (`bench models`) or a directory.
    #[arg(long)]
    model: String,
    /// Load the model from this directory instead of the Hugging Face cache.
    #[arg(long, value_name = "DIR")]
    model_path: Option<PathBuf>,
    /// Read data sets from DIR/<org>/<name>/ (the Hugging Face parquet layout) instead of the
    /// cache. With --model tiny and no --data-dir, the synthetic fixtures are used.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Run only the first N samples of each task.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The run directory to create [default: runs/<time>-<model>-<suite>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Stop the run after this many failed samples in a row.
    #[arg(long, default_value_t = 5, value_name = "N")]
    max_consecutive_failures: usize,
    /// Fail when a task's data set is absent instead of skipping the task.
    #[arg(long)]
    strict: bool,
    /// Run on the CPU even in a CUDA build.
    #[arg(long)]
    cpu: bool,
    /// Where the tiny model and synthetic data live [default: $SMOLBENCH_HOME/fixtures].
    #[arg(long, value_name = "DIR", hide = true)]
    fixtures: Option<PathBuf>,
}

fn selected_tasks(args: &RunArgs) -> Result<Vec<Task>> {
    let mut names: Vec<String> = match &args.suite {
        Some(s) => suite(s)?.into_iter().map(str::to_string).collect(),
        None => Vec::new(),
    };
    for t in &args.tasks {
        if !names.contains(t) {
            names.push(t.clone());
        }
    }
    Ok(names.iter().map(|n| builtin_task(n)).collect::<Result<Vec<_>, _>>()?)
}

fn manifest(args: &RunArgs, plan: &RunPlan, runner: &MistralRsRunner, run_id: &str) -> Result<RunManifest> {
    let tasks = plan
        .tasks
        .iter()
        .map(|t| {
            Ok(TaskRecord {
                name: t.task.name().to_string(),
                version: t.task.version(),
                config: t.task.def().to_json(),
                data_dir: t.data_dir.display().to_string(),
                data_revision: t.data_revision.clone(),
                data_files: t.table.files().iter().map(|f| hash_file(f, &t.data_dir)).collect::<Result<_>>()?,
                available_samples: t.table.num_rows(),
                selected_samples: t.selected,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RunManifest {
        format_version: STORE_FORMAT_VERSION,
        run_id: run_id.to_string(),
        command: std::env::args().collect(),
        started_at: chrono::Utc::now().to_rfc3339(),
        suite: args.suite.clone().unwrap_or_else(|| "custom".into()),
        model: ModelRecord {
            requested: plan.model.requested.clone(),
            repo_id: plan.model.repo_id.clone(),
            source_dir: plan.model.dir.display().to_string(),
            prepared_dir: plan.prepared.dir.display().to_string(),
            prepare_changes: plan.prepared.changes.clone(),
            files: hash_dir_files(&plan.model.dir)?,
            engine: ENGINE.to_string(),
            dtype: runner.dtype().to_string(),
            tokens_per_image: plan.prepared.tokens_per_image,
        },
        tasks,
        skipped_tasks: plan.skipped.clone(),
        smolbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("SMOLBENCH_GIT_COMMIT").map(str::to_string),
        device: fingerprint(runner.compute()),
        data_source: plan.data_source.label(),
        limit: args.limit,
    })
}

/// Runs `bench run`.
pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let tasks = selected_tasks(&args)?;
    let fixtures_root = args.fixtures.clone().unwrap_or_else(default_fixtures_root);
    let request = PlanRequest {
        model_name: &args.model,
        model_path: args.model_path.as_deref(),
        data_dir: args.data_dir.as_deref(),
        limit: args.limit,
        fixtures_root: &fixtures_root,
        strict: args.strict,
    };
    let plan = plan_run(&request, tasks)?;
    for change in &plan.prepared.changes {
        tracing::info!("prepare: {change}");
    }
    if plan.prepared.source_image_splitting {
        tracing::warn!("image splitting is off (mistral.rs 0.8.1 cannot run it): scores are not comparable with published split-image numbers");
    }

    let compute = if args.cpu { ComputeDevice::Cpu } else { default_compute_device() };
    tracing::info!("loading {} on {compute}", plan.prepared.dir.display());
    let runner = MistralRsRunner::load(&plan.prepared, compute).await?;

    let started = chrono::Utc::now();
    let model_tag: String =
        args.model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let run_id =
        format!("{}-{}-{}", started.format("%Y%m%dT%H%M%S"), model_tag, args.suite.as_deref().unwrap_or("custom"));
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&run_id));
    let mut store = RunStore::create(&dir, &manifest(&args, &plan, &runner, &run_id)?)?;
    eprintln!("run directory: {}", store.dir().display());

    let settings = LoopSettings {
        max_consecutive_failures: args.max_consecutive_failures.max(1),
        delay_after_sample: std::env::var("SMOLBENCH_TEST_SAMPLE_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis),
    };
    let (records, outcome) = run_tasks(&plan.tasks, &runner, &mut store, settings).await?;
    let summary = smolbench_reports::summarise_run(&run_id, &records);
    store.finish(&summary).context("writing summary.json")?;
    println!("{}", smolbench_reports::render_table(&summary));
    let aggregates = crate::aggregates::task_aggregates(plan.tasks.iter().map(|t| &t.task), &records);
    crate::aggregates::write(store.dir(), &aggregates)?;
    if !aggregates.is_empty() {
        println!("{}", crate::aggregates::render(&aggregates));
    }
    for skipped in &plan.skipped {
        println!("skipped {}: {}", skipped.name, skipped.reason);
    }
    match outcome {
        Outcome::Completed => Ok(ExitCode::SUCCESS),
        Outcome::Aborted { reason } => {
            anyhow::bail!("{reason}; the {} samples recorded so far are in {}", records.len(), dir.display())
        }
    }
}
