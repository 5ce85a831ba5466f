//! x86-64 micro-kernels with run-time dispatch: AVX-512F (two adjacent 16-column panels
//! per call, one 512-bit register of each per row: 12 rows × 32 columns in f32, 8 × 16 in
//! f64, then one panel for an odd or partial last one) and AVX2+FMA (two 256-bit registers
//! per row, 6 rows, as in BLIS's 6×16 sgemm kernel), chosen by [`crate::isa::level`].
//!
//! The one place in the kernel crate with `unsafe`: the intrinsics load through raw
//! pointers, and a `#[target_feature]` function may only be called once the CPU is known to
//! have the feature. Every pointer offset stays inside a slice whose length [`super::gemm`]
//! checked: rows `i0..i0 + r` of `A` (`r ≤ MR`, `i0 + r ≤ m`), columns `0..k` of each, and
//! one packed panel of `k × NR` elements.
#![allow(unsafe_code)]

use super::{Product, store};
use crate::isa::{Level, level};
use core::arch::x86_64::*;

/// Generates a driver (`$drive`) and its micro-kernel (`$tile`) for one element type and
/// instruction set: `MR` rows of `V` vectors of `L` lanes (`NR = V·L`).
macro_rules! kernel {
    ($drive:ident, $tile:ident, $t:ty, $feat:literal, $vec:ty, $lanes:literal, $v:literal,
     $mr:tt, $zero:ident, $load:ident, $set1:ident, $fma:ident, $storeu:ident,
     $add:ident) => {
        kernel!(@tile $tile, $t, $feat, $lanes, $v, $zero, $load, $set1, $fma, $storeu, $add);

        /// The whole product with this kernel.
        ///
        /// # Safety
        /// The CPU has the feature; `p` and `c` passed [`super::gemm`]'s length checks.
        #[target_feature(enable = $feat)]
        unsafe fn $drive(p: &Product<'_, $t>, c: &mut [$t]) {
            const NR: usize = $lanes * $v;
            let panel_len = p.k * NR;
            kernel!(@panels $tile, $mr, p, c, NR, panel_len, 0);
        }
    };
    (@tile $tile:ident, $t:ty, $feat:literal, $lanes:literal, $v:literal, $zero:ident,
     $load:ident, $set1:ident, $fma:ident, $storeu:ident, $add:ident) => {
        /// One `R × NR` tile: rows `i0..i0 + R` of `A` times one packed panel. With `c`
        /// (a full panel: all `NR` columns are in `C`), the tile is written (or added) into
        /// `C` straight from the registers and the returned array is unused.
        ///
        /// # Safety
        /// The CPU has the feature; `a` points at row `i0` of `A`, which has `R` rows of `k`
        /// readable elements at stride `lda`; `b` points at `k · NR` readable elements;
        /// `c`, if given, points at row `i0`, column `j0` of `C`, with `R` rows of `NR`
        /// writable elements at stride `ldc`.
        #[target_feature(enable = $feat)]
        #[inline]
        unsafe fn $tile<const R: usize>(
            k: usize,
            a: *const $t,
            lda: usize,
            b: *const $t,
            c: Option<(*mut $t, usize, bool)>,
        ) -> [[$t; $lanes * $v]; R] {
            let mut acc = [[$zero(); $v]; R];
            for p in 0..k {
                // SAFETY: p < k, so b + p·NR + NR and a + i·lda + p are inside the slices.
                unsafe {
                    let mut bv = [$zero(); $v];
                    for (x, bx) in bv.iter_mut().enumerate() {
                        *bx = $load(b.add(p * $lanes * $v + x * $lanes));
                    }
                    for (i, acc_i) in acc.iter_mut().enumerate() {
                        let ai = $set1(*a.add(i * lda + p));
                        for x in 0..$v {
                            acc_i[x] = $fma(ai, bv[x], acc_i[x]);
                        }
                    }
                }
            }
            let mut out = [[0.0 as $t; $lanes * $v]; R];
            if let Some((c, ldc, accumulate)) = c {
                for (i, acc_i) in acc.iter().enumerate() {
                    for x in 0..$v {
                        // SAFETY: row i < R, columns x·L..x·L + L < NR of the full panel.
                        unsafe {
                            let dst = c.add(i * ldc + x * $lanes);
                            let v = if accumulate {
                                $add($load(dst), acc_i[x])
                            } else {
                                acc_i[x]
                            };
                            $storeu(dst, v);
                        }
                    }
                }
                return out;
            }
            for (o, acc_i) in out.iter_mut().zip(&acc) {
                for x in 0..$v {
                    // SAFETY: o has NR = V·L elements.
                    unsafe { $storeu(o.as_mut_ptr().add(x * $lanes), acc_i[x]) };
                }
            }
            out
        }
    };
    // The single-panel kernel over panels `$from..`, every row block of each.
    (@panels $tile:ident, $mr:tt, $p:ident, $c:ident, $nr:ident, $panel_len:ident,
     $from:expr) => {
        for jp in $from..$p.n.div_ceil($nr) {
            let (j0, cols) = (jp * $nr, $nr.min($p.n - jp * $nr));
            // SAFETY: packed_len = ceil(n / NR) · k · NR was checked.
            let b = unsafe { $p.b.as_ptr().add(jp * $panel_len) };
            let mut i0 = 0;
            while i0 < $p.m {
                let rows = $mr.min($p.m - i0);
                // SAFETY: rows i0..i0 + rows < m exist (a.len() ≥ (m−1)·lda + k).
                let a = unsafe { $p.a.as_ptr().add(i0 * $p.lda) };
                macro_rules! go {
                    ($r:literal) => {{
                        if cols == $nr {
                            // SAFETY: as above, with R = rows; the panel's NR columns
                            // j0..j0 + NR of rows i0..i0 + R are inside `c` (its length
                            // was checked against (m − 1)·ldc + n).
                            let dst = unsafe { $c.as_mut_ptr().add(i0 * $p.ldc + j0) };
                            let full = Some((dst, $p.ldc, $p.accumulate));
                            let _ = unsafe { $tile::<$r>($p.k, a, $p.lda, b, full) };
                        } else {
                            // SAFETY: as above, with R = rows.
                            let t = unsafe { $tile::<$r>($p.k, a, $p.lda, b, None) };
                            store(&t, $r, cols, $c, $p.ldc, i0, j0, $p.accumulate);
                        }
                    }};
                }
                kernel!(@rows rows, go, $mr);
                i0 += rows;
            }
        }
    };
    (@rows $rows:ident, $go:ident, 6) => {
        match $rows {
            1 => $go!(1),
            2 => $go!(2),
            3 => $go!(3),
            4 => $go!(4),
            5 => $go!(5),
            _ => $go!(6),
        }
    };
    (@rows $rows:ident, $go:ident, 12) => {
        match $rows {
            1 => $go!(1),
            2 => $go!(2),
            3 => $go!(3),
            4 => $go!(4),
            5 => $go!(5),
            6 => $go!(6),
            7 => $go!(7),
            8 => $go!(8),
            9 => $go!(9),
            10 => $go!(10),
            11 => $go!(11),
            _ => $go!(12),
        }
    };
    (@rows $rows:ident, $go:ident, 8) => {
        match $rows {
            1 => $go!(1),
            2 => $go!(2),
            3 => $go!(3),
            4 => $go!(4),
            5 => $go!(5),
            6 => $go!(6),
            7 => $go!(7),
            _ => $go!(8),
        }
    };
}

