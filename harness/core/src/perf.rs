//! The records of a performance sweep (`bench perf`): one `perf.json` per sweep, one
//! [`PerfLevel`] per batch size, concurrency or request rate.
//!
//! A level holds the throughput of each repeat (so a comparison can see the noise), latency
//! percentiles over every measured request, the peak memory of each device, and the batches the
//! engine's scheduler really ran.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::DeviceFingerprint;

/// Version of `perf.json`'s layout.
pub const PERF_FORMAT_VERSION: u32 = 1;

/// The file a sweep writes.
pub const PERF_FILE: &str = "perf.json";

/// Forward passes per batch size (sequences the engine ran together), for prompt (prefill) and
/// decode passes, as the engine's scheduler reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineBatches {
    /// Prompt passes: batch size -> passes.
    pub prompt: BTreeMap<usize, u64>,
    /// Decode passes: batch size -> passes.
    pub decode: BTreeMap<usize, u64>,
}

impl EngineBatches {
    /// No passes.
    pub const fn new() -> Self {
        EngineBatches { prompt: BTreeMap::new(), decode: BTreeMap::new() }
    }

    /// The passes counted after `earlier` was taken.
    pub fn since(&self, earlier: &EngineBatches) -> EngineBatches {
        fn diff(now: &BTreeMap<usize, u64>, then: &BTreeMap<usize, u64>) -> BTreeMap<usize, u64> {
            now.iter()
                .filter_map(|(&size, &n)| {
                    let d = n - then.get(&size).copied().unwrap_or(0).min(n);
                    (d > 0).then_some((size, d))
                })
                .collect()
        }
        EngineBatches { prompt: diff(&self.prompt, &earlier.prompt), decode: diff(&self.decode, &earlier.decode) }
    }

    /// Counts one scheduler step: `prompt` sequences prefilled together, `decode` decoded together.
    pub fn add_step(&mut self, prompt: usize, decode: usize) {
        if prompt > 0 {
            *self.prompt.entry(prompt).or_default() += 1;
        }
        if decode > 0 {
            *self.decode.entry(decode).or_default() += 1;
        }
    }

    /// The largest batch of either kind; 0 when no pass was counted.
    pub fn max_batch(&self) -> usize {
        self.prompt.keys().chain(self.decode.keys()).copied().max().unwrap_or(0)
    }

    /// Mean sequences per decode pass; `None` without decode passes.
    pub fn mean_decode_batch(&self) -> Option<f64> {
        let passes: u64 = self.decode.values().sum();
        let seqs: u64 = self.decode.iter().map(|(&size, &n)| size as u64 * n).sum();
        (passes > 0).then(|| seqs as f64 / passes as f64)
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.prompt.is_empty() && self.decode.is_empty()
    }
}

/// One device's peak memory over a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePeak {
    /// `cpu`, `cuda:N` (NVML index), or `server` for what an endpoint reported.
    pub device: String,
    /// The device's name (CPU brand, GPU name).
    pub name: String,
    /// Peak bytes.
    pub peak_bytes: u64,
    /// What was sampled: `rss_anon` (the process's anonymous resident memory, file-backed pages
    /// left out), `nvml_process` (this process's memory on the GPU), or `server_reported`.
    pub source: String,
}

/// Percentiles of a latency, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyPercentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub mean: f64,
}

/// One pass over the workload at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfRepeat {
    /// Wall-clock seconds from the first request sent to the last reply.
    pub wall_s: f64,
    /// Requests answered.
    pub samples: usize,
    /// Requests that failed.
    pub failed: usize,
    /// Generated tokens over the answered requests.
    pub output_tokens: usize,
    /// Answered requests per second.
    pub samples_per_s: f64,
    /// Generated tokens per second.
    pub output_tokens_per_s: f64,
    /// Median end-to-end latency of this pass, ms.
    pub e2e_p50_ms: f64,
    /// Median time to first token of this pass, ms.
    pub ttft_p50_ms: f64,
}

