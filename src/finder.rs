//! C ABI: finder options, the fixed-point search, sampling initial states, and the result.

use crate::boundary::{
    FfiError, FfiResult, checked_len, finite, fpf_status, guard, guard_value, slice, slice_mut,
    write_c_string,
};
use crate::eig::eig_error;
use crate::log::{c_log, fpf_log_fn};
use crate::rnn::{InUse, fpf_rnn};
use crate::versioned::{self, Versioned};
use fpf_core::find::newton::NewtonOutcome;
use fpf_core::find::{FindError, FinderOptions, Method, Progress};
use fpf_std::analysis::{
    AnalysisError, FindResult, FixedPointFinder, FixedPoints, Trajectory, sample_states,
};
use std::os::raw::c_void;

/// Optimization method: `FPF_METHOD_JOINT`, `FPF_METHOD_SEQUENTIAL` or `FPF_METHOD_NEWTON`.
pub type fpf_method = u32;
/// All states in one Adam optimizer.
pub const FPF_METHOD_JOINT: fpf_method = 0;
/// One state at a time, each with a fresh optimizer.
pub const FPF_METHOD_SEQUENTIAL: fpf_method = 1;
/// Damped Newton only, no Adam.
pub const FPF_METHOD_NEWTON: fpf_method = 2;

/// Precision of the q-minimization: `FPF_DTYPE_FLOAT32` or `FPF_DTYPE_FLOAT64`.
pub type fpf_dtype = u32;
/// Single precision (the reference's default); Newton and eigenvalues always use double.
pub const FPF_DTYPE_FLOAT32: fpf_dtype = 0;
/// Double precision throughout.
pub const FPF_DTYPE_FLOAT64: fpf_dtype = 1;

/// Finder options. Fill with `fpf_finder_options_default` (or `fpf_finder_options_init`),
/// then edit. Field names, defaults and meanings follow the reference FixedPointFinder's
/// `find_fixed_points` (the Rust docs of `fpf_core::find::FinderOptions` say what each one
/// does).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fpf_finder_options {
    /// Bytes of this struct as the caller compiled it (set by `fpf_finder_options_default`
    /// and `_init`): fields past it keep their defaults, and bytes past this library's struct
    /// must be zero.
    pub struct_size: usize,
    /// `FPF_METHOD_JOINT` (default), `FPF_METHOD_SEQUENTIAL`, `FPF_METHOD_NEWTON`.
    pub method: fpf_method,
    /// Iteration cap of the q-minimization (5000).
    pub max_iters: usize,
    /// Stop a state when q < tol_q (1e-12) …
    pub tol_q: f64,
    /// … or when |Δq| < tol_dq · lr (1e-20).
    pub tol_dq: f64,
    /// Initial Adam learning rate (1.0).
    pub lr_init: f64,
    /// Plateau factor (0.95).
    pub lr_factor: f64,
    /// Plateau patience in iterations (5).
    pub lr_patience: usize,
    /// Plateau cooldown in iterations (0).
    pub lr_cooldown: usize,
    /// Fixed per-state gradient-norm clip, 0 = off (0).
    pub max_grad_norm: f64,
    /// Adaptive clip as a multiple of the running mean gradient norm, 0 = off (0).
    pub adaptive_grad_clip: f64,
    /// Polish every state with damped Newton in double precision (true).
    pub newton_polish: bool,
    /// Newton iteration cap (50).
    pub newton_max_iters: usize,
    /// Period k: find fixed points of F applied k times (1).
    pub period: usize,
    /// Compute dF/dx and dF/du at the unique points (true).
    pub do_compute_jacobians: bool,
    /// Eigen-decompose the Jacobians (true).
    pub do_decompose_jacobians: bool,
    /// Uniqueness distance on [x*, u] (1e-3).
    pub tol_unique: f64,
    /// Drop points far from the initial states (true).
    pub do_exclude_distance_outliers: bool,
    /// Distance-outlier threshold in mean initial distances (10).
    pub outlier_distance_scale: f64,
    /// Re-optimize q outliers sequentially (false).
    pub do_rerun_q_outliers: bool,
    /// q-outlier threshold as a multiple of the median q (10).
    pub outlier_q_scale: f64,
    /// Keep at most this many unique points, lowest q first (SIZE_MAX = unbounded).
    pub max_n_unique: usize,
    /// Final filter: keep points with q < final_q_threshold (1e-8).
    pub final_q_threshold: f64,
    /// `FPF_DTYPE_FLOAT32` (default) or `FPF_DTYPE_FLOAT64`.
    pub dtype: fpf_dtype,
    /// Send the pipeline's steps to `log` (false).
    pub verbose: bool,
    /// Print the optimizer every `n_iters_per_print_update` iterations (false).
    pub super_verbose: bool,
    /// Iterations between progress prints (100).
    pub n_iters_per_print_update: usize,
    /// Receives the `verbose` and `super_verbose` lines (NULL: they are dropped).
    pub log: fpf_log_fn,
    /// Passed to `log` unchanged.
    pub log_user: *mut c_void,
    /// Threads (0 = all cores, the default); results are the same for every count.
    pub n_threads: usize,
    /// A state that meets the stop rule stops iterating (true); false: the reference's
    /// iteration, every state until all meet it at once.
    pub freeze_converged: bool,
    /// Adam iterations before states are first handed to Newton, then after twice as many,
    /// and so on; those Newton converges from (locally) stop there. 0 (default): off, Adam
    /// to the stop rule on every state before Newton. Faster; may return a different subset
    /// of the fixed points of networks with many interleaved basins.
    pub newton_handoff_iters: usize,
}

