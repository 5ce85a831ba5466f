//! Eigenvalues and right eigenvectors of real non-symmetric matrices, without heap or panics.
//!
//! The recipe is LAPACK's dgeev, for any `n ≥ 1`, all arithmetic in `f64`:
//! 1. `balance`: permute to isolate exposed eigenvalues, then scale rows/columns by powers
//!    of 2 (dgebal).
//! 2. `hessenberg`: Householder reduction to upper Hessenberg form (dgehd2), and the
//!    orthogonal factor when eigenvectors are wanted (dorghr).
//! 3. `francis`: Francis double-shift QR with the Ahues–Tisseur deflation test, exceptional
//!    shifts and standardized 2×2 blocks (dlahqr). For eigenvalues only, just the active
//!    window is transformed and no Schur vectors are accumulated.
//! 4. `vectors`: back-substitution on the quasi-triangular factor with overflow-protected
//!    scaling (dtrevc), back-transformation, undoing the balancing (dgebak), normalization.
//!
//! Eigenvalues are returned sorted by modulus (descending), then real part (descending),
//! then imaginary part (descending), so a conjugate pair comes as `+im`, `−im`. The modulus
//! is compared as `re·re + im·im` evaluated in `f64` (reproducible anywhere, unlike `hypot`,
//! whose last bit differs between math libraries).
//!
//! Cost: about `10 n³` flops for eigenvalues only and `25 n³` with eigenvectors. The
//! workspace is caller-supplied ([`work_len`]); nothing is allocated.

mod balance;
mod francis;
mod hessenberg;
mod kernels;
mod vectors;

use crate::scalar::Real;
use crate::scalar::math;
use crate::split::{sub, take_mut};
use kernels::{at, set, swap};

/// Why the eigen-decomposition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EigError {
    /// A matrix entry is NaN or infinite (also returned if, for entries near the overflow
    /// threshold, an eigenvalue itself overflows).
    NotFinite,
    /// The QR iteration hit its iteration cap (`iterations` done) before every eigenvalue
    /// deflated.
    NoConvergence {
        /// Total number of QR sweeps performed before giving up.
        iterations: usize,
    },
    /// `n` is 0, or a slice is shorter than the size requires (`need` elements for slice
    /// `what`).
    BadLength {
        /// Which argument: `"n"`, `"a"`, `"work"`, `"re"`, `"im"`, `"vr"` or `"vi"`.
        what: &'static str,
        /// The minimum length (for `"n"`: the minimum size, 1).
        need: usize,
    },
}

impl core::fmt::Display for EigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EigError::NotFinite => write!(
                f,
                "eigenvalue solver: the matrix has a NaN or infinite entry"
            ),
            EigError::NoConvergence { iterations } => write!(
                f,
                "eigenvalue solver: QR iteration did not converge (iteration cap reached after {iterations} sweeps)"
            ),
            EigError::BadLength { what: "n", .. } => {
                write!(f, "eigenvalue solver: the matrix size n must be at least 1")
            }
            EigError::BadLength { what, need } => {
                write!(
                    f,
                    "eigenvalue solver: slice `{what}` is too short (need at least {need} elements)"
                )
            }
        }
    }
}

impl core::error::Error for EigError {}

/// Length in f64 of the workspace [`eig`] needs for an n×n matrix: `n² + 6n`, plus `n²`
/// more with eigenvectors (saturating at `usize::MAX`).
pub const fn work_len(n: usize, vectors: bool) -> usize {
    let nn = n.saturating_mul(n);
    let base = nn.saturating_add(n.saturating_mul(SCRATCH_VECS));
    if vectors {
        base.saturating_add(nn)
    } else {
        base
    }
}

/// Number of length-n scratch vectors after the matrices in the workspace.
const SCRATCH_VECS: usize = 6;

