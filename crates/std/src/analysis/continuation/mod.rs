//! Fixed points as the input changes: continuation along a path of inputs, bifurcations, and
//! input sweeps.
//!
//! [`continue_fixed_points`] follows each given fixed point at the path's first input `u0`
//! along a piecewise-linear path of constant inputs ([`InputPath`]: a line `u0 → u1` in `K`
//! steps, or the caller's rows) by predictor–corrector Newton in f64 on
//! `x − G(x, u(σ)) = 0`, `G` the k-fold map and `σ` the input-space arclength from `u0`:
//! - tangent: `[I − J, −(∂G/∂u) u'; cᵀ] t = [0; 1]` (at the start `c = e_σ`, i.e.
//!   `(I − J) dx = (∂G/∂u) du`; later `c` is the previous tangent, which keeps the direction);
//! - pseudo-arclength ([`ContinuationMethod::PseudoArclength`], the default): predictor
//!   `y + h t`, corrector Newton on the bordered system with `tᵀ(y − y_pred) = 0`, so a branch
//!   goes round a fold (saddle-node) and comes back as the other branch;
//!   natural parameter ([`ContinuationMethod::Natural`]): the corrector holds `σ` fixed, so a
//!   branch ends at a fold (as [`BranchEnd::StepTooSmall`]);
//! - step control: a failed corrector, a step that moves too far off its prediction or turns
//!   the tangent by more than ~18° is retried at half the step; easy steps grow the step up to
//!   `step_max`; below `step_min` the branch ends.
//!
//! Every branch gets a point exactly at each node of the path it crosses (`Branch::node`),
//! so a branch can be compared with independent searches at those inputs. Along a branch the
//! test functions `sign det(I − J)` (a real eigenvalue crossing +1), `sign det(I + J)` (−1) and
//! the number of complex eigenvalues outside the unit circle detect, between neighbouring
//! points, saddle-nodes (the eigenvalue crosses +1 and the branch turns back in `σ`), branch
//! points (crosses +1 without a turn: transcritical or pitchfork), period doubling (crosses
//! −1) and Neimark–Sacker bifurcations (a complex pair leaves or enters the unit circle); each
//! is refined by bisection along the branch to `refine_tol` in arclength.
//!
//! Branches that meet are merged: a branch that comes back to `u0` (after a fold) at another
//! seed is that seed's branch too (`Branch::seeds`). Branches run in parallel
//! ([`crate::threads::Threads`]), with results independent of the thread count.
//!
//! [`crate::analysis::FixedPointFinder::sweep`] runs the whole search at many inputs in one
//! call (see [`sweep`]).

mod sweep;
mod track;

pub use sweep::SweepResult;

use super::AnalysisError;
use crate::cell::Cell;
use crate::memory::copied;
use crate::threads::Threads;
use core::fmt::Write;

/// How branches are followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContinuationMethod {
    /// Pseudo-arclength: steps along the branch's tangent in `(x, σ)`; goes round folds.
    PseudoArclength = 0,
    /// Natural parameter: steps in `σ` with the input held fixed in the corrector; a branch
    /// ends at a fold.
    Natural = 1,
}

fpf_core::options_struct! {
    /// Options of [`continue_fixed_points`]. Lengths are in the units of the path's arclength:
    /// `√(‖Δx‖² + ‖Δu‖²)` for pseudo-arclength steps, `‖Δu‖` for natural-parameter steps.
    /// Its C mirror, `fpf_continuation_options`, is generated from this list by the C
    /// library's build script, so new fields go at the end.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct ContinuationOptions {
        /// Pseudo-arclength or natural parameter.
        method: ContinuationMethod = ContinuationMethod::PseudoArclength,
        /// Largest step; 0: the smaller of the mean node spacing and 1/20 of the path's
        /// length.
        step_max: f64 = 0.0,
        /// Smallest step before a branch is given up; 0: `step_max · 1e-6`.
        step_min: f64 = 0.0,
        /// First step; 0: `step_max / 4`.
        step_init: f64 = 0.0,
        /// Cap on the steps (attempts) of one branch.
        max_steps: usize = 10_000,
        /// Newton iterations of one corrector.
        corrector_max_iters: usize = 10,
        /// The corrector has converged when `q = ½‖x − G(x)‖² < tol_q` (the default is the
        /// finder's Newton polish's).
        tol_q: f64 = 1e-24,
        /// Bisection of a bifurcation stops when its bracket is shorter than this, relative
        /// to the bracketing step.
        refine_tol: f64 = 1e-12,
        /// Two points closer than this (Euclidean, on x) are the same point: how seeds are
        /// matched with branches that come back to `u0`.
        tol_same: f64 = 1e-6,
        /// Period k: follow fixed points of `F` applied k times.
        period: usize = 1,
        /// Threads across branches (0 = all cores); results are the same for every count.
        n_threads: usize = 0,
    }
}

