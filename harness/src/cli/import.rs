//! `bench import FORMAT FILE --task NAME --out DIR`: another harness's predictions as a run
//! directory (see [`crate::import`]).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use smolbench_tasks::TaskRegistry;

use crate::import::{import, Format, ImportRequest};

/// Arguments of `bench import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file's harness and layout: `lmms-eval` (--log_samples JSONL), `vlmevalkit` (.xlsx or
    /// .tsv prediction file), `mmmu` (official <subject>/output.json folder, one output.json, or
    /// the eval-only {id: prediction} file with --answers), `mathvista` (official output JSON by pid).
    #[arg(value_enum)]
    format: Format,
    /// The prediction file (or, for `mmmu`, the folder of subject folders).
    input: PathBuf,
    /// The task the predictions answer (e.g. docvqa, mmmu, mathvista).
    #[arg(long, value_name = "NAME")]
    task: String,
    /// The run directory to write (must not hold a run).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The model's name, as the run records it.
    #[arg(long, default_value = "imported")]
    model: String,
    /// For the eval-only MMMU file: the official answer file (answer_dict_val.json).
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Load task folders from DIR too, as `bench run --include-path`.
    #[arg(long, value_name = "DIR", env = "SMOLBENCH_INCLUDE_PATH", value_delimiter = ':')]
    include_path: Vec<PathBuf>,
}

/// Runs `bench import`.
pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let registry = TaskRegistry::with_include_paths(&args.include_path)?;
    let task = registry.task(&args.task)?;
    let outcome = import(ImportRequest {
        format: args.format,
        input: &args.input,
        task,
        out: &args.out,
        model: &args.model,
        answers: args.answers.as_deref(),
    })?;
    println!("{}", smolbench_reports::render_table(&outcome.summary));
    println!(
        "imported {} {} predictions into {}; rescore with `bench rescore {}`, compare with `bench diff RUN {}`",
        outcome.records.len(),
        args.format.name(),
        args.out.display(),
        args.out.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
