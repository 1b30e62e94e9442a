//! `bench serve` tried as an attacker would, on loopback, against the real binary and the real
//! engine on the tiny model: authentication and origins, malformed and oversized requests, a
//! slowloris client, descriptor exhaustion under a low `ulimit -n`, a pixel bomb, clients that
//! hang up, admission control, and SIGTERM with streams in flight. Every wait is bounded.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use support::{chat_body, raw_request, Sandbox, Server};

const JSON: &str = "Content-Type: application/json";

fn v1_metrics(server: &Server, key: Option<&str>) -> Value {
    let auth = key.map(|k| format!("Authorization: Bearer {k}"));
    let lines: Vec<&str> = auth.iter().map(String::as_str).collect();
    let (status, _, body) = raw_request(server.addr(), "GET", "/v1/metrics", &lines, b"");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn chat(server: &Server, body: &str) -> (u16, String, String) {
    raw_request(server.addr(), "POST", "/v1/chat/completions", &[JSON], body.as_bytes())
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

#[test]
fn requests_are_checked_before_the_engine() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny();
    let addr = server.addr().to_string();

    // Only JSON bodies: a web page can send text/plain without asking first.
    let (status, _, body) = raw_request(
        &addr,
        "POST",
        "/v1/chat/completions",
        &["Content-Type: text/plain"],
        chat_body(2, false).as_bytes(),
    );
    assert_eq!(status, 415, "{body}");
    // A page that rebound its name to 127.0.0.1 sends its own Host; a cross-site page its Origin.
    let (status, _, body) = {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let port = addr.rsplit(':').next().unwrap();
        write!(stream, "GET /v1/models HTTP/1.1\r\nHost: evil.example:{port}\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        (head.split_whitespace().nth(1).unwrap().parse::<u16>().unwrap(), head.to_string(), body.to_string())
    };
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = raw_request(&addr, "GET", "/v1/models", &["Origin: https://evil.example"], b"");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("cross-origin"), "{body}");

    // `n`, `stop` and an unknown model are answered as OpenAI's API answers them.
    let (status, _, body) =
        chat(&server, &chat_body(2, false).replace(r#""temperature":0"#, r#""temperature":0,"n":3"#));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("n = 3"), "{body}");
    let (status, _, body) =
        chat(&server, &chat_body(2, false).replace(r#""temperature":0"#, r#""temperature":0,"stop":["."]"#));
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = chat(&server, &chat_body(2, false).replace(r#""model":"tiny""#, r#""model":"gpt-9""#));
    assert_eq!(status, 404, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "model_not_found");

    // An image that does not decode is the client's fault: 400, not 500.
    let junk = base64::engine::general_purpose::STANDARD.encode(b"this is not an image at all");
    let with_image = chat_body(2, false).replace(
        r#"[{"type":"text""#,
        &format!(r#"[{{"type":"image_url","image_url":{{"url":"data:image/png;base64,{junk}"}}}},{{"type":"text""#),
    );
    let (status, _, body) = chat(&server, &with_image);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("image 0"), "{body}");

    // A body over the limit is refused from its Content-Length, before it is read.
    let (status, _, body) = {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{JSON}\r\nContent-Length: {}\r\n\r\n",
            1u64 << 40
        )
        .unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        let reply = String::from_utf8_lossy(&reply).into_owned();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        (head.split_whitespace().nth(1).unwrap().parse::<u16>().unwrap(), head.to_string(), body.to_string())
    };
    assert_eq!(status, 413, "{body}");

    // Two different Content-Length headers are a malformed request, not a request and a half.
    let smuggled = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(smuggled.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert_eq!(reply.matches("HTTP/1.1").count(), 1, "nothing after the malformed request is served: {reply}");

    // The counts, in the Prometheus text format; local paths only when asked for.
    let (status, head, page) = raw_request(&addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    assert!(page.contains("# TYPE smolbench_requests_total counter"), "{page}");
    assert!(page.contains("smolbench_requests_total{outcome=\"client_error\"} 6"), "{page}");
    assert!(page.contains("smolbench_requests_total{outcome=\"ok\"} 0"), "{page}");
    let fixtures = sb.path("home").display().to_string();
    assert!(!page.contains(&fixtures), "a path in /metrics: {page}");
    let metrics = v1_metrics(&server, None);
    assert!(!metrics.to_string().contains(&fixtures), "a path in /v1/metrics: {metrics}");
    assert_eq!(metrics["requests"]["client_errors"], 6);

    let shown = sb.serve_tiny_with(&["--show-paths"]);
    let metrics = v1_metrics(&shown, None);
    assert!(metrics["model"]["source_dir"].as_str().unwrap().contains(&fixtures), "{metrics}");
}

#[test]
fn an_api_key_guards_every_route_but_health() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny_with(&["--api-key", "open sesame"]);
    let addr = server.addr();
    let (status, _, _) = raw_request(addr, "GET", "/health", &[], b"");
    assert_eq!(status, 200);
    for (path, method) in
        [("/v1/models", "GET"), ("/metrics", "GET"), ("/v1/metrics", "GET"), ("/v1/chat/completions", "POST")]
    {
        let body = if method == "POST" { chat_body(2, false) } else { String::new() };
        let (status, head, reply) = raw_request(addr, method, path, &[JSON], body.as_bytes());
        assert_eq!(status, 401, "{path} without a key: {reply}");
        assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
        let (status, _, reply) =
            raw_request(addr, method, path, &[JSON, "Authorization: Bearer open sesamE"], body.as_bytes());
        assert_eq!(status, 401, "{path} with a wrong key: {reply}");
        let (status, _, reply) =
            raw_request(addr, method, path, &[JSON, "Authorization: Bearer open sesame"], body.as_bytes());
        assert_eq!(status, 200, "{path} with the key: {reply}");
    }
    // The endpoint runner sends the same key (here from the environment, as the server read it).
    let run_dir = sb.path("run");
    let out = sb
        .command(&["run", "--task", "docvqa", "--model", "tiny", "--limit", "2", "--endpoint", &server.url])
        .args(["--out", run_dir.to_str().unwrap()])
        .env("SMOLBENCH_API_KEY", "open sesame")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(support::read_records(&run_dir).iter().all(|r| r.status == smolbench_core::SampleStatus::Ok));

    // Serving other machines without a key is refused before anything listens.
    let out = sb.bench(&["serve", "--model", "tiny", "--host", "0.0.0.0", "--port", "0"]);
    assert!(!out.status.success());
    let err = support::stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(errors.len() == 1 && errors[0].contains("--api-key"), "{err}");
}

#[test]
fn a_slowloris_client_is_cut_off_and_others_are_served_meanwhile() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny_with(&["--header-timeout", "1"]);
    let addr = server.addr().to_string();
    let cut = Arc::new(AtomicBool::new(false));
    let slow = {
        let (addr, cut) = (addr.clone(), cut.clone());
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
            let started = Instant::now();
            // One byte every 200 ms, for at most 10 s, until the server has closed the connection.
            let head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
            for byte in head.iter().chain(std::iter::repeat(&b'a')) {
                if started.elapsed() > Duration::from_secs(10) || stream.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            cut.store(started.elapsed() < Duration::from_secs(10), Ordering::SeqCst);
            started.elapsed()
        })
    };
    // Meanwhile the server answers others at once.
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let (status, _, _) = raw_request(&addr, "GET", "/health", &[], b"");
    assert_eq!(status, 200);
    assert!(t.elapsed() < Duration::from_secs(5));
    let held = slow.join().unwrap();
    assert!(cut.load(Ordering::SeqCst));
    assert!(held < Duration::from_secs(5), "the trickling client was held for {held:?} with a 1 s head deadline");
}

#[test]
fn descriptor_exhaustion_under_a_low_ulimit_does_not_end_the_server() {
    let sb = Sandbox::new();
    // A child with 128 descriptors and a connection cap above that, so accepts do fail.
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg("ulimit -n 128 && exec \"$0\" serve --model tiny --port 0 --max-connections 5000 --header-timeout 2")
        .arg(env!("CARGO_BIN_EXE_bench"));
    let shell = sb.sandboxed("home", shell);
    let mut server = sb.start_server(shell);
    let addr = server.addr().to_string();
    // 400 connections that send nothing: more than the server has descriptors.
    let flood: Vec<TcpStream> = (0..400).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    assert!(flood.len() >= 300, "only {} connections opened", flood.len());
    assert!(
        eventually(Duration::from_secs(20), || server.stderr().contains("Too many open files")),
        "the server never ran out of descriptors: {}",
        server.stderr()
    );
    assert!(server.child.try_wait().unwrap().is_none(), "the server exited: {}", server.stderr());
    drop(flood);
    // Once the flood is gone (or timed out) the server answers again.
    let answered = eventually(Duration::from_secs(30), || {
        let Ok(mut stream) = TcpStream::connect(&addr) else { return false };
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply.starts_with("HTTP/1.1 200")
    });
    assert!(answered, "the server does not answer after the flood: {}", server.stderr());
    assert!(v1_metrics(&server, None)["connections"]["accept_errors"].as_u64().unwrap() > 0);
    assert!(server.wait_exit(Duration::from_millis(1)).is_none());
}

/// A grey PNG of `side` x `side` pixels: small on disk, huge decoded.
fn pixel_bomb(side: u32) -> Vec<u8> {
    let canvas = image::GrayImage::new(side, side);
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(canvas)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[test]
fn a_pixel_bomb_is_refused_before_decoding_with_flat_memory() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny();
    let (status, _, body) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 200, "{body}");
    let bomb = pixel_bomb(13_000);
    assert!(bomb.len() < 2 << 20, "the bomb is {} bytes", bomb.len());
    let data = base64::engine::general_purpose::STANDARD.encode(&bomb);
    drop(bomb);
    let request = chat_body(2, false).replace(
        r#"[{"type":"text""#,
        &format!(r#"[{{"type":"image_url","image_url":{{"url":"data:image/png;base64,{data}"}}}},{{"type":"text""#),
    );
    // Sample the server's memory while it handles the bomb.
    let before = server.rss_bytes();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let pid = server.child.id();
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let kib: u64 = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0);
                peak.fetch_max(kib * 1024, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let t = Instant::now();
    let (status, _, body) = chat(&server, &request);
    let took = t.elapsed();
    std::thread::sleep(Duration::from_millis(50));
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("13000x13000") && body.contains("--max-pixels"), "{body}");
    let grew = peak.load(Ordering::SeqCst).saturating_sub(before);
    // Decoding would take 169 MB (grey) to 507 MB (RGB); refusing it takes the body's few MB.
    assert!(grew < 48 << 20, "RSS grew by {} MB while refusing the bomb", grew >> 20);
    assert!(took < Duration::from_secs(10), "refusing took {took:?}");
    // And nobody else waited for it.
    let (status, _, body) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 200, "{body}");
}

/// Sends a chat request and returns the connection without reading the reply.
fn send_without_reading(addr: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{JSON}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

#[test]
fn requests_whose_clients_hang_up_are_cancelled() {
    let sb = Sandbox::new();
    // The first request's engine stops after one token (the test hook), so it holds the engine
    // for as long as its client stays; five more queue behind it and their clients leave.
    let mut cmd = sb.command(&["serve", "--model", "tiny", "--port", "0", "--sample-timeout", "120"]);
    cmd.env(smolbench_runners::TEST_HANG_ENV, "1");
    let server = sb.start_server(cmd);
    let addr = server.addr().to_string();
    let mut streamed = TcpStream::connect(&addr).unwrap();
    streamed.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = chat_body(64, true);
    write!(
        streamed,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{JSON}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 64];
    let n = streamed.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    // Five more wait behind it; once all six are admitted, their clients leave.
    let waiting: Vec<TcpStream> = (0..5).map(|_| send_without_reading(&addr, &chat_body(64, false))).collect();
    assert!(
        eventually(Duration::from_secs(30), || v1_metrics(&server, None)["requests"]["admitted"] == 6),
        "{}",
        v1_metrics(&server, None)
    );
    drop(waiting);
    drop(streamed);
    let settled = eventually(Duration::from_secs(30), || {
        let m = v1_metrics(&server, None);
        m["requests"]["running"] == 0 && m["requests"]["admitted"] == 0
    });
    let metrics = v1_metrics(&server, None);
    assert!(settled, "{metrics}");
    // All six were cancelled (the hung one included); none ran to the end.
    assert_eq!(metrics["requests"]["cancelled"], 6, "{metrics}");
    assert_eq!(metrics["requests"]["served"], 0, "{metrics}");
    // The engine is free at once for the next client.
    let t = Instant::now();
    let (status, _, reply) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 200, "{reply}");
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(v1_metrics(&server, None)["requests"]["served"], 1);
}

#[test]
fn a_full_queue_answers_429_and_a_hung_engine_is_restarted() {
    let sb = Sandbox::new();
    // The first request hangs after one token (the test hook) and fills the one-request queue
    // until the 3 s per-sample deadline fails it and reloads the engine.
    let mut cmd = sb.command(&["serve", "--model", "tiny", "--port", "0", "--max-queue", "1", "--sample-timeout", "3"]);
    cmd.env(smolbench_runners::TEST_HANG_ENV, "1");
    let server = sb.start_server(cmd);
    let addr = server.addr().to_string();
    let mut streamed = TcpStream::connect(&addr).unwrap();
    streamed.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = chat_body(64, true);
    write!(
        streamed,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{JSON}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 12];
    streamed.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let (status, head, reply) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 429, "{reply}");
    assert!(head.to_ascii_lowercase().contains("retry-after: "), "{head}");
    assert!(reply.contains("--max-queue"), "{reply}");
    // The hung request fails with the reason, in its stream.
    let mut rest = String::new();
    let _ = streamed.read_to_string(&mut rest);
    assert!(rest.contains("hung") && rest.contains("--sample-timeout"), "{rest}");
    assert!(!rest.contains("[DONE]"), "{rest}");
    // The reloaded engine answers the next request.
    let (status, _, reply) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 200, "{reply}");
    let metrics = v1_metrics(&server, None);
    assert_eq!(metrics["requests"]["rejected"], 1, "{metrics}");
    assert_eq!(metrics["requests"]["failed"], 1, "{metrics}");
}

/// Sends a streamed chat request on its own connection and reads up to the status line, which
/// comes only once the engine has produced a token.
fn start_stream(addr: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{JSON}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    stream
}

#[test]
fn a_batching_server_runs_its_batch_together_and_admits_no_more_than_its_queue() {
    let sb = Sandbox::new();
    // A queue shorter than the batch could never fill it: refused before anything listens.
    let out = sb.bench(&["serve", "--model", "tiny", "--port", "0", "--batch-size", "2", "--max-queue", "1"]);
    assert!(!out.status.success());
    let err = support::stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(errors.len() == 1 && errors[0].contains("--max-queue 1") && errors[0].contains("--batch-size 2"), "{err}");

    // Both requests hang on the engine after their first token (the test hook): with a batch of
    // two they hold the engine together, where one at a time the second would wait for the first.
    let mut cmd = sb.command(&[
        "serve",
        "--model",
        "tiny",
        "--port",
        "0",
        "--batch-size",
        "2",
        "--max-queue",
        "2",
        "--sample-timeout",
        "4",
    ]);
    cmd.env(smolbench_runners::TEST_HANG_ENV, "1,2");
    let server = sb.start_server(cmd);
    let addr = server.addr().to_string();
    let mut streams: Vec<TcpStream> = (0..2).map(|_| start_stream(&addr, &chat_body(64, true))).collect();
    let metrics = v1_metrics(&server, None);
    assert_eq!(metrics["requests"]["running"], 2, "{metrics}");
    assert_eq!(metrics["requests"]["admitted"], 2, "{metrics}");
    let (status, head, reply) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 429, "{reply}");
    assert!(head.to_ascii_lowercase().contains("retry-after: "), "{head}");
    // Both hung requests fail with the reason; the reloaded engine answers the next one.
    for stream in &mut streams {
        let mut rest = String::new();
        let _ = stream.read_to_string(&mut rest);
        assert!(rest.contains("hung") && !rest.contains("[DONE]"), "{rest}");
    }
    let (status, _, reply) = chat(&server, &chat_body(2, false));
    assert_eq!(status, 200, "{reply}");
}

