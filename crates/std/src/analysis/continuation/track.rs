//! The numerics of continuation: the bordered Newton corrector, tangents, steps, landing on
//! the path's nodes, test functions and the bisection of bifurcations.
//!
//! A point is `y = (x, σ)` (length `S + 1`). Every linear system is the bordered one
//! `[I − J, −(∂G/∂u) u'(σ); cᵀ]`, factored by the kernel's LU: with `c` the previous tangent
//! it stays regular through a fold, where `I − J` alone is singular.

use super::{
    Bifurcation, BifurcationKind, BifurcationPoint, Branch, BranchEnd, ContinuationMethod,
    ContinuationOptions, InputPath, dist,
};
use crate::analysis::AnalysisError;
use crate::cell::Cell;
use crate::find::map::{jacobian, jacobian_work_len};
use crate::find::newton::{self, NewtonOutcome};
use crate::linalg::{eig, lu};
use crate::memory::{OutOfMemory, filled};

/// A step whose tangent turns by more than this (cosine) is retried at half the size.
const COS_MAX_TURN: f64 = 0.95;
/// A corrector that moves farther than this fraction of the step off its prediction means
/// the step was too long (retried at half the size).
const MAX_DEVIATION: f64 = 0.25;
/// Steps grow by this factor after a corrector of at most [`EASY_ITERS`] iterations.
const GROWTH: f64 = 1.5;
const EASY_ITERS: usize = 3;
/// Newton iterations of the seeds' polish at the first input.
const SEED_NEWTON_ITERS: usize = 50;
/// Iterations of the root finding that lands a branch on a node, and of a bisection.
const LAND_ITERS: usize = 100;
const BISECT_ITERS: usize = 200;

/// Step sizes resolved from the options and the path.
#[derive(Clone, Copy, Debug)]
pub(super) struct Steps {
    max: f64,
    min: f64,
    init: f64,
}

impl Steps {
    pub(super) fn of(path: &InputPath, opts: &ContinuationOptions) -> Steps {
        let l = path.length();
        let segments = (path.n_nodes() - 1) as f64;
        let max = if opts.step_max > 0.0 {
            opts.step_max
        } else {
            (l / segments).min(l / 20.0)
        };
        let min = if opts.step_min > 0.0 {
            opts.step_min.min(max)
        } else {
            max * 1e-6
        };
        let init = if opts.step_init > 0.0 {
            opts.step_init
        } else {
            max / 4.0
        };
        Steps {
            max,
            min,
            init: init.clamp(min, max),
        }
    }
}

/// One thread's scratch.
pub(super) struct Work {
    cache: Vec<f64>,
    xa: Vec<f64>,
    xb: Vec<f64>,
    gx: Vec<f64>,
    jac: Vec<f64>,
    dfdu: Vec<f64>,
    jwork: Vec<f64>,
    gs: Vec<f64>,
    u: Vec<f64>,
    dir: Vec<f64>,
    m: Vec<f64>,
    piv: Vec<usize>,
    rhs: Vec<f64>,
    sq: Vec<f64>,
    spiv: Vec<usize>,
    ework: Vec<f64>,
    re: Vec<f64>,
    im: Vec<f64>,
    nwork: Vec<f64>,
}

impl Work {
    pub(super) fn new(cell: &Cell<'_, f64>, period: usize) -> Result<Work, OutOfMemory> {
        let shape = cell.shape();
        let (s, ni) = (shape.state_dim(), shape.n_inputs);
        let s1 = s + 1;
        Ok(Work {
            cache: filled(shape.cache_len(), 0.0, "continuation cache")?,
            xa: filled(s, 0.0, "continuation state")?,
            xb: filled(s, 0.0, "continuation state")?,
            gx: filled(s, 0.0, "continuation G(x)")?,
            jac: filled(s.saturating_mul(s), 0.0, "continuation Jacobian")?,
            dfdu: filled(s.saturating_mul(ni), 0.0, "continuation input Jacobian")?,
            jwork: filled(
                jacobian_work_len(cell, period),
                0.0,
                "continuation workspace",
            )?,
            gs: filled(s, 0.0, "continuation dG/dσ")?,
            u: filled(ni, 0.0, "continuation input")?,
            dir: filled(ni, 0.0, "continuation input direction")?,
            m: filled(s1.saturating_mul(s1), 0.0, "continuation bordered matrix")?,
            piv: filled(s1, 0usize, "continuation pivots")?,
            rhs: filled(s1, 0.0, "continuation right-hand side")?,
            sq: filled(s.saturating_mul(s), 0.0, "continuation test matrix")?,
            spiv: filled(s, 0usize, "continuation pivots")?,
            ework: filled(eig::work_len(s, false), 0.0, "eigenvalue workspace")?,
            re: filled(s, 0.0, "eigenvalues")?,
            im: filled(s, 0.0, "eigenvalues")?,
            nwork: filled(newton::work_len(cell, period), 0.0, "Newton workspace")?,
        })
    }
}

