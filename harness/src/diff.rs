//! Where two runs differ, sample by sample, and why: two harnesses (a run of ours beside an
//! imported one), two prompt profiles, two engines.
//!
//! Samples are paired by task and sample id (by row index in a task where no id pairs, as with
//! files that keep only row numbers). Each pair falls in the first of these that applies:
//! the prompts differ (both known), the predictions differ, the same prediction was scored
//! differently (another extraction, metric profile or reference), or the two agree.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use smolbench_core::collate::{collate, task_order};
use smolbench_core::{ExtractionStep, RunManifest, SampleRecord, SampleStatus};

use crate::store::{read_manifest, read_samples};

/// Why two records of one sample differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The prompts sent differ.
    DifferentPrompt,
    /// The same prompt (or an unknown one) got different predictions.
    DifferentPrediction,
    /// The same prediction was scored differently.
    ScoredDifferently,
    /// Scored in one run, failed in the other.
    FailedInOne,
}

impl Reason {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Reason::DifferentPrompt => "different prompt",
            Reason::DifferentPrediction => "different prediction",
            Reason::ScoredDifferently => "same prediction, scored differently",
            Reason::FailedInOne => "failed in one run",
        }
    }
}

/// One side of a differing sample.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The prompt (empty where the run did not keep it).
    pub prompt: String,
    /// The raw prediction.
    pub prediction: Option<String>,
    /// The extraction steps.
    pub extraction_trace: Vec<ExtractionStep>,
    /// The scored string.
    pub extracted: Option<String>,
    /// The score.
    pub score: Option<f64>,
    /// The error of a failed sample.
    pub error: Option<String>,
}

impl Side {
    fn of(record: &SampleRecord) -> Side {
        Side {
            prompt: record.prompt.clone(),
            prediction: record.prediction.clone(),
            extraction_trace: record.extraction_trace.clone(),
            extracted: record.extracted.clone(),
            score: record.score,
            error: record.error.clone(),
        }
    }
}

/// A sample whose two records differ.
#[derive(Debug, Clone, Serialize)]
pub struct SampleDiff {
    /// The task.
    pub task: String,
    /// The sample's id (run A's).
    pub sample_id: String,
    /// Why they differ.
    pub reason: Reason,
    /// Run A's record.
    pub a: Side,
    /// Run B's record.
    pub b: Side,
}

/// One task's comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskDiff {
    /// Samples in both runs.
    pub paired: usize,
    /// Pairs that agree in prompt, prediction and score.
    pub same: usize,
    /// Differing pairs by reason.
    pub reasons: BTreeMap<&'static str, usize>,
    /// Of the differing pairs, those whose scores differ.
    pub score_changed: usize,
    /// Samples only run A holds.
    pub only_a: usize,
    /// Samples only run B holds.
    pub only_b: usize,
    /// Mean score over the pairs scored in both: run A, run B.
    pub mean_a: Option<f64>,
    /// See `mean_a`.
    pub mean_b: Option<f64>,
    /// Whether the pairs were made by row index (no sample id was common).
    pub paired_by_index: bool,
}

/// The comparison of two runs.
#[derive(Debug, Clone, Serialize)]
pub struct RunDiff {
    /// Run A's directory.
    pub a: String,
    /// Run B's directory.
    pub b: String,
    /// Per task present in both runs, in run A's order.
    pub tasks: BTreeMap<String, TaskDiff>,
    /// Tasks only one run holds.
    pub unshared_tasks: Vec<String>,
    /// Every differing sample, in run A's order.
    pub samples: Vec<SampleDiff>,
}

fn load(dir: &Path) -> Result<(RunManifest, Vec<SampleRecord>)> {
    let manifest = read_manifest(dir)?;
    let records = collate(read_samples(dir)?, &task_order(&manifest)).records;
    Ok((manifest, records))
}

/// The reason two records of one sample differ, or `None` when they agree.
pub fn classify(a: &SampleRecord, b: &SampleRecord) -> Option<Reason> {
    let ok = |r: &SampleRecord| r.status == SampleStatus::Ok;
    if ok(a) != ok(b) {
        return Some(Reason::FailedInOne);
    }
    if !a.prompt.is_empty() && !b.prompt.is_empty() && a.prompt != b.prompt {
        return Some(Reason::DifferentPrompt);
    }
    if a.prediction != b.prediction {
        return Some(Reason::DifferentPrediction);
    }
    if a.score != b.score || a.extracted != b.extracted {
        return Some(Reason::ScoredDifferently);
    }
    None
}

