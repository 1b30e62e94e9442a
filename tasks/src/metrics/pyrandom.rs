//! CPython's `random` module, bit for bit, as far as reference metrics use it.
//!
//! MMMU's parsers fall back to `random.choice(all_choices)` when no letter can be found, after the
//! module was seeded with `random.seed(42)` (official) or `random.seed(0)` (the lmms-eval CLI).
//! Reproducing a reference run's fallbacks needs the same generator: a 624-word Mersenne Twister
//! (MT19937) seeded through `init_by_array` with the 32-bit words of `abs(seed)`, where
//! `choice(seq)` is `seq[_randbelow(len(seq))]` and `_randbelow(n)` draws `getrandbits(k)`
//! (`k = n.bit_length()`, the top `k` bits of one 32-bit output) until the draw is below `n`.

/// State size of MT19937.
const N: usize = 624;
/// The twist offset.
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// A `random.Random` instance.
#[derive(Clone)]
pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom").field("index", &self.index).finish_non_exhaustive()
    }
}

impl PyRandom {
    /// `random.Random(seed)` for an integer seed (CPython uses `abs(seed)`).
    pub fn new(seed: i64) -> Self {
        let magnitude = seed.unsigned_abs();
        // The 32-bit words of abs(seed), least significant first; zero still gives one word.
        let mut key = vec![magnitude as u32];
        if magnitude >> 32 != 0 {
            key.push((magnitude >> 32) as u32);
        }
        let mut rng = PyRandom { mt: [0; N], index: N };
        rng.init_by_array(&key);
        rng
    }

    fn init_genrand(&mut self, seed: u32) {
        self.mt[0] = seed;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
        self.index = N;
    }

    /// `genrand_uint32`: the next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        for kk in 0..N {
            let y = (self.mt[kk] & UPPER_MASK) | (self.mt[(kk + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// `getrandbits(k)` for `1 <= k <= 32`.
    pub fn getrandbits(&mut self, k: u32) -> u32 {
        assert!((1..=32).contains(&k), "getrandbits({k}) is only implemented for 1..=32 bits");
        self.next_u32() >> (32 - k)
    }

    /// `_randbelow(n)`: uniform in `0..n`, by rejection on `n.bit_length()` bits.
    pub fn randbelow(&mut self, n: u32) -> u32 {
        assert!(n > 0, "_randbelow needs n > 0");
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `choice(seq)`: one element, drawn as CPython draws it.
    pub fn choice<'a, T>(&mut self, seq: &'a [T]) -> &'a T {
        assert!(!seq.is_empty(), "choice from an empty sequence");
        let len = u32::try_from(seq.len()).expect("sequence shorter than 2^32");
        &seq[self.randbelow(len) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by CPython 3.11 (`random.seed(s); random.getrandbits(32)`...).
    #[test]
    fn matches_cpython_outputs() {
        let mut rng = PyRandom::new(42);
        assert_eq!([rng.next_u32(), rng.next_u32(), rng.next_u32()], [2746317213, 478163327, 107420369]);
        let mut rng = PyRandom::new(0);
        assert_eq!([rng.next_u32(), rng.next_u32(), rng.next_u32()], [3626764237, 1654615998, 3255389356]);
        let mut rng = PyRandom::new((1 << 40) + 5);
        assert_eq!([rng.next_u32(), rng.next_u32()], [2166296868, 2220160828]);
        let mut rng = PyRandom::new(-7);
        assert_eq!([rng.next_u32(), rng.next_u32()], [1390851128, 4071050724]);
        let mut rng = PyRandom::new(42);
        let bits: Vec<u32> = [1, 5, 17, 31, 32].iter().map(|&k| rng.getrandbits(k)).collect();
        assert_eq!(bits, [1, 3, 3278, 1592467581, 1181241943]);
    }

    #[test]
    fn choice_matches_cpython() {
        let letters: Vec<char> = "ABCDEFGHI".chars().collect();
        let mut rng = PyRandom::new(42);
        let drawn: String = (0..20).map(|_| *rng.choice(&letters[..4])).collect();
        assert_eq!(drawn, "AACBBBAADAAABBABDBDC");
        let mut rng = PyRandom::new(42);
        let drawn: String = [1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 4, 5].iter().map(|&n| *rng.choice(&letters[..n])).collect();
        assert_eq!(drawn, "AACCBBBBIADA");
    }
}
