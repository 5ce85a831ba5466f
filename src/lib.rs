//! # fpf: fixed points of recurrent neural networks
//!
//! A trained RNN is a map `h' = F(h, u)`. With the input held constant, its fixed points
//! `h* = F(h*)` are the skeleton of its computation. This crate finds them by minimizing
//! `q = ½‖h − F(h)‖²` from many initial states, then classifies each one by the eigenvalues of
//! its Jacobian.
//!
//! Layers (data flows one way, top to bottom):
//! - [`ffi`] (std): the C ABI.
//! - [`linalg`], [`cell`]: the allocation-free core (no heap, no printing), generic over
//!   [`Real`] (`f32`/`f64`).
//! - [`scalar`]: the element type and the one math backend (libm, or micromath for f32).
//!
//! The core builds with `#![no_std]` and no allocator (`--no-default-features`).

#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
// Numerical kernels index several arrays with one loop variable; iterator chains would hide
// the arithmetic the flop counts are written against.
#![allow(clippy::needless_range_loop)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "std")]
pub mod analysis;
pub mod cell;
pub mod checkpoint;
pub mod find;
pub mod linalg;
#[cfg(feature = "alloc")]
pub mod model;
pub mod optim;
pub mod random;
pub mod scalar;
#[cfg(feature = "std")]
pub mod task;
#[cfg(feature = "std")]
pub mod train;

#[cfg(feature = "std")]
pub mod ffi;

pub use scalar::Real;

/// Halts on panic in no_std artifact builds (feature `panic-handler`); the core is written
/// not to panic, so this is a last resort.
#[cfg(all(not(feature = "std"), feature = "panic-handler", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
