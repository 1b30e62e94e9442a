//! End-to-end tests of `bench report` and `bench gate` on real runs of the tiny model.
//!
//! The report is checked in headless Chromium (Debian's `chromium`, installed by `make
//! system-deps`) over the DevTools protocol: every page loads with no console error, no failed
//! request and no uncaught exception, every image decodes, and the tables hold the numbers of
//! each run's `summary.json`. A planted broken page proves the checker can fail.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::Sandbox;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A real run of the tiny model, written to `<sandbox>/<name>`.
fn tiny_run(sb: &Sandbox, name: &str, args: &[&str]) -> PathBuf {
    let dir = sb.path(name);
    let mut all = vec!["run", "--model", "tiny", "--out", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = sb.bench(&all);
    assert!(out.status.success(), "bench run failed: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A small DevTools-protocol client: one headless Chromium, one page target.

fn chromium_path() -> PathBuf {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"] {
        if Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    panic!("Chromium is not installed (looked for /usr/bin/chromium): run `make system-deps` (apt-get install -y chromium); the report test needs it and does not skip");
}

struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// What loading a page produced.
#[derive(Debug, Default)]
struct PageLoad {
    /// Console errors, uncaught exceptions, failed requests.
    errors: Vec<String>,
}

impl Browser {
    fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium_path())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("chromium printed its DevTools URL within 30 s");
        let (mut ws, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        if let MaybeTlsStream::Plain(s) = ws.get_mut() {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        let mut b = Browser { child, ws, session: String::new(), next_id: 0, events: Vec::new(), _profile: profile };
        let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call(None, "Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable", "Network.enable"] {
            b.call_page(domain, json!({}));
        }
        b
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools message (30 s timeout)") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => continue,
            }
        }
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "{method}: no answer within 60 s");
            let v = self.read();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    fn call_page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Navigates to `path`, waits for the load event and a moment more, and collects errors.
    fn load(&mut self, path: &Path) -> PageLoad {
        self.events.clear();
        let url = format!("file://{}", path.canonicalize().unwrap().display());
        self.call_page("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.events.iter().any(|e| e["method"] == "Page.loadEventFired") {
            assert!(Instant::now() < deadline, "{url} did not finish loading within 60 s");
            let v = self.read();
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
        // Let late console messages arrive: a round trip after the load event.
        self.eval("1");
        let mut load = PageLoad::default();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.consoleAPICalled" if matches!(p["type"].as_str(), Some("error" | "assert")) => {
                    load.errors.push(format!("console.{}: {}", p["type"], p["args"]))
                }
                "Runtime.exceptionThrown" => load.errors.push(format!("exception: {}", p["exceptionDetails"])),
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    load.errors.push(format!("log: {} {}", p["entry"]["text"], p["entry"]["url"]))
                }
                "Network.loadingFailed" => load.errors.push(format!("request failed: {}", p["errorText"])),
                _ => {}
            }
        }
        load
    }

    /// Evaluates `expr` in the page; returns its JSON value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call_page("Runtime.evaluate", json!({"expression": expr, "returnByValue": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Every `<img>`: its src, whether it finished loading and decoded to a non-empty image.
    fn images(&mut self) -> Vec<(String, bool)> {
        let v = self.eval(
            "JSON.stringify(Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0 && i.naturalHeight > 0]))",
        );
        serde_json::from_str(v.as_str().unwrap()).unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loads a page and asserts it is clean and that all its images decoded; returns the number of
/// images.
fn assert_clean_page(browser: &mut Browser, path: &Path) -> usize {
    let load = browser.load(path);
    assert!(load.errors.is_empty(), "{}: {:?}", path.display(), load.errors);
    let images = browser.images();
    let broken: Vec<&String> = images.iter().filter(|(_, ok)| !ok).map(|(s, _)| s).collect();
    assert!(broken.is_empty(), "{}: images that did not load: {broken:?}", path.display());
    images.len()
}

fn pct(v: &Value) -> String {
    format!("{:.2}", v.as_f64().unwrap() * 100.0)
}

#[test]
fn the_page_checker_catches_broken_pages() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"missing.png\"><script>console.error('planted');</script></body></html>",
    )
    .unwrap();
    let mut browser = Browser::launch();
    let load = browser.load(&page);
    assert!(load.errors.iter().any(|e| e.contains("planted")), "{:?}", load.errors);
    assert!(load.errors.iter().any(|e| e.contains("request failed") || e.contains("missing.png")), "{:?}", load.errors);
    assert_eq!(browser.images(), vec![("missing.png".to_string(), false)]);
}

