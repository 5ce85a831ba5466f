//! Models given by batched functions instead of a [`crate::cell::Cell`]: a [`BatchMap`] is
//! any map `F(x, u)` of a state of size `S` and an input of size `I` that evaluates `F` and
//! its vector-Jacobian product on a batch of states at once (and, optionally, its
//! Jacobian). The C ABI's callback model and the Python package's numpy, PyTorch and JAX
//! models are `BatchMap`s; [`super::qmin::minimize_map`] and [`super::newton::polish_map`]
//! run the finder's q-minimization and Newton polish on one.
//!
//! The built-in cells do not go through this trait: their batched tile kernels stay as they
//! are. A `BatchMap` is evaluated in f64, one call per iteration for all the states still
//! iterating, on the calling thread.

use crate::split::{sub, sub_mut, take_mut};

/// A model's function failed: it returned a nonzero status, which aborts the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelError {
    /// Which function: `"forward"`, `"vjp"` or `"jacobian"`.
    pub function: &'static str,
    /// The status it returned (nonzero).
    pub code: i32,
}

impl core::fmt::Display for ModelError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "the model's `{}` function failed (returned {})",
            self.function, self.code
        )
    }
}

/// A map `F(x, u)` given by batched functions. In every method the batch holds
/// `n = x.len() / S` states: `x` and every state-sized slice are `n × S` row-major, `u` is
/// `n × I` (one input row per state).
pub trait BatchMap {
    /// The state size `S` (at least 1).
    fn n_states(&self) -> usize;
    /// The input size `I`.
    fn n_inputs(&self) -> usize;
    /// Writes `F(x_i, u_i)` into row `i` of `fx`.
    fn forward(&self, x: &[f64], u: &[f64], fx: &mut [f64]) -> Result<(), ModelError>;
    /// Writes `v_iᵀ ∂F/∂x (x_i, u_i)` into row `i` of `vjp_x` (`n × S`) and, when `vjp_u` is
    /// given (only if [`BatchMap::input_derivatives`] is true), `v_iᵀ ∂F/∂u` into its row `i`
    /// (`n × I`).
    fn vjp(
        &self,
        x: &[f64],
        u: &[f64],
        v: &[f64],
        vjp_x: &mut [f64],
        vjp_u: Option<&mut [f64]>,
    ) -> Result<(), ModelError>;
    /// Writes each state's Jacobian `∂F/∂x` (`S × S`, row-major, row = output) into `jac`
    /// (`n × S × S`) and, when `dfdu` is given, `∂F/∂u` (`S × I`) into `dfdu` (`n × S × I`);
    /// returns `Ok(false)` without writing when the model has no Jacobian function, and the
    /// finder then forms the Jacobians from `S` VJPs per state ([`jacobians`]).
    fn jacobian(
        &self,
        _x: &[f64],
        _u: &[f64],
        _jac: &mut [f64],
        _dfdu: Option<&mut [f64]>,
    ) -> Result<bool, ModelError> {
        Ok(false)
    }
    /// Whether [`BatchMap::vjp`] (and [`BatchMap::jacobian`]) can give derivatives with
    /// respect to the input, so that results carry `dfdu`.
    fn input_derivatives(&self) -> bool {
        false
    }
    /// The number of units of the state `x` at input `u` whose pre-activation lies on a
    /// kink of their activation (see [`crate::cell::Cell::kink_units`]), for the results'
    /// `n_kink`; `None` (the default) for a model without kinks.
    fn kink_units(&self, _x: &[f64], _u: &[f64]) -> Option<usize> {
        None
    }
}

/// Workspace [`jacobians`] needs for `n` states.
pub fn jacobians_work_len(map: &dyn BatchMap, n: usize) -> usize {
    let (s, ni) = (map.n_states(), map.n_inputs());
    n.saturating_mul(s)
        .saturating_mul(s.saturating_mul(2).saturating_add(ni))
}

/// The Jacobians `∂F/∂x` (`n × S × S`) and, with `dfdu`, `∂F/∂u` (`n × S × I`) of `n`
/// states `x` at their input rows `u`: by the model's Jacobian function if it has one,
/// otherwise from one VJP call on `n·S` rows (each state repeated `S` times against the
/// unit vectors: `e_jᵀ J` is row `j` of `J`). `work` has [`jacobians_work_len`] elements.
/// Slices shorter than that are the caller's error: debug builds panic, release builds leave
/// the outputs unspecified.
pub fn jacobians(
    map: &dyn BatchMap,
    x: &[f64],
    u: &[f64],
    jac: &mut [f64],
    mut dfdu: Option<&mut [f64]>,
    work: &mut [f64],
) -> Result<(), ModelError> {
    if map.jacobian(x, u, jac, dfdu.as_deref_mut())? {
        return Ok(());
    }
    let done = jacobians_by_vjp(map, x, u, jac, dfdu, work);
    match done {
        Some(r) => r,
        None => {
            debug_assert!(false, "batch_map::jacobians: a slice is too short");
            Ok(())
        }
    }
}

fn jacobians_by_vjp(
    map: &dyn BatchMap,
    x: &[f64],
    u: &[f64],
    jac: &mut [f64],
    dfdu: Option<&mut [f64]>,
    work: &mut [f64],
) -> Option<Result<(), ModelError>> {
    let (s, ni) = (map.n_states(), map.n_inputs());
    let n = x.len().checked_div(s)?;
    let rows = n.checked_mul(s)?;
    let mut w = work;
    let xs = take_mut(&mut w, rows.checked_mul(s)?)?;
    let eye = take_mut(&mut w, rows.checked_mul(s)?)?;
    let us = take_mut(&mut w, rows.checked_mul(ni)?)?;
    eye.fill(0.0);
    for i in 0..n {
        let xi = sub(x, i * s, s)?;
        let ui = sub(u, i * ni, ni)?;
        for j in 0..s {
            let r = i * s + j;
            sub_mut(xs, r * s, s)?.copy_from_slice(xi);
            sub_mut(us, r * ni, ni)?.copy_from_slice(ui);
            *eye.get_mut(r * s + j)? = 1.0;
        }
    }
    let jac = jac.get_mut(..rows.checked_mul(s)?)?;
    let dfdu = match dfdu {
        Some(d) => Some(d.get_mut(..rows.checked_mul(ni)?)?),
        None => None,
    };
    Some(map.vjp(xs, us, eye, jac, dfdu))
}
