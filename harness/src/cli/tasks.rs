//! `bench tasks`: the built-in tasks, their data sets, and what is present locally.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use smolbench_datasets::{find_data_files, hf_cache_dataset_dir, SplitTable};
use smolbench_tasks::{builtin_task, builtin_task_names, Task};

/// Arguments of `bench tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Also look for data sets under DIR/<org>/<name>/ (as `bench run --data-dir`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
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
    let hub = smolbench_core::hf_hub_dir();
    let width = builtin_task_names().iter().map(|n| n.len()).max().unwrap_or(4);
    println!(
        "{:<width$} {:>3}  {:<28} {:<24} {:>6}  {:<16} {:<10} local",
        "task", "ver", "data set", "config/split", "rows", "metric", "profile"
    );
    for name in builtin_task_names() {
        let task = builtin_task(name)?;
        let ds = &task.def().dataset;
        let dirs = args.data_dir.iter().map(|d| d.join(&ds.repo_id)).chain(hf_cache_dataset_dir(
            &hub,
            &ds.repo_id,
            ds.revision.as_deref(),
        ));
        let local = dirs
            .filter_map(|dir| {
                let files = find_data_files(&dir, Some(&ds.config), &ds.split, &ds.data_files).ok()?;
                let table = SplitTable::open(files).ok()?;
                let partial = match ds.rows {
                    Some(full) if table.num_rows() < full => format!(" (partial: {} of {full})", table.num_rows()),
                    _ => String::new(),
                };
                let videos = videos_present(&task, &table, &dir).unwrap_or_default();
                Some(format!("{} rows in {}{partial}{videos}", table.num_rows(), dir.display()))
            })
            .next()
            .unwrap_or_else(|| "absent".into());
        println!(
            "{:<width$} {:>3}  {:<28} {:<24} {:>6}  {:<16} {:<10} {local}",
            name,
            task.version(),
            ds.repo_id,
            format!("{}/{}", ds.config, ds.split),
            ds.rows.map_or("?".to_string(), |r| r.to_string()),
            task.metric().name,
            task.profile().name()
        );
    }
    println!("\nHugging Face cache: {}", hub.display());
    Ok(ExitCode::SUCCESS)
}