#[test]
fn report_of_real_tiny_runs_loads_cleanly_and_holds_the_summary_numbers() {
    let sb = Sandbox::new();
    let a = tiny_run(&sb, "run-a", &["--task", "docvqa", "--task", "mmmu", "--task", "ocrbench", "--limit", "6"]);
    let b = tiny_run(&sb, "run-b", &["--task", "docvqa", "--task", "chartqa", "--limit", "4"]);
    let site = sb.path("site");
    let out = sb.bench(&["report", a.to_str().unwrap(), b.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "bench report failed: {}", String::from_utf8_lossy(&out.stderr));

    // Self-contained: nothing is fetched from elsewhere.
    for entry in std::fs::read_dir(&site).unwrap().chain(std::fs::read_dir(site.join("samples")).unwrap()) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            let html = std::fs::read_to_string(&path).unwrap();
            for fetch in ["src=\"http", "src=\"//", "href=\"http", "<link", "@import", "url(", "<script src"] {
                assert!(!html.contains(fetch), "{} loads something from elsewhere: {fetch}", path.display());
            }
        }
    }

    let mut browser = Browser::launch();
    let images = assert_clean_page(&mut browser, &site.join("index.html"));
    assert!(images >= 4, "a score-against-memory chart per task: {images}");

    // The overview holds every run's summary.json numbers.
    let tags: Vec<(String, String)> = serde_json::from_str(
        browser
            .eval("JSON.stringify(Array.from(document.querySelectorAll('#runs tr[data-run]')).map(r => [r.dataset.run, r.cells[1].textContent]))")
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(tags.len(), 2);
    for dir in [&a, &b] {
        let summary = read_json(&dir.join("summary.json"));
        let run_id = summary["run_id"].as_str().unwrap();
        let tag = &tags.iter().find(|(_, id)| id == run_id).expect("run listed").0;
        for task in summary["tasks"].as_array().unwrap() {
            let name = task["task"].as_str().unwrap();
            let sel = format!("td.score[data-run=\"{tag}\"][data-task=\"{name}\"]");
            let cell = browser.eval(&format!(
                "(() => {{ const c = document.querySelector('{sel}'); return c ? [c.querySelector('.value').textContent, c.querySelector('.ci95').textContent] : null; }})()"
            ));
            let ci = &task["score_ci95"];
            let expected = json!([pct(&task["score"]), format!("[{}, {}]", pct(&ci[0]), pct(&ci[1]))]);
            assert_eq!(cell, expected, "{tag} {name}");
        }
    }
    // Published numbers sit beside the scores, with their labels.
    let docvqa_row = browser.eval("document.querySelector('#overview tr[data-task=\"docvqa\"]').textContent");
    assert!(docvqa_row.as_str().unwrap().contains("58.3"), "{docvqa_row}");
    assert!(docvqa_row.as_str().unwrap().contains("paper Table 1"), "{docvqa_row}");

    // Latency page: p50/p90/p99 from summary.json.
    assert!(assert_clean_page(&mut browser, &site.join("latency.html")) >= 3);
    let summary_a = read_json(&a.join("summary.json"));
    let tag_a = &tags.iter().find(|(_, id)| id == summary_a["run_id"].as_str().unwrap()).unwrap().0;
    for task in summary_a["tasks"].as_array().unwrap() {
        let name = task["task"].as_str().unwrap();
        let row = browser.eval(&format!(
            "Array.from(document.querySelector('#latency tr[data-run=\"{tag_a}\"][data-task=\"{name}\"]').cells).map(c => c.textContent)"
        ));
        let cells: Vec<String> = serde_json::from_value(row).unwrap();
        assert_eq!(cells[3], format!("{:.1}", task["ttft_ms"]["p50"].as_f64().unwrap()), "{name}");
        assert_eq!(cells[5], format!("{:.1}", task["ttft_ms"]["p99"].as_f64().unwrap()), "{name}");
        assert_eq!(cells[6], format!("{:.1}", task["e2e_ms"]["p50"].as_f64().unwrap()), "{name}");
        assert_eq!(cells[7], format!("{:.1}", task["e2e_ms"]["p90"].as_f64().unwrap()), "{name}");
    }

    // Breakdowns (MMMU subjects, OCRBench categories) with their charts.
    assert!(assert_clean_page(&mut browser, &site.join("tasks.html")) >= 2);
    let breakdowns = browser.eval("Array.from(document.querySelectorAll('table.breakdown')).map(t => t.dataset.task)");
    let breakdowns: Vec<String> = serde_json::from_value(breakdowns).unwrap();
    assert!(breakdowns.contains(&"mmmu".to_string()) && breakdowns.contains(&"ocrbench".to_string()), "{breakdowns:?}");

    assert_clean_page(&mut browser, &site.join("baselines.html"));

    // A per-sample page: thumbnails decode, one row per record, and the failure filter hides
    // exactly the fully correct samples.
    let records: Vec<Value> = std::fs::read_to_string(a.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["task"] == "docvqa")
        .collect();
    let sample_page = site.join(format!("samples/{}-docvqa.html", tag_a.to_lowercase()));
    let thumbs = assert_clean_page(&mut browser, &sample_page);
    assert_eq!(thumbs, records.len(), "one thumbnail per sample");
    let visible = "document.querySelectorAll('table.samples tbody tr').length + ':' + Array.from(document.querySelectorAll('table.samples tbody tr')).filter(r => r.offsetParent !== null).length";
    assert_eq!(browser.eval(visible), json!(format!("{0}:{0}", records.len())));
    browser.eval("document.getElementById('only-failures').click()");
    let failures = records.iter().filter(|r| r["score"].as_f64().is_none_or(|s| s < 1.0)).count();
    assert_eq!(browser.eval(visible), json!(format!("{}:{failures}", records.len())));
    // Predictions are shown escaped, as text.
    let first_prediction = records[0]["prediction"].as_str().unwrap();
    let shown = browser.eval("document.querySelector('table.samples tbody tr').cells[5].textContent");
    assert_eq!(shown.as_str().unwrap(), first_prediction);
}

