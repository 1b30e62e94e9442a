//! `index.html`, the answer first: how the model did, against what it should have done, at what
//! cost. The first screen holds one headline chart of score against peak memory (the runs, the
//! SmolVLM family, larger baselines; memory estimated from parameters where none is published,
//! and the baselines left out for lack of either listed) beside a compact table: per task and
//! run, the score with its 95% interval, the number published for the same checkpoint with its
//! setting compared field by field, and the difference where the settings match. Below: what
//! each run was, from its `run.json`, and the chart of every other task.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;

use super::{baseline_id, describe, RunView, SiteOptions, Writer};
use crate::baselines::Baselines;
use crate::charts::{self, MemoryPoint, PointKind};
use crate::html::{escape, page, pct};
use crate::setting::FieldMatch;

/// The points of one task's score-against-memory chart, and what was left out.
struct TaskPoints {
    points: Vec<MemoryPoint>,
    /// Published models with no memory figure and no parameter count.
    left_out: Vec<String>,
    /// Published models plotted at an estimated memory: (model, GB).
    estimated: Vec<(String, f64)>,
}

fn task_points(views: &[RunView], baselines: &Baselines, task: &str) -> TaskPoints {
    let mut out = TaskPoints { points: Vec::new(), left_out: Vec::new(), estimated: Vec::new() };
    for v in views {
        let Some(t) = v.task(task) else { continue };
        let (Some(score), Some(peak)) = (t.score, t.peak_memory_bytes) else { continue };
        out.points.push(MemoryPoint {
            label: format!("{} {} {}", v.tag, v.run.manifest.model.requested, pct(score)),
            memory_gb: peak as f64 / 1e9,
            score_pct: score * 100.0,
            kind: PointKind::Run(v.index),
            estimated: false,
        });
    }
    let mut seen: Vec<&str> = Vec::new();
    for r in baselines.scores_for_task(task) {
        if seen.contains(&r.model.as_str()) {
            continue;
        }
        seen.push(&r.model);
        let Some(memory) = baselines.memory_figure(r) else {
            out.left_out.push(r.model.clone());
            continue;
        };
        if memory.is_estimate() {
            out.estimated.push((r.model.clone(), memory.gb()));
        }
        let unverified = if r.is_unverified() { " (unverified)" } else { "" };
        out.points.push(MemoryPoint {
            label: format!("{} {:.1}{unverified}", r.model, r.value),
            memory_gb: memory.gb(),
            score_pct: r.value,
            kind: if r.checkpoint.starts_with("HuggingFaceTB/") { PointKind::Family } else { PointKind::Baseline },
            estimated: memory.is_estimate(),
        });
    }
    out
}

fn x_desc(views: &[RunView]) -> String {
    // The chart's axis names what was measured, briefly: `process RSS`, `GPU memory`.
    let mut measures: Vec<&str> =
        views.iter().map(|v| describe::memory_measure(v.run).split(" (").next().unwrap_or("")).collect();
    measures.dedup();
    format!("peak memory (GB, log scale); runs: {}; others: as published", measures.join(" / "))
}

/// Writes one chart; returns its HTML (image and caption).
fn chart_html(w: &mut Writer, views: &[RunView], baselines: &Baselines, task: &str, headline: bool) -> Result<String> {
    let tp = task_points(views, baselines, task);
    let rel = format!("charts/memory-{}.png", super::safe_name(task));
    let title = format!("{task}: score against peak memory");
    let size = if headline { charts::HEADLINE_SIZE } else { (charts::WIDTH, charts::HEIGHT) };
    let chart = charts::score_vs_memory(&title, &x_desc(views), &tp.points, size)?;
    w.png(&rel, chart.png)?;
    let mut s = format!(
        "<figure class=\"{class}\" data-task=\"{t}\"><img class=\"chart\" src=\"{rel}\" alt=\"{t}: score (%) against peak memory (GB) for the runs and published models\"><figcaption>",
        class = if headline { "headline" } else { "task-chart" },
        t = escape(task),
    );
    if !tp.estimated.is_empty() {
        let list: Vec<String> = tp.estimated.iter().map(|(m, gb)| format!("{} (~{gb:.0} GB)", escape(m))).collect();
        let _ = write!(
            s,
            "<div class=\"estimated\">Memory estimated from the parameter count at {} bytes per weight (weights only, hollow markers): {}.</div>",
            crate::baselines::ESTIMATE_BYTES_PER_PARAM,
            list.join(", ")
        );
    }
    if !tp.left_out.is_empty() {
        let _ = write!(
            s,
            "<div class=\"left-out\">Left out for lack of a memory figure or parameter count: {}.</div>",
            tp.left_out.iter().map(|m| escape(m)).collect::<Vec<_>>().join(", ")
        );
    }
    if !chart.unlabelled.is_empty() {
        let _ = write!(
            s,
            "<div class=\"unlabelled\">No room to label: {}.</div>",
            chart.unlabelled.iter().map(|m| escape(m)).collect::<Vec<_>>().join(", ")
        );
    }
    s.push_str("</figcaption></figure>");
    Ok(s)
}

