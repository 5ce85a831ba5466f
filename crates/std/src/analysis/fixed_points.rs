//! [`FixedPoints`]: the finder's results, with every field of the reference's container.

use crate::find::newton::NewtonOutcome;

/// A set of fixed points (or of optimized states) and everything known about them.
///
/// Row-major arrays, one row per point; optional fields are `None` until computed.
/// Field names follow the reference (`xstar`, `F_xstar` → `f_xstar`, `J_xstar` → `j_xstar`, …).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FixedPoints {
    /// Number of points.
    pub n: usize,
    /// State size `S`.
    pub n_states: usize,
    /// Input size `I`.
    pub n_inputs: usize,
    /// Period k of the map whose fixed points these are (1 = fixed points of F).
    pub period: usize,
    /// `n × S` points.
    pub xstar: Vec<f64>,
    /// `n × S` map applied once (k times for period k) to each point.
    pub f_xstar: Vec<f64>,
    /// `n × S` initial states the points were optimized from.
    pub x_init: Vec<f64>,
    /// `n × I` constant inputs.
    pub inputs: Vec<f64>,
    /// `q` at each point.
    pub qstar: Vec<f64>,
    /// `|Δq|` at the last optimizer step.
    pub dq: Vec<f64>,
    /// Optimizer iterations.
    pub n_iters: Vec<usize>,
    /// How the Newton polish ended for each point (`None` where it was not run).
    pub newton: Vec<Option<NewtonOutcome>>,
    /// `q ≥ final_q_threshold`: a slow point rather than a fixed point.
    pub is_slow: Vec<bool>,
    /// `n × S × S` Jacobians `dF/dx` (of the k-fold map).
    pub j_xstar: Option<Vec<f64>>,
    /// `n × S × I` input Jacobians `dF/du` (of the k-fold map).
    pub dfdu: Option<Vec<f64>>,
    /// `n × S` eigenvalues of `J`, real parts, sorted by modulus, largest first.
    pub eigval_re: Option<Vec<f64>>,
    /// `n × S` eigenvalues, imaginary parts.
    pub eigval_im: Option<Vec<f64>>,
    /// `n × S × S` right eigenvectors (column k of each block belongs to eigenvalue k), real.
    pub eigvec_re: Option<Vec<f64>>,
    /// Eigenvectors, imaginary parts.
    pub eigvec_im: Option<Vec<f64>>,
    /// `max |λ| < 1`.
    pub is_stable: Option<Vec<bool>>,
    /// Number of eigenvalues with `|λ| > 1`.
    pub n_unstable: Option<Vec<usize>>,
    /// For period k > 1: the smallest period (a divisor of k) of each point; 1 means the
    /// point is really a fixed point of F.
    pub min_period: Option<Vec<usize>>,
    /// Condition id of each point's initial state.
    pub cond_id: Option<Vec<i64>>,
    /// The uniqueness tolerance these points were (or will be) reduced with.
    pub tol_unique: f64,
}

fn pick<T: Clone>(v: &[T], idx: &[usize], w: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * w);
    for &i in idx {
        out.extend_from_slice(&v[i * w..(i + 1) * w]);
    }
    out
}

impl FixedPoints {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Row `i` of `xstar`.
    pub fn x(&self, i: usize) -> &[f64] {
        &self.xstar[i * self.n_states..(i + 1) * self.n_states]
    }

    /// Row `i` of `inputs`.
    pub fn u(&self, i: usize) -> &[f64] {
        &self.inputs[i * self.n_inputs..(i + 1) * self.n_inputs]
    }

    /// Spectral radius of point `i`'s Jacobian, if decomposed.
    pub fn max_abs_eig(&self, i: usize) -> Option<f64> {
        let (re, im) = (self.eigval_re.as_ref()?, self.eigval_im.as_ref()?);
        let s = self.n_states;
        (0..s)
            .map(|k| re[i * s + k].hypot(im[i * s + k]))
            .reduce(f64::max)
    }

    /// Number of stable points (0 if not decomposed).
    pub fn n_stable(&self) -> usize {
        self.is_stable
            .as_ref()
            .map_or(0, |v| v.iter().filter(|&&b| b).count())
    }

    /// The points at `idx`, in that order (indices must be `< n`).
    pub fn subset(&self, idx: &[usize]) -> FixedPoints {
        let (s, i) = (self.n_states, self.n_inputs);
        FixedPoints {
            n: idx.len(),
            n_states: s,
            n_inputs: i,
            period: self.period,
            xstar: pick(&self.xstar, idx, s),
            f_xstar: pick(&self.f_xstar, idx, s),
            x_init: pick(&self.x_init, idx, s),
            inputs: pick(&self.inputs, idx, i),
            qstar: pick(&self.qstar, idx, 1),
            dq: pick(&self.dq, idx, 1),
            n_iters: pick(&self.n_iters, idx, 1),
            newton: pick(&self.newton, idx, 1),
            is_slow: pick(&self.is_slow, idx, 1),
            j_xstar: self.j_xstar.as_ref().map(|v| pick(v, idx, s * s)),
            dfdu: self.dfdu.as_ref().map(|v| pick(v, idx, s * i)),
            eigval_re: self.eigval_re.as_ref().map(|v| pick(v, idx, s)),
            eigval_im: self.eigval_im.as_ref().map(|v| pick(v, idx, s)),
            eigvec_re: self.eigvec_re.as_ref().map(|v| pick(v, idx, s * s)),
            eigvec_im: self.eigvec_im.as_ref().map(|v| pick(v, idx, s * s)),
            is_stable: self.is_stable.as_ref().map(|v| pick(v, idx, 1)),
            n_unstable: self.n_unstable.as_ref().map(|v| pick(v, idx, 1)),
            min_period: self.min_period.as_ref().map(|v| pick(v, idx, 1)),
            cond_id: self.cond_id.as_ref().map(|v| pick(v, idx, 1)),
            tol_unique: self.tol_unique,
        }
    }
}
