//! The in-process sweep: for each batch size, a fresh engine whose scheduler runs up to that many
//! sequences together, driven with that many requests in flight. Peak memory is sampled per
//! device from just before the model loads to the end of the level; the batches the engine ran
//! come from its scheduler's step reports ([`smolbench_runners::engine_steps`]).

use std::time::Instant;

use anyhow::Result;
use smolbench_core::perf::PerfLevel;
use smolbench_core::GenerationRequest;
use smolbench_runners::device::{ComputeDevice, PeakSampler};
use smolbench_runners::model::PreparedModel;
use smolbench_runners::{engine_steps, MistralRsRunner, RunnerOptions};

use super::sweep::{level_record, pass, Pacing};

/// Settings of an in-process sweep.
#[derive(Debug, Clone)]
pub struct LocalSweep<'a> {
    /// The prepared model.
    pub prepared: &'a PreparedModel,
    /// Where it computes.
    pub compute: ComputeDevice,
    /// Batch sizes, in order.
    pub batch_sizes: &'a [usize],
    /// Unmeasured passes per level, each over the first `2 x batch` requests (at least 4).
    pub warmup: usize,
    /// Measured passes per level.
    pub repeats: usize,
}

/// Hands freed heap back to the system, so one level's leftovers do not count in the next
/// level's resident memory.
fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Runs the sweep, printing one line per level as it ends; returns the levels and the dtype.
pub async fn run(sweep: &LocalSweep<'_>, requests: &[GenerationRequest]) -> Result<(Vec<PerfLevel>, String)> {
    let mut levels = Vec::new();
    let mut dtype = String::new();
    for &batch in sweep.batch_sizes {
        release_free_heap();
        let sampler = PeakSampler::start(sweep.compute);
        let t = Instant::now();
        let options = RunnerOptions { encoder_cache: false, batch_size: batch, ..RunnerOptions::default() };
        let runner = MistralRsRunner::load_with(sweep.prepared, sweep.compute, options).await?;
        let load_s = t.elapsed().as_secs_f64();
        dtype = runner.dtype().to_string();
        let pacing = Pacing { max_in_flight: batch, rate: None, seed: 0 };
        let warm = &requests[..requests.len().min((2 * batch).max(4))];
        for _ in 0..sweep.warmup {
            pass(&runner, warm, pacing).await;
        }
        let before = engine_steps::snapshot();
        let mut passes = Vec::with_capacity(sweep.repeats);
        for _ in 0..sweep.repeats.max(1) {
            passes.push(pass(&runner, requests, pacing).await);
        }
        let batches = engine_steps::snapshot().since(&before);
        drop(runner);
        let memory = sampler.finish();
        let mut level: PerfLevel = level_record(Some(batch as f64), batch, &passes, memory);
        level.load_s = Some(load_s);
        level.engine_batches = Some(batches);
        eprintln!(
            "batch {batch}: {:.2} samples/s, {:.1} output tokens/s, engine batches up to {}",
            level.samples_per_s,
            level.output_tokens_per_s,
            level.engine_batches.as_ref().map_or(0, |b| b.max_batch())
        );
        levels.push(level);
    }
    Ok((levels, dtype))
}
