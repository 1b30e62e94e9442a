//! Prints what image splitting and the encoder cache cost on the tiny checkpoint in SmolVLM's
//! 512 px geometry. A measurement, not a check of speed (nothing here fails on a slow machine):
//!
//! ```sh
//! cargo test --workspace --test split_timing -- --ignored --nocapture
//! ```

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::tiny::{write_tiny_checkpoint, TinyGeometry};
use smolbench_runners::model::{prepare_model_dir_with, ImageOptions};
use smolbench_runners::{MistralRsRunner, RunnerOptions};

fn page(w: u32, h: u32, seed: u32) -> EncodedImage {
    let img =
        RgbImage::from_fn(w, h, |x, y| Rgb([((x + seed) % 256) as u8, ((y * 3) % 256) as u8, ((x ^ y) % 256) as u8]));
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    EncodedImage { bytes }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn print_split_and_cache_costs() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tiny_checkpoint(src.path(), &TinyGeometry::smolvlm_small(), 3).unwrap();
    println!(
        "tiny checkpoint, 512 px tiles, patch 16, scale 4; one 1000x700 PNG per request; 8 new tokens; median of 5"
    );
    for (label, options, cache) in [
        ("splitting off", ImageOptions { splitting: Some(false), longest_edge: Some(1920) }, false),
        ("splitting on, longest edge 1536", ImageOptions { splitting: Some(true), longest_edge: Some(1536) }, false),
        ("splitting on, longest edge 1920", ImageOptions { splitting: Some(true), longest_edge: Some(1920) }, false),
        (
            "splitting on, 1920, encoder cache on, same image",
            ImageOptions { splitting: Some(true), longest_edge: Some(1920) },
            true,
        ),
    ] {
        let prepared = prepare_model_dir_with(src.path(), out.path(), options).unwrap();
        let runner = MistralRsRunner::load_with(
            &prepared,
            ComputeDevice::Cpu,
            RunnerOptions { encoder_cache: cache, ..RunnerOptions::default() },
        )
        .await
        .unwrap();
        let mut ttft = Vec::new();
        let mut e2e = Vec::new();
        let mut last = None;
        for i in 0..6 {
            let seed = if cache { 0 } else { i };
            let request = GenerationRequest {
                prompt: "Read it.".into(),
                images: vec![page(1000, 700, seed)],
                max_new_tokens: 8,
                ..Default::default()
            };
            let g = runner.generate(&request).await.unwrap();
            if i > 0 {
                ttft.push(g.ttft_ms);
                e2e.push(g.e2e_ms);
            }
            last = Some(g);
        }
        let g = last.unwrap();
        println!(
            "{label:<50} tiles {:>2}  prompt tokens {:>5}  ttft p50 {:>7.1} ms  e2e p50 {:>7.1} ms  cache hits {:?}",
            g.image_tiles,
            g.prompt_tokens,
            median(ttft),
            median(e2e),
            g.encoder_cache_hits
        );
    }
}
