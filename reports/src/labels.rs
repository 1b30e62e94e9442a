//! Placing point labels on a chart so that no two labels overlap, no label covers a marker, and
//! every label stays inside the plot.
//!
//! Greedy, in the order given (callers put the points that matter most first): each label tries
//! the eight positions around its point at growing distances and takes the first that is free;
//! beyond the nearest ring it is drawn with a leader line back to its point. A label that finds
//! no free place is left off, and the caller says so beside the chart.
//!
//! ```
//! use smolbench_reports::labels::{place_labels, Rect};
//! let plot = Rect { x: 0, y: 0, w: 400, h: 300 };
//! let points = [(100, 100), (102, 101)];
//! let sizes = [(60, 14), (60, 14)];
//! let placed = place_labels(&points, &sizes, 6, plot);
//! let (a, b) = (placed[0].unwrap().rect, placed[1].unwrap().rect);
//! assert!(!a.intersects(&b));
//! ```

/// An axis-aligned rectangle in pixels: top-left corner, width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

impl Rect {
    /// Whether the two rectangles share any pixel.
    pub fn intersects(&self, other: &Rect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }

    /// Whether `other` lies wholly inside this rectangle.
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.w <= self.x + self.w
            && other.y + other.h <= self.y + self.h
    }

    /// The point of this rectangle nearest to `(px, py)`.
    pub fn nearest_point(&self, px: i32, py: i32) -> (i32, i32) {
        (px.clamp(self.x, self.x + self.w), py.clamp(self.y, self.y + self.h))
    }
}

/// Where a label went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The label's box.
    pub rect: Rect,
    /// Whether it sits away from its point and needs a leader line.
    pub leader: bool,
}

/// Gap between a marker and its label, in pixels.
const GAP: i32 = 3;
/// Distances tried, as multiples of the label height beyond the nearest ring.
const RINGS: i32 = 8;

/// Places a label of size `sizes[i]` (width, height) next to each of `points` (pixel centres of
/// markers of radius `marker`), inside `bounds`. Returns one placement per point, `None` where no
/// free place was found.
pub fn place_labels(points: &[(i32, i32)], sizes: &[(i32, i32)], marker: i32, bounds: Rect) -> Vec<Option<Placement>> {
    let markers: Vec<Rect> = points
        .iter()
        .map(|&(x, y)| Rect { x: x - marker, y: y - marker, w: 2 * marker + 1, h: 2 * marker + 1 })
        .collect();
    let mut placed: Vec<Rect> = Vec::new();
    let mut out = Vec::with_capacity(points.len());
    for (&(px, py), &(w, h)) in points.iter().zip(sizes) {
        let free = |r: &Rect| {
            bounds.contains(r) && !markers.iter().any(|m| m.intersects(r)) && !placed.iter().any(|p| p.intersects(r))
        };
        let mut found = None;
        'rings: for ring in 0..=RINGS {
            let d = marker + GAP + ring * h;
            // Right, left, above, below, then the four diagonals.
            let candidates = [
                (px + d, py - h / 2),
                (px - d - w, py - h / 2),
                (px - w / 2, py - d - h),
                (px - w / 2, py + d),
                (px + d, py - d - h + h / 2),
                (px - d - w, py - d - h + h / 2),
                (px + d, py + d - h / 2),
                (px - d - w, py + d - h / 2),
            ];
            for (x, y) in candidates {
                let r = Rect { x, y, w, h };
                if free(&r) {
                    found = Some(Placement { rect: r, leader: ring > 0 });
                    break 'rings;
                }
            }
        }
        if let Some(p) = found {
            placed.push(p.rect);
        }
        out.push(found);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn check(points: &[(i32, i32)], sizes: &[(i32, i32)], marker: i32, bounds: Rect) -> usize {
        let placed = place_labels(points, sizes, marker, bounds);
        let rects: Vec<Rect> = placed.iter().flatten().map(|p| p.rect).collect();
        for (i, a) in rects.iter().enumerate() {
            assert!(bounds.contains(a), "{a:?} leaves the plot");
            for b in &rects[i + 1..] {
                assert!(!a.intersects(b), "labels overlap: {a:?} {b:?}");
            }
            for &(x, y) in points {
                let m = Rect { x: x - marker, y: y - marker, w: 2 * marker + 1, h: 2 * marker + 1 };
                assert!(!a.intersects(&m), "label {a:?} covers the marker at ({x}, {y})");
            }
        }
        rects.len()
    }

    #[test]
    fn crowded_points_get_labels_that_never_overlap() {
        let bounds = Rect { x: 0, y: 0, w: 880, h: 460 };
        // The paper's picture: SmolVLM's three sizes and baselines bunched at the same memory.
        let points = [(100, 200), (104, 204), (108, 198), (100, 210), (600, 100), (602, 103), (860, 20)];
        let sizes = [(120, 15); 7];
        assert_eq!(check(&points, &sizes, 7, bounds), points.len(), "room enough for all");

        // Random clouds: whatever is placed never overlaps; most labels find a place.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let n = rng.random_range(5..40);
            let points: Vec<(i32, i32)> =
                (0..n).map(|_| (rng.random_range(0..880), rng.random_range(0..460))).collect();
            let sizes: Vec<(i32, i32)> = (0..n).map(|_| (rng.random_range(30..160), 15)).collect();
            let placed = check(&points, &sizes, 7, bounds);
            assert!(placed * 10 >= n * 8, "only {placed} of {n} labels placed");
        }
    }

    #[test]
    fn a_label_with_no_room_is_left_off_rather_than_overprinted() {
        let bounds = Rect { x: 0, y: 0, w: 40, h: 40 };
        let placed = place_labels(&[(20, 20), (22, 22)], &[(100, 15), (10, 10)], 5, bounds);
        assert_eq!(placed[0], None, "wider than the plot");
        let second = placed[1].expect("a small label fits");
        assert!(bounds.contains(&second.rect));
    }
}
