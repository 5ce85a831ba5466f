//! The model: a cell, a linear readout and a learned initial state.
//!
//! `h_t = F(h_{t−1}, x_t)` from `h_{−1} = h0`, and `y_t = h_t W_out + b_out` (row-vector
//! convention; `h_t` is the first `H` entries of the state, so the LSTM's `c` is not read out).
//! The cell parameters are one flat vector in the shared layout of [`crate::cell`]; named
//! access ([`Model::get_param`], [`Model::set_param`]) uses the names of
//! [`crate::cell::names`] plus `w_out` (`H × O`), `b_out` (`O`) and `h0` (state dimension `S`).

use std::fmt;

use crate::memory::{OutOfMemory, filled};
use crate::random::Gaussian;

use crate::cell::names::{self, ParamSpec};
use crate::cell::{Cell, CellKind, CellShape, ShapeError};
use crate::linalg::dense::vec_mat;
use crate::scalar::Real;

pub use crate::model_shape::{MAX_OUTPUTS, MAX_TOTAL_PARAMS};
use crate::model_shape::{ModelShape, SizeError};

/// Model-level parameter names, accepted for every cell kind.
pub const MODEL_NAMES: [&str; 3] = ["w_out", "b_out", "h0"];
/// The `torch.nn.RNN` bias names the tanh cell accepts on top of its cell names.
pub const TANH_TORCH_BIAS_NAMES: [&str; 2] = ["bias_ih_l0", "bias_hh_l0"];

/// Every name [`Model::get_param`] and [`Model::set_param`] accept for a cell kind: the
/// canonical cell names, their aliases, the tanh cell's `torch.nn.RNN` biases, then
/// [`MODEL_NAMES`].
pub fn param_names(kind: CellKind) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = names::names(kind).to_vec();
    v.extend_from_slice(names::aliases(kind));
    if kind == CellKind::Tanh {
        v.extend_from_slice(&TANH_TORCH_BIAS_NAMES);
    }
    v.extend_from_slice(&MODEL_NAMES);
    v
}

/// Why a model could not be built or called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// The cell shape is invalid (`n_hidden` 0 or too large, `n_inputs` too large).
    Shape(ShapeError),
    /// A size is out of range: `got` is not in `1..=max`.
    BadSize {
        /// The size.
        what: &'static str,
        /// Its value.
        got: usize,
        /// The largest accepted value.
        max: usize,
    },
    /// A product of sizes overflows, or the model would hold more than [`MAX_TOTAL_PARAMS`]
    /// values.
    TooLarge {
        /// What overflowed.
        what: &'static str,
    },
    /// No parameter of that name for this cell kind.
    UnknownName {
        /// The name asked for.
        name: String,
        /// The cell kind (its valid names are [`param_names`]).
        kind: CellKind,
    },
    /// An array has the wrong length.
    Length {
        /// The array (a parameter name, or `inputs`, `states`, …).
        name: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// An array holds a NaN or an infinity.
    NotFinite {
        /// The array.
        name: &'static str,
        /// The first offending index.
        index: usize,
    },
    /// A computed value overflowed to NaN or infinity (weights so large that a weighted sum
    /// or the readout leaves the floating-point range).
    Diverged {
        /// The output array.
        name: &'static str,
        /// The first offending index.
        index: usize,
    },
    /// The model's arrays could not be allocated.
    OutOfMemory(OutOfMemory),
}