/// A point of a branch and what the detection needs at it.
#[derive(Clone, Debug)]
struct Pt {
    /// `(x, σ)`.
    y: Vec<f64>,
    /// Unit tangent, oriented along the direction of travel.
    t: Vec<f64>,
    q: f64,
    re: Vec<f64>,
    im: Vec<f64>,
    /// Signs of `det(I − J)` and `det(I + J)` (0: singular to working precision).
    sn: i8,
    pd: i8,
    /// Eigenvalues outside the unit circle: real ones, complex ones.
    n_real_out: usize,
    n_cplx_out: usize,
    node: Option<usize>,
}

/// A traced branch before merging.
pub(super) struct Traced {
    pub branch: Branch,
    pub bifurcations: Vec<Bifurcation>,
}

pub(super) struct Tracker<'a, 'c> {
    pub cell: Cell<'c, f64>,
    pub path: &'a InputPath,
    pub opts: &'a ContinuationOptions,
    pub steps: Steps,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

fn lerp(a: &[f64], b: &[f64], f: f64) -> Vec<f64> {
    a.iter().zip(b).map(|(&p, &q)| p + f * (q - p)).collect()
}

/// Which side of a test function a point is on.
#[derive(Clone, Copy)]
enum Test<'t> {
    /// The sign of the tangent's σ component (with `c` the tangent of the bracket's start).
    Fold(&'t [f64]),
    /// `det(I − J) > 0`.
    DetMinus,
    /// `det(I + J) > 0`.
    DetPlus,
    /// The number of complex eigenvalues outside the unit circle equals this.
    Complex(usize),
}

impl Tracker<'_, '_> {
    fn s(&self) -> usize {
        self.cell.shape().state_dim()
    }

    fn ni(&self) -> usize {
        self.cell.shape().n_inputs
    }

    /// The segment that holds `sigma` (at a node: the one after it, or before it when
    /// travelling backward); beyond the ends, the end segments (extrapolated).
    fn segment(&self, sigma: f64, backward: bool) -> usize {
        let sg = self.path.node_sigma();
        let last = sg.len() - 2;
        let k = sg
            .partition_point(|&v| v <= sigma)
            .saturating_sub(1)
            .min(last);
        if backward && k > 0 && sigma == sg[k] {
            k - 1
        } else {
            k
        }
    }

    /// `u'(σ)` on segment `k` (a unit vector), into `out`.
    fn direction(&self, k: usize, out: &mut [f64]) {
        let sg = self.path.node_sigma();
        let len = sg[k + 1] - sg[k];
        for ((o, &a), &b) in out
            .iter_mut()
            .zip(self.path.node(k))
            .zip(self.path.node(k + 1))
        {
            *o = (b - a) / len;
        }
    }

    /// `u(σ)` into `out`.
    fn input_at(&self, sigma: f64, backward: bool, out: &mut [f64]) {
        let k = self.segment(sigma, backward);
        let s0 = self.path.node_sigma()[k];
        self.direction(k, out);
        for (o, &a) in out.iter_mut().zip(self.path.node(k)) {
            *o = a + (sigma - s0) * *o;
        }
    }

