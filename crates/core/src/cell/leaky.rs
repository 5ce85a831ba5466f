//! Leaky rate cell (an Euler-discretized continuous-time rate network):
//! `F = (1 − α) h + α φ(a)`, `a = x W_x + h W_h + b`, with `α ∈ (0, 1]` (the step `dt/τ`)
//! and `φ` one of [`Activation`].
//!
//! One gate block, one bias row (the tanh cell's layout). Cache: `φ'(a)` (H).
//! Jacobian `J = (1 − α) I + α diag(φ'(a)) W_hᵀ`; a column costs `O(H)`, the whole `O(H²)`.
//!
//! **ReLU's kink.** `φ(a) = max(a, 0)` has no derivative at `a = 0`; this cell uses the
//! left derivative there, `φ'(0) = 0` (PyTorch's and JAX's convention), so every Jacobian,
//! VJP and training gradient agrees with theirs. A fixed point with some unit at `|a_i| ≤`
//! [`KINK_TOL`] sits (to rounding) on a kink, where the one-sided Jacobian is one of two and
//! the stability it gives may not hold on the other side; [`super::Cell::kink_units`] counts
//! such units and the std layer reports them per point (`n_kink`).

use super::{Direction, VjpArgs, Weights, preactivation};
use crate::linalg::dense::{add_outer, mat_vec};
use crate::scalar::Real;
use crate::split::sub;

/// `|a_i|` at or below which a ReLU unit's pre-activation counts as on its kink: absolute,
/// meant for points polished in f64 by Newton (whose residuals are far below it).
pub const KINK_TOL: f64 = 1e-8;

/// The leaky cell's nonlinearity `φ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Activation {
    /// `tanh a`.
    Tanh = 0,
    /// `max(a, 0)`, with `φ'(0) = 0` (see the module docs).
    Relu = 1,
    /// `ln(1 + e^a)`.
    Softplus = 2,
    /// `1 / (1 + e^{−a})`.
    Sigmoid = 3,
}

impl Activation {
    /// Every activation, in code order (the C ABI's `FPF_ACTIVATION_*` values).
    pub const ALL: [Activation; 4] = [
        Activation::Tanh,
        Activation::Relu,
        Activation::Softplus,
        Activation::Sigmoid,
    ];

    /// The activation's code (`FPF_ACTIVATION_*`).
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The activation with this code, if any.
    pub const fn from_code(code: u32) -> Option<Activation> {
        match code {
            0 => Some(Activation::Tanh),
            1 => Some(Activation::Relu),
            2 => Some(Activation::Softplus),
            3 => Some(Activation::Sigmoid),
            _ => None,
        }
    }

    /// Lower-case name (`tanh`, `relu`, `softplus`, `sigmoid`).
    pub const fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Softplus => "softplus",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// Parses a name produced by [`Activation::name`].
    pub fn from_name(s: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == s)
    }

    /// `(φ(a), φ'(a))` for one value.
    #[inline(always)]
    pub fn eval<T: Real>(self, a: T) -> (T, T) {
        match self {
            Activation::Tanh => {
                let t = a.tanh();
                (t, T::ONE - t * t)
            }
            Activation::Relu => {
                if a > T::ZERO {
                    (a, T::ONE)
                } else {
                    (T::ZERO, T::ZERO)
                }
            }
            Activation::Softplus => a.softplus_and_sigmoid(),
            Activation::Sigmoid => {
                let s = a.sigmoid();
                (s, s * (T::ONE - s))
            }
        }
    }

    /// The leaky update of one row, in place: `af` holds the pre-activations `a` on entry
    /// and `F = (1 − α) h + α φ(a)` on return, `d` receives `φ'(a)` (over the common length).
    /// The `match` is outside the loop, so each activation's loop vectorizes.
    #[inline(always)]
    pub fn leaky_row<T: Real>(self, alpha: T, af: &mut [T], h: &[T], d: &mut [T]) {
        let keep = T::ONE - alpha;
        macro_rules! row {
            ($act:expr) => {
                for ((fv, &hv), dv) in af.iter_mut().zip(h).zip(d.iter_mut()) {
                    let (p, q) = $act.eval(*fv);
                    *fv = keep * hv + alpha * p;
                    *dv = q;
                }
            };
        }
        match self {
            Activation::Tanh => row!(Activation::Tanh),
            Activation::Relu => row!(Activation::Relu),
            Activation::Softplus => row!(Activation::Softplus),
            Activation::Sigmoid => row!(Activation::Sigmoid),
        }
    }
}