/// Builds `$ty { special fields…, every option both structs name alike… }` from `$src`: the
/// one list of the options `FinderOptions` and `fpf_finder_options` share, for both
/// conversions.
macro_rules! finder_options {
    ($ty:ident { $($special:tt)* } from $src:expr) => {{
        let s = $src;
        $ty {
            $($special)*
            max_iters: s.max_iters,
            tol_q: s.tol_q,
            tol_dq: s.tol_dq,
            lr_init: s.lr_init,
            lr_factor: s.lr_factor,
            max_grad_norm: s.max_grad_norm,
            adaptive_grad_clip: s.adaptive_grad_clip,
            newton_polish: s.newton_polish,
            newton_max_iters: s.newton_max_iters,
            period: s.period,
            do_compute_jacobians: s.do_compute_jacobians,
            do_decompose_jacobians: s.do_decompose_jacobians,
            tol_unique: s.tol_unique,
            do_exclude_distance_outliers: s.do_exclude_distance_outliers,
            outlier_distance_scale: s.outlier_distance_scale,
            do_rerun_q_outliers: s.do_rerun_q_outliers,
            outlier_q_scale: s.outlier_q_scale,
            max_n_unique: s.max_n_unique,
            final_q_threshold: s.final_q_threshold,
            verbose: s.verbose,
            super_verbose: s.super_verbose,
            n_iters_per_print_update: s.n_iters_per_print_update,
            n_threads: s.n_threads,
            freeze_converged: s.freeze_converged,
            newton_handoff_iters: s.newton_handoff_iters,
        }
    }};
}

// SAFETY: #[repr(C)], `struct_size: usize` first.
unsafe impl Versioned for fpf_finder_options {
    const NAME: &'static str = "fpf_finder_options";
    fn defaults() -> Self {
        let o = FinderOptions::default();
        finder_options!(fpf_finder_options {
            struct_size: size_of::<fpf_finder_options>(),
            method: match o.method {
                Method::Joint => FPF_METHOD_JOINT,
                Method::Sequential => FPF_METHOD_SEQUENTIAL,
                Method::Newton => FPF_METHOD_NEWTON,
            },
            lr_patience: o.lr_patience as usize,
            lr_cooldown: o.lr_cooldown as usize,
            dtype: if o.single_precision {
                FPF_DTYPE_FLOAT32
            } else {
                FPF_DTYPE_FLOAT64
            },
            log: None,
            log_user: std::ptr::null_mut(),
        } from &o)
    }
}

fn bad_option(name: &str, why: &str) -> FfiError {
    FfiError::new(fpf_status::FPF_BAD_OPTION, format!("option `{name}` {why}"))
}

