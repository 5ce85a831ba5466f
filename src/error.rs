//! The per-thread last-error message and the version string.

use std::cell::RefCell;
use std::os::raw::c_char;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

pub(crate) fn set_last_error(msg: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(msg);
    });
}

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
    crate::boundary::guard_value(0, || {
        LAST_ERROR.with(|e| {
            // SAFETY: forwarded contract.
            unsafe { crate::boundary::write_c_string(&e.borrow(), buf, cap) }
        })
    })
}
