//! Where SmolBench keeps its own files and where it looks for Hugging Face downloads.

use std::ffi::OsString;
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

/// The Hugging Face hub cache, by `huggingface_hub`'s rules: `$HF_HUB_CACHE`, else
/// `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
/// Empty variables count as unset.
pub fn hf_hub_dir() -> PathBuf {
    hub_dir_from(
        std::env::var_os("HF_HUB_CACHE"),
        std::env::var_os("HF_HOME"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`hf_hub_dir`] with the environment passed in.
fn hub_dir_from(
    hf_hub_cache: Option<OsString>,
    hf_home: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    let set = |v: Option<OsString>| v.filter(|s| !s.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(hf_hub_cache) {
        return dir;
    }
    if let Some(dir) = set(hf_home) {
        return dir.join("hub");
    }
    if let Some(dir) = set(xdg_cache_home) {
        return dir.join("huggingface").join("hub");
    }
    set(home).unwrap_or_default().join(".cache").join("huggingface").join("hub")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_dir_follows_huggingface_hub_precedence() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(hub_dir_from(os("/c"), os("/h"), os("/x"), os("/home/u")), PathBuf::from("/c"));
        assert_eq!(hub_dir_from(None, os("/h"), os("/x"), os("/home/u")), PathBuf::from("/h/hub"));
        assert_eq!(hub_dir_from(os(""), None, os("/x"), os("/home/u")), PathBuf::from("/x/huggingface/hub"));
        assert_eq!(hub_dir_from(None, None, None, os("/home/u")), PathBuf::from("/home/u/.cache/huggingface/hub"));
    }
}
