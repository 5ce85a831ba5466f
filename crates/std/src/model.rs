//! The model: a cell, a linear readout and a learned initial state.
//!
//! `h_t = F(h_{t−1}, x_t)` from `h_{−1} = h0`, and `y_t = h_t W_out + b_out` (row-vector
//! convention; `h_t` is the first `H` entries of the state, so the LSTM's `c` is not read out).
//! The cell parameters are one flat vector in the shared layout of [`crate::cell`]; named
//! access ([`Model::get_param`], [`Model::set_param`]) uses the names of
//! [`crate::cell::names`] plus `w_out` (`H × O`), `b_out` (`O`) and `h0` (state dimension `S`).
//!
//! A model may stack `L` layers of its cell (PyTorch's `num_layers`, [`Model::new_stacked`]):
//! layer 0 reads the input, each layer above the new hidden state of the one below; the
//! state is the layers' states back to back and the readout reads the top layer's `h`.
//! Layer `k ≥ 1`'s parameters are named with the suffix `_l<k>` (`weight_hh_l1` for a
//! PyTorch name ending in `_l0`, `w_hh_l1` otherwise).

use std::fmt;

use crate::memory::{OutOfMemory, filled};
use crate::random::Gaussian;

use crate::cell::names::{self, ParamSpec};
use crate::cell::{Cell, CellKind, CellShape, ShapeError, StackedCell};
use crate::linalg::dense::vec_mat;
use crate::scalar::Real;

pub use crate::model_shape::{MAX_LAYERS, MAX_OUTPUTS, MAX_TOTAL_PARAMS};
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

