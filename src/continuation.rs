//! C ABI: continuation of fixed points along a path of inputs (`fpf_continue_line`,
//! `fpf_continue_path`, the `fpf_continuation` result and its readers) and input sweeps
//! (`fpf_find_fixed_points_sweep`).

use std::os::raw::c_char;

use crate::boundary::{
    FfiError, FfiResult, c_name, checked_len, copy_out, finite, fpf_status, guard, guard_value,
    non_null, slice, write_c_string,
};
use crate::finder::{analysis_error, fpf_finder_options, fpf_fixed_points};
use crate::rnn::{InUse, fpf_rnn};
use crate::versioned::{self, Versioned};
use fpf_std::analysis::continuation::{
    BifurcationKind, BranchEnd, Continuation, ContinuationMethod, ContinuationOptions, InputPath,
    continue_fixed_points,
};

/// How branches are followed: `FPF_CONTINUATION_PSEUDO_ARCLENGTH` or
/// `FPF_CONTINUATION_NATURAL`.
pub type fpf_continuation_method = u32;
/// Pseudo-arclength (the default): steps along the branch's tangent; a branch goes round a
/// fold (saddle-node) and comes back as the branch it meets there.
pub const FPF_CONTINUATION_PSEUDO_ARCLENGTH: fpf_continuation_method = 0;
/// Natural parameter: steps in the input with the input held fixed in the corrector; a
/// branch ends at a fold.
pub const FPF_CONTINUATION_NATURAL: fpf_continuation_method = 1;

/// Why a branch stopped (`fpf_continuation_branch_end`).
pub type fpf_branch_end = u32;
/// It reached the path's last input.
pub const FPF_BRANCH_REACHED_END: fpf_branch_end = 0;
/// It came back to the path's first input (after a fold).
pub const FPF_BRANCH_RETURNED_TO_START: fpf_branch_end = 1;
/// The step fell below `step_min` (with `FPF_CONTINUATION_NATURAL`: usually a fold).
pub const FPF_BRANCH_STEP_TOO_SMALL: fpf_branch_end = 2;
/// `max_steps` steps were taken.
pub const FPF_BRANCH_MAX_STEPS: fpf_branch_end = 3;
/// The eigenvalues of a point's Jacobian could not be computed.
pub const FPF_BRANCH_EIGEN_FAILURE: fpf_branch_end = 4;

/// The kind of a bifurcation (the bifurcation field `kind`).
pub type fpf_bifurcation_kind = u32;
/// A real eigenvalue crosses +1 and the branch turns back in the input (a fold).
pub const FPF_BIFURCATION_SADDLE_NODE: fpf_bifurcation_kind = 0;
/// A real eigenvalue crosses +1 and the branch goes on (transcritical or pitchfork).
pub const FPF_BIFURCATION_BRANCH_POINT: fpf_bifurcation_kind = 1;
/// A real eigenvalue crosses −1.
pub const FPF_BIFURCATION_PERIOD_DOUBLING: fpf_bifurcation_kind = 2;
/// A complex pair crosses the unit circle.
pub const FPF_BIFURCATION_NEIMARK_SACKER: fpf_bifurcation_kind = 3;

// The C constants are the Rust codes (cbindgen needs them as literals).
const _: () = {
    assert!(FPF_CONTINUATION_PSEUDO_ARCLENGTH == ContinuationMethod::PseudoArclength as u32);
    assert!(FPF_CONTINUATION_NATURAL == ContinuationMethod::Natural as u32);
    assert!(FPF_BRANCH_REACHED_END == BranchEnd::ReachedEnd as u32);
    assert!(FPF_BRANCH_RETURNED_TO_START == BranchEnd::ReturnedToStart as u32);
    assert!(FPF_BRANCH_STEP_TOO_SMALL == BranchEnd::StepTooSmall as u32);
    assert!(FPF_BRANCH_MAX_STEPS == BranchEnd::MaxSteps as u32);
    assert!(FPF_BRANCH_EIGEN_FAILURE == BranchEnd::EigenFailure as u32);
    assert!(FPF_BIFURCATION_SADDLE_NODE == BifurcationKind::SaddleNode as u32);
    assert!(FPF_BIFURCATION_BRANCH_POINT == BifurcationKind::BranchPoint as u32);
    assert!(FPF_BIFURCATION_PERIOD_DOUBLING == BifurcationKind::PeriodDoubling as u32);
    assert!(FPF_BIFURCATION_NEIMARK_SACKER == BifurcationKind::NeimarkSacker as u32);
};