impl fpf_finder_options {
    /// Converts and validates.
    pub(crate) fn to_options(self) -> FfiResult<FinderOptions> {
        let method = match self.method {
            FPF_METHOD_JOINT => Method::Joint,
            FPF_METHOD_SEQUENTIAL => Method::Sequential,
            FPF_METHOD_NEWTON => Method::Newton,
            m => return Err(bad_option("method", &format!("is {m}; must be 0, 1 or 2"))),
        };
        let single_precision = match self.dtype {
            FPF_DTYPE_FLOAT32 => true,
            FPF_DTYPE_FLOAT64 => false,
            d => return Err(bad_option("dtype", &format!("is {d}; must be 0 or 1"))),
        };
        let small = |v: usize, name: &str| -> FfiResult<u32> {
            u32::try_from(v).map_err(|_| bad_option(name, "is too large"))
        };
        let o = finder_options!(FinderOptions {
            method,
            lr_patience: small(self.lr_patience, "lr_patience")?,
            lr_cooldown: small(self.lr_cooldown, "lr_cooldown")?,
            single_precision,
        } from self);
        o.validate()
            .map_err(|e| FfiError::new(fpf_status::FPF_BAD_OPTION, e.to_string()))?;
        Ok(o)
    }
}

/// Fills `opts` with the defaults (those of the reference's API) and `struct_size` =
/// `sizeof(fpf_finder_options)` of this header. NULL is ignored.
///
/// # Safety
/// `opts` must be NULL or point to a writable `fpf_finder_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_finder_options_default(opts: *mut fpf_finder_options) {
    guard_value((), || {
        if !opts.is_null() {
            // SAFETY: non-NULL, writable by the caller's contract.
            unsafe { opts.write(fpf_finder_options::defaults()) };
        }
    })
}

/// Fills the caller's `struct_size`-byte options with the defaults this library knows,
/// zeroes any bytes past them and sets `struct_size`: the way to fill options compiled
/// against another version of this header (`fpf_finder_options_init(&o, sizeof o)`).
/// Errors: `FPF_NULL_POINTER`, `FPF_BAD_SIZE` (`struct_size` smaller than a `size_t`).
///
/// # Safety
/// `opts` must be NULL or point to `struct_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_finder_options_init(
    opts: *mut fpf_finder_options,
    struct_size: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { versioned::init(opts, struct_size) })
}

/// Checks `opts` as `fpf_find_fixed_points` would, without searching: `FPF_OK`, or
/// `FPF_BAD_OPTION` with a message naming the first option out of range (`FPF_NULL_POINTER`,
/// `FPF_BAD_SIZE` for a bad `struct_size`).
///
/// # Safety
/// `opts` must be NULL or point to `opts->struct_size` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_finder_options_validate(
    opts: *const fpf_finder_options,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let opts = unsafe { versioned::read(opts, "opts")? };
        opts.to_options().map(|_| ())
    })
}

/// One iteration's statistics, passed to an `fpf_progress_fn`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fpf_progress {
    /// Iteration (0 = the initial evaluation).
    pub iter: usize,
    /// First state of the block being optimized (0 in joint mode).
    pub first_state: usize,
    /// States in the block.
    pub n_states: usize,
    /// Mean q.
    pub q_mean: f64,
    /// Standard deviation of q.
    pub q_std: f64,
    /// Mean |Δq|.
    pub dq_mean: f64,
    /// Standard deviation of |Δq|.
    pub dq_std: f64,
    /// Learning rate.
    pub lr: f64,
    /// True on the block's last call.
    pub done: bool,
}

/// Progress callback: called after every iteration; return false to stop the search, which
/// then fails with `FPF_CANCELLED`. `user` is passed through unchanged.
pub type fpf_progress_fn =
    Option<unsafe extern "C" fn(p: *const fpf_progress, user: *mut c_void) -> bool>;

/// The result of a search: unique fixed points (after every filter), the slow points the
/// final q filter removed, and all optimized states. Free with `fpf_fixed_points_free`.
pub struct fpf_fixed_points {
    pub(crate) result: FindResult,
}

pub(crate) fn analysis_error(e: AnalysisError) -> FfiError {
    let status = match &e {
        AnalysisError::Find(f) => match f {
            FindError::Option(_) => fpf_status::FPF_BAD_OPTION,
            FindError::Shape(_) | FindError::Workspace { .. } => fpf_status::FPF_LENGTH_MISMATCH,
            FindError::NotFinite { .. } => fpf_status::FPF_NOT_FINITE,
            FindError::Diverged { .. } => fpf_status::FPF_DIVERGED,
            FindError::Cancelled => fpf_status::FPF_CANCELLED,
            FindError::Model(_) => fpf_status::FPF_CALLBACK_FAILED,
        },
        AnalysisError::Eig { error, .. } => eig_error(*error).status,
        AnalysisError::Bad { .. } => fpf_status::FPF_BAD_OPTION,
        AnalysisError::Length { .. } => fpf_status::FPF_LENGTH_MISMATCH,
        AnalysisError::NotFinite { .. } | AnalysisError::OverflowsSingle { .. } => {
            fpf_status::FPF_NOT_FINITE
        }
        AnalysisError::OutOfMemory(_) => fpf_status::FPF_OUT_OF_MEMORY,
    };
    FfiError::new(status, e.to_string())
}

