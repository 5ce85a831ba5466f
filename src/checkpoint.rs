//! C ABI: model checkpoints and fixed-point files (format: `FORMAT.md`).
//!
//! Paths are NUL-terminated byte strings. On Unix any bytes are accepted (they are passed to
//! the OS unchanged); elsewhere a path must be UTF-8 (`FPF_BAD_OPTION` otherwise).
//! Status codes: operating-system errors, a directory or a non-regular file →
//! `FPF_IO`; a file that is not a valid checkpoint (empty, truncated, bad magic, future
//! version, checksum, bad arrays, trailing bytes, the other kind of file) → `FPF_BAD_FORMAT`;
//! a valid checkpoint of another shape → `FPF_MISMATCH`; a NULL argument →
//! `FPF_NULL_POINTER`.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::Path;

use crate::boundary::{FfiError, FfiResult, fpf_status, guard, non_null, slice, slice_mut};
use crate::finder::fpf_fixed_points;
use crate::rnn::{fpf_rnn, into_handle, model_mut, model_ref};
use fpf_std::analysis::{FindResult, FixedPoints};
use fpf_std::checkpoint::{self, CheckpointError, FileError};

/// Reads a NUL-terminated path (checked non-NULL).
///
/// # Safety
/// `path` must be NULL or point to a NUL-terminated string.
unsafe fn c_path<'a>(path: *const c_char) -> FfiResult<&'a Path> {
    non_null(path, "path")?;
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).map(Path::new).map_err(|_| {
            FfiError::new(
                fpf_status::FPF_BAD_OPTION,
                format!("path \"{}\" is not valid UTF-8", bytes.escape_ascii()),
            )
        })
    }
}

/// A checkpoint error as a status and a message naming the path.
fn checkpoint_error(e: FileError, path: &Path, saving: bool) -> FfiError {
    use CheckpointError as E;
    let FileError::Format(e) = e else {
        return FfiError::new(fpf_status::FPF_IO, e.to_string());
    };
    let status = match &e {
        E::Mismatch { .. } => fpf_status::FPF_MISMATCH,
        E::NotFinite { .. } if saving => fpf_status::FPF_NOT_FINITE,
        E::ArrayLength { .. } if saving => fpf_status::FPF_LENGTH_MISMATCH,
        _ => fpf_status::FPF_BAD_FORMAT,
    };
    FfiError::new(status, format!("checkpoint \"{}\": {e}", path.display()))
}

/// Saves `rnn` to the file `path` in double precision. The file is written atomically (a
/// temporary file in the same directory, flushed, fsynced, then renamed over `path`), so a
/// crash mid-write leaves any previous file intact.
///
/// # Safety
/// `rnn` must be NULL or a live handle; `path` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_checkpoint_save(
    rnn: *const fpf_rnn,
    path: *const c_char,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contracts.
        let model = unsafe { model_ref(rnn, "rnn")? };
        let path = unsafe { c_path(path)? };
        checkpoint::save_model(model, path).map_err(|e| checkpoint_error(e, path, true))
    })
}

/// Loads a model checkpoint from `path` into a new handle written to `*out` (only on
/// success; release it with `fpf_rnn_free`). A single-precision checkpoint (written by the
/// Rust API) is widened to double exactly.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_checkpoint_load(
    path: *const c_char,
    out: *mut *mut fpf_rnn,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { c_path(path)? };
        non_null(out, "out")?;
        let model = checkpoint::read_file(path)
            .and_then(|b| Ok(checkpoint::decode_model_f64(&b)?))
            .map_err(|e| checkpoint_error(e, path, false))?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { *out = into_handle(model) };
        Ok(())
    })
}

/// Loads the checkpoint at `path` into the existing model `rnn`, which must have the same
/// cell kind, `n_inputs`, `n_hidden` and `n_outputs` (`FPF_MISMATCH` otherwise, naming the
/// first field that differs). A single-precision checkpoint is widened exactly. On any error
/// the model is unchanged.
///
/// # Safety
/// `rnn` must be NULL or a live handle not used concurrently; `path` NULL or a
/// NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_checkpoint_load_into(
    rnn: *mut fpf_rnn,
    path: *const c_char,
) -> fpf_status {
    guard(|| {
        non_null(rnn, "rnn")?;
        // SAFETY: forwarded contract.
        let path = unsafe { c_path(path)? };
        // SAFETY: non-NULL; a live, unshared handle by the caller's contract.
        let m = unsafe { model_mut(rnn)? };
        let model = checkpoint::read_file(path)
            .and_then(|b| {
                checkpoint::decode_header(&b)?.check_shape(
                    m.shape(),
                    m.n_layers(),
                    m.n_outputs(),
                )?;
                Ok(checkpoint::decode_model_f64(&b)?)
            })
            .map_err(|e| checkpoint_error(e, path, false))?;
        *m = model;
        Ok(())
    })
}

