//! The HTTP/1.1 transport of `bench serve`, on hyper: accepting connections without ever letting
//! an accept error end the server, a cap on open connections, a deadline for each request head
//! (slowloris), and a graceful drain on shutdown.
//!
//! hyper parses the requests (it refuses conflicting `Content-Length` headers, malformed heads and
//! oversized header blocks), keeps connections alive, and drops a handler's future when its client
//! hangs up mid-request, which is how a request whose client has gone is cancelled. Replies are
//! either complete bodies or server-sent-event streams fed from a channel.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// A request as hyper hands it over.
pub type Request = http::Request<Incoming>;
/// A reply body: complete or streamed.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;
/// A reply.
pub type Response = http::Response<Body>;

/// Something that answers requests.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> impl Future<Output = Response> + Send;
}

/// How the transport treats connections.
#[derive(Debug, Clone, Copy)]
pub struct TransportLimits {
    /// A client must send a complete request head within this time, also on a kept-alive
    /// connection waiting for its next request (so idle and trickling connections are closed).
    pub header_timeout: Duration,
    /// Connections open at once; beyond, new ones are closed as soon as they are accepted.
    pub max_connections: usize,
    /// On shutdown, how long requests in flight get to finish.
    pub drain_timeout: Duration,
}

impl Default for TransportLimits {
    fn default() -> Self {
        TransportLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// What the transport shares with the handler: whether it is draining, and connection counts.
#[derive(Debug, Default)]
pub struct Transport {
    draining: AtomicBool,
    open: AtomicUsize,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    closed: Notify,
}

impl Transport {
    /// Whether shutdown has begun (new work is refused with 503).
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Connections closed at once because [`TransportLimits::max_connections`] were open.
    pub fn refused_connections(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Failed `accept` calls (descriptor exhaustion and the like).
    pub fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Ordering::Relaxed)
    }
}

/// A complete JSON reply.
pub fn json(status: u16, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    full(status, "application/json", body)
}

/// A complete reply of any type.
pub fn full(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response {
    let mut response = http::Response::new(Full::new(body.into()).boxed_unsync());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// An OpenAI-style error reply: `{"error": {"message", "type", "code"}}`.
pub fn error(status: u16, kind: &str, message: impl Into<String>) -> Response {
    error_with_code(status, kind, None, message)
}

/// [`error`] with OpenAI's `code` field (e.g. `model_not_found`).
pub fn error_with_code(status: u16, kind: &str, code: Option<&str>, message: impl Into<String>) -> Response {
    json(status, &serde_json::json!({"error": {"message": message.into(), "type": kind, "code": code}}))
}

/// Adds a header to a reply (values that are not valid header text are skipped).
pub fn with_header(mut response: Response, name: http::header::HeaderName, value: &str) -> Response {
    if let Ok(value) = http::HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// A `text/event-stream` reply whose pieces (already formatted events) come from `events`; the
/// stream ends when the stream does. Dropped (client gone), it drops `events`.
pub fn events(events: impl futures::Stream<Item = Bytes> + Send + 'static) -> Response {
    use futures::StreamExt as _;
    let frames = events.map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
    let mut response = http::Response::new(StreamBody::new(frames).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/event-stream"));
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
    response
}

/// Logs one line per second at most for a repeated condition, with how many were folded in.
struct RateLimitedLog {
    last: Option<Instant>,
    folded: u64,
}

impl RateLimitedLog {
    fn new() -> Self {
        RateLimitedLog { last: None, folded: 0 }
    }

    fn warn(&mut self, line: impl FnOnce(u64) -> String) {
        if self.last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            self.folded += 1;
            return;
        }
        tracing::warn!("{}", line(self.folded));
        self.last = Some(Instant::now());
        self.folded = 0;
    }
}

/// Accepts connections until `shutdown` resolves, then stops accepting, lets the requests in
/// flight finish (at most [`TransportLimits::drain_timeout`], or until `force` resolves) and
/// returns. An `accept` error (too many open files, a connection reset before it was accepted)
/// is logged and waited out with a growing pause; it never ends the server.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: TransportLimits,
    transport: Arc<Transport>,
    shutdown: impl Future<Output = ()>,
    force: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let builder = Arc::new(builder);
    let mut accept_log = RateLimitedLog::new();
    let mut cap_log = RateLimitedLog::new();
    let mut pause = Duration::from_millis(5);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => {
                pause = Duration::from_millis(5);
                pair
            }
            Err(e) => {
                transport.accept_errors.fetch_add(1, Ordering::Relaxed);
                accept_log.warn(|folded| {
                    format!("cannot accept a connection: {e} ({folded} more since the last report); retrying")
                });
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        if transport.open.load(Ordering::SeqCst) >= limits.max_connections {
            transport.refused.fetch_add(1, Ordering::Relaxed);
            cap_log.warn(|folded| {
                format!(
                    "{} connections are open (--max-connections); closing new ones ({folded} more since the last report)",
                    limits.max_connections
                )
            });
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        transport.open.fetch_add(1, Ordering::SeqCst);
        let (handler, builder, transport, mut stop) =
            (handler.clone(), builder.clone(), transport.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler.handle(request).await) }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let mut draining = *stop.borrow();
            if draining {
                connection.as_mut().graceful_shutdown();
            }
            loop {
                if draining {
                    let _ = connection.as_mut().await;
                    break;
                }
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!("connection from {peer}: {e}");
                        }
                        break;
                    }
                    _ = stop.changed() => {
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            if transport.open.fetch_sub(1, Ordering::SeqCst) == 1 {
                transport.closed.notify_waiters();
            }
        });
    }
    drop(listener);
    transport.draining.store(true, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let deadline = tokio::time::sleep(limits.drain_timeout);
    tokio::pin!(deadline, force);
    loop {
        let closed = transport.closed.notified();
        if transport.open.load(Ordering::SeqCst) == 0 {
            break;
        }
        tokio::select! {
            _ = closed => {}
            _ = &mut deadline => {
                tracing::warn!(
                    "{} connections still busy after the drain deadline ({:.0} s); stopping",
                    transport.open.load(Ordering::SeqCst),
                    limits.drain_timeout.as_secs_f64()
                );
                break;
            }
            _ = &mut force => {
                tracing::warn!("asked again to stop; not waiting for the requests in flight");
                break;
            }
        }
    }
}

/// Raises this process's soft limit on open files to its hard limit (a server holding many
/// connections needs more than the usual 1024) and returns the soft limit now in force.
pub fn raise_open_files_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    }
}

/// The default connection cap for an open-files limit: the limit less room for the model's files,
/// the engine's threads and logs.
pub fn default_max_connections(open_files: u64) -> usize {
    open_files.saturating_sub(64).clamp(16, 1 << 20) as usize
}
