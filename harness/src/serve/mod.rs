//! `bench serve`: the project's own OpenAI-compatible server over the in-process mistral.rs
//! runner, so a GPU node becomes an endpoint with one command.
//!
//! Routes: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (streamed or not),
//! `GET /metrics` (also `/v1/metrics`: the device, its memory, the model record, request
//! counts). Requests are converted into the same [`smolbench_core::GenerationRequest`] the
//! in-process path builds ([`convert`]), so predictions match `bench run` exactly.
//!
//! The engine decodes one sequence at a time; requests queue for it, which also makes each
//! request's peak-memory figure its own. The final chunk (and the non-streamed reply) carries
//! `usage` and a `smolbench` object with the image tokens and that peak memory.

pub mod convert;
pub mod fake;
pub mod http;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use smolbench_core::{DeviceFingerprint, FinishReason, Generation, MemoryReading, ModelRecord};
use smolbench_runners::device::{current_memory, gpu_usage, ComputeDevice, MemoryProbe};
use smolbench_runners::openai::wire::{
    ChatChunk, ChatCompletion, ChatRequest, Choice, ChunkChoice, Delta, ModelEntry, ModelList, ReplyMessage,
    ServerMeasurements, Usage,
};
use smolbench_runners::MistralRsRunner;

use http::{Handler, Request, Response};

/// The server's state.
pub struct ServeState {
    runner: MistralRsRunner,
    model_id: String,
    model: ModelRecord,
    device: DeviceFingerprint,
    tokens_per_image: usize,
    /// Requests on the engine at once: its batch size.
    gate: tokio::sync::Semaphore,
    started: Instant,
    served: AtomicU64,
    failed: AtomicU64,
    in_flight: AtomicUsize,
    peak_request_bytes: AtomicU64,
    last_request_bytes: AtomicU64,
}

impl ServeState {
    /// A server for a loaded model.
    pub fn new(runner: MistralRsRunner, model_id: String, model: ModelRecord, tokens_per_image: usize) -> Self {
        let device = smolbench_runners::device::fingerprint(runner.compute());
        let batch = runner.options().max_batch();
        ServeState {
            runner,
            model_id,
            model,
            device,
            tokens_per_image,
            gate: tokio::sync::Semaphore::new(batch),
            started: Instant::now(),
            served: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            peak_request_bytes: AtomicU64::new(0),
            last_request_bytes: AtomicU64::new(0),
        }
    }

    fn compute(&self) -> ComputeDevice {
        self.runner.compute()
    }

    fn measurements(&self, generation: &Generation, memory: Option<MemoryReading>) -> ServerMeasurements {
        ServerMeasurements {
            image_tokens: Some(generation.image_tokens),
            image_marker_tokens: Some(generation.image_marker_tokens),
            preprocess_ms: generation.preprocess_ms,
            peak_memory_bytes: memory.map(|m| m.peak_bytes),
            memory_source: memory.map(|m| m.source),
            compute: Some(self.compute().to_string()),
            image_tiles: Some(generation.image_tiles),
            encoder_cache_hits: generation.encoder_cache_hits,
            budget_capped_to: generation.budget_capped_to,
        }
    }

    /// Usage only where the engine reported it; otherwise the client counts, as the in-process
    /// runner does.
    fn usage(generation: &Generation) -> Option<Usage> {
        (generation.usage_source == "engine").then(|| Usage {
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.completion_tokens,
            total_tokens: generation.prompt_tokens + generation.completion_tokens,
        })
    }

