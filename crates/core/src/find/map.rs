//! The k-fold map `G = F∘…∘F` (period k) at a constant input, its residual
//! `q = ½‖x − G(x)‖²` and the gradient `∇q = r − J_Gᵀ r`, `r = x − G(x)`.
//!
//! The gradient never forms a Jacobian: it runs the k steps forward, keeping each step's
//! state and cache, then k vector-Jacobian products backward. Cost per evaluation: k steps
//! plus, with the gradient, k state VJPs, about twice the flops of the k steps.

use crate::cell::Cell;
use crate::scalar::Real;
use crate::split::{sub, sub_mut, take_mut};

/// Scratch the evaluation needs for a cell of state size `s`, cache `c`, vjp scratch `v`.
pub(crate) const fn eval_work_len(s: usize, cache: usize, vjp: usize, period: usize) -> usize {
    period * (s + cache) + 2 * s + vjp
}

/// Evaluates `G(x)` into `gx` and returns `q`; with `grad`, also writes `∇q`.
/// `work` has at least [`eval_work_len`] elements; lengths are the caller's to check (a slice
/// that is too short gives q = NaN, and panics in debug builds).
pub(crate) fn eval<T: Real>(
    cell: &Cell<'_, T>,
    u: &[T],
    x: &[T],
    period: usize,
    gx: &mut [T],
    grad: Option<&mut [T]>,
    work: &mut [T],
) -> T {
    match eval_in(cell, u, x, period, gx, grad, work) {
        Some(q) => q,
        None => {
            debug_assert!(false, "map::eval: a slice is too short");
            T::from_f64(f64::NAN)
        }
    }
}

fn eval_in<T: Real>(
    cell: &Cell<'_, T>,
    u: &[T],
    x: &[T],
    period: usize,
    gx: &mut [T],
    grad: Option<&mut [T]>,
    work: &mut [T],
) -> Option<T> {
    let shape = cell.shape();
    let s = shape.state_dim();
    let c = shape.cache_len();
    if period == 1 {
        // The hot case: step straight into `gx`, VJP straight into `grad`, no copies.
        let mut w = work;
        let (cache, r) = (take_mut(&mut w, c)?, take_mut(&mut w, s)?);
        let vscratch = w.get_mut(s..)?;
        cell.step_unchecked(u, x, gx, cache);
        let (xs, gx) = (x.get(..s)?, gx.get(..s)?);
        let mut q = T::ZERO;
        for i in 0..s {
            r[i] = xs[i] - gx[i];
            q += r[i] * r[i];
        }
        if let Some(grad) = grad {
            cell.vjp_unchecked(u, x, cache, r, grad, None, None, vscratch);
            let grad = grad.get_mut(..s)?;
            for i in 0..s {
                grad[i] = r[i] - grad[i];
            }
        }
        return Some(q * T::from_f64(0.5));
    }
    let sc = s + c;
    let mut w = work;
    let fwd = take_mut(&mut w, period * sc)?;
    let (r, gh) = (take_mut(&mut w, s)?, take_mut(&mut w, s)?);
    let vscratch = w;
    // Forward: fwd[t] = [state after step t | cache of step t].
    for t in 0..period {
        let (done, todo) = fwd.split_at_mut_checked(t * sc)?;
        let (next, cache) = todo.get_mut(..sc)?.split_at_mut_checked(s)?;
        let prev: &[T] = if t == 0 {
            x
        } else {
            sub(done, (t - 1) * sc, s)?
        };
        cell.step_unchecked(u, prev, next, cache);
    }
    let gx = gx.get_mut(..s)?;
    gx.copy_from_slice(sub(fwd, (period - 1) * sc, s)?);
    let xs = x.get(..s)?;
    let mut q = T::ZERO;
    for i in 0..s {
        r[i] = xs[i] - gx[i];
        q += r[i] * r[i];
    }
    q *= T::from_f64(0.5);
    if let Some(grad) = grad {
        // Backward: g ← J_tᵀ g from the last step to the first.
        let grad = grad.get_mut(..s)?;
        grad.copy_from_slice(r);
        for t in (0..period).rev() {
            let prev: &[T] = if t == 0 {
                x
            } else {
                sub(fwd, (t - 1) * sc, s)?
            };
            let cache = sub(fwd, t * sc + s, c)?;
            cell.vjp_unchecked(u, prev, cache, grad, gh, None, None, vscratch);
            grad.copy_from_slice(gh);
        }
        for i in 0..s {
            grad[i] = r[i] - grad[i];
        }
    }
    Some(q)
}

