//! The SmolVLM (Idefics3) image processor's geometry: how big an image becomes, how it is cut
//! into tiles, and how many prompt tokens it then stands for.
//!
//! These are the rules of transformers' `Idefics3ImageProcessor` / `SmolVLMImageProcessor`,
//! which the patched mistral.rs engine follows (`runners/patches/`):
//!
//! 1. resize so the longest edge is `size.longest_edge` (the other edge is `int(edge / aspect)`,
//!    rounded up to even), capped at 4096;
//! 2. with splitting, resize both edges up to multiples of the tile size
//!    (`max_image_size.longest_edge`), then cut `rows x cols` tiles and add a global view of the
//!    whole image resized to one tile; an image that fits in one tile is not split;
//! 3. without splitting, resize to one square tile.
//!
//! A split image's prompt text is, per row, `<fake_token_around_image><row_r_col_c>` +
//! `<image>` x `image_seq_len` for each column and a newline, then a newline and
//! `<fake_token_around_image><global-img>` + `<image>` x `image_seq_len` +
//! `<fake_token_around_image>`. An unsplit image is just the global part.
//!
//! SmolBench uses this to record each sample's tile count and image tokens, and its image
//! processor (`crate::processor`) resizes and cuts by the same sizes.

/// The processor's hard cap on an edge after the first resize (transformers' `MAX_IMAGE_SIZE`).
pub const MAX_IMAGE_EDGE: u32 = 4096;

/// The processor settings that decide an image's geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitSettings {
    /// Whether images are cut into tiles.
    pub splitting: bool,
    /// The first resize's longest edge (`size.longest_edge`); `None` when `do_resize` is off.
    pub longest_edge: Option<u32>,
    /// The tile edge (`max_image_size.longest_edge`).
    pub tile: u32,
    /// `<image>` placeholders per tile.
    pub image_seq_len: usize,
}

/// What one image becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    /// Size (width, height) after the first resize and, with splitting, the resize to tile
    /// multiples.
    pub resized: (u32, u32),
    /// Tile rows; 0 when the image is not split.
    pub rows: u32,
    /// Tile columns; 0 when the image is not split.
    pub cols: u32,
}

impl ImageLayout {
    /// Tiles the vision encoder sees: `rows x cols` plus the global view, or one.
    pub fn tiles(&self) -> usize {
        (self.rows * self.cols) as usize + 1
    }

    /// Prompt tokens that are `<image>` placeholders: `image_seq_len` per tile, as transformers
    /// counts them.
    pub fn image_tokens(&self, image_seq_len: usize) -> usize {
        self.tiles() * image_seq_len
    }

    /// Prompt tokens that mark tiles: `<fake_token_around_image><row_r_col_c>` before each split
    /// tile, `<fake_token_around_image><global-img>` and a closing `<fake_token_around_image>`
    /// around the global view; the newlines between rows are text and not counted.
    pub fn marker_tokens(&self) -> usize {
        (self.rows * self.cols) as usize * 2 + 3
    }
}

/// `_resize_output_size_rescale_to_max_len` then `_resize_output_size_scale_below_upper_bound`:
/// the (width, height) of the first resize.
pub fn longest_edge_size(width: u32, height: u32, longest_edge: u32) -> (u32, u32) {
    let aspect = width as f64 / height as f64;
    let (mut w, mut h) = if width >= height {
        // An odd edge goes up to even.
        let h = (longest_edge as f64 / aspect) as u32;
        (longest_edge, h + h % 2)
    } else {
        let w = (longest_edge as f64 * aspect) as u32;
        (w + w % 2, longest_edge)
    };
    (w, h) = (w.max(1), h.max(1));
    let aspect = w as f64 / h as f64;
    if w >= h && w > MAX_IMAGE_EDGE {
        (w, h) = (MAX_IMAGE_EDGE, (MAX_IMAGE_EDGE as f64 / aspect) as u32);
    } else if h > w && h > MAX_IMAGE_EDGE {
        (w, h) = ((MAX_IMAGE_EDGE as f64 * aspect) as u32, MAX_IMAGE_EDGE);
    }
    (w.max(1), h.max(1))
}

/// `resize_for_vision_encoder`: both edges up to multiples of the tile size, keeping the aspect
/// ratio through the longer edge; (width, height).
pub fn tile_multiples_size(width: u32, height: u32, tile: u32) -> (u32, u32) {
    let up = |x: f64| ((x / tile as f64).ceil() * tile as f64) as u32;
    let aspect = width as f64 / height as f64;
    if width >= height {
        let w = up(width as f64);
        (w, up(((w as f64 / aspect) as u32) as f64))
    } else {
        let h = up(height as f64);
        (up(((h as f64 * aspect) as u32) as f64), h)
    }
}

/// The layout of an image of `width` x `height` pixels under `settings`.
pub fn image_layout(settings: &SplitSettings, width: u32, height: u32) -> ImageLayout {
    let (width, height) = (width.max(1), height.max(1));
    let (w, h) = match settings.longest_edge {
        Some(edge) => longest_edge_size(width, height, edge),
        None => (width, height),
    };
    if !settings.splitting {
        return ImageLayout { resized: (settings.tile, settings.tile), rows: 0, cols: 0 };
    }
    let (w, h) = tile_multiples_size(w, h, settings.tile);
    if w > settings.tile || h > settings.tile {
        ImageLayout { resized: (w, h), rows: h.div_ceil(settings.tile), cols: w.div_ceil(settings.tile) }
    } else {
        ImageLayout { resized: (w, h), rows: 0, cols: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLVLM: SplitSettings =
        SplitSettings { splitting: true, longest_edge: Some(2048), tile: 512, image_seq_len: 64 };

    #[test]
    fn a_landscape_page_becomes_a_grid_plus_a_global_view() {
        // 1000 x 700: longest edge 2048, height int(2048 / (1000/700)) = 1433 -> 1434 (even);
        // to tile multiples: 2048 x 1536, so 3 rows x 4 columns.
        let layout = image_layout(&SMOLVLM, 1000, 700);
        assert_eq!(layout, ImageLayout { resized: (2048, 1536), rows: 3, cols: 4 });
        assert_eq!(layout.tiles(), 13);
        assert_eq!(layout.image_tokens(64), 13 * 64);
        assert_eq!(layout.marker_tokens(), 12 * 2 + 3);
    }

    #[test]
    fn an_image_that_fits_one_tile_is_not_split() {
        let settings = SplitSettings { longest_edge: Some(512), ..SMOLVLM };
        let layout = image_layout(&settings, 300, 200);
        assert_eq!((layout.rows, layout.cols, layout.tiles()), (0, 0, 1));
        assert_eq!((layout.image_tokens(64), layout.marker_tokens()), (64, 3));
    }

    #[test]
    fn without_splitting_every_image_is_one_square_tile() {
        let settings = SplitSettings { splitting: false, ..SMOLVLM };
        let layout = image_layout(&settings, 4000, 100);
        assert_eq!(layout, ImageLayout { resized: (512, 512), rows: 0, cols: 0 });
    }

    #[test]
    fn portrait_images_split_into_more_rows() {
        let settings = SplitSettings { longest_edge: Some(1536), tile: 384, image_seq_len: 81, splitting: true };
        // 600 x 900: height 1536, width int(1536 * 2/3) = 1024; to multiples of 384: 1152 x 1536.
        let layout = image_layout(&settings, 600, 900);
        assert_eq!(layout, ImageLayout { resized: (1152, 1536), rows: 4, cols: 3 });
    }
}
