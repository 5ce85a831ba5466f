//! Damped Newton on `x − G(x) = 0` in f64: solve `(I − J_G) δ = −(x − G(x))`, then
//! backtrack on q (halving the step until q decreases); after a full step, up to
//! `CHORD_STEPS` chord steps reuse the factorization while each cuts q by 4. Converges quadratically to fixed
//! points of any stability; used to polish the q-minimization's points and as the `newton`
//! method. Cost per iteration: one Jacobian of G, one `⅔ S³` LU, a few evaluations of G.

use super::batch_map::{self, BatchMap, ModelError};
use super::map::{eval, eval_work_len, jacobian, jacobian_work_len};
use crate::cell::Cell;
use crate::linalg::lu;
use crate::split::take_mut;

/// Stop once `q` is below this.
pub const Q_TARGET: f64 = 1e-24;
/// [`polish_local`]'s contraction test: each step at most this fraction of the previous.
const LOCAL_CONTRACTION: f64 = 0.5;

/// Chord steps (the last LU reused) after each full Newton step, at most.
const CHORD_STEPS: usize = 4;
/// A chord step is kept only if it multiplies q by at most this (its error by about ½).
pub(crate) const CHORD_GAIN: f64 = 0.25;

/// Backtracking halvings before giving up on a Newton direction.
const MAX_HALVINGS: usize = 40;

/// How a polish ended. The discriminant is the outcome's code, the same in fixed-point files
/// and in the C ABI's `FPF_NEWTON_*` constants; code 0 ([`NewtonOutcome::NOT_RUN`]) stands for
/// no polish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NewtonOutcome {
    /// `q < Q_TARGET`.
    Converged = 1,
    /// No step along the Newton direction lowered q (q is at its floor, or a slow point).
    NoProgress = 2,
    /// `I − J_G` was singular at the current point.
    Singular = 3,
    /// The iteration cap was reached with q still decreasing.
    MaxIters = 4,
}

impl NewtonOutcome {
    /// The code of "not polished".
    pub const NOT_RUN: u8 = 0;
    /// Every outcome.
    pub const ALL: [NewtonOutcome; 4] = [
        NewtonOutcome::Converged,
        NewtonOutcome::NoProgress,
        NewtonOutcome::Singular,
        NewtonOutcome::MaxIters,
    ];

    /// The code of an optional outcome ([`NewtonOutcome::NOT_RUN`] for `None`).
    pub const fn code(outcome: Option<NewtonOutcome>) -> u8 {
        match outcome {
            None => Self::NOT_RUN,
            Some(o) => o as u8,
        }
    }

    /// The optional outcome of a code; `None` for a code that is none.
    pub const fn from_code(code: u8) -> Option<Option<NewtonOutcome>> {
        if code == Self::NOT_RUN {
            return Some(None);
        }
        let mut k = 0;
        while k < Self::ALL.len() {
            if Self::ALL[k] as u8 == code {
                return Some(Some(Self::ALL[k]));
            }
            k += 1;
        }
        None
    }
}

/// Result of [`polish`] for one state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewtonResult {
    /// How it ended.
    pub outcome: NewtonOutcome,
    /// Newton iterations taken (Jacobians factored; the chord steps that reuse a
    /// factorization are not counted).
    pub iters: usize,
    /// q at the returned point.
    pub q: f64,
}

/// Workspace (f64) that [`polish`] needs; `piv` needs `S` entries.
pub fn work_len(cell: &Cell<'_, f64>, period: usize) -> usize {
    let s = cell.shape();
    let sd = s.state_dim();
    jacobian_work_len(cell, period).max(eval_work_len(sd, s.cache_len(), s.scratch_len(), period))
        + sd * sd
        + 3 * sd
}

/// Polishes `x` in place (length `S`), at input row `u`, to a zero of `x − G(x)`.
///
/// `x` only ever moves to points of lower q: if the first Jacobian is singular, `x` stays
/// where it was. Lengths: `work` ≥ [`work_len`], `piv` ≥ `S`, `gx` = `S` (receives `G(x)`).
/// Never panics in release builds: shorter slices give `NoProgress` with q = NaN and `x`
/// unchanged (debug builds panic).
#[allow(clippy::too_many_arguments)]
pub fn polish(
    cell: &Cell<'_, f64>,
    u: &[f64],
    x: &mut [f64],
    period: usize,
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
) -> NewtonResult {
    polish_in(cell, u, x, period, max_iters, gx, work, piv, false)
}

