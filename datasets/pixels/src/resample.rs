//! `PIL.Image.resize` on 8-bit RGB, bit for bit, and faster.
//!
//! Pillow resizes in two separable passes: horizontally into an 8-bit intermediate holding only
//! the source rows the vertical pass will read, then vertically (or, since Pillow 13, vertically
//! first when the height shrinks much more than the width: see [`vertical_first`]). Each output value is
//! `clip8((1 << (PRECISION_BITS - 1) + Σ pixel × weight) >> PRECISION_BITS)` in `i32`, with the
//! weights of [`crate::coeffs::taps`]. Reproducing those integers exactly (same passes, same
//! intermediate rounding) gives Pillow's bytes.
//!
//! Speed comes from doing every pass as a *line pass*: an output line is a weighted sum of whole
//! source lines, which vectorises across pixels (a multiply-add per 8 pixels with AVX2, chosen at
//! run time). The vertical pass is one as it stands; the horizontal pass becomes one on the
//! transposed image (transposed in cache-sized blocks, and back). Output lines are spread over
//! threads with rayon. Integer sums do not depend on the order of the work, so neither
//! vectorisation nor threads change a byte.
//!
//! Nearest neighbour is not a filter in Pillow: it is affine scaling that takes, for output
//! pixel `x`, source pixel `⌊x₀ + x·s⌋` where `x₀` is the centre of the first pixel and the
//! position is accumulated pixel by pixel (`s` added each step), as Pillow does.

use image::RgbImage;
use rayon::prelude::*;

use crate::coeffs::{taps, Taps, PRECISION_BITS};
use crate::Filter;

/// Bytes per pixel of the images this module resamples.
const CHANNELS: usize = 3;

/// Below this many output bytes a pass runs on the calling thread (threads cost more than they
/// save on small images).
const PARALLEL_MIN_BYTES: usize = 64 * 1024;

/// Resizes `image` to `width` x `height` exactly as `PIL.Image.resize((width, height), filter)`
/// does on an RGB image. Equal sizes give a copy, as in Pillow.
///
/// # Panics
/// If `width` or `height` is zero (Pillow refuses those too).
pub fn resize_rgb8(image: &RgbImage, width: u32, height: u32, filter: Filter) -> RgbImage {
    assert!(width > 0 && height > 0, "cannot resize to {width}x{height}");
    let (in_w, in_h) = (image.width() as usize, image.height() as usize);
    let (out_w, out_h) = (width as usize, height as usize);
    if (in_w, in_h) == (out_w, out_h) {
        return image.clone();
    }
    let data = if filter == Filter::Nearest {
        nearest(image.as_raw(), in_w, in_h, out_w, out_h)
    } else {
        filtered(image.as_raw(), in_w, in_h, out_w, out_h, filter)
    };
    RgbImage::from_raw(width, height, data).expect("output buffer has the output's size")
}

fn filtered(src: &[u8], in_w: usize, in_h: usize, out_w: usize, out_h: usize, filter: Filter) -> Vec<u8> {
    let horizontal = taps(in_w, 0.0, in_w as f64, out_w, filter);
    let mut vertical = taps(in_h, 0.0, in_h as f64, out_h, filter);
    match (out_w != in_w, out_h != in_h) {
        (false, false) => src.to_vec(),
        (true, false) => horizontal_pass(src, in_w, in_h, &horizontal),
        (false, true) => vertical_pass(src, in_w, &vertical),
        (true, true) if vertical_first(in_w, in_h, out_w, out_h) => {
            let rows = vertical_pass(src, in_w, &vertical);
            horizontal_pass(&rows, in_w, out_h, &horizontal)
        }
        (true, true) => {
            // Only the source rows the vertical pass reads are resampled horizontally.
            let (first_row, last_row) = vertical.source_span();
            for start in &mut vertical.start {
                *start -= first_row;
            }
            let band = &src[first_row * in_w * CHANNELS..last_row * in_w * CHANNELS];
            let rows = horizontal_pass(band, in_w, last_row - first_row, &horizontal);
            vertical_pass(&rows, out_w, &vertical)
        }
    }
}

