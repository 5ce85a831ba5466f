//! Slice splitting that cannot panic, for the kernels.
//!
//! A kernel takes run-time sizes and slices whose lengths its caller checked (or built from
//! one [`crate::cell::CellShape`]), but the compiler cannot see those checks, so every
//! `split_at`, `[a..b]` and `[i]` in it would keep a panic path. The kernels instead cut each
//! slice once, at their entry, to the exact length they use, with these functions (`None`
//! where the slice is too short) and `?`; loops over such exact-length slices need no further
//! check. A `None` means the caller broke the kernel's contract: the kernel stops there, and
//! the caller `debug_assert!`s that it did not.

/// Splits the first `n` elements off `*s`; `None` if `*s` is shorter.
#[inline(always)]
pub(crate) fn take<'a, T>(s: &mut &'a [T], n: usize) -> Option<&'a [T]> {
    let (head, tail) = s.split_at_checked(n)?;
    *s = tail;
    Some(head)
}

/// Splits the first `n` elements off `*s`; `None` if `*s` is shorter.
#[inline(always)]
pub(crate) fn take_mut<'a, T>(s: &mut &'a mut [T], n: usize) -> Option<&'a mut [T]> {
    let (head, tail) = core::mem::take(s).split_at_mut_checked(n)?;
    *s = tail;
    Some(head)
}

/// `s[start..start + len]`; `None` if that is not inside `s`.
#[inline(always)]
pub(crate) fn sub<T>(s: &[T], start: usize, len: usize) -> Option<&[T]> {
    s.get(start..)?.get(..len)
}

/// `s[start..start + len]`; `None` if that is not inside `s`.
#[inline(always)]
pub(crate) fn sub_mut<T>(s: &mut [T], start: usize, len: usize) -> Option<&mut [T]> {
    s.get_mut(start..)?.get_mut(..len)
}
