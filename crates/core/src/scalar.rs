//! The floating-point element type and the one math backend.
//!
//! Every module does arithmetic through [`Real`]; this file is the only place that decides
//! where `tanh`, `exp` and `sqrt` come from, so nothing else needs a `cfg`.
//! The backend is `libm` (pure Rust, no_std, ~1 ulp), except `f32` tanh, which is a rational
//! approximation (max abs error 4.2e-7, 4–5× faster; see `tanh32`). With the
//! `micromath` feature, `f32` uses micromath's approximations instead: smaller and FPU-light,
//! but `exp` is only ~2e-3 relative accurate (tanh and sigmoid inherit that error), which is
//! enough to run a trained network on a microcontroller and not enough for training or for
//! deciding stability near |λ| = 1. `f64` always uses libm.

use core::fmt::{Debug, Display};
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real scalar: `f32` or `f64`.
pub trait Real:
    Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
    + crate::linalg::gemm::GemmScalar
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Short name of the type (`"f32"` or `"f64"`), used in checkpoints and messages.
    const NAME: &'static str;

    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;

    /// Logistic sigmoid `1 / (1 + e^{-x})`, evaluated without overflow for any sign of `x`.
    #[inline]
    fn sigmoid(self) -> Self {
        if self >= Self::ZERO {
            Self::ONE / (Self::ONE + (-self).exp())
        } else {
            let e = self.exp();
            e / (Self::ONE + e)
        }
    }
    /// The larger of two values (NaN-propagation is not guaranteed).
    #[inline]
    fn max(self, other: Self) -> Self {
        if self >= other { self } else { other }
    }
    /// The smaller of two values.
    #[inline]
    fn min(self, other: Self) -> Self {
        if self <= other { self } else { other }
    }
}

/// Index of the first value of `v` that single precision cannot hold (`|x| > f32::MAX`:
/// finite in f64 but an infinity as f32), if any. NaN and infinities are not reported here.
pub fn first_beyond_f32(v: &[f64]) -> Option<usize> {
    v.iter()
        .position(|x| x.abs() > f32::MAX as f64 && x.is_finite())
}

/// Double-precision functions for the kernel's f64 work (the eigen solver, statistics,
/// random numbers), from the one math backend.
pub mod math {
    /// `|x|`.
    #[inline]
    pub fn abs(x: f64) -> f64 {
        x.abs()
    }
    /// `√x` (correctly rounded).
    #[inline]
    pub fn sqrt(x: f64) -> f64 {
        libm::sqrt(x)
    }
    /// `√(x² + y²)` without undue overflow or underflow.
    #[inline]
    pub fn hypot(x: f64, y: f64) -> f64 {
        libm::hypot(x, y)
    }
    /// Natural logarithm.
    #[inline]
    pub fn ln(x: f64) -> f64 {
        libm::log(x)
    }
    /// Sine.
    #[inline]
    pub fn sin(x: f64) -> f64 {
        libm::sin(x)
    }
    /// Cosine.
    #[inline]
    pub fn cos(x: f64) -> f64 {
        libm::cos(x)
    }
}

/// The math backend: the only place that names libm or micromath.
mod backend {
    #[inline]
    pub fn tanh64(x: f64) -> f64 {
        libm::tanh(x)
    }
    #[inline]
    pub fn exp64(x: f64) -> f64 {
        libm::exp(x)
    }
    /// Correctly rounded either way; std's lowers to the instruction the vectorizer can
    /// widen (libm's is an opaque `asm!` block), so the Adam loop vectorizes.
    #[inline]
    pub fn sqrt64(x: f64) -> f64 {
        #[cfg(feature = "std")]
        {
            x.sqrt()
        }
        #[cfg(not(feature = "std"))]
        {
            libm::sqrt(x)
        }
    }

