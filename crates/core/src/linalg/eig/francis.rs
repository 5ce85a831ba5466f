//! Francis double-shift QR on an upper Hessenberg matrix (LAPACK's dlahqr) and the
//! standardization of 2×2 blocks (dlanv2).
//!
//! - Deflation: a subdiagonal entry is set to zero when it is below `smlnum`, or when it
//!   passes the Ahues–Tisseur test (LAWN 122), which compares it with the neighbouring
//!   diagonal entries rather than only with `ulp · (|h(k−1,k−1)| + |h(k,k)|)`.
//! - Shifts: the eigenvalues of the trailing 2×2 block (Wilkinson/Francis double shift, or a
//!   single real shift twice when both are real). After 10 and 20 (mod 20) iterations without a
//!   deflation an exceptional shift (LAPACK's `0.75 s + h, −0.4375 s`, from the top and from
//!   the bottom of the active block) breaks cycles such as those of permutation matrices.
//! - Iteration cap: at most `cap` sweeps between two deflations (default
//!   `30 · max(10, ihi − ilo + 1)`, LAPACK's ITMAX), so at most `n · cap` sweeps in all.
//! - With `wantt` the full quasi-triangular Schur form `T` is produced (rows and columns
//!   outside the active window are updated too); otherwise only the active window, which is
//!   all the eigenvalues need. Converged 2×2 blocks with complex eigenvalues are standardized
//!   to `[a b; c a]` with `b·c < 0`; real pairs are split into two 1×1 blocks.

use super::kernels::{
    SAFMIN, ULP, at, copysign, hypot, larfg_small, out_of_range, set, sqrt_abs_prod,
};
use crate::scalar::math;
use crate::split::sub_mut;

/// Exceptional shift every `KEXSH` iterations without a deflation.
const KEXSH: usize = 10;
/// LAPACK's exceptional-shift constants.
const DAT1: f64 = 0.75;
const DAT2: f64 = -0.4375;

/// Default per-deflation sweep cap (LAPACK's ITMAX) for an active block of order `nh`.
pub(super) const fn default_cap(nh: usize) -> usize {
    30 * if nh > 10 { nh } else { 10 }
}

