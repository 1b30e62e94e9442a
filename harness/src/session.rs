//! A planned run carried out: the model loaded (or the endpoints connected), the run directory
//! created or resumed, the sample loop run, the whole-run draws settled, the summary written.
//! `cli/run.rs` turns `bench run`'s arguments into [`RunSettings`] and a plan; this does the rest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use smolbench_core::collate::{collate, task_order, SampleKey};
use smolbench_core::{
    DeviceFingerprint, EndpointRecord, JudgeInfo, ModelRecord, RunManifest, SampleRecord, TaskRecord,
    STORE_FORMAT_VERSION,
};
use smolbench_runners::device::{fingerprint, ComputeDevice};
use smolbench_runners::{OpenAiConfig, OpenAiRunner, Runner, RunnerOptions};
use smolbench_tasks::run_order::rescore_in_run_order;
use smolbench_tasks::Task;

use crate::claims::Claims;
use crate::execute::{run_tasks, LoopSettings, Outcome, SampleFilter};
use crate::fingerprint::{config_fingerprint, resume_difference};
use crate::judge::{scoring_line, Judge};
use crate::plan::{hash_file, RunPlan};
use crate::shard::{PartInfo, Shard, HASH_SCHEME, PARTS_DIR};
use crate::store::{read_manifest, read_samples, Recorded, RunStore, RUN_FILE};

