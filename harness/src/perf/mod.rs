//! Performance sweeps (`bench perf`): throughput, latency and memory of a model against batch
//! size (in-process) or against concurrency and request rate (endpoints), on a fixed workload.
//!
//! - [`workload`]: the requests (synthetic images or a task's first samples).
//! - [`sweep`]: one level: warm-up, measured passes, the level's record.
//! - [`local`] and [`remote`]: the in-process sweep (one engine per batch size, its scheduler's
//!   batches counted) and the endpoint sweep.
//! - [`compare`]: two sweeps compared, for the gate.
//!
//! A sweep is written to `perf.json` ([`smolbench_core::perf::PerfResult`]) and printed as a table.

pub mod compare;
pub mod local;
pub mod remote;
pub mod sweep;
pub mod workload;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use smolbench_core::perf::{PerfLevel, PerfResult, PERF_FILE};

/// Writes `perf.json` into `dir` (created if needed).
pub fn write(dir: &Path, result: &PerfResult) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(PERF_FILE);
    let text = serde_json::to_string_pretty(result).context("serialising perf.json")?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Reads a sweep from `path`: a `perf.json` or a directory holding one.
pub fn read(path: &Path) -> Result<PerfResult> {
    let file = if path.is_dir() { path.join(PERF_FILE) } else { path.to_path_buf() };
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!("cannot read {}: pass a perf.json or the directory `bench perf` wrote", file.display())
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a perf.json written by `bench perf`", file.display()))
}

/// Whether `path` is a sweep (a perf.json or a directory with one) rather than a run.
pub fn is_sweep(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == PERF_FILE) || path.join(PERF_FILE).is_file()
}

fn mib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / (1u64 << 20) as f64)
}

fn batches(level: &PerfLevel) -> String {
    match &level.engine_batches {
        None => "-".into(),
        Some(b) if b.is_empty() => "not reported".into(),
        Some(b) => format!(
            "max {} / decode mean {}",
            b.max_batch(),
            b.mean_decode_batch().map_or("-".into(), |m| format!("{m:.1}"))
        ),
    }
}

/// The sweep as a text table, one line per level.
pub fn render_table(result: &PerfResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}, {})", result.label(), result.device.compute, result.mode);
    let _ = writeln!(
        out,
        "workload: {} ({} requests, {} new tokens each; output length: {}); warm-up {}, repeats {}",
        result.workload.description,
        result.workload.samples,
        result.workload.max_new_tokens,
        result.workload.output_length,
        result.warmup,
        result.repeats
    );
    let head = match result.mode.as_str() {
        "batch" => "batch",
        "rate" => "req/s",
        _ => "concur",
    };
    let devices: Vec<String> =
        result.levels.iter().flat_map(|l| l.memory.iter().map(|m| m.device.clone())).fold(Vec::new(), |mut v, d| {
            if !v.contains(&d) {
                v.push(d);
            }
            v
        });
    let _ = write!(
        out,
        "{head:>6} {:>9} {:>9} {:>22} {:>22} {:>7}",
        "samples/s", "out tok/s", "TTFT p50/p90/p99 ms", "e2e p50/p90/p99 ms", "out tok"
    );
    for d in &devices {
        let _ = write!(out, " {:>12}", format!("peak {d} MiB"));
    }
    let _ = writeln!(out, " {:>6}  engine batches", "failed");
    for l in &result.levels {
        let level = l.level.map_or("inf".to_string(), |v| format!("{v}"));
        let p = |x: &smolbench_core::perf::LatencyPercentiles| format!("{:.0}/{:.0}/{:.0}", x.p50, x.p90, x.p99);
        let _ = write!(
            out,
            "{level:>6} {:>9.2} {:>9.1} {:>22} {:>22} {:>7.1}",
            l.samples_per_s,
            l.output_tokens_per_s,
            p(&l.ttft_ms),
            p(&l.e2e_ms),
            l.output_tokens_mean
        );
        for d in &devices {
            let value = l.memory.iter().find(|m| &m.device == d).map_or("-".to_string(), |m| mib(m.peak_bytes));
            let _ = write!(out, " {value:>12}");
        }
        let _ = writeln!(out, " {:>6}  {}", l.failed, batches(l));
    }
    for l in result.levels.iter().filter(|l| l.first_error.is_some()) {
        let _ = writeln!(out, "level {:?}: first failure: {}", l.level, l.first_error.as_deref().unwrap_or_default());
    }
    out
}