impl ContinuationOptions {
    /// Checks every option (the step sizes against each other where they are set).
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let bad = AnalysisError::bad;
        let nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if !nonneg(self.step_max) {
            return Err(bad("step_max", "must be finite and ≥ 0 (0: automatic)"));
        }
        if !nonneg(self.step_min) {
            return Err(bad("step_min", "must be finite and ≥ 0 (0: automatic)"));
        }
        if !nonneg(self.step_init) {
            return Err(bad("step_init", "must be finite and ≥ 0 (0: automatic)"));
        }
        if self.step_max > 0.0 && self.step_min > self.step_max {
            return Err(bad("step_min", "must not exceed step_max"));
        }
        if self.step_max > 0.0 && self.step_init > self.step_max {
            return Err(bad("step_init", "must not exceed step_max"));
        }
        if self.step_init > 0.0 && self.step_init < self.step_min {
            return Err(bad("step_init", "must not be below step_min"));
        }
        if self.max_steps == 0 {
            return Err(bad("max_steps", "must be ≥ 1"));
        }
        if self.corrector_max_iters == 0 {
            return Err(bad("corrector_max_iters", "must be ≥ 1"));
        }
        if !(self.tol_q.is_finite() && self.tol_q > 0.0) {
            return Err(bad("tol_q", "must be finite and > 0"));
        }
        if !(self.refine_tol.is_finite() && self.refine_tol > 0.0 && self.refine_tol < 1.0) {
            return Err(bad("refine_tol", "must be in (0, 1)"));
        }
        if !(self.tol_same.is_finite() && self.tol_same > 0.0) {
            return Err(bad("tol_same", "must be finite and > 0"));
        }
        if self.period == 0 || self.period > 1024 {
            return Err(bad("period", "must be between 1 and 1024"));
        }
        if self.n_threads > crate::find::options::MAX_THREADS {
            return Err(bad("n_threads", "must be at most 1024"));
        }
        Ok(())
    }
}

/// A piecewise-linear path of constant inputs through `K + 1` nodes, parameterized by its
/// arclength `σ` in input space (`σ = 0` at the first node).
#[derive(Clone, Debug, PartialEq)]
pub struct InputPath {
    n_inputs: usize,
    nodes: Vec<f64>,
    sigma: Vec<f64>,
}

impl InputPath {
    /// The line from `u0` to `u1` with `n_steps` segments (`n_steps + 1` nodes, evenly
    /// spaced).
    pub fn line(u0: &[f64], u1: &[f64], n_steps: usize) -> Result<InputPath, AnalysisError> {
        if u1.len() != u0.len() {
            return Err(AnalysisError::length("u1", u0.len(), u1.len()));
        }
        if n_steps == 0 {
            return Err(AnalysisError::bad("n_steps", "must be ≥ 1"));
        }
        let ni = u0.len();
        let mut rows =
            crate::memory::with_capacity((n_steps + 1).saturating_mul(ni), "input path nodes")?;
        for k in 0..=n_steps {
            let f = k as f64 / n_steps as f64;
            rows.extend(u0.iter().zip(u1).map(|(&a, &b)| a + f * (b - a)));
        }
        InputPath::rows(&rows, ni)
    }

