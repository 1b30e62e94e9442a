//! `bench serve`: the project's own OpenAI-compatible server over the in-process mistral.rs
//! runner, so a GPU node becomes an endpoint with one command.
//!
//! Routes: `GET /health` (open), and with the API key where one is set: `GET /v1/models`,
//! `POST /v1/chat/completions` (streamed or not), `GET /metrics` (the Prometheus text format) and
//! `GET /v1/metrics` (JSON: the device, its memory, the model record, request counts; local paths
//! only with `--show-paths`). Requests are converted into the same
//! [`smolbench_core::GenerationRequest`] the in-process path builds ([`convert`]), so predictions
//! match `bench run` exactly.
//!
//! Before a chat request reaches the engine it passes, in order: where it comes from and its key
//! ([`guard`]), the JSON content type, the body size (from `Content-Length`, before reading), the
//! admission queue ([`admission`]: 429 with `Retry-After` when full, 503 while draining), the
//! model name (404), the options this server honours (400), and the decoded-pixel budget read
//! from the images' headers ([`budget`]: 413 before decoding). Client errors are 4xx; the
//! endpoint runner neither retries them nor holds them against the server.
//!
//! The engine decodes one sequence at a time; admitted requests wait for it, which also makes each
//! request's peak-memory figure its own. A request whose client hangs up, waiting or running, is
//! cancelled (the engine stops the sequence at its next token). A streamed reply's headers go out
//! with its first token, so an image that does not decode or a prompt too long for the model is
//! still a 400. The final chunk (and the non-streamed reply) carries `usage` and a `smolbench`
//! object with the image tokens and that peak memory.

pub mod admission;
pub mod budget;
pub mod convert;
pub mod fake;
pub mod guard;
pub mod prometheus;
pub mod transport;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Body as _;
use smolbench_core::{DeviceFingerprint, FinishReason, Generation, MemoryReading, ModelRecord};
use smolbench_runners::device::{current_memory, gpu_usage, ComputeDevice, MemoryProbe};
use smolbench_runners::openai::wire::{
    ChatChunk, ChatCompletion, ChatRequest, Choice, ChunkChoice, Delta, ModelEntry, ModelList, ReplyMessage,
    ServerMeasurements, Usage,
};
use smolbench_runners::{MistralRsRunner, RunnerError};
use tokio::sync::mpsc;

use admission::{Admission, AdmissionLimits};
use guard::{Access, Refusal};
use transport::{Handler, Request, Response, Transport};

/// What one chat request may cost before it reaches the engine.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Pixels the request's images may decode to, together.
    pub max_pixels: u64,
}

/// The server's settings besides the model.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Who may call.
    pub access: Access,
    /// The admission queue.
    pub admission: AdmissionLimits,
    /// Per-request limits.
    pub limits: RequestLimits,
    /// Whether `/v1/metrics` shows where the model was loaded from.
    pub show_paths: bool,
}

/// How requests ended, for `/metrics`.
#[derive(Debug, Default)]
struct Outcomes {
    ok: AtomicU64,
    client_error: AtomicU64,
    server_error: AtomicU64,
    rejected: AtomicU64,
    cancelled: AtomicU64,
    ok_seconds_us: AtomicU64,
}

/// The server's state.
pub struct ServeState {
    runner: MistralRsRunner,
    model_id: String,
    model: ModelRecord,
    device: DeviceFingerprint,
    tokens_per_image: usize,
    settings: ServeSettings,
    admission: Admission,
    transport: Arc<Transport>,
    /// Requests on the engine at once: its batch size (the rest of the admitted wait here).
    gate: tokio::sync::Semaphore,
    started: Instant,
    outcomes: Outcomes,
    running: AtomicUsize,
    peak_request_bytes: AtomicU64,
    last_request_bytes: AtomicU64,
}

/// What the generation task tells the request: text as it comes, then the result.
enum Event {
    Text(String),
    Done(Box<Result<Generation, RunnerError>>, Option<MemoryReading>),
}

/// Counts the request on the engine while it runs (also when it is cancelled).
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Running(counter)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn refuse(refusal: Refusal) -> Response {
    match refusal.status {
        401 => transport::with_header(
            transport::error_with_code(401, "invalid_request_error", Some("invalid_api_key"), refusal.message),
            http::header::WWW_AUTHENTICATE,
            "Bearer",
        ),
        status => transport::error(status, "invalid_request_error", refusal.message),
    }
}

