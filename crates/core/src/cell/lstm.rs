//! LSTM (PyTorch layout, gate order i, f, g, o) on the state `[h, c]`:
//! `a = x W_x + h W_h + b_ih + b_hh`, `c' = f∘c + i∘g`, `h' = o∘tanh(c')`.
//!
//! Cache: `i, f, g, o, c', tanh(c')` (6H). A Jacobian column costs `O(H)`.

use super::{Direction, VjpArgs, Weights, preactivation};
use crate::linalg::dense::{add_outer, mat_vec};
use crate::scalar::Real;

pub(super) fn step<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    state: &[T],
    next: &mut [T],
    cache: &mut [T],
) {
    let gw = 4 * nh;
    let (h, c) = state.split_at(nh);
    let (a, rest) = cache[..6 * nh].split_at_mut(gw);
    preactivation(w, x, h, gw, a);
    let (cn, tc) = rest.split_at_mut(nh);
    for k in 0..nh {
        let i = a[k].sigmoid();
        let f = a[nh + k].sigmoid();
        let g = a[2 * nh + k].tanh();
        let o = a[3 * nh + k].sigmoid();
        a[k] = i;
        a[nh + k] = f;
        a[2 * nh + k] = g;
        a[3 * nh + k] = o;
        cn[k] = f * c[k] + i * g;
        tc[k] = cn[k].tanh();
        next[k] = o * tc[k];
        next[nh + k] = cn[k];
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn column<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    dir: Direction,
    state: &[T],
    cache: &[T],
    out: &mut [T],
    _s: &mut [T],
) {
    let gw = 4 * nh;
    let c = &state[nh..];
    let (gates, rest) = cache.split_at(gw);
    let tc = &rest[nh..2 * nh];
    let (i, f, g, o) = (
        &gates[..nh],
        &gates[nh..2 * nh],
        &gates[2 * nh..3 * nh],
        &gates[3 * nh..],
    );
    let row = match dir {
        Direction::State(j) if j < nh => Some(&w.w_h[j * gw..(j + 1) * gw]),
        Direction::State(_) => None,
        Direction::Input(k) => Some(&w.w_x[k * gw..(k + 1) * gw]),
    };
    match row {
        Some(row) => {
            for k in 0..nh {
                let di = i[k] * (T::ONE - i[k]) * row[k];
                let df = f[k] * (T::ONE - f[k]) * row[nh + k];
                let dg = (T::ONE - g[k] * g[k]) * row[2 * nh + k];
                let d_o = o[k] * (T::ONE - o[k]) * row[3 * nh + k];
                let dc = df * c[k] + di * g[k] + i[k] * dg;
                out[k] = d_o * tc[k] + o[k] * (T::ONE - tc[k] * tc[k]) * dc;
                out[nh + k] = dc;
            }
        }
        None => {
            // ∂/∂c_j: only c'_j = f_j c_j + … depends on it.
            out.fill(T::ZERO);
            if let Direction::State(j) = dir {
                let k = j - nh;
                out[nh + k] = f[k];
                out[k] = o[k] * (T::ONE - tc[k] * tc[k]) * f[k];
            }
        }
    }
}

pub(super) fn vjp<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    a: VjpArgs<'_, '_, T>,
    scratch: &mut [T],
) {
    let gw = 4 * nh;
    let (h, c) = a.h.split_at(nh);
    let (gates, rest) = a.cache.split_at(gw);
    let tc = &rest[nh..2 * nh];
    let (d, s) = scratch.split_at_mut(gw);
    let gct = &mut s[..nh];
    for k in 0..nh {
        let (i, f, g, o) = (
            gates[k],
            gates[nh + k],
            gates[2 * nh + k],
            gates[3 * nh + k],
        );
        let gh = a.g[k];
        let gc = a.g[nh + k] + gh * o * (T::ONE - tc[k] * tc[k]);
        gct[k] = gc;
        d[k] = gc * g * i * (T::ONE - i);
        d[nh + k] = gc * c[k] * f * (T::ONE - f);
        d[2 * nh + k] = gc * i * (T::ONE - g * g);
        d[3 * nh + k] = gh * tc[k] * o * (T::ONE - o);
    }
    let (gh_out, gc_out) = a.g_h.split_at_mut(nh);
    mat_vec(w.w_h, gw, d, gh_out, false);
    for k in 0..nh {
        gc_out[k] = gct[k] * gates[nh + k];
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, gw, d, gx, false);
    }
    if let Some(gwt) = a.g_w {
        add_outer(a.x, d, gwt.w_x, gw);
        add_outer(h, d, gwt.w_h, gw);
        for row in gwt.b.chunks_exact_mut(gw) {
            for (b, &dv) in row.iter_mut().zip(d.iter()) {
                *b += dv;
            }
        }
    }
}
