//! C ABI: a model given by the caller's functions (`fpf_callback_model`) and the fixed-point
//! search on it (`fpf_callback_find_fixed_points`, `_cond`).

use std::os::raw::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::boundary::{FfiError, FfiResult, fpf_status, guard, guard_value, non_null};
use crate::finder::{fpf_finder_options, fpf_fixed_points, fpf_progress_fn};
use fpf_core::find::batch_map::{BatchMap, ModelError};
use fpf_std::analysis::FixedPointFinder;

/// Largest state size of a callback model (its Jacobians are `n_states²` doubles each).
pub const FPF_CALLBACK_MAX_STATES: usize = 32768;
/// Largest input size of a callback model.
pub const FPF_CALLBACK_MAX_INPUTS: usize = 65536;

/// A callback model's map: writes `F(x_i, u_i)` into row `i` of `fx` for the `n` states `x`
/// (`n × n_states`, row-major) and their input rows `u` (`n × n_inputs`; NULL when
/// `n_inputs` is 0). Returns 0 on success; any other value aborts the search, which fails
/// with `FPF_CALLBACK_FAILED` (the message carries the value).
pub type fpf_model_forward_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        n: usize,
        x: *const f64,
        u: *const f64,
        fx: *mut f64,
    ) -> i32,
>;

/// A callback model's vector-Jacobian product: writes `v_iᵀ ∂F/∂x (x_i, u_i)` into row `i`
/// of `vjp_x` (`n × n_states`) and, when `vjp_u` is not NULL (only for a model created with
/// `input_derivatives`), `v_iᵀ ∂F/∂u` into row `i` of `vjp_u` (`n × n_inputs`). `x`, `u` as
/// for `fpf_model_forward_fn`, `v` is `n × n_states`. Returns 0 on success; any other value
/// aborts the search (`FPF_CALLBACK_FAILED`).
pub type fpf_model_vjp_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        n: usize,
        x: *const f64,
        u: *const f64,
        v: *const f64,
        vjp_x: *mut f64,
        vjp_u: *mut f64,
    ) -> i32,
>;

/// A callback model's Jacobian (optional): writes `∂F/∂x (x_i, u_i)` (`n_states ×
/// n_states`, row-major, row = output) into block `i` of `jac` (`n × n_states × n_states`)
/// and, when `dfdu` is not NULL (only with `input_derivatives`), `∂F/∂u` (`n_states ×
/// n_inputs`) into block `i` of `dfdu`. Returns 0 on success; any other value aborts the
/// search (`FPF_CALLBACK_FAILED`).
pub type fpf_model_jacobian_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        n: usize,
        x: *const f64,
        u: *const f64,
        jac: *mut f64,
        dfdu: *mut f64,
    ) -> i32,
>;

type ForwardFn = unsafe extern "C" fn(*mut c_void, usize, *const f64, *const f64, *mut f64) -> i32;
type VjpFn = unsafe extern "C" fn(
    *mut c_void,
    usize,
    *const f64,
    *const f64,
    *const f64,
    *mut f64,
    *mut f64,
) -> i32;

/// A model `h' = F(h, u)` given by the caller's functions: state size, input size, a
/// batched map, its batched vector-Jacobian product, optionally its batched Jacobian (else
/// each Jacobian is formed from `n_states` VJPs) and a user pointer passed to each. Opaque;
/// create with `fpf_callback_model_new`, release with `fpf_callback_model_free`. The
/// functions are called on the thread that called the search, one batch at a time (so
/// searches on one model from several threads call them concurrently); a free from inside
/// one of them is deferred to the end of the running search.
pub struct fpf_callback_model {
    n_states: usize,
    n_inputs: usize,
    forward: ForwardFn,
    vjp: VjpFn,
    jacobian: fpf_model_jacobian_fn,
    input_derivatives: bool,
    user: *mut c_void,
    /// Running searches that hold the handle.
    users: AtomicUsize,
    /// `fpf_callback_model_free` came while in use: the last user frees it.
    free_requested: AtomicBool,
}

/// A running search's hold on a callback model: a free is deferred to its drop.
struct Hold(*mut fpf_callback_model);

impl Hold {
    /// # Safety
    /// `m` must be a live handle.
    unsafe fn new(m: *const fpf_callback_model) -> Hold {
        // SAFETY: live by the caller's contract; the counter is atomic.
        unsafe { (*m).users.fetch_add(1, Ordering::AcqRel) };
        Hold(m.cast_mut())
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // SAFETY: the handle stays live while held (a free is deferred to here).
        let last = unsafe { (*self.0).users.fetch_sub(1, Ordering::AcqRel) } == 1;
        // SAFETY: as above; the last holder frees a handle whose free was requested.
        if last && unsafe { (*self.0).free_requested.load(Ordering::Acquire) } {
            drop(unsafe { Box::from_raw(self.0) });
        }
    }
}

