//! The q-minimization: Adam on `q = ½‖x − G(x)‖²` with the plateau schedule, optional
//! gradient-norm clipping, and the reference's stopping rule, jointly or one state at a time.
//!
//! Unlike the references, the returned `x*` is the point at which the returned `q*`, `G(x*)`
//! and `dq` were evaluated (they return the point one step later), and the scheduled rate is
//! the one used (canns keeps stepping at `lr_init`).
//!
//! Cost per iteration and state: one evaluation of `G` and its gradient (k steps and k state
//! VJPs, see [`super::map`]) plus ~15 flops per state element for Adam.

use super::map::{eval, eval_work_len};
use super::options::{FinderOptions, Method};
use super::{FindError, Progress};
use crate::cell::Cell;
use crate::optim::{Adam, Plateau, clip_grad_norm};
use crate::scalar::Real;
use crate::scalar::math;

/// Per-state results of [`minimize`]; each slice has one entry (or row) per state.
pub struct QminOutput<'a, T> {
    /// `q(x*)`.
    pub q: &'a mut [T],
    /// `G(x*)`, `n × S`.
    pub fx: &'a mut [T],
    /// `|q(x*) − q(previous iterate)|` (0 when no step was taken).
    pub dq: &'a mut [T],
    /// Adam steps taken.
    pub n_iters: &'a mut [usize],
}

/// Why a minimization stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every state met `q < tol_q` or `|Δq| < tol_dq · lr`.
    Converged,
    /// `max_iters` was reached first.
    MaxIters,
}

/// Summary of a [`minimize`] run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QminReport {
    /// Largest number of iterations any state took.
    pub max_iters_used: usize,
    /// States (joint: all of them; sequential: each) that converged.
    pub n_converged: usize,
    /// Stop reason (joint mode: of the one run; sequential: `MaxIters` if any state hit it).
    pub stop: Stop,
    /// Learning rate at the end (joint mode; sequential: of the last state).
    pub final_lr: f64,
}

/// Workspace length (in `T`) that [`minimize`] needs for `n_states` states.
pub fn work_len<T: Real>(cell: &Cell<'_, T>, n_states: usize, opts: &FinderOptions) -> usize {
    let s = cell.shape();
    let sd = s.state_dim();
    let block = match opts.method {
        Method::Joint => n_states,
        _ => 1,
    };
    block * (3 * sd + 2) + eval_work_len(sd, s.cache_len(), s.scratch_len(), opts.period)
}

/// With [`Method::Newton`] no step is taken: q, `G(x)` and dq are evaluated at the initial
/// states, for the Newton polish to start from.
///
/// Minimizes q from the initial states in `x` (`n × S`, overwritten with `x*`), at the
/// input rows `inputs` (one row shared by all states, or one row per state).
///
/// `progress`, if given, is called after every iteration with the block's statistics;
/// returning `false` stops the run with [`FindError::Cancelled`].
pub fn minimize<T: Real>(
    cell: &Cell<'_, T>,
    opts: &FinderOptions,
    inputs: &[T],
    x: &mut [T],
    out: QminOutput<'_, T>,
    work: &mut [T],
    mut progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<QminReport, FindError> {
    opts.validate().map_err(FindError::Option)?;
    let shape = cell.shape();
    let sd = shape.state_dim();
    let ni = shape.n_inputs;
    let n = super::check_batch(shape, x, inputs)?;
    super::check_len("q", n, out.q.len())?;
    super::check_len("fx", n * sd, out.fx.len())?;
    super::check_len("dq", n, out.dq.len())?;
    super::check_len("n_iters", n, out.n_iters.len())?;
    let need = work_len(cell, n, opts);
    if work.len() < need {
        return Err(FindError::Workspace { need });
    }
    super::check_finite("inputs", inputs)?;
    super::check_finite("initial states", x)?;
    let shared = inputs.len() == ni;
    // The `newton` method takes no Adam step: evaluate q at the initial states only.
    let max_iters = if opts.method == Method::Newton {
        0
    } else {
        opts.max_iters
    };
    match opts.method {
        Method::Joint => {
            let b = Block {
                first: 0,
                inputs,
                shared,
            };
            let mut out = out;
            let (stop, lr) =
                run_block(cell, opts, max_iters, &b, x, &mut out, work, &mut progress)?;
            Ok(QminReport {
                max_iters_used: out.n_iters.iter().copied().max().unwrap_or(0),
                n_converged: if stop == Stop::Converged { n } else { 0 },
                stop,
                final_lr: lr,
            })
        }
        Method::Sequential | Method::Newton => {
            let mut report = QminReport {
                max_iters_used: 0,
                n_converged: 0,
                stop: Stop::Converged,
                final_lr: opts.lr_init,
            };
            for i in 0..n {
                let u = if shared {
                    inputs
                } else {
                    &inputs[i * ni..(i + 1) * ni]
                };
                let b = Block {
                    first: i,
                    inputs: u,
                    shared: true,
                };
                let mut one = QminOutput {
                    q: &mut out.q[i..i + 1],
                    fx: &mut out.fx[i * sd..(i + 1) * sd],
                    dq: &mut out.dq[i..i + 1],
                    n_iters: &mut out.n_iters[i..i + 1],
                };
                let (stop, lr) = run_block(
                    cell,
                    opts,
                    max_iters,
                    &b,
                    &mut x[i * sd..(i + 1) * sd],
                    &mut one,
                    work,
                    &mut progress,
                )?;
                report.final_lr = lr;
                report.max_iters_used = report.max_iters_used.max(out.n_iters[i]);
                match stop {
                    Stop::Converged => report.n_converged += 1,
                    Stop::MaxIters => report.stop = Stop::MaxIters,
                }
            }
            Ok(report)
        }
    }
}

/// A contiguous run of states optimized together.
struct Block<'a, T> {
    /// Index of the block's first state in the whole batch (for progress and errors).
    first: usize,
    inputs: &'a [T],
    /// One input row for the whole block.
    shared: bool,
}

