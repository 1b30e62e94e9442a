//! `bench fetch --task`: downloading one split of a Hugging Face data set into the hub cache with
//! `hf-hub`, at the locked revision, checked against the lock's sizes and hashes.
//!
//! Where no network exists the download fails within a bounded time, and the error says which
//! files to place where, so that the data can be copied from a machine that has them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hf_hub::api::tokio::ApiRepo;
use hf_hub::{Repo, RepoType};

use crate::layout::select_split_files;
use crate::lock::{check_files, LockCheck, LockedDataset};

/// What to download: a split of a data set, and the lock entry to check it against.
#[derive(Debug, Clone)]
pub struct FetchRequest<'a> {
    /// The data set (`ORG/NAME`).
    pub repo_id: &'a str,
    /// Its config, where it has several.
    pub config: Option<&'a str>,
    /// The split.
    pub split: &'a str,
    /// The files the card declares for the config (MVBench's `json/<config>.json`); empty for the
    /// usual parquet layouts.
    pub data_files: &'a [String],
    /// The revision to download (a commit, or `main`); the lock's revision wins when it has one.
    pub revision: Option<&'a str>,
    /// The lock entry, if the project or the user has one for this task.
    pub lock: Option<&'a LockedDataset>,
    /// The hub cache to download into.
    pub hub_dir: &'a Path,
    /// Bound on each network step.
    pub timeout: Duration,
    /// The hub's base URL ([`hub_endpoint`]).
    pub endpoint: &'a str,
}

/// The hub's base URL: `HF_ENDPOINT`, else `https://huggingface.co`.
pub fn hub_endpoint() -> String {
    std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into())
}

/// What a fetch produced.
#[derive(Debug)]
pub struct Fetched {
    /// The snapshot directory (`<hub>/datasets--ORG--NAME/snapshots/<commit>`).
    pub snapshot_dir: PathBuf,
    /// The split's files, downloaded.
    pub files: Vec<PathBuf>,
    /// How they compared with the lock.
    pub lock_check: LockCheck,
    /// Every file of the repository at that revision (paths relative to its root), for
    /// [`fetch_files`] to choose videos from.
    pub listing: Vec<String>,
    /// The revision the files were downloaded at (a branch, tag or commit, as asked).
    pub revision: String,
}

/// Why a fetch failed, in one line that says what to do instead.
#[derive(Debug, thiserror::Error)]
#[error("cannot download {repo_id} from {endpoint}: {reason}; {instead}")]
pub struct FetchError {
    /// The data set.
    pub repo_id: String,
    /// The hub endpoint tried.
    pub endpoint: String,
    /// What went wrong.
    pub reason: String,
    /// Where to put the files by hand.
    pub instead: String,
}

/// The folder the hub cache keeps a data set's snapshots in.
pub fn dataset_snapshots_dir(hub_dir: &Path, repo_id: &str) -> PathBuf {
    hub_dir.join(format!("datasets--{}", repo_id.replace('/', "--"))).join("snapshots")
}

/// What to do without a network: the files (from the lock, or the layout rule) and where.
fn manual_instructions(request: &FetchRequest<'_>, revision: &str) -> String {
    let target = dataset_snapshots_dir(request.hub_dir, request.repo_id).join(revision);
    let files = match request.lock {
        Some(lock) if !lock.files.is_empty() => {
            lock.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>().join(", ")
        }
        _ => match request.config {
            Some(config) => format!("{config}/{}-*.parquet (or data/{}-*.parquet)", request.split, request.split),
            None => format!("data/{}-*.parquet", request.split),
        },
    };
    format!(
        "copy {files} of {} from a machine with network access into {} (or pass --data-dir DIR holding {}/<those files>)",
        request.repo_id,
        target.display(),
        request.repo_id
    )
}

