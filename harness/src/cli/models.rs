//! `bench models`: the aliases, their repositories and whether each is on disk.

use std::process::ExitCode;

use smolbench_runners::model::{hf_cache_snapshot, MODEL_ALIASES};

/// Prints one line per alias.
pub fn run() -> anyhow::Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    println!("{:<11} {:<45} {:<9} {:<12} description", "alias", "repository", "local", "images");
    for m in MODEL_ALIASES {
        let (repo, local) = match m.repo_id {
            Some(repo) => (repo, if hf_cache_snapshot(&hub, repo).is_some() { "yes" } else { "no" }),
            None => ("(generated)", "always"),
        };
        // The default image handling: splitting at the evaluation's longest edge, or one tile.
        let images = match (m.image_splitting, m.longest_edge) {
            (true, Some(edge)) => format!("split@{edge}"),
            (true, None) => "split".to_string(),
            (false, _) => "one tile".to_string(),
        };
        println!("{:<11} {repo:<45} {local:<9} {images:<12} {}", m.alias, m.description);
    }
    println!("\nHugging Face cache: {}", hub.display());
    Ok(ExitCode::SUCCESS)
}
