//! The sample loop: each planned task's rows become requests, the runner answers, the task
//! scores, and each record is stored the moment its sample ends.
//!
//! The loop is generic over [`Runner`]: the in-process engine (one sample at a time) or a pool of
//! endpoints (up to `concurrency` samples in flight; records then complete, and are stored, out
//! of order, each exactly once).
//!
//! A sample that fails (an unreadable image, an engine error, an endpoint that gave up) is
//! recorded as failed with its error and the run goes on; after `max_consecutive_failures`
//! failures in a row (in completion order) the run stops starting samples, records those already
//! in flight, and keeps everything recorded.

use std::future::Future;
use std::io::IsTerminal as _;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use smolbench_core::{SampleRecord, SampleStatus};
use smolbench_runners::Runner;
use smolbench_tasks::{PreparedSample, Task};

use crate::judge::Judge;
use crate::plan::PlannedTask;
use crate::store::RunStore;

/// Rows read from parquet at a time.
const ROW_BATCH: usize = 16;

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every selected sample has a record.
    Completed,
    /// The run stopped early after too many consecutive failures.
    Aborted {
        /// Why, in one line.
        reason: String,
    },
}

/// Decides which samples a run executes (one shard's share, less those already recorded). It
/// sees each sample after its row is read and before the model is asked.
pub trait SampleFilter: Send + Sync + std::fmt::Debug {
    /// Whether to run row `index` of `task`, whose id is `sample_id` (`row-<index>` where the row
    /// could not be made into a sample).
    fn keep(&self, task: &str, index: usize, sample_id: &str) -> bool;
}

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// Stop after this many failed samples in a row.
    pub max_consecutive_failures: usize,
    /// A pause after each sample. Only for tests that must interrupt a run midway
    /// (`SMOLBENCH_TEST_SAMPLE_DELAY_MS`).
    pub delay_after_sample: Option<Duration>,
    /// Runs only the samples this keeps; every sample where `None`.
    pub filter: Option<Arc<dyn SampleFilter>>,
    /// Samples in flight at once (capped by the runner's own limit; at least 1).
    pub concurrency: usize,
    /// The LLM judge, asked where a task's reference asks one (`--judge-endpoint`).
    pub judge: Option<Arc<Judge>>,
}

fn failed_record(
    task: &Task,
    index: usize,
    sample_id: String,
    sample: Option<&PreparedSample>,
    error: String,
) -> SampleRecord {
    SampleRecord {
        task: task.name().to_string(),
        sample_id,
        index,
        status: SampleStatus::Failed,
        system: sample.and_then(|s| s.request.system.clone()),
        prompt: sample.map(|s| s.request.prompt.clone()).unwrap_or_default(),
        assistant_prefix: sample.and_then(|s| s.request.assistant_prefix.clone()),
        n_images: sample.map_or(0, |s| s.request.images.len()),
        video: sample.and_then(|s| s.video.clone()),
        references: sample.map(|s| s.references.clone()).unwrap_or_default(),
        context: sample.map(|s| s.context.clone()).unwrap_or_default(),
        breakdown: sample.map(|s| s.breakdown.clone()).unwrap_or_default(),
        prediction: None,
        extracted: None,
        extraction_trace: Vec::new(),
        metric: task.metric().name.to_string(),
        score: None,
        generation: None,
        memory: None,
        error: Some(error),
        judge: None,
    }
}