/// QR iteration on rows/columns `ilo..=ihi` of the row-major Hessenberg matrix `h`
/// (everything below the subdiagonal must be zero; rows/columns outside the window must
/// already be triangular).
///
/// Writes the eigenvalues of the window into `wr[ilo..=ihi]`, `wi[ilo..=ihi]` (a complex pair
/// as `+wi` then `−wi`). If `zt` is given, the transformations are accumulated into it,
/// stored transposed (`zt[c * n + r] = Z[r][c]`), on rows `ilo..=ihi` of `Z`.
///
/// Returns the number of sweeps done, or `Err(sweeps)` if some eigenvalue needed more than
/// `cap` sweeps.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn hqr(
    wantt: bool,
    n: usize,
    ilo: usize,
    ihi: usize,
    h: &mut [f64],
    wr: &mut [f64],
    wi: &mut [f64],
    mut zt: Option<&mut [f64]>,
    cap: usize,
) -> Result<usize, usize> {
    // Every index below stays in `ilo..=ihi` (rows and columns of `h`, entries of `wr`, `wi`)
    // by the algorithm's invariants; `at`/`set` and the checked row accessors stand for
    // `h[i]`, which the compiler could not prove in range.
    if ilo == ihi {
        set(wr, ilo, at(h, ilo * n + ilo));
        set(wi, ilo, 0.0);
        return Ok(0);
    }
    let nh = ihi - ilo + 1;
    let smlnum = SAFMIN * (nh as f64 / ULP);
    let mut total = 0usize;
    let mut kdefl = 0usize;
    let (mut i1, mut i2) = (0usize, n - 1);

    // Rows ilo..iend are still active; iend = I + 1 in LAPACK's notation.
    let mut iend = ihi + 1;
    while iend > ilo {
        let i = iend - 1;
        let mut l = ilo;
        let mut its = 0usize;
        loop {
            // Look for a single small subdiagonal element.
            let mut k = i;
            while k > l {
                let hkk1 = math::abs(at(h, k * n + k - 1));
                if hkk1 <= smlnum {
                    break;
                }
                let hkk = at(h, k * n + k);
                let hk1k1 = at(h, (k - 1) * n + k - 1);
                let mut tst = math::abs(hk1k1) + math::abs(hkk);
                if tst == 0.0 {
                    if k >= ilo + 2 {
                        tst += math::abs(at(h, (k - 1) * n + k - 2));
                    }
                    if k < ihi {
                        tst += math::abs(at(h, (k + 1) * n + k));
                    }
                }
                // Ahues & Tisseur's conservative small-subdiagonal criterion.
                if hkk1 <= ULP * tst {
                    let hk1k = math::abs(at(h, (k - 1) * n + k));
                    let ab = hkk1.max(hk1k);
                    let ba = hkk1.min(hk1k);
                    let d = math::abs(hk1k1 - hkk);
                    let aa = math::abs(hkk).max(d);
                    let bb = math::abs(hkk).min(d);
                    let s = aa + ab;
                    if ba * (ab / s) <= smlnum.max(ULP * (bb * (aa / s))) {
                        break;
                    }
                }
                k -= 1;
            }
            l = k;
            if l > ilo {
                set(h, l * n + l - 1, 0.0);
            }
            // A 1×1 or 2×2 block has split off.
            if l + 1 >= i {
                break;
            }
            if its >= cap {
                return Err(total);
            }
            its += 1;
            total += 1;
            kdefl += 1;
            if !wantt {
                i1 = l;
                i2 = i;
            }

            // Shifts.
            let (mut h11, mut h12, mut h21, mut h22);
            if kdefl.is_multiple_of(2 * KEXSH) {
                let s = math::abs(at(h, i * n + i - 1)) + math::abs(at(h, (i - 1) * n + i - 2));
                h11 = DAT1 * s + at(h, i * n + i);
                h12 = DAT2 * s;
                h21 = s;
                h22 = h11;
            } else if kdefl.is_multiple_of(KEXSH) {
                let s = math::abs(at(h, (l + 1) * n + l)) + math::abs(at(h, (l + 2) * n + l + 1));
                h11 = DAT1 * s + at(h, l * n + l);
                h12 = DAT2 * s;
                h21 = s;
                h22 = h11;
            } else {
                h11 = at(h, (i - 1) * n + i - 1);
                h21 = at(h, i * n + i - 1);
                h12 = at(h, (i - 1) * n + i);
                h22 = at(h, i * n + i);
            }
            let s = math::abs(h11) + math::abs(h12) + math::abs(h21) + math::abs(h22);
            let (rt1r, rt1i, rt2r, rt2i);
            if s == 0.0 {
                rt1r = 0.0;
                rt1i = 0.0;
                rt2r = 0.0;
                rt2i = 0.0;
            } else {
                h11 /= s;
                h21 /= s;
                h12 /= s;
                h22 /= s;
                let tr = (h11 + h22) / 2.0;
                let det = (h11 - tr) * (h22 - tr) - h12 * h21;
                let rtdisc = math::sqrt(math::abs(det));
                if det >= 0.0 {
                    // Complex conjugate shifts.
                    rt1r = tr * s;
                    rt2r = rt1r;
                    rt1i = rtdisc * s;
                    rt2i = -rt1i;
                } else {
                    // Real shifts: use the one closer to h22 twice.
                    let a = tr + rtdisc;
                    let b = tr - rtdisc;
                    let r = if math::abs(a - h22) <= math::abs(b - h22) {
                        a * s
                    } else {
                        b * s
                    };
                    rt1r = r;
                    rt2r = r;
                    rt1i = 0.0;
                    rt2i = 0.0;
                }
            }

            // Look for two consecutive small subdiagonal elements.
            let mut m = i - 2;
            let mut v = [0.0f64; 3];
            loop {
                let hmm = at(h, m * n + m);
                let h21s = at(h, (m + 1) * n + m);
                let s = math::abs(hmm - rt2r) + math::abs(rt2i) + math::abs(h21s);
                let h21s = h21s / s;
                v[0] = h21s * at(h, m * n + m + 1) + (hmm - rt1r) * ((hmm - rt2r) / s)
                    - rt1i * (rt2i / s);
                v[1] = h21s * (hmm + at(h, (m + 1) * n + m + 1) - rt1r - rt2r);
                v[2] = h21s * at(h, (m + 2) * n + m + 1);
                let s = math::abs(v[0]) + math::abs(v[1]) + math::abs(v[2]);
                v[0] /= s;
                v[1] /= s;
                v[2] /= s;
                if m == l {
                    break;
                }
                let h00 = math::abs(at(h, m * n + m - 1)) * (math::abs(v[1]) + math::abs(v[2]));
                let h01 = ULP
                    * math::abs(v[0])
                    * (math::abs(at(h, (m - 1) * n + m - 1))
                        + math::abs(hmm)
                        + math::abs(at(h, (m + 1) * n + m + 1)));
                if h00 <= h01 {
                    break;
                }
                m -= 1;
            }

            // Double-shift QR sweep: chase the bulge from row m to the bottom.
            for k in m..i {
                let nr = if i - k + 1 < 3 { i - k + 1 } else { 3 };
                if k > m {
                    for (t, vt) in v.iter_mut().enumerate().take(nr) {
                        *vt = at(h, (k + t) * n + k - 1);
                    }
                }
                if nr == 2 {
                    v[2] = 0.0;
                }
                let t1 = larfg_small(&mut v, nr);
                let beta = v[0];
                if k > m {
                    set(h, k * n + k - 1, beta);
                    set(h, (k + 1) * n + k - 1, 0.0);
                    if k + 1 < i {
                        set(h, (k + 2) * n + k - 1, 0.0);
                    }
                } else if m > l {
                    // Use this instead of negation, in case v(2) and v(3) underflow.
                    let x = at(h, k * n + k - 1);
                    set(h, k * n + k - 1, x * (1.0 - t1));
                }
                let v2 = v[1];
                let t2 = t1 * v2;
                if nr == 3 {
                    let v3 = v[2];
                    let t3 = t1 * v3;
                    let r = Refl3 { v2, v3, t1, t2, t3 };
                    // From the left: rows k..k+2, columns k..=i2.
                    r.rows(h, n, k, k, i2 + 1);
                    // From the right: columns k..k+2, rows i1..=min(k+3, i).
                    let jend = if k + 3 < i { k + 4 } else { i + 1 };
                    r.cols(h, n, i1, jend, k);
                    if let Some(zt) = zt.as_deref_mut() {
                        r.rows(zt, n, k, ilo, ihi + 1);
                    }
                } else if nr == 2 {
                    let r = Refl2 { v2, t1, t2 };
                    r.rows(h, n, k, k, i2 + 1);
                    r.cols(h, n, i1, i + 1, k);
                    if let Some(zt) = zt.as_deref_mut() {
                        r.rows(zt, n, k, ilo, ihi + 1);
                    }
                }
            }
        }

        if l == i {
            // One real eigenvalue has converged.
            set(wr, i, at(h, i * n + i));
            set(wi, i, 0.0);
        } else {
            // A 2×2 block has converged: standardize it.
            let b = Lanv2::new(
                at(h, (i - 1) * n + i - 1),
                at(h, (i - 1) * n + i),
                at(h, i * n + i - 1),
                at(h, i * n + i),
            );
            set(h, (i - 1) * n + i - 1, b.a);
            set(h, (i - 1) * n + i, b.b);
            set(h, i * n + i - 1, b.c);
            set(h, i * n + i, b.d);
            set(wr, i - 1, b.rt1r);
            set(wi, i - 1, b.rt1i);
            set(wr, i, b.rt2r);
            set(wi, i, b.rt2i);
            let (cs, sn) = (b.cs, b.sn);
            if wantt {
                // Rows i-1, i in columns i+1..=i2.
                if i2 > i {
                    rotate_rows(h, n, i - 1, i + 1, i2 + 1, cs, sn);
                }
                // Columns i-1, i in rows i1..i-1 (exclusive).
                for j in i1..i - 1 {
                    match sub_mut(h, j * n + i - 1, 2) {
                        Some([x, y]) => {
                            let t = cs * *x + sn * *y;
                            *y = cs * *y - sn * *x;
                            *x = t;
                        }
                        _ => out_of_range(),
                    }
                }
            }
            if let Some(zt) = zt.as_deref_mut() {
                rotate_rows(zt, n, i - 1, ilo, ihi + 1, cs, sn);
            }
        }
        kdefl = 0;
        iend = l;
    }
    Ok(total)
}