// ---------------------------------------------------------------------------------------------
// The gate on two real tiny runs.

#[test]
fn gate_on_real_tiny_runs() {
    let sb = Sandbox::new();
    let a = tiny_run(&sb, "a", &["--task", "docvqa", "--task", "ai2d", "--limit", "5"]);
    let b = tiny_run(&sb, "b", &["--task", "docvqa", "--task", "ai2d", "--limit", "5"]);
    let junit = sb.path("gate.xml");
    let md = sb.path("gate.md");
    let out = sb.bench(&[
        "gate",
        "--baseline",
        a.to_str().unwrap(),
        "--candidate",
        b.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Greedy decoding: same predictions, so no accuracy change; latency on the same machine.
    assert!(stdout.contains("| docvqa | accuracy | pass |"), "{stdout}");
    assert!(stdout.contains("sample set too small"), "5 samples cannot catch 2 points: {stdout}");
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<testcase classname=\"gate.ai2d\" name=\"accuracy\">"));
    assert_eq!(std::fs::read_to_string(&md).unwrap(), stdout);
    // Latency with 5 samples is reported, not gated; so the pair passes.
    assert_eq!(out.status.code(), Some(0), "{stdout}");

    // Different sample sets: unusable input.
    let c = tiny_run(&sb, "c", &["--task", "docvqa", "--task", "ai2d", "--limit", "4"]);
    let out = sb.bench(&["gate", "--baseline", a.to_str().unwrap(), "--candidate", c.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different sample sets"));
}

// ---------------------------------------------------------------------------------------------
// The gate on constructed run pairs: run directories written from typed records.

mod constructed {
    use super::*;
    use smolbench_core::{
        DeviceFingerprint, FinishReason, Generation, MemoryReading, MemorySource, ModelRecord, RunManifest,
        SampleRecord, SampleStatus, TaskRecord, STORE_FORMAT_VERSION,
    };

    pub fn manifest(run_id: &str, tasks: &[&str]) -> RunManifest {
        RunManifest {
            format_version: STORE_FORMAT_VERSION,
            run_id: run_id.into(),
            command: vec!["bench".into()],
            started_at: "2026-01-01T00:00:00Z".into(),
            suite: "custom".into(),
            model: ModelRecord {
                requested: "tiny".into(),
                repo_id: None,
                source_dir: "/nonexistent/model".into(),
                prepared_dir: "/nonexistent/model.prepared".into(),
                prepare_changes: vec![],
                files: vec![],
                engine: "mistralrs 0.8.1".into(),
                dtype: "f32".into(),
                tokens_per_image: 9,
                image_splitting: false,
                longest_edge: None,
                tile_size: 64,
                encoder_cache: false,
                engine_patch: None,
            },
            tasks: tasks
                .iter()
                .map(|t| TaskRecord {
                    name: t.to_string(),
                    version: 1,
                    config: smolbench_tasks::builtin_task(t).unwrap().def().to_json(),
                    data_dir: "/nonexistent/data".into(),
                    data_revision: None,
                    data_files: vec![],
                    available_samples: 1000,
                    selected_samples: 1000,
                    prompt_profile: "lmms-eval".into(),
                    metric_profile: "lmms-eval".into(),
                    data_lock: "verified (1 files)".into(),
                })
                .collect(),
            skipped_tasks: vec![],
            smolbench_version: "0.1.0".into(),
            git_commit: None,
            device: DeviceFingerprint {
                compute: "cpu".into(),
                cpu_model: "Test CPU".into(),
                cpu_cores: 2,
                ram_total_bytes: 1 << 34,
                gpus: vec![],
                os: "linux".into(),
                hostname: "test".into(),
            },
            data_source: "synthetic".into(),
            limit: None,
            endpoints: Vec::new(),
        }
    }

    /// A scored sample with a timing of `e2e_ms`.
    pub fn record(task: &str, index: usize, score: f64, e2e_ms: f64) -> SampleRecord {
        SampleRecord {
            task: task.into(),
            sample_id: format!("{task}-{index}"),
            index,
            status: SampleStatus::Ok,
            prompt: "q".into(),
            n_images: 1,
            references: vec!["a".into()],
            prediction: Some("a".into()),
            extracted: Some("a".into()),
            metric: "m".into(),
            score: Some(score),
            generation: Some(Generation {
                text: "a".into(),
                finish_reason: FinishReason::Stop,
                prompt_tokens: 100,
                image_tokens: 64,
                image_marker_tokens: 3,
                completion_tokens: 8,
                ttft_ms: e2e_ms / 2.0,
                e2e_ms,
                decode_tokens_per_s: Some(8000.0 / e2e_ms),
                usage_source: "engine".into(),
                image_tiles: 1,
                encoder_cache_hits: None,
                budget_capped_to: None,
                preprocess_ms: Some(e2e_ms / 10.0),
            }),
            memory: Some(MemoryReading { peak_bytes: 500 << 20, source: MemorySource::ProcessRss }),
            ..Default::default()
        }
    }

    pub fn write_run(dir: &Path, manifest: &RunManifest, records: &[SampleRecord]) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("run.json"), serde_json::to_string_pretty(manifest).unwrap()).unwrap();
        let lines: String = records.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
        std::fs::write(dir.join("samples.jsonl"), lines).unwrap();
    }

    /// `n` 0/1 samples of `task`, 60% right, latency 100-140 ms.
    pub fn binary_samples(task: &str, n: usize) -> Vec<SampleRecord> {
        (0..n).map(|i| record(task, i, if i % 5 < 3 { 1.0 } else { 0.0 }, 100.0 + (i % 41) as f64)).collect()
    }
}

