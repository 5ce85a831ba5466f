//! Row-vector kernels: `y = x A`, `y = A xᵀ`, rank-1 updates. `A` is row-major with a leading
//! dimension `ld` (the distance between rows), so a column block of a wider matrix can be used
//! in place.
//!
//! Flop counts: every kernel on an `m × n` block costs `2·m·n` flops. The inner loops run over
//! contiguous memory (a row of `A`), so they vectorize.
//!
//! None of them panics: a slice shorter than the sizes say (a broken contract) makes the
//! kernel stop where it runs out, leaving the output partly updated, and panics in debug
//! builds only (`debug_assert!`).

use crate::scalar::Real;

/// `y[j] (+)= Σ_i x[i] · A[i, j]` for an `m × n` block of `A` starting at `a[0]` with row
/// stride `ld`. Overwrites `y` unless `accumulate`.
#[inline]
pub fn vec_mat<T: Real>(x: &[T], a: &[T], ld: usize, n: usize, y: &mut [T], accumulate: bool) {
    let Some(y) = y.get_mut(..n) else {
        debug_assert!(false, "vec_mat: y is shorter than n");
        return;
    };
    if !accumulate {
        y.fill(T::ZERO);
    }
    for (i, &xi) in x.iter().enumerate() {
        let Some(row) = a.get(i * ld..i * ld + n) else {
            debug_assert!(false, "vec_mat: a has fewer than x.len() rows");
            return;
        };
        for (yj, &aij) in y.iter_mut().zip(row) {
            *yj += xi * aij;
        }
    }
}

/// `y[i] (+)= Σ_j A[i, j] · x[j]` (the product with `Aᵀ` in row-vector convention) for the
/// `m × n` block with row stride `ld`, where `m = y.len()` and `n = x.len()`.
#[inline]
pub fn mat_vec<T: Real>(a: &[T], ld: usize, x: &[T], y: &mut [T], accumulate: bool) {
    let n = x.len();
    for (i, yi) in y.iter_mut().enumerate() {
        let Some(row) = a.get(i * ld..i * ld + n) else {
            debug_assert!(false, "mat_vec: a has fewer than y.len() rows");
            return;
        };
        let s = dot(row, x);
        if accumulate {
            *yi += s;
        } else {
            *yi = s;
        }
    }
}

/// `A[i, j] += x[i] · y[j]` for the `x.len() × y.len()` block with row stride `ld`.
#[inline]
pub fn add_outer<T: Real>(x: &[T], y: &[T], a: &mut [T], ld: usize) {
    let n = y.len();
    for (i, &xi) in x.iter().enumerate() {
        let Some(row) = a.get_mut(i * ld..i * ld + n) else {
            debug_assert!(false, "add_outer: a has fewer than x.len() rows");
            return;
        };
        for (aij, &yj) in row.iter_mut().zip(y) {
            *aij += xi * yj;
        }
    }
}

/// Dot product over the common length, with four partial sums so the loop pipelines.
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [T::ZERO; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        s[0] += x[0] * y[0];
        s[1] += x[1] * y[1];
        s[2] += x[2] * y[2];
        s[3] += x[3] * y[3];
    }
    for (&x, &y) in ra.iter().zip(rb) {
        s[0] += x * y;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `y += alpha · x`.
#[inline]
pub fn axpy<T: Real>(alpha: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// Squared 2-norm.
#[inline]
pub fn norm2_sq<T: Real>(x: &[T]) -> T {
    dot(x, x)
}

/// True when every element is finite.
#[inline]
pub fn all_finite<T: Real>(x: &[T]) -> bool {
    x.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_mat_and_mat_vec_agree_with_definitions() {
        // A is 2×3 inside a row stride of 4.
        let a = [1.0, 2.0, 3.0, 99.0, 4.0, 5.0, 6.0, 99.0];
        let mut y = [0.0; 3];
        vec_mat(&[1.0, -1.0], &a, 4, 3, &mut y, false);
        assert_eq!(y, [-3.0, -3.0, -3.0]);
        let mut z = [0.0; 2];
        mat_vec(&a, 4, &[1.0, 0.0, 2.0], &mut z, false);
        assert_eq!(z, [7.0, 16.0]);
        let mut b = [0.0; 8];
        add_outer(&[1.0, 2.0], &[1.0, 0.0, -1.0], &mut b, 4);
        assert_eq!(b, [1.0, 0.0, -1.0, 0.0, 2.0, 0.0, -2.0, 0.0]);
        assert_eq!(dot(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0; 5]), 15.0);
    }
}
