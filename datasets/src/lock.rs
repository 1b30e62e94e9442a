//! Data locks: which files, of which size and SHA-256, a task's data set must consist of.
//!
//! A lock file is TOML with one `[[dataset]]` table per task:
//!
//! ```toml
//! [[dataset]]
//! task = "docvqa"
//! repo-id = "lmms-lab/DocVQA"
//! config = "DocVQA"
//! split = "validation"
//! revision = "<commit>"          # the hub commit the files were taken from, when known
//! files = [
//!   { path = "DocVQA/validation-00000-of-00006.parquet", size = 123, sha256 = "..." },
//! ]
//! ```
//!
//! `path` is relative to the data set's root (the repository root, or a snapshot directory of the
//! hub cache). An entry without files pins nothing: the data set is *unpinned* and runs record
//! that instead of a verification. [`check_files`] compares the files a run is about to read with
//! an entry; [`pin_files`] writes an entry from files on disk.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DatasetError;

/// A whole lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataLock {
    /// One entry per task.
    #[serde(default, rename = "dataset")]
    pub datasets: Vec<LockedDataset>,
}

/// The pinned data of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedDataset {
    /// The task the data belongs to.
    pub task: String,
    /// The Hugging Face data set (`ORG/NAME`).
    pub repo_id: String,
    /// The data set's config (subset), where it has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// The split the task reads.
    pub split: String,
    /// The hub commit the files belong to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The files of the split; empty when nothing is pinned yet.
    #[serde(default)]
    pub files: Vec<LockedFile>,
}

/// One pinned file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedFile {
    /// Path relative to the data set's root, with `/` separators.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the contents.
    pub sha256: String,
}

/// What comparing a data set's files with its lock found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockCheck {
    /// Every pinned file is present with its size and hash, and nothing else is read.
    Verified {
        /// Number of files checked.
        files: usize,
    },
    /// The lock has no files for this task, so nothing could be checked.
    Unpinned,
    /// Files differ from the lock: one sentence per problem, each naming the file.
    Mismatch(Vec<String>),
}

impl LockCheck {
    /// A short label for run records: `verified (N files)`, `unpinned`, or `mismatch`.
    pub fn label(&self) -> String {
        match self {
            LockCheck::Verified { files } => format!("verified ({files} files)"),
            LockCheck::Unpinned => "unpinned".to_string(),
            LockCheck::Mismatch(problems) => format!("mismatch: {}", problems.join("; ")),
        }
    }
}

impl DataLock {
    /// Reads and parses a lock file.
    pub fn load(path: &Path) -> Result<DataLock, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::io(path, e))?;
        DataLock::parse(&text, path)
    }

    /// Parses lock text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<DataLock, DatasetError> {
        let lock: DataLock = toml::from_str(text)
            .map_err(|e| DatasetError::BadLock { path: origin.to_path_buf(), problem: e.message().to_string() })?;
        let mut seen = BTreeMap::new();
        for entry in &lock.datasets {
            if seen.insert(entry.task.clone(), ()).is_some() {
                return Err(DatasetError::BadLock {
                    path: origin.to_path_buf(),
                    problem: format!("task `{}` has two entries", entry.task),
                });
            }
        }
        Ok(lock)
    }

    /// Writes the lock as TOML, with a header saying what the file is.
    pub fn save(&self, path: &Path) -> Result<(), DatasetError> {
        let body = toml::to_string_pretty(self).expect("a lock always serialises");
        let text = format!(
            "# SmolBench data lock: the files each task's data set must consist of, with sizes and SHA-256.\n\
             # Written by `bench lock`; checked by `bench run` and `bench fetch --task`.\n\n{body}"
        );
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DatasetError::io(dir, e))?;
        }
        std::fs::write(path, text).map_err(|e| DatasetError::io(path, e))
    }

    /// The entry of `task`, if any.
    pub fn entry(&self, task: &str) -> Option<&LockedDataset> {
        self.datasets.iter().find(|d| d.task == task)
    }

    /// Adds `entry`, replacing the task's previous entry.
    pub fn upsert(&mut self, entry: LockedDataset) {
        match self.datasets.iter_mut().find(|d| d.task == entry.task) {
            Some(old) => *old = entry,
            None => self.datasets.push(entry),
        }
        self.datasets.sort_by(|a, b| a.task.cmp(&b.task));
    }

    /// This lock with `other`'s entries laid over it, task by task (a user's lock over the
    /// project's).
    pub fn overlaid_with(mut self, other: DataLock) -> DataLock {
        for entry in other.datasets {
            self.upsert(entry);
        }
        self
    }
}

/// The project's lock for the real data sets (`datasets/locks/data.lock.toml`), built in.
pub const PROJECT_LOCK: &str = include_str!("../locks/data.lock.toml");

/// The built-in project lock, parsed.
pub fn project_lock() -> DataLock {
    DataLock::parse(PROJECT_LOCK, Path::new("datasets/locks/data.lock.toml")).expect("the project lock is valid")
}

