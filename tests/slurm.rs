//! The job array `bench plan --emit slurm` writes, run by a real Slurm: a one-node cluster of
//! Debian's daemons started for the test (see `support/slurm_cluster.rs`), the script and its
//! merge submitted as the script's header says, the merged run compared with a single-process
//! one; then an array task cancelled midway, resubmitted alone, and merged again.
//!
//! Where Slurm is not installed or its daemons cannot start (not root), the test says so on
//! standard error and ends without running; with `SMOLBENCH_REQUIRE_SLURM=1` (CI) that is a
//! failure instead.

#[path = "support/slurm_cluster.rs"]
#[allow(dead_code)]
mod slurm_cluster;
mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use slurm_cluster::{log_tail, Cluster, Unavailable, PARTITION};
use smolbench_core::{SampleRecord, SampleStatus};
use support::{read_records, stderr, Sandbox};

/// The run every shard, and the single process, runs: 16 samples on the tiny model.
const RUN_ARGS: [&str; 8] = ["--task", "docvqa", "--task", "ai2d", "--model", "tiny", "--limit", "8"];
const SAMPLES: usize = 16;
const SHARDS: usize = 3;
/// How long a job may take to end, on a machine that may be busy compiling.
const JOB_LIMIT: Duration = Duration::from_secs(600);

/// Says loudly that the test did not run, or fails where CI requires Slurm.
fn skip(why: &str) {
    if std::env::var("SMOLBENCH_REQUIRE_SLURM").as_deref() == Ok("1") {
        panic!("SMOLBENCH_REQUIRE_SLURM=1 but no Slurm cluster could be started: {why}");
    }
    // Straight to the process's standard error: the test harness captures `eprintln!`.
    let _ = writeln!(std::io::stderr(), "\nSKIPPED the Slurm test (it did not run): {why}\n");
}

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "bench failed: {}\n{}", stderr(out), String::from_utf8_lossy(&out.stdout));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The fields of a record that carry its result (timings and memory differ between runs).
type Outcome = (String, usize, String, SampleStatus, Option<String>, Option<String>, Option<f64>);

fn result_of(r: &SampleRecord) -> Outcome {
    (r.task.clone(), r.index, r.sample_id.clone(), r.status, r.prediction.clone(), r.extracted.clone(), r.score)
}

/// The score-bearing fields of each task of a summary.json.
fn scores_of(summary: &Value) -> Vec<Value> {
    let keys = ["task", "metric", "n_samples", "n_scored", "n_failed", "score", "score_ci95", "breakdowns"];
    summary["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Value::Object(keys.iter().map(|k| (k.to_string(), t[*k].clone())).collect()))
        .collect()
}

/// The merged run equals the single-process one, with every sample exactly once.
fn assert_merge_equals(merged: &Path, single: &Path) {
    let records = read_records(merged);
    let mut seen = BTreeMap::new();
    for r in &records {
        *seen.entry((r.task.clone(), r.index)).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), SAMPLES, "every sample is in the merge: {seen:?}");
    assert!(seen.values().all(|&n| n == 1), "and each once: {seen:?}");
    let single_records: Vec<Outcome> = read_records(single).iter().map(result_of).collect();
    assert_eq!(records.iter().map(result_of).collect::<Vec<_>>(), single_records, "predictions and scores");
    assert_eq!(
        scores_of(&read_json(&merged.join("summary.json"))),
        scores_of(&read_json(&single.join("summary.json"))),
        "the merged summary has the single-process scores"
    );
    let report = read_json(&merged.join("merge.json"));
    assert_eq!(report["shard_count"], SHARDS);
    assert_eq!(report["misplaced"], 0);
    assert_eq!(report["duplicates"], serde_json::json!({}), "{report}");
    assert_eq!(report["missing"], serde_json::json!({}), "{report}");
}

/// Every `*.out` log under `dir`, for failure messages.
fn logs(dir: &Path) -> String {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    files.iter().map(|f| log_tail(f, 15)).collect::<Vec<_>>().join("\n")
}