/// Finds the fixed points of `rnn` from `n_inits` initial states `inits`
/// (`n_inits × state_dim`) at constant inputs (`n_input_rows` = 1 shared row, or `n_inits`
/// rows, of `n_inputs` each). On success `*out` receives a new result handle.
///
/// # Safety
/// `rnn`, `opts` must be valid handles/structs; `inits` must hold `n_inits·state_dim`
/// doubles and `inputs` `n_input_rows·n_inputs` (may be NULL when `n_inputs` is 0); `out`
/// must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_find_fixed_points(
    rnn: *const fpf_rnn,
    opts: *const fpf_finder_options,
    inits: *const f64,
    n_inits: usize,
    inputs: *const f64,
    n_input_rows: usize,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe {
        fpf_find_fixed_points_progress(
            rnn,
            opts,
            inits,
            n_inits,
            inputs,
            n_input_rows,
            None,
            std::ptr::null_mut(),
            out,
        )
    }
}

/// [`fpf_find_fixed_points`] with a progress callback (`progress` may be NULL).
///
/// # Safety
/// As for `fpf_find_fixed_points`; `progress` must be safe to call with `user`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_find_fixed_points_progress(
    rnn: *const fpf_rnn,
    opts: *const fpf_finder_options,
    inits: *const f64,
    n_inits: usize,
    inputs: *const f64,
    n_input_rows: usize,
    progress: fpf_progress_fn,
    user: *mut c_void,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe {
        fpf_find_fixed_points_cond(
            rnn,
            opts,
            inits,
            n_inits,
            inputs,
            n_input_rows,
            std::ptr::null(),
            progress,
            user,
            out,
        )
    }
}

/// [`fpf_find_fixed_points_progress`] with a condition id per initial state: `cond_ids`
/// (`n_inits` values, or NULL for none) is carried along to every set of the result, where
/// the field `cond_id` reads it (the unique points keep the id of the state each came from).
///
/// # Safety
/// As for `fpf_find_fixed_points_progress`; `cond_ids` must be NULL or hold `n_inits`
/// readable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_find_fixed_points_cond(
    rnn: *const fpf_rnn,
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
        crate::boundary::non_null(rnn, "rnn")?;
        // Held for the call: the progress callback may read the handle, not change or free
        // it (a free is carried out when this call returns).
        // SAFETY: non-NULL; live by the caller's contract.
        let _hold = unsafe { InUse::hold(rnn) };
        let rnn = unsafe { &*rnn };
        let model = &rnn.model;
        let make = |o| -> FfiResult<FixedPointFinder<'_>> {
            FixedPointFinder::new(model.cell(), o).map_err(analysis_error)
        };
        // SAFETY: forwarded contract.
        unsafe {
            find_with(
                (model.state_dim(), model.n_inputs()),
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

/// The search behind `fpf_find_fixed_points_cond` and `fpf_callback_find_fixed_points_cond`
/// for a model of state size `dims.0` and input size `dims.1`, whose finder `make` builds
/// from the converted options: checks every argument, runs, writes `*out`.
///
/// # Safety
/// As for `fpf_find_fixed_points_cond`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn find_with<'a>(
    dims: (usize, usize),
    make: impl FnOnce(FinderOptions) -> FfiResult<FixedPointFinder<'a>>,
    opts: *const fpf_finder_options,
    inits: *const f64,
    n_inits: usize,
    inputs: *const f64,
    n_input_rows: usize,
    cond_ids: *const i64,
    progress: fpf_progress_fn,
    user: *mut c_void,
    out: *mut *mut fpf_fixed_points,
) -> FfiResult<()> {
    crate::boundary::non_null(opts, "opts")?;
    crate::boundary::non_null(out, "out")?;
    // SAFETY: the caller's contract: `struct_size` readable bytes.
    let opts = unsafe { versioned::read(opts, "opts")? };
    let o = opts.to_options()?;
    let (s, ni) = dims;
    if n_inits == 0 {
        return Err(FfiError::new(fpf_status::FPF_BAD_SIZE, "`n_inits` is 0"));
    }
    if n_input_rows != 1 && n_input_rows != n_inits {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!("`n_input_rows` is {n_input_rows}; must be 1 or n_inits = {n_inits}"),
        ));
    }
    let x = unsafe { slice(inits, checked_len(n_inits, s, "inits")?, "inits")? };
    let u_len = checked_len(n_input_rows, ni, "inputs")?;
    let u: &[f64] = if u_len == 0 {
        &[]
    } else {
        unsafe { slice(inputs, u_len, "inputs")? }
    };
    finite(x, "inits")?;
    finite(u, "inputs")?;
    let ids: Option<&[i64]> = if cond_ids.is_null() {
        None
    } else {
        // SAFETY: `n_inits` readable values by the caller's contract.
        Some(unsafe { slice(cond_ids, n_inits, "cond_ids")? })
    };
    let finder = make(o)?.with_log(c_log(opts.log, opts.log_user));
    let mut cb = |p: &Progress| -> bool {
        match progress {
            None => true,
            Some(f) => {
                let c = fpf_progress {
                    iter: p.iter,
                    first_state: p.first_state,
                    n_states: p.n_states,
                    q_mean: p.q_mean,
                    q_std: p.q_std,
                    dq_mean: p.dq_mean,
                    dq_std: p.dq_std,
                    lr: p.lr,
                    done: p.done,
                };
                // SAFETY: the caller vouches for the callback.
                unsafe { f(&c, user) }
            }
        }
    };
    let result = finder
        .find_fixed_points(x, u, ids, Some(&mut cb))
        .map_err(analysis_error)?;
    // SAFETY: `out` is non-NULL and writable.
    unsafe { *out = Box::into_raw(Box::new(fpf_fixed_points { result })) };
    Ok(())
}

