//! A SmolVLM alias run compares like with like by default: it records the authors' prompt
//! profile (`vlmevalkit-smolvlm`), and the report marks the model card's numbers as the same
//! setting; an lmms-eval run of the same checkpoint is marked as a different setting, naming the
//! prompt profile. Real runs of the tiny checkpoint passed as `--model 256m --model-path DIR`.

mod support;

use std::path::{Path, PathBuf};

use smolbench_core::RunManifest;
use support::{stderr, Sandbox};

fn manifest(dir: &Path) -> RunManifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

/// `bench run --model 256m` on the tiny checkpoint and the synthetic DocVQA (no profile flag),
/// plus `extra`.
fn alias_run(sb: &Sandbox, data: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let dir = sb.path(name);
    let model = sb.path("fixtures/models/tiny");
    let mut args = vec![
        "run",
        "--task",
        "docvqa",
        "--model",
        "256m",
        "--model-path",
        model.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        // The tiny checkpoint's context (4,096 tokens) holds the prompt of a 512 px image
        // with the authors' 2,048-token budget, not that of the alias's 1,920 px; the longest
        // edge is not part of the compared setting.
        "--longest-edge",
        "512",
        "--limit",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = sb.bench(&args);
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));
    dir
}

fn report(sb: &Sandbox, run: &Path, name: &str) -> String {
    let site = sb.path(name);
    let out = sb.bench(&["report", run.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "bench report failed: {}", stderr(&out));
    std::fs::read_to_string(site.join("index.html")).unwrap()
}

/// The compact table's row for docvqa.
fn docvqa_row(index: &str) -> String {
    let start = index.find("<tr data-task=\"docvqa\"").expect("a docvqa row on the first screen");
    index[start..start + index[start..].find("</tr>").unwrap()].to_string()
}

#[test]
fn alias_runs_default_to_the_authors_setting_and_the_report_says_whether_settings_match() {
    let sb = Sandbox::new();
    let data = sb.fixtures();

    // No profile flag: the authors' prompts, budgets and scoring, recorded per task.
    let authors = alias_run(&sb, &data, "authors", &[]);
    let m = manifest(&authors);
    assert_eq!(m.tasks[0].prompt_profile, "vlmevalkit-smolvlm");
    assert_eq!(m.tasks[0].metric_profile, "vlmevalkit");
    assert!(m.model.image_splitting, "the alias splits images as the authors did");
    let records = support::read_records(&authors);
    assert!(records[0].prompt.starts_with("Give a short and terse answer"), "{}", records[0].prompt);

    // One flag away: lmms-eval's prompts.
    let lmms = alias_run(&sb, &data, "lmms", &["--prompt-profile", "lmms-eval"]);
    assert_eq!(manifest(&lmms).tasks[0].prompt_profile, "lmms-eval");

    // The card's DocVQA number (58.3, val, VLMEvalKit) is the same setting as the default run...
    let index = report(&sb, &authors, "site-authors");
    let row = docvqa_row(&index);
    assert!(row.contains("<b>58.3</b>"), "{row}");
    assert!(row.contains("data-verdict=\"same\""), "{row}");
    assert!(row.contains("data-diff="), "a difference is shown: {row}");
    // ...and a different one for the lmms-eval run, which names the prompt profile and shows no
    // difference.
    let index_lmms = report(&sb, &lmms, "site-lmms");
    let row = docvqa_row(&index_lmms);
    assert!(row.contains("data-verdict=\"different\""), "{row}");
    assert!(row.contains("prompt profile: published vlmevalkit-smolvlm, this run lmms-eval"), "{row}");
    assert!(!row.contains("data-diff="), "{row}");

    // What the page says about the run comes from run.json; no fixed sentence about splitting.
    for html in [&index, &index_lmms] {
        assert!(html.contains("split into"), "splitting as recorded");
        assert!(!html.contains("image splitting is off"), "a fixed sentence about splitting");
        assert!(html.contains(&format!("{}, {}", m.model.engine, m.model.dtype)));
    }
    assert!(index.contains("vlmevalkit-smolvlm (every task)"));
    assert!(index_lmms.contains("lmms-eval (every task)"));
}

#[test]
fn models_and_run_help_say_what_each_alias_defaults_to() {
    let sb = Sandbox::new();
    let out = sb.bench(&["models"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |alias: &str| text.lines().find(|l| l.starts_with(&format!("{alias} "))).unwrap().to_string();
    for alias in ["256m", "500m", "2.2b", "256m-video", "500m-video", "2.2b-video"] {
        assert!(line(alias).contains("vlmevalkit-smolvlm*"), "{}", line(alias));
    }
    assert!(line("tiny").contains("lmms-eval"), "{}", line("tiny"));
    assert!(text.contains("* the SmolVLM authors' evaluation setting"), "{text}");

    let help = sb.bench(&["run", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains(
            "for the SmolVLM and SmolVLM2 aliases, `vlmevalkit-smolvlm` where the task defines it, else `lmms-eval`"
        ),
        "{help}"
    );
}
