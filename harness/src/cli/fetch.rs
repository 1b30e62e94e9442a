//! `bench fetch MODEL`: download a model's files into the Hugging Face cache.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Arguments of `bench fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// A model alias (see `bench models`).
    model: String,
    /// Give up on an unanswered network step after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

/// Downloads the model and prints its snapshot directory.
pub async fn run(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    let dir = smolbench_runners::model::fetch_model(&args.model, &hub, Duration::from_secs(args.timeout)).await?;
    println!("{}", dir.display());
    Ok(ExitCode::SUCCESS)
}
