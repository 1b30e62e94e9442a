//! The gate's verdict as JUnit XML: one test case per check. Regressions are failures;
//! inconclusive and skipped checks are skipped test cases whose message says which.

use std::fmt::Write as _;

use smolbench_core::markup::escape;

use super::{GateReport, Outcome, Unusable};

/// JUnit XML: one test case per check.
pub fn junit(report: &GateReport) -> String {
    let failures = report.count(Outcome::Fail);
    let skipped = report.count(Outcome::Skip) + report.count(Outcome::Inconclusive);
    let n = report.checks.len();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"smolbench-gate\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n<testsuite name=\"smolbench-gate: {} vs {}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n",
        escape(&report.baseline),
        escape(&report.candidate)
    );
    for c in &report.checks {
        let _ = write!(s, "<testcase classname=\"gate.{}\" name=\"{}\">", escape(&c.task), escape(&c.name));
        let text = format!("baseline {}, candidate {}: {}", c.baseline, c.candidate, c.detail);
        match c.outcome {
            Outcome::Pass => {}
            Outcome::Fail => {
                let _ =
                    write!(s, "<failure message=\"{}\" type=\"regression\">{}</failure>", escape(&text), escape(&text));
            }
            Outcome::Inconclusive => {
                let _ = write!(s, "<skipped message=\"inconclusive: {}\"/>", escape(&text));
            }
            Outcome::Skip => {
                let _ = write!(s, "<skipped message=\"{}\"/>", escape(&c.detail));
            }
        }
        s.push_str("</testcase>\n");
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(s, "<system-out>{}</system-out>", escape(&report.warnings.join("\n")));
    }
    s.push_str("</testsuite>\n</testsuites>\n");
    s
}

/// JUnit XML for runs that could not be compared: one errored test case.
pub fn junit_unusable(reason: &Unusable) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"smolbench-gate\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testsuite name=\"smolbench-gate\" tests=\"1\" failures=\"0\" errors=\"1\">\n<testcase classname=\"gate\" name=\"inputs\"><error message=\"{}\" type=\"unusable-input\"/></testcase>\n</testsuite>\n</testsuites>\n",
        escape(&reason.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::{markdown, Check};

    fn check(name: &str, outcome: Outcome, detail: &str) -> Check {
        Check {
            task: "t".into(),
            name: name.into(),
            outcome,
            baseline: "1".into(),
            candidate: "0".into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn junit_escapes_and_counts_and_markdown_leads_with_the_verdict() {
        let report = GateReport {
            baseline: "a<b".into(),
            candidate: "c".into(),
            checks: vec![
                check("accuracy", Outcome::Fail, "x & y"),
                check("latency", Outcome::Skip, "n"),
                check("e2e latency", Outcome::Inconclusive, "about 40 paired samples would decide"),
            ],
            left_out: vec![("ai2d".into(), "only in the baseline")],
            warnings: vec![],
        };
        let x = junit(&report);
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"2\""), "{x}");
        assert!(x.contains("a&lt;b") && x.contains("x &amp; y"));
        assert!(x.contains("<skipped message=\"inconclusive: baseline 1, candidate 0: about 40"), "{x}");
        let md = markdown(&report);
        assert!(md.starts_with("## SmolBench gate: REGRESSION"), "{md}");
        assert!(md.contains("| t | e2e latency | inconclusive |"), "{md}");
        assert!(md.contains("left out: `ai2d` (only in the baseline)"), "{md}");
        assert!(md.contains("3 checks: 0 pass, 1 regression, 1 inconclusive"), "{md}");
    }
}
