//! Benchmark-specific aggregates of a run: where a task's reference does more than average its
//! samples (Video-MME's unanswered rule and durations, MLVU's per-type mean, MVBench's empty
//! predictions), the number the reference would print, written to `aggregates.json`.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use smolbench_core::{SampleRecord, SampleStatus};
use smolbench_tasks::metrics::{aggregate, AggregateItem, AggregateReport, AggregationRule};
use smolbench_tasks::Task;

/// One task's aggregate.
#[derive(Debug, Serialize)]
pub struct TaskAggregate {
    /// The task.
    pub task: String,
    /// Failed samples, left out (they have no prediction).
    pub failed: usize,
    /// The aggregate under the task's metric profile.
    #[serde(flatten)]
    pub report: AggregateReport,
}

/// The aggregates of every task whose rule is not the plain mean.
pub fn task_aggregates<'a>(tasks: impl IntoIterator<Item = &'a Task>, records: &[SampleRecord]) -> Vec<TaskAggregate> {
    let mut out = Vec::new();
    for task in tasks {
        let rule = task.def().scoring.aggregation;
        if rule == AggregationRule::Mean {
            continue;
        }
        let mine: Vec<&SampleRecord> = records.iter().filter(|r| r.task == task.name()).collect();
        let items: Vec<AggregateItem<'_>> = mine
            .iter()
            .filter(|r| r.status == SampleStatus::Ok)
            .map(|r| AggregateItem {
                prediction: r.prediction.as_deref().unwrap_or(""),
                score: r.score.unwrap_or(0.0),
                category: rule.category().and_then(|c| r.breakdown.get(c)).map(String::as_str),
            })
            .collect();
        let failed = mine.len() - items.len();
        out.push(TaskAggregate {
            task: task.name().to_string(),
            failed,
            report: aggregate(rule, task.profile(), &items),
        });
    }
    out
}

/// One line per aggregate, for the terminal.
pub fn render(aggregates: &[TaskAggregate]) -> String {
    aggregates
        .iter()
        .map(|a| {
            let r = &a.report;
            let parts: Vec<String> = r
                .by_category
                .iter()
                .map(|(c, s)| format!("{c} {:.1} ({}/{})", s.score_pct, s.counted, s.total))
                .collect();
            let by = if parts.is_empty() { String::new() } else { format!("; {}", parts.join(", ")) };
            format!(
                "{} ({} rule, {} profile): {:.1} over {} of {} answered samples{by}",
                a.task,
                r.rule.name(),
                r.profile,
                r.score_pct,
                r.counted,
                r.total
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The aggregates file of a run scored with its own profiles.
pub const AGGREGATES_FILE: &str = "aggregates.json";

/// Writes `dir/file_name` (nothing when there are none): [`AGGREGATES_FILE`] for the run's own
/// scores, `aggregates.<profile>.json` beside `summary.<profile>.json` after `bench rescore`.
pub fn write(dir: &Path, file_name: &str, aggregates: &[TaskAggregate]) -> Result<()> {
    if aggregates.is_empty() {
        return Ok(());
    }
    let path = dir.join(file_name);
    let text = serde_json::to_string_pretty(aggregates).context("serialising aggregates")?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