fn busy(status: u16, message: String, retry_after_s: u64) -> Response {
    let response = transport::error(status, "server_busy", message);
    transport::with_header(response, http::header::RETRY_AFTER, &retry_after_s.to_string())
}

impl ServeState {
    /// A server for a loaded model.
    pub fn new(
        runner: MistralRsRunner,
        model_id: String,
        model: ModelRecord,
        tokens_per_image: usize,
        settings: ServeSettings,
        transport: Arc<Transport>,
    ) -> Self {
        let device = smolbench_runners::device::fingerprint(runner.compute());
        let batch = runner.options().max_batch();
        ServeState {
            runner,
            model_id,
            model,
            device,
            tokens_per_image,
            admission: Admission::new(settings.admission),
            settings,
            transport,
            gate: tokio::sync::Semaphore::new(batch),
            started: Instant::now(),
            outcomes: Outcomes::default(),
            running: AtomicUsize::new(0),
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

    fn count(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn record_memory(&self, memory: Option<MemoryReading>) {
        if let Some(m) = memory {
            self.peak_request_bytes.fetch_max(m.peak_bytes, Ordering::Relaxed);
            self.last_request_bytes.store(m.peak_bytes, Ordering::Relaxed);
        }
    }

    /// The model record, without local paths unless `--show-paths`.
    fn model_json(&self) -> serde_json::Value {
        let mut model = serde_json::to_value(&self.model).unwrap_or_default();
        if !self.settings.show_paths {
            for field in ["source_dir", "prepared_dir"] {
                model[field] = serde_json::Value::String("(not shown; bench serve --show-paths)".into());
            }
        }
        model
    }

    fn metrics_json(&self) -> serde_json::Value {
        let current = current_memory(self.compute());
        let source = current.map(|m| m.source).unwrap_or(match self.compute() {
            ComputeDevice::Cpu => smolbench_core::MemorySource::ProcessRss,
            ComputeDevice::Cuda(_) => smolbench_core::MemorySource::GpuNvml,
        });
        let nonzero = |v: u64| (v > 0).then_some(v);
        let o = &self.outcomes;
        serde_json::json!({
            "engine": smolbench_runners::ENGINE,
            "model_id": self.model_id,
            "model": self.model_json(),
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
                "served": o.ok.load(Ordering::Relaxed),
                "failed": o.server_error.load(Ordering::Relaxed),
                "client_errors": o.client_error.load(Ordering::Relaxed),
                "rejected": o.rejected.load(Ordering::Relaxed),
                "cancelled": o.cancelled.load(Ordering::Relaxed),
                "running": self.running.load(Ordering::Relaxed),
                "admitted": self.admission.admitted(),
            },
            "connections": {
                "open": self.transport.open_connections(),
                "refused": self.transport.refused_connections(),
                "accept_errors": self.transport.accept_errors(),
            },
            "uptime_s": self.started.elapsed().as_secs_f64(),
        })
    }

    fn metrics_prometheus(&self) -> String {
        let mut page = prometheus::Page::new();
        let o = &self.outcomes;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        let compute = self.compute().to_string();
        page.family("smolbench_info", "gauge", "The engine and model this server runs (always 1).");
        page.sample(
            "smolbench_info",
            &[
                ("engine", smolbench_runners::ENGINE),
                ("model", &self.model_id),
                ("compute", &compute),
                ("dtype", self.runner.dtype()),
            ],
            1.0,
        );
        let requests = "smolbench_requests_total";
        page.family(
            requests,
            "counter",
            "Chat requests by outcome: ok, client_error (4xx about the request), server_error, rejected (key, origin, queue full, draining), cancelled (the client hung up).",
        );
        page.sample(requests, &[("outcome", "ok")], load(&o.ok));
        page.sample(requests, &[("outcome", "client_error")], load(&o.client_error));
        page.sample(requests, &[("outcome", "server_error")], load(&o.server_error));
        page.sample(requests, &[("outcome", "rejected")], load(&o.rejected));
        page.sample(requests, &[("outcome", "cancelled")], load(&o.cancelled));
        page.single(
            "smolbench_request_seconds_sum",
            "counter",
            "Seconds the successful requests spent on the engine.",
            o.ok_seconds_us.load(Ordering::Relaxed) as f64 / 1e6,
        );
        page.single(
            "smolbench_requests_running",
            "gauge",
            "Requests on the engine now.",
            self.running.load(Ordering::Relaxed) as f64,
        );
        page.single(
            "smolbench_requests_admitted",
            "gauge",
            "Requests admitted now (running or waiting for the engine).",
            self.admission.admitted() as f64,
        );
        page.single(
            "smolbench_queue_capacity",
            "gauge",
            "Requests that may be admitted at once (--max-queue).",
            self.admission.capacity() as f64,
        );
        page.single(
            "smolbench_connections_open",
            "gauge",
            "Open client connections.",
            self.transport.open_connections() as f64,
        );
        page.single(
            "smolbench_connections_refused_total",
            "counter",
            "Connections closed on arrival because --max-connections were open.",
            self.transport.refused_connections() as f64,
        );
        page.single(
            "smolbench_accept_errors_total",
            "counter",
            "Failed accepts (for example, out of file descriptors); the server waits and goes on.",
            self.transport.accept_errors() as f64,
        );
        if let Some(m) = current_memory(self.compute()) {
            page.single(
                "smolbench_memory_bytes",
                "gauge",
                "Memory the server holds now (RSS on the CPU, GPU memory on CUDA).",
                m.peak_bytes as f64,
            );
        }
        page.single(
            "smolbench_request_peak_memory_bytes",
            "gauge",
            "The highest peak memory of one request so far.",
            self.peak_request_bytes.load(Ordering::Relaxed) as f64,
        );
        page.single(
            "smolbench_draining",
            "gauge",
            "1 while the server drains before stopping.",
            f64::from(u8::from(self.transport.draining())),
        );
        page.single(
            "smolbench_uptime_seconds",
            "gauge",
            "Seconds since the server started.",
            self.started.elapsed().as_secs_f64(),
        );
        page.finish()
    }

    /// The reply for a generation error: 400 when the request is at fault, 500 otherwise.
    fn generation_error(&self, error: &RunnerError) -> Response {
        if error.is_request_fault() {
            transport::error(400, "invalid_request_error", error.to_string())
        } else {
            transport::error(500, "server_error", error.to_string())
        }
    }

    /// Everything a chat request passes before the engine; whether it streams, the request for the
    /// engine (the body and its JSON are dropped by then) and its admission, or the reply refusing it.
    async fn admit_chat(
        &self,
        request: Request,
    ) -> Result<(bool, smolbench_core::GenerationRequest, admission::Ticket), Response> {
        let rejected = |response: Response| {
            self.count(&self.outcomes.rejected);
            response
        };
        let client_error = |refusal: Refusal| {
            self.count(&self.outcomes.client_error);
            refuse(refusal)
        };
        if self.transport.draining() {
            let response = busy(503, "the server is shutting down; send the request to another server".into(), 5);
            return Err(rejected(transport::with_header(response, http::header::CONNECTION, "close")));
        }
        guard::check_json_content_type(request.headers()).map_err(client_error)?;
        let max_body = self.settings.limits.max_body_bytes;
        let declared = request.body().size_hint().exact().map(|n| n as usize);
        if let Some(length) = declared.filter(|n| *n > max_body) {
            return Err(client_error(Refusal {
                status: 413,
                message: format!(
                    "the body is {length} bytes, over this server's limit of {max_body} (bench serve --max-body-mb)"
                ),
            }));
        }
        let ticket = self
            .admission
            .try_admit(declared.unwrap_or(max_body))
            .map_err(|b| rejected(busy(429, b.message, b.retry_after_s)))?;
        let body = match Limited::new(request.into_body(), max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(client_error(Refusal {
                    status: 413,
                    message: format!(
                        "the body is over this server's limit of {max_body} bytes (bench serve --max-body-mb)"
                    ),
                }))
            }
            Err(e) => {
                return Err(client_error(Refusal { status: 400, message: format!("the body could not be read: {e}") }))
            }
        };
        let chat: ChatRequest = serde_json::from_slice(&body).map_err(|e| {
            client_error(Refusal { status: 400, message: format!("the body is not a chat request: {e}") })
        })?;
        drop(body);
        if !chat.model.is_empty() && chat.model != self.model_id {
            self.count(&self.outcomes.client_error);
            return Err(transport::error_with_code(
                404,
                "invalid_request_error",
                Some("model_not_found"),
                format!(
                    "the model `{}` does not exist here; this server serves `{}` (GET /v1/models)",
                    chat.model, self.model_id
                ),
            ));
        }
        let generation =
            convert::to_generation_request(&chat).map_err(|message| client_error(Refusal { status: 400, message }))?;
        let stream = chat.stream;
        drop(chat);
        budget::check_pixels(&generation.images, self.settings.limits.max_pixels).map_err(client_error)?;
        Ok((stream, generation, ticket))
    }

    async fn chat(self: &Arc<Self>, request: Request) -> Response {
        let (stream, generation, ticket) = match self.admit_chat(request).await {
            Ok(admitted) => admitted,
            Err(response) => return response,
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let state = self.clone();
        tokio::spawn(async move {
            let _ticket = ticket;
            let work = state.generate(&generation, |text| {
                if !text.is_empty() {
                    let _ = tx.send(Event::Text(text.to_string()));
                }
            });
            tokio::select! {
                (result, memory) = work => {
                    let _ = tx.send(Event::Done(Box::new(result), memory));
                }
                _ = tx.closed() => {
                    state.count(&state.outcomes.cancelled);
                    tracing::info!("a client hung up; its request was cancelled");
                }
            }
        });
        let id = format!("chatcmpl-{}", uuid_like());
        let created = chrono::Utc::now().timestamp().max(0) as u64;
        // Nothing is sent before the engine has taken the request and produced a token (or
        // refused it), so a request's own faults are still answered with a status.
        let first = match rx.recv().await {
            Some(event) => event,
            None => return transport::error(500, "server_error", "the request was dropped before it ran"),
        };
        if let Event::Done(result, memory) = &first {
            match &**result {
                Err(e) => return self.generation_error(e),
                Ok(generation) if !stream => return self.completion(&id, created, generation, *memory),
                Ok(_) => {}
            }
        }
        if !stream {
            loop {
                match rx.recv().await {
                    Some(Event::Done(result, memory)) => {
                        return match *result {
                            Ok(generation) => self.completion(&id, created, &generation, memory),
                            Err(e) => self.generation_error(&e),
                        }
                    }
                    Some(Event::Text(_)) => {}
                    None => return transport::error(500, "server_error", "the request was dropped before it ended"),
                }
            }
        }
        let mut sse = Sse { rx, state: self.clone(), id, created, pending: VecDeque::new(), over: false };
        sse.push_chunk(Delta { role: Some("assistant".into()), content: Some(String::new()) }, None, None, None);
        sse.push(first);
        transport::events(futures::stream::unfold(sse, |mut sse| async move {
            loop {
                if let Some(bytes) = sse.pending.pop_front() {
                    return Some((bytes, sse));
                }
                if sse.over {
                    return None;
                }
                match sse.rx.recv().await {
                    Some(event) => sse.push(event),
                    None => sse.over = true,
                }
            }
        }))
    }

    fn completion(&self, id: &str, created: u64, generation: &Generation, memory: Option<MemoryReading>) -> Response {
        transport::json(
            200,
            &ChatCompletion {
                id: id.to_string(),
                object: "chat.completion".into(),
                created,
                model: self.model_id.clone(),
                choices: vec![Choice {
                    index: 0,
                    message: ReplyMessage { role: "assistant".into(), content: Some(generation.text.clone()) },
                    finish_reason: finish_reason(generation.finish_reason),
                }],
                usage: Self::usage(generation),
                smolbench: Some(self.measurements(generation, memory)),
            },
        )
    }

    /// Runs one request on the engine, up to its batch size at a time, measuring its peak memory
    /// (sampled without resetting the process's peak when requests overlap). Dropped while
    /// waiting or running (its client hung up), it gives up its turn and the engine cancels it.
    async fn generate(
        &self,
        request: &smolbench_core::GenerationRequest,
        on_chunk: impl FnMut(&str) + Send,
    ) -> (Result<Generation, RunnerError>, Option<MemoryReading>) {
        let _turn = self.gate.acquire().await.expect("the gate is never closed");
        let _running = Running::enter(&self.running);
        let start = Instant::now();
        let probe = match self.runner.options().max_batch() {
            1 => MemoryProbe::new(self.compute()),
            _ => MemoryProbe::sampling(self.compute()),
        };
        let watch = probe.start();
        let result = self.runner.generate_streaming(request, on_chunk).await;
        let memory = watch.finish();
        let took = start.elapsed();
        self.admission.record_service(took);
        self.record_memory(memory);
        match &result {
            Ok(_) => {
                self.count(&self.outcomes.ok);
                self.outcomes.ok_seconds_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
            }
            Err(e) if e.is_request_fault() => self.count(&self.outcomes.client_error),
            Err(e) => {
                self.count(&self.outcomes.server_error);
                tracing::warn!("request failed: {e}");
            }
        }
        (result, memory)
    }
}

/// A request id: the time and a per-process counter.
fn uuid_like() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{:x}-{}", chrono::Utc::now().timestamp_micros(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A streamed reply being written: events become `data:` lines.
struct Sse {
    rx: mpsc::UnboundedReceiver<Event>,
    state: Arc<ServeState>,
    id: String,
    created: u64,
    pending: VecDeque<Bytes>,
    over: bool,
}

impl Sse {
    fn push_chunk(
        &mut self,
        delta: Delta,
        finish_reason: Option<String>,
        usage: Option<Usage>,
        smolbench: Option<ServerMeasurements>,
    ) {
        let chunk = ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.state.model_id.clone(),
            choices: vec![ChunkChoice { index: 0, delta, finish_reason }],
            usage,
            smolbench,
        };
        let line = format!("data: {}\n\n", serde_json::to_string(&chunk).unwrap_or_default());
        self.pending.push_back(Bytes::from(line));
    }

    fn push(&mut self, event: Event) {
        match event {
            Event::Text(text) => self.push_chunk(Delta { role: None, content: Some(text) }, None, None, None),
            Event::Done(result, memory) => {
                match *result {
                    Ok(generation) => {
                        let measurements = self.state.measurements(&generation, memory);
                        let finish = finish_reason(generation.finish_reason);
                        self.push_chunk(Delta::default(), finish, ServeState::usage(&generation), Some(measurements));
                        self.pending.push_back(Bytes::from_static(b"data: [DONE]\n\n"));
                    }
                    Err(e) => {
                        let body = serde_json::json!({"error": {"message": e.to_string(), "type": "server_error"}});
                        self.pending.push_back(Bytes::from(format!("data: {body}\n\n")));
                    }
                }
                self.over = true;
            }
        }
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

const ROUTES: [&str; 5] = ["/health", "/v1/models", "/metrics", "/v1/metrics", "/v1/chat/completions"];

impl Handler for Routes {
    async fn handle(&self, request: Request) -> Response {
        let state = &self.0;
        let method = request.method().as_str().to_string();
        let path = request.uri().path().trim_end_matches('/').to_string();
        if let Err(refusal) = state.settings.access.check_origin(request.headers()) {
            state.count(&state.outcomes.rejected);
            return refuse(refusal);
        }
        if (method.as_str(), path.as_str()) == ("GET", "/health") {
            return if state.transport.draining() {
                transport::json(503, &serde_json::json!({"status": "draining"}))
            } else {
                transport::json(200, &serde_json::json!({"status": "ok"}))
            };
        }
        if let Err(refusal) = state.settings.access.check_key(request.headers()) {
            state.count(&state.outcomes.rejected);
            return refuse(refusal);
        }
        match (method.as_str(), path.as_str()) {
            ("GET", "/v1/models") => transport::json(
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
            ("GET", "/metrics") => transport::full(200, prometheus::CONTENT_TYPE, state.metrics_prometheus()),
            ("GET", "/v1/metrics") => transport::json(200, &state.metrics_json()),
            ("POST", "/v1/chat/completions") => state.chat(request).await,
            (_, p) if ROUTES.contains(&p) => {
                transport::error(405, "invalid_request_error", format!("{method} is not allowed on {path}"))
            }
            _ => transport::error(
                404,
                "invalid_request_error",
                format!("no route {path}; try /health, /v1/models, /v1/chat/completions, /metrics, /v1/metrics"),
            ),
        }
    }
}
