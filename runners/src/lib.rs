//! How a model answers: SmolVLM in-process through mistral.rs, or remote endpoints over HTTP.
//!
//! The pieces, in the order a run uses them:
//!
//! - [`model::resolve_model`] finds a model's files (an explicit directory, the Hugging Face
//!   cache, or the generated tiny checkpoint) and [`model::fetch_model`] downloads one.
//! - [`model::prepare_model_dir`] writes the normalised copy mistral.rs 0.8.1 can load and lists
//!   every change it made.
//! - [`model::split`] states the SmolVLM processor's image-splitting geometry (tiles, tokens).
//! - [`processor`] is the SmolVLM image processor itself (Pillow-exact tiles), run ahead of the
//!   engine and handed to it through the patched engine's hook.
//! - [`MistralRsRunner`] loads it and turns a [`smolbench_core::GenerationRequest`] into a
//!   [`smolbench_core::Generation`] with wall-clock timings, restarting an engine that died.
//! - [`OpenAiRunner`] sends the same requests to OpenAI-compatible endpoints instead; both
//!   implement [`Runner`], which the sample loop is generic over.
//!
//! The engine is mistralrs-core 0.8.1 with SmolBench's patch (`runners/patches/`), which makes
//! image splitting work and lets the encoder cache be switched off or counted.
//! - [`inline_images`]: a prompt with one `<image>` marker per image (SmolVLM2's video layout)
//!   gets its images at the markers rather than before the text.
//! - [`device::MemoryProbe`] measures a sample's peak memory, [`device::fingerprint`] the host,
//!   [`device::PeakSampler`] each device's peak over a stretch of work.
//! - [`engine_steps`] counts the batches the engine's scheduler really ran.
//!
//! A runner knows nothing of metrics: it returns text and measurements, and the task scores them.
//!
//! ```
//! use smolbench_runners::model::lookup_alias;
//! assert_eq!(lookup_alias("2.2b").unwrap().repo_id, Some("HuggingFaceTB/SmolVLM-Instruct"));
//! ```
#![deny(missing_docs)]

pub mod cpu_clock;
pub mod device;
pub mod engine_steps;
mod error;
pub mod inline_images;
mod mistral;
pub mod model;
pub mod openai;
pub mod processor;
mod runner;

pub use error::{did_you_mean, RunnerError};
pub use mistral::{
    default_compute_device, engine_patch, MistralRsRunner, RunnerOptions, CPU_ATTENTION_ENV, ENGINE, ENGINE_PATCH_FILE,
    TEST_HANG_ENV, TEST_PANIC_ENV,
};
pub use openai::{OpenAiConfig, OpenAiRunner};
pub use runner::{Reply, Runner, RunnerDescription};
