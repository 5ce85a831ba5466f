//! The q-minimization: Adam on `q = ½‖x − G(x)‖²` with the plateau schedule, optional
//! gradient-norm clipping, and the reference's stopping rule, jointly or one state at a time.
//!
//! Unlike the references, the returned `x*` is the point at which the returned `q*`, `G(x*)`
//! and `dq` were evaluated (they return the point one step later), and the scheduled rate is
//! the one used (canns keeps stepping at `lr_init`).
//!
//! Cost per iteration and state: one evaluation of `G` and its gradient (k steps and k state
//! VJPs, see [`super::map`]) plus ~15 flops per state element for Adam.

use super::batch::{self, Packed, TILE};
use super::batch_map::BatchMap;
use super::map::{eval, eval_work_len};
use super::options::{FinderOptions, Method};
use super::{FindError, Progress};
use crate::cell::Cell;
use crate::fork::{Fork, Serial};
use crate::isa;
use crate::optim::{Adam, Plateau, clip_grad_norm};
use crate::scalar::Real;
use crate::scalar::math;
use crate::split::{sub, sub_mut, take_mut};

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

/// Workspace length (in `T`) that [`minimize`] needs for `n_states` states: the Adam
/// moments (`2·n·S + 3·n`), the packed weights of the batched kernels (about `2·H·G·H`),
/// and the scratch of one tile of 64 states (which holds the tile's gradients: they never
/// leave it, the moments are updated as soon as they are computed) for each run of tiles
/// that may run on its own thread (at most 16: a run reuses its scratch tile after tile).
pub fn work_len<T: Real>(cell: &Cell<'_, T>, n_states: usize, opts: &FinderOptions) -> usize {
    let s = cell.shape();
    let sd = s.state_dim();
    let block = match opts.method {
        Method::Joint => n_states,
        _ => 1,
    };
    let tiles = block.div_ceil(TILE).max(1);
    let runs = tiles.div_ceil(run_len(tiles));
    let (packed, per_tile) = if batch::supported(cell, opts.period) {
        (batch::packed_work_len(cell), batch::tile_scratch_len(cell))
    } else {
        (0, state_scratch_len(cell, opts.period))
    };
    block * (2 * sd + 3) + packed + runs * per_tile
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
    progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<QminReport, FindError> {
    minimize_with(&Serial, cell, opts, inputs, x, out, work, progress)
}

/// [`minimize`], running its tiles of states through `fork` (the std layer passes a thread
/// pool). Results are the same for every [`Fork`]: no tile reads another's output.
#[allow(clippy::too_many_arguments)]
pub fn minimize_with<T: Real, F: Fork>(
    fork: &F,
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
    check_run(n, sd, &out, work.len(), work_len(cell, n, opts), inputs, x)?;
    // The `newton` method takes no Adam step: evaluate q at the initial states only.
    let max_iters = if opts.method == Method::Newton {
        0
    } else {
        opts.max_iters
    };
    run_method(opts, n, sd, ni, inputs, x, out, |b, x, out| {
        run_block(fork, cell, opts, max_iters, b, x, out, work, &mut progress)
    })
}

/// The checks every minimization makes after the batch's sizes: the outputs' lengths for
/// `n` states of size `sd`, the workspace (`need` elements), finite inputs and states.
fn check_run<T: Real>(
    n: usize,
    sd: usize,
    out: &QminOutput<'_, T>,
    work: usize,
    need: usize,
    inputs: &[T],
    x: &[T],
) -> Result<(), FindError> {
    super::check_len("q", n, out.q.len())?;
    super::check_len("fx", n * sd, out.fx.len())?;
    super::check_len("dq", n, out.dq.len())?;
    super::check_len("n_iters", n, out.n_iters.len())?;
    if work < need {
        return Err(FindError::Workspace { need });
    }
    super::check_finite("inputs", inputs)?;
    super::check_finite("initial states", x)
}

/// The method's blocks: the whole batch at once (joint), or one state after the other
/// (sequential, and the `newton` method's evaluation), each run by `run` on its block, its
/// states and its outputs; the report of them all.
#[allow(clippy::too_many_arguments)]
fn run_method<T: Real>(
    opts: &FinderOptions,
    n: usize,
    sd: usize,
    ni: usize,
    inputs: &[T],
    x: &mut [T],
    out: QminOutput<'_, T>,
    mut run: impl FnMut(
        &Block<'_, T>,
        &mut [T],
        &mut QminOutput<'_, T>,
    ) -> Result<(Stop, f64), FindError>,
) -> Result<QminReport, FindError> {
    let shared = inputs.len() == ni;
    let mut out = out;
    if opts.method == Method::Joint {
        let b = Block {
            first: 0,
            inputs,
            shared,
        };
        let (stop, lr) = run(&b, x, &mut out)?;
        return Ok(QminReport {
            max_iters_used: out.n_iters.iter().copied().max().unwrap_or(0),
            n_converged: if stop == Stop::Converged { n } else { 0 },
            stop,
            final_lr: lr,
        });
    }
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
        let (stop, lr) = run(&b, &mut x[i * sd..(i + 1) * sd], &mut one)?;
        report.final_lr = lr;
        report.max_iters_used = report.max_iters_used.max(out.n_iters[i]);
        match stop {
            Stop::Converged => report.n_converged += 1,
            Stop::MaxIters => report.stop = Stop::MaxIters,
        }
    }
    Ok(report)
}

