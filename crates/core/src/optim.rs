//! Optimization building blocks on caller-owned slices: Adam, the plateau learning-rate
//! schedule and gradient-norm clipping. Used by the fixed-point finder and by training.

use crate::scalar::Real;
use crate::scalar::math;

/// Adam hyper-parameters (Kingma & Ba), with bias correction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// First-moment decay, 0.9.
    pub beta1: f64,
    /// Second-moment decay, 0.999.
    pub beta2: f64,
    /// Denominator guard, 1e-8.
    pub eps: f64,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

impl Adam {
    /// One Adam update of `x` with gradient `g` at step `t` (1-based) and rate `lr`; `m` and
    /// `v` are the moment buffers (same length as `x`, zero before the first step).
    /// Cost: about 12 flops and one square root per element.
    #[inline]
    pub fn update<T: Real>(&self, t: u64, lr: f64, x: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        self.update_scaled(t, lr, x, g, T::ONE, m, v);
    }

    /// [`Adam::update`] with the gradient `scale · g`, in the same pass (no separate scaling
    /// loop over the gradient).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn update_scaled<T: Real>(
        &self,
        t: u64,
        lr: f64,
        x: &mut [T],
        g: &[T],
        scale: T,
        m: &mut [T],
        v: &mut [T],
    ) {
        let b1 = T::from_f64(self.beta1);
        let b2 = T::from_f64(self.beta2);
        let c1 = 1.0 - powi(self.beta1, t);
        let c2 = 1.0 - powi(self.beta2, t);
        // lr_t = lr · √(1 − β2^t) / (1 − β1^t); eps is scaled to match the textbook form
        // x −= lr · m̂ / (√v̂ + ε).
        let step = T::from_f64(lr / c1);
        let inv_sqrt_c2 = T::from_f64(1.0 / math::sqrt(c2));
        let eps = T::from_f64(self.eps);
        let one = T::ONE;
        // Zipped slices: no bounds checks, so the loop vectorizes.
        for (((xi, &g), mi), vi) in x.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let gi = g * scale;
            let m1 = b1 * *mi + (one - b1) * gi;
            let v1 = b2 * *vi + (one - b2) * gi * gi;
            *mi = m1;
            *vi = v1;
            *xi -= step * m1 / (v1.sqrt() * inv_sqrt_c2 + eps);
        }
    }
}

impl Adam {
    /// The moment half of [`Adam::update_scaled`]: `m`, `v` from the gradient `scale · g`.
    /// With [`Adam::step_from_moments`] after it, the same arithmetic as `update_scaled`, in
    /// two passes (the finder updates the moments as soon as a gradient is computed, and
    /// steps at the next iteration, once the schedule has chosen the rate).
    #[inline(always)]
    pub fn moments<T: Real>(&self, g: &[T], scale: T, m: &mut [T], v: &mut [T]) {
        let b1 = T::from_f64(self.beta1);
        let b2 = T::from_f64(self.beta2);
        let one = T::ONE;
        for ((&g, mi), vi) in g.iter().zip(m.iter_mut()).zip(v.iter_mut()) {
            let gi = g * scale;
            *mi = b1 * *mi + (one - b1) * gi;
            *vi = b2 * *vi + (one - b2) * gi * gi;
        }
    }

    /// The step half of [`Adam::update_scaled`]: `x −= lr · m̂ / (√v̂ + ε)` at step `t`
    /// (1-based) from moments that [`Adam::moments`] already updated.
    #[inline(always)]
    pub fn step_from_moments<T: Real>(&self, t: u64, lr: f64, x: &mut [T], m: &[T], v: &[T]) {
        let c1 = 1.0 - powi(self.beta1, t);
        let c2 = 1.0 - powi(self.beta2, t);
        let step = T::from_f64(lr / c1);
        let inv_sqrt_c2 = T::from_f64(1.0 / math::sqrt(c2));
        let eps = T::from_f64(self.eps);
        for ((xi, &m1), &v1) in x.iter_mut().zip(m).zip(v) {
            *xi -= step * m1 / (v1.sqrt() * inv_sqrt_c2 + eps);
        }
    }
}

