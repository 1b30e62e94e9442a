//! `bench tasks`: the tasks (built in and from `--include-path` folders), their suites, data sets,
//! and what is present locally; `bench tasks --validate DIR` checks task folders before a run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use smolbench_datasets::{find_data_files, hf_cache_dataset_dir, SplitTable};
use smolbench_tasks::{Task, TaskRegistry};

use crate::exit;

/// Arguments of `bench tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Also look for data sets under DIR/<org>/<name>/ (as `bench run --data-dir`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also list the task folders in DIR, as `bench run --include-path` loads them.
    #[arg(long, value_name = "DIR", env = "SMOLBENCH_INCLUDE_PATH", value_delimiter = ':')]
    include_path: Vec<PathBuf>,
    /// Check the task folders in DIR (DIR itself or each folder in it holding a task.toml): each
    /// definition and its includes, every prompt profile, and, where the data is present (the
    /// cache or --data-dir), the first rows made into samples. Exits 1 on the first problem.
    #[arg(long, value_name = "DIR")]
    validate: Option<PathBuf>,
}

/// Rows made into samples by `--validate` where the data is present.
const VALIDATE_ROWS: usize = 4;

/// The first of `dirs` holding `task`'s split, with its table.
fn local_table(task: &Task, dirs: impl Iterator<Item = PathBuf>) -> Option<(PathBuf, SplitTable)> {
    let ds = &task.def().dataset;
    dirs.filter_map(|dir| {
        let files = find_data_files(&dir, Some(&ds.config), &ds.split, &ds.data_files).ok()?;
        Some((dir, SplitTable::open(files).ok()?))
    })
    .next()
}

/// The folders a task's data may be in: `DATA_DIR/<repo>` and the hub cache's snapshot.
fn data_dirs(task: &Task, data_dir: Option<&Path>, hub: &Path) -> Vec<PathBuf> {
    let ds = &task.def().dataset;
    data_dir
        .iter()
        .map(|d| d.join(&ds.repo_id))
        .chain(hf_cache_dataset_dir(hub, &ds.repo_id, ds.revision.as_deref()))
        .collect()
}

/// `bench tasks --validate DIR`.
fn validate(dir: &Path, data_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    let entries = match TaskRegistry::load_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::code(exit::FAILURE));
        }
    };
    let builtin = TaskRegistry::builtin()?;
    let mut failed = false;
    for entry in entries {
        let name = entry.def.name.clone();
        let checked = (|| -> anyhow::Result<String> {
            let task = Task::new(entry.def.clone()).with_context(|| entry.origin.clone())?;
            for profile in task.prompt_profiles() {
                task.clone().with_prompt_profile(profile).with_context(|| entry.origin.clone())?;
            }
            let replaces = if builtin.names().contains(&name.as_str()) { "; replaces the built-in task" } else { "" };
            let data = match local_table(&task, data_dirs(&task, data_dir, &hub).into_iter()) {
                None => "data absent (not checked)".to_string(),
                Some((dir, table)) => {
                    let columns = task.columns();
                    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
                    let n = table.num_rows().min(VALIDATE_ROWS);
                    let rows =
                        table.read_rows(&columns, Some(n)).with_context(|| format!("reading {}", dir.display()))?;
                    for (index, row) in rows.iter().enumerate() {
                        task.build_sample(row, index)?;
                    }
                    format!("{n} rows of {} made into samples", dir.display())
                }
            };
            Ok(format!(
                "prompt profiles {}; metric {}; suites [{}]{}; {data}{replaces}",
                task.prompt_profiles().join(", "),
                task.metric().name,
                task.def().suites.join(", "),
                task.def().group.as_ref().map(|g| format!("; group {g}")).unwrap_or_default(),
            ))
        })();
        match checked {
            Ok(summary) => println!("ok    {name}: {summary}"),
            Err(e) => {
                failed = true;
                println!("FAIL  {name}: {}", format!("{e:#}").replace('\n', " "));
            }
        }
    }
    Ok(exit::code(if failed { exit::FAILURE } else { exit::OK }))
}

/// For a video task, how many of `table`'s rows have their video (or the recording it is cut
/// from) under `dir`.
fn videos_present(task: &Task, table: &SplitTable, dir: &Path) -> Option<String> {
    task.def().video.as_ref()?;
    let columns = task.columns();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let rows = table.read_rows(&columns, None).ok()?;
    let present = rows
        .iter()
        .filter(|row| {
            task.video_files(row)
                .ok()
                .flatten()
                .is_some_and(|f| f.whole.iter().chain(&f.windowed).any(|p| dir.join(p).exists()))
        })
        .count();
    Some(format!("; videos for {present} of {} rows", rows.len()))
}

/// Prints one line per task: version, data set, split, full size, metric and profile, and the
/// rows present locally (marked partial when fewer than the full split; for video tasks, how
/// many rows have their video).
pub fn run(args: TasksArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.validate {
        return validate(dir, args.data_dir.as_deref());
    }
    let hub = smolbench_core::hf_hub_dir();
    let registry = TaskRegistry::with_include_paths(&args.include_path)?;
    let width = registry.names().iter().map(|n| n.len()).max().unwrap_or(4);
    println!(
        "{:<width$} {:>3}  {:<28} {:<24} {:>6}  {:<16} {:<10} {:<14} local",
        "task", "ver", "data set", "config/split", "rows", "metric", "profile", "suites/group"
    );
    for name in registry.names() {
        let task = registry.task(name)?;
        let ds = &task.def().dataset;
        let local = local_table(&task, data_dirs(&task, args.data_dir.as_deref(), &hub).into_iter())
            .map(|(dir, table)| {
                let partial = match ds.rows {
                    Some(full) if table.num_rows() < full => format!(" (partial: {} of {full})", table.num_rows()),
                    _ => String::new(),
                };
                let videos = videos_present(&task, &table, &dir).unwrap_or_default();
                format!("{} rows in {}{partial}{videos}", table.num_rows(), dir.display())
            })
            .unwrap_or_else(|| "absent".into());
        let mut membership = task.def().suites.clone();
        membership.extend(task.def().group.iter().map(|g| format!("group {g}")));
        println!(
            "{:<width$} {:>3}  {:<28} {:<24} {:>6}  {:<16} {:<10} {:<14} {local}",
            name,
            task.version(),
            ds.repo_id,
            format!("{}/{}", ds.config, ds.split),
            ds.rows.map_or("?".to_string(), |r| r.to_string()),
            task.metric().name,
            task.profile().name(),
            membership.join(", ")
        );
    }
    println!("\nHugging Face cache: {}", hub.display());
    Ok(ExitCode::SUCCESS)
}