/// Scratch of the state-by-state evaluation (period k > 1): the map's, and one gradient.
fn state_scratch_len<T: Real>(cell: &Cell<'_, T>, period: usize) -> usize {
    let s = cell.shape();
    eval_work_len(s.state_dim(), s.cache_len(), s.scratch_len(), period) + s.state_dim()
}

/// A contiguous run of states optimized together.
struct Block<'a, T> {
    /// Index of the block's first state in the whole batch (for progress and errors).
    first: usize,
    inputs: &'a [T],
    /// One input row for the whole block.
    shared: bool,
}

/// The per-state arrays of a run of whole tiles, split in halves for [`Fork::join`].
struct Tiles<'a, T> {
    x: &'a mut [T],
    fx: &'a mut [T],
    m: &'a mut [T],
    v: &'a mut [T],
    q: &'a mut [T],
    q_prev: &'a mut [T],
    norm_avg: &'a mut [T],
    /// 1 for a state that met the stop rule and no longer iterates (`freeze_converged`).
    frozen: &'a mut [T],
    /// One row per state, or the shared row.
    inputs: &'a [T],
    /// `per_tile` elements per run of tiles (see [`for_tiles`]).
    scratch: &'a mut [T],
}

/// What every tile of one iteration shares.
struct Pass<'a, 'c, T> {
    cell: &'a Cell<'c, T>,
    opts: &'a FinderOptions,
    packed: Option<&'a Packed<'a, T>>,
    shared: bool,
    per_tile: usize,
    /// The Adam step to take before evaluating (`None` on the first iteration).
    step: Option<(u64, f64)>,
    /// The iteration (the number of gradients computed before this one).
    iter: usize,
    /// Whether to evaluate the gradient (not on the last iteration).
    grad: bool,
    /// Whether to write `G(x)` into the outputs (otherwise it stays in the tile's
    /// scratch: the iterations need only q and the gradient, and the final pass writes it).
    fx_out: bool,
    inv_n: T,
}

impl<'a, T: Real> Tiles<'a, T> {
    /// The first `rows` states (a whole number of tiles) with the first `scratch` elements
    /// of the scratch, and the rest.
    fn split(
        self,
        rows: usize,
        sd: usize,
        ni: usize,
        shared: bool,
        scratch: usize,
    ) -> (Self, Self) {
        let (x, x2) = self.x.split_at_mut(rows * sd);
        let (fx, fx2) = self.fx.split_at_mut(rows * sd);
        let (m, m2) = self.m.split_at_mut(rows * sd);
        let (v, v2) = self.v.split_at_mut(rows * sd);
        let (q, q2) = self.q.split_at_mut(rows);
        let (qp, qp2) = self.q_prev.split_at_mut(rows);
        let (na, na2) = self.norm_avg.split_at_mut(rows);
        let (fr, fr2) = self.frozen.split_at_mut(rows);
        let (inputs, inputs2) = if shared {
            (self.inputs, self.inputs)
        } else {
            self.inputs.split_at(rows * ni)
        };
        let (sc, sc2) = self.scratch.split_at_mut(scratch);
        (
            Tiles {
                x,
                fx,
                m,
                v,
                q,
                q_prev: qp,
                norm_avg: na,
                frozen: fr,
                inputs,
                scratch: sc,
            },
            Tiles {
                x: x2,
                fx: fx2,
                m: m2,
                v: v2,
                q: q2,
                q_prev: qp2,
                norm_avg: na2,
                frozen: fr2,
                inputs: inputs2,
                scratch: sc2,
            },
        )
    }
}

/// Below this many unfrozen states a run of tiles is not split between threads.
const SERIAL_BELOW: usize = 2 * TILE;

/// At most this many runs of tiles in a pass. A run is the unit a thread takes: its tiles go
/// one after the other through one tile's scratch, which stays in cache (with a scratch per
/// tile, 8192 states had 22 MB of it and every tile found its own cold).
const MAX_RUNS: usize = 16;