/// Continuation options. Fill with `fpf_continuation_options_default` (or `_init`), then
/// edit. Lengths are in units of the path's arclength: `√(‖Δx‖² + ‖Δu‖²)` for
/// pseudo-arclength steps, `‖Δu‖` for natural-parameter steps.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fpf_continuation_options {
    /// Bytes of this struct as the caller compiled it (set by the `_default` and `_init`
    /// functions): fields past it keep their defaults, bytes past this library's struct must
    /// be zero.
    pub struct_size: usize,
    /// `FPF_CONTINUATION_PSEUDO_ARCLENGTH` (default) or `FPF_CONTINUATION_NATURAL`.
    pub method: fpf_continuation_method,
    /// Largest step; 0 (default): the smaller of the mean node spacing and 1/20 of the
    /// path's length.
    pub step_max: f64,
    /// Smallest step before a branch is given up; 0 (default): `step_max · 1e-6`.
    pub step_min: f64,
    /// First step; 0 (default): `step_max / 4`.
    pub step_init: f64,
    /// Cap on the steps (attempts) of one branch (10000).
    pub max_steps: usize,
    /// Newton iterations of one corrector (10).
    pub corrector_max_iters: usize,
    /// A corrector has converged when `q = ½‖x − G(x)‖² < tol_q` (1e-24).
    pub tol_q: f64,
    /// The bisection of a bifurcation stops when its bracket is shorter than this, relative
    /// to the bracketing step (1e-12).
    pub refine_tol: f64,
    /// Points closer than this are the same (matching seeds with branches; 1e-6).
    pub tol_same: f64,
    /// Period k: follow fixed points of F applied k times (1).
    pub period: usize,
    /// Threads across branches (0 = all cores, the default); results are the same for every
    /// count.
    pub n_threads: usize,
}

// SAFETY: #[repr(C)], `struct_size: usize` first.
unsafe impl Versioned for fpf_continuation_options {
    const NAME: &'static str = "fpf_continuation_options";
    fn defaults() -> Self {
        let o = ContinuationOptions::default();
        fpf_continuation_options {
            struct_size: size_of::<fpf_continuation_options>(),
            method: o.method as u32,
            step_max: o.step_max,
            step_min: o.step_min,
            step_init: o.step_init,
            max_steps: o.max_steps,
            corrector_max_iters: o.corrector_max_iters,
            tol_q: o.tol_q,
            refine_tol: o.refine_tol,
            tol_same: o.tol_same,
            period: o.period,
            n_threads: o.n_threads,
        }
    }
}

impl fpf_continuation_options {
    fn to_options(self) -> FfiResult<ContinuationOptions> {
        let method = match self.method {
            FPF_CONTINUATION_PSEUDO_ARCLENGTH => ContinuationMethod::PseudoArclength,
            FPF_CONTINUATION_NATURAL => ContinuationMethod::Natural,
            m => {
                return Err(FfiError::new(
                    fpf_status::FPF_BAD_OPTION,
                    format!("option `method` is {m}; must be 0 or 1"),
                ));
            }
        };
        let o = ContinuationOptions {
            method,
            step_max: self.step_max,
            step_min: self.step_min,
            step_init: self.step_init,
            max_steps: self.max_steps,
            corrector_max_iters: self.corrector_max_iters,
            tol_q: self.tol_q,
            refine_tol: self.refine_tol,
            tol_same: self.tol_same,
            period: self.period,
            n_threads: self.n_threads,
        };
        o.validate().map_err(analysis_error)?;
        Ok(o)
    }
}

