//! # fpf-std: fixed points of recurrent neural networks, the std layer of libfpf
//!
//! A trained RNN is a map `h' = F(h, u)`. With the input held constant, its fixed points
//! `h* = F(h*)` are the skeleton of its computation. This crate finds them by minimizing
//! `q = ½‖h − F(h)‖²` from many initial states, polishes them with Newton's method, removes
//! duplicates and outliers, and classifies each one by the eigenvalues of its Jacobian.
//!
//! It adds to the no_std kernel [`fpf_core`] (re-exported here module by module, so one
//! dependency gives the whole Rust API):
//! - [`model`]: a cell with a readout and an initial state, named parameters, trajectories;
//! - [`analysis`]: the finder pipeline, [`analysis::FixedPoints`], reports, sampling, PCA;
//! - [`train`]: backpropagation through time; [`task`]: the flip-flop task;
//! - [`memory`]: caller-sized allocations that fail with an error, not an abort;
//! - [`log`]: the caller's sink for verbose and progress lines (the library never prints);
//! - [`checkpoint`]: the kernel's codec plus models and fixed points in files written
//!   atomically.

#![deny(unsafe_code)]
#![warn(missing_docs)]
#![allow(clippy::needless_range_loop)]

pub use fpf_core::{Real, cell, find, linalg, model_shape, optim, options, random, scalar};

pub mod analysis;
pub mod checkpoint;
pub mod log;
pub mod memory;
pub mod model;
pub mod stacked;
pub mod task;
pub mod threads;
pub mod train;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctest;