/// Eigenvalues (and optionally right eigenvectors) of the real n×n row-major matrix `a`.
///
/// `a` may be `f32` or `f64`; it is copied into the `f64` workspace `work`
/// (length ≥ [`work_len`]`(n, vectors.is_some())`) and all computation is in `f64`.
///
/// Outputs: `re[k], im[k]` for `k in 0..n`, sorted by modulus descending, then real part
/// descending, then imaginary part descending (a conjugate pair comes as `+im` then `−im`).
/// The modulus is compared as `re·re + im·im` in `f64` (after a common exact power-of-2
/// scaling, so the order is the one that plain expression gives, without its overflow or
/// underflow).
///
/// If `vectors` is `Some((vr, vi))`, both are n×n row-major and column `k`
/// (`vr[i*n + k] + i·vi[i*n + k]`, `i in 0..n`) is the right eigenvector of eigenvalue `k`,
/// with unit 2-norm. The eigenvector of a conjugate eigenvalue is the conjugate vector (for
/// a pair at `k, k+1`, column `k+1` is the conjugate of column `k`). Phase: the first
/// component whose modulus is within a relative `1e-6` of the largest is real and positive
/// (for real eigenvalues the vector is real, with that component positive). For a repeated
/// eigenvalue with a deficient eigenspace the vectors are those of a nearby matrix, as in
/// LAPACK; check the backward error if that matters.
///
/// Outputs are written only on success. Never panics and never allocates. Iteration cap:
/// at most `30 · max(10, m)` QR sweeps between two deflations, where `m ≤ n` is the order of
/// the block left after balancing (LAPACK's limit), hence at most `30 n · max(10, n)` in all;
/// reaching it returns [`EigError::NoConvergence`].
///
/// # Errors
/// [`EigError::BadLength`] if `n == 0` or a slice is too short, [`EigError::NotFinite`] if `a`
/// has a NaN or infinite entry, [`EigError::NoConvergence`] if the iteration cap is reached.
pub fn eig<T: Real>(
    n: usize,
    a: &[T],
    work: &mut [f64],
    re: &mut [f64],
    im: &mut [f64],
    vectors: Option<(&mut [f64], &mut [f64])>,
) -> Result<(), EigError> {
    eig_impl(n, a, work, re, im, vectors, None)
}

/// [`eig`] with an explicit cap on the QR sweeps allowed between two deflations (for tests
/// of the non-convergence path).
#[doc(hidden)]
pub fn eig_with_cap<T: Real>(
    n: usize,
    a: &[T],
    work: &mut [f64],
    re: &mut [f64],
    im: &mut [f64],
    vectors: Option<(&mut [f64], &mut [f64])>,
    cap: usize,
) -> Result<(), EigError> {
    eig_impl(n, a, work, re, im, vectors, Some(cap))
}

fn eig_impl<T: Real>(
    n: usize,
    a: &[T],
    work: &mut [f64],
    re: &mut [f64],
    im: &mut [f64],
    vectors: Option<(&mut [f64], &mut [f64])>,
    cap: Option<usize>,
) -> Result<(), EigError> {
    if n == 0 {
        return Err(EigError::BadLength { what: "n", need: 1 });
    }
    let Some(nn) = n.checked_mul(n) else {
        return Err(EigError::BadLength {
            what: "a",
            need: usize::MAX,
        });
    };
    // Each slice must hold at least `need` elements.
    let at_least = |what: &'static str, len: usize, need: usize| {
        if len < need {
            Err(EigError::BadLength { what, need })
        } else {
            Ok(())
        }
    };
    at_least("a", a.len(), nn)?;
    let want_vectors = vectors.is_some();
    let need = work_len(n, want_vectors);
    if need == usize::MAX {
        return Err(EigError::BadLength { what: "work", need });
    }
    at_least("work", work.len(), need)?;
    at_least("re", re.len(), n)?;
    at_least("im", im.len(), n)?;
    if let Some((vr, vi)) = &vectors {
        at_least("vr", vr.len(), nn)?;
        at_least("vi", vi.len(), nn)?;
    }
    let (h, rest) = work.split_at_mut(nn);
    let (zt, scratch) = if want_vectors {
        let (z, s) = rest.split_at_mut(nn);
        (Some(z), s)
    } else {
        (None, rest)
    };
    crate::isa::dispatch(Run {
        n,
        a: &a[..nn],
        h,
        zt,
        scratch: &mut scratch[..SCRATCH_VECS * n],
        re,
        im,
        vectors,
        cap,
    })
}

