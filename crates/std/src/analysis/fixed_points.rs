//! [`FixedPoints`]: the finder's results, with every field of the reference's container.
//!
//! The per-point arrays are listed once, in the `fixed_points!` invocation below: that one
//! list makes the struct, the [`FIELDS`] table (name, element type, row width, required)
//! and the code that reads, subsets and rebuilds the arrays by field, on which the
//! checkpoint codec, the C ABI's field accessors and the wrappers' mirrors are built.

use crate::checkpoint::ArrayData;
use crate::find::newton::NewtonOutcome;

/// The element type of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// `f64`.
    F64,
    /// Counts (`usize`).
    Usize,
    /// Flags.
    Bool,
    /// Newton outcomes (stored as their codes).
    Newton,
    /// Signed ids.
    I64,
}

/// Elements per point of a field, in terms of the state size `S` and input size `I`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 1.
    One,
    /// `S`.
    States,
    /// `I`.
    Inputs,
    /// `S × S`.
    StatesSq,
    /// `S × I`.
    StatesInputs,
}

impl Width {
    /// The width for state size `s` and input size `i` (`None` on overflow).
    pub fn of(self, s: usize, i: usize) -> Option<usize> {
        match self {
            Width::One => Some(1),
            Width::States => Some(s),
            Width::Inputs => Some(i),
            Width::StatesSq => s.checked_mul(s),
            Width::StatesInputs => s.checked_mul(i),
        }
    }
}

/// One per-point array of [`FixedPoints`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name (the struct field's and the file array's).
    pub name: &'static str,
    /// Element type.
    pub ty: FieldType,
    /// Elements per point.
    pub width: Width,
    /// Always present (`Vec`), or computed on request (`Option<Vec>`).
    pub required: bool,
}

/// A field's values, owned (what a decoder hands to [`FixedPoints::from_columns`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// `f64` values.
    F64(Vec<f64>),
    /// Counts.
    Usize(Vec<usize>),
    /// Flags.
    Bool(Vec<bool>),
    /// Newton outcomes.
    Newton(Vec<Option<NewtonOutcome>>),
    /// Signed ids.
    I64(Vec<i64>),
}

/// The vector types a field holds.
trait Column: Clone + Sized {
    const TYPE: FieldType;
    fn borrow(&self) -> ArrayData<'_, f64>;
    fn take(v: Values) -> Option<Self>;
}

