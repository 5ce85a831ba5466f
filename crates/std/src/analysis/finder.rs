//! [`FixedPointFinder`]: the whole pipeline on top of the no-heap kernel, in the reference
//! order: optimize → unique → drop distance outliers → optional rerun of q outliers →
//! `max_n_unique` → Jacobians → eigendecomposition → `final_q_threshold` filter.

use super::fixed_points::FixedPoints;
use super::polish::{self, PolishStates, polish_grouped};
use super::report::sci;
use super::sampling::{Trajectory, sample_states};
use super::unique::{median, within_distance};
use super::{AnalysisError, to_single};
use crate::cell::{Cell, CellKind};
use crate::find::batch_map::{self, BatchMap};
use crate::find::map::{jacobian, jacobian_work_len};
use crate::find::newton::{self, NewtonOutcome};
use crate::find::qmin::{self, QminOutput, Stop};
use crate::find::{FinderOptions, Method, Progress};
use crate::linalg::eig;
use crate::log::Log;
use crate::memory::{copied, filled, with_capacity};
use crate::threads::Threads;
use std::time::Instant;

/// What [`FixedPointFinder::find_fixed_points`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct FindResult {
    /// The unique fixed points that passed every filter, the final q filter included.
    pub unique: FixedPoints,
    /// Unique points that failed the final q filter (`q ≥ final_q_threshold`): slow points.
    pub slow: FixedPoints,
    /// Every optimized state, before uniqueness and filters (`is_slow` marks slow ones).
    pub all: FixedPoints,
}

/// A point is a fixed point only if its q is below `final_q_threshold` and, where Newton
/// polished it, Newton converged: a point Newton could not take to q < 1e-24 (it stalled on a
/// slow region, or the Jacobian was singular) is a slow point even when its q is small.
fn is_slow(q: f64, newton: Option<NewtonOutcome>, final_q_threshold: f64) -> bool {
    q >= final_q_threshold || newton.is_some_and(|o| o != NewtonOutcome::Converged)
}

impl FindResult {
    /// The tutorial's summary block of the fixed points, then the number of slow points the
    /// search set apart (when there are any): points of small q that are not fixed points.
    pub fn summary(&self) -> String {
        let mut s = self.unique.summary();
        if self.slow.n > 0 {
            s.push_str(&format!(
                "Slow points (q >= final_q_threshold, or Newton did not converge): {}\n",
                self.slow.n
            ));
        }
        s
    }
}

/// Newton iterations of a hand-off attempt ([`newton::polish_local`]): from inside a
/// fixed point's region of quadratic convergence Newton gets there in a few.
const HANDOFF_NEWTON_ITERS: usize = 10;

/// Every state's optimization fields while the stages run.
struct States {
    x: Vec<f64>,
    q: Vec<f64>,
    fx: Vec<f64>,
    dq: Vec<f64>,
    n_iters: Vec<usize>,
    outcome: Vec<Option<NewtonOutcome>>,
}

/// The fixed-point finder for one cell (in f64; single-precision runs convert internally),
/// or for a model given by batched functions ([`FixedPointFinder::for_map`]).
pub struct FixedPointFinder<'a> {
    model: Dynamics<'a>,
    opts: FinderOptions,
    log: Log<'a>,
}