    /// `G(x)` at `u(σ)` into `w.gx`; returns `q = ½‖x − G(x)‖²`.
    fn residual(&self, y: &[f64], backward: bool, w: &mut Work) -> f64 {
        let s = self.s();
        self.input_at(y[s], backward, &mut w.u);
        w.xa.copy_from_slice(&y[..s]);
        for _ in 0..self.opts.period {
            // Lengths come from the same shape: this cannot fail.
            let _ = self.cell.step(&w.u, &w.xa, &mut w.xb, &mut w.cache);
            std::mem::swap(&mut w.xa, &mut w.xb);
        }
        w.gx.copy_from_slice(&w.xa);
        0.5 * y[..s]
            .iter()
            .zip(&w.gx)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
    }

    /// `J = ∂G/∂x` into `w.jac` and `∂G/∂σ · (−1)` into `w.gs` at `y`.
    fn linearize(&self, y: &[f64], backward: bool, w: &mut Work) {
        let (s, ni) = (self.s(), self.ni());
        let k = self.segment(y[s], backward);
        self.input_at(y[s], backward, &mut w.u);
        jacobian(
            &self.cell,
            &w.u,
            &y[..s],
            self.opts.period,
            &mut w.jac,
            Some(&mut w.dfdu),
            &mut w.jwork,
        );
        self.direction(k, &mut w.dir);
        for i in 0..s {
            w.gs[i] = -dot(&w.dfdu[i * ni..(i + 1) * ni], &w.dir);
        }
    }

    /// Builds and factors `[I − J, gs; cᵀ]` from the last [`Tracker::linearize`].
    fn factor_bordered(&self, c: &[f64], w: &mut Work) -> bool {
        let s = self.s();
        let s1 = s + 1;
        for i in 0..s {
            let row = &mut w.m[i * s1..(i + 1) * s1];
            for j in 0..s {
                row[j] = -w.jac[i * s + j];
            }
            row[i] += 1.0;
            row[s] = w.gs[i];
        }
        w.m[s * s1..].copy_from_slice(c);
        lu::factor(s1, &mut w.m, &mut w.piv).is_ok()
    }

    /// Bordered Newton from `y` on `x − G(x, u(σ)) = 0`, `cᵀy = target`. Fails (`None`) if it
    /// does not converge in `corrector_max_iters`, a matrix is singular, a value is not
    /// finite, or `y` moves farther than `max_move` from where it started. Returns the
    /// iterations and q.
    fn correct(
        &self,
        y: &mut [f64],
        c: &[f64],
        target: f64,
        backward: bool,
        max_move: f64,
        w: &mut Work,
    ) -> Option<(usize, f64)> {
        let s = self.s();
        let start = y.to_vec();
        let scale = 1.0 + target.abs();
        for it in 0..=self.opts.corrector_max_iters {
            let q = self.residual(y, backward, w);
            if !q.is_finite() {
                return None;
            }
            let g = dot(c, y) - target;
            if q < self.opts.tol_q && g.abs() <= 1e-12 * scale {
                return Some((it, q));
            }
            if it == self.opts.corrector_max_iters {
                return None;
            }
            self.linearize(y, backward, w);
            if !self.factor_bordered(c, w) {
                return None;
            }
            for i in 0..s {
                w.rhs[i] = w.gx[i] - y[i];
            }
            w.rhs[s] = -g;
            lu::solve(s + 1, &w.m, &w.piv, &mut w.rhs);
            for (v, d) in y.iter_mut().zip(&w.rhs) {
                *v += d;
            }
            let moved = dist(y, &start);
            if moved.is_nan() || moved > max_move {
                return None;
            }
        }
        None
    }

    /// The unit tangent at `y`, oriented so that `cᵀt > 0`.
    fn tangent(&self, y: &[f64], c: &[f64], backward: bool, w: &mut Work) -> Option<Vec<f64>> {
        let s = self.s();
        self.linearize(y, backward, w);
        if !self.factor_bordered(c, w) {
            return None;
        }
        w.rhs.fill(0.0);
        w.rhs[s] = 1.0;
        lu::solve(s + 1, &w.m, &w.piv, &mut w.rhs);
        let norm = dot(&w.rhs, &w.rhs).sqrt();
        if !norm.is_finite() || norm <= 0.0 {
            return None;
        }
        Some(w.rhs.iter().map(|v| v / norm).collect())
    }