/// Generates an AVX-512 driver (`$drive`) that computes two adjacent full panels per
/// micro-kernel call (`$pair`: `MR` rows × 2 registers, each element of `A` broadcast once
/// for both), and the single-panel kernel `$tile` for a last odd or partial panel. With one
/// register per row the single-panel kernel issues a load for every FMA; the pair halves
/// the broadcasts. Every element of `C` is still the FMA chain over `p = 0..k` in order, so
/// the result is bit-identical to the single-panel kernel's.
macro_rules! paired {
    ($drive:ident, $pair:ident, $tile:ident, $t:ty, $feat:literal, $lanes:literal, $mr:tt,
     $zero:ident, $load:ident, $set1:ident, $fma:ident, $storeu:ident, $add:ident) => {
        /// Rows `i0..i0 + R` of `A` times two packed panels, written (or added) into `C`.
        ///
        /// # Safety
        /// The CPU has the feature; `a` points at row `i0` of `A` (`R` rows of `k` readable
        /// elements at stride `lda`); `b0` and `b1` point at `k · NR` readable elements each;
        /// `c` points at row `i0`, column `j0` of `C`, with `R` rows of `2 · NR` writable
        /// elements at stride `ldc`.
        #[target_feature(enable = $feat)]
        #[inline]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $pair<const R: usize>(
            k: usize,
            a: *const $t,
            lda: usize,
            b0: *const $t,
            b1: *const $t,
            c: *mut $t,
            ldc: usize,
            accumulate: bool,
        ) {
            let mut acc0 = [$zero(); R];
            let mut acc1 = [$zero(); R];
            for p in 0..k {
                // SAFETY: p < k, so both panels' row p and a + i·lda + p are inside.
                unsafe {
                    let x0 = $load(b0.add(p * $lanes));
                    let x1 = $load(b1.add(p * $lanes));
                    for i in 0..R {
                        let ai = $set1(*a.add(i * lda + p));
                        acc0[i] = $fma(ai, x0, acc0[i]);
                        acc1[i] = $fma(ai, x1, acc1[i]);
                    }
                }
            }
            for i in 0..R {
                // SAFETY: row i < R, columns 0..2·NR of the two full panels.
                unsafe {
                    let d0 = c.add(i * ldc);
                    let d1 = d0.add($lanes);
                    let (v0, v1) = if accumulate {
                        ($add($load(d0), acc0[i]), $add($load(d1), acc1[i]))
                    } else {
                        (acc0[i], acc1[i])
                    };
                    $storeu(d0, v0);
                    $storeu(d1, v1);
                }
            }
        }

        /// The whole product: full panels two at a time, then the rest one at a time.
        ///
        /// # Safety
        /// The CPU has the feature; `p` and `c` passed [`super::gemm`]'s length checks.
        #[target_feature(enable = $feat)]
        unsafe fn $drive(p: &Product<'_, $t>, c: &mut [$t]) {
            const NR: usize = $lanes;
            let panel_len = p.k * NR;
            let full = p.n / NR;
            let mut jp = 0;
            while jp + 2 <= full {
                let j0 = jp * NR;
                // SAFETY: panels jp and jp + 1 < ceil(n / NR) were checked.
                let b0 = unsafe { p.b.as_ptr().add(jp * panel_len) };
                let b1 = unsafe { b0.add(panel_len) };
                let mut i0 = 0;
                while i0 < p.m {
                    let rows = $mr.min(p.m - i0);
                    // SAFETY: rows i0..i0 + rows < m exist; columns j0..j0 + 2·NR ≤ n of
                    // those rows are inside `c` (its length was checked).
                    let a = unsafe { p.a.as_ptr().add(i0 * p.lda) };
                    let dst = unsafe { c.as_mut_ptr().add(i0 * p.ldc + j0) };
                    macro_rules! go {
                        ($r:literal) => {{
                            // SAFETY: as above, with R = rows.
                            unsafe {
                                $pair::<$r>(p.k, a, p.lda, b0, b1, dst, p.ldc, p.accumulate)
                            }
                        }};
                    }
                    kernel!(@rows rows, go, $mr);
                    i0 += rows;
                }
                jp += 2;
            }
            kernel!(@panels $tile, $mr, p, c, NR, panel_len, jp);
        }
    };
}

