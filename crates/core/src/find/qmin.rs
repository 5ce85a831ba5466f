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
use crate::split::{sub, take_mut};

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
/// moments and per-state scalars (`2·n·S + 3·n`), the states' input rows (`n·I`, which move
/// with the states, see [`Running`]), the packed weights of the batched kernels (about `2·H·G·H`),
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
    let runs = runs_of(block);
    let (packed, per_tile) = if batch::supported(cell, opts.period) {
        (batch::packed_work_len(cell), batch::tile_scratch_len(cell))
    } else {
        (0, state_scratch_len(cell, opts.period))
    };
    block * (2 * sd + 3 + s.n_inputs) + packed + runs * per_tile
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

/// The per-state arrays of a run of tiles (or of the whole running part), cut into runs for
/// [`Fork::for_each`].
struct Tiles<'a, T> {
    x: &'a mut [T],
    fx: &'a mut [T],
    m: &'a mut [T],
    v: &'a mut [T],
    q: &'a mut [T],
    dq: &'a mut [T],
    q_prev: &'a mut [T],
    norm_avg: &'a mut [T],
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
    /// The stop rule to apply to each state after its evaluation (not in the final pass).
    stop: Option<StopRule>,
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
        let (dq, dq2) = self.dq.split_at_mut(rows);
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
                dq,
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
                dq: dq2,
                q_prev: qp2,
                norm_avg: na2,
                frozen: fr2,
                inputs: inputs2,
                scratch: sc2,
            },
        )
    }
}

/// The reference's stop rule for one iteration: a state is done when `q < tol_q` or, after
/// the first iteration, `|Δq| < tol_dq · lr`; with `freeze`, a done state stops there.
#[derive(Clone, Copy)]
struct StopRule {
    iter: usize,
    tol_q: f64,
    /// `tol_dq · lr`.
    tol_dq_lr: f64,
    freeze: bool,
}

/// What an iteration's pass over some slots found: Σq, Σq², Σdq, Σdq² over its states, the
/// same over those that stopped in it, how many stopped, whether any is not done, and the
/// first slot whose q is not finite (the states after it in its run are not looked at).
#[derive(Clone, Copy, Default)]
struct Observed {
    sums: [f64; 4],
    stopped_sums: [f64; 4],
    stopped: usize,
    not_done: bool,
    bad: Option<usize>,
}

impl Observed {
    /// Adds what the pass over the next slots found (its first slot `offset` after this
    /// one's first).
    fn add(&mut self, next: &Observed, offset: usize) {
        for (a, b) in self.sums.iter_mut().zip(next.sums) {
            *a += b;
        }
        for (a, b) in self.stopped_sums.iter_mut().zip(next.stopped_sums) {
            *a += b;
        }
        self.stopped += next.stopped;
        self.not_done |= next.not_done;
        if self.bad.is_none() {
            self.bad = next.bad.map(|b| b + offset);
        }
    }
}

/// The stop rule on each state of `t` just evaluated (its first slot `first` in `o`'s
/// slots): its `|Δq|` into `dq`, the sums, and, for one that stops, its count at once (also
/// kept if a later state's q is not finite) and its frozen mark.
#[inline(always)]
fn observe<T: Real>(rule: &StopRule, t: &mut Tiles<'_, T>, o: &mut Observed, first: usize) {
    if o.bad.is_some() {
        return;
    }
    let states =
        t.q.iter()
            .zip(t.dq.iter_mut())
            .zip(t.frozen.iter_mut().zip(t.q_prev.iter_mut()))
            .zip(t.norm_avg.iter_mut())
            .enumerate();
    for (k, (((&q, dq), (fr, qp)), na)) in states {
        if !q.is_finite() {
            o.bad = Some(first + k);
            return;
        }
        *dq = if rule.iter == 0 {
            T::ZERO
        } else {
            (q - *qp).abs()
        };
        let (qf, dqf) = (q.to_f64(), dq.to_f64());
        let v = [qf, qf * qf, dqf, dqf * dqf];
        for (acc, v) in o.sums.iter_mut().zip(v) {
            *acc += v;
        }
        let done = qf < rule.tol_q || (rule.iter > 0 && dqf < rule.tol_dq_lr);
        if done && rule.freeze {
            put_count(rule.iter, qp, na, fr);
            for (acc, v) in o.stopped_sums.iter_mut().zip(v) {
                *acc += v;
            }
            o.stopped += 1;
        }
        o.not_done |= !done;
    }
}