fn status(function: &'static str, code: i32) -> Result<(), ModelError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ModelError { function, code })
    }
}

impl fpf_callback_model {
    /// The input rows as the functions get them: NULL when there are no inputs.
    fn u_ptr(&self, u: &[f64]) -> *const f64 {
        if self.n_inputs == 0 {
            std::ptr::null()
        } else {
            u.as_ptr()
        }
    }
}

// The finder passes slices of the lengths the trait documents (checked by debug asserts
// here), so each pointer covers what the caller's function may touch.
impl BatchMap for fpf_callback_model {
    fn n_states(&self) -> usize {
        self.n_states
    }
    fn n_inputs(&self) -> usize {
        self.n_inputs
    }
    fn forward(&self, x: &[f64], u: &[f64], fx: &mut [f64]) -> Result<(), ModelError> {
        let n = x.len() / self.n_states;
        debug_assert!(fx.len() == x.len() && u.len() == n * self.n_inputs);
        // SAFETY: the caller vouches for the function; the buffers hold the documented sizes.
        let code =
            unsafe { (self.forward)(self.user, n, x.as_ptr(), self.u_ptr(u), fx.as_mut_ptr()) };
        status("forward", code)
    }
    fn vjp(
        &self,
        x: &[f64],
        u: &[f64],
        v: &[f64],
        vjp_x: &mut [f64],
        vjp_u: Option<&mut [f64]>,
    ) -> Result<(), ModelError> {
        let n = x.len() / self.n_states;
        debug_assert!(v.len() == x.len() && vjp_x.len() == x.len());
        let vu = match vjp_u {
            Some(d) if self.input_derivatives && self.n_inputs > 0 => d.as_mut_ptr(),
            _ => std::ptr::null_mut(),
        };
        // SAFETY: as for `forward`.
        let code = unsafe {
            (self.vjp)(
                self.user,
                n,
                x.as_ptr(),
                self.u_ptr(u),
                v.as_ptr(),
                vjp_x.as_mut_ptr(),
                vu,
            )
        };
        status("vjp", code)
    }
    fn jacobian(
        &self,
        x: &[f64],
        u: &[f64],
        jac: &mut [f64],
        dfdu: Option<&mut [f64]>,
    ) -> Result<bool, ModelError> {
        let Some(f) = self.jacobian else {
            return Ok(false);
        };
        let n = x.len() / self.n_states;
        debug_assert!(jac.len() == n * self.n_states * self.n_states);
        let du = match dfdu {
            Some(d) if self.input_derivatives && self.n_inputs > 0 => d.as_mut_ptr(),
            _ => std::ptr::null_mut(),
        };
        // SAFETY: as for `forward`.
        let code = unsafe {
            f(
                self.user,
                n,
                x.as_ptr(),
                self.u_ptr(u),
                jac.as_mut_ptr(),
                du,
            )
        };
        status("jacobian", code).map(|()| true)
    }
    fn input_derivatives(&self) -> bool {
        self.input_derivatives
    }
}

/// Creates a callback model of state size `n_states` (1 to `FPF_CALLBACK_MAX_STATES`) and
/// input size `n_inputs` (0 to `FPF_CALLBACK_MAX_INPUTS`) from `forward` and `vjp`
/// (required) and `jacobian` (NULL: each Jacobian is formed from `n_states` VJPs, one
/// `vjp` call per batch of points). `input_derivatives`: `vjp` (and `jacobian`) fill
/// `vjp_u` (`dfdu`) when given them, and results carry the field `dfdu`; false: they are
/// always given NULL there, and results have no `dfdu`. `user` is passed to every call.
/// Errors: `FPF_NULL_POINTER` (`forward`, `vjp` or `out`), `FPF_BAD_SIZE`.
///
/// # Safety
/// The functions must be safe to call with `user` and the documented buffers for as long as
/// the handle is used; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_callback_model_new(
    n_states: usize,
    n_inputs: usize,
    forward: fpf_model_forward_fn,
    vjp: fpf_model_vjp_fn,
    jacobian: fpf_model_jacobian_fn,
    input_derivatives: bool,
    user: *mut c_void,
    out: *mut *mut fpf_callback_model,
) -> fpf_status {
    guard(|| {
        non_null(out, "out")?;
        let forward = forward
            .ok_or_else(|| FfiError::new(fpf_status::FPF_NULL_POINTER, "`forward` is NULL"))?;
        let vjp =
            vjp.ok_or_else(|| FfiError::new(fpf_status::FPF_NULL_POINTER, "`vjp` is NULL"))?;
        if n_states == 0 || n_states > FPF_CALLBACK_MAX_STATES {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!("`n_states` is {n_states}; must be 1 to {FPF_CALLBACK_MAX_STATES}"),
            ));
        }
        if n_inputs > FPF_CALLBACK_MAX_INPUTS {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!("`n_inputs` is {n_inputs}; must be at most {FPF_CALLBACK_MAX_INPUTS}"),
            ));
        }
        let m = fpf_callback_model {
            n_states,
            n_inputs,
            forward,
            vjp,
            jacobian,
            input_derivatives,
            user,
            users: AtomicUsize::new(0),
            free_requested: AtomicBool::new(false),
        };
        // SAFETY: `out` is non-NULL and writable.
        unsafe { *out = Box::into_raw(Box::new(m)) };
        Ok(())
    })
}