/// The headline task: the one with the most points to compare (runs and published models).
fn headline_task(views: &[RunView], baselines: &Baselines, tasks: &[String]) -> Option<String> {
    tasks
        .iter()
        .map(|t| (task_points(views, baselines, t).points.len(), t))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, t)| (*n, std::cmp::Reverse(tasks.iter().position(|x| x == *t))))
        .map(|(_, t)| t.clone())
}

/// The published cell and difference cell of one row of the compact table.
fn published_cells(
    v: &RunView,
    baselines: &Baselines,
    task: &str,
    score_pct: Option<f64>,
    ci: Option<(f64, f64)>,
) -> String {
    if v.run.manifest.model.repo_id.is_none() {
        return "<td class=\"pub\">no checkpoint recorded: nothing published to compare with</td><td class=\"num diff\">–</td>".into();
    }
    let rows = v.published_for(baselines, task);
    let Some((r, comparison)) = rows.first() else {
        return "<td class=\"pub\">nothing published for this checkpoint</td><td class=\"num diff\">–</td>".into();
    };
    let same = comparison.same_setting();
    let verdict = comparison.verdict();
    let mut fields = String::new();
    for (name, m) in &comparison.fields {
        let (class, text) = match m {
            FieldMatch::Same(v) => ("same", v.clone()),
            FieldMatch::Differs { published, run } => ("differs", format!("published {published}, this run {run}")),
            FieldMatch::NotPublished { run } => ("unknown", format!("not published (this run {run})")),
            FieldMatch::NotRecorded => ("unknown", "not recorded by the run".to_string()),
        };
        let _ = write!(fields, "<li class=\"{class}\" data-field=\"{name}\">{name}: {}</li>", escape(&text));
    }
    let more = if rows.len() > 1 {
        format!(" <a href=\"baselines.html#task-{}\">{} more</a>", escape(task), rows.len() - 1)
    } else {
        String::new()
    };
    let cell = format!(
        "<td class=\"pub\"><b>{value:.1}</b> <span class=\"lbl\">{label}</span> <span class=\"tag {tier}\">{tier}</span> <a href=\"baselines.html#b{id}\">source</a>{more}<div class=\"setting {state}\" data-verdict=\"{state}\">{verdict}</div><details><summary>setting, field by field</summary><ul class=\"fields\">{fields}</ul></details></td>",
        value = r.value,
        label = escape(&r.label()),
        tier = escape(&r.tier),
        id = baseline_id(baselines, r),
        state = if same { "same" } else { "different" },
        verdict = escape(&verdict),
    );
    let diff = match score_pct {
        Some(score) if same => {
            let d = score - r.value;
            let note = match ci.map(|(lo, hi)| lo * 100.0 <= r.value && r.value <= hi * 100.0) {
                Some(true) => "inside the 95% interval",
                Some(false) => "outside the 95% interval",
                None => "",
            };
            format!("<td class=\"num diff\" data-diff=\"{d:.2}\"><b>{d:+.2}</b><div class=\"ci\">{note}</div></td>")
        }
        _ if same => "<td class=\"num diff\">–</td>".into(),
        _ if comparison.differing().is_empty() => {
            "<td class=\"num diff\">–<div class=\"ci\">the source does not give the whole setting</div></td>".into()
        }
        _ => format!(
            "<td class=\"num diff\">–<div class=\"ci\">not like for like:<br>{} differ</div></td>",
            escape(&comparison.differing().join(", "))
        ),
    };
    format!("{cell}{diff}")
}

fn compact_table(
    views: &[RunView],
    tasks: &[String],
    baselines: &Baselines,
    sample_links: &BTreeMap<(String, String), String>,
) -> String {
    let mut s = String::from("<table id=\"overview\"><thead><tr><th>task</th><th>run</th><th class=\"num\">score (%)<br>95% interval</th><th>published for the same checkpoint, and its setting</th><th class=\"num\">difference<br>(points)</th></tr></thead><tbody>");
    for task in tasks {
        for v in views {
            let Some(t) = v.task(task) else { continue };
            let score = t.score.map(pct).unwrap_or_else(|| "–".into());
            let ci = t.score_ci95.map(|(lo, hi)| format!("[{}, {}]", pct(lo), pct(hi))).unwrap_or_default();
            let link = sample_links
                .get(&(v.stem.clone(), task.clone()))
                .map(|href| format!(" <a href=\"{href}\">samples</a>"))
                .unwrap_or_default();
            let _ = write!(
                s,
                "<tr data-task=\"{task_e}\" data-run=\"{tag}\"><td>{task_e}<div class=\"ci\">{metric}</div></td><td>{tag}</td><td class=\"num score\" data-run=\"{tag}\" data-task=\"{task_e}\"><b class=\"value\">{score}</b><div class=\"ci\"><span class=\"ci95\">{ci}</span><br>n={n}{failed}{link}</div></td>{published}</tr>",
                task_e = escape(task),
                metric = escape(&t.metric),
                tag = v.tag,
                n = t.n_scored,
                failed = if t.n_failed > 0 { format!(", {} failed", t.n_failed) } else { String::new() },
                published = published_cells(v, baselines, task, t.score.map(|x| x * 100.0), t.score_ci95),
            );
        }
    }
    let mut aggregate_names: Vec<&str> = Vec::new();
    for v in views {
        for a in &v.run.aggregates {
            if !aggregate_names.contains(&a.task.as_str()) {
                aggregate_names.push(&a.task);
            }
        }
    }
    for name in aggregate_names {
        for v in views {
            let Some(a) = v.aggregate(name) else { continue };
            let rule = if a.members.is_empty() {
                format!("{} rule", a.rule)
            } else {
                format!("mean of {} tasks", a.members.len())
            };
            let _ = write!(
                s,
                "<tr class=\"aggregate\" data-task=\"{t}\" data-run=\"{tag}\"><td>{t} <span class=\"tag\">reference number</span><div class=\"ci\">{rule}</div></td><td>{tag}</td><td class=\"num score\" data-run=\"{tag}\" data-task=\"{t}\"><b class=\"value\">{score:.1}</b><div class=\"ci\">{counted} of {total} counted, {profile} profile</div></td>{published}</tr>",
                t = escape(name),
                rule = escape(&rule),
                tag = v.tag,
                score = a.score_pct,
                counted = a.counted,
                total = a.total,
                profile = escape(&a.profile),
                published = published_cells(v, baselines, name, Some(a.score_pct), None),
            );
        }
    }
    s.push_str("</tbody></table>");
    s
}