/// SHA-256 and size of a file, streamed.
pub fn hash_file(path: &Path) -> Result<(u64, String), DatasetError> {
    let mut file = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| DatasetError::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// `path` relative to `root`, with `/` separators; the full path when it is not under `root`.
pub fn relative_path(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Compares the files a run will read (`files`, under `root`) with `entry`.
///
/// Every pinned file must exist with its size and hash, and every file read must be pinned.
/// Sizes are compared first, so a truncated download is reported without hashing it.
pub fn check_files(entry: &LockedDataset, root: &Path, files: &[PathBuf]) -> Result<LockCheck, DatasetError> {
    if entry.files.is_empty() {
        return Ok(LockCheck::Unpinned);
    }
    let mut problems = Vec::new();
    let read: Vec<String> = files.iter().map(|f| relative_path(f, root)).collect();
    for pinned in &entry.files {
        let path = root.join(&pinned.path);
        if !path.is_file() {
            problems.push(format!("{} is missing", path.display()));
            continue;
        }
        let size = std::fs::metadata(&path).map_err(|e| DatasetError::io(&path, e))?.len();
        if size != pinned.size {
            problems.push(format!("{} has {size} bytes, the lock says {}", path.display(), pinned.size));
            continue;
        }
        let (_, sha256) = hash_file(&path)?;
        if sha256 != pinned.sha256 {
            problems.push(format!("{} has SHA-256 {sha256}, the lock says {}", path.display(), pinned.sha256));
        }
    }
    for (rel, path) in read.iter().zip(files) {
        if !entry.files.iter().any(|p| &p.path == rel) {
            problems.push(format!("{} is not in the lock", path.display()));
        }
    }
    Ok(if problems.is_empty() {
        LockCheck::Verified { files: entry.files.len() }
    } else {
        LockCheck::Mismatch(problems)
    })
}

/// Hashes `files` (under `root`) into the file list of a lock entry.
pub fn pin_files(root: &Path, files: &[PathBuf]) -> Result<Vec<LockedFile>, DatasetError> {
    files
        .iter()
        .map(|f| {
            let (size, sha256) = hash_file(f)?;
            Ok(LockedFile { path: relative_path(f, root), size, sha256 })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(files: Vec<LockedFile>) -> LockedDataset {
        LockedDataset {
            task: "docvqa".into(),
            repo_id: "lmms-lab/DocVQA".into(),
            config: Some("DocVQA".into()),
            split: "validation".into(),
            revision: None,
            files,
        }
    }

    #[test]
    fn pinned_files_verify_and_any_change_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("DocVQA").join("validation-00000-of-00001.parquet");
        std::fs::create_dir_all(shard.parent().unwrap()).unwrap();
        std::fs::write(&shard, b"abc").unwrap();
        let files = vec![shard.clone()];
        let pinned = pin_files(dir.path(), &files).unwrap();
        assert_eq!(pinned[0].path, "DocVQA/validation-00000-of-00001.parquet");
        assert_eq!(pinned[0].size, 3);
        // SHA-256 of "abc" (FIPS 180-2 example).
        assert_eq!(pinned[0].sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let e = entry(pinned);
        assert_eq!(check_files(&e, dir.path(), &files).unwrap(), LockCheck::Verified { files: 1 });

        std::fs::write(&shard, b"abd").unwrap();
        let LockCheck::Mismatch(problems) = check_files(&e, dir.path(), &files).unwrap() else { panic!() };
        assert!(problems[0].contains("validation-00000-of-00001.parquet has SHA-256"), "{problems:?}");

        std::fs::write(&shard, b"ab").unwrap();
        let LockCheck::Mismatch(problems) = check_files(&e, dir.path(), &files).unwrap() else { panic!() };
        assert!(problems[0].ends_with("has 2 bytes, the lock says 3"), "{problems:?}");

        let extra = dir.path().join("DocVQA").join("validation-extra.parquet");
        std::fs::write(&shard, b"abc").unwrap();
        std::fs::write(&extra, b"x").unwrap();
        let LockCheck::Mismatch(problems) = check_files(&e, dir.path(), &[shard, extra]).unwrap() else { panic!() };
        assert_eq!(problems.len(), 1);
        assert!(problems[0].ends_with("validation-extra.parquet is not in the lock"), "{problems:?}");
    }

    #[test]
    fn an_entry_without_files_is_unpinned() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_files(&entry(vec![]), dir.path(), &[]).unwrap(), LockCheck::Unpinned);
    }

    #[test]
    fn locks_round_trip_and_overlay_by_task() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.lock.toml");
        let mut lock = DataLock::default();
        lock.upsert(entry(vec![LockedFile { path: "a.parquet".into(), size: 1, sha256: "00".into() }]));
        lock.save(&path).unwrap();
        let read = DataLock::load(&path).unwrap();
        assert_eq!(read, lock);

        let mut user = DataLock::default();
        user.upsert(entry(vec![]));
        let merged = lock.overlaid_with(user);
        assert_eq!(merged.datasets.len(), 1);
        assert!(merged.entry("docvqa").unwrap().files.is_empty());
    }

    #[test]
    fn the_project_lock_parses_and_names_every_image_task() {
        let lock = project_lock();
        for task in ["ai2d", "chartqa", "docvqa", "mathvista", "mmmu", "mmstar", "ocrbench", "scienceqa", "textvqa"] {
            assert!(lock.entry(task).is_some(), "{task}");
        }
    }

    #[test]
    fn malformed_locks_name_the_file() {
        let err = DataLock::parse("[[dataset]]\ntask = 3\n", Path::new("x/data.lock.toml")).unwrap_err().to_string();
        assert!(err.starts_with("x/data.lock.toml: "), "{err}");
        let dup =
            "[[dataset]]\ntask='a'\nrepo-id='o/n'\nsplit='test'\n[[dataset]]\ntask='a'\nrepo-id='o/n'\nsplit='test'\n";
        let err = DataLock::parse(dup, Path::new("l.toml")).unwrap_err().to_string();
        assert!(err.contains("task `a` has two entries"), "{err}");
    }
}
