//! A team of helper threads that spin between jobs: the passes of the q-minimization loop
//! and the loops over independent items.
//!
//! The loop hands out its runs of tiles once per iteration, thousands of times a second,
//! with tens of µs of work on each thread. A rayon worker waiting for work yields the
//! processor and then sleeps; where other processes are runnable, every yield hands the core
//! away for a time slice, and a sleeping thread never earns its share of the second core
//! back: two threads ran no faster than one (1 CPU utilized) while another process compiled.
//! A helper here spins between jobs instead, as OpenMP runtimes do, and parks only after
//! [`IDLE_SPIN`] without one; a joiner waiting for its other half spins too, and yields only
//! after [`WAIT_SPIN`]. A helper keeps off the core its joiner runs on ([`cpu`]): the
//! scheduler would otherwise often leave both on one core for a hundred milliseconds. The
//! joiner moves it off when it finds itself on the helper's core (it may have been moved
//! there while the helper was parked).
//!
//! [`Team::for_each_init`] (the kernel's [`Fork::for_each`]) gives each thread its own share
//! of the items, the same share on every call, and a thread done with its own takes the
//! others' last items ([`Shares`]): the two cores of this machine's VM differ in speed by up
//! to 39 % from minute to minute, and with fixed halves the faster one waited for the slower
//! every pass. It starts its threads through [`Team::join`], which posts its second half to
//! a free helper and runs the first itself; then, if the helper has not taken the second
//! half yet, the joiner takes it back and runs it too (as rayon's `join` does), else it waits
//! for it. So a helper that is not on a core delays nothing. With no helper free the joiner
//! runs both: several callers may share a team. A panic in either half reaches the joiner
//! after both halves are over.
//!
//! Helpers are started at the first join that has use for them and kept for the process
//! (one team per size), parked while unused.
//!
//! The one module of this crate with `unsafe`: a join's second half borrows the joiner's
//! stack, for less time than the helper threads live, so it is handed over as a pointer
//! (as in rayon's `join`); the items of one `for_each_init` are reached through a pointer by
//! whichever thread takes each (every index is handed out once); each block says why.

#![allow(unsafe_code)]

use std::any::Any;
use std::cell::UnsafeCell;
use std::hint::spin_loop;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use fpf_core::fork::Fork;

use super::cpu;

/// Most threads one [`Team::for_each_init`] runs on (its [`Shares`] live on the caller's
/// stack).
const MAX_WORKERS: usize = 64;

/// The items of one [`Team::for_each_init`] call shared out between `k` threads: thread
/// `w`'s own share is items `w·n/k .. (w+1)·n/k`, kept as its next item and its end in one
/// word (low and high 32 bits). The owner takes from the front; a thread done with its own
/// share takes from the back of the others'. Every index is handed out once.
struct Shares {
    words: [Line; MAX_WORKERS],
    k: usize,
}

/// A share's word alone on its cache line, so that a thread's takes from its own share touch
/// no line another thread writes (side by side, the two words of a two-thread pass shared
/// one line, which crossed between the cores at nearly every one of a pass's 16 takes; a
/// line takes 25–60 ns to cross on this VM, 210–240 ns while the host keeps the two vCPUs
/// on different core complexes, by a ping-pong probe not kept). Measured in 80 alternating
/// pairs of runs at H = 64, 1024 states (a per-iteration probe, not kept): no change beyond
/// the host's noise (where a line took 210 ns, two threads ran 14 % behind the two-core
/// bound with it and 15 % without).
#[repr(align(64))]
struct Line(AtomicU64);

impl Shares {
    fn new(n: usize, k: usize) -> Shares {
        let words = std::array::from_fn(|w| {
            let (lo, hi) = if w < k {
                (w * n / k, (w + 1) * n / k)
            } else {
                (0, 0)
            };
            Line(AtomicU64::new(lo as u64 | (hi as u64) << 32))
        });
        Shares { words, k }
    }

    /// The next item for thread `w`: its own share's first left, else another's last.
    fn next(&self, w: usize) -> Option<usize> {
        self.take(w, true)
            .or_else(|| (1..self.k).find_map(|d| self.take((w + d) % self.k, false)))
    }

