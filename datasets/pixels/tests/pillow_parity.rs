//! `resize_rgb8` against `PIL.Image.resize`: the SHA-256 of every output must equal the one
//! Pillow produced for the same image, size and filter (`pillow_vectors.json`, written by
//! `pillow_vectors.py` beside this file, which generates the images by the same rule).

use sha2::{Digest, Sha256};
use smolbench_pixels::{resize_rgb8, rgba_on_white, Filter};

/// The generator of `pillow_vectors.py`: xorshift32 noise on the left third, a 0/255
/// checkerboard of 5-pixel squares in the middle (overshoot and clipping), gradients on the right.
fn test_image(w: u32, h: u32, seed: u32) -> image::RgbImage {
    let mut state = seed;
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3u32 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let v = if x * 3 < w {
                    state & 0xff
                } else if x * 3 < 2 * w {
                    if ((x / 5) + (y / 5) + c) % 2 == 0 {
                        255
                    } else {
                        0
                    }
                } else {
                    (x * 3 + y * 5 + c * 70) & 0xff
                };
                data.push(v as u8);
            }
        }
    }
    image::RgbImage::from_raw(w, h, data).unwrap()
}

#[test]
fn every_filter_matches_pillow_bit_for_bit() {
    let vectors = vectors();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 50, "the vector file lost its cases");
    let mut mismatches = Vec::new();
    for case in cases {
        let n = |v: &serde_json::Value| v.as_u64().unwrap() as u32;
        let (sw, sh) = (n(&case["src"][0]), n(&case["src"][1]));
        let (dw, dh) = (n(&case["dst"][0]), n(&case["dst"][1]));
        let filter = Filter::try_from(case["filter"].as_i64().unwrap()).unwrap();
        let out = resize_rgb8(&test_image(sw, sh, n(&case["seed"])), dw, dh, filter);
        let hash = hex::encode(Sha256::digest(out.as_raw()));
        if hash != case["sha256"].as_str().unwrap() {
            mismatches.push(format!("{}x{} -> {}x{} {}", sw, sh, dw, dh, filter.name()));
        }
    }
    assert!(mismatches.is_empty(), "differ from Pillow {}: {mismatches:#?}", vectors["pillow"]);
}

/// `pillow_vectors.py`'s RGBA image: the RGB test image plus an alpha band sweeping 0..255 across
/// the top half and noise in the bottom half.
fn rgba_image(w: u32, h: u32, seed: u32) -> image::RgbaImage {
    let rgb = test_image(w, h, seed);
    let mut state = seed;
    image::RgbaImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let a = if y * 2 < h { x * 255 / (w - 1).max(1) } else { state & 0xff };
        let [r, g, b] = rgb.get_pixel(x, y).0;
        image::Rgba([r, g, b, a as u8])
    })
}

fn vectors() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pillow_vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn transparency_composited_onto_white_matches_pillow() {
    let vectors = vectors();
    let cases = vectors["composite"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let n = |v: &serde_json::Value| v.as_u64().unwrap() as u32;
        let rgb = rgba_on_white(&rgba_image(n(&case["src"][0]), n(&case["src"][1]), n(&case["seed"])));
        assert_eq!(hex::encode(Sha256::digest(rgb.as_raw())), case["sha256"].as_str().unwrap(), "{case}");
    }
}
