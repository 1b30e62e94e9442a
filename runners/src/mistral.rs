//! The in-process runner: a SmolVLM model loaded by mistral.rs, answering with greedy decoding.
//!
//! Generation is always streamed, so time to first token is the wall-clock time of the first
//! chunk and decode speed comes from chunk timestamps, not from the engine's millisecond-rounded
//! usage figures. Token counts come from the usage of the final chunk; where a stream ends without
//! it, they are counted from the chunks and the record says so.
//!
//! The engine runs on its own thread; a panic there (a mistral.rs bug hit by one input) leaves a
//! dead engine. The runner notices (a closed channel, a stream that ends mid-answer, or a panic
//! reaching this side), fails that one request with the reason, reloads the model from its
//! prepared directory and answers the next request with the fresh engine. A hung engine, one that
//! sends no token within the per-sample deadline ([`RunnerOptions::sample_timeout`]), is treated
//! the same way. Stopping a run after too many failures in a row is the sample loop's job.
//!
//! Images never meet the engine's own resizing: the runner decodes and preprocesses them with
//! SmolBench's processor ([`crate::processor`], Pillow-exact), on a blocking worker and, when the
//! sample loop asks ([`MistralRsRunner::prefetch`]), while the engine still answers the previous
//! request; the patched engine takes the finished tiles through its hook. A record's
//! `preprocess_ms` is that work, `ttft_ms` the engine's part, and `e2e_ms` both.
//!
//! Each record also carries the request's CPU time ([`smolbench_core::CpuTime`]: the process's
//! CPU clock read at the same moments as the wall clock), the work done, which the regression
//! gate compares on CPU devices, where other jobs on the machine stretch wall-clock time. It is
//! left out when another request was in flight at the same time (a batch, a server).
//!
//! Timing hygiene: the patched engine keeps a vision-encoder cache keyed by image content, so a
//! repeated image skips the encoder and looks fast. The runner turns the cache off unless asked
//! ([`RunnerOptions::encoder_cache`]), and when it is on, reports the tiles the cache served for
//! each sample.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use either::Either;
use futures::FutureExt;
use image::GenericImageView;
use mistralrs::core::idefics3_encoder_cache;
use mistralrs::core::idefics3_image_hook::ProcessorSettings;
use mistralrs::{
    MessageContent, ModelDType, MultimodalLoaderType, MultimodalModelBuilder, RequestBuilder, RequestLike, Response,
    TextMessageRole, TextMessages, TokenSource,
};
use smolbench_core::{CpuTime, FinishReason, Generation, GenerationRequest};
use tokio::sync::RwLock;

use crate::device::ComputeDevice;
use crate::error::RunnerError;
use crate::inline_images::{inline_images, ChatMessages, RewrittenMessages};
use crate::model::PreparedModel;
use crate::processor::prefetch::{install_hook, prepare_images, PreparedImages};
use crate::processor::{settings_from_json, ImageProcessor};

/// Requests whose images are being prepared ahead; more are not started (the sample loop asks
/// for one sample ahead).
const PREFETCH_LIMIT: usize = 4;

type Prefetched = tokio::task::JoinHandle<Result<PreparedImages, RunnerError>>;

/// The engine's name and version, as recorded in runs.
pub const ENGINE: &str = "mistralrs 0.8.1";

/// The patch this build applies to mistralrs-core (see `runners/patches/`).
pub const ENGINE_PATCH_FILE: &str = "runners/patches/mistralrs-core-0.8.1-idefics3-split.patch";
const ENGINE_PATCH: &[u8] = include_bytes!("../patches/mistralrs-core-0.8.1-idefics3-split.patch");

/// The engine patch as recorded in runs: its file and SHA-256.
pub fn engine_patch() -> String {
    use sha2::{Digest, Sha256};
    format!("{ENGINE_PATCH_FILE} sha256:{}", hex::encode(Sha256::digest(ENGINE_PATCH)))
}

/// Test hook: the 1-based numbers (comma-separated) of the requests on which the runner sends
/// the engine a poisoned request (image parts stripped from the chat messages while the images stay
/// attached), which makes the mistral.rs 0.8.1 engine thread panic ("Incorrect chat template")
/// exactly as a real engine bug would. Only for tests of engine isolation.
pub const TEST_PANIC_ENV: &str = "SMOLBENCH_TEST_ENGINE_PANIC_AT";

