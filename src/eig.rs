//! C ABI: the eigenvalue solver.

use crate::boundary::{FfiError, checked_len, finite, fpf_status, guard, slice, slice_mut};
use fpf_core::linalg::eig::{self, EigError};
use fpf_std::memory::filled;

/// Largest matrix size `fpf_eig` accepts. The work grows as n³: measured on this project's
/// 2-core x86-64 machine (a random dense matrix, eigenvalues / with eigenvectors), n = 512:
/// 0.5 / 0.6 s, 1024: 3.9 / 5.5 s, 2048: 36 / 54 s, so about 40 / 60 minutes at this limit.
/// The call cannot be cancelled: split larger problems, or run them on a thread of their own.
pub const FPF_EIG_MAX_N: usize = 1 << 13;

/// Eigenvalues (and, if `vec_re` and `vec_im` are both non-NULL, unit-norm right
/// eigenvectors) of the real `n × n` row-major matrix `a`, computed in double precision.
///
/// Eigenvalues are sorted by modulus, largest first (ties: real part, then imaginary part,
/// descending), so a complex pair comes as `+im` then `−im`. Column `k` of the row-major
/// `n × n` arrays `vec_re`, `vec_im` is the eigenvector of eigenvalue `k`.
/// Outputs are written only on success.
///
/// Errors: `FPF_NULL_POINTER` (`a`, `eig_re`, `eig_im`, or exactly one of the `vec_*`),
/// `FPF_BAD_SIZE` (`n` is 0 or above `FPF_EIG_MAX_N`), `FPF_NOT_FINITE` (NaN/inf in `a`),
/// `FPF_NO_CONVERGENCE` (the QR iteration hit its cap).
///
/// # Safety
/// `a` must point to `n²` readable doubles, `eig_re` and `eig_im` to `n` writable doubles,
/// and non-NULL `vec_re`, `vec_im` to `n²` writable doubles each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_eig(
    n: usize,
    a: *const f64,
    eig_re: *mut f64,
    eig_im: *mut f64,
    vec_re: *mut f64,
    vec_im: *mut f64,
) -> fpf_status {
    guard(|| {
        if n == 0 || n > FPF_EIG_MAX_N {
            return Err(FfiError::new(
                fpf_status::FPF_BAD_SIZE,
                format!("n = {n} must be between 1 and {FPF_EIG_MAX_N}"),
            ));
        }
        let nn = checked_len(n, n, "n")?;
        // SAFETY: the caller guarantees the lengths documented above.
        let a = unsafe { slice(a, nn, "a")? };
        let re_out = unsafe { slice_mut(eig_re, n, "eig_re")? };
        let im_out = unsafe { slice_mut(eig_im, n, "eig_im")? };
        let want_vectors = match (vec_re.is_null(), vec_im.is_null()) {
            (true, true) => false,
            (false, false) => true,
            _ => {
                return Err(FfiError::new(
                    fpf_status::FPF_NULL_POINTER,
                    "`vec_re` and `vec_im` must both be NULL or both be non-NULL",
                ));
            }
        };
        finite(a, "a")?;
        let mut work = filled(
            eig::work_len(n, want_vectors),
            0.0,
            "eigen solver workspace",
        )?;
        let mut re = filled(n, 0.0, "eigenvalues")?;
        let mut im = filled(n, 0.0, "eigenvalues")?;
        let (mut vr, mut vi) = if want_vectors {
            (
                filled(nn, 0.0, "eigenvectors")?,
                filled(nn, 0.0, "eigenvectors")?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let vectors = want_vectors.then_some((&mut vr[..], &mut vi[..]));
        eig::eig(n, a, &mut work, &mut re, &mut im, vectors).map_err(eig_error)?;
        re_out.copy_from_slice(&re);
        im_out.copy_from_slice(&im);
        if want_vectors {
            // SAFETY: non-NULL checked above; lengths are the caller's contract.
            unsafe { slice_mut(vec_re, nn, "vec_re")? }.copy_from_slice(&vr);
            unsafe { slice_mut(vec_im, nn, "vec_im")? }.copy_from_slice(&vi);
        }
        Ok(())
    })
}

pub(crate) fn eig_error(e: EigError) -> FfiError {
    let status = match e {
        EigError::NotFinite => fpf_status::FPF_NOT_FINITE,
        EigError::NoConvergence { .. } => fpf_status::FPF_NO_CONVERGENCE,
        EigError::BadLength { .. } => fpf_status::FPF_LENGTH_MISMATCH,
    };
    FfiError::new(status, e.to_string())
}
