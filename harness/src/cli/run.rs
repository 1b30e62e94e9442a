//! `bench run`: plan, load the model, run the sample loop, summarise.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_core::{
    DeviceFingerprint, EndpointRecord, JudgeInfo, ModelRecord, RunManifest, SampleRecord, TaskRecord,
    STORE_FORMAT_VERSION,
};
use smolbench_runners::device::{fingerprint, ComputeDevice};
use smolbench_runners::model::ImageOptions;
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::{read_endpoints_file, Endpoint};
use smolbench_runners::{
    default_compute_device, engine_patch, MistralRsRunner, OpenAiConfig, OpenAiRunner, Runner, RunnerOptions,
};
use smolbench_tasks::run_order::rescore_in_run_order;
use smolbench_tasks::{builtin_task, suite, MetricProfile, Task};

use crate::claims::Claims;
use crate::execute::{run_tasks, LoopSettings, Outcome, SampleFilter};
use crate::fingerprint::{config_fingerprint, resume_difference};
use crate::fixtures::default_fixtures_root;
use crate::judge::{scoring_line, Judge};
use crate::plan::{hash_dir_files, hash_file, plan_run, LocalModel, PlanRequest, RunPlan};
use crate::shard::{PartInfo, Shard, ShardArg, HASH_SCHEME, PARTS_DIR};
use crate::store::{read_manifest, read_samples, Recorded, RunStore, RUN_FILE};
use smolbench_core::collate::{collate, task_order, SampleKey};

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
    /// Continue the run in DIR: samples it already scored are skipped, failed ones are run again,
    /// and the rest are appended. The run must have the same config (tasks, data, model files,
    /// limit, shard count); DIR is created where it holds no run yet, so a retried job can always
    /// pass --resume.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    resume: Option<PathBuf>,
    /// Run only shard I of N (numbered from 0): the samples whose SHA-256 of `task/sample_id`
    /// modulo N is I. Writes DIR/parts/shard-I-of-N/ of the --out or --resume DIR, which all
    /// shards share; `bench merge DIR` combines the parts. `auto` reads the index and count of a
    /// Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT); `auto/N` reads the index
    /// from SLURM_ARRAY_TASK_ID or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "I/N|auto|auto/N")]
    shard: Option<ShardArg>,
    /// Stop the run after this many failed samples in a row.
    #[arg(long, default_value_t = 5, value_name = "N")]
    max_consecutive_failures: usize,
    /// Fail when a task's data set is absent instead of skipping the task.
    #[arg(long)]
    strict: bool,
    /// How prompts are built: `lmms-eval` (each task's default) or `vlmevalkit-smolvlm` (the
    /// prompts and budgets the SmolVLM authors evaluated with). Recorded in run.json.
    #[arg(long, value_name = "PROFILE")]
    prompt_profile: Option<String>,
    /// Score with this metric profile (`official`, `lmms-eval`, `vlmevalkit`) instead of the one
    /// the prompt profile and task name. Recorded in run.json.
    #[arg(long, value_name = "PROFILE")]
    metric_profile: Option<MetricProfile>,
    /// A data lock to check the data against, laid over the project's
    /// [default: $SMOLBENCH_HOME/data.lock.toml where it exists].
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// Run on the CPU even in a CUDA build.
    #[arg(long)]
    cpu: bool,
    /// Image splitting as the SmolVLM processor does it (tiles of 512 px, or 384 px for 2.2B, with
    /// a global view) [default: on for SmolVLM models, as their authors evaluated them; off for
    /// `tiny`; otherwise the checkpoint's processor setting].
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    image_splitting: Option<bool>,
    /// Resize images to this longest edge (pixels) before splitting [default: 1920 for
    /// 256M/500M, 1536 for 2.2B (the paper's settings); otherwise the checkpoint's size].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    longest_edge: Option<u32>,
    /// Keep the engine's vision-encoder cache on: a repeated image then skips the encoder (faster
    /// runs, but its latency no longer includes encoding; hits are recorded per sample).
    #[arg(long, value_name = "on|off", value_parser = parse_on_off, default_value = "off", action = clap::ArgAction::Set)]
    encoder_cache: bool,
    /// The per-sample deadline: a sample that gets no token from the engine for SECS (a hung
    /// engine) fails with the reason, the engine is reloaded and the run goes on.
    #[arg(long, default_value_t = 300.0, value_name = "SECS")]
    sample_timeout: f64,
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
    /// Samples in flight at once [default: the batch size in-process; the endpoints' total with
    /// --endpoint].
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Sequences the in-process engine runs together (its scheduler's `max_num_seqs`); samples
    /// in flight default to it. Predictions do not depend on it.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch_size: u16,
    /// Ask this OpenAI-compatible server as an LLM judge where a task's reference asks one
    /// (MathVista's answer extraction; VLMEvalKit's option matching for MMMU, MMStar, AI2D,
    /// ScienceQA answers its rules cannot read). Without it scoring is rule-based. Replies are
    /// cached in the run directory (judge-cache.jsonl).
    #[arg(long, value_name = "URL", requires = "judge_model", help_heading = "Judge")]
    judge_endpoint: Option<String>,
    /// The model id to send to the judge.
    #[arg(long, value_name = "ID", requires = "judge_endpoint", help_heading = "Judge")]
    judge_model: Option<String>,
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

pub(crate) fn parse_on_off(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        other => Err(format!("`{other}` is neither `on` nor `off`")),
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
    let mut tasks = Vec::with_capacity(names.len());
    for name in &names {
        let mut task = builtin_task(name)?;
        if let Some(profile) = &args.prompt_profile {
            task = task.with_prompt_profile(profile)?;
        }
        if let Some(profile) = args.metric_profile {
            task = task.with_profile(profile);
        }
        tasks.push(task);
    }
    Ok(tasks)
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
        image_splitting: local.prepared.image_splitting,
        longest_edge: local.prepared.longest_edge,
        tile_size: local.prepared.tile_size,
        encoder_cache: runner.options().encoder_cache,
        engine_patch: Some(engine_patch()),
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
            image_splitting: false,
            longest_edge: None,
            tile_size: 0,
            encoder_cache: false,
            engine_patch: None,
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
                prompt_profile: t.task.prompt_profile().to_string(),
                metric_profile: t.task.profile().name().to_string(),
                data_lock: t.data_lock.clone(),
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

fn manifest(
    args: &RunArgs,
    plan: &RunPlan,
    provenance: Provenance,
    run_id: &str,
    judge: Option<&JudgeInfo>,
) -> Result<RunManifest> {
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
        scoring: if judge.is_some() { "rules+judge" } else { "rules" }.into(),
        judge: judge.cloned(),
    })
}

