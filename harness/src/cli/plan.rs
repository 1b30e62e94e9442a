//! `bench plan --emit slurm|k8s`: a job-array script or an Indexed Job manifest that runs one
//! `bench run` as N shards.
//!
//! Every shard runs `bench run <args> --resume RUN_DIR --shard I/N` (I from Slurm's
//! `SLURM_ARRAY_TASK_ID`; Kubernetes pods pass `--shard auto/N`, reading `JOB_COMPLETION_INDEX`),
//! so a requeued, resubmitted or retried task continues its part instead of starting over. The
//! Slurm script also exports `SMOLBENCH_HOME` and `HF_HUB_CACHE`, so tasks find the fixtures,
//! prepared models and data whatever environment the cluster gives them. The run arguments are checked with
//! the same parser `bench run` uses before anything is written. When all shards are done,
//! `bench merge RUN_DIR --out DIR` combines them (the Slurm script says how to submit that as a
//! dependent job).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, ValueEnum};
use serde_json::{json, Value};

use super::{Cli, Command};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// A Slurm batch script with a job array (`sbatch FILE`).
    Slurm,
    /// A Kubernetes Job with completionMode Indexed (`kubectl apply -f FILE`).
    K8s,
}

/// Arguments of `bench plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// What to write.
    #[arg(long, value_enum)]
    emit: Emit,
    /// How many shards (array tasks or completions).
    #[arg(long, value_name = "N")]
    shards: usize,
    /// The run directory all shards write to; on storage every node or pod sees.
    #[arg(long, value_name = "RUN_DIR")]
    out: PathBuf,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// The `bench` executable on the nodes (Slurm) or in the image (Kubernetes).
    #[arg(long, value_name = "PATH", default_value = "bench")]
    bench: String,
    /// The job's name [default: smolbench-<RUN_DIR's name>].
    #[arg(long, value_name = "NAME")]
    job_name: Option<String>,
    /// Slurm: the partition [default: the cluster's default partition].
    #[arg(long, value_name = "NAME")]
    partition: Option<String>,
    /// Slurm: each task's time limit, in Slurm's format (`30`, `2:00:00`, `1-00:00:00`)
    /// [default: the partition's].
    #[arg(long, value_name = "LIMIT")]
    time: Option<String>,
    /// Slurm: memory per task's node, in Slurm's format (`16G`) [default: the cluster's].
    #[arg(long, value_name = "SIZE")]
    mem: Option<String>,
    /// Slurm: CPUs per task [default: the cluster's, usually 1].
    #[arg(long, value_name = "N")]
    cpus_per_task: Option<usize>,
    /// Slurm: each array task's log, a Slurm file pattern (%x job name, %A array job id, %a task)
    /// relative to --chdir; its folder must exist. The merge job logs to `%x-%j.out` beside it.
    #[arg(long, value_name = "PATTERN", default_value = "%x-%A_%a.out")]
    output: String,
    /// Slurm: which environment variables of the submitting shell the tasks get (`ALL`, `NONE`,
    /// or `ALL,NAME=value,...`). The script sets SMOLBENCH_HOME and HF_HUB_CACHE itself.
    #[arg(long, value_name = "VARS", default_value = "ALL")]
    export: String,
    /// Slurm: the tasks' working directory, where relative paths of the run arguments resolve
    /// [default: the current directory].
    #[arg(long, value_name = "DIR")]
    chdir: Option<PathBuf>,
    /// Slurm: the SMOLBENCH_HOME the tasks use (fixtures, prepared models, caches) [default:
    /// this machine's, as `bench` resolves it].
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// Slurm: an extra `#SBATCH` option, e.g. `--constraint=a100` or `--account=eval`; repeatable.
    #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
    sbatch: Vec<String>,
    /// Kubernetes: the container image holding `bench`.
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    /// Kubernetes: pods running at once [default: all shards].
    #[arg(long, value_name = "P")]
    parallelism: Option<usize>,
    /// GPUs per shard: Slurm `--gpus-per-task`, Kubernetes `nvidia.com/gpu` limit [default: none].
    #[arg(long, visible_alias = "gpus-per-task", value_name = "N")]
    gpus: Option<usize>,
    /// Kubernetes: a PersistentVolumeClaim to mount at RUN_DIR's parent (RUN_DIR must then be
    /// absolute).
    #[arg(long, value_name = "CLAIM")]
    pvc: Option<String>,
    /// The `bench run` arguments, after `--` (without --out, --resume or --shard), e.g.
    /// `-- --suite image --model 256m --data-dir /data/hf`.
    #[arg(last = true, required = true, value_name = "RUN_ARGS")]
    run_args: Vec<String>,
}

