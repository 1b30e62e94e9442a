//! Tests of `bench serve`: the routes on loopback, and the same suite run in-process and
//! through the endpoint runner giving identical predictions.

mod support;

use serde_json::Value;
use smolbench_core::{MemorySource, RunManifest, SampleRecord, SampleStatus};
use support::{http_get, http_request, read_records, stderr, Sandbox};

/// Runs `task` (first 8 samples of each task; `extra` may add `--task`s) in-process and through
/// `bench serve`, and checks that the two runs agree sample by sample; returns the endpoint run's
/// manifest and records.
fn same_predictions_in_process_and_served(task: &str, extra: &[&str]) -> (RunManifest, Vec<SampleRecord>) {
    let sb = Sandbox::new();
    let local = sb.path("local");
    let common = [&["run", "--task", task, "--model", "tiny", "--limit", "8"][..], extra].concat();
    let out = sb.bench(&[&common[..], &["--out", local.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", stderr(&out));

    let server = sb.serve_tiny();
    let remote = sb.path("remote");
    let endpoint_args = ["--endpoint", &server.url, "--concurrency", "3", "--out", remote.to_str().unwrap()];
    let out = sb.bench(&[&common[..], &endpoint_args[..]].concat());
    assert!(out.status.success(), "{}", stderr(&out));

    let mut local_records = read_records(&local);
    let mut remote_records = read_records(&remote);
    local_records.sort_by_key(|r| (r.task.clone(), r.index));
    remote_records.sort_by_key(|r| (r.task.clone(), r.index));
    assert_eq!(remote_records.len(), local_records.len());
    assert!(!remote_records.is_empty());
    for (l, r) in local_records.iter().zip(&remote_records) {
        assert_eq!((&l.task, l.index), (&r.task, r.index));
        assert_eq!(r.status, SampleStatus::Ok, "{:?}", r.error);
        assert_eq!(l.system, r.system);
        assert_eq!(l.prompt, r.prompt);
        assert_eq!(l.assistant_prefix, r.assistant_prefix);
        assert_eq!(l.prediction, r.prediction, "sample {}", l.index);
        assert_eq!(l.score, r.score);
        let (lg, rg) = (l.generation.as_ref().unwrap(), r.generation.as_ref().unwrap());
        assert_eq!(lg.finish_reason, rg.finish_reason);
        if lg.usage_source == "engine" {
            assert_eq!(rg.usage_source, "server");
            assert_eq!((lg.prompt_tokens, lg.completion_tokens), (rg.prompt_tokens, rg.completion_tokens));
        }
        assert_eq!(lg.image_tokens, rg.image_tokens);
        assert_eq!(lg.image_tiles, rg.image_tiles);
        assert!(rg.ttft_ms > 0.0 && rg.ttft_ms <= rg.e2e_ms);
        let memory = r.memory.expect("the server's per-request peak memory");
        assert_eq!(memory.source, MemorySource::ProcessRss);
    }
    let manifest: RunManifest =
        serde_json::from_str(&std::fs::read_to_string(remote.join("run.json")).unwrap()).unwrap();
    (manifest, remote_records)
}

#[test]
fn endpoint_predictions_match_the_in_process_runner() {
    let (manifest, records) = same_predictions_in_process_and_served("docvqa", &[]);
    assert_eq!(records.len(), 8);
    assert_eq!(manifest.device.compute, "remote");
    assert!(manifest.model.engine.contains("mistralrs 0.8.1"), "{}", manifest.model.engine);
    assert_eq!(manifest.model.tokens_per_image, 7);
    assert!(manifest.model.files.iter().any(|f| f.path == "model.safetensors"), "the server's model record");
    assert_eq!(manifest.endpoints[0].models, vec!["tiny".to_string()]);
}

/// VLMEvalKit's SmolVLM prompts pre-fill the assistant turn; the prefix travels as a last
/// assistant message that the server continues, so the engine sees the same prompt.
#[test]
fn a_prefilled_assistant_turn_reaches_the_served_engine() {
    let (manifest, records) =
        same_predictions_in_process_and_served("ai2d", &["--prompt-profile", "vlmevalkit-smolvlm"]);
    assert_eq!(manifest.tasks[0].prompt_profile, "vlmevalkit-smolvlm");
    assert!(records.iter().all(|r| r.assistant_prefix.as_deref() == Some(" Answer:")));
}

/// VLMEvalKit's SmolVLM2 video prompt opens with a system turn; it travels as a `system` message
/// and the served engine answers every video task as the in-process one does.
#[test]
fn the_vlmevalkit_video_prompts_reach_the_served_engine_with_their_system_turn() {
    let extra =
        ["--task", "worldsense", "--task", "tempcompass_caption_matching", "--prompt-profile", "vlmevalkit-smolvlm"];
    let (manifest, records) = same_predictions_in_process_and_served("mvbench_action_antonym", &extra);
    assert!(manifest.tasks.iter().all(|t| t.prompt_profile == "vlmevalkit-smolvlm"));
    assert_eq!(records.len(), 2 + 4 + 3);
    for r in &records {
        let system = r.system.as_deref();
        match r.task.as_str() {
            "mvbench_action_antonym" => assert!(system.unwrap().starts_with("Carefully watch the video")),
            "worldsense" => assert_eq!(system, None),
            _ => assert_eq!(system, Some("pay attention to the video and answer the question ")),
        }
        assert!(r.n_images >= 1 && r.prompt.matches("<image>").count() == r.n_images);
    }
}

#[test]
fn serve_answers_its_routes() {
    let sb = Sandbox::new();
    let server = sb.serve_tiny();
    let (status, body) = http_get(&format!("{}/health", server.url));
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, body) = http_get(&format!("{}/v1/models", server.url));
    assert_eq!(status, 200);
    let models: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(models["data"][0]["id"], "tiny");

    let chat = r#"{"model":"tiny","max_tokens":4,"temperature":0,"messages":[{"role":"user","content":[{"type":"text","text":"Say hi."}]}]}"#;
    let (status, body) = http_request("POST", &format!("{}/v1/chat/completions", server.url), chat);
    assert_eq!(status, 200, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["object"], "chat.completion");
    let completion = reply["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=4).contains(&completion), "{reply}");
    assert!(reply["usage"]["prompt_tokens"].as_u64().unwrap() > 5);
    assert!(reply["smolbench"]["peak_memory_bytes"].as_u64().unwrap() > 1 << 20);

    let streamed = chat.replace(r#""temperature":0"#, r#""temperature":0,"stream":true"#);
    let (status, body) = http_request("POST", &format!("{}/v1/chat/completions", server.url), &streamed);
    assert_eq!(status, 200);
    assert!(body.contains("chat.completion.chunk") && body.contains("data: [DONE]"), "{body}");
    assert!(body.contains(r#""usage":{"prompt_tokens""#), "usage in the final chunk: {body}");

    let hot = chat.replace(r#""temperature":0"#, r#""temperature":0.7"#);
    let (status, body) = http_request("POST", &format!("{}/v1/chat/completions", server.url), &hot);
    assert_eq!(status, 400);
    assert!(body.contains("greedily"), "{body}");
    let (status, _) = http_request("POST", &format!("{}/v1/chat/completions", server.url), "{not json");
    assert_eq!(status, 400);
    let (status, body) = http_get(&format!("{}/v2/nothing", server.url));
    assert_eq!(status, 404);
    assert!(body.contains("/v1/chat/completions"), "{body}");

    let (status, body) = http_get(&format!("{}/v1/metrics", server.url));
    assert_eq!(status, 200);
    let metrics: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metrics["compute"], "cpu");
    assert_eq!(metrics["memory"]["source"], "process_rss");
    assert!(metrics["memory"]["current_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(metrics["memory"]["peak_request_bytes"].as_u64().unwrap() > 1 << 20);
    assert_eq!(metrics["requests"]["served"], 2);
    assert_eq!(metrics["requests"]["failed"], 0);
}