/// Fills `opts` with the defaults and `struct_size` = `sizeof(fpf_continuation_options)` of
/// this header. NULL is ignored.
///
/// # Safety
/// `opts` must be NULL or point to a writable `fpf_continuation_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_options_default(opts: *mut fpf_continuation_options) {
    guard_value((), || {
        if !opts.is_null() {
            // SAFETY: non-NULL, writable by the caller's contract.
            unsafe { opts.write(fpf_continuation_options::defaults()) };
        }
    })
}

/// Fills the caller's `struct_size`-byte options with the defaults this library knows,
/// zeroes any bytes past them and sets `struct_size` (for options compiled against another
/// version of this header). Errors: `FPF_NULL_POINTER`, `FPF_BAD_SIZE`.
///
/// # Safety
/// `opts` must be NULL or point to `struct_size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_options_init(
    opts: *mut fpf_continuation_options,
    struct_size: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    guard(|| unsafe { versioned::init(opts, struct_size) })
}

/// Checks `opts` as the continuation would: `FPF_OK`, or `FPF_BAD_OPTION` naming the first
/// option out of range (`FPF_NULL_POINTER`, `FPF_BAD_SIZE` for a bad `struct_size`).
///
/// # Safety
/// `opts` must be NULL or point to `opts->struct_size` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_options_validate(
    opts: *const fpf_continuation_options,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let opts = unsafe { versioned::read(opts, "opts")? };
        opts.to_options().map(|_| ())
    })
}

/// The result of a continuation: branches (each a sequence of points with their inputs,
/// eigenvalues and stability) and bifurcations. Free with `fpf_continuation_free`.
pub struct fpf_continuation {
    result: Continuation,
}

/// Runs the continuation of `seeds` on `rnn` along `path`, into a new handle at `out`.
///
/// # Safety
/// `rnn`, `opts` valid; `seeds` `n_seeds·state_dim` readable doubles; `out` writable.
unsafe fn run(
    rnn: *const fpf_rnn,
    opts: *const fpf_continuation_options,
    seeds: *const f64,
    n_seeds: usize,
    path: impl FnOnce(usize) -> FfiResult<InputPath>,
    out: *mut *mut fpf_continuation,
) -> FfiResult<()> {
    non_null(rnn, "rnn")?;
    non_null(opts, "opts")?;
    non_null(out, "out")?;
    // SAFETY: non-NULL; live by the caller's contract.
    let rnn = unsafe { &*rnn };
    // SAFETY: the caller's contract: `struct_size` readable bytes.
    let o = unsafe { versioned::read(opts, "opts")? }.to_options()?;
    let model = &rnn.model;
    let (s, ni) = (model.state_dim(), model.n_inputs());
    if ni == 0 {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            "the network has no inputs: there is no input path to follow",
        ));
    }
    if n_seeds == 0 {
        return Err(FfiError::new(fpf_status::FPF_BAD_SIZE, "`n_seeds` is 0"));
    }
    // SAFETY: `n_seeds·state_dim` readable doubles by the caller's contract.
    let x = unsafe { slice(seeds, checked_len(n_seeds, s, "seeds")?, "seeds")? };
    finite(x, "seeds")?;
    let path = path(ni)?;
    let result = continue_fixed_points(model.cell(), x, &path, &o).map_err(analysis_error)?;
    // SAFETY: `out` is non-NULL and writable.
    unsafe { *out = Box::into_raw(Box::new(fpf_continuation { result })) };
    Ok(())
}

