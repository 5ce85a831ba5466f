//! Tasks to train networks on (std): data generators with the reference's semantics.
//!
//! - [`flipflop`]: the N-bit flip-flop memory task of the tutorial.

pub mod flipflop;

pub use flipflop::{FlipFlop, FlipFlopData, TaskError};