/// How the runner drives the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunnerOptions {
    /// Keep the engine's vision-encoder cache on (repeated images skip the encoder); off by
    /// default so every sample's latency includes its encoder pass.
    pub encoder_cache: bool,
    /// The per-sample deadline: a request that gets no token from the engine for this long (a
    /// hung engine) fails, and the engine is reloaded as after a panic. `None`: no deadline.
    pub sample_timeout: Option<Duration>,
    /// The engine's scheduler limit (`max_num_seqs`): sequences it runs together, and requests
    /// the runner takes at once. 0 and 1 both mean one at a time.
    pub batch_size: usize,
}

impl RunnerOptions {
    /// The batch size, at least 1.
    pub fn max_batch(&self) -> usize {
        self.batch_size.max(1)
    }
}

/// Test hook: the 1-based numbers (comma-separated) of the requests on which the runner stops
/// reading the engine's stream after its first token, as a hung engine stops sending, so the
/// per-sample deadline ([`RunnerOptions::sample_timeout`]) fires. Only for tests.
pub const TEST_HANG_ENV: &str = "SMOLBENCH_TEST_ENGINE_HANG_AT";

fn request_numbers(var: &str) -> Vec<usize> {
    std::env::var(var).map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect()).unwrap_or_default()
}

struct Engine {
    model: Arc<mistralrs::Model>,
    /// Bumped on every reload, so concurrent callers restart a dead engine once.
    epoch: u64,
}

/// A loaded model.
pub struct MistralRsRunner {
    engine: RwLock<Engine>,
    prepared: PreparedModel,
    options: RunnerOptions,
    compute: ComputeDevice,
    dtype: &'static str,
    requests: AtomicUsize,
    restarts: AtomicUsize,
    panic_at: Vec<usize>,
    hang_at: Vec<usize>,
    /// The model's context in tokens, where the engine reports one.
    max_sequence_length: Option<usize>,
    /// The processor settings as the engine reads them, and SmolBench's processor for them.
    processor_settings: ProcessorSettings,
    processor: Arc<ImageProcessor>,
    /// Image preparation started ahead, by a hash of the request's encoded images.
    prefetched: Mutex<HashMap<u64, Prefetched>>,
}

impl std::fmt::Debug for MistralRsRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralRsRunner")
            .field("compute", &self.compute)
            .field("dtype", &self.dtype)
            .field("options", &self.options)
            .finish()
    }
}

/// Selects how prompt attention runs on the CPU: `kernel` (mistral.rs's own online-softmax
/// kernel, the default: its summation order matches torch's CPU attention, and greedy texts equal
/// transformers' in all 12 reference cases) or `matmul` (matrix products and a vectorised softmax:
/// no faster on an idle machine, and one reference case then differs in its last token).
pub const CPU_ATTENTION_ENV: &str = "SMOLBENCH_CPU_ATTENTION";

fn cpu_attention_matmul() -> bool {
    std::env::var(CPU_ATTENTION_ENV).is_ok_and(|v| v == "matmul")
}

/// The device this build computes on: CUDA 0 when built with the `cuda` feature, else the CPU.
pub fn default_compute_device() -> ComputeDevice {
    if cfg!(feature = "cuda") {
        ComputeDevice::Cuda(0)
    } else {
        ComputeDevice::Cpu
    }
}

async fn build_model(
    prepared: &PreparedModel,
    compute: ComputeDevice,
    options: RunnerOptions,
) -> Result<mistralrs::Model, RunnerError> {
    let mut builder = MultimodalModelBuilder::new(prepared.dir.to_string_lossy())
        .with_loader_type(MultimodalLoaderType::Idefics3)
        .with_token_source(TokenSource::None)
        .with_jinja_explicit(prepared.template.to_string_lossy().into_owned())
        .with_max_num_seqs(options.max_batch())
        .with_prefix_cache_n(None);
    builder = match compute {
        ComputeDevice::Cpu => builder.with_force_cpu().with_dtype(ModelDType::F32),
        ComputeDevice::Cuda(_) => builder.with_dtype(ModelDType::BF16),
    };
    builder.build().await.map_err(|e| RunnerError::Load {
        path: prepared.dir.clone(),
        reason: e.to_string().lines().next().unwrap_or_default().to_string(),
    })
}

