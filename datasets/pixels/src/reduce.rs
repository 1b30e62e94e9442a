//! Shrinking an 8-bit RGB image by a whole factor: each output pixel is the mean of the
//! `factor` x `factor` block it covers (as `PIL.Image.reduce` does; blocks at the right and
//! bottom edges are averaged over the pixels they have). One pass over the source, integer sums:
//! the fast first step of a thumbnail, before an exact resize of the much smaller result.

use image::RgbImage;

/// `image` reduced by `factor` in both directions (output `ceil(w / factor) x ceil(h / factor)`).
///
/// # Panics
/// If `factor` is zero.
pub fn reduce_rgb8(image: &RgbImage, factor: u32) -> RgbImage {
    assert!(factor > 0, "cannot reduce by a factor of 0");
    if factor == 1 {
        return image.clone();
    }
    let (w, h) = (image.width() as usize, image.height() as usize);
    let k = factor as usize;
    let (out_w, out_h) = (w.div_ceil(k), h.div_ceil(k));
    let src = image.as_raw();
    let mut out = vec![0u8; out_w * out_h * 3];
    // Per source column and channel, the sum over the block's rows: a plain element-wise add
    // per source row, which the compiler vectorises.
    let mut columns = vec![0u32; w * 3];
    for oy in 0..out_h {
        columns.fill(0);
        let (y0, y1) = (oy * k, (oy * k + k).min(h));
        for y in y0..y1 {
            let row = &src[y * w * 3..(y + 1) * w * 3];
            for (sum, &v) in columns.iter_mut().zip(row) {
                *sum += u32::from(v);
            }
        }
        let rows = (y1 - y0) as u32;
        let line = &mut out[oy * out_w * 3..(oy + 1) * out_w * 3];
        for (ox, (dst, block)) in line.chunks_exact_mut(3).zip(columns.chunks(k * 3)).enumerate() {
            let count = rows * ((ox * k + k).min(w) - ox * k) as u32;
            let mut sum = [0u32; 3];
            for px in block.chunks_exact(3) {
                sum[0] += px[0];
                sum[1] += px[1];
                sum[2] += px[2];
            }
            for (d, s) in dst.iter_mut().zip(sum) {
                *d = ((s + count / 2) / count) as u8;
            }
        }
    }
    RgbImage::from_raw(out_w as u32, out_h as u32, out).expect("output buffer has the output's size")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_averaged_and_edge_blocks_over_what_they_have() {
        // 5x3 image, factor 2: output 3x2; the last column and row are partial blocks.
        let img = RgbImage::from_fn(5, 3, |x, y| image::Rgb([(x * 10 + y) as u8, 100, (x * y) as u8]));
        let out = reduce_rgb8(&img, 2);
        assert_eq!(out.dimensions(), (3, 2));
        // Block (0,0): x 0..2, y 0..2: red (0+1+10+11)/4 = 5.5 -> 6 (rounded half up).
        assert_eq!(out.get_pixel(0, 0).0, [6, 100, 0]);
        // Block (2,0): x 4, y 0..2: red (40+41)/2 = 40.5 -> 41; blue (0+4)/2 = 2.
        assert_eq!(out.get_pixel(2, 0).0, [41, 100, 2]);
        // Block (2,1): x 4, y 2 alone.
        assert_eq!(out.get_pixel(2, 1).0, [42, 100, 8]);
        assert_eq!(reduce_rgb8(&img, 1), img);
        assert_eq!(reduce_rgb8(&img, 9).dimensions(), (1, 1));
    }
}
