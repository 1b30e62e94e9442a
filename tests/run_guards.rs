//! `bench run` refusing to mix: a resume with an option that changes records, a data set read from
//! the wrong folder; and a hung engine caught by the per-sample deadline. Real binary, real engine
//! on the tiny model, parquet on disk.

mod support;

use std::process::Output;

use smolbench_core::SampleStatus;
use support::{read_records, stderr, Sandbox};

fn single_error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", stderr(out));
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    lines[0].to_string()
}

#[test]
fn resume_refuses_every_option_that_changes_records_by_name() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let run = run_dir.to_str().unwrap();
    let out = sb.run_tiny("docvqa", &["--limit", "2", "--out", run]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (extra, option) in [
        (&["--encoder-cache", "on"][..], "--encoder-cache"),
        (&["--metric-profile", "vlmevalkit"][..], "--metric-profile"),
        (&["--encoder-cache", "on", "--metric-profile", "vlmevalkit"][..], "--metric-profile"),
        (&["--prompt-profile", "vlmevalkit-smolvlm"][..], "--prompt-profile"),
        (&["--image-splitting", "on"][..], "--image-splitting"),
        (&["--limit", "3"][..], "--limit"),
    ] {
        let limit: &[&str] = if extra.contains(&"--limit") { &[] } else { &["--limit", "2"] };
        let out = sb.run_tiny("docvqa", &[&["--resume", run][..], limit, extra].concat());
        let line = single_error_line(&out);
        assert!(line.contains("cannot resume") && line.contains(&format!("{option} (")), "{extra:?}: {line}");
    }
    // Nothing was appended by the refused attempts; the same arguments resume.
    assert_eq!(read_records(&run_dir).len(), 2);
    let out = sb.run_tiny("docvqa", &["--limit", "2", "--resume", run]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read_records(&run_dir).len(), 2);
}

#[test]
fn data_dir_never_falls_back_to_the_folder_itself() {
    let sb = Sandbox::new();
    let chartqa = smolbench_tasks::builtin_task("chartqa").unwrap().def().dataset.repo_id.clone();
    let docvqa_repo = smolbench_tasks::builtin_task("docvqa").unwrap().def().dataset.repo_id.clone();
    let ai2d_repo = smolbench_tasks::builtin_task("ai2d").unwrap().def().dataset.repo_id.clone();
    // A folder that is ChartQA's own folder (data/test-*.parquet): AI2D and OCRBench, whose split
    // is also `test`, once read its parquet; now they are missing, each naming its folder.
    let flat = sb.path("flat");
    smolbench_datasets::fixtures::write_chartqa_fixture(&flat, 4, 7).unwrap();
    let flat_arg = flat.to_str().unwrap();
    let out = sb.bench(&["run", "--task", "ai2d", "--task", "ocrbench", "--model", "tiny", "--data-dir", flat_arg]);
    let line = single_error_line(&out);
    let expected = format!("{}/", flat.join(&ai2d_repo).display());
    assert!(line.contains(&expected), "{line}");
    assert!(line.contains("and 1 other task"), "{line}");
    assert!(line.len() < 400, "{} characters: {line}", line.len());

    // The layout done right: DocVQA runs, ChartQA is skipped with its folder named.
    let data = sb.path("data");
    smolbench_datasets::fixtures::write_docvqa_fixture(&data.join(&docvqa_repo), 4, 7).unwrap();
    let run_dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--task",
        "docvqa",
        "--task",
        "chartqa",
        "--model",
        "tiny",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let skipped = stdout.lines().find(|l| l.starts_with("skipped chartqa")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(skipped.contains(&format!("{}/", data.join(&chartqa).display())), "{skipped}");
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.task == "docvqa" && r.status == SampleStatus::Ok), "{records:?}");
}

#[test]
fn a_hung_engine_fails_its_sample_is_restarted_and_the_run_goes_on() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb
        .command(&["run", "--task", "docvqa", "--model", "tiny", "--limit", "4", "--sample-timeout", "2"])
        .args(["--out", run_dir.to_str().unwrap()])
        .env(smolbench_runners::TEST_HANG_ENV, "2")
        .output()
        .unwrap();
    assert!(out.status.success(), "the run must survive the hang: {}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 4);
    for r in &records {
        if r.index == 1 {
            assert_eq!(r.status, SampleStatus::Failed);
            let error = r.error.as_deref().unwrap();
            assert!(error.contains("hung") && error.contains("--sample-timeout"), "{error}");
            assert!(error.contains("restart 1"), "{error}");
        } else {
            assert_eq!(r.status, SampleStatus::Ok, "sample {}: {:?}", r.index, r.error);
        }
    }
}
