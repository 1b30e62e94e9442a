//! The regression gate: compares a candidate run with a baseline run of the same tasks, sample
//! by sample, and decides whether the candidate is worse.
//!
//! - Accuracy, per task: the exact McNemar test on 0/1 scores, or a paired bootstrap of the mean
//!   difference for continuous scores (ANLS, relaxed accuracy); a regression is a drop beyond
//!   the tolerated one that the test finds significant. Each task also gets the smallest drop
//!   its sample set can detect, and a warning when that is larger than the drop the gate file
//!   asks to catch.
//! - Failed samples: more of them than the baseline had (beyond a tolerance) is a regression.
//! - Latency (TTFT, end-to-end, decode speed) and peak memory: ratios against tolerances, only
//!   between runs on the same device.
//!
//! Runs that cannot be compared (different tasks, task definitions or profiles, sample sets) are
//! [`Unusable`], which the CLI maps to exit code 2.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Deserialize;
use smolbench_core::SampleStatus;
use smolbench_reports::paired::{detectability, mcnemar_exact, paired_bootstrap, std_dev};
use smolbench_reports::rundir::LoadedRun;
use smolbench_reports::TaskSummary;

/// The checked-in default gate file (`harness/gate.toml`).
pub const DEFAULT_GATE_TOML: &str = include_str!("../gate.toml");

/// `[accuracy]` of the gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AccuracyGate {
    /// Significance level.
    pub alpha: f64,
    /// Power for the detectable-drop estimate.
    pub power: f64,
    /// The smallest drop the gate is meant to catch (0..1 scale).
    pub min_detectable_effect: f64,
    /// Fail when a sample set cannot detect `min_detectable_effect`.
    #[serde(default)]
    pub fail_when_underpowered: bool,
    /// Significant drops up to this are tolerated.
    #[serde(default)]
    pub tolerated_drop: f64,
    /// Newly failed samples tolerated.
    #[serde(default)]
    pub max_new_failures: usize,
    /// Bootstrap resamples.
    pub bootstrap_resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

/// `[latency]` of the gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LatencyGate {
    /// Fewer timed samples than this per task: latency is reported, not gated.
    pub min_samples: usize,
    /// Largest candidate/baseline ratio of p50 end-to-end latency.
    pub e2e_p50_max_ratio: f64,
    /// Largest candidate/baseline ratio of p90 end-to-end latency.
    pub e2e_p90_max_ratio: f64,
    /// Largest candidate/baseline ratio of p50 time to first token.
    pub ttft_p50_max_ratio: f64,
    /// Largest baseline/candidate ratio of p50 decode tokens per second.
    pub decode_p50_max_slowdown: f64,
}

/// `[memory]` of the gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MemoryGate {
    /// Largest candidate/baseline ratio of peak memory.
    pub peak_max_ratio: f64,
}

/// A gate file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Accuracy thresholds.
    pub accuracy: AccuracyGate,
    /// Latency tolerances.
    pub latency: LatencyGate,
    /// Memory tolerance.
    pub memory: MemoryGate,
}

impl GateConfig {
    /// Parses and checks a gate file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let cfg: GateConfig = toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message()))?;
        let a = &cfg.accuracy;
        let open_unit = |x: f64| x > 0.0 && x < 1.0;
        if !open_unit(a.alpha) || !open_unit(a.power) {
            return Err(format!("{origin}: accuracy.alpha and accuracy.power must lie strictly between 0 and 1"));
        }
        if !open_unit(a.min_detectable_effect) || a.bootstrap_resamples == 0 {
            return Err(format!(
                "{origin}: accuracy.min-detectable-effect must lie in (0, 1) and bootstrap-resamples be positive"
            ));
        }
        let l = &cfg.latency;
        for (name, v) in [
            ("latency.e2e-p50-max-ratio", l.e2e_p50_max_ratio),
            ("latency.e2e-p90-max-ratio", l.e2e_p90_max_ratio),
            ("latency.ttft-p50-max-ratio", l.ttft_p50_max_ratio),
            ("latency.decode-p50-max-slowdown", l.decode_p50_max_slowdown),
            ("memory.peak-max-ratio", cfg.memory.peak_max_ratio),
        ] {
            if v.is_nan() || v < 1.0 {
                return Err(format!("{origin}: {name} is a ratio and must be at least 1.0 (got {v})"));
            }
        }
        Ok(cfg)
    }

    /// The checked-in default.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_GATE_TOML, "harness/gate.toml").expect("harness/gate.toml is valid (tested)")
    }
}

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
    /// Not checked (the reason is in the detail).
    Skip,
}

