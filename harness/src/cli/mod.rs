//! The command line: one module per subcommand, each turning its arguments into work.

mod bench_client;
mod bench_preprocess;
pub mod config;
mod diff;
mod export;
mod fetch;
mod fixtures;
mod gate;
mod import;
mod lock;
mod merge;
mod models;
mod perf;
mod plan;
mod report;
mod rescore;
mod run;
mod sample_frames;
mod serve;
mod serve_bench;
mod tasks;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Evaluate and benchmark small vision-language models (SmolVLM, SmolVLM2).";

const LONG_ABOUT: &str = "Evaluate and benchmark small vision-language models (SmolVLM, SmolVLM2).

Runs a model in-process through mistral.rs over benchmark tasks and records, for every sample,
the prediction, its score and how it was extracted, time to first token, end-to-end latency,
decode speed, token counts and peak memory. Each run is a directory with run.json,
samples.jsonl and summary.json.

Start here (no downloads needed; uses the generated tiny model and synthetic data):
    bench run --suite image --model tiny

With real weights and data (see `bench models` and `bench fetch`):
    bench run --suite image --model 256m --data-dir /data/hf";

/// `bench`'s arguments.
#[derive(Debug, Parser)]
#[command(name = "bench", version, about = ABOUT, long_about = LONG_ABOUT, propagate_version = true)]
pub struct Cli {
    /// More log output (-v: info from every crate, -vv: debug). SMOLBENCH_LOG, else RUST_LOG,
    /// overrides (an EnvFilter, e.g. `RUST_LOG=debug`).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a model over a suite or tasks and record every sample.
    Run(run::RunArgs),
    /// Write the embedded default: the tiny model and the synthetic data sets.
    Fixtures(fixtures::FixturesArgs),
    /// Download a model, or tasks' data sets at their locked revision, into the Hugging Face cache.
    Fetch(fetch::FetchArgs),
    /// Pin the local data of tasks: paths, sizes and SHA-256 into a data lock.
    Lock(lock::LockArgs),
    /// List the model aliases and whether each is present locally.
    Models,
    /// List the built-in tasks and whether their data is present locally.
    Tasks(tasks::TasksArgs),
    /// Recompute a run's scores from its stored predictions, without a model.
    Rescore(rescore::RescoreArgs),
    /// Combine the parts of a sharded run (`bench run --shard`) into one run directory.
    Merge(merge::MergeArgs),
    /// Write a Slurm job array or a Kubernetes Indexed Job that runs one run as N shards.
    Plan(plan::PlanArgs),
    /// Render a static HTML report (pages and PNG charts) for one or more runs.
    Report(report::ReportArgs),
    /// Compare a candidate run with a baseline run; exit 1 on a regression, 2 on unusable input.
    Gate(gate::GateArgs),
    /// Bring another harness's predictions (lmms-eval, VLMEvalKit, official MMMU/MathVista) in as a run directory.
    Import(import::ImportArgs),
    /// Compare two runs sample by sample: where prompts, predictions, extractions and scores differ, and why.
    Diff(diff::DiffArgs),
    /// Write a run's per-sample and per-task tables as CSV or parquet, or lmms-eval's results layout.
    Export(export::ExportArgs),
    /// Serve a model over an OpenAI-compatible HTTP API (an endpoint for `bench run --endpoint`).
    Serve(serve::ServeArgs),
    /// Load-test `bench serve` on loopback: RSS and latency percentiles with concurrent requests
    /// and idle connections held open.
    ServeBench(serve_bench::ServeBenchArgs),
    /// Sweep batch sizes (in-process) or concurrency and request rates (endpoints): throughput,
    /// latency, peak memory per device and the batches the engine ran, into perf.json.
    Perf(perf::PerfArgs),
    /// Measure the endpoint runner's own overhead against an instant fake server.
    #[command(hide = true)]
    BenchClient(bench_client::BenchClientArgs),
    /// Sample a video's frames as the video tasks do and print the sampler's speed.
    SampleFrames(sample_frames::SampleFramesArgs),
    /// Time SmolBench's image preprocessing beside Pillow doing the same resizes.
    BenchPreprocess(bench_preprocess::BenchPreprocessArgs),
    /// Time the in-process engine end to end per image, beside transformers when given one.
    BenchE2e(bench_preprocess::BenchE2eArgs),
}

/// Runs a subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Fixtures(args) => fixtures::run(args),
        Command::Fetch(args) => fetch::run(args).await,
        Command::Lock(args) => lock::run(args),
        Command::Models => models::run(),
        Command::Tasks(args) => tasks::run(args),
        Command::Rescore(args) => rescore::run(args).await,
        Command::Merge(args) => merge::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Report(args) => report::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Import(args) => import::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Export(args) => export::run(args),
        Command::Serve(args) => serve::run(args).await,
        Command::ServeBench(args) => serve_bench::run(args).await,
        Command::Perf(args) => perf::run(args).await,
        Command::BenchClient(args) => bench_client::run(args).await,
        Command::SampleFrames(args) => sample_frames::run(args),
        Command::BenchPreprocess(args) => bench_preprocess::run(args),
        Command::BenchE2e(args) => bench_preprocess::run_e2e(args).await,
    }
}
