//! Which core a thread runs on, and keeping a thread off one: the only platform-specific
//! code of the threads (Linux: `sched_getcpu`, `sched_{get,set}affinity` of the C library
//! std already links; elsewhere nothing is known and nothing is changed).

#![allow(unsafe_code)]

/// Words of the affinity mask asked for: 1024 CPUs, the C library's `CPU_SETSIZE`.
#[cfg(target_os = "linux")]
const MASK_WORDS: usize = 16;

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn sched_getcpu() -> i32;
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

/// Keeps the calling thread off core `cpu` (−1: anywhere allowed), within the cores the
/// first thread to call this was allowed (a mask the user set stays in force). Nothing
/// happens where that would leave no core, or on an error.
pub fn avoid(cpu: i32) {
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
        // SAFETY: `m` has the size passed; pid 0 is the calling thread. A failure leaves the
        // affinity as it was, which is harmless.
        let _ = unsafe { sched_setaffinity(0, size_of_val(&m), m.as_ptr()) };
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
    }
}