/// Samples `n_inits` initial states from a trajectory `states`
/// (`n_batch × n_time × state_dim`) into `out` (`n_inits × state_dim`): valid entries
/// (`valid`, `n_batch × n_time` of 0/1, or NULL for all) without replacement unless more are
/// asked for than exist, plus Gaussian noise of standard deviation `noise_scale`,
/// reproducible from `seed`.
///
/// # Safety
/// Pointers must hold the documented numbers of elements; `valid` may be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_sample_states(
    states: *const f64,
    n_batch: usize,
    n_time: usize,
    state_dim: usize,
    valid: *const u8,
    n_inits: usize,
    noise_scale: f64,
    seed: u64,
    out: *mut f64,
) -> fpf_status {
    guard(|| {
        let bt = checked_len(n_batch, n_time, "n_batch × n_time")?;
        let total = checked_len(bt, state_dim, "trajectory")?;
        let out_len = checked_len(n_inits, state_dim, "out")?;
        if total == 0 || n_inits == 0 {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                "the trajectory is empty or `n_inits` is 0",
            ));
        }
        let st = unsafe { slice(states, total, "states")? };
        let mask: Option<Vec<bool>> = if valid.is_null() {
            None
        } else {
            Some(
                unsafe { slice(valid, bt, "valid")? }
                    .iter()
                    .map(|&b| b != 0)
                    .collect(),
            )
        };
        let o = unsafe { slice_mut(out, out_len, "out")? };
        let traj = Trajectory {
            states: st,
            n_batch,
            n_time,
            n_states: state_dim,
            valid: mask.as_deref(),
        };
        let s = sample_states(&traj, n_inits, noise_scale, seed).map_err(analysis_error)?;
        o.copy_from_slice(&s.states);
        Ok(())
    })
}

/// Frees a result; NULL is a no-op.
///
/// # Safety
/// `fps` must be NULL or a handle from `fpf_find_fixed_points`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_free(fps: *mut fpf_fixed_points) {
    guard_value((), || {
        if !fps.is_null() {
            // SAFETY: created by Box::into_raw in fpf_find_fixed_points.
            drop(unsafe { Box::from_raw(fps) });
        }
    })
}

pub(crate) fn unique<'a>(fps: *const fpf_fixed_points) -> FfiResult<&'a FixedPoints> {
    crate::boundary::non_null(fps, "fps")?;
    // SAFETY: non-NULL; a live handle by the caller's contract.
    Ok(unsafe { &(*fps).result.unique })
}