/// How a run is carried out, besides its plan: everything `bench run`'s arguments say about
/// recording, the engine and the endpoints.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The command line as recorded in `run.json` (with a `--config` file's options spelt out).
    pub command: Vec<String>,
    /// `--model`: names the run, and the model of an endpoint run.
    pub model: String,
    /// The suite's name in `run.json` and the default run id (`custom` for a task list).
    pub suite_label: String,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--resume`.
    pub resume: Option<PathBuf>,
    /// `--shard`, resolved.
    pub shard: Option<Shard>,
    /// `--limit`.
    pub limit: Option<usize>,
    /// `--max-consecutive-failures`.
    pub max_consecutive_failures: usize,
    /// `--concurrency` (default: the runner's own limit).
    pub concurrency: Option<usize>,
    /// Where an in-process model runs.
    pub compute: ComputeDevice,
    /// The in-process engine's options.
    pub runner_options: RunnerOptions,
    /// The endpoints to send samples to, instead of loading the model here.
    pub endpoints: Option<OpenAiConfig>,
    /// The LLM judge to ask where a task's reference asks one; rule-based scoring where `None`.
    pub judge: Option<JudgeSettings>,
}

/// `--judge-endpoint` and `--judge-model`.
#[derive(Debug, Clone)]
pub struct JudgeSettings {
    /// The judge's OpenAI-compatible server.
    pub endpoint: String,
    /// The model id sent to it.
    pub model: String,
}

impl RunSettings {
    /// The directory given with `--resume` or `--out`.
    pub fn base_dir(&self) -> Option<&Path> {
        self.resume.as_deref().or(self.out.as_deref())
    }
}

/// The model of an endpoint run: the record SmolBench's server reports on `/metrics` (where it
/// was loaded from, its hashes, the prepare step), else what the endpoints said.
fn endpoint_model_record(model: &str, runner: &OpenAiRunner) -> ModelRecord {
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
            requested: model.to_string(),
            repo_id: smolbench_runners::model::lookup_alias(model).ok().and_then(|a| a.repo_id.map(str::to_string)),
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
    settings: &RunSettings,
    plan: &RunPlan,
    provenance: Provenance,
    run_id: &str,
    judge: Option<&JudgeInfo>,
) -> Result<RunManifest> {
    Ok(RunManifest {
        format_version: STORE_FORMAT_VERSION,
        run_id: run_id.to_string(),
        command: settings.command.clone(),
        started_at: chrono::Utc::now().to_rfc3339(),
        suite: settings.suite_label.clone(),
        model: provenance.model,
        tasks: task_records(plan)?,
        skipped_tasks: plan.skipped.clone(),
        smolbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("SMOLBENCH_GIT_COMMIT").map(str::to_string),
        device: provenance.device,
        data_source: plan.data_source.label(),
        limit: settings.limit,
        endpoints: provenance.endpoints,
        scoring: if judge.is_some() { "rules+judge" } else { "rules" }.into(),
        judge: judge.cloned(),
    })
}

/// `work`'s output, or `None` when Ctrl-C (SIGINT) comes first: every record stored so far stays.
async fn until_interrupted<F: std::future::Future>(work: F) -> Option<F::Output> {
    tokio::select! {
        out = work => Some(out),
        _ = tokio::signal::ctrl_c() => None,
    }
}

/// The command that continues this run: the same options, `--out DIR` turned into `--resume DIR`.
pub fn resume_command(command: &[String], base: &Path) -> String {
    let mut out: Vec<String> = vec!["bench".to_string()];
    let mut args = command.iter().skip(1).peekable();
    while let Some(arg) = args.next() {
        if arg == "--out" || arg == "--resume" {
            args.next();
        } else if !(arg.starts_with("--out=") || arg.starts_with("--resume=")) {
            out.push(arg.clone());
        }
    }
    out.push("--resume".to_string());
    out.push(base.display().to_string());
    out.iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\;&|<>()*?".contains(c)) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Says what an interrupted run kept and how to continue it, then exits 130 as shells do.
/// Every finished sample is already on disk; the process exits at once rather than waiting for
/// the engine's threads to finish the sample in flight.
fn interrupted(settings: &RunSettings, dir: &Path) -> Result<ExitCode> {
    let recorded = read_samples(dir).map(|r| r.len()).unwrap_or(0);
    let base = settings.base_dir().unwrap_or(dir);
    eprintln!("\ninterrupted: {recorded} sample records are kept in {}", dir.display());
    eprintln!("resume with: {}", resume_command(&settings.command, base));
    std::process::exit(i32::from(crate::exit::INTERRUPTED))
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

/// Where this invocation records: the run (or part) directory, whether it continues a run
/// there, and the run id (the parts of a sharded run share theirs: their common directory's
/// name). Checked before anything is planned.
pub fn target(settings: &RunSettings) -> Result<RunTarget> {
    let shard = settings.shard;
    let started = chrono::Utc::now();
    let model_tag: String =
        settings.model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let run_id = format!("{}-{}-{}", started.format("%Y%m%dT%H%M%S"), model_tag, settings.suite_label);
    let base = settings.base_dir();
    let resume = settings.resume.is_some();
    let dir = match (shard, base) {
        (Some(_), None) => anyhow::bail!("--shard needs --out DIR or --resume DIR: the run directory all shards share"),
        (Some(shard), Some(base)) => shard.part_dir(base),
        (None, Some(base)) if resume && !base.join(RUN_FILE).exists() && base.join(PARTS_DIR).is_dir() => {
            anyhow::bail!(
                "{} is a sharded run: resume one part with --shard I/N, or combine the parts with `bench merge {}`",
                base.display(),
                base.display()
            )
        }
        (None, Some(base)) => base.to_path_buf(),
        (None, None) => PathBuf::from("runs").join(&run_id),
    };
    let run_id = match (shard, base) {
        (Some(_), Some(base)) => base.file_name().map_or(run_id, |n| n.to_string_lossy().into_owned()),
        _ => run_id,
    };
    Ok(RunTarget { shard, dir, resume, run_id })
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

/// Loads the model the plan names (or connects to the endpoints) and runs the plan into
/// `target`.
pub async fn run(settings: RunSettings, plan: RunPlan, target: RunTarget) -> Result<ExitCode> {
    if let Some(local) = &plan.model {
        let loaded = local.load(settings.compute, settings.runner_options).await?;
        let provenance =
            Provenance { model: loaded.record, device: fingerprint(settings.compute), endpoints: Vec::new() };
        return execute(&settings, &plan, &loaded.runner, provenance, target).await;
    }
    let config = settings.endpoints.clone().context("a run without a local model needs endpoints")?;
    let runner = OpenAiRunner::connect(config).await?;
    tracing::info!("sending `{}` requests to {} endpoint(s)", runner.model(), runner.pool().endpoints().len());
    let mut device = fingerprint(ComputeDevice::Cpu);
    device.compute = "remote".into();
    let provenance = Provenance {
        model: endpoint_model_record(&settings.model, &runner),
        device,
        endpoints: endpoint_records(&runner),
    };
    execute(&settings, &plan, &runner, provenance, target).await
}

/// Where and as what this invocation records: the shard it runs, its directory, whether it
/// continues a run there, and the run id.
#[derive(Debug)]
pub struct RunTarget {
    shard: Option<Shard>,
    dir: PathBuf,
    resume: bool,
    run_id: String,
}

async fn execute<R: Runner>(
    settings: &RunSettings,
    plan: &RunPlan,
    runner: &R,
    provenance: Provenance,
    target: RunTarget,
) -> Result<ExitCode> {
    let RunTarget { shard, dir, resume, run_id } = target;
    let judge = match &settings.judge {
        Some(j) => Some(Arc::new(Judge::connect(&j.endpoint, &j.model, &dir).await?)),
        None => None,
    };
    let fresh = manifest(settings, plan, provenance, &run_id, judge.as_ref().map(|j| j.info()))?;
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

    let loop_settings = LoopSettings {
        max_consecutive_failures: settings.max_consecutive_failures.max(1),
        delay_after_sample: std::env::var("SMOLBENCH_TEST_SAMPLE_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis),
        filter: Some(Arc::clone(&filter) as Arc<dyn SampleFilter>),
        concurrency: settings.concurrency.unwrap_or(runner.max_concurrency()).max(1),
        judge,
    };
    let Some(first) = until_interrupted(run_tasks(&plan.tasks, runner, &mut store, loop_settings.clone())).await else {
        return interrupted(settings, &dir);
    };
    let (mut records, mut outcome) = first?;
    let set_aside: HashSet<SampleKey> = filter.set_aside.lock().expect("never poisoned").drain(..).collect();
    if outcome == Outcome::Completed && !set_aside.is_empty() {
        eprintln!("{} samples were being run by another process; waiting for them", set_aside.len());
        let second = Arc::new(RunFilter::new(&store, shard, Some(set_aside)));
        let loop_settings = LoopSettings { filter: Some(second as Arc<dyn SampleFilter>), ..loop_settings };
        let Some(second) = until_interrupted(run_tasks(&plan.tasks, runner, &mut store, loop_settings)).await else {
            return interrupted(settings, &dir);
        };
        let (more, last) = second?;
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
        let base = settings.base_dir().expect("a shard has a base directory");
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