/// Replays draws that depend on the whole run (MMMU's random fallback) once every sample is in,
/// and rewrites the samples file where that changed anything.
fn settle_run_order_scores(tasks: &[&Task], records: &mut [SampleRecord], store: &mut RunStore) -> Result<()> {
    let mut fallbacks = 0;
    for task in tasks {
        let outcome = rescore_in_run_order(task, records);
        if outcome.fallbacks > 0 {
            tracing::info!(
                "{}: {} random fallbacks replayed in run order, {} scores changed",
                task.name(),
                outcome.fallbacks,
                outcome.changed
            );
        }
        fallbacks += outcome.fallbacks;
    }
    if fallbacks > 0 {
        store.rewrite_samples(records)?;
    }
    Ok(())
}

/// Decides what this process runs: its shard's samples that have no scored record and that no
/// other live process is running. Samples another process holds are set aside; a second pass
/// (`only`) waits for each and runs it if that process did not record it.
#[derive(Debug)]
struct RunFilter {
    shard: Option<Shard>,
    recorded: Arc<Recorded>,
    claims: Arc<Claims>,
    only: Option<HashSet<SampleKey>>,
    set_aside: Mutex<Vec<SampleKey>>,
}

impl RunFilter {
    fn new(store: &RunStore, shard: Option<Shard>, only: Option<HashSet<SampleKey>>) -> Self {
        RunFilter { shard, recorded: store.recorded(), claims: store.claims(), only, set_aside: Mutex::default() }
    }

    fn is_scored(&self, key: &SampleKey) -> bool {
        if let Err(e) = self.recorded.refresh() {
            tracing::warn!("{e:#}");
        }
        self.recorded.is_scored(key)
    }
}

impl SampleFilter for RunFilter {
    fn keep(&self, task: &str, index: usize, sample_id: &str) -> bool {
        if !self.shard.is_none_or(|s| s.owns(task, sample_id)) {
            return false;
        }
        let key = SampleKey { task: task.to_string(), index, sample_id: sample_id.to_string() };
        if self.only.as_ref().is_some_and(|only| !only.contains(&key)) || self.is_scored(&key) {
            return false;
        }
        let claimed = match self.only {
            Some(_) => self.claims.claim_waiting(&key),
            None => self.claims.try_claim(&key),
        };
        if !claimed {
            self.set_aside.lock().expect("never poisoned").push(key);
            return false;
        }
        // Another process may have recorded it between the look and the claim.
        if self.is_scored(&key) {
            self.claims.release(&key);
            return false;
        }
        true
    }
}

