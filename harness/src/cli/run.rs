//! `bench run`: plan, load the model, run the sample loop, summarise.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_core::{DeviceFingerprint, EndpointRecord, ModelRecord, RunManifest, TaskRecord, STORE_FORMAT_VERSION};
use smolbench_runners::device::{fingerprint, ComputeDevice};
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::{read_endpoints_file, Endpoint};
use smolbench_runners::{default_compute_device, MistralRsRunner, OpenAiConfig, OpenAiRunner, Runner};
use smolbench_tasks::{builtin_task, suite, Task};

use crate::execute::{run_tasks, LoopSettings, Outcome};
use crate::fixtures::default_fixtures_root;
use crate::plan::{hash_dir_files, hash_file, plan_run, LocalModel, PlanRequest, RunPlan};
use crate::store::RunStore;

/// Arguments of `bench run`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
pub struct RunArgs {
    /// A suite of tasks: `image` (OCRBench, AI2D, ChartQA, TextVQA, DocVQA, ScienceQA, MMMU, MathVista, MMStar).
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
    /// Send the samples to this OpenAI-compatible server instead of loading the model here
    /// (`http://HOST:PORT`, e.g. one started with `bench serve`); repeatable. --model then only
    /// names the run (and picks the synthetic data for `tiny`).
    #[arg(long = "endpoint", value_name = "URL", help_heading = "Endpoints")]
    endpoints: Vec<String>,
    /// A file listing endpoints, one per line: `URL [concurrency=N]`; `#` starts a comment.
    #[arg(long, value_name = "FILE", help_heading = "Endpoints")]
    endpoints_file: Option<PathBuf>,
    /// The `model` id to send [default: the first id of the first endpoint's /v1/models].
    #[arg(long, value_name = "ID", help_heading = "Endpoints")]
    endpoint_model: Option<String>,
    /// Requests each endpoint may have in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N", help_heading = "Endpoints")]
    endpoint_concurrency: usize,
    /// Seconds to wait for a reply to start, and between two pieces of a streamed reply.
    #[arg(long, default_value_t = 120.0, value_name = "SECS", help_heading = "Endpoints")]
    endpoint_timeout: f64,
    /// Retries of a failed request (429, 5xx, connection errors, timeouts, broken replies), with
    /// exponential backoff and jitter; `Retry-After` is honoured.
    #[arg(long, default_value_t = 4, value_name = "N", help_heading = "Endpoints")]
    retries: u32,
    /// Bearer token sent to the endpoints.
    #[arg(long, env = "SMOLBENCH_API_KEY", hide_env_values = true, value_name = "KEY", help_heading = "Endpoints")]
    api_key: Option<String>,
    /// Samples in flight at once [default: 1 in-process; the endpoints' total with --endpoint].
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
}

impl RunArgs {
    fn endpoint_list(&self) -> Result<Vec<Endpoint>> {
        let mut list = Vec::new();
        for e in &self.endpoints {
            list.push(Endpoint::parse(e, self.endpoint_concurrency)?);
        }
        if let Some(file) = &self.endpoints_file {
            list.extend(read_endpoints_file(file, self.endpoint_concurrency)?);
        }
        Ok(list)
    }
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

fn local_model_record(local: &LocalModel, runner: &MistralRsRunner) -> Result<ModelRecord> {
    let description = runner.describe();
    Ok(ModelRecord {
        requested: local.resolved.requested.clone(),
        repo_id: local.resolved.repo_id.clone(),
        source_dir: local.resolved.dir.display().to_string(),
        prepared_dir: local.prepared.dir.display().to_string(),
        prepare_changes: local.prepared.changes.clone(),
        files: hash_dir_files(&local.resolved.dir)?,
        engine: description.engine,
        dtype: description.dtype,
        tokens_per_image: local.prepared.tokens_per_image,
    })
}

/// The model of an endpoint run: the record SmolBench's server reports on `/metrics` (where it
/// was loaded from, its hashes, the prepare step), else what the endpoints said.
fn endpoint_model_record(args: &RunArgs, runner: &OpenAiRunner) -> ModelRecord {
    let served = runner
        .statuses()
        .iter()
        .filter_map(|s| s.metrics.as_ref()?.get("model"))
        .find_map(|m| serde_json::from_value::<ModelRecord>(m.clone()).ok());
    let description = runner.describe();
    match served {
        Some(mut record) => {
            record.engine = description.engine;
            record
        }
        None => ModelRecord {
            requested: args.model.clone(),
            repo_id: smolbench_runners::model::lookup_alias(&args.model)
                .ok()
                .and_then(|a| a.repo_id.map(str::to_string)),
            source_dir: format!("served as `{}`", runner.model()),
            prepared_dir: String::new(),
            prepare_changes: Vec::new(),
            files: Vec::new(),
            engine: description.engine,
            dtype: description.dtype,
            tokens_per_image: 0,
        },
    }
}

fn endpoint_records(runner: &OpenAiRunner) -> Vec<EndpointRecord> {
    runner
        .statuses()
        .iter()
        .map(|s| EndpointRecord {
            url: s.endpoint.base.clone(),
            max_concurrency: s.endpoint.max_concurrency,
            models: s.models.clone(),
            metrics: s.metrics.clone(),
            error: s.error.clone(),
        })
        .collect()
}

fn task_records(plan: &RunPlan) -> Result<Vec<TaskRecord>> {
    plan.tasks
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
        .collect()
}

/// What the run was made with, besides the plan.
struct Provenance {
    model: ModelRecord,
    device: DeviceFingerprint,
    endpoints: Vec<EndpointRecord>,
}

fn manifest(args: &RunArgs, plan: &RunPlan, provenance: Provenance, run_id: &str) -> Result<RunManifest> {
    Ok(RunManifest {
        format_version: STORE_FORMAT_VERSION,
        run_id: run_id.to_string(),
        command: std::env::args().collect(),
        started_at: chrono::Utc::now().to_rfc3339(),
        suite: args.suite.clone().unwrap_or_else(|| "custom".into()),
        model: provenance.model,
        tasks: task_records(plan)?,
        skipped_tasks: plan.skipped.clone(),
        smolbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("SMOLBENCH_GIT_COMMIT").map(str::to_string),
        device: provenance.device,
        data_source: plan.data_source.label(),
        limit: args.limit,
        endpoints: provenance.endpoints,
    })
}

/// Runs `bench run`.
pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let tasks = selected_tasks(&args)?;
    let endpoints = args.endpoint_list()?;
    let fixtures_root = args.fixtures.clone().unwrap_or_else(default_fixtures_root);
    let request = PlanRequest {
        model_name: &args.model,
        model_path: args.model_path.as_deref(),
        data_dir: args.data_dir.as_deref(),
        limit: args.limit,
        fixtures_root: &fixtures_root,
        strict: args.strict,
        local_model: endpoints.is_empty(),
    };
    let plan = plan_run(&request, tasks)?;

