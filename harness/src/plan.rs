//! Turning `bench run` arguments into a checked plan: the model located and prepared, each
//! task's data found and opened. Everything that can be wrong with the input is found here,
//! before a model is loaded or a result directory is created.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use smolbench_core::{FileHash, SkippedTask};
use smolbench_datasets::lock::{check_files, project_lock, DataLock, LockCheck};
use smolbench_datasets::{find_data_files, hf_cache_dataset_dir, DatasetError, SplitTable};
use smolbench_runners::model::{resolve_model, ImageOptions};
use smolbench_tasks::{MetricProfile, Task, TaskRegistry};

use crate::fixtures::{ensure_fixtures, fixtures_lock_path, synthetic_data_dir};
pub use crate::local_model::LocalModel;
use crate::video_tools::require_video_tools;

/// Which tasks a run asked for and how to set them up.
#[derive(Debug, Default)]
pub struct TaskSelection<'a> {
    /// `--suite`.
    pub suite: Option<&'a str>,
    /// `--task` values: each a comma-separated list of task, group or suite names.
    pub tasks: &'a [String],
    /// `--prompt-profile`; where absent, the model alias's default (the SmolVLM authors'
    /// `vlmevalkit-smolvlm` where a task defines it), else each task's own.
    pub prompt_profile: Option<&'a str>,
    /// `--model`, whose alias decides the default prompt profile.
    pub model: &'a str,
    /// `--metric-profile`.
    pub metric_profile: Option<MetricProfile>,
    /// `--max-new-tokens`: every task's token budget.
    pub max_new_tokens: Option<usize>,
}

/// The tasks of `selection`, from `registry`, in order (the suite's, then each `--task` item's),
/// each once, with the profiles and budget asked for.
pub fn select_tasks(registry: &TaskRegistry, selection: &TaskSelection<'_>) -> Result<Vec<Task>> {
    let mut names: Vec<String> = match selection.suite {
        Some(s) => registry.suite(s)?.into_iter().map(str::to_string).collect(),
        None => Vec::new(),
    };
    for spec in selection.tasks {
        for name in registry.select(spec)? {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut tasks = Vec::with_capacity(names.len());
    for name in &names {
        let mut task = registry.task(name)?;
        let alias_default = smolbench_runners::model::default_prompt_profile(selection.model, &task.prompt_profiles());
        if let Some(profile) = selection.prompt_profile.or(alias_default) {
            task = task.with_prompt_profile(profile)?;
        }
        if let Some(profile) = selection.metric_profile {
            task = task.with_profile(profile);
        }
        if let Some(budget) = selection.max_new_tokens {
            task = task.with_max_new_tokens(budget)?;
        }
        tasks.push(task);
    }
    Ok(tasks)
}

/// Where a run's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// The project's synthetic fixtures under this root (the default for `--model tiny`).
    Synthetic(PathBuf),
    /// A directory given with `--data-dir`.
    Dir(PathBuf),
    /// The Hugging Face hub cache.
    HfCache(PathBuf),
}

impl DataSource {
    /// The label stored in `run.json`.
    pub fn label(&self) -> String {
        match self {
            DataSource::Synthetic(p) => format!("synthetic fixtures ({})", p.display()),
            DataSource::Dir(p) => format!("data dir ({})", p.display()),
            DataSource::HfCache(p) => format!("hf-cache ({})", p.display()),
        }
    }
}

/// A task with its data opened.
#[derive(Debug)]
pub struct PlannedTask {
    /// The task.
    pub task: Task,
    /// The data set's directory.
    pub data_dir: PathBuf,
    /// The data set's revision, where known (see [`smolbench_core::TaskRecord::data_revision`]).
    pub data_revision: Option<String>,
    /// The split's shards.
    pub table: SplitTable,
    /// Rows to run (after `--limit`).
    pub selected: usize,
    /// How the data files compared with the data lock ([`LockCheck::label`]).
    pub data_lock: String,
}

/// What `bench run` asked for.
#[derive(Debug)]
pub struct PlanRequest<'a> {
    /// The model alias or directory.
    pub model_name: &'a str,
    /// An explicit model directory.
    pub model_path: Option<&'a Path>,
    /// `--data-dir`.
    pub data_dir: Option<&'a Path>,
    /// `--limit`.
    pub limit: Option<usize>,
    /// Where the tiny model and synthetic data live.
    pub fixtures_root: &'a Path,
    /// Fail instead of skipping a task whose data is absent.
    pub strict: bool,
    /// `--lock`: a data lock laid over the project's (default: `$SMOLBENCH_HOME/data.lock.toml`
    /// where it exists).
    pub lock_file: Option<&'a Path>,
    /// `--image-splitting` / `--longest-edge` (unset: the model's defaults).
    pub image: ImageOptions,
    /// Resolve and prepare the model locally (false when endpoints answer: the model lives on
    /// the servers).
    pub local_model: bool,
}

