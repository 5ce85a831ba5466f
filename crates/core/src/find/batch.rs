//! The q-evaluation over a tile of states as matrix–matrix products: what the joint
//! q-minimization runs at period 1 for every cell kind (the k-fold map goes state by state
//! through [`super::map`]).
//!
//! For a tile of `m` states with hidden parts `Hx` (`m × H`) at input `u`, with the input
//! part `c = u W_x + b` (once per run when the input is shared):
//! - tanh, the leaky cells, PyTorch GRU, LSTM: `P = Hx W_h` (GEMM, `2·m·H·GH` flops), the gates and `F`
//!   elementwise from `P + c`, `r = x − F`, `q = ½‖r‖²`, then `D = ∂q/∂P` elementwise and
//!   `∇q = r − (D W_hᵀ + E)` (GEMM, `2·m·GH·H` flops), where `E` is the part of the VJP
//!   that does not go through `W_h` (`g∘z` for the GRU, `g_c∘f` for the LSTM's cell state);
//! - the reference's GRU, whose `W_hn` acts on `r∘h`: two products forward
//!   (`Hx W_hrz`, then `(r∘Hx) W_hn`) and two back.
//!
//! The weight blocks are packed once per run ([`Packed`]); each tile then needs
//! [`eval_scratch_len`] elements.

use crate::cell::{Cell, CellKind};
use crate::linalg::dense::vec_mat;
use crate::linalg::gemm::{gemm, pack, packed_len};
use crate::scalar::Real;
use crate::split::{sub, sub_mut, take_mut};

/// States per tile: the unit of blocking and of parallel work.
pub(crate) const TILE: usize = 64;

/// Whether [`eval_tile`] handles this cell at period `period`.
pub(crate) fn supported<T: Real>(_cell: &Cell<'_, T>, period: usize) -> bool {
    period == 1
}

/// The packed blocks: `(rows, cols, column offset in W_h, transposed)` of each, in order.
/// Forward blocks are `H × cols` column blocks of `W_h`; backward ones their transposes.
fn blocks(kind: CellKind, h: usize, gw: usize) -> [(usize, usize, usize, bool); 4] {
    match kind {
        // W_rz, W_n, W_rzᵀ, W_nᵀ.
        CellKind::Gru => [
            (h, 2 * h, 0, false),
            (h, h, 2 * h, false),
            (2 * h, h, 0, true),
            (h, h, 2 * h, true),
        ],
        // W_h, W_hᵀ.
        _ => [
            (h, gw, 0, false),
            (gw, h, 0, true),
            (0, 0, 0, false),
            (0, 0, 0, false),
        ],
    }
}

/// Elements [`Packed::new`] takes from the workspace.
pub(crate) fn packed_work_len<T: Real>(cell: &Cell<'_, T>) -> usize {
    let s = cell.shape();
    let (h, gw) = (s.n_hidden, s.gate_width());
    let packs: usize = blocks(s.kind, h, gw)
        .iter()
        .map(|&(k, n, _, _)| packed_len::<T>(k, n))
        .sum();
    packs + gw
}

/// Scratch [`eval_tile`] needs for up to [`TILE`] states.
pub(crate) fn eval_scratch_len<T: Real>(cell: &Cell<'_, T>) -> usize {
    let s = cell.shape();
    TILE * (2 * s.gate_width() + 6 * s.n_hidden)
}

/// Scratch the q-minimization keeps per tile: [`eval_tile`]'s, and the tile's `G(x)` and
/// gradients.
pub(crate) fn tile_scratch_len<T: Real>(cell: &Cell<'_, T>) -> usize {
    eval_scratch_len(cell) + TILE * 2 * cell.shape().state_dim()
}

/// The run's constant operands: the packed weight blocks, and `c = u W_x + b` for a shared
/// input.
pub(crate) struct Packed<'a, T> {
    /// See [`blocks`].
    b: [&'a [T]; 4],
    /// `u W_x + b` when every state has the same input.
    c_shared: Option<&'a [T]>,
}