/// Number of unique fixed points (0 for NULL).
///
/// # Safety
/// `fps` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_len(fps: *const fpf_fixed_points) -> usize {
    guard_value(0, || unique(fps).map_or(0, |f| f.n))
}

/// Number of slow points the final q filter removed (0 for NULL).
///
/// # Safety
/// `fps` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_n_slow(fps: *const fpf_fixed_points) -> usize {
    guard_value(0, || {
        if fps.is_null() {
            0
        } else {
            // SAFETY: live handle.
            unsafe { (*fps).result.slow.n }
        }
    })
}

/// Writes the summary block (`=== Fixed Points Summary ===` …) into `buf` like
/// `fpf_last_error_message` does (truncated, NUL-terminated) and returns its full length.
///
/// # Safety
/// `fps` must be NULL or a live handle; `buf` NULL or `cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_summary(
    fps: *const fpf_fixed_points,
    buf: *mut std::os::raw::c_char,
    cap: usize,
) -> usize {
    guard_value(0, || {
        if fps.is_null() {
            return 0;
        }
        // SAFETY: non-NULL; a live handle by the caller's contract.
        let r = unsafe { &(*fps).result };
        // SAFETY: forwarded contract.
        unsafe { write_c_string(&r.summary(), buf, cap) }
    })
}

/// Which set of points `fpf_fixed_points_select` returns.
pub type fpf_set = u32;
/// The unique fixed points that passed every filter (what the accessors read by default).
pub const FPF_SET_UNIQUE: fpf_set = 0;
/// The unique points the final q filter removed (slow points).
pub const FPF_SET_SLOW: fpf_set = 1;
/// Every optimized state, before uniqueness and filters.
pub const FPF_SET_ALL: fpf_set = 2;

/// A new result handle whose accessors read the chosen set (`FPF_SET_UNIQUE`,
/// `FPF_SET_SLOW` or `FPF_SET_ALL`) of `fps`. Free it with `fpf_fixed_points_free`.
///
/// # Safety
/// `fps` must be a live handle and `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_select(
    fps: *const fpf_fixed_points,
    which: fpf_set,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    guard(|| {
        crate::boundary::non_null(fps, "fps")?;
        crate::boundary::non_null(out, "out")?;
        // SAFETY: a live handle by the caller's contract.
        let r = unsafe { &(*fps).result };
        let chosen = match which {
            FPF_SET_UNIQUE => r.unique.clone(),
            FPF_SET_SLOW => r.slow.clone(),
            FPF_SET_ALL => r.all.clone(),
            w => return Err(bad_option("which", &format!("is {w}; must be 0, 1 or 2"))),
        };
        let result = FindResult {
            unique: chosen,
            slow: r.slow.clone(),
            all: r.all.clone(),
        };
        // SAFETY: `out` is non-NULL and writable.
        unsafe { *out = Box::into_raw(Box::new(fpf_fixed_points { result })) };
        Ok(())
    })
}

/// How the Newton polish of a point ended.
pub type fpf_newton = u8;
/// Not run (newton_polish off).
pub const FPF_NEWTON_NOT_RUN: fpf_newton = 0;
/// Converged to q < 1e-24.
pub const FPF_NEWTON_CONVERGED: fpf_newton = 1;
/// No Newton step lowered q further (q at its floor, or a slow point).
pub const FPF_NEWTON_NO_PROGRESS: fpf_newton = 2;
/// `I − J` was singular; the point kept is the lowest-q one reached.
pub const FPF_NEWTON_SINGULAR: fpf_newton = 3;
/// The Newton iteration cap was reached.
pub const FPF_NEWTON_MAX_ITERS: fpf_newton = 4;

// The C constants are the kernel's codes (cbindgen needs them as literals).
const _: () = {
    assert!(FPF_NEWTON_NOT_RUN == NewtonOutcome::code(None));
    assert!(FPF_NEWTON_CONVERGED == NewtonOutcome::Converged as u8);
    assert!(FPF_NEWTON_NO_PROGRESS == NewtonOutcome::NoProgress as u8);
    assert!(FPF_NEWTON_SINGULAR == NewtonOutcome::Singular as u8);
    assert!(FPF_NEWTON_MAX_ITERS == NewtonOutcome::MaxIters as u8);
};
