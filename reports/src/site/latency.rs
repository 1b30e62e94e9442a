//! `latency.html`: TTFT, end-to-end latency and decode speed (p50/p90/p99) per run and task,
//! with cumulative distribution charts per run.

use std::fmt::Write as _;

use anyhow::Result;
use smolbench_core::{MemorySource, SampleStatus};

use super::{RunView, SiteOptions, Writer};
use crate::charts;
use crate::html::{bytes, escape, num, page};

/// Writes `latency.html`.
pub(super) fn write_page(w: &mut Writer, views: &[RunView], tasks: &[String], options: &SiteOptions) -> Result<()> {
    let mut body = String::from("<p class=\"note\">Per-sample timings from the run's records: time to first token (TTFT) and end-to-end latency in milliseconds, decode speed in generated tokens per second. Percentiles interpolate linearly between samples. Runs are grouped by model, device and profile.</p><h2>Percentiles per run and task</h2>");
    body.push_str("<table id=\"latency\"><thead><tr><th>run</th><th>task</th><th class=\"num\">n</th><th class=\"num\">TTFT p50 (ms)</th><th class=\"num\">TTFT p90</th><th class=\"num\">TTFT p99</th><th class=\"num\">e2e p50 (ms)</th><th class=\"num\">e2e p90</th><th class=\"num\">e2e p99</th><th class=\"num\">decode p50 (tok/s)</th><th class=\"num\">decode p90</th><th class=\"num\">decode p99</th><th class=\"num\">prompt tokens (mean)</th><th class=\"num\">peak memory</th></tr></thead><tbody>");
    let mut last_group = "";
    for v in views {
        if v.group != last_group {
            let _ = write!(body, "<tr class=\"group\"><th colspan=\"14\">{}</th></tr>", escape(&v.group));
            last_group = &v.group;
        }
        for task in tasks {
            let Some(t) = v.task(task) else { continue };
            let p =
                |x: Option<crate::Percentiles>, f: fn(&crate::Percentiles) -> f64, d: usize| num(x.as_ref().map(f), d);
            let source = match t.memory_source {
                Some(MemorySource::GpuNvml) => " (GPU)",
                Some(MemorySource::ProcessRss) => " (RSS)",
                None => "",
            };
            let _ = write!(
                body,
                "<tr data-run=\"{tag}\" data-task=\"{task}\"><td>{tag}</td><td>{task}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}{source}</td></tr>",
                p(t.ttft_ms, |x| x.p50, 1),
                p(t.ttft_ms, |x| x.p90, 1),
                p(t.ttft_ms, |x| x.p99, 1),
                p(t.e2e_ms, |x| x.p50, 1),
                p(t.e2e_ms, |x| x.p90, 1),
                p(t.e2e_ms, |x| x.p99, 1),
                p(t.decode_tokens_per_s, |x| x.p50, 1),
                p(t.decode_tokens_per_s, |x| x.p90, 1),
                p(t.decode_tokens_per_s, |x| x.p99, 1),
                num(t.mean_prompt_tokens, 1),
                bytes(t.peak_memory_bytes),
                tag = v.tag,
                task = escape(task),
                n = t.n_scored,
            );
        }
    }
    body.push_str("</tbody></table><h2>Distributions per run (all tasks)</h2>");
    type Pick = fn(&smolbench_core::Generation) -> Option<f64>;
    let charts_spec: [(&str, &str, &str, Pick); 3] = [
        ("e2e", "End-to-end latency", "end-to-end latency (ms)", |g| Some(g.e2e_ms)),
        ("ttft", "Time to first token", "time to first token (ms)", |g| Some(g.ttft_ms)),
        ("decode", "Decode speed", "decode speed (generated tokens/s)", |g| g.decode_tokens_per_s),
    ];
    for (stem, title, x_desc, pick) in charts_spec {
        let series: Vec<(String, Vec<f64>)> = views
            .iter()
            .map(|v| {
                let values = v
                    .run
                    .records
                    .iter()
                    .filter(|r| r.status == SampleStatus::Ok)
                    .filter_map(|r| r.generation.as_ref().and_then(pick))
                    .collect();
                (format!("{} · {}", v.legend(), v.run.device_label()), values)
            })
            .collect();
        if series.iter().all(|(_, v)| v.is_empty()) {
            continue;
        }
        let rel = format!("charts/latency-{stem}.png");
        w.png(&rel, charts::cdf_chart(&format!("{title}: cumulative distribution"), x_desc, &series)?)?;
        let _ = write!(body, "<img class=\"chart\" src=\"{rel}\" alt=\"{title}, cumulative distribution per run\">");
    }
    w.page("latency.html", page(&format!("{}: latency", options.title), "", &body))
}