    /// Takes the first (`front`) or the last item left in share `w`.
    fn take(&self, w: usize, front: bool) -> Option<usize> {
        let word = &self.words.get(w)?.0;
        let mut cur = word.load(Ordering::Acquire);
        loop {
            let (lo, hi) = (cur & 0xffff_ffff, cur >> 32);
            if lo >= hi {
                return None;
            }
            let (new, got) = if front {
                (cur + 1, lo)
            } else {
                (cur - (1 << 32), hi - 1)
            };
            match word.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(got as usize),
                Err(now) => cur = now,
            }
        }
    }
}

/// The items of a [`Team::for_each_init`] call, for its workers to index.
struct ItemsPtr<I>(*mut I);

// SAFETY: the workers take disjoint items (each index once, see `Shares`), and `I: Send`.
unsafe impl<I: Send> Sync for ItemsPtr<I> {}

impl<I> ItemsPtr<I> {
    /// Item `i` (not checked: the caller's index is below the length).
    fn at(&self, i: usize) -> *mut I {
        self.0.wrapping_add(i)
    }
}

/// A helper with nothing to do parks after spinning this long.
const IDLE_SPIN: Duration = Duration::from_millis(2);

/// A joiner waiting for the second half its helper runs yields between checks after this
/// long (the helper is then most likely waiting for a core).
const WAIT_SPIN: Duration = Duration::from_micros(200);

/// A slot's word: a post count (above the low 8 bits) and its state. The count tells a
/// joiner taking its job back from a later job posted to the same slot.
const fn word(posts: u64, state: u8) -> u64 {
    (posts << 8) | state as u64
}

/// The state of a slot's word.
const fn state_of(w: u64) -> u8 {
    w as u8
}

/// A slot's states.
mod state {
    /// No thread yet: a joiner claims the slot by starting one.
    pub const UNSTARTED: u8 = 0;
    /// Free, its thread spinning.
    pub const SPINNING: u8 = 1;
    /// Free, its thread parked (or about to park): the joiner unparks it.
    pub const PARKED: u8 = 2;
    /// A joiner is handing it a job.
    pub const CLAIMED: u8 = 3;
    /// A job to run, not yet taken: the helper or (taking it back) its joiner takes it.
    pub const POSTED: u8 = 4;
    /// The helper runs its job.
    pub const RUNNING: u8 = 5;
    /// The thread could not be started: the slot is never used.
    pub const BROKEN: u8 = 6;
}

/// A job on its joiner's stack: the closure, its panic, and whether it is over.
struct StackJob<B> {
    f: UnsafeCell<Option<B>>,
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
    done: AtomicBool,
}

/// A posted job: a pointer to a [`StackJob`] and the function that runs it.
#[derive(Clone, Copy)]
struct JobRef {
    data: *const (),
    run: unsafe fn(*const ()),
}

/// Runs the `StackJob<B>` at `data` and marks it done; the job's memory is not touched after.
///
/// # Safety
/// `data` points to a live `StackJob<B>` that stays alive until its `done` is set, and no
/// one else runs it.
unsafe fn run_job<B: FnOnce()>(data: *const ()) {
    // SAFETY: by the contract, `data` is a live `StackJob<B>` that only this call runs.
    let job = unsafe { &*data.cast::<StackJob<B>>() };
    // SAFETY: only this call touches `f` and `panic` until `done` is set.
    if let Some(f) = unsafe { (*job.f.get()).take() }
        && let Err(p) = panic::catch_unwind(AssertUnwindSafe(f))
    {
        // SAFETY: as above.
        unsafe { *job.panic.get() = Some(p) };
    }
    job.done.store(true, Ordering::Release);
}

/// One helper: its state, the job handed to it, the core its joiner runs on, the core the
/// helper is kept off, its thread id (for [`cpu::keep_off`]) and its thread (to unpark).
struct Slot {
    state: AtomicU64,
    job: UnsafeCell<Option<JobRef>>,
    joiner_cpu: AtomicI32,
    avoided: AtomicI32,
    tid: AtomicI32,
    thread: OnceLock<Thread>,
}

// SAFETY: `job` is written only by the joiner that moved `state` to CLAIMED, before it
// stores POSTED (release), and read only by the slot's thread after it moves POSTED to
// RUNNING (acquire); the job it points to is `Send` (see `Team::join`).
unsafe impl Sync for Slot {}

