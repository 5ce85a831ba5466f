//! C ABI: models (`fpf_rnn`), their named parameters, single steps and whole trajectories.

use std::os::raw::c_char;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::boundary::{
    FfiError, FfiResult, c_name, checked_len, fpf_status, guard, guard_value, non_null, slice,
    slice_mut,
};
use fpf_core::cell::{Activation, CellKind, CellShape};
use fpf_std::model::{Model, ModelError};

/// The kind of recurrent cell: one of the `FPF_CELL_*` constants. Any other value is rejected
/// with `FPF_BAD_OPTION`.
pub type fpf_cell = u32;

/// Elman cell `F = tanh(x W_ih + h W_hh + b_h)`.
pub const FPF_CELL_TANH: fpf_cell = 0;
/// GRU in the reference's "reset before" convention: `n = tanh(x W_in + (r∘h) W_hn + b_n)`.
pub const FPF_CELL_GRU: fpf_cell = 1;
/// GRU in PyTorch's "reset after" convention (`torch.nn.GRU`).
pub const FPF_CELL_GRU_TORCH: fpf_cell = 2;
/// LSTM (`torch.nn.LSTM`); the state is `[h, c]` of length `2H`.
pub const FPF_CELL_LSTM: fpf_cell = 3;
/// Leaky rate cell `h' = (1 − α) h + α tanh(x W_ih + h W_hh + b_h)` (`fpf_rnn_new_leaky`).
pub const FPF_CELL_LEAKY_TANH: fpf_cell = 4;
/// Leaky rate cell with φ = ReLU (`φ'(0)` taken as 0; points on the kink are counted in the
/// `n_kink` field).
pub const FPF_CELL_LEAKY_RELU: fpf_cell = 5;
/// Leaky rate cell with φ = softplus `ln(1 + e^a)`.
pub const FPF_CELL_LEAKY_SOFTPLUS: fpf_cell = 6;
/// Leaky rate cell with φ = sigmoid.
pub const FPF_CELL_LEAKY_SIGMOID: fpf_cell = 7;
/// Returned by `fpf_rnn_cell` for a NULL handle; never accepted as input.
pub const FPF_CELL_INVALID: fpf_cell = 0xFFFF_FFFF;

/// The nonlinearity φ of a leaky rate cell: one of the `FPF_ACTIVATION_*` constants. Any
/// other value is rejected with `FPF_BAD_OPTION`.
pub type fpf_activation = u32;
/// φ = tanh (cell kind `FPF_CELL_LEAKY_TANH`).
pub const FPF_ACTIVATION_TANH: fpf_activation = 0;
/// φ = ReLU, `max(a, 0)`, with `φ'(0) = 0` (`FPF_CELL_LEAKY_RELU`).
pub const FPF_ACTIVATION_RELU: fpf_activation = 1;
/// φ = softplus, `ln(1 + e^a)` (`FPF_CELL_LEAKY_SOFTPLUS`).
pub const FPF_ACTIVATION_SOFTPLUS: fpf_activation = 2;
/// φ = sigmoid, `1 / (1 + e^{−a})` (`FPF_CELL_LEAKY_SIGMOID`).
pub const FPF_ACTIVATION_SIGMOID: fpf_activation = 3;

/// A recurrent network in double precision: cell, readout `y = h W_out + b_out` and initial
/// state `h0`. Opaque; create with `fpf_rnn_new`, release with `fpf_rnn_free`.
///
/// While a call with callbacks runs on a handle (`fpf_find_fixed_points_progress`,
/// `fpf_train`), its callbacks may read the handle (get_param, run, checkpoint_save: during
/// training they see the weights of the epoch just finished), but calls that would change
/// it (`fpf_rnn_set_param`, `fpf_checkpoint_load_into`) fail with `FPF_BUSY`, and
/// `fpf_rnn_free` only marks it: the running call frees it when it returns.
pub struct fpf_rnn {
    pub(crate) model: Model<f64>,
    /// Running calls that hold the handle (see [`InUse`]).
    users: AtomicUsize,
    /// `fpf_rnn_free` came while in use: the last user frees the handle.
    free_requested: AtomicBool,
}

