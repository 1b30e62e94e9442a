//! Turning `bench run` arguments into a checked plan: the model located and prepared, each
//! task's data found and opened. Everything that can be wrong with the input is found here,
//! before a model is loaded or a result directory is created.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use smolbench_core::FileHash;
use smolbench_datasets::{find_split_files, hf_cache_dataset_dir, ParquetTable};
use smolbench_runners::model::{prepare_model_dir, resolve_model, PreparedModel, ResolvedModel};
use smolbench_tasks::Task;

use crate::fixtures::{ensure_fixtures, synthetic_data_dir};

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
    /// The split's shards.
    pub table: ParquetTable,
    /// Rows to run (after `--limit`).
    pub selected: usize,
}

/// A checked run.
#[derive(Debug)]
pub struct RunPlan {
    /// The model as found.
    pub model: ResolvedModel,
    /// Its prepared copy.
    pub prepared: PreparedModel,
    /// The tasks, in order.
    pub tasks: Vec<PlannedTask>,
    /// Where the data comes from.
    pub data_source: DataSource,
}

/// Locates the directory holding `repo_id`'s parquet files.
fn task_data_dir(task: &Task, source: &DataSource) -> Result<PathBuf> {
    let dataset = &task.def().dataset;
    match source {
        DataSource::Synthetic(root) => Ok(synthetic_data_dir(root, &dataset.repo_id)),
        DataSource::Dir(dir) => {
            let nested = dir.join(&dataset.repo_id);
            Ok(if nested.is_dir() { nested } else { dir.clone() })
        }
        DataSource::HfCache(hub) => hf_cache_dataset_dir(hub, &dataset.repo_id, dataset.revision.as_deref()).with_context(|| {
            format!(
                "data set {} for task {} is not available locally: looked in {}; download it where a network exists or pass --data-dir DIR holding {}/{}/{}-*.parquet",
                dataset.repo_id,
                task.name(),
                hub.join(format!("datasets--{}", dataset.repo_id.replace('/', "--"))).join("snapshots").display(),
                dataset.repo_id,
                dataset.config,
                dataset.split
            )
        }),
    }
}

/// Checks and prepares everything a run needs.
pub fn plan_run(
    model_name: &str,
    model_path: Option<&Path>,
    tasks: Vec<Task>,
    data_dir: Option<&Path>,
    limit: Option<usize>,
    fixtures_root: &Path,
) -> Result<RunPlan> {
    let hub = smolbench_core::hf_hub_dir();
    let model = resolve_model(model_name, model_path, &hub, fixtures_root)?;
    let data_source = match data_dir {
        Some(dir) => DataSource::Dir(dir.to_path_buf()),
        None if model.repo_id.is_none() && model_path.is_none() && model_name.eq_ignore_ascii_case("tiny") => {
            ensure_fixtures(fixtures_root)?;
            DataSource::Synthetic(fixtures_root.to_path_buf())
        }
        None => DataSource::HfCache(hub),
    };
    let prepared = prepare_model_dir(&model.dir, &smolbench_core::smolbench_home().join("prepared"))?;
    let mut planned = Vec::new();
    for task in tasks {
        let data_dir = task_data_dir(&task, &data_source)?;
        let dataset = &task.def().dataset;
        let files = find_split_files(&data_dir, Some(&dataset.config), &dataset.split)?;
        let table = ParquetTable::open(files)?;
        let selected = limit.map_or(table.num_rows(), |l| l.min(table.num_rows()));
        planned.push(PlannedTask { task, data_dir, table, selected });
    }
    Ok(RunPlan { model, prepared, tasks: planned, data_source })
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
