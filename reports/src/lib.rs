//! Aggregating a run's sample records: scores with bootstrap confidence intervals, latency
//! percentiles and peak memory, and the table `bench run` prints.
//!
//! [`summarise_run`] turns `samples.jsonl` records into a [`RunSummary`] (the run's
//! `summary.json`); [`render_table`] prints it. Reports read records only: they never call a
//! runner or a task.
//!
//! ```
//! use smolbench_reports::stats::percentile;
//! assert_eq!(percentile(&[10.0, 20.0, 30.0], 50.0), Some(20.0));
//! ```
#![deny(missing_docs)]

pub mod stats;
mod summary;
mod table;

pub use summary::{
    summarise_run, summarise_task, GroupScore, Percentiles, RunSummary, TaskSummary, BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
};
pub use table::render_table;