/// A running call's hold on a handle: while one exists the handle cannot be changed and a
/// free is deferred to the drop of the last hold.
pub(crate) struct InUse(*mut fpf_rnn);

impl InUse {
    /// Holds `rnn` (non-NULL, live).
    ///
    /// # Safety
    /// `rnn` must be a live handle.
    pub(crate) unsafe fn hold(rnn: *const fpf_rnn) -> InUse {
        // SAFETY: live by the caller's contract; the counter is atomic.
        unsafe { (*rnn).users.fetch_add(1, Ordering::AcqRel) };
        InUse(rnn.cast_mut())
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        // SAFETY: the handle stays live while held (a free is deferred to here).
        let last = unsafe { (*self.0).users.fetch_sub(1, Ordering::AcqRel) } == 1;
        // SAFETY: as above; the last holder frees a handle whose free was requested.
        if last && unsafe { (*self.0).free_requested.load(Ordering::Acquire) } {
            drop(unsafe { Box::from_raw(self.0) });
        }
    }
}

/// The model behind a handle, for a call that changes it: `FPF_BUSY` while a running call
/// holds the handle (e.g. from inside that call's callback).
///
/// # Safety
/// `rnn` must be NULL or a live handle not used by another thread.
pub(crate) unsafe fn model_mut<'a>(rnn: *mut fpf_rnn) -> FfiResult<&'a mut Model<f64>> {
    non_null(rnn, "rnn")?;
    // SAFETY: non-NULL and live by the caller's contract.
    if unsafe { (*rnn).users.load(Ordering::Acquire) } > 0 {
        return Err(FfiError::new(
            fpf_status::FPF_BUSY,
            "`rnn` is in use by a running call (its callbacks may read it, not change it); \
             change it after that call returns",
        ));
    }
    // SAFETY: no running call borrows the model.
    Ok(unsafe { &mut (*rnn).model })
}

/// The cell kind of a C `fpf_cell` value.
pub(crate) fn cell_kind(cell: fpf_cell) -> FfiResult<CellKind> {
    CellKind::from_code(cell).ok_or_else(|| {
        FfiError::new(
            fpf_status::FPF_BAD_OPTION,
            format!(
                "`cell` = {cell} is not a cell kind (FPF_CELL_TANH = 0, FPF_CELL_GRU = 1, \
                 FPF_CELL_GRU_TORCH = 2, FPF_CELL_LSTM = 3, FPF_CELL_LEAKY_TANH = 4, \
                 FPF_CELL_LEAKY_RELU = 5, FPF_CELL_LEAKY_SOFTPLUS = 6, \
                 FPF_CELL_LEAKY_SIGMOID = 7)"
            ),
        )
    })
}

/// The leaky cell shape of a C `fpf_activation` value and `α`: `FPF_BAD_OPTION` for an
/// unknown activation or an `α` outside `(0, 1]` (NaN included).
pub(crate) fn leaky_shape(
    activation: fpf_activation,
    alpha: f64,
    n_inputs: usize,
    n_hidden: usize,
) -> FfiResult<CellShape> {
    let act = Activation::from_code(activation).ok_or_else(|| {
        FfiError::new(
            fpf_status::FPF_BAD_OPTION,
            format!(
                "`activation` = {activation} is not an activation (FPF_ACTIVATION_TANH = 0, \
                 FPF_ACTIVATION_RELU = 1, FPF_ACTIVATION_SOFTPLUS = 2, \
                 FPF_ACTIVATION_SIGMOID = 3)"
            ),
        )
    })?;
    let shape = CellShape::leaky(act, n_inputs, n_hidden, alpha);
    if !shape.alpha_ok() {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_OPTION,
            format!("`alpha` = {alpha} is out of range: a leaky cell's must be in (0, 1]"),
        ));
    }
    Ok(shape)
}

/// The C `fpf_cell` value of a cell kind.
pub(crate) fn cell_value(kind: CellKind) -> fpf_cell {
    kind.code()
}