/// The `hf-hub` handle on `request`'s repository at `revision`.
fn open_repo(request: &FetchRequest<'_>, revision: &str, progress: bool) -> Result<ApiRepo, String> {
    let api = hf_hub::api::tokio::ApiBuilder::from_env()
        .with_cache_dir(request.hub_dir.to_path_buf())
        .with_endpoint(request.endpoint.to_string())
        .with_progress(progress)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(api.repo(Repo::with_revision(request.repo_id.to_string(), RepoType::Dataset, revision.to_string())))
}

/// Downloads the split's data files into the hub cache and checks them against the lock.
pub async fn fetch_dataset(request: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
    let revision = request.lock.and_then(|l| l.revision.as_deref()).or(request.revision).unwrap_or("main").to_string();
    let endpoint = request.endpoint.to_string();
    let fail = |reason: String| FetchError {
        repo_id: request.repo_id.to_string(),
        endpoint: endpoint.clone(),
        reason,
        instead: manual_instructions(request, &revision),
    };
    let repo = open_repo(request, &revision, true).map_err(fail)?;
    let info = tokio::time::timeout(request.timeout, repo.info())
        .await
        .map_err(|_| fail(format!("no answer within {} s", request.timeout.as_secs())))?
        .map_err(|e| fail(e.to_string()))?;
    let listing: Vec<String> = info.siblings.iter().map(|s| s.rfilename.clone()).collect();
    let wanted = match request.lock {
        Some(lock) if !lock.files.is_empty() => lock.files.iter().map(|f| f.path.clone()).collect(),
        _ => select_split_files(&listing, request.config, request.split, request.data_files),
    };
    if wanted.is_empty() {
        return Err(fail(format!("the repository at {revision} has no data files for split `{}`", request.split)));
    }
    let mut files = Vec::new();
    for file in &wanted {
        let path = repo.get(file).await.map_err(|e| fail(format!("{file}: {e}")))?;
        files.push(path);
    }
    let snapshot_dir = dataset_snapshots_dir(request.hub_dir, request.repo_id).join(&info.sha);
    let lock_check = match request.lock {
        Some(lock) => check_files(lock, &snapshot_dir, &files).map_err(|e| fail(e.to_string()))?,
        None => LockCheck::Unpinned,
    };
    Ok(Fetched { snapshot_dir, files, lock_check, listing, revision })
}

