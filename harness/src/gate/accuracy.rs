//! Accuracy checks of one task: failed samples, and the paired test of the score (exact McNemar
//! on 0/1 scores, paired bootstrap of the mean difference otherwise) with the smallest drop the
//! sample set can detect. Scores are fractions (0..1); the report shows percent and points.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use smolbench_core::{SampleRecord, SampleStatus};
use smolbench_reports::paired::{detectability, mcnemar_exact, paired_bootstrap, std_dev};
use smolbench_reports::rundir::LoadedRun;

use super::config::AccuracyGate;
use super::{Check, GateReport, Outcome};

/// A difference of fractions as signed percentage points.
fn points(x: f64) -> String {
    format!("{:+.2} pts", x * 100.0)
}

fn by_id<'a>(r: &'a LoadedRun, task: &str) -> BTreeMap<&'a str, &'a SampleRecord> {
    r.records.iter().filter(|s| s.task == task).map(|s| (s.sample_id.as_str(), s)).collect()
}

/// Adds the failed-samples and accuracy checks of `task`.
pub fn checks(report: &mut GateReport, base: &LoadedRun, cand: &LoadedRun, task: &str, cfg: &AccuracyGate) {
    let (bm, cm) = (by_id(base, task), by_id(cand, task));
    let failed = |m: &BTreeMap<&str, &SampleRecord>| {
        m.values().filter(|r| r.status == SampleStatus::Failed || r.score.is_none()).count()
    };
    let (bf, cf) = (failed(&bm), failed(&cm));
    report.checks.push(Check {
        task: task.into(),
        name: "failed samples".into(),
        outcome: if cf > bf + cfg.max_new_failures { Outcome::Fail } else { Outcome::Pass },
        baseline: bf.to_string(),
        candidate: cf.to_string(),
        detail: format!(
            "samples that could not be answered; at most {} more than the baseline allowed",
            cfg.max_new_failures
        ),
    });

    let pairs: Vec<(f64, f64)> = bm.iter().filter_map(|(id, b)| Some((b.score?, cm.get(id)?.score?))).collect();
    let n = pairs.len();
    if n == 0 {
        report.checks.push(Check::skipped(
            task,
            "accuracy",
            "–".into(),
            "–".into(),
            "no sample is scored in both runs".to_string(),
        ));
        return;
    }
    let base_mean = pairs.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let cand_mean = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let diffs: Vec<f64> = pairs.iter().map(|(b, c)| c - b).collect();
    let delta = cand_mean - base_mean;
    let binary = pairs.iter().all(|(b, c)| (*b == 0.0 || *b == 1.0) && (*c == 0.0 || *c == 1.0));
    let boot = paired_bootstrap(&diffs, 1.0 - cfg.alpha, cfg.bootstrap_resamples, cfg.seed).expect("n > 0");
    let (p, test) = if binary {
        let newly_wrong = pairs.iter().filter(|(b, c)| *b == 1.0 && *c == 0.0).count() as u64;
        let newly_right = pairs.iter().filter(|(b, c)| *b == 0.0 && *c == 1.0).count() as u64;
        (
            mcnemar_exact(newly_wrong, newly_right),
            format!("exact McNemar: {newly_wrong} newly wrong, {newly_right} newly right"),
        )
    } else {
        (boot.p_value, format!("paired bootstrap ({} resamples)", cfg.bootstrap_resamples))
    };
    let regression = delta < -cfg.tolerated_drop && boot.mean < 0.0 && p < cfg.alpha;
    let target = cfg.min_detectable_effect;
    let sd_plan = std_dev(&diffs).max((target * (1.0 - target)).sqrt());
    let power = detectability(n, sd_plan, cfg.alpha, cfg.power, binary, target);
    let underpowered = power.min_detectable > target;
    let mut detail = format!(
        "{test}; change {} [{}, {}] ({:.0}% interval), p = {p:.4}, alpha {}; n = {n}; smallest detectable drop {:.1} pts",
        points(delta),
        points(boot.lo),
        points(boot.hi),
        (1.0 - cfg.alpha) * 100.0,
        cfg.alpha,
        power.min_detectable * 100.0,
    );
    if underpowered {
        let warning = format!(
            "{task}: sample set too small: {n} paired samples can detect a drop of {:.1} points at best (alpha {}, power {:.0}%), but the gate file asks to catch {:.1} points; that needs about {} samples",
            power.min_detectable * 100.0,
            cfg.alpha,
            cfg.power * 100.0,
            target * 100.0,
            power.samples_needed
        );
        let _ = write!(detail, " (too few samples to catch {:.1} pts)", target * 100.0);
        report.warnings.push(warning);
    }
    let outcome =
        if regression || (underpowered && cfg.fail_when_underpowered) { Outcome::Fail } else { Outcome::Pass };
    report.checks.push(Check {
        task: task.into(),
        name: "accuracy".into(),
        outcome,
        baseline: format!("{:.2}%", base_mean * 100.0),
        candidate: format!("{:.2}%", cand_mean * 100.0),
        detail,
    });
}
