//! Sizing a decoded frame for the model: Pillow's `LANCZOS` (SmolVLM2's `resample`), through the
//! same Pillow-exact resampler as still images ([`smolbench_pixels`]), then PNG.

use std::path::Path;

use image::RgbImage;
use smolbench_pixels::{resize_rgb8, Filter};

use super::error::VideoError;

/// The filter SmolVLM2's processor configs name (`resample: 1`).
pub const FRAME_FILTER: Filter = Filter::Lanczos;

/// `frame` (decoded from `source`) resized to `size` and encoded as PNG.
pub fn resized_png(frame: &RgbImage, size: (u32, u32), source: &Path) -> Result<Vec<u8>, VideoError> {
    let resized = resize_rgb8(frame, size.0, size.1, FRAME_FILTER);
    let mut png = Vec::new();
    resized
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| VideoError::corrupt(source, &format!("cannot encode the frame as PNG: {e}")))?;
    Ok(png)
}
