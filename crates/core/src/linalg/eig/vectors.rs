//! Right eigenvectors of the quasi-triangular Schur factor by back-substitution (LAPACK's
//! dtrevc, side 'R', howmny 'B'), back-transformation with the Schur vectors, and the final
//! normalization.
//!
//! For each eigenvalue `λ = T[k][k]` (or a standardized 2×2 block) the system
//! `(T[0..k, 0..k] − λ) x = −T[0..k, k]` is solved upwards one 1×1 or 2×2 diagonal block at a
//! time (dlaln2-style solves with complete pivoting). Overflow is prevented by rescaling
//! the whole partial solution whenever a component would make the next update overflow
//! (using the column norms of `T`), and a diagonal difference `T[j][j] − λ` smaller than
//! `smin = max(ulp·|λ|, smlnum)` is replaced by `smin` (so repeated eigenvalues and Jordan
//! blocks give finite vectors, as in LAPACK). The vector is then multiplied by the Schur
//! vectors in place: column `k` of `Z` only depends on columns `< k`, which still hold Schur
//! vectors because `k` runs downwards.
//!
//! Storage: `tt` is `T` transposed (`tt[c * n + r] = T[r][c]`, so columns of `T` are
//! contiguous) and `zt` is `Z` transposed (row `k` of `zt` is column `k` of `Z`, and becomes
//! eigenvector `k`; a complex pair at `k, k+1` becomes `re = zt[k]`, `im = zt[k+1]` for the
//! eigenvalue with positive imaginary part).

use super::kernels::{SAFMIN, ULP, at, copysign, ladiv, out_of_range, set, sqrt_abs_prod};
use crate::linalg::dense::axpy;
use crate::scalar::math;
use crate::split::{sub, sub_mut};

// The block boundaries (`ki`, `j1`, `j2`, …) are data dependent, so the compiler cannot prove
// the accesses in range: `t`, `at`, `set` and the slice helpers below stand for `[]`, and an
// out-of-range index (a broken invariant) reads 0, writes nothing, or is an empty slice,
// through `out_of_range` (a debug panic).

/// `T[r][c]` from the transposed storage.
#[inline(always)]
#[track_caller]
fn t(tt: &[f64], n: usize, r: usize, c: usize) -> f64 {
    at(tt, c * n + r)
}

/// `x[start..start + len]`, or empty (through `out_of_range`).
#[inline(always)]
#[track_caller]
fn seg(x: &[f64], start: usize, len: usize) -> &[f64] {
    match sub(x, start, len) {
        Some(s) => s,
        None => {
            out_of_range();
            &[]
        }
    }
}

/// `x[start..start + len]`, or empty (through `out_of_range`).
#[inline(always)]
#[track_caller]
fn seg_mut(x: &mut [f64], start: usize, len: usize) -> &mut [f64] {
    match sub_mut(x, start, len) {
        Some(s) => s,
        None => {
            out_of_range();
            &mut []
        }
    }
}

#[inline(always)]
fn scal(a: f64, x: &mut [f64]) {
    for v in x {
        *v *= a;
    }
}

