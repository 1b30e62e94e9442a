//! The runner abstraction: anything that turns a [`GenerationRequest`] into a [`Generation`].
//!
//! The sample loop is generic over [`Runner`], so the in-process mistral.rs model and a pool of
//! remote OpenAI-compatible endpoints are driven by the same code. A runner also says where the
//! work runs (for `run.json`) and how many requests it can usefully take at once.

use std::future::Future;

use smolbench_core::{Generation, GenerationRequest, MemoryReading};

use crate::error::RunnerError;

/// What came back for one request: the generation or the error, and the peak memory of the
/// device that did the work where the runner can know it.
#[derive(Debug)]
pub struct Reply {
    /// The generation, or why there is none.
    pub generation: Result<Generation, RunnerError>,
    /// Peak memory while the request ran: measured in this process for the in-process runner,
    /// reported by the server for endpoints that report it, `None` otherwise. Never the client's
    /// own memory dressed up as the model's.
    pub memory: Option<MemoryReading>,
}

/// How a runner describes itself in `run.json` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerDescription {
    /// The engine, e.g. `mistralrs 0.8.1` or `openai-compatible endpoints`.
    pub engine: String,
    /// Where the model computes: `cpu`, `cuda:0`, or `remote`.
    pub compute: String,
    /// Weight dtype, where known.
    pub dtype: String,
}

/// A model that answers requests.
pub trait Runner: Sync {
    /// Answers one request. Failures are values, not panics: the caller records them per sample.
    fn generate(&self, request: &GenerationRequest) -> impl Future<Output = Reply> + Send;

    /// The engine, device and dtype, for the run's manifest.
    fn describe(&self) -> RunnerDescription;

    /// Lets the runner start work for a request it will be asked soon (the in-process runner
    /// decodes and preprocesses its images while the engine answers the current one). Optional:
    /// the default does nothing, and `generate` never depends on it.
    fn prefetch(&self, _request: &GenerationRequest) {}

    /// How many requests may be in flight at once. The in-process engine says its batch size
    /// (1 unless asked: one sequence at a time, memory measured per sample); an endpoint pool
    /// says the sum of its endpoints' limits.
    fn max_concurrency(&self) -> usize;
}

impl Runner for crate::MistralRsRunner {
    async fn generate(&self, request: &GenerationRequest) -> Reply {
        // Requests that run together share the process: none may reset the peak under another.
        let probe = match self.options().max_batch() {
            1 => crate::device::MemoryProbe::new(self.compute()),
            _ => crate::device::MemoryProbe::sampling(self.compute()),
        };
        let watch = probe.start();
        let generation = crate::MistralRsRunner::generate(self, request).await;
        Reply { generation, memory: watch.finish() }
    }

    fn describe(&self) -> RunnerDescription {
        RunnerDescription {
            engine: crate::ENGINE.to_string(),
            compute: self.compute().to_string(),
            dtype: self.dtype().to_string(),
        }
    }

    fn prefetch(&self, request: &GenerationRequest) {
        crate::MistralRsRunner::prefetch(self, request)
    }

    fn max_concurrency(&self) -> usize {
        self.options().max_batch()
    }
}
