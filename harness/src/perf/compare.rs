//! Comparing two performance sweeps (`bench gate` on two `perf.json`): level by level, whether the
//! candidate is slower or uses more memory than the baseline by more than both the tolerance and
//! the noise the repeats show.
//!
//! Self-contained on purpose: the run gate's per-sample statistics (McNemar, paired bootstrap)
//! compare samples; a sweep has a few repeats per level, so the noise band of a metric is the
//! spread of its repeats. For a throughput (higher is better) a level regresses when
//! `candidate / baseline < 1 - max(tolerance, noise)`, where `noise` is the larger of the two
//! sweeps' relative spreads ((max - min) / median over the repeats); for the medians of latency
//! per pass the same holds the other way round. Peak memory (one reading per level, with little
//! noise) regresses above `1 + memory tolerance`.
//!
//! Sweeps of different workloads, modes or devices are not comparable (exit 2).

use std::fmt::Write as _;

use smolbench_core::perf::{PerfLevel, PerfRepeat, PerfResult};

/// Tolerances of the comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerfTolerances {
    /// Relative drop of throughput (or rise of latency) always tolerated.
    pub time: f64,
    /// Relative rise of peak memory tolerated.
    pub memory: f64,
}

impl Default for PerfTolerances {
    fn default() -> Self {
        PerfTolerances { time: 0.10, memory: 0.05 }
    }
}

/// One metric at one level.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfCheck {
    /// `batch 8 samples/s` and the like.
    pub name: String,
    /// Baseline value.
    pub baseline: f64,
    /// Candidate value.
    pub candidate: f64,
    /// Candidate / baseline.
    pub ratio: f64,
    /// The band within which a change counts as noise (relative).
    pub allowed: f64,
    /// Whether this is a regression.
    pub regressed: bool,
}

/// The comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfComparison {
    /// Every check made.
    pub checks: Vec<PerfCheck>,
    /// Levels of the baseline the candidate does not have.
    pub missing_levels: Vec<String>,
}

impl PerfComparison {
    /// Whether any check regressed or a level is missing.
    pub fn regressed(&self) -> bool {
        self.checks.iter().any(|c| c.regressed) || !self.missing_levels.is_empty()
    }
}

