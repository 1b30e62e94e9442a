//! The results store: one directory per run.
//!
//! - `run.json`: the [`RunManifest`], written before the first sample.
//! - `samples.jsonl`: one [`SampleRecord`] per line, appended and flushed as each sample ends, in
//!   a single write, so a run killed at any point leaves every finished sample readable.
//! - `summary.json`: the aggregate, written at the end (also after an aborted run).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_core::{RunManifest, SampleRecord};
use smolbench_reports::RunSummary;

/// File names inside a run directory.
pub const RUN_FILE: &str = "run.json";
/// See [`RUN_FILE`].
pub const SAMPLES_FILE: &str = "samples.jsonl";
/// See [`RUN_FILE`].
pub const SUMMARY_FILE: &str = "summary.json";

/// An open run directory.
#[derive(Debug)]
pub struct RunStore {
    dir: PathBuf,
    samples: File,
}

fn write_json_file(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("serialising a record")?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

impl RunStore {
    /// Creates `dir` (which must not hold a run already) and writes `run.json`.
    pub fn create(dir: &Path, manifest: &RunManifest) -> Result<Self> {
        if dir.join(RUN_FILE).exists() {
            anyhow::bail!("{} already holds a run; choose another --out directory", dir.display());
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating run directory {}", dir.display()))?;
        write_json_file(&dir.join(RUN_FILE), manifest)?;
        let path = dir.join(SAMPLES_FILE);
        let samples = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(RunStore { dir: dir.to_path_buf(), samples })
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one record as a single line, in one write, and flushes it to the OS.
    pub fn append(&mut self, record: &SampleRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record).context("serialising a sample record")?;
        line.push(b'\n');
        self.samples
            .write_all(&line)
            .with_context(|| format!("appending to {}", self.dir.join(SAMPLES_FILE).display()))?;
        self.samples.flush().context("flushing samples.jsonl")
    }

    /// Replaces `samples.jsonl` with `records` (one line each), atomically: the new file is
    /// written beside the old one and renamed over it, so a crash leaves one or the other whole.
    /// Used when scores that depend on the whole run are settled at its end.
    pub fn rewrite_samples(&mut self, records: &[SampleRecord]) -> Result<()> {
        let path = self.dir.join(SAMPLES_FILE);
        let tmp = self.dir.join(format!("{SAMPLES_FILE}.tmp"));
        let mut text = Vec::new();
        for record in records {
            text.extend(serde_json::to_vec(record).context("serialising a sample record")?);
            text.push(b'\n');
        }
        let mut file = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(&text).with_context(|| format!("writing {}", tmp.display()))?;
        file.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
        self.samples =
            OpenOptions::new().append(true).open(&path).with_context(|| format!("opening {}", path.display()))?;
        Ok(())
    }

    /// Writes `summary.json` and syncs the samples file to disk.
    pub fn finish(&mut self, summary: &RunSummary) -> Result<()> {
        self.samples.sync_all().context("syncing samples.jsonl")?;
        write_json_file(&self.dir.join(SUMMARY_FILE), summary)
    }
}

/// Reads every complete record of a run's `samples.jsonl`. A last line cut short by a crash is
/// skipped; a damaged line elsewhere is an error naming the file and line.
pub fn read_samples(dir: &Path) -> Result<Vec<SampleRecord>> {
    let path = dir.join(SAMPLES_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(_) if i == lines.len() - 1 => tracing::warn!("{}: ignoring an incomplete last line", path.display()),
            Err(e) => anyhow::bail!("{}: line {} is not a sample record ({e})", path.display(), i + 1),
        }
    }
    Ok(records)
}

/// Reads a run's `run.json`.
pub fn read_manifest(dir: &Path) -> Result<RunManifest> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a SmolBench run manifest", path.display()))
}