// The C constants are the kernel's codes (cbindgen needs them as literals).
const _: () = {
    assert!(FPF_CELL_TANH == CellKind::Tanh.code());
    assert!(FPF_CELL_GRU == CellKind::Gru.code());
    assert!(FPF_CELL_GRU_TORCH == CellKind::GruTorch.code());
    assert!(FPF_CELL_LSTM == CellKind::Lstm.code());
    assert!(FPF_CELL_LEAKY_TANH == CellKind::LeakyTanh.code());
    assert!(FPF_CELL_LEAKY_RELU == CellKind::LeakyRelu.code());
    assert!(FPF_CELL_LEAKY_SOFTPLUS == CellKind::LeakySoftplus.code());
    assert!(FPF_CELL_LEAKY_SIGMOID == CellKind::LeakySigmoid.code());
    assert!(FPF_ACTIVATION_TANH == Activation::Tanh.code());
    assert!(FPF_ACTIVATION_RELU == Activation::Relu.code());
    assert!(FPF_ACTIVATION_SOFTPLUS == Activation::Softplus.code());
    assert!(FPF_ACTIVATION_SIGMOID == Activation::Sigmoid.code());
    assert!(CellKind::leaky(Activation::Relu).code() == FPF_CELL_LEAKY_RELU);
    assert!(CellKind::from_code(FPF_CELL_INVALID).is_none());
};

/// A model error as a status and message.
pub(crate) fn model_error(e: ModelError) -> FfiError {
    let status = match &e {
        ModelError::Shape(_) | ModelError::BadSize { .. } | ModelError::TooLarge { .. } => {
            fpf_status::FPF_BAD_SIZE
        }
        ModelError::UnknownName { .. } => fpf_status::FPF_UNKNOWN_NAME,
        ModelError::Length { .. } => fpf_status::FPF_LENGTH_MISMATCH,
        ModelError::NotFinite { .. } => fpf_status::FPF_NOT_FINITE,
        ModelError::Diverged { .. } => fpf_status::FPF_DIVERGED,
        ModelError::OutOfMemory(_) => fpf_status::FPF_OUT_OF_MEMORY,
    };
    FfiError::new(status, e.to_string())
}

/// Moves a model into a new handle for C (release with `fpf_rnn_free`).
pub(crate) fn into_handle(model: Model<f64>) -> *mut fpf_rnn {
    Box::into_raw(Box::new(fpf_rnn {
        model,
        users: AtomicUsize::new(0),
        free_requested: AtomicBool::new(false),
    }))
}

/// Borrows the model behind a handle (checked non-NULL).
///
/// # Safety
/// `rnn` must be NULL or a live handle from `fpf_rnn_new` (or another constructor) not being
/// mutated concurrently.
pub(crate) unsafe fn model_ref<'a>(rnn: *const fpf_rnn, name: &str) -> FfiResult<&'a Model<f64>> {
    non_null(rnn, name)?;
    // SAFETY: non-NULL; a live handle by the caller's contract.
    Ok(unsafe { &(*rnn).model })
}

/// `n · m` doubles, checked for overflow and against the largest array Rust can address.
fn array_len(n: usize, m: usize, what: &str) -> FfiResult<usize> {
    let len = checked_len(n, m, what)?;
    if len > isize::MAX as usize / size_of::<f64>() {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!("`{what}`: {len} doubles is too large"),
        ));
    }
    Ok(len)
}

/// Checks a caller's array length against the one a parameter needs.
fn expect_len(name: &str, expected: usize, got: usize) -> FfiResult<()> {
    if expected == got {
        Ok(())
    } else {
        Err(FfiError::new(
            fpf_status::FPF_LENGTH_MISMATCH,
            format!("parameter `{name}` has {expected} elements, but `len` is {got}"),
        ))
    }
}

/// Creates a model with the reference tutorial's initialization, reproducible from `seed`: input
/// weights N(0, 0.1²), recurrent weights N(0, 0.5²), `w_out` N(0, 0.1²), biases, `b_out` and
/// `h0` zero. Set trained weights afterwards with `fpf_rnn_set_param`.
///
/// `n_inputs` may be 0 (an autonomous network; array arguments must still be non-NULL).
/// Errors: `FPF_NULL_POINTER` (`out`), `FPF_BAD_OPTION` (`cell` not an `FPF_CELL_*` value),
/// `FPF_BAD_SIZE` (`n_hidden` 0 or above 16384, `n_inputs` above 65536, `n_outputs` 0 or above
/// 65536, or more than 2^28 parameters in all). `*out` is written only on success.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_new(
    cell: fpf_cell,
    n_inputs: usize,
    n_hidden: usize,
    n_outputs: usize,
    seed: u64,
    out: *mut *mut fpf_rnn,
) -> fpf_status {
    guard(|| {
        non_null(out, "out")?;
        let kind = cell_kind(cell)?;
        let shape = CellShape::new(kind, n_inputs, n_hidden);
        let model = Model::init_random(shape, n_outputs, seed).map_err(model_error)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { *out = into_handle(model) };
        Ok(())
    })
}