/// The plane rotation `[cs sn; −sn cs]` from the left on rows `r`, `r + 1` (row stride `n`)
/// of `m`, columns `c0..c1`.
fn rotate_rows(m: &mut [f64], n: usize, r: usize, c0: usize, c1: usize, cs: f64, sn: f64) {
    let Some((r0, r1)) = rows2(m, n, r, c0, c1) else {
        return out_of_range();
    };
    for (x, y) in r0.iter_mut().zip(r1.iter_mut()) {
        let t = cs * *x + sn * *y;
        *y = cs * *y - sn * *x;
        *x = t;
    }
}

/// Columns `c0..c1` of rows `r`, `r + 1` of the row-major `m` (row stride `n`).
#[inline(always)]
fn rows2(
    m: &mut [f64],
    n: usize,
    r: usize,
    c0: usize,
    c1: usize,
) -> Option<(&mut [f64], &mut [f64])> {
    let (r0, rest) = m.get_mut(r * n..)?.split_at_mut_checked(n)?;
    Some((r0.get_mut(c0..c1)?, rest.get_mut(c0..c1)?))
}

/// Columns `c0..c1` of rows `r`, `r + 1`, `r + 2` of the row-major `m` (row stride `n`).
#[inline(always)]
#[allow(clippy::type_complexity)]
fn rows3(
    m: &mut [f64],
    n: usize,
    r: usize,
    c0: usize,
    c1: usize,
) -> Option<(&mut [f64], &mut [f64], &mut [f64])> {
    let (r0, rest) = m.get_mut(r * n..)?.split_at_mut_checked(n)?;
    let (r1, rest) = rest.split_at_mut_checked(n)?;
    Some((
        r0.get_mut(c0..c1)?,
        r1.get_mut(c0..c1)?,
        rest.get_mut(c0..c1)?,
    ))
}

