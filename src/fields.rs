//! Reading a result's per-point arrays by field name, from the one table of fields
//! (`fpf_std::analysis::FIELDS`): the table itself (`fpf_fixed_points_field_*` by index), a
//! typed reader per element type, and the named accessors of the core API.

use std::ffi::CString;
use std::os::raw::c_char;
use std::sync::OnceLock;

use fpf_core::find::newton::NewtonOutcome;
use fpf_std::analysis::{FIELDS, FieldType, FixedPoints};
use fpf_std::checkpoint::ArrayData;

use crate::boundary::{FfiError, FfiResult, c_name, copy_out, fpf_status, guard, guard_value};
use crate::finder::{fpf_fixed_points, unique};

/// Element type of a field, as `fpf_fixed_points_field_type` reports it and as the typed
/// readers take it.
pub type fpf_field_type = u32;
/// `double` values (`fpf_fixed_points_field_f64`).
pub const FPF_FIELD_F64: fpf_field_type = 0;
/// `size_t` counts (`fpf_fixed_points_field_size`).
pub const FPF_FIELD_SIZE: fpf_field_type = 1;
/// `uint8_t` flags (0/1) or Newton outcome codes (`FPF_NEWTON_*`) (`fpf_fixed_points_field_u8`).
pub const FPF_FIELD_U8: fpf_field_type = 2;
/// `int64_t` ids (`fpf_fixed_points_field_i64`).
pub const FPF_FIELD_I64: fpf_field_type = 3;

fn c_type(ty: FieldType) -> fpf_field_type {
    match ty {
        FieldType::F64 => FPF_FIELD_F64,
        FieldType::Usize => FPF_FIELD_SIZE,
        FieldType::Bool | FieldType::Newton => FPF_FIELD_U8,
        FieldType::I64 => FPF_FIELD_I64,
    }
}

/// The field's index in the table, from a NUL-terminated name.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
unsafe fn field_index(name: *const c_char) -> FfiResult<usize> {
    // SAFETY: forwarded contract.
    let name = unsafe { c_name(name, "field name")? };
    FIELDS.iter().position(|f| f.name == name).ok_or_else(|| {
        let known: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        FfiError::new(
            fpf_status::FPF_UNKNOWN_NAME,
            format!(
                "no fixed-point field \"{name}\"; fields: {}",
                known.join(", ")
            ),
        )
    })
}

/// Field `k` of `f`, or the error for a field that was not computed.
fn column(f: &FixedPoints, k: usize) -> FfiResult<ArrayData<'_, f64>> {
    f.column(k).ok_or_else(|| {
        FfiError::new(
            fpf_status::FPF_BAD_OPTION,
            format!(
                "`{}` was not computed (see do_compute_jacobians / do_decompose_jacobians)",
                FIELDS[k].name
            ),
        )
    })
}

/// A field's elements converted to the C element type `T`.
trait Element: Copy {
    const TYPE: fpf_field_type;
    fn collect(a: ArrayData<'_, f64>) -> Vec<Self>;
}

impl Element for f64 {
    const TYPE: fpf_field_type = FPF_FIELD_F64;
    fn collect(a: ArrayData<'_, f64>) -> Vec<f64> {
        match a {
            ArrayData::F64(v) | ArrayData::Real(v) => v.to_vec(),
            _ => Vec::new(),
        }
    }
}

impl Element for usize {
    const TYPE: fpf_field_type = FPF_FIELD_SIZE;
    fn collect(a: ArrayData<'_, f64>) -> Vec<usize> {
        match a {
            ArrayData::Usize(v) => v.to_vec(),
            _ => Vec::new(),
        }
    }
}

impl Element for u8 {
    const TYPE: fpf_field_type = FPF_FIELD_U8;
    fn collect(a: ArrayData<'_, f64>) -> Vec<u8> {
        match a {
            ArrayData::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            ArrayData::Newton(v) => v.iter().map(|&o| NewtonOutcome::code(o)).collect(),
            _ => Vec::new(),
        }
    }
}

impl Element for i64 {
    const TYPE: fpf_field_type = FPF_FIELD_I64;
    fn collect(a: ArrayData<'_, f64>) -> Vec<i64> {
        match a {
            ArrayData::I64(v) => v.to_vec(),
            _ => Vec::new(),
        }
    }
}

/// Copies field `k` of the handle's current set into `out` (`len` checked).
///
/// # Safety
/// `fps` must be NULL or a live handle; `out` NULL or `len` writable elements.
unsafe fn read<T: Element>(
    fps: *const fpf_fixed_points,
    k: usize,
    out: *mut T,
    len: usize,
) -> FfiResult<()> {
    let field = &FIELDS[k];
    if c_type(field.ty) != T::TYPE {
        return Err(FfiError::new(
            fpf_status::FPF_BAD_OPTION,
            format!(
                "field `{}` holds element type {} (FPF_FIELD_*), not {}",
                field.name,
                c_type(field.ty),
                T::TYPE
            ),
        ));
    }
    let v = T::collect(column(unique(fps)?, k)?);
    // SAFETY: forwarded contract.
    unsafe { copy_out(&v, out, len, field.name) }
}

/// Reads the field called `name` (a NUL-terminated string).
///
/// # Safety
/// As [`read`]; `name` NULL or NUL-terminated.
unsafe fn read_named<T: Element>(
    fps: *const fpf_fixed_points,
    name: *const c_char,
    out: *mut T,
    len: usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contracts.
        unsafe { read(fps, field_index(name)?, out, len) }
    })
}

