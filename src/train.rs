//! C ABI: the ABI version, model initializations, flip-flop data and training.

use std::os::raw::c_void;

use crate::boundary::{
    FfiError, FfiResult, checked_len, fpf_status, guard, non_null, slice, slice_mut,
};
use crate::finder::{FPF_DTYPE_FLOAT32, FPF_DTYPE_FLOAT64, fpf_dtype};
use crate::rnn::{
    InUse, cell_kind, fpf_activation, fpf_cell, fpf_rnn, into_handle, leaky_shape, model_error,
};
use fpf_core::cell::CellShape;
use fpf_std::model::Model;
use fpf_std::task::flipflop::{FlipFlop, MAX_VALUES, TaskError};
use fpf_std::train::{EpochReport, Sequences, TrainError, TrainOptions, train_logged};

use crate::log::{c_log, fpf_log_fn};
use crate::versioned::{self, Versioned};

/// Version of the C ABI (struct layouts, function signatures, constant values). It changes
/// whenever a compiled caller would have to be rebuilt; compare it with `fpf_abi_version()`.
/// 2: per-point fields are read by name (`fpf_fixed_points_field_*`); the per-field accessors
/// of 1 other than xstar, qstar, is_stable, eigvals and eigvecs are gone. 3: the option structs
/// start with `struct_size` and end with a `log` callback; struct layouts are exported
/// (`fpf_struct_*`); a handle in use by a running call is `FPF_BUSY` to changes.
pub const FPF_ABI_VERSION: u32 = 3;

/// The ABI version this library was built with (`FPF_ABI_VERSION` of its header). A caller
/// compiled against a header with another value must not use the library.
#[unsafe(no_mangle)]
pub extern "C" fn fpf_abi_version() -> u32 {
    FPF_ABI_VERSION
}

/// How `fpf_rnn_new_init` draws the initial weights: one of the `FPF_INIT_*` constants. Any
/// other value is rejected with `FPF_BAD_OPTION`.
pub type fpf_init = u32;
/// The reference's tutorial initialization (as `fpf_rnn_new`): input weights N(0, 0.1²),
/// recurrent weights N(0, 0.5²), `w_out` N(0, 0.1²), the rest zero.
pub const FPF_INIT_TUTORIAL: fpf_init = 0;
/// Scaled initialization: recurrent weights N(0, 1/H) (spectral radius about 1), input
/// weights N(0, 1/I), `w_out` N(0, 1/H), the rest zero. Trains much faster for H ≳ 16.
pub const FPF_INIT_SCALED: fpf_init = 1;

/// [`fpf_rnn_new`](crate::fpf_rnn_new) with a choice of initialization (`FPF_INIT_TUTORIAL`
/// or `FPF_INIT_SCALED`), reproducible from `seed`.
///
/// Errors: `FPF_NULL_POINTER` (`out`), `FPF_BAD_OPTION` (`cell` or `init` out of range),
/// `FPF_BAD_SIZE` (as `fpf_rnn_new`). `*out` is written only on success.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_new_init(
    cell: fpf_cell,
    n_inputs: usize,
    n_hidden: usize,
    n_outputs: usize,
    seed: u64,
    init: fpf_init,
    out: *mut *mut fpf_rnn,
) -> fpf_status {
    guard(|| {
        non_null(out, "out")?;
        let kind = cell_kind(cell)?;
        let shape = CellShape::new(kind, n_inputs, n_hidden);
        let model = init_model(shape, 1, n_outputs, seed, init)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { *out = into_handle(model) };
        Ok(())
    })
}