/// The helper slots of a team, by team size, kept for the process.
static TEAMS: Mutex<Vec<&'static [Slot]>> = Mutex::new(Vec::new());

/// A team of `n` threads: the caller's and `n − 1` helpers. A [`Fork`].
#[derive(Clone, Copy)]
pub struct Team {
    slots: &'static [Slot],
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Team({} helpers)", self.slots.len())
    }
}

impl Team {
    /// The team of `n` threads (`n ≥ 1`): the caller's and `n − 1` helpers, shared by
    /// every caller asking for that many.
    pub fn new(n: usize) -> Team {
        let helpers = n.max(1) - 1;
        if helpers == 0 {
            return Team { slots: &[] };
        }
        let mut teams = TEAMS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slots) = teams.iter().find(|s| s.len() == helpers) {
            return Team { slots };
        }
        let slots: &'static [Slot] = Box::leak(
            (0..helpers)
                .map(|_| Slot {
                    state: AtomicU64::new(word(0, state::UNSTARTED)),
                    job: UnsafeCell::new(None),
                    joiner_cpu: AtomicI32::new(-1),
                    avoided: AtomicI32::new(-1),
                    tid: AtomicI32::new(0),
                    thread: OnceLock::new(),
                })
                .collect(),
        );
        teams.push(slots);
        Team { slots }
    }

    /// Calls `f(i, item)` for every item, on the team; `init` makes each thread's scratch
    /// (once, when it takes its first item). Each thread starts on its own share of the
    /// items (the caller on the first, helper `k` on the `k + 1`-th, in order; so a loop
    /// calling this again and again gives each thread the same items, whose data stay in
    /// its core's cache) and, when that is done, takes the others' last items one by one
    /// ([`Shares`]): a slower thread, or one that is not on a core, holds up the call by at
    /// most the item it runs.
    pub fn for_each_init<I: Send, S>(
        &self,
        items: &mut [I],
        init: impl Fn() -> S + Sync,
        f: impl Fn(&mut S, usize, &mut I) + Sync,
    ) {
        let k = (self.slots.len() + 1).min(items.len()).min(MAX_WORKERS);
        if k <= 1 || u32::try_from(items.len()).is_err() {
            let mut s = init();
            for (i, item) in items.iter_mut().enumerate() {
                f(&mut s, i, item);
            }
            return;
        }
        let shares = Shares::new(items.len(), k);
        let base = ItemsPtr(items.as_mut_ptr());
        let work = |w: usize| {
            let mut scratch = None;
            while let Some(i) = shares.next(w) {
                // SAFETY: `next` hands out every index below `items.len()` once, and
                // `items` is borrowed until every worker is done (`spread` returns).
                let item = unsafe { &mut *base.at(i) };
                f(scratch.get_or_insert_with(&init), i, item);
            }
        };
        self.spread(0, k, &work);
    }

    /// `work(w)` for `w` in `first..first + k`: the first on this thread, the others on
    /// helpers (or here, where no helper is free or takes it).
    fn spread(&self, first: usize, k: usize, work: &(impl Fn(usize) + Sync)) {
        if k <= 1 {
            work(first);
        } else {
            self.join(|| work(first), || self.spread(first + 1, k - 1, work));
        }
    }

    /// Claims a free slot: `Some((slot, its state before, its post count))`.
    fn claim(&self) -> Option<(&'static Slot, u8, u64)> {
        self.slots.iter().find_map(|s| {
            let w = s.state.load(Ordering::Relaxed);
            let (was, posts) = (state_of(w), w >> 8);
            let free = matches!(was, state::SPINNING | state::PARKED | state::UNSTARTED);
            let claimed = word(posts, state::CLAIMED);
            (free
                && s.state
                    .compare_exchange(w, claimed, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok())
            .then_some((s, was, posts))
        })
    }
}

impl Fork for Team {
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F) {
        self.for_each_init(items, || (), |_, _, item| f(item));
    }
}

