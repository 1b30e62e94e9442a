//! Cutting a rectangle out of an 8-bit RGB image, row by row (the processor's tiles). Kept here,
//! with the other per-pixel work, so it is always built optimised.

use image::RgbImage;

/// The `width` x `height` rectangle of `image` whose top-left corner is `(x, y)`.
///
/// # Panics
/// If the rectangle does not lie inside the image.
pub fn crop_rgb8(image: &RgbImage, x: u32, y: u32, width: u32, height: u32) -> RgbImage {
    assert!(x + width <= image.width() && y + height <= image.height(), "the crop lies inside the image");
    let stride = image.width() as usize * 3;
    let (x, width) = (x as usize * 3, width as usize * 3);
    let mut out = Vec::with_capacity(width * height as usize);
    for row in image.as_raw().chunks_exact(stride).skip(y as usize).take(height as usize) {
        out.extend_from_slice(&row[x..x + width]);
    }
    RgbImage::from_raw(width as u32 / 3, height, out).expect("three bytes per pixel")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crop_equals_the_image_crates() {
        let img = RgbImage::from_fn(13, 7, |x, y| image::Rgb([x as u8, y as u8, (x * y) as u8]));
        let ours = crop_rgb8(&img, 3, 2, 6, 4);
        let theirs = image::imageops::crop_imm(&img, 3, 2, 6, 4).to_image();
        assert_eq!(ours, theirs);
    }
}
