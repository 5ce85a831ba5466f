//! The one seeded generator: xoshiro256++ with uniform, bounded-integer and standard-normal
//! draws (Box–Muller). No heap, no std; used by model initialization, the flip-flop task,
//! training's shuffles and the finder's sampling.

use crate::scalar::math;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A seeded generator; the same seed gives the same stream on every platform.
pub struct Gaussian {
    rng: Xoshiro256PlusPlus,
    spare: Option<f64>,
}

const SCALE: f64 = 1.0 / (1u64 << 53) as f64;

impl Gaussian {
    /// Seeds the generator (`seed_from_u64`).
    pub fn new(seed: u64) -> Self {
        Gaussian {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            spare: None,
        }
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * SCALE
    }

    /// Uniform integer in `0..n` (n ≥ 1), without modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.rng.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    /// A standard normal draw.
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        // u1 in (0, 1): never 0, so the logarithm is finite.
        let u1 = ((self.rng.next_u64() >> 11) as f64 + 0.5) * SCALE;
        let u2 = self.uniform();
        let r = math::sqrt(-2.0 * math::ln(u1));
        let t = 2.0 * core::f64::consts::PI * u2;
        self.spare = Some(r * math::sin(t));
        r * math::cos(t)
    }
}
