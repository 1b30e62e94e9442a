//! `bench serve-bench`: a load benchmark of `bench serve`. It starts the server as a child on
//! loopback, holds idle connections open against it (1,000 by default) while the endpoint runner
//! sends chat requests at a fixed concurrency (64 by default), and prints the server's resident
//! memory (idle, with the idle connections, peak under load), the client-side latency percentiles
//! (queueing included), throughput, refusals, and how many idle connections the server kept.
//! Everything is bounded: a request count, and a wall-clock limit on the whole measurement.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use futures::stream::{FuturesUnordered, StreamExt};
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::Endpoint;
use smolbench_runners::{OpenAiConfig, OpenAiRunner, Runner};

use super::bench_client::percentile;
use crate::serve::transport::raise_open_files_limit;

/// Arguments of `bench serve-bench`.
#[derive(Debug, Args)]
pub struct ServeBenchArgs {
    /// The model the server loads.
    #[arg(long, default_value = "tiny")]
    model: String,
    /// Chat requests to send.
    #[arg(long, default_value_t = 256, value_name = "N")]
    requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64, value_name = "N")]
    concurrency: usize,
    /// Idle connections held open during the load (connected, sending nothing).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    idle: usize,
    /// Tokens each request may generate.
    #[arg(long, default_value_t = 8, value_name = "N")]
    max_tokens: usize,
    /// Stop measuring after this many seconds, whatever is left.
    #[arg(long, default_value_t = 600.0, value_name = "SECS")]
    time_limit: f64,
}

/// The server child, stopped (SIGTERM, then SIGKILL) when dropped.
struct ServerChild(Child);

impl Drop for ServerChild {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    kib * 1024
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// Starts `bench serve` and reads the address it prints.
fn start_server(args: &ServeBenchArgs) -> Result<(ServerChild, String)> {
    let exe = std::env::current_exe().context("finding the bench binary")?;
    let queue = args.concurrency.max(64).to_string();
    let mut child = std::process::Command::new(exe)
        .args(["serve", "--model", &args.model, "--port", "0", "--max-queue", &queue])
        // Idle connections stay for the whole measurement.
        .args(["--header-timeout", &(args.time_limit + 60.0).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting bench serve")?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let child = ServerChild(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(300)).context("bench serve printed no address within 300 s")?;
    let url = line
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("unexpected first line from bench serve: {line}"))?
        .to_string();
    Ok((child, url))
}

/// Whether the server still holds `stream` open (no EOF, no error).
fn still_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    matches!(stream.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: ServeBenchArgs) -> Result<ExitCode> {
    let open_files = raise_open_files_limit();
    anyhow::ensure!(
        (args.idle + args.concurrency + 64) as u64 <= open_files,
        "{} idle connections need more open files than this process may have ({open_files}); raise `ulimit -n` or pass --idle",
        args.idle
    );
    let (server, url) = start_server(&args)?;
    let pid = server.0.id();
    let concurrency = args.concurrency.max(1);
    let runner = OpenAiRunner::connect(OpenAiConfig {
        endpoints: vec![Endpoint::parse(&url, concurrency)?],
        model: None,
        timeout: Duration::from_secs(300),
        retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() },
        health: HealthPolicy::default(),
        api_key: None,
        fixed_output: false,
    })
    .await?;
    let rows = smolbench_datasets::fixtures::docvqa_rows(1, 5)?;
    let request = GenerationRequest {
        system: None,
        prompt: "What is the title of the document? Answer with a single word or phrase.".into(),
        images: vec![EncodedImage { bytes: rows[0].image_png.clone() }],
        max_new_tokens: args.max_tokens,
        assistant_prefix: None,
    };
    // Warm up: the first request pays for lazy initialisation.
    runner.generate(&request).await.generation.context("the warm-up request failed")?;
    let rss_idle = rss_bytes(pid);

    let addr = url.trim_start_matches("http://").to_string();
    let idle: Vec<TcpStream> = (0..args.idle)
        .map(|_| TcpStream::connect(&addr))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("opening {} idle connections to {addr}", args.idle))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_with_idle = rss_bytes(pid);

    let peak = Arc::new(AtomicU64::new(rss_with_idle));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let mut latencies = Vec::with_capacity(args.requests);
    let mut failures: Vec<String> = Vec::new();
    let mut started = 0usize;
    let t0 = Instant::now();
    let limit = Duration::try_from_secs_f64(args.time_limit).unwrap_or(Duration::from_secs(600));
    let load = async {
        let mut in_flight = FuturesUnordered::new();
        while started < args.requests || !in_flight.is_empty() {
            while started < args.requests && in_flight.len() < concurrency {
                in_flight.push(async {
                    let t = Instant::now();
                    let reply = runner.generate(&request).await;
                    (reply, t.elapsed())
                });
                started += 1;
            }
            if let Some((reply, elapsed)) = in_flight.next().await {
                match reply.generation {
                    Ok(_) => latencies.push(elapsed.as_secs_f64() * 1e3),
                    Err(e) => failures.push(e.to_string()),
                }
            }
        }
    };
    let finished = tokio::time::timeout(limit, load).await.is_ok();
    let wall = t0.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    let kept = idle.iter().filter(|s| still_open(s)).count();
    drop(idle);
    drop(server);

    latencies.sort_by(f64::total_cmp);
    let refused = failures.iter().filter(|f| f.contains("status 429")).count();
    println!(
        "bench serve --model {} on loopback: {} requests ({} max tokens, one {}-byte image), {concurrency} concurrent, {} idle connections",
        args.model,
        args.requests,
        args.max_tokens,
        request.images[0].bytes.len(),
        args.idle
    );
    println!(
        "server RSS: {:.1} MiB idle, {:.1} MiB with the idle connections (+{:.1} KiB each), peak {:.1} MiB under load",
        mib(rss_idle),
        mib(rss_with_idle),
        rss_with_idle.saturating_sub(rss_idle) as f64 / 1024.0 / args.idle.max(1) as f64,
        mib(peak.load(Ordering::Relaxed))
    );
    println!(
        "latency (client side, queueing included): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "throughput: {:.2} requests/s over {wall:.1} s; {} ok, {} failed ({refused} refused with 429){}",
        latencies.len() as f64 / wall,
        latencies.len(),
        failures.len(),
        if finished { "" } else { "; stopped at --time-limit" }
    );
    println!("idle connections still open at the end: {kept} of {}", args.idle);
    if let Some(first) = failures.first() {
        println!("first failure: {first}");
    }
    Ok(if failures.is_empty() && finished { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
