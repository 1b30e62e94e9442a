//! End-to-end tests of the `bench` binary: the real CLI, the real mistral.rs engine on the
//! generated tiny checkpoint, real parquet files on disk.
//!
//! Each test gets its own `SMOLBENCH_HOME` and `HF_HOME`, so nothing is shared between tests or
//! with the machine's caches.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use smolbench_core::{FinishReason, MemorySource, RunManifest, SampleStatus};
use smolbench_runners::model::tiny::tiny_token_count;
use smolbench_tasks::metrics::{anls, score_mmmu_responses, AnlsProfile, MmmuResponse};
use smolbench_tasks::run_order::RUN_ORDER_STEP;
use smolbench_tasks::MetricProfile;
use support::{read_records, stderr, Sandbox};

/// The last line of stderr that starts with `error:`, asserting there is exactly one.
fn single_error_line(out: &Output) -> String {
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
    lines[0].to_string()
}

#[test]
fn tiny_run_records_consistent_samples() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb.run_tiny("docvqa", &["--limit", "6", "--out", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().any(|l| l.starts_with("docvqa")), "table: {table}");

    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest.model.engine, "mistralrs 0.8.1");
    assert_eq!(manifest.tasks[0].selected_samples, 6);
    assert!(manifest.tasks[0].available_samples >= 6);
    assert!(manifest.device.cpu_cores >= 1 && manifest.device.ram_total_bytes > 0);
    assert!(manifest.model.prepare_changes.iter().any(|c| c.contains("chat template")));
    // The recorded weight hash is the hash of the file.
    let weights = manifest.model.files.iter().find(|f| f.path == "model.safetensors").expect("weights hashed");
    let bytes = std::fs::read(Path::new(&manifest.model.source_dir).join("model.safetensors")).unwrap();
    assert_eq!(weights.bytes, bytes.len() as u64);
    assert_eq!(weights.sha256.len(), 64);

    let records = read_records(&run_dir);
    assert_eq!(records.len(), 6);
    for r in &records {
        assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        let g = r.generation.as_ref().unwrap();
        // Prompt tokens: the chat template around the prompt, one token per character or special
        // token (the tiny tokenizer has no merges), with each `<image>` expanded by the engine to
        // `<fake_token_around_image><global-img>` + image_seq_len x `<image>` + `<fake_token_around_image>`.
        let templated =
            format!("<|im_start|>User:{}{}<end_of_utterance>\nAssistant:", "<image>".repeat(r.n_images), r.prompt);
        let expected = tiny_token_count(&templated) - r.n_images + r.n_images * manifest.model.tokens_per_image;
        assert_eq!(g.prompt_tokens, expected, "prompt {:?}", r.prompt);
        // Placeholders as transformers counts them (4 per tile), markers apart (3 per unsplit image).
        assert_eq!((g.image_tokens, g.image_marker_tokens), (r.n_images * 4, r.n_images * 3));
        assert!(g.preprocess_ms.is_some_and(|ms| ms > 0.0 && ms < g.e2e_ms), "preprocess {:?}", g.preprocess_ms);
        assert_eq!(g.usage_source, "engine");
        assert!(g.completion_tokens >= 1 && g.completion_tokens <= 32);
        if g.finish_reason == FinishReason::Length {
            assert_eq!(g.completion_tokens, 32);
        }
        assert!(g.ttft_ms > 0.0 && g.ttft_ms <= g.e2e_ms, "ttft {} e2e {}", g.ttft_ms, g.e2e_ms);
        if g.completion_tokens >= 2 {
            assert!(g.decode_tokens_per_s.unwrap() > 0.0);
        }
        // The score is ANLS recomputed from the stored prediction.
        let prediction = r.prediction.as_deref().unwrap();
        assert_eq!(r.score, Some(anls(prediction.trim(), &r.references, AnlsProfile::Official)));
        assert_eq!(r.extracted.as_deref(), Some(prediction.trim()));
        let mem = r.memory.unwrap();
        assert_eq!(mem.source, MemorySource::ProcessRss);
        assert!(mem.peak_bytes > 1 << 20);
    }

    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap()).unwrap();
    let task = &summary["tasks"][0];
    let mean = records.iter().map(|r| r.score.unwrap()).sum::<f64>() / records.len() as f64;
    assert_eq!(task["n_samples"], 6);
    assert!((task["score"].as_f64().unwrap() - mean).abs() < 1e-12);
    let (lo, hi) = (task["score_ci95"][0].as_f64().unwrap(), task["score_ci95"][1].as_f64().unwrap());
    assert!(lo <= mean && mean <= hi);
}

