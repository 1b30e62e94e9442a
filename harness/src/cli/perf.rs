//! `bench perf`: a performance sweep. Turns the arguments into a workload and a list of levels,
//! runs the sweep in-process (batch sizes) or against endpoints (concurrency or request rate),
//! prints the table and writes perf.json.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_core::perf::{PerfResult, PerfWorkload, PERF_FORMAT_VERSION};
use smolbench_runners::device::{fingerprint, ComputeDevice};
use smolbench_runners::model::{image_options_for, prepare_model_dir_with, resolve_model, ImageOptions};
use smolbench_runners::{default_compute_device, ENGINE};
use smolbench_tasks::builtin_task;

use crate::fixtures::{default_fixtures_root, ensure_fixtures};
use crate::perf::local::LocalSweep;
use crate::perf::remote::{Levels, RemoteSweep};
use crate::perf::workload::{self, ImageSize};
use crate::plan::{plan_run, PlanRequest};

/// Arguments of `bench perf`.
#[derive(Debug, Args)]
pub struct PerfArgs {
    /// The model: an alias (`bench models`) or a directory; with --endpoint, only its name.
    #[arg(long)]
    model: String,
    /// Load the model from this directory instead of the Hugging Face cache.
    #[arg(long, value_name = "DIR")]
    model_path: Option<PathBuf>,
    /// Workload: the first --samples samples of this task instead of synthetic images.
    #[arg(long, value_name = "NAME", conflicts_with = "synthetic")]
    task: Option<String>,
    /// Workload: synthetic images of these sizes (WIDTHxHEIGHT, comma-separated, cycled), one
    /// per request, each distinct.
    #[arg(long, value_delimiter = ',', value_name = "WxH", default_value = "512x512")]
    synthetic: Vec<ImageSize>,
    /// Words in the synthetic prompt (about one token each for SmolVLM; perf.json records the
    /// prompt tokens the engine counted).
    #[arg(long, default_value_t = 32, value_name = "N")]
    prompt_tokens: usize,
    /// New tokens each request asks for (also with --task).
    #[arg(long, default_value_t = 32, value_name = "N")]
    output_tokens: usize,
    /// Requests per pass over the workload.
    #[arg(long, default_value_t = 64, value_name = "N")]
    samples: usize,
    /// In-process batch sizes (the engine's scheduler limit and the requests in flight).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 4, 8, 16, 32, 64], value_name = "N,...")]
    batch_sizes: Vec<usize>,
    /// Unmeasured warm-up passes per level.
    #[arg(long, default_value_t = 1, value_name = "N")]
    warmup: usize,
    /// Measured passes over the workload per level.
    #[arg(long, default_value_t = 3, value_name = "N")]
    repeats: usize,
    /// Run on the CPU even in a CUDA build.
    #[arg(long)]
    cpu: bool,
    /// Read the task's data from DIR/<org>/<name>/ instead of the cache (synthetic fixtures for `tiny`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where the tiny model and synthetic data live [default: $SMOLBENCH_HOME/fixtures].
    #[arg(long, value_name = "DIR", hide = true)]
    fixtures: Option<PathBuf>,
    /// The directory to write perf.json to [default: runs/perf-<time>-<model>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Sweep this OpenAI-compatible server instead of loading the model here; repeatable.
    #[arg(long = "endpoint", value_name = "URL", help_heading = "Endpoints")]
    endpoints: Vec<String>,
    /// The `model` id to send [default: the first id of /v1/models].
    #[arg(long, value_name = "ID", help_heading = "Endpoints")]
    endpoint_model: Option<String>,
    /// Concurrency levels [default: the batch sizes].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "N,...",
        conflicts_with = "request_rate",
        help_heading = "Endpoints"
    )]
    concurrency: Vec<usize>,
    /// Request rates per second (Poisson arrivals; `inf` sends all at once) instead of concurrency levels.
    #[arg(long, value_delimiter = ',', value_name = "R,...", help_heading = "Endpoints")]
    request_rate: Vec<f64>,
    /// Requests in flight at most in request-rate mode.
    #[arg(long, default_value_t = 256, value_name = "N", help_heading = "Endpoints")]
    max_concurrency: usize,
    /// Ask servers for exactly --output-tokens tokens (`ignore_eos`, `min_tokens`: vLLM honours them).
    #[arg(long, value_name = "on|off", value_parser = super::run::parse_on_off, default_value = "on", action = clap::ArgAction::Set, help_heading = "Endpoints")]
    fixed_output: bool,
    /// Seconds to wait for a reply to start, and between two pieces of a streamed reply.
    #[arg(long, default_value_t = 300.0, value_name = "SECS", help_heading = "Endpoints")]
    endpoint_timeout: f64,
    /// Seed of the request-rate arrivals.
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = "Endpoints")]
    seed: u64,
    /// Bearer token sent to the endpoints.
    #[arg(long, env = "SMOLBENCH_API_KEY", hide_env_values = true, value_name = "KEY", help_heading = "Endpoints")]
    api_key: Option<String>,
}

