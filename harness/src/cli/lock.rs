//! `bench lock`: pin the data a run reads. Hashes each task's local parquet files and writes
//! their paths, sizes and SHA-256 (and the hub commit, for cached data) into a data lock, which
//! `bench run` then checks before scoring and `bench fetch --task` downloads against.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use smolbench_datasets::lock::{pin_files, DataLock, LockedDataset};
use smolbench_tasks::TaskRegistry;

use crate::plan::{default_user_lock_path, locate_task_data, DataSource, Located};

/// Arguments of `bench lock`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
pub struct LockArgs {
    /// Pin every task of a suite whose data is present.
    #[arg(long, group = "what")]
    suite: Option<String>,
    /// Pin tasks: a comma-separated list of task, group or suite names; repeatable.
    #[arg(long = "task", group = "what", value_name = "NAME[,NAME...]")]
    tasks: Vec<String>,
    /// Load task folders from DIR too, as `bench run --include-path`.
    #[arg(long, value_name = "DIR", env = "SMOLBENCH_INCLUDE_PATH", value_delimiter = ':')]
    include_path: Vec<PathBuf>,
    /// Read data sets from DIR/<org>/<name>/ instead of the Hugging Face cache.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The lock file to update [default: $SMOLBENCH_HOME/data.lock.toml].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Hashes each task's files and writes their entries, keeping the file's other entries.
pub fn run(args: LockArgs) -> Result<ExitCode> {
    let registry = TaskRegistry::with_include_paths(&args.include_path)?;
    let mut names: Vec<String> = match &args.suite {
        Some(s) => registry.suite(s)?.into_iter().map(str::to_string).collect(),
        None => Vec::new(),
    };
    for spec in &args.tasks {
        for name in registry.select(spec)? {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let source = match &args.data_dir {
        Some(dir) => DataSource::Dir(dir.clone()),
        None => DataSource::HfCache(smolbench_core::hf_hub_dir()),
    };
    let out = args.out.clone().unwrap_or_else(default_user_lock_path);
    let mut lock = if out.is_file() { DataLock::load(&out)? } else { DataLock::default() };
    let mut pinned = 0;
    for name in &names {
        let task = registry.task(name)?;
        let dataset = &task.def().dataset;
        match locate_task_data(&task, &source, &lock)? {
            Located::Found(dir, files) => {
                let revision = match &source {
                    DataSource::HfCache(_) => dir.file_name().map(|n| n.to_string_lossy().into_owned()),
                    _ => dataset.revision.clone(),
                };
                let files = pin_files(&dir, &files)?;
                for f in &files {
                    println!("{name}: {} {} bytes sha256 {}", f.path, f.size, f.sha256);
                }
                lock.upsert(LockedDataset {
                    task: name.clone(),
                    repo_id: dataset.repo_id.clone(),
                    config: Some(dataset.config.clone()),
                    split: dataset.split.clone(),
                    revision,
                    files,
                });
                pinned += 1;
            }
            Located::Missing(reason) => eprintln!("{name}: not pinned: {reason}"),
        }
    }
    if pinned == 0 {
        anyhow::bail!("no task's data was found, so {} was not written", out.display());
    }
    lock.save(&out)?;
    println!("wrote {} ({pinned} tasks pinned)", out.display());
    Ok(ExitCode::SUCCESS)
}
