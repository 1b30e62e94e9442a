//! Paired comparisons of two runs over the same samples: the exact McNemar test for 0/1 scores,
//! the paired bootstrap for continuous scores (ANLS, relaxed accuracy...), and the smallest
//! difference a sample set of a given size can detect.
//!
//! ```
//! use smolbench_reports::paired::mcnemar_exact;
//! // 10 samples newly wrong, none newly right: p = 2 * 0.5^10.
//! assert!((mcnemar_exact(10, 0) - 2.0 * 0.5f64.powi(10)).abs() < 1e-12);
//! assert_eq!(mcnemar_exact(3, 3), 1.0);
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::stats::{mean, percentile};

/// ln(n!) by summation (n is a sample count, at most a few hundred thousand).
fn ln_factorial(n: u64) -> f64 {
    (2..=n).map(|k| (k as f64).ln()).sum()
}

/// Two-sided exact McNemar test: `b` pairs right in the baseline and wrong in the candidate, `c`
/// the other way round. Under the null hypothesis the discordant pairs split as Binomial(b+c,
/// 1/2); the p-value is twice the smaller tail, capped at 1. No discordant pair gives 1.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    let ln_n = ln_factorial(n);
    let ln_half_n = n as f64 * 0.5f64.ln();
    let tail: f64 = (0..=k).map(|i| (ln_n - ln_factorial(i) - ln_factorial(n - i) + ln_half_n).exp()).sum();
    (2.0 * tail).min(1.0)
}

/// The result of a paired bootstrap of mean differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapDiff {
    /// Mean of the differences (candidate minus baseline).
    pub mean: f64,
    /// Lower end of the interval at the requested level.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Two-sided p-value: twice the smaller share of resampled means on either side of 0.
    pub p_value: f64,
}

/// Paired bootstrap of the mean of `diffs` (candidate minus baseline, one per sample): resamples
/// samples with replacement, so the pairing is kept. Deterministic for a seed. `None` for no data.
pub fn paired_bootstrap(diffs: &[f64], level: f64, resamples: usize, seed: u64) -> Option<BootstrapDiff> {
    let m = mean(diffs)?;
    if resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = diffs.len();
    let means: Vec<f64> =
        (0..resamples).map(|_| (0..n).map(|_| diffs[rng.random_range(0..n)]).sum::<f64>() / n as f64).collect();
    let tail = (1.0 - level) / 2.0 * 100.0;
    let at_or_below = means.iter().filter(|&&x| x <= 0.0).count() as f64 / resamples as f64;
    let at_or_above = means.iter().filter(|&&x| x >= 0.0).count() as f64 / resamples as f64;
    Some(BootstrapDiff {
        mean: m,
        lo: percentile(&means, tail)?,
        hi: percentile(&means, 100.0 - tail)?,
        p_value: (2.0 * at_or_below.min(at_or_above)).min(1.0),
    })
}

/// The standard normal quantile function (Acklam's rational approximation, relative error below
/// 1.2e-9), for `p` in (0, 1).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// How small a difference a paired test over `n` samples can detect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detectability {
    /// The smallest mean difference (score units, 0..1) detectable at the given significance
    /// level with the given power.
    pub min_detectable: f64,
    /// Samples needed to detect `target` with that power.
    pub samples_needed: usize,
}

/// The smallest mean difference a two-sided paired test at level `alpha` detects with
/// probability `power` over `n` samples whose paired differences have standard deviation `sd`
/// (normal approximation: `(z(1-alpha/2) + z(power)) * sd / sqrt(n)`), and the samples needed to
/// detect `target`.
///
/// For 0/1 scores (`binary`) the exact McNemar test adds a floor: it cannot reach `alpha` with
/// fewer than `k = ceil(log2(2/alpha))` discordant pairs, so no difference below `k/n` is ever
/// detectable, whatever the variance.
pub fn detectability(n: usize, sd: f64, alpha: f64, power: f64, binary: bool, target: f64) -> Detectability {
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    let floor_pairs = if binary { (2.0 / alpha).log2().ceil() } else { 0.0 };
    let n_f = n.max(1) as f64;
    let min_detectable = (z * sd / n_f.sqrt()).max(floor_pairs / n_f);
    let target = target.max(1e-9);
    let needed = ((z * sd / target).powi(2)).max(floor_pairs / target).ceil();
    Detectability { min_detectable, samples_needed: needed as usize }
}

