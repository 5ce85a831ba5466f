//! # libfpf: the C library of fpf
//!
//! The C ABI over [`fpf_std`] and [`fpf_core`], built as `libfpf.so`/`libfpf.a`; its header
//! `include/fpf.h` is generated from this crate by cbindgen.
//!
//! Conventions (after rustls-ffi): every fallible function returns [`fpf_status`] and leaves a
//! message for [`fpf_last_error_message`]; opaque handles are created by `_new` and released
//! by `_free`; every pointer is checked for NULL; outputs are written only on success; a
//! panic is caught at the boundary and returned as [`fpf_status::FPF_PANIC`].
//!
//! Thread safety: the last-error message is per thread. Distinct handles may be used from
//! different threads at the same time; a handle passed as `const` may be shared between
//! threads; a handle passed as mutable must not be used concurrently.

#![warn(missing_docs)]
#![allow(non_camel_case_types)]
#![allow(clippy::needless_range_loop)]

mod boundary;
mod callback;
mod checkpoint;
mod continuation;
mod eig;
mod error;
mod fields;
mod finder;
mod layout;
mod log;
mod pca;
mod rnn;
mod stacked;
mod train;
mod versioned;

pub use boundary::fpf_status;
pub use callback::*;
pub use checkpoint::{
    fpf_checkpoint_load, fpf_checkpoint_load_buffer, fpf_checkpoint_load_into, fpf_checkpoint_save,
    fpf_checkpoint_save_buffer, fpf_fixed_points_load, fpf_fixed_points_save,
};
pub use continuation::*;
pub use eig::{FPF_EIG_MAX_N, fpf_eig};
pub use error::{fpf_last_error_message, fpf_version};
pub use fields::*;
pub use finder::*;
pub use layout::*;
pub use log::fpf_log_fn;
pub use pca::*;
pub use rnn::{
    FPF_ACTIVATION_RELU, FPF_ACTIVATION_SIGMOID, FPF_ACTIVATION_SOFTPLUS, FPF_ACTIVATION_TANH,
    FPF_CELL_GRU, FPF_CELL_GRU_TORCH, FPF_CELL_INVALID, FPF_CELL_LEAKY_RELU,
    FPF_CELL_LEAKY_SIGMOID, FPF_CELL_LEAKY_SOFTPLUS, FPF_CELL_LEAKY_TANH, FPF_CELL_LSTM,
    FPF_CELL_TANH, fpf_activation, fpf_cell, fpf_rnn, fpf_rnn_alpha, fpf_rnn_cell, fpf_rnn_free,
    fpf_rnn_get_param, fpf_rnn_n_hidden, fpf_rnn_n_inputs, fpf_rnn_n_outputs, fpf_rnn_new,
    fpf_rnn_param_len, fpf_rnn_run, fpf_rnn_set_param, fpf_rnn_state_dim, fpf_rnn_step,
};
pub use stacked::{fpf_rnn_n_layers, fpf_rnn_new_stacked};
pub use train::*;