#[test]
fn same_inputs_give_the_same_predictions() {
    let sb = Sandbox::new();
    let a = sb.path("a");
    let b = sb.path("b");
    for dir in [&a, &b] {
        let out = sb.run_tiny("docvqa", &["--limit", "3", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let preds = |d: &Path| read_records(d).into_iter().map(|r| r.prediction).collect::<Vec<_>>();
    assert_eq!(preds(&a), preds(&b), "greedy decoding on identical inputs must be deterministic");
}

#[test]
fn missing_model_directory_is_one_clear_line() {
    let sb = Sandbox::new();
    let out = sb.bench(&["run", "--suite", "image", "--model", "256m", "--model-path", "/nonexistent/smolvlm"]);
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("model directory /nonexistent/smolvlm does not exist"), "{line}");
    assert!(!sb.path("runs").exists(), "no run directory is created for bad input");
}

#[test]
fn model_absent_from_the_cache_points_to_fetch() {
    let sb = Sandbox::new();
    let out = sb.bench(&["run", "--suite", "image", "--model", "256m"]);
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("bench fetch 256m"), "{line}");
    assert!(line.contains("models--HuggingFaceTB--SmolVLM-256M-Instruct"), "{line}");
}

#[test]
fn corrupt_parquet_is_one_clear_line() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    let out = sb.bench(&["fixtures", "--out", fixtures.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let data = fixtures.join("data");
    let shard = data.join("lmms-lab/DocVQA/DocVQA/validation-00001-of-00002.parquet");
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
    let out = sb.bench(&["run", "--suite", "image", "--model", "tiny", "--data-dir", data.to_str().unwrap()]);
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains(shard.to_str().unwrap()), "{line}");
}

#[test]
fn model_config_without_required_keys_is_one_clear_line() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    assert!(sb.bench(&["fixtures", "--out", fixtures.to_str().unwrap()]).status.success());
    let model = fixtures.join("models/tiny");
    let config_path = model.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["text_config"].as_object_mut().unwrap().remove("num_hidden_layers");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = sb.bench(&["run", "--suite", "image", "--model", "tiny", "--model-path", model.to_str().unwrap()]);
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("missing required key `text_config.num_hidden_layers`"), "{line}");
    assert!(line.contains(config_path.to_str().unwrap()), "{line}");
}

#[test]
fn task_config_problems_are_reported_by_name() {
    let sb = Sandbox::new();
    let out = sb.bench(&["run", "--task", "docvqaa", "--model", "tiny"]);
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("docvqa"), "{line}");
}

#[test]
fn killed_run_keeps_every_finished_sample() {
    let sb = Sandbox::new();
    let run_dir = sb.path("killed");
    let mut child = sb
        .command(&["run", "--suite", "image", "--model", "tiny", "--out", run_dir.to_str().unwrap()])
        .env("SMOLBENCH_TEST_SAMPLE_DELAY_MS", "400")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let samples = run_dir.join("samples.jsonl");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lines = std::fs::read_to_string(&samples).map(|t| t.lines().count()).unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the run never recorded 3 samples");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    let records = read_records(&run_dir);
    assert!(records.len() >= 3 && records.len() < 24, "{} records", records.len());
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.index, i);
        assert!(r.score.is_some());
    }
    assert!(!run_dir.join("summary.json").exists());
}

#[test]
fn fixtures_are_identical_every_time() {
    let sb = Sandbox::new();
    let (a, b) = (sb.path("fa"), sb.path("fb"));
    for dir in [&a, &b] {
        assert!(sb.bench(&["fixtures", "--out", dir.to_str().unwrap()]).status.success());
    }
    for rel in [
        "models/tiny/model.safetensors",
        "models/tiny/tokenizer.json",
        "data/lmms-lab/DocVQA/DocVQA/validation-00000-of-00002.parquet",
    ] {
        assert_eq!(std::fs::read(a.join(rel)).unwrap(), std::fs::read(b.join(rel)).unwrap(), "{rel} differs");
    }
}

