//! The command-line habits of `bench run`, on the real binary and the tiny model: task lists and
//! groups, the token budget override, a run config file, task folders from outside the binary
//! (`--include-path`, `bench tasks --validate`), the plain progress line without a terminal, and
//! what Ctrl-C says.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use smolbench_core::{RunManifest, SampleStatus};
use support::{read_records, stderr, Sandbox};

fn manifest(dir: &std::path::Path) -> RunManifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

#[test]
fn a_task_list_runs_each_task_with_the_budget_given_and_logs_plain_progress() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb
        .command(&[
            "run",
            "--task",
            "docvqa,chartqa",
            "--model",
            "tiny",
            "--limit",
            "2",
            "--max-new-tokens",
            "3",
            "--out",
            run_dir.to_str().unwrap(),
        ])
        .env("SMOLBENCH_PROGRESS_SECS", "0")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let manifest = manifest(&run_dir);
    let names: Vec<&str> = manifest.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["docvqa", "chartqa"]);
    for task in &manifest.tasks {
        assert_eq!(task.config["generation"]["max-new-tokens"], 3, "{}", task.name);
    }
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        assert!(r.generation.as_ref().unwrap().completion_tokens <= 3);
    }
    // Piped: a plain progress line per sample (the interval is 0 here), and no colour codes.
    assert!(err.contains("progress: 1/4 samples"), "{err}");
    assert!(err.contains("progress: 4/4 samples (100%)"), "{err}");
    assert!(err.contains("ETA"), "{err}");
    assert!(!err.contains('\u{1b}'), "escape codes in a piped log: {err:?}");
    // RUST_LOG=info is honoured: the prepare step's info lines appear.
    assert!(err.contains("prepare:"), "{err}");
}

#[test]
fn a_run_config_file_holds_options_and_the_command_line_wins() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let config = sb.path("eval.toml");
    std::fs::write(
        &config,
        format!(
            "model = \"tiny\"\ntask = [\"docvqa\"]\nlimit = 3\nmax-new-tokens = 2\nout = {:?}\n",
            run_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = sb.bench(&["run", "--config", config.to_str().unwrap(), "--limit", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest = manifest(&run_dir);
    assert_eq!(manifest.limit, Some(1), "the command line's --limit wins");
    assert_eq!(manifest.tasks[0].name, "docvqa");
    assert_eq!(manifest.tasks[0].config["generation"]["max-new-tokens"], 2);
    let command = manifest.command.join(" ");
    assert!(command.contains("--max-new-tokens 2") && command.contains("--config"), "{command}");

    std::fs::write(&config, "modle = \"tiny\"\n").unwrap();
    let out = sb.bench(&["run", "--config", config.to_str().unwrap(), "--task", "docvqa"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown key `modle`; did you mean `model`?"), "{}", stderr(&out));
}

/// A user task: DocVQA with another prompt, in its own suite, written as its differences.
const USER_TASK: &str = r#"include = "docvqa"
name = "docvqa_terse"
description = "DocVQA with a terse instruction"
suites = ["mine"]
order = 1

[prompt.lmms-eval]
template = "{question}\nOne word."
"#;

#[test]
fn task_folders_from_outside_the_binary_are_validated_listed_and_run() {
    let sb = Sandbox::new();
    let tasks = sb.path("mytasks");
    std::fs::create_dir_all(tasks.join("docvqa_terse")).unwrap();
    std::fs::write(tasks.join("docvqa_terse/task.toml"), USER_TASK).unwrap();
    let fixtures = sb.fixtures();

    let out = sb.bench(&["tasks", "--validate", tasks.to_str().unwrap(), "--data-dir", fixtures.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", stderr(&out));
    assert!(text.contains("ok    docvqa_terse:") && text.contains("made into samples"), "{text}");

    let out = sb.command(&["tasks"]).env("SMOLBENCH_INCLUDE_PATH", &tasks).output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.lines().any(|l| l.starts_with("docvqa_terse") && l.contains("mine")), "{listing}");

    let run_dir = sb.path("run");
    let out = sb.run_tiny(
        "docvqa_terse",
        &["--include-path", tasks.to_str().unwrap(), "--limit", "2", "--out", run_dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.task == "docvqa_terse" && r.prompt.ends_with("\nOne word.")), "{records:?}");
    // The recorded definition is the resolved one: DocVQA's data and metric, the new prompt.
    let task = &manifest(&run_dir).tasks[0];
    assert_eq!(task.config["scoring"]["metric"], "anls");
    assert_eq!(task.config["dataset"]["repo-id"], "lmms-lab/DocVQA");

    // A suite named only by the user's task.
    let out = sb.bench(&[
        "run",
        "--suite",
        "mine",
        "--model",
        "tiny",
        "--include-path",
        tasks.to_str().unwrap(),
        "--limit",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A broken folder fails validation with one line naming the file and key.
    std::fs::write(tasks.join("docvqa_terse/task.toml"), USER_TASK.replace("template", "tempalte")).unwrap();
    let out = sb.bench(&["tasks", "--validate", tasks.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  docvqa_terse") || stderr(&out).contains("tempalte"), "{text} {}", stderr(&out));
}

#[test]
fn ctrl_c_keeps_the_records_and_prints_the_resume_command() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let child = sb
        .command(&["run", "--task", "docvqa", "--model", "tiny", "--limit", "12", "--out", run_dir.to_str().unwrap()])
        .env("SMOLBENCH_TEST_SAMPLE_DELAY_MS", "400")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let samples = run_dir.join("samples.jsonl");
    let started = Instant::now();
    while std::fs::read_to_string(&samples).map_or(true, |s| s.lines().count() < 2) {
        assert!(started.elapsed() < Duration::from_secs(240), "no sample recorded in time");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) with a child's pid and SIGINT has no memory effects here.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    let line = err.lines().find(|l| l.starts_with("resume with: ")).unwrap_or_else(|| panic!("{err}"));
    let expected_tail = format!("--resume {}", run_dir.display());
    assert!(line.ends_with(&expected_tail) && !line.contains("--out"), "{line}");
    let kept = read_records(&run_dir).len();
    assert!((2..12).contains(&kept), "{kept}");

    // The printed command continues the run.
    let args: Vec<&str> = line.trim_start_matches("resume with: ").split(' ').skip(1).collect();
    let out = sb.bench(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("{kept} samples already scored")), "{}", stderr(&out));
    assert_eq!(read_records(&run_dir).len(), 12);
}
