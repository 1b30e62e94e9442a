//! The results store: one directory per run.
//!
//! - `run.json`: the [`RunManifest`], written before the first sample.
//! - `samples.jsonl`: one [`SampleRecord`] per line, appended and flushed as each sample ends, in
//!   a single write, so a run killed at any point leaves every finished sample readable.
//! - `summary.json`: the aggregate, written at the end (also after an aborted run).
//! - `samples.lock`: an empty file that writers hold an exclusive `flock` on while they append.
//! - `samples.claims`: an empty file whose byte-range locks say which samples a live process is
//!   running ([`crate::claims`]).
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

use crate::claims::Claims;
use smolbench_core::collate::SampleKey;

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
    recorded: Arc<Recorded>,
    claims: Arc<Claims>,
    /// Records this store did not append because another writer had recorded the sample.
    dropped: usize,
}

/// What a run directory has recorded, read incrementally: which samples have a scored (`ok`)
/// record. Shared between the [`RunStore`] and whoever decides what to run next.
#[derive(Debug)]
pub struct Recorded {
    path: PathBuf,
    state: Mutex<ReadState>,
}

#[derive(Debug)]
struct ReadState {
    file: File,
    /// Bytes of `samples.jsonl` read, always at a line boundary.
    seen_up_to: u64,
    scored: HashSet<SampleKey>,
}

impl Recorded {
    fn open(path: &Path) -> Result<Recorded> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let state = ReadState { file, seen_up_to: 0, scored: HashSet::new() };
        Ok(Recorded { path: path.to_path_buf(), state: Mutex::new(state) })
    }

    /// Reads the complete lines appended since the last call (by any writer); returns where the
    /// complete lines end and whether an incomplete line follows. Safe without the append lock:
    /// a line still being written has no newline yet and is left for the next call.
    pub fn refresh(&self) -> Result<(u64, bool)> {
        let mut state = self.state.lock().expect("the record index is never poisoned");
        let state = &mut *state;
        let path = &self.path;
        if replaced(path, &state.file)? {
            // `rewrite_samples` renamed a new file over the old one: read it from the start.
            state.file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            state.seen_up_to = 0;
            state.scored.clear();
        }
        let end = state.file.metadata().with_context(|| format!("reading {}", path.display()))?.len();
        if end < state.seen_up_to {
            anyhow::bail!("{} shrank while the run was writing to it", path.display());
        }
        let mut fresh = Vec::new();
        state.file.seek(SeekFrom::Start(state.seen_up_to)).with_context(|| format!("reading {}", path.display()))?;
        (&state.file)
            .take(end - state.seen_up_to)
            .read_to_end(&mut fresh)
            .with_context(|| format!("reading {}", path.display()))?;
        let complete = fresh.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in fresh[..complete].split(|&b| b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record: SampleRecord = serde_json::from_slice(line)
                .with_context(|| format!("{}: a line is not a sample record", path.display()))?;
            if record.status == SampleStatus::Ok {
                state.scored.insert(SampleKey::of(&record));
            }
        }
        state.seen_up_to += complete as u64;
        Ok((state.seen_up_to, complete < fresh.len()))
    }

    /// Whether `key` has a scored record, as of the last [`Recorded::refresh`].
    pub fn is_scored(&self, key: &SampleKey) -> bool {
        self.state.lock().expect("the record index is never poisoned").scored.contains(key)
    }

    /// How many samples have a scored record, as of the last [`Recorded::refresh`].
    pub fn scored_count(&self) -> usize {
        self.state.lock().expect("the record index is never poisoned").scored.len()
    }
}

/// Whether `path` now names another file than the open `file` (it was replaced by a rename).
fn replaced(path: &Path, file: &File) -> Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let on_disk = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        let open = file.metadata().with_context(|| format!("reading {}", path.display()))?;
        Ok((on_disk.dev(), on_disk.ino()) != (open.dev(), open.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        Ok(false)
    }
}

