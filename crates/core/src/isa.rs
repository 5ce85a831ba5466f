//! Instruction sets: which vector extensions this CPU has, and running a piece of code
//! compiled for the widest of them.
//!
//! The kernel is compiled for the target's baseline (SSE2 on x86-64), so that one binary
//! runs everywhere. With the `std` feature on x86-64, [`dispatch`] runs its closure inside a
//! function compiled for AVX-512F or AVX2+FMA when the CPU (and OS) has them, detected once
//! by `is_x86_feature_detected!`; what the closure inlines is then vectorized that wide.
//! Elsewhere (no_std, other targets, older CPUs) it just calls the closure.
#![cfg_attr(all(feature = "std", target_arch = "x86_64"), allow(unsafe_code))]

/// A vector extension level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The target's baseline.
    Portable,
    /// AVX2 and FMA (x86-64).
    Avx2,
    /// AVX-512F with AVX2 and FMA (x86-64).
    Avx512,
}

impl Level {
    /// `"portable"`, `"avx2+fma"` or `"avx512"`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2+fma",
            Level::Avx512 => "avx512",
        }
    }
}

/// The widest level this build can use on this CPU.
pub fn level() -> Level {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        static LEVEL: AtomicU8 = AtomicU8::new(0);
        let code = match LEVEL.load(Ordering::Relaxed) {
            0 => {
                let avx2 =
                    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
                let code = if avx2 && std::is_x86_feature_detected!("avx512f") {
                    3
                } else if avx2 {
                    2
                } else {
                    1
                };
                LEVEL.store(code, Ordering::Relaxed);
                code
            }
            c => c,
        };
        match code {
            3 => Level::Avx512,
            2 => Level::Avx2,
            _ => Level::Portable,
        }
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    {
        Level::Portable
    }
}

/// A piece of code to compile once per instruction set: its `run` must be
/// `#[inline(always)]` (and so must what it calls that should be vectorized), so that the
/// compiler copies it into each of [`dispatch`]'s versions. (A closure would not do: nothing
/// forces it to be inlined.)
pub trait Kernel {
    /// What `run` returns.
    type Output;
    /// The code.
    fn run(self) -> Self::Output;
}

/// Runs `f`, compiled for [`level`]'s instruction set where that differs from the baseline.
#[inline(always)]
pub fn dispatch<K: Kernel>(f: K) -> K::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        match level() {
            // SAFETY: `level` saw the CPU report these features.
            Level::Avx512 => unsafe { x86::avx512(f) },
            Level::Avx2 => unsafe { x86::avx2(f) },
            Level::Portable => f.run(),
        }
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    {
        f.run()
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86 {
    use super::Kernel;

    /// # Safety
    /// The CPU has AVX-512F, AVX2 and FMA.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn avx512<K: Kernel>(f: K) -> K::Output {
        f.run()
    }

    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2<K: Kernel>(f: K) -> K::Output {
        f.run()
    }
}
