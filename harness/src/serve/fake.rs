//! A fake OpenAI-compatible server that answers instantly with a canned stream: the other end
//! of `bench bench-client`, which measures what the endpoint runner itself costs.

use std::sync::Arc;

use smolbench_runners::openai::wire::{ChatChunk, ChunkChoice, Delta, ModelEntry, ModelList, Usage};

use super::http::{Handler, Request, Response};

/// Streams `chunks` one-word chunks, a final chunk with usage, and `[DONE]`, at once.
pub struct CannedServer {
    /// Content chunks per reply.
    pub chunks: usize,
}

impl Handler for CannedServer {
    async fn handle(&self, request: Request) -> Response {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/health") => Response::json(200, &serde_json::json!({"status": "ok"})),
            ("GET", "/v1/models") => Response::json(
                200,
                &ModelList {
                    object: "list".into(),
                    data: vec![ModelEntry { id: "canned".into(), object: "model".into(), owned_by: "fake".into() }],
                },
            ),
            ("POST", "/v1/chat/completions") => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let chunk = |content: Option<String>, finish: Option<String>, usage: Option<Usage>| {
                    let c = ChatChunk {
                        id: "canned".into(),
                        object: "chat.completion.chunk".into(),
                        created: 0,
                        model: "canned".into(),
                        choices: vec![ChunkChoice {
                            index: 0,
                            delta: Delta { role: None, content },
                            finish_reason: finish,
                        }],
                        usage,
                        smolbench: None,
                    };
                    format!("data: {}\n\n", serde_json::to_string(&c).unwrap_or_default())
                };
                for i in 0..self.chunks {
                    let _ = tx.send(chunk(Some(format!("w{i} ")), None, None));
                }
                let usage =
                    Usage { prompt_tokens: 100, completion_tokens: self.chunks, total_tokens: 100 + self.chunks };
                let _ = tx.send(chunk(None, Some("length".into()), Some(usage)));
                let _ = tx.send("data: [DONE]\n\n".into());
                Response::Events(rx)
            }
            _ => Response::error(404, "invalid_request_error", "no such route"),
        }
    }
}

/// Starts a canned server on a free loopback port; returns its base URL.
pub async fn start_canned(chunks: usize) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(super::http::serve(listener, Arc::new(CannedServer { chunks })));
    Ok(format!("http://{addr}"))
}