/// Frees a callback model; NULL is a no-op. From inside one of its functions (while a
/// search runs on it) the free is carried out when that search returns.
///
/// # Safety
/// `model` must be NULL or a handle from `fpf_callback_model_new`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_callback_model_free(model: *mut fpf_callback_model) {
    guard_value((), || {
        if model.is_null() {
            return;
        }
        // SAFETY: a live handle created by Box::into_raw, freed once.
        let h = unsafe { &*model };
        h.free_requested.store(true, Ordering::Release);
        if h.users.load(Ordering::Acquire) == 0 {
            // SAFETY: no running search holds it; freed once.
            drop(unsafe { Box::from_raw(model) });
        }
    })
}

/// The state size of a callback model (0 for NULL).
///
/// # Safety
/// `model` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_callback_model_n_states(model: *const fpf_callback_model) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    guard_value(0, || unsafe { model.as_ref() }.map_or(0, |m| m.n_states))
}

/// The input size of a callback model (0 for NULL).
///
/// # Safety
/// `model` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_callback_model_n_inputs(model: *const fpf_callback_model) -> usize {
    // SAFETY: NULL or live by the caller's contract.
    guard_value(0, || unsafe { model.as_ref() }.map_or(0, |m| m.n_inputs))
}

/// `fpf_find_fixed_points` for a callback model: the whole pipeline (Adam, Newton polish,
/// uniqueness, outliers, Jacobians, eigen-decomposition, final filter) with every
/// evaluation through the model's functions, in double precision (`dtype` does not apply),
/// on the calling thread (`n_threads` applies to the eigen-decompositions). `period` must
/// be 1 (else `FPF_BAD_OPTION`). A function returning nonzero stops the search with
/// `FPF_CALLBACK_FAILED`. Arguments and result otherwise as `fpf_find_fixed_points`.
///
/// # Safety
/// As for `fpf_find_fixed_points`, with `model` a live callback model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_callback_find_fixed_points(
    model: *const fpf_callback_model,
    opts: *const fpf_finder_options,
    inits: *const f64,
    n_inits: usize,
    inputs: *const f64,
    n_input_rows: usize,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe {
        fpf_callback_find_fixed_points_cond(
            model,
            opts,
            inits,
            n_inits,
            inputs,
            n_input_rows,
            std::ptr::null(),
            None,
            std::ptr::null_mut(),
            out,
        )
    }
}

/// [`fpf_callback_find_fixed_points`] with condition ids (`cond_ids`, NULL for none) and a
/// progress callback (`progress`, NULL for none; `user` is passed to it), as
/// `fpf_find_fixed_points_cond`.
///
/// # Safety
/// As for `fpf_find_fixed_points_cond`, with `model` a live callback model.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_callback_find_fixed_points_cond(
    model: *const fpf_callback_model,
    opts: *const fpf_finder_options,
    inits: *const f64,
    n_inits: usize,
    inputs: *const f64,
    n_input_rows: usize,
    cond_ids: *const i64,
    progress: fpf_progress_fn,
    user: *mut c_void,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    guard(|| {
        non_null(model, "model")?;
        // SAFETY: non-NULL; live by the caller's contract. Held for the call.
        let _hold = unsafe { Hold::new(model) };
        // SAFETY: as above.
        let m: &fpf_callback_model = unsafe { &*model };
        let make = |o| -> FfiResult<FixedPointFinder<'_>> {
            FixedPointFinder::for_map(m, o).map_err(crate::finder::analysis_error)
        };
        // SAFETY: forwarded contract.
        unsafe {
            crate::finder::find_with(
                (m.n_states, m.n_inputs),
                make,
                opts,
                inits,
                n_inits,
                inputs,
                n_input_rows,
                cond_ids,
                progress,
                user,
                out,
            )
        }
    })
}