/// The fewest states in a run of a pass cut for threads (a pass over fewer than twice this
/// many stays whole): with fewer, handing the work over costs about what it saves (the
/// whole find on flipflop3_h64_s42 was fastest at 16 of 8, 16, 32 and 128).
const MIN_RUN_ROWS: usize = 16;

/// At most this many runs of tiles in a pass. A run is the unit a thread takes: its tiles go
/// one after the other through one tile's scratch, which stays in cache (with a scratch per
/// tile, 8192 states had 22 MB of it and every tile found its own cold).
const MAX_RUNS: usize = 16;

/// Runs of tiles (each with its own tile scratch) in a pass over `n` states: at most
/// [`MAX_RUNS`], each of a whole number of tiles.
fn runs_of(n: usize) -> usize {
    let tiles = n.div_ceil(TILE).max(1);
    tiles.div_ceil(tiles.div_ceil(MAX_RUNS))
}

/// States per run when a pass over `rows` states is cut into at most `runs` runs: whole
/// tiles while there are enough of them, else equal runs of one short tile each, of at
/// least [`MIN_RUN_ROWS`] (in a search's tail a few dozen states still iterate for
/// hundreds of iterations).
pub(super) fn run_rows(rows: usize, runs: usize) -> usize {
    let k = (rows / MIN_RUN_ROWS).clamp(1, runs.max(1));
    let per = rows.div_ceil(k);
    if per > TILE {
        per.next_multiple_of(TILE)
    } else {
        per
    }
}

/// Runs `pass` on every tile of `t` in runs of `per_run` states (`t.scratch` holding one
/// tile's scratch per run), the runs through `fork`, and returns what the stop rule found,
/// the runs' findings added in slot order whoever ran them. Every state of `t` iterates
/// (the stopped ones were moved out of the block's running part, see [`Running`]).
fn for_tiles<T: Real, F: Fork>(
    fork: &F,
    pass: &Pass<'_, '_, T>,
    mut t: Tiles<'_, T>,
    per_run: usize,
) -> Observed {
    let shape = pass.cell.shape();
    let (sd, ni) = (shape.state_dim(), shape.n_inputs);
    let scratch = core::mem::take(&mut t.scratch);
    let mut runs: [(Option<Tiles<'_, T>>, Observed); MAX_RUNS] = Default::default();
    let mut rest = Some(t);
    for (k, (slot, _)) in runs.iter_mut().enumerate() {
        let Some(r) = rest.take() else { break };
        // (The last slot takes whatever is left: `run_rows` makes at most `MAX_RUNS` runs.)
        let rows = if k + 1 < MAX_RUNS { per_run } else { r.q.len() };
        if r.q.len() <= rows {
            *slot = Some(r);
            break;
        }
        let (one, more) = r.split(rows, sd, ni, pass.shared, 0);
        *slot = Some(one);
        rest = Some(more);
    }
    let used = runs.iter().take_while(|r| r.0.is_some()).count();
    // One run, one thread: also when too little work is left here to pay for waking
    // another (the results do not depend on where a run goes).
    if used <= 1 || F::SERIAL {
        for (r, o) in runs[..used].iter_mut() {
            if let Some(t) = r.take() {
                let t = Tiles {
                    scratch: &mut *scratch,
                    ..t
                };
                isa::dispatch(TileRun(pass, t, o));
            }
        }
    } else {
        let per_tile = pass.per_tile.max(1);
        for ((r, _), sc) in runs[..used]
            .iter_mut()
            .zip(scratch.chunks_exact_mut(per_tile))
        {
            if let Some(t) = r {
                t.scratch = sc;
            }
        }
        fork.for_each(&mut runs[..used], |(r, o)| {
            if let Some(t) = r.take() {
                isa::dispatch(TileRun(pass, t, o));
            }
        });
    }
    let mut all = Observed::default();
    for (k, (_, o)) in runs[..used].iter().enumerate() {
        all.add(o, k * per_run);
    }
    all
}

/// [`tile_pass`] over each tile of a run, as an [`isa::Kernel`].
struct TileRun<'p, 'a, 'c, 't, 'o, T>(&'p Pass<'a, 'c, T>, Tiles<'t, T>, &'o mut Observed);

impl<T: Real> isa::Kernel for TileRun<'_, '_, '_, '_, '_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let TileRun(p, t, o) = self;
        let shape = p.cell.shape();
        let (sd, ni) = (shape.state_dim(), shape.n_inputs);
        let scratch = t.scratch;
        let mut rest = Tiles {
            scratch: &mut [],
            ..t
        };
        let mut first = 0;
        while !rest.q.is_empty() {
            let rows = TILE.min(rest.q.len());
            let (one, more) = rest.split(rows, sd, ni, p.shared, 0);
            let one = Tiles {
                scratch: &mut *scratch,
                ..one
            };
            tile_pass(p, one, o, first);
            first += rows;
            rest = more;
        }
    }
}

