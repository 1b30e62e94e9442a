//! `bench export RUN_DIR --format csv|parquet|lmms-eval [--out DIR]`: a run's records as files
//! pandas, W&B, a spreadsheet or lmms-eval's tooling read as they are.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, ValueEnum};
use smolbench_reports::rundir::load_run;

use crate::export::{export, Format};

/// The formats `--format` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// samples.csv and tasks.csv.
    Csv,
    /// samples.parquet and tasks.parquet.
    Parquet,
    /// lmms-eval's results JSON and per-task samples JSONL.
    LmmsEval,
}

/// Arguments of `bench export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run directory.
    #[arg(value_name = "RUN_DIR")]
    run: PathBuf,
    /// What to write.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// The folder to write into [default: RUN_DIR/export].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Runs `bench export`.
pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let run = load_run(&args.run)?;
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Parquet => Format::Parquet,
        FormatArg::LmmsEval => Format::LmmsEval,
    };
    let out = args.out.unwrap_or_else(|| args.run.join("export"));
    for path in export(&run, format, &out)? {
        println!("{}", path.display());
    }
    println!("scores are fractions (0-1) in every exported file, as in summary.json; bench run's table shows percent");
    Ok(ExitCode::SUCCESS)
}
