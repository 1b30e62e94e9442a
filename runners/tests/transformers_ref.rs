//! Parity with transformers on checkpoints it wrote itself (`../shared/data/transformers-ref/`):
//! for every line of `expected.jsonl`, through SmolBench's image processor and the real patched
//! engine, the prompt's token ids, every tile's SHA-256 and the greedy text must equal what
//! transformers 5.24 (`Idefics3ImageProcessorPil` on Pillow 13, `generate` with 32 new tokens)
//! produced.
//!
//! Tiles are compared as the reference stores them: raw RGB bytes, height x width x 3, before
//! normalisation; the engine then receives exactly these tiles (normalised) through its hook.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::prepare_model_dir;
use smolbench_runners::processor::prefetch::hook_counters;
use smolbench_runners::processor::{settings_from_json, ImageProcessor};
use smolbench_runners::MistralRsRunner;
use std::sync::atomic::Ordering::Relaxed;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/transformers-ref")
}

fn cases() -> Vec<Value> {
    let path = reference_dir().join("expected.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn processor_for(prepared_dir: &Path) -> ImageProcessor {
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(prepared_dir.join("preprocessor_config.json")).unwrap()).unwrap();
    ImageProcessor::new(&settings_from_json(&config)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_prompt_ids_and_greedy_text_equal_transformers_in_every_case() {
    let cases = cases();
    assert_eq!(cases.len(), 12, "expected.jsonl should hold 3 checkpoints x 4 images");
    let work = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for checkpoint in ["ckpt-256m-nosplit", "ckpt-256m-split", "ckpt-2.2b-split"] {
        let prepared = prepare_model_dir(&reference_dir().join(checkpoint), &work.path().join(checkpoint)).unwrap();
        let processor = processor_for(&prepared.dir);
        let runner = MistralRsRunner::load(&prepared, ComputeDevice::Cpu).await.unwrap();
        for case in cases.iter().filter(|c| c["checkpoint"] == checkpoint) {
            let image_path = reference_dir().join(case["image"].as_str().unwrap());
            let bytes = std::fs::read(&image_path).unwrap();
            let name = format!("{checkpoint} {}", case["image"].as_str().unwrap());

            let processed = processor.process(&image::load_from_memory(&bytes).unwrap());
            let hashes: Vec<String> = processed.tiles.iter().map(|t| hex::encode(Sha256::digest(t.as_raw()))).collect();
            let expected: Vec<String> =
                case["tile_sha256"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()).collect();
            if hashes != expected {
                let differing: Vec<usize> =
                    (0..hashes.len().max(expected.len())).filter(|&i| hashes.get(i) != expected.get(i)).collect();
                failures.push(format!(
                    "{name}: tiles {differing:?} differ ({} vs {} tiles)",
                    hashes.len(),
                    expected.len()
                ));
            }

            let request = GenerationRequest {
                prompt: case["prompt"].as_str().unwrap().to_string(),
                images: vec![EncodedImage { bytes }],
                max_new_tokens: 32,
                ..Default::default()
            };
            let ready_before = hook_counters().ready.load(Relaxed);
            let on_the_spot_before = hook_counters().on_the_spot.load(Relaxed);
            let generation = runner.generate(&request).await.unwrap();
            // The engine took these very tiles (prepared by the runner), not its own, and did not
            // preprocess the image again itself (the pass that expands the prompt when a request
            // is added used to take the prepared tiles, leaving the prompt step to redo them).
            assert_eq!(hook_counters().ready.load(Relaxed), ready_before + 1, "{name}: tiles handed to the engine");
            assert_eq!(
                hook_counters().on_the_spot.load(Relaxed),
                on_the_spot_before,
                "{name}: the engine preprocessed the image again"
            );
            let ids = mistralrs::core::idefics3_image_hook::last_prompt_ids();
            let expected_ids: Vec<u32> =
                case["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            if ids != expected_ids {
                let first = ids.iter().zip(&expected_ids).position(|(a, b)| a != b);
                failures.push(format!(
                    "{name}: prompt ids differ ({} vs {} ids, first difference at {first:?})",
                    ids.len(),
                    expected_ids.len()
                ));
            }
            let expected_text = case["generated_text"].as_str().unwrap();
            if generation.text != expected_text {
                failures.push(format!("{name}: greedy text {:?}, transformers {:?}", generation.text, expected_text));
            }
            assert_eq!(generation.image_tiles, expected.len(), "{name}");
            assert_eq!(generation.image_tokens, expected.len() * prepared.image_seq_len, "{name}: placeholders");
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
    assert!(failures.is_empty(), "{} of 12 cases differ from transformers:\n{}", failures.len(), failures.join("\n"));
}
