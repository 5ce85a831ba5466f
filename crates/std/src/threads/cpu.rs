//! Which core a thread runs on, and keeping a thread off one: the only platform-specific
//! code of the threads (Linux: `sched_getcpu`, `gettid`, `sched_{get,set}affinity` of the C library
//! std already links; elsewhere nothing is known and nothing is changed).

#![allow(unsafe_code)]

/// Words of the affinity mask asked for: 1024 CPUs, the C library's `CPU_SETSIZE`.
#[cfg(target_os = "linux")]
const MASK_WORDS: usize = 16;

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn sched_getcpu() -> i32;
    fn gettid() -> i32;
    fn sched_getaffinity(pid: i32, size: usize, mask: *mut u64) -> i32;
    fn sched_setaffinity(pid: i32, size: usize, mask: *const u64) -> i32;
}

/// The core the calling thread runs on now, or −1 if unknown.
pub fn current() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no arguments; returns a CPU number or −1.
        unsafe { sched_getcpu() }
    }
    #[cfg(not(target_os = "linux"))]
    {
        -1
    }
}

/// The calling thread's id for [`keep_off`], or 0 (the calling thread) where unknown.
pub fn thread_id() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no arguments; returns the caller's thread id.
        unsafe { gettid() }
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Keeps thread `tid` of this process ([`thread_id`]; 0: the calling thread) off core `cpu`
/// (−1: anywhere allowed), within the cores the first thread to call this was allowed (a
/// mask the user set stays in force). Nothing happens where that would leave no core, or on
/// an error.
pub fn keep_off(tid: i32, cpu: i32) {
    #[cfg(target_os = "linux")]
    {
        static ALLOWED: std::sync::OnceLock<Option<[u64; MASK_WORDS]>> = std::sync::OnceLock::new();
        let Some(allowed) = *ALLOWED.get_or_init(|| {
            let mut m = [0u64; MASK_WORDS];
            // SAFETY: `m` has the size passed; pid 0 is the calling thread.
            let r = unsafe { sched_getaffinity(0, size_of_val(&m), m.as_mut_ptr()) };
            (r >= 0).then_some(m)
        }) else {
            return;
        };
        let mut m = allowed;
        if let Ok(c) = usize::try_from(cpu)
            && let Some(w) = m.get_mut(c / 64)
        {
            *w &= !(1u64 << (c % 64));
        }
        if m.iter().all(|&w| w == 0) {
            return;
        }
        // SAFETY: `m` has the size passed; `tid` is a thread of this process or 0 (the
        // calling thread). A failure leaves the affinity as it was, which is harmless.
        let _ = unsafe { sched_setaffinity(tid, size_of_val(&m), m.as_ptr()) };
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (tid, cpu);
    }
}

/// Test access to affinity masks.
#[cfg(all(test, target_os = "linux"))]
pub(super) mod mask {
    use super::{MASK_WORDS, sched_getaffinity, sched_setaffinity};

    /// An affinity mask: bit `c` for core `c`.
    pub type Mask = [u64; MASK_WORDS];

    /// Thread `tid`'s mask (0: the calling thread).
    pub fn get(tid: i32) -> Mask {
        let mut m = [0u64; MASK_WORDS];
        // SAFETY: `m` has the size passed.
        let r = unsafe { sched_getaffinity(tid, size_of_val(&m), m.as_mut_ptr()) };
        assert!(r >= 0, "sched_getaffinity({tid})");
        m
    }

    /// Sets thread `tid`'s mask (0: the calling thread).
    pub fn set(tid: i32, m: &Mask) {
        // SAFETY: `m` has the size passed.
        let r = unsafe { sched_setaffinity(tid, size_of_val(m), m.as_ptr()) };
        assert!(r >= 0, "sched_setaffinity({tid})");
    }

    /// The cores of `m`.
    pub fn cores(m: &Mask) -> Vec<usize> {
        (0..MASK_WORDS * 64)
            .filter(|&c| m[c / 64] >> (c % 64) & 1 == 1)
            .collect()
    }

    /// `m` without core `c`.
    pub fn without(m: &Mask, c: usize) -> Mask {
        let mut m = *m;
        m[c / 64] &= !(1u64 << (c % 64));
        m
    }

    /// Only core `c`.
    pub fn only(c: usize) -> Mask {
        let mut m = [0u64; MASK_WORDS];
        m[c / 64] |= 1u64 << (c % 64);
        m
    }
}
