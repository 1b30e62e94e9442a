//! `bench merge RUN_DIR|PART_DIR... --out DIR`: combine the parts of a sharded run.
//!
//! Refuses parts of different configs (naming the field) and, unless `--allow-missing`, a set of
//! parts that leaves selected samples unrecorded; reports duplicated samples by task. The output
//! is an ordinary run directory that `bench rescore` and the reports read as usual.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use crate::merge::{check_same_config, merge_parts, part_dirs, read_part, write_merged, MERGE_FILE};

/// Arguments of `bench merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Sharded run directories (every part under their parts/ folder is taken) or part
    /// directories (parts/shard-I-of-N).
    #[arg(required = true, value_name = "RUN_DIR|PART_DIR")]
    inputs: Vec<PathBuf>,
    /// The run directory to write (must not hold a run).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Write the merged run even where samples are missing (absent or unfinished shards).
    #[arg(long)]
    allow_missing: bool,
}

/// Runs `bench merge`.
pub fn run(args: MergeArgs) -> Result<ExitCode> {
    let parts = part_dirs(&args.inputs)?.iter().map(|d| read_part(d)).collect::<Result<Vec<_>>>()?;
    check_same_config(&parts)?;
    let merged = merge_parts(parts);
    let report = &merged.report;
    let missing = report.missing_total();
    if missing > 0 && !args.allow_missing {
        bail!(
            "{missing} selected samples are in no part ({}); finish or resume those shards (bench run ... --resume RUN_DIR --shard I/N), or pass --allow-missing to merge what there is",
            report.findings().join("; ")
        );
    }
    let summary = write_merged(&args.out, &merged)?;
    println!("{}", smolbench_reports::render_table(&summary));
    for finding in report.findings() {
        println!("{finding}");
    }
    println!(
        "merged {} parts ({} samples) into {}; details in {}",
        report.parts.len(),
        report.merged_samples,
        args.out.display(),
        args.out.join(MERGE_FILE).display()
    );
    Ok(ExitCode::SUCCESS)
}
