//! LU factorization with partial pivoting and the solve, in place on a row-major `n × n`
//! matrix. Used by Newton's method on `(I − J) δ = −r`. Cost: `⅔ n³` flops to factor,
//! `2 n²` to solve.

use crate::isa;
use crate::scalar::Real;

/// The matrix is singular to working precision: pivot `column` is below the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Singular {
    /// The column whose pivot vanished.
    pub column: usize,
}

/// Factors `a` (n × n, row-major) in place as `P A = L U` (unit-diagonal `L` below, `U` on and
/// above the diagonal); `piv[k]` is the row swapped with row `k`. A pivot smaller than
/// `n · ε · max|a|` counts as zero. Slices must hold `n²` and `n` elements; shorter ones are
/// reported as singular at column 0 (and panic in debug builds). Never panics otherwise.
pub fn factor<T: Real>(n: usize, a: &mut [T], piv: &mut [usize]) -> Result<(), Singular> {
    isa::dispatch(Factor { n, a, piv })
}

/// [`factor`] as an [`isa::Kernel`]: the rank-1 updates are vectorized as wide as the CPU
/// allows.
struct Factor<'a, T> {
    n: usize,
    a: &'a mut [T],
    piv: &'a mut [usize],
}

impl<T: Real> isa::Kernel for Factor<'_, T> {
    type Output = Result<(), Singular>;
    #[inline(always)]
    fn run(self) -> Self::Output {
        factor_in(self.n, self.a, self.piv)
    }
}

#[inline(always)]
fn factor_in<T: Real>(n: usize, a: &mut [T], piv: &mut [usize]) -> Result<(), Singular> {
    let (Some(a), Some(piv)) = (
        n.checked_mul(n).and_then(|nn| a.get_mut(..nn)),
        piv.get_mut(..n),
    ) else {
        debug_assert!(false, "lu::factor: a or piv is shorter than n² or n");
        return Err(Singular { column: 0 });
    };
    if n == 0 {
        return Ok(());
    }
    let amax = max_abs(a);
    let tiny = amax * T::EPSILON * T::from_f64(n as f64);
    // Rows are `a.chunks_exact(n)`: with `k < n` and rows of length `n`, `row[k]` needs no
    // bounds check. A row that is not there cannot happen (there are `n` of them); it is
    // reported as singular.
    let broken = |k| {
        debug_assert!(false, "lu::factor: row out of range");
        Err(Singular { column: k })
    };
    for (k, pk) in piv.iter_mut().enumerate() {
        let mut rows = a.chunks_exact(n).enumerate().skip(k);
        let Some((_, row_k)) = rows.next() else {
            return broken(k);
        };
        // The pivot is the first row of largest |a[i][k]|. Two passes (the maximum with four
        // independent partial maxima, then its first position) rather than one pass that
        // carries both through a dependency chain.
        let mut part = [row_k[k].abs(); 4];
        for (j, (_, row)) in rows.clone().enumerate() {
            let v = row[k].abs();
            if v > part[j % 4] {
                part[j % 4] = v;
            }
        }
        let best = part.iter().fold(part[0], |m, &v| if v > m { v } else { m });
        let p = if row_k[k].abs() == best {
            k
        } else {
            rows.find(|(_, row)| row[k].abs() == best)
                .map_or(k, |(i, _)| i)
        };
        *pk = p;
        if best <= tiny || best == T::ZERO {
            return Err(Singular { column: k });
        }
        if p != k {
            let mut rows = a.chunks_exact_mut(n).skip(k);
            let (Some(row_k), Some(row_p)) = (rows.next(), rows.nth(p - k - 1)) else {
                return broken(k);
            };
            for (x, y) in row_k.iter_mut().zip(row_p.iter_mut()) {
                core::mem::swap(x, y);
            }
        }
        let mut rows = a.chunks_exact_mut(n).skip(k);
        let Some(row_k) = rows.next() else {
            return broken(k);
        };
        let row_k = &*row_k;
        let inv = T::ONE / row_k[k];
        for row in rows {
            let l = row[k] * inv;
            row[k] = l;
            if l != T::ZERO
                && let (Some(r), Some(rk)) = (row.get_mut(k + 1..), row_k.get(k + 1..))
            {
                for (x, &y) in r.iter_mut().zip(rk) {
                    *x -= l * y;
                }
            }
        }
    }
    Ok(())
}