/// `(act, alpha) = leak`.
pub(super) fn step<T: Real>(
    (act, alpha): (Activation, T),
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    h: &[T],
    h_next: &mut [T],
    cache: &mut [T],
) -> Option<()> {
    let (h, h_next, d) = (h.get(..nh)?, h_next.get_mut(..nh)?, cache.get_mut(..nh)?);
    // The pre-activation goes through `d`, which then holds φ'(a).
    preactivation(w, x, h, nh, d)?;
    for ((f, dv), &hv) in h_next.iter_mut().zip(d.iter_mut()).zip(h) {
        let (p, q) = act.eval(*dv);
        *f = (T::ONE - alpha) * hv + alpha * p;
        *dv = q;
    }
    Some(())
}

pub(super) fn column<T: Real>(
    alpha: T,
    nh: usize,
    w: &Weights<'_, T>,
    dir: Direction,
    cache: &[T],
    out: &mut [T],
) -> Option<()> {
    // ∂F_i/∂u = α φ'(a_i) · (row of W for u)[i], plus (1 − α) on the diagonal for h_j.
    let (row, diag) = match dir {
        Direction::State(j) => (sub(w.w_h, j * nh, nh)?, Some(j)),
        Direction::Input(k) => (sub(w.w_x, k * nh, nh)?, None),
    };
    let out = out.get_mut(..nh)?;
    for ((o, &d), &wv) in out.iter_mut().zip(cache.get(..nh)?).zip(row) {
        *o = alpha * d * wv;
    }
    if let Some(j) = diag {
        *out.get_mut(j)? += T::ONE - alpha;
    }
    Some(())
}

pub(super) fn vjp<T: Real>(
    alpha: T,
    nh: usize,
    w: &Weights<'_, T>,
    a: VjpArgs<'_, '_, T>,
    scratch: &mut [T],
) -> Option<()> {
    // D = α g∘φ'(a); g_h = (1 − α) g + D W_hᵀ, g_x = D W_xᵀ, dW += [x; h]ᵀ D, db += D.
    let d = scratch.get_mut(..nh)?;
    let g = a.g.get(..nh)?;
    for ((d, &gv), &dv) in d.iter_mut().zip(g).zip(a.cache.get(..nh)?) {
        *d = alpha * gv * dv;
    }
    let g_h = a.g_h.get_mut(..nh)?;
    mat_vec(w.w_h, nh, d, g_h, false);
    for (o, &gv) in g_h.iter_mut().zip(g) {
        *o += (T::ONE - alpha) * gv;
    }
    if let Some(gx) = a.g_x {
        mat_vec(w.w_x, nh, d, gx, false);
    }
    if let Some(gw) = a.g_w {
        add_outer(a.x, d, gw.w_x, nh);
        add_outer(a.h, d, gw.w_h, nh);
        for (b, &dv) in gw.b.iter_mut().zip(d.iter()) {
            *b += dv;
        }
    }
    Some(())
}

/// Units of a ReLU cell's state whose pre-activation at `(h, x)` is within [`KINK_TOL`] of
/// 0 (`a` is scratch of length `H`).
pub(super) fn kink_units<T: Real>(
    nh: usize,
    w: &Weights<'_, T>,
    x: &[T],
    h: &[T],
    a: &mut [T],
) -> Option<usize> {
    let a = a.get_mut(..nh)?;
    preactivation(w, x, h.get(..nh)?, nh, a)?;
    Some(a.iter().filter(|v| v.abs().to_f64() <= KINK_TOL).count())
}
