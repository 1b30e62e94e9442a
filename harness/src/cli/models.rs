//! `bench models`: the aliases, their repositories and whether each is on disk.

use std::process::ExitCode;

use smolbench_runners::model::{hf_cache_snapshot, MODEL_ALIASES};

/// Prints one line per alias.
pub fn run() -> anyhow::Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    println!("{:<11} {:<45} {:<9} description", "alias", "repository", "local");
    for m in MODEL_ALIASES {
        let (repo, local) = match m.repo_id {
            Some(repo) => (repo, if hf_cache_snapshot(&hub, repo).is_some() { "yes" } else { "no" }),
            None => ("(generated)", "always"),
        };
        println!("{:<11} {repo:<45} {local:<9} {}", m.alias, m.description);
    }
    println!("\nHugging Face cache: {}", hub.display());
    Ok(ExitCode::SUCCESS)
}
