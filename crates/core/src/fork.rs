//! Fork–join over independent pieces of work: how the kernel lets a caller run its tiles
//! on threads without the kernel knowing about threads.
//!
//! A kernel with independent tiles (the q-minimization's states) splits its slices in
//! halves, recursively, and hands both halves to [`Fork::join`]. [`Serial`] runs them one
//! after the other; the std layer's thread pool runs them in parallel. The split tree
//! depends only on the number of tiles, never on the number of threads, and no tile reads
//! another's output, so results are bit-identical for every thread count.

/// Runs two closures, possibly in parallel, and returns when both are done.
pub trait Fork: Sync {
    /// True if `join` never runs anything in parallel (then a kernel need not decide when
    /// a piece is too small to split).
    const SERIAL: bool = false;
    /// Runs `a` and `b`.
    fn join<A: FnOnce() + Send, B: FnOnce() + Send>(&self, a: A, b: B);
}

/// No threads: `a`, then `b`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Serial;

impl Fork for Serial {
    const SERIAL: bool = true;
    #[inline]
    fn join<A: FnOnce() + Send, B: FnOnce() + Send>(&self, a: A, b: B) {
        a();
        b();
    }
}