/// Runs `bench perf`.
pub async fn run(args: PerfArgs) -> Result<ExitCode> {
    anyhow::ensure!(args.samples > 0, "--samples must be at least 1");
    anyhow::ensure!(
        args.batch_sizes.iter().chain(&args.concurrency).all(|&b| b > 0),
        "batch sizes and concurrency levels must be at least 1"
    );
    anyhow::ensure!(
        args.request_rate.iter().all(|&r| r > 0.0),
        "request rates must be positive (`inf` for all at once)"
    );
    let started = chrono::Utc::now();
    let local = args.endpoints.is_empty();
    let fixtures_root = args.fixtures.clone().unwrap_or_else(default_fixtures_root);
    let hub = smolbench_core::hf_hub_dir();
    let tiny = args.model.eq_ignore_ascii_case("tiny") && args.model_path.is_none();
    if tiny {
        ensure_fixtures(&fixtures_root, false)?;
    }

    // The workload.
    let (requests, kind, description) = match &args.task {
        Some(name) => {
            let request = PlanRequest {
                model_name: &args.model,
                model_path: args.model_path.as_deref(),
                data_dir: args.data_dir.as_deref(),
                limit: Some(args.samples),
                fixtures_root: &fixtures_root,
                strict: true,
                lock_file: None,
                image: ImageOptions::default(),
                local_model: false,
            };
            let plan = plan_run(&request, vec![builtin_task(name)?])?;
            let planned = &plan.tasks[0];
            let requests = workload::from_task(planned, args.output_tokens)?;
            (requests, format!("task:{name}"), format!("the first {} samples of {name}", planned.selected))
        }
        None => {
            let sizes: Vec<String> = args.synthetic.iter().map(ToString::to_string).collect();
            let requests = workload::synthetic(&args.synthetic, args.prompt_tokens, args.output_tokens, args.samples)?;
            let description = format!("synthetic images {} with a {}-word prompt", sizes.join(","), args.prompt_tokens);
            (requests, "synthetic".to_string(), description)
        }
    };
    let output_length = if local {
        format!(
            "budget {} tokens; {ENGINE} cannot ignore end-of-sequence (its SDK fixes disable_eos_stop off and ignores logits_bias), so replies that stop early are counted (early_stops)",
            args.output_tokens
        )
    } else if args.fixed_output {
        format!(
            "{} tokens asked with ignore_eos and min_tokens (servers that ignore them may stop early)",
            args.output_tokens
        )
    } else {
        format!("budget {} tokens; end-of-sequence stops a reply", args.output_tokens)
    };
    let workload =
        PerfWorkload { kind, description, samples: requests.len(), max_new_tokens: args.output_tokens, output_length };

    let (mode, levels, model, engine, dtype, device) = if local {
        let resolved = resolve_model(&args.model, args.model_path.as_deref(), &hub, &fixtures_root)?;
        let image = image_options_for(&args.model, ImageOptions::default());
        let prepared =
            prepare_model_dir_with(&resolved.dir, &smolbench_core::smolbench_home().join("prepared"), image)?;
        let compute = if args.cpu { ComputeDevice::Cpu } else { default_compute_device() };
        let sweep = LocalSweep {
            prepared: &prepared,
            compute,
            batch_sizes: &args.batch_sizes,
            warmup: args.warmup,
            repeats: args.repeats,
        };
        let (levels, dtype) = crate::perf::local::run(&sweep, &requests).await?;
        ("batch", levels, args.model.clone(), ENGINE.to_string(), dtype, fingerprint(compute))
    } else {
        let levels = if args.request_rate.is_empty() {
            let c = if args.concurrency.is_empty() { args.batch_sizes.clone() } else { args.concurrency.clone() };
            Levels::Concurrency(c)
        } else {
            Levels::Rate { rates: args.request_rate.clone(), max_in_flight: args.max_concurrency.max(1) }
        };
        let mode = if matches!(levels, Levels::Rate { .. }) { "rate" } else { "concurrency" };
        let sweep = RemoteSweep {
            endpoints: args.endpoints.clone(),
            model: args.endpoint_model.clone(),
            levels,
            timeout: Duration::try_from_secs_f64(args.endpoint_timeout)
                .ok()
                .filter(|d| !d.is_zero())
                .context("--endpoint-timeout must be a positive number of seconds")?,
            api_key: args.api_key.clone(),
            fixed_output: args.fixed_output,
            warmup: args.warmup,
            repeats: args.repeats,
            seed: args.seed,
        };
        let (levels, served) = crate::perf::remote::run(&sweep, &requests).await?;
        let mut device = fingerprint(ComputeDevice::Cpu);
        device.compute = "remote".into();
        (mode, levels, format!("{} (served as {})", args.model, served.model), served.engine, String::new(), device)
    };
    let result = PerfResult {
        format_version: PERF_FORMAT_VERSION,
        started_at: started.to_rfc3339(),
        command: std::env::args().collect(),
        model,
        engine,
        dtype,
        mode: mode.to_string(),
        endpoints: args.endpoints.clone(),
        device,
        workload,
        warmup: args.warmup,
        repeats: args.repeats.max(1),
        levels,
    };
    let tag: String = args.model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("perf-{}-{tag}", started.format("%Y%m%dT%H%M%S"))));
    crate::perf::write(&out, &result)?;
    print!("{}", crate::perf::render_table(&result));
    println!("wrote {}", out.join(smolbench_core::perf::PERF_FILE).display());
    Ok(ExitCode::SUCCESS)
}
