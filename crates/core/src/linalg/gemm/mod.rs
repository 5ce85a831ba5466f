//! `C (+)= A B` on row-major slices, register-blocked, with `B` packed once into column
//! panels: the matrix–matrix product behind the batched cell kernels.
//!
//! The finder multiplies a tile of states by the same recurrent weights thousands of times,
//! so `B` (the weights, or their transpose) is packed once per run into panels of
//! [`GemmScalar::NR`] columns (zero-padded; [`packed_len`] elements), and every product
//! reads it contiguously. `A` (the states) is read in place. Cost: `2·m·k·n` flops; the
//! packed panel (`k × NR`) stays in L1 while the micro-kernel sweeps the rows of `A`.
//!
//! Micro-kernels, one per file: [`portable`] (plain Rust, what no_std and non-x86 targets
//! run) and, on x86-64 with the `std` feature, AVX2+FMA and AVX-512 versions chosen at run
//! time from the CPU ([`crate::isa`]). Every element of `C` is the sum over `p = 0..k` in that order,
//! whatever the row blocking, so a row of `C` does not depend on which other rows are
//! computed with it (what makes threaded results identical to one thread's); the kernels of
//! different instruction sets differ by rounding (FMA or not).
//!
//! Never panics: [`gemm`] and [`pack`] check every length first and return `None` on a
//! slice that is too short.

pub mod portable;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod x86;

/// The element types with a GEMM micro-kernel (`f32`, `f64`).
pub trait GemmScalar:
    Copy + Default + core::ops::Add<Output = Self> + core::ops::Mul<Output = Self>
{
    /// Panel width: the number of columns of `C` one micro-kernel call produces (two AVX2
    /// registers).
    const NR: usize;
    /// The kernel this CPU runs (see [`gemm`]; lengths already checked).
    #[doc(hidden)]
    fn gemm_checked(p: &Product<'_, Self>, c: &mut [Self]);
}

/// A checked product `C (+)= A B`: the sizes, `A` with its row stride, and the packed `B`.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Product<'a, T> {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `A`, rows of `B`.
    pub k: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// `A`, at least `(m − 1)·lda + k` elements.
    pub a: &'a [T],
    /// Row stride of `A`.
    pub lda: usize,
    /// `B` packed by [`pack`]: `ceil(n / NR)` panels of `k × NR`.
    pub b: &'a [T],
    /// Row stride of `C`.
    pub ldc: usize,
    /// Add to `C` instead of overwriting it.
    pub accumulate: bool,
}

/// Elements [`pack`] writes for a `k × n` right-hand operand.
pub const fn packed_len<T: GemmScalar>(k: usize, n: usize) -> usize {
    n.div_ceil(T::NR) * T::NR * k
}

/// Packs the `k × n` operand `B` into `out` ([`packed_len`] elements). `B` is read from
/// `src` with row stride `ld`, or, if `transposed`, `B = Sᵀ` for the `n × k` matrix `S` in
/// `src` with row stride `ld` (so `A Sᵀ` needs no transposed copy). `None` if a slice is
/// too short.
pub fn pack<T: GemmScalar>(
    src: &[T],
    ld: usize,
    k: usize,
    n: usize,
    transposed: bool,
    out: &mut [T],
) -> Option<()> {
    let nr = T::NR;
    let out = out.get_mut(..packed_len::<T>(k, n))?;
    let (rows, cols) = if transposed { (n, k) } else { (k, n) };
    if rows > 0 && cols > 0 && src.len() < (rows - 1) * ld + cols {
        return None;
    }
    if k == 0 {
        return Some(());
    }
    for (jp, panel) in out.chunks_exact_mut(k * nr).enumerate() {
        if !transposed && (jp + 1) * nr <= n {
            // A whole panel of B's rows: contiguous runs of NR.
            for (p, dst) in panel.chunks_exact_mut(nr).enumerate() {
                let row = src.get(p * ld + jp * nr..)?.get(..nr)?;
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = v;
                }
            }
            continue;
        }
        for (p, dst) in panel.chunks_exact_mut(nr).enumerate() {
            for (jj, d) in dst.iter_mut().enumerate() {
                let j = jp * nr + jj;
                *d = if j >= n {
                    T::default()
                } else if transposed {
                    *src.get(j * ld + p)?
                } else {
                    *src.get(p * ld + j)?
                };
            }
        }
    }
    Some(())
}

/// `C (+)= A B`: `A` is `m × k` (row stride `lda`), `B` was packed by [`pack`], `C` is
/// `m × n` (row stride `ldc`). `None` (and `C` untouched) if a slice is too short.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: GemmScalar>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    c: &mut [T],
    ldc: usize,
    accumulate: bool,
) -> Option<()> {
    if m == 0 || n == 0 {
        return Some(());
    }
    let need_a = (m - 1).checked_mul(lda)?.checked_add(k)?;
    let need_c = (m - 1).checked_mul(ldc)?.checked_add(n)?;
    if a.len() < need_a || b.len() < packed_len::<T>(k, n) || c.len() < need_c || lda < k || ldc < n
    {
        return None;
    }
    let p = Product {
        m,
        k,
        n,
        a,
        lda,
        b,
        ldc,
        accumulate,
    };
    T::gemm_checked(&p, c);
    Some(())
}

