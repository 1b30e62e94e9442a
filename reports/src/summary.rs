//! `summary.json`: per-task aggregates of a run's sample records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use smolbench_core::{MemorySource, SampleRecord, SampleStatus};

use crate::stats::{bootstrap_mean_ci, mean, percentile};

/// Resamples used for the confidence interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of the bootstrap generator, so a summary is reproducible from its samples.
pub const BOOTSTRAP_SEED: u64 = 0x5EED;

/// p50/p90/p95/p99 of a measurement.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    fn of(values: &[f64]) -> Option<Self> {
        Some(Percentiles {
            p50: percentile(values, 50.0)?,
            p90: percentile(values, 90.0)?,
            p95: percentile(values, 95.0)?,
            p99: percentile(values, 99.0)?,
        })
    }
}

/// The score of one category of a breakdown (e.g. MMMU subject `Art`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupScore {
    /// The category.
    pub group: String,
    /// Scored samples in it.
    pub n_scored: usize,
    /// Mean score.
    pub score: f64,
}

/// One task's aggregate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskSummary {
    /// The task.
    pub task: String,
    /// The metric its score uses.
    pub metric: String,
    /// Samples recorded.
    pub n_samples: usize,
    /// Samples scored.
    pub n_scored: usize,
    /// Samples that failed (left out of the score, never counted as wrong).
    pub n_failed: usize,
    /// Mean score over scored samples, a fraction in [0, 1] (see [`RunSummary::score_unit`]).
    pub score: Option<f64>,
    /// 95% percentile-bootstrap interval of the mean score.
    pub score_ci95: Option<(f64, f64)>,
    /// End-to-end latency in ms.
    pub e2e_ms: Option<Percentiles>,
    /// Time to first token in ms.
    pub ttft_ms: Option<Percentiles>,
    /// Decode tokens per second.
    pub decode_tokens_per_s: Option<Percentiles>,
    /// Mean prompt tokens per sample.
    pub mean_prompt_tokens: Option<f64>,
    /// Mean generated tokens per sample.
    pub mean_completion_tokens: Option<f64>,
    /// The highest per-sample peak memory, in bytes.
    pub peak_memory_bytes: Option<u64>,
    /// What the memory figure measures.
    pub memory_source: Option<MemorySource>,
    /// Per breakdown name (e.g. `subject`), the score of each category, sorted by category.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breakdowns: BTreeMap<String, Vec<GroupScore>>,
}

/// The unit of the scores in `summary.json` (and `samples.jsonl`): a fraction in [0, 1]. The
/// terminal table and the report pages show percent; the field says which, in the file itself.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScoreUnit {
    /// 0..1 (0.5 is 50%).
    #[default]
    Fraction,
}

/// `summary.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// The unit of `score` and `score_ci95` (files written before the field existed hold
    /// fractions too).
    #[serde(default)]
    pub score_unit: ScoreUnit,
    /// Per task, in run order.
    pub tasks: Vec<TaskSummary>,
}

/// Aggregates the records of one task.
pub fn summarise_task(task: &str, metric: &str, records: &[&SampleRecord]) -> TaskSummary {
    let ok: Vec<&SampleRecord> = records.iter().copied().filter(|r| r.status == SampleStatus::Ok).collect();
    let scores: Vec<f64> = ok.iter().filter_map(|r| r.score).collect();
    let gens: Vec<_> = ok.iter().filter_map(|r| r.generation.as_ref()).collect();
    let collect = |f: &dyn Fn(&smolbench_core::Generation) -> Option<f64>| -> Vec<f64> {
        gens.iter().filter_map(|g| f(g)).collect()
    };
    let memory = records.iter().filter_map(|r| r.memory).max_by_key(|m| m.peak_bytes);
    TaskSummary {
        task: task.to_string(),
        metric: metric.to_string(),
        n_samples: records.len(),
        n_scored: scores.len(),
        n_failed: records.len() - ok.len(),
        score: mean(&scores),
        score_ci95: bootstrap_mean_ci(&scores, 0.95, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
        e2e_ms: Percentiles::of(&collect(&|g| Some(g.e2e_ms))),
        ttft_ms: Percentiles::of(&collect(&|g| Some(g.ttft_ms))),
        decode_tokens_per_s: Percentiles::of(&collect(&|g| g.decode_tokens_per_s)),
        mean_prompt_tokens: mean(&collect(&|g| Some(g.prompt_tokens as f64))),
        mean_completion_tokens: mean(&collect(&|g| Some(g.completion_tokens as f64))),
        peak_memory_bytes: memory.map(|m| m.peak_bytes),
        memory_source: memory.map(|m| m.source),
        breakdowns: breakdowns(&ok),
    }
}

/// Mean scores per category of every breakdown the scored records carry.
fn breakdowns(records: &[&SampleRecord]) -> BTreeMap<String, Vec<GroupScore>> {
    let mut sums: BTreeMap<&str, BTreeMap<&str, (usize, f64)>> = BTreeMap::new();
    for r in records {
        let Some(score) = r.score else { continue };
        for (name, group) in &r.breakdown {
            let entry = sums.entry(name).or_default().entry(group).or_default();
            entry.0 += 1;
            entry.1 += score;
        }
    }
    sums.into_iter()
        .map(|(name, groups)| {
            let scores = groups
                .into_iter()
                .map(|(group, (n, total))| GroupScore {
                    group: group.to_string(),
                    n_scored: n,
                    score: total / n as f64,
                })
                .collect();
            (name.to_string(), scores)
        })
        .collect()
}

/// Aggregates a whole run, task by task in order of first appearance.
pub fn summarise_run(run_id: &str, records: &[SampleRecord]) -> RunSummary {
    let mut order: Vec<(&str, &str)> = Vec::new();
    for r in records {
        if !order.iter().any(|(t, _)| *t == r.task) {
            order.push((&r.task, &r.metric));
        }
    }
    let tasks = order
        .into_iter()
        .map(|(task, metric)| {
            let of_task: Vec<&SampleRecord> = records.iter().filter(|r| r.task == task).collect();
            summarise_task(task, metric, &of_task)
        })
        .collect();
    RunSummary { run_id: run_id.to_string(), score_unit: ScoreUnit::Fraction, tasks }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(task: &str, score: Option<f64>, subject: &str) -> SampleRecord {
        SampleRecord {
            task: task.into(),
            sample_id: format!("{subject}-{score:?}"),
            index: 0,
            status: if score.is_some() { SampleStatus::Ok } else { SampleStatus::Failed },
            breakdown: [("subject".to_string(), subject.to_string())].into(),
            metric: "mcq".into(),
            score,
            ..Default::default()
        }
    }

    #[test]
    fn failed_samples_are_counted_but_not_scored_and_breakdowns_average_per_group() {
        let records = vec![
            record("mmmu", Some(1.0), "Art"),
            record("mmmu", Some(0.0), "Art"),
            record("mmmu", Some(1.0), "Math"),
            record("mmmu", None, "Math"),
        ];
        let summary = summarise_run("r", &records);
        let t = &summary.tasks[0];
        assert_eq!((t.n_samples, t.n_scored, t.n_failed), (4, 3, 1));
        assert!((t.score.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let subjects = &t.breakdowns["subject"];
        assert_eq!(subjects[0], GroupScore { group: "Art".into(), n_scored: 2, score: 0.5 });
        assert_eq!(subjects[1], GroupScore { group: "Math".into(), n_scored: 1, score: 1.0 });
    }
}