/// One tile of one iteration: the Adam step from the moments of the last gradient, then q,
/// `G(x)` and the new gradient, which goes straight into the moments (clipped first, if
/// asked), then the stop rule on its states (its first slot `first` in `o`'s). Inlined into
/// [`isa::dispatch`]'s versions, so its loops use the CPU's vector width.
#[inline(always)]
fn tile_pass<T: Real>(p: &Pass<'_, '_, T>, mut t: Tiles<'_, T>, o: &mut Observed, first: usize) {
    if let Some((step, lr)) = p.step {
        adam_step(step, lr, &mut t);
    }
    let done = match p.packed {
        Some(packed) => eval_whole(p, packed, &mut t),
        None => eval_each(p, &mut t),
    };
    if done.is_none() {
        debug_assert!(false, "qmin: a tile's slices are too short");
        t.q.fill(T::from_f64(f64::NAN));
    }
    if let Some(rule) = &p.stop {
        observe(rule, &mut t, o, first);
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

/// The split of a tile's scratch: the batched evaluation's, then `G(x)` and the gradients
/// of `rows` states.
struct TileScratch<'s, T> {
    eval: &'s mut [T],
    fx: &'s mut [T],
    g: &'s mut [T],
}

fn split_scratch<'s, T: Real>(
    p: &Pass<'_, '_, T>,
    scratch: &'s mut [T],
    rows: usize,
) -> Option<TileScratch<'s, T>> {
    let sd = p.cell.shape().state_dim();
    let mut rest = scratch;
    Some(TileScratch {
        eval: take_mut(&mut rest, batch::eval_scratch_len(p.cell))?,
        fx: take_mut(&mut rest, rows * sd)?,
        g: take_mut(&mut rest, rows * sd)?,
    })
}

/// The batched evaluation of a tile.
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

/// The Adam step of the states of `t` from their moments (the last gradient is already in
/// them), and their q saved as the previous q. Inlined into [`tile_pass`], so its loops use
/// the CPU's vector width.
#[inline(always)]
fn adam_step<T: Real>(step: u64, lr: f64, t: &mut Tiles<'_, T>) {
    // The rows are contiguous: one pass over all of them.
    Adam::default().step_from_moments(step, lr, t.x, t.m, t.v);
    t.q_prev.copy_from_slice(t.q);
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
            .zip(t.q.iter_mut().zip(t.norm_avg.iter_mut()))
            .enumerate();
    for (i, (((xi, fxi), (mi, vi)), (qi, na))) in states {
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
    /// The states' input rows (`n × I`), in the running order (see [`Running`]).
    inputs: &'a mut [T],
}

/// Cuts the [`Bufs`] of `n` states of size `sd` with `ni` inputs off `work` (zeroing what
/// must start at zero); returns them and the rest.
fn bufs<T: Real>(work: &mut [T], n: usize, sd: usize, ni: usize) -> (Bufs<'_, T>, &mut [T]) {
    let (m, rest) = work.split_at_mut(n * sd);
    let (v, rest) = rest.split_at_mut(n * sd);
    let (q_prev, rest) = rest.split_at_mut(n);
    let (norm_avg, rest) = rest.split_at_mut(n);
    let (frozen, rest) = rest.split_at_mut(n);
    let (inputs, rest) = rest.split_at_mut(n * ni);
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
        inputs,
    };
    (b, rest)
}

/// One iteration of a block: the Adam step of every state of the tiles (from the moments of its
/// last gradient, when `step` is given), then its q, `G(x)` and, with `grad`, its gradient,
/// folded into the moments at once (`iter` is the number of gradients before it), and the
/// stop rule `stop` on it, if given (see [`observe`]).
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
        stop: Option<StopRule>,
        t: Tiles<'_, T>,
    ) -> Result<Observed, FindError>;
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
    /// Runs of tiles the scratch holds (one tile's scratch each).
    runs: usize,
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
        stop: Option<StopRule>,
        t: Tiles<'_, T>,
    ) -> Result<Observed, FindError> {
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
            stop,
        };
        let t = Tiles {
            scratch: &mut *self.scratch,
            ..t
        };
        // As many runs as the scratch allows (the running part shrinks).
        let per_run = run_rows(t.q.len(), self.runs);
        Ok(for_tiles(self.fork, &pass, t, per_run))
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
    let (bf, rest) = bufs(work, n, sd, shape.n_inputs);
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
        runs: runs_of(n),
        scratch,
    };
    iterate(&mut ev, opts, max_iters, b, x, out, bf, progress)
}