impl Team {
    /// Runs `a` here and `b` on a free helper (or here after `a`, if none is free or the
    /// helper has not taken `b` when `a` is over), returning when both are done; a panic in
    /// either reaches the caller after both.
    pub fn join<A: FnOnce() + Send, B: FnOnce() + Send>(&self, a: A, b: B) {
        let Some((slot, was, posts)) = self.claim() else {
            return both_here(a, b);
        };
        let here = cpu::current();
        slot.joiner_cpu.store(here, Ordering::Relaxed);
        // A helper kept off another core than this one may be kept on this one: the
        // scheduler moved the joiner (while the helper was parked, or between joins) onto the
        // one core left to the helper, which would then wait for the joiner's core, never
        // take its half, and two threads would run as one. Move it off here first.
        let tid = slot.tid.load(Ordering::Relaxed);
        if tid > 0 && here >= 0 && slot.avoided.swap(here, Ordering::Relaxed) != here {
            cpu::keep_off(tid, here);
        }
        if was == state::UNSTARTED {
            let started = thread::Builder::new()
                .name("fpf-helper".into())
                .spawn(move || helper(slot));
            if started.is_err() {
                slot.state
                    .store(word(posts, state::BROKEN), Ordering::Relaxed);
                return both_here(a, b);
            }
        }
        let job = StackJob {
            f: UnsafeCell::new(Some(b)),
            panic: UnsafeCell::new(None),
            done: AtomicBool::new(false),
        };
        // SAFETY: this joiner holds the claim, so nothing else reads or writes `job` now.
        unsafe {
            *slot.job.get() = Some(JobRef {
                data: (&raw const job).cast(),
                run: run_job::<B>,
            });
        }
        let posted = word(posts + 1, state::POSTED);
        slot.state.store(posted, Ordering::Release);
        if was == state::PARKED
            && let Some(t) = slot.thread.get()
        {
            t.unpark();
        }
        let ra = panic::catch_unwind(AssertUnwindSafe(a));
        // Only this post: once the helper has run it, another joiner may have posted anew.
        let taken_back = slot
            .state
            .compare_exchange(
                posted,
                word(posts + 1, state::SPINNING),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok();
        if taken_back {
            // (The slot's stale `job` is never read: the next claimer overwrites it first.)
            // SAFETY: the helper never took the job (the slot left POSTED here), so this
            // is its only run, and `job` is alive on this stack.
            unsafe { run_job::<B>((&raw const job).cast()) };
        } else {
            // `job` lives on this stack: wait for it whatever `a` did.
            let t0 = Instant::now();
            let mut checks = 0u32;
            while !job.done.load(Ordering::Acquire) {
                checks = checks.wrapping_add(1);
                if checks.is_multiple_of(64) && t0.elapsed() > WAIT_SPIN {
                    thread::yield_now();
                } else {
                    spin_loop();
                }
            }
        }
        if let Some(p) = job.panic.into_inner() {
            panic::resume_unwind(p);
        }
        if let Err(p) = ra {
            panic::resume_unwind(p);
        }
    }
}

/// `a`, then `b`, on this thread (no helper free): a panic in `a` reaches the caller after
/// `b` has run, as when a helper runs `b`.
fn both_here<A: FnOnce(), B: FnOnce()>(a: A, b: B) {
    let ra = panic::catch_unwind(AssertUnwindSafe(a));
    b();
    if let Err(p) = ra {
        panic::resume_unwind(p);
    }
}

/// A helper's loop: run what is posted, spin while free, park after [`IDLE_SPIN`] of it.
fn helper(slot: &'static Slot) {
    let _ = slot.thread.set(thread::current());
    slot.tid.store(cpu::thread_id(), Ordering::Relaxed);
    let mut idle_since = Instant::now();
    let mut spins = 0u32;
    loop {
        let w = slot.state.load(Ordering::Acquire);
        let posts = w >> 8;
        match state_of(w) {
            state::POSTED => {
                // Take the job, unless its joiner took it back first.
                if slot
                    .state
                    .compare_exchange(
                        w,
                        word(posts, state::RUNNING),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_err()
                {
                    continue;
                }
                let c = slot.joiner_cpu.load(Ordering::Relaxed);
                if slot.avoided.swap(c, Ordering::Relaxed) != c {
                    cpu::keep_off(0, c);
                }
                // SAFETY: POSTED (acquire) follows the joiner's write of `job`, and RUNNING
                // keeps everyone else off it.
                if let Some(j) = unsafe { (*slot.job.get()).take() } {
                    // SAFETY: the joiner keeps the job alive until it is done, and only
                    // this thread took it.
                    unsafe { (j.run)(j.data) };
                }
                slot.state
                    .store(word(posts, state::SPINNING), Ordering::Release);
                idle_since = Instant::now();
                spins = 0;
            }
            state::SPINNING => {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(256) && idle_since.elapsed() > IDLE_SPIN {
                    let _ = slot.state.compare_exchange(
                        w,
                        word(posts, state::PARKED),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                } else {
                    spin_loop();
                }
            }
            // Until a joiner posts (and unparks); a spurious wake-up, or one for a job its
            // joiner took back meanwhile, parks again.
            state::PARKED => {
                thread::park();
                idle_since = Instant::now();
                spins = 0;
            }
            // CLAIMED: a job is on its way.
            _ => spin_loop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// The second half runs on a helper, the first on the caller; both run once.
    #[test]
    fn join_gives_the_second_half_to_a_helper() {
        let team = Team::new(2);
        let caller = thread::current().id();
        // The helper may be busy with another test's join (the team is shared), or not
        // on a core before the first half ends: try until it takes one.
        let mut helped = false;
        for _ in 0..1000 {
            let (mut ta, mut tb) = (None, None);
            team.join(
                || {
                    ta = Some(thread::current().id());
                    thread::sleep(Duration::from_millis(1));
                },
                || tb = Some(thread::current().id()),
            );
            assert_eq!(ta, Some(caller));
            helped |= tb.is_some_and(|t| t != caller);
            if helped {
                break;
            }
        }
        assert!(helped, "the helper never ran a second half");
    }

    /// A helper left on the one core its joiner has since moved to (the scheduler moved the
    /// joiner while the helper was parked) is moved off it before the joiner's first half
    /// runs: without that, confined to a core the joiner keeps busy, it could not take its
    /// half and two threads would run as one. (With one core allowed nothing changes.)
    #[cfg(target_os = "linux")]
    #[test]
    fn a_joiner_moves_its_helper_off_its_core() {
        use super::cpu::mask;
        // A team size no other test uses: its first slot is free for this test alone.
        let team = Team::new(7);
        let allowed = mask::get(0);
        let cores = mask::cores(&allowed);
        let (a, b) = (cores[0], *cores.last().unwrap());
        mask::set(0, &mask::only(a));
        // Start the helper of the first slot and learn its thread id.
        let slot = &team.slots[0];
        while slot.tid.load(Ordering::Relaxed) == 0 {
            team.join(|| thread::sleep(Duration::from_millis(1)), || {});
        }
        let tid = slot.tid.load(Ordering::Relaxed);
        // The stale state: the helper kept off a, so on b only, and the joiner now on b.
        if a != b {
            mask::set(tid, &mask::without(&allowed, a));
        }
        slot.avoided.store(a as i32, Ordering::Relaxed);
        mask::set(0, &mask::only(b));
        let mut seen = None;
        team.join(|| seen = Some(mask::get(tid)), || {});
        mask::set(0, &allowed);
        let want = if a == b {
            allowed
        } else {
            mask::without(&allowed, b)
        };
        assert_eq!(seen, Some(want), "cores {cores:?}, joiner on {b}");
    }

    /// With no helper, a panic in the first half still lets the second run before it
    /// reaches the caller.
    #[test]
    fn a_panic_in_the_first_half_on_one_thread_waits_for_the_second() {
        let ran = AtomicBool::new(false);
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            Team::new(1).join(
                || panic!("first half"),
                || ran.store(true, Ordering::Relaxed),
            )
        }));
        assert!(r.is_err());
        assert!(ran.load(Ordering::Relaxed), "the second half did not run");
    }

    /// One thread: both halves in order on the caller's.
    #[test]
    fn a_team_of_one_runs_both_halves_in_order() {
        let order = Mutex::new(Vec::new());
        Team::new(1).join(
            || order.lock().unwrap().push(1),
            || order.lock().unwrap().push(2),
        );
        assert_eq!(*order.lock().unwrap(), [1, 2]);
    }

    /// Nested joins, many of them, from two callers at once, with the helpers parking in
    /// between: every leaf runs exactly once.
    #[test]
    fn nested_joins_after_parking_run_every_leaf_once() {
        fn tree(team: &Team, leaves: &[AtomicUsize]) {
            if let [one] = leaves {
                one.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let (a, b) = leaves.split_at(leaves.len() / 2);
            team.join(|| tree(team, a), || tree(team, b));
        }
        for n in [2, 3, 4] {
            let team = Team::new(n);
            thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        let leaves: Vec<AtomicUsize> =
                            (0..37).map(|_| AtomicUsize::new(0)).collect();
                        for round in 0..200 {
                            if round % 50 == 49 {
                                // Long enough for the helpers to park.
                                thread::sleep(IDLE_SPIN * 3);
                            }
                            tree(&team, &leaves);
                        }
                        assert!(
                            leaves.iter().all(|l| l.load(Ordering::Relaxed) == 200),
                            "{n} threads"
                        );
                    });
                }
            });
        }
    }

    /// Two callers on one helper, their first halves of every length up to beyond the
    /// helper's idle spin (so it parks in between and a post waits for its wake-up): no
    /// second half is lost (a joiner taking back its job must not take a later one another
    /// joiner posted to the same slot) and none runs twice.
    #[test]
    fn concurrent_joiners_never_lose_or_repeat_a_half() {
        let team = Team::new(2);
        let (tx, rx) = std::sync::mpsc::channel();
        const JOINS: u64 = 400;
        for caller in 0..2u64 {
            let tx = tx.clone();
            thread::spawn(move || {
                let (mut ran, mut r) = (0u64, caller + 1);
                for k in 0..JOINS {
                    r = r
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let wait = Duration::from_micros((r >> 33) % 3000);
                    let mut b_ran = 0;
                    team.join(|| thread::sleep(wait), || b_ran += 1);
                    assert_eq!(b_ran, 1, "join {k}");
                    ran += b_ran;
                }
                let _ = tx.send(ran);
            });
        }
        for _ in 0..2 {
            let ran = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("a join waits for a second half no one runs");
            assert_eq!(ran, JOINS);
        }
    }

    /// `for_each_init` visits every item once, with one scratch per thread, for any
    /// number of items and threads.
    #[test]
    fn for_each_visits_every_item_once() {
        for n in [1, 2, 3, 5] {
            for len in [0, 1, 2, 3, 7, 16, 100] {
                let mut items = vec![0usize; len];
                let inits = AtomicUsize::new(0);
                Team::new(n).for_each_init(
                    &mut items,
                    || inits.fetch_add(1, Ordering::Relaxed),
                    |_, i, item| *item += i + 1,
                );
                let ok = items.iter().enumerate().all(|(i, &v)| v == i + 1);
                assert!(ok, "{n} threads, {len} items");
                let inits = inits.load(Ordering::Relaxed);
                assert!(inits <= n.min(len).max(1), "{n} threads, {len} items");
            }
        }
    }

    /// A thread takes its own share from the front, in order, then the others' from the
    /// back, one item at a time, nearest share first; every item once.
    #[test]
    fn shares_go_to_their_owners_first_then_to_any_thread() {
        let shares = Shares::new(10, 3);
        let order: Vec<usize> = std::iter::from_fn(|| shares.next(1)).collect();
        assert_eq!(order, [3, 4, 5, 9, 8, 7, 6, 2, 1, 0]);
        assert_eq!((shares.next(0), shares.next(2)), (None, None));
        let shares = Shares::new(5, 2);
        assert_eq!(shares.next(0), Some(0));
        assert_eq!(shares.next(1), Some(2));
        assert_eq!(shares.next(0), Some(1));
        assert_eq!(shares.next(0), Some(4));
        assert_eq!(shares.next(1), Some(3));
        assert_eq!((shares.next(0), shares.next(1)), (None, None));
    }

    /// While the caller is held up in its first item, a helper runs its own share and then
    /// the rest of the caller's: one slow thread does not hold up the others' work.
    #[test]
    fn a_helper_takes_the_items_a_slow_caller_has_not_reached() {
        let team = Team::new(2);
        let caller = thread::current().id();
        // The helper may be busy with another test's call (the team is shared) or not on a
        // core: try until it runs.
        let mut taken = false;
        for _ in 0..100 {
            let mut ran_on = [None; 8];
            team.for_each_init(
                &mut ran_on,
                || (),
                |_, i, r| {
                    if i == 0 {
                        thread::sleep(Duration::from_millis(20));
                    }
                    *r = Some(thread::current().id());
                },
            );
            assert_eq!(ran_on[0], Some(caller));
            taken = ran_on[1..].iter().all(|&t| t.is_some_and(|t| t != caller));
            if taken {
                break;
            }
        }
        assert!(taken, "the caller's items 1 to 3 always waited for it");
    }

    /// A helper starts on its own share, not on the caller's: with 2 threads and 8 items
    /// the first item a helper runs is item 4, whatever the caller does meanwhile.
    #[test]
    fn a_helper_starts_on_its_own_share() {
        let team = Team::new(2);
        let caller = thread::current().id();
        // As above: try until the helper runs something.
        for _ in 0..100 {
            let seq = AtomicUsize::new(0);
            let mut ran = [(None, 0); 8];
            team.for_each_init(
                &mut ran,
                || (),
                |_, i, r| {
                    if i == 0 {
                        thread::sleep(Duration::from_millis(20));
                    }
                    *r = (
                        Some(thread::current().id()),
                        seq.fetch_add(1, Ordering::SeqCst),
                    );
                },
            );
            assert!(ran.iter().all(|r| r.0.is_some()));
            let first_on_helper = (0..8)
                .filter(|&i| ran[i].0 != Some(caller))
                .min_by_key(|&i| ran[i].1);
            if let Some(i) = first_on_helper {
                assert_eq!(i, 4, "the helper began with item {i}");
                return;
            }
        }
        panic!("the helper never ran an item");
    }

    /// The kernel's [`Fork::for_each`] calls `f` on every item once, for any number of
    /// threads.
    #[test]
    fn fork_for_each_calls_f_on_every_item_once() {
        for n in [1, 2, 3] {
            let mut items = vec![0usize; 50];
            Fork::for_each(&Team::new(n), &mut items, |v| *v += 1);
            assert_eq!(items, [1; 50], "{n} threads");
        }
    }

    /// More items than a share's 32-bit bounds hold go through the caller's own loop, every
    /// one of them (zero-sized items: nothing is allocated; a few seconds in a release
    /// build).
    #[test]
    fn more_items_than_shares_hold_are_all_visited() {
        /// A thread's count and sum of indices, added to the totals when it is dropped.
        struct Tally<'a>(u64, u64, &'a [AtomicU64; 2]);
        impl Drop for Tally<'_> {
            fn drop(&mut self) {
                self.2[0].fetch_add(self.0, Ordering::Relaxed);
                self.2[1].fetch_add(self.1, Ordering::Relaxed);
            }
        }
        let n = (1usize << 32) + 2;
        let mut items = vec![(); n];
        let totals = [AtomicU64::new(0), AtomicU64::new(0)];
        Team::new(2).for_each_init(
            &mut items,
            || Tally(0, 0, &totals),
            |t, i, _| {
                t.0 += 1;
                t.1 = t.1.wrapping_add(i as u64);
            },
        );
        let n = n as u64;
        let sum = (n / 2).wrapping_mul(n - 1);
        let totals = totals.map(AtomicU64::into_inner);
        assert_eq!(totals, [n, sum]);
    }

    /// A panic in either half reaches the caller once both halves are over, and the team
    /// still works after.
    #[test]
    fn a_panic_in_either_half_reaches_the_caller() {
        let team = Team::new(2);
        for second in [false, true] {
            let other_ran = AtomicBool::new(false);
            let r = panic::catch_unwind(AssertUnwindSafe(|| {
                team.join(
                    || {
                        if second {
                            other_ran.store(true, Ordering::Relaxed);
                        } else {
                            panic!("first half");
                        }
                    },
                    || {
                        if second {
                            panic!("second half");
                        }
                        thread::sleep(Duration::from_millis(5));
                        other_ran.store(true, Ordering::Relaxed);
                    },
                )
            }));
            assert!(r.is_err(), "second = {second}");
            assert!(other_ran.load(Ordering::Relaxed), "second = {second}");
        }
        let mut items = [0u8; 8];
        team.for_each_init(&mut items, || (), |_, _, v| *v = 1);
        assert_eq!(items, [1; 8]);
    }
}