/// The `bench run` command line of every shard, checked by `bench run`'s own parser.
pub fn shard_command(bench: &str, run_args: &[String], out: &Path, shard: &str) -> Result<Vec<String>> {
    for arg in run_args {
        let flag = arg.split('=').next().unwrap_or(arg);
        if ["--out", "--resume", "--shard"].contains(&flag) {
            bail!("leave {flag} out of the run arguments: bench plan sets --resume RUN_DIR and --shard for each shard");
        }
    }
    let mut argv = vec![bench.to_string(), "run".to_string()];
    argv.extend(run_args.iter().cloned());
    argv.extend(["--resume".to_string(), out.display().to_string(), "--shard".to_string(), shard.to_string()]);
    match Cli::try_parse_from(&argv) {
        Ok(Cli { command: Command::Run(_), .. }) => Ok(argv),
        Ok(_) => bail!("the run arguments do not make a `bench run` command"),
        Err(e) => {
            // clap's message without its usage and help hints, on one line.
            let message = e.to_string();
            let lines: Vec<&str> = message
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            bail!("the run arguments are not valid for `bench run`: {}", lines.join(" ").trim_start_matches("error: "))
        }
    }
}

/// `word` quoted for a POSIX shell where it needs to be.
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

/// A Kubernetes object name from `text`: lower-case letters, digits and `-`, at most 63 long.
fn dns_label(text: &str) -> String {
    let mut name: String =
        text.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    name.truncate(63);
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "smolbench".to_string()
    } else {
        name
    }
}

fn job_name(args: &PlanArgs) -> String {
    let base = args.out.file_name().map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());
    args.job_name.clone().unwrap_or_else(|| dns_label(&format!("smolbench-{base}")))
}

/// The command that merges the shards once all are done, as a shell line.
fn merge_command(args: &PlanArgs) -> String {
    shell_line(&[
        args.bench.clone(),
        "merge".into(),
        args.out.display().to_string(),
        "--out".into(),
        args.out.join("merged").display().to_string(),
    ])
}

/// `path` made absolute against the current directory (not resolving links).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("making {} absolute", path.display()))
}

/// The `#SBATCH` options of the array, in the order they are written.
fn sbatch_options(args: &PlanArgs, chdir: &Path) -> Vec<String> {
    let mut options = vec![
        format!("--job-name={}", shell_quote(&job_name(args))),
        format!("--array=0-{}", args.shards - 1),
        format!("--chdir={}", shell_quote(&chdir.display().to_string())),
        format!("--output={}", shell_quote(&args.output)),
        format!("--export={}", shell_quote(&args.export)),
    ];
    let optional = [
        ("partition", args.partition.clone()),
        ("time", args.time.clone()),
        ("mem", args.mem.clone()),
        ("cpus-per-task", args.cpus_per_task.map(|n| n.to_string())),
        ("gpus-per-task", args.gpus.map(|n| n.to_string())),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            options.push(format!("--{name}={}", shell_quote(&value)));
        }
    }
    options.extend(args.sbatch.iter().cloned());
    options
}

/// The `sbatch` command line that submits the merge once array job `$jobid` has succeeded.
fn slurm_merge_submission(args: &PlanArgs, chdir: &Path) -> String {
    let log = match args.output.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/%x-%j.out"),
        None => "%x-%j.out".to_string(),
    };
    let mut words = vec![
        "sbatch".to_string(),
        "--dependency=afterok:$jobid".to_string(),
        format!("--job-name={}", shell_quote(&format!("{}-merge", job_name(args)))),
        format!("--chdir={}", shell_quote(&chdir.display().to_string())),
        format!("--output={}", shell_quote(&log)),
        format!("--export={}", shell_quote(&args.export)),
    ];
    if let Some(partition) = &args.partition {
        words.push(format!("--partition={}", shell_quote(partition)));
    }
    if let Some(time) = &args.time {
        words.push(format!("--time={}", shell_quote(time)));
    }
    words.push("--wrap".to_string());
    words.push(shell_quote(&merge_command(args)));
    words.join(" ")
}