/// Compares the runs in `a` and `b`.
pub fn diff_runs(a: &Path, b: &Path) -> Result<RunDiff> {
    let (manifest_a, records_a) = load(a)?;
    let (manifest_b, records_b) = load(b)?;
    let tasks_b: Vec<String> = task_order(&manifest_b);
    let tasks_a: Vec<String> = task_order(&manifest_a);
    let mut out = RunDiff {
        a: a.display().to_string(),
        b: b.display().to_string(),
        tasks: BTreeMap::new(),
        unshared_tasks: tasks_a
            .iter()
            .chain(&tasks_b)
            .filter(|t| !(tasks_a.contains(t) && tasks_b.contains(t)))
            .cloned()
            .collect(),
        samples: Vec::new(),
    };
    for task in tasks_a.iter().filter(|t| tasks_b.contains(t)) {
        let side_a: Vec<&SampleRecord> = records_a.iter().filter(|r| &r.task == task).collect();
        let side_b: Vec<&SampleRecord> = records_b.iter().filter(|r| &r.task == task).collect();
        let by_id: HashMap<&str, &SampleRecord> = side_b.iter().map(|r| (r.sample_id.as_str(), *r)).collect();
        let by_index: HashMap<usize, &SampleRecord> = side_b.iter().map(|r| (r.index, *r)).collect();
        let paired_by_index = !side_a.iter().any(|r| by_id.contains_key(r.sample_id.as_str()));
        let partner = |r: &SampleRecord| -> Option<&SampleRecord> {
            if paired_by_index {
                by_index.get(&r.index).copied()
            } else {
                by_id.get(r.sample_id.as_str()).copied()
            }
        };
        let mut summary = TaskDiff { paired_by_index, ..TaskDiff::default() };
        let (mut sum_a, mut sum_b, mut scored) = (0.0, 0.0, 0usize);
        for record_a in &side_a {
            let Some(record_b) = partner(record_a) else {
                summary.only_a += 1;
                continue;
            };
            summary.paired += 1;
            if let (Some(sa), Some(sb)) = (record_a.score, record_b.score) {
                sum_a += sa;
                sum_b += sb;
                scored += 1;
            }
            match classify(record_a, record_b) {
                None => summary.same += 1,
                Some(reason) => {
                    *summary.reasons.entry(reason.label()).or_default() += 1;
                    if record_a.score != record_b.score {
                        summary.score_changed += 1;
                    }
                    out.samples.push(SampleDiff {
                        task: task.clone(),
                        sample_id: record_a.sample_id.clone(),
                        reason,
                        a: Side::of(record_a),
                        b: Side::of(record_b),
                    });
                }
            }
        }
        summary.only_b = side_b.len().saturating_sub(summary.paired);
        if scored > 0 {
            summary.mean_a = Some(sum_a / scored as f64);
            summary.mean_b = Some(sum_b / scored as f64);
        }
        out.tasks.insert(task.clone(), summary);
    }
    Ok(out)
}

/// The comparison as text: a table per task, then up to `show` differing samples per task.
pub fn render(diff: &RunDiff, show: usize) -> String {
    let mut out = format!("A: {}\nB: {}\n\n", diff.a, diff.b);
    out.push_str(&format!(
        "{:<26} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}\n",
        "task", "paired", "same", "prompt", "predict", "scoring", "failed", "score≠", "A", "B"
    ));
    let count = |t: &TaskDiff, r: Reason| t.reasons.get(r.label()).copied().unwrap_or(0);
    for (name, t) in &diff.tasks {
        let mean = |m: Option<f64>| m.map_or("-".to_string(), |m| format!("{:.4}", m));
        out.push_str(&format!(
            "{:<26} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}{}\n",
            name,
            t.paired,
            t.same,
            count(t, Reason::DifferentPrompt),
            count(t, Reason::DifferentPrediction),
            count(t, Reason::ScoredDifferently),
            count(t, Reason::FailedInOne),
            t.score_changed,
            mean(t.mean_a),
            mean(t.mean_b),
            if t.paired_by_index { "  (paired by row index)" } else { "" }
        ));
        if t.only_a + t.only_b > 0 {
            out.push_str(&format!("{:<26} only in A: {}, only in B: {}\n", "", t.only_a, t.only_b));
        }
    }
    out.push_str("\nprompt: different prompt; predict: same prompt, different prediction; scoring: same prediction, scored differently\n");
    if !diff.unshared_tasks.is_empty() {
        out.push_str(&format!("tasks in one run only: {}\n", diff.unshared_tasks.join(", ")));
    }
    let mut shown: HashMap<&str, usize> = HashMap::new();
    for s in &diff.samples {
        let n = shown.entry(s.task.as_str()).or_default();
        if *n >= show {
            continue;
        }
        *n += 1;
        out.push_str(&format!("\n--- {} {} ({})\n", s.task, s.sample_id, s.reason.label()));
        if s.a.prompt != s.b.prompt {
            out.push_str(&format!("  prompt A: {:?}\n  prompt B: {:?}\n", s.a.prompt, s.b.prompt));
        }
        for (label, side) in [("A", &s.a), ("B", &s.b)] {
            let trace: Vec<String> =
                side.extraction_trace.iter().map(|t| format!("{}→{:?}", t.step, t.output)).collect();
            out.push_str(&format!(
                "  {label}: prediction {:?}; extraction [{}]; extracted {:?}; score {}{}\n",
                side.prediction.as_deref().unwrap_or(""),
                trace.join(", "),
                side.extracted.as_deref().unwrap_or(""),
                side.score.map_or("-".to_string(), |s| format!("{s:.4}")),
                side.error.as_ref().map(|e| format!("; error: {e}")).unwrap_or_default()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prompt: &str, prediction: &str, score: f64) -> SampleRecord {
        SampleRecord {
            task: "t".into(),
            sample_id: "1".into(),
            status: SampleStatus::Ok,
            prompt: prompt.into(),
            prediction: Some(prediction.into()),
            extracted: Some(prediction.trim().into()),
            score: Some(score),
            ..SampleRecord::default()
        }
    }

    #[test]
    fn reasons_are_taken_in_order() {
        let a = record("Q?", "yes", 1.0);
        assert_eq!(classify(&a, &a.clone()), None);
        assert_eq!(classify(&a, &record("Q? Answer.", "yes", 1.0)), Some(Reason::DifferentPrompt));
        assert_eq!(classify(&a, &record("Q?", "no", 0.0)), Some(Reason::DifferentPrediction));
        // An unknown prompt (an imported file without one) is no evidence of a difference.
        assert_eq!(classify(&a, &record("", "no", 0.0)), Some(Reason::DifferentPrediction));
        assert_eq!(classify(&a, &record("Q?", "yes", 0.5)), Some(Reason::ScoredDifferently));
        let failed = SampleRecord { status: SampleStatus::Failed, ..record("Q?", "", 0.0) };
        assert_eq!(classify(&a, &failed), Some(Reason::FailedInOne));
    }
}