/// [`run`]'s arguments, as an [`crate::isa::Kernel`]: the reflector and vector loops are
/// vectorized as wide as the CPU allows (the same operations, so the same bits).
struct Run<'a, 'v, T> {
    n: usize,
    a: &'a [T],
    h: &'a mut [f64],
    zt: Option<&'a mut [f64]>,
    scratch: &'a mut [f64],
    re: &'a mut [f64],
    im: &'a mut [f64],
    vectors: Option<(&'v mut [f64], &'v mut [f64])>,
    cap: Option<usize>,
}

impl<T: Real> crate::isa::Kernel for Run<'_, '_, T> {
    type Output = Result<(), EigError>;
    #[inline(always)]
    fn run(self) -> Self::Output {
        let Run {
            n,
            a,
            h,
            zt,
            scratch,
            re,
            im,
            vectors,
            cap,
        } = self;
        run(n, a, h, zt, scratch, re, im, vectors, cap)
    }
}

/// The solver proper on pre-split, length-checked memory: `h` (n²), `zt` (n², with vectors),
/// `scratch` (6n).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn run<T: Real>(
    n: usize,
    a: &[T],
    h: &mut [f64],
    mut zt: Option<&mut [f64]>,
    scratch: &mut [f64],
    re: &mut [f64],
    im: &mut [f64],
    vectors: Option<(&mut [f64], &mut [f64])>,
    cap: Option<usize>,
) -> Result<(), EigError> {
    let mut anrm = 0.0f64;
    for (hk, &ak) in h.iter_mut().zip(a) {
        let v = ak.to_f64();
        if !v.is_finite() {
            return Err(EigError::NotFinite);
        }
        anrm = anrm.max(math::abs(v));
        *hk = v;
    }
    // Exact-length pieces (the callers sized them; a short one is a bug, reported as such).
    let short = |what, need| EigError::BadLength { what, need };
    let mut sc = scratch;
    let (Some(scale), Some(wr), Some(wi)) = (
        take_mut(&mut sc, n),
        take_mut(&mut sc, n),
        take_mut(&mut sc, n),
    ) else {
        return Err(short("work", SCRATCH_VECS * n));
    };
    let (Some(s0), Some(s1), Some(s2)) = (
        take_mut(&mut sc, n),
        take_mut(&mut sc, n),
        take_mut(&mut sc, n),
    ) else {
        return Err(short("work", SCRATCH_VECS * n));
    };
    let (Some(re), Some(im)) = (re.get_mut(..n), im.get_mut(..n)) else {
        return Err(short("re", n));
    };

    // Balance first: permutations and power-of-2 scalings are exact, and they bring entries
    // of very different magnitudes together before anything else can round them away.
    let (ilo, ihi) = balance::balance(n, h, scale, true);
    // The isolated eigenvalues are diagonal entries of the balanced matrix, exactly.
    for i in (0..ilo).chain(ihi + 1..n) {
        set(wr, i, at(h, i * n + i));
        set(wi, i, 0.0);
    }
    // Like dgeev: bring the largest entry into [2^-460, 2^460] (≈ sqrt(safmin)/ulp and its
    // inverse) by exact power-of-2 steps, so that nothing in the QR iteration over- or
    // underflows; the active block's eigenvalues are scaled back at the end.
    let mut anrm = 0.0f64;
    for &v in h.iter() {
        anrm = anrm.max(math::abs(v));
    }
    let mut steps = 0i32;
    if anrm > 0.0 {
        while anrm < SMLNUM {
            anrm *= STEP_UP;
            steps += 1;
        }
        while anrm > BIGNUM {
            anrm *= STEP_DOWN;
            steps -= 1;
        }
        let f = if steps > 0 { STEP_UP } else { STEP_DOWN };
        for _ in 0..steps.unsigned_abs() {
            for v in h.iter_mut() {
                *v *= f;
            }
        }
    }
    hessenberg::reduce(n, ilo, ihi, h, s0, s1, s2);
    if let Some(zt) = zt.as_deref_mut() {
        hessenberg::form_q(n, ilo, ihi, h, s0, zt, s1);
    }
    hessenberg::clear_below(n, h);
    let cap = cap.unwrap_or(francis::default_cap(ihi - ilo + 1));
    francis::hqr(zt.is_some(), n, ilo, ihi, h, wr, wi, zt.as_deref_mut(), cap)
        .map_err(|iterations| EigError::NoConvergence { iterations })?;

    if steps != 0 {
        let f = if steps > 0 { STEP_DOWN } else { STEP_UP };
        let active = ilo..(ihi + 1).min(n);
        for _ in 0..steps.unsigned_abs() {
            let (Some(r), Some(i)) = (wr.get_mut(active.clone()), wi.get_mut(active.clone()))
            else {
                break;
            };
            for v in r.iter_mut().chain(i.iter_mut()) {
                *v *= f;
            }
        }
        if wr.iter().chain(wi.iter()).any(|v| !v.is_finite()) {
            return Err(EigError::NotFinite);
        }
    }

    if let Some(zt) = zt.as_deref_mut() {
        transpose_in_place(n, h);
        vectors::right_vectors(n, h, zt, s0, s1, s2);
        balance::unbalance_vectors(n, ilo, ihi, scale, zt);
        vectors::normalize(n, h, zt);
    }

    // Sort: s0 = squared modulus `re² + im²` in f64 after a common power-of-2 scaling that
    // brings the largest |re|, |im| into [1, 2) (exact, so the order is that of the plain
    // `re·re + im·im` whenever that neither overflows nor underflows); s1 = source index
    // (exact in f64).
    let big = wr
        .iter()
        .chain(wi.iter())
        .fold(0.0f64, |m, v| m.max(math::abs(*v)));
    let (f1, f2) = pow2_halves(big);
    for k in 0..n {
        let (x, y) = (wr[k] * f1 * f2, wi[k] * f1 * f2);
        s0[k] = x * x + y * y;
        s1[k] = k as f64;
    }
    // Insertion sort of the indices in s1 (all < n: `at`/`set` only keep the compiler from
    // inserting panic paths for them).
    for k in 1..n {
        let idx = s1[k];
        let j0 = idx as usize;
        let key = (at(s0, j0), at(wr, j0), at(wi, j0));
        let mut p = k;
        while p > 0 {
            let q = at(s1, p - 1) as usize;
            if precedes(key, (at(s0, q), at(wr, q), at(wi, q))) {
                set(s1, p, at(s1, p - 1));
                p -= 1;
            } else {
                break;
            }
        }
        set(s1, p, idx);
    }

    for k in 0..n {
        let j = s1[k] as usize;
        re[k] = at(wr, j);
        im[k] = at(wi, j);
    }
    if let (Some((vr, vi)), Some(zt)) = (vectors, zt) {
        // h now holds Tᵀ: T[r][c] = h[c * n + r].
        for k in 0..n {
            let j = s1[k] as usize;
            let (src_re, src_im, sign) = if j + 1 < n && at(h, j * n + j + 1) != 0.0 {
                (j, Some(j + 1), 1.0)
            } else if j > 0 && at(h, (j - 1) * n + j) != 0.0 {
                (j - 1, Some(j), -1.0)
            } else {
                (j, None, 0.0)
            };
            // Rows of zt (< n): `sub` and `set` only keep out panic paths.
            match sub(zt, src_re * n, n) {
                Some(vre) => {
                    for (i, &x) in vre.iter().enumerate() {
                        set(vr, i * n + k, x);
                    }
                }
                None => kernels::out_of_range(),
            }
            match src_im {
                Some(si) => match sub(zt, si * n, n) {
                    Some(vim) => {
                        for (i, &x) in vim.iter().enumerate() {
                            set(vi, i * n + k, sign * x);
                        }
                    }
                    None => kernels::out_of_range(),
                },
                None => {
                    for i in 0..n {
                        set(vi, i * n + k, 0.0);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Largest entries below this are scaled up first (2^-460 ≈ 3e-139).
const SMLNUM: f64 = f64::from_bits((1023 - 460) << 52);
/// Largest entries above this are scaled down first (2^460 ≈ 3e138).
const BIGNUM: f64 = f64::from_bits((1023 + 460) << 52);
/// Exact scaling steps.
const STEP_UP: f64 = f64::from_bits((1023 + 100) << 52);
const STEP_DOWN: f64 = f64::from_bits((1023 - 100) << 52);

/// True if eigenvalue `a = (|λ|², re, im)` sorts strictly before `b`.
#[inline]
fn precedes(a: (f64, f64, f64), b: (f64, f64, f64)) -> bool {
    if a.0 != b.0 {
        return a.0 > b.0;
    }
    if a.1 != b.1 {
        return a.1 > b.1;
    }
    a.2 > b.2
}

/// Two powers of 2 whose product `f1·f2` brings `x > 0` into `[1, 2)` (split in two so that
/// each factor is representable even for subnormal `x`); `(1, 1)` for `x = 0`.
fn pow2_halves(x: f64) -> (f64, f64) {
    if x == 0.0 || !x.is_finite() {
        return (1.0, 1.0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let e = if biased == 0 {
        // Subnormal: exponent of the leading bit.
        let mant = bits & ((1u64 << 52) - 1);
        -1011 - mant.leading_zeros() as i32
    } else {
        biased - 1023
    };
    let h1 = -e / 2;
    let h2 = -e - h1;
    let p = |k: i32| f64::from_bits(((1023 + k) as u64) << 52);
    (p(h1), p(h2))
}

/// Transposes the row-major `n × n` matrix `m` in place.
fn transpose_in_place(n: usize, m: &mut [f64]) {
    for r in 0..n {
        for c in r + 1..n {
            swap(m, r * n + c, c * n + r);
        }
    }
}

/// Eigenvalues `(re, im)` of an `N×N` matrix given as rows, sorted as in [`eig`].
///
/// The workspace lives on the stack (`8·(N² + 8N)` bytes, e.g. 34 KB at `N = 64`); nothing is
/// allocated.
///
/// # Errors
/// As [`eig`]: [`EigError::BadLength`] for `N = 0`, [`EigError::NotFinite`],
/// [`EigError::NoConvergence`].
pub fn eigvals_fixed<T: Real, const N: usize>(
    a: &[[T; N]; N],
) -> Result<([f64; N], [f64; N]), EigError> {
    if N == 0 {
        return Err(EigError::BadLength { what: "n", need: 1 });
    }
    let mut h = [[0.0f64; N]; N];
    let mut scratch = [[0.0f64; N]; SCRATCH_VECS];
    let mut re = [0.0f64; N];
    let mut im = [0.0f64; N];
    run(
        N,
        a.as_flattened(),
        h.as_flattened_mut(),
        None,
        scratch.as_flattened_mut(),
        &mut re,
        &mut im,
        None,
        None,
    )?;
    Ok((re, im))
}

/// Spectral radius `max |λ|` of the eigenvalues `re[k] + i·im[k]` (over the common length;
/// 0 for empty slices). NaN if any eigenvalue is NaN.
pub fn spectral_radius(re: &[f64], im: &[f64]) -> f64 {
    let mut rho = 0.0f64;
    for (&r, &i) in re.iter().zip(im) {
        let m = math::hypot(r, i);
        if m.is_nan() {
            return f64::NAN;
        }
        if m > rho {
            rho = m;
        }
    }
    rho
}

/// True iff the discrete-time map with these eigenvalues is stable: `max |λ| < 1`
/// (false if any eigenvalue is NaN).
pub fn is_stable(re: &[f64], im: &[f64]) -> bool {
    spectral_radius(re, im) < 1.0
}

/// Number of unstable modes: eigenvalues with `|λ| > 1`.
pub fn n_unstable(re: &[f64], im: &[f64]) -> usize {
    re.iter()
        .zip(im)
        .filter(|&(&r, &i)| math::hypot(r, i) > 1.0)
        .count()
}