    #[cfg(not(feature = "micromath"))]
    mod f32_backend {
        /// tanh for f32 as a [13/6] rational function of x (the coefficients Eigen uses),
        /// clamped where it reaches ±1 in f32. Max abs error 4.2e-7 (about 3.5 ulp next to
        /// ±1, well under 1e-6 relative anywhere), 4–5× faster than `libm::tanhf`, branch-free
        /// in the hot range so loops over it vectorize. Tested against f64 tanh below.
        #[inline]
        #[allow(clippy::excessive_precision)] // the published coefficients, as published
        pub fn tanh32(x: f32) -> f32 {
            const CLAMP: f32 = 7.905_311;
            if x.abs() < 4e-4 {
                return x;
            }
            let x = x.clamp(-CLAMP, CLAMP);
            let x2 = x * x;
            let mut p = -2.760_768_5e-16f32;
            p = p * x2 + 2.000_187_9e-13;
            p = p * x2 - 8.604_671_5e-11;
            p = p * x2 + 5.122_297e-8;
            p = p * x2 + 1.485_722_4e-5;
            p = p * x2 + 6.372_619_3e-4;
            p = p * x2 + 4.893_524_6e-3;
            let mut q = 1.198_258_4e-6f32;
            q = q * x2 + 1.185_347_1e-4;
            q = q * x2 + 2.268_434_6e-3;
            q = q * x2 + 4.893_525e-3;
            x * p / q
        }
        #[inline]
        pub fn exp32(x: f32) -> f32 {
            libm::expf(x)
        }
        /// Correctly rounded either way (see `sqrt64`).
        #[inline]
        pub fn sqrt32(x: f32) -> f32 {
            #[cfg(feature = "std")]
            {
                x.sqrt()
            }
            #[cfg(not(feature = "std"))]
            {
                libm::sqrtf(x)
            }
        }
    }

    #[cfg(feature = "micromath")]
    mod f32_backend {
        use micromath::F32Ext;
        #[inline]
        pub fn exp32(x: f32) -> f32 {
            x.exp()
        }
        /// micromath has no tanh: `tanh x = 1 - 2 / (e^{2x} + 1)`, saturated for large |x|.
        #[inline]
        pub fn tanh32(x: f32) -> f32 {
            if x > 9.0 {
                1.0
            } else if x < -9.0 {
                -1.0
            } else {
                1.0 - 2.0 / ((2.0 * x).exp() + 1.0)
            }
        }
        #[inline]
        pub fn sqrt32(x: f32) -> f32 {
            x.sqrt()
        }
    }

    pub use f32_backend::{exp32, sqrt32, tanh32};
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: Self = f64::EPSILON;
    const NAME: &'static str = "f64";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn tanh(self) -> Self {
        backend::tanh64(self)
    }
    #[inline]
    fn exp(self) -> Self {
        backend::exp64(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        backend::sqrt64(self)
    }
    #[inline]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: Self = f32::EPSILON;
    const NAME: &'static str = "f32";
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn tanh(self) -> Self {
        backend::tanh32(self)
    }
    #[inline]
    fn exp(self) -> Self {
        backend::exp32(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        backend::sqrt32(self)
    }
    #[inline]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Real;

    #[test]
    fn f32_tanh_is_within_its_documented_error() {
        let mut worst = 0.0f64;
        let mut x = -12.0f64;
        while x < 12.0 {
            let xf = x as f32;
            let err = (Real::tanh(xf) as f64 - (xf as f64).tanh()).abs();
            worst = worst.max(err);
            x += 3.7e-4;
        }
        let bound = if cfg!(feature = "micromath") {
            5e-3
        } else {
            4.5e-7
        };
        assert!(worst < bound, "worst abs error {worst:e}");
        assert_eq!(Real::tanh(0.0f32), 0.0);
        assert_eq!(Real::tanh(20.0f32), 1.0);
        assert_eq!(Real::tanh(-20.0f32), -1.0);
        assert!((Real::tanh(1e-5f32) - 1e-5).abs() < 1e-12);
    }

    #[test]
    fn sigmoid_does_not_overflow() {
        assert_eq!(Real::sigmoid(1000.0f64), 1.0);
        assert_eq!(Real::sigmoid(-1000.0f64), 0.0);
        assert!((Real::sigmoid(0.0f32) - 0.5).abs() < 1e-7);
    }
}
