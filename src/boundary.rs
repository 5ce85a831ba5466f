//! Status codes, the per-thread last-error message, and the panic boundary every entry point
//! goes through.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// The calling thread's last error message (empty after a success).
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(msg: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(msg);
    });
}

/// Runs `f` on the calling thread's last error message.
pub(crate) fn with_last_error<R>(f: impl FnOnce(&str) -> R) -> R {
    LAST_ERROR.with(|e| f(&e.borrow()))
}

/// Result of every fallible C API call. `FPF_OK` is 0; each kind of failure has its own code,
/// and `fpf_last_error_message` says what exactly went wrong.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum fpf_status {
    /// Success.
    FPF_OK = 0,
    /// A required pointer argument was NULL.
    FPF_NULL_POINTER = 1,
    /// A size is zero, too large, or inconsistent with the object it describes.
    FPF_BAD_SIZE = 2,
    /// An array's length does not match what the object needs.
    FPF_LENGTH_MISMATCH = 3,
    /// A value is NaN or infinite, or too large for the precision asked for (beyond ±3.4e38
    /// in single precision; the message says which).
    FPF_NOT_FINITE = 4,
    /// An option or enum value is out of range.
    FPF_BAD_OPTION = 5,
    /// A name (parameter, field) is unknown or not valid UTF-8.
    FPF_UNKNOWN_NAME = 6,
    /// An iterative algorithm hit its iteration cap.
    FPF_NO_CONVERGENCE = 7,
    /// A computation overflowed to NaN or infinity (a diverging network).
    FPF_DIVERGED = 8,
    /// The caller's callback asked to stop.
    FPF_CANCELLED = 9,
    /// Reading or writing a file failed.
    FPF_IO = 10,
    /// A file or buffer is not a valid checkpoint (bad magic, version, checksum, truncated).
    FPF_BAD_FORMAT = 11,
    /// A checkpoint does not match the model it is loaded into.
    FPF_MISMATCH = 12,
    /// The handle is in use by a running call (this call came from one of its callbacks) and
    /// cannot be changed until that call returns.
    FPF_BUSY = 13,
    /// Memory for a buffer the call needs could not be allocated (the message names it and
    /// its size); nothing was changed.
    FPF_OUT_OF_MEMORY = 14,
    /// A function of a callback model (`fpf_callback_model`) returned nonzero, which stopped
    /// the call (the message names the function and carries the value it returned).
    FPF_CALLBACK_FAILED = 15,
    /// The call does not support this model: training, the continuation and sweeps on a
    /// stacked model (`fpf_rnn_new_stacked`); the message says which.
    FPF_UNSUPPORTED = 16,
    /// An internal error: a panic caught at the boundary (a bug; please report it).
    FPF_PANIC = 99,
}

/// An error on its way out through the C ABI: a status and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FfiError {
    pub status: fpf_status,
    pub message: String,
}

impl FfiError {
    pub fn new(status: fpf_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;

/// Runs `f`, turning its error or a panic into a status and the thread's last-error message.
pub(crate) fn guard(f: impl FnOnce() -> FfiResult<()>) -> fpf_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            fpf_status::FPF_OK
        }
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error (panic): {what}"));
            fpf_status::FPF_PANIC
        }
    }
}

/// Like [`guard`] for functions without a status (accessors, `_free`): a panic yields `fallback`.
pub(crate) fn guard_value<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Checks a pointer for NULL, naming the argument in the error.
pub(crate) fn non_null<T>(p: *const T, name: &str) -> FfiResult<()> {
    if p.is_null() {
        Err(FfiError::new(
            fpf_status::FPF_NULL_POINTER,
            format!("`{name}` is NULL"),
        ))
    } else {
        Ok(())
    }
}

/// `n · m` without overflow, as an error naming `what`.
pub(crate) fn checked_len(n: usize, m: usize, what: &str) -> FfiResult<usize> {
    n.checked_mul(m).ok_or_else(|| {
        FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!("`{what}`: {n} × {m} overflows"),
        )
    })
}