/// Checks a shape, layer count and output count; the arrays' lengths
/// ([`ModelShape::array_lens`]).
fn lens(shape: &CellShape, n_layers: usize, n_outputs: usize) -> Result<[usize; 6], ModelError> {
    ModelShape {
        cell: *shape,
        n_layers,
        n_outputs,
    }
    .array_lens()
    .map_err(|e| match e {
        SizeError::Shape(e) => ModelError::Shape(e),
        SizeError::Outputs(got) => ModelError::BadSize {
            what: "n_outputs",
            got,
            max: MAX_OUTPUTS,
        },
        SizeError::Layers(got) => ModelError::BadSize {
            what: "n_layers",
            got,
            max: MAX_LAYERS,
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
    /// Stacked layers `L` (1 for a single cell).
    n_layers: usize,
    n_outputs: usize,
    /// Cell parameters, flat `[w_x | w_h | b]`, each block every layer's back to back.
    params: Vec<T>,
    /// `H × O`, row-major.
    w_out: Vec<T>,
    /// `O`.
    b_out: Vec<T>,
    /// `S`.
    h0: Vec<T>,
    /// Tanh cell only: `[bias_ih_l<k> | bias_hh_l<k>]` of every layer `k` as last set by name
    /// (empty until then).
    rnn_bias: Vec<T>,
}

impl<T: Real> PartialEq for Model<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape
            && self.n_layers == other.n_layers
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
        Self::new_stacked(shape, 1, n_outputs)
    }

    /// A model of `n_layers` stacked layers of `shape`'s cell (PyTorch's `num_layers`: layer
    /// 0 takes `shape.n_inputs` inputs, the layers above `shape.n_hidden`), every parameter
    /// zero; `1 ≤ n_layers ≤ MAX_LAYERS`, the rest as [`Model::new`].
    pub fn new_stacked(
        shape: CellShape,
        n_layers: usize,
        n_outputs: usize,
    ) -> Result<Self, ModelError> {
        let lens = lens(&shape, n_layers, n_outputs)?;
        Ok(Model {
            shape,
            n_layers,
            n_outputs,
            params: filled(lens[0] + lens[1] + lens[2], T::ZERO, "cell parameters")?,
            w_out: filled(lens[3], T::ZERO, "w_out")?,
            b_out: filled(lens[4], T::ZERO, "b_out")?,
            h0: filled(lens[5], T::ZERO, "h0")?,
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
        Self::from_parts_stacked(shape, 1, n_outputs, params, w_out, b_out, h0)
    }

    /// [`Model::from_parts`] for `n_layers` stacked layers: `params` is `[w_x | w_h | b]`
    /// with each block every layer's back to back (layer 0 first), `h0` every layer's state.
    pub fn from_parts_stacked(
        shape: CellShape,
        n_layers: usize,
        n_outputs: usize,
        params: Vec<T>,
        w_out: Vec<T>,
        b_out: Vec<T>,
        h0: Vec<T>,
    ) -> Result<Self, ModelError> {
        let lens = lens(&shape, n_layers, n_outputs)?;
        check_len("params", lens[0] + lens[1] + lens[2], params.len())?;
        check_len("w_out", lens[3], w_out.len())?;
        check_len("b_out", lens[4], b_out.len())?;
        check_len("h0", lens[5], h0.len())?;
        check_finite("params", &params)?;
        check_finite("w_out", &w_out)?;
        check_finite("b_out", &b_out)?;
        check_finite("h0", &h0)?;
        Ok(Model {
            shape,
            n_layers,
            n_outputs,
            params,
            w_out,
            b_out,
            h0,
            rnn_bias: Vec::new(),
        })
    }

    /// Gaussian weights: layer 0's `w_x` of std `std_in`, the layers above `std_up`, every
    /// `w_h` `std_rec`, `w_out` `std_out`, drawn in flat order.
    #[allow(clippy::too_many_arguments)]
    fn init_gaussian(
        shape: CellShape,
        n_layers: usize,
        n_outputs: usize,
        seed: u64,
        std_in: f64,
        std_up: f64,
        std_rec: f64,
        std_out: f64,
    ) -> Result<Self, ModelError> {
        let mut m = Self::new_stacked(shape, n_layers, n_outputs)?;
        let mut g = Gaussian::new(seed);
        let wx_len = m.w_x_len();
        let (wx, rest) = m.params.split_at_mut(wx_len);
        let (wx0, wx_up) = wx.split_at_mut(shape.len_w_x());
        fill_normal(&mut g, wx0, std_in);
        fill_normal(&mut g, wx_up, std_up);
        fill_normal(&mut g, &mut rest[..n_layers * shape.len_w_h()], std_rec);
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
        Self::init_random_stacked(shape, 1, n_outputs, seed)
    }

    /// [`Model::init_random`] for `n_layers` stacked layers (the layers above the first get
    /// input weights `N(0, 0.1²)` too).
    pub fn init_random_stacked(
        shape: CellShape,
        n_layers: usize,
        n_outputs: usize,
        seed: u64,
    ) -> Result<Self, ModelError> {
        Self::init_gaussian(shape, n_layers, n_outputs, seed, 0.1, 0.1, 0.5, 0.1)
    }

    /// A better-conditioned initialization: recurrent weights `N(0, 1/H)` (spectral radius
    /// about 1), input weights `N(0, 1/I)`, `w_out` `N(0, 1/H)`, the rest zero.
    pub fn init_scaled(shape: CellShape, n_outputs: usize, seed: u64) -> Result<Self, ModelError> {
        Self::init_scaled_stacked(shape, 1, n_outputs, seed)
    }

    /// [`Model::init_scaled`] for `n_layers` stacked layers (the input weights of the layers
    /// above the first, which read `H` values, `N(0, 1/H)`).
    pub fn init_scaled_stacked(
        shape: CellShape,
        n_layers: usize,
        n_outputs: usize,
        seed: u64,
    ) -> Result<Self, ModelError> {
        let inv_sqrt = |n: usize| 1.0 / (n.max(1) as f64).sqrt();
        let (ni, nh) = (shape.n_inputs, shape.n_hidden);
        Self::init_gaussian(
            shape,
            n_layers,
            n_outputs,
            seed,
            inv_sqrt(ni),
            inv_sqrt(nh),
            inv_sqrt(nh),
            inv_sqrt(nh),
        )
    }

    /// The cell shape (layer 0's for a stacked model; the layers above take `n_hidden`
    /// inputs, [`Model::layer_shape`]).
    pub fn shape(&self) -> &CellShape {
        &self.shape
    }
    /// Number of stacked layers `L` (1 for a single cell).
    pub fn n_layers(&self) -> usize {
        self.n_layers
    }
    /// True for a model of more than one layer.
    pub fn is_stacked(&self) -> bool {
        self.n_layers > 1
    }
    /// Layer `l`'s cell shape: [`Model::shape`] for layer 0, with `n_inputs = n_hidden` above.
    pub fn layer_shape(&self, l: usize) -> CellShape {
        if l == 0 {
            self.shape
        } else {
            CellShape {
                n_inputs: self.shape.n_hidden,
                ..self.shape
            }
        }
    }
    /// Length of the `w_x` block (every layer's).
    fn w_x_len(&self) -> usize {
        self.shape.len_w_x() + (self.n_layers - 1) * self.layer_shape(1).len_w_x()
    }
    /// Layer `l`'s parameter ranges `(w_x, w_h, b)` in the flat vector.
    fn layer_ranges(&self, l: usize) -> [core::ops::Range<usize>; 3] {
        let s = &self.shape;
        let up = self.layer_shape(1).len_w_x();
        let wx0 = if l == 0 {
            0
        } else {
            s.len_w_x() + (l - 1) * up
        };
        let wx_len = if l == 0 { s.len_w_x() } else { up };
        let wh0 = self.w_x_len() + l * s.len_w_h();
        let b0 = self.w_x_len() + self.n_layers * s.len_w_h() + l * s.len_b();
        [
            wx0..wx0 + wx_len,
            wh0..wh0 + s.len_w_h(),
            b0..b0 + s.len_b(),
        ]
    }
    /// Layer `l`'s cell, bound to its parameters (`l < n_layers`).
    pub fn layer(&self, l: usize) -> Cell<'_, T> {
        let [wx, wh, b] = self.layer_ranges(l);
        let w = crate::cell::Weights {
            w_x: &self.params[wx],
            w_h: &self.params[wh],
            b: &self.params[b],
        };
        Cell::new(self.layer_shape(l), w)
            .expect("a Model keeps its parameters at the length of its validated shape")
    }
    /// Every layer's cell, layer 0 first (bind them with [`crate::cell::StackedCell::new`]).
    pub fn layers(&self) -> Vec<Cell<'_, T>> {
        (0..self.n_layers).map(|l| self.layer(l)).collect()
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
    /// State dimension `S` (`H`, or `2H` for the LSTM; times `L` for a stacked model).
    pub fn state_dim(&self) -> usize {
        self.n_layers * self.shape.state_dim()
    }
    /// Total number of values: cell parameters, `w_out`, `b_out` and `h0`.
    pub fn n_total_params(&self) -> usize {
        self.params.len() + self.w_out.len() + self.b_out.len() + self.h0.len()
    }

    /// The cell bound to this model's parameters; for a stacked model, layer 0's (the whole
    /// map is [`Model::layers`] through [`crate::cell::StackedCell`], and the finder's is
    /// [`crate::stacked::StackedMap`]).
    pub fn cell(&self) -> Cell<'_, T> {
        self.layer(0)
    }

    /// The model's arrays, borrowed, as the checkpoint codec reads them.
    pub fn view(&self) -> crate::checkpoint::ModelView<'_, T> {
        crate::checkpoint::ModelView {
            shape: self.shape,
            n_layers: self.n_layers,
            n_outputs: self.n_outputs,
            params: &self.params,
            w_out: &self.w_out,
            b_out: &self.b_out,
            h0: &self.h0,
        }
    }

    /// Cell parameters, flat `[w_x | w_h | b]` (see [`crate::cell`]; for a stacked model
    /// each block holds every layer's, layer 0 first).
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
            n_layers: self.n_layers,
            n_outputs: self.n_outputs,
            params: c(&self.params),
            w_out: c(&self.w_out),
            b_out: c(&self.b_out),
            h0: c(&self.h0),
            rnn_bias: c(&self.rnn_bias),
        }
    }

    /// Splits a layer suffix off `name`: `(k, base)` for `<stem>_l<k>` with `1 ≤ k < L`,
    /// the base being `<stem>_l0` where that is a layer-0 name (PyTorch's) and `<stem>`
    /// otherwise; `(0, name)` for every other name.
    fn split_layer<'n>(&self, name: &'n str) -> (usize, std::borrow::Cow<'n, str>) {
        use std::borrow::Cow;
        if self.n_layers > 1
            && let Some(pos) = name.rfind("_l")
            && let digits = &name[pos + 2..]
            && !digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(k) = digits.parse::<usize>()
            && k < self.n_layers
        {
            let stem = &name[..pos];
            let torch = format!("{stem}_l0");
            let s = self.layer_shape(k);
            let is_torch = names::lookup(&s, &torch).is_some()
                || (s.kind == CellKind::Tanh && TANH_TORCH_BIAS_NAMES.contains(&torch.as_str()));
            return (
                k,
                if is_torch {
                    Cow::Owned(torch)
                } else {
                    Cow::Borrowed(stem)
                },
            );
        }
        (0, Cow::Borrowed(name))
    }

    /// Where a named parameter lives and how long it is.
    fn resolve(&self, name: &str) -> Result<Named, ModelError> {
        let (layer, base) = self.split_layer(name);
        let s = self.layer_shape(layer);
        let unknown = || ModelError::UnknownName {
            name: name.into(),
            kind: s.kind,
        };
        Ok(match (layer, base.as_ref()) {
            (0, "w_out") => Named::WOut,
            (0, "b_out") => Named::BOut,
            (0, "h0") => Named::H0,
            (_, "bias_ih_l0") if s.kind == CellKind::Tanh => Named::TanhBias(layer, 0),
            (_, "bias_hh_l0") if s.kind == CellKind::Tanh => Named::TanhBias(layer, 1),
            (_, "w_out" | "b_out" | "h0") => return Err(unknown()),
            (_, b) => match names::lookup(&s, b) {
                Some(spec) => Named::Cell(layer, spec),
                None => return Err(unknown()),
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
            Named::TanhBias(..) => self.shape.n_hidden,
            Named::Cell(_, spec) => spec.len(),
        }
    }

    /// Layer `l`'s parameters as one flat `[w_x | w_h | b]` vector (a copy).
    fn layer_flat(&self, l: usize) -> Vec<T> {
        let mut v = Vec::with_capacity(self.layer_shape(l).n_params());
        for r in self.layer_ranges(l) {
            v.extend_from_slice(&self.params[r]);
        }
        v
    }

    /// The `(bias_ih_l<k>, bias_hh_l<k>)` view of layer `k`'s tanh bias: the split last set
    /// by name while it still sums to `b_h` exactly, else `(b_h, 0)`.
    fn tanh_bias_split(&self, layer: usize) -> (Vec<T>, Vec<T>) {
        let b = &self.params[self.layer_ranges(layer)[2].clone()];
        let h = b.len();
        if self.rnn_bias.len() == 2 * h * self.n_layers {
            let (ih, hh) = self.rnn_bias[2 * h * layer..2 * h * (layer + 1)].split_at(h);
            if (0..h).all(|i| ih[i] + hh[i] == b[i]) {
                return (ih.to_vec(), hh.to_vec());
            }
        }
        (b.to_vec(), vec![T::ZERO; h])
    }

    /// Copies parameter `name` into `out` (row-major, length [`Model::param_len`]).
    ///
    /// Names: every [`param_names`] entry for the cell kind (and, for a stacked model, the
    /// cell names of layer `k ≥ 1` with the suffix `_l<k>`, see the module docs). PyTorch
    /// names come out in PyTorch's layout (`weight_ih_l0` is `G·H × I`). `out` is written
    /// only on success.
    pub fn get_param(&self, name: &str, out: &mut [T]) -> Result<(), ModelError> {
        let n = self.resolve(name)?;
        check_len(n.name(), self.named_len(&n), out.len())?;
        match n {
            Named::WOut => out.copy_from_slice(&self.w_out),
            Named::BOut => out.copy_from_slice(&self.b_out),
            Named::H0 => out.copy_from_slice(&self.h0),
            Named::TanhBias(layer, k) => {
                let (ih, hh) = self.tanh_bias_split(layer);
                out.copy_from_slice(if k == 0 { &ih } else { &hh });
            }
            Named::Cell(0, spec) if self.n_layers == 1 => {
                spec.read(&self.shape, &self.params, out)?
            }
            Named::Cell(layer, spec) => {
                spec.read(&self.layer_shape(layer), &self.layer_flat(layer), out)?
            }
        }
        Ok(())
    }

    /// Sets parameter `name` from `v` (row-major, length [`Model::param_len`], all finite);
    /// nothing changes on error.
    ///
    /// The tanh cell also takes `torch.nn.RNN`'s `bias_ih_l0` and `bias_hh_l0` (and
    /// `bias_ih_l<k>`, `bias_hh_l<k>` for a stacked model's layer `k`), whose sum is its one
    /// bias row `b_h`: the model remembers the split, so setting both (in either order)
    /// gives `b_h = bias_ih_l0 + bias_hh_l0` and each reads back exactly as set. Setting
    /// `b_h` (or changing it through [`Model::params_mut`]) forgets the split: then
    /// `bias_ih_l0` reads as `b_h` and `bias_hh_l0` as zeros.
    pub fn set_param(&mut self, name: &str, v: &[T]) -> Result<(), ModelError> {
        let n = self.resolve(name)?;
        check_len(n.name(), self.named_len(&n), v.len())?;
        check_finite(n.name(), v)?;
        match n {
            Named::WOut => self.w_out.copy_from_slice(v),
            Named::BOut => self.b_out.copy_from_slice(v),
            Named::H0 => self.h0.copy_from_slice(v),
            Named::TanhBias(layer, k) => {
                let (mut ih, mut hh) = self.tanh_bias_split(layer);
                if k == 0 { &mut ih } else { &mut hh }.copy_from_slice(v);
                let sum: Vec<T> = ih.iter().zip(&hh).map(|(&a, &b)| a + b).collect();
                check_finite("bias_ih_l0 + bias_hh_l0", &sum)?;
                let h = sum.len();
                if self.rnn_bias.len() != 2 * h * self.n_layers {
                    // Every layer's current split, so the others read back as they did.
                    let mut all = Vec::with_capacity(2 * h * self.n_layers);
                    for l in 0..self.n_layers {
                        let (a, b) = self.tanh_bias_split(l);
                        all.extend_from_slice(&a);
                        all.extend_from_slice(&b);
                    }
                    self.rnn_bias = all;
                }
                let r = self.layer_ranges(layer)[2].clone();
                self.params[r].copy_from_slice(&sum);
                let split = &mut self.rnn_bias[2 * h * layer..2 * h * (layer + 1)];
                split[..h].copy_from_slice(&ih);
                split[h..].copy_from_slice(&hh);
            }
            Named::Cell(0, spec) if self.n_layers == 1 => {
                spec.write(&self.shape, &mut self.params, v)?
            }
            Named::Cell(layer, spec) => {
                let mut flat = self.layer_flat(layer);
                spec.write(&self.layer_shape(layer), &mut flat, v)?;
                let mut at = 0;
                for r in self.layer_ranges(layer) {
                    let len = r.len();
                    self.params[r].copy_from_slice(&flat[at..at + len]);
                    at += len;
                }
            }
        }
        Ok(())
    }

    /// `y = h W_out + b_out` for one state. `h` is the (top layer's) hidden state (length
    /// `H`) or the whole state (length `S`, of which the top layer's `h` is read: the first
    /// `H` entries for a single cell); `y` has length `O`.
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
        let top = if h.len() == self.state_dim() {
            (self.n_layers - 1) * self.shape.state_dim()
        } else {
            0
        };
        y.copy_from_slice(&self.b_out);
        vec_mat(
            &h[top..top + self.shape.n_hidden],
            &self.w_out,
            o,
            o,
            y,
            true,
        );
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
        let layers = self.layers();
        let cell = StackedCell::new(&layers)
            .expect("a Model's layers have the sizes of its validated shape");
        let mut cache = vec![T::ZERO; cell.cache_len()];
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
        let layers = self.layers();
        let cell = StackedCell::new(&layers)
            .expect("a Model's layers have the sizes of its validated shape");
        let mut cache = vec![T::ZERO; cell.cache_len()];
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
    /// Tanh cell of layer `.0`, `torch.nn.RNN` bias 0 (`bias_ih_l0`) or 1 (`bias_hh_l0`).
    TanhBias(usize, usize),
    /// A cell parameter of layer `.0`.
    Cell(usize, ParamSpec),
}

impl Named {
    fn name(&self) -> &'static str {
        match self {
            Named::WOut => "w_out",
            Named::BOut => "b_out",
            Named::H0 => "h0",
            Named::TanhBias(_, k) => TANH_TORCH_BIAS_NAMES[*k],
            Named::Cell(_, spec) => spec.name,
        }
    }
}
