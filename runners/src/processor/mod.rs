//! SmolVLM's (Idefics3) image processor, run as the SmolVLM authors ran it: transformers'
//! `Idefics3ImageProcessorPil` on Pillow, reproduced bit for bit.
//!
//! For each image, driven by the checkpoint's `preprocessor_config.json`:
//!
//! 1. RGB conversion (`do_convert_rgb`: transparency composited onto white, [`convert`]);
//! 2. resize so the longest edge is `size.longest_edge` (or to `size.height` x `size.width`),
//!    with the `resample` filter (`do_resize`);
//! 3. with `do_image_splitting`, resize both edges up to multiples of the tile edge
//!    (`max_image_size.longest_edge`), cut tiles row by row and add the whole image resized to
//!    one tile as the global view (an image of one tile is not cut); without it, resize to one
//!    square tile;
//! 4. rescale and normalise each tile into `f32` channel planes, in the same precision as
//!    transformers (`float64` rescale cast to `float32`, then `float32` normalisation).
//!
//! The sizes are [`crate::model::split`]'s, so prompt token counts and tiles always agree; the
//! resampling is [`smolbench_pixels`], which matches `PIL.Image.resize`. The engine receives the
//! finished tiles through the patched mistral.rs hook ([`prefetch`]) and never resizes.

pub mod convert;
pub mod prefetch;

use image::{DynamicImage, RgbImage};
use mistralrs::core::idefics3_image_hook::{PreparedImage, ProcessorSettings};
use serde_json::Value;
use smolbench_pixels::{resize_rgb8, Filter};

use crate::model::split::{longest_edge_size, tile_multiples_size};

/// transformers' default `rescale_factor`.
const DEFAULT_RESCALE: f64 = 1.0 / 255.0;
/// The engine's defaults where a config names no mean or std (CLIP's).
const CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];
/// The engine's tile edge where a config has no `max_image_size`.
const DEFAULT_TILE: u32 = 364;

/// A processor setting the pipeline cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessorError {
    /// `resample` names no Pillow filter.
    #[error(transparent)]
    Filter(#[from] smolbench_pixels::UnknownFilter),
    /// `size` has neither `longest_edge` nor `height` and `width`.
    #[error("preprocessor size must have `longest_edge` or `height` and `width` (got {0})")]
    Size(String),
}

/// How a resize step sizes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FirstResize {
    /// No first resize (`do_resize` off).
    None,
    /// Longest edge to this many pixels, keeping the aspect ratio.
    LongestEdge(u32),
    /// Exactly `(width, height)`.
    Exact(u32, u32),
}

/// A configured SmolVLM image processor.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageProcessor {
    composite_alpha: bool,
    first_resize: FirstResize,
    filter: Filter,
    splitting: bool,
    tile: u32,
    /// Per channel, the `f32` value of each 8-bit level after rescale and normalisation.
    levels: [[f32; 256]; 3],
}

/// One image after the processor: its tiles (8-bit, before normalisation) and grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedImage {
    /// Tile rows; 0 when the image is one tile.
    pub rows: usize,
    /// Tile columns; 0 when the image is one tile.
    pub cols: usize,
    /// Split tiles row by row, then the global view (or the one tile).
    pub tiles: Vec<RgbImage>,
}

/// Reads the processor settings from a `preprocessor_config.json` value the way the patched
/// engine reads them (absent flags off, splitting on, CLIP mean and std, 364-pixel tiles).
pub fn settings_from_json(config: &Value) -> ProcessorSettings {
    let flag = |key: &str| config.get(key).and_then(Value::as_bool);
    let edges = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), u32::try_from(v.as_u64()?).ok()?))).collect())
    };
    let triple = |key: &str| {
        let values: Vec<f64> = config.get(key)?.as_array()?.iter().filter_map(Value::as_f64).collect();
        <[f64; 3]>::try_from(values).ok()
    };
    let max_image_size: Option<std::collections::HashMap<String, u32>> = edges("max_image_size");
    ProcessorSettings {
        do_convert_rgb: flag("do_convert_rgb").unwrap_or(false),
        do_resize: flag("do_resize").unwrap_or(false),
        size: edges("size"),
        resample: config.get("resample").and_then(Value::as_u64).map(|v| v as usize),
        do_image_splitting: flag("do_image_splitting").unwrap_or(true),
        max_image_size: max_image_size.and_then(|m| m.get("longest_edge").copied()).unwrap_or(DEFAULT_TILE),
        do_rescale: flag("do_rescale").unwrap_or(false),
        rescale_factor: config.get("rescale_factor").and_then(Value::as_f64),
        do_normalize: flag("do_normalize").unwrap_or(false),
        image_mean: triple("image_mean").unwrap_or(CLIP_MEAN),
        image_std: triple("image_std").unwrap_or(CLIP_STD),
    }
}