/// Downloads more files of the repository `fetched` came from, at the same revision, into the
/// same snapshot (a video task's videos and archives), calling `done` after each file; with
/// `byte_progress`, each download shows its own progress bar (for a few large archives rather
/// than thousands of clips). Files already in the cache are not downloaded again.
pub async fn fetch_files(
    request: &FetchRequest<'_>,
    fetched: &Fetched,
    files: &[String],
    byte_progress: bool,
    done: &(dyn Fn(&str) + Sync),
) -> Result<Vec<PathBuf>, FetchError> {
    let fail = |reason: String| FetchError {
        repo_id: request.repo_id.to_string(),
        endpoint: request.endpoint.to_string(),
        reason,
        instead: format!(
            "copy the videos of {} into {} (or pass --data-dir DIR holding {}/<those files>)",
            request.repo_id,
            fetched.snapshot_dir.display(),
            request.repo_id
        ),
    };
    let repo = open_repo(request, &fetched.revision, byte_progress).map_err(fail)?;
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        out.push(repo.get(file).await.map_err(|e| fail(format!("{file}: {e}")))?);
        done(file);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_hub::FakeHub;
    use crate::lock::{pin_files, LockedFile};

    /// Downloads through `hf-hub` from a loopback stand-in for the hub, then checks the lock:
    /// unpinned, pinned and verified, and pinned with a wrong hash.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn downloads_into_the_cache_and_checks_the_lock() {
        let remote = tempfile::tempdir().unwrap();
        crate::fixtures::write_docvqa_fixture(remote.path(), 4, 3).unwrap();
        std::fs::write(remote.path().join("README.md"), "card").unwrap();
        let hub_server = FakeHub::serve("lmms-lab/DocVQA", "0123abcd", remote.path()).unwrap();
        let hub = tempfile::tempdir().unwrap();
        let request = |lock| FetchRequest {
            repo_id: "lmms-lab/DocVQA",
            config: Some("DocVQA"),
            split: "validation",
            data_files: &[],
            revision: None,
            lock,
            hub_dir: hub.path(),
            timeout: Duration::from_secs(20),
            endpoint: hub_server.endpoint(),
        };
        let fetched = fetch_dataset(&request(None)).await.unwrap();
        assert_eq!(fetched.snapshot_dir, dataset_snapshots_dir(hub.path(), "lmms-lab/DocVQA").join("0123abcd"));
        assert_eq!(fetched.lock_check, LockCheck::Unpinned);
        let names: Vec<String> =
            fetched.files.iter().map(|f| crate::lock::relative_path(f, &fetched.snapshot_dir)).collect();
        let mut remote_files = crate::find_split_files(remote.path(), Some("DocVQA"), "validation").unwrap();
        remote_files.sort();
        let expected: Vec<String> = remote_files.iter().map(|f| crate::lock::relative_path(f, remote.path())).collect();
        assert_eq!(names, expected, "exactly the split's shards, not the card");
        for (got, want) in fetched.files.iter().zip(&remote_files) {
            assert_eq!(std::fs::read(got).unwrap(), std::fs::read(want).unwrap());
        }

        // Pinned with the right hashes: verified, from the cache.
        let lock = LockedDataset {
            task: "docvqa".into(),
            repo_id: "lmms-lab/DocVQA".into(),
            config: Some("DocVQA".into()),
            split: "validation".into(),
            revision: Some("0123abcd".into()),
            files: pin_files(remote.path(), &remote_files).unwrap(),
        };
        let verified = fetch_dataset(&request(Some(&lock))).await;
        let mut wrong = lock.clone();
        wrong.files[0].sha256 = "0".repeat(64);
        let mismatched = fetch_dataset(&request(Some(&wrong))).await;
        assert_eq!(verified.unwrap().lock_check, LockCheck::Verified { files: remote_files.len() });
        let LockCheck::Mismatch(problems) = mismatched.unwrap().lock_check else {
            panic!("a wrong hash must not verify")
        };
        assert!(problems[0].contains("the lock says 0000"), "{problems:?}");
    }

    #[tokio::test]
    async fn unreachable_hub_says_which_files_go_where() {
        let hub = tempfile::tempdir().unwrap();
        let lock = LockedDataset {
            task: "docvqa".into(),
            repo_id: "lmms-lab/DocVQA".into(),
            config: Some("DocVQA".into()),
            split: "validation".into(),
            revision: Some("abc123".into()),
            files: vec![LockedFile {
                path: "DocVQA/validation-00000-of-00006.parquet".into(),
                size: 1,
                sha256: "00".into(),
            }],
        };
        let request = FetchRequest {
            repo_id: "lmms-lab/DocVQA",
            config: Some("DocVQA"),
            split: "validation",
            data_files: &[],
            revision: None,
            lock: Some(&lock),
            hub_dir: hub.path(),
            timeout: Duration::from_secs(20),
            // A closed loopback port: the connection is refused at once.
            endpoint: "http://127.0.0.1:9",
        };
        let err = fetch_dataset(&request).await.unwrap_err().to_string();
        let unpinned = FetchRequest { lock: None, ..request.clone() };
        let err_unpinned = fetch_dataset(&unpinned).await.unwrap_err().to_string();
        assert!(err.starts_with("cannot download lmms-lab/DocVQA from http://127.0.0.1:9"), "{err}");
        let target = hub.path().join("datasets--lmms-lab--DocVQA/snapshots/abc123");
        assert!(err.contains(&format!("copy DocVQA/validation-00000-of-00006.parquet of lmms-lab/DocVQA from a machine with network access into {}", target.display())), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err_unpinned.contains("copy DocVQA/validation-*.parquet"), "{err_unpinned}");
        assert!(err_unpinned.contains("snapshots/main"), "{err_unpinned}");
    }
}
