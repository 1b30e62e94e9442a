//! `bench export`: a run's records as files other tools read as they are.
//!
//! - [`tables`] builds two typed tables from a run: one row per sample, one row per task.
//! - [`csv`] writes them as CSV (RFC 4180 quoting) and [`parquet`] through polars, the same
//!   columns either way, so pandas, W&B or a spreadsheet load them without options.
//! - [`lmms_eval`] writes the results layout of lmms-eval (a results JSON with per-task
//!   metrics, one samples JSONL per task) for comparing with it.
//!
//! Units are in the names: scores are fractions (0..1) as in `samples.jsonl` and `summary.json`
//! (`score_fraction`), where `bench run`'s terminal table shows percent; times are in
//! milliseconds (`_ms`), memory in bytes (`_bytes`).

pub mod csv;
pub mod lmms_eval;
pub mod parquet;
pub mod tables;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_reports::rundir::LoadedRun;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `samples.csv` and `tasks.csv`.
    Csv,
    /// `samples.parquet` and `tasks.parquet`.
    Parquet,
    /// lmms-eval's `<model>/<date>_results.json` and `<date>_samples_<task>.jsonl`.
    LmmsEval,
}

/// Writes `run` in `format` under `out` (created); returns the files written.
pub fn export(run: &LoadedRun, format: Format, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating the export folder {}", out.display()))?;
    match format {
        Format::Csv | Format::Parquet => {
            type Writer = fn(&tables::Table, &Path) -> Result<()>;
            let (ext, write): (&str, Writer) = match format {
                Format::Csv => ("csv", csv::write),
                _ => ("parquet", parquet::write),
            };
            let mut written = Vec::new();
            for (name, table) in [("samples", tables::samples_table(run)), ("tasks", tables::tasks_table(run))] {
                let path = out.join(format!("{name}.{ext}"));
                write(&table, &path)?;
                written.push(path);
            }
            Ok(written)
        }
        Format::LmmsEval => lmms_eval::write(run, out),
    }
}
