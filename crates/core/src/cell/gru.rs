//! GRU in the reference's "reset before" convention:
//! `r = σ(x W_xr + h W_hr + b_r)`, `z = σ(x W_xz + h W_hz + b_z)`,
//! `n = tanh(x W_xn + (r∘h) W_hn + b_n)`, `F = (1 − z)∘n + z∘h`.
//!
//! Gate blocks r, z, n; one bias row. Cache: `r, z, n` (3H).

use super::{Direction, VjpArgs, Weights};
use crate::linalg::dense::{add_outer, mat_vec, vec_mat};
use crate::scalar::Real;

pub(super) fn step<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    h: &[T],
    h_next: &mut [T],
    cache: &mut [T],
) {
    let gw = 3 * nh;
    let a = &mut cache[..gw];
    a.copy_from_slice(&w.b[..gw]);
    vec_mat(x, w.w_x, gw, gw, a, true);
    vec_mat(h, w.w_h, gw, 2 * nh, a, true);
    for v in a[..2 * nh].iter_mut() {
        *v = v.sigmoid();
    }
    // h_next holds r∘h until it is overwritten with F.
    let (rz, an) = a.split_at_mut(2 * nh);
    for ((rh, &r), &hv) in h_next.iter_mut().zip(&rz[..nh]).zip(h) {
        *rh = r * hv;
    }
    vec_mat(h_next, &w.w_h[2 * nh..], gw, nh, an, true);
    for v in an.iter_mut() {
        *v = v.tanh();
    }
    let z = &rz[nh..];
    for (i, f) in h_next.iter_mut().enumerate() {
        *f = (T::ONE - z[i]) * an[i] + z[i] * h[i];
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn column<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    dir: Direction,
    _x: &[T],
    h: &[T],
    cache: &[T],
    out: &mut [T],
    s: &mut [T],
) {
    let gw = 3 * nh;
    let (r, rest) = cache.split_at(nh);
    let (z, n) = rest.split_at(nh);
    let (dr, s) = s.split_at_mut(nh);
    let (dz, s) = s.split_at_mut(nh);
    let (drh, s) = s.split_at_mut(nh);
    let dan = &mut s[..nh];
    let (row, unit) = match dir {
        Direction::State(j) => (&w.w_h[j * gw..(j + 1) * gw], Some(j)),
        Direction::Input(k) => (&w.w_x[k * gw..(k + 1) * gw], None),
    };
    for i in 0..nh {
        dr[i] = r[i] * (T::ONE - r[i]) * row[i];
        dz[i] = z[i] * (T::ONE - z[i]) * row[nh + i];
        drh[i] = dr[i] * h[i];
    }
    match unit {
        Some(j) => {
            drh[j] += r[j];
            dan.fill(T::ZERO);
        }
        None => dan.copy_from_slice(&row[2 * nh..]),
    }
    vec_mat(drh, &w.w_h[2 * nh..], gw, nh, dan, true);
    for i in 0..nh {
        let dn = (T::ONE - n[i] * n[i]) * dan[i];
        out[i] = dz[i] * (h[i] - n[i]) + (T::ONE - z[i]) * dn;
    }
    if let Some(j) = unit {
        out[j] += z[j];
    }
}

pub(super) fn vjp<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    a: VjpArgs<'_, '_, T>,
    scratch: &mut [T],
) {
    let gw = 3 * nh;
    let (r, rest) = a.cache.split_at(nh);
    let (z, n) = rest.split_at(nh);
    let (d, s) = scratch.split_at_mut(gw);
    let (grh, s) = s.split_at_mut(nh);
    let rh = &mut s[..nh];
    for i in 0..nh {
        d[2 * nh + i] = a.g[i] * (T::ONE - z[i]) * (T::ONE - n[i] * n[i]);
    }
    mat_vec(&w.w_h[2 * nh..], gw, &d[2 * nh..], grh, false);
    for i in 0..nh {
        d[i] = grh[i] * a.h[i] * r[i] * (T::ONE - r[i]);
        d[nh + i] = a.g[i] * (a.h[i] - n[i]) * z[i] * (T::ONE - z[i]);
        rh[i] = r[i] * a.h[i];
    }
    mat_vec(w.w_h, gw, &d[..2 * nh], a.g_h, false);
    for i in 0..nh {
        a.g_h[i] += a.g[i] * z[i] + grh[i] * r[i];
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, gw, d, gx, false);
    }
    if let Some(gwt) = a.g_w {
        add_outer(a.x, d, gwt.w_x, gw);
        add_outer(a.h, &d[..2 * nh], gwt.w_h, gw);
        add_outer(rh, &d[2 * nh..], &mut gwt.w_h[2 * nh..], gw);
        for (b, &dv) in gwt.b.iter_mut().zip(d.iter()) {
            *b += dv;
        }
    }
}
