//! `bench diff RUN_A RUN_B`: where two runs differ, sample by sample, and why (see
//! [`crate::diff`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::diff::{diff_runs, render};

/// Arguments of `bench diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first run directory (e.g. a run of ours).
    run_a: PathBuf,
    /// The second run directory (e.g. `bench import`ed predictions of another harness).
    run_b: PathBuf,
    /// Differing samples printed per task (prompt, prediction, extraction trace and score of each).
    #[arg(long, default_value_t = 5, value_name = "N")]
    show: usize,
    /// Write every differing sample and the per-task counts to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Runs `bench diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let diff = diff_runs(&args.run_a, &args.run_b)?;
    if diff.tasks.is_empty() {
        anyhow::bail!(
            "{} and {} have no task in common (tasks: {})",
            args.run_a.display(),
            args.run_b.display(),
            diff.unshared_tasks.join(", ")
        );
    }
    print!("{}", render(&diff, args.show));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&diff)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
