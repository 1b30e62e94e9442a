//! Image splitting on the real (patched) mistral.rs engine, with tiny checkpoints in SmolVLM's
//! two image geometries: 512 px tiles / patch 16 / scale 4 (256M, 500M) and 384 px tiles /
//! patch 14 / scale 3 (2.2B).
//!
//! The expected prompt token counts are computed here from the transformers processor's rules,
//! written out independently of `smolbench_runners::model::split`:
//!
//! - `Idefics3ImageProcessor.resize` with `size = {"longest_edge": L}`: if `w >= h`, `w' = L` and
//!   `h' = int(L / (w / h))`, else `h' = L` and `w' = int(L * (w / h))`; an odd short edge is
//!   bumped to even;
//! - `resize_for_vision_encoder`: the long edge up to a multiple of the tile `T`
//!   (`ceil(x / T) * T`), the short edge `int(long / aspect)` then up to a multiple of `T`;
//! - `split_image`: if either edge exceeds `T`, `rows = ceil(h'' / T)`, `cols = ceil(w'' / T)`
//!   tiles plus a global view; otherwise one tile (rows = cols = 0);
//! - `Idefics3Processor._prompt_split_image`: per row, each column gives
//!   `<fake_token_around_image><row_r_col_c>` + `<image>` x S, and the row ends in `\n`; then
//!   `\n<fake_token_around_image><global-img>` + `<image>` x S + `<fake_token_around_image>`.
//!   An unsplit image is `<fake_token_around_image><global-img>` + `<image>` x S +
//!   `<fake_token_around_image>`.
//!
//! With the tiny tokenizer (one token per character or special token), an image therefore adds
//! `rows*cols*(S + 2) + rows + 1 + S + 3` tokens when split and `S + 3` when not, where
//! `S = (T / patch)^2 / scale^2` (64 for 512/16/4, 81 for 384/14/3).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use smolbench_core::{EncodedImage, FinishReason, GenerationRequest};
use smolbench_runners::device::ComputeDevice;
use smolbench_runners::model::tiny::{tiny_token_count, write_tiny_checkpoint, TinyGeometry};
use smolbench_runners::model::{prepare_model_dir_with, ImageOptions, PreparedModel};
use smolbench_runners::{MistralRsRunner, RunnerOptions};

/// The processor's grid for a `w x h` image: (rows, cols), (0, 0) when it is not split.
fn processor_grid(w: u32, h: u32, longest_edge: u32, tile: u32) -> (u32, u32) {
    let (w, h) = (w as f64, h as f64);
    // resize to the longest edge (int() truncates, odd goes up to even)
    let even = |x: f64| {
        let x = x as u64;
        (x + x % 2) as f64
    };
    let (w, h) = if w >= h {
        (longest_edge as f64, even(longest_edge as f64 / (w / h)))
    } else {
        (even(longest_edge as f64 * (w / h)), longest_edge as f64)
    };
    // up to multiples of the tile
    let t = tile as f64;
    let up = |x: f64| (x / t).ceil() * t;
    let aspect = w / h;
    let (w, h) = if w >= h {
        let w2 = up(w);
        (w2, up((w2 / aspect).trunc()))
    } else {
        let h2 = up(h);
        (up((h2 * aspect).trunc()), h2)
    };
    if w > t || h > t {
        ((h / t).ceil() as u32, (w / t).ceil() as u32)
    } else {
        (0, 0)
    }
}

/// The prompt text one image expands to.
fn processor_image_text(rows: u32, cols: u32, seq: usize) -> String {
    let global = format!("<fake_token_around_image><global-img>{}<fake_token_around_image>", "<image>".repeat(seq));
    if rows == 0 {
        return global;
    }
    let mut text = String::new();
    for r in 1..=rows {
        for c in 1..=cols {
            text.push_str(&format!("<fake_token_around_image><row_{r}_col_{c}>{}", "<image>".repeat(seq)));
        }
        text.push('\n');
    }
    text + "\n" + &global
}

/// A deterministic picture with structure (gradients and a grid), as PNG bytes.
fn picture(w: u32, h: u32) -> EncodedImage {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let grid = if (x / 37 + y / 23) % 2 == 0 { 40 } else { 0 };
        Rgb([((x * 255) / w.max(1)) as u8, ((y * 255) / h.max(1)) as u8, (grid + (x ^ y) % 200) as u8])
    });
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).unwrap();
    EncodedImage { bytes }
}

struct Loaded {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    prepared: PreparedModel,
    runner: MistralRsRunner,
}

async fn load(geometry: &TinyGeometry, options: ImageOptions) -> Loaded {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_tiny_checkpoint(src.path(), geometry, 11).unwrap();
    let prepared = prepare_model_dir_with(src.path(), out.path(), options).unwrap();
    let runner = MistralRsRunner::load_with(&prepared, ComputeDevice::Cpu, RunnerOptions::default()).await.unwrap();
    Loaded { _dirs: (src, out), prepared, runner }
}

const PROMPT: &str = "What is written here?";

