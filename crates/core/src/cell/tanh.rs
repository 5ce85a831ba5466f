//! Elman cell: `F = tanh(x W_x + h W_h + b)`.
//!
//! Cache: `F` (H). Jacobian `J = diag(1 − F²) W_hᵀ`; a column costs `O(H)`, the whole `O(H²)`.

use super::{Direction, VjpArgs, Weights, preactivation};
use crate::linalg::dense::{add_outer, mat_vec};
use crate::scalar::Real;
use crate::split::sub;

pub(super) fn step<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    h: &[T],
    h_next: &mut [T],
    cache: &mut [T],
) -> Option<()> {
    let h_next = h_next.get_mut(..nh)?;
    preactivation(w, x, h, nh, h_next)?;
    for v in h_next.iter_mut() {
        *v = v.tanh();
    }
    cache.get_mut(..nh)?.copy_from_slice(h_next);
    Some(())
}

pub(super) fn column<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    dir: Direction,
    cache: &[T],
    out: &mut [T],
    _scratch: &mut [T],
) -> Option<()> {
    // ∂F_i/∂u = (1 − F_i²) · (row of W for u)[i]
    let row = match dir {
        Direction::State(j) => sub(w.w_h, j * nh, nh)?,
        Direction::Input(k) => sub(w.w_x, k * nh, nh)?,
    };
    for ((o, &f), &wv) in out.iter_mut().zip(cache.get(..nh)?).zip(row) {
        *o = (T::ONE - f * f) * wv;
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
    let d = scratch.get_mut(..nh)?;
    for ((d, &g), &f) in d.iter_mut().zip(a.g).zip(a.cache.get(..nh)?) {
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
    Some(())
}
