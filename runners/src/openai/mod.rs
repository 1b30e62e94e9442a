//! The OpenAI-compatible runner: samples answered by one or more HTTP endpoints
//! (`bench serve`, mistral.rs's server, vLLM, llama.cpp...).
//!
//! Each request carries the task's prompt with its images as `data:` URLs, `temperature: 0`
//! (greedy) and the task's token budget, and is streamed, so time to first token is measured on
//! this side of the wire; token counts come from the final chunk's `usage` (or are counted from
//! the chunks when a server sends none). A failed attempt is retried with exponential backoff and
//! jitter on 429, 5xx, connection errors, timeouts and broken replies, honouring `Retry-After`,
//! preferably on another endpoint; when the retries are exhausted the sample fails with a
//! one-line error naming the URL. The [`pool`] spreads requests over endpoints and takes failing
//! ones out of rotation until they are healthy again.

pub mod client;
pub mod pool;
pub mod retry;
pub mod sse;
pub mod wire;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use smolbench_core::GenerationRequest;

use crate::error::RunnerError;
use crate::runner::{Reply, Runner, RunnerDescription};
use pool::{EndpointPool, HealthPolicy};
use retry::RetryPolicy;
use wire::{ChatMessage, ChatRequest, ContentPart, ImageUrl, MessageContent, ModelList, StreamOptions};

/// One server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The server's root, e.g. `http://10.0.0.5:8000` (no trailing slash, no `/v1`).
    pub base: String,
    /// Requests this endpoint may have in flight at once.
    pub max_concurrency: usize,
}

impl Endpoint {
    /// Parses `URL`, `host:port` or `URL/v1`.
    pub fn parse(text: &str, max_concurrency: usize) -> Result<Self, RunnerError> {
        let text = text.trim();
        let with_scheme = if text.contains("://") { text.to_string() } else { format!("http://{text}") };
        let url = reqwest::Url::parse(&with_scheme)
            .map_err(|e| RunnerError::BadEndpoint { endpoint: text.to_string(), problem: e.to_string() })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(RunnerError::BadEndpoint {
                endpoint: text.to_string(),
                problem: "it is not an http(s) URL with a host".into(),
            });
        }
        let mut base = url.as_str().trim_end_matches('/').to_string();
        for suffix in ["/v1/chat/completions", "/v1"] {
            if let Some(stripped) = base.strip_suffix(suffix) {
                base = stripped.to_string();
                break;
            }
        }
        Ok(Endpoint { base, max_concurrency: max_concurrency.max(1) })
    }

    /// `POST` target.
    pub fn chat_url(&self) -> String {
        format!("{}/v1/chat/completions", self.base)
    }

    /// `GET /v1/models`.
    pub fn models_url(&self) -> String {
        format!("{}/v1/models", self.base)
    }

    /// `GET /health`.
    pub fn health_url(&self) -> String {
        format!("{}/health", self.base)
    }

    /// `GET /v1/metrics` (SmolBench's server: device, memory and the model record as JSON; its
    /// `/metrics` is the Prometheus page).
    pub fn metrics_url(&self) -> String {
        format!("{}/v1/metrics", self.base)
    }
}

/// Reads an endpoints file: one endpoint per line (`URL` or `host:port`), optionally followed by
/// `concurrency=N`; blank lines and `#` comments are skipped.
pub fn read_endpoints_file(path: &Path, default_concurrency: usize) -> Result<Vec<Endpoint>, RunnerError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunnerError::Io { path: path.to_path_buf(), source })?;
    let mut endpoints = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad =
            |problem: String| RunnerError::BadEndpoint { endpoint: format!("{}:{}", path.display(), n + 1), problem };
        let mut words = line.split_whitespace();
        let url = words.next().unwrap_or_default();
        let mut concurrency = default_concurrency;
        for word in words {
            match word.strip_prefix("concurrency=").map(str::parse::<usize>) {
                Some(Ok(c)) if c > 0 => concurrency = c,
                _ => return Err(bad(format!("`{word}` is not `concurrency=N` (N > 0)"))),
            }
        }
        endpoints.push(Endpoint::parse(url, concurrency).map_err(|e| match e {
            RunnerError::BadEndpoint { endpoint, problem } => bad(format!("`{endpoint}`: {problem}")),
            other => bad(other.to_string()),
        })?);
    }
    if endpoints.is_empty() {
        return Err(RunnerError::BadEndpoint {
            endpoint: path.display().to_string(),
            problem: "the file lists no endpoint (one URL per line)".into(),
        });
    }
    Ok(endpoints)
}

/// Settings of the endpoint runner.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The endpoints.
    pub endpoints: Vec<Endpoint>,
    /// The `model` to send; `None`: the first id of the first endpoint's `/v1/models`.
    pub model: Option<String>,
    /// Longest wait for the reply's headers and between two pieces of the stream.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Endpoint health.
    pub health: HealthPolicy,
    /// Sent as a bearer token, where set.
    pub api_key: Option<String>,
    /// Ask for exactly `max_new_tokens` tokens (`ignore_eos` and `min_tokens`, as vLLM's
    /// benchmark does), for performance sweeps; off for evaluation runs.
    pub fixed_output: bool,
}

