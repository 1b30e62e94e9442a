//! Where a data set's parquet shards live: the Hugging Face repository layouts, and the local
//! Hugging Face hub cache (`datasets--ORG--NAME/snapshots/REV`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::DatasetError;

/// One file pattern: a directory, and a file-name test within it.
enum Pattern {
    /// `<dir>/<split>-*.parquet` (and the unsharded `<dir>/<split>.parquet`).
    SplitPrefix(PathBuf),
    /// `<dir>/*.parquet`.
    AnyParquet(PathBuf),
    /// The only `<dir>/*.parquet` file, when there is exactly one and its name is not that of a
    /// split shard (`test.parquet`, `train-00000-of-00001.parquet`): a single-file data set such
    /// as `Lin-Chen/MMStar`'s `mmstar.parquet`, whose card maps it to its one split.
    LoneFile(PathBuf),
}

/// Split names that a lone file must not carry: a repository holding only `test.parquet` has no
/// `validation` split to offer.
const SPLIT_NAMES: [&str; 7] = ["train", "validation", "valid", "val", "test", "testmini", "dev"];

/// Whether `stem` names a split shard: a common split name (alone or followed by `-`), or the
/// `-NNNNN-of-NNNNN` shard pattern.
fn looks_like_split_file(stem: &str) -> bool {
    stem.contains("-of-")
        || SPLIT_NAMES.iter().any(|s| stem == *s || stem.strip_prefix(s).is_some_and(|r| r.starts_with('-')))
}

impl Pattern {
    fn display(&self, split: &str) -> PathBuf {
        match self {
            Pattern::SplitPrefix(dir) => dir.join(format!("{split}-*.parquet")),
            Pattern::AnyParquet(dir) | Pattern::LoneFile(dir) => dir.join("*.parquet"),
        }
    }

    fn dir(&self) -> &Path {
        match self {
            Pattern::SplitPrefix(dir) | Pattern::AnyParquet(dir) | Pattern::LoneFile(dir) => dir,
        }
    }

    fn matches(&self, split: &str, file_name: &str) -> bool {
        let Some(stem) = file_name.strip_suffix(".parquet") else {
            return false;
        };
        match self {
            // `test-00000-of-00001` or `test`, never `test_dev-00000...` or `testing-...`.
            Pattern::SplitPrefix(_) => stem == split || stem.strip_prefix(split).is_some_and(|r| r.starts_with('-')),
            Pattern::AnyParquet(_) | Pattern::LoneFile(_) => !stem.is_empty() && !stem.starts_with('.'),
        }
    }
}

/// The parquet shards of one split of a data set downloaded from the Hugging Face hub.
///
/// Tries these layouts in order; the first that has at least one file wins:
///
/// 1. `<root>/<config>/<split>-*.parquet` (only with a config),
/// 2. `<root>/<config>/<split>/*.parquet` (only with a config; the `refs/convert/parquet` layout),
/// 3. `<root>/data/<split>-*.parquet`,
/// 4. `<root>/<split>-*.parquet`,
/// 5. `<root>/*.parquet` when the root holds exactly one parquet file and its name is not that of
///    a split shard (`mmstar.parquet` yes; `test.parquet`, `train-00000-of-00001.parquet` no):
///    a single-file data set whose card maps that file to its only split.
///
/// A `<split>-*.parquet` pattern also accepts an unsharded `<split>.parquet`; the `-` after the
/// split name is required, so split `test` does not pick up `test_dev-00000-of-00001.parquet`.
/// The files are sorted by name, which is shard order.
pub fn find_split_files(dataset_root: &Path, config: Option<&str>, split: &str) -> Result<Vec<PathBuf>, DatasetError> {
    if !dataset_root.exists() {
        return Err(DatasetError::MissingDir { path: dataset_root.to_path_buf() });
    }
    if !dataset_root.is_dir() {
        return Err(DatasetError::NotADirectory { path: dataset_root.to_path_buf() });
    }
    let mut patterns = Vec::new();
    if let Some(config) = config {
        patterns.push(Pattern::SplitPrefix(dataset_root.join(config)));
        patterns.push(Pattern::AnyParquet(dataset_root.join(config).join(split)));
    }
    patterns.push(Pattern::SplitPrefix(dataset_root.join("data")));
    patterns.push(Pattern::SplitPrefix(dataset_root.to_path_buf()));
    patterns.push(Pattern::LoneFile(dataset_root.to_path_buf()));

    for pattern in &patterns {
        let files = list_matching(pattern, split)?;
        if !files.is_empty() {
            return Ok(files);
        }
    }
    Err(DatasetError::NoSplitFiles {
        root: dataset_root.to_path_buf(),
        split: split.to_string(),
        looked: patterns.iter().map(|p| p.display(split)).collect(),
    })
}

