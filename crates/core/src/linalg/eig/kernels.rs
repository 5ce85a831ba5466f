//! Small shared kernels: an overflow-safe 2-norm, Householder reflector generation (dlarfg)
//! and robust complex division (dladiv).

use crate::scalar::math;

/// Relative machine precision (LAPACK's `dlamch('P')`, one ulp at 1.0).
pub(super) const ULP: f64 = f64::EPSILON;
/// Smallest positive normal number (LAPACK's `dlamch('S')`).
pub(super) const SAFMIN: f64 = f64::MIN_POSITIVE;

/// An index that the algorithm's invariants keep in range was not (a bug): panics in debug
/// builds; release builds go on with the harmless value the accessor documents.
///
/// The solver's indices (deflation points, bulge positions, block boundaries) are data
/// dependent, so the compiler cannot prove them in range and every `a[i]` would keep a panic
/// path. [`at`] and [`set`] replace those accesses; slices and rows are taken with `get` and
/// checked splits, also ending here when out of range.
#[inline(always)]
#[track_caller]
pub(super) fn out_of_range() {
    debug_assert!(false, "eig: index out of range (broken invariant)");
}

/// `m[i]`, or `0.0` (through [`out_of_range`]) if `i` is outside `m`.
#[inline(always)]
#[track_caller]
pub(super) fn at(m: &[f64], i: usize) -> f64 {
    match m.get(i) {
        Some(&v) => v,
        None => {
            out_of_range();
            0.0
        }
    }
}

/// `m[i] = v`, or nothing (through [`out_of_range`]) if `i` is outside `m`.
#[inline(always)]
#[track_caller]
pub(super) fn set(m: &mut [f64], i: usize, v: f64) {
    match m.get_mut(i) {
        Some(x) => *x = v,
        None => out_of_range(),
    }
}

/// `m.swap(i, j)`, or nothing (through [`out_of_range`]) if `i` or `j` is outside `m`.
#[inline(always)]
#[track_caller]
pub(super) fn swap(m: &mut [f64], i: usize, j: usize) {
    if i < m.len() && j < m.len() {
        m.swap(i, j);
    } else {
        out_of_range();
    }
}

/// `|x|` with the sign of `y` (bit operations; always inlined).
#[inline(always)]
pub(super) fn copysign(x: f64, y: f64) -> f64 {
    const SIGN: u64 = 1 << 63;
    f64::from_bits((x.to_bits() & !SIGN) | (y.to_bits() & SIGN))
}

/// `√(x² + y²)`: one square root when the squares are safely representable, else libm's
/// careful `hypot`.
#[inline]
pub(super) fn hypot(x: f64, y: f64) -> f64 {
    let ss = x * x + y * y;
    if ss > SAFE_LO && ss < SAFE_HI {
        math::sqrt(ss)
    } else {
        math::hypot(x, y)
    }
}

/// `√|x| · √|y|` (= `√|xy|`) with one square root when the product is safely representable.
#[inline]
pub(super) fn sqrt_abs_prod(x: f64, y: f64) -> f64 {
    let p = math::abs(x * y);
    if p > SAFE_LO && p < SAFE_HI {
        math::sqrt(p)
    } else {
        math::sqrt(math::abs(x)) * math::sqrt(math::abs(y))
    }
}

/// Euclidean norm of `x`, without spurious overflow or underflow.
///
/// The fast path sums squares directly; only if that sum is outside the safe range is the
/// vector rescaled by its largest entry.
#[inline]
pub(super) fn nrm2(x: &[f64]) -> f64 {
    let mut ss = 0.0;
    for &v in x {
        ss += v * v;
    }
    // 2^-900 .. 2^900 keeps every square well inside the normal range.
    const LO: f64 = 1.0e-270;
    const HI: f64 = 1.0e270;
    if ss > LO && ss < HI {
        return math::sqrt(ss);
    }
    if ss == 0.0 && x.iter().all(|&v| v == 0.0) {
        return 0.0;
    }
    let mut amax = 0.0f64;
    for &v in x {
        let a = math::abs(v);
        if a > amax {
            amax = a;
        }
    }
    if amax == 0.0 || !amax.is_finite() {
        return amax;
    }
    let inv = 1.0 / amax;
    let mut ss = 0.0;
    for &v in x {
        let t = v * inv;
        ss += t * t;
    }
    amax * math::sqrt(ss)
}

/// Generates an elementary reflector `H = I − τ [1; v][1; v]ᵀ` with
/// `H [α; x] = [β; 0]` (LAPACK's dlarfg). On return `x` holds `v`; returns `(β, τ)`.
/// `τ = 0` (and `β = α`) when `x` is already zero.
pub(super) fn larfg(alpha: f64, x: &mut [f64]) -> (f64, f64) {
    if x.is_empty() {
        return (alpha, 0.0);
    }
    // Fast path: one sum of squares and one square root when nothing can over/underflow.
    let mut xs = 0.0;
    for &v in x.iter() {
        xs += v * v;
    }
    if xs > SAFE_LO && xs < SAFE_HI && alpha * alpha < SAFE_HI {
        let beta = -copysign(math::sqrt(alpha * alpha + xs), alpha);
        let tau = (beta - alpha) / beta;
        let scal = 1.0 / (alpha - beta);
        for v in x.iter_mut() {
            *v *= scal;
        }
        return (beta, tau);
    }
    larfg_careful(alpha, x)
}

