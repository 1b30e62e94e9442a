//! `bench serve`: load a model once and answer OpenAI-compatible requests over HTTP until
//! SIGTERM or SIGINT, then drain.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::ImageOptions;
use smolbench_runners::{default_compute_device, RunnerOptions};

use crate::fixtures::{default_fixtures_root, ensure_fixtures};
use crate::local_model;
use crate::serve::admission::AdmissionLimits;
use crate::serve::guard::Access;
use crate::serve::transport::{self, Transport, TransportLimits};
use crate::serve::{RequestLimits, Routes, ServeSettings, ServeState};

/// Arguments of `bench serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The model: an alias (`bench models`) or a directory.
    #[arg(long)]
    model: String,
    /// Load the model from this directory instead of the Hugging Face cache.
    #[arg(long, value_name = "DIR")]
    model_path: Option<PathBuf>,
    /// The address to listen on (0.0.0.0 to serve other machines, which needs --api-key).
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
    /// Requests must carry `Authorization: Bearer KEY` (every route but /health).
    #[arg(long, env = "SMOLBENCH_API_KEY", hide_env_values = true, value_name = "KEY", help_heading = "Security")]
    api_key: Option<String>,
    /// Listen on a non-loopback address without an API key (anyone who reaches the port can use it).
    #[arg(long, help_heading = "Security")]
    allow_no_api_key: bool,
    /// Show where the model was loaded from (local paths) in /v1/metrics.
    #[arg(long, help_heading = "Security")]
    show_paths: bool,
    /// Chat requests admitted at once (running or waiting for the engine); more get 429 with Retry-After
    /// [default: 64, or --batch-size where that is larger].
    #[arg(long, value_name = "N", help_heading = "Limits")]
    max_queue: Option<usize>,
    /// Largest request body, in MiB (images travel base64-encoded in it); larger ones get 413.
    #[arg(long, default_value_t = 32, value_name = "MIB", help_heading = "Limits")]
    max_body_mb: usize,
    /// Request bodies the admitted requests may hold together, in MiB; beyond, 429.
    #[arg(long, default_value_t = 512, value_name = "MIB", help_heading = "Limits")]
    max_queued_body_mb: usize,
    /// Pixels a request's images may decode to, together, read from their headers before decoding;
    /// beyond, 413.
    #[arg(long, default_value_t = 64_000_000, value_name = "N", help_heading = "Limits")]
    max_pixels: u64,
    /// Seconds a client has to send a request head (also the idle time of a kept-alive connection).
    #[arg(long, default_value_t = 10.0, value_name = "SECS", help_heading = "Limits")]
    header_timeout: f64,
    /// Connections open at once [default: the open-files limit less 64].
    #[arg(long, value_name = "N", help_heading = "Limits")]
    max_connections: Option<usize>,
    /// On SIGTERM or SIGINT, seconds the requests in flight get to finish (a second signal stops at once).
    #[arg(long, default_value_t = 30.0, value_name = "SECS", help_heading = "Limits")]
    drain_timeout: f64,
    /// A request that gets no token from the engine for this long fails, and the engine is reloaded.
    #[arg(long, default_value_t = 300.0, value_name = "SECS", help_heading = "Limits")]
    sample_timeout: f64,
    /// Sequences the engine runs together (its scheduler's `max_num_seqs`), as `bench run --batch-size`.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch_size: u16,
}

fn seconds(value: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag} must be a positive number of seconds"))
}

/// Resolves on the next SIGTERM or SIGINT (never, where they cannot be watched).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Runs `bench serve` until SIGTERM or SIGINT, then drains.
pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let loopback = match args.host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => args.host.eq_ignore_ascii_case("localhost"),
    };
    if !loopback && args.api_key.is_none() && !args.allow_no_api_key {
        anyhow::bail!(
            "--host {} serves other machines: set an API key with --api-key KEY (or SMOLBENCH_API_KEY), or pass --allow-no-api-key",
            args.host
        );
    }
    let fixtures_root = args.fixtures.clone().unwrap_or_else(default_fixtures_root);
    if args.model_path.is_none() && args.model.eq_ignore_ascii_case("tiny") {
        ensure_fixtures(&fixtures_root, false)?;
    }
    let resolved = local_model::resolve(&args.model, args.model_path.as_deref(), &fixtures_root)?;
    let image = ImageOptions { splitting: args.image_splitting, longest_edge: args.longest_edge };
    let model = local_model::prepare(resolved, &args.model, image, false)?;
    let batch_size = usize::from(args.batch_size);
    let max_queue = match args.max_queue {
        Some(n) => n.max(1),
        None => batch_size.max(64),
    };
    if max_queue < batch_size {
        anyhow::bail!(
            "--max-queue {max_queue} admits fewer requests than --batch-size {batch_size} runs together; raise --max-queue to at least {batch_size}"
        );
    }
    let header_timeout = seconds(args.header_timeout, "--header-timeout")?;
    let drain_timeout = seconds(args.drain_timeout, "--drain-timeout")?;
    let sample_timeout = seconds(args.sample_timeout, "--sample-timeout")?;
    let open_files = transport::raise_open_files_limit();
    let compute = if args.cpu { ComputeDevice::Cpu } else { default_compute_device() };
    // Bind before loading, so a taken port fails at once.
    let addr = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}; choose another --port or --host"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let options = RunnerOptions { encoder_cache: args.encoder_cache, sample_timeout: Some(sample_timeout), batch_size };
    let loaded = model.load(compute, options).await?;
    let model_id = args.served_model_name.clone().unwrap_or_else(|| args.model.clone());
    let settings = ServeSettings {
        access: Access::new(args.api_key.as_deref(), loopback),
        admission: AdmissionLimits {
            max_queue,
            engine_batch: batch_size,
            max_queued_bytes: args.max_queued_body_mb.saturating_mul(1 << 20),
        },
        limits: RequestLimits { max_body_bytes: args.max_body_mb.saturating_mul(1 << 20), max_pixels: args.max_pixels },
        show_paths: args.show_paths,
    };
    let limits = TransportLimits {
        header_timeout,
        max_connections: args.max_connections.unwrap_or_else(|| transport::default_max_connections(open_files)),
        drain_timeout,
    };
    let transport = Arc::new(Transport::default());
    let state = Arc::new(ServeState::new(
        loaded.runner,
        model_id.clone(),
        loaded.record,
        model.prepared.tokens_per_image,
        settings,
        transport.clone(),
    ));
    // One line on stdout that scripts (and tests) read for the address.
    println!("listening on http://{local} (model `{model_id}` on {compute})");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    tracing::info!(
        "at most {} connections, {} admitted requests; request heads within {:.0} s",
        limits.max_connections,
        max_queue,
        header_timeout.as_secs_f64()
    );
    let routes = Arc::new(Routes(state));
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        stop_signal().await;
        eprintln!(
            "stopping: no new connections; finishing the requests in flight (at most {:.0} s)",
            drain_timeout.as_secs_f64()
        );
        let _ = signalled_tx.send(());
    };
    let force = async move {
        let _ = signalled_rx.await;
        stop_signal().await;
    };
    transport::serve(listener, routes, limits, transport, shutdown, force).await;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}