/// Tiles per run in a pass over `n_tiles` tiles.
fn run_len(n_tiles: usize) -> usize {
    n_tiles.div_ceil(MAX_RUNS).max(1)
}

/// The unfrozen states of `frozen`.
fn count_active<T: Real>(frozen: &[T]) -> usize {
    frozen.iter().filter(|&&f| f == T::ZERO).count()
}

/// The fewest leading rows of `frozen` that hold `k` unfrozen states (all of them if it
/// holds fewer).
fn rows_holding<T: Real>(frozen: &[T], k: usize) -> usize {
    if k == 0 {
        return 0;
    }
    let mut seen = 0;
    for (i, &f) in frozen.iter().enumerate() {
        if f == T::ZERO {
            seen += 1;
            if seen == k {
                return i + 1;
            }
        }
    }
    frozen.len()
}

/// Runs `pass` on every tile of `t` (`run` tiles per run, `t.scratch` holding one tile's
/// scratch per run), halving through `fork` at run boundaries.
///
/// A tile is [`TILE`] unfrozen states, not [`TILE`] rows: the rows from one tile's last
/// unfrozen state to the next tile's last, frozen rows skipped (gathered, see
/// [`eval_gathered`]). So the products stay [`TILE`] rows tall however the frozen states are
/// scattered, and the halves split the work, not the rows. The partition depends only on
/// which states are frozen, never on the threads.
fn for_tiles<T: Real, F: Fork>(fork: &F, pass: &Pass<'_, '_, T>, t: Tiles<'_, T>, run: usize) {
    let n_active = count_active(t.frozen);
    if n_active == 0 {
        // Every state here has stopped: nothing to step or evaluate, no join to pay for.
        return;
    }
    let n_tiles = n_active.div_ceil(TILE);
    // One run, one thread: also when too little work is left here to pay for waking
    // another thread (the results do not depend on where a tile runs).
    if n_tiles <= run || F::SERIAL || n_active <= SERIAL_BELOW {
        isa::dispatch(TileRun(pass, t));
        return;
    }
    let shape = pass.cell.shape();
    let left_runs = n_tiles.div_ceil(run) / 2;
    let rows = rows_holding(t.frozen, left_runs * run * TILE);
    let (a, b) = t.split(
        rows,
        shape.state_dim(),
        shape.n_inputs,
        pass.shared,
        left_runs * pass.per_tile,
    );
    fork.join(
        || for_tiles(fork, pass, a, run),
        || for_tiles(fork, pass, b, run),
    );
}

/// [`tile_pass`] over each tile of a run, as an [`isa::Kernel`].
struct TileRun<'p, 'a, 'c, 't, T>(&'p Pass<'a, 'c, T>, Tiles<'t, T>);

impl<T: Real> isa::Kernel for TileRun<'_, '_, '_, '_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let TileRun(p, t) = self;
        let shape = p.cell.shape();
        let (sd, ni) = (shape.state_dim(), shape.n_inputs);
        let scratch = t.scratch;
        let mut rest = Tiles {
            scratch: &mut [],
            ..t
        };
        while !rest.q.is_empty() {
            let rows = rows_holding(rest.frozen, TILE);
            let (one, more) = rest.split(rows, sd, ni, p.shared, 0);
            tile_pass(
                p,
                Tiles {
                    scratch: &mut *scratch,
                    ..one
                },
            );
            rest = more;
        }
    }
}

/// One tile of one iteration: the Adam step from the moments of the last gradient, then q,
/// `G(x)` and the new gradient, which goes straight into the moments (clipped first, if
/// asked). Inlined into [`isa::dispatch`]'s versions, so its loops use the CPU's vector
/// width.
#[inline(always)]
fn tile_pass<T: Real>(p: &Pass<'_, '_, T>, mut t: Tiles<'_, T>) {
    let sd = p.cell.shape().state_dim();
    let n_active = count_active(t.frozen);
    if n_active == 0 {
        return;
    }
    let all_active = n_active == t.q.len();
    if let Some((step, lr)) = p.step {
        adam_step(sd, step, lr, all_active, &mut t);
    }
    let done = match p.packed {
        Some(packed) if all_active => eval_whole(p, packed, &mut t),
        // Gather the active states, evaluate them as one smaller tile, scatter back.
        Some(packed) => eval_gathered(p, packed, &mut t, n_active),
        None => eval_each(p, &mut t),
    };
    if done.is_none() {
        debug_assert!(false, "qmin: a tile's slices are too short");
        t.q.fill(T::from_f64(f64::NAN));
    }
}

