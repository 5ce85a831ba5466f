//! Balancing (LAPACK's dgebal, job 'B') and its back-transformation (dgebak, right vectors).
//!
//! Step 1 (optional) permutes rows and columns to isolate eigenvalues that are already exposed
//! (a row or column with no off-diagonal entries in the active block): the result is
//! `P A Pᵀ = [T11 X Y; 0 B Z; 0 0 T33]` with `T11`, `T33` upper triangular, and only `B`
//! (rows/columns `ilo..=ihi`) needs the QR algorithm.
//! Step 2 scales rows and columns of `B` by powers of 2 (exact in binary) so that each row
//! and its column have comparable 2-norms, which reduces the norm and improves the accuracy
//! of the computed eigenvalues of badly scaled matrices.

use super::kernels::{at, nrm2, out_of_range, set, swap};
use crate::scalar::math;
use crate::split::sub;

/// Radix of the scaling factors (powers of 2 are exact).
const RADIX: f64 = 2.0;
/// A row/column pair is rescaled only if that reduces `‖c‖ + ‖r‖` below 95 %.
const FACTOR: f64 = 0.95;
/// Cap on the number of scaling sweeps (LAPACK has none; in practice 2–10 suffice).
const MAX_SWEEPS: usize = 200;

/// Balances the row-major `n × n` matrix `a` in place.
///
/// Returns `(ilo, ihi)` (0-based, inclusive): rows/columns outside that range hold
/// eigenvalues already isolated on the diagonal. `scale[i]` receives, for `i` outside the
/// range, the index (as `f64`) of the row/column interchanged with `i`, and inside the
/// range, the scaling factor `d_i` (the balanced matrix is `D⁻¹ P A Pᵀ D`).
#[inline(always)]
pub(super) fn balance(n: usize, a: &mut [f64], scale: &mut [f64], permute: bool) -> (usize, usize) {
    // Indices stay below n by the algorithm; `at`, `set`, `swap` and `get` stand for `a[i]`,
    // which the compiler could not prove in range.
    let mut k = 0usize; // first row/column of the active block
    let mut l = n - 1; // last row/column of the active block (inclusive)

    if permute {
        // Rows isolating an eigenvalue: push them to the bottom.
        'rows: loop {
            let mut j = l + 1;
            while j > 0 {
                j -= 1;
                let isolated = match sub(a, j * n, l + 1) {
                    Some(row) => row.iter().enumerate().all(|(c, &v)| c == j || v == 0.0),
                    None => {
                        out_of_range();
                        false
                    }
                };
                if isolated {
                    set(scale, l, j as f64);
                    if j != l {
                        exchange(n, a, j, l, k, l);
                    }
                    if l == 0 {
                        // Everything is isolated; row 0 can only have been "swapped" with
                        // itself, so its entry is a unit scale factor.
                        set(scale, 0, 1.0);
                        return (0, 0);
                    }
                    l -= 1;
                    continue 'rows;
                }
            }
            break;
        }
        // Columns isolating an eigenvalue: push them to the left.
        // Each pass either isolates one more column (k grows, bounded by l) or stops.
        while let Some(j) = (k..=l).find(|&j| (k..=l).all(|r| r == j || at(a, r * n + j) == 0.0)) {
            set(scale, k, j as f64);
            if j != k {
                exchange(n, a, j, k, k, l);
            }
            if k == l {
                break;
            }
            k += 1;
        }
    }

    match scale.get_mut(k..=l) {
        Some(s) => s.fill(1.0),
        None => out_of_range(),
    }

    // Iterative scaling (2-norms, as LAPACK ≥ 3.5).
    let sfmin1 = super::kernels::SAFMIN / super::kernels::ULP;
    let sfmin2 = sfmin1 * RADIX;
    let sfmax2 = 1.0 / sfmin2;
    let lim = Limits { sfmin2, sfmax2 };
    for _sweep in 0..MAX_SWEEPS {
        let mut noconv = false;
        for i in k..=l {
            // Column i: sum of squares over rows k..=l, max over rows 0..=l.
            let mut c2 = 0.0;
            let mut ca = 0.0f64;
            for r in 0..=l {
                let v = math::abs(at(a, r * n + i));
                ca = ca.max(v);
                if r >= k {
                    c2 += v * v;
                }
            }
            // Row i: sum of squares over columns k..=l, max over columns k..n.
            let Some((row_k, row_kl)) = a
                .get(i * n + k..(i + 1) * n)
                .and_then(|r| Some((r, r.get(..=l - k)?)))
            else {
                out_of_range();
                continue;
            };
            let mut r2 = 0.0;
            for &v in row_kl {
                r2 += v * v;
            }
            let mut ra = 0.0f64;
            for &v in row_k {
                ra = ra.max(math::abs(v));
            }
            if ca == 0.0 || ra == 0.0 {
                // Column or row is zero (within the blocks that count).
                if c2 == 0.0 || r2 == 0.0 {
                    continue;
                }
            }
            let f = if c2 > SAFE_LO && c2 < SAFE_HI && r2 > SAFE_LO && r2 < SAFE_HI {
                factor_squared(c2, r2, ca, ra, &lim)
            } else {
                // Rare: norms near the underflow/overflow limits; use scaled 2-norms.
                let r = nrm2(row_kl);
                factor(col_norm(n, a, i, k, l), r, ca, ra, &lim)
            };
            if f == 1.0 {
                continue;
            }
            let si = at(scale, i);
            // dgebal also caps `f` and the accumulated scale near sfmin/sfmax; that leaves
            // matrices such as [[0, 1e300], [1e-300, 0]] unbalanced (and their eigenvalues
            // lost to underflow). Here only the scaled entries are kept in range (the loop
            // guards in `factor`), and the accumulated scale a normal number: powers of 2
            // are exact, so larger scales cost no accuracy.
            if !(si * f).is_normal() {
                continue;
            }
            let g = 1.0 / f;
            set(scale, i, si * f);
            noconv = true;
            match a.get_mut(i * n + k..(i + 1) * n) {
                Some(row) => {
                    for v in row.iter_mut() {
                        *v *= g;
                    }
                }
                None => out_of_range(),
            }
            for rr in 0..=l {
                let x = at(a, rr * n + i);
                set(a, rr * n + i, x * f);
            }
        }
        if !noconv {
            break;
        }
    }
    (k, l)
}