#[test]
fn help_lists_the_subcommands() {
    let sb = Sandbox::new();
    let out = sb.bench(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["run", "fixtures", "fetch", "models"] {
        assert!(text.contains(sub), "{text}");
    }
}

#[test]
fn rescore_recomputes_stored_scores() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb.run_tiny("docvqa", &["--limit", "4", "--out", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Plant a prediction that matches its reference, with a wrong stored score: rescoring must
    // compute 1.0 from the prediction, not copy the stored number.
    let mut records = read_records(&run_dir);
    let answer = records[1].references[0].clone();
    records[1].prediction = Some(format!("  {answer} "));
    records[1].score = Some(0.25);
    let text: String = records.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    std::fs::write(run_dir.join("samples.jsonl"), text).unwrap();

    let out = sb.bench(&["rescore", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 of 4 samples scored differently"), "{stdout}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.stored-profile.json")).unwrap()).unwrap();
    let expected =
        records.iter().enumerate().map(|(i, r)| if i == 1 { 1.0 } else { r.score.unwrap() }).sum::<f64>() / 4.0;
    assert!((summary["tasks"][0]["score"].as_f64().unwrap() - expected).abs() < 1e-12);

    let out = sb.bench(&["rescore", run_dir.to_str().unwrap(), "--metric-profile", "vlmevalkit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run_dir.join("summary.vlmevalkit.json").is_file());
    let out = sb.bench(&["rescore", run_dir.to_str().unwrap(), "--metric-profile", "vlmevalkitt"]);
    assert!(single_error_line(&out).contains("vlmevalkit"));
}

#[test]
fn absent_data_is_skipped_never_scored_and_strict_fails() {
    let sb = Sandbox::new();
    let empty = sb.path("empty-data");
    std::fs::create_dir_all(&empty).unwrap();
    let out = sb.bench(&["run", "--suite", "image", "--model", "tiny", "--data-dir", empty.to_str().unwrap()]);
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("no task has its data present locally"), "{line}");
    assert!(line.contains(empty.to_str().unwrap()), "{line}");
    let out =
        sb.bench(&["run", "--suite", "image", "--model", "tiny", "--data-dir", empty.to_str().unwrap(), "--strict"]);
    assert!(single_error_line(&out).contains("(--strict)"));
}

#[test]
fn tasks_lists_local_data() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    assert!(sb.bench(&["fixtures", "--out", fixtures.to_str().unwrap()]).status.success());
    let data = fixtures.join("data");
    let out = sb.bench(&["tasks", "--data-dir", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("docvqa")).expect("docvqa listed");
    assert!(line.contains("24 rows in"), "{line}");
    assert!(line.contains(" 5349 ") && line.ends_with("(partial: 24 of 5349)"), "{line}");
    // Video tasks also say how many rows have their video (or the recording cut from).
    std::fs::remove_file(data.join("OpenGVLab/MVBench/video/ssv2_video_mp4/clip1.mp4")).unwrap();
    let line = stdout.lines().find(|l| l.starts_with("mvbench_action_sequence ")).expect("listed");
    assert!(line.ends_with("(partial: 2 of 200); videos for 2 of 2 rows"), "{line}");
    let out = sb.bench(&["tasks", "--data-dir", data.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find(|l| l.starts_with("mvbench_action_antonym ")).expect("listed");
    assert!(line.ends_with("videos for 1 of 2 rows"), "{line}");
    let out = sb.bench(&["tasks"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().find(|l| l.starts_with("docvqa")).unwrap().ends_with("absent"), "{stdout}");
}

/// Writes a DocVQA split of `n` rows under `data/lmms-lab/DocVQA`, with the images of the rows
/// in `broken` replaced by bytes that are not an image.
fn docvqa_with_broken_images(sb: &Sandbox, n: usize, broken: &[usize]) -> PathBuf {
    let data = sb.path("data");
    let mut rows = smolbench_datasets::fixtures::docvqa_rows(n, 5).unwrap();
    for &i in broken {
        rows[i].image_png = b"this is not a PNG".to_vec();
    }
    smolbench_datasets::fixtures::write_docvqa_rows(&data.join("lmms-lab/DocVQA"), &rows).unwrap();
    data
}

#[test]
fn a_sample_with_a_broken_image_fails_alone() {
    let sb = Sandbox::new();
    let data = docvqa_with_broken_images(&sb, 6, &[2]);
    let run_dir = sb.path("run");
    let out = sb.run_tiny("docvqa", &["--data-dir", data.to_str().unwrap(), "--out", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 6);
    for r in &records {
        if r.index == 2 {
            assert_eq!(r.status, SampleStatus::Failed);
            assert_eq!(r.score, None, "a failed sample is never scored");
            assert!(r.error.as_deref().unwrap().contains("could not be decoded"), "{:?}", r.error);
        } else {
            assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        }
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["tasks"][0]["n_failed"], 1);
    assert_eq!(summary["tasks"][0]["n_scored"], 5);
}

#[test]
fn consecutive_failures_stop_the_run_and_keep_its_records() {
    let sb = Sandbox::new();
    let data = docvqa_with_broken_images(&sb, 8, &[1, 2, 3, 4]);
    let run_dir = sb.path("run");
    let out = sb.run_tiny(
        "docvqa",
        &["--data-dir", data.to_str().unwrap(), "--out", run_dir.to_str().unwrap(), "--max-consecutive-failures", "4"],
    );
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("stopped after 4 consecutive failed samples"), "{line}");
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 5, "sample 0 succeeded, samples 1-4 failed, then the run stopped");
    assert_eq!(records[0].status, SampleStatus::Ok);
    assert!(run_dir.join("summary.json").is_file(), "an aborted run still writes its summary");
}

#[test]
fn prompt_and_metric_profiles_are_chosen_on_the_command_line_and_recorded() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb.run_tiny(
        "ai2d",
        &[
            "--limit",
            "4",
            "--prompt-profile",
            "vlmevalkit-smolvlm",
            "--metric-profile",
            "official",
            "--out",
            run_dir.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest.tasks[0].prompt_profile, "vlmevalkit-smolvlm");
    assert_eq!(manifest.tasks[0].metric_profile, "official");
    assert_eq!(manifest.tasks[0].config["prompt"]["default"], "vlmevalkit-smolvlm");
    let records = read_records(&run_dir);
    assert_eq!(records.len(), 4);
    for r in &records {
        // VLMEvalKit's SmolVLM wrapper pre-fills " Answer:" on multiple-choice prompts; the engine
        // saw it as part of the prompt, right after the template's `Assistant:`.
        assert_eq!(r.assistant_prefix.as_deref(), Some(" Answer:"));
        let templated = format!(
            "<|im_start|>User:{}{}<end_of_utterance>\nAssistant: Answer:",
            "<image>".repeat(r.n_images),
            r.prompt
        );
        let expected = tiny_token_count(&templated) - r.n_images + r.n_images * manifest.model.tokens_per_image;
        assert_eq!(r.generation.as_ref().unwrap().prompt_tokens, expected, "prompt {:?}", r.prompt);
    }

    let bad = sb.run_tiny("ai2d", &["--prompt-profile", "vlmevalkit"]);
    let line = single_error_line(&bad);
    assert!(line.contains("prompt profile") && line.contains("vlmevalkit-smolvlm"), "{line}");
}

#[test]
fn data_is_checked_against_the_lock_before_scoring() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let args = ["run", "--task", "docvqa", "--model", "tiny", "--limit", "2", "--out"];
    let out = sb.bench(&[&args[..], &[run_dir.to_str().unwrap()]].concat());
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert!(manifest.tasks[0].data_lock.starts_with("verified (2 files)"), "{}", manifest.tasks[0].data_lock);

    // Pin a copy of the data with `bench lock`, then change one byte of one shard.
    let data = sb.path("home/fixtures/data");
    let lock = sb.path("my.lock.toml");
    let out =
        sb.bench(&["lock", "--task", "docvqa", "--data-dir", data.to_str().unwrap(), "--out", lock.to_str().unwrap()]);
    assert!(out.status.success(), "bench lock failed: {}", stderr(&out));
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("DocVQA/validation-00000-of-00002.parquet"), "{text}");
    let pinned = sb.bench(
        &[
            &args[..],
            &[
                sb.path("run2").to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
                "--lock",
                lock.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(pinned.status.success(), "bench run failed: {}", stderr(&pinned));

    let shard = data.join("lmms-lab/DocVQA/DocVQA/validation-00001-of-00002.parquet");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[8] ^= 0x55;
    std::fs::write(&shard, bytes).unwrap();
    let tampered = sb.bench(&[&args[..], &[sb.path("run3").to_str().unwrap()]].concat());
    assert!(!tampered.status.success());
    let line = single_error_line(&tampered);
    assert!(line.contains("validation-00001-of-00002.parquet has SHA-256"), "{line}");
    assert!(line.contains("bench fetch --task docvqa"), "{line}");
    assert!(!sb.path("run3").join("samples.jsonl").exists(), "nothing is scored on data that fails its lock");
}

#[test]
fn fetching_a_task_offline_says_which_files_go_where() {
    let sb = Sandbox::new();
    let out = sb
        .command(&["fetch", "--task", "docvqa", "--timeout", "20"])
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let line = single_error_line(&out);
    assert!(line.contains("cannot download lmms-lab/DocVQA from http://127.0.0.1:9"), "{line}");
    assert!(line.contains("DocVQA/validation-*.parquet"), "{line}");
    assert!(line.contains("datasets--lmms-lab--DocVQA/snapshots"), "{line}");
}

#[test]
fn mmmu_fallbacks_are_replayed_in_run_order_and_rescore_agrees() {
    let sb = Sandbox::new();
    let run_dir = sb.path("run");
    let out = sb.run_tiny("mmmu", &["--limit", "16", "--out", run_dir.to_str().unwrap()]);
    assert!(out.status.success(), "bench run failed: {}", stderr(&out));
    let records = read_records(&run_dir);
    let responses: Vec<MmmuResponse> = records
        .iter()
        .map(|r| MmmuResponse {
            id: r.sample_id.clone(),
            open: r.context.fields.get("question_type").is_some_and(|t| t == "open"),
            response: r.extracted.clone().unwrap(),
            options: r.context.choices.clone(),
            golds: r.references.clone(),
        })
        .collect();
    // The whole-run scorer (one generator, official subject order) gives the stored scores.
    let report = score_mmmu_responses(&responses, MetricProfile::Official);
    let stored: f64 = records.iter().map(|r| r.score.unwrap()).sum();
    assert_eq!(report.overall.correct as f64, stored);
    let replayed = records.iter().filter(|r| r.extraction_trace.iter().any(|s| s.step == RUN_ORDER_STEP)).count();
    assert_eq!(replayed, report.random_fallbacks);
    assert!(replayed > 0, "the tiny model's answers hit the random fallback");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap()).unwrap();
    assert!((summary["tasks"][0]["score"].as_f64().unwrap() - stored / records.len() as f64).abs() < 1e-12);

    let rescore = sb.bench(&["rescore", run_dir.to_str().unwrap()]);
    assert!(rescore.status.success(), "{}", stderr(&rescore));
    assert!(String::from_utf8_lossy(&rescore.stdout).contains("0 of 16 samples scored differently"));
}

#[test]
fn fetched_data_is_pinned_then_verified_by_runs_from_the_cache() {
    let sb = Sandbox::new();
    let fixtures = sb.path("fixtures");
    assert!(sb.bench(&["fixtures", "--out", fixtures.to_str().unwrap()]).status.success());
    // The hub, played on loopback by a server holding the synthetic DocVQA repository.
    let remote = fixtures.join("data/lmms-lab/DocVQA");
    let hub = smolbench_datasets::fake_hub::FakeHub::serve("lmms-lab/DocVQA", "c0ffee42", &remote).unwrap();
    let fetch = sb.command(&["fetch", "--task", "docvqa"]).env("HF_ENDPOINT", hub.endpoint()).output().unwrap();
    assert!(fetch.status.success(), "{}", stderr(&fetch));
    let fetched = String::from_utf8_lossy(&fetch.stdout);
    assert!(fetched.contains("datasets--lmms-lab--DocVQA/snapshots/c0ffee42 (2 files, unpinned)"), "{fetched}");

    let lock = sb.bench(&["lock", "--task", "docvqa"]);
    assert!(lock.status.success(), "{}", stderr(&lock));
    let lock_text = std::fs::read_to_string(sb.path("home/data.lock.toml")).unwrap();
    assert!(lock_text.contains("revision = \"c0ffee42\""), "{lock_text}");

    // A real model directory (not the alias) reads data from the hub cache, checked against the
    // user's lock over the project's.
    let run_dir = sb.path("run");
    let model = fixtures.join("models/tiny");
    let out = sb.run_tiny(
        "docvqa",
        &["--model-path", model.to_str().unwrap(), "--limit", "2", "--out", run_dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest.tasks[0].data_revision.as_deref(), Some("c0ffee42"));
    assert!(manifest.tasks[0].data_lock.starts_with("verified (2 files) against"), "{}", manifest.tasks[0].data_lock);

    // Fetching again with the lock in place verifies the cached files.
    let again = sb.command(&["fetch", "--task", "docvqa"]).env("HF_ENDPOINT", hub.endpoint()).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("(2 files, verified (2 files))"));
}