kernel!(
    avx2_f32,
    avx2_tile_f32,
    f32,
    "avx2,fma",
    __m256,
    8,
    2,
    6,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_storeu_ps,
    _mm256_add_ps
);
kernel!(
    avx2_f64,
    avx2_tile_f64,
    f64,
    "avx2,fma",
    __m256d,
    4,
    2,
    6,
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    _mm256_set1_pd,
    _mm256_fmadd_pd,
    _mm256_storeu_pd,
    _mm256_add_pd
);
kernel!(
    @tile avx512_tile_f32,
    f32,
    "avx512f",
    16,
    1,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps,
    _mm512_add_ps
);
paired!(
    avx512_f32,
    avx512_pair_f32,
    avx512_tile_f32,
    f32,
    "avx512f",
    16,
    12,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_storeu_ps,
    _mm512_add_ps
);
kernel!(
    @tile avx512_tile_f64,
    f64,
    "avx512f",
    8,
    1,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_storeu_pd,
    _mm512_add_pd
);
paired!(
    avx512_f64,
    avx512_pair_f64,
    avx512_tile_f64,
    f64,
    "avx512f",
    8,
    8,
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    _mm512_set1_pd,
    _mm512_fmadd_pd,
    _mm512_storeu_pd,
    _mm512_add_pd
);