fn gate(sb: &Sandbox, base: &Path, cand: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["gate", "--baseline", base.to_str().unwrap(), "--candidate", cand.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = sb.bench(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn gate_identical_pair_passes() {
    use constructed::*;
    let sb = Sandbox::new();
    let records = binary_samples("mmstar", 400);
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &records);
    write_run(&sb.path("b"), &manifest("b", &["mmstar"]), &records);
    let junit = sb.path("j.xml");
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &["--junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("## SmolBench gate: PASS"), "{stdout}");
    assert!(stdout.contains("0 newly wrong, 0 newly right"), "{stdout}");
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(xml.contains("failures=\"0\"") && !xml.contains("<failure"), "{xml}");
}

#[test]
fn gate_real_accuracy_regression_fails() {
    use constructed::*;
    let sb = Sandbox::new();
    let base = binary_samples("mmstar", 400);
    // 40 right answers become wrong (10 points), 4 wrong become right.
    let mut cand = base.clone();
    let mut flipped = 0;
    for r in cand.iter_mut() {
        if r.score == Some(1.0) && flipped < 40 {
            r.score = Some(0.0);
            flipped += 1;
        }
    }
    for r in cand.iter_mut().filter(|r| r.score == Some(0.0) && r.index % 5 == 4).take(4) {
        r.score = Some(1.0);
    }
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &base);
    write_run(&sb.path("b"), &manifest("b", &["mmstar"]), &cand);
    let junit = sb.path("j.xml");
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &["--junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("| mmstar | accuracy | **REGRESSION** |"), "{stdout}");
    assert!(stdout.contains("40 newly wrong, 4 newly right"), "{stdout}");
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(xml.contains("<failure") && xml.contains("failures=\"1\""), "{xml}");

    // A continuous metric (ANLS) regression goes through the paired bootstrap.
    let base: Vec<_> = (0..300).map(|i| record("docvqa", i, 0.5 + (i % 5) as f64 / 10.0, 100.0)).collect();
    let cand: Vec<_> = base
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r.index % 2 == 0 {
                r.score = Some(r.score.unwrap() - 0.3);
            }
            r
        })
        .collect();
    write_run(&sb.path("c"), &manifest("c", &["docvqa"]), &base);
    write_run(&sb.path("d"), &manifest("d", &["docvqa"]), &cand);
    let (code, stdout, _) = gate(&sb, &sb.path("c"), &sb.path("d"), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("paired bootstrap"), "{stdout}");
}

#[test]
fn gate_noise_inside_the_interval_passes() {
    use constructed::*;
    let sb = Sandbox::new();
    let base = binary_samples("mmstar", 400);
    // 10 newly wrong, 8 newly right: a 0.5-point drop, well inside the noise.
    let mut cand = base.clone();
    for r in cand.iter_mut().filter(|r| r.score == Some(1.0)).take(10) {
        r.score = Some(0.0);
    }
    for r in cand.iter_mut().filter(|r| r.score == Some(0.0) && r.index % 5 == 4).take(8) {
        r.score = Some(1.0);
    }
    // Latency jitter within tolerance (+5%).
    for r in cand.iter_mut() {
        let g = r.generation.as_mut().unwrap();
        g.e2e_ms *= 1.05;
        g.ttft_ms *= 1.05;
    }
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &base);
    write_run(&sb.path("b"), &manifest("b", &["mmstar"]), &cand);
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("10 newly wrong, 8 newly right"), "{stdout}");
    assert!(stdout.contains("| mmstar | e2e p50 | pass |"), "{stdout}");
}

