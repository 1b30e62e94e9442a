//! The engine's CPU attention, as its models call it (`mistralrs::core::cpu_attention::attention`,
//! exposed by our patch), against attention computed here in `f64` from its definition:
//! `softmax(q k^T * scale + mask) v`. The shapes cover what SmolVLM runs: the vision encoder's
//! unmasked 1,024-patch tiles, the text model's causal prompts with grouped-query heads, a cached
//! prefix (more keys than queries), padding masks, head sizes that are no multiple of four, and
//! decoding (one query). The default kernel (in both its AVX2 and portable sweeps, which must
//! agree bit for bit) and the matrix path are checked.

use candle_core::{DType, Device, Tensor};
use mistralrs::core::cpu_attention;

/// A deterministic stream of values in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn values(&mut self, n: usize, amplitude: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * amplitude).collect()
    }
}

/// Which additive mask a case carries.
#[derive(Clone, Copy, Debug)]
enum Mask {
    None,
    /// Causal over a cached prefix: query `i` sees keys `0..=i + (kv_len - q_len)`; shape
    /// `(q_len, kv_len)`.
    Causal,
    /// The last `n` keys of batch entry 1 are padding; shape `(batch, 1, q_len, kv_len)`.
    Padding(usize),
}

struct Case {
    batch: usize,
    heads: usize,
    kv_heads: usize,
    q_len: usize,
    kv_len: usize,
    head_dim: usize,
    mask: Mask,
}