/// What the finder searches: a built-in cell (the batched tile kernels, on the threads) or a
/// [`BatchMap`] (its functions, on the calling thread).
#[derive(Clone, Copy)]
enum Dynamics<'a> {
    Cell(Cell<'a, f64>),
    Map(&'a dyn BatchMap),
}

/// Rows of one Jacobian call on a [`BatchMap`] (states × S), at most: bounds its
/// workspace.
const MAP_JACOBIAN_ROWS: usize = 2048;

/// A progress callback: return `false` to stop.
pub type ProgressFn<'f> = &'f mut dyn FnMut(&Progress) -> bool;

impl<'a> FixedPointFinder<'a> {
    /// A finder for `cell` with `opts` (checked here).
    pub fn new(cell: Cell<'a, f64>, opts: FinderOptions) -> Result<Self, AnalysisError> {
        opts.validate()
            .map_err(|e| AnalysisError::Find(crate::find::FindError::Option(e)))?;
        Ok(FixedPointFinder {
            model: Dynamics::Cell(cell),
            opts,
            log: Log::none(),
        })
    }

    /// A finder for a model given by batched functions (`map`), with `opts` (checked here):
    /// the same pipeline as for a cell, every evaluation in f64 (`single_precision` does not
    /// apply) through the model's functions on the calling thread (`n_threads` applies to
    /// the eigen-decompositions only). Period 1 only: another `period` is
    /// [`AnalysisError::Bad`], as is a model with state size 0.
    pub fn for_map(map: &'a dyn BatchMap, opts: FinderOptions) -> Result<Self, AnalysisError> {
        opts.validate()
            .map_err(|e| AnalysisError::Find(crate::find::FindError::Option(e)))?;
        if opts.period != 1 {
            return Err(AnalysisError::bad(
                "period",
                "must be 1 for a model given by functions (period-k search needs a built-in cell)",
            ));
        }
        if map.n_states() == 0 {
            return Err(AnalysisError::bad(
                "model",
                "must have a state size of at least 1",
            ));
        }
        Ok(FixedPointFinder {
            model: Dynamics::Map(map),
            opts,
            log: Log::none(),
        })
    }

    /// Sends the `verbose` and `super_verbose` lines (the tutorial's printout) to `log`;
    /// without one they are discarded.
    pub fn with_log(mut self, log: Log<'a>) -> Self {
        self.log = log;
        self
    }

    /// The options.
    pub fn options(&self) -> &FinderOptions {
        &self.opts
    }

    /// The cell (`None` for a finder of a model given by functions).
    pub fn cell(&self) -> Option<Cell<'a, f64>> {
        match self.model {
            Dynamics::Cell(c) => Some(c),
            Dynamics::Map(_) => None,
        }
    }

    /// The state size `S` and the input size `I` of the model.
    pub fn dims(&self) -> (usize, usize) {
        match self.model {
            Dynamics::Cell(c) => (c.shape().state_dim(), c.shape().n_inputs),
            Dynamics::Map(m) => (m.n_states(), m.n_inputs()),
        }
    }

    pub(crate) fn say(&self, msg: &str) {
        if self.opts.verbose {
            self.log.line(msg);
        }
    }

    /// Samples `n_inits` states from `traj` (plus noise) and runs the pipeline from them.
    /// `inputs` is one row or `n_inits` rows.
    pub fn find_from_trajectory(
        &self,
        traj: &Trajectory<'_>,
        inputs: &[f64],
        n_inits: usize,
        noise_scale: f64,
        seed: u64,
    ) -> Result<FindResult, AnalysisError> {
        let (s, _) = self.dims();
        if traj.n_states != s {
            return Err(AnalysisError::length(
                "trajectory state size",
                s,
                traj.n_states,
            ));
        }
        let samples = sample_states(traj, n_inits, noise_scale, seed)?;
        self.find_fixed_points(&samples.states, inputs, None, None)
    }

    /// Runs the pipeline from the initial states `inits` (`n × S`) at `inputs` (one row, or
    /// `n` rows). `cond_ids` (length n) is carried along.
    pub fn find_fixed_points(
        &self,
        inits: &[f64],
        inputs: &[f64],
        cond_ids: Option<&[i64]>,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<FindResult, AnalysisError> {
        let (s, ni) = self.dims();
        if inits.is_empty() || !inits.len().is_multiple_of(s) {
            return Err(AnalysisError::bad(
                "inits",
                "must hold a positive whole number of states",
            ));
        }
        let n = inits.len() / s;
        let rows: Vec<f64> = if inputs.len() == ni {
            let mut r = with_capacity(n.saturating_mul(ni), "input rows")?;
            for _ in 0..n {
                r.extend_from_slice(inputs);
            }
            r
        } else if inputs.len() == n * ni {
            copied(inputs, "input rows")?
        } else {
            return Err(AnalysisError::length("inputs", ni, inputs.len()));
        };
        if let Some(c) = cond_ids
            && c.len() != n
        {
            return Err(AnalysisError::length("cond_ids", n, c.len()));
        }
        self.say(&format!(
            "Searching for fixed points from {n} initial states."
        ));
        let mut all = self.optimize(inits, &rows, self.opts.method, progress)?;
        all.cond_id = cond_ids.map(|c| c.to_vec());

        // Uniqueness, distance outliers.
        let mut unique = all.get_unique();
        self.say(&format!("Identified {} unique fixed points.", unique.n));
        if self.opts.do_exclude_distance_outliers {
            let keep = within_distance(&unique, inits, self.opts.outlier_distance_scale);
            if keep.len() < unique.n {
                self.say(&format!(
                    "Excluded {} distance outliers.",
                    unique.n - keep.len()
                ));
                unique = unique.subset(&keep);
            }
        }
        // Rerun q outliers sequentially from where they are, then reduce again.
        if self.opts.do_rerun_q_outliers && unique.n > 0 {
            let limit = median(&unique.qstar) * self.opts.outlier_q_scale;
            let bad: Vec<usize> = (0..unique.n).filter(|&i| unique.qstar[i] > limit).collect();
            if !bad.is_empty() {
                self.say(&format!(
                    "Rerunning {} q outliers (q > {}) sequentially.",
                    bad.len(),
                    sci(limit, 1)
                ));
                let sub = unique.subset(&bad);
                let redo = self.optimize(&sub.xstar, &sub.inputs, Method::Sequential, None)?;
                for (k, &i) in bad.iter().enumerate() {
                    replace_row(&mut unique, i, &redo, k);
                }
                unique = unique.get_unique();
            }
        }
        if unique.n > self.opts.max_n_unique {
            let mut order: Vec<usize> = (0..unique.n).collect();
            order.sort_by(|&a, &b| unique.qstar[a].total_cmp(&unique.qstar[b]).then(a.cmp(&b)));
            order.truncate(self.opts.max_n_unique);
            order.sort_unstable();
            self.say(&format!(
                "Keeping the {} unique fixed points of lowest q.",
                order.len()
            ));
            unique = unique.subset(&order);
        }

        if self.opts.do_compute_jacobians {
            self.say(&format!(
                "Computing recurrent Jacobian at {} unique fixed points.",
                unique.n
            ));
            self.say(&format!(
                "Computing input Jacobian at {} unique fixed points.",
                unique.n
            ));
            self.jacobians(&mut unique)?;
            if self.opts.do_decompose_jacobians {
                self.say(&format!("Decomposing {} Jacobians...", unique.n));
                decompose(&mut unique, &Threads::new(self.opts.n_threads))?;
                let st = unique.n_stable();
                self.say(&format!(
                    "Found {} stable and {} unstable fixed points.",
                    st,
                    unique.n - st
                ));
            }
        }
        if self.opts.period > 1 {
            self.min_periods(&mut unique);
        }

        let thr = self.opts.final_q_threshold;
        self.say(&format!(
            "Applying final q-value filter (q < {})...",
            sci(thr, 1)
        ));
        let slow_at = |i: usize| is_slow(unique.qstar[i], unique.newton[i], thr);
        let good: Vec<usize> = (0..unique.n).filter(|&i| !slow_at(i)).collect();
        let slow_idx: Vec<usize> = (0..unique.n).filter(|&i| slow_at(i)).collect();
        if !slow_idx.is_empty() {
            let stalled = slow_idx.iter().filter(|&&i| unique.qstar[i] < thr).count();
            self.say(&format!(
                "Excluded {} low-quality fixed points ({} of them below the threshold, where \
                 Newton did not converge: slow points).",
                slow_idx.len(),
                stalled
            ));
        }
        let slow = unique.subset(&slow_idx);
        let unique = unique.subset(&good);
        self.say(&format!("{} high-quality fixed points remain.", unique.n));
        self.say("Fixed point finding complete.");
        Ok(FindResult { unique, slow, all })
    }

    /// q-minimization (in the options' precision) then Newton polish (f64) of every state;
    /// with `newton_handoff_iters`, in stages: states Newton converges from leave the Adam
    /// loop early.
    fn optimize(
        &self,
        inits: &[f64],
        rows: &[f64],
        method: Method,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<FixedPoints, AnalysisError> {
        let (s, ni) = self.dims();
        let n = inits.len() / s;
        let mut opts = self.opts;
        opts.method = method;
        let threads = Threads::new(opts.n_threads);
        if method != Method::Newton {
            self.say(&format!(
                "Finding fixed points via {} optimization.",
                method.name()
            ));
        }
        let mut st = States {
            x: copied(inits, "states")?,
            q: filled(n, 0.0, "q")?,
            fx: filled(n * s, 0.0, "F(x)")?,
            dq: filled(n, 0.0, "dq")?,
            n_iters: filled(n, 0usize, "iterations")?,
            outcome: filled(n, None, "Newton outcomes")?,
        };

        let start = Instant::now();
        let mut user = progress;
        let every = opts.n_iters_per_print_update;
        let super_verbose = opts.super_verbose && opts.verbose;
        // Iterations of the stages before the current one.
        let offset = std::cell::Cell::new(0usize);
        let mut last: Option<Progress> = None;
        let mut track = |p: &Progress| -> bool {
            let p = Progress {
                iter: p.iter + offset.get(),
                ..*p
            };
            last = Some(p);
            if super_verbose && p.iter > 0 && p.iter.is_multiple_of(every) && !p.done {
                let avg = start.elapsed().as_secs_f64() / p.iter as f64;
                self.log.line(&format!(
                    "Iter: {}, q = {} +/- {}, dq = {} +/- {}, lr = {}, avg iter time = {} sec.",
                    p.iter,
                    sci(p.q_mean, 2),
                    sci(p.q_std, 2),
                    sci(p.dq_mean, 2),
                    sci(p.dq_std, 2),
                    sci(p.lr, 2),
                    sci(avg, 2)
                ));
            }
            match user.as_mut() {
                Some(f) => f(&p),
                None => true,
            }
        };

        let polish = opts.newton_polish || method == Method::Newton;
        let handoff = method == Method::Joint && polish && opts.newton_handoff_iters > 0;
        let mut active: Vec<usize> = (0..n).collect();
        let mut stage_end = if handoff {
            opts.newton_handoff_iters.min(opts.max_iters)
        } else {
            opts.max_iters
        };
        let mut lr = opts.lr_init;
        let mut adam_secs = 0.0;
        let (stop, iters_used) = loop {
            let stage = FinderOptions {
                max_iters: stage_end - offset.get(),
                lr_init: lr,
                ..opts
            };
            let t0 = Instant::now();
            let r = self.minimize_subset(&threads, &stage, &active, rows, &mut st, &mut track)?;
            adam_secs += t0.elapsed().as_secs_f64();
            let used = offset.get() + r.max_iters_used;
            offset.set(stage_end);
            if !handoff || r.stop == Stop::Converged || stage_end >= opts.max_iters {
                break (r.stop, used);
            }
            let tried = active.len();
            self.newton(
                &threads,
                &opts,
                &active,
                rows,
                &mut st,
                Some(HANDOFF_NEWTON_ITERS),
            )?;
            active.retain(|&i| st.outcome[i] != Some(NewtonOutcome::Converged));
            self.say(&format!(
                "Newton hand-off after {} iterations: converged from {} of {} states, {} continue.",
                stage_end,
                tried - active.len(),
                tried,
                active.len()
            ));
            if active.is_empty() {
                break (Stop::Converged, used);
            }
            // The attempts that failed leave their state as Adam left it.
            for &i in &active {
                st.outcome[i] = None;
            }
            lr = r.final_lr;
            stage_end = stage_end.saturating_mul(2).min(opts.max_iters);
        };
        if method != Method::Newton {
            match stop {
                Stop::Converged => self.say("Optimization complete to desired tolerance."),
                Stop::MaxIters => self.say(&format!(
                    "Maximum iteration count ({}) reached.",
                    opts.max_iters
                )),
            }
            if let Some(p) = last {
                self.say(&format!(
                    "{} iters, q = {} +/- {}, dq = {} +/- {}, lr = {}, avg iter time = {} sec",
                    iters_used,
                    sci(p.q_mean, 2),
                    sci(p.q_std, 2),
                    sci(p.dq_mean, 2),
                    sci(p.dq_std, 2),
                    sci(p.lr, 2),
                    sci(adam_secs / iters_used.max(1) as f64, 2)
                ));
            }
        }

        // Newton polish in f64 of the states still without an outcome.
        let t_newton = Instant::now();
        if polish && !active.is_empty() {
            self.newton(&threads, &opts, &active, rows, &mut st, None)?;
        }
        let newton_secs = t_newton.elapsed().as_secs_f64();
        if polish {
            let mut counts = [0usize; 5]; // by outcome code
            for o in st.outcome.iter().flatten() {
                counts[*o as usize] += 1;
            }
            self.say(&format!(
                "Newton polish: {} converged (q < 1e-24), {} stalled, {} singular, {} at the iteration cap ({} sec).",
                counts[NewtonOutcome::Converged as usize],
                counts[NewtonOutcome::NoProgress as usize],
                counts[NewtonOutcome::Singular as usize],
                counts[NewtonOutcome::MaxIters as usize],
                sci(newton_secs, 2)
            ));
        }
        let thr = self.opts.final_q_threshold;
        Ok(FixedPoints {
            n,
            n_states: s,
            n_inputs: ni,
            period: opts.period,
            is_slow: st
                .q
                .iter()
                .zip(&st.outcome)
                .map(|(&v, &o)| is_slow(v, o, thr))
                .collect(),
            xstar: st.x,
            f_xstar: st.fx,
            x_init: copied(inits, "initial states")?,
            inputs: copied(rows, "inputs")?,
            qstar: st.q,
            dq: st.dq,
            n_iters: st.n_iters,
            newton: st.outcome,
            tol_unique: self.opts.tol_unique,
            ..Default::default()
        })
    }

    /// Runs the q-minimization (`opts.max_iters` iterations at most) on the states `active`
    /// of `st`, in the options' precision, and writes back their x, q, F(x) and dq (and adds
    /// their iterations).
    fn minimize_subset(
        &self,
        threads: &Threads,
        opts: &FinderOptions,
        active: &[usize],
        rows: &[f64],
        st: &mut States,
        track: &mut dyn FnMut(&Progress) -> bool,
    ) -> Result<qmin::QminReport, AnalysisError> {
        let (s, ni) = self.dims();
        let m = active.len();
        let mut x = with_capacity(m * s, "states")?;
        let mut u = with_capacity(m * ni, "input rows")?;
        for &i in active {
            x.extend_from_slice(&st.x[i * s..(i + 1) * s]);
            u.extend_from_slice(&rows[i * ni..(i + 1) * ni]);
        }
        // One shared input row when they are all the same: the kernels then fold it into
        // a constant once per run.
        if m > 1 && u.chunks_exact(ni.max(1)).all(|r| r == &u[..ni]) {
            u.truncate(ni);
        }
        let mut q = filled(m, 0.0, "q")?;
        let mut fx = filled(m * s, 0.0, "F(x)")?;
        let mut dq = filled(m, 0.0, "dq")?;
        let mut iters = filled(m, 0usize, "iterations")?;
        let report = match self.model {
            Dynamics::Map(map) => {
                let mut work = filled(qmin::map_work_len(map, m, opts), 0f64, "workspace")?;
                let out = QminOutput {
                    q: &mut q,
                    fx: &mut fx,
                    dq: &mut dq,
                    n_iters: &mut iters,
                };
                qmin::minimize_map(map, opts, &u, &mut x, out, &mut work, Some(track))?
            }
            Dynamics::Cell(cell) if opts.single_precision => {
                let shape = *cell.shape();
                let p32 = to_single(&flat_params(&cell), "cell parameters")?;
                let cell32 = Cell::from_flat(shape, &p32)?;
                let u32_ = to_single(&u, "inputs")?;
                let mut x32 = to_single(&x, "initial states")?;
                let mut q32 = filled(m, 0f32, "q")?;
                let mut fx32 = filled(m * s, 0f32, "F(x)")?;
                let mut dq32 = filled(m, 0f32, "dq")?;
                let mut work = filled(qmin::work_len(&cell32, m, opts), 0f32, "workspace")?;
                let out = QminOutput {
                    q: &mut q32,
                    fx: &mut fx32,
                    dq: &mut dq32,
                    n_iters: &mut iters,
                };
                let r = qmin::minimize_with(
                    threads.fork(),
                    &cell32,
                    opts,
                    &u32_,
                    &mut x32,
                    out,
                    &mut work,
                    Some(track),
                )?;
                widen(&x32, &mut x);
                widen(&q32, &mut q);
                widen(&fx32, &mut fx);
                widen(&dq32, &mut dq);
                r
            }
            Dynamics::Cell(cell) => {
                let mut work = filled(qmin::work_len(&cell, m, opts), 0f64, "workspace")?;
                let out = QminOutput {
                    q: &mut q,
                    fx: &mut fx,
                    dq: &mut dq,
                    n_iters: &mut iters,
                };
                let fork = threads.fork();
                qmin::minimize_with(fork, &cell, opts, &u, &mut x, out, &mut work, Some(track))?
            }
        };
        for (k, &i) in active.iter().enumerate() {
            st.x[i * s..(i + 1) * s].copy_from_slice(&x[k * s..(k + 1) * s]);
            st.fx[i * s..(i + 1) * s].copy_from_slice(&fx[k * s..(k + 1) * s]);
            st.q[i] = q[k];
            st.dq[i] = dq[k];
            st.n_iters[i] += iters[k];
        }
        Ok(report)
    }

    /// Newton polish (f64) of the states `active`, on the threads. With `attempt` (an
    /// iteration cap), a state is changed only where Newton converges; otherwise every
    /// state gets its outcome and Newton's x, q and F(x).
    fn newton(
        &self,
        threads: &Threads,
        opts: &FinderOptions,
        active: &[usize],
        rows: &[f64],
        st: &mut States,
        attempt: Option<usize>,
    ) -> Result<(), AnalysisError> {
        let (s, ni) = self.dims();
        let newton_only = opts.method == Method::Newton;
        let max_iters = attempt.unwrap_or(opts.newton_max_iters);
        let cell = match self.model {
            Dynamics::Cell(c) => c,
            Dynamics::Map(map) => {
                return newton_map(map, newton_only, max_iters, active, rows, st, attempt);
            }
        };
        if attempt.is_none() && !newton_only && polish::supported(&cell, opts.period) {
            let states = PolishStates {
                x: &mut st.x,
                fx: &mut st.fx,
                q: &mut st.q,
                outcome: &mut st.outcome,
            };
            polish_grouped(&cell, threads, active, rows, max_iters, states)?;
            return Ok(());
        }
        // One job per state: its slices of `st`.
        let mut x_rows: Vec<Option<&mut [f64]>> = st.x.chunks_mut(s).map(Some).collect();
        let mut fx_rows: Vec<Option<&mut [f64]>> = st.fx.chunks_mut(s).map(Some).collect();
        let mut q = st.q.iter_mut().map(Some).collect::<Vec<_>>();
        let mut it = st.n_iters.iter_mut().map(Some).collect::<Vec<_>>();
        let mut out = st.outcome.iter_mut().map(Some).collect::<Vec<_>>();
        let mut jobs = with_capacity(active.len(), "Newton jobs")?;
        for &i in active {
            if let (Some(x), Some(fx), Some(q), Some(it), Some(o)) = (
                x_rows[i].take(),
                fx_rows[i].take(),
                q[i].take(),
                it[i].take(),
                out[i].take(),
            ) {
                jobs.push((i, x, fx, q, it, o));
            }
        }
        let work_len = newton::work_len(&cell, opts.period);
        let (cell, period) = (&cell, opts.period);
        threads.for_each(
            &mut jobs,
            || (vec![0f64; work_len], vec![0usize; s], vec![0f64; 2 * s]),
            |(work, piv, try_buf), _, (i, x, fx, q, it, o)| {
                let u = &rows[*i * ni..(*i + 1) * ni];
                let (xt, ft) = try_buf.split_at_mut(s);
                xt.copy_from_slice(x);
                let r = if attempt.is_some() {
                    newton::polish_local(cell, u, xt, period, max_iters, ft, work, piv)
                } else {
                    newton::polish(cell, u, xt, period, max_iters, ft, work, piv)
                };
                if attempt.is_some() && r.outcome != NewtonOutcome::Converged {
                    return;
                }
                x.copy_from_slice(xt);
                fx.copy_from_slice(ft);
                **q = r.q;
                if newton_only {
                    **it = r.iters;
                }
                **o = Some(r.outcome);
            },
        );
        Ok(())
    }

    /// `J_xstar` and `dFdu` (of the k-fold map) at every point. A model given by functions
    /// gets `dFdu` only if it has input derivatives.
    fn jacobians(&self, fps: &mut FixedPoints) -> Result<(), AnalysisError> {
        let (s, ni, n) = (fps.n_states, fps.n_inputs, fps.n);
        let cell = match self.model {
            Dynamics::Cell(c) => c,
            Dynamics::Map(map) => return map_jacobians(map, fps),
        };
        let mut j = vec![0.0; n * s * s];
        let mut d = vec![0.0; n * s * ni];
        let mut work = vec![0.0; jacobian_work_len(&cell, self.opts.period)];
        for i in 0..n {
            jacobian(
                &cell,
                fps.u(i),
                fps.x(i),
                self.opts.period,
                &mut j[i * s * s..(i + 1) * s * s],
                Some(&mut d[i * s * ni..(i + 1) * s * ni]),
                &mut work,
            );
        }
        fps.j_xstar = Some(j);
        fps.dfdu = Some(d);
        fps.n_kink = self.kinks(&cell, fps);
        Ok(())
    }

    /// Units on a kink at every point, summed over the orbit of a period-k point (see
    /// [`FixedPoints::n_kink`]); `None` for a cell without kinks.
    fn kinks(&self, cell: &Cell<'_, f64>, fps: &FixedPoints) -> Option<Vec<usize>> {
        let shape = *cell.shape();
        if shape.kind != CellKind::LeakyRelu {
            return None;
        }
        let s = shape.state_dim();
        let (mut a, mut b) = (vec![0.0; s], vec![0.0; s]);
        let mut cache = vec![0.0; shape.cache_len()];
        let mut scratch = vec![0.0; shape.n_hidden];
        let mut out = Vec::with_capacity(fps.n);
        for i in 0..fps.n {
            a.copy_from_slice(fps.x(i));
            let mut count = 0;
            for _ in 0..self.opts.period {
                count += cell.kink_units(fps.u(i), &a, &mut scratch).unwrap_or(0);
                let _ = cell.step(fps.u(i), &a, &mut b, &mut cache);
                std::mem::swap(&mut a, &mut b);
            }
            out.push(count);
        }
        Some(out)
    }

    /// Smallest period (a divisor of k) of each point of a period-k search.
    fn min_periods(&self, fps: &mut FixedPoints) {
        // A model given by functions has period 1 (`for_map`): never called for one.
        let Dynamics::Cell(cell) = self.model else {
            return;
        };
        let shape = *cell.shape();
        let s = shape.state_dim();
        let k = self.opts.period;
        let mut out = Vec::with_capacity(fps.n);
        let mut a = vec![0.0; s];
        let mut b = vec![0.0; s];
        let mut cache = vec![0.0; shape.cache_len()];
        for i in 0..fps.n {
            let x = fps.x(i);
            let scale = x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            a.copy_from_slice(x);
            let mut found = k;
            for d in 1..k {
                let _ = cell.step(fps.u(i), &a, &mut b, &mut cache);
                std::mem::swap(&mut a, &mut b);
                let dist = a
                    .iter()
                    .zip(x)
                    .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
                if k.is_multiple_of(d) && dist <= 1e-8 * scale {
                    found = d;
                    break;
                }
            }
            out.push(found);
        }
        fps.min_period = Some(out);
    }
}

/// Newton polish (f64) of the states `active` of a model given by functions, state by state
/// on the calling thread; as [`FixedPointFinder::newton`] otherwise.
fn newton_map(
    map: &dyn BatchMap,
    newton_only: bool,
    max_iters: usize,
    active: &[usize],
    rows: &[f64],
    st: &mut States,
    attempt: Option<usize>,
) -> Result<(), AnalysisError> {
    let (s, ni) = (map.n_states(), map.n_inputs());
    let mut work = filled(newton::map_work_len(map), 0.0, "Newton workspace")?;
    let mut piv = filled(s, 0usize, "Newton pivots")?;
    let mut xt = filled(s, 0.0, "Newton state")?;
    let mut ft = filled(s, 0.0, "Newton F(x)")?;
    for &i in active {
        let u = &rows[i * ni..(i + 1) * ni];
        xt.copy_from_slice(&st.x[i * s..(i + 1) * s]);
        let r = if attempt.is_some() {
            newton::polish_map_local(map, u, &mut xt, max_iters, &mut ft, &mut work, &mut piv)
        } else {
            newton::polish_map(map, u, &mut xt, max_iters, &mut ft, &mut work, &mut piv)
        }
        .map_err(|e| AnalysisError::Find(e.into()))?;
        if attempt.is_some() && r.outcome != NewtonOutcome::Converged {
            continue;
        }
        st.x[i * s..(i + 1) * s].copy_from_slice(&xt);
        st.fx[i * s..(i + 1) * s].copy_from_slice(&ft);
        st.q[i] = r.q;
        if newton_only {
            st.n_iters[i] = r.iters;
        }
        st.outcome[i] = Some(r.outcome);
    }
    Ok(())
}

/// `J_xstar` (and `dFdu` when the model has input derivatives) at every point of a model
/// given by functions, in calls of at most [`MAP_JACOBIAN_ROWS`] rows.
fn map_jacobians(map: &dyn BatchMap, fps: &mut FixedPoints) -> Result<(), AnalysisError> {
    let (s, ni, n) = (fps.n_states, fps.n_inputs, fps.n);
    let with_u = map.input_derivatives();
    let mut j = filled(n * s * s, 0.0, "Jacobians")?;
    let mut d = filled(if with_u { n * s * ni } else { 0 }, 0.0, "input Jacobians")?;
    let chunk = (MAP_JACOBIAN_ROWS / s).max(1);
    let mut work = filled(
        batch_map::jacobians_work_len(map, chunk.min(n)),
        0.0,
        "Jacobian workspace",
    )?;
    let mut start = 0;
    while start < n {
        let k = chunk.min(n - start);
        let x = &fps.xstar[start * s..(start + k) * s];
        let u = &fps.inputs[start * ni..(start + k) * ni];
        let jc = &mut j[start * s * s..(start + k) * s * s];
        let dc = if with_u {
            Some(&mut d[start * s * ni..(start + k) * s * ni])
        } else {
            None
        };
        batch_map::jacobians(map, x, u, jc, dc, &mut work)
            .map_err(|e| AnalysisError::Find(e.into()))?;
        start += k;
    }
    fps.j_xstar = Some(j);
    fps.dfdu = if with_u { Some(d) } else { None };
    fps.n_kink = (0..n).map(|i| map.kink_units(fps.x(i), fps.u(i))).collect();
    Ok(())
}

/// The cell's parameters as one flat vector `[w_x | w_h | b]`.
fn flat_params(cell: &Cell<'_, f64>) -> Vec<f64> {
    let w = cell.weights();
    [w.w_x, w.w_h, w.b].concat()
}

fn widen(src: &[f32], dst: &mut [f64]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = v as f64;
    }
}

/// Overwrites point `i` of `dst` with point `k` of `src` (optimization fields only).
fn replace_row(dst: &mut FixedPoints, i: usize, src: &FixedPoints, k: usize) {
    let s = dst.n_states;
    dst.xstar[i * s..(i + 1) * s].copy_from_slice(src.x(k));
    dst.f_xstar[i * s..(i + 1) * s].copy_from_slice(&src.f_xstar[k * s..(k + 1) * s]);
    dst.qstar[i] = src.qstar[k];
    dst.dq[i] = src.dq[k];
    dst.n_iters[i] += src.n_iters[k];
    dst.newton[i] = src.newton[k];
    dst.is_slow[i] = src.is_slow[k];
}

/// Eigenvalues, eigenvectors and stability of every point's Jacobian, on the threads.
fn decompose(fps: &mut FixedPoints, threads: &Threads) -> Result<(), AnalysisError> {
    let (s, n) = (fps.n_states, fps.n);
    let Some(j) = fps.j_xstar.as_ref() else {
        return Ok(());
    };
    let mut re = vec![0.0; n * s];
    let mut im = vec![0.0; n * s];
    let mut vr = vec![0.0; n * s * s];
    let mut vi = vec![0.0; n * s * s];
    let mut status: Vec<Result<(bool, usize), eig::EigError>> = vec![Ok((false, 0)); n];
    // One job per point: its slices of the outputs.
    let mut jobs: Vec<_> = re
        .chunks_mut(s.max(1))
        .zip(im.chunks_mut(s.max(1)))
        .zip(
            vr.chunks_mut((s * s).max(1))
                .zip(vi.chunks_mut((s * s).max(1))),
        )
        .zip(status.iter_mut())
        .take(n)
        .collect();
    let work_len = eig::work_len(s, true);
    threads.for_each(
        &mut jobs,
        || vec![0.0; work_len],
        |work, i, (((r, m), (vr, vi)), st)| {
            let jac = &j[i * s * s..(i + 1) * s * s];
            **st = eig::eig(s, jac, work, r, m, Some((&mut **vr, &mut **vi)))
                .map(|()| (eig::is_stable(r, m), eig::n_unstable(r, m)));
        },
    );
    drop(jobs);
    let mut stable = Vec::with_capacity(n);
    let mut unstable = Vec::with_capacity(n);
    for (index, st) in status.into_iter().enumerate() {
        let (is_stable, n_unstable) = st.map_err(|error| AnalysisError::Eig { index, error })?;
        stable.push(is_stable);
        unstable.push(n_unstable);
    }
    fps.eigval_re = Some(re);
    fps.eigval_im = Some(im);
    fps.eigvec_re = Some(vr);
    fps.eigvec_im = Some(vi);
    fps.is_stable = Some(stable);
    fps.n_unstable = Some(unstable);
    Ok(())
}
