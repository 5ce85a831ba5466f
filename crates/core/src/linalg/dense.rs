//! Row-vector kernels: `y = x A`, `y = A xᵀ`, rank-1 updates. `A` is row-major with a leading
//! dimension `ld` (the distance between rows), so a column block of a wider matrix can be used
//! in place.
//!
//! Flop counts: every kernel on an `m × n` block costs `2·m·n` flops. The inner loops run over
//! contiguous memory (a row of `A`), so they vectorize.

use crate::scalar::Real;

/// `y[j] (+)= Σ_i x[i] · A[i, j]` for an `m × n` block of `A` starting at `a[0]` with row
/// stride `ld`. Overwrites `y` unless `accumulate`.
#[inline]
pub fn vec_mat<T: Real>(x: &[T], a: &[T], ld: usize, n: usize, y: &mut [T], accumulate: bool) {
    let y = &mut y[..n];
    if !accumulate {
        y.fill(T::ZERO);
    }
    for (i, &xi) in x.iter().enumerate() {
        let row = &a[i * ld..i * ld + n];
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
        let s = dot(&a[i * ld..i * ld + n], x);
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
        let row = &mut a[i * ld..i * ld + n];
        for (aij, &yj) in row.iter_mut().zip(y) {
            *aij += xi * yj;
        }
    }
}

/// Dot product, with four partial sums so the loop pipelines.
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut s = [T::ZERO; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let k = 4 * c;
        s[0] += a[k] * b[k];
        s[1] += a[k + 1] * b[k + 1];
        s[2] += a[k + 2] * b[k + 2];
        s[3] += a[k + 3] * b[k + 3];
    }
    for k in 4 * chunks..n {
        s[0] += a[k] * b[k];
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
