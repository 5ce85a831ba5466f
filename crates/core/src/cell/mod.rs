//! Recurrent cells: the step `F(h, x)`, its analytic Jacobians and vector-Jacobian products.
//!
//! All four cells share one parameter layout, in row-vector convention (`a = x W_x + h W_h + b`):
//! - `w_x`: `n_inputs × (G·H)`, row-major,
//! - `w_h`: `H × (G·H)`, row-major,
//! - `b`: `B × (G·H)` (`B` bias rows, summed, except where a cell needs them apart),
//!
//! where `H` is the hidden size and the `G` gate blocks of `H` columns each sit side by side
//! (tanh and the leaky cells: 1 block; GRU: r, z, n; LSTM: i, f, g, o). One fused `vec_mat` then computes every
//! gate's pre-activation in a single pass over the weights.
//!
//! The kernels take run-time sizes and borrowed slices ([`Cell`]), so one compiled copy serves
//! every hidden size; the const-generic types in [`fixed`] own arrays of the same layout and
//! borrow them as a [`Cell`].
//!
//! Per sample, [`Cell::step`] fills a small *cache* of gate activations (length
//! [`CellShape::cache_len`]) that [`Cell::jacobian`], [`Cell::input_jacobian`] and [`Cell::vjp`]
//! reuse, so nothing is recomputed.

pub mod fixed;
mod gru;
mod gru_torch;
mod leaky;
mod lstm;
pub mod names;
mod stacked;
#[cfg(test)]
mod stacked_tests;
mod tanh;

pub use leaky::{Activation, KINK_TOL};
pub use stacked::StackedCell;

use crate::scalar::Real;

/// The kind of recurrent cell. The discriminant is the kind's code, the same in checkpoints
/// and in the C ABI's `FPF_CELL_*` constants.
///
/// The leaky rate cell has one kind per activation `φ` (so a kind stays one code, usable as
/// a C constant and a checkpoint field), and its `α` is a hyper-parameter of the
/// [`CellShape`] ([`CellShape::alpha`]): it is not trained, it changes the map and every
/// derivative, and the shape is what travels with a cell everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CellKind {
    /// Elman cell `F = tanh(x W_ih + h W_hh + b_h)`.
    Tanh = 0,
    /// GRU, "reset before" (the reference's convention): `n = tanh(x W_in + (r∘h) W_hn + b_n)`.
    Gru = 1,
    /// GRU, PyTorch's "reset after" convention: `n = tanh(x W_in + b_in + r∘(h W_hn + b_hn))`.
    GruTorch = 2,
    /// LSTM (PyTorch gate order i, f, g, o); the state is `[h, c]` of length `2H`.
    Lstm = 3,
    /// Leaky rate cell `F = (1 − α) h + α tanh(x W_ih + h W_hh + b_h)`.
    LeakyTanh = 4,
    /// Leaky rate cell with `φ = ReLU` (`φ'(0) = 0`; see [`Activation::Relu`]).
    LeakyRelu = 5,
    /// Leaky rate cell with `φ = softplus`.
    LeakySoftplus = 6,
    /// Leaky rate cell with `φ = sigmoid`.
    LeakySigmoid = 7,
}

impl CellKind {
    /// The kind's code.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The kind with this code, if any.
    pub const fn from_code(code: u32) -> Option<CellKind> {
        let mut k = 0;
        while k < Self::ALL.len() {
            if Self::ALL[k] as u32 == code {
                return Some(Self::ALL[k]);
            }
            k += 1;
        }
        None
    }

    /// Every kind, in the order of the C enum.
    pub const ALL: [CellKind; 8] = [
        CellKind::Tanh,
        CellKind::Gru,
        CellKind::GruTorch,
        CellKind::Lstm,
        CellKind::LeakyTanh,
        CellKind::LeakyRelu,
        CellKind::LeakySoftplus,
        CellKind::LeakySigmoid,
    ];

    /// The leaky cell kind with activation `act`.
    pub const fn leaky(act: Activation) -> CellKind {
        match act {
            Activation::Tanh => CellKind::LeakyTanh,
            Activation::Relu => CellKind::LeakyRelu,
            Activation::Softplus => CellKind::LeakySoftplus,
            Activation::Sigmoid => CellKind::LeakySigmoid,
        }
    }