#[test]
fn gate_latency_and_memory_regressions_fail_on_the_same_device_only() {
    use constructed::*;
    let sb = Sandbox::new();
    let base = binary_samples("mmstar", 100);
    let mut cand = base.clone();
    for r in cand.iter_mut() {
        r.generation.as_mut().unwrap().e2e_ms *= 1.6;
        r.memory.as_mut().unwrap().peak_bytes *= 2;
    }
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &base);
    write_run(&sb.path("b"), &manifest("b", &["mmstar"]), &cand);
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("| mmstar | e2e p50 | **REGRESSION** |"), "{stdout}");
    assert!(stdout.contains("| mmstar | peak memory | **REGRESSION** |"), "{stdout}");
    assert!(stdout.contains("| mmstar | accuracy | pass |"), "{stdout}");

    // The same pair on different machines: latency is not compared, accuracy still is.
    let mut other = manifest("c", &["mmstar"]);
    other.device.cpu_model = "Another CPU".into();
    write_run(&sb.path("c"), &other, &cand);
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("c"), &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("different devices"), "{stdout}");
}

#[test]
fn gate_more_failed_samples_is_a_regression() {
    use constructed::*;
    let sb = Sandbox::new();
    let base = binary_samples("mmstar", 100);
    let mut cand = base.clone();
    for r in cand.iter_mut().take(3) {
        r.status = smolbench_core::SampleStatus::Failed;
        r.score = None;
        r.generation = None;
        r.error = Some("engine error".into());
    }
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &base);
    write_run(&sb.path("b"), &manifest("b", &["mmstar"]), &cand);
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("| mmstar | failed samples | **REGRESSION** | 0 | 3 |"), "{stdout}");
    // The accuracy test pairs only the samples scored in both runs.
    assert!(stdout.contains("n = 97"), "{stdout}");
}

