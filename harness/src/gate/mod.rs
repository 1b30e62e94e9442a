//! The regression gate: compares a candidate run with a baseline run of the same tasks, sample
//! by sample, and decides whether the candidate is worse.
//!
//! - [`accuracy`]: per task, the exact McNemar test on 0/1 scores or a paired bootstrap of the
//!   mean difference for continuous scores (ANLS, relaxed accuracy); a regression is a
//!   significant drop beyond the tolerated one. Also more failed samples than the baseline.
//! - [`performance`]: end-to-end latency, time to first token, decode speed and peak memory,
//!   sample by sample on the same device: a one-sided Wilcoxon signed-rank test on the log
//!   ratios and a practical threshold on the Hodges-Lehmann ratio. A slowdown must be both real
//!   and large enough to matter; a check whose samples are too few or too noisy says
//!   "inconclusive" (never a regression) and how many samples would decide. On CPU devices
//!   latency is also checked in CPU time, and a wall-clock regression on a machine that other
//!   processes kept busier during the candidate is inconclusive ("the machine's load
//!   differed"): the CPU-time check decides. Alpha is shared
//!   among all these checks (Bonferroni), so identical runs fail the gate at most at alpha.
//! - [`comparable`]: which tasks can be compared (all, or with `--shared-tasks` those both runs
//!   hold); runs that cannot be compared are [`Unusable`], which the CLI maps to exit code 2.
//! - [`config`] reads the gate file; [`markdown`] and [`junit`] write the verdict for CI.

pub mod accuracy;
pub mod comparable;
pub mod config;
pub mod junit;
pub mod markdown;
pub mod performance;

use smolbench_reports::rundir::LoadedRun;

pub use comparable::select_tasks;
pub use config::GateConfig;
pub use junit::{junit, junit_unusable};
pub use markdown::{markdown, markdown_unusable};

/// Why two runs cannot be compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Unusable(pub String);

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Within thresholds.
    Pass,
    /// A regression.
    Fail,
    /// The samples are too few or too noisy to decide (not a regression; the detail says how
    /// many samples would decide).
    Inconclusive,
    /// Not checked (the reason is in the detail).
    Skip,
}

impl Outcome {
    /// The word the Markdown table and JUnit messages use.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "REGRESSION",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Skip => "skipped",
        }
    }
}

/// One check of the gate.
#[derive(Debug, Clone)]
pub struct Check {
    /// The task.
    pub task: String,
    /// What is checked: `accuracy`, `failed samples`, `e2e latency`...
    pub name: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Baseline value, as shown (with its unit).
    pub baseline: String,
    /// Candidate value, as shown (with its unit).
    pub candidate: String,
    /// One line: the test, its numbers, the threshold.
    pub detail: String,
}

impl Check {
    /// A check that could not be made, and why.
    pub fn skipped(task: &str, name: &str, baseline: String, candidate: String, detail: String) -> Check {
        Check { task: task.into(), name: name.into(), outcome: Outcome::Skip, baseline, candidate, detail }
    }
}

/// The gate's verdict over all checks.
#[derive(Debug, Clone)]
pub struct GateReport {
    /// Baseline run id.
    pub baseline: String,
    /// Candidate run id.
    pub candidate: String,
    /// Every check, task by task.
    pub checks: Vec<Check>,
    /// Tasks only one run holds, left out with `--shared-tasks`: `(task, which run has it)`.
    pub left_out: Vec<(String, &'static str)>,
    /// What the reader must know: sample sets too small, latency not compared...
    pub warnings: Vec<String>,
}

impl GateReport {
    /// Whether any check found a regression.
    pub fn regressed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Fail)
    }

    /// How many checks ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }
}

/// How to compare.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareOptions {
    /// Compare on the tasks both runs hold and list the others, instead of refusing runs whose
    /// task sets differ.
    pub shared_tasks: bool,
}

/// Compares `cand` with `base` under `cfg`.
pub fn compare(
    base: &LoadedRun,
    cand: &LoadedRun,
    cfg: &GateConfig,
    options: CompareOptions,
) -> Result<GateReport, Unusable> {
    let selection = select_tasks(base, cand, options.shared_tasks)?;
    let mut report = GateReport {
        baseline: base.manifest.run_id.clone(),
        candidate: cand.manifest.run_id.clone(),
        checks: Vec::new(),
        left_out: selection.left_out.clone(),
        warnings: Vec::new(),
    };
    if !selection.left_out.is_empty() {
        let list: Vec<String> = selection.left_out.iter().map(|(t, only)| format!("{t} ({only})")).collect();
        report.warnings.push(format!("compared on the shared tasks only; left out: {}", list.join(", ")));
    }
    let device = comparable::same_device(base, cand);
    if let Err(reason) = &device {
        report.warnings.push(reason.clone());
    }
    let family = selection.tasks.len() * performance::checks_per_task(performance::checks_cpu_time(base));
    for task in &selection.tasks {
        accuracy::checks(&mut report, base, cand, task, &cfg.accuracy);
        match &device {
            Ok(()) => performance::checks(&mut report, base, cand, task, cfg, family),
            Err(reason) => {
                report.checks.push(Check::skipped(task, "latency and memory", "–".into(), "–".into(), reason.clone()))
            }
        }
    }
    for (task, only) in &selection.left_out {
        report.checks.push(Check::skipped(
            task,
            "all checks",
            "–".into(),
            "–".into(),
            format!("left out: the task is {only} (--shared-tasks)"),
        ));
    }
    Ok(report)
}