    /// The path through the caller's rows (`n_rows × n_inputs`, at least two rows, finite,
    /// no two consecutive rows equal).
    pub fn rows(rows: &[f64], n_inputs: usize) -> Result<InputPath, AnalysisError> {
        if n_inputs == 0 {
            return Err(AnalysisError::bad(
                "n_inputs",
                "must be ≥ 1: a network without inputs has no input path",
            ));
        }
        if !rows.len().is_multiple_of(n_inputs) || rows.len() < 2 * n_inputs {
            return Err(AnalysisError::bad(
                "inputs",
                "must hold at least two whole rows of n_inputs values",
            ));
        }
        if let Some(index) = rows.iter().position(|v| !v.is_finite()) {
            return Err(AnalysisError::NotFinite {
                what: "inputs",
                index,
            });
        }
        let k = rows.len() / n_inputs;
        let mut sigma = crate::memory::with_capacity(k, "input path arclength")?;
        sigma.push(0.0);
        for r in 1..k {
            let d = dist(
                &rows[(r - 1) * n_inputs..r * n_inputs],
                &rows[r * n_inputs..(r + 1) * n_inputs],
            );
            if d == 0.0 {
                return Err(AnalysisError::bad(
                    "inputs",
                    "must not repeat a row: consecutive rows must differ",
                ));
            }
            sigma.push(sigma[r - 1] + d);
        }
        if !sigma[k - 1].is_finite() {
            return Err(AnalysisError::bad("inputs", "must span a finite length"));
        }
        Ok(InputPath {
            n_inputs,
            nodes: copied(rows, "input path nodes")?,
            sigma,
        })
    }

    /// Number of nodes `K + 1`.
    pub fn n_nodes(&self) -> usize {
        self.sigma.len()
    }

    /// Input size.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Node `k`'s input row.
    pub fn node(&self, k: usize) -> &[f64] {
        &self.nodes[k * self.n_inputs..(k + 1) * self.n_inputs]
    }

    /// Every node, row after row.
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// The arclength of each node.
    pub fn node_sigma(&self) -> &[f64] {
        &self.sigma
    }

    /// The path's length.
    pub fn length(&self) -> f64 {
        self.sigma[self.sigma.len() - 1]
    }
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q) * (p - q))
        .sum::<f64>()
        .sqrt()
}

/// Why a branch stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchEnd {
    /// It reached the path's last input.
    ReachedEnd = 0,
    /// It came back to the first input (after a fold).
    ReturnedToStart = 1,
    /// The step fell below `step_min` (with the natural parameter: usually a fold).
    StepTooSmall = 2,
    /// `max_steps` steps were taken.
    MaxSteps = 3,
    /// The eigenvalues of a point's Jacobian could not be computed.
    EigenFailure = 4,
}

impl BranchEnd {
    /// Every end, in code order.
    pub const ALL: [BranchEnd; 5] = [
        BranchEnd::ReachedEnd,
        BranchEnd::ReturnedToStart,
        BranchEnd::StepTooSmall,
        BranchEnd::MaxSteps,
        BranchEnd::EigenFailure,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            BranchEnd::ReachedEnd => "reached the end",
            BranchEnd::ReturnedToStart => "returned to the start",
            BranchEnd::StepTooSmall => "step too small",
            BranchEnd::MaxSteps => "step cap",
            BranchEnd::EigenFailure => "eigenvalue failure",
        }
    }
}

/// One branch: points in the order the continuation met them.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Branch {
    /// Number of points.
    pub n: usize,
    /// Position of each point along the path (input-space arclength from the first node).
    pub sigma: Vec<f64>,
    /// `n × I` inputs.
    pub inputs: Vec<f64>,
    /// `n × S` points.
    pub xstar: Vec<f64>,
    /// `q = ½‖x − G(x)‖²` at each point.
    pub qstar: Vec<f64>,
    /// `n × S` eigenvalues of the Jacobian, real parts, sorted by modulus, largest first.
    pub eigval_re: Vec<f64>,
    /// `n × S` imaginary parts.
    pub eigval_im: Vec<f64>,
    /// `max |λ|` of each point.
    pub max_abs_eig: Vec<f64>,
    /// `max |λ| < 1`.
    pub is_stable: Vec<bool>,
    /// Number of eigenvalues with `|λ| > 1`.
    pub n_unstable: Vec<usize>,
    /// The path node a point sits on exactly (`None` between nodes).
    pub node: Vec<Option<usize>>,
    /// The seeds (indices into the caller's states) on this branch.
    pub seeds: Vec<usize>,
    /// Why it stopped.
    pub end: Option<BranchEnd>,
}

impl Branch {
    /// Point `i`.
    pub fn x(&self, i: usize) -> &[f64] {
        let s = self.xstar.len() / self.n.max(1);
        &self.xstar[i * s..(i + 1) * s]
    }

    /// Input of point `i`.
    pub fn u(&self, i: usize) -> &[f64] {
        let ni = self.inputs.len() / self.n.max(1);
        &self.inputs[i * ni..(i + 1) * ni]
    }