async fn run_sample<R: Runner>(
    task: &Task,
    sample: PreparedSample,
    index: usize,
    runner: &R,
    judge: Option<&Judge>,
) -> SampleRecord {
    let load = crate::machine_load::LoadWatch::start();
    let reply = runner.generate(&sample.request).await;
    let memory = reply.memory;
    match reply.generation {
        Ok(mut generation) => {
            generation.machine = load.and_then(|l| l.finish());
            let scored = task.score(&generation.text, &sample.references, &sample.context);
            let mut record = SampleRecord {
                task: task.name().to_string(),
                sample_id: sample.id,
                index,
                status: SampleStatus::Ok,
                system: sample.request.system,
                prompt: sample.request.prompt,
                assistant_prefix: sample.request.assistant_prefix,
                n_images: sample.request.images.len(),
                video: sample.video,
                references: sample.references,
                context: sample.context,
                breakdown: sample.breakdown,
                prediction: Some(generation.text.clone()),
                extracted: Some(scored.extracted),
                extraction_trace: scored.trace,
                metric: task.metric().name.to_string(),
                score: Some(scored.score),
                generation: Some(generation),
                memory,
                error: None,
                judge: None,
            };
            if let Some(judge) = judge {
                judge.judge_record(task, &mut record).await;
            }
            record
        }
        Err(e) => {
            let mut record = failed_record(task, index, sample.id.clone(), Some(&sample), e.to_string());
            record.memory = memory;
            record
        }
    }
}

/// The run's progress: a bar on a terminal; otherwise (a Slurm log, CI, a pipe) one plain line
/// every [`progress_interval`] (done/total, rate, ETA), so a log shows the run is alive.
struct Progress {
    bar: ProgressBar,
    plain: Option<std::cell::RefCell<PlainProgress>>,
}

struct PlainProgress {
    total: usize,
    done: usize,
    ran: usize,
    started: Instant,
    last: Instant,
    every: Duration,
}

/// How often the plain progress line is written: `SMOLBENCH_PROGRESS_SECS` (default 30 s).
fn progress_interval() -> Duration {
    let secs = std::env::var("SMOLBENCH_PROGRESS_SECS").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(30.0);
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::from_secs(30))
}

impl Progress {
    fn new(total: usize) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} samples  {per_sec}  ETA {eta}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            return Progress { bar, plain: None };
        }
        let now = Instant::now();
        let plain = PlainProgress { total, done: 0, ran: 0, started: now, last: now, every: progress_interval() };
        Progress { bar: ProgressBar::hidden(), plain: Some(std::cell::RefCell::new(plain)) }
    }

    fn set_task(&self, name: &str) {
        self.bar.set_prefix(name.to_string());
    }

    /// One more sample done: `ran` when it was run now (not skipped as already recorded).
    fn inc(&self, ran: bool) {
        self.bar.inc(1);
        let Some(p) = &self.plain else { return };
        let mut p = p.borrow_mut();
        p.done += 1;
        p.ran += usize::from(ran);
        let now = Instant::now();
        if now.duration_since(p.last) >= p.every || p.done == p.total {
            p.last = now;
            eprintln!("{}", p.line(now));
        }
    }
}

impl PlainProgress {
    fn line(&self, now: Instant) -> String {
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let rate = if elapsed > 0.0 { self.ran as f64 / elapsed } else { 0.0 };
        let left = self.total.saturating_sub(self.done);
        let eta = if left == 0 {
            "0s".to_string()
        } else if rate > 0.0 {
            format_secs(left as f64 / rate)
        } else {
            "unknown".to_string()
        };
        let percent = if self.total > 0 { 100.0 * self.done as f64 / self.total as f64 } else { 100.0 };
        format!(
            "progress: {}/{} samples ({percent:.0}%), {rate:.2} samples/s, elapsed {}, ETA {eta}",
            self.done,
            self.total,
            format_secs(elapsed)
        )
    }
}

