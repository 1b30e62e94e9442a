//! `bench bench-client`: how fast the endpoint runner itself is. It starts a fake server on
//! loopback that answers instantly with a canned stream, then drives the real endpoint runner
//! (request building, base64 images, HTTP, SSE parsing, the pool) at several concurrencies and
//! prints samples/s and the client-side latency per request. What it measures is overhead: any
//! real model is slower than the fake server.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use futures::stream::{FuturesUnordered, StreamExt};
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::Endpoint;
use smolbench_runners::{OpenAiConfig, OpenAiRunner, Runner};

use crate::serve::fake::start_canned;

/// Arguments of `bench bench-client`.
#[derive(Debug, Args)]
pub struct BenchClientArgs {
    /// Requests per concurrency level.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 32])]
    concurrency: Vec<usize>,
    /// Streamed chunks per reply.
    #[arg(long, default_value_t = 16)]
    chunks: usize,
}

/// The `q` quantile (0..=1) of sorted values, by nearest rank.
pub(super) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs the benchmark and prints one line per concurrency.
pub async fn run(args: BenchClientArgs) -> Result<ExitCode> {
    let base = start_canned(args.chunks).await.context("starting the fake server")?;
    // One real-sized document image (a synthetic DocVQA page), sent as a data URL each time.
    let rows = smolbench_datasets::fixtures::docvqa_rows(1, 5)?;
    let request = GenerationRequest {
        prompt: "What is the title of the document? Answer with a single word or phrase.".into(),
        images: vec![EncodedImage { bytes: rows[0].image_png.clone() }],
        max_new_tokens: 32,
        ..Default::default()
    };
    println!(
        "fake server {base}: {} chunks per reply, image {} bytes, {} requests per level, build: {}",
        args.chunks,
        request.images[0].bytes.len(),
        args.requests,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!(
        "{:>11} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "concurrency", "samples/s", "p50 ms", "p99 ms", "max ms", "failed"
    );
    for &concurrency in &args.concurrency {
        let concurrency = concurrency.max(1);
        let runner = OpenAiRunner::connect(OpenAiConfig {
            endpoints: vec![Endpoint::parse(&base, concurrency)?],
            model: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() },
            health: HealthPolicy::default(),
            api_key: None,
            fixed_output: false,
        })
        .await?;
        // Warm the connection pool.
        for _ in 0..concurrency.min(8) {
            let _ = runner.generate(&request).await;
        }
        let mut latencies = Vec::with_capacity(args.requests);
        let mut failed = 0usize;
        let mut started = 0usize;
        let mut in_flight = FuturesUnordered::new();
        let t0 = Instant::now();
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
                    Err(e) => {
                        failed += 1;
                        tracing::warn!("{e}");
                    }
                }
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        println!(
            "{:>11} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>7}",
            concurrency,
            args.requests as f64 / wall,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or(f64::NAN),
            failed
        );
    }
    Ok(ExitCode::SUCCESS)
}