/// `b^e` for a non-negative integer exponent, by squaring.
fn powi(mut b: f64, mut e: u64) -> f64 {
    let mut r = 1.0;
    while e > 0 {
        if e & 1 == 1 {
            r *= b;
        }
        b *= b;
        e >>= 1;
    }
    r
}

/// Reduce-on-plateau learning-rate schedule: when the monitored value has not improved for
/// `patience` consecutive updates, multiply the rate by `factor`, then ignore `cooldown`
/// updates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    /// Current learning rate.
    pub lr: f64,
    /// Multiplier applied on a plateau, in (0, 1].
    pub factor: f64,
    /// Updates without improvement before the rate drops.
    pub patience: u32,
    /// Updates to wait after a drop.
    pub cooldown: u32,
    /// Smallest rate the schedule goes down to.
    pub min_lr: f64,
    best: f64,
    bad: u32,
    cooling: u32,
}

impl Plateau {
    /// A schedule starting at `lr`.
    pub fn new(lr: f64, factor: f64, patience: u32, cooldown: u32) -> Self {
        Plateau {
            lr,
            factor,
            patience,
            cooldown,
            min_lr: 0.0,
            best: f64::INFINITY,
            bad: 0,
            cooling: 0,
        }
    }

    /// Records the monitored value (lower is better) and returns the rate to use next.
    pub fn observe(&mut self, value: f64) -> f64 {
        if value < self.best {
            self.best = value;
            self.bad = 0;
        } else {
            self.bad += 1;
        }
        if self.cooling > 0 {
            self.cooling -= 1;
            self.bad = 0;
        } else if self.bad > self.patience {
            self.lr = (self.lr * self.factor).max(self.min_lr);
            self.cooling = self.cooldown;
            self.bad = 0;
        }
        self.lr
    }
}

/// Scales `g` so that its 2-norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm<T: Real>(g: &mut [T], max_norm: f64) -> f64 {
    let norm = math::sqrt(g.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>());
    if norm > max_norm && norm > 0.0 {
        let s = T::from_f64(max_norm / norm);
        for v in g.iter_mut() {
            *v *= s;
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_by_lr_against_the_gradient_sign() {
        let mut x = [1.0f64, -1.0];
        let (mut m, mut v) = ([0.0; 2], [0.0; 2]);
        Adam::default().update(1, 0.1, &mut x, &[2.0, -0.5], &mut m, &mut v);
        assert!(
            (x[0] - 0.9).abs() < 1e-7 && (x[1] + 0.9).abs() < 1e-7,
            "{x:?}"
        );
    }

    #[test]
    fn adam_minimizes_a_quadratic() {
        let mut x = [3.0f64];
        let (mut m, mut v) = ([0.0], [0.0]);
        for t in 1..=2000 {
            let g = [2.0 * (x[0] - 1.0)];
            Adam::default().update(t, 0.05, &mut x, &g, &mut m, &mut v);
        }
        assert!((x[0] - 1.0).abs() < 1e-3, "{x:?}");
    }

    #[test]
    fn plateau_drops_after_patience_and_respects_cooldown() {
        let mut p = Plateau::new(1.0, 0.5, 2, 1);
        assert_eq!(p.observe(1.0), 1.0); // improvement
        assert_eq!(p.observe(1.0), 1.0); // bad 1
        assert_eq!(p.observe(1.0), 1.0); // bad 2
        assert_eq!(p.observe(1.0), 0.5); // bad 3 > patience: drop, cool 1
        assert_eq!(p.observe(1.0), 0.5); // cooling
        assert_eq!(p.observe(1.0), 0.5); // bad 1
        assert_eq!(p.observe(0.1), 0.5); // improvement resets
    }

    #[test]
    fn clipping_bounds_the_norm() {
        let mut g = [3.0f32, 4.0];
        assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
        let mut h = [0.3f64, 0.4];
        clip_grad_norm(&mut h, 1.0);
        assert_eq!(h, [0.3, 0.4]);
    }
}