/// The block's per-state arrays while it iterates. The states still iterating sit in slots
/// `0..live` of every array, so that a pass runs over whole tiles of running states only;
/// a state that stops swaps places with the last running one. `slot_state` (the caller's
/// `n_iters`, borrowed for the run) holds the block index of the state in each slot; a
/// stopped state's iteration count waits in its scalars that no longer change (see
/// [`put_count`]). [`Running::restore`] puts every state back in its own place.
struct Running<'a, T> {
    x: &'a mut [T],
    fx: &'a mut [T],
    m: &'a mut [T],
    v: &'a mut [T],
    q: &'a mut [T],
    dq: &'a mut [T],
    q_prev: &'a mut [T],
    norm_avg: &'a mut [T],
    /// Non-zero for a stopped state.
    frozen: &'a mut [T],
    /// The input rows in slot order (empty with a shared input).
    inputs: &'a mut [T],
    slot_state: &'a mut [usize],
    sd: usize,
    ni: usize,
}

/// Bits of a stopped state's iteration count in each of the three scalars that hold it:
/// integers below 2²² are exact in f32, and three of them hold any `u64`.
const COUNT_BITS: u32 = 22;

/// Stores iteration count `it` in a stopped state's `q_prev`, `norm_avg` and frozen mark
/// (which stays non-zero), none of which a stopped state uses again.
pub(super) fn put_count<T: Real>(it: usize, q_prev: &mut T, norm_avg: &mut T, frozen: &mut T) {
    let (it, mask) = (it as u64, (1u64 << COUNT_BITS) - 1);
    *q_prev = T::from_f64((it & mask) as f64);
    *norm_avg = T::from_f64(((it >> COUNT_BITS) & mask) as f64);
    *frozen = T::from_f64(((it >> (2 * COUNT_BITS)) + 1) as f64);
}

/// The iteration count [`put_count`] stored.
pub(super) fn get_count<T: Real>(q_prev: T, norm_avg: T, frozen: T) -> usize {
    let lo = q_prev.to_f64() as u64;
    let mid = norm_avg.to_f64() as u64;
    let hi = (frozen.to_f64() as u64).saturating_sub(1);
    (lo | (mid << COUNT_BITS) | (hi << (2 * COUNT_BITS))) as usize
}

/// Swaps rows `a` and `b` (of `len` elements) of `m`; nothing if one is out of range.
fn swap_rows<E>(m: &mut [E], len: usize, a: usize, b: usize) {
    let (lo, hi) = (a.min(b), a.max(b));
    if lo == hi || len == 0 {
        return;
    }
    let Some((head, tail)) = m.split_at_mut_checked(hi * len) else {
        return;
    };
    if let (Some(r0), Some(r1)) = (head.get_mut(lo * len..(lo + 1) * len), tail.get_mut(..len)) {
        r0.swap_with_slice(r1);
    }
}