/// `max |v|` over `a`, in eight independent lanes (one dependency chain over `n²`
/// elements would dominate the factorization). NaN is ignored.
#[inline(always)]
fn max_abs<T: Real>(a: &[T]) -> T {
    let mut lanes = [T::ZERO; 8];
    let chunks = a.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            let v = v.abs();
            *m = if v > *m { v } else { *m };
        }
    }
    for (m, &v) in lanes.iter_mut().zip(rest) {
        let v = v.abs();
        *m = if v > *m { v } else { *m };
    }
    lanes
        .iter()
        .fold(T::ZERO, |m, &v| if v > m { v } else { m })
}

/// Solves `A x = b` in place in `b`, given the output of [`factor`]. Slices shorter than
/// `n²`, `n`, `n` (or a pivot `≥ n`) leave `b` unspecified and panic in debug builds only.
pub fn solve<T: Real>(n: usize, lu: &[T], piv: &[usize], b: &mut [T]) {
    let (Some(lu), Some(piv), Some(b)) = (
        n.checked_mul(n).and_then(|nn| lu.get(..nn)),
        piv.get(..n),
        b.get_mut(..n),
    ) else {
        debug_assert!(false, "lu::solve: a slice is shorter than n² or n");
        return;
    };
    if n == 0 {
        return;
    }
    for (k, &p) in piv.iter().enumerate() {
        debug_assert!(p < n, "lu::solve: pivot out of range");
        if p < b.len() && k < b.len() {
            b.swap(k, p);
        }
    }
    // The triangular solves with split slices and zips: the same sums in the same order as
    // `b[i] -= Σ_j row[j] b[j]`, with no index that could be out of range (no panic path,
    // inlined or not).
    for (i, row) in lu.chunks_exact(n).enumerate() {
        let Some((done, rest)) = b.split_at_mut_checked(i) else {
            return;
        };
        let Some((bi, _)) = rest.split_first_mut() else {
            return;
        };
        let mut s = *bi;
        for (&r, &bj) in row.iter().zip(done.iter()) {
            s -= r * bj;
        }
        *bi = s;
    }
    for (i, row) in lu.chunks_exact(n).enumerate().rev() {
        let Some((head, tail)) = b.split_at_mut_checked(i + 1) else {
            return;
        };
        let (Some(bi), Some((&d, upper))) =
            (head.last_mut(), row.get(i..).and_then(|r| r.split_first()))
        else {
            return;
        };
        let mut s = *bi;
        for (&r, &bj) in upper.iter().zip(tail.iter()) {
            s -= r * bj;
        }
        *bi = s / d;
    }
}

/// Writes `A⁻¹` (n × n, row-major) into `out`, given the output of [`factor`]: the `n`
/// solves of [`solve`] on the columns of the identity, done row by row over all columns at
/// once (each step a vectorized row update, `2 n³` flops in all), with the same operations in
/// the same order as `n` calls of [`solve`], so the same bits. Slices shorter than `n²`, `n`,
/// `n²` (or a pivot `≥ n`) leave `out` unspecified and panic in debug builds only.
pub fn inverse<T: Real>(n: usize, lu: &[T], piv: &[usize], out: &mut [T]) {
    isa::dispatch(Inverse { n, lu, piv, out })
}

/// [`inverse`] as an [`isa::Kernel`].
struct Inverse<'a, T> {
    n: usize,
    lu: &'a [T],
    piv: &'a [usize],
    out: &'a mut [T],
}

impl<T: Real> isa::Kernel for Inverse<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        inverse_in(self.n, self.lu, self.piv, self.out)
    }
}