/// What an endpoint said about itself when the run started.
#[derive(Debug, Clone)]
pub struct EndpointStatus {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Model ids from `/v1/models`.
    pub models: Vec<String>,
    /// `/metrics`, for servers that have it (SmolBench's own).
    pub metrics: Option<serde_json::Value>,
    /// Why it did not answer, if it did not.
    pub error: Option<String>,
}

/// Samples answered by a pool of OpenAI-compatible endpoints.
#[derive(Debug)]
pub struct OpenAiRunner {
    client: reqwest::Client,
    pool: EndpointPool,
    model: String,
    config: OpenAiConfig,
    statuses: Vec<EndpointStatus>,
}

async fn get_json(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    api_key: Option<&str>,
) -> Result<serde_json::Value, String> {
    let mut request = client.get(url);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let resp = match tokio::time::timeout(timeout, request.send()).await {
        Err(_) => return Err(format!("{url}: no reply within {:.1}s", timeout.as_secs_f64())),
        Ok(Err(e)) => return Err(format!("{url}: {}", client::describe_reqwest_error(&e))),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{url}: status {}", status.as_u16()));
    }
    let body = tokio::time::timeout(timeout, resp.bytes())
        .await
        .map_err(|_| format!("{url}: reply stalled"))?
        .map_err(|e| format!("{url}: {}", client::describe_reqwest_error(&e)))?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}: reply is not JSON ({e})"))
}

impl OpenAiRunner {
    /// Builds the pool and asks each endpoint for its models (and, where it has the route, its
    /// device and memory). Endpoints that do not answer start out of rotation and are probed;
    /// when none answers, this fails naming each one.
    pub async fn connect(config: OpenAiConfig) -> Result<Self, RunnerError> {
        if config.endpoints.is_empty() {
            return Err(RunnerError::BadEndpoint { endpoint: String::new(), problem: "no endpoint given".into() });
        }
        let total: usize = config.endpoints.iter().map(|e| e.max_concurrency).sum();
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .pool_max_idle_per_host(total.max(8))
            // Shorter than `bench serve`'s idle deadline (10 s), so a kept connection is not
            // reused just as the server closes it.
            .pool_idle_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| RunnerError::BadEndpoint { endpoint: String::new(), problem: e.to_string() })?;
        let key = config.api_key.as_deref();
        let probe_timeout = config.timeout.min(Duration::from_secs(10));
        let statuses = futures::future::join_all(config.endpoints.iter().map(|endpoint| {
            let client = &client;
            async move {
                match get_json(client, &endpoint.models_url(), probe_timeout, key).await {
                    Ok(value) => {
                        let models = serde_json::from_value::<ModelList>(value)
                            .map(|l| l.data.into_iter().map(|m| m.id).collect())
                            .unwrap_or_default();
                        let metrics = get_json(client, &endpoint.metrics_url(), probe_timeout, key).await.ok();
                        EndpointStatus { endpoint: endpoint.clone(), models, metrics, error: None }
                    }
                    Err(e) => {
                        EndpointStatus { endpoint: endpoint.clone(), models: Vec::new(), metrics: None, error: Some(e) }
                    }
                }
            }
        }))
        .await;
        if statuses.iter().all(|s| s.error.is_some()) {
            return Err(RunnerError::NoEndpoint(
                statuses.iter().filter_map(|s| s.error.clone()).collect::<Vec<_>>().join("; "),
            ));
        }
        let pool = EndpointPool::new(config.endpoints.clone(), config.health, client.clone());
        for (index, status) in statuses.iter().enumerate() {
            if let Some(e) = &status.error {
                tracing::warn!(
                    "endpoint {} does not answer ({e}); it is out of rotation until it does",
                    status.endpoint.base
                );
                pool.mark_down(index, e.clone());
            }
        }
        let model = match &config.model {
            Some(m) => m.clone(),
            None => statuses.iter().find_map(|s| s.models.first().cloned()).unwrap_or_else(|| "default".to_string()),
        };
        Ok(OpenAiRunner { client, pool, model, config, statuses })
    }

    /// The `model` sent with each request.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// What each endpoint said when the run started.
    pub fn statuses(&self) -> &[EndpointStatus] {
        &self.statuses
    }

    /// The pool (for health inspection).
    pub fn pool(&self) -> &EndpointPool {
        &self.pool
    }

    /// The request body for one sample: the system turn where there is one, then the user turn
    /// (images first as `data:` URLs, then the text), greedy.
    pub fn request_body(&self, request: &GenerationRequest) -> Vec<u8> {
        let mut parts: Vec<ContentPart> = request
            .images
            .iter()
            .map(|img| {
                let mime = image::guess_format(&img.bytes).map(|f| f.to_mime_type()).unwrap_or("image/png");
                let data = base64::engine::general_purpose::STANDARD.encode(&img.bytes);
                ContentPart::ImageUrl { image_url: ImageUrl { url: format!("data:{mime};base64,{data}") } }
            })
            .collect();
        parts.push(ContentPart::Text { text: request.prompt.clone() });
        let mut messages = Vec::new();
        // A system turn goes first, as plain text.
        if let Some(system) = &request.system {
            messages.push(ChatMessage { role: "system".into(), content: MessageContent::Text(system.clone()) });
        }
        messages.push(ChatMessage { role: "user".into(), content: MessageContent::Parts(parts) });
        // A pre-filled assistant turn goes as a last assistant message that the server continues.
        let prefilled = request.assistant_prefix.is_some();
        if let Some(prefix) = &request.assistant_prefix {
            messages.push(ChatMessage { role: "assistant".into(), content: MessageContent::Text(prefix.clone()) });
        }
        let body = ChatRequest {
            model: self.model.clone(),
            messages,
            max_tokens: Some(request.max_new_tokens),
            max_completion_tokens: None,
            temperature: Some(0.0),
            n: None,
            stop: None,
            stream: true,
            stream_options: Some(StreamOptions { include_usage: true }),
            continue_final_message: prefilled.then_some(true),
            add_generation_prompt: prefilled.then_some(false),
            ignore_eos: self.config.fixed_output.then_some(true),
            min_tokens: self.config.fixed_output.then_some(request.max_new_tokens),
        };
        serde_json::to_vec(&body).expect("a chat request serialises")
    }
}