/// A checked run.
#[derive(Debug)]
pub struct RunPlan {
    /// The local model; `None` for endpoint runs.
    pub model: Option<LocalModel>,
    /// The tasks, in order.
    pub tasks: Vec<PlannedTask>,
    /// Tasks skipped because their data is absent.
    pub skipped: Vec<SkippedTask>,
    /// Where the data comes from.
    pub data_source: DataSource,
}

/// A task's data: found (directory and shard files), or absent with the reason.
pub enum Located {
    /// The data set's directory and the split's files.
    Found(PathBuf, Vec<PathBuf>),
    /// Why it is absent.
    Missing(String),
}

/// Finds a task's parquet shards. Absent data is [`Located::Missing`]; data that is present but
/// unusable (a corrupt file) is an error.
pub fn locate_task_data(task: &Task, source: &DataSource, lock: &DataLock) -> Result<Located> {
    let dataset = &task.def().dataset;
    let dir = match source {
        DataSource::Synthetic(root) => synthetic_data_dir(root, &dataset.repo_id),
        // Only DIR/<org>/<name>/: DIR itself may hold another data set, whose files would be
        // read as this task's.
        DataSource::Dir(dir) => {
            let nested = dir.join(&dataset.repo_id);
            if !nested.is_dir() {
                return Ok(Located::Missing(format!(
                    "data set {} is not in --data-dir: no folder {}{}",
                    dataset.repo_id,
                    nested.display(),
                    std::path::MAIN_SEPARATOR
                )));
            }
            nested
        }
        DataSource::HfCache(hub) => match hf_cache_dataset_dir(
            hub,
            &dataset.repo_id,
            dataset.revision.as_deref().or(lock.entry(task.name()).and_then(|e| e.revision.as_deref())),
        ) {
            Some(dir) => dir,
            None => {
                return Ok(Located::Missing(format!(
                    "data set {} is not in the Hugging Face cache (looked in {}); download it where a network exists or pass --data-dir DIR holding {}/{}/{}-*.parquet",
                    dataset.repo_id,
                    hub.join(format!("datasets--{}", dataset.repo_id.replace('/', "--"))).join("snapshots").display(),
                    dataset.repo_id,
                    dataset.config,
                    dataset.split
                )))
            }
        },
    };
    match find_data_files(&dir, Some(&dataset.config), &dataset.split, &dataset.data_files) {
        Ok(files) => Ok(Located::Found(dir, files)),
        Err(
            e @ (DatasetError::MissingDir { .. }
            | DatasetError::NoSplitFiles { .. }
            | DatasetError::NotADirectory { .. }),
        ) => Ok(Located::Missing(format!("data set {}: {e}", dataset.repo_id))),
        Err(e) => Err(e.into()),
    }
}

/// The default user lock: `$SMOLBENCH_HOME/data.lock.toml`, written by `bench lock`.
pub fn default_user_lock_path() -> PathBuf {
    smolbench_core::smolbench_home().join("data.lock.toml")
}

