//! Run directories written from typed records (a manifest and sample records), for tests of
//! the commands that read runs: the gate and the exports.
#![allow(dead_code)]

use std::path::Path;

use smolbench_core::{
    DeviceFingerprint, FinishReason, Generation, MemoryReading, MemorySource, ModelRecord, RunManifest, SampleRecord,
    SampleStatus, TaskRecord, STORE_FORMAT_VERSION,
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
        scoring: "rules".into(),
        judge: None,
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
            cpu: None,
            machine: None,
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