/// A leaky rate cell `h' = (1 − α) h + α φ(x W_ih + h W_hh + b_h)` with
/// `activation` (an `FPF_ACTIVATION_*` value) and `α = alpha` in (0, 1], initialized as
/// `init` says (`FPF_INIT_SCALED` is the one to train ReLU or softplus networks from: the
/// tutorial's N(0, 0.5²) recurrent weights make an unbounded φ explode), reproducible from
/// `seed`. Its parameters are named as the tanh cell's (`w_ih`, `w_hh`, `b_h`); its kind
/// (`fpf_rnn_cell`) is the matching `FPF_CELL_LEAKY_*`, its α `fpf_rnn_alpha`; checkpoints
/// keep both. (`fpf_rnn_new` with an `FPF_CELL_LEAKY_*` kind makes the cell with α = 1.)
///
/// Errors: `FPF_NULL_POINTER` (`out`), `FPF_BAD_OPTION` (`activation` or `init` out of range,
/// `alpha` not in (0, 1] or NaN), `FPF_BAD_SIZE` (as `fpf_rnn_new`). `*out` is written only
/// on success.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[allow(clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_new_leaky(
    activation: fpf_activation,
    alpha: f64,
    n_inputs: usize,
    n_hidden: usize,
    n_outputs: usize,
    seed: u64,
    init: fpf_init,
    out: *mut *mut fpf_rnn,
) -> fpf_status {
    guard(|| {
        non_null(out, "out")?;
        let shape = leaky_shape(activation, alpha, n_inputs, n_hidden)?;
        let model = init_model(shape, 1, n_outputs, seed, init)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { *out = into_handle(model) };
        Ok(())
    })
}

/// A model of `n_layers` layers of `shape` initialized as `init` says.
pub(crate) fn init_model(
    shape: CellShape,
    n_layers: usize,
    n_outputs: usize,
    seed: u64,
    init: fpf_init,
) -> FfiResult<Model<f64>> {
    match init {
        FPF_INIT_TUTORIAL => Model::init_random_stacked(shape, n_layers, n_outputs, seed),
        FPF_INIT_SCALED => Model::init_scaled_stacked(shape, n_layers, n_outputs, seed),
        i => {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_OPTION,
                format!(
                    "`init` = {i} is not an initialization (FPF_INIT_TUTORIAL = 0, \
                     FPF_INIT_SCALED = 1)"
                ),
            ));
        }
    }
    .map_err(model_error)
}

/// `n_trials × n_time × width` doubles, checked for overflow and against Rust's address
/// space.
fn array_len(n_trials: usize, n_time: usize, width: usize, what: &str) -> FfiResult<usize> {
    let len = checked_len(checked_len(n_trials, n_time, what)?, width, what)?;
    if len > isize::MAX as usize / size_of::<f64>() {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!("`{what}`: {len} doubles is too large"),
        ));
    }
    Ok(len)
}

fn task_error(e: TaskError) -> FfiError {
    let status = match &e {
        TaskError::Bad { what: "p", .. } => fpf_status::FPF_BAD_OPTION,
        TaskError::OutOfMemory(_) => fpf_status::FPF_OUT_OF_MEMORY,
        _ => fpf_status::FPF_BAD_SIZE,
    };
    FfiError::new(status, e.to_string())
}

/// Generates `n_trials` trials of the `n_bits`-bit flip-flop task (the reference's
/// `FlipFlopData(n_bits, n_time, p).generate_data(n_trials)`), reproducibly from `seed`:
/// `inputs` receives the signed pulses (−1, 0, +1; every bit pulses at t = 0, then with
/// probability `p`), `targets` the sign of each bit's last pulse. Both arrays are
/// `n_trials × n_time × n_bits`, row-major, caller-allocated.
///
/// Errors: `FPF_NULL_POINTER` (`inputs`, `targets`), `FPF_BAD_SIZE` (a size is 0, or
/// `n_trials·n_time·n_bits` overflows or exceeds 2^30), `FPF_NOT_FINITE` (`p` is NaN),
/// `FPF_BAD_OPTION` (`p` outside [0, 1]). The arrays are written only on success.
///
/// # Safety
/// `inputs` and `targets` must be NULL or point to `n_trials·n_time·n_bits` writable doubles
/// each, not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_flipflop_generate(
    n_bits: usize,
    n_time: usize,
    p: f64,
    n_trials: usize,
    seed: u64,
    inputs: *mut f64,
    targets: *mut f64,
) -> fpf_status {
    guard(|| {
        non_null(inputs, "inputs")?;
        non_null(targets, "targets")?;
        if n_bits == 0 || n_time == 0 || n_trials == 0 {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!(
                    "`n_bits` = {n_bits}, `n_time` = {n_time} and `n_trials` = {n_trials} must \
                     all be at least 1"
                ),
            ));
        }
        let len = array_len(n_trials, n_time, n_bits, "n_trials × n_time × n_bits")?;
        if len > MAX_VALUES {
            return Err(task_error(TaskError::TooLarge {
                n_trials,
                n_time,
                n_bits,
            }));
        }
        if p.is_nan() {
            return Err(FfiError::new(
                fpf_status::FPF_NOT_FINITE,
                "`p` is NaN; it must be in [0, 1]",
            ));
        }
        let data = FlipFlop::new(n_bits, n_time, p)
            .generate(n_trials, seed)
            .map_err(task_error)?;
        // SAFETY: writable for `len` doubles by the caller's contract; taken one at a time.
        unsafe { slice_mut(inputs, len, "inputs") }?.copy_from_slice(&data.inputs);
        // SAFETY: as above.
        unsafe { slice_mut(targets, len, "targets") }?.copy_from_slice(&data.targets);
        Ok(())
    })
}

