//! One sample's result: the line appended to `samples.jsonl` when the sample finishes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Generation;

/// Whether a sample produced a scored answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleStatus {
    /// The model answered and the answer was scored.
    Ok,
    /// The sample could not be answered (engine error, unreadable image...). It is never scored
    /// as a wrong answer: aggregates leave it out and count it separately. The default: a record
    /// starts unanswered.
    #[default]
    Failed,
}

/// One step of turning a raw generation into the string that was scored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExtractionStep {
    /// The step's name, e.g. `strip` or `anls_normalise`.
    pub step: String,
    /// The text after this step.
    pub output: String,
}

/// Where a memory figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemorySource {
    /// Peak resident set size of this process (Linux `VmHWM`, reset before each sample).
    ProcessRss,
    /// Peak GPU memory used by this process, sampled through NVML.
    GpuNvml,
}

/// Peak memory during one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReading {
    /// Peak bytes in use during the sample.
    pub peak_bytes: u64,
    /// What was measured.
    pub source: MemorySource,
}

/// What scoring needs besides the prediction and the references. It is stored with each record,
/// so a score can be recomputed from the record alone (`bench rescore`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScoringContext {
    /// Answer options in order (option A first), for multiple-choice tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Other named fields a metric reads (e.g. OCRBench's `dataset`, MathVista's `answer_type`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// Which frames of which video a video task's sample showed the model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VideoProvenance {
    /// The video file or frame folder, relative to the data set's folder.
    pub path: String,
    /// The window cut from it, in seconds, for a row about part of a recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<(f64, f64)>,
    /// The frames shown, as indices into the file (or the folder's frames), in order.
    pub frames: Vec<usize>,
    /// The video's frame rate (frames per second).
    pub fps: f64,
}

/// A sample's full record. Field names are the store's public format. The default is an empty,
/// unanswered record (for building records field by field, as tests do).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SampleRecord {
    /// The task this sample belongs to.
    pub task: String,
    /// The sample's id within the task (the data set's own id column).
    pub sample_id: String,
    /// Position of the sample in the task's data order.
    pub index: usize,
    /// Whether the sample was answered and scored.
    pub status: SampleStatus,
    /// The system turn sent before the prompt, where the prompt profile has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The prompt text sent to the model (the user turn, without the chat template).
    pub prompt: String,
    /// Text the assistant turn was pre-filled with (part of the prompt; not in the prediction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_prefix: Option<String>,
    /// Number of images sent with the prompt.
    pub n_images: usize,
    /// For a video task: the video and the frames among those images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoProvenance>,
    /// Reference answers.
    pub references: Vec<String>,
    /// Choices and fields the metric reads.
    #[serde(default)]
    pub context: ScoringContext,
    /// Categories the sample belongs to, by breakdown name (e.g. `subject` -> `Art`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breakdown: BTreeMap<String, String>,
    /// The raw model output; `None` when the sample failed before any output.
    pub prediction: Option<String>,
    /// The string that was scored, after extraction.
    pub extracted: Option<String>,
    /// How the raw prediction became the scored string.
    pub extraction_trace: Vec<ExtractionStep>,
    /// The metric's name, e.g. `anls`.
    pub metric: String,
    /// The score in [0, 1]; `None` for failed samples.
    pub score: Option<f64>,
    /// Timings and token counts; `None` for failed samples.
    pub generation: Option<Generation>,
    /// Peak memory during the sample.
    pub memory: Option<MemoryReading>,
    /// The error, for failed samples.
    pub error: Option<String>,
    /// The LLM judge's part, where a judge was asked about this sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<JudgeRecord>,
}

/// What an LLM judge was asked about a sample and what it said.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JudgeRecord {
    /// The judge (`mathvista-extraction`, `vlmevalkit-mcq`).
    pub rule: String,
    /// The judge's model id.
    pub model: String,
    /// The prompt sent, word for word.
    pub prompt: String,
    /// The judge's reply; `None` where asking failed.
    pub reply: Option<String>,
    /// Whether the reply came from the run's judge cache instead of the server.
    #[serde(default)]
    pub cached: bool,
    /// Whether the reply was read into an answer; an unreadable reply leaves the rule-based score.
    #[serde(default)]
    pub used: bool,
    /// Why asking failed, where it did (the sample keeps its rule-based score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
