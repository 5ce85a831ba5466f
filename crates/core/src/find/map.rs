//! The k-fold map `G = F∘…∘F` (period k) at a constant input, its residual
//! `q = ½‖x − G(x)‖²` and the gradient `∇q = r − J_Gᵀ r`, `r = x − G(x)`.
//!
//! The gradient never forms a Jacobian: it runs the k steps forward, keeping each step's
//! state and cache, then k vector-Jacobian products backward. Cost per evaluation: k steps
//! plus, with the gradient, k state VJPs, about twice the flops of the k steps.

use crate::cell::Cell;
use crate::scalar::Real;

/// Scratch the evaluation needs for a cell of state size `s`, cache `c`, vjp scratch `v`.
pub(crate) const fn eval_work_len(s: usize, cache: usize, vjp: usize, period: usize) -> usize {
    period * (s + cache) + 2 * s + vjp
}

/// Evaluates `G(x)` into `gx` and returns `q`; with `grad`, also writes `∇q`.
/// `work` has at least [`eval_work_len`] elements; lengths are the caller's to check.
pub(crate) fn eval<T: Real>(
    cell: &Cell<'_, T>,
    u: &[T],
    x: &[T],
    period: usize,
    gx: &mut [T],
    grad: Option<&mut [T]>,
    work: &mut [T],
) -> T {
    let shape = cell.shape();
    let s = shape.state_dim();
    let c = shape.cache_len();
    if period == 1 {
        // The hot case: step straight into `gx`, VJP straight into `grad`, no copies.
        let (cache, rest) = work.split_at_mut(c);
        let (r, rest) = rest.split_at_mut(s);
        let vscratch = &mut rest[s..];
        cell.step_unchecked(u, x, gx, cache);
        let mut q = T::ZERO;
        for i in 0..s {
            r[i] = x[i] - gx[i];
            q += r[i] * r[i];
        }
        if let Some(grad) = grad {
            cell.vjp_unchecked(u, x, cache, r, grad, None, None, vscratch);
            for i in 0..s {
                grad[i] = r[i] - grad[i];
            }
        }
        return q * T::from_f64(0.5);
    }
    let (fwd, rest) = work.split_at_mut(period * (s + c));
    let (r, rest) = rest.split_at_mut(s);
    let (gh, vscratch) = rest.split_at_mut(s);
    // Forward: fwd[t] = [state after step t | cache of step t].
    for t in 0..period {
        let (done, todo) = fwd.split_at_mut(t * (s + c));
        let (next, cache) = todo[..s + c].split_at_mut(s);
        let prev: &[T] = if t == 0 {
            x
        } else {
            &done[(t - 1) * (s + c)..][..s]
        };
        cell.step_unchecked(u, prev, next, cache);
    }
    gx.copy_from_slice(&fwd[(period - 1) * (s + c)..][..s]);
    let mut q = T::ZERO;
    for i in 0..s {
        r[i] = x[i] - gx[i];
        q += r[i] * r[i];
    }
    q *= T::from_f64(0.5);
    if let Some(grad) = grad {
        // Backward: g ← J_tᵀ g from the last step to the first.
        grad.copy_from_slice(r);
        for t in (0..period).rev() {
            let prev: &[T] = if t == 0 {
                x
            } else {
                &fwd[(t - 1) * (s + c)..][..s]
            };
            let cache = &fwd[t * (s + c) + s..][..c];
            cell.vjp_unchecked(u, prev, cache, grad, gh, None, None, vscratch);
            grad.copy_from_slice(gh);
        }
        for i in 0..s {
            grad[i] = r[i] - grad[i];
        }
    }
    q
}

/// Jacobians of the k-fold map at `x`: `jac = J_G = J(x_{k−1}) ⋯ J(x_0)` (`s × s`) and, if
/// asked, `dfdu = ∂G/∂u` (`s × I`), accumulated as `D ← J(x_t) D + B(x_t)` with `B` the
/// single-step input Jacobian. `work` has [`jacobian_work_len`] elements.
pub fn jacobian<T: Real>(
    cell: &Cell<'_, T>,
    u: &[T],
    x: &[T],
    period: usize,
    jac: &mut [T],
    mut dfdu: Option<&mut [T]>,
    work: &mut [T],
) {
    let shape = cell.shape();
    let s = shape.state_dim();
    let ni = shape.n_inputs;
    let c = shape.cache_len();
    let (fwd, rest) = work.split_at_mut(period * (s + c));
    let (jt, rest) = rest.split_at_mut(s * s);
    let (prod, rest) = rest.split_at_mut(s * s);
    let (bt, rest) = rest.split_at_mut(s * ni);
    let (dprod, jscratch) = rest.split_at_mut(s * ni);
    for t in 0..period {
        let (done, todo) = fwd.split_at_mut(t * (s + c));
        let (next, cache) = todo[..s + c].split_at_mut(s);
        let prev: &[T] = if t == 0 {
            x
        } else {
            &done[(t - 1) * (s + c)..][..s]
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
                matmul(s, s, ni, jt, d, dprod);
                for (dv, (&p, &b)) in d.iter_mut().zip(dprod.iter().zip(bt.iter())) {
                    *dv = p + b;
                }
            }
        }
        if t > 0 {
            // J ← J_t J
            matmul(s, s, s, jt, jac, prod);
            jac.copy_from_slice(prod);
        }
    }
}

/// `c = a b` for row-major `a` (m × k), `b` (k × n): `2·m·k·n` flops.
fn matmul<T: Real>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) {
    for i in 0..m {
        let ci = &mut c[i * n..(i + 1) * n];
        ci.fill(T::ZERO);
        for p in 0..k {
            let aip = a[i * k + p];
            for (cv, &bv) in ci.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *cv += aip * bv;
            }
        }
    }
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
