//! The C functions that read the last-error message (kept by [`crate::boundary`]) and the
//! version string.

use std::os::raw::c_char;

use crate::boundary::{guard_value, with_last_error, write_c_string};

/// Library version, a static NUL-terminated string such as `"0.1.0"`.
#[unsafe(no_mangle)]
pub extern "C" fn fpf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Copies the calling thread's last error message into `buf` (at most `cap − 1` bytes, then a
/// NUL) and returns the message's full length in bytes, so a caller can size its buffer: call
/// with `buf = NULL, cap = 0` to ask. The message is empty after a successful call.
///
/// # Safety
/// `buf` must be NULL or point to `cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_last_error_message(buf: *mut c_char, cap: usize) -> usize {
    guard_value(0, || {
        with_last_error(|msg| {
            // SAFETY: forwarded contract.
            unsafe { write_c_string(msg, buf, cap) }
        })
    })
}