#[test]
fn sigterm_finishes_the_streams_in_flight_with_done_then_exits() {
    let sb = Sandbox::new();
    let mut server = sb.serve_tiny();
    let addr = server.addr().to_string();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&addr).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
                let body = chat_body(48, true);
                write!(
                    stream,
                    "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{JSON}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
                let mut reply = Vec::new();
                let _ = stream.read_to_end(&mut reply);
                String::from_utf8_lossy(&reply).into_owned()
            })
        })
        .collect();
    // Signal once the server holds all eight (admitted or already served): a client still
    // connecting, or waiting in the listen backlog, is not in flight yet, and on a loaded machine
    // the threads can take that long to get there.
    let held = || {
        let requests = &v1_metrics(&server, None)["requests"];
        requests["admitted"].as_u64().unwrap() + requests["served"].as_u64().unwrap()
    };
    assert!(eventually(Duration::from_secs(60), || held() == 8));
    let before = v1_metrics(&server, None)["requests"]["served"].as_u64().unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) }, 0);
    let replies: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(before < 8, "every request finished before the signal: nothing was in flight");
    for reply in &replies {
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(reply.contains("data: [DONE]"), "a stream cut by the drain: {reply}");
    }
    let status = server.wait_exit(Duration::from_secs(60)).expect("the server exits after draining");
    assert!(status.success(), "{status:?}: {}", server.stderr());
    assert!(server.stderr().contains("stopping"), "{}", server.stderr());
    assert!(TcpStream::connect(&addr).is_err(), "the server still accepts after it stopped");
}

