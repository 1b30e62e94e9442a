//! `tasks.html`: scores per category of each breakdown a task records (MMMU subject and
//! subfield, OCRBench category, MathVista skill...), with bar charts.

use std::fmt::Write as _;

use anyhow::Result;

use super::{safe_name, RunView, SiteOptions, Writer};
use crate::charts;
use crate::html::{escape, page, pct};

/// Writes `tasks.html`.
pub(super) fn write_page(w: &mut Writer, views: &[RunView], tasks: &[String], options: &SiteOptions) -> Result<()> {
    let mut body = String::from("<p class=\"note\">Scores per category of each breakdown a task records (MMMU subject and subfield, OCRBench category, MathVista skill...), in percent, with the number of scored samples.</p>");
    let mut any = false;
    for task in tasks {
        let mut names: Vec<String> = Vec::new();
        for v in views {
            if let Some(t) = v.task(task) {
                for name in t.breakdowns.keys() {
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
        }
        if names.is_empty() {
            continue;
        }
        any = true;
        let _ = write!(body, "<h2 id=\"{t}\">{t}</h2>", t = escape(task));
        for name in names {
            let mut categories: Vec<String> = Vec::new();
            for v in views {
                for g in v.task(task).and_then(|t| t.breakdowns.get(&name)).into_iter().flatten() {
                    if !categories.contains(&g.group) {
                        categories.push(g.group.clone());
                    }
                }
            }
            categories.sort();
            let _ = write!(body, "<h3>by {}</h3><table class=\"breakdown\" data-task=\"{}\" data-breakdown=\"{}\"><thead><tr><th>{}</th>", escape(&name), escape(task), escape(&name), escape(&name));
            for v in views {
                let _ = write!(body, "<th class=\"num\">{} score (%)</th><th class=\"num\">n</th>", v.tag);
            }
            body.push_str("</tr></thead><tbody>");
            let mut series: Vec<(String, Vec<Option<f64>>)> = views.iter().map(|v| (v.legend(), Vec::new())).collect();
            for c in &categories {
                let _ = write!(body, "<tr><td>{}</td>", escape(c));
                for (i, v) in views.iter().enumerate() {
                    let g = v
                        .task(task)
                        .and_then(|t| t.breakdowns.get(&name))
                        .and_then(|gs| gs.iter().find(|g| &g.group == c));
                    match g {
                        Some(g) => {
                            let _ = write!(
                                body,
                                "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                                pct(g.score),
                                g.n_scored
                            );
                        }
                        None => body.push_str("<td class=\"num\">–</td><td class=\"num\">0</td>"),
                    }
                    series[i].1.push(g.map(|g| g.score));
                }
                body.push_str("</tr>");
            }
            body.push_str("</tbody></table>");
            const MAX_BARS: usize = 40;
            let shown = categories.len().min(MAX_BARS);
            let trimmed: Vec<(String, Vec<Option<f64>>)> =
                series.into_iter().map(|(n, v)| (n, v.into_iter().take(shown).collect())).collect();
            let rel = format!("charts/breakdown-{}-{}.png", safe_name(task), safe_name(&name));
            let title = if categories.len() > shown {
                format!("{task} by {name} (first {shown} of {})", categories.len())
            } else {
                format!("{task} by {name}")
            };
            w.png(&rel, charts::category_bars(&title, &categories[..shown], &trimmed)?)?;
            let _ = write!(
                body,
                "<img class=\"chart\" src=\"{rel}\" alt=\"{} score by {} per run\">",
                escape(task),
                escape(&name)
            );
        }
    }
    if !any {
        body.push_str("<p>No task of these runs records a breakdown.</p>");
    }
    w.page("tasks.html", page(&format!("{}: per-task breakdowns", options.title), "", &body))
}