/// A reflector of order 3, `I − t1·[1 v2 v3]ᵀ[1 v2 v3]` (`t2 = t1·v2`, `t3 = t1·v3`).
struct Refl3 {
    v2: f64,
    v3: f64,
    t1: f64,
    t2: f64,
    t3: f64,
}

impl Refl3 {
    /// Applies it from the left to rows `r..r + 3` of `m` (row stride `n`), columns
    /// `c0..c1`.
    #[inline(always)]
    fn rows(&self, m: &mut [f64], n: usize, r: usize, c0: usize, c1: usize) {
        let Some((r0, r1, r2)) = rows3(m, n, r, c0, c1) else {
            return out_of_range();
        };
        if c1 - c0 >= 8 {
            self.rows3(r0, r1, r2);
        } else {
            for ((a, b), c) in r0.iter_mut().zip(r1.iter_mut()).zip(r2.iter_mut()) {
                let sum = *a + self.v2 * *b + self.v3 * *c;
                *a -= sum * self.t1;
                *b -= sum * self.t2;
                *c -= sum * self.t3;
            }
        }
    }

    /// The kernel of [`Refl3::rows`]: as a function of three distinct `&mut` slices (the
    /// compiler keeps knowing they do not alias once it is inlined), it vectorizes.
    #[inline(always)]
    fn rows3(&self, r0: &mut [f64], r1: &mut [f64], r2: &mut [f64]) {
        let len = r0.len().min(r1.len()).min(r2.len());
        let (r0, r1, r2) = (&mut r0[..len], &mut r1[..len], &mut r2[..len]);
        for j in 0..len {
            let sum = r0[j] + self.v2 * r1[j] + self.v3 * r2[j];
            r0[j] -= sum * self.t1;
            r1[j] -= sum * self.t2;
            r2[j] -= sum * self.t3;
        }
    }