/// Follows the fixed points `seeds` (`n_seeds × state_dim`, fixed points at the input `u0`,
/// e.g. the `xstar` of an `fpf_find_fixed_points` at `u0`) along the line from `u0` to `u1`
/// (`n_inputs` each) in `n_steps` segments: each branch gets a point exactly at each of the
/// `n_steps + 1` inputs it passes. On success `*out` receives a new handle.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_BAD_SIZE` (`n_seeds` or `n_steps` 0, a network without
/// inputs), `FPF_NOT_FINITE`, `FPF_BAD_OPTION` (an option, or `u0 = u1`),
/// `FPF_OUT_OF_MEMORY`. A seed from which Newton does not converge at `u0` gets no branch
/// (`fpf_continuation_seed_branch` says −1); it is not an error.
///
/// # Safety
/// `rnn` and `opts` must be valid; `seeds` must hold `n_seeds·state_dim` doubles, `u0` and
/// `u1` `n_inputs` each; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continue_line(
    rnn: *const fpf_rnn,
    opts: *const fpf_continuation_options,
    seeds: *const f64,
    n_seeds: usize,
    u0: *const f64,
    u1: *const f64,
    n_steps: usize,
    out: *mut *mut fpf_continuation,
) -> fpf_status {
    guard(|| {
        let path = |ni: usize| -> FfiResult<InputPath> {
            // SAFETY: `n_inputs` readable doubles each by the caller's contract.
            let (a, b) = unsafe { (slice(u0, ni, "u0")?, slice(u1, ni, "u1")?) };
            finite(a, "u0")?;
            finite(b, "u1")?;
            if n_steps == 0 {
                return Err(FfiError::new(fpf_status::FPF_BAD_SIZE, "`n_steps` is 0"));
            }
            InputPath::line(a, b, n_steps).map_err(analysis_error)
        };
        // SAFETY: forwarded contract.
        unsafe { run(rnn, opts, seeds, n_seeds, path, out) }
    })
}

/// [`fpf_continue_line`] along the caller's path: `inputs` (`n_rows × n_inputs`, at least
/// two rows, no two consecutive rows equal), followed piecewise linearly from the first row;
/// the seeds are fixed points at the first row.
///
/// # Safety
/// As `fpf_continue_line`; `inputs` must hold `n_rows·n_inputs` doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continue_path(
    rnn: *const fpf_rnn,
    opts: *const fpf_continuation_options,
    seeds: *const f64,
    n_seeds: usize,
    inputs: *const f64,
    n_rows: usize,
    out: *mut *mut fpf_continuation,
) -> fpf_status {
    guard(|| {
        let path = |ni: usize| -> FfiResult<InputPath> {
            if n_rows < 2 {
                return Err(FfiError::new(
                    fpf_status::FPF_BAD_SIZE,
                    format!("`n_rows` is {n_rows}; a path needs at least 2"),
                ));
            }
            let len = checked_len(n_rows, ni, "inputs")?;
            // SAFETY: `n_rows·n_inputs` readable doubles by the caller's contract.
            let rows = unsafe { slice(inputs, len, "inputs")? };
            finite(rows, "inputs")?;
            InputPath::rows(rows, ni).map_err(analysis_error)
        };
        // SAFETY: forwarded contract.
        unsafe { run(rnn, opts, seeds, n_seeds, path, out) }
    })
}

/// Frees a continuation result; NULL is a no-op.
///
/// # Safety
/// `c` must be NULL or a handle from `fpf_continue_line`/`_path`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_free(c: *mut fpf_continuation) {
    guard_value((), || {
        if !c.is_null() {
            // SAFETY: created by Box::into_raw in `run`.
            drop(unsafe { Box::from_raw(c) });
        }
    })
}

fn result<'a>(c: *const fpf_continuation) -> FfiResult<&'a Continuation> {
    non_null(c, "c")?;
    // SAFETY: non-NULL; a live handle by the caller's contract.
    Ok(unsafe { &(*c).result })
}

/// Number of branches (0 for NULL).
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_n_branches(c: *const fpf_continuation) -> usize {
    guard_value(0, || result(c).map_or(0, |r| r.branches.len()))
}

/// Number of points of branch `branch` (0 for NULL or a branch out of range).
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_len(
    c: *const fpf_continuation,
    branch: usize,
) -> usize {
    guard_value(0, || {
        result(c)
            .ok()
            .and_then(|r| r.branches.get(branch))
            .map_or(0, |b| b.n)
    })
}

fn branch_of<'a>(
    c: *const fpf_continuation,
    branch: usize,
) -> FfiResult<&'a fpf_std::analysis::continuation::Branch> {
    let r = result(c)?;
    r.branches.get(branch).ok_or_else(|| {
        FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!(
                "`branch` is {branch}; the result has {} branches",
                r.branches.len()
            ),
        )
    })
}

