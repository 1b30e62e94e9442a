//! Combining the parts of a sharded run into one ordinary run directory.
//!
//! Parts are checked before anything is written: each part's `part.json` must match its own
//! `run.json`, and all parts must have the same config fingerprint ([`crate::fingerprint`]); the
//! first differing field is named otherwise. The records of all parts are collated
//! ([`crate::collate`]): one record per sample, in canonical order. Samples that `run.json`
//! selected but no part recorded are *missing*; samples scored in more than one place are
//! *duplicated* (kept once, the newest). The result is `run.json`, `samples.jsonl` and
//! `summary.json` as a single-process run writes them, plus `merge.json` saying what was merged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use smolbench_core::{RunManifest, SampleRecord};
use smolbench_reports::RunSummary;
use smolbench_tasks::run_order::rescore_in_run_order;

use crate::fingerprint::{config_fingerprint, config_of, first_difference};
use crate::shard::{list_parts, shard_of, PartInfo, PARTS_DIR};
use crate::store::{read_manifest, read_samples, RunStore};
use smolbench_core::collate::{collate, missing_rows, task_order, Duplicates, Missing};

/// One part as read from disk.
#[derive(Debug)]
pub struct Part {
    /// Its directory.
    pub dir: PathBuf,
    /// Its `part.json`.
    pub info: PartInfo,
    /// Its `run.json`.
    pub manifest: RunManifest,
    /// Its `samples.jsonl`, in file order.
    pub records: Vec<SampleRecord>,
}

/// A merged part, as listed in `merge.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartSummary {
    /// The part's directory.
    pub dir: String,
    /// `i/n`.
    pub shard: String,
    /// Lines in its `samples.jsonl`.
    pub records: usize,
    /// The machine it ran on.
    pub hostname: String,
    /// When it started.
    pub started_at: String,
}

/// `merge.json`: what a merge combined and what it found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MergeReport {
    /// The config fingerprint all parts share.
    pub config_fingerprint: String,
    /// The shard count.
    pub shard_count: usize,
    /// The parts merged, by shard.
    pub parts: Vec<PartSummary>,
    /// Shards of `0..shard_count` with no part.
    pub absent_shards: Vec<usize>,
    /// Per task, selected samples no part recorded.
    pub missing: BTreeMap<String, Missing>,
    /// Per task, samples scored more than once.
    pub duplicates: BTreeMap<String, Duplicates>,
    /// Records found in a part other than the one their id hashes to.
    pub misplaced: usize,
    /// Failed records superseded by a later scored one.
    pub retried: usize,
    /// Records in the merged `samples.jsonl`.
    pub merged_samples: usize,
}

impl MergeReport {
    /// Samples missing over all tasks.
    pub fn missing_total(&self) -> usize {
        self.missing.values().map(|m| m.samples).sum()
    }

    /// One line per finding, for the terminal; empty when the merge is clean.
    pub fn findings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.absent_shards.is_empty() {
            let list: Vec<String> = self.absent_shards.iter().map(|s| format!("{s}/{}", self.shard_count)).collect();
            out.push(format!("absent shards: {}", list.join(", ")));
        }
        for (task, m) in &self.missing {
            let rows: Vec<String> = m.example_rows.iter().map(usize::to_string).collect();
            out.push(format!("missing: {task}: {} samples (rows {})", m.samples, rows.join(", ")));
        }
        for (task, d) in &self.duplicates {
            out.push(format!(
                "duplicated: {task}: {} samples scored more than once ({} with differing predictions; kept the newest): {}",
                d.samples,
                d.disagreeing,
                d.examples.join(", ")
            ));
        }
        if self.misplaced > 0 {
            out.push(format!("misplaced: {} records sit in a part their id does not hash to", self.misplaced));
        }
        out
    }
}

