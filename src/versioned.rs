//! Option structs that can grow: each starts with `size_t struct_size`, the number of bytes
//! the caller's struct has. A caller built against an older header passes a shorter struct,
//! and the fields it lacks keep their defaults; one built against a newer header may pass a
//! longer one, accepted as long as the bytes this library does not know are zero (an option
//! it cannot honour is an error, never silently ignored).

use crate::boundary::{FfiError, FfiResult, fpf_status, non_null};

/// A C option struct whose first field is `struct_size: usize`.
///
/// # Safety
/// Implementors are `#[repr(C)]` with `struct_size: usize` at offset 0.
pub(crate) unsafe trait Versioned: Copy {
    /// The C name, for messages.
    const NAME: &'static str;
    /// The defaults, with `struct_size` = `size_of::<Self>()`.
    fn defaults() -> Self;
}

/// The caller's struct at `p`, with fields past its `struct_size` taken from the defaults.
///
/// # Safety
/// `p` must be NULL or point to `struct_size` readable bytes that start with `struct_size`.
pub(crate) unsafe fn read<T: Versioned>(p: *const T, arg: &str) -> FfiResult<T> {
    non_null(p, arg)?;
    // SAFETY: non-NULL; the first field is a readable size_t by the caller's contract.
    let size = unsafe { p.cast::<usize>().read_unaligned() };
    let ours = size_of::<T>();
    if size < size_of::<usize>() || size > isize::MAX as usize {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!(
                "`{arg}->struct_size` is {size}: fill the {} with its _default or _init \
                 function first",
                T::NAME
            ),
        ));
    }
    if size > ours {
        // SAFETY: `size` (≤ isize::MAX, checked above) readable bytes by the caller's contract.
        let extra = unsafe { crate::boundary::slice(p.cast::<u8>().add(ours), size - ours, arg)? };
        if let Some(at) = extra.iter().position(|&b| b != 0) {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_OPTION,
                format!(
                    "`{arg}` sets byte {} of a {size}-byte {}, but this library (ABI {}) \
                     knows only its first {ours} bytes",
                    ours + at,
                    T::NAME,
                    crate::train::FPF_ABI_VERSION
                ),
            ));
        }
    }
    let mut out = T::defaults();
    let n = size.min(ours);
    // SAFETY: `n` bytes readable at `p` and writable in `out`; `T` is plain old data whose
    // fields the caller filled (bools 0/1, enums checked on conversion).
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut out).cast::<u8>(), n);
    }
    Ok(out)
}

/// Writes the defaults into the caller's `struct_size`-byte struct at `p` (the fields it has;
/// bytes past this library's struct are zeroed) and sets its `struct_size`.
///
/// # Safety
/// `p` must be NULL or point to `struct_size` writable bytes.
pub(crate) unsafe fn init<T: Versioned>(p: *mut T, struct_size: usize) -> FfiResult<()> {
    non_null(p, "opts")?;
    let ours = size_of::<T>();
    if struct_size < size_of::<usize>() || struct_size > isize::MAX as usize {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_SIZE,
            format!(
                "`struct_size` is {struct_size}; a {} has {ours} bytes",
                T::NAME
            ),
        ));
    }
    let d = T::defaults();
    let n = struct_size.min(ours);
    // SAFETY: `struct_size` writable bytes at `p` by the caller's contract.
    unsafe {
        let dst = p.cast::<u8>();
        std::ptr::copy_nonoverlapping((&raw const d).cast::<u8>(), dst, n);
        std::ptr::write_bytes(dst.add(n), 0, struct_size - n);
        p.cast::<usize>().write_unaligned(struct_size);
    }
    Ok(())
}