/// Folds state `i`'s gradient `g` (of its own q) into its Adam moments: the gradient of the
/// mean q is `g / n`; clipped by norm and adaptively if the options ask (the adaptive
/// limit is a multiple of the running mean of the unclipped norms so far).
#[inline(always)]
fn fold_gradient<T: Real>(
    opts: &FinderOptions,
    inv_n: T,
    iter: usize,
    g: &mut [T],
    m: &mut [T],
    v: &mut [T],
    norm_avg: &mut T,
) {
    let adam = Adam::default();
    if opts.max_grad_norm <= 0.0 && opts.adaptive_grad_clip <= 0.0 {
        adam.moments(g, inv_n, m, v);
        return;
    }
    for x in g.iter_mut() {
        *x *= inv_n;
    }
    if opts.max_grad_norm > 0.0 {
        clip_grad_norm(g, opts.max_grad_norm);
    }
    if opts.adaptive_grad_clip > 0.0 {
        let avg = norm_avg.to_f64();
        let limit = if avg > 0.0 {
            opts.adaptive_grad_clip * avg
        } else {
            f64::INFINITY
        };
        let norm = clip_grad_norm(g, limit);
        // Running mean of the unclipped norms over the gradients so far.
        let k = iter as f64;
        *norm_avg = T::from_f64((avg * k + norm) / (k + 1.0));
    }
    adam.moments(g, T::ONE, m, v);
}

/// The split of a tile's scratch: the batched evaluation's, then room for `rows` gathered
/// states, `G(x)`, gradients, q and input rows.
struct TileScratch<'s, T> {
    eval: &'s mut [T],
    x: &'s mut [T],
    fx: &'s mut [T],
    g: &'s mut [T],
    q: &'s mut [T],
    u: &'s mut [T],
}

fn split_scratch<'s, T: Real>(
    p: &Pass<'_, '_, T>,
    scratch: &'s mut [T],
    rows: usize,
) -> Option<TileScratch<'s, T>> {
    let shape = p.cell.shape();
    let (sd, ni) = (shape.state_dim(), shape.n_inputs);
    let mut rest = scratch;
    Some(TileScratch {
        eval: take_mut(&mut rest, batch::eval_scratch_len(p.cell))?,
        x: take_mut(&mut rest, rows * sd)?,
        fx: take_mut(&mut rest, rows * sd)?,
        g: take_mut(&mut rest, rows * sd)?,
        q: take_mut(&mut rest, rows)?,
        u: take_mut(&mut rest, if p.shared { 0 } else { rows * ni })?,
    })
}

/// The batched evaluation of a whole tile (no state of it frozen).
#[inline(always)]
fn eval_whole<T: Real>(
    p: &Pass<'_, '_, T>,
    packed: &Packed<'_, T>,
    t: &mut Tiles<'_, T>,
) -> Option<()> {
    let sd = p.cell.shape().state_dim();
    let rows = t.q.len();
    let sc = split_scratch(p, t.scratch, rows)?;
    let grad = if p.grad { Some(&mut *sc.g) } else { None };
    let fx = if p.fx_out { &mut *t.fx } else { sc.fx };
    batch::eval_tile(p.cell, packed, t.inputs, t.x, fx, t.q, grad, sc.eval)?;
    let clipping = p.opts.max_grad_norm > 0.0 || p.opts.adaptive_grad_clip > 0.0;
    if p.grad && !clipping {
        // The tile's rows are contiguous: the moments in one pass over all of it.
        Adam::default().moments(sc.g, p.inv_n, t.m, t.v);
    } else if p.grad {
        let rows =
            sc.g.chunks_exact_mut(sd)
                .zip(t.m.chunks_exact_mut(sd).zip(t.v.chunks_exact_mut(sd)))
                .zip(t.norm_avg.iter_mut());
        for ((gi, (mi, vi)), na) in rows {
            fold_gradient(p.opts, p.inv_n, p.iter, gi, mi, vi, na);
        }
    }
    Some(())
}

/// The Adam step of the unfrozen states of `t` from their moments (the last gradient is
/// already in them), and their q saved as the previous q. `all_active`: no state of `t` is
/// frozen. Inlined into [`tile_pass`], so its loops use the CPU's vector width.
#[inline(always)]
fn adam_step<T: Real>(sd: usize, step: u64, lr: f64, all_active: bool, t: &mut Tiles<'_, T>) {
    let adam = Adam::default();
    if all_active {
        // The rows are contiguous: one pass over all of them.
        adam.step_from_moments(step, lr, t.x, t.m, t.v);
    } else {
        let rows =
            t.x.chunks_exact_mut(sd)
                .zip(t.m.chunks_exact(sd).zip(t.v.chunks_exact(sd)))
                .zip(t.frozen.iter());
        for ((xi, (mi, vi)), &fr) in rows {
            if fr == T::ZERO {
                adam.step_from_moments(step, lr, xi, mi, vi);
            }
        }
    }
    for ((qp, &q), &fr) in t.q_prev.iter_mut().zip(t.q.iter()).zip(t.frozen.iter()) {
        if fr == T::ZERO {
            *qp = q;
        }
    }
}