    fn record(&self, ok: bool, memory: Option<MemoryReading>) {
        if ok {
            self.served.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(m) = memory {
            self.peak_request_bytes.fetch_max(m.peak_bytes, Ordering::Relaxed);
            self.last_request_bytes.store(m.peak_bytes, Ordering::Relaxed);
        }
    }

    fn metrics(&self) -> serde_json::Value {
        let current = current_memory(self.compute());
        let source = current.map(|m| m.source).unwrap_or(match self.compute() {
            ComputeDevice::Cpu => smolbench_core::MemorySource::ProcessRss,
            ComputeDevice::Cuda(_) => smolbench_core::MemorySource::GpuNvml,
        });
        let nonzero = |v: u64| (v > 0).then_some(v);
        serde_json::json!({
            "engine": smolbench_runners::ENGINE,
            "model_id": self.model_id,
            "model": self.model,
            "compute": self.compute().to_string(),
            "dtype": self.runner.dtype(),
            "tokens_per_image": self.tokens_per_image,
            "device": self.device,
            "memory": {
                "source": source,
                "current_bytes": current.map(|m| m.peak_bytes),
                "peak_request_bytes": nonzero(self.peak_request_bytes.load(Ordering::Relaxed)),
                "last_request_bytes": nonzero(self.last_request_bytes.load(Ordering::Relaxed)),
            },
            "gpus": gpu_usage(),
            "requests": {
                "served": self.served.load(Ordering::Relaxed),
                "failed": self.failed.load(Ordering::Relaxed),
                "in_flight": self.in_flight.load(Ordering::Relaxed),
            },
            "uptime_s": self.started.elapsed().as_secs_f64(),
        })
    }

    async fn chat(self: &Arc<Self>, body: &[u8]) -> Response {
        let chat: ChatRequest = match serde_json::from_slice(body) {
            Ok(c) => c,
            Err(e) => {
                return Response::error(400, "invalid_request_error", format!("the body is not a chat request: {e}"))
            }
        };
        let request = match convert::to_generation_request(&chat) {
            Ok(r) => r,
            Err(e) => return Response::error(400, "invalid_request_error", e),
        };
        let id = format!("chatcmpl-{}", self.served.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed));
        let created = chrono::Utc::now().timestamp().max(0) as u64;
        if !chat.stream {
            let (result, memory) = self.generate(&request, |_| {}).await;
            return match result {
                Ok(generation) => Response::json(
                    200,
                    &ChatCompletion {
                        id,
                        object: "chat.completion".into(),
                        created,
                        model: self.model_id.clone(),
                        choices: vec![Choice {
                            index: 0,
                            message: ReplyMessage { role: "assistant".into(), content: Some(generation.text.clone()) },
                            finish_reason: finish_reason(generation.finish_reason),
                        }],
                        usage: Self::usage(&generation),
                        smolbench: Some(self.measurements(&generation, memory)),
                    },
                ),
                Err(e) => Response::error(500, "server_error", e.to_string()),
            };
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let state = self.clone();
        let model = self.model_id.clone();
        tokio::spawn(async move {
            let chunk = |choices: Vec<ChunkChoice>, usage, smolbench| ChatChunk {
                id: id.clone(),
                object: "chat.completion.chunk".into(),
                created,
                model: model.clone(),
                choices,
                usage,
                smolbench,
            };
            let event = |c: &ChatChunk| format!("data: {}\n\n", serde_json::to_string(c).unwrap_or_default());
            let _ = tx.send(event(&chunk(
                vec![ChunkChoice {
                    index: 0,
                    delta: Delta { role: Some("assistant".into()), content: Some(String::new()) },
                    finish_reason: None,
                }],
                None,
                None,
            )));
            let (result, memory) = state
                .generate(&request, |text| {
                    if !text.is_empty() {
                        let delta = Delta { role: None, content: Some(text.to_string()) };
                        let _ = tx.send(event(&chunk(
                            vec![ChunkChoice { index: 0, delta, finish_reason: None }],
                            None,
                            None,
                        )));
                    }
                })
                .await;
            match result {
                Ok(generation) => {
                    let last = ChunkChoice {
                        index: 0,
                        delta: Delta::default(),
                        finish_reason: finish_reason(generation.finish_reason),
                    };
                    let measurements = state.measurements(&generation, memory);
                    let _ = tx.send(event(&chunk(vec![last], Self::usage(&generation), Some(measurements))));
                    let _ = tx.send("data: [DONE]\n\n".to_string());
                }
                Err(e) => {
                    let body = serde_json::json!({"error": {"message": e.to_string(), "type": "server_error"}});
                    let _ = tx.send(format!("data: {body}\n\n"));
                }
            }
        });
        Response::Events(rx)
    }

    /// Runs one request on the engine, up to its batch size at a time, measuring its peak memory
    /// (sampled without resetting the process's peak when requests overlap).
    async fn generate(
        &self,
        request: &smolbench_core::GenerationRequest,
        on_chunk: impl FnMut(&str) + Send,
    ) -> (Result<Generation, smolbench_runners::RunnerError>, Option<MemoryReading>) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _turn = self.gate.acquire().await.expect("the gate is never closed");
        let probe = match self.runner.options().max_batch() {
            1 => MemoryProbe::new(self.compute()),
            _ => MemoryProbe::sampling(self.compute()),
        };
        let watch = probe.start();
        let result = self.runner.generate_streaming(request, on_chunk).await;
        let memory = watch.finish();
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.record(result.is_ok(), memory);
        if let Err(e) = &result {
            tracing::warn!("request failed: {e}");
        }
        (result, memory)
    }
}

fn finish_reason(reason: FinishReason) -> Option<String> {
    match reason {
        FinishReason::Stop => Some("stop".into()),
        FinishReason::Length => Some("length".into()),
        FinishReason::Unknown => None,
    }
}

/// The route table.
pub struct Routes(pub Arc<ServeState>);

impl Handler for Routes {
    async fn handle(&self, request: Request) -> Response {
        let state = &self.0;
        match (request.method.as_str(), request.path.trim_end_matches('/')) {
            ("GET", "/health") => Response::json(200, &serde_json::json!({"status": "ok"})),
            ("GET", "/v1/models") => Response::json(
                200,
                &ModelList {
                    object: "list".into(),
                    data: vec![ModelEntry {
                        id: state.model_id.clone(),
                        object: "model".into(),
                        owned_by: "smolbench".into(),
                    }],
                },
            ),
            ("GET", "/metrics") | ("GET", "/v1/metrics") => Response::json(200, &state.metrics()),
            ("POST", "/v1/chat/completions") => state.chat(&request.body).await,
            (_, "/health" | "/v1/models" | "/metrics" | "/v1/metrics" | "/v1/chat/completions") => Response::error(
                405,
                "invalid_request_error",
                format!("{} is not allowed on {}", request.method, request.path),
            ),
            _ => Response::error(
                404,
                "invalid_request_error",
                format!("no route {}; try /health, /v1/models, /v1/chat/completions, /metrics", request.path),
            ),
        }
    }
}