/// Safe range for sums of squares (their square roots are far from both limits).
const SAFE_LO: f64 = 1.0e-280;
const SAFE_HI: f64 = 1.0e280;

/// dgebal's thresholds.
struct Limits {
    sfmin2: f64,
    sfmax2: f64,
}

/// dgebal's choice of the power-of-2 factor `f` for column norm `c` and row norm `r`
/// (with largest entries `ca`, `ra`): returns 1 if rescaling would not reduce `c + r` below
/// 95 %.
fn factor(c: f64, r: f64, ca: f64, ra: f64, lim: &Limits) -> f64 {
    if c == 0.0 || r == 0.0 {
        return 1.0;
    }
    let (mut c, mut r, mut ca, mut ra) = (c, r, ca, ra);
    let mut g = r / RADIX;
    let mut f = 1.0f64;
    let s = c + r;
    while c < g && c.max(ca) < lim.sfmax2 && r.min(g).min(ra) > lim.sfmin2 {
        f *= RADIX;
        c *= RADIX;
        ca *= RADIX;
        r /= RADIX;
        g /= RADIX;
        ra /= RADIX;
    }
    g = c / RADIX;
    while g >= r && r.max(ra) < lim.sfmax2 && c.min(g).min(ca) > lim.sfmin2 {
        f /= RADIX;
        c /= RADIX;
        g /= RADIX;
        ca /= RADIX;
        r *= RADIX;
        ra *= RADIX;
    }
    if c + r >= FACTOR * s { 1.0 } else { f }
}

