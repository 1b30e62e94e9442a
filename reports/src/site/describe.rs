//! What a page says about a run, read from its `run.json` and nowhere else: model and
//! checkpoint, engine and dtype, device, image splitting and longest edge, prompt and metric
//! profiles per task, data, memory measurement.

use smolbench_core::{MemorySource, RunManifest};

use crate::rundir::LoadedRun;

/// `value (task, task), value (task)`: tasks grouped by what `of` gives for them.
fn by_task(manifest: &RunManifest, of: impl Fn(&smolbench_core::TaskRecord) -> String) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for t in &manifest.tasks {
        let value = of(t);
        let value = if value.is_empty() { "not recorded".to_string() } else { value };
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, names)) => names.push(&t.name),
            None => groups.push((value, vec![&t.name])),
        }
    }
    match groups.len() {
        0 => "no tasks".into(),
        1 => format!("{} (every task)", groups[0].0),
        _ => groups.iter().map(|(v, names)| format!("{v} ({})", names.join(", "))).collect::<Vec<_>>().join("; "),
    }
}

/// How images were handled.
pub(super) fn image_handling(manifest: &RunManifest) -> String {
    let m = &manifest.model;
    let edge = match m.longest_edge {
        Some(e) => format!("resized to a longest edge of {e} px"),
        None => "at the checkpoint's own size".to_string(),
    };
    if !manifest.endpoints.is_empty() && m.tile_size == 0 {
        return "handled by the endpoint (not recorded)".into();
    }
    if m.image_splitting {
        format!("split into {} px tiles with a global view, {edge}", m.tile_size)
    } else {
        format!("one tile of {} px, no splitting, {edge}", m.tile_size)
    }
}

/// What the memory figures measure, from the records' memory sources.
pub(super) fn memory_measure(run: &LoadedRun) -> &'static str {
    let sources: Vec<MemorySource> = run.summary.tasks.iter().filter_map(|t| t.memory_source).collect();
    if sources.contains(&MemorySource::GpuNvml) {
        "GPU memory (NVML)"
    } else if sources.contains(&MemorySource::ProcessRss) {
        "process RSS (CPU memory)"
    } else {
        "not measured"
    }
}

/// The facts of a run, as (label, value) pairs.
pub(super) fn facts(run: &LoadedRun) -> Vec<(&'static str, String)> {
    let m = &run.manifest;
    let d = &m.device;
    let device = match d.gpus.first() {
        Some(g) if d.compute.starts_with("cuda") => format!("{} ({})", d.compute, g.name),
        _ => format!("{} ({}, {} cores)", d.compute, d.cpu_model.trim(), d.cpu_cores),
    };
    let engine = if m.endpoints.is_empty() {
        m.model.engine.clone()
    } else {
        format!("{} via {}", m.model.engine, m.endpoints.iter().map(|e| e.url.as_str()).collect::<Vec<_>>().join(", "))
    };
    let data = match m.limit {
        Some(limit) => format!("{} data, first {limit} samples per task", m.data_source),
        None => format!("{} data", m.data_source),
    };
    vec![
        (
            "model",
            match &m.model.repo_id {
                Some(repo) => format!("{} ({repo})", m.model.requested),
                None => m.model.requested.clone(),
            },
        ),
        ("engine", format!("{engine}, {}", m.model.dtype)),
        ("device", device),
        ("images", image_handling(m)),
        ("prompt profile", by_task(m, |t| t.prompt_profile.clone())),
        ("metric profile", by_task(m, |t| t.metric_profile.clone())),
        ("data", data),
        ("memory", memory_measure(run).to_string()),
    ]
}

/// One sentence about a run for a chart's caption or a note.
pub(super) fn sentence(tag: &str, run: &LoadedRun) -> String {
    let facts = facts(run);
    let get = |k: &str| facts.iter().find(|(l, _)| *l == k).map(|(_, v)| v.as_str()).unwrap_or("");
    format!(
        "{tag}: {} on {} with {}; images {}; prompts {}; scoring {}; memory is {}.",
        get("model"),
        get("device"),
        get("engine"),
        get("images"),
        get("prompt profile"),
        get("metric profile"),
        get("memory"),
    )
}
