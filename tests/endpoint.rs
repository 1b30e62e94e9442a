//! Tests of the endpoint runner through the real `bench` binary: bad replies from a local
//! server that misbehaves on purpose become clear per-sample errors (never scored), retries
//! honour `Retry-After`, and a run over two `bench serve` processes survives losing one.

mod support;

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;
use smolbench_core::{RunManifest, SampleStatus};
use support::{read_records, stderr, Misbehaving, Misbehaviour, Sandbox};

/// Runs two DocVQA samples against a misbehaving server and returns the records' errors.
fn errors_against(mode: Misbehaviour, extra: &[&str]) -> (Vec<String>, Misbehaving) {
    let sb = Sandbox::new();
    let server = Misbehaving::start(mode);
    let run_dir = sb.path("run");
    let mut args = vec![
        "run",
        "--task",
        "docvqa",
        "--model",
        "tiny",
        "--limit",
        "2",
        "--endpoint",
        &server.url,
        "--out",
        run_dir.to_str().unwrap(),
        "--max-consecutive-failures",
        "10",
    ];
    args.extend_from_slice(extra);
    let out = sb.bench(&args);
    assert!(out.status.success(), "failed samples do not fail the run: {}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Failed);
        assert_eq!(r.score, None, "a failed sample is never scored as a wrong answer");
        assert_eq!(r.prediction, None);
        let e = r.error.as_deref().unwrap();
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(e.starts_with(&format!("{}/v1/chat/completions: ", server.url)), "names the URL: {e}");
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["tasks"][0]["n_failed"], 2);
    (records.into_iter().map(|r| r.error.unwrap()).collect(), server)
}

#[test]
fn html_error_page_is_a_clear_error_after_retries() {
    let (errors, server) = errors_against(Misbehaviour::HtmlBadGateway, &["--retries", "1"]);
    for e in &errors {
        assert!(e.contains("reply is HTML, not JSON (status 502)"), "{e}");
        assert!(e.contains("gave up after 2 attempts"), "{e}");
    }
    assert_eq!(server.chat_requests.load(Ordering::SeqCst), 4, "two samples, two attempts each");
}

#[test]
fn truncated_json_is_a_clear_error() {
    let (errors, _) = errors_against(Misbehaviour::TruncatedJson, &["--retries", "0"]);
    for e in &errors {
        assert!(e.contains("reply is truncated JSON"), "{e}");
    }
}

#[test]
fn stream_that_ends_early_is_a_clear_error() {
    let (errors, _) = errors_against(Misbehaviour::StreamEndsEarly, &["--retries", "0"]);
    for e in &errors {
        assert!(e.contains("stream ended before [DONE] after 3 chunks"), "{e}");
    }
}

#[test]
fn stall_past_the_timeout_is_a_clear_error() {
    let started = Instant::now();
    let (errors, _) = errors_against(Misbehaviour::Stall, &["--retries", "0", "--endpoint-timeout", "1"]);
    for e in &errors {
        assert!(e.contains("no reply within 1s (--endpoint-timeout)"), "{e}");
    }
    assert!(started.elapsed() < Duration::from_secs(60), "the timeout bounds the run");
}

#[test]
fn retry_after_is_honoured_and_the_retry_succeeds() {
    let sb = Sandbox::new();
    let server = Misbehaving::start(Misbehaviour::BusyOnceThenFine);
    let run_dir = sb.path("run");
    let out = sb.bench(&[
        "run",
        "--task",
        "docvqa",
        "--model",
        "tiny",
        "--limit",
        "1",
        "--endpoint",
        &server.url,
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
    assert_eq!(r.prediction.as_deref(), Some("fine answer"));
    let g = r.generation.as_ref().unwrap();
    assert_eq!((g.prompt_tokens, g.completion_tokens, g.usage_source.as_str()), (11, 2, "server"));
    assert_eq!(r.memory, None, "a server that reports no memory gives none, not the client's");
    let arrivals = server.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_millis(950), "Retry-After: 1 was not honoured ({gap:?})");
}

#[test]
fn unreachable_endpoint_is_one_clear_line() {
    let sb = Sandbox::new();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let out = sb.bench(&["run", "--task", "docvqa", "--model", "tiny", "--endpoint", &url]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("no endpoint answers") && lines[0].contains(&url), "{}", lines[0]);
    assert!(!sb.path("runs").exists(), "no run directory for a run that cannot start");
}

#[test]
fn killing_one_of_two_servers_loses_no_sample() {
    let sb = Sandbox::new();
    let mut a = sb.serve_tiny();
    let b = sb.serve_tiny();
    let run_dir = sb.path("run");
    let mut child = sb
        .command(&[
            "run",
            "--task",
            "docvqa",
            "--model",
            "tiny",
            "--endpoint",
            &a.url,
            "--endpoint",
            &b.url,
            "--endpoint-concurrency",
            "2",
            "--out",
            run_dir.to_str().unwrap(),
        ])
        .env("SMOLBENCH_TEST_SAMPLE_DELAY_MS", "150")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(sb.path("run.stderr")).unwrap()))
        .spawn()
        .unwrap();
    let samples = run_dir.join("samples.jsonl");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let lines = std::fs::read_to_string(&samples).map(|t| t.lines().count()).unwrap_or(0);
        if lines >= 6 {
            break;
        }
        assert!(Instant::now() < deadline, "the run never recorded 6 samples");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before a server could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The pool spread the work: the server about to be killed has answered some of it.
    let (status, body) = support::http_get(&format!("{}/v1/metrics", a.url));
    assert_eq!(status, 200);
    let served_by_a = serde_json::from_str::<Value>(&body).unwrap()["requests"]["served"].as_u64().unwrap();
    assert!(served_by_a >= 1, "A served nothing before the kill");
    a.kill();
    let recorded_at_kill = std::fs::read_to_string(&samples).unwrap().lines().count();
    assert!(recorded_at_kill < 24, "the kill came before the end ({recorded_at_kill} recorded)");

    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the run did not finish after the kill");
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = std::fs::read_to_string(sb.path("run.stderr")).unwrap_or_default();
    assert!(status.success(), "{err}");

    let records = read_records(&run_dir);
    let mut indices: Vec<usize> = records.iter().map(|r| r.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..24).collect::<Vec<_>>(), "every sample recorded exactly once");
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "sample {}: {:?}", r.index, r.error);
        let m = r.memory.expect("the server reports each request's peak memory");
        assert!(m.peak_bytes > 1 << 20);
    }
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest.device.compute, "remote");
    assert_eq!(manifest.endpoints.len(), 2);
    // The survivor served the rest.
    let (status, body) = support::http_get(&format!("{}/v1/metrics", b.url));
    assert_eq!(status, 200);
    let metrics: Value = serde_json::from_str(&body).unwrap();
    let served = metrics["requests"]["served"].as_u64().unwrap();
    assert!(served as usize >= 24 - recorded_at_kill, "B served {served}, {recorded_at_kill} were done at the kill");
}