macro_rules! column {
    ($t:ty, $variant:ident, $data:ident) => {
        impl Column for Vec<$t> {
            const TYPE: FieldType = FieldType::$variant;
            fn borrow(&self) -> ArrayData<'_, f64> {
                ArrayData::$data(self)
            }
            fn take(v: Values) -> Option<Self> {
                match v {
                    Values::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}
column!(f64, F64, F64);
column!(usize, Usize, Usize);
column!(bool, Bool, Bool);
column!(Option<NewtonOutcome>, Newton, Newton);
column!(i64, I64, I64);

/// A field as the struct holds it: `Vec<T>` (required) or `Option<Vec<T>>` (optional).
trait Slot: Sized {
    type C: Column;
    const REQUIRED: bool;
    fn get(&self) -> Option<&Self::C>;
    fn make(c: Option<Self::C>) -> Option<Self>;
    /// The slot with `f` applied to its column (an absent one stays absent).
    fn map(&self, f: impl FnOnce(&Self::C) -> Self::C) -> Self;
}

impl<C: Column> Slot for C {
    type C = C;
    const REQUIRED: bool = true;
    fn get(&self) -> Option<&C> {
        Some(self)
    }
    fn make(c: Option<C>) -> Option<Self> {
        c
    }
    fn map(&self, f: impl FnOnce(&C) -> C) -> Self {
        f(self)
    }
}

impl<C: Column> Slot for Option<C> {
    type C = C;
    const REQUIRED: bool = false;
    fn get(&self) -> Option<&C> {
        self.as_ref()
    }
    fn make(c: Option<C>) -> Option<Self> {
        Some(c)
    }
    fn map(&self, f: impl FnOnce(&C) -> C) -> Self {
        self.as_ref().map(f)
    }
}

fn pick<T: Clone>(v: &[T], idx: &[usize], w: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * w);
    for &i in idx {
        out.extend_from_slice(&v[i * w..(i + 1) * w]);
    }
    out
}

/// Defines [`FixedPoints`] and [`FIELDS`] from one list of `name: type = width` entries.
macro_rules! fixed_points {
    ($($(#[doc = $doc:literal])+ $name:ident: $ty:ty = $width:ident,)*) => {
        /// A set of fixed points (or of optimized states) and everything known about them.
        ///
        /// Row-major arrays, one row per point; optional fields are `None` until computed.
        /// Field names follow the reference (`xstar`, `F_xstar` → `f_xstar`, `J_xstar` →
        /// `j_xstar`, …); [`FIELDS`] describes each array.
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
            $($(#[doc = $doc])+ pub $name: $ty,)*
            /// The uniqueness tolerance these points were (or will be) reduced with.
            pub tol_unique: f64,
        }

        /// Every per-point array of [`FixedPoints`], in struct (and file) order.
        pub const FIELDS: &[Field] = &[$(Field {
            name: stringify!($name),
            ty: <<$ty as Slot>::C as Column>::TYPE,
            width: Width::$width,
            required: <$ty as Slot>::REQUIRED,
        },)*];

        impl FixedPoints {
            /// Field `k` of [`FIELDS`], borrowed; `None` if it was not computed (or `k` is out
            /// of range).
            pub fn column(&self, k: usize) -> Option<ArrayData<'_, f64>> {
                let mut at = 0;
                $(
                    if at == k {
                        return self.$name.get().map(Column::borrow);
                    }
                    at += 1;
                )*
                let _ = at;
                None
            }

            /// The points at `idx`, in that order (indices must be `< n`).
            pub fn subset(&self, idx: &[usize]) -> FixedPoints {
                let (s, i) = (self.n_states, self.n_inputs);
                let w = |w: Width| w.of(s, i).unwrap_or(0);
                FixedPoints {
                    n: idx.len(),
                    n_states: s,
                    n_inputs: i,
                    period: self.period,
                    $($name: Slot::map(&self.$name, |v| pick(v, idx, w(Width::$width))),)*
                    tol_unique: self.tol_unique,
                }
            }

            /// Rebuilds points from their fields: `take(k)` gives field `k`'s values (`None`
            /// for an absent optional field). `None` if a required field is missing or a
            /// field's values have the wrong type; lengths are the caller's to check.
            pub fn from_columns(
                shape: FixedPoints,
                mut take: impl FnMut(usize) -> Option<Values>,
            ) -> Option<FixedPoints> {
                let mut at = 0;
                $(
                    let $name = {
                        let v = match take(at) {
                            Some(v) => Some(<<$ty as Slot>::C as Column>::take(v)?),
                            None => None,
                        };
                        at += 1;
                        <$ty as Slot>::make(v)?
                    };
                )*
                let _ = at;
                Some(FixedPoints { $($name,)* ..shape })
            }
        }
    };
}

fixed_points! {
    /// `n × S` points.
    xstar: Vec<f64> = States,
    /// `n × S` map applied once (k times for period k) to each point.
    f_xstar: Vec<f64> = States,
    /// `n × S` initial states the points were optimized from.
    x_init: Vec<f64> = States,
    /// `n × I` constant inputs.
    inputs: Vec<f64> = Inputs,
    /// `q` at each point.
    qstar: Vec<f64> = One,
    /// `|Δq|` at the last optimizer step.
    dq: Vec<f64> = One,
    /// Optimizer iterations.
    n_iters: Vec<usize> = One,
    /// How the Newton polish ended for each point (`None` where it was not run).
    newton: Vec<Option<NewtonOutcome>> = One,
    /// `q ≥ final_q_threshold`: a slow point rather than a fixed point.
    is_slow: Vec<bool> = One,
    /// `n × S × S` Jacobians `dF/dx` (of the k-fold map).
    j_xstar: Option<Vec<f64>> = StatesSq,
    /// `n × S × I` input Jacobians `dF/du` (of the k-fold map).
    dfdu: Option<Vec<f64>> = StatesInputs,
    /// `n × S` eigenvalues of `J`, real parts, sorted by modulus, largest first.
    eigval_re: Option<Vec<f64>> = States,
    /// `n × S` eigenvalues, imaginary parts.
    eigval_im: Option<Vec<f64>> = States,
    /// `n × S × S` right eigenvectors (column k of each block belongs to eigenvalue k), real.
    eigvec_re: Option<Vec<f64>> = StatesSq,
    /// Eigenvectors, imaginary parts.
    eigvec_im: Option<Vec<f64>> = StatesSq,
    /// `max |λ| < 1`.
    is_stable: Option<Vec<bool>> = One,
    /// Number of eigenvalues with `|λ| > 1`.
    n_unstable: Option<Vec<usize>> = One,
    /// Units on a kink of the activation at the point (summed over the k states of a
    /// period-k orbit): for the leaky ReLU cell, those with `|a_i| ≤ KINK_TOL`
    /// (`fpf_core::cell::KINK_TOL`), where the Jacobian is one-sided (`φ'(0) = 0`) and its
    /// stability verdict may not hold; absent for smooth cells.
    n_kink: Option<Vec<usize>> = One,
    /// For period k > 1: the smallest period (a divisor of k) of each point; 1 means the
    /// point is really a fixed point of F. Absent at period 1.
    min_period: Option<Vec<usize>> = One,
    /// Condition id of each point's initial state.
    cond_id: Option<Vec<i64>> = One,
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

    /// Points with at least one unit on a kink ([`FixedPoints::n_kink`]; 0 if absent).
    pub fn n_on_kink(&self) -> usize {
        self.n_kink
            .as_ref()
            .map_or(0, |v| v.iter().filter(|&&k| k > 0).count())
    }

    /// Number of stable points (0 if not decomposed).
    pub fn n_stable(&self) -> usize {
        self.is_stable
            .as_ref()
            .map_or(0, |v| v.iter().filter(|&&b| b).count())
    }
}
