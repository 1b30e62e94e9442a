//! Aggregating, comparing and presenting SmolBench runs.
//!
//! - [`summarise_run`] turns `samples.jsonl` records into a [`RunSummary`] (the run's
//!   `summary.json`); [`render_table`] prints it.
//! - [`rundir`] reads a finished run directory back.
//! - [`paired`] compares two runs sample by sample (exact McNemar, paired bootstrap) and says
//!   how small a difference a sample set can detect; the regression gate builds on it.
//! - [`signed_rank`] tests paired per-sample timings and memory (Wilcoxon signed-rank,
//!   Hodges-Lehmann shift and its confidence bound) for the gate.
//! - [`perf`] renders the performance page: throughput and memory against batch size.
//! - [`baselines`] holds the published numbers of SmolVLM and larger models, with their sources
//!   and settings; [`setting`] compares a run's setting with a published number's, field by field.
//! - [`site`] renders a static HTML report with PNG [`charts`] for one or more runs; [`labels`]
//!   places chart labels so that none overprints another.
//!
//! Reports read records only: they never call a runner or a task.
//!
//! ```
//! use smolbench_reports::stats::percentile;
//! assert_eq!(percentile(&[10.0, 20.0, 30.0], 50.0), Some(20.0));
//! ```
#![deny(missing_docs)]

pub mod baselines;
pub mod charts;
pub mod html;
pub mod labels;
pub mod paired;
pub mod perf;
pub mod rundir;
pub mod setting;
pub mod signed_rank;
pub mod site;
pub mod stats;
mod summary;
mod table;
pub mod thumbs;

pub use summary::{
    summarise_run, summarise_task, GroupScore, Percentiles, RunSummary, ScoreUnit, TaskSummary, BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
};
pub use table::render_table;
