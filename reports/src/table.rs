//! The plain-text table `bench run` prints at the end.

use crate::summary::RunSummary;

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn ms(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

/// Renders the summary as an aligned table: task, n, score, 95% CI, p50/p95 end-to-end latency,
/// p50 TTFT and peak memory. Scores are shown in percent, as papers report them.
pub fn render_table(summary: &RunSummary) -> String {
    let header =
        ["task", "n", "failed", "metric", "score %", "95% CI %", "p50 ms", "p95 ms", "p50 TTFT ms", "peak mem"];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for t in &summary.tasks {
        rows.push(vec![
            t.task.clone(),
            t.n_samples.to_string(),
            t.n_failed.to_string(),
            t.metric.clone(),
            t.score.map(|s| format!("{:.2}", s * 100.0)).unwrap_or_else(|| "-".into()),
            t.score_ci95
                .map(|(lo, hi)| format!("[{:.2}, {:.2}]", lo * 100.0, hi * 100.0))
                .unwrap_or_else(|| "-".into()),
            ms(t.e2e_ms.map(|p| p.p50)),
            ms(t.e2e_ms.map(|p| p.p95)),
            ms(t.ttft_ms.map(|p| p.p50)),
            t.peak_memory_bytes.map(human_bytes).unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> =
        (0..header.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::TaskSummary;

    #[test]
    fn table_shows_percent_scores_and_memory() {
        let summary = RunSummary {
            run_id: "r".into(),
            score_unit: Default::default(),
            tasks: vec![TaskSummary {
                task: "docvqa".into(),
                metric: "anls".into(),
                n_samples: 4,
                n_scored: 4,
                n_failed: 0,
                score: Some(0.5),
                score_ci95: Some((0.25, 0.75)),
                e2e_ms: None,
                ttft_ms: None,
                decode_tokens_per_s: None,
                mean_prompt_tokens: None,
                mean_completion_tokens: None,
                peak_memory_bytes: Some(3 << 20),
                memory_source: None,
                breakdowns: Default::default(),
            }],
        };
        let table = render_table(&summary);
        assert!(table.lines().next().unwrap().contains("score %  95% CI %"), "{table}");
        assert!(table.lines().nth(1).unwrap().contains("50.00"));
        assert!(table.contains("[25.00, 75.00]"));
        assert!(table.contains("3.0 MiB"));
    }
}