/// Releases a model. `fpf_rnn_free(NULL)` does nothing.
///
/// # Safety
/// `rnn` must be NULL or a handle from `fpf_rnn_new` (or `fpf_checkpoint_load`) not yet freed;
/// it must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_free(rnn: *mut fpf_rnn) {
    guard_value((), || {
        if rnn.is_null() {
            return;
        }
        // SAFETY: a live handle created by `into_handle` (Box::into_raw), freed once.
        let h = unsafe { &*rnn };
        h.free_requested.store(true, Ordering::Release);
        if h.users.load(Ordering::Acquire) == 0 {
            // SAFETY: no running call holds it; freed once.
            drop(unsafe { Box::from_raw(rnn) });
        }
    })
}

/// Applies `f` to a model, or returns `fallback` for NULL or a panic.
///
/// # Safety
/// As for [`model_ref`].
unsafe fn accessor<R: Copy>(
    rnn: *const fpf_rnn,
    fallback: R,
    f: impl FnOnce(&Model<f64>) -> R,
) -> R {
    guard_value(fallback, || {
        // SAFETY: forwarded from the caller.
        match unsafe { model_ref(rnn, "rnn") } {
            Ok(m) => f(m),
            Err(_) => fallback,
        }
    })
}

/// State dimension `S`: `H`, or `2H` for the LSTM (times the number of layers for a stacked
/// model). 0 for NULL.
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_state_dim(rnn: *const fpf_rnn) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { accessor(rnn, 0, |m| m.state_dim()) }
}

/// Input size `I`. 0 for NULL (and for a network without inputs).
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_n_inputs(rnn: *const fpf_rnn) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { accessor(rnn, 0, |m| m.n_inputs()) }
}

/// Hidden size `H` (of each layer, for a stacked model). 0 for NULL.
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_n_hidden(rnn: *const fpf_rnn) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { accessor(rnn, 0, |m| m.n_hidden()) }
}

/// Output size `O`. 0 for NULL.
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_n_outputs(rnn: *const fpf_rnn) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { accessor(rnn, 0, |m| m.n_outputs()) }
}

/// The cell kind (an `FPF_CELL_*` value); `FPF_CELL_INVALID` for NULL.
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_cell(rnn: *const fpf_rnn) -> fpf_cell {
    // SAFETY: forwarded from the caller.
    unsafe { accessor(rnn, FPF_CELL_INVALID, |m| cell_value(m.kind())) }
}

/// A leaky cell's `α`; 1 for every other cell, NaN for NULL.
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_alpha(rnn: *const fpf_rnn) -> f64 {
    // SAFETY: forwarded from the caller.
    unsafe { accessor(rnn, f64::NAN, |m| m.shape().alpha) }
}