/// Why branch `branch` stopped (`FPF_BRANCH_*`), into `*out`. Errors: `FPF_NULL_POINTER`,
/// `FPF_BAD_SIZE` (a branch out of range).
///
/// # Safety
/// `c` must be a live handle and `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_end(
    c: *const fpf_continuation,
    branch: usize,
    out: *mut fpf_branch_end,
) -> fpf_status {
    guard(|| {
        let b = branch_of(c, branch)?;
        let code = b.end.map_or(FPF_BRANCH_MAX_STEPS, |e| e as u32);
        // SAFETY: forwarded contract.
        unsafe { copy_out(&[code], out, 1, "end") }
    })
}

/// A branch field's values in the C element type, or the error naming what is wrong.
enum Column {
    F64(Vec<f64>),
    Size(Vec<usize>),
    U8(Vec<u8>),
    I64(Vec<i64>),
}

impl Column {
    fn type_name(&self) -> &'static str {
        match self {
            Column::F64(_) => "double (read it with the _f64 reader)",
            Column::Size(_) => "size_t (read it with the _size reader)",
            Column::U8(_) => "uint8_t (read it with the _u8 reader)",
            Column::I64(_) => "int64_t (read it with the _i64 reader)",
        }
    }
}

/// The names of a branch's per-point fields.
const BRANCH_FIELDS: &str = "sigma, inputs, xstar, qstar, eigval_re, eigval_im, max_abs_eig \
                             (double), is_stable (uint8_t), n_unstable, seeds (size_t), node \
                             (int64_t)";

fn branch_column(c: *const fpf_continuation, branch: usize, name: &str) -> FfiResult<Column> {
    let b = branch_of(c, branch)?;
    Ok(match name {
        "sigma" => Column::F64(b.sigma.clone()),
        "inputs" => Column::F64(b.inputs.clone()),
        "xstar" => Column::F64(b.xstar.clone()),
        "qstar" => Column::F64(b.qstar.clone()),
        "eigval_re" => Column::F64(b.eigval_re.clone()),
        "eigval_im" => Column::F64(b.eigval_im.clone()),
        "max_abs_eig" => Column::F64(b.max_abs_eig.clone()),
        "is_stable" => Column::U8(b.is_stable.iter().map(|&v| v as u8).collect()),
        "n_unstable" => Column::Size(b.n_unstable.clone()),
        "seeds" => Column::Size(b.seeds.clone()),
        "node" => Column::I64(b.node.iter().map(|k| k.map_or(-1, |k| k as i64)).collect()),
        _ => {
            return Err(FfiError::new(
                fpf_status::FPF_UNKNOWN_NAME,
                format!("no branch field \"{name}\"; fields: {BRANCH_FIELDS}"),
            ));
        }
    })
}

/// The names of the bifurcation fields.
const BIFURCATION_FIELDS: &str = "sigma, inputs, xstar, eig, eig_before, eig_after, q \
                                  (double), kind, branch, before (size_t), turned, refined \
                                  (uint8_t)";

fn bifurcation_column(c: *const fpf_continuation, name: &str) -> FfiResult<Column> {
    let r = result(c)?;
    let f = &r.bifurcations;
    let refined = |get: &dyn Fn(&fpf_std::analysis::continuation::BifurcationPoint) -> Vec<f64>,
                   width: usize| {
        f.iter()
            .flat_map(|b| match &b.refined {
                Some(p) => get(p),
                None => vec![f64::NAN; width],
            })
            .collect::<Vec<f64>>()
    };
    Ok(match name {
        "sigma" => Column::F64(refined(&|p| vec![p.sigma], 1)),
        "inputs" => Column::F64(refined(&|p| p.inputs.clone(), r.n_inputs)),
        "xstar" => Column::F64(refined(&|p| p.xstar.clone(), r.n_states)),
        "eig" => Column::F64(refined(&|p| p.eig.to_vec(), 2)),
        "q" => Column::F64(refined(&|p| vec![p.q], 1)),
        "eig_before" => Column::F64(f.iter().flat_map(|b| b.eig_before).collect()),
        "eig_after" => Column::F64(f.iter().flat_map(|b| b.eig_after).collect()),
        "kind" => Column::Size(f.iter().map(|b| b.kind as usize).collect()),
        "branch" => Column::Size(f.iter().map(|b| b.branch).collect()),
        "before" => Column::Size(f.iter().map(|b| b.before).collect()),
        "turned" => Column::U8(f.iter().map(|b| b.turned as u8).collect()),
        "refined" => Column::U8(f.iter().map(|b| b.refined.is_some() as u8).collect()),
        _ => {
            return Err(FfiError::new(
                fpf_status::FPF_UNKNOWN_NAME,
                format!("no bifurcation field \"{name}\"; fields: {BIFURCATION_FIELDS}"),
            ));
        }
    })
}