    /// The activation of a leaky kind; `None` for the others.
    pub const fn activation(self) -> Option<Activation> {
        match self {
            CellKind::LeakyTanh => Some(Activation::Tanh),
            CellKind::LeakyRelu => Some(Activation::Relu),
            CellKind::LeakySoftplus => Some(Activation::Softplus),
            CellKind::LeakySigmoid => Some(Activation::Sigmoid),
            _ => None,
        }
    }

    /// True for the leaky rate cells (which have an `α`).
    pub const fn is_leaky(self) -> bool {
        self.activation().is_some()
    }

    /// Number of gate blocks `G`.
    pub const fn n_gates(self) -> usize {
        match self {
            CellKind::Gru | CellKind::GruTorch => 3,
            CellKind::Lstm => 4,
            _ => 1,
        }
    }

    /// Number of bias rows `B` (2 for the PyTorch cells, which keep `b_ih` and `b_hh`).
    pub const fn n_bias_rows(self) -> usize {
        match self {
            CellKind::GruTorch | CellKind::Lstm => 2,
            _ => 1,
        }
    }

    /// Lower-case name (`tanh`, `gru`, `gru_torch`, `lstm`, `leaky_tanh`, `leaky_relu`,
    /// `leaky_softplus`, `leaky_sigmoid`).
    pub const fn name(self) -> &'static str {
        match self {
            CellKind::Tanh => "tanh",
            CellKind::Gru => "gru",
            CellKind::GruTorch => "gru_torch",
            CellKind::Lstm => "lstm",
            CellKind::LeakyTanh => "leaky_tanh",
            CellKind::LeakyRelu => "leaky_relu",
            CellKind::LeakySoftplus => "leaky_softplus",
            CellKind::LeakySigmoid => "leaky_sigmoid",
        }
    }

    /// Parses a name produced by [`CellKind::name`].
    pub fn from_name(s: &str) -> Option<CellKind> {
        CellKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Why a cell could not be built or called: a size that does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeError {
    /// The argument whose length is wrong.
    pub what: &'static str,
    /// The length it must have.
    pub expected: usize,
    /// The length it has.
    pub got: usize,
}

impl ShapeError {
    /// The error of a shape whose `α` is out of range ([`CellShape::validate`]).
    pub const ALPHA: ShapeError = ShapeError {
        what: "alpha",
        expected: 1,
        got: 0,
    };
}

impl core::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.what == "alpha" {
            return f.write_str(
                "`alpha` is out of range: a leaky cell's must be in (0, 1], every other \
                 cell's is 1",
            );
        }
        write!(
            f,
            "`{}` has length {}, expected {}",
            self.what, self.got, self.expected
        )
    }
}

#[inline]
fn check(what: &'static str, expected: usize, got: usize) -> Result<(), ShapeError> {
    if expected == got {
        Ok(())
    } else {
        Err(ShapeError {
            what,
            expected,
            got,
        })
    }
}

/// Kind, sizes and hyper-parameters of a cell; every length follows from it.
#[derive(Clone, Copy, Debug)]
pub struct CellShape {
    /// The cell kind.
    pub kind: CellKind,
    /// Input size `I`.
    pub n_inputs: usize,
    /// Hidden size `H`.
    pub n_hidden: usize,
    /// The leaky cells' `α ∈ (0, 1]` (`dt/τ`); 1 for every other kind.
    pub alpha: f64,
}

/// Equality compares `α` by its bits (a valid `α` is never NaN), so it is an equivalence.
impl PartialEq for CellShape {
    fn eq(&self, o: &Self) -> bool {
        self.kind == o.kind
            && self.n_inputs == o.n_inputs
            && self.n_hidden == o.n_hidden
            && self.alpha.to_bits() == o.alpha.to_bits()
    }
}

impl Eq for CellShape {}

impl core::hash::Hash for CellShape {
    fn hash<Hs: core::hash::Hasher>(&self, state: &mut Hs) {
        self.kind.hash(state);
        self.n_inputs.hash(state);
        self.n_hidden.hash(state);
        self.alpha.to_bits().hash(state);
    }
}

impl CellShape {
    /// A shape with `α = 1`; sizes are checked where they are used ([`CellShape::validate`]).
    pub const fn new(kind: CellKind, n_inputs: usize, n_hidden: usize) -> Self {
        CellShape {
            kind,
            n_inputs,
            n_hidden,
            alpha: 1.0,
        }
    }

