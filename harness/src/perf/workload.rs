//! The requests a performance sweep sends: synthetic images of given sizes with a prompt of a
//! given length, or the first samples of a benchmark task. Either way every request asks for the
//! same number of new tokens.

use std::io::Cursor;

use anyhow::{Context, Result};
use smolbench_core::{EncodedImage, GenerationRequest};

use crate::plan::PlannedTask;

/// An image size, `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSize {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl std::str::FromStr for ImageSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not an image size: write WIDTHxHEIGHT, e.g. 512x512");
        let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
        let width: u32 = w.trim().parse().map_err(|_| bad())?;
        let height: u32 = h.trim().parse().map_err(|_| bad())?;
        if width == 0 || height == 0 || width > 8192 || height > 8192 {
            return Err(format!("image size {s} is out of range (1 to 8192 pixels a side)"));
        }
        Ok(ImageSize { width, height })
    }
}

impl std::fmt::Display for ImageSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Words the synthetic prompt is made of (one token each for SmolVLM's tokenizer, one per
/// character for the tiny model's).
const FILLER: [&str; 8] = ["describe", "the", "image", "with", "care", "and", "list", "details"];

/// A prompt of `words` words: an instruction followed by filler.
pub fn synthetic_prompt(words: usize) -> String {
    let mut prompt = String::from("Describe the image.");
    for i in 0..words.saturating_sub(3) {
        prompt.push(' ');
        prompt.push_str(FILLER[i % FILLER.len()]);
    }
    prompt
}

/// A PNG of the given size whose pixels depend on `seed`, so no two requests share an image
/// (an encoder cache keyed by image content never hits).
pub fn synthetic_png(size: ImageSize, seed: u64) -> Result<Vec<u8>> {
    let s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let image = image::RgbImage::from_fn(size.width, size.height, |x, y| {
        let v = (x as u64 * 7 + y as u64 * 13 + s) as u8;
        image::Rgb([v, (x as u64 ^ s) as u8, (y as u64).wrapping_add(s) as u8])
    });
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).context("encoding a synthetic image")?;
    Ok(bytes)
}

/// `samples` requests cycling through `sizes`, each with its own image, a prompt of about
/// `prompt_words` tokens and a budget of `output_tokens`.
pub fn synthetic(
    sizes: &[ImageSize],
    prompt_words: usize,
    output_tokens: usize,
    samples: usize,
) -> Result<Vec<GenerationRequest>> {
    anyhow::ensure!(!sizes.is_empty(), "no image size given");
    let prompt = synthetic_prompt(prompt_words);
    (0..samples)
        .map(|i| {
            Ok(GenerationRequest {
                prompt: prompt.clone(),
                images: vec![EncodedImage { bytes: synthetic_png(sizes[i % sizes.len()], i as u64)? }],
                max_new_tokens: output_tokens,
                assistant_prefix: None,
                system: None,
            })
        })
        .collect()
}

/// The first `planned.selected` samples of a task, each with a budget of `output_tokens`.
pub fn from_task(planned: &PlannedTask, output_tokens: usize) -> Result<Vec<GenerationRequest>> {
    let task = &planned.task;
    let columns = task.columns();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let rows = planned.table.read_rows_at(&columns, 0..planned.selected)?;
    rows.iter()
        .enumerate()
        .map(|(index, row)| {
            let sample = task
                .build_sample(row, index)
                .with_context(|| format!("task {} row {index} cannot be made into a request", task.name()))?;
            Ok(GenerationRequest { max_new_tokens: output_tokens, ..sample.request })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_bad_ones_say_why() {
        assert_eq!("640x480".parse::<ImageSize>(), Ok(ImageSize { width: 640, height: 480 }));
        assert!("640".parse::<ImageSize>().unwrap_err().contains("WIDTHxHEIGHT"));
        assert!("0x5".parse::<ImageSize>().unwrap_err().contains("out of range"));
    }

    #[test]
    fn synthetic_requests_have_distinct_images_of_the_asked_size() {
        let sizes = [ImageSize { width: 64, height: 32 }, ImageSize { width: 40, height: 40 }];
        let requests = synthetic(&sizes, 12, 16, 3).unwrap();
        assert_eq!(requests.len(), 3);
        assert!(requests.iter().all(|r| r.max_new_tokens == 16 && r.images.len() == 1));
        assert_eq!(requests[0].prompt.split_whitespace().count(), 12);
        let first = image::load_from_memory(&requests[0].images[0].bytes).unwrap();
        assert_eq!((first.width(), first.height()), (64, 32));
        assert_ne!(requests[0].images[0].bytes, requests[2].images[0].bytes);
    }
}