impl From<OutOfMemory> for ModelError {
    fn from(e: OutOfMemory) -> Self {
        ModelError::OutOfMemory(e)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Shape(e) => match e.what {
                "n_hidden" => write!(
                    f,
                    "`n_hidden` = {} is out of range (1..={})",
                    e.got, e.expected
                ),
                "n_inputs" => write!(
                    f,
                    "`n_inputs` = {} is out of range (0..={})",
                    e.got, e.expected
                ),
                _ => write!(f, "{e}"),
            },
            ModelError::BadSize { what, got, max } => {
                write!(f, "`{what}` = {got} is out of range (1..={max})")
            }
            ModelError::TooLarge { what } => write!(
                f,
                "{what} is too large (a size product overflows, or the model would hold more \
                 than {MAX_TOTAL_PARAMS} values)"
            ),
            ModelError::UnknownName { name, kind } => {
                write!(
                    f,
                    "unknown parameter name `{name}` for a {} cell; valid names: ",
                    kind.name()
                )?;
                for (i, n) in param_names(*kind).iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(n)?;
                }
                Ok(())
            }
            ModelError::Length {
                name,
                expected,
                got,
            } => write!(f, "`{name}` has length {got}, expected {expected}"),
            ModelError::NotFinite { name, index } => {
                write!(f, "`{name}`[{index}] is NaN or infinite")
            }
            ModelError::Diverged { name, index } => write!(
                f,
                "`{name}`[{index}] overflowed to NaN or infinity: the weights are too large"
            ),
            ModelError::OutOfMemory(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<ShapeError> for ModelError {
    fn from(e: ShapeError) -> Self {
        ModelError::Shape(e)
    }
}

fn check_len(name: &'static str, expected: usize, got: usize) -> Result<(), ModelError> {
    if expected == got {
        Ok(())
    } else {
        Err(ModelError::Length {
            name,
            expected,
            got,
        })
    }
}

fn check_finite<T: Real>(name: &'static str, v: &[T]) -> Result<(), ModelError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ModelError::NotFinite { name, index }),
    }
}

/// A computed array that left the floating-point range is a [`ModelError::Diverged`].
fn check_overflow<T: Real>(name: &'static str, v: &[T]) -> Result<(), ModelError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ModelError::Diverged { name, index }),
    }
}

fn mul(a: usize, b: usize, what: &'static str) -> Result<usize, ModelError> {
    a.checked_mul(b).ok_or(ModelError::TooLarge { what })
}

/// Checks a shape and output count ([`ModelShape::array_lens`]).
fn validate(shape: &CellShape, n_outputs: usize) -> Result<(), ModelError> {
    ModelShape {
        cell: *shape,
        n_outputs,
    }
    .array_lens()
    .map(|_| ())
    .map_err(|e| match e {
        SizeError::Shape(e) => ModelError::Shape(e),
        SizeError::Outputs(got) => ModelError::BadSize {
            what: "n_outputs",
            got,
            max: MAX_OUTPUTS,
        },
        SizeError::TooLarge => ModelError::TooLarge { what: "the model" },
    })
}

/// A recurrent network: cell, readout `y = h W_out + b_out` and initial state `h0`.
///
/// Equality (`==`) compares the shape and every number the network computes with; the
/// remembered `torch.nn.RNN` bias split of a tanh cell (see [`Model::set_param`]) is a naming
/// convenience and not compared.
#[derive(Clone, Debug)]
pub struct Model<T> {
    shape: CellShape,
    n_outputs: usize,
    /// Cell parameters, flat `[w_x | w_h | b]`.
    params: Vec<T>,
    /// `H × O`, row-major.
    w_out: Vec<T>,
    /// `O`.
    b_out: Vec<T>,
    /// `S`.
    h0: Vec<T>,
    /// Tanh cell only: `[bias_ih_l0 | bias_hh_l0]` as last set by name (empty until then).
    rnn_bias: Vec<T>,
}

impl<T: Real> PartialEq for Model<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape
            && self.n_outputs == other.n_outputs
            && self.params == other.params
            && self.w_out == other.w_out
            && self.b_out == other.b_out
            && self.h0 == other.h0
    }
}

/// Fills `v` with N(0, std²) draws.
fn fill_normal<T: Real>(g: &mut Gaussian, v: &mut [T], std: f64) {
    for x in v {
        *x = T::from_f64(std * g.normal());
    }
}

impl<T: Real> Model<T> {
    /// A model with every parameter zero. Checks `shape` ([`CellShape::validate`]),
    /// `1 ≤ n_outputs ≤ MAX_OUTPUTS`, and that the model holds at most [`MAX_TOTAL_PARAMS`]
    /// values.
    pub fn new(shape: CellShape, n_outputs: usize) -> Result<Self, ModelError> {
        validate(&shape, n_outputs)?;
        Ok(Model {
            shape,
            n_outputs,
            params: filled(shape.n_params(), T::ZERO, "cell parameters")?,
            w_out: filled(shape.n_hidden * n_outputs, T::ZERO, "w_out")?,
            b_out: filled(n_outputs, T::ZERO, "b_out")?,
            h0: filled(shape.state_dim(), T::ZERO, "h0")?,
            rnn_bias: Vec::new(),
        })
    }

