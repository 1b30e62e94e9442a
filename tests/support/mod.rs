//! Helpers shared by the end-to-end tests: a sandboxed `bench` (its own `SMOLBENCH_HOME` and
//! `HF_HOME`, nothing inherited that would change a run), `bench serve` processes on loopback, and
//! a misbehaving HTTP server. Every wait is bounded in time.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use smolbench_core::SampleRecord;

pub mod runs;

pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox { root: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// `bench ARGS` with `SMOLBENCH_HOME` at `<sandbox>/<home>` (separate homes stand for
    /// separate machines).
    pub fn command_in(&self, home: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bench"));
        cmd.args(args);
        self.sandboxed(home, cmd)
    }

    /// Any command with the sandbox's environment (a shell that sets limits and runs `bench`).
    pub fn sandboxed(&self, home: &str, mut cmd: Command) -> Command {
        cmd.env("SMOLBENCH_HOME", self.path(home))
            .env("HF_HOME", self.path("hf"))
            .env_remove("HF_HUB_CACHE")
            .env_remove("HF_ENDPOINT")
            .env_remove("SMOLBENCH_TEST_SAMPLE_DELAY_MS")
            .env_remove("SMOLBENCH_TEST_ENGINE_PANIC_AT")
            .env_remove("SMOLBENCH_TEST_ENGINE_HANG_AT")
            .env_remove("SMOLBENCH_API_KEY")
            .env_remove("SMOLBENCH_FFMPEG")
            .env_remove("SMOLBENCH_FFPROBE")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SMOLBENCH_INCLUDE_PATH")
            .env_remove("SMOLBENCH_PROGRESS_SECS")
            .env_remove("SMOLBENCH_LOG")
            .env_remove("RUST_LOG")
            .env("RAYON_NUM_THREADS", "1")
            .current_dir(self.root.path());
        cmd
    }

    /// `bench ARGS` with the sandbox's home.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in("home", args)
    }

    pub fn bench(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("bench runs")
    }

    /// `bench run --task TASK --model tiny` followed by `args`.
    pub fn run_tiny(&self, task: &str, args: &[&str]) -> Output {
        self.bench(&[&["run", "--task", task, "--model", "tiny"][..], args].concat())
    }

    /// `bench fixtures --out <sandbox>/fixtures`; returns the data folder.
    pub fn fixtures(&self) -> PathBuf {
        let dir = self.path("fixtures");
        let out = self.bench(&["fixtures", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "bench fixtures failed: {}", stderr(&out));
        dir.join("data")
    }

    /// Starts `bench serve --model tiny --port 0` and waits (at most 180 s) for its address.
    pub fn serve_tiny(&self) -> Server {
        self.serve_tiny_with(&[])
    }

    /// `bench serve --model tiny --port 0 ARGS`; its stderr goes to a file ([`Server::stderr`]).
    pub fn serve_tiny_with(&self, args: &[&str]) -> Server {
        let cmd = self.command(&[&["serve", "--model", "tiny", "--port", "0"][..], args].concat());
        self.start_server(cmd)
    }

    /// Starts a server command and waits (at most 180 s) for the address it prints.
    pub fn start_server(&self, mut cmd: Command) -> Server {
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let stderr_path = self.path(&format!("serve-{}.stderr", SERVERS.fetch_add(1, Ordering::SeqCst)));
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&stderr_path).expect("stderr file")))
            .spawn()
            .expect("bench serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(180)).unwrap_or_else(|_| {
            panic!("bench serve printed no address: {}", std::fs::read_to_string(&stderr_path).unwrap_or_default())
        });
        let url = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        Server { child, url, stderr_path }
    }
}

/// A `bench serve` process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub stderr_path: PathBuf,
}

impl Server {
    /// `host:port`.
    pub fn addr(&self) -> &str {
        self.url.strip_prefix("http://").unwrap()
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The server's resident set size now, from /proc.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        kib * 1024
    }

    /// Waits (at most `limit`) for the server to exit; its status, or `None` if it is still up.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn read_records(dir: &Path) -> Vec<SampleRecord> {
    let text = std::fs::read_to_string(dir.join("samples.jsonl")).expect("samples.jsonl exists");
    text.lines().map(|l| serde_json::from_str(l).expect("every line is a complete record")).collect()
}

/// One HTTP GET on loopback with a bounded wait; returns (status, body).
pub fn http_get(url: &str) -> (u16, String) {
    http_request("GET", url, "")
}

