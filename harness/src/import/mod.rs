//! `bench import`: another harness's prediction file turned into an ordinary run directory
//! (`run.json`, `samples.jsonl`, `summary.json`), so that `bench rescore`, `report`, `gate` and
//! `diff` work on it as on an unsharded run of ours.
//!
//! Each format module reads one file layout into [`Imported`] samples: the sample's id, the
//! prompt where the file keeps it, the raw prediction, the references and the scoring context
//! (choices, and the fields the task's metric reads, named by the task's own columns). The
//! predictions are then scored by the task's metric under the profile of the harness they came
//! from, as a run of ours would be; `bench rescore --metric-profile` scores them under another.

mod lmms_eval;
mod mathvista;
mod mmmu;
mod vlmevalkit;
mod xlsx;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use smolbench_core::{
    DeviceFingerprint, ModelRecord, RunManifest, SampleRecord, SampleStatus, ScoringContext, TaskRecord,
    STORE_FORMAT_VERSION,
};
use smolbench_tasks::{parse_py_str_list, MetricProfile, Task};

use crate::store::RunStore;

/// The harness a file comes from, and its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// lmms-eval's `--log_samples` output: `*_samples_<task>.jsonl`, one object per document
    /// (`doc_id`, `doc`, `target`, `resps`, `filtered_resps`, `input`).
    LmmsEval,
    /// VLMEvalKit's prediction file `<model>_<dataset>.xlsx` (or `.tsv`): a row per question with
    /// `index`, `question`, `answer`, `prediction` and, for multiple choice, columns `A`, `B`...
    Vlmevalkit,
    /// The official MMMU output: a folder of `<subject>/output.json` lists (`id`, `question_type`,
    /// `answer`, `all_choices`, `index2ans`, `response`), one such file, or the eval-only
    /// `{id: prediction}` object with `--answers answer_dict_val.json`.
    Mmmu,
    /// The official MathVista output: a JSON object by `pid` (`response`, `answer`, `choices`,
    /// `question_type`, `answer_type`, `precision`, `query`, and the judge's `extraction` when it
    /// ran, which is then scored in place of our rule-based extraction).
    Mathvista,
}

impl Format {
    /// The harness's name, as runs record it.
    pub fn name(self) -> &'static str {
        match self {
            Format::LmmsEval => "lmms-eval",
            Format::Vlmevalkit => "vlmevalkit",
            Format::Mmmu => "mmmu-official",
            Format::Mathvista => "mathvista-official",
        }
    }

    /// The metric profile that reproduces the harness's own scoring.
    pub fn metric_profile(self) -> MetricProfile {
        match self {
            Format::LmmsEval => MetricProfile::LmmsEval,
            Format::Vlmevalkit => MetricProfile::VlmEvalKit,
            Format::Mmmu | Format::Mathvista => MetricProfile::Official,
        }
    }

    /// The prompt profile whose prompts the harness sends, where the task defines it.
    fn prompt_profile(self) -> Option<&'static str> {
        match self {
            Format::LmmsEval => Some("lmms-eval"),
            Format::Vlmevalkit => Some("vlmevalkit-smolvlm"),
            Format::Mmmu | Format::Mathvista => None,
        }
    }
}

/// One prediction read from another harness's file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Imported {
    /// The data set's id of the sample (the task's id column), else its row index as text.
    pub sample_id: String,
    /// Its row index in the split, where the file says (else its position in the file).
    pub index: usize,
    /// The prompt text the harness sent, where the file keeps it.
    pub prompt: String,
    /// The raw prediction.
    pub prediction: String,
    /// The reference answers.
    pub references: Vec<String>,
    /// Choices and the fields the metric reads.
    pub context: ScoringContext,
    /// Categories by breakdown name, where the file has them.
    pub breakdown: BTreeMap<String, String>,
}

/// What `bench import` was asked to do.
#[derive(Debug)]
pub struct ImportRequest<'a> {
    /// The file's layout.
    pub format: Format,
    /// The file (or, for MMMU, a folder of subject folders).
    pub input: &'a Path,
    /// The task the predictions answer.
    pub task: Task,
    /// The run directory to write.
    pub out: &'a Path,
    /// The model's name, as the run records it.
    pub model: &'a str,
    /// For MMMU's eval-only file: the official `answer_dict_val.json`.
    pub answers: Option<&'a Path>,
}

/// What an import wrote.
#[derive(Debug)]
pub struct ImportOutcome {
    /// The records written.
    pub records: Vec<SampleRecord>,
    /// The run's summary.
    pub summary: smolbench_reports::RunSummary,
}