impl<'a, T: Real> Packed<'a, T> {
    /// Packs from `work` ([`packed_work_len`] elements); `shared_input` is the one input row
    /// if all states share it. `None` if `work` is too short.
    pub(crate) fn new(
        cell: &Cell<'_, T>,
        shared_input: Option<&[T]>,
        work: &'a mut [T],
    ) -> Option<Self> {
        let s = cell.shape();
        let (h, gw) = (s.n_hidden, s.gate_width());
        let w_h = cell.weights().w_h;
        let mut rest = work;
        let mut b: [&'a [T]; 4] = [&[]; 4];
        for (slot, (k, n, col, tr)) in b.iter_mut().zip(blocks(s.kind, h, gw)) {
            let out = take_mut(&mut rest, packed_len::<T>(k, n))?;
            if k > 0 && n > 0 {
                pack(w_h.get(col..)?, gw, k, n, tr, out)?;
            }
            *slot = out;
        }
        let c = take_mut(&mut rest, gw)?;
        let c_shared = match shared_input {
            Some(u) => {
                input_part(cell, u, c)?;
                Some(&*c)
            }
            None => None,
        };
        Some(Packed { b, c_shared })
    }
}

/// The pre-activation terms that do not depend on the state, `c = u W_x + b` (`G·H`): every
/// bias row for tanh and LSTM, the one row of the reference's GRU, and for the PyTorch GRU
/// `b_ih` plus `b_hh`'s r and z blocks (its `b_hn` sits inside `r∘(…)`).
fn input_part<T: Real>(cell: &Cell<'_, T>, u: &[T], c: &mut [T]) -> Option<()> {
    let s = cell.shape();
    let (h, gw) = (s.n_hidden, s.gate_width());
    let w = cell.weights();
    let c = c.get_mut(..gw)?;
    let (b0, more) = w.b.split_at_checked(gw)?;
    c.copy_from_slice(b0);
    if gw > 0 {
        let cols = if s.kind == CellKind::GruTorch {
            2 * h
        } else {
            gw
        };
        for row in more.chunks_exact(gw) {
            for (a, &b) in c.iter_mut().zip(row).take(cols) {
                *a += b;
            }
        }
    }
    vec_mat(u, w.w_x, gw, gw, c, true);
    Some(())
}

/// From this many units on, the tanh tile adds the input part to the product row by row as
/// it reads it; below, it copies the input part into every row first (a `memmove` per row)
/// and runs the elementwise pass over the whole tile at once, which pays where a row is one
/// vector or less. Measured against the copy (`scaling 20 H 1024 one`, ratio to the floor in
/// each run, 5–8 alternating runs, Xeon VM with AVX-512): H = 64 about 6 % faster, H = 16
/// about 6 % slower.
const ROW_BY_ROW_FROM: usize = 32;

/// The tanh cell's `F = tanh(a)` and `D = (x − F)(1 − F²)` of one unit from its
/// pre-activation `a` and state `x`.
#[inline(always)]
fn tanh_and_d<T: Real>(a: T, x: T) -> (T, T) {
    let f = a.tanh();
    (f, (x - f) * (T::ONE - f * f))
}

/// `½ Σ (a_i − b_i)²` over the common length, in 8 partial sums combined in a fixed
/// order: vectorizable, and the same on every instruction set and for every tiling.
#[inline(always)]
fn half_sq_dist<T: Real>(a: &[T], b: &[T]) -> T {
    // `as_chunks` (a chunk length known at compile time) rather than `chunks_exact(8)`:
    // zipping two `ChunksExact` divides twice per call and, in the large dispatched tile
    // kernels, was left out of line, which put the accumulator in memory.
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    let mut acc = [T::ZERO; 8];
    for (x, y) in ca.iter().zip(cb) {
        for k in 0..8 {
            let d = x[k] - y[k];
            acc[k] += d * d;
        }
    }
    for ((s, &p), &q) in acc.iter_mut().zip(ra).zip(rb) {
        let d = p - q;
        *s += d * d;
    }
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    (((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))) * T::from_f64(0.5)
}

/// One tile: `rows` states `x` (`rows × S`) at `inputs` (`rows × I`, ignored with a shared
/// input) → `fx = G(x)`, `q`, and with `grad`, `∇q`. `scratch` has [`eval_scratch_len`]
/// elements. `None` if a slice is too short (a broken contract: the caller sized them).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn eval_tile<T: Real>(
    cell: &Cell<'_, T>,
    packed: &Packed<'_, T>,
    inputs: &[T],
    x: &[T],
    fx: &mut [T],
    q: &mut [T],
    grad: Option<&mut [T]>,
    scratch: &mut [T],
) -> Option<()> {
    let shape = cell.shape();
    let (h, gw, ni, sd) = (
        shape.n_hidden,
        shape.gate_width(),
        shape.n_inputs,
        shape.state_dim(),
    );
    let rows = q.len();
    let (x, fx) = (sub(x, 0, rows * sd)?, sub_mut(fx, 0, rows * sd)?);
    let mut rest = scratch;
    let pre = take_mut(&mut rest, rows * gw)?;
    let cin = take_mut(&mut rest, rows * gw)?;
    let aux = take_mut(&mut rest, rows * 6 * h)?;
    // The input part of every row.
    let c_rows: &[T] = match packed.c_shared {
        Some(c) => c,
        None => {
            for (i, ci) in cin.chunks_exact_mut(gw.max(1)).enumerate().take(rows) {
                input_part(cell, sub(inputs, i * ni, ni)?, ci)?;
            }
            cin
        }
    };
    let c_of = |i: usize| -> Option<&[T]> {
        match packed.c_shared {
            Some(c) => Some(c),
            None => sub(c_rows, i * gw, gw),
        }
    };
    let one = T::ONE;
    match shape.kind {
        CellKind::Tanh => {
            // The state is the hidden state and G = 1: P, F, D and ∇q are all `rows × H`.
            let hh = h.max(1);
            // F = tanh(P + c) and D = r ∘ (1 − F²) (into `pre`), then q row by row.
            if h >= ROW_BY_ROW_FROM {
                // Row by row, c added as each row is read.
                gemm(rows, h, h, x, h, packed.b[0], pre, h, false)?;
                let tile = pre
                    .chunks_exact_mut(hh)
                    .zip(fx.chunks_exact_mut(hh))
                    .zip(x.chunks_exact(hh));
                for (i, ((pr, fr), xr)) in tile.enumerate() {
                    let c = sub(c_of(i)?, 0, hh)?;
                    let row = pr.iter_mut().zip(fr.iter_mut()).zip(xr).zip(c);
                    for (((pv, fv), &xv), &cv) in row {
                        (*fv, *pv) = tanh_and_d(*pv + cv, xv);
                    }
                }
            } else {
                // A row is less than a vector: c copied into every row, the product added to
                // it (the same sum), then one pass over the whole tile.
                for (i, p) in pre.chunks_exact_mut(hh).enumerate() {
                    p.copy_from_slice(sub(c_of(i)?, 0, hh)?);
                }
                gemm(rows, h, h, x, h, packed.b[0], pre, h, true)?;
                for ((pv, fv), &xv) in pre.iter_mut().zip(fx.iter_mut()).zip(x) {
                    (*fv, *pv) = tanh_and_d(*pv, xv);
                }
            }
            for ((qi, xr), f) in q
                .iter_mut()
                .zip(x.chunks_exact(hh))
                .zip(fx.chunks_exact(hh))
            {
                *qi = half_sq_dist(xr, f);
            }
            if let Some(grad) = grad {
                // ∇q = r − D W_hᵀ with D = r ∘ (1 − F²).
                let grad = sub_mut(grad, 0, rows * h)?;
                gemm(rows, h, h, pre, h, packed.b[1], grad, h, false)?;
                for ((g, &xv), &fv) in grad.iter_mut().zip(x).zip(fx.iter()) {
                    *g = (xv - fv) - *g;
                }
            }
        }
        CellKind::LeakyTanh
        | CellKind::LeakyRelu
        | CellKind::LeakySoftplus
        | CellKind::LeakySigmoid => {
            // As tanh, with F = (1 − α) x + α φ(a): a = P + c into `fx`, then F there and
            // φ'(a) into `aux`.
            let act = shape.kind.activation()?;
            let alpha = T::from_f64(shape.alpha);
            let hh = h.max(1);
            gemm(rows, h, h, x, h, packed.b[0], pre, h, false)?;
            let dphi = sub_mut(aux, 0, rows * h)?;
            for (i, ((p, f), (xr, d))) in pre
                .chunks_exact(hh)
                .zip(fx.chunks_exact_mut(hh))
                .zip(x.chunks_exact(hh).zip(dphi.chunks_exact_mut(hh)))
                .enumerate()
            {
                let c = c_of(i)?;
                for ((fv, &pv), &cv) in f.iter_mut().zip(p).zip(c) {
                    *fv = pv + cv;
                }
                act.leaky_row(alpha, f, xr, d);
            }
            for ((qi, xr), f) in q
                .iter_mut()
                .zip(x.chunks_exact(hh))
                .zip(fx.chunks_exact(hh))
            {
                *qi = half_sq_dist(xr, f);
            }
            if let Some(grad) = grad {
                // ∇q = r − Jᵀ r = α r − D W_hᵀ with D = α r ∘ φ'(a).
                let grad = sub_mut(grad, 0, rows * h)?;
                for ((dv, &xv), (&fv, &d)) in pre.iter_mut().zip(x).zip(fx.iter().zip(&*dphi)) {
                    *dv = alpha * (xv - fv) * d;
                }
                gemm(rows, h, h, pre, h, packed.b[1], grad, h, false)?;
                for ((g, &xv), &fv) in grad.iter_mut().zip(x).zip(fx.iter()) {
                    *g = alpha * (xv - fv) - *g;
                }
            }
        }
        CellKind::GruTorch | CellKind::Lstm => {
            // P = Hx W_h.
            gemm(rows, h, gw, x, sd, packed.b[0], pre, gw, false)?;
            let b_hn = if shape.kind == CellKind::GruTorch {
                sub(cell.weights().b, gw + 2 * h, h)?
            } else {
                &[]
            };
            // The gates, F, q and D (into `pre`), E (into `aux`, `rows × H`).
            for i in 0..rows {
                let (p, c) = (sub_mut(pre, i * gw, gw)?, c_of(i)?);
                let (xr, f) = (sub(x, i * sd, sd)?, sub_mut(fx, i * sd, sd)?);
                let e = sub_mut(aux, i * h, h)?;
                match shape.kind {
                    CellKind::GruTorch => {
                        let (pr, rest) = p.split_at_mut_checked(h)?;
                        let (pz, pn) = rest.split_at_mut_checked(h)?;
                        let (cr, rest) = c.split_at_checked(h)?;
                        let (cz, cn) = rest.split_at_checked(h)?;
                        // Zipped slices of equal length: no bounds checks, so the
                        // loop vectorizes (indexing each slice by k does not).
                        let gates = pr.iter_mut().zip(pz.iter_mut()).zip(pn.iter_mut());
                        let consts = cr.iter().zip(cz).zip(cn.iter().zip(b_hn));
                        let state = xr.iter().zip(f.iter_mut()).zip(e.iter_mut());
                        for (((pr, pz), pn), (((&cr, &cz), (&cn, &bn)), ((&hv, f), e))) in
                            gates.zip(consts.zip(state))
                        {
                            let r = (*pr + cr).sigmoid();
                            let z = (*pz + cz).sigmoid();
                            let hn = *pn + bn;
                            let n = (cn + r * hn).tanh();
                            let fv = (one - z) * n + z * hv;
                            *f = fv;
                            let g = hv - fv;
                            let dn = g * (one - z) * (one - n * n);
                            *pr = dn * hn * r * (one - r);
                            *pz = g * (hv - n) * z * (one - z);
                            *pn = dn * r;
                            *e = g * z;
                        }
                    }
                    CellKind::Lstm => {
                        let (pi, rest) = p.split_at_mut_checked(h)?;
                        let (pf, rest) = rest.split_at_mut_checked(h)?;
                        let (pg, po) = rest.split_at_mut_checked(h)?;
                        let (ci, rest) = c.split_at_checked(h)?;
                        let (cf, rest) = rest.split_at_checked(h)?;
                        let (cg, co) = rest.split_at_checked(h)?;
                        let (hx, cx) = xr.split_at_checked(h)?;
                        let (fh, fc) = f.split_at_mut_checked(h)?;
                        let gates = pi.iter_mut().zip(pf.iter_mut());
                        let gates = gates.zip(pg.iter_mut().zip(po.iter_mut()));
                        let consts = ci.iter().zip(cf).zip(cg.iter().zip(co));
                        let state = hx.iter().zip(cx).zip(fh.iter_mut().zip(fc.iter_mut()));
                        let lanes = gates.zip(consts).zip(state.zip(e.iter_mut()));
                        for (((pif, pgo), ((&ci, &cf), (&cg, &co))), (((&hx, &cx), (fh, fc)), e)) in
                            lanes
                        {
                            let ((pi, pf), (pg, po)) = (pif, pgo);
                            let iv = (*pi + ci).sigmoid();
                            let fv = (*pf + cf).sigmoid();
                            let gv = (*pg + cg).tanh();
                            let ov = (*po + co).sigmoid();
                            let cn = fv * cx + iv * gv;
                            let tc = cn.tanh();
                            let hn = ov * tc;
                            *fh = hn;
                            *fc = cn;
                            let (gh, gc0) = (hx - hn, cx - cn);
                            let gc = gc0 + gh * ov * (one - tc * tc);
                            *pi = gc * gv * iv * (one - iv);
                            *pf = gc * cx * fv * (one - fv);
                            *pg = gc * iv * (one - gv * gv);
                            *po = gh * tc * ov * (one - ov);
                            *e = gc * fv;
                        }
                    }
                    _ => {}
                }
                *q.get_mut(i)? = half_sq_dist(xr, f);
            }
            if let Some(grad) = grad {
                // ∇q = r − (D W_hᵀ + E): the h part through W_h, E on the h part (GRU) or
                // as the whole of the c part (LSTM).
                let grad = sub_mut(grad, 0, rows * sd)?;
                gemm(rows, gw, h, pre, gw, packed.b[1], grad, sd, false)?;
                for i in 0..rows {
                    let (g, xr) = (sub_mut(grad, i * sd, sd)?, sub(x, i * sd, sd)?);
                    let (f, e) = (sub(fx, i * sd, sd)?, sub(aux, i * h, h)?);
                    let (gh, gc) = g.split_at_mut_checked(h)?;
                    match shape.kind {
                        CellKind::GruTorch => {
                            for (((gv, &xv), &fv), &ev) in gh.iter_mut().zip(xr).zip(f).zip(e) {
                                *gv = (xv - fv) - (*gv + ev);
                            }
                        }
                        _ => {
                            for ((gv, &xv), &fv) in gh.iter_mut().zip(xr).zip(f) {
                                *gv = (xv - fv) - *gv;
                            }
                            let (xc, fc) = (xr.get(h..)?, f.get(h..)?);
                            for (((gv, &xv), &fv), &ev) in gc.iter_mut().zip(xc).zip(fc).zip(e) {
                                *gv = (xv - fv) - ev;
                            }
                        }
                    }
                }
            }
        }
        CellKind::Gru => {
            // P_rz = Hx W_rz → r, z (kept in `pre`); rh = r∘Hx; Q = rh W_n; n; F.
            let h2 = 2 * h;
            let prz = sub_mut(pre, 0, rows * h2)?;
            gemm(rows, h, h2, x, sd, packed.b[0], prz, h2, false)?;
            let mut a = &mut *aux;
            let rh = take_mut(&mut a, rows * h)?;
            let qn = take_mut(&mut a, rows * h)?;
            let nn = take_mut(&mut a, rows * h)?;
            let dn = take_mut(&mut a, rows * h)?;
            let drz = take_mut(&mut a, rows * h2)?;
            for i in 0..rows {
                let (p, c) = (sub_mut(prz, i * h2, h2)?, c_of(i)?);
                let (xr, rhr) = (sub(x, i * sd, h)?, sub_mut(rh, i * h, h)?);
                for (pv, &cv) in p.iter_mut().zip(c) {
                    *pv = (*pv + cv).sigmoid();
                }
                for ((o, &r), &xv) in rhr.iter_mut().zip(p.iter()).zip(xr) {
                    *o = r * xv;
                }
            }
            gemm(rows, h, h, rh, h, packed.b[1], qn, h, false)?;
            for i in 0..rows {
                let (p, c) = (sub(prz, i * h2, h2)?, c_of(i)?);
                let (xr, f) = (sub(x, i * sd, h)?, sub_mut(fx, i * sd, h)?);
                let (qr, nr) = (sub(qn, i * h, h)?, sub_mut(nn, i * h, h)?);
                let (z, cn) = (p.get(h..)?, c.get(h2..)?);
                let dr = sub_mut(dn, i * h, h)?;
                let ins = cn.iter().zip(qr).zip(z.iter().zip(xr));
                let outs = nr.iter_mut().zip(f.iter_mut()).zip(dr.iter_mut());
                for (((&cn, &qr), (&z, &xv)), ((nr, f), dr)) in ins.zip(outs) {
                    let n = (cn + qr).tanh();
                    *nr = n;
                    let fv = (one - z) * n + z * xv;
                    *f = fv;
                    let g = xv - fv;
                    *dr = g * (one - z) * (one - n * n);
                }
                *q.get_mut(i)? = half_sq_dist(xr, f);
            }
            if let Some(grad) = grad {
                // grh = d_n W_nᵀ (into `qn`); d_r, d_z; g_h = [d_r d_z] W_rzᵀ + g∘z + grh∘r.
                let grad = sub_mut(grad, 0, rows * sd)?;
                gemm(rows, h, h, dn, h, packed.b[3], qn, h, false)?;
                for i in 0..rows {
                    let (p, d) = (sub(prz, i * h2, h2)?, sub_mut(drz, i * h2, h2)?);
                    let (xr, f) = (sub(x, i * sd, h)?, sub(fx, i * sd, h)?);
                    let (grh, nr) = (sub(qn, i * h, h)?, sub(nn, i * h, h)?);
                    let (r, z) = p.split_at_checked(h)?;
                    let (d_r, d_z) = d.split_at_mut_checked(h)?;
                    let ins = xr
                        .iter()
                        .zip(f)
                        .zip(grh.iter().zip(nr))
                        .zip(r.iter().zip(z));
                    for ((((&xv, &fv), (&grh, &nv)), (&r, &z)), (d_r, d_z)) in
                        ins.zip(d_r.iter_mut().zip(d_z.iter_mut()))
                    {
                        let g = xv - fv;
                        *d_r = grh * xv * r * (one - r);
                        *d_z = g * (xv - nv) * z * (one - z);
                    }
                }
                gemm(rows, h2, h, drz, h2, packed.b[2], grad, sd, false)?;
                for i in 0..rows {
                    let p = sub(prz, i * h2, h2)?;
                    let (xr, f) = (sub(x, i * sd, h)?, sub(fx, i * sd, h)?);
                    let (grh, gv) = (sub(qn, i * h, h)?, sub_mut(grad, i * sd, h)?);
                    let (r, z) = p.split_at_checked(h)?;
                    let ins = xr.iter().zip(f).zip(grh.iter().zip(r.iter().zip(z)));
                    for (((&xv, &fv), (&grh, (&r, &z))), gv) in ins.zip(gv.iter_mut()) {
                        let g = xv - fv;
                        *gv = g - (*gv + g * z + grh * r);
                    }
                }
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::CellShape;
    use crate::find::map::{eval, eval_work_len};
    use crate::test_data::data;

    /// The batched tile against the one-state evaluation, for every cell kind (the leaky
    /// cells at several α), shared and per-state inputs, with and without the gradient, in
    /// f64 and f32.
    #[test]
    fn tiles_match_the_one_state_evaluation() {
        tiles_match::<f64>(1e-13, 1e-12);
        tiles_match::<f32>(2e-5, 1e-4);
    }

    fn tiles_match<T: Real>(tol: f64, tol_grad: f64) {
        let cast = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
        for (kind, alpha) in [
            (CellKind::Tanh, 1.0),
            (CellKind::Gru, 1.0),
            (CellKind::GruTorch, 1.0),
            (CellKind::Lstm, 1.0),
            (CellKind::LeakyTanh, 0.2),
            (CellKind::LeakyRelu, 0.1),
            (CellKind::LeakyRelu, 1.0),
            (CellKind::LeakySoftplus, 0.5),
            (CellKind::LeakySigmoid, 0.3),
        ] {
            for (h, rows) in [(5usize, 7usize), (16, 64), (33, 13)] {
                let shape = CellShape::new(kind, 3, h).with_alpha(alpha);
                let p = cast(data(
                    shape.n_params(),
                    1 + h as u64,
                    1.5 / (h as f64).sqrt(),
                ));
                let cell = Cell::from_flat(shape, &p).unwrap();
                let sd = shape.state_dim();
                let x = cast(data(rows * sd, 7, 1.0));
                let u = cast(data(rows * 3, 9, 1.0));
                for shared in [true, false] {
                    let mut pw = vec![T::ZERO; packed_work_len(&cell)];
                    let packed = Packed::new(&cell, shared.then_some(&u[..3]), &mut pw).unwrap();
                    let (mut fx, mut q, mut g) = (
                        vec![T::ZERO; rows * sd],
                        vec![T::ZERO; rows],
                        vec![T::ZERO; rows * sd],
                    );
                    let mut scratch = vec![T::ZERO; eval_scratch_len(&cell)];
                    eval_tile(
                        &cell,
                        &packed,
                        &u,
                        &x,
                        &mut fx,
                        &mut q,
                        Some(&mut g),
                        &mut scratch,
                    )
                    .unwrap();
                    let mut work =
                        vec![T::ZERO; eval_work_len(sd, shape.cache_len(), shape.scratch_len(), 1)];
                    for i in 0..rows {
                        let ui = if shared {
                            &u[..3]
                        } else {
                            &u[i * 3..i * 3 + 3]
                        };
                        let (mut f1, mut g1) = (vec![T::ZERO; sd], vec![T::ZERO; sd]);
                        let q1 = eval(
                            &cell,
                            ui,
                            &x[i * sd..(i + 1) * sd],
                            1,
                            &mut f1,
                            Some(&mut g1),
                            &mut work,
                        );
                        let tag = (T::NAME, kind.name(), alpha, h, shared, i);
                        let (qi, q1) = (q[i].to_f64(), q1.to_f64());
                        assert!((qi - q1).abs() <= tol * q1.max(1.0), "{tag:?} q");
                        for k in 0..sd {
                            let (a, b) = (fx[i * sd + k].to_f64(), f1[k].to_f64());
                            assert!((a - b).abs() <= tol, "{tag:?} fx");
                            let (a, b) = (g[i * sd + k].to_f64(), g1[k].to_f64());
                            assert!((a - b).abs() <= tol_grad, "{tag:?} grad");
                        }
                    }
                    // Without the gradient: the same q and F.
                    let (mut fx2, mut q2) = (vec![T::ZERO; rows * sd], vec![T::ZERO; rows]);
                    eval_tile(
                        &cell,
                        &packed,
                        &u,
                        &x,
                        &mut fx2,
                        &mut q2,
                        None,
                        &mut scratch,
                    )
                    .unwrap();
                    let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
                    assert_eq!((bits(&fx2), bits(&q2)), (bits(&fx), bits(&q)));
                }
            }
        }
    }
}
