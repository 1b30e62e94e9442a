//! Benchmark-specific aggregates of a run: where a task's reference does more than average its
//! samples (Video-MME's unanswered rule and durations, MLVU's per-type mean, MVBench's empty
//! predictions), the number the reference would print; and for tasks that are parts of one
//! benchmark (`group = "mvbench"`), the group's score: the mean of the parts' scores weighted by
//! their sizes, which is MVBench's `Avg` (correct over all questions) when no prediction is empty.
//! Written to `aggregates.json` as [`AggregateRecord`]s.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use smolbench_core::{AggregateRecord, CategoryScore, SampleRecord, SampleStatus};
use smolbench_tasks::metrics::{aggregate, AggregateItem, AggregationRule};
use smolbench_tasks::Task;

pub use smolbench_core::aggregates::AGGREGATES_FILE;

/// The rule name of a group's aggregate.
const GROUP_RULE: &str = "group-mean";

/// `task`'s aggregate over its records under its own rule (the plain mean for `mean`).
fn task_aggregate(task: &Task, records: &[SampleRecord]) -> AggregateRecord {
    let rule = task.def().scoring.aggregation;
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
    let report = aggregate(rule, task.profile(), &items);
    AggregateRecord {
        task: task.name().to_string(),
        failed: mine.len() - items.len(),
        rule: report.rule.name().to_string(),
        profile: report.profile.name().to_string(),
        score_pct: report.score_pct,
        counted: report.counted,
        total: report.total,
        by_category: report.by_category,
        members: Vec::new(),
    }
}

/// The aggregates of every task whose rule is not the plain mean, then one per group of tasks.
pub fn task_aggregates<'a>(
    tasks: impl IntoIterator<Item = &'a Task>,
    records: &[SampleRecord],
) -> Vec<AggregateRecord> {
    let mut out = Vec::new();
    let mut groups: BTreeMap<String, Vec<AggregateRecord>> = BTreeMap::new();
    for task in tasks {
        let rule = task.def().scoring.aggregation;
        let group = task.def().group.clone();
        if rule == AggregationRule::Mean && group.is_none() {
            continue;
        }
        let record = task_aggregate(task, records);
        if let Some(group) = group {
            groups.entry(group).or_default().push(record.clone());
        }
        if rule != AggregationRule::Mean {
            out.push(record);
        }
    }
    for (name, members) in groups {
        out.push(group_aggregate(name, &members));
    }
    out
}

/// A group's aggregate: its members' scores weighted by their sizes.
fn group_aggregate(name: String, members: &[AggregateRecord]) -> AggregateRecord {
    let total: usize = members.iter().map(|m| m.total).sum();
    let weighted: f64 = members.iter().map(|m| m.score_pct * m.total as f64).sum();
    let mut profiles: Vec<&str> = members.iter().map(|m| m.profile.as_str()).collect();
    profiles.sort_unstable();
    profiles.dedup();
    AggregateRecord {
        task: name,
        failed: members.iter().map(|m| m.failed).sum(),
        rule: GROUP_RULE.to_string(),
        profile: profiles.join("+"),
        score_pct: if total == 0 { 0.0 } else { weighted / total as f64 },
        counted: members.iter().map(|m| m.counted).sum(),
        total,
        by_category: members
            .iter()
            .map(|m| (m.task.clone(), CategoryScore { score_pct: m.score_pct, counted: m.counted, total: m.total }))
            .collect(),
        members: members.iter().map(|m| m.task.clone()).collect(),
    }
}

/// One line per aggregate, for the terminal.
pub fn render(aggregates: &[AggregateRecord]) -> String {
    aggregates
        .iter()
        .map(|r| {
            if !r.members.is_empty() {
                return format!(
                    "{} (mean of {} tasks weighted by size, {} profile): {:.1} over {} of {} answered samples",
                    r.task,
                    r.members.len(),
                    r.profile,
                    r.score_pct,
                    r.counted,
                    r.total
                );
            }
            let parts: Vec<String> = r
                .by_category
                .iter()
                .map(|(c, s)| format!("{c} {:.1} ({}/{})", s.score_pct, s.counted, s.total))
                .collect();
            let by = if parts.is_empty() { String::new() } else { format!("; {}", parts.join(", ")) };
            format!(
                "{} ({} rule, {} profile): {:.1} over {} of {} answered samples{by}",
                r.task, r.rule, r.profile, r.score_pct, r.counted, r.total
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes `dir/file_name` (nothing when there are none): [`AGGREGATES_FILE`] for the run's own
/// scores, `aggregates.<profile>.json` beside `summary.<profile>.json` after `bench rescore`.
pub fn write(dir: &Path, file_name: &str, aggregates: &[AggregateRecord]) -> Result<()> {
    if aggregates.is_empty() {
        return Ok(());
    }
    let path = dir.join(file_name);
    let text = serde_json::to_string_pretty(aggregates).context("serialising aggregates")?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