/// The batched evaluation of the `n_active` unfrozen states of a tile: copied into the
/// tile's gather buffers, evaluated together, copied back.
#[inline(always)]
fn eval_gathered<T: Real>(
    p: &Pass<'_, '_, T>,
    packed: &Packed<'_, T>,
    t: &mut Tiles<'_, T>,
    n_active: usize,
) -> Option<()> {
    let shape = p.cell.shape();
    let (sd, ni) = (shape.state_dim(), shape.n_inputs);
    // The scratch moves out of `t`, which the scatter below borrows whole.
    let sc = split_scratch(p, core::mem::take(&mut t.scratch), n_active)?;
    let mut k = 0;
    for (i, (xi, &fr)) in t.x.chunks_exact(sd).zip(t.frozen.iter()).enumerate() {
        if fr == T::ZERO {
            sub_mut(sc.x, k * sd, sd)?.copy_from_slice(xi);
            if !p.shared {
                sub_mut(sc.u, k * ni, ni)?.copy_from_slice(sub(t.inputs, i * ni, ni)?);
            }
            k += 1;
        }
    }
    let inputs: &[T] = if p.shared { t.inputs } else { sc.u };
    let grad = if p.grad { Some(&mut *sc.g) } else { None };
    batch::eval_tile(p.cell, packed, inputs, sc.x, sc.fx, sc.q, grad, sc.eval)?;
    let fx = if p.fx_out { Some(&*sc.fx) } else { None };
    let g = if p.grad { Some(&mut *sc.g) } else { None };
    let q = &*sc.q;
    scatter_active(p.opts, p.inv_n, p.iter, sd, t, fx, g, |k| q.get(k).copied())
}

/// Back from the gathered rows (the tile's unfrozen states, in order) to the tile: `G(x)`
/// from `fx` if given, the gradient in `g` folded into the moments if given, q from `q_of`.
/// `None` if a gathered slice is too short.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scatter_active<T: Real>(
    opts: &FinderOptions,
    inv_n: T,
    iter: usize,
    sd: usize,
    t: &mut Tiles<'_, T>,
    fx: Option<&[T]>,
    mut g: Option<&mut [T]>,
    q_of: impl Fn(usize) -> Option<T>,
) -> Option<()> {
    let mut k = 0;
    let rows =
        t.fx.chunks_exact_mut(sd)
            .zip(t.m.chunks_exact_mut(sd).zip(t.v.chunks_exact_mut(sd)))
            .zip(
                t.q.iter_mut()
                    .zip(t.norm_avg.iter_mut().zip(t.frozen.iter())),
            );
    for ((fxi, (mi, vi)), (qi, (na, &fr))) in rows {
        if fr != T::ZERO {
            continue;
        }
        if let Some(fx) = fx {
            fxi.copy_from_slice(sub(fx, k * sd, sd)?);
        }
        if let Some(g) = g.as_deref_mut() {
            fold_gradient(opts, inv_n, iter, sub_mut(g, k * sd, sd)?, mi, vi, na);
        }
        *qi = q_of(k)?;
        k += 1;
    }
    Some(())
}

/// State by state (period k > 1: k steps and k VJPs each).
#[inline(always)]
fn eval_each<T: Real>(p: &Pass<'_, '_, T>, t: &mut Tiles<'_, T>) -> Option<()> {
    let shape = p.cell.shape();
    let (sd, ni) = (shape.state_dim(), shape.n_inputs);
    let (gi, scratch) = t.scratch.split_at_mut_checked(sd)?;
    let states =
        t.x.chunks_exact(sd)
            .zip(t.fx.chunks_exact_mut(sd))
            .zip(t.m.chunks_exact_mut(sd).zip(t.v.chunks_exact_mut(sd)))
            .zip(
                t.q.iter_mut()
                    .zip(t.norm_avg.iter_mut().zip(t.frozen.iter())),
            )
            .enumerate();
    for (i, (((xi, fxi), (mi, vi)), (qi, (na, &fr)))) in states {
        if fr != T::ZERO {
            continue;
        }
        let u = if p.shared {
            t.inputs
        } else {
            sub(t.inputs, i * ni, ni)?
        };
        let grad = if p.grad { Some(&mut *gi) } else { None };
        *qi = eval(p.cell, u, xi, p.opts.period, fxi, grad, scratch);
        if p.grad {
            fold_gradient(p.opts, p.inv_n, p.iter, gi, mi, vi, na);
        }
    }
    Some(())
}

