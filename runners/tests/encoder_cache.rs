//! Timing hygiene: the patched engine's vision-encoder cache serves a repeated image without
//! running the encoder. With the cache on, each sample records how many tiles the cache served;
//! with it off (the default), a repeated image goes through the encoder again.
//!
//! One test function on purpose: the cache switch is process-wide.

use std::io::Cursor;
use std::sync::atomic::Ordering;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use mistralrs::core::idefics3_encoder_cache::{TILE_HITS, TILE_MISSES};
use smolbench_core::{EncodedImage, GenerationRequest};
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::tiny::{write_tiny_checkpoint, TinyGeometry};
use smolbench_runners::model::{prepare_model_dir_with, ImageOptions};
use smolbench_runners::{MistralRsRunner, RunnerOptions};

fn picture(w: u32, h: u32, seed: u8) -> EncodedImage {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 251) as u8, (y % 241) as u8, seed]));
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    EncodedImage { bytes }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_hits_are_reported_when_on_and_absent_when_off() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    // 64 px tiles, first resize to 128 px: a square image is 2 x 2 tiles plus the global view.
    write_tiny_checkpoint(src.path(), &TinyGeometry::default(), 5).unwrap();
    let prepared =
        prepare_model_dir_with(src.path(), out.path(), ImageOptions { splitting: Some(true), longest_edge: Some(128) })
            .unwrap();
    let request = |seed| GenerationRequest {
        prompt: "Read.".into(),
        images: vec![picture(90, 90, seed)],
        max_new_tokens: 2,
        ..Default::default()
    };

    let cached = MistralRsRunner::load_with(
        &prepared,
        ComputeDevice::Cpu,
        RunnerOptions { encoder_cache: true, ..RunnerOptions::default() },
    )
    .await
    .unwrap();
    let first = cached.generate(&request(1)).await.unwrap();
    assert_eq!(first.image_tiles, 5);
    assert_eq!(first.encoder_cache_hits, Some(0), "a new image is encoded");
    let again = cached.generate(&request(1)).await.unwrap();
    assert_eq!(again.encoder_cache_hits, Some(5), "every tile of a repeated image comes from the cache");
    assert_eq!(again.prompt_tokens, first.prompt_tokens);
    let other = cached.generate(&request(2)).await.unwrap();
    assert_eq!(other.encoder_cache_hits, Some(0), "a different image is not served from the cache");
    drop(cached);

    let uncached = MistralRsRunner::load_with(&prepared, ComputeDevice::Cpu, RunnerOptions::default()).await.unwrap();
    let (hits, misses) = (TILE_HITS.load(Ordering::SeqCst), TILE_MISSES.load(Ordering::SeqCst));
    for _ in 0..2 {
        let generation = uncached.generate(&request(1)).await.unwrap();
        assert_eq!(generation.encoder_cache_hits, None);
        assert_eq!(generation.image_tiles, 5);
    }
    assert_eq!(
        (TILE_HITS.load(Ordering::SeqCst), TILE_MISSES.load(Ordering::SeqCst)),
        (hits, misses),
        "with the cache off the engine never consults it"
    );
}