/// The lock a run checks its data against, and where it came from: the synthetic fixtures' own
/// lock, or the project's lock with the user's (`--lock`, else the default user lock) over it.
pub fn load_lock(source: &DataSource, lock_file: Option<&Path>) -> Result<(DataLock, String)> {
    if let DataSource::Synthetic(root) = source {
        let path = fixtures_lock_path(root);
        return Ok((DataLock::load(&path)?, path.display().to_string()));
    }
    let user = lock_file.map(Path::to_path_buf).or_else(|| Some(default_user_lock_path()).filter(|p| p.is_file()));
    match user {
        Some(path) => {
            let lock = project_lock().overlaid_with(DataLock::load(&path)?);
            Ok((lock, format!("{} over the project lock", path.display())))
        }
        None => Ok((project_lock(), "the project lock".to_string())),
    }
}

/// Compares a task's files with its lock entry. A mismatch is an error: scores on data other
/// than the locked data would be reported as if they were comparable.
fn check_task_lock(task: &Task, lock: &DataLock, origin: &str, data_dir: &Path, files: &[PathBuf]) -> Result<String> {
    let Some(entry) = lock.entry(task.name()) else {
        return Ok(format!("unpinned (no entry in {origin})"));
    };
    let dataset = &task.def().dataset;
    let same_config = entry.config.as_deref().is_none_or(|c| c == dataset.config);
    if entry.repo_id != dataset.repo_id || !same_config || entry.split != dataset.split {
        anyhow::bail!(
            "task {}: the lock entry in {origin} is for {} {} split {}, but the task reads {} {} split {}; pin the task's data anew with `bench lock --task {}`",
            task.name(),
            entry.repo_id,
            entry.config.as_deref().unwrap_or("-"),
            entry.split,
            dataset.repo_id,
            dataset.config,
            dataset.split,
            task.name()
        );
    }
    match check_files(entry, data_dir, files)? {
        LockCheck::Mismatch(problems) => anyhow::bail!(
            "task {}: the data differs from {origin}: {}{}; download it again with `bench fetch --task {}` or pin these files with `bench lock --task {}`",
            task.name(),
            problems[0],
            if problems.len() > 1 { format!(" (and {} more problems)", problems.len() - 1) } else { String::new() },
            task.name(),
            task.name()
        ),
        LockCheck::Unpinned => Ok(format!("unpinned (no files in {origin})")),
        check => Ok(format!("{} against {origin}", check.label())),
    }
}