    /// The sign of `det(I ∓ J)` (minus: `I − J`) from the last linearization; 0 if singular.
    fn det_sign(&self, minus: bool, w: &mut Work) -> i8 {
        let s = self.s();
        for (o, &j) in w.sq.iter_mut().zip(&w.jac) {
            *o = if minus { -j } else { j };
        }
        for i in 0..s {
            w.sq[i * s + i] += 1.0;
        }
        if lu::factor(s, &mut w.sq, &mut w.spiv).is_err() {
            return 0;
        }
        let mut neg = false;
        for i in 0..s {
            if w.sq[i * s + i] < 0.0 {
                neg = !neg;
            }
            if w.spiv[i] != i {
                neg = !neg;
            }
        }
        if neg { -1 } else { 1 }
    }

    /// Eigenvalues of the last linearization's `J` into `w.re`, `w.im`.
    fn eigenvalues(&self, w: &mut Work) -> bool {
        eig::eig(self.s(), &w.jac, &mut w.ework, &mut w.re, &mut w.im, None).is_ok()
    }

    /// Everything stored at a converged point: tangent (oriented by `c`), eigenvalues, the
    /// test functions. `Ok(None)`: the bordered matrix is singular (a step to retry);
    /// `Err(())`: the eigenvalues failed.
    fn point(
        &self,
        y: Vec<f64>,
        q: f64,
        c: &[f64],
        backward: bool,
        node: Option<usize>,
        w: &mut Work,
    ) -> Result<Option<Pt>, ()> {
        let Some(t) = self.tangent(&y, c, backward, w) else {
            return Ok(None);
        };
        if !self.eigenvalues(w) {
            return Err(());
        }
        let (re, im) = (w.re.clone(), w.im.clone());
        let sn = self.det_sign(true, w);
        let pd = self.det_sign(false, w);
        let n_real_out = re
            .iter()
            .zip(&im)
            .filter(|&(&r, &i)| i == 0.0 && r.abs() > 1.0)
            .count();
        let n_cplx_out = re
            .iter()
            .zip(&im)
            .filter(|&(&r, &i)| i != 0.0 && r.hypot(i) > 1.0)
            .count();
        Ok(Some(Pt {
            y,
            t,
            q,
            re,
            im,
            sn,
            pd,
            n_real_out,
            n_cplx_out,
            node,
        }))
    }

    /// Follows one seed. `Ok(None)`: Newton did not converge from the seed at the first
    /// input.
    pub(super) fn branch(
        &self,
        seed: &[f64],
        work: &mut Result<Work, OutOfMemory>,
    ) -> Result<Option<Traced>, AnalysisError> {
        let w = match work {
            Ok(w) => w,
            Err(e) => return Err(AnalysisError::OutOfMemory(*e)),
        };
        let s = self.s();
        let mut y0 = seed.to_vec();
        let r = newton::polish(
            &self.cell,
            self.path.node(0),
            &mut y0,
            self.opts.period,
            SEED_NEWTON_ITERS,
            &mut w.gx,
            &mut w.nwork,
            &mut w.spiv,
        );
        if r.outcome != NewtonOutcome::Converged {
            return Ok(None);
        }
        y0.push(0.0);
        let mut e = vec![0.0; s + 1];
        e[s] = 1.0;
        let p0 = match self.point(y0, r.q, &e, false, Some(0), w) {
            Ok(Some(p)) => p,
            // Singular at the seed (a fold exactly at u0) or no eigenvalues: a branch of one
            // point.
            Ok(None) | Err(()) => {
                return Ok(None);
            }
        };
        let mut pts = vec![p0];
        let mut bifs = Vec::new();
        let end = match self.opts.method {
            ContinuationMethod::PseudoArclength => self.pseudo(&mut pts, &mut bifs, w),
            ContinuationMethod::Natural => self.natural(&mut pts, &mut bifs, w),
        };
        Ok(Some(Traced {
            branch: self.to_branch(&pts, end),
            bifurcations: bifs,
        }))
    }

