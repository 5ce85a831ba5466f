//! Checkpoint files (std): atomic writes and validated reads.

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

/// Temporary files are `.fpf-<16 hex>.<random 16 hex>.tmp` in the target's directory: the
/// first part a hash of the target's file name (so a save can find its own stale
/// temporaries), the second random (so names never collide, across processes and
/// containers that repeat PIDs). 45 bytes whatever the target's name, so any name the file
/// system accepts can be saved.
const TEMP_PREFIX: &str = ".fpf-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file older than this is left over from a save that was killed, and removed
/// by the next save of the same target: no save takes that long.
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// 64 random bits: the standard library's randomly keyed hasher (seeded from the OS) over a
/// per-process counter.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.finish()
}

/// The hash part of the temporary names of saves to a file called `name` (stable across
/// processes: FNV-1a).
fn target_tag(name: &std::ffi::OsStr) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_encoded_bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{TEMP_PREFIX}{h:016x}.")
}

/// Removes this target's temporary files older than [`STALE_TEMP_AGE`]; best effort.
fn remove_stale_temps(dir: &Path, tag: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(tag) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Where a save to `path` writes: `path` itself, or for a symlink the file it points to
/// (followed to the end; a dangling link is an error), so that the link stays a link.
fn save_target(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| io_error(path, "resolve the symlink", e))
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// Writes `bytes` to `path` atomically: see [`write_atomic_with`].
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, |f, b| f.write_all(b))
}

/// Writes `bytes` to `path` atomically, with `write` doing the writing into the temporary
/// file (a test seam: a `write` that fails part-way simulates a crash mid-write).
///
/// Steps: create a new temporary file (exclusively, under a random name, retried on the
/// unlikely collision) in the same directory, `write`, flush and `fsync` it, rename it over
/// `path`, then `fsync` the directory (Unix). A crash or an error before the rename leaves
/// any previous file at `path` untouched; on error the temporary file is removed, and
/// temporaries that killed saves of the same target left behind are removed once older than
/// [`STALE_TEMP_AGE`]. `path` naming a directory is [`FileError::IsDirectory`]. A symlink
/// at `path` is followed: the file it points to is replaced and the link kept. An error in
/// the final directory `fsync` is reported although the new file is in place.
pub fn write_atomic_with(
    path: impl AsRef<Path>,
    bytes: &[u8],
    write: impl FnOnce(&mut File, &[u8]) -> io::Result<()>,
) -> Result<()> {
    let path = &save_target(path.as_ref())?;
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
    let tag = target_tag(file_name);
    remove_stale_temps(dir, &tag);
    let mut attempt = 0;
    let (tmp, mut f) = loop {
        let tmp: PathBuf = dir.join(format!("{tag}{:016x}{TEMP_SUFFIX}", random_u64()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(io_error(&tmp, "create temporary file", e)),
        }
    };
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
    use std::io::Read;
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
    let mut f = File::open(path).map_err(|e| io_error(path, "open", e))?;
    // The common header first: a file that is not a checkpoint, or announces another
    // length than it has, is refused before anything large is read.
    let mut head = Vec::with_capacity(super::COMMON_HEADER_LEN);
    (&mut f)
        .take(super::COMMON_HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, "read", e))?;
    super::check_prefix(&head, md.len())?;
    let mut buf = Vec::new();
    buf.try_reserve_exact(md.len() as usize).map_err(|_| {
        io_error(
            path,
            "read",
            io::Error::new(io::ErrorKind::OutOfMemory, "no memory for the whole file"),
        )
    })?;
    buf.extend_from_slice(&head);
    f.read_to_end(&mut buf)
        .map_err(|e| io_error(path, "read", e))?;
    Ok(buf)
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
