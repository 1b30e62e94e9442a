//! Resampling filters as Pillow defines them: each kernel, its support radius, and the numeric
//! code that `resample` takes in Pillow and in Hugging Face preprocessor configs.

use std::f64::consts::PI;

/// A resampling filter. The discriminants are Pillow's `Image.Resampling` values, which
/// `preprocessor_config.json` stores as `resample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Pillow `NEAREST` (0): the source pixel under each output pixel's centre.
    Nearest = 0,
    /// Pillow `LANCZOS` (1): windowed sinc with three lobes.
    Lanczos = 1,
    /// Pillow `BILINEAR` (2): the triangle filter.
    Bilinear = 2,
    /// Pillow `BICUBIC` (3): cubic convolution with a = -0.5.
    Bicubic = 3,
    /// Pillow `BOX` (4): the unweighted mean of the covered pixels.
    Box = 4,
    /// Pillow `HAMMING` (5): sinc with a Hamming window, one lobe.
    Hamming = 5,
}

/// A `resample` code that names no Pillow filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resample = {0} is not a Pillow filter (0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING)")]
pub struct UnknownFilter(pub i64);

impl TryFrom<i64> for Filter {
    type Error = UnknownFilter;
    fn try_from(code: i64) -> Result<Self, UnknownFilter> {
        Ok(match code {
            0 => Filter::Nearest,
            1 => Filter::Lanczos,
            2 => Filter::Bilinear,
            3 => Filter::Bicubic,
            4 => Filter::Box,
            5 => Filter::Hamming,
            other => return Err(UnknownFilter(other)),
        })
    }
}

impl Filter {
    /// Pillow's name for the filter.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Nearest => "NEAREST",
            Filter::Lanczos => "LANCZOS",
            Filter::Bilinear => "BILINEAR",
            Filter::Bicubic => "BICUBIC",
            Filter::Box => "BOX",
            Filter::Hamming => "HAMMING",
        }
    }

    /// The kernel's support radius at scale 1 (it widens with the downscaling factor). Nearest
    /// neighbour has no kernel and reports 0.
    pub fn support(self) -> f64 {
        match self {
            Filter::Nearest => 0.0,
            Filter::Box => 0.5,
            Filter::Bilinear | Filter::Hamming => 1.0,
            Filter::Bicubic => 2.0,
            Filter::Lanczos => 3.0,
        }
    }

    /// The kernel's weight at distance `x` (in source pixels at scale 1).
    pub fn weight(self, x: f64) -> f64 {
        match self {
            Filter::Nearest => f64::from(u8::from(x == 0.0)),
            Filter::Box => {
                if x > -0.5 && x <= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Filter::Bilinear => {
                let x = x.abs();
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Hamming => {
                let x = x.abs();
                if x == 0.0 {
                    1.0
                } else if x >= 1.0 {
                    0.0
                } else {
                    let x = x * PI;
                    x.sin() / x * (0.54 + 0.46 * x.cos())
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            Filter::Lanczos => {
                if (-3.0..3.0).contains(&x) {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * PI;
        x.sin() / x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_named() {
        for code in 0..=5 {
            assert_eq!(Filter::try_from(code).unwrap() as i64, code);
        }
        assert!(Filter::try_from(6).unwrap_err().to_string().contains("resample = 6"));
    }

    #[test]
    fn kernels_are_one_at_zero_and_vanish_outside_their_support() {
        for f in [Filter::Box, Filter::Bilinear, Filter::Hamming, Filter::Bicubic, Filter::Lanczos] {
            assert_eq!(f.weight(0.0), 1.0, "{f:?}");
            assert_eq!(f.weight(f.support() + 0.01), 0.0, "{f:?}");
            assert_eq!(f.weight(-f.support() - 0.01), 0.0, "{f:?}");
        }
        // Lanczos is zero at the integers but one.
        assert!(Filter::Lanczos.weight(1.0).abs() < 1e-15);
        assert!(Filter::Bicubic.weight(1.5) < 0.0);
    }
}
