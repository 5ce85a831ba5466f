//! Threads for the finder: a rayon pool behind the kernel's [`Fork`].
//!
//! The kernel splits its tiles of states in halves and hands them to [`Fork::join`]; here
//! that is `rayon::join` inside a pool of the requested size. The split tree depends only on
//! the number of tiles and no tile reads another's output, so every thread count gives
//! bit-identical results. Pools are built once per size and kept for the process.

use std::sync::{Arc, Mutex};

use fpf_core::find::Progress;
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

    /// Runs `f` on a thread of the pool, so that its joins are the pool's own (from the
    /// caller's thread every join would hand the work over and put the caller to sleep and
    /// wake it again: at tens of µs per iteration that was a sixth of a 2-thread iteration).
    /// `progress` still runs on the caller's thread (callbacks from C or Python expect it):
    /// the stand-in `f` gets forwards the calls `wanted` accepts and answers `true` to the
    /// others at once.
    pub fn run_in_pool<R: Send>(
        &self,
        progress: &mut dyn FnMut(&Progress) -> bool,
        wanted: impl Fn(&Progress) -> bool + Sync,
        f: impl FnOnce(&Pooled<'_>, &mut dyn FnMut(&Progress) -> bool) -> R + Send,
    ) -> R {
        let pool = match self.pool.as_deref() {
            // Already on one of this pool's threads (a job of the pool searching): here, as
            // a job of the same pool blocked on the channel could wait for itself.
            Some(p) if p.current_thread_index().is_some() => Some(p),
            Some(p) => return forwarded(p, progress, wanted, f),
            None => None,
        };
        f(&Pooled { pool }, &mut |p: &Progress| {
            !wanted(p) || progress(p)
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

/// [`Threads::run_in_pool`] from outside `pool`.
fn forwarded<R: Send>(
    pool: &ThreadPool,
    progress: &mut dyn FnMut(&Progress) -> bool,
    wanted: impl Fn(&Progress) -> bool + Sync,
    f: impl FnOnce(&Pooled<'_>, &mut dyn FnMut(&Progress) -> bool) -> R + Send,
) -> R {
    let (to_caller, requests) = std::sync::mpsc::sync_channel::<Progress>(0);
    let (to_job, replies) = std::sync::mpsc::sync_channel::<bool>(0);
    let mut out = None;
    pool.in_place_scope(|scope| {
        let (out, wanted) = (&mut out, &wanted);
        scope.spawn(move |_| {
            let mut forward = |p: &Progress| -> bool {
                !wanted(p) || (to_caller.send(*p).is_ok() && replies.recv().unwrap_or(false))
            };
            *out = Some(f(&Pooled { pool: Some(pool) }, &mut forward));
            // `to_caller` is dropped here: the caller's loop below ends.
        });
        for p in requests.iter() {
            if to_job.send(progress(&p)).is_err() {
                break;
            }
        }
    });
    // The scope returns once the job has run; a panic in it resumes here instead.
    match out {
        Some(r) => r,
        None => unreachable!("the pool's job ran to completion"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iter: usize) -> Progress {
        Progress {
            iter,
            first_state: 0,
            n_states: 1,
            q_mean: 0.0,
            q_std: 0.0,
            dq_mean: 0.0,
            dq_std: 0.0,
            lr: 0.0,
            done: false,
        }
    }

    /// The job runs on a pool thread, the callback on the caller's, only for the calls
    /// `wanted` accepts, and its answer reaches the job.
    #[test]
    fn run_in_pool_forwards_the_wanted_calls_to_the_callers_thread() {
        for n in [1, 2] {
            let threads = Threads::new(n).unwrap();
            let caller = std::thread::current().id();
            let mut seen = Vec::new();
            let mut progress = |p: &Progress| {
                assert_eq!(std::thread::current().id(), caller);
                seen.push(p.iter);
                p.iter < 5
            };
            let (stopped_at, in_pool) = threads.run_in_pool(
                &mut progress,
                |p| p.iter % 2 == 0,
                |_, cb| {
                    let in_pool = rayon::current_thread_index().is_some();
                    ((0..10).find(|&i| !cb(&at(i))), in_pool)
                },
            );
            assert_eq!(stopped_at, Some(6), "{n} threads");
            assert_eq!(seen, [0, 2, 4, 6], "{n} threads");
            assert_eq!(in_pool, n > 1);
        }
    }

    /// From a thread of the same pool (a job of it searching) the job runs right there.
    #[test]
    fn run_in_pool_from_inside_the_pool_does_not_wait_for_itself() {
        let threads = Threads::new(2).unwrap();
        let mut items = [0usize; 4];
        threads.for_each(
            &mut items,
            || (),
            |_, i, item| {
                let mut calls = 0;
                *item = threads.run_in_pool(
                    &mut |_| {
                        calls += 1;
                        true
                    },
                    |_| true,
                    |_, cb| (0..3).filter(|&k| cb(&at(k))).count() + i,
                );
                assert_eq!(calls, 3);
            },
        );
        assert_eq!(items, [3, 4, 5, 6]);
    }

    /// A panic in the job reaches the caller (and nothing waits forever).
    #[test]
    fn run_in_pool_resumes_a_panic_of_the_job() {
        let threads = Threads::new(2).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            threads.run_in_pool(
                &mut |_| true,
                |_| true,
                |_, cb| {
                    cb(&at(0));
                    panic!("job")
                },
            )
        }));
        assert!(r.is_err());
    }
}
