//! The endpoint sweep: the same workload sent to OpenAI-compatible servers at fixed concurrency
//! levels, or at request rates (Poisson arrivals, capped in flight), as `vllm bench serve` does,
//! so `bench serve`, vLLM or any other server can be compared on one workload. Memory is what
//! the server reports with its replies (SmolBench's server does); others report none.

use std::time::Duration;

use anyhow::Result;
use smolbench_core::perf::PerfLevel;
use smolbench_core::GenerationRequest;
use smolbench_runners::openai::pool::HealthPolicy;
use smolbench_runners::openai::retry::RetryPolicy;
use smolbench_runners::openai::Endpoint;
use smolbench_runners::{OpenAiConfig, OpenAiRunner};

use super::sweep::{level_record, pass, reported_memory, Pacing};

/// How the levels of an endpoint sweep are set.
#[derive(Debug, Clone, PartialEq)]
pub enum Levels {
    /// Requests in flight, one level each.
    Concurrency(Vec<usize>),
    /// Requests per second (`f64::INFINITY`: all at once), capped at `max_in_flight`.
    Rate { rates: Vec<f64>, max_in_flight: usize },
}

/// Settings of an endpoint sweep.
#[derive(Debug, Clone)]
pub struct RemoteSweep {
    /// Base URLs.
    pub endpoints: Vec<String>,
    /// The `model` to send (default: the first served).
    pub model: Option<String>,
    /// Levels.
    pub levels: Levels,
    /// Reply timeout.
    pub timeout: Duration,
    /// Bearer token.
    pub api_key: Option<String>,
    /// Send `ignore_eos`/`min_tokens` so every reply has the full budget.
    pub fixed_output: bool,
    /// Unmeasured passes per level, each over the first `2 x in-flight` requests (at least 4).
    pub warmup: usize,
    /// Measured passes per level.
    pub repeats: usize,
    /// Seed of the arrival times.
    pub seed: u64,
}

/// What the endpoints said about themselves, for perf.json.
#[derive(Debug, Clone)]
pub struct Served {
    /// The model id sent.
    pub model: String,
    /// The endpoints' engine description.
    pub engine: String,
}

/// Runs the sweep; returns the levels and what was served.
pub async fn run(sweep: &RemoteSweep, requests: &[GenerationRequest]) -> Result<(Vec<PerfLevel>, Served)> {
    let plan: Vec<(Option<f64>, usize, Option<f64>)> = match &sweep.levels {
        Levels::Concurrency(levels) => levels.iter().map(|&c| (Some(c as f64), c, None)).collect(),
        Levels::Rate { rates, max_in_flight } => {
            rates.iter().map(|&r| (r.is_finite().then_some(r), *max_in_flight, Some(r))).collect()
        }
    };
    let mut levels = Vec::new();
    let mut served = None;
    for (level, in_flight, rate) in plan {
        // Each endpoint may take the whole level's requests; the pacing sets how many are sent.
        let endpoints = sweep.endpoints.iter().map(|e| Endpoint::parse(e, in_flight)).collect::<Result<Vec<_>, _>>()?;
        let runner = OpenAiRunner::connect(OpenAiConfig {
            endpoints,
            model: sweep.model.clone(),
            timeout: sweep.timeout,
            retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() },
            health: HealthPolicy::default(),
            api_key: sweep.api_key.clone(),
            fixed_output: sweep.fixed_output,
        })
        .await?;
        served.get_or_insert_with(|| Served {
            model: runner.model().to_string(),
            engine: smolbench_runners::Runner::describe(&runner).engine,
        });
        let pacing = Pacing { max_in_flight: in_flight, rate, seed: sweep.seed };
        let warm = &requests[..requests.len().min((2 * in_flight).max(4))];
        for _ in 0..sweep.warmup {
            pass(&runner, warm, Pacing { rate: None, ..pacing }).await;
        }
        let mut passes = Vec::with_capacity(sweep.repeats);
        for _ in 0..sweep.repeats.max(1) {
            passes.push(pass(&runner, requests, pacing).await);
        }
        let memory = reported_memory(&passes).into_iter().collect();
        let record = level_record(level, in_flight, &passes, memory);
        eprintln!(
            "level {}: {:.2} samples/s, {:.1} output tokens/s",
            level.map_or("inf".to_string(), |l| l.to_string()),
            record.samples_per_s,
            record.output_tokens_per_s
        );
        levels.push(record);
    }
    let served = served.unwrap_or(Served { model: String::new(), engine: String::new() });
    Ok((levels, served))
}