/// [`polish`] that only succeeds from inside a fixed point's region of quadratic convergence:
/// full Newton steps only, and each step at most half as long as the one before (the
/// contraction test of affine-invariant Newton methods, Deuflhard 2004). It stops with
/// [`NewtonOutcome::NoProgress`] at the first step that fails either test. `Converged`
/// then says that `x` was already close to the fixed point it returns, which is what a
/// search must know before it stops optimizing `x` there (a damped Newton from further away
/// may converge to another fixed point than the q-minimization would have reached).
#[allow(clippy::too_many_arguments)]
pub fn polish_local(
    cell: &Cell<'_, f64>,
    u: &[f64],
    x: &mut [f64],
    period: usize,
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
) -> NewtonResult {
    polish_in(cell, u, x, period, max_iters, gx, work, piv, true)
}

/// What Newton needs of a map at one point: q and `G(x)`, and the Jacobian of `G`.
trait PointMap {
    type Error;
    /// `G(x)` into `gx`; returns q.
    fn eval(&mut self, x: &[f64], gx: &mut [f64]) -> Result<f64, Self::Error>;
    /// `J_G(x)` into `jac` (`S × S`).
    fn jacobian(&mut self, x: &[f64], jac: &mut [f64]) -> Result<(), Self::Error>;
}

/// A cell's k-fold map at one input row, with its evaluation workspace.
struct CellPoint<'a, 'c> {
    cell: &'a Cell<'c, f64>,
    u: &'a [f64],
    period: usize,
    ev: &'a mut [f64],
}

