//! The Wilcoxon signed-rank test and the Hodges-Lehmann shift with its confidence bound, for
//! paired differences (one per sample, e.g. the log of a candidate/baseline latency ratio).
//!
//! Rank tests suit timings: they need no normality, a few very slow samples (a cold cache, a
//! neighbour's burst of work) move them little, and under the null hypothesis that the two
//! runs' values are exchangeable within each pair the test's size is exact for any sample count
//! (the exact null distribution is used up to [`EXACT_MAX_N`] differences).
//!
//! ```
//! use smolbench_reports::signed_rank::{hodges_lehmann, signed_rank_greater};
//! let d = [0.3, 0.2, 0.25, 0.4, 0.1];
//! // All five differences positive: p = 1/2^5.
//! assert!((signed_rank_greater(&d).p_value - 1.0 / 32.0).abs() < 1e-12);
//! assert!((hodges_lehmann(&d).unwrap() - 0.25).abs() < 1e-12);
//! ```

use crate::paired::normal_quantile;

/// Up to this many non-zero differences the p-value comes from the exact permutation
/// distribution (ties included); beyond it, from the normal approximation with tie correction.
pub const EXACT_MAX_N: usize = 200;

/// A one-sided signed-rank test of "the differences are shifted above zero".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRankTest {
    /// Differences that are not zero (zeros carry no sign and are dropped).
    pub n_nonzero: usize,
    /// Sum of the ranks of |d| over the positive differences (ties get their average rank).
    pub w_plus: f64,
    /// One-sided p-value: the chance, were signs random, of a rank sum at least this large.
    pub p_value: f64,
}