/// Copies `col` into the caller's `out` if it holds `T`s (`pick` extracts them).
///
/// # Safety
/// `out` NULL or `len` writable elements.
unsafe fn copy_column<T: Copy>(
    col: Column,
    pick: fn(&Column) -> Option<&Vec<T>>,
    name: &str,
    out: *mut T,
    len: usize,
) -> FfiResult<()> {
    match pick(&col) {
        // SAFETY: forwarded contract.
        Some(v) => unsafe { copy_out(v, out, len, name) },
        None => Err(FfiError::new(
            fpf_status::FPF_BAD_OPTION,
            format!("field `{name}` holds {}", col.type_name()),
        )),
    }
}

/// Reads a branch field (`pick` takes the values of the reader's type).
///
/// # Safety
/// `c` NULL or a live handle, `name` NULL or NUL-terminated, `out` NULL or `len` writable
/// elements.
unsafe fn read_branch<T: Copy>(
    c: *const fpf_continuation,
    branch: usize,
    name: *const c_char,
    pick: fn(&Column) -> Option<&Vec<T>>,
    out: *mut T,
    len: usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let name = unsafe { c_name(name, "branch field name")? };
        let col = branch_column(c, branch, name)?;
        // SAFETY: forwarded contract.
        unsafe { copy_column(col, pick, name, out, len) }
    })
}

/// Reads a bifurcation field, as [`read_branch`].
///
/// # Safety
/// As [`read_branch`].
unsafe fn read_bifurcations<T: Copy>(
    c: *const fpf_continuation,
    name: *const c_char,
    pick: fn(&Column) -> Option<&Vec<T>>,
    out: *mut T,
    len: usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let name = unsafe { c_name(name, "bifurcation field name")? };
        let col = bifurcation_column(c, name)?;
        // SAFETY: forwarded contract.
        unsafe { copy_column(col, pick, name, out, len) }
    })
}

/// Copies the `double` field `name` of branch `branch` into `out`; `len` must be its
/// length: `sigma` (the position along the path, the input-space arclength from the first
/// input; 1 per point), `inputs` (n_inputs per point), `xstar` (state_dim), `qstar` (1),
/// `eigval_re`, `eigval_im` (state_dim: eigenvalues of the Jacobian, sorted by modulus,
/// largest first), `max_abs_eig` (1). Errors: `FPF_UNKNOWN_NAME`, `FPF_BAD_OPTION` (a field
/// of another type), `FPF_BAD_SIZE` (a branch out of range), `FPF_LENGTH_MISMATCH`,
/// `FPF_NULL_POINTER`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_field_f64(
    c: *const fpf_continuation,
    branch: usize,
    name: *const c_char,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<f64>> = |c| match c {
        Column::F64(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_branch(c, branch, name, pick, out, len) }
}

/// Copies the `double` bifurcation field `name` of every bifurcation, one after the other
/// in the order of `fpf_continuation_n_bifurcations`, into `out` (`len` must be its length).
/// Fields: `sigma` (1 per bifurcation), `inputs` (n_inputs), `xstar` (state_dim), `eig` (2:
/// re, im), `q` (1) of the point refined by bisection (NaN where it was not refined);
/// `eig_before`, `eig_after` (2 each: the crossing eigenvalue at the neighbouring points)
/// as `double`; `kind` (`FPF_BIFURCATION_*`), `branch`, `before` (the branch point before
/// it; the one after is `before + 1`) as `size_t`; `turned`, `refined` as `uint8_t`.
/// Errors as `fpf_continuation_branch_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_bifurcation_field_f64(
    c: *const fpf_continuation,
    name: *const c_char,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<f64>> = |c| match c {
        Column::F64(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_bifurcations(c, name, pick, out, len) }
}

