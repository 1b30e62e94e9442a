//! A fake OpenAI-compatible server that answers instantly with a canned stream: the other end
//! of `bench bench-client`, which measures what the endpoint runner itself costs.

use std::sync::Arc;

use bytes::Bytes;
use smolbench_runners::openai::wire::{ChatChunk, ChunkChoice, Delta, ModelEntry, ModelList, Usage};

use super::transport::{self, Handler, Request, Response, Transport, TransportLimits};

/// Streams `chunks` one-word chunks, a final chunk with usage, and `[DONE]`, at once.
pub struct CannedServer {
    /// Content chunks per reply.
    pub chunks: usize,
}

impl CannedServer {
    fn stream(&self) -> Vec<Bytes> {
        let chunk = |content: Option<String>, finish: Option<String>, usage: Option<Usage>| {
            let c = ChatChunk {
                id: "canned".into(),
                object: "chat.completion.chunk".into(),
                created: 0,
                model: "canned".into(),
                choices: vec![ChunkChoice { index: 0, delta: Delta { role: None, content }, finish_reason: finish }],
                usage,
                smolbench: None,
            };
            Bytes::from(format!("data: {}\n\n", serde_json::to_string(&c).unwrap_or_default()))
        };
        let mut events: Vec<Bytes> = (0..self.chunks).map(|i| chunk(Some(format!("w{i} ")), None, None)).collect();
        let usage = Usage { prompt_tokens: 100, completion_tokens: self.chunks, total_tokens: 100 + self.chunks };
        events.push(chunk(None, Some("length".into()), Some(usage)));
        events.push(Bytes::from_static(b"data: [DONE]\n\n"));
        events
    }
}

impl Handler for CannedServer {
    async fn handle(&self, request: Request) -> Response {
        match (request.method().as_str(), request.uri().path()) {
            ("GET", "/health") => transport::json(200, &serde_json::json!({"status": "ok"})),
            ("GET", "/v1/models") => transport::json(
                200,
                &ModelList {
                    object: "list".into(),
                    data: vec![ModelEntry { id: "canned".into(), object: "model".into(), owned_by: "fake".into() }],
                },
            ),
            ("POST", "/v1/chat/completions") => {
                // Read the body, as a real server must, before answering.
                let _ = http_body_util::BodyExt::collect(request.into_body()).await;
                transport::events(futures::stream::iter(self.stream()))
            }
            _ => transport::error(404, "invalid_request_error", "no such route"),
        }
    }
}

/// Starts a canned server on a free loopback port; returns its base URL.
pub async fn start_canned(chunks: usize) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(transport::serve(
        listener,
        Arc::new(CannedServer { chunks }),
        TransportLimits::default(),
        Arc::new(Transport::default()),
        std::future::pending(),
        std::future::pending(),
    ));
    Ok(format!("http://{addr}"))
}
