//! End-to-end tests of sharding, merging and resuming: the real `bench` binary on the tiny model,
//! each shard or worker in its own process.
//!
//! Processes that run at the same time get their own `SMOLBENCH_HOME` (as separate machines
//! would) and share the generated fixtures through `--fixtures`, which the first, sequential run
//! of each test writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use smolbench_core::{SampleRecord, SampleStatus};

struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox { root: tempfile::tempdir().expect("temp dir") }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// `bench ARGS` as worker `worker` (its own SMOLBENCH_HOME), with the shared fixtures.
    fn command(&self, worker: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bench"));
        cmd.args(args)
            .env("SMOLBENCH_HOME", self.path(&format!("home-{worker}")))
            .env("HF_HOME", self.path("hf"))
            .env_remove("HF_HUB_CACHE")
            .env_remove("SMOLBENCH_TEST_SAMPLE_DELAY_MS")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .env("RAYON_NUM_THREADS", "1")
            .current_dir(self.root.path());
        cmd
    }

    fn bench(&self, worker: &str, args: &[&str]) -> Output {
        self.command(worker, args).output().expect("bench runs")
    }

    /// `bench run` of 8 samples each of DocVQA and AI2D with the shared fixtures, plus `extra`
    /// (which may set another `--limit`).
    fn run_args(&self, extra: &[&str]) -> Vec<String> {
        let fixtures = self.path("fixtures");
        let mut args: Vec<String> =
            ["run", "--task", "docvqa", "--task", "ai2d", "--model", "tiny"].iter().map(|s| s.to_string()).collect();
        if !extra.contains(&"--limit") {
            args.extend(["--limit".to_string(), "8".to_string()]);
        }
        args.extend(["--fixtures".to_string(), fixtures.display().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn spawn_run(&self, worker: &str, extra: &[&str], delay_ms: Option<u64>) -> Child {
        let args = self.run_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = self.command(worker, &args);
        if let Some(ms) = delay_ms {
            cmd.env("SMOLBENCH_TEST_SAMPLE_DELAY_MS", ms.to_string());
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("bench starts")
    }

    fn run(&self, worker: &str, extra: &[&str]) -> Output {
        self.spawn_run(worker, extra, None).wait_with_output().unwrap()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: &Output) {
    assert!(out.status.success(), "bench failed: {}\n{}", stderr(out), String::from_utf8_lossy(&out.stdout));
}

fn error_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    lines[0].to_string()
}

fn read_lines(dir: &Path) -> Vec<SampleRecord> {
    let text = std::fs::read_to_string(dir.join("samples.jsonl")).expect("samples.jsonl exists");
    text.lines().map(|l| serde_json::from_str(l).expect("every line is a complete record")).collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The fields of a record that carry its result (timings and memory differ between runs).
fn result_of(r: &SampleRecord) -> (String, usize, String, SampleStatus, Option<String>, Option<String>, Option<f64>) {
    (r.task.clone(), r.index, r.sample_id.clone(), r.status, r.prediction.clone(), r.extracted.clone(), r.score)
}

/// The score-bearing fields of each task of a summary.json.
fn scores_of(summary: &Value) -> Vec<Value> {
    summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut keep = serde_json::Map::new();
            for key in ["task", "metric", "n_samples", "n_scored", "n_failed", "score", "score_ci95", "breakdowns"] {
                keep.insert(key.to_string(), t[key].clone());
            }
            Value::Object(keep)
        })
        .collect()
}

/// Runs the reference single-process run into `single` (writing the fixtures on the way).
fn single_process_run(sb: &Sandbox) -> PathBuf {
    let fixtures = sb.path("fixtures");
    ok(&sb.bench("ref", &["fixtures", "--out", fixtures.to_str().unwrap()]));
    let single = sb.path("single");
    ok(&sb.run("ref", &["--out", single.to_str().unwrap()]));
    assert_eq!(read_lines(&single).len(), 16);
    single
}

fn assert_same_result(merged: &Path, single: &Path) {
    let merged_records: Vec<_> = read_lines(merged).iter().map(result_of).collect();
    let single_records: Vec<_> = read_lines(single).iter().map(result_of).collect();
    assert_eq!(merged_records, single_records, "the merged records are the single-process records, in its order");
    assert_eq!(
        scores_of(&read_json(&merged.join("summary.json"))),
        scores_of(&read_json(&single.join("summary.json"))),
        "the merged summary has the single-process scores, counts and intervals"
    );
}

#[test]
fn three_shards_in_separate_processes_merge_to_the_single_process_result() {
    let sb = Sandbox::new();
    let single = single_process_run(&sb);
    let sharded = sb.path("sharded");
    let children: Vec<Child> = (0..3)
        .map(|i| {
            sb.spawn_run(&format!("w{i}"), &["--out", sharded.to_str().unwrap(), "--shard", &format!("{i}/3")], None)
        })
        .collect();
    let mut per_shard = Vec::new();
    for child in children {
        ok(&child.wait_with_output().unwrap());
    }
    for i in 0..3 {
        let part = sharded.join(format!("parts/shard-{i}-of-3"));
        let part_info = read_json(&part.join("part.json"));
        assert_eq!(part_info["shard"]["index"], i);
        let records = read_lines(&part);
        assert!(!records.is_empty(), "shard {i} got no samples");
        per_shard.push(records.len());
    }
    assert_eq!(per_shard.iter().sum::<usize>(), 16, "{per_shard:?}");

    let merged = sb.path("merged");
    let out = sb.bench("ref", &["merge", sharded.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("merged 3 parts (16 samples)"), "{stdout}");
    assert!(!stdout.contains("missing") && !stdout.contains("duplicated"), "{stdout}");
    assert_same_result(&merged, &single);
    let report = read_json(&merged.join("merge.json"));
    assert_eq!(report["shard_count"], 3);
    assert_eq!(report["misplaced"], 0);

    // The merged directory is an ordinary run: rescoring it changes nothing.
    let out = sb.bench("ref", &["rescore", merged.to_str().unwrap()]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 of 16 samples scored differently"));
}

#[test]
fn merge_refuses_different_configs_and_reports_missing_and_duplicated_samples() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    ok(&sb.bench("ref", &["fixtures", "--out", fixtures.to_str().unwrap()]));
    let run = sb.path("run");
    let run_s = run.to_str().unwrap();
    ok(&sb.run("a", &["--out", run_s, "--shard", "0/2"]));

    // Only one of two shards: the merge refuses unless told, then reports what is missing.
    let out_dir = sb.path("merged-partial");
    let line = error_line(&sb.bench("a", &["merge", run_s, "--out", out_dir.to_str().unwrap()]));
    assert!(line.contains("selected samples are in no part"), "{line}");
    assert!(line.contains("absent shards: 1/2"), "{line}");
    assert!(!out_dir.exists(), "nothing is written when the merge is refused");
    let part0 = run.join("parts/shard-0-of-2");
    let copy = sb.path("copy-of-part0");
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["run.json", "part.json", "samples.jsonl"] {
        std::fs::copy(part0.join(file), copy.join(file)).unwrap();
    }
    let out =
        sb.bench("a", &["merge", run_s, copy.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "--allow-missing"]);
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = read_json(&out_dir.join("merge.json"));
    let shard0 = read_lines(&part0);
    let by_task = |task: &str| shard0.iter().filter(|r| r.task == task).count();
    for task in ["docvqa", "ai2d"] {
        assert_eq!(report["missing"][task]["samples"], 8 - by_task(task), "{report}");
        assert_eq!(report["duplicates"][task]["samples"], by_task(task), "{report}");
        assert_eq!(report["duplicates"][task]["disagreeing"], 0, "{report}");
        assert!(stdout.contains(&format!("missing: {task}: {} samples", 8 - by_task(task))), "{stdout}");
    }
    assert_eq!(read_lines(&out_dir).len(), shard0.len(), "a duplicated sample is kept once");

    // A shard run with another --limit is another config: the merge names the field.
    ok(&sb.run("b", &["--out", run_s, "--shard", "1/2", "--limit", "5"]));
    let line = error_line(&sb.bench("a", &["merge", run_s, "--out", sb.path("m2").to_str().unwrap()]));
    assert!(line.contains("ran different configs (limit (8 vs 5))"), "{line}");

    // Resuming a part with other arguments is refused the same way.
    let line = error_line(&sb.run("a", &["--resume", run_s, "--shard", "0/2", "--limit", "6"]));
    assert!(line.contains("cannot resume") && line.contains("limit (8 vs 6)"), "{line}");
}

fn wait_for_lines(path: &Path, at_least: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let lines = std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0);
        if lines >= at_least {
            return;
        }
        assert!(Instant::now() < deadline, "the run never recorded {at_least} samples");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_shard_resumes_and_the_merge_equals_the_single_process_result() {
    let sb = Sandbox::new();
    let single = single_process_run(&sb);
    let run = sb.path("run");
    let run_s = run.to_str().unwrap();
    let part = run.join("parts/shard-1-of-2");

    let mut child = sb.spawn_run("w1", &["--out", run_s, "--shard", "1/2"], Some(300));
    wait_for_lines(&part.join("samples.jsonl"), 2, &mut child);
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    let before = read_lines(&part);
    assert!(!part.join("summary.json").exists());

    // Simulate what else a crash leaves: a line cut short mid-write, and a sample whose attempt
    // failed (turned from ok into failed here). The resumed run must cut the torn line, retry
    // the failed sample and keep both lines of it.
    let mut lines: Vec<SampleRecord> = before.clone();
    let failed_key = (lines[0].task.clone(), lines[0].index);
    lines[0].status = SampleStatus::Failed;
    lines[0].prediction = None;
    lines[0].extracted = None;
    lines[0].score = None;
    lines[0].error = Some("simulated engine error".into());
    let mut text: String = lines.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    text.push_str(r#"{"task":"docvqa","sample_id":"#);
    std::fs::write(part.join("samples.jsonl"), text).unwrap();

    let out = sb.run("w1", &["--resume", run_s, "--shard", "1/2"]);
    ok(&out);
    assert!(stderr(&out).contains(&format!(
        "resuming {}: {} samples already scored",
        part.display(),
        before.len() - 1
    )));
    let after = read_lines(&part); // every line parses: the torn one is gone
    let old: Vec<_> = before[1..].iter().map(result_of).collect();
    assert_eq!(after[1..before.len()].iter().map(result_of).collect::<Vec<_>>(), old, "recorded lines are kept");
    assert_eq!(after[0].status, SampleStatus::Failed, "the failed attempt stays in the history");
    let retried: Vec<&SampleRecord> =
        after.iter().filter(|r| (r.task.clone(), r.index) == failed_key && r.status == SampleStatus::Ok).collect();
    assert_eq!(retried.len(), 1, "the failed sample was run again");
    let mut seen = BTreeMap::new();
    for r in after.iter().filter(|r| r.status == SampleStatus::Ok) {
        *seen.entry((r.task.clone(), r.index)).or_insert(0) += 1;
    }
    assert!(seen.values().all(|&n| n == 1), "each sample has one scored record: {seen:?}");
    let summary = read_json(&part.join("summary.json"));
    let n: u64 = summary["tasks"].as_array().unwrap().iter().map(|t| t["n_samples"].as_u64().unwrap()).sum();
    assert_eq!(n as usize, seen.len(), "the summary counts each sample once");
    assert_eq!(summary["tasks"].as_array().unwrap().iter().map(|t| t["n_failed"].as_u64().unwrap()).sum::<u64>(), 0);

    // Rescoring reads the newest record of each sample, not every line.
    let out = sb.bench("w1", &["rescore", part.to_str().unwrap()]);
    ok(&out);
    let expected = format!("0 of {} samples scored differently", seen.len());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&expected), "{}", String::from_utf8_lossy(&out.stdout));

    // Resuming a finished part runs nothing.
    let out = sb.run("w1", &["--resume", run_s, "--shard", "1/2"]);
    ok(&out);
    assert_eq!(read_lines(&part).len(), after.len());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 samples ran now"));

    // The other shard through --resume on a fresh part (what a job script runs), then merge.
    ok(&sb.run("w0", &["--resume", run_s, "--shard", "0/2"]));
    let merged = sb.path("merged");
    let out = sb.bench("ref", &["merge", run_s, "--out", merged.to_str().unwrap()]);
    ok(&out);
    assert_eq!(read_json(&merged.join("merge.json"))["retried"], 1);
    assert_same_result(&merged, &single);
}

#[test]
fn concurrent_writers_record_each_sample_once() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    ok(&sb.bench("ref", &["fixtures", "--out", fixtures.to_str().unwrap()]));
    let run = sb.path("run");
    let run_s = run.to_str().unwrap();
    // A first writer starts the run; two resumers join it while it is still going.
    let mut first = sb.spawn_run("a", &["--out", run_s], Some(150));
    wait_for_lines(&run.join("samples.jsonl"), 1, &mut first);
    let resumers: Vec<Child> = ["b", "c"].iter().map(|w| sb.spawn_run(w, &["--resume", run_s], Some(150))).collect();
    let mut outputs = vec![first.wait_with_output().unwrap()];
    outputs.extend(resumers.into_iter().map(|c| c.wait_with_output().unwrap()));
    let mut ran = 0;
    for out in &outputs {
        ok(out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.contains("samples ran now")).expect("each writer says what it ran");
        ran += line.split(' ').next().unwrap().parse::<usize>().unwrap();
    }
    // Claims: no sample was computed by two writers (the store would drop the second record).
    assert_eq!(ran, 16, "the writers shared the work without overlap");
    let records = read_lines(&run);
    let mut seen = BTreeMap::new();
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        *seen.entry((r.task.clone(), r.index)).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 16, "every sample is recorded");
    assert_eq!(records.len(), 16, "and recorded once: {seen:?}");
}

