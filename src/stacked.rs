//! C ABI: stacked models (PyTorch's `num_layers`): `fpf_rnn_new_stacked`, `fpf_rnn_n_layers`,
//! and the one check the calls that need a single cell share.

use crate::boundary::{FfiError, FfiResult, fpf_status, guard, non_null};
use crate::rnn::{cell_kind, fpf_cell, fpf_rnn, into_handle, model_ref};
use crate::train::{fpf_init, init_model};
use fpf_core::cell::CellShape;
use fpf_std::model::Model;

/// A model of `n_layers` stacked layers of one cell kind (PyTorch's `num_layers`): layer 0
/// reads the `n_inputs` inputs, each layer above reads the new hidden state of the layer
/// below at the same step (an LSTM layer passes up only `h`); all layers have `n_hidden`
/// units. The state is the layers' states back to back (`n_layers · H`, or `n_layers · 2H`
/// for the LSTM: `[h_0, c_0, h_1, c_1, …]`), the readout reads the top layer's `h`, and
/// `h0` holds every layer's initial state. `alpha` is a leaky kind's α in (0, 1], and must be
/// 1 for the others. Initialized as `init` says (the layers above layer 0 get input weights
/// of the recurrent weights' scale under `FPF_INIT_SCALED`, N(0, 0.1²) under
/// `FPF_INIT_TUTORIAL`), reproducible from `seed`. `n_layers = 1` is the single cell of
/// `fpf_rnn_new_init` (`fpf_rnn_new_leaky`), bit for bit.
///
/// Layer `k ≥ 1`'s parameters are named with the suffix `_l<k>`: `weight_ih_l1`,
/// `bias_hh_l2`, … for the names that end in `_l0`, `w_hh_l1`, `b_r_l1`, … for the others
/// (see `fpf_rnn_param_len`); layer 0's keep their names. The finder (`fpf_find_fixed_points`
/// and its variants) runs on a stacked model with its analytic block Jacobians (period 1
/// only; every evaluation in double precision whatever `dtype` says; `n_kink` sums every
/// leaky ReLU layer's units on a kink). `fpf_train`, the continuation and sweeps need a single cell: on a stacked
/// model they fail with `FPF_UNSUPPORTED`.
///
/// Errors: `FPF_NULL_POINTER` (`out`), `FPF_BAD_OPTION` (`cell` or `init` out of range,
/// `alpha` out of range for the kind), `FPF_BAD_SIZE` (`n_layers` 0 or above 256, and as
/// `fpf_rnn_new`). `*out` is written only on success.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[allow(clippy::too_many_arguments)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_new_stacked(
    cell: fpf_cell,
    alpha: f64,
    n_layers: usize,
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
        let shape = CellShape::new(kind, n_inputs, n_hidden).with_alpha(alpha);
        if !shape.alpha_ok() {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_OPTION,
                if kind.is_leaky() {
                    format!("`alpha` = {alpha} is out of range: a leaky cell's must be in (0, 1]")
                } else {
                    format!(
                        "`alpha` = {alpha}: a {} cell has none (pass 1)",
                        kind.name()
                    )
                },
            ));
        }
        let model = init_model(shape, n_layers, n_outputs, seed, init)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { *out = into_handle(model) };
        Ok(())
    })
}

/// Number of stacked layers (1 for a single cell); 0 for NULL.
///
/// # Safety
/// `rnn` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_rnn_n_layers(rnn: *const fpf_rnn) -> usize {
    guard_layers(rnn)
}

fn guard_layers(rnn: *const fpf_rnn) -> usize {
    crate::boundary::guard_value(0, || {
        // SAFETY: NULL or a live handle by the caller's contract.
        match unsafe { model_ref(rnn, "rnn") } {
            Ok(m) => m.n_layers(),
            Err(_) => 0,
        }
    })
}

/// `FPF_UNSUPPORTED` for a stacked model in a call (`what`) that needs a single cell.
pub(crate) fn single_cell(model: &Model<f64>, what: &str) -> FfiResult<()> {
    if model.is_stacked() {
        return Err(FfiError::new(
            fpf_status::FPF_UNSUPPORTED,
            format!(
                "{what} needs a single-layer model; this one stacks {} layers (the finder \
                 runs on stacked models, {what} does not)",
                model.n_layers()
            ),
        ));
    }
    Ok(())
}
