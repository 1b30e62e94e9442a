//! The performance page of a report (`perf.html`): throughput and peak memory against batch size
//! (or concurrency) for each sweep (`perf.json` from `bench perf`), per device, beside the SmolVLM
//! paper's efficiency figures (throughput on an A100 at batch 1 and 64 and on an L4 at its peak,
//! GPU RAM at batch 1 and 64, from the published baselines).
//!
//! `bench report` writes this page when given sweep directories; the overview links to it.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use smolbench_core::perf::{LatencyPercentiles, PerfResult};

use crate::baselines::{Baselines, PublishedResult, ResultKind};
use crate::charts::{draw_legend, plot_err, render, series_colour};
use crate::html::{escape, page};

/// The page's file name in the site.
pub const PERF_PAGE: &str = "perf.html";
const THROUGHPUT_PNG: &str = "charts/perf-throughput.png";
const MEMORY_PNG: &str = "charts/perf-memory.png";
const BASELINE_GREY: RGBColor = RGBColor(110, 110, 110);

/// A published efficiency figure placed on the batch-size axis.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedPoint {
    /// `SmolVLM-256M A100` and the like.
    pub label: String,
    /// Batch size (x).
    pub batch: f64,
    /// Examples per second, or GB.
    pub value: f64,
}

/// The batch size a published efficiency figure names (`..._batch64`, `(batch8)`), if any.
fn batch_of(benchmark: &str) -> Option<f64> {
    let at = benchmark.rfind("batch")? + "batch".len();
    let digits: String = benchmark[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The GPU a published throughput was measured on (`throughput_A100_batch1` -> `A100`).
fn gpu_of(benchmark: &str) -> &str {
    benchmark.split('_').nth(1).unwrap_or("")
}

/// The paper's throughput points (examples/s) and GPU RAM points (GB) that name a batch size.
pub fn published_points(baselines: &Baselines) -> (Vec<PublishedPoint>, Vec<PublishedPoint>) {
    let point = |r: &PublishedResult, what: &str| {
        batch_of(&r.benchmark).map(|batch| PublishedPoint {
            label: format!("{} {what}", r.model),
            batch,
            value: r.value,
        })
    };
    let throughput = baselines
        .all()
        .iter()
        .filter(|r| r.kind == ResultKind::Throughput && r.benchmark.starts_with("throughput_"))
        .filter_map(|r| point(r, gpu_of(&r.benchmark)))
        .collect();
    let memory = baselines
        .all()
        .iter()
        .filter(|r| r.kind == ResultKind::Memory && r.benchmark.starts_with("GPU_RAM_inference_batch"))
        .filter_map(|r| point(r, "GPU"))
        .collect();
    (throughput, memory)
}

/// One measured series: a label and (batch, value) points.
type Series = (String, Vec<(f64, f64)>);

/// Throughput (samples/s) of each sweep against its levels.
fn throughput_series(sweeps: &[PerfResult]) -> Vec<Series> {
    sweeps
        .iter()
        .map(|s| {
            let points =
                s.levels.iter().filter_map(|l| Some((l.level?, l.samples_per_s))).filter(|&(_, v)| v > 0.0).collect();
            (s.label(), points)
        })
        .collect()
}

/// Peak memory (GB) of each sweep and device against the levels.
fn memory_series(sweeps: &[PerfResult]) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for s in sweeps {
        let mut devices: Vec<&str> = Vec::new();
        for l in &s.levels {
            for m in &l.memory {
                if !devices.contains(&m.device.as_str()) {
                    devices.push(&m.device);
                }
            }
        }
        for device in devices {
            let points = s
                .levels
                .iter()
                .filter_map(|l| {
                    let m = l.memory.iter().find(|m| m.device == device)?;
                    Some((l.level?, m.peak_bytes as f64 / 1e9))
                })
                .collect();
            series.push((format!("{} · {device}", s.label()), points));
        }
    }
    series
}

/// A log-log chart of `series` (coloured lines) and `published` (grey diamonds) against batch size.
pub fn batch_chart(title: &str, y_desc: &str, series: &[Series], published: &[PublishedPoint]) -> Result<Vec<u8>> {
    render(|root| {
        let xs = series.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x)).chain(published.iter().map(|p| p.batch));
        let ys = series.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y)).chain(published.iter().map(|p| p.value));
        // Room on the right for the labels of the batch-64 points.
        let x_max = xs.fold(64.0f64, f64::max) * 4.0;
        let (y_lo, y_hi) = ys.filter(|y| *y > 0.0).fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (y_lo, y_hi) = if y_hi > 0.0 { (y_lo / 2.0, y_hi * 2.0) } else { (0.01, 100.0) };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((0.7f64..x_max).log_scale(), (y_lo..y_hi).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("batch size / requests in flight (log scale)")
            .y_desc(y_desc)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| tick(*v))
            .draw()
            .map_err(plot_err)?;
        if !published.is_empty() {
            chart
                .draw_series(published.iter().map(|p| {
                    EmptyElement::at((p.batch, p.value))
                        + Polygon::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0)], BASELINE_GREY.mix(0.8).filled())
                        + Text::new(p.label.clone(), (9, -7), ("sans-serif", 13).into_font().color(&BASELINE_GREY))
                }))
                .map_err(plot_err)?
                .label("SmolVLM paper (published)")
                .legend(|(x, y)| {
                    Polygon::new(vec![(x, y - 6), (x + 6, y), (x, y + 6), (x - 6, y)], BASELINE_GREY.filled())
                });
        }
        for (i, (label, points)) in series.iter().enumerate() {
            let colour = series_colour(i);
            chart.draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2))).map_err(plot_err)?;
            chart
                .draw_series(points.iter().map(|&(x, y)| Circle::new((x, y), 5, colour.filled())))
                .map_err(plot_err)?
                .label(label.clone())
                .legend(move |(x, y)| Circle::new((x, y), 6, colour.filled()));
        }
        draw_legend(&mut chart)
    })
}

