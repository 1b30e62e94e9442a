//! `bench fetch`: download a model, or tasks' data sets, into the Hugging Face cache.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use smolbench_datasets::fetch::{fetch_dataset, hub_endpoint, FetchRequest};
use smolbench_datasets::lock::LockCheck;
use smolbench_tasks::{builtin_task, suite};

use crate::plan::{load_lock, DataSource};

/// Arguments of `bench fetch`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true))]
pub struct FetchArgs {
    /// A model alias (see `bench models`).
    #[arg(group = "what")]
    model: Option<String>,
    /// A task whose data set to download at its locked revision; repeatable.
    #[arg(long = "task", group = "what", value_name = "NAME")]
    tasks: Vec<String>,
    /// Download the data sets of every task of a suite.
    #[arg(long, group = "what")]
    suite: Option<String>,
    /// A data lock laid over the project's [default: $SMOLBENCH_HOME/data.lock.toml where it exists].
    #[arg(long, value_name = "FILE")]
    lock: Option<PathBuf>,
    /// Give up on an unanswered network step after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

/// Downloads what was asked for and prints where it went.
pub async fn run(args: FetchArgs) -> Result<ExitCode> {
    let hub = smolbench_core::hf_hub_dir();
    let timeout = Duration::from_secs(args.timeout);
    if let Some(model) = &args.model {
        let dir = smolbench_runners::model::fetch_model(model, &hub, timeout).await?;
        println!("{}", dir.display());
    }
    let mut names: Vec<String> = match &args.suite {
        Some(s) => suite(s)?.into_iter().map(str::to_string).collect(),
        None => Vec::new(),
    };
    names.extend(args.tasks.iter().filter(|t| !names.contains(t)).cloned().collect::<Vec<_>>());
    if names.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let (lock, origin) = load_lock(&DataSource::HfCache(hub.clone()), args.lock.as_deref())?;
    let endpoint = hub_endpoint();
    for name in &names {
        let task = builtin_task(name)?;
        let dataset = &task.def().dataset;
        let request = FetchRequest {
            repo_id: &dataset.repo_id,
            config: Some(&dataset.config),
            split: &dataset.split,
            data_files: &dataset.data_files,
            revision: dataset.revision.as_deref(),
            lock: lock.entry(name),
            hub_dir: &hub,
            timeout,
            endpoint: &endpoint,
        };
        let fetched = fetch_dataset(&request).await?;
        match &fetched.lock_check {
            LockCheck::Mismatch(problems) => anyhow::bail!(
                "task {name}: the downloaded files differ from {origin}: {}; the lock may be out of date: pin the new files with `bench lock --task {name}` if you trust them",
                problems.join("; ")
            ),
            check => println!("{name}: {} ({} files, {})", fetched.snapshot_dir.display(), fetched.files.len(), check.label()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