/// Copies the `size_t` field `name` of a branch (`n_unstable`: eigenvalues with |λ| > 1, one
/// per point; `seeds`: the indices of the seeds on the branch, `fpf_continuation_branch_n_seeds`
/// of them), as `fpf_continuation_branch_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_field_size(
    c: *const fpf_continuation,
    branch: usize,
    name: *const c_char,
    out: *mut usize,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<usize>> = |c| match c {
        Column::Size(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_branch(c, branch, name, pick, out, len) }
}

/// Copies the `size_t` bifurcation field `name` of every bifurcation, one after the other
/// in the order of `fpf_continuation_n_bifurcations`, into `out` (`len` must be its length).
/// The fields and errors are listed at `fpf_continuation_bifurcation_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_bifurcation_field_size(
    c: *const fpf_continuation,
    name: *const c_char,
    out: *mut usize,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<usize>> = |c| match c {
        Column::Size(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_bifurcations(c, name, pick, out, len) }
}

/// Copies the `uint8_t` field `name` of a branch (`is_stable`: max |λ| < 1, one per point),
/// as `fpf_continuation_branch_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_field_u8(
    c: *const fpf_continuation,
    branch: usize,
    name: *const c_char,
    out: *mut u8,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<u8>> = |c| match c {
        Column::U8(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_branch(c, branch, name, pick, out, len) }
}

/// Copies the `uint8_t` bifurcation field `name` of every bifurcation, one after the other
/// in the order of `fpf_continuation_n_bifurcations`, into `out` (`len` must be its length).
/// The fields and errors are listed at `fpf_continuation_bifurcation_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_bifurcation_field_u8(
    c: *const fpf_continuation,
    name: *const c_char,
    out: *mut u8,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<u8>> = |c| match c {
        Column::U8(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_bifurcations(c, name, pick, out, len) }
}

/// Copies the `int64_t` field `name` of a branch (`node`: the index of the path input a
/// point sits on exactly, −1 between inputs), as `fpf_continuation_branch_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_field_i64(
    c: *const fpf_continuation,
    branch: usize,
    name: *const c_char,
    out: *mut i64,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<i64>> = |c| match c {
        Column::I64(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_branch(c, branch, name, pick, out, len) }
}

/// Copies the `int64_t` bifurcation field `name` of every bifurcation, one after the other
/// in the order of `fpf_continuation_n_bifurcations`, into `out` (`len` must be its length).
/// The fields and errors are listed at `fpf_continuation_bifurcation_field_f64`.
///
/// # Safety
/// `c` must be a live handle, `name` a NUL-terminated string, `out` `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_bifurcation_field_i64(
    c: *const fpf_continuation,
    name: *const c_char,
    out: *mut i64,
    len: usize,
) -> fpf_status {
    let pick: fn(&Column) -> Option<&Vec<i64>> = |c| match c {
        Column::I64(v) => Some(v),
        _ => None,
    };
    // SAFETY: forwarded contract.
    unsafe { read_bifurcations(c, name, pick, out, len) }
}

/// Number of seeds on branch `branch` (the length of its `seeds` field; 0 for NULL or a
/// branch out of range).
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_branch_n_seeds(
    c: *const fpf_continuation,
    branch: usize,
) -> usize {
    guard_value(0, || branch_of(c, branch).map_or(0, |b| b.seeds.len()))
}