    fn pseudo(&self, pts: &mut Vec<Pt>, bifs: &mut Vec<Bifurcation>, w: &mut Work) -> BranchEnd {
        let s = self.s();
        let mut h = self.steps.init;
        for _ in 0..self.opts.max_steps {
            let a = &pts[pts.len() - 1];
            let backward = a.t[s] < 0.0;
            let yp: Vec<f64> = a.y.iter().zip(&a.t).map(|(y, t)| y + h * t).collect();
            let mut y = yp.clone();
            let target = dot(&a.t, &yp);
            let retry = |h: &mut f64| {
                *h *= 0.5;
                *h >= self.steps.min
            };
            let Some((iters, q)) = self.correct(&mut y, &a.t, target, backward, h, w) else {
                if retry(&mut h) {
                    continue;
                }
                return BranchEnd::StepTooSmall;
            };
            let b = match self.point(y, q, &a.t, backward, None, w) {
                Ok(Some(b)) => b,
                Ok(None) => {
                    if retry(&mut h) {
                        continue;
                    }
                    return BranchEnd::StepTooSmall;
                }
                Err(()) => return BranchEnd::EigenFailure,
            };
            let too_far = dot(&a.t, &b.t) < COS_MAX_TURN || dist(&b.y, &yp) > MAX_DEVIATION * h;
            if too_far && h > 2.0 * self.steps.min {
                h *= 0.5;
                continue;
            }
            if iters <= EASY_ITERS {
                h = (h * GROWTH).min(self.steps.max);
            }
            match self.advance(pts, bifs, b, w) {
                Ok(Some(end)) => return end,
                Ok(None) => {}
                Err(()) => return BranchEnd::EigenFailure,
            }
        }
        BranchEnd::MaxSteps
    }

    fn natural(&self, pts: &mut Vec<Pt>, bifs: &mut Vec<Bifurcation>, w: &mut Work) -> BranchEnd {
        let s = self.s();
        let sg = self.path.node_sigma();
        let last = sg.len() - 1;
        let mut e = vec![0.0; s + 1];
        e[s] = 1.0;
        let mut h = self.steps.init;
        for _ in 0..self.opts.max_steps {
            let a = &pts[pts.len() - 1];
            let sa = a.y[s];
            // A fold: the branch cannot go on in σ.
            if a.t[s] <= 1e-12 {
                return BranchEnd::StepTooSmall;
            }
            let next = sg.partition_point(|&v| v <= sa).min(last);
            let gap = sg[next] - sa;
            let lands = h >= gap;
            let ds = if lands { gap } else { h };
            let mut yp: Vec<f64> =
                a.y.iter()
                    .zip(&a.t)
                    .map(|(y, t)| y + ds * t / a.t[s])
                    .collect();
            yp[s] = if lands { sg[next] } else { sa + ds };
            let mut y = yp.clone();
            let reach = dist(&yp, &a.y);
            let retry = |h: &mut f64| {
                *h = 0.5 * h.min(gap);
                *h >= self.steps.min
            };
            let Some((iters, _)) = self.correct(&mut y, &e, yp[s], false, reach, w) else {
                if retry(&mut h) {
                    continue;
                }
                return BranchEnd::StepTooSmall;
            };
            y[s] = yp[s];
            let q = self.residual(&y, false, w);
            let b = match self.point(y, q, &a.t, false, lands.then_some(next), w) {
                Ok(Some(b)) => b,
                Ok(None) => {
                    if retry(&mut h) {
                        continue;
                    }
                    return BranchEnd::StepTooSmall;
                }
                Err(()) => return BranchEnd::EigenFailure,
            };
            let too_far = dot(&a.t, &b.t) < COS_MAX_TURN || dist(&b.y, &yp) > MAX_DEVIATION * reach;
            if too_far && h > 2.0 * self.steps.min {
                h = 0.5 * h.min(gap);
                continue;
            }
            if iters <= EASY_ITERS {
                h = (h * GROWTH).min(self.steps.max);
            }
            pts.push(b);
            if self.detect(pts, pts.len() - 2, bifs, w).is_err() {
                return BranchEnd::EigenFailure;
            }
            if lands && next == last {
                return BranchEnd::ReachedEnd;
            }
        }
        BranchEnd::MaxSteps
    }