    /// Applies it from the right to columns `c..c + 3` of `m` (row stride `n`), rows
    /// `r0..r1`.
    #[inline(always)]
    fn cols(&self, m: &mut [f64], n: usize, r0: usize, r1: usize, c: usize) {
        let Some(m) = m.get_mut(r0 * n + c..) else {
            return out_of_range();
        };
        if n == 0 {
            return;
        }
        for row in m.chunks_mut(n).take(r1 - r0) {
            if let [a, b, c, ..] = row {
                let sum = *a + self.v2 * *b + self.v3 * *c;
                *a -= sum * self.t1;
                *b -= sum * self.t2;
                *c -= sum * self.t3;
            }
        }
    }
}

/// A reflector of order 2, `I − t1·[1 v2]ᵀ[1 v2]` (`t2 = t1·v2`).
struct Refl2 {
    v2: f64,
    t1: f64,
    t2: f64,
}

impl Refl2 {
    /// As [`Refl3::rows`], for two rows.
    #[inline(always)]
    fn rows(&self, m: &mut [f64], n: usize, r: usize, c0: usize, c1: usize) {
        let Some((r0, r1)) = rows2(m, n, r, c0, c1) else {
            return out_of_range();
        };
        if c1 - c0 >= 8 {
            self.rows2(r0, r1);
        } else {
            for (a, b) in r0.iter_mut().zip(r1.iter_mut()) {
                let sum = *a + self.v2 * *b;
                *a -= sum * self.t1;
                *b -= sum * self.t2;
            }
        }
    }

    /// The kernel of [`Refl2::rows`] (see [`Refl3::rows3`]).
    #[inline(always)]
    fn rows2(&self, r0: &mut [f64], r1: &mut [f64]) {
        let len = r0.len().min(r1.len());
        let (r0, r1) = (&mut r0[..len], &mut r1[..len]);
        for j in 0..len {
            let sum = r0[j] + self.v2 * r1[j];
            r0[j] -= sum * self.t1;
            r1[j] -= sum * self.t2;
        }
    }

    /// As [`Refl3::cols`], for two columns.
    #[inline(always)]
    fn cols(&self, m: &mut [f64], n: usize, r0: usize, r1: usize, c: usize) {
        let Some(m) = m.get_mut(r0 * n + c..) else {
            return out_of_range();
        };
        if n == 0 {
            return;
        }
        for row in m.chunks_mut(n).take(r1 - r0) {
            if let [a, b, ..] = row {
                let sum = *a + self.v2 * *b;
                *a -= sum * self.t1;
                *b -= sum * self.t2;
            }
        }
    }
}

/// Schur factorization of a real 2×2 block in standardized form (LAPACK's dlanv2):
/// `[a b; c d] = [cs −sn; sn cs] [aa bb; cc dd] [cs sn; −sn cs]` where either `cc = 0`
/// (real eigenvalues `aa`, `dd`) or `aa = dd` and `bb·cc < 0` (complex pair `aa ± √(bb·cc)`).
pub(super) struct Lanv2 {
    /// Standardized entries.
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
    /// Eigenvalues (`rt1i ≥ 0`, `rt2i = −rt1i`).
    pub rt1r: f64,
    pub rt1i: f64,
    pub rt2r: f64,
    pub rt2i: f64,
    /// The rotation.
    pub cs: f64,
    pub sn: f64,
}