#[allow(clippy::too_many_arguments)]
fn run_block<T: Real>(
    cell: &Cell<'_, T>,
    opts: &FinderOptions,
    max_iters: usize,
    b: &Block<'_, T>,
    x: &mut [T],
    out: &mut QminOutput<'_, T>,
    work: &mut [T],
    progress: &mut Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<(Stop, f64), FindError> {
    let shape = cell.shape();
    let sd = shape.state_dim();
    let ni = shape.n_inputs;
    let n = x.len() / sd;
    let (m, rest) = work.split_at_mut(n * sd);
    let (v, rest) = rest.split_at_mut(n * sd);
    let (g, rest) = rest.split_at_mut(n * sd);
    let (q_prev, rest) = rest.split_at_mut(n);
    let (norm_avg, ev) = rest.split_at_mut(n);
    m.fill(T::ZERO);
    v.fill(T::ZERO);
    norm_avg.fill(T::ZERO);
    let adam = Adam::default();
    let mut sched = Plateau::new(
        opts.lr_init,
        opts.lr_factor,
        opts.lr_patience,
        opts.lr_cooldown,
    );
    let mut lr = opts.lr_init;
    let inv_n = T::from_f64(1.0 / n as f64);
    for iter in 0..=max_iters {
        let stepping = iter < max_iters;
        let (mut sq, mut sq2, mut sdq, mut sdq2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let mut all_done = true;
        for i in 0..n {
            let u = if b.shared {
                b.inputs
            } else {
                &b.inputs[i * ni..(i + 1) * ni]
            };
            let xi = &x[i * sd..(i + 1) * sd];
            let grad = if stepping {
                Some(&mut g[i * sd..(i + 1) * sd])
            } else {
                None
            };
            let q = eval(
                cell,
                u,
                xi,
                opts.period,
                &mut out.fx[i * sd..(i + 1) * sd],
                grad,
                ev,
            );
            if !q.is_finite() {
                return Err(FindError::Diverged { state: b.first + i });
            }
            let dq = if iter == 0 {
                T::ZERO
            } else {
                (q - q_prev[i]).abs()
            };
            out.q[i] = q;
            out.dq[i] = dq;
            out.n_iters[i] = iter;
            let (qf, dqf) = (q.to_f64(), dq.to_f64());
            sq += qf;
            sq2 += qf * qf;
            sdq += dqf;
            sdq2 += dqf * dqf;
            let done = qf < opts.tol_q || (iter > 0 && dqf < opts.tol_dq * lr);
            all_done &= done;
        }
        let nf = n as f64;
        let (q_mean, dq_mean) = (sq / nf, sdq / nf);
        let std = |s2: f64, mean: f64| math::sqrt((s2 / nf - mean * mean).max(0.0));
        if let Some(cb) = progress.as_mut() {
            let p = Progress {
                iter,
                first_state: b.first,
                n_states: n,
                q_mean,
                q_std: std(sq2, q_mean),
                dq_mean,
                dq_std: std(sdq2, dq_mean),
                lr,
                done: all_done || !stepping,
            };
            if !cb(&p) {
                return Err(FindError::Cancelled);
            }
        }
        if all_done {
            return Ok((Stop::Converged, lr));
        }
        if !stepping {
            break;
        }
        lr = sched.observe(q_mean);
        for i in 0..n {
            let gi = &mut g[i * sd..(i + 1) * sd];
            // The gradient of the mean q is ∇q_i / n; without clipping the 1/n rides along in
            // the Adam pass, with clipping it must be applied before the norms are taken.
            let clipping = opts.max_grad_norm > 0.0 || opts.adaptive_grad_clip > 0.0;
            let mut scale = inv_n;
            if clipping {
                for v in gi.iter_mut() {
                    *v *= inv_n;
                }
                scale = T::ONE;
            }
            if opts.max_grad_norm > 0.0 {
                clip_grad_norm(gi, opts.max_grad_norm);
            }
            if opts.adaptive_grad_clip > 0.0 {
                let avg = norm_avg[i].to_f64();
                let limit = if avg > 0.0 {
                    opts.adaptive_grad_clip * avg
                } else {
                    f64::INFINITY
                };
                let norm = clip_grad_norm(gi, limit);
                // Running mean of the unclipped norms over the iterations so far.
                let k = iter as f64;
                norm_avg[i] = T::from_f64((avg * k + norm) / (k + 1.0));
            }
            adam.update_scaled(
                iter as u64 + 1,
                lr,
                &mut x[i * sd..(i + 1) * sd],
                gi,
                scale,
                &mut m[i * sd..(i + 1) * sd],
                &mut v[i * sd..(i + 1) * sd],
            );
            q_prev[i] = out.q[i];
        }
    }
    Ok((Stop::MaxIters, lr))
}
