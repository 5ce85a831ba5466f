//! LU factorization with partial pivoting and the solve, in place on a row-major `n × n`
//! matrix. Used by Newton's method on `(I − J) δ = −r`. Cost: `⅔ n³` flops to factor,
//! `2 n²` to solve.

use crate::scalar::Real;

/// The matrix is singular to working precision: pivot `column` is below the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Singular {
    /// The column whose pivot vanished.
    pub column: usize,
}

/// Factors `a` (n × n, row-major) in place as `P A = L U` (unit-diagonal `L` below, `U` on and
/// above the diagonal); `piv[k]` is the row swapped with row `k`. A pivot smaller than
/// `n · ε · max|a|` counts as zero. Slices must hold `n²` and `n` elements.
pub fn factor<T: Real>(n: usize, a: &mut [T], piv: &mut [usize]) -> Result<(), Singular> {
    let mut amax = T::ZERO;
    for &v in a[..n * n].iter() {
        amax = amax.max(v.abs());
    }
    let tiny = amax * T::EPSILON * T::from_f64(n as f64);
    for k in 0..n {
        let mut p = k;
        let mut best = a[k * n + k].abs();
        for i in k + 1..n {
            let v = a[i * n + k].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if best <= tiny || best == T::ZERO {
            return Err(Singular { column: k });
        }
        if p != k {
            for j in 0..n {
                a.swap(k * n + j, p * n + j);
            }
        }
        let inv = T::ONE / a[k * n + k];
        let (top, bottom) = a.split_at_mut((k + 1) * n);
        let row_k = &top[k * n..];
        for row in bottom.chunks_exact_mut(n).take(n - k - 1) {
            let l = row[k] * inv;
            row[k] = l;
            if l != T::ZERO {
                for j in k + 1..n {
                    row[j] -= l * row_k[j];
                }
            }
        }
    }
    Ok(())
}

/// Solves `A x = b` in place in `b`, given the output of [`factor`].
pub fn solve<T: Real>(n: usize, lu: &[T], piv: &[usize], b: &mut [T]) {
    for k in 0..n {
        b.swap(k, piv[k]);
    }
    for i in 0..n {
        let mut s = b[i];
        for j in 0..i {
            s -= lu[i * n + j] * b[j];
        }
        b[i] = s;
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for j in i + 1..n {
            s -= lu[i * n + j] * b[j];
        }
        b[i] = s / lu[i * n + i];
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
}
