//! One attempt at one chat request against one endpoint: send, read the SSE stream (or a JSON
//! reply from a server that does not stream), and turn every way it can go wrong into a
//! one-line error saying what was wrong and whether trying again may help.

use std::time::Duration;

use futures::StreamExt;
use smolbench_core::{FinishReason, Generation, MemoryReading};
use tokio::time::{timeout, Instant};

use super::sse::SseParser;
use super::wire::{ChatChunk, ChatCompletion, ErrorBody, ServerMeasurements, Usage};
use super::Endpoint;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptError {
    /// One line: what went wrong (the caller prefixes the URL).
    pub message: String,
    /// Whether another attempt may succeed (429, 5xx, connection errors, timeouts, cut replies).
    pub retryable: bool,
    /// Whether the failure counts against the endpoint's health (not 429, not the request's own
    /// fault).
    pub endpoint_fault: bool,
    /// How long the server asked to be left alone (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl AttemptError {
    fn transient(message: String) -> Self {
        AttemptError { message, retryable: true, endpoint_fault: true, retry_after: None }
    }
}

/// A successful attempt.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The generation, timed on this side of the wire.
    pub generation: Generation,
    /// The server's own memory figure, where it reports one.
    pub memory: Option<MemoryReading>,
}

/// The error chain of a reqwest error in one line (reqwest's top-level message alone says only
/// "error sending request").
pub fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    let what = if e.is_connect() { "cannot connect: " } else { "" };
    format!("{what}{}", parts.join(": ")).replace('\n', " ")
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{s:.1}s")
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

fn looks_like_html(content_type: &str, body: &[u8]) -> bool {
    if content_type.contains("html") {
        return true;
    }
    let start = String::from_utf8_lossy(&body[..body.len().min(64)]).trim_start().to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

fn finish_reason(s: Option<&str>) -> Option<FinishReason> {
    match s? {
        "stop" | "eos" | "stop_sequence" => Some(FinishReason::Stop),
        "length" | "max_tokens" => Some(FinishReason::Length),
        _ => Some(FinishReason::Unknown),
    }
}

fn memory_of(m: Option<&ServerMeasurements>) -> Option<MemoryReading> {
    let m = m?;
    Some(MemoryReading { peak_bytes: m.peak_memory_bytes?, source: m.memory_source? })
}

/// Reads a whole body with the idle timeout applied to each piece.
async fn read_body(resp: reqwest::Response, idle: Duration, limit: usize) -> Result<Vec<u8>, AttemptError> {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    loop {
        match timeout(idle, stream.next()).await {
            Err(_) => {
                return Err(AttemptError::transient(format!(
                    "reply stalled: no data for {} after {} bytes (--endpoint-timeout)",
                    secs(idle),
                    body.len()
                )))
            }
            Ok(None) => return Ok(body),
            Ok(Some(Err(e))) => {
                return Err(AttemptError::transient(format!(
                    "reply cut off after {} bytes: {}",
                    body.len(),
                    describe_reqwest_error(&e)
                )))
            }
            Ok(Some(Ok(bytes))) => {
                body.extend_from_slice(&bytes);
                if body.len() > limit {
                    return Ok(body);
                }
            }
        }
    }
}

/// Sends one request and reads the reply.
pub async fn attempt(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    body: bytes::Bytes,
    idle: Duration,
    api_key: Option<&str>,
) -> Result<Answered, AttemptError> {
    let start = Instant::now();
    let mut request = client
        .post(endpoint.chat_url())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::ACCEPT, "text/event-stream, application/json")
        .body(body);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let resp = match timeout(idle, request.send()).await {
        Err(_) => return Err(AttemptError::transient(format!("no reply within {} (--endpoint-timeout)", secs(idle)))),
        Ok(Err(e)) => return Err(AttemptError::transient(describe_reqwest_error(&e))),
        Ok(Ok(resp)) => resp,
    };
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !status.is_success() {
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(super::retry::parse_retry_after);
        let body = read_body(resp, idle, 64 << 10).await.unwrap_or_default();
        let code = status.as_u16();
        let what = if looks_like_html(&content_type, &body) {
            format!("reply is HTML, not JSON (status {code})")
        } else if let Ok(err) = serde_json::from_slice::<ErrorBody>(&body) {
            format!("status {code}: {}", one_line(&err.error.message, 300))
        } else if body.is_empty() {
            format!("status {code} with an empty body")
        } else {
            format!("status {code}: {}", one_line(&String::from_utf8_lossy(&body), 200))
        };
        let retryable = code == 429 || code == 408 || status.is_server_error();
        return Err(AttemptError { message: what, retryable, endpoint_fault: code != 429 && retryable, retry_after });
    }
    if content_type.starts_with("text/event-stream") {
        read_stream(resp, start, idle).await
    } else {
        let body = read_body(resp, idle, 256 << 20).await?;
        if looks_like_html(&content_type, &body) {
            return Err(AttemptError {
                message: format!("reply is HTML, not JSON (status {})", status.as_u16()),
                retryable: false,
                endpoint_fault: true,
                retry_after: None,
            });
        }
        let e2e = start.elapsed();
        let reply: ChatCompletion = serde_json::from_slice(&body).map_err(|e| {
            let what = if e.is_eof() { "reply is truncated JSON" } else { "reply is not a chat completion" };
            AttemptError::transient(format!("{what} ({e}; {} bytes)", body.len()))
        })?;
        let choice =
            reply.choices.first().ok_or_else(|| AttemptError::transient("reply has no choices".to_string()))?;
        let text = choice.message.content.clone().unwrap_or_default();
        let generation = finish_generation(
            text,
            finish_reason(choice.finish_reason.as_deref()),
            reply.usage,
            reply.smolbench.as_ref(),
            1,
            (e2e, e2e, e2e),
        );
        Ok(Answered { generation, memory: memory_of(reply.smolbench.as_ref()) })
    }
}

