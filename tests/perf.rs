//! Tests of batching and the performance sweep: the real `bench` binary, the real mistral.rs
//! engine on the tiny checkpoint, `bench serve` on loopback for the endpoint sweep.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use smolbench_core::perf::{PerfResult, PERF_FILE};
use smolbench_core::SampleStatus;
use support::{read_records, stderr, Sandbox};

fn read_perf(dir: &Path) -> PerfResult {
    serde_json::from_str(&std::fs::read_to_string(dir.join(PERF_FILE)).unwrap()).unwrap()
}

/// `bench perf --model tiny` on small synthetic images, quick settings, then `extra`.
fn tiny_sweep(sb: &Sandbox, out: &Path, extra: &[&str]) -> std::process::Output {
    let base = [
        "perf",
        "--model",
        "tiny",
        "--synthetic",
        "64x64",
        "--samples",
        "8",
        "--output-tokens",
        "8",
        "--warmup",
        "1",
        "--repeats",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    sb.bench(&[&base[..], extra].concat())
}

/// At batch 8 the engine prefills and decodes prompts of equal length together, and sets
/// sequences of other lengths aside mid-reply; each must still continue as it does alone. With
/// unpatched mistral.rs 0.8.1, 15 of these 24 predictions changed in one run: co-decoded
/// sequences got the last one's attention (DocVQA 49049 and 49099, 97 prompt tokens each, gave
/// one reply), and set-aside replies were prompted again (see runners/patches/).
#[test]
fn batch_sizes_1_and_8_give_identical_predictions() {
    let sb = Sandbox::new();
    let mut predictions = Vec::new();
    for batch in ["1", "8"] {
        let dir = sb.path(&format!("run-b{batch}"));
        let out = sb.run_tiny("docvqa", &["--limit", "24", "--batch-size", batch, "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "bench run --batch-size {batch} failed: {}", stderr(&out));
        let records = read_records(&dir);
        assert_eq!(records.len(), 24);
        let by_id: BTreeMap<String, String> = records
            .iter()
            .map(|r| {
                assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
                (r.sample_id.clone(), r.generation.as_ref().unwrap().text.clone())
            })
            .collect();
        predictions.push(by_id);
    }
    assert!(predictions[0].values().any(|p| !p.is_empty()), "the tiny model generated nothing");
    assert_eq!(predictions[0], predictions[1], "predictions depend on the batch size");
}

#[test]
fn perf_sweep_on_tiny_prints_its_table_and_counts_the_engines_batches() {
    let sb = Sandbox::new();
    let out_dir = sb.path("perf");
    let out = tiny_sweep(&sb, &out_dir, &["--batch-sizes", "1,4"]);
    assert!(out.status.success(), "bench perf failed: {}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("samples/s") && table.contains("peak cpu MiB"), "table: {table}");
    let rows: Vec<&str> =
        table.lines().filter(|l| l.trim_start().starts_with("1 ") || l.trim_start().starts_with("4 ")).collect();
    assert_eq!(rows.len(), 2, "one row per batch size: {table}");

    let perf = read_perf(&out_dir);
    assert_eq!(perf.mode, "batch");
    assert_eq!(perf.engine, "mistralrs 0.8.1");
    assert_eq!(perf.device.compute, "cpu");
    assert_eq!(perf.workload.samples, 8);
    assert_eq!(perf.levels.len(), 2);
    for level in &perf.levels {
        assert_eq!(level.repeats.len(), 2);
        assert_eq!(level.failed, 0, "{:?}", level.first_error);
        assert!(level.repeats.iter().all(|r| r.samples == 8 && r.samples_per_s > 0.0));
        assert!(level.samples_per_s > 0.0 && level.output_tokens_per_s > 0.0);
        assert!(level.output_tokens_max <= 8 && level.output_tokens_mean > 0.0);
        assert!(level.e2e_ms.p50 > 0.0 && level.e2e_ms.p99 >= level.e2e_ms.p50);
        assert!(level.ttft_ms.p50 > 0.0 && level.ttft_ms.p50 <= level.e2e_ms.p50);
        let cpu = level.memory.iter().find(|m| m.device == "cpu").expect("a CPU memory reading");
        assert_eq!(cpu.source, "rss_anon");
        assert!(cpu.peak_bytes > 1 << 20, "{cpu:?}");
    }
    // The engine's scheduler says what it ran: one sequence at a time at batch 1, several at 4.
    let b1 = perf.levels[0].engine_batches.as_ref().expect("batches counted");
    let b4 = perf.levels[1].engine_batches.as_ref().expect("batches counted");
    assert_eq!(b1.max_batch(), 1, "{b1:?}");
    assert!(b4.max_batch() > 1 && b4.max_batch() <= 4, "{b4:?}");
    // Every request of both repeats went through exactly one prompt pass: sequences the
    // scheduler set aside mid-reply resume decoding (unpatched mistral.rs 0.8.1 prompted them again).
    let prefilled: u64 = b4.prompt.iter().map(|(size, n)| *size as u64 * n).sum();
    assert_eq!(prefilled, 16, "{b4:?}");
}

#[test]
fn perf_sweeps_an_endpoint_by_concurrency_and_by_request_rate() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny();
    let by_concurrency = sb.path("perf-c");
    let out = tiny_sweep(&sb, &by_concurrency, &["--endpoint", &server.url, "--concurrency", "1,2"]);
    assert!(out.status.success(), "bench perf --endpoint failed: {}", stderr(&out));
    let perf = read_perf(&by_concurrency);
    assert_eq!(perf.mode, "concurrency");
    assert_eq!(perf.device.compute, "remote");
    assert_eq!(perf.levels.iter().map(|l| l.level).collect::<Vec<_>>(), [Some(1.0), Some(2.0)]);
    assert!(perf.levels.iter().all(|l| l.failed == 0 && l.repeats[0].samples == 8), "{perf:?}");
    // SmolBench's server reports its memory with each reply.
    assert!(perf.levels[0].memory.iter().any(|m| m.source == "server_reported" && m.peak_bytes > 0));

    let by_rate = sb.path("perf-r");
    let out = tiny_sweep(&sb, &by_rate, &["--endpoint", &server.url, "--request-rate", "20,inf"]);
    assert!(out.status.success(), "bench perf --request-rate failed: {}", stderr(&out));
    let perf = read_perf(&by_rate);
    assert_eq!(perf.mode, "rate");
    assert_eq!(perf.levels.iter().map(|l| l.level).collect::<Vec<_>>(), [Some(20.0), None]);
    // Eight arrivals at 20/s take about 0.35 s on average; the pass cannot end before the last one.
    assert!(perf.levels[0].repeats[0].wall_s > 0.1, "{:?}", perf.levels[0].repeats[0]);
    assert!(perf.levels.iter().all(|l| l.failed == 0 && l.repeats[0].samples == 8));
}

#[test]
fn report_shows_the_perf_charts_and_the_gate_compares_sweeps() {
    let sb = Sandbox::new();
    let sweep = sb.path("perf");
    let out = tiny_sweep(&sb, &sweep, &["--batch-sizes", "1,2"]);
    assert!(out.status.success(), "bench perf failed: {}", stderr(&out));
    let run = sb.path("run");
    let out = sb.run_tiny("docvqa", &["--limit", "2", "--out", run.to_str().unwrap()]);
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));

    let site = sb.path("site");
    let out = sb.bench(&["report", run.to_str().unwrap(), sweep.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "bench report failed: {}", stderr(&out));
    let page = std::fs::read_to_string(site.join("perf.html")).unwrap();
    for chart in ["charts/perf-throughput.png", "charts/perf-memory.png"] {
        assert!(page.contains(&format!("src=\"{chart}\"")), "{chart} not on the page");
        let png = image::open(site.join(chart)).unwrap();
        assert_eq!((png.width(), png.height()), (960, 560));
    }
    // The paper's points are listed with their sources.
    for figure in ["throughput_A100_batch1", "throughput_A100_batch64", "GPU_RAM_inference_batch64", "16.3"] {
        assert!(page.contains(figure), "{figure} missing from perf.html");
    }
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("href=\"perf.html\""), "the overview does not link the perf page");

    // A sweep against itself passes the gate; one with half the throughput fails it.
    let same = sb.bench(&["gate", "--baseline", sweep.to_str().unwrap(), "--candidate", sweep.to_str().unwrap()]);
    assert_eq!(same.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&same.stdout), stderr(&same));
    let mut slower = read_perf(&sweep);
    for level in &mut slower.levels {
        for r in &mut level.repeats {
            r.samples_per_s /= 2.0;
            r.output_tokens_per_s /= 2.0;
        }
    }
    let slower_file = sb.path("slower.json");
    std::fs::write(&slower_file, serde_json::to_string(&slower).unwrap()).unwrap();
    let worse =
        sb.bench(&["gate", "--baseline", sweep.to_str().unwrap(), "--candidate", slower_file.to_str().unwrap()]);
    assert_eq!(worse.status.code(), Some(1), "{}", String::from_utf8_lossy(&worse.stdout));
    assert!(String::from_utf8_lossy(&worse.stdout).contains("batch 1 samples/s | "));
}