/// Reads `request.input` and writes it as a run directory at `request.out`.
pub fn import(request: ImportRequest<'_>) -> Result<ImportOutcome> {
    let ImportRequest { format, input, task, out, model, answers } = request;
    let samples = match format {
        Format::LmmsEval => lmms_eval::read(input, &task)?,
        Format::Vlmevalkit => vlmevalkit::read(input, &task)?,
        Format::Mmmu => mmmu::read(input, answers)?,
        Format::Mathvista => mathvista::read(input)?,
    };
    if samples.is_empty() {
        bail!("{}: no predictions found; is it a {} file?", input.display(), format.name());
    }
    let mut task = task;
    if let Some(profile) = format.prompt_profile().filter(|p| task.prompt_profiles().contains(p)) {
        task = task.with_prompt_profile(profile)?;
    }
    let task = task.with_profile(format.metric_profile());
    let manifest = manifest(format, input, &task, model, samples.len(), out);
    let records: Vec<SampleRecord> = samples.into_iter().map(|s| record(&task, s)).collect();
    let (records, _) = crate::rescore::rescore_records(std::slice::from_ref(&task), &records)?;
    let mut store = RunStore::create(out, &manifest)?;
    for record in &records {
        store.append(record)?;
    }
    let summary = smolbench_reports::summarise_run(&manifest.run_id, &records);
    store.finish(&summary).context("writing summary.json")?;
    let aggregates = crate::aggregates::task_aggregates(std::slice::from_ref(&task), &records);
    crate::aggregates::write(out, crate::aggregates::AGGREGATES_FILE, &aggregates)?;
    Ok(ImportOutcome { records, summary })
}

fn record(task: &Task, sample: Imported) -> SampleRecord {
    SampleRecord {
        task: task.name().to_string(),
        sample_id: sample.sample_id,
        index: sample.index,
        status: SampleStatus::Ok,
        prompt: sample.prompt,
        references: sample.references,
        context: sample.context,
        breakdown: sample.breakdown,
        prediction: Some(sample.prediction),
        metric: task.metric().name.to_string(),
        ..SampleRecord::default()
    }
}

fn manifest(format: Format, input: &Path, task: &Task, model: &str, n: usize, out: &Path) -> RunManifest {
    let source = std::fs::canonicalize(input).unwrap_or_else(|_| input.to_path_buf());
    RunManifest {
        format_version: STORE_FORMAT_VERSION,
        run_id: out.file_name().map_or_else(|| "imported".to_string(), |n| n.to_string_lossy().into_owned()),
        command: std::env::args().collect(),
        started_at: chrono::Utc::now().to_rfc3339(),
        suite: "imported".into(),
        model: ModelRecord {
            requested: model.to_string(),
            repo_id: smolbench_runners::model::lookup_alias(model).ok().and_then(|a| a.repo_id.map(str::to_string)),
            source_dir: format!("imported from {}", source.display()),
            prepared_dir: String::new(),
            prepare_changes: Vec::new(),
            files: Vec::new(),
            engine: format!("imported: {}", format.name()),
            dtype: "unknown".into(),
            tokens_per_image: 0,
            image_splitting: false,
            longest_edge: None,
            tile_size: 0,
            encoder_cache: false,
            engine_patch: None,
        },
        tasks: vec![TaskRecord {
            name: task.name().to_string(),
            version: task.version(),
            config: task.def().to_json(),
            data_dir: String::new(),
            data_revision: None,
            data_files: Vec::new(),
            available_samples: n,
            selected_samples: n,
            prompt_profile: format.prompt_profile().unwrap_or("unknown").to_string(),
            metric_profile: task.profile().name().to_string(),
            data_lock: format!("imported predictions ({})", source.display()),
        }],
        skipped_tasks: Vec::new(),
        smolbench_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("SMOLBENCH_GIT_COMMIT").map(str::to_string),
        device: DeviceFingerprint {
            compute: "unknown (imported)".into(),
            cpu_model: String::new(),
            cpu_cores: 0,
            ram_total_bytes: 0,
            gpus: Vec::new(),
            os: String::new(),
            hostname: String::new(),
        },
        data_source: format!("imported from {}", source.display()),
        limit: None,
        endpoints: Vec::new(),
        // Our rules score the imported predictions (a MathVista file's stored extraction stands
        // in for our extraction, not for a judge of ours).
        scoring: "rules".into(),
        judge: None,
    }
}

/// A JSON value as text: strings as they are, numbers and booleans as Python prints them, `null`
/// as nothing.
pub(crate) fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        other => Some(other.to_string()),
    }
}

/// References from a JSON value: a list, a Python list literal (`"['a', 'b']"`), or one value.
pub(crate) fn references_of(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items.iter().filter_map(json_text).collect(),
        other => json_text(other).map(|text| text_references(&text)).unwrap_or_default(),
    }
}

/// References from a cell's text: a Python list literal, else the text itself.
pub(crate) fn text_references(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    if trimmed.starts_with('[') {
        if let Ok(items) = parse_py_str_list(trimmed) {
            return items;
        }
    }
    vec![text.to_string()]
}

/// Reads a JSON file, naming it in errors.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

/// The files of a folder, sorted.
pub(crate) fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}