    /// The indices of the points at node `k` (more than one where the branch turns and
    /// comes back through that input).
    pub fn at_node(&self, k: usize) -> Vec<usize> {
        (0..self.n).filter(|&i| self.node[i] == Some(k)).collect()
    }
}

/// The kind of a bifurcation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BifurcationKind {
    /// A real eigenvalue crosses +1 and the branch turns back: a fold, where the branch meets
    /// another (a stable point and a saddle, say) and both end.
    SaddleNode = 0,
    /// A real eigenvalue crosses +1 and the branch goes on: a transcritical or pitchfork
    /// bifurcation, where other branches cross this one.
    BranchPoint = 1,
    /// A real eigenvalue crosses −1: a cycle of twice the period is born or dies here.
    PeriodDoubling = 2,
    /// A complex pair crosses the unit circle: an invariant circle is born or dies here.
    NeimarkSacker = 3,
}

impl BifurcationKind {
    /// Every kind, in code order.
    pub const ALL: [BifurcationKind; 4] = [
        BifurcationKind::SaddleNode,
        BifurcationKind::BranchPoint,
        BifurcationKind::PeriodDoubling,
        BifurcationKind::NeimarkSacker,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            BifurcationKind::SaddleNode => "saddle-node",
            BifurcationKind::BranchPoint => "branch point",
            BifurcationKind::PeriodDoubling => "period doubling",
            BifurcationKind::NeimarkSacker => "Neimark-Sacker",
        }
    }
}

/// The bifurcation point found by bisection.
#[derive(Clone, Debug, PartialEq)]
pub struct BifurcationPoint {
    /// Position along the path.
    pub sigma: f64,
    /// The input there.
    pub inputs: Vec<f64>,
    /// The point.
    pub xstar: Vec<f64>,
    /// The crossing eigenvalue there `(re, im)`: the one nearest +1 (saddle-node, branch
    /// point), −1 (period doubling) or the unit circle (Neimark–Sacker).
    pub eig: [f64; 2],
    /// q at the point.
    pub q: f64,
}

/// A bifurcation on a branch, between two neighbouring points of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bifurcation {
    /// What kind.
    pub kind: BifurcationKind,
    /// The branch (index into [`Continuation::branches`]).
    pub branch: usize,
    /// The point before it (index into the branch's points); the point after it is
    /// `before + 1`.
    pub before: usize,
    /// The crossing eigenvalue `(re, im)` at `before`.
    pub eig_before: [f64; 2],
    /// The crossing eigenvalue at `before + 1`.
    pub eig_after: [f64; 2],
    /// The branch's direction in `σ` reverses between the two points.
    pub turned: bool,
    /// The point refined by bisection (`None` if a corrector failed during the bisection).
    pub refined: Option<BifurcationPoint>,
}

/// What [`continue_fixed_points`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Continuation {
    /// State size `S`.
    pub n_states: usize,
    /// Input size `I`.
    pub n_inputs: usize,
    /// The path.
    pub path: InputPath,
    /// The branches, one per distinct curve through the seeds, in the order of their first
    /// seed.
    pub branches: Vec<Branch>,
    /// Every bifurcation, by branch, then along it.
    pub bifurcations: Vec<Bifurcation>,
    /// The branch of each seed; `None` where Newton did not converge from the seed at `u0`
    /// (it was not a fixed point there).
    pub seed_branch: Vec<Option<usize>>,
}

impl Continuation {
    /// A text summary: each branch's seeds, range, stability and end, then each bifurcation.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let failed = self.seed_branch.iter().filter(|b| b.is_none()).count();
        let _ = writeln!(s, "=== Continuation Summary ===");
        let _ = writeln!(
            s,
            "Path: {} nodes, length {:.6}; seeds: {} ({} not fixed points at the first input)",
            self.path.n_nodes(),
            self.path.length(),
            self.seed_branch.len(),
            failed
        );
        let _ = writeln!(s, "Branches: {}", self.branches.len());
        for (i, b) in self.branches.iter().enumerate() {
            let (lo, hi) = b
                .sigma
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let st = b.is_stable.iter().filter(|&&v| v).count();
            let _ = writeln!(
                s,
                "  branch {i}: seeds {:?}, {} points, sigma in [{:.6}, {:.6}], {} stable, \
                 {}",
                b.seeds,
                b.n,
                lo,
                hi,
                st,
                b.end.map_or("?", BranchEnd::name)
            );
        }
        let _ = writeln!(s, "Bifurcations: {}", self.bifurcations.len());
        for f in &self.bifurcations {
            let b = &self.branches[f.branch];
            let at = match &f.refined {
                Some(p) => format!("sigma = {:.12}, eigenvalue {}", p.sigma, eig_text(p.eig)),
                None => "not refined".to_string(),
            };
            let _ = writeln!(
                s,
                "  {} on branch {} between points {} (sigma {:.6}, eig {}) and {} (sigma \
                 {:.6}, eig {}){}: {at}",
                f.kind.name(),
                f.branch,
                f.before,
                b.sigma[f.before],
                eig_text(f.eig_before),
                f.before + 1,
                b.sigma[f.before + 1],
                eig_text(f.eig_after),
                if f.turned { ", turns" } else { "" }
            );
        }
        s
    }
}

