//! Small statistics: percentiles and the bootstrap confidence interval of a mean.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `q`-th percentile (0..=100) of `values` with linear interpolation between order
/// statistics (numpy's default); `None` for an empty slice.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64))
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A percentile bootstrap interval for the mean of `values`: `resamples` resamples with
/// replacement from a ChaCha generator seeded with `seed`, and the `(1-level)/2` and
/// `(1+level)/2` percentiles of their means. Deterministic for a given input and seed.
pub fn bootstrap_mean_ci(values: &[f64], level: f64, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if values.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = values.len();
    let means: Vec<f64> =
        (0..resamples).map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64).collect();
    let tail = (1.0 - level) / 2.0 * 100.0;
    Some((percentile(&means, tail)?, percentile(&means, 100.0 - tail)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert!((percentile(&v, 95.0).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn bootstrap_interval_brackets_the_mean_and_shrinks_with_n() {
        let small: Vec<f64> = (0..20).map(|i| f64::from(i % 2)).collect();
        let large: Vec<f64> = (0..2000).map(|i| f64::from(i % 2)).collect();
        let (lo_s, hi_s) = bootstrap_mean_ci(&small, 0.95, 1000, 1).unwrap();
        let (lo_l, hi_l) = bootstrap_mean_ci(&large, 0.95, 1000, 1).unwrap();
        assert!(lo_s < 0.5 && 0.5 < hi_s);
        assert!(lo_l < 0.5 && 0.5 < hi_l);
        assert!(hi_l - lo_l < (hi_s - lo_s) / 5.0, "interval should shrink about sqrt(100)=10x");
        // Binomial p=0.5, n=20: the standard error is 0.112, so the 95% interval is about ±0.22.
        assert!((hi_s - lo_s - 0.44).abs() < 0.1, "width {}", hi_s - lo_s);
    }

    #[test]
    fn bootstrap_is_deterministic_and_degenerate_for_constant_scores() {
        let v = [0.3, 0.9, 0.1, 0.7];
        assert_eq!(bootstrap_mean_ci(&v, 0.95, 500, 9), bootstrap_mean_ci(&v, 0.95, 500, 9));
        assert_eq!(bootstrap_mean_ci(&[1.0; 8], 0.95, 100, 0), Some((1.0, 1.0)));
    }
}
