//! LSTM (PyTorch layout, gate order i, f, g, o) on the state `[h, c]`:
//! `a = x W_x + h W_h + b_ih + b_hh`, `c' = f∘c + i∘g`, `h' = o∘tanh(c')`.
//!
//! Cache: `i, f, g, o, c', tanh(c')` (6H). A Jacobian column costs `O(H)`.

use super::{Direction, VjpArgs, Weights, preactivation};
use crate::linalg::dense::{add_outer, mat_vec};
use crate::scalar::Real;
use crate::split::{sub, take, take_mut};

pub(super) fn step<T: Real>(
    _ni: usize,
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    state: &[T],
    next: &mut [T],
    cache: &mut [T],
) -> Option<()> {
    let gw = 4 * nh;
    let mut st = state;
    let (h, c) = (take(&mut st, nh)?, take(&mut st, nh)?);
    let mut nx = next;
    let (next_h, next_c) = (take_mut(&mut nx, nh)?, take_mut(&mut nx, nh)?);
    let mut ca = cache;
    let a = take_mut(&mut ca, gw)?;
    let (cn, tc) = (take_mut(&mut ca, nh)?, take_mut(&mut ca, nh)?);
    preactivation(w, x, h, gw, a)?;
    let mut g = &mut *a;
    let (ai, af) = (take_mut(&mut g, nh)?, take_mut(&mut g, nh)?);
    let (ag, ao) = (take_mut(&mut g, nh)?, take_mut(&mut g, nh)?);
    for k in 0..nh {
        let i = ai[k].sigmoid();
        let f = af[k].sigmoid();
        let g = ag[k].tanh();
        let o = ao[k].sigmoid();
        ai[k] = i;
        af[k] = f;
        ag[k] = g;
        ao[k] = o;
        cn[k] = f * c[k] + i * g;
        tc[k] = cn[k].tanh();
        next_h[k] = o * tc[k];
        next_c[k] = cn[k];
    }
    Some(())
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
) -> Option<()> {
    let gw = 4 * nh;
    let c = sub(state, nh, nh)?;
    let mut ca = cache;
    let (i, f) = (take(&mut ca, nh)?, take(&mut ca, nh)?);
    let (g, o) = (take(&mut ca, nh)?, take(&mut ca, nh)?);
    let tc = sub(ca, nh, nh)?;
    let mut ou = out;
    let (out_h, out_c) = (take_mut(&mut ou, nh)?, take_mut(&mut ou, nh)?);
    let row = match dir {
        Direction::State(j) if j < nh => Some(sub(w.w_h, j * gw, gw)?),
        Direction::State(_) => None,
        Direction::Input(k) => Some(sub(w.w_x, k * gw, gw)?),
    };
    match row {
        Some(mut row) => {
            let (row_i, row_f) = (take(&mut row, nh)?, take(&mut row, nh)?);
            let (row_g, row_o) = (take(&mut row, nh)?, take(&mut row, nh)?);
            for k in 0..nh {
                let di = i[k] * (T::ONE - i[k]) * row_i[k];
                let df = f[k] * (T::ONE - f[k]) * row_f[k];
                let dg = (T::ONE - g[k] * g[k]) * row_g[k];
                let d_o = o[k] * (T::ONE - o[k]) * row_o[k];
                let dc = df * c[k] + di * g[k] + i[k] * dg;
                out_h[k] = d_o * tc[k] + o[k] * (T::ONE - tc[k] * tc[k]) * dc;
                out_c[k] = dc;
            }
        }
        None => {
            // ∂/∂c_j: only c'_j = f_j c_j + … depends on it.
            out_h.fill(T::ZERO);
            out_c.fill(T::ZERO);
            if let Direction::State(j) = dir {
                let k = j - nh;
                let (fk, ok, tk) = (*f.get(k)?, *o.get(k)?, *tc.get(k)?);
                *out_c.get_mut(k)? = fk;
                *out_h.get_mut(k)? = ok * (T::ONE - tk * tk) * fk;
            }
        }
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
    let gw = 4 * nh;
    let mut st = a.h;
    let (h, c) = (take(&mut st, nh)?, take(&mut st, nh)?);
    let mut gg = a.g;
    let (g_h, g_c) = (take(&mut gg, nh)?, take(&mut gg, nh)?);
    let mut ca = a.cache;
    let (gi, gf) = (take(&mut ca, nh)?, take(&mut ca, nh)?);
    let (gg_, go) = (take(&mut ca, nh)?, take(&mut ca, nh)?);
    let tc = sub(ca, nh, nh)?;
    let mut s = scratch;
    let d = take_mut(&mut s, gw)?;
    let gct = take_mut(&mut s, nh)?;
    {
        let mut dd = &mut *d;
        let (d_i, d_f) = (take_mut(&mut dd, nh)?, take_mut(&mut dd, nh)?);
        let (d_g, d_o) = (take_mut(&mut dd, nh)?, take_mut(&mut dd, nh)?);
        for k in 0..nh {
            let (i, f, g, o) = (gi[k], gf[k], gg_[k], go[k]);
            let gh = g_h[k];
            let gc = g_c[k] + gh * o * (T::ONE - tc[k] * tc[k]);
            gct[k] = gc;
            d_i[k] = gc * g * i * (T::ONE - i);
            d_f[k] = gc * c[k] * f * (T::ONE - f);
            d_g[k] = gc * i * (T::ONE - g * g);
            d_o[k] = gh * tc[k] * o * (T::ONE - o);
        }
    }
    let (gh_out, gc_out) = a.g_h.split_at_mut_checked(nh)?;
    mat_vec(w.w_h, gw, d, gh_out, false);
    let gc_out = gc_out.get_mut(..nh)?;
    for k in 0..nh {
        gc_out[k] = gct[k] * gf[k];
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, gw, d, gx, false);
    }
    if let Some(gwt) = a.g_w {
        add_outer(a.x, d, gwt.w_x, gw);
        add_outer(h, d, gwt.w_h, gw);
        if gw > 0 {
            for row in gwt.b.chunks_exact_mut(gw) {
                for (b, &dv) in row.iter_mut().zip(d.iter()) {
                    *b += dv;
                }
            }
        }
    }
    Some(())
}