/// Runs the product with the best f32 kernel; `false` if there is none (use the portable).
pub(super) fn gemm_f32(p: &Product<'_, f32>, c: &mut [f32]) -> bool {
    match level() {
        // SAFETY: the level says the CPU has the feature; gemm checked the lengths.
        Level::Avx512 => unsafe { avx512_f32(p, c) },
        Level::Avx2 => unsafe { avx2_f32(p, c) },
        Level::Portable => return false,
    }
    true
}

/// Runs the product with the best f64 kernel; `false` if there is none (use the portable).
pub(super) fn gemm_f64(p: &Product<'_, f64>, c: &mut [f64]) -> bool {
    match level() {
        // SAFETY: the level says the CPU has the feature; gemm checked the lengths.
        Level::Avx512 => unsafe { avx512_f64(p, c) },
        Level::Avx2 => unsafe { avx2_f64(p, c) },
        Level::Portable => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::{pack, packed_len, portable};
    use super::*;

    /// Every kernel this CPU can run agrees with the portable one (to rounding), including
    /// row and column remainders.
    #[test]
    fn each_instruction_set_matches_the_portable_kernel() {
        let l = level();
        let mut seed = 3u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 7, 9),
            (6, 16, 16),
            (13, 33, 40),
            (8, 64, 17),
            (25, 19, 64),
            (12, 8, 48),
        ] {
            let a: Vec<f64> = (0..m * k).map(|_| next()).collect();
            let b: Vec<f64> = (0..k * n).map(|_| next()).collect();
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
            let mut p64 = vec![0.0; packed_len::<f64>(k, n)];
            let mut p32 = vec![0.0; packed_len::<f32>(k, n)];
            pack(&b, n, k, n, false, &mut p64).unwrap();
            pack(&b32, n, k, n, false, &mut p32).unwrap();
            fn prod<'a, T>(m: usize, k: usize, n: usize, a: &'a [T], b: &'a [T]) -> Product<'a, T> {
                Product {
                    m,
                    k,
                    n,
                    a,
                    lda: k,
                    b,
                    ldc: n,
                    accumulate: false,
                }
            }
            let mut want64 = vec![0.0; m * n];
            portable::gemm::<f64, 4, 8>(&prod(m, k, n, &a, &p64), &mut want64);
            let mut want32 = vec![0.0; m * n];
            portable::gemm::<f32, 4, 16>(&prod(m, k, n, &a32, &p32), &mut want32);
            let mut runs: Vec<(&str, Vec<f64>, Vec<f32>)> = Vec::new();
            if l != Level::Portable {
                let (mut c64, mut c32) = (vec![0.0; m * n], vec![0.0; m * n]);
                // SAFETY: the CPU has AVX2 and FMA; the lengths are exact.
                unsafe {
                    avx2_f64(&prod(m, k, n, &a, &p64), &mut c64);
                    avx2_f32(&prod(m, k, n, &a32, &p32), &mut c32);
                }
                runs.push(("avx2", c64, c32));
            }
            if l == Level::Avx512 {
                let (mut c64, mut c32) = (vec![0.0; m * n], vec![0.0; m * n]);
                // SAFETY: the CPU has AVX-512F; the lengths are exact.
                unsafe {
                    avx512_f64(&prod(m, k, n, &a, &p64), &mut c64);
                    avx512_f32(&prod(m, k, n, &a32, &p32), &mut c32);
                }
                runs.push(("avx512", c64, c32));
            }
            for (name, c64, c32) in runs {
                for (g, w) in c64.iter().zip(&want64) {
                    assert!((g - w).abs() < 1e-13, "{name} f64 {m}x{k}x{n}");
                }
                for (g, w) in c32.iter().zip(&want32) {
                    assert!((g - w).abs() < 1e-4, "{name} f32 {m}x{k}x{n}");
                }
            }
        }
    }
}