/// The additive mask's value for (batch entry, query, key).
fn mask_value(case: &Case, b: usize, i: usize, j: usize) -> f32 {
    match case.mask {
        Mask::None => 0.0,
        Mask::Causal => {
            if j <= i + (case.kv_len - case.q_len) {
                0.0
            } else {
                f32::NEG_INFINITY
            }
        }
        Mask::Padding(n) => {
            if b == 1 && j >= case.kv_len - n {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        }
    }
}

fn mask_tensor(case: &Case) -> Option<Tensor> {
    let (q, kv) = (case.q_len, case.kv_len);
    match case.mask {
        Mask::None => None,
        Mask::Causal => {
            let values: Vec<f32> =
                (0..q).flat_map(|i| (0..kv).map(move |j| (i, j))).map(|(i, j)| mask_value(case, 0, i, j)).collect();
            Some(Tensor::from_vec(values, (q, kv), &Device::Cpu).unwrap())
        }
        Mask::Padding(_) => {
            let mut values = Vec::with_capacity(case.batch * q * kv);
            for b in 0..case.batch {
                for i in 0..q {
                    for j in 0..kv {
                        values.push(mask_value(case, b, i, j));
                    }
                }
            }
            Some(Tensor::from_vec(values, (case.batch, 1, q, kv), &Device::Cpu).unwrap())
        }
    }
}

/// Attention from its definition, in f64, output `(batch, heads, q_len, head_dim)` flattened.
fn reference(case: &Case, q: &[f32], k: &[f32], v: &[f32], scale: f32) -> Vec<f64> {
    let (d, group) = (case.head_dim, case.heads / case.kv_heads);
    let mut out = Vec::with_capacity(case.batch * case.heads * case.q_len * d);
    for b in 0..case.batch {
        for h in 0..case.heads {
            let kh = h / group;
            for i in 0..case.q_len {
                let q_row = &q[((b * case.heads + h) * case.q_len + i) * d..][..d];
                let logits: Vec<f64> = (0..case.kv_len)
                    .map(|j| {
                        let k_row = &k[((b * case.kv_heads + kh) * case.kv_len + j) * d..][..d];
                        let dot: f64 = q_row.iter().zip(k_row).map(|(&a, &c)| f64::from(a) * f64::from(c)).sum();
                        dot * f64::from(scale) + f64::from(mask_value(case, b, i, j))
                    })
                    .collect();
                let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let weights: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
                let total: f64 = weights.iter().sum();
                for c in 0..d {
                    let value: f64 = weights
                        .iter()
                        .enumerate()
                        .map(|(j, w)| w * f64::from(v[((b * case.kv_heads + kh) * case.kv_len + j) * d + c]))
                        .sum();
                    out.push(value / total);
                }
            }
        }
    }
    out
}

/// The case's inputs (seeded) and what the engine's attention makes of them.
struct Run {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    scale: f32,
    out: Vec<f32>,
}

/// Runs `case` through the engine and returns the largest absolute difference from the
/// reference, and the engine's output.
fn worst_error(case: &Case, seed: u64) -> (f64, Vec<f32>) {
    let run = run_engine(case, seed);
    let want = reference(case, &run.q, &run.k, &run.v, run.scale);
    let worst = run.out.iter().zip(&want).map(|(&g, &w)| (f64::from(g) - w).abs()).fold(0.0, f64::max);
    (worst, run.out)
}

fn run_engine(case: &Case, seed: u64) -> Run {
    let mut rng = Lcg(seed);
    let d = case.head_dim;
    let q = rng.values(case.batch * case.heads * case.q_len * d, 2.0);
    let k = rng.values(case.batch * case.kv_heads * case.kv_len * d, 2.0);
    let v = rng.values(case.batch * case.kv_heads * case.kv_len * d, 1.0);
    let scale = 1.0 / (d as f32).sqrt();
    let tensor = |data: &[f32], heads: usize, len: usize| {
        Tensor::from_vec(data.to_vec(), (case.batch, heads, len, d), &Device::Cpu).unwrap()
    };
    let mask = mask_tensor(case);
    let out = cpu_attention::attention(
        &tensor(&q, case.heads, case.q_len),
        &tensor(&k, case.kv_heads, case.kv_len),
        &tensor(&v, case.kv_heads, case.kv_len),
        mask.as_ref(),
        scale,
    )
    .unwrap();
    assert_eq!(out.dims(), &[case.batch, case.heads, case.q_len, d]);
    let out = out.to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    Run { q, k, v, scale, out }
}

fn cases() -> Vec<Case> {
    let case = |batch, heads, kv_heads, q_len, kv_len, head_dim, mask| Case {
        batch,
        heads,
        kv_heads,
        q_len,
        kv_len,
        head_dim,
        mask,
    };
    vec![
        // The tiny checkpoint's vision encoder: two heads of 16 over a 1,024-patch tile, two tiles.
        case(2, 2, 2, 1024, 1024, 16, Mask::None),
        // SigLIP's real head size (72 = 4 x 18) and one that is no multiple of four.
        case(1, 3, 3, 100, 100, 72, Mask::None),
        case(1, 2, 2, 33, 33, 18, Mask::None),
        // The text model's prompt: causal, grouped-query (4 heads over 2), odd lengths.
        case(1, 4, 2, 97, 97, 16, Mask::Causal),
        // A cached prefix: 40 new queries after 60 cached keys.
        case(1, 4, 2, 40, 100, 16, Mask::Causal),
        // A batch whose second prompt is padded.
        case(2, 4, 4, 29, 29, 64, Mask::Padding(7)),
        // Decoding: one query.
        case(2, 4, 2, 1, 57, 16, Mask::None),
    ]
}

/// Checks every case against the definition; returns the engine's outputs, case by case.
fn check_every_case(path: &str, tolerance: f64) -> Vec<Vec<f32>> {
    let mut outputs = Vec::new();
    for (n, case) in cases().iter().enumerate() {
        let (error, out) = worst_error(case, 17 + n as u64);
        assert!(
            error < tolerance,
            "{path}, case {n} (batch {}, heads {}/{}, q {}, kv {}, d {}, {:?}): worst error {error:e}",
            case.batch,
            case.heads,
            case.kv_heads,
            case.q_len,
            case.kv_len,
            case.head_dim,
            case.mask
        );
        outputs.push(out);
    }
    outputs
}

/// One test for every path, one after the other: the switches are process-wide. The default
/// kernel stays within 2e-5 of the definition, and its portable sweeps (`f32::mul_add`, forced
/// with `cpu_attention::PORTABLE`) give exactly its bits where the CPU has AVX2 and FMA. The
/// matrix path (candle's blocked products and softmax) is measurably less exact (2.7e-4 on the
/// 1,024-patch case), which is one reason it is not the default.
#[test]
fn cpu_attention_matches_its_definition_on_every_path() {
    use std::sync::atomic::Ordering;
    let default = check_every_case("default kernel", 2e-5);
    cpu_attention::PORTABLE.store(true, Ordering::Relaxed);
    let portable = check_every_case("portable sweeps", 2e-5);
    cpu_attention::PORTABLE.store(false, Ordering::Relaxed);
    for (n, (fast, plain)) in default.iter().zip(&portable).enumerate() {
        let differ = fast.iter().zip(plain).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "case {n}: {differ} of {} outputs differ between the sweeps", fast.len());
    }
    cpu_attention::MATMUL.store(true, Ordering::Relaxed);
    check_every_case("matrix path", 1e-3);
    cpu_attention::MATMUL.store(false, Ordering::Relaxed);
}
