//! Chord steps for many states at once around one fixed point `x*`:
//! `x ← x + M (G(x) − x)` with `M = (I − J_G(x*))⁻¹` held fixed (period 1, f64).
//!
//! Newton polish from the q-minimization's end points factors `I − J_G` at every state, one
//! or two `⅔ S³` LUs each, although a search's thousand end points sit around a few dozen
//! fixed points. Once one state of a group has been polished to `x*`, the others converge
//! to it under the chord iteration with the anchor's `M` (linearly, at a rate proportional
//! to their distance from `x*`), and a tile of them is two matrix–matrix products per step:
//! the batched evaluation of `G` ([`super::batch`]) and `Δ = R Mᵀ` (`2·S²` flops per state).
//!
//! A state is accepted only if every step cuts its q by [`super::newton`]'s chord gain and it
//! ends below [`Q_TARGET`]; otherwise it is left exactly where it was, for a full Newton
//! polish. So the chord never moves a state to a higher q, and a state it accepts has
//! converged to a fixed point, the one in whose contraction region it started.
//!
//! Workspace, as elsewhere in the kernel, is the caller's: [`anchor_len`] and
//! [`anchor_work_len`] for [`make_anchor`], [`operands_len`] for [`Operands::new`],
//! [`tile_work_len`] for [`chord_tile`].

use super::batch::{self, Packed, TILE};
use super::map::{jacobian, jacobian_work_len};
use super::newton::{CHORD_GAIN, Q_TARGET};
use crate::cell::Cell;
use crate::isa;
use crate::linalg::gemm::{gemm, pack, packed_len};
use crate::linalg::lu::{self, Singular};
use crate::split::{sub_mut, take_mut};

/// States per [`chord_tile`] call, at most.
pub const MAX_TILE: usize = TILE;

/// Whether [`chord_tile`] handles this cell at period `period` (the batched kernels do).
pub fn supported(cell: &Cell<'_, f64>, period: usize) -> bool {
    batch::supported(cell, period)
}

/// Elements of an anchor: `Mᵀ` packed for the GEMM.
pub fn anchor_len(cell: &Cell<'_, f64>) -> usize {
    let s = cell.shape().state_dim();
    packed_len::<f64>(s, s)
}

/// Workspace [`make_anchor`] needs (`piv` needs `S` more entries).
pub fn anchor_work_len(cell: &Cell<'_, f64>) -> usize {
    let s = cell.shape().state_dim();
    jacobian_work_len(cell, 1) + 2 * s * s
}

/// Builds the anchor at the fixed point `xstar` (input row `u`): `M = (I − J_G(x*))⁻¹`,
/// transposed and packed into `anchor` ([`anchor_len`]). Cost: one Jacobian, one LU and the
/// inverse (`≈ 2⅔ S³` flops). `Err` if `I − J_G(x*)` is singular (or its inverse overflows,
/// or a slice is too short: column 0).
pub fn make_anchor(
    cell: &Cell<'_, f64>,
    u: &[f64],
    xstar: &[f64],
    anchor: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
) -> Result<(), Singular> {
    make_anchor_in(cell, u, xstar, anchor, work, piv).unwrap_or(Err(Singular { column: 0 }))
}

fn make_anchor_in(
    cell: &Cell<'_, f64>,
    u: &[f64],
    xstar: &[f64],
    anchor: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
) -> Option<Result<(), Singular>> {
    let s = cell.shape().state_dim();
    let mut w = work;
    let a = take_mut(&mut w, s * s)?;
    let inv = take_mut(&mut w, s * s)?;
    jacobian(cell, u, xstar.get(..s)?, 1, a, None, w);
    for v in a.iter_mut() {
        *v = -*v;
    }
    if s > 0 {
        for (i, row) in (0..s).zip(a.chunks_exact_mut(s)) {
            row[i] += 1.0;
        }
    }
    if let Err(e) = lu::factor(s, a, piv) {
        return Some(Err(e));
    }
    // Δ (rows × S) = R (rows × S) · Mᵀ: M is packed read transposed.
    lu::inverse(s, a, piv, inv);
    if !inv.iter().all(|v| v.is_finite()) {
        return Some(Err(Singular { column: 0 }));
    }
    pack(inv, s, s, s, true, anchor)?;
    Some(Ok(()))
}

/// The run's constant operands for [`chord_tile`]: the packed weight blocks (and the input
/// part of the pre-activations, when every state has the same input).
pub struct Operands<'a> {
    packed: Packed<'a, f64>,
    shared: bool,
}

/// Elements [`Operands::new`] takes.
pub fn operands_len(cell: &Cell<'_, f64>) -> usize {
    batch::packed_work_len(cell)
}

impl<'a> Operands<'a> {
    /// Packs the weights into `work` ([`operands_len`] elements); `shared_input` is the one
    /// input row when every state has it. `None` if `work` is too short.
    pub fn new(
        cell: &Cell<'_, f64>,
        shared_input: Option<&[f64]>,
        work: &'a mut [f64],
    ) -> Option<Self> {
        Some(Operands {
            packed: Packed::new(cell, shared_input, work)?,
            shared: shared_input.is_some(),
        })
    }
}

