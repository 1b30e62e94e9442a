//! Turning a decoded image into 8-bit RGB as the SmolVLM processor does (`do_convert_rgb`):
//! transparency composited onto white (transformers' `convert_to_rgb`, Pillow-exact through
//! [`smolbench_pixels::rgba_on_white`]), everything else converted to RGB directly.

use image::{DynamicImage, RgbImage};

/// The image as 8-bit RGB; transparency is composited onto white when `composite` is on, else
/// dropped.
pub fn to_rgb(image: &DynamicImage, composite: bool) -> RgbImage {
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb.clone(),
        other if composite && other.color().has_alpha() => smolbench_pixels::rgba_on_white(&other.to_rgba8()),
        other => other.to_rgb8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_input_is_unchanged_and_transparency_turns_white() {
        let img = RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8, y as u8, 9]));
        assert_eq!(to_rgb(&DynamicImage::ImageRgb8(img.clone()), true), img);
        let clear = image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 0]));
        let rgba = DynamicImage::ImageRgba8(clear);
        assert!(to_rgb(&rgba, true).pixels().all(|p| p.0 == [255, 255, 255]));
        assert!(to_rgb(&rgba, false).pixels().all(|p| p.0 == [10, 20, 30]));
    }
}
