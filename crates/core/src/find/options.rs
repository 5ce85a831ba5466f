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

/// Every option of the finder. The core reads the optimization fields; the std pipeline
/// (`analysis`) reads the rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FinderOptions {
    /// Joint, sequential or Newton-only.
    pub method: Method,
    /// Iteration cap of the q-minimization (per state in sequential mode). At least 1.
    pub max_iters: usize,
    /// A state is done when `q < tol_q` …
    pub tol_q: f64,
    /// … or when `|Δq| < tol_dq · lr`.
    pub tol_dq: f64,
    /// Initial Adam learning rate.
    pub lr_init: f64,
    /// Plateau schedule: multiplier on a plateau, in (0, 1].
    pub lr_factor: f64,
    /// Plateau schedule: iterations without improvement of mean q before the rate drops.
    pub lr_patience: u32,
    /// Plateau schedule: iterations to wait after a drop.
    pub lr_cooldown: u32,
    /// Fixed gradient-norm clip per state (0 = off).
    pub max_grad_norm: f64,
    /// Adaptive clipping: clip each state's gradient to this multiple of the running mean of
    /// its past gradient norms (0 = off).
    pub adaptive_grad_clip: f64,
    /// Polish every optimized state with damped Newton in f64.
    pub newton_polish: bool,
    /// Iteration cap of each Newton polish (and of the `newton` method).
    pub newton_max_iters: usize,
    /// Find fixed points of `F` applied `period` times (cycles of that period). At least 1.
    pub period: usize,
    /// Compute `dF/dx` and `dF/du` at the unique fixed points.
    pub do_compute_jacobians: bool,
    /// Eigen-decompose the Jacobians (stability).
    pub do_decompose_jacobians: bool,
    /// Points closer than this (on `[x*, u]`) are one fixed point.
    pub tol_unique: f64,
    /// Drop points far from the initial states' centroid.
    pub do_exclude_distance_outliers: bool,
    /// Distance-outlier threshold, in units of the initial states' mean distance.
    pub outlier_distance_scale: f64,
    /// Re-optimize points whose q exceeds `median · outlier_q_scale`, sequentially.
    pub do_rerun_q_outliers: bool,
    /// q-outlier threshold, as a multiple of the median q.
    pub outlier_q_scale: f64,
    /// Keep at most this many unique points, lowest q first.
    pub max_n_unique: usize,
    /// After analysis, drop points with `q ≥ final_q_threshold` (they stay available as
    /// slow points).
    pub final_q_threshold: f64,
    /// Run in single precision (the Jacobians' eigenvalues are always computed in f64).
    pub single_precision: bool,
    /// Print progress and the pipeline's steps.
    pub verbose: bool,
    /// Print the optimizer's state every `n_iters_per_print_update` iterations.
    pub super_verbose: bool,
    /// Iterations between progress prints.
    pub n_iters_per_print_update: usize,
    /// Threads of the std layer's finder (0 = all cores). The kernel itself runs on its
    /// caller's thread; results are the same for every count.
    pub n_threads: usize,
    /// A state that meets the stop rule (`q < tol_q` or `|Δq| < tol_dq · lr`) stops
    /// iterating there, and the run ends when every state has (true, the default). False:
    /// the reference's iteration, which steps every state until all meet the rule at the
    /// same iteration.
    pub freeze_converged: bool,
    /// Hand states to Newton early (joint method with `newton_polish`, in the std layer's
    /// finder; 0 = off, the default): after this many Adam iterations, then after twice as
    /// many, and so on, every state still iterating gets a short Newton attempt that only
    /// succeeds from inside a fixed point's region of quadratic convergence
    /// (`newton::polish_local`), and those it converges from stop there. Several times
    /// faster where Newton is cheap next to Adam's iterations; on the trained flip-flop
    /// networks it returns the same fixed points, but on networks with dozens of fixed points
    /// whose basins interleave it returns a different (often larger) subset of them than
    /// running Adam to the stop rule, because Newton and Adam carry a state to different
    /// fixed points. Try 50.
    pub newton_handoff_iters: usize,
}

impl Default for FinderOptions {
    fn default() -> Self {
        FinderOptions {
            method: Method::Joint,
            max_iters: 5000,
            tol_q: 1e-12,
            tol_dq: 1e-20,
            lr_init: 1.0,
            lr_factor: 0.95,
            lr_patience: 5,
            lr_cooldown: 0,
            max_grad_norm: 0.0,
            adaptive_grad_clip: 0.0,
            newton_polish: true,
            newton_max_iters: 50,
            period: 1,
            do_compute_jacobians: true,
            do_decompose_jacobians: true,
            tol_unique: 1e-3,
            do_exclude_distance_outliers: true,
            outlier_distance_scale: 10.0,
            do_rerun_q_outliers: false,
            outlier_q_scale: 10.0,
            max_n_unique: usize::MAX,
            final_q_threshold: 1e-8,
            single_precision: true,
            verbose: false,
            super_verbose: false,
            n_iters_per_print_update: 100,
            n_threads: 0,
            freeze_converged: true,
            newton_handoff_iters: 0,
        }
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
