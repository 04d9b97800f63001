//! A seedable random number generator for weight initialisation and dropout masks.
//!
//! [`Rng`] wraps `rand_xoshiro`'s xoshiro128++ (32-bit words, cheap on Cortex-M) through the
//! `rand_core` traits, so the same seed gives the same stream on every target. Floats are
//! built from the top 24 bits of a `u32`, and normal samples use the Box-Muller transform with
//! born-core's f32 math, so no `f64` arithmetic is involved.

use crate::kernels::math;
use rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro128PlusPlus;

/// Seedable, reproducible generator. Cloning it forks an identical stream.
#[derive(Clone, Debug)]
pub struct Rng {
    inner: Xoshiro128PlusPlus,
    spare_normal: Option<f32>,
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn seed(seed: u64) -> Rng {
        Rng {
            inner: Xoshiro128PlusPlus::seed_from_u64(seed),
            spare_normal: None,
        }
    }

    /// The next raw 32-bit value.
    pub fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }

    /// Uniform in `[0, 1)`, in steps of 2^-24.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.next_f32()
    }

    /// Uniform integer in `0..n` (`n > 0`; returns 0 for `n == 0`), without modulo bias.
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift with rejection of the biased low zone.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u64::from(self.next_u32()) * u64::from(n);
            if (m as u32) >= threshold {
                return (m >> 32) as u32;
            }
        }
    }

    /// A standard normal sample (mean 0, standard deviation 1), Box-Muller; samples come in
    /// pairs and the second is kept for the next call.
    pub fn normal(&mut self) -> f32 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.next_f32();
        let u2 = self.next_f32();
        let r = math::sqrt(-2.0 * math::ln(u1));
        let theta = 2.0 * core::f32::consts::PI * u2;
        self.spare_normal = Some(r * math::sin(theta));
        r * math::cos(theta)
    }

    /// Fills `out` with uniform samples in `[low, high)`.
    pub fn fill_uniform(&mut self, out: &mut [f32], low: f32, high: f32) {
        for v in out {
            *v = self.uniform(low, high);
        }
    }

    /// Fills `out` with normal samples of the given mean and standard deviation.
    pub fn fill_normal(&mut self, out: &mut [f32], mean: f32, std: f32) {
        for v in out {
            *v = mean + std * self.normal();
        }
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below((i + 1).min(u32::MAX as usize) as u32) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::seed(42);
        let mut b = Rng::seed(42);
        for _ in 0..100 {
            assert_eq!(a.next_u32(), b.next_u32());
        }
        assert_ne!(Rng::seed(1).next_u32(), Rng::seed(2).next_u32());
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut rng = Rng::seed(7);
        let n = 200_000;
        let (mut s, mut s2, mut lo, mut hi) = (0.0f64, 0.0f64, f32::MAX, f32::MIN);
        for _ in 0..n {
            let u = rng.uniform(-2.0, 3.0);
            lo = lo.min(u);
            hi = hi.max(u);
            s += f64::from(u);
        }
        assert!(lo >= -2.0 && hi < 3.0);
        // Mean of U(-2, 3) is 0.5; its standard error here is about 0.003.
        assert!((s / n as f64 - 0.5).abs() < 0.02);
        s = 0.0;
        for _ in 0..n {
            let z = f64::from(rng.normal());
            s += z;
            s2 += z * z;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn below_is_in_range_and_shuffle_permutes() {
        let mut rng = Rng::seed(3);
        for n in [1u32, 2, 3, 10, 1000] {
            for _ in 0..100 {
                assert!(rng.below(n) < n);
            }
        }
        let mut v = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        rng.shuffle(&mut v);
        let mut sorted = v;
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_ne!(v, sorted);
    }
}
