//! GRU in the reference's "reset before" convention:
//! `r = σ(x W_xr + h W_hr + b_r)`, `z = σ(x W_xz + h W_hz + b_z)`,
//! `n = tanh(x W_xn + (r∘h) W_hn + b_n)`, `F = (1 − z)∘n + z∘h`.
//!
//! Gate blocks r, z, n; one bias row. Cache: `r, z, n` (3H).

use super::{Direction, VjpArgs, Weights};
use crate::linalg::dense::{add_outer, mat_vec, vec_mat};
use crate::scalar::Real;
use crate::split::{sub, take, take_mut};

pub(super) fn step<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    h: &[T],
    h_next: &mut [T],
    cache: &mut [T],
) -> Option<()> {
    let gw = 3 * nh;
    let (h, h_next) = (h.get(..nh)?, h_next.get_mut(..nh)?);
    let a = cache.get_mut(..gw)?;
    a.copy_from_slice(w.b.get(..gw)?);
    vec_mat(x, w.w_x, gw, gw, a, true);
    vec_mat(h, w.w_h, gw, 2 * nh, a, true);
    // h_next holds r∘h until it is overwritten with F.
    let (rz, an) = a.split_at_mut_checked(2 * nh)?;
    for v in rz.iter_mut() {
        *v = v.sigmoid();
    }
    let (r, z) = rz.split_at_checked(nh)?;
    for ((rh, &r), &hv) in h_next.iter_mut().zip(r).zip(h) {
        *rh = r * hv;
    }
    vec_mat(h_next, w.w_h.get(2 * nh..)?, gw, nh, an, true);
    for v in an.iter_mut() {
        *v = v.tanh();
    }
    let (z, an) = (z.get(..nh)?, an.get(..nh)?);
    for i in 0..nh {
        h_next[i] = (T::ONE - z[i]) * an[i] + z[i] * h[i];
    }
    Some(())
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
) -> Option<()> {
    let gw = 3 * nh;
    let mut c = cache;
    let (r, z, n) = (take(&mut c, nh)?, take(&mut c, nh)?, take(&mut c, nh)?);
    let (h, out) = (h.get(..nh)?, out.get_mut(..nh)?);
    let mut s = s;
    let (dr, dz) = (take_mut(&mut s, nh)?, take_mut(&mut s, nh)?);
    let (drh, dan) = (take_mut(&mut s, nh)?, take_mut(&mut s, nh)?);
    let (mut row, unit) = match dir {
        Direction::State(j) => (sub(w.w_h, j * gw, gw)?, Some(j)),
        Direction::Input(k) => (sub(w.w_x, k * gw, gw)?, None),
    };
    let (row_r, row_z, row_n) = (take(&mut row, nh)?, take(&mut row, nh)?, row);
    for i in 0..nh {
        dr[i] = r[i] * (T::ONE - r[i]) * row_r[i];
        dz[i] = z[i] * (T::ONE - z[i]) * row_z[i];
        drh[i] = dr[i] * h[i];
    }
    match unit {
        Some(j) => {
            *drh.get_mut(j)? += *r.get(j)?;
            dan.fill(T::ZERO);
        }
        None => dan.copy_from_slice(row_n.get(..nh)?),
    }
    vec_mat(drh, w.w_h.get(2 * nh..)?, gw, nh, dan, true);
    for i in 0..nh {
        let dn = (T::ONE - n[i] * n[i]) * dan[i];
        out[i] = dz[i] * (h[i] - n[i]) + (T::ONE - z[i]) * dn;
    }
    if let Some(j) = unit {
        *out.get_mut(j)? += *z.get(j)?;
    }
    Some(())
}

pub(super) fn vjp<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    a: VjpArgs<'_, '_, T>,
    scratch: &mut [T],
) -> Option<()> {
    let gw = 3 * nh;
    let mut c = a.cache;
    let (r, z, n) = (take(&mut c, nh)?, take(&mut c, nh)?, take(&mut c, nh)?);
    let (g, h) = (a.g.get(..nh)?, a.h.get(..nh)?);
    let mut s = scratch;
    let d = take_mut(&mut s, gw)?;
    let (grh, rh) = (take_mut(&mut s, nh)?, take_mut(&mut s, nh)?);
    let (d_rz, d_n) = d.split_at_mut_checked(2 * nh)?;
    let d_n = d_n.get_mut(..nh)?;
    for i in 0..nh {
        d_n[i] = g[i] * (T::ONE - z[i]) * (T::ONE - n[i] * n[i]);
    }
    mat_vec(w.w_h.get(2 * nh..)?, gw, d_n, grh, false);
    let (d_r, d_z) = d_rz.split_at_mut_checked(nh)?;
    let d_z = d_z.get_mut(..nh)?;
    for i in 0..nh {
        d_r[i] = grh[i] * h[i] * r[i] * (T::ONE - r[i]);
        d_z[i] = g[i] * (h[i] - n[i]) * z[i] * (T::ONE - z[i]);
        rh[i] = r[i] * h[i];
    }
    let (d_rz, d_n) = d.split_at_checked(2 * nh)?;
    mat_vec(w.w_h, gw, d_rz, a.g_h, false);
    let g_h = a.g_h.get_mut(..nh)?;
    for i in 0..nh {
        g_h[i] += g[i] * z[i] + grh[i] * r[i];
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, gw, d, gx, false);
    }
    if let Some(gwt) = a.g_w {
        add_outer(a.x, d, gwt.w_x, gw);
        add_outer(h, d_rz, gwt.w_h, gw);
        add_outer(rh, d_n, gwt.w_h.get_mut(2 * nh..)?, gw);
        for (b, &dv) in gwt.b.iter_mut().zip(d.iter()) {
            *b += dv;
        }
    }
    Some(())
}