/// Relative spread of a metric over the repeats: (max - min) / median; 0 with fewer than two.
fn spread(repeats: &[PerfRepeat], metric: fn(&PerfRepeat) -> f64) -> f64 {
    let mut v: Vec<f64> = repeats.iter().map(metric).collect();
    if v.len() < 2 {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let median = v[v.len() / 2];
    if median <= 0.0 {
        return 0.0;
    }
    (v[v.len() - 1] - v[0]) / median
}

fn level_name(result: &PerfResult, level: &PerfLevel) -> String {
    let value = level.level.map_or("inf".to_string(), |v| format!("{v}"));
    match result.mode.as_str() {
        "batch" => format!("batch {value}"),
        "rate" => format!("rate {value}/s"),
        _ => format!("concurrency {value}"),
    }
}

/// Whether two sweeps measured the same thing on the same kind of device; the reason if not.
pub fn check_comparable(base: &PerfResult, cand: &PerfResult) -> Result<(), String> {
    if base.mode != cand.mode {
        return Err(format!("the sweeps' modes differ ({} vs {})", base.mode, cand.mode));
    }
    if base.workload != cand.workload {
        return Err(format!("the workloads differ ({} vs {})", base.workload.description, cand.workload.description));
    }
    let device = |r: &PerfResult| {
        (
            r.device.compute.clone(),
            r.device.cpu_model.clone(),
            r.device.gpus.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
        )
    };
    if device(base) != device(cand) {
        return Err(format!("the devices differ ({} vs {})", base.label(), cand.label()));
    }
    Ok(())
}

/// Compares `cand` with `base` level by level.
pub fn compare(base: &PerfResult, cand: &PerfResult, tol: PerfTolerances) -> Result<PerfComparison, String> {
    check_comparable(base, cand)?;
    let mut checks = Vec::new();
    let mut missing_levels = Vec::new();
    type Metric = (&'static str, fn(&PerfRepeat) -> f64, bool);
    let metrics: [Metric; 4] = [
        ("samples/s", |r| r.samples_per_s, true),
        ("output tokens/s", |r| r.output_tokens_per_s, true),
        ("e2e p50 ms", |r| r.e2e_p50_ms, false),
        ("TTFT p50 ms", |r| r.ttft_p50_ms, false),
    ];
    for b in &base.levels {
        let name = level_name(base, b);
        let Some(c) = cand.levels.iter().find(|c| c.level == b.level) else {
            missing_levels.push(name);
            continue;
        };
        for (metric, get, higher_is_better) in metrics {
            let value = |l: &PerfLevel| {
                let mut v: Vec<f64> = l.repeats.iter().map(get).collect();
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied().unwrap_or(0.0)
            };
            let (bv, cv) = (value(b), value(c));
            if bv <= 0.0 {
                continue;
            }
            let ratio = cv / bv;
            let allowed = tol.time.max(spread(&b.repeats, get)).max(spread(&c.repeats, get));
            let regressed = if higher_is_better { ratio < 1.0 - allowed } else { ratio > 1.0 + allowed };
            checks.push(PerfCheck {
                name: format!("{name} {metric}"),
                baseline: bv,
                candidate: cv,
                ratio,
                allowed,
                regressed,
            });
        }
        for bm in &b.memory {
            let Some(cm) = c.memory.iter().find(|m| m.device == bm.device) else { continue };
            let ratio = cm.peak_bytes as f64 / bm.peak_bytes.max(1) as f64;
            checks.push(PerfCheck {
                name: format!("{name} peak memory {}", bm.device),
                baseline: bm.peak_bytes as f64,
                candidate: cm.peak_bytes as f64,
                ratio,
                allowed: tol.memory,
                regressed: ratio > 1.0 + tol.memory,
            });
        }
    }
    Ok(PerfComparison { checks, missing_levels })
}

/// The comparison as Markdown.
pub fn markdown(cmp: &PerfComparison) -> String {
    let mut md = String::from("## SmolBench perf gate\n\n");
    let verdict = if cmp.regressed() { "**regression**" } else { "no regression" };
    let _ = writeln!(md, "{verdict}: {} checks\n", cmp.checks.len());
    md.push_str("| check | baseline | candidate | ratio | noise band | |\n|---|---:|---:|---:|---:|---|\n");
    for c in &cmp.checks {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.3} | ±{:.1}% | {} |",
            c.name,
            c.baseline,
            c.candidate,
            c.ratio,
            c.allowed * 100.0,
            if c.regressed { "REGRESSED" } else { "ok" }
        );
    }
    for level in &cmp.missing_levels {
        let _ = writeln!(md, "| {level} | measured | missing | | | REGRESSED |");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use smolbench_core::perf::{DevicePeak, LatencyPercentiles, PerfWorkload};
    use smolbench_core::DeviceFingerprint;

    fn repeat(sps: f64) -> PerfRepeat {
        PerfRepeat {
            wall_s: 10.0 / sps,
            samples: 10,
            failed: 0,
            output_tokens: 320,
            samples_per_s: sps,
            output_tokens_per_s: sps * 32.0,
            e2e_p50_ms: 1000.0 / sps,
            ttft_p50_ms: 100.0,
        }
    }

    fn sweep(throughputs: &[f64], memory: u64) -> PerfResult {
        PerfResult {
            format_version: 1,
            started_at: String::new(),
            command: Vec::new(),
            model: "tiny".into(),
            engine: "mistralrs 0.8.1".into(),
            dtype: "f32".into(),
            mode: "batch".into(),
            endpoints: Vec::new(),
            device: DeviceFingerprint {
                compute: "cpu".into(),
                cpu_model: "x".into(),
                cpu_cores: 2,
                ram_total_bytes: 1 << 30,
                gpus: Vec::new(),
                os: String::new(),
                hostname: String::new(),
            },
            workload: PerfWorkload {
                kind: "synthetic".into(),
                description: "64x64".into(),
                samples: 10,
                max_new_tokens: 32,
                output_length: String::new(),
            },
            warmup: 1,
            repeats: throughputs.len(),
            levels: vec![PerfLevel {
                level: Some(4.0),
                max_in_flight: 4,
                repeats: throughputs.iter().map(|&t| repeat(t)).collect(),
                samples_per_s: throughputs[0],
                output_tokens_per_s: throughputs[0] * 32.0,
                ttft_ms: LatencyPercentiles::default(),
                e2e_ms: LatencyPercentiles::default(),
                mean_prompt_tokens: 40.0,
                output_tokens_min: 32,
                output_tokens_mean: 32.0,
                output_tokens_max: 32,
                early_stops: 0,
                failed: 0,
                first_error: None,
                load_s: None,
                memory: vec![DevicePeak {
                    device: "cpu".into(),
                    name: "x".into(),
                    peak_bytes: memory,
                    source: "rss_anon".into(),
                }],
                engine_batches: None,
            }],
        }
    }

    #[test]
    fn a_drop_within_the_noise_of_the_repeats_passes_and_beyond_it_fails() {
        let base = sweep(&[10.0, 10.5, 9.5], 100 << 20);
        // 15% slower, but the candidate's repeats spread by 20%: noise.
        let noisy = sweep(&[8.5, 9.4, 7.7], 100 << 20);
        let cmp = compare(&base, &noisy, PerfTolerances::default()).unwrap();
        assert!(!cmp.regressed(), "{}", markdown(&cmp));
        // 30% slower with tight repeats: a regression of samples/s and of e2e latency.
        let slow = sweep(&[7.0, 7.1, 6.9], 100 << 20);
        let cmp = compare(&base, &slow, PerfTolerances::default()).unwrap();
        let regressed: Vec<&str> = cmp.checks.iter().filter(|c| c.regressed).map(|c| c.name.as_str()).collect();
        assert!(regressed.contains(&"batch 4 samples/s") && regressed.contains(&"batch 4 e2e p50 ms"), "{regressed:?}");
        assert!(!regressed.iter().any(|n| n.contains("memory")));
    }

    #[test]
    fn more_memory_fails_and_other_workloads_are_not_comparable() {
        let base = sweep(&[10.0, 10.0], 100 << 20);
        let cmp = compare(&base, &sweep(&[10.0, 10.0], 120 << 20), PerfTolerances::default()).unwrap();
        assert!(cmp.checks.iter().any(|c| c.regressed && c.name == "batch 4 peak memory cpu"));
        let mut other = sweep(&[10.0], 100 << 20);
        other.workload.samples = 20;
        assert!(compare(&base, &other, PerfTolerances::default()).unwrap_err().contains("workloads differ"));
    }
}