/// Sends one request with `sizes` images and checks the engine's prompt tokens against the
/// processor's rules; returns the grids.
async fn check(loaded: &Loaded, sizes: &[(u32, u32)], longest_edge: u32, tile: u32, seq: usize) -> Vec<(u32, u32)> {
    let request = GenerationRequest {
        prompt: PROMPT.into(),
        images: sizes.iter().map(|&(w, h)| picture(w, h)).collect(),
        max_new_tokens: 4,
        ..Default::default()
    };
    let generation = loaded.runner.generate(&request).await.unwrap_or_else(|e| panic!("{sizes:?}: {e}"));
    let grids: Vec<(u32, u32)> = sizes.iter().map(|&(w, h)| processor_grid(w, h, longest_edge, tile)).collect();
    let images_text: String = grids.iter().map(|&(r, c)| processor_image_text(r, c, seq)).collect();
    let expected = tiny_token_count(&format!("<|im_start|>User:{images_text}{PROMPT}<end_of_utterance>\nAssistant:"));
    assert_eq!(generation.prompt_tokens, expected, "images {sizes:?}, grids {grids:?}");
    // The closed form stated in the module doc.
    let closed: usize = grids
        .iter()
        .map(|&(r, c)| if r == 0 { seq + 3 } else { (r * c) as usize * (seq + 2) + r as usize + 1 + seq + 3 })
        .sum();
    assert_eq!(
        expected,
        tiny_token_count(&format!("<|im_start|>User:{PROMPT}<end_of_utterance>\nAssistant:")) + closed
    );
    // What the runner records agrees with the processor too.
    let tiles: usize = grids.iter().map(|&(r, c)| (r * c) as usize + 1).sum();
    assert_eq!(generation.image_tiles, tiles, "{sizes:?}");
    // Placeholders (`seq` per tile, as transformers counts them) and markers apart.
    assert_eq!(generation.image_tokens, tiles * seq, "{sizes:?}");
    let markers: usize = grids.iter().map(|&(r, c)| (r * c) as usize * 2 + 3).sum();
    assert_eq!(generation.image_marker_tokens, markers, "{sizes:?}");
    // Generation works.
    assert!(generation.completion_tokens >= 1 && generation.completion_tokens <= 4);
    assert!(matches!(generation.finish_reason, FinishReason::Length | FinishReason::Stop));
    assert_eq!(generation.usage_source, "engine");
    grids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smolvlm_512_px_geometry_splits_like_the_processor() {
    let geometry = TinyGeometry::smolvlm_small();
    assert_eq!(geometry.image_seq_len(), 64);
    let loaded = load(&geometry, ImageOptions { splitting: Some(true), longest_edge: Some(1536) }).await;
    assert_eq!((loaded.prepared.tile_size, loaded.prepared.image_seq_len), (512, 64));
    let mut seen = Vec::new();
    for size in [(640, 480), (480, 640), (1000, 300), (300, 1000), (700, 700), (1500, 20), (40, 30)] {
        seen.extend(check(&loaded, &[size], 1536, 512, 64).await);
    }
    // The sizes above cover landscape, portrait, square and extreme aspect ratios.
    assert!(seen.contains(&(3, 3)) && seen.contains(&(1, 3)) && seen.contains(&(3, 1)), "{seen:?}");
    assert!(seen.iter().any(|&(r, c)| r != c));
    // Two images in one request.
    check(&loaded, &[(800, 600), (300, 900)], 1536, 512, 64).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smolvlm_2_2b_geometry_splits_like_the_processor() {
    let geometry = TinyGeometry::smolvlm_2_2b();
    assert_eq!(geometry.image_seq_len(), 81);
    let loaded = load(&geometry, ImageOptions { splitting: Some(true), longest_edge: Some(1536) }).await;
    assert_eq!((loaded.prepared.tile_size, loaded.prepared.image_seq_len), (384, 81));
    let mut seen = Vec::new();
    for size in [(1000, 700), (600, 900), (384, 384), (1234, 321), (50, 200)] {
        seen.extend(check(&loaded, &[size], 1536, 384, 81).await);
    }
    assert!(seen.contains(&(3, 4)) && seen.contains(&(4, 3)), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_longest_edge_can_leave_images_unsplit() {
    // Longest edge 512 with 512 px tiles: every image fits one tile and gets only the global view.
    let loaded =
        load(&TinyGeometry::smolvlm_small(), ImageOptions { splitting: Some(true), longest_edge: Some(512) }).await;
    let grids = check(&loaded, &[(900, 300), (200, 500)], 512, 512, 64).await;
    assert_eq!(grids, vec![(0, 0), (0, 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splitting_off_gives_one_tile_per_image() {
    let loaded =
        load(&TinyGeometry::smolvlm_small(), ImageOptions { splitting: Some(false), longest_edge: Some(1536) }).await;
    let request = GenerationRequest {
        prompt: PROMPT.into(),
        images: vec![picture(1000, 300)],
        max_new_tokens: 4,
        ..Default::default()
    };
    let generation = loaded.runner.generate(&request).await.unwrap();
    let expected = tiny_token_count(&format!(
        "<|im_start|>User:{}{PROMPT}<end_of_utterance>\nAssistant:",
        processor_image_text(0, 0, 64)
    ));
    assert_eq!(generation.prompt_tokens, expected);
    assert_eq!(generation.image_tiles, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_rounding_follows_the_python_processor() {
    // 300 x 201 at a 192 px longest edge: transformers computes int(192 / (300 / 201)) =
    // int(128.64) = 128, so 2 rows of 64 px tiles; rounding (as stock mistral.rs 0.8.1 does)
    // gives 129 -> 130 -> 3 rows. The patched engine must agree with the processor.
    let loaded = load(&TinyGeometry::default(), ImageOptions { splitting: Some(true), longest_edge: Some(192) }).await;
    assert_eq!(check(&loaded, &[(300, 201)], 192, 64, 4).await, vec![(2, 3)]);
    assert_eq!(check(&loaded, &[(201, 300)], 192, 64, 4).await, vec![(3, 2)]);
    // And a spread of other sizes (a fixed pseudo-random sequence).
    let mut state = 0x2545_f491_u64;
    let mut next = |lo: u64, hi: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (lo + (state >> 33) % (hi - lo)) as u32
    };
    for _ in 0..12 {
        let size = (next(20, 900), next(20, 900));
        check(&loaded, &[size], 192, 64, 4).await;
    }
}