/// One HTTP request with `Connection: close`; returns (status, body).
pub fn http_request(method: &str, url: &str, body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).expect("read reply");
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n").expect("a complete head");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, body.to_string())
}

/// One raw HTTP/1.1 exchange on loopback: `head_lines` (without the request line, `Host`,
/// `Content-Length` and `Connection`) and a body; returns (status, head, body). Bounded waits.
pub fn raw_request(addr: &str, method: &str, path: &str, head_lines: &[&str], body: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for line in head_lines {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    // A server may refuse before reading the body, and close.
    let _ = stream.write_all(body);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no complete head: {reply:?}"));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
    (status, head.to_string(), body.to_string())
}

/// A chat request body for the tiny model.
pub fn chat_body(max_tokens: usize, stream: bool) -> String {
    format!(
        r#"{{"model":"tiny","max_tokens":{max_tokens},"temperature":0,"stream":{stream},"messages":[{{"role":"user","content":[{{"type":"text","text":"Describe a long story about a cat."}}]}}]}}"#
    )
}

/// How a [`Misbehaving`] server answers chat requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// A proxy's HTML error page with status 502.
    HtmlBadGateway,
    /// Status 200, `application/json`, a body cut in the middle of an object.
    TruncatedJson,
    /// An SSE stream of three chunks that ends without a final chunk or `[DONE]`.
    StreamEndsEarly,
    /// Reads the request and never answers (for 5 s).
    Stall,
    /// The first chat request gets 503 with `Retry-After: 1`, later ones a proper stream.
    BusyOnceThenFine,
}

/// A local HTTP server that answers `/v1/models` and `/health` properly and chat requests badly,
/// on purpose. It counts chat requests and when they arrived.
pub struct Misbehaving {
    pub url: String,
    pub chat_requests: Arc<AtomicUsize>,
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
}

fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 || buf.len() > 1 << 16 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0usize);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    let mut first = head.lines().next()?.split_whitespace();
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    Some((method, path))
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn chunk_json(content: &str) -> String {
    format!(
        r#"{{"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[{{"index":0,"delta":{{"content":"{content}"}},"finish_reason":null}}]}}"#
    )
}

impl Misbehaving {
    pub fn start(mode: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let chat_requests = Arc::new(AtomicUsize::new(0));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let (count, times) = (chat_requests.clone(), arrivals.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (count, times) = (count.clone(), times.clone());
                std::thread::spawn(move || {
                    let Some((method, path)) = read_request(&mut stream) else { return };
                    match (method.as_str(), path.as_str()) {
                        ("GET", "/v1/models") => respond(
                            &mut stream,
                            "200 OK",
                            "application/json",
                            r#"{"object":"list","data":[{"id":"m","object":"model","owned_by":"test"}]}"#,
                        ),
                        ("GET", "/health") => respond(&mut stream, "200 OK", "application/json", r#"{"status":"ok"}"#),
                        ("POST", "/v1/chat/completions") => {
                            let n = count.fetch_add(1, Ordering::SeqCst);
                            times.lock().unwrap().push(Instant::now());
                            misbehave(&mut stream, mode, n);
                        }
                        _ => respond(&mut stream, "404 Not Found", "text/plain", "no"),
                    }
                });
            }
        });
        Misbehaving { url, chat_requests, arrivals }
    }
}

fn misbehave(stream: &mut TcpStream, mode: Misbehaviour, n: usize) {
    match mode {
        Misbehaviour::HtmlBadGateway => respond(
            stream,
            "502 Bad Gateway",
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        ),
        Misbehaviour::TruncatedJson => respond(
            stream,
            "200 OK",
            "application/json",
            r#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"The ans"#,
        ),
        Misbehaviour::StreamEndsEarly => {
            let mut body = String::new();
            for word in ["The", " answer", " is"] {
                body.push_str(&format!("data: {}\n\n", chunk_json(word)));
            }
            respond(stream, "200 OK", "text/event-stream", &body);
        }
        Misbehaviour::Stall => std::thread::sleep(Duration::from_secs(5)),
        Misbehaviour::BusyOnceThenFine if n == 0 => {
            let body = r#"{"error":{"message":"busy","type":"overloaded"}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Misbehaviour::BusyOnceThenFine => {
            let mut body = String::new();
            for word in ["fine", " answer"] {
                body.push_str(&format!("data: {}\n\n", chunk_json(word)));
            }
            body.push_str(r#"data: {"id":"x","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}"#);
            body.push_str("\n\ndata: [DONE]\n\n");
            respond(stream, "200 OK", "text/event-stream", &body);
        }
    }
}