impl ImageProcessor {
    /// The processor for these settings. An absent `resample` is Pillow's `BICUBIC`, as in
    /// transformers' processors that do not fix one; SmolVLM's configs say `1` (`LANCZOS`).
    pub fn new(settings: &ProcessorSettings) -> Result<Self, ProcessorError> {
        let filter = match settings.resample {
            Some(code) => Filter::try_from(code as i64)?,
            None => Filter::Bicubic,
        };
        let first_resize = match (&settings.size, settings.do_resize) {
            (_, false) | (None, true) => FirstResize::None,
            (Some(size), true) => match (size.get("longest_edge"), size.get("height"), size.get("width")) {
                (Some(&edge), _, _) => FirstResize::LongestEdge(edge),
                (None, Some(&h), Some(&w)) => FirstResize::Exact(w, h),
                _ => return Err(ProcessorError::Size(format!("{size:?}"))),
            },
        };
        let rescale = settings.rescale_factor.unwrap_or(DEFAULT_RESCALE);
        let mut levels = [[0f32; 256]; 3];
        for (c, table) in levels.iter_mut().enumerate() {
            for (level, value) in table.iter_mut().enumerate() {
                // float64 multiply, cast to float32 (transformers' `rescale`), then float32
                // arithmetic with float32 mean and std (`normalize`).
                let mut v = if settings.do_rescale { (level as f64 * rescale) as f32 } else { level as f32 };
                if settings.do_normalize {
                    v = (v - settings.image_mean[c] as f32) / settings.image_std[c] as f32;
                }
                *value = v;
            }
        }
        Ok(ImageProcessor {
            composite_alpha: settings.do_convert_rgb,
            first_resize,
            filter,
            splitting: settings.do_image_splitting,
            tile: settings.max_image_size,
            levels,
        })
    }

    /// The resampling filter in use.
    pub fn filter(&self) -> Filter {
        self.filter
    }

    /// Resizes, cuts and orders one image's tiles.
    pub fn process(&self, image: &DynamicImage) -> ProcessedImage {
        let resize = |img: &RgbImage, (w, h): (u32, u32)| resize_rgb8(img, w, h, self.filter);
        let mut rgb = convert::to_rgb(image, self.composite_alpha);
        rgb = match self.first_resize {
            FirstResize::None => rgb,
            FirstResize::LongestEdge(edge) => resize(&rgb, longest_edge_size(rgb.width(), rgb.height(), edge)),
            FirstResize::Exact(w, h) => resize(&rgb, (w, h)),
        };
        let tile = self.tile;
        if !self.splitting {
            return ProcessedImage { rows: 0, cols: 0, tiles: vec![resize(&rgb, (tile, tile))] };
        }
        rgb = resize(&rgb, tile_multiples_size(rgb.width(), rgb.height(), tile));
        let (w, h) = rgb.dimensions();
        if w <= tile && h <= tile {
            return ProcessedImage { rows: 0, cols: 0, tiles: vec![rgb] };
        }
        let (rows, cols) = ((h - tile) / tile + 1, (w - tile) / tile + 1);
        let mut tiles = Vec::with_capacity((rows * cols + 1) as usize);
        for r in 0..rows {
            for c in 0..cols {
                tiles.push(smolbench_pixels::crop_rgb8(&rgb, c * tile, r * tile, tile, tile));
            }
        }
        tiles.push(resize(&rgb, (tile, tile)));
        ProcessedImage { rows: rows as usize, cols: cols as usize, tiles }
    }

    /// The tiles as the vision encoder takes them: `tiles x 3 x h x w` rescaled, normalised
    /// values.
    pub fn pixels(&self, processed: ProcessedImage) -> PreparedImage {
        let mut prepared = layout(&processed);
        let plane = prepared.width * prepared.height;
        prepared.pixels = zeroed_in_huge_pages(prepared.tiles * 3 * plane);
        for (tile, out) in processed.tiles.iter().zip(prepared.pixels.chunks_mut(3 * plane)) {
            smolbench_pixels::channel_planes(tile, &self.levels, out);
        }
        prepared
    }
}

