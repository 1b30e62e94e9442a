//! The report site: static HTML pages and PNG charts for one or more runs, written to a
//! directory that opens from the file system with no server and no network.
//!
//! - `index.html`: the runs, grouped by model, device and profile; tasks × runs with scores and
//!   95% intervals beside the published numbers (each with checkpoint, setting, tier and a link
//!   to its source); score against peak memory per task with the published baselines.
//! - `latency.html`: TTFT, end-to-end latency and decode speed (p50/p90/p99) per run and task,
//!   with cumulative distribution charts per run.
//! - `tasks.html`: per-category breakdowns (MMMU subjects, OCRBench categories...).
//! - `samples/<run>-<task>.html`: every sample with its image thumbnail, prompt, prediction,
//!   extraction trace and score, filterable to the failures.
//! - `baselines.html`: every published number with its full source.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use smolbench_core::{AggregateRecord, MemorySource, SampleStatus};

use crate::baselines::{Baselines, PublishedResult, ResultKind};
use crate::charts::{self, MemoryPoint};
use crate::html::{bytes, escape, num, page, pct};
use crate::rundir::LoadedRun;
use crate::summary::TaskSummary;

/// What to render.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// The report's title.
    pub title: String,
    /// Read images back from the data sets for the per-sample pages.
    pub thumbnails: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions { title: "SmolBench report".into(), thumbnails: true }
    }
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct SiteOutput {
    /// HTML pages, relative to the output directory.
    pub pages: Vec<PathBuf>,
    /// PNG files (charts and thumbnails), relative to the output directory.
    pub images: Vec<PathBuf>,
    /// Things the reader should know (missing data files, runs without a summary...).
    pub warnings: Vec<String>,
}

/// A run with its place in the report.
struct RunView<'a> {
    run: &'a LoadedRun,
    /// `R1`, `R2`...
    tag: String,
    /// File-name stem: `r1`, `r2`...
    stem: String,
    group: String,
}

impl RunView<'_> {
    fn legend(&self) -> String {
        format!("{} {} ({})", self.tag, self.run.manifest.model.requested, self.run.manifest.device.compute)
    }

    fn task(&self, task: &str) -> Option<&TaskSummary> {
        self.run.summary.tasks.iter().find(|t| t.task == task)
    }

    fn aggregate(&self, name: &str) -> Option<&AggregateRecord> {
        self.run.aggregates.iter().find(|a| a.task == name)
    }
}

fn safe_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

struct Writer<'a> {
    out: &'a Path,
    output: SiteOutput,
}

impl Writer<'_> {
    fn page(&mut self, rel: &str, html: String) -> Result<()> {
        let path = self.out.join(rel);
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
        self.output.pages.push(PathBuf::from(rel));
        Ok(())
    }

    fn png(&mut self, rel: &str, png: Vec<u8>) -> Result<()> {
        let path = self.out.join(rel);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        self.output.images.push(PathBuf::from(rel));
        Ok(())
    }
}

/// Renders the site for `runs` into `out` (created if needed).
pub fn build_site(runs: &[LoadedRun], baselines: &Baselines, out: &Path, options: &SiteOptions) -> Result<SiteOutput> {
    anyhow::ensure!(!runs.is_empty(), "no runs to report on");
    charts::ensure_font()?;
    for dir in [out.to_path_buf(), out.join("charts"), out.join("samples"), out.join("samples/thumbs")] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Group runs by model, device and profile, keeping the order given within a group.
    let mut order: Vec<(String, usize)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("{} · {} · {}", r.model_label(), r.device_label(), r.profile_label()), i))
        .collect();
    let mut first_seen: Vec<String> = Vec::new();
    for (g, _) in &order {
        if !first_seen.contains(g) {
            first_seen.push(g.clone());
        }
    }
    order.sort_by_key(|(g, i)| (first_seen.iter().position(|x| x == g), *i));
    let views: Vec<RunView> = order
        .into_iter()
        .enumerate()
        .map(|(k, (group, i))| RunView {
            run: &runs[i],
            tag: format!("R{}", k + 1),
            stem: format!("r{}", k + 1),
            group,
        })
        .collect();
    let mut tasks: Vec<String> = Vec::new();
    for v in &views {
        for t in &v.run.summary.tasks {
            if !tasks.contains(&t.task) {
                tasks.push(t.task.clone());
            }
        }
    }

    let mut w = Writer { out, output: SiteOutput::default() };
    for v in &views {
        if !v.run.summary_from_file {
            w.output.warnings.push(format!(
                "{} has no summary.json (the run did not finish); its numbers are computed from samples.jsonl",
                v.run.dir.display()
            ));
        }
    }
    let sample_links = sample_pages(&mut w, &views, options)?;
    index_page(&mut w, &views, &tasks, baselines, &sample_links, options)?;
    latency_page(&mut w, &views, &tasks, options)?;
    tasks_page(&mut w, &views, &tasks, options)?;
    baselines_page(&mut w, baselines, options)?;
    Ok(w.output)
}

