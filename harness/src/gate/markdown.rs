//! The gate's verdict as Markdown, for a CI job page (GitHub's step summary, GitLab's notes).

use std::fmt::Write as _;

use super::{GateReport, Outcome, Unusable};

/// A table cell: pipes escaped, one line.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown summary for a CI job page.
pub fn markdown(report: &GateReport) -> String {
    let verdict = if report.regressed() { "REGRESSION" } else { "PASS" };
    let mut s = format!(
        "## SmolBench gate: {verdict}\n\nBaseline `{}`, candidate `{}`. {} checks: {} pass, {} regression, {} inconclusive (not a regression: too few or too noisy samples to decide, or the machine's load differed between the runs), {} skipped. Scores are in percent.\n\n",
        report.baseline,
        report.candidate,
        report.checks.len(),
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        report.count(Outcome::Inconclusive),
        report.count(Outcome::Skip),
    );
    if !report.left_out.is_empty() {
        let list: Vec<String> = report.left_out.iter().map(|(t, only)| format!("`{t}` ({only})")).collect();
        let _ = writeln!(s, "Compared on the tasks both runs hold; left out: {}.\n", list.join(", "));
    }
    s.push_str("| task | check | result | baseline | candidate | detail |\n|---|---|---|---|---|---|\n");
    for c in &report.checks {
        let result = match c.outcome {
            Outcome::Fail => "**REGRESSION**",
            other => other.label(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {result} | {} | {} | {} |",
            cell(&c.task),
            cell(&c.name),
            cell(&c.baseline),
            cell(&c.candidate),
            cell(&c.detail)
        );
    }
    if !report.warnings.is_empty() {
        s.push_str("\n### Warnings\n\n");
        for w in &report.warnings {
            let _ = writeln!(s, "- {}", w.replace('\n', " "));
        }
    }
    s
}

/// The Markdown for runs that could not be compared.
pub fn markdown_unusable(reason: &Unusable) -> String {
    format!("## SmolBench gate: UNUSABLE INPUT\n\n{}\n", reason.0)
}