impl Runner for OpenAiRunner {
    async fn generate(&self, request: &GenerationRequest) -> Reply {
        let body = bytes::Bytes::from(self.request_body(request));
        let policy = self.config.retry;
        let mut avoid = None;
        let mut retry = 0u32;
        loop {
            let lease = match self.pool.acquire(avoid).await {
                Ok(lease) => lease,
                Err(e) => return Reply { generation: Err(RunnerError::NoEndpoint(e)), memory: None },
            };
            let endpoint = lease.endpoint().clone();
            let result = client::attempt(
                &self.client,
                &endpoint,
                body.clone(),
                self.config.timeout,
                self.config.api_key.as_deref(),
            )
            .await;
            match result {
                Ok(answered) => {
                    lease.succeeded();
                    return Reply { generation: Ok(answered.generation), memory: answered.memory };
                }
                Err(error) => {
                    let line = format!("{}: {}", endpoint.chat_url(), error.message);
                    if error.endpoint_fault {
                        lease.failed(&error.message);
                    }
                    if let Some(wait) = error.retry_after {
                        lease.pause(policy.retry_after(wait));
                    }
                    avoid = Some(lease.index());
                    drop(lease);
                    if !error.retryable || retry >= policy.max_retries {
                        let attempts = retry + 1;
                        let line =
                            if attempts > 1 { format!("{line} (gave up after {attempts} attempts)") } else { line };
                        return Reply { generation: Err(RunnerError::Endpoint(line)), memory: None };
                    }
                    tracing::debug!("retrying after: {line}");
                    tokio::time::sleep(policy.backoff(retry)).await;
                    retry += 1;
                }
            }
        }
    }

    fn describe(&self) -> RunnerDescription {
        let served_by =
            self.statuses.iter().filter_map(|s| s.metrics.as_ref()?.get("engine")?.as_str().map(str::to_string)).next();
        RunnerDescription {
            engine: match served_by {
                Some(e) => format!("openai-compatible endpoints ({e})"),
                None => "openai-compatible endpoints".into(),
            },
            compute: "remote".into(),
            dtype: self
                .statuses
                .iter()
                .filter_map(|s| s.metrics.as_ref()?.get("dtype")?.as_str().map(str::to_string))
                .next()
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    fn max_concurrency(&self) -> usize {
        self.pool.total_concurrency()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_forms_normalise_to_the_server_root() {
        for text in [
            "127.0.0.1:8000",
            "http://127.0.0.1:8000/",
            "http://127.0.0.1:8000/v1",
            "http://127.0.0.1:8000/v1/chat/completions",
        ] {
            let e = Endpoint::parse(text, 4).unwrap();
            assert_eq!(e.base, "http://127.0.0.1:8000", "{text}");
            assert_eq!(e.chat_url(), "http://127.0.0.1:8000/v1/chat/completions");
        }
        assert!(Endpoint::parse("ftp://x", 1).unwrap_err().to_string().contains("ftp://x"));
    }

    #[test]
    fn endpoints_file_reads_urls_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.txt");
        std::fs::write(&path, "# nodes\nnode1:8000 concurrency=2\n\nhttp://node2:8000/v1  # gpu\n").unwrap();
        let e = read_endpoints_file(&path, 8).unwrap();
        assert_eq!(
            e,
            vec![
                Endpoint { base: "http://node1:8000".into(), max_concurrency: 2 },
                Endpoint { base: "http://node2:8000".into(), max_concurrency: 8 },
            ]
        );
        std::fs::write(&path, "node1:8000 conc=2\n").unwrap();
        let err = read_endpoints_file(&path, 8).unwrap_err().to_string();
        assert!(err.contains("endpoints.txt:1") && err.contains("conc=2"), "{err}");
    }
}