// `fpf_train_options` and `fpf_train_options_shared!`, generated by build.rs from
// `TrainOptions::FIELDS`.
include!(concat!(env!("OUT_DIR"), "/fpf_train_options.rs"));

// SAFETY: #[repr(C)], `struct_size: usize` first.
unsafe impl Versioned for fpf_train_options {
    const NAME: &'static str = "fpf_train_options";
    fn defaults() -> Self {
        let o = TrainOptions::default();
        fpf_train_options_shared!(fpf_train_options {
            struct_size: size_of::<fpf_train_options>(),
            lr_patience: o.lr_patience as usize,
            dtype: FPF_DTYPE_FLOAT32,
            log: None,
            log_user: std::ptr::null_mut(),
        } from &o)
    }
}

impl fpf_train_options {
    /// Converts and validates; returns the options and whether to train in single precision.
    fn to_options(self) -> FfiResult<(TrainOptions, bool)> {
        let bad = |what: &str, why: String| {
            FfiError::new(fpf_status::FPF_BAD_OPTION, format!("option `{what}` {why}"))
        };
        let single = match self.dtype {
            FPF_DTYPE_FLOAT32 => true,
            FPF_DTYPE_FLOAT64 => false,
            d => return Err(bad("dtype", format!("is {d}; must be 0 or 1"))),
        };
        let lr_patience = u32::try_from(self.lr_patience).map_err(|_| {
            bad(
                "lr_patience",
                format!("= {} is too large", self.lr_patience),
            )
        })?;
        let o = fpf_train_options_shared!(TrainOptions { lr_patience, } from self);
        o.validate().map_err(train_error)?;
        Ok((o, single))
    }
}

/// One epoch's statistics, passed to an `fpf_train_progress_fn`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fpf_train_progress {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Mean of the epoch's batch losses.
    pub train_loss: f64,
    /// Validation loss (computed every `print_every` epochs when validation data were
    /// given), NaN otherwise.
    pub valid_loss: f64,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
}

/// Training progress callback: called after every epoch; return false to stop training
/// (the model keeps what it has learnt and `fpf_train` reports `cancelled`). `user` is passed
/// through unchanged.
pub type fpf_train_progress_fn =
    Option<unsafe extern "C" fn(p: *const fpf_train_progress, user: *mut c_void) -> bool>;

/// The outcome of `fpf_train`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fpf_train_report {
    /// Epochs run.
    pub epochs: usize,
    /// The last epoch's training loss.
    pub final_train_loss: f64,
    /// Validation loss of the final model; NaN without validation data.
    pub final_valid_loss: f64,
    /// Stopped because the loss fell below `min_loss`.
    pub reached_target: bool,
    /// Stopped because the progress callback returned false.
    pub cancelled: bool,
}

/// Calls the C progress callback for an epoch (true without one).
///
/// # Safety
/// `progress` must be safe to call with `user`.
unsafe fn report_epoch(
    progress: fpf_train_progress_fn,
    user: *mut c_void,
    e: &EpochReport,
) -> bool {
    match progress {
        None => true,
        Some(f) => {
            let p = fpf_train_progress {
                epoch: e.epoch,
                train_loss: e.train_loss,
                valid_loss: e.valid_loss.unwrap_or(f64::NAN),
                learning_rate: e.learning_rate,
            };
            // SAFETY: the caller vouches for the callback.
            unsafe { f(&p, user) }
        }
    }
}

