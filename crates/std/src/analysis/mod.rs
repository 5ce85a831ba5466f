//! The std layer of the finder: sampling initial states, the whole pipeline (optimize →
//! unique → outliers → q-outlier reruns → `max_n_unique` → Jacobians → eigenvalues → final
//! q filter), the [`FixedPoints`] container and its printed summaries; [`continuation`]:
//! fixed points followed along a path of inputs, their bifurcations, and input sweeps.

pub mod continuation;
mod finder;
mod fixed_points;
mod pca;
mod polish;
mod report;
mod sampling;
pub mod unique;

pub use finder::{FindResult, FixedPointFinder};
pub use fixed_points::{FIELDS, Field, FieldType, FixedPoints, Values, Width};
pub use pca::Pca;
pub use report::{MARGINAL, sci};
pub use sampling::{Samples, Trajectory, sample_states};

use crate::cell::ShapeError;
use crate::find::FindError;
use crate::linalg::eig::EigError;
use crate::memory::OutOfMemory;

/// Why the pipeline failed.
#[derive(Clone, Debug, PartialEq)]
pub enum AnalysisError {
    /// The core finder failed (options, shapes, divergence, cancellation).
    Find(FindError),
    /// The eigen-decomposition of point `index`'s Jacobian failed.
    Eig {
        /// The point.
        index: usize,
        /// What went wrong.
        error: EigError,
    },
    /// An argument is out of range.
    Bad {
        /// The argument.
        what: &'static str,
        /// What it must be.
        requirement: &'static str,
    },
    /// An array has the wrong length.
    Length {
        /// The array.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A value is NaN or infinite.
    NotFinite {
        /// The array.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// A buffer the pipeline needs could not be allocated.
    OutOfMemory(OutOfMemory),
    /// A finite value is too large for single precision (`|v| > f32::MAX`), which the
    /// `single_precision` search would turn into an infinity.
    OverflowsSingle {
        /// The array.
        what: &'static str,
        /// Flat index of the first such value.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// `v` in single precision, or the error naming the first value too large for it.
pub(crate) fn to_single(v: &[f64], what: &'static str) -> Result<Vec<f32>, AnalysisError> {
    match crate::scalar::first_beyond_f32(v) {
        Some(index) => Err(AnalysisError::OverflowsSingle {
            what,
            index,
            value: v[index],
        }),
        None => {
            let mut out = crate::memory::with_capacity(v.len(), what)?;
            out.extend(v.iter().map(|&x| x as f32));
            Ok(out)
        }
    }
}

impl AnalysisError {
    pub(crate) fn bad(what: &'static str, requirement: &'static str) -> Self {
        AnalysisError::Bad { what, requirement }
    }
    pub(crate) fn length(what: &'static str, expected: usize, got: usize) -> Self {
        AnalysisError::Length {
            what,
            expected,
            got,
        }
    }
}

impl core::fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AnalysisError::Find(e) => write!(f, "{e}"),
            AnalysisError::Eig { index, error } => {
                write!(f, "eigen-decomposition of fixed point {index}: {error}")
            }
            AnalysisError::Bad { what, requirement } => write!(f, "`{what}` {requirement}"),
            AnalysisError::Length {
                what,
                expected,
                got,
            } => write!(f, "`{what}` has length {got}, expected {expected}"),
            AnalysisError::NotFinite { what, index } => {
                write!(f, "`{what}`[{index}] is NaN or infinite")
            }
            AnalysisError::OutOfMemory(e) => e.fmt(f),
            AnalysisError::OverflowsSingle { what, index, value } => write!(
                f,
                "`{what}`[{index}] = {value:e} overflows single precision (|v| > {:e}); \
                 search in double precision",
                f32::MAX
            ),
        }
    }
}

impl std::error::Error for AnalysisError {}

impl From<OutOfMemory> for AnalysisError {
    fn from(e: OutOfMemory) -> Self {
        AnalysisError::OutOfMemory(e)
    }
}

impl From<FindError> for AnalysisError {
    fn from(e: FindError) -> Self {
        AnalysisError::Find(e)
    }
}

impl From<ShapeError> for AnalysisError {
    fn from(e: ShapeError) -> Self {
        AnalysisError::Find(FindError::Shape(e))
    }
}
