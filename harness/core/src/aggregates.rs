//! `aggregates.json`: the numbers a benchmark's reference prints where it does more than average
//! its samples (Video-MME's unanswered rule, MLVU's per-type mean, MVBench's empty predictions),
//! and the scores of benchmarks split over several tasks (MVBench's 20 configs), each beside the
//! rule that produced it. Written by the harness, read by the reports.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file in a run directory (`aggregates.<profile>.json` after `bench rescore --metric-profile`).
pub const AGGREGATES_FILE: &str = "aggregates.json";

/// A category's (or a group member's) share of an aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    /// Score in percent.
    pub score_pct: f64,
    /// Items in the denominator.
    pub counted: usize,
    /// Items of the category.
    pub total: usize,
}

/// One line of `aggregates.json`: a task's reference number, or a group's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateRecord {
    /// The task, or the group of tasks (`mvbench`); published results are keyed by this name.
    pub task: String,
    /// Samples that failed and so have no prediction (left out).
    pub failed: usize,
    /// The rule (`videomme`, `mlvu-dev`, `mvbench`, or `group-mean` for a group).
    pub rule: String,
    /// The metric profile whose reference the number reproduces.
    pub profile: String,
    /// The number, in percent.
    pub score_pct: f64,
    /// Items in the denominator.
    pub counted: usize,
    /// Items given.
    pub total: usize,
    /// Per category of the rule's breakdown; for a group, per member task.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<String, CategoryScore>,
    /// For a group: the member tasks the run holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// Reads `dir/aggregates.json`; an empty list where the run has none (only plain means).
pub fn read_aggregates(dir: &Path) -> Result<Vec<AggregateRecord>, String> {
    let path = dir.join(AGGREGATES_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
