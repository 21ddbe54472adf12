//! The one source of randomness of a simulated run: a ChaCha8 generator seeded from
//! the run's seed, with the few draws the generators need.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

#[derive(Debug, Clone)]
pub struct Gen {
    inner: ChaCha8Rng,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..bound` (`bound > 0`), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0)");
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let x = self.u64();
            if x < zone {
                return x % bound;
            }
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        if hi - lo == u64::MAX {
            return self.u64();
        }
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `lo..=hi`, signed.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi);
        let span = (hi as i128 - lo as i128) as u64;
        (lo as i128 + self.range(0, span) as i128) as i64
    }

    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `p` (0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        debug_assert!((0.0..=1.0).contains(&p));
        // 53 random bits make a uniform double in [0, 1).
        ((self.u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index drawn with the given weights (at least one positive).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        assert!(total > 0, "all weights are zero");
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < w as u64 {
                return i;
            }
            x -= w as u64;
        }
        unreachable!("x < total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws() {
        let (mut a, mut b) = (Gen::new(7), Gen::new(7));
        for _ in 0..100 {
            assert_eq!(a.u64(), b.u64());
        }
        assert_ne!(Gen::new(7).u64(), Gen::new(8).u64());
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut g = Gen::new(1);
        for _ in 0..1000 {
            let x = g.range(3, 5);
            assert!((3..=5).contains(&x));
            let y = g.range_i64(-2, 2);
            assert!((-2..=2).contains(&y));
            assert_eq!(g.weighted(&[0, 5, 0]), 1);
        }
        assert_eq!(g.range(9, 9), 9);
        let draws: Vec<bool> = (0..1000).map(|_| g.chance(0.5)).collect();
        let heads = draws.iter().filter(|&&h| h).count();
        assert!(
            (400..600).contains(&heads),
            "{heads} heads in 1000 fair draws"
        );
    }
}
