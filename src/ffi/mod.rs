//! The C ABI (see DESIGN.md §4 and the generated `include/fpf.h`).
//!
//! Conventions (after rustls-ffi): every fallible function returns [`fpf_status`] and leaves a
//! message for [`fpf_last_error_message`]; opaque handles are created by `_new` and released
//! by `_free`; every pointer is checked for NULL; outputs are written only on success; a
//! panic is caught at the boundary and returned as [`fpf_status::FPF_PANIC`].
//!
//! Thread safety: the last-error message is per thread. Distinct handles may be used from
//! different threads at the same time; a handle passed as `const` may be shared between
//! threads; a handle passed as mutable must not be used concurrently.

#![allow(non_camel_case_types)]

// Some helpers are used only by entry points that land with later issues.
#[allow(dead_code)]
mod boundary;
// mod eig; (enabled with the eigen solver)
#[allow(dead_code)]
mod error;

pub use boundary::fpf_status;
// pub use eig::fpf_eig;
pub use error::{fpf_last_error_message, fpf_version};