/// Part directories named by `inputs`: sharded run directories (every part under `parts/`) or
/// part directories themselves. A directory named twice is read once.
pub fn part_dirs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for input in inputs {
        let found = if PartInfo::read(input)?.is_some() {
            vec![input.clone()]
        } else if input.join(PARTS_DIR).is_dir() {
            list_parts(input)?
        } else if input.exists() {
            bail!(
                "{} is neither a sharded run (no {PARTS_DIR}/ folder) nor a part of one (no part.json)",
                input.display()
            )
        } else {
            bail!("{} does not exist", input.display())
        };
        for dir in found {
            let canonical = dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?;
            if !dirs.iter().any(|(c, _)| *c == canonical) {
                dirs.push((canonical, dir));
            }
        }
    }
    if dirs.is_empty() {
        bail!("no parts found in {}", inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(dirs.into_iter().map(|(_, d)| d).collect())
}

/// Reads one part, checking that its `part.json` belongs to its `run.json`.
pub fn read_part(dir: &Path) -> Result<Part> {
    let info = PartInfo::read(dir)?.with_context(|| format!("{} has no part.json", dir.display()))?;
    let manifest = read_manifest(dir)?;
    let actual = config_fingerprint(&manifest, info.shard.count);
    if actual != info.config_fingerprint {
        bail!(
            "{}: part.json names config {} but run.json has config {actual}; the part was altered",
            dir.display(),
            info.config_fingerprint
        );
    }
    let records = read_samples(dir)?;
    Ok(Part { dir: dir.to_path_buf(), info, manifest, records })
}

/// Checks that all parts ran the same config; names the first differing field otherwise.
pub fn check_same_config(parts: &[Part]) -> Result<()> {
    let first = &parts[0];
    let reference = config_of(&first.manifest, first.info.shard.count);
    for part in &parts[1..] {
        if let Some(diff) = first_difference(&reference, &config_of(&part.manifest, part.info.shard.count)) {
            bail!(
                "cannot merge {} with {}: they ran different configs ({diff})",
                first.dir.display(),
                part.dir.display()
            );
        }
    }
    Ok(())
}

/// The merged run: its manifest, records and report.
#[derive(Debug)]
pub struct Merged {
    /// `run.json` of the merged run (the first part's, started at the earliest part's start).
    pub manifest: RunManifest,
    /// One record per sample, in canonical order.
    pub records: Vec<SampleRecord>,
    /// What was found.
    pub report: MergeReport,
}

/// Merges parts that [`check_same_config`] accepted.
pub fn merge_parts(mut parts: Vec<Part>) -> Merged {
    parts.sort_by_key(|p| (p.info.shard.index, p.manifest.started_at.clone()));
    let shard_count = parts[0].info.shard.count;
    let absent_shards = (0..shard_count).filter(|i| !parts.iter().any(|p| p.info.shard.index == *i)).collect();
    let misplaced = parts
        .iter()
        .map(|p| {
            p.records.iter().filter(|r| shard_of(&r.task, &r.sample_id, shard_count) != p.info.shard.index).count()
        })
        .sum();
    let summaries = parts
        .iter()
        .map(|p| PartSummary {
            dir: p.dir.display().to_string(),
            shard: p.info.shard.to_string(),
            records: p.records.len(),
            hostname: p.manifest.device.hostname.clone(),
            started_at: p.manifest.started_at.clone(),
        })
        .collect();
    let mut manifest = parts[0].manifest.clone();
    if let Some(earliest) = parts.iter().map(|p| &p.manifest.started_at).min() {
        manifest.started_at = earliest.clone();
    }
    let fingerprint = parts[0].info.config_fingerprint.clone();
    let order = task_order(&manifest);
    let collated = collate(parts.into_iter().flat_map(|p| p.records), &order);
    let missing = missing_rows(&manifest, &collated.records);
    let report = MergeReport {
        config_fingerprint: fingerprint,
        shard_count,
        parts: summaries,
        absent_shards,
        missing,
        duplicates: collated.duplicates,
        misplaced,
        retried: collated.retried,
        merged_samples: collated.records.len(),
    };
    Merged { manifest, records: collated.records, report }
}

/// The merge report's file name in the merged run.
pub const MERGE_FILE: &str = "merge.json";

/// Writes the merged run to `out` (which must not hold a run) and returns its summary.
///
/// Draws that depend on the whole run (MMMU's random fallback) are replayed here, over all the
/// parts' records, as a single-process run replays them at its end.
pub fn write_merged(out: &Path, merged: &Merged) -> Result<RunSummary> {
    let mut records = merged.records.clone();
    let tasks = crate::rescore::tasks_of_run(&merged.manifest, None, out)?;
    for task in &tasks {
        rescore_in_run_order(task, &mut records);
    }
    let mut store = RunStore::create(out, &merged.manifest)?;
    for record in &records {
        store.append(record)?;
    }
    let summary = smolbench_reports::summarise_run(&merged.manifest.run_id, &records);
    store.finish(&summary).context("writing summary.json")?;
    let aggregates = crate::aggregates::task_aggregates(&tasks, &records);
    crate::aggregates::write(out, crate::aggregates::AGGREGATES_FILE, &aggregates)?;
    let path = out.join(MERGE_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(&merged.report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(summary)
}