    /// A leaky rate cell's shape, `F = (1 − α) h + α φ(x W_x + h W_h + b)`; `α` is checked
    /// by [`CellShape::validate`] (it must be in `(0, 1]`).
    pub const fn leaky(act: Activation, n_inputs: usize, n_hidden: usize, alpha: f64) -> Self {
        CellShape {
            kind: CellKind::leaky(act),
            n_inputs,
            n_hidden,
            alpha,
        }
    }

    /// The same shape with `α` set (for a leaky kind; any other needs `α = 1`).
    pub const fn with_alpha(self, alpha: f64) -> Self {
        CellShape { alpha, ..self }
    }

    /// True if `α` is valid for the kind: in `(0, 1]` for a leaky cell (NaN is not), exactly 1
    /// for the others.
    pub const fn alpha_ok(&self) -> bool {
        if self.kind.is_leaky() {
            self.alpha > 0.0 && self.alpha <= 1.0
        } else {
            self.alpha == 1.0
        }
    }
    /// Largest hidden size accepted at run time.
    pub const MAX_HIDDEN: usize = 1 << 14;
    /// Largest input size accepted at run time.
    pub const MAX_INPUTS: usize = 1 << 16;

    /// Checks `1 ≤ H ≤ MAX_HIDDEN` and `I ≤ MAX_INPUTS` (an input size of 0 is allowed:
    /// an autonomous network), and `α` ([`CellShape::alpha_ok`]; [`ShapeError::ALPHA`]).
    pub const fn validate(&self) -> Result<(), ShapeError> {
        if !self.alpha_ok() {
            return Err(ShapeError::ALPHA);
        }
        if self.n_hidden == 0 || self.n_hidden > Self::MAX_HIDDEN {
            return Err(ShapeError {
                what: "n_hidden",
                expected: Self::MAX_HIDDEN,
                got: self.n_hidden,
            });
        }
        if self.n_inputs > Self::MAX_INPUTS {
            return Err(ShapeError {
                what: "n_inputs",
                expected: Self::MAX_INPUTS,
                got: self.n_inputs,
            });
        }
        Ok(())
    }
    /// State dimension `S`: `H`, or `2H` for the LSTM (`[h, c]`).
    pub const fn state_dim(&self) -> usize {
        match self.kind {
            CellKind::Lstm => 2 * self.n_hidden,
            _ => self.n_hidden,
        }
    }
    /// Width `G·H` of the fused gate blocks.
    pub const fn gate_width(&self) -> usize {
        self.kind.n_gates() * self.n_hidden
    }
    /// Length of `w_x`.
    pub const fn len_w_x(&self) -> usize {
        self.n_inputs * self.gate_width()
    }
    /// Length of `w_h`.
    pub const fn len_w_h(&self) -> usize {
        self.n_hidden * self.gate_width()
    }
    /// Length of `b`.
    pub const fn len_b(&self) -> usize {
        self.kind.n_bias_rows() * self.gate_width()
    }
    /// Total number of cell parameters (`w_x`, `w_h`, `b` back to back in a flat vector).
    pub const fn n_params(&self) -> usize {
        self.len_w_x() + self.len_w_h() + self.len_b()
    }
    /// Per-sample cache that [`Cell::step`] fills and the derivatives read.
    pub const fn cache_len(&self) -> usize {
        let h = self.n_hidden;
        match self.kind {
            CellKind::Gru => 3 * h,
            CellKind::GruTorch => 4 * h,
            CellKind::Lstm => 6 * h,
            // tanh: F; leaky: φ'(a).
            _ => h,
        }
    }
    /// Scratch that [`Cell::vjp`], [`Cell::jacobian`] and [`Cell::input_jacobian`] need.
    pub const fn scratch_len(&self) -> usize {
        let h = self.n_hidden;
        match self.kind {
            CellKind::Gru => 5 * h,
            CellKind::GruTorch => 7 * h,
            CellKind::Lstm => 6 * h,
            _ => 2 * h,
        }
    }
}

/// Borrowed cell parameters in the shared layout (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a, T> {
    /// `n_inputs × G·H`.
    pub w_x: &'a [T],
    /// `H × G·H`.
    pub w_h: &'a [T],
    /// `B × G·H`.
    pub b: &'a [T],
}

