//! C ABI: principal component analysis of state trajectories (`fpf_pca`), for plotting fixed
//! points alongside the trajectories they organize.

use crate::boundary::{
    FfiError, FfiResult, checked_len, copy_out, finite, fpf_status, guard, guard_value, non_null,
    slice, slice_mut,
};
use crate::finder::analysis_error;
use fpf_std::analysis::{AnalysisError, Pca};

/// A fitted PCA: mean, `k` unit-norm principal axes by decreasing variance, and the fraction
/// of the variance each explains. Opaque; create with `fpf_pca_fit`, release with
/// `fpf_pca_free`.
pub struct fpf_pca {
    pub(crate) pca: Pca,
}

/// As the finder's errors, but PCA's out-of-range arguments are all sizes.
fn pca_error(e: AnalysisError) -> FfiError {
    match e {
        AnalysisError::Bad { .. } => FfiError::new(fpf_status::FPF_BAD_SIZE, e.to_string()),
        e => analysis_error(e),
    }
}

fn pca_ref<'a>(pca: *const fpf_pca) -> FfiResult<&'a Pca> {
    non_null(pca, "pca")?;
    // SAFETY: non-NULL; a live handle by the caller's contract.
    Ok(unsafe { &(*pca).pca })
}

/// Fits `k` principal components to the `n_rows` rows of `data` (`n_rows × dim`, row-major).
/// On success `*out` receives a new handle (free it with `fpf_pca_free`).
///
/// Errors: `FPF_NULL_POINTER` (`data`, `out`), `FPF_BAD_SIZE` (`n_rows` < 2, `dim` 0 or
/// above 8192, `k` 0 or above `dim`, `n_rows·dim` overflows), `FPF_NOT_FINITE` (NaN or
/// infinity in `data`), `FPF_NO_CONVERGENCE` (the eigen-decomposition failed). `*out` is
/// written only on success.
///
/// # Safety
/// `data` must be NULL or point to `n_rows·dim` readable doubles; `out` NULL or writable
/// storage for one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_fit(
    data: *const f64,
    n_rows: usize,
    dim: usize,
    k: usize,
    out: *mut *mut fpf_pca,
) -> fpf_status {
    guard(|| {
        non_null(data, "data")?;
        non_null(out, "out")?;
        if dim == 0 || dim > crate::FPF_EIG_MAX_N {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!(
                    "`dim` = {dim} must be between 1 and {}",
                    crate::FPF_EIG_MAX_N
                ),
            ));
        }
        if k == 0 || k > dim {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!("`k` = {k} must be between 1 and `dim` = {dim}"),
            ));
        }
        if n_rows < 2 {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!("`n_rows` = {n_rows}: a PCA needs at least 2 rows"),
            ));
        }
        let len = checked_len(n_rows, dim, "n_rows × dim")?;
        // SAFETY: readable for `len` doubles by the caller's contract.
        let x = unsafe { slice(data, len, "data") }?;
        finite(x, "data")?;
        let pca = Pca::fit(x, dim, k).map_err(pca_error)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { *out = Box::into_raw(Box::new(fpf_pca { pca })) };
        Ok(())
    })
}

/// Projects the `n_rows` rows of `data` (`n_rows × dim`) onto the components: `out` receives
/// `n_rows × k` (row-major). `n_rows` = 0 does nothing.
///
/// Errors: `FPF_NULL_POINTER` (`pca`, `data`, `out`, even for `n_rows` = 0), `FPF_BAD_SIZE`
/// (a size product overflows), `FPF_NOT_FINITE` (NaN or infinity in `data`). `out` is written
/// only on success.
///
/// # Safety
/// `pca` must be NULL or a live handle; `data` NULL or `n_rows·dim` readable doubles; `out`
/// NULL or `n_rows·k` writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_transform(
    pca: *const fpf_pca,
    data: *const f64,
    n_rows: usize,
    out: *mut f64,
) -> fpf_status {
    guard(|| {
        let p = pca_ref(pca)?;
        non_null(data, "data")?;
        non_null(out, "out")?;
        let len = checked_len(n_rows, p.dim, "n_rows × dim")?;
        let out_len = checked_len(n_rows, p.k(), "n_rows × k")?;
        // SAFETY: readable for `len` doubles by the caller's contract.
        let x = unsafe { slice(data, len, "data") }?;
        finite(x, "data")?;
        let y = p.transform(x).map_err(pca_error)?;
        // SAFETY: writable for `out_len` doubles by the caller's contract.
        unsafe { slice_mut(out, out_len, "out") }?.copy_from_slice(&y);
        Ok(())
    })
}

/// Fraction of the total variance along each of the `k` components, largest first;
/// `len` must be `k`.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_LENGTH_MISMATCH`. `out` is written only on success.
///
/// # Safety
/// `pca` must be NULL or a live handle; `out` NULL or `len` writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_explained_variance_ratio(
    pca: *const fpf_pca,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    guard(|| {
        let p = pca_ref(pca)?;
        // SAFETY: forwarded contract.
        unsafe {
            copy_out(
                &p.explained_variance_ratio,
                out,
                len,
                "explained_variance_ratio",
            )
        }
    })
}

/// The principal axes, `k × dim` (one unit-norm axis per row); `len` must be `k·dim`.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_LENGTH_MISMATCH`. `out` is written only on success.
///
/// # Safety
/// `pca` must be NULL or a live handle; `out` NULL or `len` writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_components(
    pca: *const fpf_pca,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    guard(|| {
        let p = pca_ref(pca)?;
        // SAFETY: forwarded contract.
        unsafe { copy_out(&p.components, out, len, "components") }
    })
}

/// The mean of the fitted rows, `dim`; `len` must be `dim`.
///
/// Errors: `FPF_NULL_POINTER`, `FPF_LENGTH_MISMATCH`. `out` is written only on success.
///
/// # Safety
/// `pca` must be NULL or a live handle; `out` NULL or `len` writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_mean(
    pca: *const fpf_pca,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    guard(|| {
        let p = pca_ref(pca)?;
        // SAFETY: forwarded contract.
        unsafe { copy_out(&p.mean, out, len, "mean") }
    })
}

/// Number of components `k`. 0 for NULL.
///
/// # Safety
/// `pca` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_k(pca: *const fpf_pca) -> usize {
    guard_value(0, || pca_ref(pca).map_or(0, |p| p.k()))
}

/// Data dimension `dim`. 0 for NULL.
///
/// # Safety
/// `pca` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_dim(pca: *const fpf_pca) -> usize {
    guard_value(0, || pca_ref(pca).map_or(0, |p| p.dim))
}

/// Releases a PCA. `fpf_pca_free(NULL)` does nothing.
///
/// # Safety
/// `pca` must be NULL or a handle from `fpf_pca_fit` not yet freed; it must not be used
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_pca_free(pca: *mut fpf_pca) {
    guard_value((), || {
        if !pca.is_null() {
            // SAFETY: created by Box::into_raw in fpf_pca_fit, freed once.
            drop(unsafe { Box::from_raw(pca) });
        }
    })
}
