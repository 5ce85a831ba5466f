//! Threads for the finder and training: a [`Team`] of helper threads behind the kernel's
//! [`Fork`](fpf_core::fork::Fork) (the q-minimization's passes) and for loops over
//! independent items ([`Threads::for_each`]).
//!
//! The kernel cuts a pass into runs of tiles of states and hands them to
//! [`Fork::for_each`](fpf_core::fork::Fork::for_each). The runs depend only on the number
//! of tiles and no tile reads another's output, so every thread count gives bit-identical
//! results. Teams are built once per size and kept for the process.

mod cpu;
mod team;

pub use team::Team;

/// A number of threads to run on: the caller's and `n − 1` helpers.
#[derive(Clone, Copy)]
pub struct Threads {
    team: Team,
    n: usize,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Threads({})", self.n)
    }
}

impl Threads {
    /// `n` threads (0 = one per core). The helpers start when first needed; where the
    /// operating system refuses one, its share of the work runs on the caller's thread.
    pub fn new(n: usize) -> Threads {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, |c| c.get())
        } else {
            n
        };
        Threads {
            team: Team::new(n),
            n,
        }
    }

    /// The number of threads.
    pub fn count(&self) -> usize {
        self.n
    }

    /// The [`Fork`](fpf_core::fork::Fork) for the kernel's passes; callbacks the kernel
    /// makes (progress) run on the caller's thread.
    pub fn fork(&self) -> &Team {
        &self.team
    }

    /// Calls `f(i, item)` for every item of `items`, on the threads; `init` makes each
    /// thread's scratch. The order of calls is unspecified; each item is visited once.
    pub fn for_each<I: Send, S>(
        &self,
        items: &mut [I],
        init: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, usize, &mut I) + Sync,
    ) {
        self.team.for_each_init(items, init, f)
    }
}