#[test]
fn client_errors_from_the_server_are_neither_retried_nor_held_against_it() {
    let sb = Sandbox::new();
    let data = sb.path("data");
    let mut rows = smolbench_datasets::fixtures::docvqa_rows(4, 5).unwrap();
    rows[1].image_png = b"this is not a PNG".to_vec();
    smolbench_datasets::fixtures::write_docvqa_rows(&data.join("lmms-lab/DocVQA"), &rows).unwrap();
    let server = sb.serve_tiny();
    let run_dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--task",
        "docvqa",
        "--model",
        "tiny",
        "--data-dir",
        data.to_str().unwrap(),
        "--endpoint",
        &server.url,
        "--concurrency",
        "1",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let records = support::read_records(&run_dir);
    assert_eq!(records.len(), 4);
    for r in &records {
        if r.index == 1 {
            let error = r.error.as_deref().unwrap();
            assert!(error.contains("status 400") && error.contains("image 0"), "{error}");
            assert!(!error.contains("attempts"), "a client error was retried: {error}");
        } else {
            assert_eq!(r.status, smolbench_core::SampleStatus::Ok, "{:?}", r.error);
        }
    }
    let metrics = v1_metrics(&server, None);
    assert_eq!(metrics["requests"]["client_errors"], 1, "one attempt only: {metrics}");
    assert_eq!(metrics["requests"]["served"], 3);
}