#[inline(always)]
fn inverse_in<T: Real>(n: usize, lu: &[T], piv: &[usize], out: &mut [T]) {
    let nn = n.checked_mul(n);
    let (Some(lu), Some(piv), Some(x)) = (
        nn.and_then(|nn| lu.get(..nn)),
        piv.get(..n),
        nn.and_then(|nn| out.get_mut(..nn)),
    ) else {
        debug_assert!(false, "lu::inverse: a slice is shorter than n² or n");
        return;
    };
    if n == 0 {
        return;
    }
    for (i, row) in x.chunks_exact_mut(n).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = if i == j { T::ONE } else { T::ZERO };
        }
    }
    // The row swaps `solve` applies to each column, applied to whole rows.
    for (k, &p) in piv.iter().enumerate() {
        debug_assert!(p < n, "lu::inverse: pivot out of range");
        if p > k
            && let Some((head, tail)) = x.split_at_mut_checked(p * n)
            && let (Some(rk), Some(rp)) = (head.get_mut(k * n..(k + 1) * n), tail.get_mut(..n))
        {
            for (a, b) in rk.iter_mut().zip(rp.iter_mut()) {
                core::mem::swap(a, b);
            }
        }
    }
    // Forward: row i -= L[i][j] · row j for j < i, in ascending j (`solve`'s order per column).
    for (i, lrow) in lu.chunks_exact(n).enumerate() {
        let Some((done, rest)) = x.split_at_mut_checked(i * n) else {
            return;
        };
        let Some(xi) = rest.get_mut(..n) else {
            return;
        };
        for (&l, xj) in lrow.iter().zip(done.chunks_exact(n)) {
            for (a, &b) in xi.iter_mut().zip(xj) {
                *a -= l * b;
            }
        }
    }
    // Backward: row i -= U[i][j] · row j for j > i, ascending, then row i /= U[i][i].
    for (i, urow) in lu.chunks_exact(n).enumerate().rev() {
        let Some((head, tail)) = x.split_at_mut_checked((i + 1) * n) else {
            return;
        };
        let (Some(xi), Some((&d, upper))) = (
            head.get_mut(i * n..),
            urow.get(i..).and_then(|r| r.split_first()),
        ) else {
            return;
        };
        for (&u, xj) in upper.iter().zip(tail.chunks_exact(n)) {
            for (a, &b) in xi.iter_mut().zip(xj) {
                *a -= u * b;
            }
        }
        for a in xi.iter_mut() {
            *a /= d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_pivoting_system_and_flags_singular() {
        let mut a = [0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0];
        let orig = a;
        let mut piv = [0; 3];
        factor(3, &mut a, &mut piv).unwrap();
        let x = [1.0, -2.0, 3.0];
        let mut b = [0.0; 3];
        for i in 0..3 {
            b[i] = (0..3).map(|j| orig[i * 3 + j] * x[j]).sum();
        }
        solve(3, &a, &piv, &mut b);
        for i in 0..3 {
            assert!((b[i] - x[i]).abs() < 1e-14);
        }
        let mut s = [1.0, 2.0, 2.0, 4.0];
        assert_eq!(factor(2, &mut s, &mut [0; 2]), Err(Singular { column: 1 }));
    }

    /// `inverse` gives, bit for bit, the columns `solve` gives for the identity's columns,
    /// on a matrix whose factorization swaps rows.
    #[test]
    fn inverse_is_solve_on_every_column() {
        let n = 7;
        let mut a: [f64; 49] = core::array::from_fn(|k| {
            let (i, j) = (k / n, k % n);
            ((i * 5 + j * 3) % 11) as f64 - 4.5 + if i == (j + 3) % n { 6.0 } else { 0.0 }
        });
        let mut piv = [0; 7];
        factor(n, &mut a, &mut piv).unwrap();
        assert!(
            piv.iter().enumerate().any(|(k, &p)| p != k),
            "no row swap to check"
        );
        let mut inv = [f64::NAN; 49];
        inverse(n, &a, &piv, &mut inv);
        for j in 0..n {
            let mut e = [0.0; 7];
            e[j] = 1.0;
            solve(n, &a, &piv, &mut e);
            for i in 0..n {
                assert_eq!(inv[i * n + j].to_bits(), e[i].to_bits(), "({i}, {j})");
            }
        }
    }
}