/// Mutable cell parameters (or their gradients) in the shared layout.
#[derive(Debug)]
pub struct WeightsMut<'a, T> {
    /// `n_inputs × G·H`.
    pub w_x: &'a mut [T],
    /// `H × G·H`.
    pub w_h: &'a mut [T],
    /// `B × G·H`.
    pub b: &'a mut [T],
}

impl<'a, T> Weights<'a, T> {
    /// Splits a flat parameter vector `[w_x | w_h | b]` of length `shape.n_params()`.
    pub fn from_flat(shape: &CellShape, p: &'a [T]) -> Result<Self, ShapeError> {
        check("params", shape.n_params(), p.len())?;
        // Cannot fail after the check unless the lengths overflowed (an absurd shape).
        let bad = ShapeError {
            what: "params",
            expected: shape.n_params(),
            got: p.len(),
        };
        let (w_x, rest) = p.split_at_checked(shape.len_w_x()).ok_or(bad)?;
        let (w_h, b) = rest.split_at_checked(shape.len_w_h()).ok_or(bad)?;
        Ok(Weights { w_x, w_h, b })
    }
}

impl<'a, T> WeightsMut<'a, T> {
    /// Splits a flat mutable parameter vector `[w_x | w_h | b]`.
    pub fn from_flat(shape: &CellShape, p: &'a mut [T]) -> Result<Self, ShapeError> {
        check("params", shape.n_params(), p.len())?;
        let bad = ShapeError {
            what: "params",
            expected: shape.n_params(),
            got: p.len(),
        };
        let (w_x, rest) = p.split_at_mut_checked(shape.len_w_x()).ok_or(bad)?;
        let (w_h, b) = rest.split_at_mut_checked(shape.len_w_h()).ok_or(bad)?;
        Ok(WeightsMut { w_x, w_h, b })
    }
}

/// A cell bound to its parameters: the object every algorithm calls.
///
/// Built by [`Cell::new`], which checks every parameter length once; the methods then check
/// only the per-call slices.
#[derive(Clone, Copy, Debug)]
pub struct Cell<'a, T> {
    shape: CellShape,
    w: Weights<'a, T>,
}

impl<'a, T: Real> Cell<'a, T> {
    /// Binds `shape` to `w`, checking every length.
    pub fn new(shape: CellShape, w: Weights<'a, T>) -> Result<Self, ShapeError> {
        shape.validate()?;
        check("w_x", shape.len_w_x(), w.w_x.len())?;
        check("w_h", shape.len_w_h(), w.w_h.len())?;
        check("b", shape.len_b(), w.b.len())?;
        Ok(Cell { shape, w })
    }

    /// Binds `shape` to a flat parameter vector `[w_x | w_h | b]`.
    pub fn from_flat(shape: CellShape, p: &'a [T]) -> Result<Self, ShapeError> {
        Cell::new(shape, Weights::from_flat(&shape, p)?)
    }

    /// The shape.
    #[inline]
    pub fn shape(&self) -> &CellShape {
        &self.shape
    }