/// An eigenvalue as text: its real value, or `re ± im i (|λ| = …)`.
fn eig_text(e: [f64; 2]) -> String {
    if e[1] == 0.0 {
        format!("{:.9}", e[0])
    } else {
        format!("{:.6}{:+.6}i (|λ| = {:.9})", e[0], e[1], e[0].hypot(e[1]))
    }
}

/// Follows each seed (`n × S` states, fixed points at the path's first input) along `path`.
///
/// Seeds are first polished by Newton at the first input; one from which Newton does not
/// converge gets no branch (`seed_branch[i] = None`). Errors: a seed array of the wrong
/// length or with a NaN or infinity, a path of another input size, options out of range,
/// memory.
pub fn continue_fixed_points(
    cell: Cell<'_, f64>,
    seeds: &[f64],
    path: &InputPath,
    opts: &ContinuationOptions,
) -> Result<Continuation, AnalysisError> {
    opts.validate()?;
    let shape = *cell.shape();
    let (s, ni) = (shape.state_dim(), shape.n_inputs);
    if path.n_inputs() != ni {
        return Err(AnalysisError::length("path inputs", ni, path.n_inputs()));
    }
    if seeds.is_empty() || !seeds.len().is_multiple_of(s) {
        return Err(AnalysisError::bad(
            "seeds",
            "must hold a positive whole number of states",
        ));
    }
    if let Some(index) = seeds.iter().position(|v| !v.is_finite()) {
        return Err(AnalysisError::NotFinite {
            what: "seeds",
            index,
        });
    }
    let n = seeds.len() / s;
    let steps = track::Steps::of(path, opts);
    let threads = Threads::new(opts.n_threads);
    type Job = (usize, Result<Option<track::Traced>, AnalysisError>);
    let mut jobs: Vec<Job> = (0..n).map(|i| (i, Ok(None))).collect();
    let tracker = track::Tracker {
        cell,
        path,
        opts,
        steps,
    };
    threads.for_each(
        &mut jobs,
        || track::Work::new(&cell, opts.period),
        |w, _, (i, out)| {
            *out = tracker.branch(&seeds[*i * s..(*i + 1) * s], w);
        },
    );
    let mut traced = Vec::with_capacity(n);
    for (_, r) in jobs {
        traced.push(r?);
    }

    // Merge: a branch that comes back to the first input at another seed is that seed's
    // branch too; seeds are matched in order, so the first seed of a curve keeps it.
    let mut seed_branch: Vec<Option<usize>> = vec![None; n];
    let mut branches = Vec::new();
    let mut bifurcations = Vec::new();
    let starts: Vec<Option<Vec<f64>>> = traced
        .iter()
        .map(|t| t.as_ref().map(|t| t.branch.x(0).to_vec()))
        .collect();
    for (i, traced) in traced.into_iter().enumerate() {
        let Some(mut traced) = traced else { continue };
        if seed_branch[i].is_some() {
            continue;
        }
        let b = branches.len();
        let at_start: Vec<usize> = traced.branch.at_node(0);
        for j in i..n {
            if seed_branch[j].is_some() {
                continue;
            }
            let Some(xj) = &starts[j] else { continue };
            if at_start
                .iter()
                .any(|&p| dist(traced.branch.x(p), xj) <= opts.tol_same)
            {
                seed_branch[j] = Some(b);
                traced.branch.seeds.push(j);
            }
        }
        for mut f in traced.bifurcations {
            f.branch = b;
            bifurcations.push(f);
        }
        branches.push(traced.branch);
    }
    Ok(Continuation {
        n_states: s,
        n_inputs: ni,
        path: path.clone(),
        branches,
        bifurcations,
        seed_branch,
    })
}
