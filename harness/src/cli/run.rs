//! `bench run`: its arguments, turned into a plan ([`crate::plan`]) and run settings; the run
//! itself is [`crate::session`]'s.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::builder::TypedValueParser as _;
use clap::Args;
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::ImageOptions;
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::{read_endpoints_file, Endpoint};
use smolbench_runners::{default_compute_device, OpenAiConfig, RunnerOptions};
use smolbench_tasks::{MetricProfile, TaskRegistry};

use crate::fixtures::default_fixtures_root;
use crate::plan::{plan_run, select_tasks, PlanRequest, TaskSelection};
use crate::session::{JudgeSettings, RunSettings};
use crate::shard::ShardArg;

/// Arguments of `bench run`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
pub struct RunArgs {
    /// A suite of tasks: `image` (OCRBench, AI2D, ChartQA, TextVQA, DocVQA, ScienceQA, MMMU, MathVista, MMStar)
    /// or `video` (Video-MME with and without subtitles, MLVU, the 20 MVBench tasks, TempCompass's
    /// three formats, WorldSense; needs ffmpeg).
    #[arg(long, group = "what")]
    suite: Option<String>,
    /// Tasks: a comma-separated list of task names, groups (`mvbench`: its 20 tasks) or suites
    /// (`docvqa,mmmu`); repeatable. Adds to --suite.
    #[arg(long = "task", group = "what", value_name = "NAME[,NAME...]")]
    tasks: Vec<String>,
    /// Load the task folders in DIR too (DIR itself where it holds a task.toml, else each folder
    /// in it that does); a task of a built-in name replaces it. Repeatable; SMOLBENCH_INCLUDE_PATH
    /// holds a `:`-separated list. See docs/new-task.md.
    #[arg(long, value_name = "DIR", env = "SMOLBENCH_INCLUDE_PATH", value_delimiter = ':')]
    include_path: Vec<PathBuf>,
    /// The model: an alias (`bench models`) or a directory.
    #[arg(long)]
    model: String,
    /// A TOML file holding any of these options by long name (`task = ["docvqa", "mmmu"]`,
    /// `max-new-tokens = 64`, `cpu = true`); options on the command line win. The options in
    /// effect are recorded in run.json's `command`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
    /// How prompts are built: `lmms-eval` or `vlmevalkit-smolvlm` (the prompts, token budgets and
    /// scoring the SmolVLM authors evaluated with) [default: for the SmolVLM and SmolVLM2 aliases,
    /// `vlmevalkit-smolvlm` where the task defines it, else `lmms-eval` (see `bench models`); for
    /// `tiny` and model directories, `lmms-eval`]. Recorded per task in run.json.
    #[arg(long, value_name = "PROFILE")]
    prompt_profile: Option<String>,
    /// Score with this metric profile (`official`, `lmms-eval`, `vlmevalkit`) instead of the one
    /// the prompt profile and task name. Recorded in run.json.
    #[arg(long, value_name = "PROFILE")]
    metric_profile: Option<MetricProfile>,
    /// The most tokens to generate per sample, in place of each task's budget (and its prompt
    /// profile's). Recorded in run.json as each task's `generation.max-new-tokens`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    max_new_tokens: Option<usize>,
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

impl RunArgs {
    /// The endpoints' configuration, where samples go to endpoints.
    fn endpoint_config(&self) -> Result<Option<OpenAiConfig>> {
        let endpoints = self.endpoint_list()?;
        if endpoints.is_empty() {
            return Ok(None);
        }
        Ok(Some(OpenAiConfig {
            endpoints,
            model: self.endpoint_model.clone(),
            timeout: Duration::try_from_secs_f64(self.endpoint_timeout)
                .ok()
                .filter(|d| !d.is_zero())
                .context("--endpoint-timeout must be a positive number of seconds")?,
            retry: RetryPolicy { max_retries: self.retries, ..RetryPolicy::default() },
            health: HealthPolicy::default(),
            api_key: self.api_key.clone(),
            fixed_output: false,
        }))
    }

    fn settings(&self) -> Result<RunSettings> {
        Ok(RunSettings {
            command: super::config::effective_command(),
            model: self.model.clone(),
            suite_label: self.suite.clone().unwrap_or_else(|| "custom".into()),
            out: self.out.clone(),
            resume: self.resume.clone(),
            shard: self.shard.map(|s| s.resolve(&|name| std::env::var(name).ok())).transpose()?,
            limit: self.limit,
            max_consecutive_failures: self.max_consecutive_failures,
            concurrency: self.concurrency,
            compute: if self.cpu { ComputeDevice::Cpu } else { default_compute_device() },
            runner_options: RunnerOptions {
                encoder_cache: self.encoder_cache,
                sample_timeout: Some(
                    Duration::try_from_secs_f64(self.sample_timeout)
                        .ok()
                        .filter(|d| !d.is_zero())
                        .context("--sample-timeout must be a positive number of seconds")?,
                ),
                batch_size: self.batch_size.into(),
            },
            endpoints: self.endpoint_config()?,
            judge: match (&self.judge_endpoint, &self.judge_model) {
                (Some(endpoint), Some(model)) => {
                    Some(JudgeSettings { endpoint: endpoint.clone(), model: model.clone() })
                }
                _ => None,
            },
        })
    }
}

/// Runs `bench run`.
pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let settings = args.settings()?;
    let target = crate::session::target(&settings)?;
    let registry = TaskRegistry::with_include_paths(&args.include_path)?;
    let selection = TaskSelection {
        suite: args.suite.as_deref(),
        tasks: &args.tasks,
        prompt_profile: args.prompt_profile.as_deref(),
        model: &args.model,
        metric_profile: args.metric_profile,
        max_new_tokens: args.max_new_tokens,
    };
    let tasks = select_tasks(&registry, &selection)?;
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
        local_model: settings.endpoints.is_none(),
    };
    let plan = plan_run(&request, tasks)?;
    crate::session::run(settings, plan, target).await
}
