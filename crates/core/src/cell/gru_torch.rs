//! GRU in PyTorch's "reset after" convention (gate order r, z, n):
//! `r = σ(x W_xr + b_ir + h W_hr + b_hr)`, `z = σ(…)`,
//! `n = tanh(x W_xn + b_in + r∘(h W_hn + b_hn))`, `F = (1 − z)∘n + z∘h`.
//!
//! Bias rows: `b_ih`, `b_hh`. Cache: `r, z, n, hn = h W_hn + b_hn` (4H). A Jacobian column
//! costs `O(H)` because `W_hn` acts on `h` directly.

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
    let (b_ih, b_hh) = w.b.split_at_checked(gw)?;
    let (a, hn) = cache.get_mut(..4 * nh)?.split_at_mut_checked(gw)?;
    let hn = hn.get_mut(..nh)?;
    a.copy_from_slice(b_ih);
    for (v, &b) in a.iter_mut().take(2 * nh).zip(b_hh) {
        *v += b;
    }
    hn.copy_from_slice(sub(b_hh, 2 * nh, nh)?);
    vec_mat(x, w.w_x, gw, gw, a, true);
    vec_mat(h, w.w_h, gw, 2 * nh, a, true);
    vec_mat(h, w.w_h.get(2 * nh..)?, gw, nh, hn, true);
    let (rz, an) = a.split_at_mut_checked(2 * nh)?;
    for v in rz.iter_mut() {
        *v = v.sigmoid();
    }
    let (r, z) = rz.split_at_checked(nh)?;
    let (z, an) = (z.get(..nh)?, an.get_mut(..nh)?);
    for i in 0..nh {
        an[i] = (an[i] + r[i] * hn[i]).tanh();
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
    h: &[T],
    cache: &[T],
    out: &mut [T],
    _s: &mut [T],
) -> Option<()> {
    let gw = 3 * nh;
    let mut c = cache;
    let (r, z) = (take(&mut c, nh)?, take(&mut c, nh)?);
    let (n, hn) = (take(&mut c, nh)?, take(&mut c, nh)?);
    let (h, out) = (h.get(..nh)?, out.get_mut(..nh)?);
    let (mut row, unit) = match dir {
        Direction::State(j) => (sub(w.w_h, j * gw, gw)?, Some(j)),
        Direction::Input(k) => (sub(w.w_x, k * gw, gw)?, None),
    };
    let (row_r, row_z, row_n) = (
        take(&mut row, nh)?,
        take(&mut row, nh)?,
        take(&mut row, nh)?,
    );
    for i in 0..nh {
        let dr = r[i] * (T::ONE - r[i]) * row_r[i];
        let dz = z[i] * (T::ONE - z[i]) * row_z[i];
        let dan = match unit {
            Some(_) => dr * hn[i] + r[i] * row_n[i],
            None => row_n[i] + dr * hn[i],
        };
        let dn = (T::ONE - n[i] * n[i]) * dan;
        out[i] = dz * (h[i] - n[i]) + (T::ONE - z[i]) * dn;
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
    let (r, z) = (take(&mut c, nh)?, take(&mut c, nh)?);
    let (n, hn) = (take(&mut c, nh)?, take(&mut c, nh)?);
    let (g, h) = (a.g.get(..nh)?, a.h.get(..nh)?);
    let mut s = scratch;
    let (dx, dh) = (take_mut(&mut s, gw)?, take_mut(&mut s, gw)?);
    {
        let mut x = &mut *dx;
        let (dx_r, dx_z, dx_n) = (
            take_mut(&mut x, nh)?,
            take_mut(&mut x, nh)?,
            take_mut(&mut x, nh)?,
        );
        let mut y = &mut *dh;
        let (dh_r, dh_z, dh_n) = (
            take_mut(&mut y, nh)?,
            take_mut(&mut y, nh)?,
            take_mut(&mut y, nh)?,
        );
        for i in 0..nh {
            let dn = g[i] * (T::ONE - z[i]) * (T::ONE - n[i] * n[i]);
            let dr = dn * hn[i] * r[i] * (T::ONE - r[i]);
            let dz = g[i] * (h[i] - n[i]) * z[i] * (T::ONE - z[i]);
            dx_r[i] = dr;
            dx_z[i] = dz;
            dx_n[i] = dn;
            dh_r[i] = dr;
            dh_z[i] = dz;
            dh_n[i] = dn * r[i];
        }
    }
    mat_vec(w.w_h, gw, dh, a.g_h, false);
    let g_h = a.g_h.get_mut(..nh)?;
    for i in 0..nh {
        g_h[i] += g[i] * z[i];
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, gw, dx, gx, false);
    }
    if let Some(gwt) = a.g_w {
        add_outer(a.x, dx, gwt.w_x, gw);
        add_outer(h, dh, gwt.w_h, gw);
        let (b_ih, b_hh) = gwt.b.split_at_mut_checked(gw)?;
        for ((bi, bh), (&x, &y)) in b_ih
            .iter_mut()
            .zip(b_hh.iter_mut())
            .zip(dx.iter().zip(dh.iter()))
        {
            *bi += x;
            *bh += y;
        }
    }
    Some(())
}