/// Single-precision training would turn a finite value beyond ±3.4e38 into an infinity:
/// refuse it with a message that says so.
fn fits_single(v: &[f64], what: &str) -> FfiResult<()> {
    match fpf_core::scalar::first_beyond_f32(v) {
        None => Ok(()),
        Some(i) => Err(FfiError::new(
            fpf_status::FPF_NOT_FINITE,
            format!(
                "`{what}`[{i}] = {:e} overflows single precision (|v| > {:e}); train with \
                 FPF_DTYPE_FLOAT64",
                v[i],
                f32::MAX
            ),
        )),
    }
}

fn train_error(e: TrainError) -> FfiError {
    let status = match &e {
        TrainError::BadOption { .. } => fpf_status::FPF_BAD_OPTION,
        TrainError::Empty { .. } | TrainError::TooLarge { .. } => fpf_status::FPF_BAD_SIZE,
        TrainError::BatchTooLarge { .. } => fpf_status::FPF_BAD_SIZE,
        TrainError::Length { .. } | TrainError::Mismatch { .. } => fpf_status::FPF_LENGTH_MISMATCH,
        TrainError::NotFinite { .. } => fpf_status::FPF_NOT_FINITE,
        TrainError::Diverged { .. } => fpf_status::FPF_DIVERGED,
        TrainError::OutOfMemory(_) => fpf_status::FPF_OUT_OF_MEMORY,
        TrainError::Stacked { .. } => fpf_status::FPF_UNSUPPORTED,
    };
    FfiError::new(status, e.to_string())
}