/// Workspace [`chord_tile`] needs.
pub fn tile_work_len(cell: &Cell<'_, f64>) -> usize {
    let s = cell.shape().state_dim();
    batch::eval_scratch_len(cell) + TILE * (4 * s + 2)
}

/// Chord iteration on up to [`MAX_TILE`] states `x` (`rows × S`, `rows = q.len()`), at
/// their input rows `inputs` (`rows × I`; ignored if the operands have a shared input),
/// with the anchor `anchor` ([`make_anchor`]), for at most `max_steps` steps.
///
/// For each state that converged (`q < Q_TARGET`, every step having cut q by the chord
/// gain), `converged[i]` is set and `x[i]`, `fx[i] = G(x[i])` and `q[i]` are its final
/// values; every other state is left as it was (`fx` and `q` unspecified). `None` if a
/// slice is too short (nothing converged then).
#[allow(clippy::too_many_arguments)]
pub fn chord_tile(
    cell: &Cell<'_, f64>,
    ops: &Operands<'_>,
    inputs: &[f64],
    anchor: &[f64],
    x: &mut [f64],
    fx: &mut [f64],
    q: &mut [f64],
    converged: &mut [bool],
    max_steps: usize,
    work: &mut [f64],
) -> Option<()> {
    if q.len() > TILE || converged.len() < q.len() {
        return None;
    }
    isa::dispatch(ChordTile {
        cell,
        ops,
        inputs,
        anchor,
        x,
        fx,
        q,
        converged,
        max_steps,
        work,
    })
}

/// [`chord_tile`]'s arguments, as an [`isa::Kernel`].
struct ChordTile<'a, 'c> {
    cell: &'a Cell<'c, f64>,
    ops: &'a Operands<'a>,
    inputs: &'a [f64],
    anchor: &'a [f64],
    x: &'a mut [f64],
    fx: &'a mut [f64],
    q: &'a mut [f64],
    converged: &'a mut [bool],
    max_steps: usize,
    work: &'a mut [f64],
}

impl isa::Kernel for ChordTile<'_, '_> {
    type Output = Option<()>;
    #[inline(always)]
    fn run(self) -> Option<()> {
        let t = self;
        let s = t.cell.shape().state_dim();
        let rows = t.q.len();
        let n = rows * s;
        let (x, fx) = (sub_mut(t.x, 0, n)?, sub_mut(t.fx, 0, n)?);
        let converged = sub_mut(t.converged, 0, rows)?;
        let mut w = t.work;
        let eval_scratch = take_mut(&mut w, batch::eval_scratch_len(t.cell))?;
        let (xt, ft, r) = (
            take_mut(&mut w, n)?,
            take_mut(&mut w, n)?,
            take_mut(&mut w, n)?,
        );
        let x0 = take_mut(&mut w, n)?;
        let qt = take_mut(&mut w, rows)?;
        // 1: still iterating; 0: stopped (converged or failed).
        let live = take_mut(&mut w, rows)?;
        x0.copy_from_slice(x);
        converged.fill(false);
        live.fill(1.0);
        let inputs = if t.ops.shared { &[][..] } else { t.inputs };
        let packed = &t.ops.packed;
        batch::eval_tile(t.cell, packed, inputs, x, fx, t.q, None, eval_scratch)?;
        for step in 0..=t.max_steps {
            let mut any = false;
            for ((l, c), &qi) in live.iter_mut().zip(converged.iter_mut()).zip(t.q.iter()) {
                if *l != 0.0 && qi < Q_TARGET {
                    *l = 0.0;
                    *c = true;
                }
                any |= *l != 0.0;
            }
            if !any || step == t.max_steps {
                break;
            }
            for ((ri, &fi), &xi) in r.iter_mut().zip(fx.iter()).zip(x.iter()) {
                *ri = fi - xi;
            }
            gemm(rows, s, s, r, s, t.anchor, xt, s, false)?;
            for (d, &xi) in xt.iter_mut().zip(x.iter()) {
                *d += xi;
            }
            batch::eval_tile(t.cell, packed, inputs, xt, ft, qt, None, eval_scratch)?;
            let states = x
                .chunks_exact_mut(s.max(1))
                .zip(fx.chunks_exact_mut(s.max(1)))
                .zip(xt.chunks_exact(s.max(1)).zip(ft.chunks_exact(s.max(1))))
                .zip(t.q.iter_mut().zip(qt.iter()))
                .zip(live.iter_mut());
            for ((((xi, fi), (xti, fti)), (qi, &qti)), l) in states {
                if *l == 0.0 {
                    continue;
                }
                // (A NaN q fails this too.)
                if qti < CHORD_GAIN * *qi {
                    xi.copy_from_slice(xti);
                    fi.copy_from_slice(fti);
                    *qi = qti;
                } else {
                    *l = 0.0;
                }
            }
        }
        // Whatever did not converge goes back to where it started.
        let rows_back = x
            .chunks_exact_mut(s.max(1))
            .zip(x0.chunks_exact(s.max(1)))
            .zip(converged.iter());
        for ((xi, x0i), &c) in rows_back {
            if !c {
                xi.copy_from_slice(x0i);
            }
        }
        Some(())
    }
}
