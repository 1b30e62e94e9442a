//! The decoded-pixel budget of a request, checked from each image's header before anything is
//! decoded: a small file can declare a huge canvas (a 519 KB PNG of 13000x13000 decodes to
//! 676 MB), so the size of the body says nothing about the memory decoding takes.

use std::io::Cursor;

use smolbench_core::EncodedImage;

use super::guard::Refusal;

/// Reads each image's format and dimensions from its header and refuses the request when one is
/// not an image (400) or their pixels together exceed `max_pixels` (413).
pub fn check_pixels(images: &[EncodedImage], max_pixels: u64) -> Result<u64, Refusal> {
    let mut total = 0u64;
    for (index, image) in images.iter().enumerate() {
        let reader = image::ImageReader::new(Cursor::new(&image.bytes))
            .with_guessed_format()
            .map_err(|e| Refusal { status: 400, message: format!("image {index} cannot be read: {e}") })?;
        if reader.format().is_none() {
            return Err(Refusal {
                status: 400,
                message: format!(
                    "image {index} is not in a known image format ({} bytes); send PNG, JPEG, WebP, GIF, BMP or TIFF",
                    image.bytes.len()
                ),
            });
        }
        let (width, height) = reader
            .into_dimensions()
            .map_err(|e| Refusal { status: 400, message: format!("image {index} could not be decoded: {e}") })?;
        let pixels = u64::from(width) * u64::from(height);
        total = total.saturating_add(pixels);
        if total > max_pixels {
            return Err(Refusal {
                status: 413,
                message: format!(
                    "image {index} is {width}x{height}: the request's images would decode to {total} pixels, over this server's budget of {max_pixels} (bench serve --max-pixels); send smaller images"
                ),
            });
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> EncodedImage {
        let mut bytes = Vec::new();
        image::RgbImage::new(width, height).write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
        EncodedImage { bytes }
    }

    #[test]
    fn pixels_are_counted_from_headers() {
        let images = [png(40, 30), png(20, 10)];
        assert_eq!(check_pixels(&images, 1_400).unwrap(), 1_400);
        let refused = check_pixels(&images, 1_399).unwrap_err();
        assert_eq!(refused.status, 413);
        assert!(
            refused.message.contains("image 1 is 20x10") && refused.message.contains("--max-pixels"),
            "{refused:?}"
        );
    }

    /// CRC-32 (IEEE), as PNG chunks carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn a_huge_canvas_is_refused_from_its_header() {
        // A 1x1 PNG whose header is rewritten to declare 100000x100000 (with a valid checksum):
        // decoding it would need 30 GB.
        let mut bytes = png(1, 1).bytes;
        bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let refused = check_pixels(&[EncodedImage { bytes }], 64_000_000).unwrap_err();
        assert_eq!(refused.status, 413, "{refused:?}");
        assert!(refused.message.contains("100000x100000"), "{refused:?}");
        let not_an_image = check_pixels(&[EncodedImage { bytes: b"hello".to_vec() }], 10).unwrap_err();
        assert_eq!(not_an_image.status, 400);
        assert!(not_an_image.message.contains("not in a known image format"));
    }
}