/// Below/above these a sum of squares may have lost accuracy to underflow/overflow.
const SAFE_LO: f64 = 1.0e-280;
const SAFE_HI: f64 = 1.0e280;

/// [`larfg`] for a reflector of order 2 or 3 held in `v` (`v[0] = α`, `v[1..nr] = x`):
/// on return `v[0] = β` and `v[1..nr]` is the essential part; returns `τ`.
#[inline(always)]
pub(super) fn larfg_small(v: &mut [f64; 3], nr: usize) -> f64 {
    let alpha = v[0];
    let xs = if nr == 3 {
        v[1] * v[1] + v[2] * v[2]
    } else {
        v[1] * v[1]
    };
    if xs > SAFE_LO && xs < SAFE_HI && alpha * alpha < SAFE_HI {
        let beta = -copysign(math::sqrt(alpha * alpha + xs), alpha);
        // One division for both τ = (β − α)/β and 1/(α − β): |α − β| ≥ |β|, so the
        // product β(α − β) stays within [1e-280, 2e280].
        let d = alpha - beta;
        let r = 1.0 / (beta * d);
        let tau = -(d * d) * r;
        let scal = beta * r;
        v[1] *= scal;
        v[2] *= scal;
        v[0] = beta;
        return tau;
    }
    let Some(x) = v.get_mut(1..nr) else {
        // nr is 2 or 3; otherwise no reflection (τ = 0) is the harmless answer.
        out_of_range();
        return 0.0;
    };
    let (beta, tau) = larfg_careful(alpha, x);
    v[0] = beta;
    tau
}

/// LAPACK's dlarfg with every safeguard (scaled norm, hypot, rescaling of tiny β).
fn larfg_careful(alpha: f64, x: &mut [f64]) -> (f64, f64) {
    let mut xnorm = nrm2(x);
    if xnorm == 0.0 {
        return (alpha, 0.0);
    }
    let mut alpha = alpha;
    let mut beta = -copysign(hypot(alpha, xnorm), alpha);
    let safmin = SAFMIN / (ULP * 0.5);
    let mut knt = 0u32;
    if math::abs(beta) < safmin {
        // β may be inaccurate: rescale x and recompute (at most 20 times, like LAPACK).
        let rsafmn = 1.0 / safmin;
        loop {
            knt += 1;
            for v in x.iter_mut() {
                *v *= rsafmn;
            }
            beta *= rsafmn;
            alpha *= rsafmn;
            if !(math::abs(beta) < safmin && knt < 20) {
                break;
            }
        }
        xnorm = nrm2(x);
        beta = -copysign(hypot(alpha, xnorm), alpha);
    }
    let tau = (beta - alpha) / beta;
    let scal = 1.0 / (alpha - beta);
    for v in x.iter_mut() {
        *v *= scal;
    }
    for _ in 0..knt {
        beta *= safmin;
    }
    (beta, tau)
}

/// Robust complex division `(a + ib) / (c + id)` (Smith's algorithm, as LAPACK's dladiv).
#[inline]
pub(super) fn ladiv(a: f64, b: f64, c: f64, d: f64) -> (f64, f64) {
    if math::abs(d) <= math::abs(c) {
        let e = d / c;
        let f = c + d * e;
        ((a + b * e) / f, (b - a * e) / f)
    } else {
        let e = c / d;
        let f = d + c * e;
        ((a * e + b) / f, (b * e - a) / f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nrm2_extremes() {
        assert_eq!(nrm2(&[3.0, 4.0]), 5.0);
        assert_eq!(nrm2(&[0.0, 0.0]), 0.0);
        let big = nrm2(&[3.0e300, 4.0e300]);
        assert!((big / 5.0e300 - 1.0).abs() < 1e-15);
        let small = nrm2(&[3.0e-300, 4.0e-300]);
        assert!((small / 5.0e-300 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn larfg_annihilates() {
        let alpha = 1.0;
        let mut x = [2.0, -2.0];
        let (beta, tau) = larfg(alpha, &mut x);
        // H [α; x0] = [β; 0]: apply H = I − τ w wᵀ with w = [1; v].
        let w = [1.0, x[0], x[1]];
        let y = [1.0, 2.0, -2.0];
        let s: f64 = w.iter().zip(&y).map(|(a, b)| a * b).sum();
        let hy: [f64; 3] = core::array::from_fn(|i| y[i] - tau * s * w[i]);
        assert!((hy[0] - beta).abs() < 1e-14);
        assert!(hy[1].abs() < 1e-14 && hy[2].abs() < 1e-14);
        assert!((beta.abs() - 3.0).abs() < 1e-14);
    }

    #[test]
    fn ladiv_matches() {
        let (re, im) = ladiv(1.0, 2.0, 3.0, 4.0);
        assert!((re - 0.44).abs() < 1e-15 && (im - 0.08).abs() < 1e-15);
        let (re, im) = ladiv(1.0, 2.0, 4.0, 3.0);
        assert!((re - 0.4).abs() < 1e-15 && (im - 0.2).abs() < 1e-15);
    }
}