/// `bench plan --emit slurm` for the run `out`, with the options a Slurm user sets.
fn plan(sb: &Sandbox, out: &str, script: &Path) {
    let mut args =
        vec!["plan", "--emit", "slurm", "--shards", "3", "--out", out, "--bench", env!("CARGO_BIN_EXE_bench")];
    args.extend(["--partition", PARTITION, "--time", "15", "--mem", "1G", "--cpus-per-task", "1"]);
    // The tasks get no environment from the submitting shell: the script carries SMOLBENCH_HOME
    // (where the fixtures are) itself.
    args.extend(["--export", "NONE", "--output", "logs/%x-%A_%a.out"]);
    args.extend(["--write", script.to_str().unwrap(), "--"]);
    args.extend(RUN_ARGS);
    ok(&sb.bench(&args));
}

/// The submission commands of the script's header (`jobid=$(sbatch ...)` and the merge's
/// `sbatch --dependency=afterok:$jobid ...`), as a user copies them.
fn header_commands(script: &Path) -> (String, String) {
    let text = std::fs::read_to_string(script).unwrap();
    let commands: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("#   ")).filter(|l| l.contains("sbatch")).collect();
    assert_eq!(commands.len(), 2, "{text}");
    let submit = commands[0].replace("THIS_FILE", &script.display().to_string());
    assert_eq!(submit, format!("jobid=$(sbatch --parsable {})", script.display()));
    (submit, commands[1].to_string())
}

