//! Checkpoints: the kernel's wire format ([`fpf_core::checkpoint`], re-exported here) plus
//! what needs a heap or a file system: models as `Vec<u8>` ([`encode_model`],
//! [`decode_model`], [`decode_model_into`]), the fixed-point codec ([`encode_fixed_points`],
//! [`decode_fixed_points`]), and files written atomically ([`save_model`], [`load_model`],
//! [`load_into`], [`save_fixed_points`], [`load_fixed_points`]), whose errors are
//! [`FileError`].

use std::fmt;
use std::path::PathBuf;

pub use fpf_core::checkpoint::*;

mod file;
mod fixed_points;
mod model;

pub use file::{
    STALE_TEMP_AGE, load_fixed_points, load_into, load_model, read_file, save_fixed_points,
    save_model, write_atomic, write_atomic_with,
};
pub use fixed_points::{decode_fixed_points, encode_fixed_points};
pub use model::{decode_model, decode_model_f64, decode_model_into, encode_model};

/// Why a checkpoint file could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileError {
    /// An operating-system error on `path`.
    Io {
        /// The file or directory operated on.
        path: PathBuf,
        /// What was being done (`"open"`, `"read"`, `"write"`, `"rename"`, …).
        op: &'static str,
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// The path names a directory.
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The path names something other than a regular file (a device, a FIFO).
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The bytes are not a valid checkpoint, or do not fit the model loaded into.
    Format(CheckpointError),
}

impl From<CheckpointError> for FileError {
    fn from(e: CheckpointError) -> Self {
        FileError::Format(e)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io {
                path, op, message, ..
            } => write!(f, "{op} \"{}\": {message}", path.display()),
            FileError::IsDirectory { path } => {
                write!(f, "\"{}\" is a directory", path.display())
            }
            FileError::NotAFile { path } => {
                write!(f, "\"{}\" is not a regular file", path.display())
            }
            FileError::Format(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FileError {}
