//! # fpf-core: the no_std, heap-free kernel of libfpf
//!
//! A trained RNN is a map `h' = F(h, u)`. With the input held constant, its fixed points
//! `h* = F(h*)` are the skeleton of its computation. This crate holds everything needed to
//! find and classify them that needs neither a heap nor an operating system:
//! - [`cell`]: tanh, GRU (two conventions) and LSTM cells: step, analytic Jacobians,
//!   vector-Jacobian products; run-time sizes, or const-generic sizes ([`cell::fixed`]);
//! - [`find`]: the q-minimization (Adam, plateau schedule, clipping), Newton polish, k-fold
//!   maps for periodic orbits;
//! - [`optim`]: Adam, the plateau schedule, gradient clipping;
//! - [`options`]: option structs declared once, with the table their C mirrors come from;
//! - [`linalg`]: dense kernels, LU, the eigen solver;
//! - [`model_shape`]: a model's sizes and their rules;
//! - [`checkpoint`]: the checkpoint wire format on caller buffers;
//! - [`random`]: the seeded generators;
//! - [`scalar`]: [`Real`] (`f32`/`f64`) and the one math backend.
//!
//! Every routine that needs scratch memory takes it from the caller and says how much
//! (`work_len`-style functions), so the crate builds for `thumbv7em-none-eabihf` with no
//! allocator and no panic handler of its own.
//!
//! ```
//! use fpf_core::cell::fixed::TanhCell;
//! use fpf_core::linalg::eig::{eigvals_fixed, is_stable};
//! let cell = TanhCell::<f32, 3, 8>::zeros();
//! let (_h_next, jacobian) = cell.step_with_jacobian(&[1.0, 0.0, 0.0], &[0.0; 8]);
//! let (re, im) = eigvals_fixed(&jacobian).unwrap();
//! assert!(is_stable(&re, &im));
//! ```

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Numerical kernels index several arrays with one loop variable; iterator chains would hide
// the arithmetic the flop counts are written against.
#![allow(clippy::needless_range_loop)]

// Only for run-time CPU feature detection (`linalg::gemm`), with the `std` feature.
#[cfg(all(feature = "std", not(test)))]
extern crate std;

pub mod cell;
pub mod checkpoint;
pub mod find;
pub mod fork;
pub mod isa;
pub mod linalg;
pub mod model_shape;
pub mod optim;
pub mod options;
pub mod random;
pub mod scalar;
mod split;
#[cfg(test)]
mod test_data;

pub use scalar::Real;