/// [`factor`] from the squared norms `c2 = c²`, `r2 = r²`, both inside the safe range: the
/// same decisions, with square roots only when a rescaling is proposed. Inside the safe
/// range `c` and `r` stay far from `sfmin2`/`sfmax2`, so only the guards on `f`, `ca` and
/// `ra` remain.
fn factor_squared(c2: f64, r2: f64, ca: f64, ra: f64, lim: &Limits) -> f64 {
    const R2: f64 = RADIX * RADIX;
    let (mut c2s, mut r2s, mut ca, mut ra) = (c2, r2, ca, ra);
    let mut f = 1.0f64;
    // c < r / 2
    while R2 * c2s < r2s && ca < lim.sfmax2 && ra > lim.sfmin2 {
        f *= RADIX;
        c2s *= R2;
        ca *= RADIX;
        r2s /= R2;
        ra /= RADIX;
    }
    // c / 2 ≥ r
    while c2s >= R2 * r2s && ra < lim.sfmax2 && ca > lim.sfmin2 {
        f /= RADIX;
        c2s /= R2;
        ca /= RADIX;
        r2s *= R2;
        ra *= RADIX;
    }
    if f == 1.0 {
        return 1.0;
    }
    let (c, r) = (math::sqrt(c2), math::sqrt(r2));
    if c * f + r / f >= FACTOR * (c + r) {
        1.0
    } else {
        f
    }
}

/// 2-norm of column `j` over rows `k..=l`, with scaling against overflow/underflow.
fn col_norm(n: usize, a: &[f64], j: usize, k: usize, l: usize) -> f64 {
    let mut amax = 0.0f64;
    for r in k..=l {
        amax = amax.max(math::abs(at(a, r * n + j)));
    }
    if amax == 0.0 {
        return 0.0;
    }
    let inv = 1.0 / amax;
    let mut ss = 0.0;
    for r in k..=l {
        let t = at(a, r * n + j) * inv;
        ss += t * t;
    }
    amax * math::sqrt(ss)
}

/// Swaps rows/columns `j` and `m`: columns in rows `0..=l`, rows in columns `k..n`.
fn exchange(n: usize, a: &mut [f64], j: usize, m: usize, k: usize, l: usize) {
    for r in 0..=l {
        swap(a, r * n + j, r * n + m);
    }
    for c in k..n {
        swap(a, j * n + c, m * n + c);
    }
}

/// Undoes the balancing on right eigenvectors stored as rows of `vt` (`vt[v * n + i]` is
/// component `i` of vector `v`), as LAPACK's dgebak (job 'B', side 'R').
#[inline(always)]
pub(super) fn unbalance_vectors(n: usize, ilo: usize, ihi: usize, scale: &[f64], vt: &mut [f64]) {
    if n == 0 {
        return;
    }
    let Some(scale_b) = scale.get(ilo..=ihi) else {
        return out_of_range();
    };
    for row in vt.chunks_exact_mut(n).take(n) {
        match row.get_mut(ilo..=ihi) {
            Some(x) => {
                for (x, &s) in x.iter_mut().zip(scale_b) {
                    *x *= s;
                }
            }
            None => out_of_range(),
        }
    }
    // Undo the permutations in reverse order: ilo-1 down to 0, then ihi+1 up to n-1.
    for ii in 0..n {
        let i = if ii < ilo {
            ilo - 1 - ii
        } else if ii > ihi {
            ii
        } else {
            continue;
        };
        let k = at(scale, i) as usize;
        if k == i || k >= n {
            continue;
        }
        for row in vt.chunks_exact_mut(n).take(n) {
            swap(row, i, k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolates_triangular() {
        // Upper triangular: everything is isolated.
        let mut a = [1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 0.0, 0.0, 6.0];
        let mut s = [0.0; 3];
        let (ilo, ihi) = balance(3, &mut a, &mut s, true);
        assert_eq!(ilo, ihi);
        // Diagonal entries are preserved as a multiset.
        let mut d = [a[0], a[4], a[8]];
        d.sort_by(|x, y| x.partial_cmp(y).unwrap());
        assert_eq!(d, [1.0, 4.0, 6.0]);
    }

    #[test]
    fn scales_badly_scaled() {
        let mut a = [1.0, 1.0e6, 1.0e-6, 1.0];
        let mut s = [0.0; 2];
        let (ilo, ihi) = balance(2, &mut a, &mut s, true);
        assert_eq!((ilo, ihi), (0, 1));
        assert!(a[1].abs() < 10.0 && a[2].abs() < 10.0, "{a:?}");
    }
}
