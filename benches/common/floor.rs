//! The floor every finder benchmark is compared with, in the same run: the work one joint
//! q-minimization iteration of a tanh cell cannot avoid, done by a tuned GEMM
//! (matrixmultiply, single-threaded, with its run-time AVX/FMA dispatch) over the same
//! arrays: `P = X W_hh` (n × H × H), `D = G W_hhᵀ` (n × H × H), and one elementwise pass
//! over the n × H state (the tanh, the residual and Adam's update have to read and write it
//! at least once). 4·n·H² + O(n·H) flops.

#![allow(dead_code)]

use fpf_core::Real;

/// `c = a b` for row-major `a` (m × k), `b` (k × n), `c` (m × n); `b_t`: use `bᵀ` of a
/// row-major n × k `b`.
pub fn gemm<T: Real>(m: usize, k: usize, n: usize, a: &[T], b: &[T], b_t: bool, c: &mut [T]) {
    let (rsb, csb) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the slices hold m·k, k·n and m·n elements, laid out with these strides.
    unsafe {
        if T::NAME == "f32" {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                k as isize,
                1,
                b.as_ptr().cast(),
                rsb,
                csb,
                0.0,
                c.as_mut_ptr().cast(),
                n as isize,
                1,
            );
        } else {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                k as isize,
                1,
                b.as_ptr().cast(),
                rsb,
                csb,
                0.0,
                c.as_mut_ptr().cast(),
                n as isize,
                1,
            );
        }
    }
}

/// Buffers for [`Floor::iteration`].
pub struct Floor<T> {
    n: usize,
    h: usize,
    p: Vec<T>,
    d: Vec<T>,
}

impl<T: Real> Floor<T> {
    /// For `n` states of `h` units.
    pub fn new(n: usize, h: usize) -> Self {
        Floor {
            n,
            h,
            p: vec![T::ZERO; n * h],
            d: vec![T::ZERO; n * h],
        }
    }

    /// One iteration's unavoidable work on states `x` with recurrent weights `w` (h × h).
    pub fn iteration(&mut self, x: &mut [T], w: &[T]) {
        let (n, h) = (self.n, self.h);
        gemm(n, h, h, x, w, false, &mut self.p);
        gemm(n, h, h, &self.p, w, true, &mut self.d);
        let step = T::from_f64(1e-3);
        for (xi, di) in x.iter_mut().zip(&self.d) {
            *xi -= step * *di;
        }
    }
}

/// Flops of one joint iteration of the tanh cell by the floor's count.
pub fn flops(n: usize, h: usize) -> f64 {
    4.0 * (n * h * h) as f64
}