    /// Builds a model from its arrays (as a checkpoint stores them), checking every length
    /// and that every value is finite.
    pub fn from_parts(
        shape: CellShape,
        n_outputs: usize,
        params: Vec<T>,
        w_out: Vec<T>,
        b_out: Vec<T>,
        h0: Vec<T>,
    ) -> Result<Self, ModelError> {
        validate(&shape, n_outputs)?;
        check_len("params", shape.n_params(), params.len())?;
        check_len("w_out", shape.n_hidden * n_outputs, w_out.len())?;
        check_len("b_out", n_outputs, b_out.len())?;
        check_len("h0", shape.state_dim(), h0.len())?;
        check_finite("params", &params)?;
        check_finite("w_out", &w_out)?;
        check_finite("b_out", &b_out)?;
        check_finite("h0", &h0)?;
        Ok(Model {
            shape,
            n_outputs,
            params,
            w_out,
            b_out,
            h0,
            rnn_bias: Vec::new(),
        })
    }

    fn init_gaussian(
        shape: CellShape,
        n_outputs: usize,
        seed: u64,
        std_in: f64,
        std_rec: f64,
        std_out: f64,
    ) -> Result<Self, ModelError> {
        let mut m = Self::new(shape, n_outputs)?;
        let mut g = Gaussian::new(seed);
        let (wx, rest) = m.params.split_at_mut(shape.len_w_x());
        fill_normal(&mut g, wx, std_in);
        fill_normal(&mut g, &mut rest[..shape.len_w_h()], std_rec);
        fill_normal(&mut g, &mut m.w_out, std_out);
        Ok(m)
    }

    /// The reference's tutorial initialization, reproducible from `seed`: input weights
    /// `N(0, 0.1²)`, recurrent weights `N(0, 0.5²)`, `w_out` `N(0, 0.1²)`, biases, `b_out`
    /// and `h0` zero. Samples are drawn in the order `w_x`, `w_h`, `w_out` (flat order) from
    /// xoshiro256++ seeded by `seed_from_u64(seed)`, by Box–Muller.
    ///
    /// With `H` large, recurrent weights of standard deviation 0.5 give a spectral radius of
    /// about `0.5 √H` (strongly chaotic for `H ≳ 16`); [`Model::init_scaled`] avoids that.
    pub fn init_random(shape: CellShape, n_outputs: usize, seed: u64) -> Result<Self, ModelError> {
        Self::init_gaussian(shape, n_outputs, seed, 0.1, 0.5, 0.1)
    }

    /// A better-conditioned initialization: recurrent weights `N(0, 1/H)` (spectral radius
    /// about 1), input weights `N(0, 1/I)`, `w_out` `N(0, 1/H)`, the rest zero.
    pub fn init_scaled(shape: CellShape, n_outputs: usize, seed: u64) -> Result<Self, ModelError> {
        let inv_sqrt = |n: usize| 1.0 / (n.max(1) as f64).sqrt();
        let (ni, nh) = (shape.n_inputs, shape.n_hidden);
        Self::init_gaussian(
            shape,
            n_outputs,
            seed,
            inv_sqrt(ni),
            inv_sqrt(nh),
            inv_sqrt(nh),
        )
    }

    /// The cell shape.
    pub fn shape(&self) -> &CellShape {
        &self.shape
    }
    /// The cell kind.
    pub fn kind(&self) -> CellKind {
        self.shape.kind
    }
    /// Input size `I`.
    pub fn n_inputs(&self) -> usize {
        self.shape.n_inputs
    }
    /// Hidden size `H`.
    pub fn n_hidden(&self) -> usize {
        self.shape.n_hidden
    }
    /// Output size `O`.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }
    /// State dimension `S` (`H`, or `2H` for the LSTM).
    pub fn state_dim(&self) -> usize {
        self.shape.state_dim()
    }
    /// Total number of values: cell parameters, `w_out`, `b_out` and `h0`.
    pub fn n_total_params(&self) -> usize {
        self.params.len() + self.w_out.len() + self.b_out.len() + self.h0.len()
    }