/// Encodes `rnn` as a checkpoint in memory (the bytes `fpf_checkpoint_save` would write,
/// FORMAT.md): `*out_len` receives the length in bytes, and with `cap` at least that, the
/// bytes go to `buf`. Call with `buf = NULL, cap = 0` to ask for the length only (`FPF_OK`).
///
/// Errors: `FPF_NULL_POINTER` (`rnn`, `out_len`, or `buf` with `cap` > 0), `FPF_BAD_SIZE`
/// (`cap` is smaller than the length; `*out_len` is still set and nothing is written to
/// `buf`), `FPF_NOT_FINITE` (a parameter is NaN or infinite, which no model handle holds).
///
/// # Safety
/// `rnn` must be NULL or a live handle; `buf` NULL or `cap` writable bytes; `out_len` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_checkpoint_save_buffer(
    rnn: *const fpf_rnn,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let model = unsafe { model_ref(rnn, "rnn")? };
        non_null(out_len, "out_len")?;
        let bytes = checkpoint::encode_model(model).map_err(|e| {
            let status = match e {
                CheckpointError::NotFinite { .. } => fpf_status::FPF_NOT_FINITE,
                _ => fpf_status::FPF_BAD_FORMAT,
            };
            FfiError::new(status, format!("encoding the checkpoint: {e}"))
        })?;
        // SAFETY: `out_len` is non-NULL and writable by the caller's contract.
        unsafe { *out_len = bytes.len() };
        if buf.is_null() && cap == 0 {
            return Ok(());
        }
        if cap < bytes.len() {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!(
                    "`cap` is {cap} bytes; the checkpoint has {} (written to `*out_len`)",
                    bytes.len()
                ),
            ));
        }
        // SAFETY: `cap` ≥ len writable bytes by the caller's contract.
        unsafe { slice_mut(buf, bytes.len(), "buf")? }.copy_from_slice(&bytes);
        Ok(())
    })
}

/// Decodes a checkpoint held in memory (`len` bytes at `buf`, as `fpf_checkpoint_save_buffer`
/// or a checkpoint file holds them) into a new handle written to `*out` (only on success;
/// release it with `fpf_rnn_free`). A single-precision checkpoint is widened exactly.
///
/// Errors: `FPF_NULL_POINTER` (`buf`, `out`), `FPF_BAD_FORMAT` (not a valid model checkpoint:
/// empty, truncated, bad magic, version or checksum, trailing bytes, a fixed-point file).
///
/// # Safety
/// `buf` must be NULL or point to `len` readable bytes; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_checkpoint_load_buffer(
    buf: *const u8,
    len: usize,
    out: *mut *mut fpf_rnn,
) -> fpf_status {
    guard(|| {
        non_null(out, "out")?;
        // SAFETY: `len` readable bytes by the caller's contract.
        let bytes = unsafe { slice(buf, len, "buf")? };
        let model = checkpoint::decode_model_f64(bytes).map_err(|e| {
            FfiError::new(
                fpf_status::FPF_BAD_FORMAT,
                format!("checkpoint buffer: {e}"),
            )
        })?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { *out = into_handle(model) };
        Ok(())
    })
}

/// Saves the points `fps`'s accessors read (the unique fixed points, or the set chosen with
/// `fpf_fixed_points_select`) to the file `path`, every field included, atomically.
///
/// # Safety
/// `fps` must be NULL or a live handle; `path` NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_save(
    fps: *const fpf_fixed_points,
    path: *const c_char,
) -> fpf_status {
    guard(|| {
        non_null(fps, "fps")?;
        // SAFETY: forwarded contract.
        let path = unsafe { c_path(path)? };
        // SAFETY: non-NULL; a live handle by the caller's contract.
        let points = unsafe { &(*fps).result.unique };
        checkpoint::save_fixed_points(points, path).map_err(|e| checkpoint_error(e, path, true))
    })
}

/// Loads fixed points saved by `fpf_fixed_points_save` into a new handle written to `*out`
/// (only on success; free it with `fpf_fixed_points_free`). Its accessors read the loaded
/// points (`FPF_SET_ALL` selects them too); its slow-point set is empty.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_load(
    path: *const c_char,
    out: *mut *mut fpf_fixed_points,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let path = unsafe { c_path(path)? };
        non_null(out, "out")?;
        let unique =
            checkpoint::load_fixed_points(path).map_err(|e| checkpoint_error(e, path, false))?;
        let empty = FixedPoints {
            n_states: unique.n_states,
            n_inputs: unique.n_inputs,
            period: unique.period,
            tol_unique: unique.tol_unique,
            ..FixedPoints::default()
        };
        let result = FindResult {
            all: unique.clone(),
            slow: empty,
            unique,
        };
        // SAFETY: `out` is non-NULL and writable.
        unsafe { *out = Box::into_raw(Box::new(fpf_fixed_points { result })) };
        Ok(())
    })
}