/// Trains `rnn` by backpropagation through time on the mean squared error of its readout
/// (the reference's `train_flipflop_rnn`): `inputs` is `n_trials × n_time × n_inputs` and
/// `targets` `n_trials × n_time × n_outputs`. Optional validation data (`valid_inputs`,
/// `valid_targets`, `n_valid` trials of `n_time` steps) give the validation losses; pass
/// `NULL, NULL, 0` for none. `progress` (nullable) is called after every epoch with `user`;
/// `out_report` (nullable) receives the outcome.
///
/// With `opts->dtype = FPF_DTYPE_FLOAT32` a single-precision copy is trained and written
/// back (rounded values, as the reference trains); with `FPF_DTYPE_FLOAT64` the model is
/// trained in double precision. Stopping from the callback is a success (`FPF_OK`,
/// `cancelled` set) and keeps the parameters reached so far.
///
/// Errors: `FPF_NULL_POINTER` (`rnn`, `opts`, `inputs`, `targets`, or exactly one of the
/// `valid_*` arrays), `FPF_BAD_OPTION` (an option out of range), `FPF_BAD_SIZE` (no trials or
/// steps, fewer trials than `batch_size`, a size product overflows, `n_valid` > 0 without
/// validation arrays), `FPF_NOT_FINITE` (NaN or infinity in the data), `FPF_DIVERGED` (the
/// loss or gradient became NaN/infinite), `FPF_UNSUPPORTED` (a stacked model: train it in
/// PyTorch and convert it). On error the model and `*out_report` are unchanged.
///
/// # Safety
/// `rnn` must be NULL or a live handle not used by another thread during the call; `opts`
/// NULL or a valid struct; each array NULL or readable for its length above; `progress`
/// safe to call with `user`; `out_report` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_train(
    rnn: *mut fpf_rnn,
    opts: *const fpf_train_options,
    inputs: *const f64,
    targets: *const f64,
    n_trials: usize,
    n_time: usize,
    valid_inputs: *const f64,
    valid_targets: *const f64,
    n_valid: usize,
    progress: fpf_train_progress_fn,
    user: *mut c_void,
    out_report: *mut fpf_train_report,
) -> fpf_status {
    guard(|| {
        non_null(rnn, "rnn")?;
        non_null(opts, "opts")?;
        non_null(inputs, "inputs")?;
        non_null(targets, "targets")?;
        let has_valid = match (valid_inputs.is_null(), valid_targets.is_null()) {
            (true, true) => false,
            (false, false) => true,
            _ => {
                return Err(FfiError::new(
                    fpf_status::FPF_NULL_POINTER,
                    "`valid_inputs` and `valid_targets` must both be NULL or both be non-NULL",
                ));
            }
        };
        if !has_valid && n_valid != 0 {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!("`n_valid` is {n_valid} but the validation arrays are NULL"),
            ));
        }
        // SAFETY: non-NULL; a valid struct by the caller's contract.
        let c_opts = unsafe { versioned::read(opts, "opts")? };
        let (o, single) = c_opts.to_options()?;
        let log = c_log(c_opts.log, c_opts.log_user);
        // Hold the handle for the call: its callback may read it (and sees each epoch's
        // weights) but not change or free it. Train a copy, so that the handle is written
        // only between epochs and restored if training fails.
        // SAFETY: non-NULL; a live handle by the caller's contract.
        let _hold = unsafe { InUse::hold(rnn) };
        // SAFETY: live; nothing changes the model while held.
        let original = unsafe { (*rnn).model.clone() };
        let (ni, no) = (original.n_inputs(), original.n_outputs());
        let seqs = |x: *const f64, y: *const f64, n: usize, name: &str| -> FfiResult<_> {
            let lx = array_len(n, n_time, ni, name)?;
            let ly = array_len(n, n_time, no, name)?;
            // SAFETY: readable for these lengths by the caller's contract.
            let (xs, ys) = unsafe { (slice(x, lx, name)?, slice(y, ly, name)?) };
            Ok(Sequences {
                inputs: xs,
                targets: ys,
                n_trials: n,
                n_time,
                n_inputs: ni,
                n_outputs: no,
            })
        };
        let train_set = seqs(inputs, targets, n_trials, "inputs")?;
        let valid_set = if has_valid {
            Some(seqs(valid_inputs, valid_targets, n_valid, "valid_inputs")?)
        } else {
            None
        };
        let valid_ref = valid_set.as_ref();
        let result = if single {
            for (v, what) in [
                (original.params(), "the cell parameters"),
                (original.w_out(), "w_out"),
                (original.b_out(), "b_out"),
                (original.h0(), "h0"),
                (train_set.inputs, "inputs"),
                (train_set.targets, "targets"),
            ] {
                fits_single(v, what)?;
            }
            if let Some(v) = valid_ref {
                fits_single(v.inputs, "valid_inputs")?;
                fits_single(v.targets, "valid_targets")?;
            }
            let mut m32 = original.to_f32();
            let mut cb = |e: &EpochReport, m: &Model<f32>| {
                // SAFETY: held; no reference to the handle's model is alive here.
                unsafe { (*rnn).model = m.to_f64() };
                // SAFETY: the caller vouches for the callback.
                unsafe { report_epoch(progress, user, e) }
            };
            train_logged(&mut m32, &train_set, valid_ref, &o, Some(&mut cb), &log)
                .map(|r| (r, m32.to_f64()))
        } else {
            let mut m64 = original.clone();
            let mut cb = |e: &EpochReport, m: &Model<f64>| {
                // SAFETY: held; no reference to the handle's model is alive here.
                unsafe { (*rnn).model = m.clone() };
                // SAFETY: the caller vouches for the callback.
                unsafe { report_epoch(progress, user, e) }
            };
            train_logged(&mut m64, &train_set, valid_ref, &o, Some(&mut cb), &log).map(|r| (r, m64))
        };
        let (report, model) = match result {
            Ok((report, trained)) => (report, trained),
            Err(e) => {
                // SAFETY: held; no reference to the handle's model is alive here.
                unsafe { (*rnn).model = original };
                return Err(train_error(e));
            }
        };
        // SAFETY: as above.
        unsafe { (*rnn).model = model };
        if !out_report.is_null() {
            let r = fpf_train_report {
                epochs: report.epochs,
                final_train_loss: report.final_train_loss,
                final_valid_loss: report.final_valid_loss.unwrap_or(f64::NAN),
                reached_target: report.reached_target,
                cancelled: report.cancelled,
            };
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { out_report.write(r) };
        }
        Ok(())
    })
}