/// Computes all right eigenvectors of the Schur form and back-transforms them in place in
/// `zt` (see the module docs). `cn`, `xr`, `xi` are scratch vectors of length ≥ n.
#[inline(always)]
pub(super) fn right_vectors(
    n: usize,
    tt: &[f64],
    zt: &mut [f64],
    cn: &mut [f64],
    xr: &mut [f64],
    xi: &mut [f64],
) {
    let (Some(cn), Some(xr), Some(xi)) = (cn.get_mut(..n), xr.get_mut(..n), xi.get_mut(..n)) else {
        return out_of_range();
    };
    if n == 0 {
        return;
    }
    let unfl = SAFMIN;
    let smlnum = unfl * (n as f64 / ULP);
    let bignum = (1.0 - ULP) / smlnum;

    // 1-norms of the strictly upper part of each column of T.
    for j in 0..n {
        cn[j] = seg(tt, j * n, j).iter().map(|v| math::abs(*v)).sum();
    }

    let mut ki = n;
    while ki > 0 {
        ki -= 1;
        let pair = ki > 0 && t(tt, n, ki, ki - 1) != 0.0;
        if !pair {
            // Real eigenvector.
            let wr = t(tt, n, ki, ki);
            let smin = (ULP * math::abs(wr)).max(smlnum);
            set(xr, ki, 1.0);
            for (x, &tk) in seg_mut(xr, 0, ki).iter_mut().zip(seg(tt, ki * n, ki)) {
                *x = -tk;
            }
            let mut j = ki;
            while j > 0 {
                let j2 = j - 1;
                if j2 > 0 && t(tt, n, j2, j2 - 1) != 0.0 {
                    let j1 = j2 - 1;
                    let blk = [
                        [t(tt, n, j1, j1), t(tt, n, j1, j2)],
                        [t(tt, n, j2, j1), t(tt, n, j2, j2)],
                    ];
                    let b = [at(xr, j1), at(xr, j2)];
                    let (mut x, mut scale, xnorm) = solve2_real(smin, blk, b, wr);
                    if xnorm > 1.0 {
                        let beta = at(cn, j1).max(at(cn, j2));
                        if beta > bignum / xnorm {
                            x[0] /= xnorm;
                            x[1] /= xnorm;
                            scale /= xnorm;
                        }
                    }
                    if scale != 1.0 {
                        scal(scale, seg_mut(xr, 0, ki + 1));
                    }
                    set(xr, j1, x[0]);
                    set(xr, j2, x[1]);
                    axpy(-x[0], seg(tt, j1 * n, j1), seg_mut(xr, 0, j1));
                    axpy(-x[1], seg(tt, j2 * n, j1), seg_mut(xr, 0, j1));
                    j = j1;
                } else {
                    let (mut x, mut scale, xnorm) =
                        solve1_real(smin, t(tt, n, j2, j2), at(xr, j2), wr);
                    if xnorm > 1.0 && at(cn, j2) > bignum / xnorm {
                        x /= xnorm;
                        scale /= xnorm;
                    }
                    if scale != 1.0 {
                        scal(scale, seg_mut(xr, 0, ki + 1));
                    }
                    set(xr, j2, x);
                    axpy(-x, seg(tt, j2 * n, j2), seg_mut(xr, 0, j2));
                    j = j2;
                }
            }
            // Back-transform: z_ki ← x[ki] z_ki + Σ_{k<ki} x[k] z_k.
            let Some((lower, upper)) = zt.split_at_mut_checked(ki * n) else {
                return out_of_range();
            };
            let target = seg_mut(upper, 0, n);
            scal(at(xr, ki), target);
            for (zk, &xk) in lower.chunks_exact(n).zip(xr.iter()) {
                axpy(xk, zk, target);
            }
            let emax = target.iter().fold(0.0f64, |m, v| m.max(math::abs(*v)));
            if emax > 0.0 {
                scal(1.0 / emax, target);
            }
        } else {
            // Complex pair at (kp, ki); the vector for λ = wr + i·wi (wi > 0).
            let kp = ki - 1;
            let wr = t(tt, n, ki, ki);
            let wi = sqrt_abs_prod(t(tt, n, ki, kp), t(tt, n, kp, ki));
            let smin = (ULP * (math::abs(wr) + math::abs(wi))).max(smlnum);
            let tkpki = t(tt, n, kp, ki);
            let tkikp = t(tt, n, ki, kp);
            if math::abs(tkpki) >= math::abs(tkikp) {
                set(xr, kp, 1.0);
                set(xi, ki, wi / tkpki);
            } else {
                set(xr, kp, -wi / tkikp);
                set(xi, ki, 1.0);
            }
            set(xr, ki, 0.0);
            set(xi, kp, 0.0);
            let (a, b) = (at(xr, kp), at(xi, ki));
            for (x, &tk) in seg_mut(xr, 0, kp).iter_mut().zip(seg(tt, kp * n, kp)) {
                *x = -a * tk;
            }
            for (x, &tk) in seg_mut(xi, 0, kp).iter_mut().zip(seg(tt, ki * n, kp)) {
                *x = -b * tk;
            }
            let mut j = kp;
            while j > 0 {
                let j2 = j - 1;
                if j2 > 0 && t(tt, n, j2, j2 - 1) != 0.0 {
                    let j1 = j2 - 1;
                    let blk = [
                        [t(tt, n, j1, j1), t(tt, n, j1, j2)],
                        [t(tt, n, j2, j1), t(tt, n, j2, j2)],
                    ];
                    let (b_re, b_im) = ([at(xr, j1), at(xr, j2)], [at(xi, j1), at(xi, j2)]);
                    let (mut x_r, mut x_i, mut scale, xnorm) =
                        solve2_cplx(smin, blk, b_re, b_im, wr, wi);
                    if xnorm > 1.0 {
                        let beta = at(cn, j1).max(at(cn, j2));
                        if beta > bignum / xnorm {
                            let rec = 1.0 / xnorm;
                            x_r[0] *= rec;
                            x_r[1] *= rec;
                            x_i[0] *= rec;
                            x_i[1] *= rec;
                            scale *= rec;
                        }
                    }
                    if scale != 1.0 {
                        scal(scale, seg_mut(xr, 0, ki + 1));
                        scal(scale, seg_mut(xi, 0, ki + 1));
                    }
                    set(xr, j1, x_r[0]);
                    set(xr, j2, x_r[1]);
                    set(xi, j1, x_i[0]);
                    set(xi, j2, x_i[1]);
                    let c1 = seg(tt, j1 * n, j1);
                    let c2 = seg(tt, j2 * n, j1);
                    axpy(-x_r[0], c1, seg_mut(xr, 0, j1));
                    axpy(-x_r[1], c2, seg_mut(xr, 0, j1));
                    axpy(-x_i[0], c1, seg_mut(xi, 0, j1));
                    axpy(-x_i[1], c2, seg_mut(xi, 0, j1));
                    j = j1;
                } else {
                    let (mut x_r, mut x_i, mut scale, xnorm) =
                        solve1_cplx(smin, t(tt, n, j2, j2), at(xr, j2), at(xi, j2), wr, wi);
                    if xnorm > 1.0 && at(cn, j2) > bignum / xnorm {
                        x_r /= xnorm;
                        x_i /= xnorm;
                        scale /= xnorm;
                    }
                    if scale != 1.0 {
                        scal(scale, seg_mut(xr, 0, ki + 1));
                        scal(scale, seg_mut(xi, 0, ki + 1));
                    }
                    set(xr, j2, x_r);
                    set(xi, j2, x_i);
                    let c = seg(tt, j2 * n, j2);
                    axpy(-x_r, c, seg_mut(xr, 0, j2));
                    axpy(-x_i, c, seg_mut(xi, 0, j2));
                    j = j2;
                }
            }
            // Back-transform both parts (they only read Schur vectors 0..kp and their own).
            let Some((lower, upper)) = zt.split_at_mut_checked(kp * n) else {
                return out_of_range();
            };
            let Some((zre, rest)) = upper.split_at_mut_checked(n) else {
                return out_of_range();
            };
            let zim = seg_mut(rest, 0, n);
            scal(at(xr, kp), zre);
            scal(at(xi, ki), zim);
            for (zk, (&xrk, &xik)) in lower.chunks_exact(n).zip(xr.iter().zip(xi.iter())) {
                axpy(xrk, zk, zre);
                axpy(xik, zk, zim);
            }
            let emax = zre
                .iter()
                .zip(zim.iter())
                .fold(0.0f64, |m, (a, b)| m.max(math::abs(*a) + math::abs(*b)));
            if emax > 0.0 {
                let r = 1.0 / emax;
                scal(r, zre);
                scal(r, zim);
            }
            ki = kp;
        }
    }
}