/// One-sided Wilcoxon signed-rank test against the alternative that `d` is shifted above 0.
/// Without any non-zero difference the p-value is 1.
pub fn signed_rank_greater(d: &[f64]) -> SignedRankTest {
    let mut abs: Vec<(f64, bool)> =
        d.iter().filter(|x| **x != 0.0 && x.is_finite()).map(|&x| (x.abs(), x > 0.0)).collect();
    let n = abs.len();
    if n == 0 {
        return SignedRankTest { n_nonzero: 0, w_plus: 0.0, p_value: 1.0 };
    }
    abs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Doubled average ranks, so ties stay integers: a tie over positions i..j (1-based) gets
    // rank (i+j)/2, doubled i+j.
    let mut rank2 = vec![0u64; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && abs[j + 1].0 == abs[i].0 {
            j += 1;
        }
        let r2 = (i + 1 + j + 1) as u64;
        rank2[i..=j].iter_mut().for_each(|r| *r = r2);
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let w2_plus: u64 = abs.iter().zip(&rank2).filter(|(a, _)| a.1).map(|(_, r)| r).sum();
    let p_value = if n <= EXACT_MAX_N {
        exact_upper_tail(&rank2, w2_plus)
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
        // Continuity correction of half a rank.
        let z = (w2_plus as f64 / 2.0 - mean - 0.5) / var.sqrt().max(1e-12);
        normal_upper_tail(z)
    };
    SignedRankTest { n_nonzero: n, w_plus: w2_plus as f64 / 2.0, p_value: p_value.clamp(0.0, 1.0) }
}

/// P(S >= observed), where S sums each of `ranks` with probability 1/2 independently.
fn exact_upper_tail(ranks: &[u64], observed: u64) -> f64 {
    let total: u64 = ranks.iter().sum();
    let mut dist = vec![0.0f64; total as usize + 1];
    dist[0] = 1.0;
    let mut reach = 0usize;
    for &r in ranks {
        let r = r as usize;
        for s in (0..=reach).rev() {
            let p = dist[s];
            if p != 0.0 {
                dist[s + r] += p * 0.5;
                dist[s] = p * 0.5;
            }
        }
        reach += r;
    }
    dist[observed as usize..].iter().sum()
}

/// P(Z > z) for a standard normal Z (complementary error function, Numerical Recipes' `erfcc`,
/// fractional error below 1.2e-7).
pub fn normal_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

/// How many of the Walsh averages `(d_i + d_j) / 2`, `i <= j`, of the ascending `sorted` are at
/// most `t` (two pointers, linear time).
fn walsh_at_most(sorted: &[f64], t: f64) -> usize {
    let n = sorted.len();
    let mut count = 0;
    let mut j = n;
    for i in 0..n {
        while j > i && sorted[i] + sorted[j - 1] > 2.0 * t {
            j -= 1;
        }
        if j <= i {
            break;
        }
        count += j - i;
    }
    count
}

/// The `k`-th smallest (1-based) Walsh average of the ascending `sorted`, found by bisection on
/// its value: no list of the n(n+1)/2 averages is built, so a 5,000-sample task costs little.
fn walsh_order_statistic(sorted: &[f64], k: usize) -> f64 {
    let (mut lo, mut hi) = (sorted[0], sorted[sorted.len() - 1]);
    if walsh_at_most(sorted, lo) >= k {
        return lo;
    }
    // Invariant: fewer than k averages are <= lo, at least k are <= hi.
    for _ in 0..200 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if walsh_at_most(sorted, mid) >= k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

fn sorted_finite(d: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = d.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// The Hodges-Lehmann estimate of the shift: the median of all Walsh averages. `None` for no
/// finite difference.
pub fn hodges_lehmann(d: &[f64]) -> Option<f64> {
    let s = sorted_finite(d);
    let n = s.len();
    if n == 0 {
        return None;
    }
    let total = n * (n + 1) / 2;
    Some(if total % 2 == 1 {
        walsh_order_statistic(&s, total.div_ceil(2))
    } else {
        (walsh_order_statistic(&s, total / 2) + walsh_order_statistic(&s, total / 2 + 1)) / 2.0
    })
}

/// The largest `c` with P(W+ <= c) <= `alpha` under the null distribution of the signed-rank
/// statistic for `n` untied differences; `None` when even P(W+ = 0) = 2^-n exceeds `alpha`.
fn lower_critical_value(n: usize, alpha: f64) -> Option<usize> {
    if n <= EXACT_MAX_N {
        let total = n * (n + 1) / 2;
        let mut dist = vec![0.0f64; total + 1];
        dist[0] = 1.0;
        for r in 1..=n {
            for s in (0..=(r - 1) * r / 2).rev() {
                let p = dist[s];
                if p != 0.0 {
                    dist[s + r] += p * 0.5;
                    dist[s] = p * 0.5;
                }
            }
        }
        let mut cumulative = 0.0;
        let mut c = None;
        for (s, p) in dist.iter().enumerate() {
            cumulative += p;
            if cumulative <= alpha * (1.0 + 1e-12) {
                c = Some(s);
            } else {
                break;
            }
        }
        c
    } else {
        let nf = n as f64;
        let mean = nf * (nf + 1.0) / 4.0;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let c = (mean - normal_quantile(1.0 - alpha) * sd - 0.5).floor();
        (c >= 0.0).then_some(c as usize)
    }
}

/// The one-sided upper confidence bound, at level `1 - alpha`, of the Hodges-Lehmann shift
/// (the shifts the signed-rank test would not reject in favour of a smaller one). `None` when
/// the sample is too small for any bound at that level (fewer than log2(1/alpha) differences).
pub fn shift_upper_bound(d: &[f64], alpha: f64) -> Option<f64> {
    let s = sorted_finite(d);
    let n = s.len();
    if n == 0 {
        return None;
    }
    let c = lower_critical_value(n, alpha)?;
    let total = n * (n + 1) / 2;
    Some(walsh_order_statistic(&s, total - c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_walsh(d: &[f64]) -> Vec<f64> {
        let mut w = Vec::new();
        for i in 0..d.len() {
            for j in i..d.len() {
                w.push((d[i] + d[j]) / 2.0);
            }
        }
        w.sort_by(f64::total_cmp);
        w
    }

    #[test]
    fn walsh_order_statistics_match_the_full_list() {
        let d = [0.31, -0.2, 0.05, 0.9, 0.05, -0.44, 0.12];
        let mut s = d.to_vec();
        s.sort_by(f64::total_cmp);
        let w = all_walsh(&d);
        for (k, expected) in w.iter().enumerate() {
            let got = walsh_order_statistic(&s, k + 1);
            assert!((got - expected).abs() < 1e-9, "k={} {got} vs {expected}", k + 1);
        }
        // 28 averages: the median is the mean of the 14th and 15th.
        assert!((hodges_lehmann(&d).unwrap() - (w[13] + w[14]) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn p_values_match_hand_counts_and_the_normal_approximation() {
        // n = 3, ranks 1,2,3; W+ = 5 (ranks 2 and 3 positive): sums >= 5 are {2,3} and {1,2,3}.
        let t = signed_rank_greater(&[-0.1, 0.2, 0.3]);
        assert_eq!((t.n_nonzero, t.w_plus), (3, 5.0));
        assert!((t.p_value - 2.0 / 8.0).abs() < 1e-12);
        // Zeros are dropped; ties share their rank: |d| = 1,1 -> ranks 1.5,1.5.
        let t = signed_rank_greater(&[0.0, 1.0, -1.0]);
        assert_eq!((t.n_nonzero, t.w_plus), (2, 1.5));
        assert!((t.p_value - 0.75).abs() < 1e-12);
        assert_eq!(signed_rank_greater(&[0.0, 0.0]).p_value, 1.0);
        // Beyond EXACT_MAX_N the normal approximation stands in for the exact distribution.
        let d: Vec<f64> = (1..=250).map(|i| if (i * 7) % 11 < 5 { -(i as f64) } else { i as f64 }).collect();
        let ranks: Vec<u64> = (1..=250).map(|i| 2 * i).collect();
        let w2: u64 = (1..=250u64).filter(|i| (i * 7) % 11 >= 5).map(|i| 2 * i).sum();
        let exact = exact_upper_tail(&ranks, w2);
        let approx = signed_rank_greater(&d).p_value;
        assert!(exact > 0.001 && exact < 0.999, "{exact}");
        assert!((exact - approx).abs() < 0.005, "exact {exact}, normal {approx}");
        assert!((normal_upper_tail(1.644_853_6) - 0.05).abs() < 1e-6);
        assert!((normal_upper_tail(-1.959_964) - 0.975).abs() < 1e-6);
    }

    #[test]
    fn the_upper_bound_follows_the_critical_value() {
        // n = 5 at 5%: only W+ = 0 is in the lower tail (1/32), so the bound is the largest
        // Walsh average, the largest difference.
        let d = [0.1, -0.3, 0.2, 0.05, 0.0];
        assert_eq!(lower_critical_value(5, 0.05), Some(0));
        assert!((shift_upper_bound(&d, 0.05).unwrap() - 0.2).abs() < 1e-9);
        // Four differences can never reach 5%: no bound.
        assert_eq!(shift_upper_bound(&d[..4], 0.05), None);
        // n = 10, alpha 0.05: the tabulated one-sided critical value is 10.
        assert_eq!(lower_critical_value(10, 0.05), Some(10));
        // The normal approximation lands next to the exact value.
        let exact = lower_critical_value(EXACT_MAX_N, 0.05).unwrap() as f64;
        let nf = EXACT_MAX_N as f64;
        let approx =
            nf * (nf + 1.0) / 4.0 - normal_quantile(0.95) * (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt() - 0.5;
        assert!((exact - approx).abs() < 3.0, "{exact} {approx}");
    }
}