    /// Stores the accepted point `b` after the last one: first a point exactly at every node
    /// the step passed (through the fold, if the step turned), then `b`; detects the
    /// bifurcations between the new neighbours. `Some(end)` if the branch reached an end of
    /// the path.
    fn advance(
        &self,
        pts: &mut Vec<Pt>,
        bifs: &mut Vec<Bifurcation>,
        mut b: Pt,
        w: &mut Work,
    ) -> Result<Option<BranchEnd>, ()> {
        let s = self.s();
        let first = pts.len() - 1;
        let a = pts[first].clone();
        let sg = self.path.node_sigma();
        let last = sg.len() - 1;
        // Anchors of the pieces along which σ is monotone: (y, t).
        let mut anchors: Vec<(Vec<f64>, Vec<f64>)> = vec![(a.y.clone(), a.t.clone())];
        if a.t[s] * b.t[s] < 0.0
            && let Some((yf, _)) = self.bisect(&a, &b.y, Test::Fold(&a.t), w)
            && let Some(tf) = self.tangent(&yf, &a.t, a.t[s] < 0.0, w)
        {
            anchors.push((yf, tf));
        }
        anchors.push((b.y.clone(), b.t.clone()));
        let tol = 1e-12 * (1.0 + self.path.length());
        let mut end = None;
        'pieces: for j in 1..anchors.len() {
            let (p0, p1) = (&anchors[j - 1], &anchors[j]);
            let (s0, s1) = (p0.0[s], p1.0[s]);
            let is_last = j == anchors.len() - 1;
            let nodes: Vec<usize> = if s1 > s0 {
                (0..=last).filter(|&k| sg[k] > s0 && sg[k] <= s1).collect()
            } else {
                (0..=last)
                    .rev()
                    .filter(|&k| sg[k] < s0 && sg[k] >= s1)
                    .collect()
            };
            for k in nodes {
                let at_end = (s1 > s0 && k == last) || (s1 < s0 && k == 0);
                if is_last && (sg[k] - s1).abs() <= tol {
                    b.node = Some(k);
                    if at_end {
                        end = Some(k);
                    }
                    break 'pieces;
                }
                let prev_t = pts[pts.len() - 1].t.clone();
                if let Some((y, q)) = self.land(&p0.0, &p0.1, &p1.0, k, w) {
                    match self.point(y, q, &prev_t, s1 < s0, Some(k), w) {
                        Ok(Some(p)) => {
                            pts.push(p);
                            if self.detect(pts, pts.len() - 2, bifs, w).is_err() {
                                return Err(());
                            }
                        }
                        Ok(None) => {}
                        Err(()) => return Err(()),
                    }
                }
                if at_end {
                    end = Some(k);
                    break 'pieces;
                }
            }
        }
        let reached = match end {
            Some(k) if k == last => Some(BranchEnd::ReachedEnd),
            Some(_) => Some(BranchEnd::ReturnedToStart),
            None => None,
        };
        // `b` is stored unless the branch ended at a node before it.
        if end.is_none() || b.node == end {
            pts.push(b);
            self.detect(pts, pts.len() - 2, bifs, w)?;
        }
        Ok(reached)
    }