/// The optimizer's per-state arrays of a block (`n` states), cut from the workspace.
struct Bufs<'a, T> {
    m: &'a mut [T],
    v: &'a mut [T],
    q_prev: &'a mut [T],
    norm_avg: &'a mut [T],
    frozen: &'a mut [T],
}

/// Cuts the [`Bufs`] of `n` states of size `sd` off `work` (zeroing what must start at
/// zero); returns them and the rest.
fn bufs<T: Real>(work: &mut [T], n: usize, sd: usize) -> (Bufs<'_, T>, &mut [T]) {
    let (m, rest) = work.split_at_mut(n * sd);
    let (v, rest) = rest.split_at_mut(n * sd);
    let (q_prev, rest) = rest.split_at_mut(n);
    let (norm_avg, rest) = rest.split_at_mut(n);
    let (frozen, rest) = rest.split_at_mut(n);
    m.fill(T::ZERO);
    v.fill(T::ZERO);
    norm_avg.fill(T::ZERO);
    frozen.fill(T::ZERO);
    let b = Bufs {
        m,
        v,
        q_prev,
        norm_avg,
        frozen,
    };
    (b, rest)
}

/// One iteration of a block: the Adam step of every unfrozen state (from the moments of its
/// last gradient, when `step` is given), then its q, `G(x)` and, with `grad`, its gradient,
/// folded into the moments at once (`iter` is the number of gradients before it).
trait Evaluate<T> {
    /// Whether [`Evaluate::pass`] without `fx_out` leaves `G(x)` out of the outputs (then
    /// the loop ends with a pass that writes it).
    const DEFERS_FX: bool;
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &mut self,
        step: Option<(u64, f64)>,
        iter: usize,
        grad: bool,
        fx_out: bool,
        inv_n: T,
        t: Tiles<'_, T>,
    ) -> Result<(), FindError>;
}

/// A cell's iteration: the tile kernels, each tile's step and evaluation fused, tiles
/// through the fork.
struct CellEval<'a, 'c, F, T> {
    fork: &'a F,
    cell: &'a Cell<'c, T>,
    opts: &'a FinderOptions,
    packed: Option<Packed<'a, T>>,
    shared: bool,
    per_tile: usize,
    scratch: &'a mut [T],
}

