//! The q-evaluation over a tile of states as matrix–matrix products: what the joint
//! q-minimization runs for the cells whose recurrent pre-activation is one affine map of the
//! state (tanh today; the others go state by state through [`super::map`]).
//!
//! For a tile `X` (`m × H`) at input `u`, with `c = u W_x + b` (once per run when the input
//! is shared):
//! `P = X W_h` (GEMM, `2·m·H·GH` flops), `F = φ(P + c)`, `r = X − F`, `q = ½‖r‖²` per row,
//! `D = ∂q/∂P` (elementwise), `∇q = r − D W_hᵀ` (GEMM, `2·m·GH·H` flops). `W_h` and `W_hᵀ`
//! are packed once per run ([`Packed`]); each tile then needs `m·GH` elements of scratch
//! ([`tile_scratch_len`]).

use crate::cell::{Cell, CellKind};
use crate::linalg::dense::vec_mat;
use crate::linalg::gemm::{gemm, pack, packed_len};
use crate::scalar::Real;
use crate::split::{sub, sub_mut, take_mut};

/// States per tile: the unit of blocking and of parallel work.
pub(crate) const TILE: usize = 64;

/// Whether [`eval_tile`] handles this cell at period `period`.
pub(crate) fn supported<T: Real>(cell: &Cell<'_, T>, period: usize) -> bool {
    period == 1 && matches!(cell.shape().kind, CellKind::Tanh)
}

/// Elements [`Packed::new`] takes from the workspace.
pub(crate) fn packed_work_len<T: Real>(cell: &Cell<'_, T>) -> usize {
    let s = cell.shape();
    let (h, gw) = (s.n_hidden, s.gate_width());
    packed_len::<T>(h, gw) + packed_len::<T>(gw, h) + gw
}

/// Scratch [`eval_tile`] needs for up to [`TILE`] states.
pub(crate) fn eval_scratch_len<T: Real>(cell: &Cell<'_, T>) -> usize {
    let gw = cell.shape().gate_width();
    2 * TILE * gw
}

/// Scratch the q-minimization keeps per tile: [`eval_tile`]'s, and buffers to gather the
/// tile's unfrozen states into (states, `G(x)`, gradients, q, input rows).
pub(crate) fn tile_scratch_len<T: Real>(cell: &Cell<'_, T>) -> usize {
    let s = cell.shape();
    eval_scratch_len(cell) + TILE * (3 * s.state_dim() + 1 + s.n_inputs)
}

/// The run's constant operands: `W_h` and `W_hᵀ` packed, and `c = u W_x + b` for a shared
/// input.
pub(crate) struct Packed<'a, T> {
    w_h: &'a [T],
    w_ht: &'a [T],
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
        let w = cell.weights();
        let mut rest = work;
        let w_h = take_mut(&mut rest, packed_len::<T>(h, gw))?;
        pack(w.w_h, gw, h, gw, false, w_h)?;
        let w_ht = take_mut(&mut rest, packed_len::<T>(gw, h))?;
        pack(w.w_h, gw, gw, h, true, w_ht)?;
        let c = take_mut(&mut rest, gw)?;
        let c_shared = match shared_input {
            Some(u) => {
                input_part(cell, u, c)?;
                Some(&*c)
            }
            None => None,
        };
        Some(Packed {
            w_h,
            w_ht,
            c_shared,
        })
    }
}

/// `c = u W_x + b_0 + … + b_{B−1}` (`G·H`).
fn input_part<T: Real>(cell: &Cell<'_, T>, u: &[T], c: &mut [T]) -> Option<()> {
    let gw = cell.shape().gate_width();
    let w = cell.weights();
    let c = c.get_mut(..gw)?;
    let (b0, more) = w.b.split_at_checked(gw)?;
    c.copy_from_slice(b0);
    if gw > 0 {
        for row in more.chunks_exact(gw) {
            for (a, &b) in c.iter_mut().zip(row) {
                *a += b;
            }
        }
    }
    vec_mat(u, w.w_x, gw, gw, c, true);
    Some(())
}

/// One tile: `rows` states `x` (`rows × S`) at `inputs` (`rows × I`, ignored with a shared
/// input) → `fx = G(x)`, `q`, and with `grad`, `∇q`. `scratch` has [`tile_scratch_len`]
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
    let (h, gw, ni) = (shape.n_hidden, shape.gate_width(), shape.n_inputs);
    let rows = q.len();
    let (x, fx) = (sub(x, 0, rows * h)?, sub_mut(fx, 0, rows * h)?);
    let mut rest = scratch;
    let pre = take_mut(&mut rest, rows * gw)?;
    let cin = take_mut(&mut rest, rows * gw)?;
    // P = X W_h, then the input part.
    gemm(rows, h, gw, x, h, packed.w_h, pre, gw, false)?;
    match packed.c_shared {
        Some(c) => {
            for p in pre.chunks_exact_mut(gw) {
                for (a, &b) in p.iter_mut().zip(c) {
                    *a += b;
                }
            }
        }
        None => {
            for (i, ci) in cin.chunks_exact_mut(gw).enumerate() {
                input_part(cell, sub(inputs, i * ni, ni)?, ci)?;
            }
            for (p, c) in pre.chunks_exact_mut(gw).zip(cin.chunks_exact(gw)) {
                for (a, &b) in p.iter_mut().zip(c) {
                    *a += b;
                }
            }
        }
    }
    // F = tanh(P), r = x − F, q = ½‖r‖², D = r ∘ (1 − F²) (into `pre`).
    let half = T::from_f64(0.5);
    for (((p, f), xr), qi) in pre
        .chunks_exact_mut(gw)
        .zip(fx.chunks_exact_mut(h))
        .zip(x.chunks_exact(h))
        .zip(q.iter_mut())
    {
        for v in p.iter_mut() {
            *v = v.tanh();
        }
        f.copy_from_slice(p);
        let mut s = T::ZERO;
        for ((d, &fv), &xv) in p.iter_mut().zip(f.iter()).zip(xr) {
            let r = xv - fv;
            s += r * r;
            *d = r * (T::ONE - fv * fv);
        }
        *qi = s * half;
    }
    if let Some(grad) = grad {
        // ∇q = r − D W_hᵀ.
        let grad = sub_mut(grad, 0, rows * h)?;
        gemm(rows, gw, h, pre, gw, packed.w_ht, grad, h, false)?;
        for ((g, &xv), &fv) in grad.iter_mut().zip(x).zip(fx.iter()) {
            *g = (xv - fv) - *g;
        }
    }
    Some(())
}
