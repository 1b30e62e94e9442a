//! `bench models`: the aliases, their repositories, whether each is on disk, and the evaluation
//! setting a run of each uses by default (image handling, prompt profile).

use std::process::ExitCode;

use smolbench_runners::model::{hf_cache_snapshot, MODEL_ALIASES};

/// Prints one line per alias.
pub fn run() -> anyhow::Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    println!("{:<11} {:<45} {:<9} {:<12} {:<20} description", "alias", "repository", "local", "images", "prompts");
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
        // The default prompt profile: the authors' where a task defines it, else the task's own.
        let prompts = match m.prompt_profile {
            Some(profile) => format!("{profile}*"),
            None => "lmms-eval".to_string(),
        };
        println!("{:<11} {repo:<45} {local:<9} {images:<12} {prompts:<20} {}", m.alias, m.description);
    }
    println!(
        "\n* the SmolVLM authors' evaluation setting (VLMEvalKit prompts, token budgets and scoring) for the tasks that define it, \
         lmms-eval for the others; `bench run --prompt-profile lmms-eval` picks lmms-eval's everywhere."
    );
    println!("\nHugging Face cache: {}", hub.display());
    Ok(ExitCode::SUCCESS)
}