/// The tiles' layout (grid, count and size), without pixels.
pub fn layout(processed: &ProcessedImage) -> PreparedImage {
    let (width, height) = processed.tiles.first().map_or((0, 0), |t| t.dimensions());
    PreparedImage {
        rows: processed.rows,
        cols: processed.cols,
        tiles: processed.tiles.len(),
        height: height as usize,
        width: width as usize,
        pixels: Vec::new(),
    }
}

/// `len` zeros whose memory the kernel may back with transparent huge pages. A split image's
/// pixels are large (53 MB for 17 tiles of 512 px), above glibc's largest mmap threshold, so each
/// image's buffer is freshly mapped; in 4 KiB pages, writing it took some 13,000 page faults.
/// Where transparent huge pages are off (or the advice fails) this is a plain zeroed vector.
fn zeroed_in_huge_pages(len: usize) -> Vec<f32> {
    let values = vec![0f32; len];
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 * 1024 * 1024;
        let start = values.as_ptr() as usize;
        let end = start + len * std::mem::size_of::<f32>();
        let first = start.next_multiple_of(HUGE_PAGE);
        if end > first + HUGE_PAGE {
            let span = (end - first) / HUGE_PAGE * HUGE_PAGE;
            // SAFETY: advice only, on whole pages inside the vector's own allocation; it does not
            // change the memory's contents (fresh zero pages either way).
            unsafe { libc::madvise(first as *mut libc::c_void, span, libc::MADV_HUGEPAGE) };
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smolvlm(splitting: bool) -> ImageProcessor {
        ImageProcessor::new(&settings_from_json(&json!({
            "do_convert_rgb": true, "do_resize": true, "do_image_splitting": splitting, "do_rescale": true,
            "do_normalize": true, "resample": 1, "rescale_factor": 1.0 / 255.0,
            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
            "size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512},
        })))
        .unwrap()
    }

    fn image(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8])))
    }

    #[test]
    fn a_small_image_grows_to_the_longest_edge_and_is_cut_row_by_row() {
        // 90 x 90 -> 2048 x 2048 -> (tile multiples) 2048 x 2048: 4 x 4 tiles and the global view.
        let out = smolvlm(true).process(&image(90, 90));
        assert_eq!((out.rows, out.cols, out.tiles.len()), (4, 4, 17));
        assert!(out.tiles.iter().all(|t| t.dimensions() == (512, 512)));
        // 1600 x 400 -> 2048 x 512: one row of four.
        let out = smolvlm(true).process(&image(1600, 400));
        assert_eq!((out.rows, out.cols, out.tiles.len()), (1, 4, 5));
    }

    #[test]
    fn without_splitting_an_image_is_one_square_tile() {
        let out = smolvlm(false).process(&image(1600, 400));
        assert_eq!((out.rows, out.cols), (0, 0));
        assert_eq!(out.tiles.len(), 1);
        assert_eq!(out.tiles[0].dimensions(), (512, 512));
    }

    #[test]
    fn pixels_are_channel_planes_rescaled_and_normalised() {
        let processor = smolvlm(false);
        let tile =
            RgbImage::from_fn(512, 512, |x, _| if x == 0 { image::Rgb([0, 255, 51]) } else { image::Rgb([0, 0, 0]) });
        let prepared = processor.pixels(ProcessedImage { rows: 0, cols: 0, tiles: vec![tile] });
        assert_eq!((prepared.tiles, prepared.height, prepared.width), (1, 512, 512));
        let plane = 512 * 512;
        assert_eq!(prepared.pixels.len(), 3 * plane);
        // (v / 255 - 0.5) / 0.5: 0 -> -1, 255 -> 1, 51 -> -0.6 (in float32).
        assert_eq!(prepared.pixels[0], -1.0);
        assert_eq!(prepared.pixels[plane], 1.0);
        assert_eq!(prepared.pixels[2 * plane], ((51.0f64 / 255.0) as f32 - 0.5) / 0.5);
    }

    #[test]
    fn settings_follow_the_engine_defaults_and_bad_filters_are_named() {
        let settings = settings_from_json(&json!({}));
        assert!(!settings.do_resize && settings.do_image_splitting && settings.max_image_size == 364);
        let err = ImageProcessor::new(&settings_from_json(&json!({"resample": 9}))).unwrap_err();
        assert!(err.to_string().contains("resample = 9"), "{err}");
    }
}