fn runs_table(views: &[RunView]) -> String {
    let mut s = String::from(
        "<table id=\"runs\"><thead><tr><th>run</th><th>run id</th><th>suite</th><th>tasks</th><th class=\"num\">samples</th><th class=\"num\">failed</th><th>started</th><th>model files / engine</th><th>directory</th></tr></thead><tbody>",
    );
    let mut last_group = "";
    for v in views {
        if v.group != last_group {
            let _ = write!(s, "<tr class=\"group\"><th colspan=\"9\">{}</th></tr>", escape(&v.group));
            last_group = &v.group;
        }
        let m = &v.run.manifest;
        let n: usize = v.run.summary.tasks.iter().map(|t| t.n_samples).sum();
        let failed: usize = v.run.summary.tasks.iter().map(|t| t.n_failed).sum();
        let _ = write!(
            s,
            "<tr data-run=\"{tag}\"><td>{tag}</td><td>{id}</td><td>{suite}</td><td>{tasks}</td><td class=\"num\">{n}</td><td class=\"num\">{failed}</td><td>{started}</td><td>{engine}, {dtype}; {changes} prepare changes</td><td><code>{dir}</code></td></tr>",
            tag = v.tag,
            id = escape(&m.run_id),
            suite = escape(&m.suite),
            tasks = escape(&m.tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
            started = escape(&m.started_at),
            engine = escape(&m.model.engine),
            dtype = escape(&m.model.dtype),
            changes = m.model.prepare_changes.len(),
            dir = escape(&v.run.dir.display().to_string()),
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The three published cells of an overview row for `task`: results for the runs' own
/// checkpoints, the rest of the SmolVLM family, and other models.
fn published_cells(
    baselines: &Baselines,
    repos: &[String],
    task: &str,
    id_of: &dyn Fn(&PublishedResult) -> usize,
) -> String {
    let all = baselines.scores_for_task(task);
    let mine: Vec<(usize, &PublishedResult)> = all
        .iter()
        .filter(|r| repos.iter().any(|repo| repo.eq_ignore_ascii_case(&r.checkpoint)))
        .map(|r| (id_of(r), *r))
        .collect();
    let family: Vec<(usize, &PublishedResult)> = all
        .iter()
        .filter(|r| r.checkpoint.starts_with("HuggingFaceTB/") && !mine.iter().any(|(_, m)| std::ptr::eq(*m, **r)))
        .map(|r| (id_of(r), *r))
        .collect();
    let others: Vec<(usize, &PublishedResult)> =
        all.iter().filter(|r| !r.checkpoint.starts_with("HuggingFaceTB/")).map(|r| (id_of(r), *r)).collect();
    [published_cell(&mine), published_cell(&family), published_cell(&others)].concat()
}

fn published_cell(rows: &[(usize, &PublishedResult)]) -> String {
    if rows.is_empty() {
        return "<td>–</td>".into();
    }
    let mut s = String::from("<td>");
    for (id, r) in rows {
        let suspect =
            if r.source.contains("SUSPECT") { " <span class=\"tag suspect\">suspect typo</span>" } else { "" };
        let _ = write!(
            s,
            "<div class=\"pub\" title=\"{title}\"><b>{value:.1}</b> <span class=\"lbl\">{label}</span> <span class=\"tag {tier}\">{tier}</span>{suspect} <a href=\"baselines.html#b{id}\">source</a></div>",
            title = escape(&format!("{} | {}", r.metric, r.source)),
            value = r.value,
            label = escape(&r.label()),
            tier = escape(&r.tier),
        );
    }
    s.push_str("</td>");
    s
}

fn index_page(
    w: &mut Writer,
    views: &[RunView],
    tasks: &[String],
    baselines: &Baselines,
    sample_links: &BTreeMap<(String, String), String>,
    options: &SiteOptions,
) -> Result<()> {
    let id_of = |r: &PublishedResult| baselines.all().iter().position(|x| std::ptr::eq(x, r)).unwrap_or(0);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p class=\"note\">{} run(s). Scores are in percent with 95% percentile-bootstrap intervals over the run's samples (failed samples are left out and counted). Published numbers come from <code>reports/baselines/published.toml</code>; each names the checkpoint and evaluation setting it belongs to, and its source tier. SmolBench runs images as single tiles (image splitting is off in mistral.rs 0.8.1), so its scores are not directly comparable with published split-image numbers.</p>",
        views.len()
    );
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
    body.push_str("<h2>Runs</h2>");
    body.push_str(&runs_table(views));

    body.push_str(
        "<h2>Scores beside published results</h2><table id=\"overview\"><thead><tr><th>task</th><th>metric</th>",
    );
    for v in views {
        let _ = write!(body, "<th class=\"num\" title=\"{}\">{} score (%)</th>", escape(&v.group), v.tag);
    }
    body.push_str("<th>published for the runs' checkpoints</th><th>SmolVLM family (paper, cards, blog)</th><th>other and larger models</th></tr></thead><tbody>");
    let repos: Vec<String> = views.iter().filter_map(|v| v.run.manifest.model.repo_id.clone()).collect();
    for task in tasks {
        let metric = views.iter().find_map(|v| v.task(task)).map(|t| t.metric.clone()).unwrap_or_default();
        let _ = write!(body, "<tr data-task=\"{t}\"><td>{t}</td><td>{m}</td>", t = escape(task), m = escape(&metric));
        for v in views {
            match v.task(task) {
                Some(t) => {
                    let score = t.score.map(pct).unwrap_or_else(|| "–".into());
                    let ci = t.score_ci95.map(|(lo, hi)| format!("[{}, {}]", pct(lo), pct(hi))).unwrap_or_default();
                    let link = sample_links
                        .get(&(v.stem.clone(), task.clone()))
                        .map(|href| format!(" <a href=\"{href}\">samples</a>"))
                        .unwrap_or_default();
                    let _ = write!(
                        body,
                        "<td class=\"num score\" data-run=\"{tag}\" data-task=\"{task}\"><b class=\"value\">{score}</b><div class=\"ci\"><span class=\"ci95\">{ci}</span> n={n}{failed}{link}</div></td>",
                        tag = v.tag,
                        task = escape(task),
                        n = t.n_scored,
                        failed = if t.n_failed > 0 { format!(", {} failed", t.n_failed) } else { String::new() },
                    );
                }
                None => body.push_str("<td class=\"num\">–</td>"),
            }
        }
        body.push_str(&published_cells(baselines, &repos, task, &id_of));
        body.push_str("</tr>");
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
        let rule = views
            .iter()
            .find_map(|v| v.aggregate(name))
            .map(|a| {
                if a.members.is_empty() {
                    format!("{} rule", a.rule)
                } else {
                    format!("mean of {} tasks", a.members.len())
                }
            })
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr class=\"aggregate\" data-task=\"{t}\"><td>{t} <span class=\"tag\">reference number</span></td><td>{r}</td>",
            t = escape(name),
            r = escape(&rule)
        );
        for v in views {
            match v.aggregate(name) {
                Some(a) => {
                    let _ = write!(
                        body,
                        "<td class=\"num score\" data-run=\"{tag}\" data-task=\"{t}\"><b class=\"value\">{score:.1}</b><div class=\"ci\">{counted} of {total} counted, {profile} profile</div></td>",
                        tag = v.tag,
                        t = escape(name),
                        score = a.score_pct,
                        counted = a.counted,
                        total = a.total,
                        profile = escape(&a.profile),
                    );
                }
                None => body.push_str("<td class=\"num\">–</td>"),
            }
        }
        body.push_str(&published_cells(baselines, &repos, name, &id_of));
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    if views.iter().any(|v| !v.run.aggregates.is_empty()) {
        body.push_str("<p class=\"note\">Rows marked <span class=\"tag\">reference number</span> come from the run's <code>aggregates.json</code>: the number the benchmark's reference code prints (Video-MME's unanswered rule under the official profile, MLVU's mean over task types, MVBench's empty-answer rule), and for a benchmark split over several tasks (MVBench's 20) the size-weighted mean of its parts. Published results are reported this way, so these rows are the ones to compare.</p>");
    }

    body.push_str("<h2>Score against peak memory</h2><p class=\"note\">As in the SmolVLM paper's headline figure: how much accuracy each model buys per gigabyte. Our points are the run's highest per-sample peak (GPU memory through NVML on a GPU, process RSS on the CPU); baseline points use the GPU RAM their source gives, which is measured differently from source to source.</p>");
    for task in tasks {
        let mut points = Vec::new();
        for (i, v) in views.iter().enumerate() {
            if let Some(t) = v.task(task) {
                if let (Some(score), Some(mem)) = (t.score, t.peak_memory_bytes) {
                    let what = match t.memory_source {
                        Some(MemorySource::GpuNvml) => "GPU",
                        _ => "RSS",
                    };
                    points.push(MemoryPoint {
                        label: format!("{} ({what})", v.legend()),
                        memory_gb: mem as f64 / 1e9,
                        score_pct: score * 100.0,
                        run: Some(i),
                    });
                }
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for r in baselines.scores_for_task(task) {
            let Some(gb) = r.gpu_ram_gb else { continue };
            if r.is_unverified() || seen.contains(&r.model) {
                continue;
            }
            seen.push(r.model.clone());
            points.push(MemoryPoint { label: r.model.clone(), memory_gb: gb, score_pct: r.value, run: None });
        }
        if points.is_empty() {
            continue;
        }
        let rel = format!("charts/memory-{}.png", safe_name(task));
        w.png(&rel, charts::score_vs_memory(&format!("{task}: score against peak memory"), &points)?)?;
        let _ = write!(
            body,
            "<img class=\"chart\" src=\"{rel}\" alt=\"{t}: score (%) against peak memory (GB) for our runs and published baselines\">",
            t = escape(task)
        );
    }
    w.page("index.html", page(&options.title, "", &body))
}

fn latency_page(w: &mut Writer, views: &[RunView], tasks: &[String], options: &SiteOptions) -> Result<()> {
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

fn tasks_page(w: &mut Writer, views: &[RunView], tasks: &[String], options: &SiteOptions) -> Result<()> {
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

fn baselines_page(w: &mut Writer, baselines: &Baselines, options: &SiteOptions) -> Result<()> {
    let mut body = String::from("<p class=\"note\">Every published number the report can show, from <code>reports/baselines/published.toml</code> (generated from the project's copy of published results by <code>reports/baselines/build_published.py</code>). Tiers: PRIMARY (authors' blog or card), SECONDARY (transcriptions of the paper's Table 1, which is an image), BASELINE-SELF-REPORT and THIRD-PARTY (other evaluation set-ups), UNVERIFIED (a single unverifiable summary: do not rely on it).</p>");
    body.push_str("<table id=\"baselines\"><thead><tr><th>#</th><th>model</th><th>checkpoint</th><th>benchmark</th><th>task</th><th>kind</th><th>metric</th><th>split</th><th class=\"num\">value</th><th class=\"num\">GPU RAM (GB)</th><th>setting</th><th>tier</th><th>source</th></tr></thead><tbody>");
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

/// Writes one page per run and task; returns their links by (run stem, task).
fn sample_pages(
    w: &mut Writer,
    views: &[RunView],
    options: &SiteOptions,
) -> Result<BTreeMap<(String, String), String>> {
    let mut links = BTreeMap::new();
    for v in views {
        let mut tasks: Vec<&str> = Vec::new();
        for r in &v.run.records {
            if !tasks.contains(&r.task.as_str()) {
                tasks.push(&r.task);
            }
        }
        for task in tasks {
            let records: Vec<_> = v.run.records.iter().filter(|r| r.task == task).collect();
            let stem = format!("{}-{}", v.stem, safe_name(task));
            let thumbs = match (options.thumbnails, v.run.manifest.tasks.iter().find(|t| t.name == task)) {
                (true, Some(record)) if records.iter().any(|r| r.video.is_some()) => {
                    crate::thumbs::write_video_thumbnails(record, &records, &w.out.join("samples/thumbs"), &stem)
                }
                (true, Some(record)) => {
                    let indices: Vec<usize> = records.iter().map(|r| r.index).collect();
                    crate::thumbs::write_thumbnails(record, &indices, &w.out.join("samples/thumbs"), &stem)
                }
                _ => BTreeMap::new(),
            };
            let missing: Vec<&String> = thumbs.values().filter_map(|r| r.as_ref().err()).collect();
            if let Some(reason) = missing.first() {
                w.output.warnings.push(format!(
                    "{} {task}: {} sample(s) without a thumbnail: {reason}",
                    v.tag,
                    missing.len()
                ));
            }
            for name in thumbs.values().filter_map(|r| r.as_ref().ok()) {
                w.output.images.push(PathBuf::from("samples/thumbs").join(name));
            }
            let n_fail = records.iter().filter(|r| !is_pass(r)).count();
            let mut body = format!(
                "<p class=\"note\">{tag} ({group}), task <b>{task}</b>: {n} samples, {n_fail} not fully correct or failed. A sample counts as a failure when its score is below 1 or it could not be answered (those are never scored).</p><p><a href=\"../index.html\">back to the overview</a></p>",
                tag = v.tag,
                group = escape(&v.group),
                task = escape(task),
                n = records.len(),
            );
            body.push_str("<input type=\"checkbox\" id=\"only-failures\"><label class=\"filter\" for=\"only-failures\">show only failures</label>");
            body.push_str("<table class=\"samples\"><thead><tr><th class=\"num\">#</th><th>sample</th><th>image</th><th>prompt</th><th>references</th><th>prediction</th><th>extraction</th><th class=\"num\">score</th><th class=\"num\">e2e (ms)</th></tr></thead><tbody>");
            for r in &records {
                let class = match (r.status, is_pass(r)) {
                    (SampleStatus::Failed, _) => "fail error",
                    (_, true) => "pass",
                    _ => "fail",
                };
                let image = match thumbs.get(&r.index) {
                    Some(Ok(name)) => format!(
                        "<img class=\"thumb\" src=\"thumbs/{}\" alt=\"image of sample {}\">",
                        escape(name),
                        escape(&r.sample_id)
                    ),
                    Some(Err(reason)) => format!("<span class=\"ci\">{}</span>", escape(reason)),
                    None => "<span class=\"ci\">–</span>".into(),
                };
                let mut trace = String::from("<ol class=\"trace\">");
                for step in &r.extraction_trace {
                    let _ =
                        write!(trace, "<li><b>{}</b>: <code>{}</code></li>", escape(&step.step), escape(&step.output));
                }
                trace.push_str("</ol>");
                let score = match (r.score, &r.error) {
                    (Some(s), _) => format!("{s:.3}"),
                    (None, Some(e)) => format!("failed: {}", escape(e)),
                    (None, None) => "–".into(),
                };
                let _ = write!(
                    body,
                    "<tr class=\"{class}\" data-sample=\"{id}\"><td class=\"num\">{index}</td><td>{id}</td><td>{image}</td><td><pre>{prompt}</pre></td><td><pre>{refs}</pre></td><td><pre>{pred}</pre></td><td>{trace}<div class=\"ci\">scored: <code>{extracted}</code></div></td><td class=\"num score\">{score}</td><td class=\"num\">{e2e}</td></tr>",
                    id = escape(&r.sample_id),
                    index = r.index,
                    prompt = escape(&r.prompt),
                    refs = escape(&r.references.join(" | ")),
                    pred = escape(r.prediction.as_deref().unwrap_or("")),
                    extracted = escape(r.extracted.as_deref().unwrap_or("")),
                    e2e = num(r.generation.as_ref().map(|g| g.e2e_ms), 1),
                );
            }
            body.push_str("</tbody></table>");
            let rel = format!("samples/{stem}.html");
            w.page(&rel, page(&format!("{}: {} {task}", options.title, v.tag), "../", &body))?;
            links.insert((v.stem.clone(), task.to_string()), rel);
        }
    }
    Ok(links)
}

fn is_pass(r: &smolbench_core::SampleRecord) -> bool {
    r.status == SampleStatus::Ok && r.score.is_some_and(|s| s >= 1.0 - 1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smolbench_core::{DeviceFingerprint, ExtractionStep, MemoryReading, ModelRecord, RunManifest, SampleRecord};

    fn run(dir: &Path, prompt: &str) -> LoadedRun {
        let manifest = RunManifest {
            format_version: 1,
            run_id: "run-<1>".into(),
            command: vec![],
            started_at: "2026-01-01T00:00:00Z".into(),
            suite: "custom".into(),
            model: ModelRecord {
                requested: "256m".into(),
                repo_id: Some("HuggingFaceTB/SmolVLM-256M-Instruct".into()),
                source_dir: String::new(),
                prepared_dir: String::new(),
                prepare_changes: vec![],
                files: vec![],
                engine: "mistralrs 0.8.1".into(),
                dtype: "f32".into(),
                tokens_per_image: 64,
                image_splitting: false,
                longest_edge: None,
                tile_size: 512,
                encoder_cache: false,
                engine_patch: None,
            },
            tasks: vec![],
            skipped_tasks: vec![],
            smolbench_version: "0.1.0".into(),
            git_commit: None,
            device: DeviceFingerprint {
                compute: "cpu".into(),
                cpu_model: "CPU".into(),
                cpu_cores: 2,
                ram_total_bytes: 1 << 30,
                gpus: vec![],
                os: "linux".into(),
                hostname: "h".into(),
            },
            data_source: "synthetic".into(),
            limit: None,
            endpoints: Vec::new(),
            scoring: "rules".into(),
            judge: None,
        };
        let records: Vec<SampleRecord> = (0..4)
            .map(|i| SampleRecord {
                task: "docvqa".into(),
                sample_id: format!("s{i}"),
                index: i,
                status: SampleStatus::Ok,
                prompt: prompt.into(),
                n_images: 1,
                references: vec!["a".into()],
                breakdown: [("type".to_string(), format!("t{}", i % 2))].into(),
                prediction: Some("<b>a</b>".into()),
                extracted: Some("a".into()),
                extraction_trace: vec![ExtractionStep { step: "strip".into(), output: "a".into() }],
                metric: "anls".into(),
                score: Some(if i == 0 { 1.0 } else { 0.25 }),
                memory: Some(MemoryReading { peak_bytes: 300 << 20, source: MemorySource::ProcessRss }),
                ..Default::default()
            })
            .collect();
        let summary = crate::summarise_run(&manifest.run_id, &records);
        LoadedRun {
            dir: dir.to_path_buf(),
            manifest,
            records,
            summary,
            summary_from_file: false,
            aggregates: Vec::new(),
        }
    }

    #[test]
    fn site_escapes_run_content_and_shows_the_checkpoints_published_numbers() {
        let out = tempfile::tempdir().unwrap();
        let r = run(out.path(), "<script>alert(1)</script>");
        let site = build_site(&[r], &Baselines::builtin(), out.path(), &SiteOptions::default()).unwrap();
        for page in ["index.html", "latency.html", "tasks.html", "baselines.html", "samples/r1-docvqa.html"] {
            assert!(site.pages.contains(&PathBuf::from(page)), "{page}");
        }
        let samples = std::fs::read_to_string(out.path().join("samples/r1-docvqa.html")).unwrap();
        assert!(!samples.contains("<script>alert"));
        assert!(samples.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(samples.contains("&lt;b&gt;a&lt;/b&gt;"));
        // One pass row (score 1) and three failures; no thumbnails without a task record.
        assert_eq!(samples.matches("<tr class=\"pass\"").count(), 1);
        assert_eq!(samples.matches("<tr class=\"fail\"").count(), 3);
        let index = std::fs::read_to_string(out.path().join("index.html")).unwrap();
        assert!(index.contains("run-&lt;1&gt;"));
        // The mean of 1, .25, .25, .25 is 43.75%; the 256M card's DocVQA (58.3) sits beside it
        // in the column of the run's own checkpoint.
        assert!(index.contains("<b class=\"value\">43.75</b>"));
        assert!(index.contains("<b>58.3</b> <span class=\"lbl\">SmolVLM-256M-Instruct: model card"));
        assert!(site.warnings.iter().any(|w| w.contains("no summary.json")));
        for chart in ["charts/memory-docvqa.png", "charts/breakdown-docvqa-type.png"] {
            assert!(site.images.contains(&PathBuf::from(chart)), "{chart}");
            image::open(out.path().join(chart)).expect("a readable PNG");
        }
    }
}
