//! 8-bit RGB tiles into the `f32` channel planes a vision encoder takes, through one lookup
//! table per channel (an 8-bit level always maps to the same value, so the arithmetic that made
//! the table, done once, is exactly the processor's).

use image::RgbImage;

/// Writes `tile` into `out` as three planes (R, G, B) of `width x height` values, each byte
/// mapped through its channel's table.
///
/// # Panics
/// If `out` does not hold exactly three planes of the tile's size.
pub fn channel_planes(tile: &RgbImage, tables: &[[f32; 256]; 3], out: &mut [f32]) {
    let plane = (tile.width() * tile.height()) as usize;
    assert_eq!(out.len(), 3 * plane, "three planes of the tile's size");
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (i, px) in tile.as_raw().chunks_exact(3).enumerate() {
        r[i] = tables[0][px[0] as usize];
        g[i] = tables[1][px[1] as usize];
        b[i] = tables[2][px[2] as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_become_planes_through_the_tables() {
        let tile = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8, 10 + x as u8, 255]));
        let mut tables = [[0f32; 256]; 3];
        for (c, table) in tables.iter_mut().enumerate() {
            for (level, v) in table.iter_mut().enumerate() {
                *v = level as f32 + 1000.0 * c as f32;
            }
        }
        let mut out = vec![0f32; 6];
        channel_planes(&tile, &tables, &mut out);
        assert_eq!(out, vec![0.0, 1.0, 1010.0, 1011.0, 2255.0, 2255.0]);
    }
}
