//! Where SmolBench keeps its own files and where it looks for Hugging Face downloads.

use std::path::PathBuf;

fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

/// SmolBench's own cache: generated fixtures and prepared model directories.
/// `$SMOLBENCH_HOME`, else `$XDG_CACHE_HOME/smolbench`, else `~/.cache/smolbench`.
pub fn smolbench_home() -> PathBuf {
    if let Some(dir) = std::env::var_os("SMOLBENCH_HOME") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("smolbench");
    }
    home_dir().join(".cache").join("smolbench")
}

/// The Hugging Face hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub` (the same rules as `huggingface_hub`).
pub fn hf_hub_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("HF_HOME") {
        return PathBuf::from(dir).join("hub");
    }
    home_dir().join(".cache").join("huggingface").join("hub")
}