/// Pillow 13 resizes vertically first when the height loses more than twice as many pixels as
/// the width (found by comparing both orders with Pillow 13.0.0 on a few hundred random sizes;
/// the intermediate is rounded to 8 bits either way, so the order shows in the output).
fn vertical_first(in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> bool {
    let height_loss = in_h as i64 - out_h as i64;
    let width_loss = in_w as i64 - out_w as i64;
    out_h < in_h && height_loss > 2 * width_loss
}

/// The vertical pass: `taps.out_len()` rows of `width` pixels from the rows of `src`.
fn vertical_pass(src: &[u8], width: usize, taps: &Taps) -> Vec<u8> {
    let line = width * CHANNELS;
    let mut out = vec![0u8; line * taps.out_len()];
    line_pass(src, line, taps, &mut out);
    out
}

/// The horizontal pass as a line pass over the transposed band: `rows` rows of `in_w` pixels in,
/// `rows` rows of `taps.out_len()` pixels out.
fn horizontal_pass(band: &[u8], in_w: usize, rows: usize, taps: &Taps) -> Vec<u8> {
    let out_w = taps.out_len();
    let line = rows * CHANNELS;
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let (transposed, columns) = &mut *scratch;
        reuse(transposed, band.len());
        transpose_into(band, in_w, rows, transposed);
        reuse(columns, line * out_w);
        line_pass(transposed, line, taps, columns);
        let mut out = vec![0u8; line * out_w];
        transpose_into(columns, rows, out_w, &mut out);
        out
    })
}