/// Runs shell `lines` in the sandbox, with the cluster's configuration; returns standard output.
fn shell(cluster: &Cluster, sb: &Sandbox, lines: &str) -> String {
    let out = cluster
        .command("bash")
        .args(["-c", &format!("set -euo pipefail\n{lines}")])
        .current_dir(sb.path(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{lines}\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The job id in sbatch's "Submitted batch job N".
fn submitted_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Submitted batch job "))
        .unwrap_or_else(|| panic!("no job id in {stdout}"))
        .trim()
        .to_string()
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn the_emitted_job_array_runs_on_slurm_and_a_cancelled_task_resubmitted_merges_the_same() {
    let test_started = Instant::now();
    let sb = Sandbox::new();
    let cluster = match Cluster::start(&sb.path("slurm")) {
        Ok(cluster) => cluster,
        Err(Unavailable(why)) => return skip(&why),
    };
    eprintln!("slurm: cluster up (munged, slurmctld, slurmd; node idle) in {:.2} s", cluster.started_in.as_secs_f64());
    std::fs::create_dir_all(sb.path("logs")).unwrap();
    let log_dir = sb.path("logs");
    let done = |state: &str, _: &str| !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED"].contains(&state);

    // The fixtures in the SMOLBENCH_HOME the plan carries to the tasks, and the reference run.
    let phase = Instant::now();
    ok(&sb.bench(&["fixtures"]));
    let single = sb.path("single");
    ok(&sb.bench(&[&["run"], &RUN_ARGS[..], &["--out", single.to_str().unwrap()]].concat()));
    eprintln!("slurm: fixtures and the single-process run in {:.1} s", phase.elapsed().as_secs_f64());

    // 1. The script and its merge, submitted as the header says.
    let phase = Instant::now();
    let script = sb.path("r1.sbatch");
    plan(&sb, "runs/r1", &script);
    let (submit, merge) = header_commands(&script);
    let stdout = shell(&cluster, &sb, &format!("{submit}\necho \"array $jobid\"\n{merge}"));
    let array = stdout.lines().find_map(|l| l.strip_prefix("array ")).unwrap().trim().to_string();
    let merge_job = submitted_id(&stdout);
    let state = cluster.wait_for_job(&merge_job, JOB_LIMIT, done, || logs(&log_dir));
    assert_eq!(state, "COMPLETED", "the merge job\n{}", logs(&log_dir));
    for task in 0..SHARDS {
        let (state, _) = cluster.job_state(&format!("{array}_{task}")).expect("Slurm remembers the task");
        assert_eq!(state, "COMPLETED", "array task {task}");
        let log = log_dir.join(format!("smolbench-r1-{array}_{task}.out"));
        assert!(log.is_file(), "the task logs where --output says: {}", logs(&log_dir));
    }
    let part_sizes: Vec<usize> =
        (0..SHARDS).map(|i| lines_in(&sb.path(&format!("runs/r1/parts/shard-{i}-of-3/samples.jsonl")))).collect();
    assert!(part_sizes.iter().all(|&n| n > 0), "every task ran a share: {part_sizes:?}");
    assert_merge_equals(&sb.path("runs/r1/merged"), &single);
    eprintln!("slurm: 3 array tasks and the merge in {:.1} s", phase.elapsed().as_secs_f64());

    // 2. The task with the largest share cancelled midway (samples slowed so it is caught
    // running), then resubmitted alone.
    let victim = (0..SHARDS).max_by_key(|&i| part_sizes[i]).unwrap();
    assert!(part_sizes[victim] >= 3, "a share large enough to cut: {part_sizes:?}");
    let phase = Instant::now();
    let script = sb.path("r2.sbatch");
    plan(&sb, "runs/r2", &script);
    let (_, merge) = header_commands(&script);
    let slowed = "--export=ALL,SMOLBENCH_TEST_SAMPLE_DELAY_MS=700";
    let array = cluster.must("sbatch", &["--parsable", slowed, script.to_str().unwrap()]).trim().to_string();
    let merge_job = submitted_id(&shell(&cluster, &sb, &format!("jobid={array}\n{merge}")));
    let part = sb.path(&format!("runs/r2/parts/shard-{victim}-of-3"));
    let deadline = Instant::now() + JOB_LIMIT;
    while lines_in(&part.join("samples.jsonl")) == 0 {
        let (state, _) = cluster.job_state(&format!("{array}_{victim}")).unwrap();
        assert!(["PENDING", "RUNNING"].contains(&state.as_str()), "task {victim} is {state} before recording a sample");
        assert!(Instant::now() < deadline, "task {victim} recorded nothing\n{}", logs(&log_dir));
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.must("scancel", &[&format!("{array}_{victim}")]);
    let state = cluster.wait_for_job(&format!("{array}_{victim}"), JOB_LIMIT, done, || logs(&log_dir));
    assert_eq!(state, "CANCELLED");
    let recorded = lines_in(&part.join("samples.jsonl"));
    assert!(
        recorded < part_sizes[victim] && !part.join("summary.json").exists(),
        "task {victim} was cancelled midway: {recorded} of {} samples",
        part_sizes[victim]
    );
    // Slurm never starts a merge that depends on a cancelled task; it is cancelled and submitted
    // again after the resubmitted task, as the script's header says.
    let reason = |_: &str, reason: &str| reason == "DependencyNeverSatisfied";
    cluster.wait_for_job(&merge_job, JOB_LIMIT, reason, || logs(&log_dir));
    cluster.must("scancel", &[&merge_job]);
    let again = cluster
        .must("sbatch", &["--parsable", &format!("--array={victim}"), script.to_str().unwrap()])
        .trim()
        .to_string();
    let merge_job = submitted_id(&shell(&cluster, &sb, &format!("jobid={again}\n{merge}")));
    let state = cluster.wait_for_job(&merge_job, JOB_LIMIT, done, || logs(&log_dir));
    assert_eq!(state, "COMPLETED", "the second merge job\n{}", logs(&log_dir));
    for task in (0..SHARDS).filter(|&t| t != victim) {
        assert_eq!(cluster.job_state(&format!("{array}_{task}")).unwrap().0, "COMPLETED", "array task {task}");
    }
    let resumed_log = std::fs::read_to_string(log_dir.join(format!("smolbench-r2-{again}_{victim}.out"))).unwrap();
    let resumed: usize = resumed_log
        .lines()
        .find_map(|l| l.split(": ").nth(1)?.strip_suffix(" samples already scored")?.parse().ok())
        .unwrap_or_else(|| panic!("the resubmitted task says it resumed: {resumed_log}"));
    assert!((1..=recorded).contains(&resumed), "it kept the {resumed} samples scored before the cancel");
    // The part has one scored record per sample: nothing computed twice, the cut line dropped.
    let mut scored = BTreeMap::new();
    for r in read_records(&part).iter().filter(|r| r.status == SampleStatus::Ok) {
        *scored.entry((r.task.clone(), r.index)).or_insert(0) += 1;
    }
    assert_eq!(scored.len(), part_sizes[victim]);
    assert!(scored.values().all(|&n| n == 1), "{scored:?}");
    assert_merge_equals(&sb.path("runs/r2/merged"), &single);
    eprintln!(
        "slurm: task {victim} cancelled after {recorded} of {} samples, resubmitted (resumed from {resumed}), merged in {:.1} s",
        part_sizes[victim],
        phase.elapsed().as_secs_f64()
    );

    let phase = Instant::now();
    drop(cluster);
    eprintln!("slurm: cluster stopped in {:.1} s", phase.elapsed().as_secs_f64());
    eprintln!("slurm: whole test {:.1} s", test_started.elapsed().as_secs_f64());
}