/// The measurements at one level of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfLevel {
    /// The level: the batch size (in-process), the concurrency, or requests per second
    /// (`f64::INFINITY` is written as null: all at once).
    pub level: Option<f64>,
    /// Requests in flight at most (the batch size, the concurrency; the cap in rate mode).
    pub max_in_flight: usize,
    /// Each measured pass over the workload.
    pub repeats: Vec<PerfRepeat>,
    /// Median over the repeats of answered requests per second.
    pub samples_per_s: f64,
    /// Median over the repeats of generated tokens per second.
    pub output_tokens_per_s: f64,
    /// Time to first token over every measured request.
    pub ttft_ms: LatencyPercentiles,
    /// End-to-end latency over every measured request.
    pub e2e_ms: LatencyPercentiles,
    /// Mean prompt tokens per request, as the engine counted them.
    pub mean_prompt_tokens: f64,
    /// Fewest, mean and most generated tokens per request.
    pub output_tokens_min: usize,
    /// Mean generated tokens per request.
    pub output_tokens_mean: f64,
    /// Most generated tokens per request.
    pub output_tokens_max: usize,
    /// Requests that ended on an end-of-sequence token before the budget.
    pub early_stops: usize,
    /// Failed requests over all repeats, and the first error.
    pub failed: usize,
    /// The first failure's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Seconds it took to load the model for this level (in-process only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_s: Option<f64>,
    /// Peak memory per device over the level (model load, warm-up and repeats).
    pub memory: Vec<DevicePeak>,
    /// The batches the engine ran during the measured repeats (in-process only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_batches: Option<EngineBatches>,
}

/// What the sweep sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfWorkload {
    /// `synthetic` or `task:<name>`.
    pub kind: String,
    /// One line: what the requests are.
    pub description: String,
    /// Distinct requests in one pass.
    pub samples: usize,
    /// Token budget per request.
    pub max_new_tokens: usize,
    /// How the output length was held fixed, or why it could not be.
    pub output_length: String,
}

/// A whole sweep: `perf.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfResult {
    /// [`PERF_FORMAT_VERSION`].
    pub format_version: u32,
    /// When the sweep started (RFC 3339).
    pub started_at: String,
    /// The command line.
    pub command: Vec<String>,
    /// The model as asked for (alias or path) or as the endpoints serve it.
    pub model: String,
    /// The engine (`mistralrs 0.8.1`, `openai-compatible endpoints`).
    pub engine: String,
    /// Weight dtype where known.
    pub dtype: String,
    /// `batch` (in-process batch sizes), `concurrency` or `rate` (endpoints).
    pub mode: String,
    /// The endpoints, for endpoint sweeps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// The machine the model ran on (`compute` is `remote` for endpoints).
    pub device: DeviceFingerprint,
    /// The workload.
    pub workload: PerfWorkload,
    /// Warm-up passes per level (not measured).
    pub warmup: usize,
    /// Measured passes per level.
    pub repeats: usize,
    /// One entry per level, in sweep order.
    pub levels: Vec<PerfLevel>,
}

impl PerfResult {
    /// A short name for tables and charts: model, engine and device.
    pub fn label(&self) -> String {
        let device = match (self.device.compute.as_str(), self.device.gpus.first()) {
            (c, Some(gpu)) if c.starts_with("cuda") => gpu.name.clone(),
            ("remote", _) => "remote".to_string(),
            _ => self.device.cpu_model.clone(),
        };
        format!("{} · {} · {}", self.model, self.engine, device)
    }
}

/// `p` (0..=100) of `values` by linear interpolation between closest ranks; 0 when empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

impl LatencyPercentiles {
    /// The percentiles of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> Self {
        let mean = if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 };
        LatencyPercentiles {
            p50: percentile(values, 50.0),
            p90: percentile(values, 90.0),
            p99: percentile(values, 99.0),
            mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v: Vec<f64> = (1..=11).map(f64::from).collect();
        let p = LatencyPercentiles::of(&v);
        assert_eq!((p.p50, p.mean), (6.0, 6.0));
        assert!((p.p90 - 10.0).abs() < 1e-9 && (p.p99 - 10.9).abs() < 1e-9, "{p:?}");
        assert_eq!(LatencyPercentiles::of(&[]).p99, 0.0);
    }

    #[test]
    fn batches_since_an_earlier_count() {
        let mut before = EngineBatches::new();
        before.add_step(1, 1);
        let mut now = before.clone();
        now.add_step(0, 4);
        now.add_step(4, 0);
        now.add_step(0, 4);
        let level = now.since(&before);
        assert_eq!(level.decode, BTreeMap::from([(4, 2)]));
        assert_eq!(level.prompt, BTreeMap::from([(4, 1)]));
        assert_eq!(level.max_batch(), 4);
        assert_eq!(level.mean_decode_batch(), Some(4.0));
    }
}
