//! `bench fixtures`: write the tiny model and the synthetic data sets.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::fixtures::{default_fixtures_root, write_fixtures};

/// Arguments of `bench fixtures`.
#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// Where to write them [default: $SMOLBENCH_HOME/fixtures, else ~/.cache/smolbench/fixtures].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Writes the fixtures and says where they went.
pub fn run(args: FixturesArgs) -> anyhow::Result<ExitCode> {
    let root = args.out.unwrap_or_else(default_fixtures_root);
    let written = write_fixtures(&root)?;
    println!("tiny model      {}", written.model_dir.display());
    for (repo, dir, rows) in &written.datasets {
        println!("{repo:<15} {} ({rows} rows)", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