impl PointMap for CellPoint<'_, '_> {
    type Error = core::convert::Infallible;
    #[inline]
    fn eval(&mut self, x: &[f64], gx: &mut [f64]) -> Result<f64, Self::Error> {
        Ok(eval(self.cell, self.u, x, self.period, gx, None, self.ev))
    }
    #[inline]
    fn jacobian(&mut self, x: &[f64], jac: &mut [f64]) -> Result<(), Self::Error> {
        jacobian(self.cell, self.u, x, self.period, jac, None, self.ev);
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn polish_in(
    cell: &Cell<'_, f64>,
    u: &[f64],
    x: &mut [f64],
    period: usize,
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
    local: bool,
) -> NewtonResult {
    let sd = cell.shape().state_dim();
    let Some((head, ev)) = work.split_at_mut_checked(sd * sd + 3 * sd) else {
        debug_assert!(false, "newton::polish: a slice is too short");
        return NewtonResult {
            outcome: NewtonOutcome::NoProgress,
            iters: 0,
            q: f64::NAN,
        };
    };
    let mut m = CellPoint {
        cell,
        u,
        period,
        ev,
    };
    match newton_in(&mut m, sd, x, max_iters, gx, head, piv, local) {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// The damped (or, with `local`, the local) Newton iteration on `m`, state size `sd`;
/// `work` holds `S² + 3·S` elements.
#[allow(clippy::too_many_arguments)]
fn newton_in<M: PointMap>(
    m: &mut M,
    sd: usize,
    x: &mut [f64],
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
    local: bool,
) -> Result<NewtonResult, M::Error> {
    let mut w = work;
    let (Some(a), Some(delta), Some(x_try), Some(g_try), Some(x), Some(gx)) = (
        take_mut(&mut w, sd * sd),
        take_mut(&mut w, sd),
        take_mut(&mut w, sd),
        take_mut(&mut w, sd),
        x.get_mut(..sd),
        gx.get_mut(..sd),
    ) else {
        debug_assert!(false, "newton::polish: a slice is too short");
        return Ok(NewtonResult {
            outcome: NewtonOutcome::NoProgress,
            iters: 0,
            q: f64::NAN,
        });
    };
    let mut q = m.eval(x, gx)?;
    let mut iters = 0;
    // Squared length of the last step (local mode).
    let mut prev_norm = f64::INFINITY;
    let outcome = loop {
        if q < Q_TARGET {
            break NewtonOutcome::Converged;
        }
        if iters == max_iters {
            break NewtonOutcome::MaxIters;
        }
        iters += 1;
        // A = I − J_G(x);  δ = −(x − G(x)) = G(x) − x.
        m.jacobian(x, a)?;
        for v in a.iter_mut() {
            *v = -*v;
        }
        if sd > 0 {
            for (i, row) in (0..sd).zip(a.chunks_exact_mut(sd)) {
                row[i] += 1.0;
            }
        }
        for i in 0..sd {
            delta[i] = gx[i] - x[i];
        }
        if lu::factor(sd, a, piv).is_err() {
            break NewtonOutcome::Singular;
        }
        lu::solve(sd, a, piv, delta);
        if local {
            let norm = delta.iter().map(|d| d * d).sum::<f64>();
            if norm > LOCAL_CONTRACTION * LOCAL_CONTRACTION * prev_norm {
                break NewtonOutcome::NoProgress;
            }
            prev_norm = norm;
        }
        let mut alpha = 1.0;
        let mut accepted = false;
        let halvings = if local { 1 } else { MAX_HALVINGS };
        for _ in 0..halvings {
            for i in 0..sd {
                x_try[i] = x[i] + alpha * delta[i];
            }
            let q_try = m.eval(x_try, g_try)?;
            if q_try < q {
                x.copy_from_slice(x_try);
                gx.copy_from_slice(g_try);
                q = q_try;
                accepted = true;
                break;
            }
            alpha *= 0.5;
        }
        if !accepted {
            break NewtonOutcome::NoProgress;
        }
        // After a full step, chord steps with the same factorization (Shamanskii's
        // variant): each costs one solve and one evaluation instead of a Jacobian and an LU,
        // and is kept only while it cuts q by at least CHORD_GAIN.
        if !local && alpha == 1.0 {
            for _ in 0..CHORD_STEPS {
                if q < Q_TARGET {
                    break;
                }
                for ((d, &g), &xv) in delta.iter_mut().zip(gx.iter()).zip(x.iter()) {
                    *d = g - xv;
                }
                lu::solve(sd, a, piv, delta);
                for ((t, &xv), &d) in x_try.iter_mut().zip(x.iter()).zip(delta.iter()) {
                    *t = xv + d;
                }
                let q_try = m.eval(x_try, g_try)?;
                // (A NaN q_try fails this too.)
                let gained = q_try < CHORD_GAIN * q;
                if !gained {
                    break;
                }
                // Element by element: equal lengths by construction, and no panic path.
                for (d, &v) in x.iter_mut().zip(x_try.iter()) {
                    *d = v;
                }
                for (d, &v) in gx.iter_mut().zip(g_try.iter()) {
                    *d = v;
                }
                q = q_try;
            }
        }
    };
    Ok(NewtonResult { outcome, iters, q })
}

/// A [`BatchMap`] at one input row: batches of one state.
struct MapPoint<'a> {
    map: &'a dyn BatchMap,
    u: &'a [f64],
    /// Workspace of [`batch_map::jacobians`] for one state.
    jwork: &'a mut [f64],
}

impl PointMap for MapPoint<'_> {
    type Error = ModelError;
    fn eval(&mut self, x: &[f64], gx: &mut [f64]) -> Result<f64, ModelError> {
        self.map.forward(x, self.u, gx)?;
        let q = x
            .iter()
            .zip(gx.iter())
            .map(|(&a, &b)| (a - b) * (a - b))
            .sum::<f64>();
        Ok(0.5 * q)
    }
    fn jacobian(&mut self, x: &[f64], jac: &mut [f64]) -> Result<(), ModelError> {
        batch_map::jacobians(self.map, x, self.u, jac, None, self.jwork)
    }
}

/// Workspace (f64) that [`polish_map`] needs for `map`; `piv` needs `S` entries.
pub fn map_work_len(map: &dyn BatchMap) -> usize {
    let sd = map.n_states();
    sd * sd + 3 * sd + batch_map::jacobians_work_len(map, 1)
}

/// [`polish`] (period 1) for a model given by batched functions: each evaluation is one
/// `forward` call on one state, each Jacobian the model's Jacobian function or one `vjp`
/// call on `S` rows. A model function's failure is returned as the error. Lengths as for
/// [`polish`], `work` ≥ [`map_work_len`].
pub fn polish_map(
    map: &dyn BatchMap,
    u: &[f64],
    x: &mut [f64],
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
) -> Result<NewtonResult, ModelError> {
    polish_map_in(map, u, x, max_iters, gx, work, piv, false)
}

/// [`polish_local`] for a model given by batched functions (see [`polish_map`]).
pub fn polish_map_local(
    map: &dyn BatchMap,
    u: &[f64],
    x: &mut [f64],
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
) -> Result<NewtonResult, ModelError> {
    polish_map_in(map, u, x, max_iters, gx, work, piv, true)
}

#[allow(clippy::too_many_arguments)]
fn polish_map_in(
    map: &dyn BatchMap,
    u: &[f64],
    x: &mut [f64],
    max_iters: usize,
    gx: &mut [f64],
    work: &mut [f64],
    piv: &mut [usize],
    local: bool,
) -> Result<NewtonResult, ModelError> {
    let sd = map.n_states();
    let Some((head, jwork)) = work.split_at_mut_checked(sd * sd + 3 * sd) else {
        debug_assert!(false, "newton::polish_map: a slice is too short");
        return Ok(NewtonResult {
            outcome: NewtonOutcome::NoProgress,
            iters: 0,
            q: f64::NAN,
        });
    };
    let mut m = MapPoint { map, u, jwork };
    newton_in(&mut m, sd, x, max_iters, gx, head, piv, local)
}