/// The data files of a split whose repository card may declare them (`configs: - config_name:
/// X, data_files: json/X.json`, as MVBench's does): the `declared` files (relative to the root)
/// when every one of them is there, else [`find_split_files`]'s parquet layouts (a Hub parquet
/// conversion of the same data). When neither is found, the error lists the declared files
/// first among the places looked at.
pub fn find_data_files(
    dataset_root: &Path,
    config: Option<&str>,
    split: &str,
    declared: &[String],
) -> Result<Vec<PathBuf>, DatasetError> {
    let declared: Vec<PathBuf> = declared.iter().map(|f| dataset_root.join(f)).collect();
    if !declared.is_empty() && declared.iter().all(|f| f.is_file()) {
        return Ok(declared);
    }
    match find_split_files(dataset_root, config, split) {
        Err(DatasetError::NoSplitFiles { root, split, looked }) => {
            Err(DatasetError::NoSplitFiles { root, split, looked: declared.into_iter().chain(looked).collect() })
        }
        other => other,
    }
}

/// The files of `pattern`'s directory that match, sorted; none when the directory is absent.
fn list_matching(pattern: &Pattern, split: &str) -> Result<Vec<PathBuf>, DatasetError> {
    let dir = pattern.dir();
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DatasetError::io(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // Follows symlinks, which is how the hub cache stores snapshot files.
        if pattern.matches(split, &name) && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    if let Pattern::LoneFile(_) = pattern {
        let single_unsplit = files.len() == 1
            && files[0].file_stem().and_then(|s| s.to_str()).is_some_and(|s| !looks_like_split_file(s));
        if !single_unsplit {
            files.clear();
        }
    }
    Ok(files)
}

/// The snapshot directory of data set `repo_id` (`ORG/NAME`) in the hub cache `hf_hub_dir`:
/// `<hub>/datasets--ORG--NAME/snapshots/<commit>`.
///
/// `revision` may be a commit hash or a ref name (`main`, a tag) that has a file under `refs/`.
/// With no revision, the commit in `refs/main` is used; failing that, the only snapshot when there
/// is exactly one. `None` when nothing suitable is in the cache.
pub fn hf_cache_dataset_dir(hf_hub_dir: &Path, repo_id: &str, revision: Option<&str>) -> Option<PathBuf> {
    let repo_dir = hf_hub_dir.join(format!("datasets--{}", repo_id.replace('/', "--")));
    let snapshots = repo_dir.join("snapshots");
    let from_ref = |name: &str| -> Option<PathBuf> {
        let commit = fs::read_to_string(repo_dir.join("refs").join(name)).ok()?;
        let commit = commit.trim();
        if commit.is_empty() || commit.contains(['/', '\\']) || commit.starts_with('.') {
            return None;
        }
        Some(snapshots.join(commit)).filter(|p| p.is_dir())
    };
    match revision {
        Some(rev) => {
            let direct = (!rev.contains(['/', '\\']) && !rev.starts_with('.'))
                .then(|| snapshots.join(rev))
                .filter(|p| p.is_dir());
            direct.or_else(|| from_ref(rev))
        }
        None => from_ref("main").or_else(|| {
            let mut dirs =
                fs::read_dir(&snapshots).ok()?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir());
            let only = dirs.next()?;
            dirs.next().is_none().then_some(only)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    fn names(files: &[PathBuf]) -> Vec<String> {
        files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn config_layout_wins_and_is_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("DocVQA/validation-00001-of-00002.parquet"));
        touch(&root.join("DocVQA/validation-00000-of-00002.parquet"));
        touch(&root.join("DocVQA/test-00000-of-00001.parquet"));
        touch(&root.join("data/validation-00000-of-00001.parquet"));
        let files = find_split_files(root, Some("DocVQA"), "validation").unwrap();
        assert_eq!(names(&files), ["validation-00000-of-00002.parquet", "validation-00001-of-00002.parquet"]);
        // Without a config the `data/` layout is used.
        let files = find_split_files(root, None, "validation").unwrap();
        assert_eq!(names(&files), ["validation-00000-of-00001.parquet"]);
    }

    #[test]
    fn split_prefix_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("test_dev-00000-of-00001.parquet"));
        touch(&root.join("testing-00000-of-00001.parquet"));
        touch(&root.join("test-00000-of-00001.parquet.incomplete"));
        let err = find_split_files(root, None, "test").unwrap_err();
        assert!(matches!(err, DatasetError::NoSplitFiles { .. }), "{err}");
        touch(&root.join("test-00000-of-00001.parquet"));
        touch(&root.join("test.parquet"));
        let files = find_split_files(root, None, "test").unwrap();
        assert_eq!(names(&files), ["test-00000-of-00001.parquet", "test.parquet"]);
        let files = find_split_files(root, None, "test_dev").unwrap();
        assert_eq!(names(&files), ["test_dev-00000-of-00001.parquet"]);
        assert!(!looks_like_split_file("mmstar") && !looks_like_split_file("testing"));
        assert!(looks_like_split_file("dev") && looks_like_split_file("data-00001-of-00002"));
    }

    #[test]
    fn declared_data_files_win_over_the_parquet_conversion() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let declared = vec!["json/action_count.json".to_string()];
        // Neither present: the error lists the declared file first.
        let err = find_data_files(root, Some("action_count"), "train", &declared).unwrap_err();
        match &err {
            DatasetError::NoSplitFiles { looked, .. } => assert_eq!(looked[0], root.join("json/action_count.json")),
            other => panic!("{other}"),
        }
        // The Hub's parquet conversion alone is read.
        touch(&root.join("action_count/train/0000.parquet"));
        let files = find_data_files(root, Some("action_count"), "train", &declared).unwrap();
        assert_eq!(names(&files), ["0000.parquet"]);
        // With the card's file present, it wins.
        touch(&root.join("json/action_count.json"));
        let files = find_data_files(root, Some("action_count"), "train", &declared).unwrap();
        assert_eq!(files, [root.join("json/action_count.json")]);
        // Without declared files the rule is find_split_files'.
        assert_eq!(names(&find_data_files(root, Some("action_count"), "train", &[]).unwrap()), ["0000.parquet"]);
    }

    #[test]
    fn split_directory_layout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("default/train/0001.parquet"));
        touch(&root.join("default/train/0000.parquet"));
        touch(&root.join("default/train/notes.txt"));
        let files = find_split_files(root, Some("default"), "train").unwrap();
        assert_eq!(names(&files), ["0000.parquet", "0001.parquet"]);
    }

    #[test]
    fn missing_dir_and_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("nope");
        let err = find_split_files(&absent, None, "test").unwrap_err();
        assert!(matches!(err, DatasetError::MissingDir { ref path } if path == &absent));
        assert!(err.to_string().contains("nope"));

        let err = find_split_files(dir.path(), Some("cfg"), "val").unwrap_err();
        match &err {
            DatasetError::NoSplitFiles { root, split, looked } => {
                assert_eq!(root, dir.path());
                assert_eq!(split, "val");
                assert_eq!(
                    looked,
                    &[
                        dir.path().join("cfg/val-*.parquet"),
                        dir.path().join("cfg/val/*.parquet"),
                        dir.path().join("data/val-*.parquet"),
                        dir.path().join("val-*.parquet"),
                        dir.path().join("*.parquet"),
                    ]
                );
            }
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("cfg/val/*.parquet"));

        let file = dir.path().join("f");
        touch(&file);
        let err = find_split_files(&file, None, "test").unwrap_err();
        assert!(matches!(err, DatasetError::NotADirectory { .. }), "{err}");
    }

    #[test]
    fn hf_cache_resolution() {
        let dir = tempfile::tempdir().unwrap();
        let hub = dir.path();
        let repo = hub.join("datasets--lmms-lab--DocVQA");
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", None), None);

        fs::create_dir_all(repo.join("snapshots/aaa111")).unwrap();
        // One snapshot and no refs: use it.
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", None), Some(repo.join("snapshots/aaa111")));
        fs::create_dir_all(repo.join("snapshots/bbb222")).unwrap();
        // Two snapshots and no refs: ambiguous.
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", None), None);
        fs::create_dir_all(repo.join("refs")).unwrap();
        fs::write(repo.join("refs/main"), "bbb222\n").unwrap();
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", None), Some(repo.join("snapshots/bbb222")));
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", Some("aaa111")), Some(repo.join("snapshots/aaa111")));
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", Some("main")), Some(repo.join("snapshots/bbb222")));
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", Some("ccc")), None);
        assert_eq!(hf_cache_dataset_dir(hub, "lmms-lab/DocVQA", Some("../x")), None);
        assert_eq!(hf_cache_dataset_dir(hub, "other/Repo", None), None);
    }
}

