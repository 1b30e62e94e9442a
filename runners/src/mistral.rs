//! The in-process runner: a SmolVLM model loaded by mistral.rs, answering with greedy decoding.
//!
//! Generation is always streamed, so time to first token is the wall-clock time of the first
//! chunk and decode speed comes from chunk timestamps, not from the engine's millisecond-rounded
//! usage figures. Token counts come from the usage of the final chunk; where a stream ends without
//! it, they are counted from the chunks and the record says so.

use std::time::Instant;

use mistralrs::{
    ModelDType, MultimodalLoaderType, MultimodalModelBuilder, RequestBuilder, Response, TextMessageRole, TokenSource,
};
use smolbench_core::{FinishReason, Generation, GenerationRequest};

use crate::device::ComputeDevice;
use crate::error::RunnerError;
use crate::model::PreparedModel;

/// The engine's name and version, as recorded in runs.
pub const ENGINE: &str = "mistralrs 0.8.1";

/// A loaded model.
pub struct MistralRsRunner {
    model: mistralrs::Model,
    tokens_per_image: usize,
    compute: ComputeDevice,
    dtype: &'static str,
}

impl std::fmt::Debug for MistralRsRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralRsRunner").field("compute", &self.compute).field("dtype", &self.dtype).finish()
    }
}

/// The device this build computes on: CUDA 0 when built with the `cuda` feature, else the CPU.
pub fn default_compute_device() -> ComputeDevice {
    if cfg!(feature = "cuda") {
        ComputeDevice::Cuda(0)
    } else {
        ComputeDevice::Cpu
    }
}

impl MistralRsRunner {
    /// Loads a prepared model directory. On the CPU weights are F32 (candle's CPU matmul has no
    /// BF16); on CUDA they are BF16.
    pub async fn load(prepared: &PreparedModel, compute: ComputeDevice) -> Result<Self, RunnerError> {
        let mut builder = MultimodalModelBuilder::new(prepared.dir.to_string_lossy())
            .with_loader_type(MultimodalLoaderType::Idefics3)
            .with_token_source(TokenSource::None)
            .with_jinja_explicit(prepared.template.to_string_lossy().into_owned())
            .with_max_num_seqs(1)
            .with_prefix_cache_n(None);
        let dtype = match compute {
            ComputeDevice::Cpu => {
                builder = builder.with_force_cpu().with_dtype(ModelDType::F32);
                "f32"
            }
            ComputeDevice::Cuda(_) => {
                builder = builder.with_dtype(ModelDType::BF16);
                "bf16"
            }
        };
        let model = builder.build().await.map_err(|e| RunnerError::Load {
            path: prepared.dir.clone(),
            reason: e.to_string().lines().next().unwrap_or_default().to_string(),
        })?;
        Ok(MistralRsRunner { model, tokens_per_image: prepared.tokens_per_image, compute, dtype })
    }

    /// Where the model computes.
    pub fn compute(&self) -> ComputeDevice {
        self.compute
    }

    /// The weights' dtype.
    pub fn dtype(&self) -> &'static str {
        self.dtype
    }

    /// Answers one request.
    pub async fn generate(&self, request: &GenerationRequest) -> Result<Generation, RunnerError> {
        let images = request
            .images
            .iter()
            .enumerate()
            .map(|(index, img)| {
                image::load_from_memory(&img.bytes).map_err(|e| RunnerError::Image { index, reason: e.to_string() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n_images = images.len();
        let builder = if images.is_empty() {
            RequestBuilder::new().add_message(TextMessageRole::User, &request.prompt)
        } else {
            RequestBuilder::new().add_image_message(TextMessageRole::User, &request.prompt, images)
        };
        let builder = builder.set_deterministic_sampler().set_sampler_max_len(request.max_new_tokens);

        let start = Instant::now();
        // One `<image>` marker per image (SmolVLM2's video prompt): images go at the markers.
        let stream = if crate::inline_images::places_images_inline(&request.prompt, n_images) {
            self.model.stream_chat_request(crate::inline_images::InlineImages(builder)).await
        } else {
            self.model.stream_chat_request(builder).await
        };
        let mut stream = stream.map_err(|e| classify(e.to_string()))?;
        let mut text = String::new();
        let mut chunks = 0usize;
        let (mut first, mut last) = (None, None);
        let mut finish_reason = FinishReason::Unknown;
        let mut usage = None;
        while let Some(response) = stream.next().await {
            match response {
                Response::Chunk(chunk) => {
                    let now = start.elapsed();
                    first.get_or_insert(now);
                    last = Some(now);
                    chunks += 1;
                    for choice in &chunk.choices {
                        if let Some(content) = &choice.delta.content {
                            text.push_str(content);
                        }
                        finish_reason = match choice.finish_reason.as_deref() {
                            Some("stop") => FinishReason::Stop,
                            Some("length") => FinishReason::Length,
                            _ => finish_reason,
                        };
                    }
                    if chunk.usage.is_some() {
                        usage = chunk.usage;
                    }
                }
                Response::ModelError(msg, _) => return Err(RunnerError::Generation(msg)),
                Response::InternalError(e) | Response::ValidationError(e) => return Err(classify(e.to_string())),
                _ => return Err(RunnerError::Generation("the engine sent a response that is not a chat chunk".into())),
            }
        }
        let e2e = start.elapsed();
        let Some(first) = first else {
            return Err(RunnerError::EngineDead("the stream ended before any token".into()));
        };
        let last = last.unwrap_or(first);
        let (prompt_tokens, completion_tokens, usage_source) = match &usage {
            Some(u) => (u.prompt_tokens, u.completion_tokens, "engine"),
            None => (0, chunks, "counted"),
        };
        let decode_window = (last - first).as_secs_f64();
        let decode_tokens_per_s =
            (completion_tokens >= 2 && decode_window > 0.0).then(|| (completion_tokens - 1) as f64 / decode_window);
        Ok(Generation {
            text,
            finish_reason,
            prompt_tokens,
            image_tokens: n_images * self.tokens_per_image,
            completion_tokens,
            ttft_ms: first.as_secs_f64() * 1e3,
            e2e_ms: e2e.as_secs_f64() * 1e3,
            decode_tokens_per_s,
            usage_source: usage_source.to_string(),
        })
    }
}

/// A closed channel means the engine thread is gone (it panicked); anything else fails only the
/// sample.
fn classify(message: String) -> RunnerError {
    let first_line = message.lines().next().unwrap_or_default().to_string();
    if message.contains("channel closed") || message.contains("closed channel") || message.contains("SendError") {
        RunnerError::EngineDead(first_line)
    } else {
        RunnerError::Generation(first_line)
    }
}
