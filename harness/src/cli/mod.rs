//! The command line: one module per subcommand, each turning its arguments into work.

mod fetch;
mod fixtures;
mod models;
mod rescore;
mod run;
mod sample_frames;
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
    /// More log output (-v: info from every crate, -vv: debug). SMOLBENCH_LOG overrides.
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
    /// Download a model into the Hugging Face cache.
    Fetch(fetch::FetchArgs),
    /// List the model aliases and whether each is present locally.
    Models,
    /// List the built-in tasks and whether their data is present locally.
    Tasks(tasks::TasksArgs),
    /// Recompute a run's scores from its stored predictions, without a model.
    Rescore(rescore::RescoreArgs),
    /// Sample a video's frames as the video tasks do and print the sampler's speed.
    SampleFrames(sample_frames::SampleFramesArgs),
}

/// Runs a subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Fixtures(args) => fixtures::run(args),
        Command::Fetch(args) => fetch::run(args).await,
        Command::Models => models::run(),
        Command::Tasks(args) => tasks::run(args),
        Command::Rescore(args) => rescore::run(args),
        Command::SampleFrames(args) => sample_frames::run(args),
    }
}
