//! The portable micro-kernel: an `MR × NR` tile of `C` accumulated in local arrays, plain
//! Rust (the compiler vectorizes the `NR`-wide rows with whatever the target has). What
//! no_std builds and non-x86 targets run, and the fallback on x86 CPUs without AVX2.

use super::{GemmScalar, Product, store};

/// `MR × NR` tile of `A B` for rows `i0..i0 + MR` of `A` and one packed panel.
#[inline(always)]
fn tile<T: GemmScalar, const MR: usize, const NR: usize>(
    p: &Product<'_, T>,
    i0: usize,
    panel: &[T],
) -> [[T; NR]; MR] {
    let mut acc = [[T::default(); NR]; MR];
    let mut rows: [&[T]; MR] = [&[]; MR];
    for (i, r) in rows.iter_mut().enumerate() {
        *r =
            p.a.get((i0 + i) * p.lda..)
                .and_then(|r| r.get(..p.k))
                .unwrap_or(&[]);
    }
    for (kk, b) in panel.chunks_exact(NR).take(p.k).enumerate() {
        for (acc_i, row) in acc.iter_mut().zip(rows) {
            let Some(&aik) = row.get(kk) else {
                continue;
            };
            for (c, &bv) in acc_i.iter_mut().zip(b) {
                *c = *c + aik * bv;
            }
        }
    }
    acc
}

/// The whole product, `MR` rows at a time (the last block with fewer rows computed by the
/// same code, so every row gets the same arithmetic).
pub(super) fn gemm<T: GemmScalar, const MR: usize, const NR: usize>(
    p: &Product<'_, T>,
    c: &mut [T],
) {
    let panel_len = p.k * NR;
    for jp in 0..p.n.div_ceil(NR) {
        let Some(panel) = p.b.get(jp * panel_len..).and_then(|s| s.get(..panel_len)) else {
            return;
        };
        let (j0, cols) = (jp * NR, NR.min(p.n - jp * NR));
        let mut i0 = 0;
        while i0 < p.m {
            let t = tile::<T, MR, NR>(p, i0, panel);
            store(&t, MR.min(p.m - i0), cols, c, p.ldc, i0, j0, p.accumulate);
            i0 += MR;
        }
    }
}