    /// The point of the branch between `y0` (tangent `t0`) and `y1` where `σ` is node `k`'s:
    /// root finding (Illinois) along the arc parameter `s = t0ᵀ(y − y0)`, each point by the
    /// bordered corrector (well conditioned also next to a fold, where a Newton at fixed σ
    /// could jump to the other branch), then one Newton at fixed σ.
    fn land(
        &self,
        y0: &[f64],
        t0: &[f64],
        y1: &[f64],
        k: usize,
        w: &mut Work,
    ) -> Option<(Vec<f64>, f64)> {
        let s = self.s();
        let target = self.path.node_sigma()[k];
        let backward = y1[s] < y0[s];
        let len = dot(
            t0,
            &y1.iter().zip(y0).map(|(a, b)| a - b).collect::<Vec<_>>(),
        );
        if len.is_nan() || len <= 0.0 {
            return None;
        }
        let reach = dist(y0, y1);
        let base = dot(t0, y0);
        let (mut lo, mut hi) = ((0.0, y0.to_vec()), (len, y1.to_vec()));
        let (mut f_lo, mut f_hi) = (y0[s] - target, y1[s] - target);
        if f_lo * f_hi > 0.0 {
            return None;
        }
        let tol = 1e-14 * (1.0 + target.abs());
        let mut best = if f_lo.abs() < f_hi.abs() {
            lo.1.clone()
        } else {
            hi.1.clone()
        };
        let mut side = 0i8;
        for _ in 0..LAND_ITERS {
            if f_lo.abs().min(f_hi.abs()) <= tol || hi.0 - lo.0 <= 1e-15 * len {
                break;
            }
            let mut sm = hi.0 - f_hi * (hi.0 - lo.0) / (f_hi - f_lo);
            if !(sm > lo.0 && sm < hi.0) {
                sm = 0.5 * (lo.0 + hi.0);
            }
            let f = (sm - lo.0) / (hi.0 - lo.0);
            let mut y = lerp(&lo.1, &hi.1, f);
            self.correct(&mut y, t0, base + sm, backward, reach, w)?;
            let fm = y[s] - target;
            best = y.clone();
            if fm == 0.0 {
                break;
            }
            if (fm < 0.0) == (f_lo < 0.0) {
                lo = (sm, y);
                f_lo = fm;
                if side == -1 {
                    f_hi *= 0.5;
                }
                side = -1;
            } else {
                hi = (sm, y);
                f_hi = fm;
                if side == 1 {
                    f_lo *= 0.5;
                }
                side = 1;
            }
        }
        let mut e = vec![0.0; s + 1];
        e[s] = 1.0;
        self.correct(&mut best, &e, target, backward, reach, w)?;
        // On the node exactly (the solve leaves σ within rounding of it).
        best[s] = target;
        let q = self.residual(&best, backward, w);
        Some((best, q))
    }

    /// Which side of `test` the point `y` is on (`None` if it cannot be evaluated).
    fn side(&self, test: Test<'_>, y: &[f64], backward: bool, w: &mut Work) -> Option<bool> {
        let s = self.s();
        match test {
            Test::Fold(c) => self.tangent(y, c, backward, w).map(|t| t[s] > 0.0),
            Test::DetMinus => {
                self.linearize(y, backward, w);
                Some(self.det_sign(true, w) > 0)
            }
            Test::DetPlus => {
                self.linearize(y, backward, w);
                Some(self.det_sign(false, w) > 0)
            }
            Test::Complex(n) => {
                self.linearize(y, backward, w);
                if !self.eigenvalues(w) {
                    return None;
                }
                let m =
                    w.re.iter()
                        .zip(&w.im)
                        .filter(|&(&r, &i)| i != 0.0 && r.hypot(i) > 1.0)
                        .count();
                Some(m == n)
            }
        }
    }

    /// Bisection between `a` and the point `y1` after it for where `test` changes side,
    /// along `a`'s arc parameter; the point nearest the change and its q.
    fn bisect(&self, a: &Pt, y1: &[f64], test: Test<'_>, w: &mut Work) -> Option<(Vec<f64>, f64)> {
        let s = self.s();
        let backward = a.t[s] < 0.0;
        let len = dot(
            &a.t,
            &y1.iter().zip(&a.y).map(|(p, q)| p - q).collect::<Vec<_>>(),
        );
        if len.is_nan() || len <= 0.0 {
            return None;
        }
        let start = self.side(test, &a.y, backward, w)?;
        let reach = dist(&a.y, y1);
        let base = dot(&a.t, &a.y);
        let (mut lo, mut hi) = ((0.0, a.y.clone()), (len, y1.to_vec()));
        let mut out = None;
        for _ in 0..BISECT_ITERS {
            let mid = 0.5 * (lo.0 + hi.0);
            let mut y = lerp(&lo.1, &hi.1, 0.5);
            let (_, q) = self.correct(&mut y, &a.t, base + mid, backward, reach, w)?;
            out = Some((y.clone(), q));
            if hi.0 - lo.0 <= self.opts.refine_tol * len {
                break;
            }
            if self.side(test, &y, backward, w)? == start {
                lo = (mid, y);
            } else {
                hi = (mid, y);
            }
        }
        out
    }