/// Gives every eigenvector (rows of `zt`, complex pairs as described in the module docs)
/// unit 2-norm and a deterministic phase: the first component whose modulus is within a
/// relative `1e-6` of the largest modulus is made real and positive.
#[inline(always)]
pub(super) fn normalize(n: usize, tt: &[f64], zt: &mut [f64]) {
    const TIE: f64 = 1.0 - 1.0e-6;
    let mut k = 0;
    while k < n {
        let pair = k + 1 < n && t(tt, n, k + 1, k) != 0.0;
        if !pair {
            let v = seg_mut(zt, k * n, n);
            let amax = v.iter().fold(0.0f64, |m, x| m.max(math::abs(*x)));
            if amax > 0.0 {
                // Work with v / amax (entries ≤ 1) without a separate scaling pass.
                let r = 1.0 / amax;
                let p = v.iter().position(|x| math::abs(*x) * r >= TIE).unwrap_or(0);
                let ss: f64 = v.iter().map(|x| (x * r) * (x * r)).sum();
                let s = copysign(r / math::sqrt(ss), at(v, p));
                scal(s, v);
            }
            k += 1;
        } else {
            let Some((a, b)) = seg_mut(zt, k * n, 2 * n).split_at_mut_checked(n) else {
                return out_of_range();
            };
            let amax = a
                .iter()
                .zip(b.iter())
                .fold(0.0f64, |m, (x, y)| m.max(math::abs(*x) + math::abs(*y)));
            if amax > 0.0 {
                let r = 1.0 / amax;
                // Largest squared modulus and squared norm of z / amax in one pass.
                let (m2, ss) = a
                    .iter()
                    .zip(b.iter())
                    .fold((0.0f64, 0.0f64), |(m, s), (x, y)| {
                        let q = (x * r) * (x * r) + (y * r) * (y * r);
                        (m.max(q), s + q)
                    });
                let p = a
                    .iter()
                    .zip(b.iter())
                    .position(|(x, y)| (x * r) * (x * r) + (y * r) * (y * r) >= TIE * TIE * m2)
                    .unwrap_or(0);
                let (pr, pi) = (at(a, p) * r, at(b, p) * r);
                // Multiply by conj(z_p) / (|z_p| · ‖z‖) (all of z / amax): |z_p|² ≥ 1/2 − O(1e-6)
                // and 1/2 ≤ ‖z‖² ≤ n, so nothing over- or underflows.
                let d = r / math::sqrt((pr * pr + pi * pi) * ss);
                let (cr, ci) = (pr * d, -pi * d);
                for (x, y) in a.iter_mut().zip(b.iter_mut()) {
                    let nr = *x * cr - *y * ci;
                    let ni = *x * ci + *y * cr;
                    *x = nr;
                    *y = ni;
                }
                set(b, p, 0.0);
            }
            k += 2;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Small solves (LAPACK's dlaln2 with ca = 1, d1 = d2 = 1, no transpose): (A − w) X = s·B,
// with s ≤ 1 chosen to avoid overflow and the matrix perturbed to have smallest singular
// value ≥ smin.

/// `2·safmin`, dlaln2's underflow threshold.
const LALN2_SMLNUM: f64 = 2.0 * SAFMIN;
const LALN2_BIGNUM: f64 = 1.0 / LALN2_SMLNUM;

/// Real 1×1: returns `(x, scale, |x|)`.
fn solve1_real(smin: f64, a: f64, b: f64, wr: f64) -> (f64, f64, f64) {
    let smini = smin.max(LALN2_SMLNUM);
    let mut scale = 1.0;
    let mut csr = a - wr;
    let mut cnorm = math::abs(csr);
    if cnorm < smini {
        csr = smini;
        cnorm = smini;
    }
    let bnorm = math::abs(b);
    if cnorm < 1.0 && bnorm > 1.0 && bnorm > LALN2_BIGNUM * cnorm {
        scale = 1.0 / bnorm;
    }
    let x = (b * scale) / csr;
    (x, scale, math::abs(x))
}

/// Complex 1×1: returns `(xr, xi, scale, |xr| + |xi|)`.
fn solve1_cplx(smin: f64, a: f64, br: f64, bi: f64, wr: f64, wi: f64) -> (f64, f64, f64, f64) {
    let smini = smin.max(LALN2_SMLNUM);
    let mut scale = 1.0;
    let mut csr = a - wr;
    let mut csi = -wi;
    let mut cnorm = math::abs(csr) + math::abs(csi);
    if cnorm < smini {
        csr = smini;
        csi = 0.0;
        cnorm = smini;
    }
    let bnorm = math::abs(br) + math::abs(bi);
    if cnorm < 1.0 && bnorm > 1.0 && bnorm > LALN2_BIGNUM * cnorm {
        scale = 1.0 / bnorm;
    }
    let (xr, xi) = ladiv(scale * br, scale * bi, csr, csi);
    (xr, xi, scale, math::abs(xr) + math::abs(xi))
}

/// Column-major positions of (u11, c21, u12, c22) for each choice of pivot `icmax`.
const IPIVOT: [[usize; 4]; 4] = [[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]];
const RSWAP: [bool; 4] = [false, true, false, true];
const ZSWAP: [bool; 4] = [false, false, true, true];

/// Real 2×2 with complete pivoting: returns `(x, scale, ‖x‖∞)`.
fn solve2_real(smin: f64, a: [[f64; 2]; 2], b: [f64; 2], wr: f64) -> ([f64; 2], f64, f64) {
    let smini = smin.max(LALN2_SMLNUM);
    let mut scale = 1.0;
    // Column-major C = A − wr.
    let crv = [a[0][0] - wr, a[1][0], a[0][1], a[1][1] - wr];
    let mut cmax = 0.0;
    let mut icmax = 0;
    for j in 0..4 {
        let c = math::abs(crv[j]);
        if c > cmax {
            cmax = c;
            icmax = j;
        }
    }
    if cmax < smini {
        let bnorm = math::abs(b[0]).max(math::abs(b[1]));
        if smini < 1.0 && bnorm > 1.0 && bnorm > LALN2_BIGNUM * smini {
            scale = 1.0 / bnorm;
        }
        let temp = scale / smini;
        return ([temp * b[0], temp * b[1]], scale, temp * bnorm);
    }
    let p = IPIVOT[icmax];
    let ur11 = crv[icmax];
    let cr21 = crv[p[1]];
    let ur12 = crv[p[2]];
    let cr22 = crv[p[3]];
    let ur11r = 1.0 / ur11;
    let lr21 = ur11r * cr21;
    let mut ur22 = cr22 - ur12 * lr21;
    if math::abs(ur22) < smini {
        ur22 = smini;
    }
    let (br1, mut br2) = if RSWAP[icmax] {
        (b[1], b[0])
    } else {
        (b[0], b[1])
    };
    br2 -= lr21 * br1;
    let bbnd = math::abs(br1 * (ur22 * ur11r)).max(math::abs(br2));
    if bbnd > 1.0 && math::abs(ur22) < 1.0 && bbnd >= LALN2_BIGNUM * math::abs(ur22) {
        scale = 1.0 / bbnd;
    }
    let xr2 = (br2 * scale) / ur22;
    let xr1 = (scale * br1) * ur11r - xr2 * (ur11r * ur12);
    let mut x = if ZSWAP[icmax] { [xr2, xr1] } else { [xr1, xr2] };
    let mut xnorm = math::abs(xr1).max(math::abs(xr2));
    if xnorm > 1.0 && cmax > 1.0 && xnorm > LALN2_BIGNUM / cmax {
        let temp = cmax / LALN2_BIGNUM;
        x[0] *= temp;
        x[1] *= temp;
        xnorm *= temp;
        scale *= temp;
    }
    (x, scale, xnorm)
}

/// Complex 2×2 (`w = wr + i·wi`) with complete pivoting: returns
/// `(x_re, x_im, scale, max_k |x_re[k]| + |x_im[k]|)`.
fn solve2_cplx(
    smin: f64,
    a: [[f64; 2]; 2],
    b_re: [f64; 2],
    b_im: [f64; 2],
    wr: f64,
    wi: f64,
) -> ([f64; 2], [f64; 2], f64, f64) {
    let smini = smin.max(LALN2_SMLNUM);
    let mut scale = 1.0;
    let crv = [a[0][0] - wr, a[1][0], a[0][1], a[1][1] - wr];
    let civ = [-wi, 0.0, 0.0, -wi];
    let mut cmax = 0.0;
    let mut icmax = 0;
    for j in 0..4 {
        let v = math::abs(crv[j]) + math::abs(civ[j]);
        if v > cmax {
            cmax = v;
            icmax = j;
        }
    }
    if cmax < smini {
        let bnorm =
            (math::abs(b_re[0]) + math::abs(b_im[0])).max(math::abs(b_re[1]) + math::abs(b_im[1]));
        if smini < 1.0 && bnorm > 1.0 && bnorm > LALN2_BIGNUM * smini {
            scale = 1.0 / bnorm;
        }
        let temp = scale / smini;
        return (
            [temp * b_re[0], temp * b_re[1]],
            [temp * b_im[0], temp * b_im[1]],
            scale,
            temp * bnorm,
        );
    }
    let p = IPIVOT[icmax];
    let ur11 = crv[icmax];
    let ui11 = civ[icmax];
    let cr21 = crv[p[1]];
    let ci21 = civ[p[1]];
    let ur12 = crv[p[2]];
    let ui12 = civ[p[2]];
    let cr22 = crv[p[3]];
    let ci22 = civ[p[3]];
    let (ur11r, ui11r, lr21, li21, ur12s, ui12s, mut ur22, mut ui22);
    if icmax == 0 || icmax == 3 {
        // Off-diagonals of the pivoted C are real.
        if math::abs(ur11) > math::abs(ui11) {
            let temp = ui11 / ur11;
            ur11r = 1.0 / (ur11 * (1.0 + temp * temp));
            ui11r = -temp * ur11r;
        } else {
            let temp = ur11 / ui11;
            ui11r = -1.0 / (ui11 * (1.0 + temp * temp));
            ur11r = -temp * ui11r;
        }
        lr21 = cr21 * ur11r;
        li21 = cr21 * ui11r;
        ur12s = ur12 * ur11r;
        ui12s = ur12 * ui11r;
        ur22 = cr22 - ur12 * lr21;
        ui22 = ci22 - ur12 * li21;
    } else {
        // Diagonals of the pivoted C are real.
        ur11r = 1.0 / ur11;
        ui11r = 0.0;
        lr21 = cr21 * ur11r;
        li21 = ci21 * ur11r;
        ur12s = ur12 * ur11r;
        ui12s = ui12 * ur11r;
        ur22 = cr22 - ur12 * lr21 + ui12 * li21;
        ui22 = -ur12 * li21 - ui12 * lr21;
    }
    let u22abs = math::abs(ur22) + math::abs(ui22);
    if u22abs < smini {
        ur22 = smini;
        ui22 = 0.0;
    }
    let (mut br1, mut br2, mut bi1, mut bi2) = if RSWAP[icmax] {
        (b_re[1], b_re[0], b_im[1], b_im[0])
    } else {
        (b_re[0], b_re[1], b_im[0], b_im[1])
    };
    br2 = br2 - lr21 * br1 + li21 * bi1;
    bi2 = bi2 - li21 * br1 - lr21 * bi1;
    let bbnd = ((math::abs(br1) + math::abs(bi1))
        * (u22abs * (math::abs(ur11r) + math::abs(ui11r))))
    .max(math::abs(br2) + math::abs(bi2));
    if bbnd > 1.0 && u22abs < 1.0 && bbnd >= LALN2_BIGNUM * u22abs {
        scale = 1.0 / bbnd;
        br1 *= scale;
        bi1 *= scale;
        br2 *= scale;
        bi2 *= scale;
    }
    let (xr2, xi2) = ladiv(br2, bi2, ur22, ui22);
    let xr1 = ur11r * br1 - ui11r * bi1 - ur12s * xr2 + ui12s * xi2;
    let xi1 = ui11r * br1 + ur11r * bi1 - ui12s * xr2 - ur12s * xi2;
    let (mut x_re, mut x_im) = if ZSWAP[icmax] {
        ([xr2, xr1], [xi2, xi1])
    } else {
        ([xr1, xr2], [xi1, xi2])
    };
    let mut xnorm = (math::abs(xr1) + math::abs(xi1)).max(math::abs(xr2) + math::abs(xi2));
    if xnorm > 1.0 && cmax > 1.0 && xnorm > LALN2_BIGNUM / cmax {
        let temp = cmax / LALN2_BIGNUM;
        x_re[0] *= temp;
        x_re[1] *= temp;
        x_im[0] *= temp;
        x_im[1] *= temp;
        xnorm *= temp;
        scale *= temp;
    }
    (x_re, x_im, scale, xnorm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve2_real_residual() {
        let a = [[2.0, 1.0], [0.5, 3.0]];
        let (x, s, _) = solve2_real(1e-300, a, [1.0, 2.0], 0.5);
        let r0 = (a[0][0] - 0.5) * x[0] + a[0][1] * x[1] - s * 1.0;
        let r1 = a[1][0] * x[0] + (a[1][1] - 0.5) * x[1] - s * 2.0;
        assert!(r0.abs() < 1e-14 && r1.abs() < 1e-14);
    }

    #[test]
    fn solve2_cplx_residual() {
        let a = [[2.0, 1.0], [0.5, 3.0]];
        let (wr, wi) = (0.5, 0.7);
        let (br, bi) = ([1.0, 2.0], [-1.0, 0.25]);
        let (xr, xi, s, _) = solve2_cplx(1e-300, a, br, bi, wr, wi);
        for r in 0..2 {
            let mut re = -s * br[r];
            let mut im = -s * bi[r];
            for c in 0..2 {
                let d = if r == c { 1.0 } else { 0.0 };
                let (mr, mi) = (a[r][c] - d * wr, -d * wi);
                re += mr * xr[c] - mi * xi[c];
                im += mr * xi[c] + mi * xr[c];
            }
            assert!(re.abs() < 1e-14 && im.abs() < 1e-14, "{re} {im}");
        }
    }
}