    /// The parameters.
    #[inline]
    pub fn weights(&self) -> &Weights<'a, T> {
        &self.w
    }

    /// `h_next = F(h, x)`; fills `cache` (length [`CellShape::cache_len`]) for the derivatives.
    pub fn step(
        &self,
        x: &[T],
        h: &[T],
        h_next: &mut [T],
        cache: &mut [T],
    ) -> Result<(), ShapeError> {
        let s = &self.shape;
        check("x", s.n_inputs, x.len())?;
        check("h", s.state_dim(), h.len())?;
        check("h_next", s.state_dim(), h_next.len())?;
        check("cache", s.cache_len(), cache.len())?;
        self.step_unchecked(x, h, h_next, cache);
        Ok(())
    }

    /// [`Cell::step`] for callers that validated the lengths once for a whole batch (with
    /// [`Cell::step`]'s checks). Never panics in release builds: a slice shorter than
    /// [`Cell::step`] requires stops the step early and leaves `h_next` and `cache`
    /// unspecified (debug builds panic), never anything worse.
    #[inline]
    pub fn step_unchecked(&self, x: &[T], h: &[T], h_next: &mut [T], cache: &mut [T]) {
        let (i, n) = (self.shape.n_inputs, self.shape.n_hidden);
        let alpha = T::from_f64(self.shape.alpha);
        let done = match self.shape.kind {
            CellKind::LeakyTanh => {
                leaky::step((Activation::Tanh, alpha), n, &self.w, x, h, h_next, cache)
            }
            CellKind::LeakyRelu => {
                leaky::step((Activation::Relu, alpha), n, &self.w, x, h, h_next, cache)
            }
            CellKind::LeakySoftplus => leaky::step(
                (Activation::Softplus, alpha),
                n,
                &self.w,
                x,
                h,
                h_next,
                cache,
            ),
            CellKind::LeakySigmoid => leaky::step(
                (Activation::Sigmoid, alpha),
                n,
                &self.w,
                x,
                h,
                h_next,
                cache,
            ),
            CellKind::Tanh => tanh::step(i, n, &self.w, x, h, h_next, cache),
            CellKind::Gru => gru::step(i, n, &self.w, x, h, h_next, cache),
            CellKind::GruTorch => gru_torch::step(i, n, &self.w, x, h, h_next, cache),
            CellKind::Lstm => lstm::step(i, n, &self.w, x, h, h_next, cache),
        };
        debug_assert!(done.is_some(), "Cell::step_unchecked: a slice is too short");
    }

    /// Column of a Jacobian: `out = ∂F/∂h_j` (`Direction::State(j)`) or `∂F/∂x_k`
    /// (`Direction::Input(k)`), given `step`'s cache. Callers check the lengths first; a slice
    /// that is still too short, or an index out of range, stops it early (debug builds panic).
    #[inline]
    fn column(&self, dir: Direction, x: &[T], h: &[T], cache: &[T], out: &mut [T], s: &mut [T]) {
        let (i, n) = (self.shape.n_inputs, self.shape.n_hidden);
        let done = match self.shape.kind {
            CellKind::LeakyTanh
            | CellKind::LeakyRelu
            | CellKind::LeakySoftplus
            | CellKind::LeakySigmoid => {
                leaky::column(T::from_f64(self.shape.alpha), n, &self.w, dir, cache, out)
            }
            CellKind::Tanh => tanh::column(i, n, &self.w, dir, cache, out, s),
            CellKind::Gru => gru::column(i, n, &self.w, dir, x, h, cache, out, s),
            CellKind::GruTorch => gru_torch::column(i, n, &self.w, dir, h, cache, out, s),
            CellKind::Lstm => lstm::column(i, n, &self.w, dir, h, cache, out, s),
        };
        debug_assert!(done.is_some(), "Cell::column: a slice is too short");
    }

    /// State Jacobian `J[i][j] = ∂F_i/∂h_j` (`S × S`, row-major) at the point of the `step`
    /// that filled `cache`. `scratch` has length [`CellShape::scratch_len`] plus `S`.
    /// Cost: `O(S²)` for tanh, GRU-torch and LSTM; `O(H³)` for the reference's GRU (its `W_hn`
    /// acts on `r∘h`).
    pub fn jacobian(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        jac: &mut [T],
        scratch: &mut [T],
    ) -> Result<(), ShapeError> {
        let s = &self.shape;
        let sd = s.state_dim();
        self.check_derivative_args(x, h, cache, scratch)?;
        check("jacobian", sd * sd, jac.len())?;
        let (_, rest) = self.split_scratch(scratch)?;
        if sd == 0 {
            return Ok(());
        }
        // Column j goes to row j (contiguous stores), then one transposition: cheaper than
        // scattering each column with stride `sd`.
        for (j, row) in (0..sd).zip(jac.chunks_exact_mut(sd)) {
            self.column(Direction::State(j), x, h, cache, row, rest);
        }
        transpose_square(sd, jac);
        Ok(())
    }

    /// Input Jacobian `dFdu[i][k] = ∂F_i/∂x_k` (`S × I`, row-major). Scratch as for
    /// [`Cell::jacobian`].
    pub fn input_jacobian(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        jac: &mut [T],
        scratch: &mut [T],
    ) -> Result<(), ShapeError> {
        let s = &self.shape;
        let (sd, ni) = (s.state_dim(), s.n_inputs);
        self.check_derivative_args(x, h, cache, scratch)?;
        check("input_jacobian", sd * ni, jac.len())?;
        let (col, rest) = self.split_scratch(scratch)?;
        for k in 0..ni {
            self.column(Direction::Input(k), x, h, cache, col, rest);
            set_column(jac, ni, k, col);
        }
        Ok(())
    }

    /// The Jacobians' scratch as `(column, the rest)`; `check_derivative_args` made it long
    /// enough.
    fn split_scratch<'s>(
        &self,
        scratch: &'s mut [T],
    ) -> Result<(&'s mut [T], &'s mut [T]), ShapeError> {
        let len = scratch.len();
        scratch
            .split_at_mut_checked(self.shape.state_dim())
            .ok_or(ShapeError {
                what: "scratch",
                expected: self.jacobian_scratch_len(),
                got: len,
            })
    }

    /// Length of the scratch that [`Cell::jacobian`] and [`Cell::input_jacobian`] take.
    pub fn jacobian_scratch_len(&self) -> usize {
        self.shape.scratch_len() + self.shape.state_dim()
    }

    fn check_derivative_args(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        scratch: &[T],
    ) -> Result<(), ShapeError> {
        let s = &self.shape;
        check("x", s.n_inputs, x.len())?;
        check("h", s.state_dim(), h.len())?;
        check("cache", s.cache_len(), cache.len())?;
        if scratch.len() < self.jacobian_scratch_len() {
            return Err(ShapeError {
                what: "scratch",
                expected: self.jacobian_scratch_len(),
                got: scratch.len(),
            });
        }
        Ok(())
    }

    /// Vector-Jacobian products at the point of the `step` that filled `cache`, for an upstream
    /// gradient `g = ∂L/∂F` (length `S`):
    /// - `g_h = gᵀ ∂F/∂h` (overwritten, length `S`),
    /// - `g_x = gᵀ ∂F/∂x` (overwritten, if given),
    /// - `g_w += gᵀ ∂F/∂w` for every parameter (accumulated, if given).
    ///
    /// `scratch` has length [`CellShape::scratch_len`]. Cost: about `2·(I + H)·G·H` flops per
    /// product asked for, the same as the step.
    #[allow(clippy::too_many_arguments)]
    pub fn vjp(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        g: &[T],
        g_h: &mut [T],
        g_x: Option<&mut [T]>,
        g_w: Option<&mut WeightsMut<'_, T>>,
        scratch: &mut [T],
    ) -> Result<(), ShapeError> {
        let s = &self.shape;
        check("x", s.n_inputs, x.len())?;
        check("h", s.state_dim(), h.len())?;
        check("cache", s.cache_len(), cache.len())?;
        check("g", s.state_dim(), g.len())?;
        check("g_h", s.state_dim(), g_h.len())?;
        if let Some(gx) = &g_x {
            check("g_x", s.n_inputs, gx.len())?;
        }
        if let Some(gw) = &g_w {
            check("g_w.w_x", s.len_w_x(), gw.w_x.len())?;
            check("g_w.w_h", s.len_w_h(), gw.w_h.len())?;
            check("g_w.b", s.len_b(), gw.b.len())?;
        }
        if scratch.len() < s.scratch_len() {
            return Err(ShapeError {
                what: "scratch",
                expected: s.scratch_len(),
                got: scratch.len(),
            });
        }
        self.vjp_unchecked(x, h, cache, g, g_h, g_x, g_w, scratch);
        Ok(())
    }

    /// [`Cell::vjp`] for callers that validated the lengths once for a whole batch (with
    /// [`Cell::vjp`]'s checks). Never panics in release builds: a slice shorter than
    /// [`Cell::vjp`] requires stops it early and leaves the outputs unspecified (debug builds
    /// panic), never anything worse.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn vjp_unchecked(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        g: &[T],
        g_h: &mut [T],
        g_x: Option<&mut [T]>,
        g_w: Option<&mut WeightsMut<'_, T>>,
        scratch: &mut [T],
    ) {
        let (i, n) = (self.shape.n_inputs, self.shape.n_hidden);
        let args = VjpArgs {
            x,
            h,
            cache,
            g,
            g_h,
            g_x,
            g_w,
        };
        let done = match self.shape.kind {
            CellKind::LeakyTanh
            | CellKind::LeakyRelu
            | CellKind::LeakySoftplus
            | CellKind::LeakySigmoid => {
                leaky::vjp(T::from_f64(self.shape.alpha), n, &self.w, args, scratch)
            }
            CellKind::Tanh => tanh::vjp(i, n, &self.w, args, scratch),
            CellKind::Gru => gru::vjp(i, n, &self.w, args, scratch),
            CellKind::GruTorch => gru_torch::vjp(i, n, &self.w, args, scratch),
            CellKind::Lstm => lstm::vjp(i, n, &self.w, args, scratch),
        };
        debug_assert!(done.is_some(), "Cell::vjp_unchecked: a slice is too short");
    }
}