/// Where this invocation writes: the run (or part) directory and whether it continues one.
struct Target {
    dir: PathBuf,
    resume: bool,
}

fn target_dir(args: &RunArgs, shard: Option<Shard>, default_run_id: &str) -> Result<Target> {
    let base = args.resume.as_ref().or(args.out.as_ref());
    let resume = args.resume.is_some();
    match (shard, base) {
        (Some(_), None) => anyhow::bail!("--shard needs --out DIR or --resume DIR: the run directory all shards share"),
        (Some(shard), Some(base)) => Ok(Target { dir: shard.part_dir(base), resume }),
        (None, Some(base)) if resume && !base.join(RUN_FILE).exists() && base.join(PARTS_DIR).is_dir() => {
            anyhow::bail!(
                "{} is a sharded run: resume one part with --shard I/N, or combine the parts with `bench merge {}`",
                base.display(),
                base.display()
            )
        }
        (None, Some(base)) => Ok(Target { dir: base.clone(), resume }),
        (None, None) => Ok(Target { dir: PathBuf::from("runs").join(default_run_id), resume }),
    }
}

/// Opens the run to continue in `dir`, refusing one whose config differs from `fresh`'s.
fn resume_store(dir: &Path, fresh: &RunManifest, shard_count: usize) -> Result<(RunStore, RunManifest)> {
    let stored = read_manifest(dir)?;
    if let Some(diff) = resume_difference(&stored, fresh, shard_count) {
        anyhow::bail!(
            "cannot resume {}: {diff} differs from the recorded run; pass the original arguments or start a new --out directory",
            dir.display()
        );
    }
    Ok((RunStore::resume(dir)?, stored))
}

/// Runs `bench run`.
pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let shard = args.shard.map(|s| s.resolve(&|name| std::env::var(name).ok())).transpose()?;
    let started = chrono::Utc::now();
    let model_tag: String =
        args.model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let run_id =
        format!("{}-{}-{}", started.format("%Y%m%dT%H%M%S"), model_tag, args.suite.as_deref().unwrap_or("custom"));
    let Target { dir, resume } = target_dir(&args, shard, &run_id)?;
    // The parts of a sharded run share the run id: the name of their common directory.
    let run_id = match (shard, args.resume.as_ref().or(args.out.as_ref())) {
        (Some(_), Some(base)) => base.file_name().map_or(run_id, |n| n.to_string_lossy().into_owned()),
        _ => run_id,
    };
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
        lock_file: args.lock.as_deref(),
        image: ImageOptions { splitting: args.image_splitting, longest_edge: args.longest_edge },
        local_model: endpoints.is_empty(),
    };
    let plan = plan_run(&request, tasks)?;
    let target = RunTarget { shard, dir, resume, run_id };

    if let Some(local) = &plan.model {
        for change in &local.prepared.changes {
            tracing::info!("prepare: {change}");
        }
        if local.prepared.source_image_splitting && !local.prepared.image_splitting {
            tracing::warn!("image splitting is off: scores are not comparable with published split-image numbers");
        }
        let compute = if args.cpu { ComputeDevice::Cpu } else { default_compute_device() };
        tracing::info!("loading {} on {compute}", local.prepared.dir.display());
        let sample_timeout = Duration::try_from_secs_f64(args.sample_timeout)
            .ok()
            .filter(|d| !d.is_zero())
            .context("--sample-timeout must be a positive number of seconds")?;
        let options = RunnerOptions {
            encoder_cache: args.encoder_cache,
            sample_timeout: Some(sample_timeout),
            batch_size: args.batch_size.into(),
        };
        let runner = MistralRsRunner::load_with(&local.prepared, compute, options).await?;
        let provenance = Provenance {
            model: local_model_record(local, &runner)?,
            device: fingerprint(compute),
            endpoints: Vec::new(),
        };
        return execute(&args, &plan, &runner, provenance, target).await;
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
        fixed_output: false,
    };
    let runner = OpenAiRunner::connect(config).await?;
    tracing::info!("sending `{}` requests to {} endpoint(s)", runner.model(), runner.pool().endpoints().len());
    let mut device = fingerprint(ComputeDevice::Cpu);
    device.compute = "remote".into();
    let provenance =
        Provenance { model: endpoint_model_record(&args, &runner), device, endpoints: endpoint_records(&runner) };
    execute(&args, &plan, &runner, provenance, target).await
}