/// Checks and prepares everything a run needs. A task whose data is absent is skipped with the
/// reason (an error with `strict`); it is never scored as zero.
pub fn plan_run(request: &PlanRequest<'_>, tasks: Vec<Task>) -> Result<RunPlan> {
    let hub = smolbench_core::hf_hub_dir();
    let resolved = if request.local_model {
        Some(crate::local_model::resolve(request.model_name, request.model_path, request.fixtures_root)?)
    } else {
        None
    };
    let data_source = match request.data_dir {
        Some(dir) => DataSource::Dir(dir.to_path_buf()),
        None if resolved.as_ref().is_none_or(|m| m.repo_id.is_none())
            && request.model_path.is_none()
            && request.model_name.eq_ignore_ascii_case("tiny") =>
        {
            ensure_fixtures(request.fixtures_root, tasks.iter().any(|t| t.def().video.is_some()))?;
            DataSource::Synthetic(request.fixtures_root.to_path_buf())
        }
        None => DataSource::HfCache(hub.clone()),
    };
    let (lock, lock_origin) = load_lock(&data_source, request.lock_file)?;
    let video = tasks.iter().any(|t| t.def().video.is_some());
    let model = match resolved {
        Some(resolved) => Some(crate::local_model::prepare(resolved, request.model_name, request.image, video)?),
        None => None,
    };
    // Frames are sized to the model's video frame edge. A run against endpoints reads it from
    // the model's files where they are on this machine (the tiny fixture, a cached checkpoint),
    // so that a served model sees the frames an in-process run would send.
    let frame_edge = match &model {
        Some(m) => video_frame_edge(&m.prepared.dir),
        None => match resolve_model(request.model_name, request.model_path, &hub, request.fixtures_root) {
            Ok(resolved) => video_frame_edge(&resolved.dir),
            Err(_) => {
                let known =
                    smolbench_runners::model::lookup_alias(request.model_name).ok().and_then(|a| a.video_frame_edge);
                let edge = known.unwrap_or(smolbench_datasets::video::SamplingSettings::SMOLVLM2.frame_edge);
                if tasks.iter().any(|t| t.def().video.is_some()) {
                    let why = if known.is_some() { "the checkpoint's published setting" } else { "SmolVLM2's default" };
                    tracing::info!(
                        "video frames sized to {edge} px ({why}): model {} is not on this machine to read its own",
                        request.model_name
                    );
                }
                edge
            }
        },
    };
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    for task in tasks {
        match locate_task_data(&task, &data_source, &lock)? {
            Located::Found(data_dir, files) => {
                let data_lock = check_task_lock(&task, &lock, &lock_origin, &data_dir, &files)?;
                let table = SplitTable::open(files)?;
                // Video tasks read their files beside the parquet, frames sized to the model's tile.
                let task = task.with_video_source(&data_dir, frame_edge, Some(frame_cache_dir()));
                let selected = request.limit.map_or(table.num_rows(), |l| l.min(table.num_rows()));
                let data_revision = match &data_source {
                    DataSource::Synthetic(_) => Some("synthetic".to_string()),
                    DataSource::HfCache(_) => data_dir.file_name().map(|n| n.to_string_lossy().into_owned()),
                    DataSource::Dir(_) => None,
                };
                planned.push(PlannedTask { task, data_dir, data_revision, table, selected, data_lock });
            }
            Located::Missing(reason) if request.strict => anyhow::bail!("task {}: {reason} (--strict)", task.name()),
            Located::Missing(reason) => {
                tracing::warn!("skipping task {}: {reason}", task.name());
                skipped.push(SkippedTask { name: task.name().to_string(), reason });
            }
        }
    }
    if planned.iter().any(|t| t.task.def().video.is_some()) {
        require_video_tools()?;
    }
    if planned.is_empty() {
        // One line: the first task's reason, and how many others were skipped (each was logged).
        let first = skipped.first().map(|s| format!("{}: {}", s.name, s.reason)).unwrap_or_default();
        let others = match skipped.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} other tasks, each named above)", n - 1),
        };
        anyhow::bail!("no task has its data present locally: {first}{others}");
    }
    Ok(RunPlan { model, tasks: planned, skipped, data_source })
}

/// Where decoded video frames are cached: `$SMOLBENCH_HOME/cache/frames`.
pub fn frame_cache_dir() -> PathBuf {
    smolbench_core::smolbench_home().join("cache").join("frames")
}

/// The longest edge video frames are resized to for the model in `prepared_dir`: SmolVLM2's
/// `video_sampling.video_size.longest_edge` (processor config) where present, else the image
/// tile (`max_image_size.longest_edge`), else SmolVLM2's 512.
pub fn video_frame_edge(prepared_dir: &Path) -> u32 {
    let read = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(prepared_dir.join(name)).ok()?).ok()
    };
    let edge = |v: &serde_json::Value, path: &[&str]| -> Option<u32> {
        path.iter().try_fold(v, |v, k| v.get(k))?.as_u64().and_then(|e| u32::try_from(e).ok()).filter(|e| *e > 0)
    };
    let processor = read("processor_config.json").unwrap_or_default();
    let pre = read("preprocessor_config.json").unwrap_or_default();
    edge(&processor, &["video_sampling", "video_size", "longest_edge"])
        .or_else(|| edge(&pre, &["video_sampling", "video_size", "longest_edge"]))
        .or_else(|| edge(&pre, &["max_image_size", "longest_edge"]))
        .unwrap_or(smolbench_datasets::video::SamplingSettings::SMOLVLM2.frame_edge)
}

/// SHA-256 of every regular file directly in `dir` (following symlinks), sorted by name.
pub fn hash_dir_files(dir: &Path) -> Result<Vec<FileHash>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.iter().map(|f| hash_file(f, dir)).collect()
}

/// SHA-256 of one file, named relative to `base`.
pub fn hash_file(path: &Path, base: &Path) -> Result<FileHash> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(FileHash {
        path: path.strip_prefix(base).unwrap_or(path).to_string_lossy().into_owned(),
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}