async fn read_stream(resp: reqwest::Response, start: Instant, idle: Duration) -> Result<Answered, AttemptError> {
    let mut parser = SseParser::new();
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let mut chunks = 0usize;
    let mut content_chunks = 0usize;
    let (mut first, mut last) = (None, None);
    let mut finish = None;
    let mut usage = None;
    let mut server = None;
    let mut done = false;
    let mut handle = |data: String, chunks: &mut usize| -> Result<bool, AttemptError> {
        if data.trim() == "[DONE]" {
            return Ok(true);
        }
        *chunks += 1;
        let value: serde_json::Value = serde_json::from_str(&data).map_err(|e| {
            let what = if e.is_eof() { "is truncated JSON" } else { "is not JSON" };
            AttemptError::transient(format!("stream chunk {} {what} ({e})", *chunks))
        })?;
        if let Ok(err) = serde_json::from_value::<ErrorBody>(value.clone()) {
            let message = one_line(&err.error.message, 300);
            // The request's own fault, found after the stream began: sending it again cannot help.
            if err.error.kind == "invalid_request_error" {
                return Err(AttemptError {
                    message: format!("the request was refused in the stream: {message}"),
                    retryable: false,
                    endpoint_fault: false,
                    retry_after: None,
                });
            }
            return Err(AttemptError::transient(format!(
                "server error in the stream after {} chunks: {message}",
                *chunks - 1
            )));
        }
        let chunk: ChatChunk = serde_json::from_value(value).map_err(|e| {
            AttemptError::transient(format!("stream chunk {} is not a chat.completion.chunk ({e})", *chunks))
        })?;
        let now = start.elapsed();
        for choice in &chunk.choices {
            if let Some(content) = choice.delta.content.as_deref().filter(|c| !c.is_empty()) {
                text.push_str(content);
                content_chunks += 1;
                first.get_or_insert(now);
                last = Some(now);
            }
            if let Some(reason) = finish_reason(choice.finish_reason.as_deref()) {
                finish = Some(reason);
            }
        }
        if chunk.usage.is_some() {
            usage = chunk.usage;
        }
        if chunk.smolbench.is_some() {
            server = chunk.smolbench;
        }
        Ok(false)
    };
    while !done {
        let piece = match timeout(idle, stream.next()).await {
            Err(_) if chunks == 0 => {
                return Err(AttemptError::transient(format!("no reply within {} (--endpoint-timeout)", secs(idle))))
            }
            Err(_) => {
                return Err(AttemptError::transient(format!(
                    "stream stalled: no data for {} after {chunks} chunks (--endpoint-timeout)",
                    secs(idle)
                )))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(AttemptError::transient(format!(
                    "stream cut off after {chunks} chunks: {}",
                    describe_reqwest_error(&e)
                )))
            }
            Ok(Some(Ok(bytes))) => bytes,
        };
        for data in parser.push(&piece) {
            if handle(data, &mut chunks)? {
                done = true;
                break;
            }
        }
    }
    if !done {
        let (pending, partial) = parser.finish();
        if let Some(data) = pending {
            done = handle(data, &mut chunks)?;
        }
        if !done {
            let cut = if partial { " (mid-line)" } else { "" };
            return Err(AttemptError::transient(format!("stream ended before [DONE] after {chunks} chunks{cut}")));
        }
    }
    let e2e = start.elapsed();
    let first = first.unwrap_or(e2e);
    let generation =
        finish_generation(text, finish, usage, server.as_ref(), content_chunks, (first, last.unwrap_or(first), e2e));
    Ok(Answered { generation, memory: memory_of(server.as_ref()) })
}

/// Builds the record's generation from what was read. Token counts come from the server's usage
/// (`usage_source: "server"`), else from the chunks (`"counted"`, prompt tokens unknown: 0).
fn finish_generation(
    text: String,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    server: Option<&ServerMeasurements>,
    content_chunks: usize,
    (first, last, e2e): (Duration, Duration, Duration),
) -> Generation {
    let (prompt_tokens, completion_tokens, usage_source) = match usage {
        Some(u) => (u.prompt_tokens, u.completion_tokens, "server"),
        None => (0, content_chunks, "counted"),
    };
    let window = (last - first).as_secs_f64();
    let decode_tokens_per_s = (completion_tokens >= 2 && window > 0.0).then(|| (completion_tokens - 1) as f64 / window);
    Generation {
        text,
        finish_reason: finish.unwrap_or(FinishReason::Unknown),
        prompt_tokens,
        image_tokens: server.and_then(|s| s.image_tokens).unwrap_or(0),
        image_marker_tokens: server.and_then(|s| s.image_marker_tokens).unwrap_or(0),
        preprocess_ms: server.and_then(|s| s.preprocess_ms),
        completion_tokens,
        ttft_ms: first.as_secs_f64() * 1e3,
        e2e_ms: e2e.as_secs_f64() * 1e3,
        decode_tokens_per_s,
        usage_source: usage_source.to_string(),
        image_tiles: server.and_then(|s| s.image_tiles).unwrap_or(0),
        encoder_cache_hits: server.and_then(|s| s.encoder_cache_hits),
        budget_capped_to: server.and_then(|s| s.budget_capped_to),
        // The work happens on the server: this process's CPU time says nothing of it.
        cpu: None,
        machine: None,
    }
}
