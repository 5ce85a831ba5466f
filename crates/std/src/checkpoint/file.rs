//! Checkpoint files (std): atomic writes and validated reads.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{
    FileError, decode_fixed_points, decode_model, decode_model_into, encode_fixed_points,
    encode_model,
};
use crate::analysis::FixedPoints;
use crate::model::Model;
use crate::scalar::Real;

type Result<T> = std::result::Result<T, FileError>;

fn io_error(path: &Path, op: &'static str, e: io::Error) -> FileError {
    FileError::Io {
        path: path.to_path_buf(),
        op,
        kind: e.kind(),
        message: e.to_string(),
    }
}

/// Distinguishes temporary files of concurrent saves within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically: see [`write_atomic_with`].
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, |f, b| f.write_all(b))
}

/// Writes `bytes` to `path` atomically, with `write` doing the writing into the temporary
/// file (a test seam: a `write` that fails part-way simulates a crash mid-write).
///
/// Steps: create a new temporary file `.<name>.<pid>.<n>.tmp` in the same directory, `write`,
/// flush and `fsync` it, rename it over `path`, then `fsync` the directory (Unix). A crash or
/// an error before the rename leaves any previous file at `path` untouched; on error the
/// temporary file is removed. `path` naming a directory is [`FileError::IsDirectory`].
/// An error in the final directory `fsync` is reported although the new file is in place.
pub fn write_atomic_with(
    path: impl AsRef<Path>,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> io::Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    if let Ok(md) = fs::metadata(path) {
        if md.is_dir() {
            return Err(FileError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        if !md.is_file() {
            return Err(FileError::NotAFile {
                path: path.to_path_buf(),
            });
        }
    }
    let Some(file_name) = path.file_name() else {
        return Err(io_error(
            path,
            "save",
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        ));
    };
    let dir = parent_dir(path);
    let mut tmp_name = OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp: PathBuf = dir.join(tmp_name);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_error(&tmp, "create temporary file", e))?;
    let written = (|| {
        write(&mut f, bytes).map_err(|e| io_error(&tmp, "write", e))?;
        f.flush().map_err(|e| io_error(&tmp, "flush", e))?;
        f.sync_all().map_err(|e| io_error(&tmp, "fsync", e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| io_error(path, "rename temporary file to", e))
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    let r = File::open(dir).and_then(|d| d.sync_all());
    match r {
        Ok(()) => Ok(()),
        // Some file systems cannot fsync a directory; the rename is then as durable as it gets.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(io_error(dir, "fsync directory", e)),
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}

/// Reads a whole checkpoint file: a directory is [`FileError::IsDirectory`], anything
/// but a regular file [`FileError::NotAFile`], OS errors [`FileError::Io`] (e.g.
/// `NotFound`).
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let md = fs::metadata(path).map_err(|e| io_error(path, "open", e))?;
    if md.is_dir() {
        return Err(FileError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if !md.is_file() {
        return Err(FileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    fs::read(path).map_err(|e| io_error(path, "read", e))
}

/// Saves a model to `path` atomically (values in `T`'s precision).
pub fn save_model<T: Real>(model: &Model<T>, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path, &encode_model(model)?)
}

/// Loads a model saved in `T`'s precision.
pub fn load_model<T: Real>(path: impl AsRef<Path>) -> Result<Model<T>> {
    Ok(decode_model(&read_file(path)?)?)
}

/// Loads a checkpoint into an existing model, which must have the same cell kind, sizes and
/// scalar type ([`super::CheckpointError::Mismatch`] names the first field that differs). On any
/// error the model is unchanged.
pub fn load_into<T: Real>(model: &mut Model<T>, path: impl AsRef<Path>) -> Result<()> {
    Ok(decode_model_into(model, &read_file(path)?)?)
}

/// Saves fixed points (every field, the optional ones when present) to `path` atomically.
pub fn save_fixed_points(fps: &FixedPoints, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path, &encode_fixed_points(fps)?)
}

/// Loads fixed points saved by [`save_fixed_points`].
pub fn load_fixed_points(path: impl AsRef<Path>) -> Result<FixedPoints> {
    Ok(decode_fixed_points(&read_file(path)?)?)
}
