//! GRU in PyTorch's "reset after" convention (gate order r, z, n):
//! `r = σ(x W_xr + b_ir + h W_hr + b_hr)`, `z = σ(…)`,
//! `n = tanh(x W_xn + b_in + r∘(h W_hn + b_hn))`, `F = (1 − z)∘n + z∘h`.
//!
//! Bias rows: `b_ih`, `b_hh`. Cache: `r, z, n, hn = h W_hn + b_hn` (4H). A Jacobian column
//! costs `O(H)` because `W_hn` acts on `h` directly.

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
    let (b_ih, b_hh) = w.b.split_at(gw);
    let (a, hn) = cache[..4 * nh].split_at_mut(gw);
    a.copy_from_slice(b_ih);
    for (v, &b) in a[..2 * nh].iter_mut().zip(b_hh) {
        *v += b;
    }
    hn.copy_from_slice(&b_hh[2 * nh..]);
    vec_mat(x, w.w_x, gw, gw, a, true);
    vec_mat(h, w.w_h, gw, 2 * nh, a, true);
    vec_mat(h, &w.w_h[2 * nh..], gw, nh, hn, true);
    let (rz, an) = a.split_at_mut(2 * nh);
    for v in rz.iter_mut() {
        *v = v.sigmoid();
    }
    let (r, z) = rz.split_at(nh);
    for i in 0..nh {
        an[i] = (an[i] + r[i] * hn[i]).tanh();
        h_next[i] = (T::ONE - z[i]) * an[i] + z[i] * h[i];
    }
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
) {
    let gw = 3 * nh;
    let (r, rest) = cache.split_at(nh);
    let (z, rest) = rest.split_at(nh);
    let (n, hn) = rest.split_at(nh);
    let (row, unit) = match dir {
        Direction::State(j) => (&w.w_h[j * gw..(j + 1) * gw], Some(j)),
        Direction::Input(k) => (&w.w_x[k * gw..(k + 1) * gw], None),
    };
    for i in 0..nh {
        let dr = r[i] * (T::ONE - r[i]) * row[i];
        let dz = z[i] * (T::ONE - z[i]) * row[nh + i];
        let dan = match unit {
            Some(_) => dr * hn[i] + r[i] * row[2 * nh + i],
            None => row[2 * nh + i] + dr * hn[i],
        };
        let dn = (T::ONE - n[i] * n[i]) * dan;
        out[i] = dz * (h[i] - n[i]) + (T::ONE - z[i]) * dn;
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
    let (z, rest) = rest.split_at(nh);
    let (n, hn) = rest.split_at(nh);
    let (dx, s) = scratch.split_at_mut(gw);
    let dh = &mut s[..gw];
    for i in 0..nh {
        let dn = a.g[i] * (T::ONE - z[i]) * (T::ONE - n[i] * n[i]);
        let dr = dn * hn[i] * r[i] * (T::ONE - r[i]);
        let dz = a.g[i] * (a.h[i] - n[i]) * z[i] * (T::ONE - z[i]);
        dx[i] = dr;
        dx[nh + i] = dz;
        dx[2 * nh + i] = dn;
        dh[i] = dr;
        dh[nh + i] = dz;
        dh[2 * nh + i] = dn * r[i];
    }
    mat_vec(w.w_h, gw, dh, a.g_h, false);
    for i in 0..nh {
        a.g_h[i] += a.g[i] * z[i];
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, gw, dx, gx, false);
    }
    if let Some(gwt) = a.g_w {
        add_outer(a.x, dx, gwt.w_x, gw);
        add_outer(a.h, dh, gwt.w_h, gw);
        let (b_ih, b_hh) = gwt.b.split_at_mut(gw);
        for i in 0..gw {
            b_ih[i] += dx[i];
            b_hh[i] += dh[i];
        }
    }
}
