//! Finding a model's files: an explicit directory, the Hugging Face cache, or the generated
//! tiny checkpoint.

use std::path::{Path, PathBuf};

use super::registry::lookup_alias;
use super::tiny::{write_tiny_checkpoint, TinyGeometry};
use crate::error::RunnerError;

/// Seed of the embedded default tiny checkpoint.
pub const TINY_SEED: u64 = 20250405;

/// A model located on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    /// What the user asked for (alias or path).
    pub requested: String,
    /// The repository, when the alias names one.
    pub repo_id: Option<String>,
    /// Whether the alias is a SmolVLM2 model.
    pub smolvlm2: bool,
    /// The directory holding config.json and the weights.
    pub dir: PathBuf,
}

/// The snapshot folder of `repo_id` in the hub cache: the revision `refs/main` names, else the
/// only snapshot present.
pub fn hf_cache_snapshot(hub_dir: &Path, repo_id: &str) -> Option<PathBuf> {
    let repo_dir = hub_dir.join(format!("models--{}", repo_id.replace('/', "--")));
    if let Ok(rev) = std::fs::read_to_string(repo_dir.join("refs").join("main")) {
        let dir = repo_dir.join("snapshots").join(rev.trim());
        if dir.join("config.json").is_file() {
            return Some(dir);
        }
    }
    let snapshots: Vec<PathBuf> = std::fs::read_dir(repo_dir.join("snapshots"))
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("config.json").is_file())
        .collect();
    match snapshots.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// Checks that `dir` looks like a model directory.
pub fn check_model_dir(dir: &Path) -> Result<(), RunnerError> {
    if !dir.is_dir() {
        return Err(RunnerError::BadModelDir { path: dir.to_path_buf(), problem: "does not exist".into() });
    }
    for needed in ["config.json", "tokenizer.json"] {
        if !dir.join(needed).is_file() {
            return Err(RunnerError::BadModelDir { path: dir.to_path_buf(), problem: format!("has no {needed}") });
        }
    }
    let has_weights = std::fs::read_dir(dir)
        .map_err(|source| RunnerError::Io { path: dir.to_path_buf(), source })?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".safetensors"));
    if !has_weights {
        return Err(RunnerError::BadModelDir { path: dir.to_path_buf(), problem: "has no *.safetensors".into() });
    }
    Ok(())
}

/// Resolves `--model NAME [--model-path DIR]`.
///
/// An explicit path wins. Otherwise `tiny` is the generated checkpoint under `fixtures_dir`
/// (written on first use), an alias is looked up in the hub cache, and anything else that is an
/// existing directory is used as a path.
pub fn resolve_model(
    requested: &str,
    model_path: Option<&Path>,
    hub_dir: &Path,
    fixtures_dir: &Path,
) -> Result<ResolvedModel, RunnerError> {
    let alias = lookup_alias(requested).ok();
    if let Some(dir) = model_path {
        check_model_dir(dir)?;
        return Ok(ResolvedModel {
            requested: requested.to_string(),
            repo_id: alias.and_then(|a| a.repo_id).map(str::to_string),
            smolvlm2: alias.is_some_and(|a| a.smolvlm2),
            dir: dir.to_path_buf(),
        });
    }
    let Some(alias) = alias else {
        let as_path = Path::new(requested);
        if as_path.is_dir() {
            check_model_dir(as_path)?;
            return Ok(ResolvedModel {
                requested: requested.to_string(),
                repo_id: None,
                smolvlm2: false,
                dir: as_path.to_path_buf(),
            });
        }
        return Err(lookup_alias(requested).expect_err("not an alias"));
    };
    let Some(repo_id) = alias.repo_id else {
        let dir = fixtures_dir.join("models").join("tiny");
        if check_model_dir(&dir).is_err() {
            write_tiny_checkpoint(&dir, &TinyGeometry::default(), TINY_SEED)?;
        }
        return Ok(ResolvedModel { requested: requested.to_string(), repo_id: None, smolvlm2: false, dir });
    };
    let dir = hf_cache_snapshot(hub_dir, repo_id).ok_or_else(|| RunnerError::ModelNotFound {
        alias: alias.alias.to_string(),
        repo_id: repo_id.to_string(),
        looked: hub_dir.join(format!("models--{}", repo_id.replace('/', "--"))).join("snapshots").display().to_string(),
    })?;
    check_model_dir(&dir)?;
    Ok(ResolvedModel {
        requested: requested.to_string(),
        repo_id: Some(repo_id.to_string()),
        smolvlm2: alias.smolvlm2,
        dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_alias_names_the_cache_folder_and_the_fetch_command() {
        let hub = tempfile::tempdir().unwrap();
        let fx = tempfile::tempdir().unwrap();
        let err = resolve_model("256m", None, hub.path(), fx.path()).unwrap_err().to_string();
        assert!(err.contains("models--HuggingFaceTB--SmolVLM-256M-Instruct"), "{err}");
        assert!(err.contains("bench fetch 256m"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn hub_snapshot_is_found_through_refs_main() {
        let hub = tempfile::tempdir().unwrap();
        let fx = tempfile::tempdir().unwrap();
        let repo = hub.path().join("models--HuggingFaceTB--SmolVLM-256M-Instruct");
        let snap = repo.join("snapshots").join("abc123");
        write_tiny_checkpoint(&snap, &TinyGeometry::default(), 1).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs").join("main"), "abc123\n").unwrap();
        let m = resolve_model("256m", None, hub.path(), fx.path()).unwrap();
        assert_eq!(m.dir, snap);
        assert_eq!(m.repo_id.as_deref(), Some("HuggingFaceTB/SmolVLM-256M-Instruct"));
    }

    #[test]
    fn missing_model_path_is_reported_with_the_path() {
        let hub = tempfile::tempdir().unwrap();
        let err = resolve_model("256m", Some(Path::new("/nonexistent/model")), hub.path(), hub.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("model directory /nonexistent/model does not exist"), "{err}");
    }

    #[test]
    fn tiny_is_generated_on_first_use() {
        let hub = tempfile::tempdir().unwrap();
        let fx = tempfile::tempdir().unwrap();
        let m = resolve_model("tiny", None, hub.path(), fx.path()).unwrap();
        assert!(m.dir.join("model.safetensors").is_file());
    }
}