/// Reads the field `FIELDS[k]` of the Rust table by its name.
///
/// # Safety
/// As [`read`].
unsafe fn read_field<T: Element>(
    fps: *const fpf_fixed_points,
    name: &str,
    out: *mut T,
    len: usize,
) -> fpf_status {
    guard(|| {
        // SAFETY: forwarded contract.
        unsafe { read(fps, known(name)?, out, len) }
    })
}

/// The index of a field this file names (an error only if the table lost it: a bug).
fn known(name: &str) -> FfiResult<usize> {
    FIELDS.iter().position(|f| f.name == name).ok_or_else(|| {
        FfiError::new(
            fpf_status::FPF_PANIC,
            format!("internal: no fixed-point field `{name}`"),
        )
    })
}

/// Number of per-point fields a result has (the table `fpf_fixed_points_field_name`,
/// `_field_type` and `_field_width` describe, index 0 to this − 1).
#[unsafe(no_mangle)]
pub extern "C" fn fpf_fixed_points_n_fields() -> usize {
    FIELDS.len()
}

/// Name of field `k` (`"xstar"`, `"qstar"`, `"j_xstar"`, …), a static NUL-terminated
/// string; NULL for `k` out of range.
#[unsafe(no_mangle)]
pub extern "C" fn fpf_fixed_points_field_name(k: usize) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    guard_value(std::ptr::null(), || {
        let names = NAMES.get_or_init(|| {
            FIELDS
                .iter()
                .map(|f| CString::new(f.name).unwrap_or_default())
                .collect()
        });
        names.get(k).map_or(std::ptr::null(), |c| c.as_ptr())
    })
}

/// Element type (`FPF_FIELD_*`) of field `k`; `UINT32_MAX` for `k` out of range.
#[unsafe(no_mangle)]
pub extern "C" fn fpf_fixed_points_field_type(k: usize) -> fpf_field_type {
    FIELDS.get(k).map_or(u32::MAX, |f| c_type(f.ty))
}

/// Elements per point of field `k` in `fps` (1, state_dim, n_inputs, state_dim²,
/// state_dim·n_inputs), so that the field holds `fpf_fixed_points_len(fps)` times as many;
/// 0 if field `k` was not computed, `k` is out of range or `fps` is NULL.
///
/// # Safety
/// `fps` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_field_width(
    fps: *const fpf_fixed_points,
    k: usize,
) -> usize {
    guard_value(0, || {
        let (Ok(f), Some(field)) = (unique(fps), FIELDS.get(k)) else {
            return 0;
        };
        match f.column(k) {
            Some(_) => field.width.of(f.n_states, f.n_inputs).unwrap_or(0),
            None => 0,
        }
    })
}

/// Copies the `double` field `name` (`FPF_FIELD_F64`: `xstar`, `f_xstar`, `x_init`,
/// `inputs`, `qstar`, `dq`, `j_xstar`, `dfdu`, `eigval_re`, …) into `out`; `len` must be
/// its length. A field of another type is `FPF_BAD_OPTION`, an unknown name
/// `FPF_UNKNOWN_NAME`, a field that was not computed `FPF_BAD_OPTION`.
///
/// # Safety
/// `fps` must be a live handle, `name` a NUL-terminated string, `out` `len` writable
/// elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_field_f64(
    fps: *const fpf_fixed_points,
    name: *const c_char,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_named(fps, name, out, len) }
}