impl<T: Real> Running<'_, T> {
    /// Swaps the states in slots `a` and `b`.
    fn swap(&mut self, a: usize, b: usize) {
        let (sd, ni) = (self.sd, self.ni);
        for rows in [&mut *self.x, &mut *self.fx, &mut *self.m, &mut *self.v] {
            swap_rows(rows, sd, a, b);
        }
        swap_rows(self.inputs, ni, a, b);
        let scalars = [
            &mut *self.q,
            &mut *self.dq,
            &mut *self.q_prev,
            &mut *self.norm_avg,
            &mut *self.frozen,
        ];
        for one in scalars {
            swap_rows(one, 1, a, b);
        }
        swap_rows(self.slot_state, 1, a, b);
    }

    /// Slots `0..live` as tiles (the evaluator brings the scratch), with input rows
    /// `inputs` if given (the shared row, or all rows in the states' own order), else
    /// their own.
    fn tiles<'t>(&'t mut self, live: usize, inputs: Option<&'t [T]>) -> Tiles<'t, T> {
        let (rows, u) = (live * self.sd, live * self.ni);
        Tiles {
            x: &mut self.x[..rows],
            fx: &mut self.fx[..rows],
            m: &mut self.m[..rows],
            v: &mut self.v[..rows],
            q: &mut self.q[..live],
            dq: &mut self.dq[..live],
            q_prev: &mut self.q_prev[..live],
            norm_avg: &mut self.norm_avg[..live],
            frozen: &mut self.frozen[..live],
            inputs: match inputs {
                Some(u) => u,
                None => &self.inputs[..u],
            },
            scratch: &mut [],
        }
    }

    /// Puts every state back in its own slot (following each cycle of the permutation),
    /// then writes each state's iteration count over `slot_state`: `last` for the states
    /// still running.
    fn restore(&mut self, last: usize) {
        let n = self.slot_state.len();
        for k in 0..n {
            while let Some(&home) = self.slot_state.get(k) {
                if home == k || home >= n {
                    break;
                }
                self.swap(k, home);
            }
        }
        let states = self
            .slot_state
            .iter_mut()
            .zip(self.frozen.iter())
            .zip(self.q_prev.iter().zip(self.norm_avg.iter()));
        for ((its, &fr), (&qp, &na)) in states {
            *its = if fr == T::ZERO {
                last
            } else {
                get_count(qp, na, fr)
            };
        }
    }
}

/// The iterations of one block: passes of `ev`, the stop rule (and freezing), the
/// statistics and progress, the plateau schedule. The states are in their own places again
/// when it returns, also with an error.
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
    let sd = x.len() / n.max(1);
    let ni = if b.shared {
        0
    } else {
        b.inputs.len() / n.max(1)
    };
    let inputs = &mut bf.inputs[..n * ni];
    inputs.copy_from_slice(&b.inputs[..n * ni]);
    for (k, slot) in out.n_iters.iter_mut().enumerate() {
        *slot = k;
    }
    let mut r = Running {
        x,
        fx: &mut *out.fx,
        m: bf.m,
        v: bf.v,
        q: &mut *out.q,
        dq: &mut *out.dq,
        q_prev: bf.q_prev,
        norm_avg: bf.norm_avg,
        frozen: bf.frozen,
        inputs,
        slot_state: &mut *out.n_iters,
        sd,
        ni,
    };
    let mut last = 0;
    let result = iterations(ev, opts, max_iters, b, &mut r, progress, &mut last);
    r.restore(last);
    let (stop, lr) = result?;
    if E::DEFERS_FX {
        // G(x) of every state at its final x (a frozen state's x has not moved since it
        // froze, and a state's evaluation does not depend on its tile-mates: the same bits
        // as its last evaluation), written once instead of every iteration.
        let inv_n = T::from_f64(1.0 / n as f64);
        ev.pass(
            None,
            max_iters,
            false,
            true,
            inv_n,
            None,
            r.tiles(n, Some(b.inputs)),
        )?;
    }
    Ok((stop, lr))
}

