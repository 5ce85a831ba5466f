//! Householder reduction to upper Hessenberg form (LAPACK's dgehd2) and the formation of the
//! orthogonal factor (dorghr), on row-major storage.
//!
//! `Qᵀ A Q = H` with `Q = H(ilo) H(ilo+1) ⋯ H(ihi−1)`, `H(i) = I − τᵢ vᵢ vᵢᵀ`, `vᵢ` zero
//! outside rows `i+1..=ihi` with `vᵢ[i+1] = 1`. The essential parts of the `vᵢ` are kept
//! below the subdiagonal of `a` (as LAPACK does) until [`form_q`] has used them; [`clear_below`]
//! then zeroes that area. Cost: `10/3 n³` flops for the reduction, `4/3 n³` for `Q`.

use super::kernels::{at, larfg, out_of_range, set};
use crate::linalg::dense::dot;

/// Reduces rows/columns `ilo..=ihi` of the row-major `n × n` matrix `a` to Hessenberg form.
///
/// `tau` (length ≥ n) receives the reflector coefficients; `v` and `w` are scratch vectors of
/// length ≥ n.
#[inline(always)]
pub(super) fn reduce(
    n: usize,
    ilo: usize,
    ihi: usize,
    a: &mut [f64],
    tau: &mut [f64],
    v: &mut [f64],
    w: &mut [f64],
) {
    // Rows of `a` are `a.chunks_exact(n)`; with `ihi < n` (checked once here) every column
    // index below is in range of a row. Out-of-range arguments are a bug: nothing is done.
    if ihi >= n || a.len() < n * n || tau.len() < n || v.len() < n || w.len() < n {
        return out_of_range();
    }
    for i in ilo..ihi {
        // Reflector for column i, rows i+1..=ihi.
        let m = ihi - i;
        let Some(v) = v.get_mut(..m) else {
            return out_of_range();
        };
        for (vt, row) in v.iter_mut().zip(a.chunks_exact(n).skip(i + 1)).skip(1) {
            *vt = at(row, i);
        }
        let alpha = at(a, (i + 1) * n + i);
        let (beta, t) = match v.split_first_mut() {
            Some((_, x)) => larfg(alpha, x),
            None => return out_of_range(),
        };
        v[0] = 1.0;
        set(tau, i, t);
        set(a, (i + 1) * n + i, beta);
        for (&vt, row) in v.iter().zip(a.chunks_exact_mut(n).skip(i + 1)).skip(1) {
            set(row, i, vt);
        }
        if t == 0.0 {
            continue;
        }
        // From the right: A[0..=ihi, i+1..=ihi] -= τ (A v) vᵀ.
        for row in a.chunks_exact_mut(n).take(ihi + 1) {
            let Some(row) = row.get_mut(i + 1..ihi + 1) else {
                return out_of_range();
            };
            let s = dot(row, v) * t;
            for (x, &vv) in row.iter_mut().zip(v.iter()) {
                *x -= s * vv;
            }
        }
        // From the left: A[i+1..=ihi, i+1..n] -= τ v (vᵀ A).
        let Some(w) = w.get_mut(i + 1..n) else {
            return out_of_range();
        };
        w.fill(0.0);
        for (&vk, row) in v.iter().zip(a.chunks_exact(n).skip(i + 1)) {
            for (wj, &x) in w.iter_mut().zip(row.iter().skip(i + 1)) {
                *wj += vk * x;
            }
        }
        for (&vk, row) in v.iter().zip(a.chunks_exact_mut(n).skip(i + 1)) {
            let s = t * vk;
            for (x, &wj) in row.iter_mut().skip(i + 1).zip(w.iter()) {
                *x -= s * wj;
            }
        }
    }
}

/// Forms `Q` from the reflectors left in `a` by [`reduce`], stored transposed:
/// `qt[c * n + r] = Q[r][c]` (row `c` of `qt` is column `c` of `Q`). `v` is scratch (≥ n).
#[inline(always)]
pub(super) fn form_q(
    n: usize,
    ilo: usize,
    ihi: usize,
    a: &[f64],
    tau: &[f64],
    qt: &mut [f64],
    v: &mut [f64],
) {
    if ihi >= n || a.len() < n * n || tau.len() < n || v.len() < n {
        return out_of_range();
    }
    let Some(qt) = qt.get_mut(..n * n) else {
        return out_of_range();
    };
    qt.fill(0.0);
    for (d, row) in (0..n).zip(qt.chunks_exact_mut(n)) {
        row[d] = 1.0;
    }
    // Backward accumulation: Q = H(ilo) (H(ilo+1) (⋯ H(ihi−1))). When H(i) is applied only
    // rows/columns i+1..=ihi of the partial product differ from the identity.
    let mut i = ihi;
    while i > ilo {
        i -= 1;
        let t = at(tau, i);
        if t == 0.0 {
            continue;
        }
        let m = ihi - i;
        let Some(v) = v.get_mut(..m) else {
            return out_of_range();
        };
        v[0] = 1.0;
        for (vk, row) in v.iter_mut().zip(a.chunks_exact(n).skip(i + 1)).skip(1) {
            *vk = row[i];
        }
        // Column c of Q (row c of qt), c in i+1..=ihi: q_c -= τ v (vᵀ q_c).
        for row in qt.chunks_exact_mut(n).take(ihi + 1).skip(i + 1) {
            let Some(row) = row.get_mut(i + 1..ihi + 1) else {
                return out_of_range();
            };
            let s = dot(row, v) * t;
            for (x, &vv) in row.iter_mut().zip(v.iter()) {
                *x -= s * vv;
            }
        }
    }
}

/// Zeroes everything below the first subdiagonal of the row-major `n × n` matrix `a`.
pub(super) fn clear_below(n: usize, a: &mut [f64]) {
    if n == 0 {
        return;
    }
    for (r, row) in (2..n).zip(a.chunks_exact_mut(n).skip(2)) {
        row[..r - 1].fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_is_preserved() {
        let n = 5;
        let a0: [f64; 25] =
            core::array::from_fn(|k| ((k * 7 + 3) % 11) as f64 - 5.0 + 0.1 * k as f64);
        let mut a = a0;
        let mut tau = [0.0; 5];
        let mut v = [0.0; 5];
        let mut w = [0.0; 5];
        reduce(n, 0, n - 1, &mut a, &mut tau, &mut v, &mut w);
        let mut qt = [0.0; 25];
        form_q(n, 0, n - 1, &a, &tau, &mut qt, &mut v);
        clear_below(n, &mut a);
        // Check A Q = Q H.
        for r in 0..n {
            for c in 0..n {
                let mut aq = 0.0;
                let mut qh = 0.0;
                for k in 0..n {
                    aq += a0[r * n + k] * qt[c * n + k];
                    qh += qt[k * n + r] * a[k * n + c];
                }
                assert!((aq - qh).abs() < 1e-12, "{r} {c} {aq} {qh}");
            }
        }
    }
}