/// Copies the `size_t` field `name` (`FPF_FIELD_SIZE`: `n_iters`, `n_unstable`,
/// `min_period`) into `out`, as `fpf_fixed_points_field_f64`.
///
/// # Safety
/// As `fpf_fixed_points_field_f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_field_size(
    fps: *const fpf_fixed_points,
    name: *const c_char,
    out: *mut usize,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_named(fps, name, out, len) }
}

/// Copies the `uint8_t` field `name` (`FPF_FIELD_U8`: flags `is_slow`, `is_stable` as 0/1;
/// `newton` as `FPF_NEWTON_*`) into `out`, as `fpf_fixed_points_field_f64`.
///
/// # Safety
/// As `fpf_fixed_points_field_f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_field_u8(
    fps: *const fpf_fixed_points,
    name: *const c_char,
    out: *mut u8,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_named(fps, name, out, len) }
}

/// Copies the `int64_t` field `name` (`FPF_FIELD_I64`: `cond_id`) into `out`, as
/// `fpf_fixed_points_field_f64`.
///
/// # Safety
/// As `fpf_fixed_points_field_f64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_field_i64(
    fps: *const fpf_fixed_points,
    name: *const c_char,
    out: *mut i64,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_named(fps, name, out, len) }
}

/// The fixed points x*, `n × state_dim` (the field `xstar`).
///
/// # Safety
/// `fps` must be a live handle and `out` must hold `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_xstar(
    fps: *const fpf_fixed_points,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_field(fps, "xstar", out, len) }
}

/// q at each point, `n` (the field `qstar`).
///
/// # Safety
/// `fps` must be a live handle and `out` must hold `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_qstar(
    fps: *const fpf_fixed_points,
    out: *mut f64,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_field(fps, "qstar", out, len) }
}

/// Stability (max |λ| < 1) as 0/1, `n` (the field `is_stable`). Needs the decomposition.
///
/// # Safety
/// `fps` must be a live handle and `out` must hold `len` writable elements.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_is_stable(
    fps: *const fpf_fixed_points,
    out: *mut u8,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_field(fps, "is_stable", out, len) }
}

/// Copies the real and imaginary fields `re_name`, `im_name` (of one length), checking
/// everything before writing either.
///
/// # Safety
/// `fps` must be a live handle; `re`, `im` NULL or `len` writable doubles.
unsafe fn read_pair(
    fps: *const fpf_fixed_points,
    names: [&str; 2],
    re: *mut f64,
    im: *mut f64,
    len: usize,
) -> fpf_status {
    guard(|| {
        crate::boundary::non_null(re, "re")?;
        crate::boundary::non_null(im, "im")?;
        let f = unique(fps)?;
        let (r, i) = (known(names[0])?, known(names[1])?);
        let (r, i) = (f64::collect(column(f, r)?), f64::collect(column(f, i)?));
        // SAFETY: forwarded contract; the first call checks `len`, which both share.
        unsafe {
            copy_out(&r, re, len, names[0])?;
            copy_out(&i, im, len, names[1])
        }
    })
}

/// Eigenvalues of each point's Jacobian, sorted by modulus (largest first): real parts in
/// `re`, imaginary parts in `im`, each `n × state_dim`; `len` = n·state_dim (the fields
/// `eigval_re`, `eigval_im`).
///
/// # Safety
/// `fps` must be a live handle; `re`, `im` must hold `len` writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_eigvals(
    fps: *const fpf_fixed_points,
    re: *mut f64,
    im: *mut f64,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_pair(fps, ["eigval_re", "eigval_im"], re, im, len) }
}

/// Right eigenvectors, `n × state_dim × state_dim` (column k of each block belongs to
/// eigenvalue k), real and imaginary parts; `len` = n·state_dim² (the fields `eigvec_re`,
/// `eigvec_im`).
///
/// # Safety
/// `fps` must be a live handle; `re`, `im` must hold `len` writable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fpf_fixed_points_eigvecs(
    fps: *const fpf_fixed_points,
    re: *mut f64,
    im: *mut f64,
    len: usize,
) -> fpf_status {
    // SAFETY: forwarded contract.
    unsafe { read_pair(fps, ["eigvec_re", "eigvec_im"], re, im, len) }
}