thread_local! {
    /// The horizontal pass's two transposed buffers, kept per thread between resizes: fresh
    /// multi-megabyte buffers cost a page fault per 4 KiB.
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// `buffer` with exactly `len` bytes (contents unspecified: every byte is written before use).
fn reuse(buffer: &mut Vec<u8>, len: usize) {
    buffer.resize(len, 0);
    buffer.truncate(len);
}

/// Output line `i` = taps-weighted sum of source lines `start[i] ..`, where a line is `line`
/// bytes; every byte is filtered independently.
fn line_pass(src: &[u8], line: usize, taps: &Taps, out: &mut [u8]) {
    let run = |(i, dst): (usize, &mut [u8])| {
        let (start, weights) = taps.window(i);
        weighted_line(src, line, start, weights, dst);
    };
    if out.len() >= PARALLEL_MIN_BYTES {
        out.par_chunks_mut(line).enumerate().for_each(run);
    } else {
        out.chunks_mut(line).enumerate().for_each(run);
    }
}

/// Bytes summed together: the `i32` sums of one step stay in vector registers across all taps.
const STEP: usize = 32;

fn weighted_line(src: &[u8], line: usize, start: usize, weights: &[i32], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { weighted_line_avx2(src, line, start, weights, dst) };
    }
    weighted_line_portable(src, line, start, weights, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn weighted_line_avx2(src: &[u8], line: usize, start: usize, weights: &[i32], dst: &mut [u8]) {
    weighted_line_portable(src, line, start, weights, dst)
}

/// The line sum written so the compiler vectorises it (inlined into each target-feature copy):
/// [`STEP`] bytes at a time, every tap added before moving on.
#[inline(always)]
fn weighted_line_portable(src: &[u8], line: usize, start: usize, weights: &[i32], dst: &mut [u8]) {
    const HALF: i32 = 1 << (PRECISION_BITS - 1);
    let rows: Vec<&[u8]> = (0..weights.len()).map(|t| &src[(start + t) * line..][..line]).collect();
    let full = line - line % STEP;
    for offset in (0..full).step_by(STEP) {
        let mut acc = [HALF; STEP];
        for (row, &w) in rows.iter().zip(weights) {
            let px: &[u8; STEP] = row[offset..offset + STEP].try_into().expect("a full step");
            for (a, &p) in acc.iter_mut().zip(px) {
                *a += i32::from(p) * w;
            }
        }
        for (d, a) in dst[offset..offset + STEP].iter_mut().zip(acc) {
            *d = (a >> PRECISION_BITS).clamp(0, 255) as u8;
        }
    }
    for i in full..line {
        let sum = rows.iter().zip(weights).fold(HALF, |acc, (row, &w)| acc + i32::from(row[i]) * w);
        dst[i] = (sum >> PRECISION_BITS).clamp(0, 255) as u8;
    }
}

/// Transposes an image of `h` rows of `w` RGB pixels into `out`: `w` rows of `h` pixels. Each
/// task fills a band of a few output rows, reading the source row by row (a short contiguous run
/// per row) and writing the band's rows side by side, so both stay in cache. Pixels move as
/// 4-byte words where a fourth byte is there to carry along (the byte it overwrites is written
/// by the next pixel of the same output row, which comes later).
fn transpose_into(src: &[u8], w: usize, h: usize, out: &mut [u8]) {
    const BAND: usize = 16;
    let row_out = h * CHANNELS;
    let fill_band = |(band, dst): (usize, &mut [u8])| {
        let x0 = band * BAND;
        let n = dst.len() / row_out;
        for y in 0..h {
            let first = (y * w + x0) * CHANNELS;
            let wide = y + 1 < h && first + n * CHANNELS < src.len();
            for i in 0..n {
                let s = first + i * CHANNELS;
                let o = i * row_out + y * CHANNELS;
                if wide {
                    let word: [u8; 4] = src[s..s + 4].try_into().expect("four bytes");
                    dst[o..o + 4].copy_from_slice(&word);
                } else {
                    dst[o..o + CHANNELS].copy_from_slice(&src[s..s + CHANNELS]);
                }
            }
        }
    };
    if src.len() >= PARALLEL_MIN_BYTES {
        out.par_chunks_mut(BAND * row_out).enumerate().for_each(fill_band);
    } else {
        out.chunks_mut(BAND * row_out).enumerate().for_each(fill_band);
    }
}

/// Pillow's nearest-neighbour resize: affine scaling with accumulated source positions.
fn nearest(src: &[u8], in_w: usize, in_h: usize, out_w: usize, out_h: usize) -> Vec<u8> {
    let columns = nearest_positions(in_w, out_w);
    let rows = nearest_positions(in_h, out_h);
    let line = out_w * CHANNELS;
    let mut out = vec![0u8; line * out_h];
    for (dst, &y) in out.chunks_mut(line).zip(&rows) {
        let row = &src[y * in_w * CHANNELS..][..in_w * CHANNELS];
        for (px, &x) in dst.chunks_mut(CHANNELS).zip(&columns) {
            px.copy_from_slice(&row[x * CHANNELS..x * CHANNELS + CHANNELS]);
        }
    }
    out
}

fn nearest_positions(in_size: usize, out_size: usize) -> Vec<usize> {
    let step = in_size as f64 / out_size as f64;
    let mut position = step * 0.5;
    (0..out_size)
        .map(|_| {
            let p = (position as usize).min(in_size - 1);
            position += step;
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128]))
    }

    #[test]
    fn transpose_twice_is_identity() {
        let img = gradient(70, 45);
        let mut t = vec![0u8; img.as_raw().len()];
        transpose_into(img.as_raw(), 70, 45, &mut t);
        assert_ne!(&t, img.as_raw());
        let mut back = vec![0u8; t.len()];
        transpose_into(&t, 45, 70, &mut back);
        assert_eq!(&back, img.as_raw());
    }

    #[test]
    fn a_flat_image_stays_flat_under_every_filter() {
        let flat = RgbImage::from_pixel(33, 21, image::Rgb([17, 200, 99]));
        for filter in
            [Filter::Lanczos, Filter::Bicubic, Filter::Bilinear, Filter::Box, Filter::Hamming, Filter::Nearest]
        {
            for (w, h) in [(7, 5), (100, 80), (33, 50), (1, 1)] {
                let out = resize_rgb8(&flat, w, h, filter);
                assert!(out.pixels().all(|p| p.0 == [17, 200, 99]), "{filter:?} {w}x{h}");
            }
        }
    }

    #[test]
    fn vectorised_and_portable_line_sums_agree() {
        let img = gradient(300, 7);
        let t = taps(7, 0.0, 7.0, 3, Filter::Lanczos);
        let line = 300 * CHANNELS;
        for i in 0..3 {
            let (start, w) = t.window(i);
            let mut a = vec![0u8; line];
            let mut b = vec![0u8; line];
            weighted_line(img.as_raw(), line, start, w, &mut a);
            weighted_line_portable(img.as_raw(), line, start, w, &mut b);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn threads_do_not_change_a_byte() {
        let img = gradient(640, 480);
        let a = resize_rgb8(&img, 300, 200, Filter::Lanczos);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| resize_rgb8(&img, 300, 200, Filter::Lanczos));
        assert_eq!(a, b);
    }
}