/// Stores the number of elements of parameter `name` in `*out_len`.
///
/// Names (row-major arrays):
/// - tanh: `w_ih` (I×H), `w_hh` (H×H), `b_h` (H); also `torch.nn.RNN`'s `weight_ih_l0`
///   (H×I), `weight_hh_l0` (H×H), `bias_ih_l0`, `bias_hh_l0` (H each; their sum is `b_h`);
/// - leaky cells: `w_ih`, `w_hh`, `b_h`, `weight_ih_l0`, `weight_hh_l0` as tanh's;
/// - gru: `w_ir`, `w_iz`, `w_in` (I×H), `w_hr`, `w_hz`, `w_hn` (H×H), `b_r`, `b_z`, `b_n` (H);
/// - gru_torch, lstm: `weight_ih_l0` (G·H×I), `weight_hh_l0` (G·H×H), `bias_ih_l0`,
///   `bias_hh_l0` (G·H), PyTorch's layout and gate order, G = 3 or 4;
/// - every cell: `w_out` (H×O), `b_out` (O), `h0` (state dimension).
///
/// A stacked model (`fpf_rnn_new_stacked`) has these for layer 0 and, for each layer
/// `k ≥ 1`, the cell's names with the suffix `_l<k>` in place of `_l0` or appended
/// (`weight_ih_l1` (G·H×H), `bias_hh_l1`, `w_hh_l1`, `b_r_l2`, …); `w_out` reads the top
/// layer's `h`, and `h0` holds every layer's state.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_UNKNOWN_NAME` (unknown or not UTF-8; the message lists
/// the valid names). `*out_len` is written only on success.
///
/// # Safety
/// `rnn` must be NULL or a live handle; `name` NULL or NUL-terminated; `out_len` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_param_len(
    rnn: *const fpf_rnn,
    name: *const c_char,
    out_len: *mut usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: the caller's contract, forwarded.
        let model = unsafe { model_ref(rnn, "rnn") }?;
        non_null(name, "name")?;
        non_null(out_len, "out_len")?;
        // SAFETY: as above.
        let name = unsafe { c_name(name, "parameter name") }?;
        let n = model.param_len(name).map_err(model_error)?;
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { *out_len = n };
        Ok(())
    })
}

/// Sets parameter `name` (see `fpf_rnn_param_len` for the names and shapes) from the `len`
/// values at `v`, row-major.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_UNKNOWN_NAME`, `FPF_LENGTH_MISMATCH` (`len` is not the
/// parameter's size), `FPF_NOT_FINITE` (a NaN or infinity in `v`). The model is unchanged on
/// error.
///
/// # Safety
/// `rnn` must be NULL or a live handle not used by another thread during the call; `name` NULL
/// or NUL-terminated; `v` NULL or `len` readable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_set_param(
    rnn: *mut fpf_rnn,
    name: *const c_char,
    v: *const f64,
    len: usize,
) -> fpf_status {
    guard(|| {
        non_null(rnn, "rnn")?;
        non_null(name, "name")?;
        non_null(v, "v")?;
        // SAFETY: the caller's contract, forwarded.
        let name = unsafe { c_name(name, "parameter name") }?;
        // SAFETY: `rnn` is non-NULL and live by the caller's contract.
        let model = unsafe { model_mut(rnn) }?;
        let expected = model.param_len(name).map_err(model_error)?;
        expect_len(name, expected, len)?;
        // SAFETY: `v` points to `len` readable doubles by the caller's contract.
        let v = unsafe { slice(v, len, "v") }?;
        model.set_param(name, v).map_err(model_error)
    })
}

/// Copies parameter `name` (see `fpf_rnn_param_len`) into the `len` doubles at `v`, row-major.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_UNKNOWN_NAME`, `FPF_LENGTH_MISMATCH`. `v` is written only
/// on success.
///
/// # Safety
/// `rnn` must be NULL or a live handle; `name` NULL or NUL-terminated; `v` NULL or `len`
/// writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_get_param(
    rnn: *const fpf_rnn,
    name: *const c_char,
    v: *mut f64,
    len: usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: the caller's contract, forwarded.
        let model = unsafe { model_ref(rnn, "rnn") }?;
        non_null(name, "name")?;
        non_null(v, "v")?;
        // SAFETY: as above.
        let name = unsafe { c_name(name, "parameter name") }?;
        let expected = model.param_len(name).map_err(model_error)?;
        expect_len(name, expected, len)?;
        let mut buf = vec![0.0; len];
        model.get_param(name, &mut buf).map_err(model_error)?;
        // SAFETY: `v` points to `len` writable doubles by the caller's contract.
        unsafe { slice_mut(v, len, "v") }?.copy_from_slice(&buf);
        Ok(())
    })
}

