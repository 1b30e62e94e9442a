//! End-to-end tests of `bench report` on real runs of the tiny model.
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
    browser.call_page(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
    );
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
    // The first screen: the headline chart beside the compact table, both in view at 1400 px.
    let first_screen = browser.eval(
        "(() => { const f = document.querySelector('figure.headline img').getBoundingClientRect(); const t = document.querySelector('#overview').getBoundingClientRect(); return [f.top < 200, t.top < 200, f.right <= t.left + 1]; })()",
    );
    assert_eq!(first_screen, json!([true, true, true]), "chart and table side by side at the top");
    // The tiny model has no checkpoint: nothing published is compared with it, and the row says so.
    let docvqa_row = browser.eval("document.querySelector('#overview tr[data-task=\"docvqa\"]').textContent");
    assert!(docvqa_row.as_str().unwrap().contains("no checkpoint recorded"), "{docvqa_row}");
    // The published numbers for the runs' tasks are on baselines.html, with their settings.
    let published = std::fs::read_to_string(site.join("baselines.html")).unwrap();
    assert!(published.contains("<h3 id=\"task-docvqa\">docvqa</h3>"));
    assert!(published.contains("paper Table 1"));

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