/// Sample standard deviation (n-1); 0 for fewer than two values.
pub fn std_dev(values: &[f64]) -> f64 {
    let Some(m) = mean(values) else { return 0.0 };
    if values.len() < 2 {
        return 0.0;
    }
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_matches_the_binomial_by_hand() {
        // n=5, k=1: P(X<=1) = (1+5)/32; two-sided 12/32.
        assert!((mcnemar_exact(4, 1) - 12.0 / 32.0).abs() < 1e-12);
        assert!((mcnemar_exact(1, 4) - 12.0 / 32.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        // 20 vs 5 discordant: 2 * (1 + 25 + 300 + 2300 + 12650 + 53130) / 2^25.
        assert!((mcnemar_exact(20, 5) - 136_812.0 / 33_554_432.0).abs() < 1e-12);
        // Large n stays finite and symmetric.
        let p = mcnemar_exact(5000, 4800);
        assert!(p > 0.0 && p < 1.0 && (p - mcnemar_exact(4800, 5000)).abs() < 1e-12);
    }

    #[test]
    fn normal_quantile_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.8) - 0.841_621_234).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 1e-7);
    }

    #[test]
    fn bootstrap_of_zero_differences_is_not_significant_and_a_shift_is() {
        let zeros = vec![0.0; 50];
        let b = paired_bootstrap(&zeros, 0.95, 1000, 1).unwrap();
        assert_eq!((b.mean, b.lo, b.hi, b.p_value), (0.0, 0.0, 0.0, 1.0));
        let drops: Vec<f64> = (0..100).map(|i| if i % 4 == 0 { 0.0 } else { -0.3 }).collect();
        let b = paired_bootstrap(&drops, 0.95, 2000, 1).unwrap();
        assert!(b.hi < 0.0 && b.p_value < 0.01, "{b:?}");
        assert_eq!(paired_bootstrap(&[], 0.95, 100, 1), None);
    }

    #[test]
    fn detectability_shrinks_with_n_and_has_the_mcnemar_floor() {
        let small = detectability(24, 0.0, 0.05, 0.8, true, 0.02);
        // ceil(log2(40)) = 6 discordant pairs at least: 6/24.
        assert!((small.min_detectable - 0.25).abs() < 1e-12);
        assert_eq!(small.samples_needed, 300);
        let large = detectability(2400, 0.3, 0.05, 0.8, true, 0.02);
        // (1.96 + 0.84) * 0.3 / sqrt(2400) = 0.01715
        assert!((large.min_detectable - 0.017_15).abs() < 1e-4, "{large:?}");
        assert!(large.samples_needed < 2400);
        assert_eq!(std_dev(&[1.0]), 0.0);
        assert!((std_dev(&[0.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-12);
    }

    /// The detectable-drop figure is honest: simulated pairs with a drop of that size are caught
    /// about `power` of the time, and pairs with no drop are flagged about `alpha` of the time.
    #[test]
    fn simulated_power_and_size_match_the_detectability_figure() {
        let (n, alpha, power, q_up) = (800usize, 0.05, 0.8, 0.03);
        let drop: f64 = 0.03;
        let sd = (q_up + (q_up + drop) - drop * drop).sqrt();
        let d = detectability(n, sd, alpha, power, true, drop);
        assert!((d.min_detectable - drop).abs() < 0.002, "{d:?}");
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut rejection_rate = |q_down: f64| {
            let trials = 400;
            let rejected = (0..trials)
                .filter(|_| {
                    let (mut b, mut c) = (0u64, 0u64);
                    for _ in 0..n {
                        let u: f64 = rng.random();
                        if u < q_down {
                            b += 1;
                        } else if u < q_down + q_up {
                            c += 1;
                        }
                    }
                    b > c && mcnemar_exact(b, c) < alpha
                })
                .count();
            rejected as f64 / trials as f64
        };
        let caught = rejection_rate(q_up + drop);
        assert!((0.68..=0.92).contains(&caught), "power {caught}");
        let false_alarms = rejection_rate(q_up);
        assert!(false_alarms <= 0.05, "one-sided false alarm rate {false_alarms}");
    }
}
