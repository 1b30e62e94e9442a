//! Compositing transparency onto white as Pillow's `Image.alpha_composite` does with an opaque
//! white background (what transformers' `convert_to_rgb` uses before dropping the alpha band).
//!
//! Pillow's compositing is integer arithmetic with 7 extra bits of precision and divisions by
//! 255 done with shifts and rounding; [`composite_on_white`] reproduces it exactly, so a
//! transparent PNG gives the same RGB bytes as in the SmolVLM authors' pipeline.

use image::{RgbImage, RgbaImage};

/// Extra bits Pillow's alpha compositing keeps.
const PRECISION_BITS: u32 = 7;

/// Pillow's shift-based division by 255 (after it added half a unit).
fn div255(a: u32) -> u32 {
    ((a >> 8) + a) >> 8
}

/// One channel of a pixel with alpha `alpha` over opaque white.
pub fn composite_on_white(channel: u8, alpha: u8) -> u8 {
    if alpha == 0 {
        return 255;
    }
    let alpha = u32::from(alpha);
    // The background's alpha is 255, so the output alpha (times 255) is 255 * 255.
    let out_alpha_255 = alpha * 255 + 255 * (255 - alpha);
    let coef1 = alpha * 255 * 255 * (1 << PRECISION_BITS) / out_alpha_255;
    let coef2 = 255 * (1 << PRECISION_BITS) - coef1;
    let mixed = u32::from(channel) * coef1 + 255 * coef2;
    (div255(mixed + (0x80 << PRECISION_BITS)) >> PRECISION_BITS) as u8
}

/// An RGBA image composited onto white, as RGB.
pub fn rgba_on_white(rgba: &RgbaImage) -> RgbImage {
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity((w as usize) * (h as usize) * 3);
    for px in rgba.pixels() {
        let [r, g, b, a] = px.0;
        out.extend([composite_on_white(r, a), composite_on_white(g, a), composite_on_white(b, a)]);
    }
    RgbImage::from_raw(w, h, out).expect("three bytes per pixel")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_pixels_keep_their_colour_and_clear_ones_turn_white() {
        for c in [0u8, 1, 100, 254, 255] {
            assert_eq!(composite_on_white(c, 255), c);
            assert_eq!(composite_on_white(c, 0), 255);
        }
        assert!((i32::from(composite_on_white(0, 128)) - 127).abs() <= 1);
    }
}
