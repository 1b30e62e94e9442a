//! `samples/<run>-<task>.html`: every sample of a run's task with its image thumbnail (or video
//! frame strip), prompt, references, prediction, extraction trace and score, filterable to the
//! failures. Rows are written to the file as they are made, so a page of thousands of samples
//! never sits in memory whole.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

use anyhow::{Context, Result};
use smolbench_core::{SampleRecord, SampleStatus};

use super::{is_pass, safe_name, RunView, SiteOptions, Writer};
use crate::html::{escape, num, page_start, PAGE_END};

/// Writes one page per run and task; returns their links by (run stem, task).
pub(super) fn write_pages(
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
            let records: Vec<&SampleRecord> = v.run.records.iter().filter(|r| r.task == task).collect();
            let stem = format!("{}-{}", v.stem, safe_name(task));
            let chosen = thumbnail_choice(&records, options.max_thumbnails);
            let mut thumbs = match (options.thumbnails, v.run.manifest.tasks.iter().find(|t| t.name == task)) {
                (true, Some(record)) if records.iter().any(|r| r.video.is_some()) => {
                    crate::thumbs::write_video_thumbnails(record, &chosen, &w.out.join("samples/thumbs"), &stem)
                }
                (true, Some(record)) => {
                    let indices: Vec<usize> = chosen.iter().map(|r| r.index).collect();
                    crate::thumbs::write_thumbnails(record, &indices, &w.out.join("samples/thumbs"), &stem)
                }
                _ => BTreeMap::new(),
            };
            let over_limit: Vec<usize> = if options.thumbnails && chosen.len() < records.len() {
                records.iter().map(|r| r.index).filter(|i| !thumbs.contains_key(i)).collect()
            } else {
                Vec::new()
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
            if let (Some(limit), false) = (options.max_thumbnails, over_limit.is_empty()) {
                w.output.warnings.push(format!(
                    "{} {task}: thumbnails for {limit} of {} samples, failures first (`bench report --max-thumbnails N` for more)",
                    v.tag,
                    records.len()
                ));
                for i in over_limit {
                    thumbs.insert(i, Err(format!("no thumbnail: over the limit of {limit} per task")));
                }
            }
            let rel = format!("samples/{stem}.html");
            let path = w.out.join(&rel);
            let file = std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
            let mut out = BufWriter::new(file);
            write_page(&mut out, v, task, &records, &thumbs, options)
                .and_then(|_| out.flush())
                .with_context(|| format!("writing {}", path.display()))?;
            w.output.pages.push(PathBuf::from(&rel));
            links.insert((v.stem.clone(), task.to_string()), rel);
        }
    }
    Ok(links)
}

/// The records to make thumbnails for: all of them, or at most `limit`, the failures first,
/// each group in run order.
fn thumbnail_choice<'a>(records: &[&'a SampleRecord], limit: Option<usize>) -> Vec<&'a SampleRecord> {
    let Some(limit) = limit.filter(|l| *l < records.len()) else { return records.to_vec() };
    let failures = records.iter().filter(|r| !is_pass(r));
    let passes = records.iter().filter(|r| is_pass(r));
    failures.chain(passes).take(limit).copied().collect()
}

fn write_page(
    out: &mut impl std::io::Write,
    v: &RunView,
    task: &str,
    records: &[&SampleRecord],
    thumbs: &BTreeMap<usize, Result<String, String>>,
    options: &SiteOptions,
) -> std::io::Result<()> {
    out.write_all(page_start(&format!("{}: {} {task}", options.title, v.tag), "../").as_bytes())?;
    let n_fail = records.iter().filter(|r| !is_pass(r)).count();
    write!(
        out,
        "<p class=\"note\">{tag} ({group}), task <b>{task}</b>: {n} samples, {n_fail} not fully correct or failed. A sample counts as a failure when its score is below 1 or it could not be answered (those are never scored).</p><p><a href=\"../index.html\">back to the overview</a></p>",
        tag = v.tag,
        group = escape(&v.group),
        task = escape(task),
        n = records.len(),
    )?;
    out.write_all(b"<input type=\"checkbox\" id=\"only-failures\"><label class=\"filter\" for=\"only-failures\">show only failures</label>")?;
    out.write_all(b"<table class=\"samples\"><thead><tr><th class=\"num\">#</th><th>sample</th><th>image</th><th>prompt</th><th>references</th><th>prediction</th><th>extraction</th><th class=\"num\">score</th><th class=\"num\">e2e (ms)</th></tr></thead><tbody>")?;
    for r in records {
        out.write_all(row(r, thumbs).as_bytes())?;
    }
    out.write_all(b"</tbody></table>")?;
    out.write_all(PAGE_END.as_bytes())
}

fn row(r: &SampleRecord, thumbs: &BTreeMap<usize, Result<String, String>>) -> String {
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
        let _ = write!(trace, "<li><b>{}</b>: <code>{}</code></li>", escape(&step.step), escape(&step.output));
    }
    trace.push_str("</ol>");
    let score = match (r.score, &r.error) {
        (Some(s), _) => format!("{s:.3}"),
        (None, Some(e)) => format!("failed: {}", escape(e)),
        (None, None) => "–".into(),
    };
    format!(
        "<tr class=\"{class}\" data-sample=\"{id}\"><td class=\"num\">{index}</td><td>{id}</td><td>{image}</td><td><pre>{prompt}</pre></td><td><pre>{refs}</pre></td><td><pre>{pred}</pre></td><td>{trace}<div class=\"ci\">scored: <code>{extracted}</code></div></td><td class=\"num score\">{score}</td><td class=\"num\">{e2e}</td></tr>",
        id = escape(&r.sample_id),
        index = r.index,
        prompt = escape(&r.prompt),
        refs = escape(&r.references.join(" | ")),
        pred = escape(r.prediction.as_deref().unwrap_or("")),
        extracted = escape(r.extracted.as_deref().unwrap_or("")),
        e2e = num(r.generation.as_ref().map(|g| g.e2e_ms), 1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thumbnail_limit_keeps_the_failures_first() {
        let records: Vec<SampleRecord> = (0..6)
            .map(|i| SampleRecord {
                index: i,
                status: SampleStatus::Ok,
                score: Some(if i % 2 == 0 { 1.0 } else { 0.0 }),
                ..Default::default()
            })
            .collect();
        let refs: Vec<&SampleRecord> = records.iter().collect();
        let pick = |limit| thumbnail_choice(&refs, limit).iter().map(|r| r.index).collect::<Vec<_>>();
        assert_eq!(pick(Some(4)), vec![1, 3, 5, 0]);
        assert_eq!(pick(None), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(pick(Some(10)), vec![0, 1, 2, 3, 4, 5]);
    }
}