fn dtype_name(compute: ComputeDevice) -> &'static str {
    match compute {
        ComputeDevice::Cpu => "f32",
        ComputeDevice::Cuda(_) => "bf16",
    }
}

impl MistralRsRunner {
    /// Loads a prepared model directory with the default options. On the CPU weights are F32
    /// (candle's CPU matmul has no BF16); on CUDA they are BF16.
    pub async fn load(prepared: &PreparedModel, compute: ComputeDevice) -> Result<Self, RunnerError> {
        Self::load_with(prepared, compute, RunnerOptions::default()).await
    }

    /// Loads a prepared model directory.
    pub async fn load_with(
        prepared: &PreparedModel,
        compute: ComputeDevice,
        options: RunnerOptions,
    ) -> Result<Self, RunnerError> {
        // The switch is process-wide; a process runs one model configuration.
        idefics3_encoder_cache::ENABLED.store(options.encoder_cache, Ordering::SeqCst);
        mistralrs::core::cpu_attention::MATMUL.store(cpu_attention_matmul(), Ordering::SeqCst);
        count_panics();
        let config_path = prepared.dir.join("preprocessor_config.json");
        let config: serde_json::Value = std::fs::read_to_string(&config_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .ok_or_else(|| RunnerError::BadModelConfig {
                path: config_path.clone(),
                problem: "missing or not valid JSON; the image processor needs it".into(),
            })?;
        let processor_settings = settings_from_json(&config);
        let processor = ImageProcessor::new(&processor_settings)
            .map_err(|e| RunnerError::BadModelConfig { path: config_path, problem: e.to_string() })?;
        install_hook();
        if crate::engine_steps::is_listening() {
            crate::engine_steps::enable_engine_reports();
        }
        let model = build_model(prepared, compute, options).await?;
        let max_sequence_length = model.max_sequence_length().ok().flatten();
        let panic_at = request_numbers(TEST_PANIC_ENV);
        Ok(MistralRsRunner {
            engine: RwLock::new(Engine { model: Arc::new(model), epoch: 0 }),
            prepared: prepared.clone(),
            options,
            compute,
            dtype: dtype_name(compute),
            requests: AtomicUsize::new(0),
            restarts: AtomicUsize::new(0),
            panic_at,
            hang_at: request_numbers(TEST_HANG_ENV),
            max_sequence_length,
            processor_settings,
            processor: Arc::new(processor),
            prefetched: Mutex::new(HashMap::new()),
        })
    }

    /// Starts decoding and preprocessing a request's images on a blocking worker, so that
    /// [`MistralRsRunner::generate`] finds them ready. Does nothing outside a Tokio runtime, for
    /// requests without images, or when enough requests are already being prepared.
    pub fn prefetch(&self, request: &GenerationRequest) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if request.images.is_empty() {
            return;
        }
        let mut prefetched = self.prefetched.lock().unwrap_or_else(|e| e.into_inner());
        if prefetched.len() >= PREFETCH_LIMIT {
            return;
        }
        let images = request.images.clone();
        let processor = self.processor.clone();
        prefetched
            .entry(request_key(request))
            .or_insert_with(|| runtime.spawn_blocking(move || prepare_images(&images, &processor)));
    }

