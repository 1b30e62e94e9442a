//! The results store: one directory per run.
//!
//! - `run.json`: the [`RunManifest`], written before the first sample.
//! - `samples.jsonl`: one [`SampleRecord`] per line, appended and flushed as each sample ends, in
//!   a single write, so a run killed at any point leaves every finished sample readable.
//! - `summary.json`: the aggregate, written at the end (also after an aborted run).
//! - `samples.lock`: an empty file that writers hold an exclusive `flock` on while they append.
//!
//! Several processes may append to one run directory (`bench run --resume` started twice, a
//! retried job next to a slow one). Each append takes the lock, reads the lines other writers
//! added since its last look, and drops its record if the sample already has a scored (`ok`)
//! record, so every sample is recorded once. A failed record does not count as recorded: a later
//! attempt appends its own line and readers take a sample's newest `ok` record
//! ([`crate::collate`]). The lock is released by the kernel when a writer dies; on NFS, Linux
//! maps `flock` onto the server's byte-range locks.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use smolbench_core::{RunManifest, SampleRecord, SampleStatus};
use smolbench_reports::RunSummary;

use crate::collate::SampleKey;

/// File names inside a run directory.
pub const RUN_FILE: &str = "run.json";
/// See [`RUN_FILE`].
pub const SAMPLES_FILE: &str = "samples.jsonl";
/// See [`RUN_FILE`].
pub const SUMMARY_FILE: &str = "summary.json";
/// See [`RUN_FILE`].
pub const LOCK_FILE: &str = "samples.lock";

/// An open run directory.
#[derive(Debug)]
pub struct RunStore {
    dir: PathBuf,
    samples: File,
    lock: File,
    /// Samples with an `ok` record in `samples.jsonl`, as of byte `seen_up_to`; shared with
    /// whoever decides what to run next ([`RunStore::scored`]).
    scored: ScoredSet,
    seen_up_to: u64,
    /// Records this store did not append because another writer had recorded the sample.
    dropped: usize,
}

/// The samples of a run that have a scored record, kept up to date by the [`RunStore`] as it
/// reads what other writers appended.
pub type ScoredSet = Arc<Mutex<HashSet<SampleKey>>>;

/// An exclusive `flock` on a file, released on drop (or by the kernel if the process dies).
struct FileLock<'a>(&'a File);

impl<'a> FileLock<'a> {
    fn acquire(file: &'a File, path: &Path) -> Result<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            loop {
                // SAFETY: flock on a file descriptor this process holds open.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err).with_context(|| format!("locking {}", path.display()));
                }
            }
        }
        #[cfg(not(unix))]
        let _ = path;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: as in `acquire`.
            unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
        }
    }
}

fn write_json_file(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("serialising a record")?;
    // One temporary name per process, so two writers starting the same run never clobber each
    // other's half-written file; the rename is atomic.
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
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
        Self::open(dir)
    }

    /// Opens the existing run `dir` to add records (`bench run --resume`). The caller checks
    /// that the run is the one it means to continue ([`crate::fingerprint`]).
    pub fn resume(dir: &Path) -> Result<Self> {
        if !dir.join(RUN_FILE).is_file() {
            anyhow::bail!("{} holds no run (no {RUN_FILE})", dir.display());
        }
        Self::open(dir)
    }

    fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(SAMPLES_FILE);
        let samples = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        let mut store =
            RunStore { dir: dir.to_path_buf(), samples, lock, scored: ScoredSet::default(), seen_up_to: 0, dropped: 0 };
        let lock = store.lock.try_clone().with_context(|| format!("opening {}", lock_path.display()))?;
        let guard = FileLock::acquire(&lock, &lock_path)?;
        store.catch_up()?;
        drop(guard);
        Ok(store)
    }

    /// Reads the lines appended since the last look (by any writer) into `scored`. A last line
    /// without its newline was cut short by a writer that died (writers append whole lines under
    /// the lock, which this caller holds): it is cut off, so the next record starts a line.
    fn catch_up(&mut self) -> Result<()> {
        let path = self.dir.join(SAMPLES_FILE);
        let end = self.samples.metadata().with_context(|| format!("reading {}", path.display()))?.len();
        if end < self.seen_up_to {
            anyhow::bail!("{} shrank while the run was writing to it", path.display());
        }
        let mut fresh = Vec::new();
        let mut reader = &self.samples;
        reader.seek(SeekFrom::Start(self.seen_up_to)).with_context(|| format!("reading {}", path.display()))?;
        reader
            .take(end - self.seen_up_to)
            .read_to_end(&mut fresh)
            .with_context(|| format!("reading {}", path.display()))?;
        let complete = fresh.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut scored = self.scored.lock().expect("the scored set is never poisoned");
        for line in fresh[..complete].split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record: SampleRecord = serde_json::from_slice(line)
                .with_context(|| format!("{}: a line is not a sample record", path.display()))?;
            if record.status == SampleStatus::Ok {
                scored.insert(SampleKey::of(&record));
            }
        }
        drop(scored);
        self.seen_up_to += complete as u64;
        if complete < fresh.len() {
            tracing::warn!("{}: cutting off an incomplete last line left by a writer that stopped", path.display());
            self.samples.set_len(self.seen_up_to).with_context(|| format!("truncating {}", path.display()))?;
        }
        Ok(())
    }

    /// The samples that have an `ok` record, as of the last append or open (each append first
    /// reads what other writers added).
    pub fn scored(&self) -> ScoredSet {
        Arc::clone(&self.scored)
    }

    /// How many finished records were not appended because the sample was already recorded.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one record as a single line, in one write, and flushes it to the OS, unless the
    /// sample already has an `ok` record (written by another process since this one looked), in
    /// which case the record is dropped and counted in [`RunStore::dropped`].
    pub fn append(&mut self, record: &SampleRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record).context("serialising a sample record")?;
        line.push(b'\n');
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = self.lock.try_clone().with_context(|| format!("opening {}", lock_path.display()))?;
        let _guard = FileLock::acquire(&lock, &lock_path)?;
        self.catch_up()?;
        let key = SampleKey::of(record);
        if self.scored.lock().expect("the scored set is never poisoned").contains(&key) {
            tracing::info!("{key} was already recorded by another writer; dropping this attempt");
            self.dropped += 1;
            return Ok(());
        }
        self.samples
            .write_all(&line)
            .with_context(|| format!("appending to {}", self.dir.join(SAMPLES_FILE).display()))?;
        self.samples.flush().context("flushing samples.jsonl")?;
        self.seen_up_to += line.len() as u64;
        if record.status == SampleStatus::Ok {
            self.scored.lock().expect("the scored set is never poisoned").insert(key);
        }
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
