//! Shared record types of SmolBench.
//!
//! Every crate of the workspace speaks in these types, so that a task never needs to know which
//! runner answered it and a runner never needs to know how its answer is scored:
//!
//! - [`GenerationRequest`]: what a task asks of a model (a prompt, images, a token budget).
//! - [`Generation`]: what a runner gives back (the text and its timings and token counts).
//! - [`SampleRecord`]: one line of a run's `samples.jsonl`, written as soon as a sample ends.
//! - [`RunManifest`]: the run's `run.json`, everything needed to say what produced the numbers.
//! - [`perf::PerfResult`]: a performance sweep's `perf.json`.
//!
//! ```
//! use smolbench_core::GenerationRequest;
//! let req = GenerationRequest {
//!     prompt: "What is the total?".into(),
//!     max_new_tokens: 32,
//!     ..Default::default()
//! };
//! assert_eq!(req.max_new_tokens, 32);
//! ```
#![deny(missing_docs)]

pub mod aggregates;
pub mod collate;
mod generation;
mod manifest;
pub mod markup;
mod paths;
pub mod perf;
mod record;
mod suggest;

pub use aggregates::{AggregateRecord, CategoryScore};
pub use generation::{CpuTime, EncodedImage, FinishReason, Generation, GenerationRequest, MachineLoad};
pub use manifest::{
    DeviceFingerprint, EndpointRecord, FileHash, GpuInfo, JudgeInfo, ModelRecord, RunManifest, SkippedTask, TaskRecord,
};
pub use paths::{hf_hub_dir, smolbench_home};
pub use record::{
    ExtractionStep, JudgeRecord, MemoryReading, MemorySource, SampleRecord, SampleStatus, ScoringContext,
    VideoProvenance,
};
pub use suggest::did_you_mean;

/// Version of the on-disk layout of a run directory (`run.json`, `samples.jsonl`, `summary.json`).
/// Bumped whenever a field changes meaning or is removed.
pub const STORE_FORMAT_VERSION: u32 = 1;
