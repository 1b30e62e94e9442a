//! Tap windows and fixed-point weights for one axis of a resize, as Pillow computes them.
//!
//! For each output pixel the filter is centred on its position in the source, widened by the
//! downscaling factor, cut to the source's edges, and normalised so its weights add up to one.
//! The weights are then rounded to integers with [`PRECISION_BITS`] fractional bits (away from
//! zero), the form in which Pillow applies them to 8-bit pixels. Every step is done in `f64` in
//! the same order as Pillow does it, since a last-bit difference in a weight can move a pixel.

use crate::Filter;

/// Fractional bits of the fixed-point weights: 32 bits less 8 for the pixel and 2 for headroom,
/// so a sum of 8-bit pixels times weights stays inside `i32`.
pub const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The taps of one axis: for output pixel `i`, source pixels `start[i] .. start[i] + len[i]`
/// weighted by `weights[i * ksize ..][.. len[i]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taps {
    /// The row length of `weights`: the most taps any output pixel can have.
    pub ksize: usize,
    /// First source pixel of each output pixel's window.
    pub start: Vec<usize>,
    /// Number of source pixels in each window.
    pub len: Vec<usize>,
    /// Fixed-point weights, `ksize` per output pixel (unused entries are zero).
    pub weights: Vec<i32>,
}

impl Taps {
    /// The window and weights of output pixel `i`.
    pub fn window(&self, i: usize) -> (usize, &[i32]) {
        let row = &self.weights[i * self.ksize..];
        (self.start[i], &row[..self.len[i]])
    }

    /// How many output pixels these taps produce.
    pub fn out_len(&self) -> usize {
        self.start.len()
    }

    /// The source range `[first, last)` that any window touches.
    pub fn source_span(&self) -> (usize, usize) {
        let first = self.start.first().copied().unwrap_or(0);
        let last = self.start.last().zip(self.len.last()).map_or(0, |(s, l)| s + l);
        (first, last)
    }
}

/// The taps that resample the source interval `[in0, in1)` of an axis of `in_size` pixels onto
/// `out_size` pixels (Pillow's resize uses the whole axis: `in0 = 0`, `in1 = in_size`).
pub fn taps(in_size: usize, in0: f64, in1: f64, out_size: usize, filter: Filter) -> Taps {
    let scale = (in1 - in0) / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    // `as i64` truncates toward zero, as C's `(int)` does.
    let ksize = support.ceil() as usize * 2 + 1;
    let mut start = Vec::with_capacity(out_size);
    let mut len = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut k = vec![0f64; ksize];
    let inverse = 1.0 / filterscale;
    for xx in 0..out_size {
        let center = in0 + (xx as f64 + 0.5) * scale;
        let xmin = ((center - support + 0.5) as i64).max(0);
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) - xmin;
        let n = xmax.max(0) as usize;
        let mut total = 0.0;
        for (x, slot) in k.iter_mut().enumerate().take(n) {
            let w = filter.weight((((x as i64 + xmin) as f64 - center) + 0.5) * inverse);
            *slot = w;
            total += w;
        }
        let row = &mut weights[xx * ksize..][..n];
        for (fixed, &w) in row.iter_mut().zip(&k[..n]) {
            let w = if total != 0.0 { w / total } else { w };
            *fixed = to_fixed(w);
        }
        start.push(xmin as usize);
        len.push(n);
    }
    Taps { ksize, start, len, weights }
}

/// A normalised weight as a fixed-point integer, rounded half away from zero.
fn to_fixed(w: f64) -> i32 {
    let scaled = w * f64::from(1u32 << PRECISION_BITS);
    if w < 0.0 {
        (scaled - 0.5) as i32
    } else {
        (scaled + 0.5) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_add_up_to_one_in_fixed_point() {
        for filter in [Filter::Lanczos, Filter::Bicubic, Filter::Bilinear, Filter::Box, Filter::Hamming] {
            for (inp, out) in [(100, 37), (37, 100), (512, 512), (2048, 512), (3, 1)] {
                let taps = taps(inp, 0.0, inp as f64, out, filter);
                for i in 0..out {
                    let (_, w) = taps.window(i);
                    let sum: i64 = w.iter().map(|&v| i64::from(v)).sum();
                    // Each weight rounds by at most half a unit.
                    assert!((sum - (1 << PRECISION_BITS)).abs() <= w.len() as i64, "{filter:?} {inp}->{out} px {i}");
                }
            }
        }
    }

    #[test]
    fn windows_stay_inside_the_source_and_widen_when_shrinking() {
        let shrink = taps(1000, 0.0, 1000.0, 100, Filter::Lanczos);
        assert_eq!(shrink.ksize, 61); // support 3 x 10, both sides, plus the centre
        let grow = taps(100, 0.0, 100.0, 1000, Filter::Lanczos);
        assert_eq!(grow.ksize, 7);
        for t in [&shrink, &grow] {
            for i in 0..t.out_len() {
                let (start, w) = t.window(i);
                assert!(start + w.len() <= if t.out_len() == 100 { 1000 } else { 100 });
                assert!(!w.is_empty());
            }
        }
        assert_eq!(grow.source_span(), (0, 100));
    }
}
