//! Which tasks two runs can be compared on, and whether their timings can be: the same task
//! definitions (prompt and metric profiles included) and sample ids, the same device.

use std::collections::BTreeSet;

use smolbench_core::{DeviceFingerprint, TaskRecord};
use smolbench_reports::rundir::LoadedRun;

use super::Unusable;

/// The tasks to compare, in the baseline's order, and those left out.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSelection {
    /// Tasks both runs hold, checked comparable.
    pub tasks: Vec<String>,
    /// Tasks only one run holds: `(task, "only in the baseline" | "only in the candidate")`.
    pub left_out: Vec<(String, &'static str)>,
}

fn task_names(r: &LoadedRun) -> Vec<String> {
    r.manifest.tasks.iter().map(|t| t.name.clone()).collect()
}

/// Chooses the tasks to compare and checks that they can be: the same task definitions (prompt
/// and metric profiles included) and the same sample ids per task. Different task sets are
/// unusable input unless `shared_only`, which keeps the tasks both runs hold and lists the rest.
pub fn select_tasks(base: &LoadedRun, cand: &LoadedRun, shared_only: bool) -> Result<TaskSelection, Unusable> {
    let (bt, ct) = (task_names(base), task_names(cand));
    let (bs, cs): (BTreeSet<&String>, BTreeSet<&String>) = (bt.iter().collect(), ct.iter().collect());
    if bs != cs && !shared_only {
        let join = |s: &BTreeSet<&String>| s.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
        return Err(Unusable(format!(
            "the runs hold different tasks: baseline has [{}], candidate has [{}]; pass --shared-tasks to compare the tasks both hold",
            join(&bs),
            join(&cs)
        )));
    }
    let tasks: Vec<String> = bt.iter().filter(|t| cs.contains(t)).cloned().collect();
    let mut left_out: Vec<(String, &'static str)> =
        bt.iter().filter(|t| !cs.contains(t)).map(|t| (t.clone(), "only in the baseline")).collect();
    left_out.extend(ct.iter().filter(|t| !bs.contains(t)).map(|t| (t.clone(), "only in the candidate")));
    if tasks.is_empty() {
        return Err(Unusable("the runs have no task in common; there is nothing to compare".into()));
    }
    for name in &tasks {
        let find = |r: &LoadedRun| r.manifest.tasks.iter().find(|t| &t.name == name).cloned().expect("listed task");
        same_definition(&find(base), &find(cand))?;
    }
    for r in [base, cand] {
        if !r.records.iter().any(|s| tasks.contains(&s.task)) {
            return Err(Unusable(format!("{} has no sample records", r.dir.display())));
        }
    }
    for task in &tasks {
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
    Ok(TaskSelection { tasks, left_out })
}

fn same_definition(b: &TaskRecord, c: &TaskRecord) -> Result<(), Unusable> {
    let profile = |t: &TaskRecord, ptr: &str| t.config.pointer(ptr).and_then(|v| v.as_str()).unwrap_or("?").to_string();
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
    Ok(())
}

/// Whether timings and memory can be compared: the same compute device, CPU model and GPUs.
pub fn same_device(base: &LoadedRun, cand: &LoadedRun) -> Result<(), String> {
    let (b, c) = (&base.manifest.device, &cand.manifest.device);
    let gpus = |d: &DeviceFingerprint| d.gpus.iter().map(|g| g.name.clone()).collect::<Vec<_>>();
    if b.compute != c.compute || b.cpu_model != c.cpu_model || gpus(b) != gpus(c) {
        return Err(format!(
            "latency and memory not compared: the runs are on different devices ({} vs {})",
            base.device_label(),
            cand.device_label()
        ));
    }
    Ok(())
}