/// Jacobians of the k-fold map at `x`: `jac = J_G = J(x_{k−1}) ⋯ J(x_0)` (`s × s`) and, if
/// asked, `dfdu = ∂G/∂u` (`s × I`), accumulated as `D ← J(x_t) D + B(x_t)` with `B` the
/// single-step input Jacobian. `work` has [`jacobian_work_len`] elements. Never panics in
/// release builds: slices shorter than that leave `jac` and `dfdu` unspecified (debug builds
/// panic).
pub fn jacobian<T: Real>(
    cell: &Cell<'_, T>,
    u: &[T],
    x: &[T],
    period: usize,
    jac: &mut [T],
    dfdu: Option<&mut [T]>,
    work: &mut [T],
) {
    let done = jacobian_in(cell, u, x, period, jac, dfdu, work);
    debug_assert!(done.is_some(), "map::jacobian: a slice is too short");
}

fn jacobian_in<T: Real>(
    cell: &Cell<'_, T>,
    u: &[T],
    x: &[T],
    period: usize,
    jac: &mut [T],
    mut dfdu: Option<&mut [T]>,
    work: &mut [T],
) -> Option<()> {
    let shape = cell.shape();
    let s = shape.state_dim();
    let ni = shape.n_inputs;
    let c = shape.cache_len();
    let sc = s + c;
    let jac = jac.get_mut(..s * s)?;
    let mut w = work;
    let fwd = take_mut(&mut w, period * sc)?;
    let (jt, prod) = (take_mut(&mut w, s * s)?, take_mut(&mut w, s * s)?);
    let (bt, dprod) = (take_mut(&mut w, s * ni)?, take_mut(&mut w, s * ni)?);
    let jscratch = w;
    for t in 0..period {
        let (done, todo) = fwd.split_at_mut_checked(t * sc)?;
        let (next, cache) = todo.get_mut(..sc)?.split_at_mut_checked(s)?;
        let prev: &[T] = if t == 0 {
            x
        } else {
            sub(done, (t - 1) * sc, s)?
        };
        cell.step_unchecked(u, prev, next, cache);
        // Lengths were sized by the caller from the same shape: these cannot fail.
        let target = if t == 0 { &mut *jac } else { &mut *jt };
        let _ = cell.jacobian(u, prev, cache, target, jscratch);
        if let Some(d) = dfdu.as_deref_mut() {
            let target = if t == 0 { &mut *d } else { &mut *bt };
            let _ = cell.input_jacobian(u, prev, cache, target, jscratch);
            if t > 0 {
                // D ← J_t D + B_t
                matmul(s, s, ni, jt, d, dprod)?;
                for (dv, (&p, &b)) in d.iter_mut().zip(dprod.iter().zip(bt.iter())) {
                    *dv = p + b;
                }
            }
        }
        if t > 0 {
            // J ← J_t J
            matmul(s, s, s, jt, jac, prod)?;
            jac.copy_from_slice(prod);
        }
    }
    Some(())
}

/// `c = a b` for row-major `a` (m × k), `b` (k × n): `2·m·k·n` flops. `None` if a slice is
/// shorter than that.
fn matmul<T: Real>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) -> Option<()> {
    for i in 0..m {
        let ci = sub_mut(c, i * n, n)?;
        ci.fill(T::ZERO);
        for (p, &aip) in sub(a, i * k, k)?.iter().enumerate() {
            for (cv, &bv) in ci.iter_mut().zip(sub(b, p * n, n)?) {
                *cv += aip * bv;
            }
        }
    }
    Some(())
}

/// Scratch [`jacobian`] needs.
pub fn jacobian_work_len<T: Real>(cell: &Cell<'_, T>, period: usize) -> usize {
    let shape = cell.shape();
    let s = shape.state_dim();
    period * (s + shape.cache_len())
        + 2 * s * s
        + 2 * s * shape.n_inputs
        + cell.jacobian_scratch_len()
}