impl<T: Real, F: Fork> Evaluate<T> for CellEval<'_, '_, F, T> {
    // Period k > 1 (no packed weights) evaluates state by state into the outputs.
    const DEFERS_FX: bool = true;
    #[inline]
    fn pass(
        &mut self,
        step: Option<(u64, f64)>,
        iter: usize,
        grad: bool,
        fx_out: bool,
        inv_n: T,
        t: Tiles<'_, T>,
    ) -> Result<(), FindError> {
        let pass = Pass {
            cell: self.cell,
            opts: self.opts,
            packed: self.packed.as_ref(),
            shared: self.shared,
            per_tile: self.per_tile,
            step,
            iter,
            grad,
            fx_out,
            inv_n,
        };
        let t = Tiles {
            scratch: &mut *self.scratch,
            ..t
        };
        let run = run_len(t.q.len().div_ceil(TILE));
        for_tiles(self.fork, &pass, t, run);
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn run_block<T: Real, F: Fork>(
    fork: &F,
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
    let n = x.len() / sd;
    let (bf, rest) = bufs(work, n, sd);
    let batched = batch::supported(cell, opts.period);
    let (packed, scratch, per_tile) = if batched {
        let (pw, scratch) = rest.split_at_mut(batch::packed_work_len(cell));
        let shared = if b.shared { Some(b.inputs) } else { None };
        let packed = Packed::new(cell, shared, pw).ok_or(FindError::Workspace {
            need: work_len(cell, n, opts),
        })?;
        (Some(packed), scratch, batch::tile_scratch_len(cell))
    } else {
        (None, rest, state_scratch_len(cell, opts.period))
    };
    let mut ev = CellEval {
        fork,
        cell,
        opts,
        packed,
        shared: b.shared,
        per_tile,
        scratch,
    };
    iterate(&mut ev, opts, max_iters, b, x, out, bf, progress)
}

/// The iterations of one block: passes of `ev`, the stop rule (and freezing), the
/// statistics and progress, the plateau schedule.
#[allow(clippy::too_many_arguments)]
fn iterate<T: Real, E: Evaluate<T>>(
    ev: &mut E,
    opts: &FinderOptions,
    max_iters: usize,
    b: &Block<'_, T>,
    x: &mut [T],
    out: &mut QminOutput<'_, T>,
    bf: Bufs<'_, T>,
    progress: &mut Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<(Stop, f64), FindError> {
    let n = out.q.len();
    let Bufs {
        m,
        v,
        q_prev,
        norm_avg,
        frozen,
    } = bf;
    let mut sched = Plateau::new(
        opts.lr_init,
        opts.lr_factor,
        opts.lr_patience,
        opts.lr_cooldown,
    );
    let mut lr = opts.lr_init;
    let inv_n = T::from_f64(1.0 / n as f64);
    // Σq, Σq², Σdq, Σdq² of the frozen states, added once when each froze (their q and dq
    // no longer change): an iteration sums only the states still running.
    let mut frozen_sums = [0.0f64; 4];
    let mut stop = Stop::MaxIters;
    // The whole block as tiles (the evaluator brings the scratch).
    macro_rules! block_tiles {
        () => {
            Tiles {
                x: &mut *x,
                fx: &mut *out.fx,
                m: &mut *m,
                v: &mut *v,
                q: &mut *out.q,
                q_prev: &mut *q_prev,
                norm_avg: &mut *norm_avg,
                frozen: &mut *frozen,
                inputs: b.inputs,
                scratch: &mut [],
            }
        };
    }
    for iter in 0..=max_iters {
        let stepping = iter < max_iters;
        let step = if iter > 0 {
            Some((iter as u64, lr))
        } else {
            None
        };
        let tiles = block_tiles!();
        ev.pass(step, iter, stepping, !E::DEFERS_FX, inv_n, tiles)?;
        let [mut sq, mut sq2, mut sdq, mut sdq2] = frozen_sums;
        let mut all_done = true;
        let states = out
            .q
            .iter()
            .zip(out.dq.iter_mut())
            .zip(out.n_iters.iter_mut())
            .zip(frozen.iter_mut().zip(q_prev.iter()));
        for (i, (((&q, dq), its), (fr, &qp))) in states.enumerate() {
            if *fr != T::ZERO {
                // Frozen in an earlier iteration: done, and in `frozen_sums`.
                continue;
            }
            if !q.is_finite() {
                return Err(FindError::Diverged { state: b.first + i });
            }
            *dq = if iter == 0 { T::ZERO } else { (q - qp).abs() };
            *its = iter;
            let (qf, dqf) = (q.to_f64(), dq.to_f64());
            sq += qf;
            sq2 += qf * qf;
            sdq += dqf;
            sdq2 += dqf * dqf;
            let done = qf < opts.tol_q || (iter > 0 && dqf < opts.tol_dq * lr);
            if done && opts.freeze_converged {
                *fr = T::ONE;
                for (acc, v) in frozen_sums.iter_mut().zip([qf, qf * qf, dqf, dqf * dqf]) {
                    *acc += v;
                }
            }
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
            stop = Stop::Converged;
            break;
        }
        if !stepping {
            break;
        }
        lr = sched.observe(q_mean);
    }
    if E::DEFERS_FX {
        // G(x) of every state at its final x (a frozen state's x has not moved since it
        // froze, and a state's evaluation does not depend on its tile-mates: the same bits
        // as its last evaluation), written once instead of every iteration.
        frozen.fill(T::ZERO);
        let tiles = block_tiles!();
        ev.pass(None, max_iters, false, true, inv_n, tiles)?;
    }
    Ok((stop, lr))
}

/// A [`BatchMap`]'s iteration: the Adam step of the whole block, then one call of the
/// model's `forward` and one of its `vjp` on the unfrozen states, gathered.
struct MapEval<'a> {
    map: &'a dyn BatchMap,
    opts: &'a FinderOptions,
    shared: bool,
    /// Gathered states, `F(x)`, residuals, VJPs (`n × S` each) and input rows (`n × I`).
    xg: &'a mut [f64],
    fg: &'a mut [f64],
    rg: &'a mut [f64],
    vg: &'a mut [f64],
    ug: &'a mut [f64],
}

impl Evaluate<f64> for MapEval<'_> {
    const DEFERS_FX: bool = false;
    fn pass(
        &mut self,
        step: Option<(u64, f64)>,
        iter: usize,
        grad: bool,
        _fx_out: bool,
        inv_n: f64,
        mut t: Tiles<'_, f64>,
    ) -> Result<(), FindError> {
        let (sd, ni) = (self.map.n_states(), self.map.n_inputs());
        let n_active = t.frozen.iter().filter(|&&f| f == 0.0).count();
        if n_active == 0 {
            return Ok(());
        }
        let all_active = n_active == t.q.len();
        if let Some((step, lr)) = step {
            adam_step(sd, step, lr, all_active, &mut t);
        }
        let short = FindError::Workspace { need: 0 };
        let (na, nu) = (n_active * sd, n_active * ni);
        let xg = self.xg.get_mut(..na).ok_or(short)?;
        let fg = self.fg.get_mut(..na).ok_or(short)?;
        let rg = self.rg.get_mut(..na).ok_or(short)?;
        let vg = self.vg.get_mut(..na).ok_or(short)?;
        let ug = self.ug.get_mut(..nu).ok_or(short)?;
        let mut k = 0;
        for (i, (xi, &fr)) in t.x.chunks_exact(sd).zip(t.frozen.iter()).enumerate() {
            if fr == 0.0 {
                sub_mut(xg, k * sd, sd).ok_or(short)?.copy_from_slice(xi);
                let ui = if self.shared {
                    t.inputs
                } else {
                    sub(t.inputs, i * ni, ni).ok_or(short)?
                };
                sub_mut(ug, k * ni, ni).ok_or(short)?.copy_from_slice(ui);
                k += 1;
            }
        }
        self.map.forward(xg, ug, fg)?;
        for ((r, &xv), &fv) in rg.iter_mut().zip(xg.iter()).zip(fg.iter()) {
            *r = xv - fv;
        }
        if grad {
            self.map.vjp(xg, ug, rg, vg, None)?;
            for (vv, &r) in vg.iter_mut().zip(rg.iter()) {
                *vv = r - *vv;
            }
        }
        let g = if grad { Some(&mut *vg) } else { None };
        let rg = &*rg;
        let q_of =
            |k: usize| sub(rg, k * sd, sd).map(|r| 0.5 * r.iter().map(|v| v * v).sum::<f64>());
        scatter_active(self.opts, inv_n, iter, sd, &mut t, Some(&*fg), g, q_of).ok_or(short)?;
        Ok(())
    }
}

/// Workspace length that [`minimize_map`] needs for `n_states` states of `map`: the Adam
/// moments (`2·n·S + 3·n`) and the gathered batch (`4·n·S + n·I`).
pub fn map_work_len(map: &dyn BatchMap, n_states: usize, opts: &FinderOptions) -> usize {
    let (sd, ni) = (map.n_states(), map.n_inputs());
    let block = match opts.method {
        Method::Joint => n_states,
        _ => 1,
    };
    block.saturating_mul(
        6usize
            .saturating_mul(sd)
            .saturating_add(ni)
            .saturating_add(3),
    )
}

/// [`minimize`] for a model given by batched functions: the same Adam iteration, schedule,
/// clipping, stop rule, freezing and progress, with each iteration's evaluation one call of
/// the model's `forward` and one of its `vjp` on every state still iterating (in joint mode;
/// one state per call in sequential mode). Period 1 only (another `opts.period` is
/// [`FindError::Shape`]); always f64 (`opts.single_precision` does not apply). A model
/// function's failure stops the run with [`FindError::Model`].
pub fn minimize_map(
    map: &dyn BatchMap,
    opts: &FinderOptions,
    inputs: &[f64],
    x: &mut [f64],
    out: QminOutput<'_, f64>,
    work: &mut [f64],
    mut progress: Option<&mut dyn FnMut(&Progress) -> bool>,
) -> Result<QminReport, FindError> {
    opts.validate().map_err(FindError::Option)?;
    let (sd, ni) = (map.n_states(), map.n_inputs());
    super::check_len(
        "period (a model given by functions has period 1)",
        1,
        opts.period,
    )?;
    if sd == 0 {
        super::check_len("model state size (at least 1)", 1, 0)?;
    }
    let n = super::check_batch_dims(sd, ni, x, inputs)?;
    check_run(
        n,
        sd,
        &out,
        work.len(),
        map_work_len(map, n, opts),
        inputs,
        x,
    )?;
    let max_iters = if opts.method == Method::Newton {
        0
    } else {
        opts.max_iters
    };
    let block = match opts.method {
        Method::Joint => n,
        _ => 1,
    };
    run_method(opts, n, sd, ni, inputs, x, out, |b, x, out| {
        let (bf, rest) = bufs(&mut *work, block, sd);
        let (xg, rest) = rest.split_at_mut(block * sd);
        let (fg, rest) = rest.split_at_mut(block * sd);
        let (rg, rest) = rest.split_at_mut(block * sd);
        let (vg, rest) = rest.split_at_mut(block * sd);
        let ug = &mut rest[..block * ni];
        let mut ev = MapEval {
            map,
            opts,
            shared: b.shared,
            xg,
            fg,
            rg,
            vg,
            ug,
        };
        iterate(&mut ev, opts, max_iters, b, x, out, bf, &mut progress)
    })
}
