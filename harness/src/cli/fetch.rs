//! `bench fetch`: download a model, or tasks' data sets, into the Hugging Face cache.
//!
//! A video task's videos come too: the archives its definition names (`[video] archives`),
//! unpacked into the snapshot as lmms-eval unpacks them, or, where the repository has none, the
//! files its rows name (the first of each row's candidate paths that the repository holds; a
//! frame folder with all its frames).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use clap::Args;
use smolbench_datasets::archive::unpack_zip;
use smolbench_datasets::fetch::{fetch_dataset, fetch_files, hub_endpoint, FetchRequest, Fetched};
use smolbench_datasets::lock::LockCheck;
use smolbench_datasets::SplitTable;
use smolbench_tasks::{builtin_task, suite, Task};

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
        if task.def().video.is_some() {
            fetch_videos(&task, &request, &fetched).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The files of `listing` (sorted) that `candidate` names: itself, or a folder's files, found
/// by binary search since a row loop asks once per candidate of every row.
fn listed(listing: &BTreeSet<&str>, candidate: &str) -> Option<Vec<String>> {
    if listing.contains(candidate) {
        return Some(vec![candidate.to_string()]);
    }
    let prefix = format!("{candidate}/");
    let inside: Vec<String> =
        listing.range(prefix.as_str()..).take_while(|f| f.starts_with(&prefix)).map(|f| f.to_string()).collect();
    (!inside.is_empty()).then_some(inside)
}

/// Downloads a video task's videos into the snapshot `fetched` made (module docs).
async fn fetch_videos(task: &Task, request: &FetchRequest<'_>, fetched: &Fetched) -> Result<()> {
    let Some(def) = &task.def().video else { return Ok(()) };
    let name = task.name();
    let archives: Vec<String> = fetched.listing.iter().filter(|f| def.is_archive(f)).cloned().collect();
    let mut wanted: BTreeSet<String> = archives.iter().cloned().collect();
    let mut missing = Vec::new();
    if archives.is_empty() {
        let table = SplitTable::open(fetched.files.clone())?;
        let columns = task.columns();
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        let listing: BTreeSet<&str> = fetched.listing.iter().map(String::as_str).collect();
        for (index, row) in table.read_rows(&columns, None)?.iter().enumerate() {
            let files = task
                .video_files(row)
                .map_err(|e| anyhow::anyhow!("task {name}: row {index}: {e}"))?
                .context("a video task names its videos")?;
            match files.whole.iter().chain(&files.windowed).find_map(|c| listed(&listing, c)) {
                Some(found) => wanted.extend(found),
                None => missing.push(files.whole.first().cloned().unwrap_or_default()),
            }
            wanted.extend(files.subtitles.filter(|s| listing.contains(s.as_str())));
        }
    }
    let wanted: Vec<String> = wanted.into_iter().collect();
    let bar = indicatif::ProgressBar::new(wanted.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("{name}: videos"));
    let downloaded = fetch_files(request, fetched, &wanted, !archives.is_empty(), &|file| {
        bar.set_message(file.to_string());
        bar.inc(1);
    })
    .await?;
    bar.finish_and_clear();
    let mut unpacked = 0;
    for (file, path) in wanted.iter().zip(&downloaded) {
        if archives.contains(file) {
            let done = unpack_zip(path, &fetched.snapshot_dir)?;
            unpacked += done.written + done.kept;
        }
    }
    println!(
        "{name}: {} video files, {} archives ({unpacked} files unpacked) in {}",
        wanted.len() - archives.len(),
        archives.len(),
        fetched.snapshot_dir.display()
    );
    if let Some(first) = missing.first() {
        tracing::warn!(
            "task {name}: {} rows name videos the repository does not hold at {} (first: {first}); those samples will fail until the videos are copied into {}",
            missing.len(),
            fetched.revision,
            fetched.snapshot_dir.display()
        );
    }
    Ok(())
}