/// The Slurm batch script.
///
/// Array task I runs shard `I/N` with I taken from `SLURM_ARRAY_TASK_ID` as is (not `--shard
/// auto`, which counts from the submitted range): a task resubmitted alone with
/// `sbatch --array=I` is then still shard I of N.
pub fn slurm_script(args: &PlanArgs) -> Result<String> {
    let argv = shard_command(&args.bench, &args.run_args, &args.out, &format!("0/{}", args.shards))?;
    let chdir =
        absolute(&args.chdir.clone().map_or_else(std::env::current_dir, Ok).context("reading the current directory")?)?;
    let home = absolute(&args.home.clone().unwrap_or_else(smolbench_core::smolbench_home))?;
    let hub = absolute(&smolbench_core::hf_hub_dir())?;
    let shards = args.shards;
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!("# SmolBench: one run as {shards} shards in a Slurm job array (written by `bench plan`).\n"));
    s.push_str("#\n# Submit, with the merge as a job that starts when every shard has succeeded:\n");
    s.push_str("#   jobid=$(sbatch --parsable THIS_FILE)\n");
    s.push_str(&format!("#   {}\n", slurm_merge_submission(args, &chdir)));
    s.push_str("#\n# Array task I runs shard I of N. A task that failed or was cancelled continues its part when\n");
    s.push_str("# resubmitted alone (jobid=$(sbatch --parsable --array=I THIS_FILE)) or requeued: scored\n");
    s.push_str("# samples are kept, the rest are run. A merge whose dependency failed stays pending\n");
    s.push_str("# (DependencyNeverSatisfied): scancel it and submit it again as above.\n");
    for option in sbatch_options(args, &chdir) {
        s.push_str(&format!("#SBATCH {option}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str(": \"${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}\"\n");
    s.push_str("# Where bench keeps its fixtures, prepared models and caches, and the Hugging Face cache it\n");
    s.push_str("# reads data sets from, as on the machine that wrote this script.\n");
    s.push_str(&format!("export SMOLBENCH_HOME={}\n", shell_quote(&home.display().to_string())));
    s.push_str(&format!("export HF_HUB_CACHE={}\n", shell_quote(&hub.display().to_string())));
    // The checked command with its shard value (the last word) taken from the array task.
    let run = &argv[..argv.len() - 1];
    s.push_str(&format!("exec {} \"${{SLURM_ARRAY_TASK_ID}}/{shards}\"\n", shell_line(run)));
    Ok(s)
}

/// The Kubernetes Indexed Job, as a JSON value.
pub fn k8s_job(args: &PlanArgs) -> Result<Value> {
    let image = args.image.as_deref().context("--emit k8s needs --image IMAGE: the container image holding bench")?;
    let argv = shard_command(&args.bench, &args.run_args, &args.out, &format!("auto/{}", args.shards))?;
    let mut container = json!({
        "name": "bench",
        "image": image,
        "command": argv,
        "env": [{
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}},
        }],
    });
    if let Some(gpus) = args.gpus {
        container["resources"] = json!({"limits": {"nvidia.com/gpu": gpus}});
    }
    let mut pod = json!({"restartPolicy": "Never", "containers": [container]});
    if let Some(claim) = &args.pvc {
        if !args.out.is_absolute() {
            bail!("--pvc mounts the claim at RUN_DIR's parent: give an absolute --out");
        }
        let mount = args.out.parent().unwrap_or(Path::new("/")).display().to_string();
        pod["containers"][0]["volumeMounts"] = json!([{"name": "runs", "mountPath": mount}]);
        pod["volumes"] = json!([{"name": "runs", "persistentVolumeClaim": {"claimName": claim}}]);
    }
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(args), "labels": {"app.kubernetes.io/name": "smolbench"}},
        "spec": {
            "completionMode": "Indexed",
            "completions": args.shards,
            "parallelism": args.parallelism.unwrap_or(args.shards).clamp(1, args.shards),
            "backoffLimit": 3 * args.shards,
            "template": {"spec": pod},
        },
    }))
}

/// The Indexed Job as a YAML document with a comment header.
pub fn k8s_manifest(args: &PlanArgs) -> Result<String> {
    let job = k8s_job(args)?;
    let merge = merge_command(args);
    let mut s = format!(
        "# SmolBench: one run as {} shards in a Kubernetes Indexed Job (written by `bench plan`).\n",
        args.shards
    );
    s.push_str("# kubectl apply -f THIS_FILE; when the Job completes, merge the parts:\n");
    s.push_str(&format!("#   {merge}\n"));
    s.push_str("# Pod I runs shard I (JOB_COMPLETION_INDEX); a retried pod continues its part (--resume).\n");
    s.push_str("# RUN_DIR must be on storage every pod mounts (see --pvc).\n");
    write_yaml(&job, 0, &mut s);
    Ok(s)
}