/// The same choice as [`find_data_files`], made on a repository's file list (paths relative to
/// its root, `/`-separated) instead of a directory: what `bench fetch --task` downloads. The
/// `declared` files are chosen when the repository has every one of them.
pub fn select_split_files(listing: &[String], config: Option<&str>, split: &str, declared: &[String]) -> Vec<String> {
    if !declared.is_empty() && declared.iter().all(|f| listing.contains(f)) {
        return declared.to_vec();
    }
    let in_dir = |dir: &str, pattern: &Pattern| -> Vec<String> {
        let mut files: Vec<String> = listing
            .iter()
            .filter(|p| {
                let (parent, name) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
                parent == dir && pattern.matches(split, name)
            })
            .cloned()
            .collect();
        files.sort();
        files
    };
    let mut candidates: Vec<(String, Pattern)> = Vec::new();
    if let Some(config) = config {
        candidates.push((config.to_string(), Pattern::SplitPrefix(PathBuf::new())));
        candidates.push((format!("{config}/{split}"), Pattern::AnyParquet(PathBuf::new())));
    }
    candidates.push(("data".to_string(), Pattern::SplitPrefix(PathBuf::new())));
    candidates.push((String::new(), Pattern::SplitPrefix(PathBuf::new())));
    candidates.push((String::new(), Pattern::LoneFile(PathBuf::new())));
    for (dir, pattern) in &candidates {
        let mut files = in_dir(dir, pattern);
        if let Pattern::LoneFile(_) = pattern {
            let lone = files.len() == 1
                && files[0].rsplit('/').next().and_then(|n| n.strip_suffix(".parquet")).is_some_and(|s| {
                    !looks_like_split_file(s)
                        && listing.iter().filter(|p| !p.contains('/') && p.ends_with(".parquet")).count() == 1
                });
            if !lone {
                files.clear();
            }
        }
        if !files.is_empty() {
            return files;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod listing_tests {
    use super::select_split_files;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn listings_follow_the_directory_rules() {
        let repo = names(&[
            "README.md",
            "DocVQA/test-00000-of-00001.parquet",
            "DocVQA/validation-00000-of-00002.parquet",
            "DocVQA/validation-00001-of-00002.parquet",
            "InfographicVQA/validation-00000-of-00001.parquet",
        ]);
        assert_eq!(
            select_split_files(&repo, Some("DocVQA"), "validation", &[]),
            names(&["DocVQA/validation-00000-of-00002.parquet", "DocVQA/validation-00001-of-00002.parquet"])
        );
        let data = names(&["data/test-00000-of-00001.parquet", "data/test_dev-00000-of-00001.parquet"]);
        assert_eq!(
            select_split_files(&data, Some("default"), "test", &[]),
            names(&["data/test-00000-of-00001.parquet"])
        );
        let lone = names(&["mmstar.parquet", "README.md"]);
        assert_eq!(select_split_files(&lone, Some("val"), "val", &[]), names(&["mmstar.parquet"]));
        let not_lone = names(&["train.parquet"]);
        assert!(select_split_files(&not_lone, None, "val", &[]).is_empty());
        // A card's declared files win when the repository has them all (MVBench's JSON), and
        // the parquet layouts are the fallback.
        let mvbench = names(&["json/action_sequence.json", "json/fine_grained_action.json", "video/star.zip"]);
        let declared = names(&["json/action_sequence.json"]);
        assert_eq!(select_split_files(&mvbench, Some("action_sequence"), "train", &declared), declared);
        let converted = names(&["action_sequence/train/0000.parquet"]);
        assert_eq!(
            select_split_files(&converted, Some("action_sequence"), "train", &declared),
            names(&["action_sequence/train/0000.parquet"])
        );
    }
}
