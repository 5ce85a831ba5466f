//! Finder options: names, defaults and meaning follow the reference FixedPointFinder API.

/// How the q-minimization runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// All states in one Adam optimizer on the mean q.
    Joint,
    /// One state at a time, each with a fresh optimizer and schedule.
    Sequential,
    /// No Adam: damped Newton from each initial state.
    Newton,
}

impl Method {
    /// The lower-case name (`joint`, `sequential`, `newton`).
    pub const fn name(self) -> &'static str {
        match self {
            Method::Joint => "joint",
            Method::Sequential => "sequential",
            Method::Newton => "newton",
        }
    }
}

crate::options_struct! {
    /// Every option of the finder. The core reads the optimization fields; the std pipeline
    /// (`analysis`) reads the rest. Its C mirror, `fpf_finder_options`, is generated from this
    /// list (`FinderOptions::FIELDS`) by the C library's build script, so new fields go at the
    /// end.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct FinderOptions {
        /// Joint, sequential or Newton-only.
        method: Method = Method::Joint,
        /// Iteration cap of the q-minimization (per state in sequential mode). At least 1.
        max_iters: usize = 5000,
        /// A state is done when `q < tol_q` …
        tol_q: f64 = 1e-12,
        /// … or when `|Δq| < tol_dq · lr`.
        tol_dq: f64 = 1e-20,
        /// Initial Adam learning rate.
        lr_init: f64 = 1.0,
        /// Plateau schedule: multiplier on a plateau, in (0, 1].
        lr_factor: f64 = 0.95,
        /// Plateau schedule: iterations without improvement of mean q before the rate drops.
        lr_patience: u32 = 5,
        /// Plateau schedule: iterations to wait after a drop.
        lr_cooldown: u32 = 0,
        /// Fixed gradient-norm clip per state (0 = off).
        max_grad_norm: f64 = 0.0,
        /// Adaptive clipping: clip each state's gradient to this multiple of the running mean of
        /// its past gradient norms (0 = off).
        adaptive_grad_clip: f64 = 0.0,
        /// Polish every optimized state with damped Newton in f64.
        newton_polish: bool = true,
        /// Iteration cap of each Newton polish (and of the `newton` method).
        newton_max_iters: usize = 50,
        /// Find fixed points of `F` applied `period` times (cycles of that period). At least 1.
        period: usize = 1,
        /// Compute `dF/dx` and `dF/du` at the unique fixed points.
        do_compute_jacobians: bool = true,
        /// Eigen-decompose the Jacobians (stability).
        do_decompose_jacobians: bool = true,
        /// Points closer than this (on `[x*, u]`) are one fixed point.
        tol_unique: f64 = 1e-3,
        /// Drop points far from the initial states' centroid.
        do_exclude_distance_outliers: bool = true,
        /// Distance-outlier threshold, in units of the initial states' mean distance.
        outlier_distance_scale: f64 = 10.0,
        /// Re-optimize points whose q exceeds `median · outlier_q_scale`, sequentially.
        do_rerun_q_outliers: bool = false,
        /// q-outlier threshold, as a multiple of the median q.
        outlier_q_scale: f64 = 10.0,
        /// Keep at most this many unique points, lowest q first.
        max_n_unique: usize = usize::MAX,
        /// After analysis, drop points with `q ≥ final_q_threshold` (they stay available as
        /// slow points).
        final_q_threshold: f64 = 1e-8,
        /// Run in single precision (the Jacobians' eigenvalues are always computed in f64).
        single_precision: bool = true,
        /// Send progress and the pipeline's steps to the log (the std layer's
        /// `FixedPointFinder::with_log`; in C, the options' `log` callback).
        verbose: bool = false,
        /// Also log the optimizer's state every `n_iters_per_print_update` iterations.
        super_verbose: bool = false,
        /// Iterations between the optimizer's log lines.
        n_iters_per_print_update: usize = 100,
        /// Threads of the std layer's finder (0 = all cores). The kernel itself runs on its
        /// caller's thread; results are the same for every count.
        n_threads: usize = 0,
        /// A state that meets the stop rule (`q < tol_q` or `|Δq| < tol_dq · lr`) stops
        /// iterating there, and the run ends when every state has. False:
        /// the reference's iteration, which steps every state until all meet the rule at the
        /// same iteration.
        freeze_converged: bool = true,
        /// Hand states to Newton early (joint method with `newton_polish`, in the std layer's
        /// finder; 0 = off): after this many Adam iterations, then after twice as
        /// many, and so on, every state still iterating gets a short Newton attempt that only
        /// succeeds from inside a fixed point's region of quadratic convergence
        /// (`newton::polish_local`), and those it converges from stop there. Several times
        /// faster where Newton is cheap next to Adam's iterations; on the trained flip-flop
        /// networks it returns the same fixed points, but on networks with dozens of fixed points
        /// whose basins interleave it returns a different (often larger) subset of them than
        /// running Adam to the stop rule, because Newton and Adam carry a state to different
        /// fixed points. Try 50.
        newton_handoff_iters: usize = 0,
    }
}

/// The largest `n_threads` accepted.
pub const MAX_THREADS: usize = 1024;

/// An option that makes no sense: which one and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionError {
    /// The option's name.
    pub name: &'static str,
    /// What it must be.
    pub requirement: &'static str,
}

impl core::fmt::Display for OptionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "option `{}` must be {}", self.name, self.requirement)
    }
}

impl FinderOptions {
    /// Checks every option; the first offender is named.
    pub fn validate(&self) -> Result<(), OptionError> {
        let err = |name, requirement| Err(OptionError { name, requirement });
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        let finite_pos = |v: f64| v.is_finite() && v > 0.0;
        if self.max_iters == 0 {
            return err("max_iters", "at least 1");
        }
        if !finite_nonneg(self.tol_q) {
            return err("tol_q", "finite and ≥ 0");
        }
        if !finite_nonneg(self.tol_dq) {
            return err("tol_dq", "finite and ≥ 0");
        }
        if !finite_pos(self.lr_init) {
            return err("lr_init", "finite and > 0");
        }
        if self.lr_factor.is_nan() || self.lr_factor <= 0.0 || self.lr_factor > 1.0 {
            return err("lr_factor", "in (0, 1]");
        }
        if !finite_nonneg(self.max_grad_norm) {
            return err("max_grad_norm", "finite and ≥ 0 (0 = off)");
        }
        if !finite_nonneg(self.adaptive_grad_clip) {
            return err("adaptive_grad_clip", "finite and ≥ 0 (0 = off)");
        }
        if self.period == 0 || self.period > 1024 {
            return err("period", "between 1 and 1024");
        }
        if self.method == Method::Newton && self.newton_max_iters == 0 {
            return err("newton_max_iters", "at least 1 with method newton");
        }
        if !finite_nonneg(self.tol_unique) {
            return err("tol_unique", "finite and ≥ 0");
        }
        if !finite_pos(self.outlier_distance_scale) {
            return err("outlier_distance_scale", "finite and > 0");
        }
        if !finite_pos(self.outlier_q_scale) {
            return err("outlier_q_scale", "finite and > 0");
        }
        if self.max_n_unique == 0 {
            return err("max_n_unique", "at least 1");
        }
        if self.final_q_threshold.is_nan() || self.final_q_threshold <= 0.0 {
            return err("final_q_threshold", "> 0");
        }
        if self.n_iters_per_print_update == 0 {
            return err("n_iters_per_print_update", "at least 1");
        }
        if self.n_threads > MAX_THREADS {
            return err("n_threads", "at most 1024 (0 = all cores)");
        }
        Ok(())
    }
}
