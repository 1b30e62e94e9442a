//! Choosing one record per sample when a run holds several, and checking a run for missing
//! samples.
//!
//! A sample can have more than one line: a failed attempt and a later scored one after
//! `bench run --resume`, or two scored ones where parts overlap. The record that counts is the
//! sample's newest `ok` record (the last one in file order), else its newest failed one; older
//! lines stay in `samples.jsonl` as history. Records come out in the canonical order: tasks in
//! `run.json` order, samples by their position in the task's data.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::{RunManifest, SampleRecord, SampleStatus};
use serde::{Deserialize, Serialize};

/// What identifies a sample within a run: its task, its position in the task's data and its id
/// (the position tells apart rows that share an id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleKey {
    /// The task.
    pub task: String,
    /// The row's position in the task's data.
    pub index: usize,
    /// The sample's id.
    pub sample_id: String,
}

impl SampleKey {
    /// The key of `record`.
    pub fn of(record: &SampleRecord) -> SampleKey {
        SampleKey { task: record.task.clone(), index: record.index, sample_id: record.sample_id.clone() }
    }
}

impl fmt::Display for SampleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} (row {})", self.task, self.sample_id, self.index)
    }
}

/// Samples of one task with more than one scored record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicates {
    /// Samples with two or more `ok` records.
    pub samples: usize,
    /// Of those, samples whose `ok` records disagree on the prediction or the score.
    pub disagreeing: usize,
    /// Up to ten of their ids.
    pub examples: Vec<String>,
}

/// Per task, the rows that `run.json` selected but no record covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// How many.
    pub samples: usize,
    /// Up to ten of their row positions.
    pub example_rows: Vec<usize>,
}

/// The records that count, with what was found on the way.
#[derive(Debug, Clone, Default)]
pub struct Collated {
    /// One record per sample, in canonical order.
    pub records: Vec<SampleRecord>,
    /// Failed records superseded by a later `ok` record.
    pub retried: usize,
    /// Per task, samples recorded as `ok` more than once.
    pub duplicates: BTreeMap<String, Duplicates>,
}

/// Keeps each sample's newest `ok` record (else its newest failed one), in canonical order:
/// tasks in the order of `task_order` (others after, by name), then by row position.
pub fn collate(records: impl IntoIterator<Item = SampleRecord>, task_order: &[String]) -> Collated {
    let mut chosen: HashMap<SampleKey, SampleRecord> = HashMap::new();
    let mut ok_counts: HashMap<SampleKey, (usize, bool)> = HashMap::new();
    let mut retried = 0;
    for record in records {
        let key = SampleKey::of(&record);
        if record.status == SampleStatus::Ok {
            let entry = ok_counts.entry(key.clone()).or_insert((0, false));
            entry.0 += 1;
            if let Some(previous) = chosen.get(&key).filter(|p| p.status == SampleStatus::Ok) {
                entry.1 |= previous.prediction != record.prediction || previous.score != record.score;
            }
        }
        match chosen.get(&key) {
            Some(previous) if previous.status == SampleStatus::Ok && record.status == SampleStatus::Failed => {}
            Some(previous) => {
                if previous.status == SampleStatus::Failed && record.status == SampleStatus::Ok {
                    retried += 1;
                }
                chosen.insert(key, record);
            }
            None => {
                chosen.insert(key, record);
            }
        }
    }
    let mut duplicates: BTreeMap<String, Duplicates> = BTreeMap::new();
    let mut repeated: Vec<(&SampleKey, &(usize, bool))> = ok_counts.iter().filter(|(_, (n, _))| *n > 1).collect();
    repeated.sort();
    for (key, (_, disagree)) in repeated {
        let entry = duplicates.entry(key.task.clone()).or_default();
        entry.samples += 1;
        entry.disagreeing += usize::from(*disagree);
        if entry.examples.len() < 10 {
            entry.examples.push(key.sample_id.clone());
        }
    }
    let rank = |task: &str| task_order.iter().position(|t| t == task).unwrap_or(task_order.len());
    let mut records: Vec<SampleRecord> = chosen.into_values().collect();
    records.sort_by(|a, b| {
        (rank(&a.task), &a.task, a.index, &a.sample_id).cmp(&(rank(&b.task), &b.task, b.index, &b.sample_id))
    });
    Collated { records, retried, duplicates }
}

/// The tasks of `manifest`, in run order.
pub fn task_order(manifest: &RunManifest) -> Vec<String> {
    manifest.tasks.iter().map(|t| t.name.clone()).collect()
}

/// Per task of `manifest`, the selected rows (`0..selected_samples`) that no record covers.
/// Tasks with nothing missing are left out.
pub fn missing_rows(manifest: &RunManifest, records: &[SampleRecord]) -> BTreeMap<String, Missing> {
    let mut out = BTreeMap::new();
    for task in &manifest.tasks {
        let mut covered = vec![false; task.selected_samples];
        for r in records.iter().filter(|r| r.task == task.name) {
            if let Some(slot) = covered.get_mut(r.index) {
                *slot = true;
            }
        }
        let rows: Vec<usize> = covered.iter().enumerate().filter(|(_, c)| !**c).map(|(i, _)| i).collect();
        if !rows.is_empty() {
            out.insert(
                task.name.clone(),
                Missing { samples: rows.len(), example_rows: rows.into_iter().take(10).collect() },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(task: &str, index: usize, ok: bool, prediction: &str) -> SampleRecord {
        SampleRecord {
            task: task.into(),
            sample_id: format!("id{index}"),
            index,
            status: if ok { SampleStatus::Ok } else { SampleStatus::Failed },
            prediction: ok.then(|| prediction.to_string()),
            metric: "anls".into(),
            score: ok.then_some(0.5),
            error: (!ok).then(|| "boom".to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn the_newest_ok_record_counts_and_a_later_failure_does_not_replace_it() {
        let records = vec![
            record("b", 1, false, ""),
            record("a", 0, true, "x"),
            record("b", 1, true, "first"),
            record("b", 0, true, "y"),
            record("b", 1, true, "second"),
            record("b", 1, false, ""),
            record("a", 2, false, ""),
        ];
        let c = collate(records, &["b".to_string(), "a".to_string()]);
        let order: Vec<(&str, usize)> = c.records.iter().map(|r| (r.task.as_str(), r.index)).collect();
        assert_eq!(order, [("b", 0), ("b", 1), ("a", 0), ("a", 2)]);
        assert_eq!(c.records[1].prediction.as_deref(), Some("second"));
        assert_eq!(c.records[3].status, SampleStatus::Failed, "a sample that only failed keeps its failure");
        assert_eq!(c.retried, 1);
        assert_eq!(c.duplicates.len(), 1);
        assert_eq!(c.duplicates["b"], Duplicates { samples: 1, disagreeing: 1, examples: vec!["id1".into()] });
    }
}