/// Borrows `len` elements at `p` (checked non-NULL) as a slice.
///
/// # Safety
/// `p` must point to `len` readable, initialized elements that stay valid and unaliased by
/// writers for the returned lifetime.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    non_null(p, name)?;
    addressable::<T>(len, name)?;
    // SAFETY: non-NULL checked; validity is the caller's contract, documented in the header.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Checks that `len` elements of `T` fit in one object (at most `isize::MAX` bytes): a
/// longer slice is undefined behaviour even before anything reads it, and no caller's
/// buffer can be that long.
fn addressable<T>(len: usize, name: &str) -> FfiResult<()> {
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!(
                "`{name}` would hold {len} elements of {} bytes, more than any buffer can",
                size_of::<T>()
            ),
        )),
    }
}

/// Borrows `len` writable elements at `p` (checked non-NULL).
///
/// # Safety
/// `p` must point to `len` writable elements, not aliased for the returned lifetime.
pub(crate) unsafe fn slice_mut<'a, T>(p: *mut T, len: usize, name: &str) -> FfiResult<&'a mut [T]> {
    non_null(p, name)?;
    addressable::<T>(len, name)?;
    // SAFETY: as for `slice`.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

impl From<fpf_std::memory::OutOfMemory> for FfiError {
    fn from(e: fpf_std::memory::OutOfMemory) -> Self {
        FfiError::new(fpf_status::FPF_OUT_OF_MEMORY, e.to_string())
    }
}

/// Checks that every value is finite, naming the array.
pub(crate) fn finite(v: &[f64], name: &str) -> FfiResult<()> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(FfiError::new(
            fpf_status::FPF_NOT_FINITE,
            format!("`{name}`[{i}] is {} (NaN or infinite)", v[i]),
        )),
    }
}

/// Copies `src` into the caller's array `out` of `len` elements, after checking that `len`
/// is `src.len()` and `out` is not NULL; nothing is written on error.
///
/// # Safety
/// `out` must be NULL or point to `len` writable elements.
pub(crate) unsafe fn copy_out<T: Copy>(
    src: &[T],
    out: *mut T,
    len: usize,
    what: &str,
) -> FfiResult<()> {
    non_null(out, "out")?;
    if len != src.len() {
        return Err(FfiError::new(
            fpf_status::FPF_LENGTH_MISMATCH,
            format!("`{what}` has {} elements, but `len` is {len}", src.len()),
        ));
    }
    // SAFETY: non-NULL; `len` writable elements by the caller's contract.
    unsafe { slice_mut(out, len, "out") }?.copy_from_slice(src);
    Ok(())
}

/// Copies `text` into `buf` (at most `cap − 1` bytes, then a NUL; nothing if `buf` is NULL
/// or `cap` is 0) and returns the full length of `text`, so a caller can size its buffer.
///
/// # Safety
/// `buf` must be NULL or point to `cap` writable bytes.
pub(crate) unsafe fn write_c_string(
    text: &str,
    buf: *mut std::os::raw::c_char,
    cap: usize,
) -> usize {
    if !buf.is_null() && cap > 0 {
        // Truncate on a character boundary, so the copy is valid UTF-8.
        let mut n = text.len().min(cap - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: `buf` has `cap` writable bytes and n < cap.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    text.len()
}

/// Reads a NUL-terminated name (checked non-NULL) as UTF-8; `what` says what it names.
///
/// # Safety
/// `name` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn c_name<'a>(
    name: *const std::os::raw::c_char,
    what: &str,
) -> FfiResult<&'a str> {
    non_null(name, "name")?;
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { std::ffi::CStr::from_ptr(name) };
    bytes.to_str().map_err(|_| {
        FfiError::new(
            fpf_status::FPF_UNKNOWN_NAME,
            format!(
                "{what} \"{}\" is not valid UTF-8",
                bytes.to_bytes().escape_ascii()
            ),
        )
    })
}