/// One step for `n` rows: `h_next[k] = F(h[k], x[k])`, with `x` an `n × n_inputs` array and
/// `h`, `h_next` `n × state_dim` arrays (row-major). `h_next` may be the same buffer as `h`
/// (an in-place step). `n = 0` does nothing.
///
/// Errors: `FPF_NULL_POINTER` (every pointer must be non-NULL, even for empty arrays),
/// `FPF_BAD_SIZE` (a size product overflows), `FPF_NOT_FINITE` (NaN or infinity in `x` or
/// `h`), `FPF_DIVERGED` (weights so large that a state overflows). `h_next` is written only
/// on success.
///
/// # Safety
/// `rnn` must be NULL or a live handle; `x`, `h` NULL or readable for `n·n_inputs` and
/// `n·state_dim` doubles; `h_next` NULL or writable for `n·state_dim` doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_step(
    rnn: *const fpf_rnn,
    x: *const f64,
    h: *const f64,
    n: usize,
    h_next: *mut f64,
) -> fpf_status {
    guard(|| {
        // SAFETY: the caller's contract, forwarded.
        let model = unsafe { model_ref(rnn, "rnn") }?;
        non_null(x, "x")?;
        non_null(h, "h")?;
        non_null(h_next, "h_next")?;
        let nx = array_len(n, model.n_inputs(), "n × n_inputs")?;
        let nh = array_len(n, model.state_dim(), "n × state_dim")?;
        // Copy the inputs first so `h_next` may alias `h` without overlapping borrows.
        // SAFETY: readable for these lengths by the caller's contract.
        let xs = unsafe { slice(x, nx, "x") }?.to_vec();
        // SAFETY: as above.
        let hs = unsafe { slice(h, nh, "h") }?.to_vec();
        let mut out = vec![0.0; nh];
        model
            .step_batch(&xs, &hs, n, &mut out)
            .map_err(model_error)?;
        // SAFETY: writable for `nh` doubles by the caller's contract; no other borrow is live.
        unsafe { slice_mut(h_next, nh, "h_next") }?.copy_from_slice(&out);
        Ok(())
    })
}

/// Runs `n_trials` trials of `n_time` steps, each from `h0`: `inputs` is
/// `n_trials × n_time × n_inputs`; `states` receives `n_trials × n_time × state_dim`, the state
/// after consuming each input, and `outputs` `n_trials × n_time × n_outputs`, the readout of
/// each state. Zero trials or time steps do nothing.
///
/// Errors: `FPF_NULL_POINTER` (every pointer must be non-NULL, even for empty arrays),
/// `FPF_BAD_SIZE` (a size product overflows), `FPF_NOT_FINITE` (NaN or infinity in
/// `inputs`), `FPF_DIVERGED` (weights so large that a state or output overflows). `outputs`
/// and `states` are written only on success.
///
/// # Safety
/// `rnn` must be NULL or a live handle; each array NULL or valid for its length above
/// (`inputs` readable, `outputs` and `states` writable).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_run(
    rnn: *const fpf_rnn,
    inputs: *const f64,
    n_trials: usize,
    n_time: usize,
    outputs: *mut f64,
    states: *mut f64,
) -> fpf_status {
    guard(|| {
        // SAFETY: the caller's contract, forwarded.
        let model = unsafe { model_ref(rnn, "rnn") }?;
        non_null(inputs, "inputs")?;
        non_null(outputs, "outputs")?;
        non_null(states, "states")?;
        let steps = checked_len(n_trials, n_time, "n_trials × n_time")?;
        let n_in = array_len(steps, model.n_inputs(), "inputs")?;
        let n_out = array_len(steps, model.n_outputs(), "outputs")?;
        let n_st = array_len(steps, model.state_dim(), "states")?;
        let mut ys = vec![0.0; n_out];
        let mut hs = vec![0.0; n_st];
        {
            // SAFETY: readable for `n_in` doubles by the caller's contract.
            let xs = unsafe { slice(inputs, n_in, "inputs") }?;
            model
                .run(xs, n_trials, n_time, &mut ys, &mut hs)
                .map_err(model_error)?;
        }
        // SAFETY: writable for these lengths by the caller's contract; the borrows are taken
        // one after the other, so overlapping buffers are not undefined behaviour.
        unsafe { slice_mut(outputs, n_out, "outputs") }?.copy_from_slice(&ys);
        // SAFETY: as above.
        unsafe { slice_mut(states, n_st, "states") }?.copy_from_slice(&hs);
        Ok(())
    })
}
