//! End-to-end tests of image splitting options and engine isolation with the real `bench`
//! binary and the real (patched) mistral.rs engine on the tiny checkpoint.
//!
//! The engine is made to die by the runner's documented test hook
//! (`SMOLBENCH_TEST_ENGINE_PANIC_AT=N[,M...]`): on those requests it sends a chat whose image
//! parts are stripped while the images stay attached, and mistral.rs 0.8.1's Idefics3 input
//! processor panics on its engine thread ("Incorrect chat template"), killing the engine exactly
//! as an engine bug would.

use std::path::Path;
use std::process::Output;

mod support;

use serde_json::Value;
use smolbench_core::{RunManifest, SampleStatus};
use smolbench_runners::model::tiny::tiny_token_count;
use support::{read_records, stderr, Sandbox};

/// `bench ARGS` in the sandbox, with the engine made to die on the requests `panic_at` names.
fn bench(sb: &Sandbox, args: &[&str], panic_at: Option<&str>) -> Output {
    let mut cmd = sb.command(args);
    if let Some(n) = panic_at {
        cmd.env(smolbench_runners::TEST_PANIC_ENV, n);
    }
    cmd.output().expect("bench runs")
}

fn run_args<'a>(run_dir: &'a Path, limit: &'a str) -> Vec<&'a str> {
    vec!["run", "--task", "docvqa", "--model", "tiny", "--limit", limit, "--out", run_dir.to_str().unwrap()]
}

#[test]
fn an_engine_panic_fails_one_sample_and_the_run_goes_on() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = bench(&sb, &run_args(&run_dir, "6"), Some("3"));
    assert!(out.status.success(), "the run must survive the engine's death: {}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 6, "every sample is recorded");
    for r in &records {
        if r.index == 2 {
            assert_eq!(r.status, SampleStatus::Failed);
            assert_eq!(r.score, None);
            let error = r.error.as_deref().unwrap();
            assert!(error.contains("engine died on this sample") && error.contains("restart 1"), "{error}");
        } else {
            // Samples after the death ran on the restarted engine.
            assert_eq!(r.status, SampleStatus::Ok, "sample {}: {:?}", r.index, r.error);
            assert!(r.generation.as_ref().unwrap().prompt_tokens > 0);
        }
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["tasks"][0]["n_failed"], 1);
    assert_eq!(summary["tasks"][0]["n_scored"], 5);
}

#[test]
fn repeated_engine_deaths_stop_the_run_with_its_records_kept() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let mut args = run_args(&run_dir, "8");
    args.extend(["--max-consecutive-failures", "3"]);
    let out = bench(&sb, &args, Some("2,3,4"));
    assert!(!out.status.success());
    let err = stderr(&out);
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(line.contains("stopped after 3 consecutive failed samples"), "{line}");
    assert!(line.contains("engine died"), "{line}");
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 4, "sample 0 succeeded, samples 1-3 killed the engine, then the run stopped");
    assert_eq!(records[0].status, SampleStatus::Ok);
    assert!(records[1..].iter().all(|r| r.status == SampleStatus::Failed));
    assert!(run_dir.join("summary.json").is_file());
}

#[test]
fn splitting_options_are_applied_and_recorded() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let mut args = run_args(&run_dir, "3");
    args.extend(["--image-splitting", "on", "--longest-edge", "192"]);
    let out = bench(&sb, &args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    let model = &manifest.model;
    assert!(model.image_splitting);
    assert_eq!((model.longest_edge, model.tile_size), (Some(192), 64));
    assert!(!model.encoder_cache, "the encoder cache is off unless asked for");
    assert!(model.engine_patch.as_deref().unwrap().contains("sha256:"));
    assert!(model.prepare_changes.iter().any(|c| c.contains("do_image_splitting false -> true (--image-splitting)")));
    assert!(model.prepare_changes.iter().any(|c| c.contains("(--longest-edge)")));
    for r in read_records(&run_dir) {
        assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        let g = r.generation.unwrap();
        // 192 px in 64 px tiles: every document image is split (rows, cols in 1..=3), so each
        // image is more than the single global tile; 4 placeholders per tile, and markers: 2 per
        // split tile and 3 around the global view; newlines come on top.
        assert!(g.image_tiles > 1 && g.image_tiles <= 10, "{} tiles", g.image_tiles);
        assert_eq!(g.image_tokens, g.image_tiles * 4);
        assert_eq!(g.image_marker_tokens, (g.image_tiles - 1) * 2 + 3);
        let text = tiny_token_count(&format!("<|im_start|>User:{}<end_of_utterance>\nAssistant:", r.prompt));
        let image = g.image_tokens + g.image_marker_tokens;
        assert!(g.prompt_tokens > text + image, "newlines between tile rows are prompt tokens too");
        assert_eq!(g.encoder_cache_hits, None);
    }

    // Off: one tile per image, the tiny model's default; with the encoder cache on, hits are
    // recorded.
    let off_dir = sb.path("off");
    let mut args = run_args(&off_dir, "1");
    args.extend(["--encoder-cache", "on"]);
    let out = bench(&sb, &args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(off_dir.join("run.json")).unwrap()).unwrap();
    assert!(!manifest.model.image_splitting);
    assert!(manifest.model.encoder_cache);
    let g = read_records(&off_dir)[0].generation.clone().unwrap();
    assert_eq!((g.image_tiles, g.encoder_cache_hits), (1, Some(0)));

    let bad = bench(&sb, &["run", "--task", "docvqa", "--model", "tiny", "--image-splitting", "maybe"], None);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("neither `on` nor `off`"), "{}", stderr(&bad));
}
