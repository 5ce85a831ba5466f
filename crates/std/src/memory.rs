//! Allocations sized by the caller, made fallibly: a buffer that cannot be had is an
//! [`OutOfMemory`] error naming it and its size, never an abort of the host process.

use std::fmt;

/// A buffer could not be allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    /// What the buffer was for.
    pub what: &'static str,
    /// Its size in bytes (`usize::MAX` when the size itself overflows).
    pub bytes: usize,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bytes == usize::MAX {
            write!(
                f,
                "out of memory: `{}` would not fit in the address space",
                self.what
            )
        } else {
            write!(
                f,
                "out of memory: could not allocate {} bytes for `{}`",
                self.bytes, self.what
            )
        }
    }
}

impl std::error::Error for OutOfMemory {}

/// An empty vector with room for `n` elements.
pub fn with_capacity<T>(n: usize, what: &'static str) -> Result<Vec<T>, OutOfMemory> {
    let bytes = n.saturating_mul(size_of::<T>());
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| OutOfMemory { what, bytes })?;
    Ok(v)
}

/// `n` copies of `value`.
pub fn filled<T: Clone>(n: usize, value: T, what: &'static str) -> Result<Vec<T>, OutOfMemory> {
    let mut v = with_capacity(n, what)?;
    v.resize(n, value);
    Ok(v)
}

/// A copy of `src`.
pub fn copied<T: Clone>(src: &[T], what: &'static str) -> Result<Vec<T>, OutOfMemory> {
    let mut v = with_capacity(src.len(), what)?;
    v.extend_from_slice(src);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors() {
        let e = filled(usize::MAX / 2, 0u64, "huge").unwrap_err();
        assert_eq!((e.what, e.bytes), ("huge", usize::MAX));
        let e = filled(isize::MAX as usize / 8, 0u64, "too big").unwrap_err();
        assert!(e.to_string().contains("too big"), "{e}");
        assert_eq!(filled(3, 7u8, "small").unwrap(), [7, 7, 7]);
        assert_eq!(copied(&[1, 2], "copy").unwrap(), [1, 2]);
    }
}
