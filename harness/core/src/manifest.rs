//! `run.json`: what produced a run's numbers, written before the first sample.

use serde::{Deserialize, Serialize};

/// A file and its SHA-256, so a result can be tied to exact weights, data and configs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileHash {
    /// Path relative to the directory it belongs to.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the contents.
    pub sha256: String,
}

/// One GPU seen on the machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GpuInfo {
    /// The device's name as the driver reports it.
    pub name: String,
    /// Total device memory in bytes.
    pub memory_total_bytes: u64,
}

/// The machine a run was made on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceFingerprint {
    /// The compute device the model ran on: `cpu` or `cuda:N`.
    pub compute: String,
    /// CPU brand string.
    pub cpu_model: String,
    /// Logical CPU cores.
    pub cpu_cores: usize,
    /// Total RAM in bytes.
    pub ram_total_bytes: u64,
    /// GPUs found through NVML; empty where there is none or NVML is absent.
    pub gpus: Vec<GpuInfo>,
    /// Operating system and kernel.
    pub os: String,
    /// Host name.
    pub hostname: String,
}

/// The model as it was loaded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelRecord {
    /// The alias or path the user gave.
    pub requested: String,
    /// The Hugging Face repo id, where the alias names one.
    pub repo_id: Option<String>,
    /// The directory the files came from.
    pub source_dir: String,
    /// The normalised copy that the engine loaded.
    pub prepared_dir: String,
    /// Every change the prepare step made, one sentence each.
    pub prepare_changes: Vec<String>,
    /// Hashes of the source directory's files.
    pub files: Vec<FileHash>,
    /// Engine name and version, e.g. `mistralrs 0.8.1`.
    pub engine: String,
    /// Weight dtype used by the engine.
    pub dtype: String,
    /// Prompt tokens that one unsplit image adds (markers included), from the prepared processor
    /// config. With splitting, each sample records its own `image_tokens` and `image_tiles`.
    pub tokens_per_image: usize,
    /// Whether images were split into tiles (`--image-splitting`).
    #[serde(default)]
    pub image_splitting: bool,
    /// The longest edge images were resized to first (`--longest-edge`); `None`: no resize.
    #[serde(default)]
    pub longest_edge: Option<u32>,
    /// The tile edge in pixels.
    #[serde(default)]
    pub tile_size: u32,
    /// Whether the engine's vision-encoder cache was on (`--encoder-cache`).
    #[serde(default)]
    pub encoder_cache: bool,
    /// The patch applied to the engine's source, with its hash.
    #[serde(default)]
    pub engine_patch: Option<String>,
}

/// A task as it was run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRecord {
    /// The task's name.
    pub name: String,
    /// The task definition's version; bumped whenever prompt, extraction or metric change.
    pub version: u32,
    /// The full task definition, as parsed.
    pub config: serde_json::Value,
    /// Where the data came from (a directory of parquet files).
    pub data_dir: String,
    /// The data set's revision: the hub snapshot's commit for cached data, `synthetic` for the
    /// generated fixtures, `None` for a plain directory.
    #[serde(default)]
    pub data_revision: Option<String>,
    /// The data files read, with hashes.
    pub data_files: Vec<FileHash>,
    /// Samples in the split, before `--limit`.
    pub available_samples: usize,
    /// Samples selected to run.
    pub selected_samples: usize,
    /// The prompt profile the prompts were built with (`lmms-eval`, `vlmevalkit-smolvlm`...).
    #[serde(default)]
    pub prompt_profile: String,
    /// The metric profile the samples were scored with (`official`, `lmms-eval`, `vlmevalkit`).
    #[serde(default)]
    pub metric_profile: String,
    /// How the data files compared with the data lock: `verified`, or why they were not checked.
    #[serde(default)]
    pub data_lock: String,
}

/// A task that was asked for but not run, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SkippedTask {
    /// The task.
    pub name: String,
    /// Why it was skipped, naming the path that was looked at.
    pub reason: String,
}

/// An endpoint that answered a run's samples (endpoint runs only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointRecord {
    /// The server's root URL.
    pub url: String,
    /// Requests it was allowed in flight at once.
    pub max_concurrency: usize,
    /// Model ids its `/v1/models` listed when the run started.
    pub models: Vec<String>,
    /// Its `/metrics` when the run started (SmolBench's server: engine, model, device, memory).
    pub metrics: Option<serde_json::Value>,
    /// Why it did not answer when the run started, if it did not.
    pub error: Option<String>,
}

/// `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunManifest {
    /// The store's format version ([`crate::STORE_FORMAT_VERSION`]).
    pub format_version: u32,
    /// A unique id for the run.
    pub run_id: String,
    /// The command line, as typed.
    pub command: Vec<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// The suite that was run.
    pub suite: String,
    /// The model.
    pub model: ModelRecord,
    /// The tasks, in run order.
    pub tasks: Vec<TaskRecord>,
    /// Tasks asked for whose data is not present locally (never scored as zero).
    #[serde(default)]
    pub skipped_tasks: Vec<SkippedTask>,
    /// SmolBench's own version.
    pub smolbench_version: String,
    /// The git commit of the SmolBench checkout that ran, when known.
    pub git_commit: Option<String>,
    /// The machine.
    pub device: DeviceFingerprint,
    /// Where the data came from: `synthetic` fixtures, a `--data-dir`, or the `hf-cache`.
    pub data_source: String,
    /// Any `--limit` given.
    pub limit: Option<usize>,
    /// The endpoints that answered the samples; empty for in-process runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointRecord>,
    /// How answers were scored: `rules` (the reference's rules alone, the default) or
    /// `rules+judge` (an LLM judge where the reference asks one; see `judge`).
    #[serde(default = "rules")]
    pub scoring: String,
    /// The LLM judge, where one was named (`--judge-endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeInfo>,
}

fn rules() -> String {
    "rules".into()
}

/// The LLM judge a run or rescore asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JudgeInfo {
    /// The judge server's root URL.
    pub endpoint: String,
    /// The model id sent.
    pub model: String,
}