/// Block-style YAML of `value`: maps and lists of maps as blocks, every string double-quoted in
/// JSON syntax (valid YAML), lists of scalars as flow sequences.
fn write_yaml(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write_yaml(v, indent + 2, out);
                    }
                    Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write_yaml(v, indent + 2, out);
                    }
                    scalar_or_flow => out.push_str(&format!("{pad}{key}: {scalar_or_flow}\n")),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let mut block = String::new();
                write_yaml(item, indent + 2, &mut block);
                // The first line of the item follows the dash.
                out.push_str(&format!("{pad}- {}", &block[indent + 2..]));
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

/// Runs `bench plan`.
pub fn run(args: PlanArgs) -> Result<ExitCode> {
    if args.shards == 0 {
        bail!("--shards must be at least 1");
    }
    let text = match args.emit {
        Emit::Slurm => slurm_script(&args)?,
        Emit::K8s => k8s_manifest(&args)?,
    };
    match &args.write {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(extra: &[&str]) -> PlanArgs {
        let mut argv = vec!["bench", "plan"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Plan(args) => args,
            other => panic!("{other:?}"),
        }
    }

    /// Splits a line written by `shell_line` back into words.
    fn shell_split(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut chars = line.chars().peekable();
        let mut in_word = false;
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_word = true;
                    for q in chars.by_ref() {
                        if q == '\'' {
                            break;
                        }
                        word.push(q);
                    }
                }
                '\\' => {
                    in_word = true;
                    word.extend(chars.next());
                }
                ' ' => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                    }
                    in_word = false;
                }
                c => {
                    in_word = true;
                    word.push(c);
                }
            }
        }
        if in_word {
            words.push(word);
        }
        words
    }

    fn run_args_of(argv: &[String]) -> super::super::run::RunArgs {
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Run(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_slurm_script_runs_every_shard_with_the_run_arguments() {
        let args = plan(&[
            "--emit",
            "slurm",
            "--shards",
            "4",
            "--out",
            "/scratch/runs/it's",
            "--chdir",
            "/scratch/work dir",
            "--home",
            "/scratch/smolbench",
            "--partition",
            "gpu",
            "--time",
            "2:00:00",
            "--mem",
            "16G",
            "--gpus-per-task",
            "1",
            "--output",
            "logs/%x-%A_%a.out",
            "--export",
            "NONE",
            "--sbatch",
            "--account=eval",
            "--",
            "--suite",
            "image",
            "--model",
            "256m",
            "--data-dir",
            "/data/hf dir",
            "--limit",
            "50",
        ]);
        let script = slurm_script(&args).unwrap();
        assert!(script.starts_with("#!/bin/bash\n"));
        let sbatch: Vec<&str> = script.lines().filter_map(|l| l.strip_prefix("#SBATCH ")).collect();
        assert_eq!(
            sbatch,
            [
                "--job-name=smolbench-it-s",
                "--array=0-3",
                "--chdir='/scratch/work dir'",
                "--output=logs/%x-%A_%a.out",
                "--export=NONE",
                "--partition=gpu",
                "--time=2:00:00",
                "--mem=16G",
                "--gpus-per-task=1",
                "--account=eval",
            ]
        );
        assert!(script.contains("\nexport SMOLBENCH_HOME=/scratch/smolbench\n"), "{script}");
        assert!(script.contains("\nexport HF_HUB_CACHE="), "{script}");
        // The exec line, with the array task's id as bash would substitute it, is shard 2 of 4.
        let exec = script.lines().find_map(|l| l.strip_prefix("exec ")).expect("an exec line");
        let argv = shell_split(&exec.replace("\"${SLURM_ARRAY_TASK_ID}/4\"", "2/4"));
        assert_eq!(argv[..2], ["bench", "run"]);
        assert!(argv.contains(&"/data/hf dir".to_string()), "{argv:?}");
        assert!(argv.contains(&"/scratch/runs/it's".to_string()), "{argv:?}");
        let parsed = format!("{:?}", run_args_of(&argv));
        assert!(parsed.contains("shard: Some(Fixed(Shard { index: 2, count: 4 }))"), "{parsed}");
        assert!(parsed.contains("limit: Some(50)"), "{parsed}");
        // The merge submission in the header carries the same placement and splits back into a
        // valid `bench merge`.
        let submit = script.lines().find(|l| l.contains("--wrap")).unwrap().trim_start_matches("#   ");
        let words = shell_split(submit);
        assert_eq!(words[..2], ["sbatch", "--dependency=afterok:$jobid"]);
        for word in ["--chdir=/scratch/work dir", "--output=logs/%x-%j.out", "--partition=gpu", "--export=NONE"] {
            assert!(words.contains(&word.to_string()), "{word} in {words:?}");
        }
        let merge = shell_split(words.last().unwrap());
        assert!(matches!(Cli::try_parse_from(&merge).unwrap().command, Command::Merge(_)), "{merge:?}");
    }

    #[test]
    fn a_plain_slurm_script_leaves_placement_to_the_cluster() {
        let args =
            plan(&["--emit", "slurm", "--shards", "2", "--out", "runs/r", "--", "--task", "docvqa", "--model", "tiny"]);
        let script = slurm_script(&args).unwrap();
        let sbatch: Vec<&str> = script.lines().filter_map(|l| l.strip_prefix("#SBATCH ")).collect();
        let cwd = std::env::current_dir().unwrap();
        let chdir = format!("--chdir={}", shell_quote(&cwd.display().to_string()));
        assert_eq!(sbatch, ["--job-name=smolbench-r", "--array=0-1", &chdir, "--output=%x-%A_%a.out", "--export=ALL"]);
        let home = std::path::absolute(smolbench_core::smolbench_home()).unwrap();
        assert!(script.contains(&format!("\nexport SMOLBENCH_HOME={}\n", shell_quote(&home.display().to_string()))));
    }

    #[test]
    fn the_k8s_job_is_indexed_and_its_command_parses() {
        let args = plan(&[
            "--emit",
            "k8s",
            "--shards",
            "3",
            "--out",
            "/runs/eval1",
            "--image",
            "ghcr.io/x/smolbench:1",
            "--pvc",
            "runs-claim",
            "--gpus",
            "1",
            "--",
            "--task",
            "docvqa",
            "--model",
            "tiny",
        ]);
        let job = k8s_job(&args).unwrap();
        assert_eq!(job["spec"]["completionMode"], "Indexed");
        assert_eq!(job["spec"]["completions"], 3);
        assert_eq!(job["spec"]["parallelism"], 3);
        let container = &job["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["env"][0]["name"], "JOB_COMPLETION_INDEX");
        assert_eq!(container["volumeMounts"][0]["mountPath"], "/runs");
        assert_eq!(job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "runs-claim");
        let argv: Vec<String> = serde_json::from_value(container["command"].clone()).unwrap();
        let parsed = format!("{:?}", run_args_of(&argv));
        assert!(parsed.contains("shard: Some(Auto { count: Some(3) })"), "{parsed}");
        assert!(parsed.contains("resume: Some(\"/runs/eval1\")"), "{parsed}");

        // The YAML text carries the same structure: keys at their depth, the command as a flow list.
        let yaml = k8s_manifest(&args).unwrap();
        for line in [
            "apiVersion: \"batch/v1\"",
            "kind: \"Job\"",
            "spec:",
            "  completionMode: \"Indexed\"",
            "  completions: 3",
            "      containers:",
            "          env:",
            "            - name: \"JOB_COMPLETION_INDEX\"",
            "      restartPolicy: \"Never\"",
        ] {
            assert!(yaml.lines().any(|l| l == line), "{line}\n{yaml}");
        }
        let command_line =
            yaml.lines().find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("command: ")).unwrap();
        let from_yaml: Vec<String> = serde_json::from_str(command_line).unwrap();
        assert_eq!(from_yaml, argv);
    }

    #[test]
    fn bad_run_arguments_are_refused_before_writing() {
        let args = plan(&["--emit", "slurm", "--shards", "2", "--out", "r", "--", "--suite", "image"]);
        let err = slurm_script(&args).unwrap_err().to_string();
        assert!(err.contains("--model"), "{err}");
        let args = plan(&["--emit", "slurm", "--shards", "2", "--out", "r", "--", "--model", "tiny", "--shard", "0/2"]);
        assert!(slurm_script(&args).unwrap_err().to_string().contains("leave --shard out"));
        let args = plan(&["--emit", "k8s", "--shards", "2", "--out", "r", "--", "--model", "tiny", "--suite", "image"]);
        assert!(k8s_job(&args).unwrap_err().to_string().contains("--image"));
    }
}
