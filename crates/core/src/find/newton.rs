//! Damped Newton on `x − G(x) = 0` in f64: solve `(I − J_G) δ = −(x − G(x))`, then
//! backtrack on q (halving the step until q decreases); after a full step, up to
//! `CHORD_STEPS` chord steps reuse the factorization while each cuts q by 4. Converges quadratically to fixed
//! points of any stability; used to polish the q-minimization's points and as the `newton`
//! method. Cost per iteration: one Jacobian of G, one `⅔ S³` LU, a few evaluations of G.

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
        return NewtonResult {
            outcome: NewtonOutcome::NoProgress,
            iters: 0,
            q: f64::NAN,
        };
    };
    let ev = w;
    let mut q = eval(cell, u, x, period, gx, None, ev);
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
        jacobian(cell, u, x, period, a, None, ev);
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
            let q_try = eval(cell, u, x_try, period, g_try, None, ev);
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
                let q_try = eval(cell, u, x_try, period, g_try, None, ev);
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
    NewtonResult { outcome, iters, q }
}