impl Lanv2 {
    /// Standardizes `[a b; c d]`.
    pub(super) fn new(mut a: f64, mut b: f64, mut c: f64, mut d: f64) -> Self {
        const MULTPL: f64 = 4.0;
        let eps = ULP;
        let (mut cs, mut sn);
        if c == 0.0 {
            cs = 1.0;
            sn = 0.0;
        } else if b == 0.0 {
            // Swap rows and columns.
            cs = 0.0;
            sn = 1.0;
            core::mem::swap(&mut a, &mut d);
            b = -c;
            c = 0.0;
        } else if a - d == 0.0 && sign(b) != sign(c) {
            cs = 1.0;
            sn = 0.0;
        } else {
            let temp = a - d;
            let mut p = 0.5 * temp;
            let bcmax = math::abs(b).max(math::abs(c));
            let bcmis = math::abs(b).min(math::abs(c)) * sign(b) * sign(c);
            let scale = math::abs(p).max(bcmax);
            let mut z = (p / scale) * p + (bcmax / scale) * bcmis;
            if z >= MULTPL * eps {
                // Real eigenvalues: compute a and d.
                z = p + copysign(sqrt_abs_prod(scale, z), p);
                a = d + z;
                d -= (bcmax / z) * bcmis;
                let tau = hypot(c, z);
                cs = z / tau;
                sn = c / tau;
                b -= c;
                c = 0.0;
            } else {
                // Complex eigenvalues, or real (almost) equal ones: make the diagonal equal.
                let sigma = b + c;
                let tau = hypot(sigma, temp);
                cs = math::sqrt(0.5 * (1.0 + math::abs(sigma) / tau));
                sn = -(p / (tau * cs)) * sign(sigma);
                // [aa bb; cc dd] = [a b; c d] [cs −sn; sn cs]
                let aa = a * cs + b * sn;
                let bb = -a * sn + b * cs;
                let cc = c * cs + d * sn;
                let dd = -c * sn + d * cs;
                // [a b; c d] = [cs sn; −sn cs] [aa bb; cc dd]
                a = aa * cs + cc * sn;
                b = bb * cs + dd * sn;
                c = -aa * sn + cc * cs;
                d = -bb * sn + dd * cs;
                let temp = 0.5 * (a + d);
                a = temp;
                d = temp;
                if c != 0.0 {
                    if b != 0.0 {
                        if sign(b) == sign(c) {
                            // Real eigenvalues: reduce to upper triangular form.
                            let sab = math::sqrt(math::abs(b));
                            let sac = math::sqrt(math::abs(c));
                            p = copysign(sab * sac, c);
                            let tau = 1.0 / math::sqrt(math::abs(b + c));
                            a = temp + p;
                            d = temp - p;
                            b -= c;
                            c = 0.0;
                            let cs1 = sab * tau;
                            let sn1 = sac * tau;
                            let t = cs * cs1 - sn * sn1;
                            sn = cs * sn1 + sn * cs1;
                            cs = t;
                        }
                    } else {
                        b = -c;
                        c = 0.0;
                        let t = cs;
                        cs = -sn;
                        sn = t;
                    }
                }
            }
        }
        let (rt1i, rt2i) = if c == 0.0 {
            (0.0, 0.0)
        } else {
            let r = sqrt_abs_prod(b, c);
            (r, -r)
        };
        Lanv2 {
            a,
            b,
            c,
            d,
            rt1r: a,
            rt1i,
            rt2r: d,
            rt2i,
            cs,
            sn,
        }
    }
}

/// Fortran's `SIGN(1, x)`: `+1` for `x ≥ +0`, `−1` for negative `x` (including `−0`).
#[inline]
fn sign(x: f64) -> f64 {
    copysign(1.0, x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_lanv2(a: f64, b: f64, c: f64, d: f64) {
        let r = Lanv2::new(a, b, c, d);
        // Reconstruct [cs −sn; sn cs] T [cs sn; −sn cs].
        let (cs, sn) = (r.cs, r.sn);
        let q = [[cs, -sn], [sn, cs]];
        let t = [[r.a, r.b], [r.c, r.d]];
        let mut m = [[0.0; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..2 {
                    for l in 0..2 {
                        m[i][j] += q[i][k] * t[k][l] * q[j][l];
                    }
                }
            }
        }
        let orig = [[a, b], [c, d]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((m[i][j] - orig[i][j]).abs() < 1e-14, "{m:?} vs {orig:?}");
            }
        }
        if r.c != 0.0 {
            assert_eq!(r.a, r.d);
            assert!(r.b * r.c < 0.0);
            assert!(r.rt1i > 0.0);
        }
        // Trace and determinant preserved.
        let tr = r.rt1r + r.rt2r;
        assert!((tr - (a + d)).abs() < 1e-14);
    }

    #[test]
    fn lanv2_cases() {
        check_lanv2(1.0, 2.0, 3.0, 4.0);
        check_lanv2(1.0, -2.0, 3.0, 4.0);
        check_lanv2(0.0, 1.0, -1.0, 0.0);
        check_lanv2(2.0, 0.0, 1.0, 3.0);
        check_lanv2(2.0, 1.0, 0.0, 3.0);
        check_lanv2(1.0, 1e-9, -1e-9, 1.0);
        check_lanv2(1.0, 5.0, 1e-20, 1.0);
    }
}