    if let Some(local) = &plan.model {
        for change in &local.prepared.changes {
            tracing::info!("prepare: {change}");
        }
        if local.prepared.source_image_splitting {
            tracing::warn!("image splitting is off (mistral.rs 0.8.1 cannot run it): scores are not comparable with published split-image numbers");
        }
        let compute = if args.cpu { ComputeDevice::Cpu } else { default_compute_device() };
        tracing::info!("loading {} on {compute}", local.prepared.dir.display());
        let runner = MistralRsRunner::load(&local.prepared, compute).await?;
        let provenance = Provenance {
            model: local_model_record(local, &runner)?,
            device: fingerprint(compute),
            endpoints: Vec::new(),
        };
        return execute(&args, &plan, &runner, provenance).await;
    }

    let config = OpenAiConfig {
        endpoints,
        model: args.endpoint_model.clone(),
        timeout: Duration::try_from_secs_f64(args.endpoint_timeout)
            .ok()
            .filter(|d| !d.is_zero())
            .context("--endpoint-timeout must be a positive number of seconds")?,
        retry: RetryPolicy { max_retries: args.retries, ..RetryPolicy::default() },
        health: HealthPolicy::default(),
        api_key: args.api_key.clone(),
    };
    let runner = OpenAiRunner::connect(config).await?;
    tracing::info!("sending `{}` requests to {} endpoint(s)", runner.model(), runner.pool().endpoints().len());
    let mut device = fingerprint(ComputeDevice::Cpu);
    device.compute = "remote".into();
    let provenance =
        Provenance { model: endpoint_model_record(&args, &runner), device, endpoints: endpoint_records(&runner) };
    execute(&args, &plan, &runner, provenance).await
}

async fn execute<R: Runner>(args: &RunArgs, plan: &RunPlan, runner: &R, provenance: Provenance) -> Result<ExitCode> {
    let started = chrono::Utc::now();
    let model_tag: String =
        args.model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let run_id =
        format!("{}-{}-{}", started.format("%Y%m%dT%H%M%S"), model_tag, args.suite.as_deref().unwrap_or("custom"));
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&run_id));
    let mut store = RunStore::create(&dir, &manifest(args, plan, provenance, &run_id)?)?;
    eprintln!("run directory: {}", store.dir().display());

    let settings = LoopSettings {
        max_consecutive_failures: args.max_consecutive_failures.max(1),
        delay_after_sample: std::env::var("SMOLBENCH_TEST_SAMPLE_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis),
        concurrency: args.concurrency.unwrap_or(runner.max_concurrency()).max(1),
    };
    let (records, outcome) = run_tasks(&plan.tasks, runner, &mut store, settings).await?;
    let summary = smolbench_reports::summarise_run(&run_id, &records);
    store.finish(&summary).context("writing summary.json")?;
    println!("{}", smolbench_reports::render_table(&summary));
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