/// Reopens the run's `samples.jsonl` (in `dir`) where another writer's
/// [`RunStore::rewrite_samples`] replaced the file `samples` has open.
fn reopen_if_replaced(dir: &Path, samples: &mut File) -> Result<()> {
    let path = dir.join(SAMPLES_FILE);
    if replaced(&path, samples)? {
        *samples =
            OpenOptions::new().append(true).open(&path).with_context(|| format!("opening {}", path.display()))?;
    }
    Ok(())
}

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
            anyhow::bail!(
                "{} already holds a run; choose another directory (`bench run --resume DIR` continues a run)",
                dir.display()
            );
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
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        let recorded = Arc::new(Recorded::open(&path)?);
        let claims = Arc::new(Claims::open(dir)?);
        let store = RunStore { dir: dir.to_path_buf(), samples, lock, recorded, claims, dropped: 0 };
        {
            let _guard = FileLock::acquire(&store.lock, &lock_path)?;
            store.catch_up()?;
        }
        Ok(store)
    }

    /// Reads what other writers appended. The caller holds the append lock, so no writer is
    /// midway through a line: a last line without its newline was cut short by a writer that
    /// died, and is cut off so the next record starts a line of its own.
    fn catch_up(&self) -> Result<()> {
        let (complete, torn) = self.recorded.refresh()?;
        if torn {
            let path = self.dir.join(SAMPLES_FILE);
            tracing::warn!("{}: cutting off an incomplete last line left by a writer that stopped", path.display());
            self.samples.set_len(complete).with_context(|| format!("truncating {}", path.display()))?;
        }
        Ok(())
    }

    /// Which samples have a scored record; each append first reads what other writers added,
    /// and [`Recorded::refresh`] reads it on demand.
    pub fn recorded(&self) -> Arc<Recorded> {
        Arc::clone(&self.recorded)
    }

    /// This process's claims on samples of the run ([`crate::claims`]); a claim is released when
    /// the sample's record is appended.
    pub fn claims(&self) -> Arc<Claims> {
        Arc::clone(&self.claims)
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
        let key = SampleKey::of(record);
        {
            let _guard = FileLock::acquire(&self.lock, &self.dir.join(LOCK_FILE))?;
            reopen_if_replaced(&self.dir, &mut self.samples)?;
            self.catch_up()?;
            if self.recorded.is_scored(&key) {
                tracing::info!("{key} was already recorded by another writer; dropping this attempt");
                self.dropped += 1;
            } else {
                self.samples
                    .write_all(&line)
                    .with_context(|| format!("appending to {}", self.dir.join(SAMPLES_FILE).display()))?;
                self.samples.flush().context("flushing samples.jsonl")?;
                self.recorded.refresh()?;
            }
        }
        self.claims.release(&key);
        Ok(())
    }

    /// Replaces `samples.jsonl` with `records` (one line each), atomically: the new file is
    /// written beside the old one and renamed over it under the append lock, so a crash leaves
    /// one or the other whole and other writers reopen the new one before their next append.
    /// Used when scores that depend on the whole run are settled at its end; `records` are the
    /// collated records (one per sample), so earlier attempts' lines are not kept.
    pub fn rewrite_samples(&mut self, records: &[SampleRecord]) -> Result<()> {
        let _guard = FileLock::acquire(&self.lock, &self.dir.join(LOCK_FILE))?;
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
        reopen_if_replaced(&self.dir, &mut self.samples)?;
        self.recorded.refresh()?;
        Ok(())
    }

    /// Writes `summary.json` and syncs the samples file to disk.
    pub fn finish(&mut self, summary: &RunSummary) -> Result<()> {
        self.samples.sync_all().context("syncing samples.jsonl")?;
        write_json_file(&self.dir.join(SUMMARY_FILE), summary)
    }
}

/// Reads every complete record of a run's `samples.jsonl`, in file order. A last line cut short
/// by a crash is skipped; a damaged line elsewhere is an error naming the file and line.
pub fn read_samples(dir: &Path) -> Result<Vec<SampleRecord>> {
    smolbench_reports::rundir::read_records(dir)
}

/// Reads a run's `run.json`.
pub fn read_manifest(dir: &Path) -> Result<RunManifest> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a SmolBench run manifest", path.display()))
}

#[cfg(test)]
mod tests {

    use super::*;

    fn record(index: usize, ok: bool) -> SampleRecord {
        SampleRecord {
            task: "docvqa".into(),
            sample_id: format!("q{index}"),
            index,
            status: if ok { SampleStatus::Ok } else { SampleStatus::Failed },
            n_images: 1,
            references: vec!["a".into()],
            prediction: ok.then(|| "a".to_string()),
            extracted: ok.then(|| "a".to_string()),
            metric: "anls".into(),
            score: ok.then_some(1.0),
            error: (!ok).then(|| "engine error".to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn two_writers_record_a_sample_once_and_a_failure_does_not_count_as_recorded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RUN_FILE), "{}").unwrap();
        // Two stores on one directory: separate open files, as two processes have.
        let mut a = RunStore::resume(dir.path()).unwrap();
        let mut b = RunStore::resume(dir.path()).unwrap();
        a.append(&record(0, true)).unwrap();
        b.append(&record(0, true)).unwrap(); // b had not seen a's record: it must not be written twice
        b.append(&record(1, false)).unwrap();
        a.append(&record(1, true)).unwrap(); // a failure is not a result: the retry is written
        b.append(&record(1, true)).unwrap();
        assert_eq!((a.dropped(), b.dropped()), (0, 2));
        let lines: Vec<(usize, SampleStatus)> =
            read_samples(dir.path()).unwrap().iter().map(|r| (r.index, r.status)).collect();
        assert_eq!(lines, [(0, SampleStatus::Ok), (1, SampleStatus::Failed), (1, SampleStatus::Ok)]);
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_cut_off_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RUN_FILE), "{}").unwrap();
        let whole = serde_json::to_string(&record(0, true)).unwrap() + "\n";
        std::fs::write(dir.path().join(SAMPLES_FILE), format!("{whole}{{\"task\":\"docv")).unwrap();
        let mut store = RunStore::resume(dir.path()).unwrap();
        assert_eq!(store.recorded().scored_count(), 1);
        store.append(&record(1, true)).unwrap();
        let text = std::fs::read_to_string(dir.path().join(SAMPLES_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert_eq!(read_samples(dir.path()).unwrap().len(), 2, "every line is a whole record");
    }
}