impl<T: Real> Cell<'_, T> {
    /// Units whose pre-activation at `(h, x)` lies on a kink of `φ`: for the leaky ReLU
    /// cell, those with `|a_i| ≤` [`KINK_TOL`], where `φ'` jumps from 0 to 1 and the
    /// Jacobian used (`φ'(0) = 0`) is one of two; 0 for every smooth cell. `scratch` has
    /// length `H` or more.
    pub fn kink_units(&self, x: &[T], h: &[T], scratch: &mut [T]) -> Result<usize, ShapeError> {
        let s = &self.shape;
        check("x", s.n_inputs, x.len())?;
        check("h", s.state_dim(), h.len())?;
        if s.kind != CellKind::LeakyRelu {
            return Ok(0);
        }
        if scratch.len() < s.n_hidden {
            return Err(ShapeError {
                what: "scratch",
                expected: s.n_hidden,
                got: scratch.len(),
            });
        }
        Ok(leaky::kink_units(s.n_hidden, &self.w, x, h, scratch).unwrap_or(0))
    }
}

/// Column `j` of the row-major matrix `m` (row stride `ld`) := `col`; stops at the end of `m`
/// (the caller checks `m.len()`).
fn set_column<T: Copy>(m: &mut [T], ld: usize, j: usize, col: &[T]) {
    for (r, &v) in col.iter().enumerate() {
        let Some(x) = m.get_mut(r * ld + j) else {
            return;
        };
        *x = v;
    }
}