    /// The cell bound to this model's parameters.
    pub fn cell(&self) -> Cell<'_, T> {
        Cell::from_flat(self.shape, &self.params)
            .expect("a Model keeps its parameters at the length of its validated shape")
    }

    /// The model's arrays, borrowed, as the checkpoint codec reads them.
    pub fn view(&self) -> crate::checkpoint::ModelView<'_, T> {
        crate::checkpoint::ModelView {
            shape: self.shape,
            n_outputs: self.n_outputs,
            params: &self.params,
            w_out: &self.w_out,
            b_out: &self.b_out,
            h0: &self.h0,
        }
    }

    /// Cell parameters, flat `[w_x | w_h | b]` (see [`crate::cell`]).
    pub fn params(&self) -> &[T] {
        &self.params
    }
    /// Mutable cell parameters.
    pub fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }
    /// Readout weights, `H × O` row-major.
    pub fn w_out(&self) -> &[T] {
        &self.w_out
    }
    /// Mutable readout weights.
    pub fn w_out_mut(&mut self) -> &mut [T] {
        &mut self.w_out
    }
    /// Readout bias, `O`.
    pub fn b_out(&self) -> &[T] {
        &self.b_out
    }
    /// Mutable readout bias.
    pub fn b_out_mut(&mut self) -> &mut [T] {
        &mut self.b_out
    }
    /// Initial state, `S`.
    pub fn h0(&self) -> &[T] {
        &self.h0
    }
    /// Mutable initial state.
    pub fn h0_mut(&mut self) -> &mut [T] {
        &mut self.h0
    }

    /// Converts every value to another precision (`f64 → f32` rounds to nearest).
    pub fn cast<U: Real>(&self) -> Model<U> {
        let c = |v: &[T]| {
            v.iter()
                .map(|&x| U::from_f64(x.to_f64()))
                .collect::<Vec<U>>()
        };
        Model {
            shape: self.shape,
            n_outputs: self.n_outputs,
            params: c(&self.params),
            w_out: c(&self.w_out),
            b_out: c(&self.b_out),
            h0: c(&self.h0),
            rnn_bias: c(&self.rnn_bias),
        }
    }

    /// Where a named parameter lives and how long it is.
    fn resolve(&self, name: &str) -> Result<Named, ModelError> {
        let s = &self.shape;
        Ok(match name {
            "w_out" => Named::WOut,
            "b_out" => Named::BOut,
            "h0" => Named::H0,
            "bias_ih_l0" if s.kind == CellKind::Tanh => Named::TanhBias(0),
            "bias_hh_l0" if s.kind == CellKind::Tanh => Named::TanhBias(1),
            _ => match names::lookup(s, name) {
                Some(spec) => Named::Cell(spec),
                None => {
                    return Err(ModelError::UnknownName {
                        name: name.into(),
                        kind: s.kind,
                    });
                }
            },
        })
    }

    /// Number of elements of parameter `name`.
    pub fn param_len(&self, name: &str) -> Result<usize, ModelError> {
        Ok(self.named_len(&self.resolve(name)?))
    }

    fn named_len(&self, n: &Named) -> usize {
        match n {
            Named::WOut => self.w_out.len(),
            Named::BOut => self.b_out.len(),
            Named::H0 => self.h0.len(),
            Named::TanhBias(_) => self.shape.n_hidden,
            Named::Cell(spec) => spec.len(),
        }
    }

    /// The tanh cell's bias row `b_h` (the whole `b`).
    fn bias_range(&self) -> core::ops::Range<usize> {
        let start = self.shape.len_w_x() + self.shape.len_w_h();
        start..self.params.len()
    }

    /// The `(bias_ih_l0, bias_hh_l0)` view of a tanh cell's bias: the split last set by
    /// name while it still sums to `b_h` exactly, else `(b_h, 0)`.
    fn tanh_bias_split(&self) -> (Vec<T>, Vec<T>) {
        let b = &self.params[self.bias_range()];
        let h = b.len();
        if self.rnn_bias.len() == 2 * h {
            let (ih, hh) = self.rnn_bias.split_at(h);
            if (0..h).all(|i| ih[i] + hh[i] == b[i]) {
                return (ih.to_vec(), hh.to_vec());
            }
        }
        (b.to_vec(), vec![T::ZERO; h])
    }

    /// Copies parameter `name` into `out` (row-major, length [`Model::param_len`]).
    ///
    /// Names: every [`param_names`] entry for the cell kind. PyTorch names come out in
    /// PyTorch's layout (`weight_ih_l0` is `G·H × I`). `out` is written only on success.
    pub fn get_param(&self, name: &str, out: &mut [T]) -> Result<(), ModelError> {
        let n = self.resolve(name)?;
        check_len(n.name(), self.named_len(&n), out.len())?;
        match n {
            Named::WOut => out.copy_from_slice(&self.w_out),
            Named::BOut => out.copy_from_slice(&self.b_out),
            Named::H0 => out.copy_from_slice(&self.h0),
            Named::TanhBias(k) => {
                let (ih, hh) = self.tanh_bias_split();
                out.copy_from_slice(if k == 0 { &ih } else { &hh });
            }
            Named::Cell(spec) => spec.read(&self.shape, &self.params, out)?,
        }
        Ok(())
    }

    /// Sets parameter `name` from `v` (row-major, length [`Model::param_len`], all finite);
    /// nothing changes on error.
    ///
    /// The tanh cell also takes `torch.nn.RNN`'s `bias_ih_l0` and `bias_hh_l0`, whose sum is
    /// its one bias row `b_h`: the model remembers the split, so setting both (in either
    /// order) gives `b_h = bias_ih_l0 + bias_hh_l0` and each reads back exactly as set.
    /// Setting `b_h` (or changing it through [`Model::params_mut`]) forgets the split: then
    /// `bias_ih_l0` reads as `b_h` and `bias_hh_l0` as zeros.
    pub fn set_param(&mut self, name: &str, v: &[T]) -> Result<(), ModelError> {
        let n = self.resolve(name)?;
        check_len(n.name(), self.named_len(&n), v.len())?;
        check_finite(n.name(), v)?;
        match n {
            Named::WOut => self.w_out.copy_from_slice(v),
            Named::BOut => self.b_out.copy_from_slice(v),
            Named::H0 => self.h0.copy_from_slice(v),
            Named::TanhBias(k) => {
                let (mut ih, mut hh) = self.tanh_bias_split();
                if k == 0 { &mut ih } else { &mut hh }.copy_from_slice(v);
                let sum: Vec<T> = ih.iter().zip(&hh).map(|(&a, &b)| a + b).collect();
                check_finite("bias_ih_l0 + bias_hh_l0", &sum)?;
                let r = self.bias_range();
                self.params[r].copy_from_slice(&sum);
                ih.extend_from_slice(&hh);
                self.rnn_bias = ih;
            }
            Named::Cell(spec) => spec.write(&self.shape, &mut self.params, v)?,
        }
        Ok(())
    }

    /// `y = h W_out + b_out` for one state. `h` is the hidden state (length `H`) or the whole
    /// state (length `S`, of which the first `H` entries are read); `y` has length `O`.
    pub fn readout(&self, h: &[T], y: &mut [T]) -> Result<(), ModelError> {
        if h.len() != self.shape.n_hidden {
            check_len("h", self.state_dim(), h.len())?;
        }
        check_len("y", self.n_outputs, y.len())?;
        self.readout_unchecked(h, y);
        Ok(())
    }

    #[inline]
    fn readout_unchecked(&self, h: &[T], y: &mut [T]) {
        let o = self.n_outputs;
        y.copy_from_slice(&self.b_out);
        vec_mat(&h[..self.shape.n_hidden], &self.w_out, o, o, y, true);
    }

    /// Runs `n_trials` trials of `n_time` steps, each from `h0`.
    ///
    /// - `inputs`: `n_trials × n_time × I` (finite),
    /// - `outputs`: `n_trials × n_time × O`, the readout of each state,
    /// - `states`: `n_trials × n_time × S`, the state after consuming each input (the reference's
    ///   `hiddens[t]`).
    ///
    /// Arguments are checked before anything is written; if a value overflows (weights too
    /// large), the result is [`ModelError::Diverged`] and the outputs hold what was computed.
    /// One cache buffer is allocated per call.
    pub fn run(
        &self,
        inputs: &[T],
        n_trials: usize,
        n_time: usize,
        outputs: &mut [T],
        states: &mut [T],
    ) -> Result<(), ModelError> {
        let (ni, no, sd) = (self.n_inputs(), self.n_outputs, self.state_dim());
        let steps = mul(n_trials, n_time, "n_trials × n_time")?;
        check_len("inputs", mul(steps, ni, "inputs")?, inputs.len())?;
        check_len("outputs", mul(steps, no, "outputs")?, outputs.len())?;
        check_len("states", mul(steps, sd, "states")?, states.len())?;
        check_finite("inputs", inputs)?;
        if steps == 0 {
            return Ok(());
        }
        let cell = self.cell();
        let mut cache = vec![T::ZERO; self.shape.cache_len()];
        for (tr, (y_tr, s_tr)) in outputs
            .chunks_exact_mut(n_time * no)
            .zip(states.chunks_exact_mut(n_time * sd))
            .enumerate()
        {
            let x_tr = &inputs[tr * n_time * ni..(tr + 1) * n_time * ni];
            for t in 0..n_time {
                let (prev, cur) = s_tr.split_at_mut(t * sd);
                let h = if t == 0 {
                    &self.h0[..]
                } else {
                    &prev[(t - 1) * sd..]
                };
                let next = &mut cur[..sd];
                cell.step_unchecked(&x_tr[t * ni..(t + 1) * ni], h, next, &mut cache);
                self.readout_unchecked(next, &mut y_tr[t * no..(t + 1) * no]);
            }
        }
        check_overflow("states", states)?;
        check_overflow("outputs", outputs)
    }

    /// One step for `n` rows: `h_next[k] = F(h[k], x[k])` with `x` `n × I`, `h` and `h_next`
    /// `n × S` (row-major). `x` and `h` must be finite; an overflow is [`ModelError::Diverged`].
    pub fn step_batch(
        &self,
        x: &[T],
        h: &[T],
        n: usize,
        h_next: &mut [T],
    ) -> Result<(), ModelError> {
        let (ni, sd) = (self.n_inputs(), self.state_dim());
        check_len("x", mul(n, ni, "x")?, x.len())?;
        check_len("h", mul(n, sd, "h")?, h.len())?;
        check_len("h_next", mul(n, sd, "h_next")?, h_next.len())?;
        check_finite("x", x)?;
        check_finite("h", h)?;
        let cell = self.cell();
        let mut cache = vec![T::ZERO; self.shape.cache_len()];
        for k in 0..n {
            cell.step_unchecked(
                &x[k * ni..(k + 1) * ni],
                &h[k * sd..(k + 1) * sd],
                &mut h_next[k * sd..(k + 1) * sd],
                &mut cache,
            );
        }
        check_overflow("h_next", h_next)
    }
}

impl Model<f64> {
    /// A single-precision copy (values rounded to nearest).
    pub fn to_f32(&self) -> Model<f32> {
        self.cast()
    }
}

impl Model<f32> {
    /// A double-precision copy (exact), e.g. for Newton refinement.
    pub fn to_f64(&self) -> Model<f64> {
        self.cast()
    }
}

/// A resolved parameter name.
enum Named {
    WOut,
    BOut,
    H0,
    /// Tanh cell, `torch.nn.RNN` bias 0 (`bias_ih_l0`) or 1 (`bias_hh_l0`).
    TanhBias(usize),
    Cell(ParamSpec),
}

impl Named {
    fn name(&self) -> &'static str {
        match self {
            Named::WOut => "w_out",
            Named::BOut => "b_out",
            Named::H0 => "h0",
            Named::TanhBias(k) => TANH_TORCH_BIAS_NAMES[*k],
            Named::Cell(spec) => spec.name,
        }
    }
}
