//! A small HTTP/1.1 server over tokio: enough for an OpenAI-compatible API on a cluster node.
//!
//! It reads requests with `httparse` (keep-alive, pipelining, `Content-Length` bodies,
//! `Expect: 100-continue`), and writes either a complete reply or a server-sent-events stream
//! in chunked transfer encoding, sent piece by piece as the model produces it. Requests with a
//! chunked body are refused with 411; oversized headers (431) and bodies (413) are refused
//! before they are read. (The workspace's hyper is built without its server half; enabling it
//! would rebuild mistral.rs, so this stays a few hundred lines of our own.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Largest request head.
const MAX_HEAD: usize = 64 << 10;
/// Largest request body (images travel base64-encoded inside JSON).
const MAX_BODY: usize = 256 << 20;
/// How long an idle keep-alive connection stays open.
const IDLE: Duration = Duration::from_secs(120);

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A reply.
pub enum Response {
    /// A complete body.
    Full {
        /// Status code.
        status: u16,
        /// `Content-Type`.
        content_type: &'static str,
        /// The body.
        body: Vec<u8>,
    },
    /// A `text/event-stream` whose pieces (already formatted events) arrive on the channel;
    /// the stream ends when the sender is dropped.
    Events(mpsc::UnboundedReceiver<String>),
}

impl Response {
    /// A JSON reply.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Self {
        Response::Full {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
        }
    }

    /// An OpenAI-style error reply.
    pub fn error(status: u16, kind: &str, message: impl Into<String>) -> Self {
        Response::json(status, &serde_json::json!({"error": {"message": message.into(), "type": kind}}))
    }
}

/// Something that answers requests.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Accepts connections until the listener fails, one task per connection.
pub async fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, handler).await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
}

enum Head {
    Request { method: String, path: String, content_length: usize, close: bool, expect_continue: bool },
    Reject(u16, &'static str),
}

fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let used = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut content_length = 0usize;
    let mut close = req.version == Some(0);
    let mut expect_continue = false;
    for h in req.headers.iter() {
        let value = String::from_utf8_lossy(h.value).trim().to_ascii_lowercase();
        match h.name.to_ascii_lowercase().as_str() {
            "content-length" => match value.parse() {
                Ok(n) => content_length = n,
                Err(_) => return Ok(Some((Head::Reject(400, "bad Content-Length"), used))),
            },
            "transfer-encoding" if value != "identity" => {
                return Ok(Some((Head::Reject(411, "send the body with a Content-Length"), used)))
            }
            "connection" => close = value.contains("close") || (close && !value.contains("keep-alive")),
            "expect" => expect_continue = value == "100-continue",
            _ => {}
        }
    }
    if content_length > MAX_BODY {
        return Ok(Some((Head::Reject(413, "the body is larger than 256 MiB"), used)));
    }
    let path = req.path.unwrap_or("/");
    let path = path.split('?').next().unwrap_or("/").to_string();
    let method = req.method.unwrap_or("GET").to_string();
    Ok(Some((Head::Request { method, path, content_length, close, expect_continue }, used)))
}

/// Reads up to `at_most` more bytes into `buf`; `false` when the peer closed the connection or
/// stayed silent for [`IDLE`].
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, at_most: usize) -> std::io::Result<bool> {
    let mut piece = vec![0u8; at_most];
    let n = match tokio::time::timeout(IDLE, stream.read(&mut piece)).await {
        Err(_) => return Ok(false),
        Ok(r) => r?,
    };
    buf.extend_from_slice(&piece[..n]);
    Ok(n > 0)
}

async fn connection<H: Handler>(mut stream: TcpStream, handler: Arc<H>) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        // Read a complete head (some of it may already be buffered from a pipelined request).
        let (head, used) = loop {
            if !buf.is_empty() {
                match parse_head(&buf) {
                    Ok(Some(parsed)) => break parsed,
                    Ok(None) if buf.len() > MAX_HEAD => {
                        write_full(&mut stream, 431, "text/plain", b"request head too large", true).await?;
                        return Ok(());
                    }
                    Ok(None) => {}
                    Err(e) => {
                        write_full(&mut stream, 400, "text/plain", format!("bad request: {e}").as_bytes(), true)
                            .await?;
                        return Ok(());
                    }
                }
            }
            if !read_more(&mut stream, &mut buf, 8192).await? {
                return Ok(());
            }
        };
        buf.drain(..used);
        let (method, path, content_length, close, expect_continue) = match head {
            Head::Reject(status, why) => {
                let body = serde_json::json!({"error": {"message": why, "type": "invalid_request_error"}});
                write_full(&mut stream, status, "application/json", body.to_string().as_bytes(), true).await?;
                return Ok(());
            }
            Head::Request { method, path, content_length, close, expect_continue } => {
                (method, path, content_length, close, expect_continue)
            }
        };
        if expect_continue && buf.len() < content_length {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        while buf.len() < content_length {
            let missing = (content_length - buf.len()).min(1 << 20);
            if !read_more(&mut stream, &mut buf, missing).await? {
                return Ok(());
            }
        }
        let body: Vec<u8> = buf.drain(..content_length).collect();
        let response = handler.handle(Request { method, path, body }).await;
        match response {
            Response::Full { status, content_type, body } => {
                write_full(&mut stream, status, content_type, &body, close).await?;
            }
            Response::Events(mut rx) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
                stream.write_all(head.as_bytes()).await?;
                while let Some(event) = rx.recv().await {
                    // Batch whatever else is ready into the same write.
                    let mut pending = event;
                    while let Ok(more) = rx.try_recv() {
                        pending.push_str(&more);
                    }
                    let chunk = format!("{:x}\r\n{pending}\r\n", pending.len());
                    stream.write_all(chunk.as_bytes()).await?;
                }
                stream.write_all(b"0\r\n\r\n").await?;
            }
        }
        if close {
            return Ok(());
        }
    }
}

async fn write_full(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    close: bool,
) -> std::io::Result<()> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{connection}\r\n",
        reason(status),
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    stream.write_all(&out).await
}