#[test]
fn shard_auto_reads_the_scheduler_environment() {
    let sb = Sandbox::new();
    let run = sb.path("run");
    // Without a scheduler, `auto` says what it needs before any work.
    let out = sb
        .bench("a", &["run", "--task", "docvqa", "--model", "tiny", "--out", run.to_str().unwrap(), "--shard", "auto"]);
    assert!(error_line(&out).contains("SLURM_ARRAY_TASK_ID"));
    let out = sb
        .command(
            "a",
            &["run", "--task", "docvqa", "--model", "tiny", "--out", run.to_str().unwrap(), "--shard", "auto/2"],
        )
        .env("JOB_COMPLETION_INDEX", "5")
        .output()
        .unwrap();
    assert!(error_line(&out).contains("numbered 0 to 1"));
    let out = sb.bench("a", &["run", "--task", "docvqa", "--model", "tiny", "--shard", "0/2"]);
    assert!(error_line(&out).contains("--shard needs --out DIR or --resume DIR"));
    assert!(!run.exists(), "no run directory is created for bad input");
}

#[test]
fn plan_writes_a_job_array_and_an_indexed_job_for_the_run() {
    let sb = Sandbox::new();
    let script = sb.path("run.sbatch");
    let out = sb.bench(
        "a",
        &[
            "plan",
            "--emit",
            "slurm",
            "--shards",
            "3",
            "--out",
            "/shared/r1",
            "--write",
            script.to_str().unwrap(),
            "--",
            "--suite",
            "image",
            "--model",
            "256m",
        ],
    );
    ok(&out);
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("\n#SBATCH --array=0-2\n"), "{text}");
    assert!(
        text.contains(
            "\nexec bench run --suite image --model 256m --resume /shared/r1 --shard \"${SLURM_ARRAY_TASK_ID}/3\"\n"
        ),
        "{text}"
    );
    let out = sb.bench(
        "a",
        &[
            "plan",
            "--emit",
            "k8s",
            "--shards",
            "3",
            "--out",
            "/shared/r1",
            "--image",
            "smolbench:1",
            "--",
            "--suite",
            "image",
            "--model",
            "256m",
        ],
    );
    ok(&out);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(yaml.contains("\n  completionMode: \"Indexed\"\n") && yaml.contains("\n  completions: 3\n"), "{yaml}");
    assert!(
        yaml.contains(r#""--resume", "/shared/r1", "--shard", "auto/3"]"#)
            || yaml.contains(r#""--resume","/shared/r1","--shard","auto/3"]"#),
        "{yaml}"
    );
    // A run argument `bench run` would reject is refused here, before anything is written.
    let out =
        sb.bench("a", &["plan", "--emit", "slurm", "--shards", "3", "--out", "/shared/r1", "--", "--suite", "image"]);
    assert!(error_line(&out).contains("not valid for `bench run`"));
}

#[test]
fn the_emitted_job_script_and_manifest_commands_run_the_shards() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    ok(&sb.bench("ref", &["fixtures", "--out", fixtures.to_str().unwrap()]));
    let bench = env!("CARGO_BIN_EXE_bench");
    let run_args = ["--task", "docvqa", "--model", "tiny", "--limit", "6", "--fixtures", fixtures.to_str().unwrap()];

    // Slurm: the script as sbatch would run it, once per array task.
    let slurm_run = sb.path("slurm-run");
    let script = sb.path("job.sbatch");
    let mut args = vec!["plan", "--emit", "slurm", "--shards", "2", "--out", slurm_run.to_str().unwrap()];
    args.extend(["--bench", bench, "--write", script.to_str().unwrap(), "--"]);
    args.extend(run_args);
    ok(&sb.bench("ref", &args));
    for task in 0..2 {
        let out = Command::new("bash")
            .arg(&script)
            .env("SMOLBENCH_HOME", sb.path(&format!("home-s{task}")))
            .env("HF_HOME", sb.path("hf"))
            .env("RAYON_NUM_THREADS", "1")
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env_remove("JOB_COMPLETION_INDEX")
            .current_dir(sb.root.path())
            .output()
            .unwrap();
        ok(&out);
    }
    // The merge job of the script's header, as written there.
    let text = std::fs::read_to_string(&script).unwrap();
    let wrap = text.lines().find(|l| l.contains("--wrap")).unwrap();
    let merge_line = wrap.rsplit_once("--wrap ").unwrap().1;
    let out = Command::new("bash")
        .args(["-c", &format!("eval {merge_line}")])
        .env("SMOLBENCH_HOME", sb.path("home-ref"))
        .current_dir(sb.root.path())
        .output()
        .unwrap();
    ok(&out);
    let merged = slurm_run.join("merged");
    assert_eq!(read_lines(&merged).len(), 6);

    // Kubernetes: each pod's command with the index Kubernetes gives it.
    let k8s_run = sb.path("k8s-run");
    let mut args = vec!["plan", "--emit", "k8s", "--shards", "2", "--out", k8s_run.to_str().unwrap()];
    args.extend(["--bench", bench, "--image", "smolbench:test", "--"]);
    args.extend(run_args);
    let out = sb.bench("ref", &args);
    ok(&out);
    let yaml = String::from_utf8_lossy(&out.stdout);
    let command_line = yaml.lines().find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("command: ")).unwrap();
    let argv: Vec<String> = serde_json::from_str(command_line).unwrap();
    for index in 0..2 {
        let out = sb
            .command(&format!("k{index}"), &[])
            .args(&argv[1..])
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .output()
            .unwrap();
        ok(&out);
    }
    let merged_k8s = sb.path("k8s-merged");
    ok(&sb.bench("ref", &["merge", k8s_run.to_str().unwrap(), "--out", merged_k8s.to_str().unwrap()]));
    let results = |d: &Path| read_lines(d).iter().map(result_of).collect::<Vec<_>>();
    assert_eq!(results(&merged_k8s), results(&merged), "both schedulers' shards give the same run");
}