    /// Compares the stored points `i` and `i + 1` and records the bifurcations between them.
    fn detect(
        &self,
        pts: &[Pt],
        i: usize,
        bifs: &mut Vec<Bifurcation>,
        w: &mut Work,
    ) -> Result<(), ()> {
        let s = self.s();
        let (p, n) = (&pts[i], &pts[i + 1]);
        let turned = p.t[s] * n.t[s] < 0.0;
        let mut found: Vec<(BifurcationKind, Test<'_>, Target)> = Vec::new();
        if p.sn * n.sn < 0 {
            if turned {
                found.push((BifurcationKind::SaddleNode, Test::Fold(&p.t), Target::Plus));
            } else {
                found.push((BifurcationKind::BranchPoint, Test::DetMinus, Target::Plus));
            }
        }
        if p.pd * n.pd < 0 {
            found.push((
                BifurcationKind::PeriodDoubling,
                Test::DetPlus,
                Target::Minus,
            ));
        }
        if p.n_real_out == n.n_real_out && p.n_cplx_out.abs_diff(n.n_cplx_out) == 2 {
            found.push((
                BifurcationKind::NeimarkSacker,
                Test::Complex(p.n_cplx_out),
                Target::Circle,
            ));
        }
        for (kind, test, target) in found {
            let refined = match self.bisect(p, &n.y, test, w) {
                Some((y, q)) => {
                    let backward = p.t[s] < 0.0;
                    self.linearize(&y, backward, w);
                    if !self.eigenvalues(w) {
                        return Err(());
                    }
                    let mut u = vec![0.0; self.ni()];
                    self.input_at(y[s], backward, &mut u);
                    Some(BifurcationPoint {
                        sigma: y[s],
                        inputs: u,
                        xstar: y[..s].to_vec(),
                        eig: target.pick(&w.re, &w.im),
                        q,
                    })
                }
                None => None,
            };
            bifs.push(Bifurcation {
                kind,
                branch: 0,
                before: i,
                eig_before: target.pick(&p.re, &p.im),
                eig_after: target.pick(&n.re, &n.im),
                turned,
                refined,
            });
        }
        Ok(())
    }

    fn to_branch(&self, pts: &[Pt], end: BranchEnd) -> Branch {
        let (s, ni) = (self.s(), self.ni());
        let n = pts.len();
        let mut b = Branch {
            n,
            seeds: Vec::new(),
            end: Some(end),
            ..Branch::default()
        };
        let mut u = vec![0.0; ni];
        for p in pts {
            let sigma = p.y[s];
            b.sigma.push(sigma);
            match p.node {
                Some(k) => u.copy_from_slice(self.path.node(k)),
                None => self.input_at(sigma, p.t[s] < 0.0, &mut u),
            }
            b.inputs.extend_from_slice(&u);
            b.xstar.extend_from_slice(&p.y[..s]);
            b.qstar.push(p.q);
            b.eigval_re.extend_from_slice(&p.re);
            b.eigval_im.extend_from_slice(&p.im);
            b.max_abs_eig.push(eig::spectral_radius(&p.re, &p.im));
            b.is_stable.push(eig::is_stable(&p.re, &p.im));
            b.n_unstable.push(eig::n_unstable(&p.re, &p.im));
            b.node.push(p.node);
        }
        b
    }
}

/// Which eigenvalue a bifurcation is about.
#[derive(Clone, Copy)]
enum Target {
    /// The real one nearest +1.
    Plus,
    /// The real one nearest −1.
    Minus,
    /// The complex one (upper half plane) whose modulus is nearest 1.
    Circle,
}

impl Target {
    fn pick(self, re: &[f64], im: &[f64]) -> [f64; 2] {
        let score = |r: f64, i: f64| -> f64 {
            match self {
                Target::Plus if i == 0.0 => (r - 1.0).abs(),
                Target::Minus if i == 0.0 => (r + 1.0).abs(),
                Target::Circle if i > 0.0 => (r.hypot(i) - 1.0).abs(),
                // The other eigenvalues only if there is no candidate at all.
                Target::Plus => 1e300 + (r - 1.0).hypot(i),
                Target::Minus => 1e300 + (r + 1.0).hypot(i),
                Target::Circle => 1e300 + (r.hypot(i) - 1.0).abs(),
            }
        };
        let mut best = [f64::NAN, f64::NAN];
        let mut best_score = f64::INFINITY;
        for (&r, &i) in re.iter().zip(im) {
            let sc = score(r, i);
            if sc < best_score {
                best_score = sc;
                best = [r, i];
            }
        }
        best
    }
}