/// The branch of each seed into `out` (`n_seeds` values): its index, or −1 where Newton
/// did not converge from the seed at the first input. Errors: `FPF_NULL_POINTER`,
/// `FPF_LENGTH_MISMATCH`.
///
/// # Safety
/// `c` must be a live handle and `out` `n_seeds` writable values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_seed_branch(
    c: *const fpf_continuation,
    out: *mut i64,
    n_seeds: usize,
) -> fpf_status {
    guard(|| {
        let r = result(c)?;
        let v: Vec<i64> = r
            .seed_branch
            .iter()
            .map(|b| b.map_or(-1, |b| b as i64))
            .collect();
        // SAFETY: forwarded contract.
        unsafe { copy_out(&v, out, n_seeds, "seed_branch") }
    })
}

/// Number of bifurcations (0 for NULL).
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_n_bifurcations(c: *const fpf_continuation) -> usize {
    guard_value(0, || result(c).map_or(0, |r| r.bifurcations.len()))
}

/// Writes the summary (`=== Continuation Summary ===`: branches, their seeds, ranges and
/// ends, then the bifurcations) into `buf` like `fpf_last_error_message` (truncated,
/// NUL-terminated) and returns its full length.
///
/// # Safety
/// `c` must be NULL or a live handle; `buf` NULL or `cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_continuation_summary(
    c: *const fpf_continuation,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_value(0, || match result(c) {
        // SAFETY: forwarded contract.
        Ok(r) => unsafe { write_c_string(&r.summary(), buf, cap) },
        Err(_) => 0,
    })
}

/// The whole search at each of `n_rows` inputs (`inputs`, `n_rows × n_inputs`) from the same
/// `n_inits` initial states, in one call: on `opts->n_threads` threads across inputs; with
/// `seed_from_previous`, each input's points are then merged (in input order) with those
/// Newton reaches from the previous input's points. On success `out[r]` receives a new
/// result handle for input row `r` (free each with `fpf_fixed_points_free`); on error no
/// handle is written.
///
/// # Safety
/// `rnn` and `opts` must be valid; `inits` must hold `n_inits·state_dim` doubles, `inputs`
/// `n_rows·n_inputs`; `out` must have room for `n_rows` pointers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_find_fixed_points_sweep(
    rnn: *const fpf_rnn,
    opts: *const fpf_finder_options,
    inits: *const f64,
    n_inits: usize,
    inputs: *const f64,
    n_rows: usize,
    seed_from_previous: bool,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    guard(|| {
        non_null(rnn, "rnn")?;
        non_null(opts, "opts")?;
        non_null(out, "out")?;
        // Held for the call: the log callback may read the handle, not change or free it.
        // SAFETY: non-NULL; live by the caller's contract.
        let _hold = unsafe { InUse::hold(rnn) };
        // SAFETY: non-NULL; live by the caller's contract.
        let rnn = unsafe { &*rnn };
        // SAFETY: the caller's contract: `struct_size` readable bytes.
        let c_opts = unsafe { versioned::read(opts, "opts")? };
        let o = c_opts.to_options()?;
        let model = &rnn.model;
        let (s, ni) = (model.state_dim(), model.n_inputs());
        if ni == 0 {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                "the network has no inputs: there is nothing to sweep",
            ));
        }
        if n_inits == 0 || n_rows == 0 {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                "`n_inits` and `n_rows` must be at least 1",
            ));
        }
        // SAFETY: sizes by the caller's contract.
        let x = unsafe { slice(inits, checked_len(n_inits, s, "inits")?, "inits")? };
        let u = unsafe { slice(inputs, checked_len(n_rows, ni, "inputs")?, "inputs")? };
        // SAFETY: room for `n_rows` pointers by the caller's contract.
        let handles = unsafe { crate::boundary::slice_mut(out, n_rows, "out")? };
        finite(x, "inits")?;
        finite(u, "inputs")?;
        let finder = fpf_std::analysis::FixedPointFinder::new(model.cell(), o)
            .map_err(analysis_error)?
            .with_log(crate::log::c_log(c_opts.log, c_opts.log_user));
        let sweep = finder
            .sweep(x, u, seed_from_previous)
            .map_err(analysis_error)?;
        for (h, result) in handles.iter_mut().zip(sweep.results) {
            *h = Box::into_raw(Box::new(fpf_fixed_points { result }));
        }
        Ok(())
    })
}