/// Where and as what this invocation records: the shard it runs, its directory, whether it
/// continues a run there, and the run id.
struct RunTarget {
    shard: Option<Shard>,
    dir: PathBuf,
    resume: bool,
    run_id: String,
}

async fn execute<R: Runner>(
    args: &RunArgs,
    plan: &RunPlan,
    runner: &R,
    provenance: Provenance,
    target: RunTarget,
) -> Result<ExitCode> {
    let RunTarget { shard, dir, resume, run_id } = target;
    let judge = match (&args.judge_endpoint, &args.judge_model) {
        (Some(endpoint), Some(model)) => Some(Arc::new(Judge::connect(endpoint, model, &dir).await?)),
        _ => None,
    };
    let fresh = manifest(args, plan, provenance, &run_id, judge.as_ref().map(|j| j.info()))?;
    eprintln!("{}", scoring_line(judge.as_ref().map(|j| j.info())));
    let shard_count = shard.map_or(1, |s| s.count);
    let (mut store, manifest) = if resume && dir.join(RUN_FILE).exists() {
        let (store, stored) = resume_store(&dir, &fresh, shard_count)?;
        eprintln!("resuming {}: {} samples already scored", dir.display(), store.recorded().scored_count());
        (store, stored)
    } else {
        let store = RunStore::create(&dir, &fresh)?;
        eprintln!("run directory: {}", store.dir().display());
        (store, fresh)
    };
    if let Some(shard) = shard {
        let part = PartInfo {
            shard,
            hash: HASH_SCHEME.to_string(),
            config_fingerprint: config_fingerprint(&manifest, shard_count),
        };
        match PartInfo::read(&dir)? {
            Some(existing) if existing != part => anyhow::bail!(
                "{} holds shard {} (fingerprint {}), not shard {shard} of this run",
                dir.display(),
                existing.shard,
                existing.config_fingerprint
            ),
            Some(_) => {}
            None => part.write(&dir)?,
        }
    }
    let filter = Arc::new(RunFilter::new(&store, shard, None));

    let settings = LoopSettings {
        max_consecutive_failures: args.max_consecutive_failures.max(1),
        delay_after_sample: std::env::var("SMOLBENCH_TEST_SAMPLE_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis),
        filter: Some(Arc::clone(&filter) as Arc<dyn SampleFilter>),
        concurrency: args.concurrency.unwrap_or(runner.max_concurrency()).max(1),
        judge,
    };
    let (mut records, mut outcome) = run_tasks(&plan.tasks, runner, &mut store, settings.clone()).await?;
    let set_aside: HashSet<SampleKey> = filter.set_aside.lock().expect("never poisoned").drain(..).collect();
    if outcome == Outcome::Completed && !set_aside.is_empty() {
        eprintln!("{} samples were being run by another process; waiting for them", set_aside.len());
        let second = Arc::new(RunFilter::new(&store, shard, Some(set_aside)));
        let settings = LoopSettings { filter: Some(second as Arc<dyn SampleFilter>), ..settings };
        let (more, last) = run_tasks(&plan.tasks, runner, &mut store, settings).await?;
        records.extend(more);
        outcome = last;
    }
    // The summary covers every sample of the directory (earlier attempts included), each by its
    // newest scored record, in the canonical order.
    let mut all = collate(read_samples(&dir)?, &task_order(&manifest));
    // A shard holds part of the run: draws that depend on the whole run are settled by `bench merge`.
    if shard.is_none() {
        let tasks: Vec<&Task> = plan.tasks.iter().map(|t| &t.task).collect();
        settle_run_order_scores(&tasks, &mut all.records, &mut store)?;
    }
    let summary = smolbench_reports::summarise_run(&manifest.run_id, &all.records);
    store.finish(&summary).context("writing summary.json")?;
    println!("{}", smolbench_reports::render_table(&summary));
    if store.dropped() > 0 {
        println!(
            "{} samples finished here were already recorded by another process and were not written again",
            store.dropped()
        );
    }
    println!("{} samples ran now; {} recorded in {}", records.len(), all.records.len(), dir.display());
    if let Some(shard) = shard {
        let base = args.resume.as_ref().or(args.out.as_ref()).expect("a shard has a base directory");
        println!(
            "shard {shard} of {}: when every shard is done, bench merge {} --out DIR",
            base.display(),
            base.display()
        );
    }
    let aggregates = crate::aggregates::task_aggregates(plan.tasks.iter().map(|t| &t.task), &all.records);
    crate::aggregates::write(store.dir(), crate::aggregates::AGGREGATES_FILE, &aggregates)?;
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
