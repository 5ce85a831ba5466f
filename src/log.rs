//! The log callback: where the verbose and progress lines of a call go.

use std::ffi::CString;
use std::os::raw::{c_char, c_void};

use fpf_std::log::Log;

/// Receives each verbose or progress message of a call (UTF-8, NUL-terminated, without a
/// trailing newline; it may hold inner newlines) with the `log_user` pointer of the options.
/// The library prints nothing itself: with no callback (NULL) the messages are dropped.
pub type fpf_log_fn = Option<unsafe extern "C" fn(user: *mut c_void, message: *const c_char)>;

/// The std layer's sink for a C callback.
pub(crate) fn c_log<'a>(f: fpf_log_fn, user: *mut c_void) -> Log<'a> {
    match f {
        None => Log::none(),
        Some(f) => Log::to(move |msg: &str| {
            // Messages are formatted by the library and hold no NUL.
            if let Ok(c) = CString::new(msg) {
                // SAFETY: the caller vouches for the callback and its user pointer.
                unsafe { f(user, c.as_ptr()) }
            }
        }),
    }
}