/// An axis value with as many decimals as its size needs.
fn tick(v: f64) -> String {
    match v {
        v if v >= 10.0 => format!("{v:.0}"),
        v if v >= 1.0 => format!("{v:.1}"),
        v => format!("{v:.3}"),
    }
}

fn percentiles(p: &LatencyPercentiles) -> String {
    format!("{:.0} / {:.0} / {:.0}", p.p50, p.p90, p.p99)
}

/// What [`write_perf_page`] wrote, relative to the site's root.
#[derive(Debug, Clone, Default)]
pub struct PerfPage {
    /// Pages written.
    pub pages: Vec<String>,
    /// Images written.
    pub images: Vec<String>,
}

/// Writes `perf.html` and its two charts into `out` for `sweeps`.
pub fn write_perf_page(sweeps: &[PerfResult], baselines: &Baselines, out: &Path) -> Result<PerfPage> {
    anyhow::ensure!(!sweeps.is_empty(), "no performance sweeps to report on");
    std::fs::create_dir_all(out.join("charts"))
        .with_context(|| format!("creating {}", out.join("charts").display()))?;
    let (published_throughput, published_memory) = published_points(baselines);
    let throughput = batch_chart(
        "Throughput against batch size",
        "samples per second (log scale)",
        &throughput_series(sweeps),
        &published_throughput,
    )?;
    let memory = batch_chart(
        "Peak memory against batch size, per device",
        "peak memory, GB (log scale)",
        &memory_series(sweeps),
        &published_memory,
    )?;
    for (rel, png) in [(THROUGHPUT_PNG, throughput), (MEMORY_PNG, memory)] {
        let path = out.join(rel);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    }

    let mut body = String::from("<p class=\"note\">Performance sweeps from <code>bench perf</code>: each level sends the same workload with that many requests in flight (in-process: the engine's scheduler limit, <code>max_num_seqs</code>), after warm-up, and repeats it. Throughput is the median over the repeats; latency percentiles are over every measured request. Peak memory is sampled per device over the level: the process's anonymous resident memory on the CPU (file-backed pages such as memory-mapped weights left out), its NVML figure on a GPU. Grey diamonds are the SmolVLM paper's figures (A100 at batch 1 and 64, L4 at its peak; GPU RAM at batch 1 and 64): other hardware, other software, for orientation only.</p>");
    let _ = write!(
        body,
        "<img class=\"chart\" src=\"{THROUGHPUT_PNG}\" alt=\"throughput (samples/s) against batch size, measured and published\"><img class=\"chart\" src=\"{MEMORY_PNG}\" alt=\"peak memory (GB) against batch size per device, measured and published\">"
    );
    for s in sweeps {
        let devices: Vec<String> =
            s.levels.iter().flat_map(|l| l.memory.iter().map(|m| m.device.clone())).fold(Vec::new(), |mut v, d| {
                if !v.contains(&d) {
                    v.push(d);
                }
                v
            });
        let _ = write!(
            body,
            "<h2>{}</h2><p class=\"note\">{} · {} ({} requests, {} new tokens each; output length: {}) · warm-up {}, repeats {} · {}</p>",
            escape(&s.label()),
            escape(&s.mode),
            escape(&s.workload.description),
            s.workload.samples,
            s.workload.max_new_tokens,
            escape(&s.workload.output_length),
            s.warmup,
            s.repeats,
            escape(&s.started_at)
        );
        body.push_str("<table class=\"perf\"><thead><tr><th class=\"num\">level</th><th class=\"num\">samples/s</th><th class=\"num\">output tok/s</th><th class=\"num\">TTFT p50/p90/p99 (ms)</th><th class=\"num\">e2e p50/p90/p99 (ms)</th><th class=\"num\">output tokens (min/mean/max)</th>");
        for d in &devices {
            let _ = write!(body, "<th class=\"num\">peak {} (MiB)</th>", escape(d));
        }
        body.push_str(
            "<th>engine batches (prompt; decode: size×passes)</th><th class=\"num\">failed</th></tr></thead><tbody>",
        );
        for l in &s.levels {
            let batches = l.engine_batches.as_ref().map_or("–".to_string(), |b| {
                let fmt = |m: &std::collections::BTreeMap<usize, u64>| {
                    m.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(" ")
                };
                format!("{}; {}", fmt(&b.prompt), fmt(&b.decode))
            });
            let _ = write!(
                body,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{:.1}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} / {:.1} / {}</td>",
                l.level.map_or("inf".to_string(), |v| format!("{v}")),
                l.samples_per_s,
                l.output_tokens_per_s,
                percentiles(&l.ttft_ms),
                percentiles(&l.e2e_ms),
                l.output_tokens_min,
                l.output_tokens_mean,
                l.output_tokens_max
            );
            for d in &devices {
                let cell = l
                    .memory
                    .iter()
                    .find(|m| &m.device == d)
                    .map_or("–".to_string(), |m| format!("{:.0}", m.peak_bytes as f64 / (1u64 << 20) as f64));
                let _ = write!(body, "<td class=\"num\">{cell}</td>");
            }
            let _ = write!(body, "<td>{}</td><td class=\"num\">{}</td></tr>", escape(&batches), l.failed);
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("<h2>Published efficiency figures</h2><table><thead><tr><th>model</th><th>figure</th><th class=\"num\">value</th><th>setting</th><th>source</th></tr></thead><tbody>");
    for r in baselines
        .all()
        .iter()
        .filter(|r| r.benchmark.starts_with("throughput_") || r.benchmark.starts_with("GPU_RAM_inference_batch"))
    {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{} {}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.model),
            escape(&r.benchmark),
            r.value,
            escape(&r.metric),
            escape(&r.setting),
            escape(&r.source)
        );
    }
    body.push_str("</tbody></table><p><a href=\"index.html\">back to the overview</a></p>");
    let path = out.join(PERF_PAGE);
    std::fs::write(&path, page("SmolBench performance", "", &body))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(PerfPage {
        pages: vec![PERF_PAGE.to_string()],
        images: vec![THROUGHPUT_PNG.to_string(), MEMORY_PNG.to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_efficiency_figures_land_on_their_batch_sizes() {
        let (throughput, memory) = published_points(&Baselines::builtin());
        let find = |v: &[PublishedPoint], label: &str, batch: f64| {
            v.iter().find(|p| p.label == label && p.batch == batch).map(|p| p.value)
        };
        assert_eq!(find(&throughput, "SmolVLM-256M A100", 1.0), Some(0.8));
        assert_eq!(find(&throughput, "SmolVLM-256M A100", 64.0), Some(16.3));
        assert_eq!(find(&throughput, "SmolVLM-256M L4", 8.0), Some(2.7));
        assert_eq!(find(&memory, "SmolVLM-256M GPU", 1.0), Some(0.8));
        assert_eq!(find(&memory, "SmolVLM-256M GPU", 64.0), Some(15.0));
        assert_eq!(batch_of("throughput_L4_peak"), None);
    }
}
