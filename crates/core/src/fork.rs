//! Independent pieces of work, possibly on threads: how the kernel lets a caller run its
//! tiles on threads without the kernel knowing about threads.
//!
//! A kernel with independent tiles (the q-minimization's states) cuts its slices into
//! pieces (runs of tiles) and hands the list to [`Fork::for_each`]. [`Serial`] runs
//! them one after the other; the std layer's thread team shares them between its threads,
//! a thread that is done taking pieces left by a slower one. The pieces depend only on the
//! number of tiles, never on the number of threads or on who runs which, and no piece
//! reads another's output, so results are bit-identical for every thread count.

/// Runs a closure on every item of a list, possibly several items at a time.
pub trait Fork: Sync {
    /// True if `for_each` never runs anything in parallel (then a kernel need not cut
    /// its work into pieces).
    const SERIAL: bool = false;
    /// Calls `f` once on every item of `items`, in no set order, possibly on several
    /// threads at once, and returns when every call is over.
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F);
}

/// No threads: the items in order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Serial;

impl Fork for Serial {
    const SERIAL: bool = true;
    #[inline]
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F) {
        items.iter_mut().for_each(f);
    }
}