/// One check of the gate.
#[derive(Debug, Clone)]
pub struct Check {
    /// The task.
    pub task: String,
    /// What is checked: `accuracy`, `failed samples`, `e2e p50`...
    pub name: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Baseline value, as shown.
    pub baseline: String,
    /// Candidate value, as shown.
    pub candidate: String,
    /// One line: the test, its numbers, the threshold.
    pub detail: String,
}

impl Check {
    /// A check that could not be made, and why.
    fn skipped(task: &str, name: &str, baseline: String, candidate: String, detail: String) -> Check {
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
    /// What the reader must know: sample sets too small, latency not compared...
    pub warnings: Vec<String>,
}

impl GateReport {
    /// Whether any check found a regression.
    pub fn regressed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Fail)
    }
}

/// Checks that the runs can be compared: same tasks, same task definitions (prompt and metric
/// profiles included), same sample ids per task.
pub fn check_comparable(base: &LoadedRun, cand: &LoadedRun) -> Result<(), Unusable> {
    let names = |r: &LoadedRun| r.manifest.tasks.iter().map(|t| t.name.clone()).collect::<BTreeSet<_>>();
    let (bt, ct) = (names(base), names(cand));
    if bt != ct {
        return Err(Unusable(format!(
            "the runs hold different tasks: baseline has [{}], candidate has [{}]",
            bt.into_iter().collect::<Vec<_>>().join(", "),
            ct.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    for b in &base.manifest.tasks {
        let c = cand.manifest.tasks.iter().find(|t| t.name == b.name).expect("same task names");
        let profile = |t: &smolbench_core::TaskRecord, ptr: &str| {
            t.config.pointer(ptr).and_then(|v| v.as_str()).unwrap_or("?").to_string()
        };
        for (what, ptr) in [("prompt profile", "/prompt/default"), ("metric profile", "/scoring/profile")] {
            let (pb, pc) = (profile(b, ptr), profile(c, ptr));
            if pb != pc {
                return Err(Unusable(format!("task {}: different {what}s (baseline {pb}, candidate {pc})", b.name)));
            }
        }
        if b.version != c.version || b.config != c.config {
            return Err(Unusable(format!(
                "task {}: different task definitions (baseline version {}, candidate version {}); scores are not comparable",
                b.name, b.version, c.version
            )));
        }
    }
    if base.records.is_empty() || cand.records.is_empty() {
        return Err(Unusable(format!(
            "{} has no sample records",
            if base.records.is_empty() { base.dir.display() } else { cand.dir.display() }
        )));
    }
    for task in base.manifest.tasks.iter().map(|t| &t.name) {
        let ids = |r: &LoadedRun| {
            r.records.iter().filter(|s| &s.task == task).map(|s| s.sample_id.clone()).collect::<BTreeSet<_>>()
        };
        let (bi, ci) = (ids(base), ids(cand));
        if bi != ci {
            let only_b = bi.difference(&ci).count();
            let only_c = ci.difference(&bi).count();
            let example = bi.symmetric_difference(&ci).next().cloned().unwrap_or_default();
            return Err(Unusable(format!(
                "task {task}: different sample sets ({} in the baseline, {} in the candidate; {only_b} only in the baseline, {only_c} only in the candidate, e.g. {example}); rerun both on the same samples (same --limit and data)",
                bi.len(),
                ci.len()
            )));
        }
    }
    Ok(())
}

fn same_device(base: &LoadedRun, cand: &LoadedRun) -> Result<(), String> {
    let (b, c) = (&base.manifest.device, &cand.manifest.device);
    let gpus = |d: &smolbench_core::DeviceFingerprint| d.gpus.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    if b.compute != c.compute || b.cpu_model != c.cpu_model || gpus(b) != gpus(c) {
        return Err(format!(
            "latency and memory not compared: the runs are on different devices ({} vs {})",
            base.device_label(),
            cand.device_label()
        ));
    }
    Ok(())
}

fn points(x: f64) -> String {
    format!("{:+.2} pts", x * 100.0)
}

/// Compares `cand` with `base` under `cfg`.
pub fn compare(base: &LoadedRun, cand: &LoadedRun, cfg: &GateConfig) -> Result<GateReport, Unusable> {
    check_comparable(base, cand)?;
    let mut report = GateReport {
        baseline: base.manifest.run_id.clone(),
        candidate: cand.manifest.run_id.clone(),
        checks: Vec::new(),
        warnings: Vec::new(),
    };
    let device = same_device(base, cand);
    if let Err(reason) = &device {
        report.warnings.push(reason.clone());
    }
    for task in base.manifest.tasks.iter().map(|t| t.name.clone()) {
        accuracy_checks(&mut report, base, cand, &task, &cfg.accuracy);
        let (bs, cs) =
            (base.summary.tasks.iter().find(|t| t.task == task), cand.summary.tasks.iter().find(|t| t.task == task));
        match (bs, cs, &device) {
            (Some(bs), Some(cs), Ok(())) => {
                latency_checks(&mut report, &task, bs, cs, &cfg.latency);
                memory_check(&mut report, &task, bs, cs, &cfg.memory);
            }
            (_, _, Err(reason)) => {
                report.checks.push(Check::skipped(&task, "latency and memory", "–".into(), "–".into(), reason.clone()))
            }
            _ => {}
        }
    }
    Ok(report)
}

fn accuracy_checks(report: &mut GateReport, base: &LoadedRun, cand: &LoadedRun, task: &str, cfg: &AccuracyGate) {
    fn by_id<'a>(r: &'a LoadedRun, task: &str) -> BTreeMap<String, &'a smolbench_core::SampleRecord> {
        r.records.iter().filter(|s| s.task == task).map(|s| (s.sample_id.clone(), s)).collect()
    }
    let (bm, cm) = (by_id(base, task), by_id(cand, task));
    let failed = |m: &BTreeMap<String, &smolbench_core::SampleRecord>| {
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

fn ratio_check(
    task: &str,
    name: &str,
    base: Option<f64>,
    cand: Option<f64>,
    max: f64,
    inverse: bool,
    unit: &str,
) -> Check {
    let (Some(b), Some(c)) = (base, cand) else {
        return Check::skipped(task, name, "–".into(), "–".into(), "not measured in both runs".into());
    };
    let ratio = if inverse { b / c.max(1e-12) } else { c / b.max(1e-12) };
    let what = if inverse { "baseline/candidate" } else { "candidate/baseline" };
    Check {
        task: task.into(),
        name: name.into(),
        outcome: if ratio > max { Outcome::Fail } else { Outcome::Pass },
        baseline: format!("{b:.1} {unit}"),
        candidate: format!("{c:.1} {unit}"),
        detail: format!("{what} = {ratio:.3}, allowed up to {max}"),
    }
}

fn latency_checks(report: &mut GateReport, task: &str, b: &TaskSummary, c: &TaskSummary, cfg: &LatencyGate) {
    if b.n_scored < cfg.min_samples || c.n_scored < cfg.min_samples {
        report.checks.push(Check::skipped(
            task,
            "latency",
            format!("n={}", b.n_scored),
            format!("n={}", c.n_scored),
            format!("fewer than {} timed samples: percentiles too noisy to gate", cfg.min_samples),
        ));
        return;
    }
    // (check, baseline, candidate, allowed ratio, higher is better, unit)
    let latency = [
        ("e2e p50", b.e2e_ms.map(|p| p.p50), c.e2e_ms.map(|p| p.p50), cfg.e2e_p50_max_ratio, false, "ms"),
        ("e2e p90", b.e2e_ms.map(|p| p.p90), c.e2e_ms.map(|p| p.p90), cfg.e2e_p90_max_ratio, false, "ms"),
        ("TTFT p50", b.ttft_ms.map(|p| p.p50), c.ttft_ms.map(|p| p.p50), cfg.ttft_p50_max_ratio, false, "ms"),
        (
            "decode p50",
            b.decode_tokens_per_s.map(|p| p.p50),
            c.decode_tokens_per_s.map(|p| p.p50),
            cfg.decode_p50_max_slowdown,
            true,
            "tok/s",
        ),
    ];
    for (name, base, cand, max_ratio, higher_is_better, unit) in latency {
        report.checks.push(ratio_check(task, name, base, cand, max_ratio, higher_is_better, unit));
    }
}

fn memory_check(report: &mut GateReport, task: &str, b: &TaskSummary, c: &TaskSummary, cfg: &MemoryGate) {
    if b.memory_source != c.memory_source {
        report.checks.push(Check::skipped(
            task,
            "peak memory",
            format!("{:?}", b.memory_source),
            format!("{:?}", c.memory_source),
            "measured differently in the two runs".to_string(),
        ));
        return;
    }
    let mib = |v: Option<u64>| v.map(|b| b as f64 / (1024.0 * 1024.0));
    report.checks.push(ratio_check(
        task,
        "peak memory",
        mib(b.peak_memory_bytes),
        mib(c.peak_memory_bytes),
        cfg.peak_max_ratio,
        false,
        "MiB",
    ));
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown summary for a CI job page.
pub fn markdown(report: &GateReport) -> String {
    let verdict = if report.regressed() { "REGRESSION" } else { "PASS" };
    let mut s = format!(
        "## SmolBench gate: {verdict}\n\nBaseline `{}`, candidate `{}`.\n\n| task | check | result | baseline | candidate | detail |\n|---|---|---|---|---|---|\n",
        report.baseline, report.candidate
    );
    for c in &report.checks {
        let result = match c.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail => "**REGRESSION**",
            Outcome::Skip => "skipped",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {result} | {} | {} | {} |",
            md_cell(&c.task),
            md_cell(&c.name),
            md_cell(&c.baseline),
            md_cell(&c.candidate),
            md_cell(&c.detail)
        );
    }
    if !report.warnings.is_empty() {
        s.push_str("\n### Warnings\n\n");
        for w in &report.warnings {
            let _ = writeln!(s, "- {}", w.replace('\n', " "));
        }
    }
    s
}

/// The Markdown for runs that could not be compared.
pub fn markdown_unusable(reason: &Unusable) -> String {
    format!("## SmolBench gate: UNUSABLE INPUT\n\n{}\n", reason.0)
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test case per check (failures are regressions, skipped ones are skipped).
pub fn junit(report: &GateReport) -> String {
    let failures = report.checks.iter().filter(|c| c.outcome == Outcome::Fail).count();
    let skipped = report.checks.iter().filter(|c| c.outcome == Outcome::Skip).count();
    let n = report.checks.len();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"smolbench-gate\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n<testsuite name=\"smolbench-gate: {} vs {}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n",
        xml(&report.baseline),
        xml(&report.candidate)
    );
    for c in &report.checks {
        let _ = write!(s, "<testcase classname=\"gate.{}\" name=\"{}\">", xml(&c.task), xml(&c.name));
        let text = format!("baseline {}, candidate {}: {}", c.baseline, c.candidate, c.detail);
        match c.outcome {
            Outcome::Pass => {}
            Outcome::Fail => {
                let _ = write!(s, "<failure message=\"{}\" type=\"regression\">{}</failure>", xml(&text), xml(&text));
            }
            Outcome::Skip => {
                let _ = write!(s, "<skipped message=\"{}\"/>", xml(&c.detail));
            }
        }
        s.push_str("</testcase>\n");
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(s, "<system-out>{}</system-out>", xml(&report.warnings.join("\n")));
    }
    s.push_str("</testsuite>\n</testsuites>\n");
    s
}

/// JUnit XML for runs that could not be compared: one errored test case.
pub fn junit_unusable(reason: &Unusable) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"smolbench-gate\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testsuite name=\"smolbench-gate\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testcase classname=\"gate\" name=\"inputs\"><error message=\"{}\" type=\"unusable-input\"/></testcase>\n</testsuite>\n</testsuites>\n",
        xml(&reason.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_gate_file_parses_and_bad_values_are_named() {
        let cfg = GateConfig::builtin();
        assert_eq!(cfg.accuracy.alpha, 0.05);
        let bad = DEFAULT_GATE_TOML.replace("peak-max-ratio = 1.10", "peak-max-ratio = 0.9");
        let err = GateConfig::parse(&bad, "g.toml").unwrap_err();
        assert!(err.contains("memory.peak-max-ratio") && err.contains("g.toml"), "{err}");
        let typo = DEFAULT_GATE_TOML.replace("alpha = 0.05", "alpha = 0.05\nalpah = 1");
        assert!(GateConfig::parse(&typo, "g.toml").unwrap_err().contains("alpah"));
    }

    #[test]
    fn junit_escapes_and_counts() {
        let report = GateReport {
            baseline: "a<b".into(),
            candidate: "c".into(),
            checks: vec![
                Check {
                    task: "t".into(),
                    name: "accuracy".into(),
                    outcome: Outcome::Fail,
                    baseline: "1".into(),
                    candidate: "0".into(),
                    detail: "x & y".into(),
                },
                Check {
                    task: "t".into(),
                    name: "latency".into(),
                    outcome: Outcome::Skip,
                    baseline: "".into(),
                    candidate: "".into(),
                    detail: "n".into(),
                },
            ],
            warnings: vec![],
        };
        let x = junit(&report);
        assert!(x.contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\""));
        assert!(x.contains("a&lt;b") && x.contains("x &amp; y"));
        assert!(markdown(&report).starts_with("## SmolBench gate: REGRESSION"));
    }
}