#[test]
fn gate_says_when_a_sample_set_is_too_small() {
    use constructed::*;
    let sb = Sandbox::new();
    let records = binary_samples("mmstar", 30);
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &records);
    write_run(&sb.path("b"), &manifest("b", &["mmstar"]), &records);
    let (code, stdout, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &[]);
    assert_eq!(code, Some(0), "{stdout}");
    // ceil(log2(2/0.05)) = 6 discordant pairs at least: 6/30 = 20 points.
    assert!(
        stdout.contains("sample set too small: 30 paired samples can detect a drop of 20.0 points at best"),
        "{stdout}"
    );
    // With fail-when-underpowered the same pair fails.
    let strict = sb.path("strict.toml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("gate.toml")).unwrap();
    std::fs::write(&strict, text.replace("fail-when-underpowered = false", "fail-when-underpowered = true")).unwrap();
    let (code, _, _) = gate(&sb, &sb.path("a"), &sb.path("b"), &["--config", strict.to_str().unwrap()]);
    assert_eq!(code, Some(1));
}

#[test]
fn gate_mismatched_inputs_exit_2() {
    use constructed::*;
    let sb = Sandbox::new();
    let records = binary_samples("mmstar", 50);
    write_run(&sb.path("a"), &manifest("a", &["mmstar"]), &records);

    // Different tasks.
    let mut other: Vec<_> = records.clone();
    other.extend(binary_samples("ai2d", 10));
    write_run(&sb.path("tasks"), &manifest("t", &["mmstar", "ai2d"]), &other);
    // Different sample sets.
    write_run(&sb.path("samples"), &manifest("s", &["mmstar"]), &records[..40]);
    // Different prompt profile.
    let mut profile = manifest("p", &["mmstar"]);
    profile.tasks[0].config["prompt"]["default"] = json!("vlmevalkit-smolvlm");
    write_run(&sb.path("profile"), &profile, &records);
    // A gate file with a typo.
    let bad = sb.path("bad.toml");
    std::fs::write(&bad, "[accuracy]\nalpha = 2\n").unwrap();

    let md = sb.path("out.md");
    for (cand, extra, expected) in [
        ("tasks", vec![], "different tasks"),
        ("samples", vec![], "different sample sets"),
        ("profile", vec![], "different prompt profiles"),
        ("missing", vec![], "does not exist"),
        ("a", vec!["--config", bad.to_str().unwrap()], "bad.toml"),
    ] {
        let mut extra = extra.clone();
        extra.extend(["--markdown", md.to_str().unwrap()]);
        let (code, stdout, stderr) = gate(&sb, &sb.path("a"), &sb.path(cand), &extra);
        assert_eq!(code, Some(2), "{cand}: {stdout} {stderr}");
        let line: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(line.len(), 1, "{stderr}");
        assert!(line[0].contains(expected), "{cand}: {}", line[0]);
        assert!(std::fs::read_to_string(&md).unwrap().contains("UNUSABLE INPUT"));
    }
}
