//! Elman cell: `F = tanh(x W_x + h W_h + b)`.
//!
//! Cache: `F` (H). Jacobian `J = diag(1 − F²) W_hᵀ`; a column costs `O(H)`, the whole `O(H²)`.

use super::{Direction, VjpArgs, Weights, preactivation};
use crate::linalg::dense::{add_outer, mat_vec};
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
    preactivation(w, x, h, nh, h_next);
    for v in h_next.iter_mut() {
        *v = v.tanh();
    }
    cache[..nh].copy_from_slice(&h_next[..nh]);
}

pub(super) fn column<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    dir: Direction,
    cache: &[T],
    out: &mut [T],
    _scratch: &mut [T],
) {
    // ∂F_i/∂u = (1 − F_i²) · (row of W for u)[i]
    let row = match dir {
        Direction::State(j) => &w.w_h[j * nh..(j + 1) * nh],
        Direction::Input(k) => &w.w_x[k * nh..(k + 1) * nh],
    };
    for ((o, &f), &wv) in out.iter_mut().zip(&cache[..nh]).zip(row) {
        *o = (T::ONE - f * f) * wv;
    }
}

pub(super) fn vjp<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    a: VjpArgs<'_, '_, T>,
    scratch: &mut [T],
) {
    let d = &mut scratch[..nh];
    for ((d, &g), &f) in d.iter_mut().zip(a.g).zip(&a.cache[..nh]) {
        *d = g * (T::ONE - f * f);
    }
    mat_vec(w.w_h, nh, d, a.g_h, false);
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, nh, d, gx, false);
    }
    if let Some(gw) = a.g_w {
        add_outer(a.x, d, gw.w_x, nh);
        add_outer(a.h, d, gw.w_h, nh);
        for (b, &dv) in gw.b.iter_mut().zip(d.iter()) {
            *b += dv;
        }
    }
}