/// The loop of [`iterate`] on the states of `r`; `last` is the last iteration begun.
#[allow(clippy::too_many_arguments)]
fn iterations<T: Real, E: Evaluate<T>>(
    ev: &mut E,
    opts: &FinderOptions,
    max_iters: usize,
    b: &Block<'_, T>,
    r: &mut Running<'_, T>,
    progress: &mut Option<&mut dyn FnMut(&Progress) -> bool>,
    last: &mut usize,
) -> Result<(Stop, f64), FindError> {
    let n = r.q.len();
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
    let mut live = n;
    for iter in 0..=max_iters {
        *last = iter;
        let stepping = iter < max_iters;
        let step = if iter > 0 {
            Some((iter as u64, lr))
        } else {
            None
        };
        let shared = if b.shared { Some(b.inputs) } else { None };
        let rule = StopRule {
            iter,
            tol_q: opts.tol_q,
            tol_dq_lr: opts.tol_dq * lr,
            freeze: opts.freeze_converged,
        };
        let seen = ev.pass(
            step,
            iter,
            stepping,
            !E::DEFERS_FX,
            inv_n,
            Some(rule),
            r.tiles(live, shared),
        )?;
        if let Some(slot) = seen.bad {
            let state = r.slot_state.get(slot).copied().unwrap_or(slot);
            return Err(FindError::Diverged {
                state: b.first + state,
            });
        }
        let mut sums = frozen_sums;
        for (acc, v) in sums.iter_mut().zip(seen.sums) {
            *acc += v;
        }
        let [sq, sq2, sdq, sdq2] = sums;
        for (acc, v) in frozen_sums.iter_mut().zip(seen.stopped_sums) {
            *acc += v;
        }
        let all_done = !seen.not_done;
        // The states that stopped leave the running slots, each for the last one's.
        let mut k = 0;
        let mut left = seen.stopped;
        while k < live && left > 0 {
            if r.frozen[k] == T::ZERO {
                k += 1;
                continue;
            }
            live -= 1;
            left -= 1;
            r.swap(k, live);
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
    }
    Ok((Stop::MaxIters, lr))
}

/// A [`BatchMap`]'s iteration: the Adam step of the running states, then one call of the
/// model's `forward` and one of its `vjp` on them.
struct MapEval<'a> {
    map: &'a dyn BatchMap,
    opts: &'a FinderOptions,
    shared: bool,
    /// `F(x)`, residuals, VJPs (`n × S` each) and, with a shared input, its row repeated
    /// (`n × I`).
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
        stop: Option<StopRule>,
        mut t: Tiles<'_, f64>,
    ) -> Result<Observed, FindError> {
        let (sd, ni) = (self.map.n_states(), self.map.n_inputs());
        let n = t.q.len();
        let mut o = Observed::default();
        if n == 0 {
            return Ok(o);
        }
        if let Some((step, lr)) = step {
            adam_step(step, lr, &mut t);
        }
        let short = FindError::Workspace { need: 0 };
        let (na, nu) = (n * sd, n * ni);
        let fg = self.fg.get_mut(..na).ok_or(short)?;
        let rg = self.rg.get_mut(..na).ok_or(short)?;
        let vg = self.vg.get_mut(..na).ok_or(short)?;
        let u: &[f64] = if self.shared {
            let ug = self.ug.get_mut(..nu).ok_or(short)?;
            if ni > 0 {
                for row in ug.chunks_exact_mut(ni) {
                    row.copy_from_slice(sub(t.inputs, 0, ni).ok_or(short)?);
                }
            }
            ug
        } else {
            sub(t.inputs, 0, nu).ok_or(short)?
        };
        self.map.forward(t.x, u, fg)?;
        for ((r, &xv), &fv) in rg.iter_mut().zip(t.x.iter()).zip(fg.iter()) {
            *r = xv - fv;
        }
        t.fx.copy_from_slice(fg);
        for (qi, r) in t.q.iter_mut().zip(rg.chunks_exact(sd)) {
            *qi = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
        }
        if grad {
            self.map.vjp(t.x, u, rg, vg, None)?;
            let rows = vg
                .chunks_exact_mut(sd)
                .zip(rg.chunks_exact(sd))
                .zip(t.m.chunks_exact_mut(sd).zip(t.v.chunks_exact_mut(sd)))
                .zip(t.norm_avg.iter_mut());
            for (((g, r), (m, v)), na) in rows {
                for (gv, &rv) in g.iter_mut().zip(r) {
                    *gv = rv - *gv;
                }
                fold_gradient(self.opts, inv_n, iter, g, m, v, na);
            }
        }
        if let Some(rule) = &stop {
            observe(rule, &mut t, &mut o, 0);
        }
        Ok(o)
    }
}

/// Workspace length that [`minimize_map`] needs for `n_states` states of `map`: the Adam
/// moments and per-state scalars (`2·n·S + 3·n`), the input rows (`n·I`), and the model's
/// outputs, residuals, VJPs and input rows of a pass (`3·n·S + n·I`).
pub fn map_work_len(map: &dyn BatchMap, n_states: usize, opts: &FinderOptions) -> usize {
    let (sd, ni) = (map.n_states(), map.n_inputs());
    let block = match opts.method {
        Method::Joint => n_states,
        _ => 1,
    };
    block.saturating_mul(
        5usize
            .saturating_mul(sd)
            .saturating_add(ni.saturating_mul(2))
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
        let (bf, rest) = bufs(&mut *work, block, sd, ni);
        let (fg, rest) = rest.split_at_mut(block * sd);
        let (rg, rest) = rest.split_at_mut(block * sd);
        let (vg, rest) = rest.split_at_mut(block * sd);
        let ug = &mut rest[..block * ni];
        let mut ev = MapEval {
            map,
            opts,
            shared: b.shared,
            fg,
            rg,
            vg,
            ug,
        };
        iterate(&mut ev, opts, max_iters, b, x, out, bf, &mut progress)
    })
}
