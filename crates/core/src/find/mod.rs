//! Finding fixed points (and cycles) of a cell at a constant input, without a heap.
//!
//! - [`qmin`]: the q-minimization with Adam, the plateau schedule and clipping;
//! - [`newton`]: damped Newton polish in f64;
//! - [`chord`]: chord steps for a tile of states around one polished fixed point;
//! - [`options`]: every option of the finder, with the reference's defaults;
//! - [`map`]: the k-fold map, q and its gradient, the k-fold Jacobian;
//! - [`batch_map`]: models given by batched functions (callbacks) instead of a cell.
//!
//! The std layer ([`crate::analysis`]) builds the whole pipeline (sampling, uniqueness,
//! outliers, Jacobians, eigenvalues) on top of these.

mod batch;
pub mod batch_map;
#[cfg(test)]
mod batch_map_tests;
#[cfg(test)]
mod batch_tests;
pub mod chord;
#[cfg(test)]
mod chord_tests;
pub mod map;
pub mod newton;
pub mod options;
pub mod qmin;
#[cfg(test)]
mod qmin_map_tests;
#[cfg(test)]
mod qmin_observe_tests;
#[cfg(test)]
mod qmin_tests;
#[cfg(test)]
mod validation_tests;

pub use options::{FinderOptions, Method, OptionError};

use crate::cell::{CellShape, ShapeError};
use crate::scalar::Real;

/// Statistics of one iteration of the q-minimization, passed to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Iteration number (0 = the initial evaluation).
    pub iter: usize,
    /// First state of the block being optimized (0 in joint mode).
    pub first_state: usize,
    /// Number of states in the block.
    pub n_states: usize,
    /// Mean q over the block.
    pub q_mean: f64,
    /// Standard deviation of q.
    pub q_std: f64,
    /// Mean |Δq| since the previous iteration.
    pub dq_mean: f64,
    /// Standard deviation of |Δq|.
    pub dq_std: f64,
    /// Learning rate of the step that follows.
    pub lr: f64,
    /// True on the block's last call.
    pub done: bool,
}

/// Why the finder failed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FindError {
    /// An option is out of range.
    Option(OptionError),
    /// A slice has the wrong length for the cell.
    Shape(ShapeError),
    /// An input or initial state is NaN or infinite.
    NotFinite {
        /// `inputs` or `initial states`.
        what: &'static str,
        /// Flat index of the first bad element.
        index: usize,
    },
    /// q became NaN or infinite for this state (the network diverges).
    Diverged {
        /// The state's index.
        state: usize,
    },
    /// The progress callback asked to stop.
    Cancelled,
    /// The model's function returned a nonzero status (a [`batch_map::BatchMap`]).
    Model(batch_map::ModelError),
    /// The workspace is too short.
    Workspace {
        /// Elements needed.
        need: usize,
    },
}

impl core::fmt::Display for FindError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FindError::Option(e) => write!(f, "{e}"),
            FindError::Shape(e) => write!(f, "{e}"),
            FindError::NotFinite { what, index } => {
                write!(f, "{what}[{index}] is NaN or infinite")
            }
            FindError::Diverged { state } => {
                write!(f, "q is not finite for state {state}: the network diverges")
            }
            FindError::Cancelled => write!(f, "stopped by the progress callback"),
            FindError::Model(e) => write!(f, "{e}"),
            FindError::Workspace { need } => {
                write!(f, "workspace too short: {need} elements needed")
            }
        }
    }
}

impl From<batch_map::ModelError> for FindError {
    fn from(e: batch_map::ModelError) -> Self {
        FindError::Model(e)
    }
}

impl From<ShapeError> for FindError {
    fn from(e: ShapeError) -> Self {
        FindError::Shape(e)
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<(), FindError> {
    if expected == got {
        Ok(())
    } else {
        Err(FindError::Shape(ShapeError {
            what,
            expected,
            got,
        }))
    }
}

/// Checks a batch of states (`n × S`, `n ≥ 1`) and its inputs (`1 × I` or `n × I`); returns n.
fn check_batch<T>(shape: &CellShape, x: &[T], inputs: &[T]) -> Result<usize, FindError> {
    check_batch_dims(shape.state_dim(), shape.n_inputs, x, inputs)
}

/// [`check_batch`] for a state size `sd ≥ 1` and an input size `ni`.
fn check_batch_dims<T>(sd: usize, ni: usize, x: &[T], inputs: &[T]) -> Result<usize, FindError> {
    if x.is_empty() || !x.len().is_multiple_of(sd) {
        return Err(FindError::Shape(ShapeError {
            what: "initial states (a positive multiple of the state size)",
            expected: (x.len() / sd + 1) * sd,
            got: x.len(),
        }));
    }
    let n = x.len() / sd;
    if inputs.len() != ni && inputs.len() != n * ni {
        return check_len("inputs", ni, inputs.len()).map(|_| 0);
    }
    Ok(n)
}

fn check_finite<T: Real>(what: &'static str, v: &[T]) -> Result<(), FindError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(FindError::NotFinite { what, index }),
    }
}
