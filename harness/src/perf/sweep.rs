//! Driving a runner through one level of a sweep: warm-up passes, then measured passes over the
//! workload with a fixed number of requests in flight, or with requests arriving at a given rate
//! (Poisson arrivals, as `vllm bench serve --request-rate` sends them), capped in flight.

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use smolbench_core::perf::{DevicePeak, LatencyPercentiles, PerfLevel, PerfRepeat};
use smolbench_core::{FinishReason, Generation, GenerationRequest, MemoryReading};
use smolbench_runners::Runner;

/// How requests are sent during a pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Requests in flight at most.
    pub max_in_flight: usize,
    /// Requests per second (Poisson arrivals); `None`: a new request as soon as one finishes.
    pub rate: Option<f64>,
    /// Seed of the arrival times.
    pub seed: u64,
}

/// What one request gave.
#[derive(Debug)]
struct Answer {
    generation: Result<Generation, String>,
    memory: Option<MemoryReading>,
}

/// One pass: every request once.
#[derive(Debug, Default)]
pub struct Pass {
    answers: Vec<Answer>,
    wall: Duration,
}

/// A small deterministic generator for arrival gaps (SplitMix64).
struct Arrivals(u64);

impl Arrivals {
    /// The next gap of a Poisson process of `rate` per second.
    fn next_gap(&mut self, rate: f64) -> Duration {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        Duration::from_secs_f64(-u.ln() / rate)
    }
}

/// Sends every request of `requests` once, paced by `pacing`.
pub async fn pass<R: Runner>(runner: &R, requests: &[GenerationRequest], pacing: Pacing) -> Pass {
    let max_in_flight = pacing.max_in_flight.max(1);
    let mut arrivals = Arrivals(pacing.seed);
    let mut answers = Vec::with_capacity(requests.len());
    let mut in_flight = FuturesUnordered::new();
    let start = Instant::now();
    let mut next_arrival = start;
    let mut sent = 0;
    while sent < requests.len() || !in_flight.is_empty() {
        let may_send = sent < requests.len() && in_flight.len() < max_in_flight;
        let due = match pacing.rate {
            Some(rate) if may_send && rate.is_finite() => {
                let now = Instant::now();
                if now < next_arrival {
                    // Wait for the arrival, taking replies that come meanwhile.
                    let wait = tokio::time::sleep(next_arrival - now);
                    tokio::pin!(wait);
                    tokio::select! {
                        _ = &mut wait => {}
                        Some(answer) = in_flight.next(), if !in_flight.is_empty() => answers.push(answer),
                    }
                    continue;
                }
                next_arrival += arrivals.next_gap(rate);
                true
            }
            _ => may_send,
        };
        if due {
            let request = &requests[sent];
            in_flight.push(async move {
                let reply = runner.generate(request).await;
                Answer { generation: reply.generation.map_err(|e| e.to_string()), memory: reply.memory }
            });
            sent += 1;
            continue;
        }
        if let Some(answer) = in_flight.next().await {
            answers.push(answer);
        }
    }
    Pass { answers, wall: start.elapsed() }
}

impl Pass {
    /// This pass's throughput and medians.
    pub fn repeat(&self) -> PerfRepeat {
        let ok: Vec<&Generation> = self.answers.iter().filter_map(|a| a.generation.as_ref().ok()).collect();
        let wall_s = self.wall.as_secs_f64().max(1e-9);
        let output_tokens = ok.iter().map(|g| g.completion_tokens).sum();
        let e2e: Vec<f64> = ok.iter().map(|g| g.e2e_ms).collect();
        let ttft: Vec<f64> = ok.iter().map(|g| g.ttft_ms).collect();
        PerfRepeat {
            wall_s,
            samples: ok.len(),
            failed: self.answers.len() - ok.len(),
            output_tokens,
            samples_per_s: ok.len() as f64 / wall_s,
            output_tokens_per_s: output_tokens as f64 / wall_s,
            e2e_p50_ms: LatencyPercentiles::of(&e2e).p50,
            ttft_p50_ms: LatencyPercentiles::of(&ttft).p50,
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A level's record from its measured passes; `memory` and the engine's batches are the
/// caller's (they depend on where the model runs).
pub fn level_record(level: Option<f64>, max_in_flight: usize, passes: &[Pass], memory: Vec<DevicePeak>) -> PerfLevel {
    let repeats: Vec<PerfRepeat> = passes.iter().map(Pass::repeat).collect();
    let answers = passes.iter().flat_map(|p| p.answers.iter());
    let ok: Vec<&Generation> = answers.clone().filter_map(|a| a.generation.as_ref().ok()).collect();
    let first_error = answers.clone().find_map(|a| a.generation.as_ref().err().cloned());
    let failed = answers.filter(|a| a.generation.is_err()).count();
    let tokens: Vec<usize> = ok.iter().map(|g| g.completion_tokens).collect();
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    PerfLevel {
        level,
        max_in_flight,
        samples_per_s: median(repeats.iter().map(|r| r.samples_per_s).collect()),
        output_tokens_per_s: median(repeats.iter().map(|r| r.output_tokens_per_s).collect()),
        repeats,
        ttft_ms: LatencyPercentiles::of(&ok.iter().map(|g| g.ttft_ms).collect::<Vec<_>>()),
        e2e_ms: LatencyPercentiles::of(&ok.iter().map(|g| g.e2e_ms).collect::<Vec<_>>()),
        mean_prompt_tokens: mean(&ok.iter().map(|g| g.prompt_tokens as f64).collect::<Vec<_>>()),
        output_tokens_min: tokens.iter().copied().min().unwrap_or(0),
        output_tokens_mean: mean(&tokens.iter().map(|&t| t as f64).collect::<Vec<_>>()),
        output_tokens_max: tokens.iter().copied().max().unwrap_or(0),
        early_stops: ok.iter().filter(|g| g.finish_reason == FinishReason::Stop).count(),
        failed,
        first_error,
        load_s: None,
        memory,
        engine_batches: None,
    }
}

/// The peak memory the replies of `passes` carried (an endpoint's own report), as one device.
pub fn reported_memory(passes: &[Pass]) -> Option<DevicePeak> {
    let peak = passes.iter().flat_map(|p| p.answers.iter()).filter_map(|a| a.memory).max_by_key(|m| m.peak_bytes)?;
    Some(DevicePeak {
        device: "server".into(),
        name: format!("{:?}", peak.source),
        peak_bytes: peak.peak_bytes,
        source: "server_reported".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_gaps_average_the_inverse_rate() {
        let mut arrivals = Arrivals(7);
        let n = 20_000;
        let total: f64 = (0..n).map(|_| arrivals.next_gap(4.0).as_secs_f64()).sum();
        let mean = total / n as f64;
        assert!((mean - 0.25).abs() < 0.01, "mean gap {mean}");
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
