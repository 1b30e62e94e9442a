//! `bench tasks`: the built-in tasks, their data sets, and what is present locally.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use smolbench_datasets::{find_data_files, hf_cache_dataset_dir, SplitTable};
use smolbench_tasks::{builtin_task, builtin_task_names};

/// Arguments of `bench tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Also look for data sets under DIR/<org>/<name>/ (as `bench run --data-dir`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Prints one line per task: version, data set, split, full size, metric and profile, and the
/// rows present locally (marked partial when fewer than the full split).
pub fn run(args: TasksArgs) -> anyhow::Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    println!(
        "{:<10} {:>3}  {:<28} {:<24} {:>6}  {:<16} {:<10} local",
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
                Some(format!("{} rows in {}{partial}", table.num_rows(), dir.display()))
            })
            .next()
            .unwrap_or_else(|| "absent".into());
        println!(
            "{:<10} {:>3}  {:<28} {:<24} {:>6}  {:<16} {:<10} {local}",
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
