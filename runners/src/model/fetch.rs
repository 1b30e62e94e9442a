//! `bench fetch`: downloading a model into the Hugging Face cache with `hf-hub`.
//!
//! Where no network exists the download fails within a bounded time, and the error says which
//! repository to download elsewhere and which cache folder to copy here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::registry::lookup_alias;
use crate::error::RunnerError;

/// Files of a model repository that the harness needs (weights, configs, tokenizer, templates).
fn wanted(file: &str) -> bool {
    file.ends_with(".json") || file.ends_with(".safetensors") || file.ends_with(".jinja") || file.ends_with(".txt")
}

/// Downloads the model named by `alias` into `hub_dir`, returning its snapshot directory.
/// Each network step is bounded by `timeout`.
pub async fn fetch_model(alias: &str, hub_dir: &Path, timeout: Duration) -> Result<PathBuf, RunnerError> {
    let entry = lookup_alias(alias)?;
    let Some(repo_id) = entry.repo_id else {
        return Err(RunnerError::Fixture(
            "`tiny` is generated locally by `bench fixtures`; there is nothing to fetch".into(),
        ));
    };
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
    let fail = |reason: String| RunnerError::Fetch {
        repo_id: repo_id.to_string(),
        alias: entry.alias.to_string(),
        endpoint: endpoint.clone(),
        reason,
        cache_dir: hub_dir.join(format!("models--{}", repo_id.replace('/', "--"))),
    };
    let api = hf_hub::api::tokio::ApiBuilder::from_env()
        .with_cache_dir(hub_dir.to_path_buf())
        .with_endpoint(endpoint.clone())
        .with_progress(true)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let repo = api.model(repo_id.to_string());
    let info = tokio::time::timeout(timeout, repo.info())
        .await
        .map_err(|_| fail(format!("no answer within {} s", timeout.as_secs())))?
        .map_err(|e| fail(e.to_string()))?;
    let mut last = None;
    for file in info.siblings.iter().map(|s| s.rfilename.as_str()).filter(|f| wanted(f)) {
        let path = repo.get(file).await.map_err(|e| fail(format!("{file}: {e}")))?;
        last = Some(path);
    }
    let any = last.ok_or_else(|| fail("the repository lists no model files".into()))?;
    Ok(any.parent().map(Path::to_path_buf).unwrap_or(any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_hub_fails_with_a_clear_line() {
        let hub = tempfile::tempdir().unwrap();
        // A closed loopback port: the connection is refused at once.
        std::env::set_var("HF_ENDPOINT", "http://127.0.0.1:9");
        let err = fetch_model("500m", hub.path(), Duration::from_secs(20)).await.unwrap_err().to_string();
        std::env::remove_var("HF_ENDPOINT");
        assert!(
            err.starts_with("cannot download HuggingFaceTB/SmolVLM-500M-Instruct from http://127.0.0.1:9"),
            "{err}"
        );
        assert!(err.contains("models--HuggingFaceTB--SmolVLM-500M-Instruct"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