/// Transposes the row-major `n × n` matrix at the start of `m` in place.
fn transpose_square<T: Copy>(n: usize, m: &mut [T]) {
    if n == 0 {
        return;
    }
    let mut rest = m;
    for r in 0..n {
        // Row r, and the rows below it: swap m[r][c] with m[c][r] for c > r.
        let Some((row_r, below)) = core::mem::take(&mut rest).split_at_mut_checked(n) else {
            return;
        };
        for (x, row_c) in row_r.iter_mut().skip(r + 1).zip(below.chunks_exact_mut(n)) {
            core::mem::swap(x, &mut row_c[r]);
        }
        rest = below;
    }
}

/// Which unit vector a Jacobian column is taken along.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Direction {
    /// `∂/∂h_j`.
    State(usize),
    /// `∂/∂x_k`.
    Input(usize),
}

/// The arguments of a vector-Jacobian product, bundled for the per-cell kernels.
pub(crate) struct VjpArgs<'s, 'w, T> {
    pub x: &'s [T],
    pub h: &'s [T],
    pub cache: &'s [T],
    pub g: &'s [T],
    pub g_h: &'s mut [T],
    pub g_x: Option<&'s mut [T]>,
    pub g_w: Option<&'s mut WeightsMut<'w, T>>,
}

/// `y = b_0 + … + b_{B-1} + x W_x + h W_h`, the fused pre-activation of every gate (`G·H`);
/// `None` if `y` or `w.b` is shorter than `gw`.
#[inline]
pub(crate) fn preactivation<T: Real>(
    w: &Weights<'_, T>,
    x: &[T],
    h: &[T],
    gw: usize,
    y: &mut [T],
) -> Option<()> {
    use crate::linalg::dense::vec_mat;
    let y = y.get_mut(..gw)?;
    let (b0, rest) = w.b.split_at_checked(gw)?;
    y.copy_from_slice(b0);
    if gw > 0 {
        for row in rest.chunks_exact(gw) {
            for (a, &b) in y.iter_mut().zip(row) {
                *a += b;
            }
        }
    }
    vec_mat(x, w.w_x, gw, gw, y, true);
    vec_mat(h, w.w_h, gw, gw, y, true);
    Some(())
}
