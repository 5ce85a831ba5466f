//! Threads for the finder: a rayon pool behind the kernel's [`Fork`].
//!
//! The kernel splits its tiles of states in halves and hands them to [`Fork::join`]; here
//! that is `rayon::join` inside a pool of the requested size. The split tree depends only on
//! the number of tiles and no tile reads another's output, so every thread count gives
//! bit-identical results. Pools are built once per size and kept for the process.

use std::sync::{Arc, Mutex};

use fpf_core::fork::Fork;
use rayon::ThreadPool;

use crate::analysis::AnalysisError;

/// A number of threads to run on: one (the caller's thread, no pool) or a pool.
#[derive(Clone)]
pub struct Threads {
    pool: Option<Arc<ThreadPool>>,
    n: usize,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Threads({})", self.n)
    }
}

/// Pools built so far, by size.
static POOLS: Mutex<Vec<(usize, Arc<ThreadPool>)>> = Mutex::new(Vec::new());

impl Threads {
    /// `n` threads (0 = one per core). Fails only if the operating system refuses to start
    /// the threads.
    pub fn new(n: usize) -> Result<Threads, AnalysisError> {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, |c| c.get())
        } else {
            n
        };
        if n == 1 {
            return Ok(Threads { pool: None, n });
        }
        let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = pools.iter().find(|(k, _)| *k == n) {
            return Ok(Threads {
                pool: Some(Arc::clone(p)),
                n,
            });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("fpf-{i}"))
            .build()
            .map_err(|_| {
                AnalysisError::bad("n_threads", "a number of threads the system can start")
            })?;
        let pool = Arc::new(pool);
        pools.push((n, Arc::clone(&pool)));
        Ok(Threads {
            pool: Some(pool),
            n,
        })
    }

    /// The number of threads.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Runs `f` on the caller's thread with a [`Fork`] that spreads its joins over the
    /// threads (so callbacks `f` makes, e.g. progress, run on the caller's thread).
    pub fn run<R>(&self, f: impl FnOnce(&Pooled<'_>) -> R) -> R {
        f(&Pooled {
            pool: self.pool.as_deref(),
        })
    }

    /// Calls `f(i, item)` for every item of `items`, on the threads; `init` makes each
    /// worker's scratch. The order of calls is unspecified; each item is visited once.
    pub fn for_each<I: Send, S>(
        &self,
        items: &mut [I],
        init: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, usize, &mut I) + Sync,
    ) {
        use rayon::prelude::*;
        match &self.pool {
            Some(p) => p.install(|| {
                items
                    .par_iter_mut()
                    .enumerate()
                    .for_each_init(&init, |s, (i, item)| f(s, i, item))
            }),
            None => {
                let mut s = init();
                for (i, item) in items.iter_mut().enumerate() {
                    f(&mut s, i, item);
                }
            }
        }
    }
}

/// The [`Fork`] of [`Threads::run`]: a join in the pool (from outside it, the caller waits;
/// inside it, rayon's work stealing), or one after the other.
#[derive(Debug)]
pub struct Pooled<'p> {
    pool: Option<&'p ThreadPool>,
}

impl Fork for Pooled<'_> {
    #[inline]
    fn join<A: FnOnce() + Send, B: FnOnce() + Send>(&self, a: A, b: B) {
        match self.pool {
            Some(p) => {
                p.join(a, b);
            }
            None => {
                a();
                b();
            }
        }
    }
}