    /// The request's images, decoded and preprocessed: from [`MistralRsRunner::prefetch`] when it
    /// started them, else now.
    async fn prepared_images(&self, request: &GenerationRequest) -> Result<PreparedImages, RunnerError> {
        if request.images.is_empty() {
            return Ok(PreparedImages { decoded: vec![], hashes: vec![], prepared: vec![], preprocess_ms: 0.0 });
        }
        let started = self.prefetched.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_key(request));
        let job = match started {
            Some(job) => job,
            None => {
                let (images, processor) = (request.images.clone(), self.processor.clone());
                tokio::task::spawn_blocking(move || prepare_images(&images, &processor))
            }
        };
        job.await.map_err(|e| RunnerError::Generation(format!("image preprocessing stopped: {e}")))?
    }

    /// Where the model computes.
    pub fn compute(&self) -> ComputeDevice {
        self.compute
    }

    /// The weights' dtype.
    pub fn dtype(&self) -> &'static str {
        self.dtype
    }

    /// The options the runner was loaded with.
    pub fn options(&self) -> RunnerOptions {
        self.options
    }

    /// How many times the engine was reloaded after dying.
    pub fn restarts(&self) -> usize {
        self.restarts.load(Ordering::SeqCst)
    }

    /// Answers one request. A dead engine fails this request with
    /// [`RunnerError::EngineRestarted`] (or [`RunnerError::EngineRestartFailed`]) after reloading
    /// it, so the next request runs on a fresh engine.
    pub async fn generate(&self, request: &GenerationRequest) -> Result<Generation, RunnerError> {
        self.generate_streaming(request, |_| {}).await
    }

    /// Answers one request, handing each streamed chunk's text to `on_chunk` as it arrives (an
    /// empty string for a chunk without text), so a server can forward the stream.
    pub async fn generate_streaming(
        &self,
        request: &GenerationRequest,
        mut on_chunk: impl FnMut(&str) + Send,
    ) -> Result<Generation, RunnerError> {
        let solo = crate::cpu_clock::Solo::begin();
        let cpu_start = crate::cpu_clock::process_cpu_ms();
        let prepared_images = self.prepared_images(request).await?;
        let preprocess_ms = prepared_images.preprocess_ms;
        let images = prepared_images.hand_over(&self.processor_settings);
        let layouts: Vec<_> = images
            .iter()
            .map(|img| {
                let (w, h) = img.dimensions();
                self.prepared.image_layout(w, h)
            })
            .collect();
        let image_tiles = layouts.iter().map(|l| l.tiles()).sum();
        let image_tokens: usize = layouts.iter().map(|l| l.image_tokens(self.prepared.image_seq_len)).sum();
        let image_marker_tokens: usize = layouts.iter().map(|l| l.marker_tokens()).sum();
        let number = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let poison = !images.is_empty() && self.panic_at.contains(&number);
        let pace = Pace { deadline: self.options.sample_timeout, hang: self.hang_at.contains(&number) };
        // A system turn goes first; the fixed template renders it as `System: ...`.
        let builder = match &request.system {
            Some(system) => RequestBuilder::new().add_message(TextMessageRole::System, system),
            None => RequestBuilder::new(),
        };
        let builder = if images.is_empty() {
            builder.add_message(TextMessageRole::User, &request.prompt)
        } else {
            builder.add_image_message(TextMessageRole::User, &request.prompt, images)
        };
        let builder = match &request.assistant_prefix {
            // The fixed template renders a final assistant message as the open assistant turn.
            Some(prefix) => builder.add_message(TextMessageRole::Assistant, prefix),
            None => builder,
        };

        let (model, epoch) = {
            let engine = self.engine.read().await;
            (engine.model.clone(), engine.epoch)
        };
        let budget = self.budget(&model, request, layouts.len(), image_tokens + image_marker_tokens).await?;
        let builder = builder.set_deterministic_sampler().set_sampler_max_len(budget);
        let hits_before = idefics3_encoder_cache::TILE_HITS.load(Ordering::SeqCst);
        let panics_before = PANICS.load(Ordering::SeqCst);
        let streamed = if poison {
            let poisoned = RewrittenMessages::new(builder, strip_image_parts);
            AssertUnwindSafe(stream(&model, poisoned, &mut on_chunk, pace)).catch_unwind().await
        } else if crate::inline_images::places_images_inline(&request.prompt, layouts.len()) {
            // One `<image>` marker per image (SmolVLM2's video prompt): images go at the markers.
            AssertUnwindSafe(stream(&model, inline_images(builder), &mut on_chunk, pace)).catch_unwind().await
        } else {
            AssertUnwindSafe(stream(&model, builder, &mut on_chunk, pace)).catch_unwind().await
        };
        let hits = idefics3_encoder_cache::TILE_HITS.load(Ordering::SeqCst) - hits_before;
        let result = match streamed {
            Err(panic) => Err(RunnerError::EngineDead(format!("panic: {}", panic_message(&panic)))),
            // The engine thread panicked while answering: whatever came back is not an answer
            // (a stream that just stops looks like one that ended on an incomplete character).
            Ok(result) if PANICS.load(Ordering::SeqCst) != panics_before => {
                Err(RunnerError::EngineDead(match result {
                    Ok(g) => format!("the engine panicked after {} tokens", g.completion_tokens),
                    Err(RunnerError::EngineDead(reason)) => format!("the engine panicked; {reason}"),
                    Err(e) => format!("the engine panicked: {e}"),
                }))
            }
            Ok(result) => result,
        };
        match result {
            Ok(mut generation) => {
                generation.image_tokens = image_tokens;
                generation.image_marker_tokens = image_marker_tokens;
                generation.preprocess_ms = (!layouts.is_empty()).then_some(preprocess_ms);
                generation.e2e_ms += preprocess_ms;
                generation.image_tiles = image_tiles;
                generation.encoder_cache_hits = self.options.encoder_cache.then_some(hits);
                generation.budget_capped_to = (budget < request.max_new_tokens).then_some(budget);
                // The process's CPU time belongs to this request only when it ran alone.
                let cpu_end = crate::cpu_clock::process_cpu_ms();
                generation.cpu = match (solo.end(), generation.cpu, cpu_start, cpu_end) {
                    (true, Some(cpu), Some(start), Some(end)) => Some(CpuTime { e2e_ms: end - start, ..cpu }),
                    _ => None,
                };
                Ok(generation)
            }
            Err(RunnerError::EngineDead(reason)) => {
                drop(model);
                Err(self.restart(epoch, reason).await)
            }
            Err(other) => Err(other),
        }
    }

    /// The token budget that fits: the request's, lowered to what the model's context leaves after
    /// the prompt. mistral.rs 0.8.1 compares only the generated length with the context, so a
    /// long budget after a long prompt runs past the position table and fails the sample.
    ///
    /// The prompt is measured by tokenizing its text through the chat template and adding each
    /// image's expansion (`image_tokens`: tiles, markers and placeholders); the few tokens where the image layout
    /// and the text layout differ are covered by a margin.
    async fn budget(
        &self,
        model: &mistralrs::Model,
        request: &GenerationRequest,
        n_images: usize,
        image_tokens: usize,
    ) -> Result<usize, RunnerError> {
        const LAYOUT_MARGIN: usize = 4;
        /// More than the chat template adds around the messages.
        const TEMPLATE_TOKENS: usize = 64;
        let Some(context) = self.max_sequence_length else { return Ok(request.max_new_tokens) };
        // A text never has more tokens than bytes, so most requests fit without asking the engine
        // to tokenize them.
        let text_bytes = request.prompt.len()
            + request.assistant_prefix.as_ref().map_or(0, String::len)
            + request.system.as_ref().map_or(0, String::len);
        if text_bytes + TEMPLATE_TOKENS + image_tokens + request.max_new_tokens <= context {
            return Ok(request.max_new_tokens);
        }
        let mut messages = TextMessages::new();
        if let Some(system) = &request.system {
            messages = messages.add_message(TextMessageRole::System, system);
        }
        let mut messages = messages.add_message(TextMessageRole::User, &request.prompt);
        if let Some(prefix) = &request.assistant_prefix {
            messages = messages.add_message(TextMessageRole::Assistant, prefix);
        }
        let text_tokens = model
            .tokenize(Either::Left(messages), None, true, true, None)
            .await
            .map_err(|e| classify(e.to_string()))?
            .len();
        // Each `<image>` placeholder of the text becomes the image's expansion.
        let prompt = text_tokens + image_tokens + LAYOUT_MARGIN - n_images.min(text_tokens);
        if prompt >= context {
            return Err(RunnerError::PromptTooLong { prompt_tokens: prompt, context });
        }
        Ok(request.max_new_tokens.min(context - prompt))
    }

    /// Reloads the engine that died during `failed_epoch` (unless another caller already did)
    /// and returns the error that fails the request.
    async fn restart(&self, failed_epoch: u64, reason: String) -> RunnerError {
        let mut engine = self.engine.write().await;
        if engine.epoch == failed_epoch {
            tracing::warn!("the mistral.rs engine died ({reason}); reloading {}", self.prepared.dir.display());
            match build_model(&self.prepared, self.compute, self.options).await {
                Ok(model) => {
                    engine.model = Arc::new(model);
                    engine.epoch += 1;
                    self.restarts.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => return RunnerError::EngineRestartFailed { reason, error: e.to_string() },
            }
        }
        RunnerError::EngineRestarted { reason, restarts: self.restarts() }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics in this process (the engine thread's included), keeping the previous hook's
/// output. A panic during a request means the engine that answered it cannot be trusted.
fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// How long the engine may go without a token, and whether the test hook makes it hang.
#[derive(Debug, Clone, Copy)]
struct Pace {
    deadline: Option<Duration>,
    hang: bool,
}

impl Pace {
    /// `work`, failed as a hung engine when it takes longer than the deadline.
    async fn within<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T, RunnerError> {
        match self.deadline {
            None => Ok(work.await),
            Some(deadline) => tokio::time::timeout(deadline, work).await.map_err(|_| {
                RunnerError::EngineDead(format!(
                    "it hung: no token for {} s (--sample-timeout)",
                    deadline.as_secs_f64()
                ))
            }),
        }
    }
}

/// Streams one request and measures it. Image figures are filled in by the caller.
async fn stream<R: RequestLike>(
    model: &mistralrs::Model,
    request: R,
    on_chunk: &mut (dyn FnMut(&str) + Send),
    pace: Pace,
) -> Result<Generation, RunnerError> {
    let start = Instant::now();
    let cpu_start = crate::cpu_clock::process_cpu_ms();
    let (mut cpu_first, mut cpu_last) = (None, None);
    let mut stream = pace.within(model.stream_chat_request(request)).await?.map_err(|e| classify(e.to_string()))?;
    let mut text = String::new();
    let mut chunks = 0usize;
    let (mut first, mut last) = (None, None);
    let mut finish_reason = FinishReason::Unknown;
    let mut usage = None;
    loop {
        let hang = pace.hang && chunks > 0;
        let next = pace
            .within(async {
                if hang {
                    // The test hook's hung sample: nothing more reaches the caller, but the
                    // stream is still drained, as the engine blocks on a full response channel
                    // (capacity 1) and would otherwise stall the other requests of its batch.
                    while stream.next().await.is_some() {}
                    std::future::pending::<()>().await;
                }
                stream.next().await
            })
            .await?;
        let Some(response) = next else { break };
        match response {
            Response::Chunk(chunk) => {
                let now = start.elapsed();
                let cpu_now = crate::cpu_clock::process_cpu_ms();
                first.get_or_insert(now);
                last = Some(now);
                cpu_first.get_or_insert(cpu_now);
                cpu_last = Some(cpu_now);
                chunks += 1;
                let before = text.len();
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
                on_chunk(&text[before..]);
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
    let cpu_end = crate::cpu_clock::process_cpu_ms();
    drop(stream);
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
    // The same figures in the process's CPU time (the caller extends e2e over the whole request).
    let cpu = match (cpu_start, cpu_first.flatten(), cpu_last.flatten(), cpu_end) {
        (Some(start), Some(first), Some(last), Some(end)) => Some(CpuTime {
            ttft_ms: first - start,
            e2e_ms: end - start,
            decode_tokens_per_s: (completion_tokens >= 2 && last > first)
                .then(|| (completion_tokens - 1) as f64 / ((last - first) / 1e3)),
        }),
        _ => None,
    };
    Ok(Generation {
        text,
        finish_reason,
        prompt_tokens,
        image_tokens: 0,
        image_marker_tokens: 0,
        completion_tokens,
        ttft_ms: first.as_secs_f64() * 1e3,
        e2e_ms: e2e.as_secs_f64() * 1e3,
        decode_tokens_per_s,
        usage_source: usage_source.to_string(),
        image_tiles: 0,
        encoder_cache_hits: None,
        budget_capped_to: None,
        preprocess_ms: None,
        cpu,
        machine: None,
    })
}

/// Identifies a request's images for the prefetch table.
fn request_key(request: &GenerationRequest) -> u64 {
    let mut hasher = DefaultHasher::new();
    for image in &request.images {
        image.bytes.hash(&mut hasher);
    }
    hasher.finish()
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

/// The [`TEST_PANIC_ENV`] hook's rewrite: every message's image parts removed while the request's
/// images stay attached. mistral.rs 0.8.1's Idefics3 input processor then
/// finds fewer `<image>` markers than images and panics on its engine thread.
fn strip_image_parts(messages: &mut ChatMessages) {
    for message in messages.iter_mut() {
        if let Some(content) = message.get_mut("content") {
            if let MessageContent::Right(parts) = content {
                let text: String = parts.iter().filter_map(|p| p.get("text").and_then(|t| t.as_str())).collect();
                *content = MessageContent::Left(text);
            }
        }
    }
}