fn runs_table(views: &[RunView]) -> String {
    let mut s = String::from("<table id=\"runs\"><thead><tr><th>run</th><th>run id</th>");
    let labels: Vec<&str> =
        views.first().map(|v| describe::facts(v.run).iter().map(|(l, _)| *l).collect()).unwrap_or_default();
    for l in &labels {
        let _ = write!(s, "<th>{l}</th>");
    }
    s.push_str("<th class=\"num\">samples</th><th class=\"num\">failed</th><th>started</th><th>directory</th></tr></thead><tbody>");
    let mut last_group = "";
    for v in views {
        if v.group != last_group {
            let _ =
                write!(s, "<tr class=\"group\"><th colspan=\"{}\">{}</th></tr>", labels.len() + 6, escape(&v.group));
            last_group = &v.group;
        }
        let m = &v.run.manifest;
        let n: usize = v.run.summary.tasks.iter().map(|t| t.n_samples).sum();
        let failed: usize = v.run.summary.tasks.iter().map(|t| t.n_failed).sum();
        let _ = write!(s, "<tr data-run=\"{tag}\"><td>{tag}</td><td>{id}</td>", tag = v.tag, id = escape(&m.run_id));
        for (label, value) in describe::facts(v.run) {
            let _ = write!(s, "<td data-fact=\"{label}\">{}</td>", escape(&value));
        }
        let _ = write!(
            s,
            "<td class=\"num\">{n}</td><td class=\"num\">{failed}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&m.started_at),
            escape(&v.run.dir.display().to_string()),
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// Writes `index.html`.
pub(super) fn write_page(
    w: &mut Writer,
    views: &[RunView],
    tasks: &[String],
    baselines: &Baselines,
    sample_links: &BTreeMap<(String, String), String>,
    options: &SiteOptions,
) -> Result<()> {
    let mut body = String::from("<section id=\"answer\">");
    let headline = headline_task(views, baselines, tasks);
    body.push_str("<div class=\"answer-chart\">");
    if let Some(task) = &headline {
        body.push_str(&chart_html(w, views, baselines, task, true)?);
    }
    body.push_str("</div><div class=\"answer-table\">");
    body.push_str(
        "<p class=\"note\">Scores in percent with 95% bootstrap intervals over each run's samples. A difference from a published number is shown only where the setting (harness, prompt profile, image splitting, data split, checkpoint) is the same; otherwise the row says which field differs. All published numbers: <a href=\"baselines.html\">published baselines</a>.</p>",
    );
    body.push_str(&compact_table(views, tasks, baselines, sample_links));
    body.push_str("</div></section>");
    if w.out.join(crate::perf::PERF_PAGE).exists() {
        let _ = write!(
            body,
            "<p><a href=\"{}\">Performance: throughput and memory against batch size</a></p>",
            crate::perf::PERF_PAGE
        );
    }
    for warning in &w.output.warnings {
        let _ = write!(body, "<p class=\"warn\">{}</p>", escape(warning));
    }
    body.push_str("<h2>Runs</h2><ul class=\"about\">");
    for v in views {
        let _ = write!(body, "<li data-run=\"{}\">{}</li>", v.tag, escape(&describe::sentence(&v.tag, v.run)));
    }
    body.push_str("</ul>");
    body.push_str(&runs_table(views));
    let others: Vec<&String> = tasks.iter().filter(|t| Some(*t) != headline.as_ref()).collect();
    if !others.is_empty() {
        body.push_str("<h2>Score against peak memory, per task</h2>");
        for task in others {
            if task_points(views, baselines, task).points.is_empty() {
                continue;
            }
            body.push_str(&chart_html(w, views, baselines, task, false)?);
        }
    }
    w.page("index.html", page(&options.title, "", &body))
}