/// Writes (or adds) the `rows × cols` corner of a micro-kernel's tile into `C` at row `i0`,
/// column `j0`. Callers pass in-range coordinates (checked by [`gemm`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn store<T: GemmScalar, const MR: usize, const NR: usize>(
    tile: &[[T; NR]; MR],
    rows: usize,
    cols: usize,
    c: &mut [T],
    ldc: usize,
    i0: usize,
    j0: usize,
    accumulate: bool,
) {
    for (i, t) in tile.iter().enumerate().take(rows) {
        let Some(row) = c
            .get_mut((i0 + i) * ldc + j0..)
            .and_then(|r| r.get_mut(..cols))
        else {
            return;
        };
        // A whole tile row as a fixed-size array: one or two vector moves, not a call to
        // memcpy.
        if let Ok(full) = <&mut [T; NR]>::try_from(&mut *row) {
            if accumulate {
                for (cv, &tv) in full.iter_mut().zip(t) {
                    *cv = *cv + tv;
                }
            } else {
                *full = *t;
            }
        } else if accumulate {
            for (cv, &tv) in row.iter_mut().zip(t) {
                *cv = *cv + tv;
            }
        } else {
            for (cv, &tv) in row.iter_mut().zip(t) {
                *cv = tv;
            }
        }
    }
}

impl GemmScalar for f32 {
    const NR: usize = 16;
    #[inline]
    fn gemm_checked(p: &Product<'_, f32>, c: &mut [f32]) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if x86::gemm_f32(p, c) {
            return;
        }
        portable::gemm::<f32, 4, 16>(p, c);
    }
}

impl GemmScalar for f64 {
    const NR: usize = 8;
    #[inline]
    fn gemm_checked(p: &Product<'_, f64>, c: &mut [f64]) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if x86::gemm_f64(p, c) {
            return;
        }
        portable::gemm::<f64, 4, 8>(p, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn data(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    fn check<T: GemmScalar + Into<f64> + From<f32>>(tol: f64, cvt: fn(f64) -> T) {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (6, 16, 16),
            (7, 9, 17),
            (13, 64, 33),
            (20, 3, 40),
        ] {
            let a = data(m * k, 1);
            let b = data(k * n, 2);
            let want = naive(m, k, n, &a, &b);
            let at: Vec<T> = a.iter().map(|&v| cvt(v)).collect();
            let bt: Vec<T> = b.iter().map(|&v| cvt(v)).collect();
            // B as given, and B as the transpose of its n × k transpose.
            let mut btr = vec![T::default(); n * k];
            for p in 0..k {
                for j in 0..n {
                    btr[j * k + p] = bt[p * n + j];
                }
            }
            for (src, ld, tr) in [(&bt, n, false), (&btr, k, true)] {
                let mut packed = vec![T::default(); packed_len::<T>(k, n)];
                pack(src, ld, k, n, tr, &mut packed).unwrap();
                let mut c = vec![cvt(0.5); m * n];
                gemm(m, k, n, &at, k, &packed, &mut c, n, false).unwrap();
                for (g, w) in c.iter().zip(&want) {
                    assert!((Into::<f64>::into(*g) - w).abs() < tol, "{m}x{k}x{n}");
                }
                gemm(m, k, n, &at, k, &packed, &mut c, n, true).unwrap();
                for (g, w) in c.iter().zip(&want) {
                    assert!((Into::<f64>::into(*g) - 2.0 * w).abs() < 2.0 * tol);
                }
            }
        }
    }

    #[test]
    fn matches_the_definition() {
        check::<f64>(1e-12, |v| v);
        check::<f32>(1e-4, |v| v as f32);
    }

    #[test]
    fn rejects_short_slices() {
        let a = [1.0f64; 6];
        let mut packed = vec![0.0; packed_len::<f64>(3, 2)];
        assert!(pack(&a[..5], 2, 3, 2, false, &mut packed).is_none());
        pack(&a, 2, 3, 2, false, &mut packed).unwrap();
        let mut c = [0.0; 4];
        assert!(gemm(2, 3, 2, &a[..5], 3, &packed, &mut c, 2, false).is_none());
        assert!(gemm(2, 3, 2, &a, 3, &packed, &mut c[..3], 2, false).is_none());
        assert!(gemm(2, 3, 2, &a, 3, &packed[..1], &mut c, 2, false).is_none());
        assert_eq!(c, [0.0; 4]);
        gemm(2, 3, 2, &a, 3, &packed, &mut c, 2, false).unwrap();
        assert_eq!(c, [3.0; 4]);
    }
}