/// `3725.0` as `1h02m05s`, `65.0` as `1m05s`, `4.2` as `4s`.
fn format_secs(secs: f64) -> String {
    let s = secs.round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

type InFlight<'a> = Pin<Box<dyn Future<Output = SampleRecord> + 'a>>;

/// Runs every planned task, appending records to `store`; returns all records and the outcome.
pub async fn run_tasks<R: Runner>(
    tasks: &[PlannedTask],
    runner: &R,
    store: &mut RunStore,
    settings: LoopSettings,
) -> Result<(Vec<SampleRecord>, Outcome)> {
    let concurrency = settings.concurrency.clamp(1, runner.max_concurrency().max(1));
    let progress = Progress::new(tasks.iter().map(|t| t.selected).sum());
    let mut records = Vec::new();
    let mut consecutive_failures = 0;
    let mut abort: Option<String> = None;
    let mut in_flight: FuturesUnordered<InFlight<'_>> = FuturesUnordered::new();

    // Stores one finished record and updates the failure streak; returns the abort reason once
    // the streak reaches the limit.
    let mut finish = |record: SampleRecord, records: &mut Vec<SampleRecord>| -> Result<Option<String>> {
        store.append(&record)?;
        progress.inc(true);
        let mut stop = None;
        if record.status == SampleStatus::Failed {
            consecutive_failures += 1;
            let error = record.error.clone().unwrap_or_default();
            tracing::warn!(task = %record.task, sample = %record.sample_id, "sample failed: {error}");
            if consecutive_failures >= settings.max_consecutive_failures {
                stop = Some(format!(
                    "stopped after {consecutive_failures} consecutive failed samples; last error: {error}"
                ));
            }
        } else {
            consecutive_failures = 0;
        }
        records.push(record);
        Ok(stop)
    };

    'tasks: for planned in tasks {
        let task = &planned.task;
        progress.set_task(task.name());
        let columns: Vec<String> = task.columns();
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        // Rows are read a batch at a time, so memory stays flat however large the split.
        for batch_start in (0..planned.selected).step_by(ROW_BATCH) {
            let batch_end = (batch_start + ROW_BATCH).min(planned.selected);
            let rows = planned.table.read_rows_at(&columns, batch_start..batch_end)?;
            for (index, row) in (batch_start..).zip(rows.iter()) {
                if abort.is_some() {
                    break 'tasks;
                }
                let built = task.build_sample(row, index);
                if let Some(filter) = &settings.filter {
                    let id = built.as_ref().map_or_else(|_| format!("row-{index}"), |s| s.id.clone());
                    if !filter.keep(task.name(), index, &id) {
                        progress.inc(false);
                        continue;
                    }
                }
                // The runner may start on this sample's inputs (decoding, preprocessing) while the
                // samples in flight finish: one sample ahead, so memory stays bounded.
                if let Ok(sample) = &built {
                    runner.prefetch(&sample.request);
                }
                // Wait for a free slot, storing whatever finishes meanwhile.
                while in_flight.len() >= concurrency {
                    let record = in_flight.next().await.expect("in_flight is not empty");
                    if let Some(reason) = finish(record, &mut records)? {
                        abort.get_or_insert(reason);
                    }
                    if let Some(delay) = settings.delay_after_sample {
                        tokio::time::sleep(delay).await;
                    }
                }
                if abort.is_some() {
                    break 'tasks;
                }
                match built {
                    Ok(sample) => {
                        in_flight.push(Box::pin(run_sample(task, sample, index, runner, settings.judge.as_deref())))
                    }
                    Err(e) => {
                        let record = failed_record(task, index, format!("row-{index}"), None, e.to_string());
                        if let Some(reason) = finish(record, &mut records)? {
                            abort.get_or_insert(reason);
                            break 'tasks;
                        }
                    }
                }
            }
        }
    }
    // Samples already started are recorded even when the run stops early.
    while let Some(record) = in_flight.next().await {
        if let Some(reason) = finish(record, &mut records)? {
            abort.get_or_insert(reason);
        }
        if let Some(delay) = settings.delay_after_sample {
            tokio::time::sleep(delay).await;
        }
    }
    match abort {
        Some(reason) => {
            progress.bar.abandon();
            Ok((records, Outcome::Aborted { reason }))
        }
        None => {
            progress.bar.finish_and_clear();
            Ok((records, Outcome::Completed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_progress_line_gives_count_rate_and_eta() {
        let started = Instant::now();
        let p = PlainProgress { total: 40, done: 10, ran: 10, started, last: started, every: Duration::ZERO };
        let line = p.line(started + Duration::from_secs(5));
        assert_eq!(line, "progress: 10/40 samples (25%), 2.00 samples/s, elapsed 5s, ETA 15s");
        assert_eq!(format_secs(3725.0), "1h02m05s");
        assert_eq!(format_secs(65.0), "1m05s");
    }
}
