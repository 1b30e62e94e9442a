//! `bench serve`: load a model once and answer OpenAI-compatible requests over HTTP.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::ImageOptions;
use smolbench_runners::{default_compute_device, RunnerOptions};

use crate::fixtures::{default_fixtures_root, ensure_fixtures};
use crate::local_model;
use crate::serve::{http, Routes, ServeState};

/// Arguments of `bench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model: an alias (`bench models`) or a directory.
    #[arg(long)]
    model: String,
    /// Load the model from this directory instead of the Hugging Face cache.
    #[arg(long, value_name = "DIR")]
    model_path: Option<PathBuf>,
    /// The address to listen on (0.0.0.0 to serve other machines).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (0: any free port; the address is printed on stdout).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The id `/v1/models` lists [default: the --model value].
    #[arg(long, value_name = "ID")]
    served_model_name: Option<String>,
    /// Run on the CPU even in a CUDA build.
    #[arg(long)]
    cpu: bool,
    /// Where the tiny model lives [default: $SMOLBENCH_HOME/fixtures].
    #[arg(long, value_name = "DIR", hide = true)]
    fixtures: Option<PathBuf>,
    /// Image splitting, as `bench run --image-splitting` [default: the model's, as `bench run`].
    #[arg(long, value_name = "on|off", value_parser = super::run::parse_on_off)]
    image_splitting: Option<bool>,
    /// Resize images to this longest edge before splitting, as `bench run --longest-edge`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    longest_edge: Option<u32>,
    /// Keep the engine's vision-encoder cache on, as `bench run --encoder-cache`.
    #[arg(long, value_name = "on|off", value_parser = super::run::parse_on_off, default_value = "off", action = clap::ArgAction::Set)]
    encoder_cache: bool,
    /// Sequences the engine runs together (its scheduler's `max_num_seqs`), as `bench run --batch-size`.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch_size: u16,
}

/// Runs `bench serve` until it is killed.
pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let fixtures_root = args.fixtures.clone().unwrap_or_else(default_fixtures_root);
    if args.model_path.is_none() && args.model.eq_ignore_ascii_case("tiny") {
        ensure_fixtures(&fixtures_root, false)?;
    }
    let resolved = local_model::resolve(&args.model, args.model_path.as_deref(), &fixtures_root)?;
    let image = ImageOptions { splitting: args.image_splitting, longest_edge: args.longest_edge };
    let model = local_model::prepare(resolved, &args.model, image, false)?;
    let compute = if args.cpu { ComputeDevice::Cpu } else { default_compute_device() };
    // Bind before loading, so a taken port fails at once.
    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}; choose another --port or --host"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let loaded = model
        .load(compute, RunnerOptions { encoder_cache: args.encoder_cache, batch_size: args.batch_size.into() })
        .await?;
    let model_id = args.served_model_name.clone().unwrap_or_else(|| args.model.clone());
    let state =
        Arc::new(ServeState::new(loaded.runner, model_id.clone(), loaded.record, model.prepared.tokens_per_image));
    // One line on stdout that scripts (and tests) read for the address.
    println!("listening on http://{local} (model `{model_id}` on {compute})");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    http::serve(listener, Arc::new(Routes(state))).await.with_context(|| format!("serving on {local}"))?;
    Ok(ExitCode::SUCCESS)
}
