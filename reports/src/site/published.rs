//! `baselines.html`: the published numbers. First, per task of the runs, every published score
//! with its setting compared with each run's, field by field, and the memory figure the charts
//! plot it at; then every published number with its full source.

use std::fmt::Write as _;

use anyhow::Result;

use super::{RunView, SiteOptions, Writer};
use crate::baselines::{Baselines, MemoryFigure, ResultKind};
use crate::html::{escape, num, page};
use crate::setting::Setting;

fn memory_cell(figure: Option<MemoryFigure>) -> String {
    match figure {
        Some(MemoryFigure::Published(gb)) => format!("{gb:.2}"),
        Some(MemoryFigure::PublishedElsewhere(gb)) => {
            format!("{gb:.2}<div class=\"ci\">from the model's memory row</div>")
        }
        Some(MemoryFigure::Estimated(gb)) => format!("~{gb:.1}<div class=\"ci\">estimate: parameters × 2 bytes</div>"),
        None => "–<div class=\"ci\">no figure: left off the charts</div>".into(),
    }
}

fn opt(value: Option<&str>) -> String {
    value.map(escape).unwrap_or_else(|| "<span class=\"ci\">not published</span>".into())
}

/// Writes `baselines.html`.
pub(super) fn write_page(
    w: &mut Writer,
    views: &[RunView],
    tasks: &[String],
    baselines: &Baselines,
    options: &SiteOptions,
) -> Result<()> {
    let mut body = String::from("<p class=\"note\">Published numbers from <code>reports/baselines/published.toml</code> (generated from the project's copy of published results by <code>reports/baselines/build_published.py</code>). Each carries its setting where the source gives it: harness, prompt profile, image splitting, data split and checkpoint. Tiers: PRIMARY (authors' blog or card), SECONDARY (transcriptions of the paper's Table 1, which is an image), BASELINE-SELF-REPORT and THIRD-PARTY (other evaluation set-ups), UNVERIFIED (a single unverifiable summary: do not rely on it).</p>");
    body.push_str("<h2>For the runs' tasks</h2>");
    let mut groups: Vec<&str> = tasks.iter().map(String::as_str).collect();
    for v in views {
        for a in &v.run.aggregates {
            if !groups.contains(&a.task.as_str()) {
                groups.push(&a.task);
            }
        }
    }
    for task in groups {
        let rows = baselines.scores_for_task(task);
        if rows.is_empty() {
            continue;
        }
        let _ = write!(
            body,
            "<h3 id=\"task-{t}\">{t}</h3><table class=\"published\" data-task=\"{t}\"><thead><tr><th>model</th><th>checkpoint</th><th class=\"num\">value</th><th>split</th><th>harness</th><th>prompt profile</th><th>image splitting</th><th>setting</th><th>tier</th><th class=\"num\">memory (GB)</th>",
            t = escape(task)
        );
        for v in views {
            let _ = write!(body, "<th>against {}</th>", v.tag);
        }
        body.push_str("</tr></thead><tbody>");
        for r in rows {
            let id = super::baseline_id(baselines, r);
            let split = if r.split.is_empty() {
                "<span class=\"ci\">not published</span>".to_string()
            } else {
                format!(
                    "{}{}",
                    escape(&r.split),
                    r.split_note
                        .as_deref()
                        .map(|n| format!("<div class=\"ci\">{}</div>", escape(n)))
                        .unwrap_or_default()
                )
            };
            let _ = write!(
                body,
                "<tr><td>{model}</td><td>{checkpoint}</td><td class=\"num\"><a href=\"#b{id}\">{value:.1}</a></td><td>{split}</td><td>{harness}</td><td>{prompt}</td><td>{splitting}</td><td>{setting}</td><td><span class=\"tag {tier}\">{tier}</span></td><td class=\"num\">{memory}</td>",
                model = escape(&r.model),
                checkpoint = escape(&r.checkpoint),
                value = r.value,
                harness = opt(r.harness.as_deref()),
                prompt = opt(r.prompt_profile.as_deref()),
                splitting = opt(r.image_splitting.map(|s| if s { "on" } else { "off" })),
                setting = escape(&r.setting),
                tier = escape(&r.tier),
                memory = memory_cell(baselines.memory_figure(r)),
            );
            for v in views {
                let verdict = v
                    .setting(task)
                    .map(|s| s.compare(&Setting::of_published(r)).verdict())
                    .unwrap_or_else(|| "task not in this run".into());
                let _ = write!(body, "<td class=\"ci\">{}</td>", escape(&verdict));
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table>");
    }

    body.push_str("<h2>Every published number</h2><table id=\"baselines\"><thead><tr><th>#</th><th>model</th><th>checkpoint</th><th>benchmark</th><th>task</th><th>kind</th><th>metric</th><th>split</th><th class=\"num\">value</th><th class=\"num\">GPU RAM (GB)</th><th>setting</th><th>tier</th><th>source</th></tr></thead><tbody>");
    for (i, r) in baselines.all().iter().enumerate() {
        let kind = match r.kind {
            ResultKind::Score => "score (%)",
            ResultKind::Memory => "memory (GB)",
            ResultKind::Throughput => "throughput",
            ResultKind::Latency => "latency/speed",
        };
        let _ = write!(
            body,
            "<tr id=\"b{i}\"><td>{i}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{kind}</td><td>{}</td><td>{}</td><td class=\"num\">{}{}</td><td class=\"num\">{}</td><td>{}</td><td><span class=\"tag {tier}\">{tier}</span></td><td class=\"note\">{}</td></tr>",
            escape(&r.model),
            escape(&r.checkpoint),
            r.checkpoint_note.as_deref().map(|n| format!("<div class=\"ci\">{}</div>", escape(n))).unwrap_or_default(),
            escape(&r.benchmark),
            escape(&r.task),
            escape(&r.metric),
            escape(&r.split),
            r.value,
            r.value_note.as_deref().map(|n| format!("<div class=\"ci\">{}</div>", escape(n))).unwrap_or_default(),
            num(r.gpu_ram_gb, 2),
            escape(&r.setting),
            escape(&r.source),
            tier = escape(&r.tier),
        );
    }
    body.push_str("</tbody></table>");
    w.page("baselines.html", page(&format!("{}: published baselines", options.title), "", &body))
}
