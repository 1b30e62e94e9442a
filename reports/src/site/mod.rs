//! The report site: static HTML pages and PNG charts for one or more runs, written to a
//! directory that opens from the file system with no server and no network. One file per page:
//!
//! - [`index`] → `index.html`: the answer first. A headline chart of score against peak memory
//!   (the runs, the SmolVLM family, larger baselines) beside a compact table: per task, the run's
//!   score with its interval, the number published for the same checkpoint and setting, and the
//!   difference. Then what each run was, from its `run.json`.
//! - [`latency`] → `latency.html`: TTFT, end-to-end latency and decode speed per run and task.
//! - [`breakdowns`] → `tasks.html`: per-category breakdowns (MMMU subjects, OCRBench categories...).
//! - [`samples`] → `samples/<run>-<task>.html`: every sample with its image, prompt, prediction,
//!   extraction trace and score, filterable to the failures.
//! - [`published`] → `baselines.html`: the published numbers for the runs' tasks with their
//!   settings compared field by field, then every published number with its full source.
//!
//! Every text about a run comes from its records ([`describe`]); every piece of run or source
//! text goes through the one escaping function, [`crate::html::escape`].

mod breakdowns;
mod describe;
mod index;
mod latency;
mod published;
mod samples;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_core::{AggregateRecord, SampleStatus, TaskRecord};

use crate::baselines::{Baselines, PublishedResult};
use crate::rundir::LoadedRun;
use crate::setting::{Comparison, Setting};
use crate::summary::TaskSummary;

/// What to render.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The report's title.
    pub title: String,
    /// Read images back from the data sets for the per-sample pages.
    pub thumbnails: bool,
    /// At most this many thumbnails per run and task, failures first (`None`: every sample).
    /// Decoding scanned pages is what a large report spends its time on.
    pub max_thumbnails: Option<usize>,
}

/// Thumbnails per run and task unless asked otherwise.
pub const DEFAULT_MAX_THUMBNAILS: usize = 1000;

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions { title: "SmolBench report".into(), thumbnails: true, max_thumbnails: Some(DEFAULT_MAX_THUMBNAILS) }
    }
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct SiteOutput {
    /// HTML pages, relative to the output directory.
    pub pages: Vec<PathBuf>,
    /// PNG files (charts and thumbnails), relative to the output directory.
    pub images: Vec<PathBuf>,
    /// Things the reader should know (missing data files, runs without a summary...).
    pub warnings: Vec<String>,
}

/// A run with its place in the report.
struct RunView<'a> {
    run: &'a LoadedRun,
    /// `R1`, `R2`...
    tag: String,
    /// File-name stem: `r1`, `r2`...
    stem: String,
    /// Model, device and profile: runs are grouped by it.
    group: String,
    /// Its series index in the charts.
    index: usize,
}

impl RunView<'_> {
    fn legend(&self) -> String {
        format!("{} {} ({})", self.tag, self.run.manifest.model.requested, self.run.manifest.device.compute)
    }

    fn task(&self, task: &str) -> Option<&TaskSummary> {
        self.run.summary.tasks.iter().find(|t| t.task == task)
    }

    fn aggregate(&self, name: &str) -> Option<&AggregateRecord> {
        self.run.aggregates.iter().find(|a| a.task == name)
    }

    /// The `run.json` record of `task`, or for a group of tasks (MVBench) of its first member.
    fn task_record(&self, task: &str) -> Option<&TaskRecord> {
        let tasks = &self.run.manifest.tasks;
        tasks.iter().find(|t| t.name == task).or_else(|| {
            let members = &self.aggregate(task)?.members;
            tasks.iter().find(|t| members.contains(&t.name))
        })
    }

    /// The run's setting for `task`, from `run.json`.
    fn setting(&self, task: &str) -> Option<Setting> {
        self.task_record(task).map(|t| Setting::of_run_task(&self.run.manifest.model, t))
    }

    /// The numbers published for this run's checkpoint and `task`, each with how its setting
    /// compares; same-setting ones first.
    fn published_for<'b>(&self, baselines: &'b Baselines, task: &str) -> Vec<(&'b PublishedResult, Comparison)> {
        let (Some(repo), Some(setting)) = (&self.run.manifest.model.repo_id, self.setting(task)) else {
            return Vec::new();
        };
        let mut rows: Vec<(&PublishedResult, Comparison)> = baselines
            .scores_for_checkpoint(repo, task)
            .into_iter()
            .map(|r| (r, setting.compare(&Setting::of_published(r))))
            .collect();
        rows.sort_by_key(|(r, c)| (!c.same_setting(), r.is_unverified(), r.tier != "PRIMARY"));
        rows
    }
}

fn safe_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// The anchor of a published number on `baselines.html`.
fn baseline_id(baselines: &Baselines, r: &PublishedResult) -> usize {
    baselines.all().iter().position(|x| std::ptr::eq(x, r)).unwrap_or(0)
}

struct Writer<'a> {
    out: &'a Path,
    output: SiteOutput,
}

impl Writer<'_> {
    fn page(&mut self, rel: &str, html: String) -> Result<()> {
        let path = self.out.join(rel);
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
        self.output.pages.push(PathBuf::from(rel));
        Ok(())
    }

    fn png(&mut self, rel: &str, png: Vec<u8>) -> Result<()> {
        let path = self.out.join(rel);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        self.output.images.push(PathBuf::from(rel));
        Ok(())
    }
}

/// The runs in report order: grouped by model, device and profile, in the order given within
/// a group.
fn views(runs: &[LoadedRun]) -> Vec<RunView<'_>> {
    let mut order: Vec<(String, usize)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{} · {} · {}", r.model_label(), r.device_label(), r.profile_label()), i))
        .collect();
    let mut first_seen: Vec<String> = Vec::new();
    for (g, _) in &order {
        if !first_seen.contains(g) {
            first_seen.push(g.clone());
        }
    }
    order.sort_by_key(|(g, i)| (first_seen.iter().position(|x| x == g), *i));
    order
        .into_iter()
        .enumerate()
        .map(|(k, (group, i))| RunView {
            run: &runs[i],
            tag: format!("R{}", k + 1),
            stem: format!("r{}", k + 1),
            group,
            index: k,
        })
        .collect()
}

/// Renders the site for `runs` into `out` (created if needed).
pub fn build_site(runs: &[LoadedRun], baselines: &Baselines, out: &Path, options: &SiteOptions) -> Result<SiteOutput> {
    anyhow::ensure!(!runs.is_empty(), "no runs to report on");
    crate::charts::ensure_font()?;
    for dir in [out.to_path_buf(), out.join("charts"), out.join("samples"), out.join("samples/thumbs")] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let views = views(runs);
    let mut tasks: Vec<String> = Vec::new();
    for v in &views {
        for t in &v.run.summary.tasks {
            if !tasks.contains(&t.task) {
                tasks.push(t.task.clone());
            }
        }
    }

    let mut w = Writer { out, output: SiteOutput::default() };
    for v in &views {
        if !v.run.summary_from_file {
            w.output.warnings.push(format!(
                "{} has no summary.json (the run did not finish); its numbers are computed from samples.jsonl",
                v.run.dir.display()
            ));
        }
    }
    let sample_links = samples::write_pages(&mut w, &views, options)?;
    index::write_page(&mut w, &views, &tasks, baselines, &sample_links, options)?;
    latency::write_page(&mut w, &views, &tasks, options)?;
    breakdowns::write_page(&mut w, &views, &tasks, options)?;
    published::write_page(&mut w, &views, &tasks, baselines, options)?;
    Ok(w.output)
}

fn is_pass(r: &smolbench_core::SampleRecord) -> bool {
    r.status == SampleStatus::Ok && r.score.is_some_and(|s| s >= 1.0 - 1e-12)
}

#[cfg(test)]
mod tests;
