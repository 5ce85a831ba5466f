//! The floor every finder benchmark is compared with, in the same run: the work one joint
//! q-minimization iteration cannot avoid, done by a tuned GEMM (matrixmultiply,
//! single-threaded, with its run-time AVX/FMA dispatch) over the same arrays:
//! `P = X_h W_h` (n × H × G·H), `D = P W_hᵀ` (n × G·H × H), and one elementwise pass over
//! the n × S states (the gates, the residual and Adam's update have to read and write them
//! at least once). 4·n·H·G·H + O(n·S) flops; G = 1 for the tanh cell (the gate-width floor
//! of the GRUs has G = 3, of the LSTM G = 4 with S = 2H).

#![allow(dead_code)]

use fpf_core::Real;

/// `c = a b` for row-major `a` (m × k, row stride `lda`), `b` (k × n), `c` (m × n); `b_t`:
/// use `bᵀ` of a row-major n × k `b`.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    b_t: bool,
    c: &mut [T],
) {
    let (rsb, csb) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    assert!(a.len() >= (m - 1) * lda + k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the slices hold the elements these strides reach (asserted above).
    unsafe {
        if T::NAME == "f32" {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                lda as isize,
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
                lda as isize,
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
    gw: usize,
    sd: usize,
    p: Vec<T>,
    d: Vec<T>,
}

impl<T: Real> Floor<T> {
    /// For `n` states of `h` units of a tanh cell.
    pub fn new(n: usize, h: usize) -> Self {
        Self::gated(n, h, h, h)
    }

    /// For `n` states of size `sd` whose first `h` entries feed `gw` gate pre-activations
    /// (GRU: `gw = 3h`, LSTM: `gw = 4h`, `sd = 2h`).
    pub fn gated(n: usize, h: usize, gw: usize, sd: usize) -> Self {
        Floor {
            n,
            h,
            gw,
            sd,
            p: vec![T::ZERO; n * gw],
            d: vec![T::ZERO; n * h],
        }
    }

    /// One iteration's unavoidable work on states `x` (`n × sd`) with recurrent weights `w`
    /// (`h × gw`): `P = X_h W`, `D = P Wᵀ`, one pass over the states.
    pub fn iteration(&mut self, x: &mut [T], w: &[T]) {
        let (n, h, gw, sd) = (self.n, self.h, self.gw, self.sd);
        gemm(n, h, gw, x, sd, w, false, &mut self.p);
        gemm(n, gw, h, &self.p, gw, w, true, &mut self.d);
        let step = T::from_f64(1e-3);
        for (xi, di) in x.chunks_exact_mut(sd).zip(self.d.chunks_exact(h)) {
            // The whole state: the hidden part and (LSTM) the cell state.
            for part in xi.chunks_mut(h) {
                for (a, &b) in part.iter_mut().zip(di) {
                    *a -= step * b;
                }
            }
        }
    }
}

/// Flops of one joint iteration of the tanh cell by the floor's count.
pub fn flops(n: usize, h: usize) -> f64 {
    4.0 * (n * h * h) as f64
}

/// Flops of one joint iteration with gate width `gw` by the floor's count.
pub fn flops_gated(n: usize, h: usize, gw: usize) -> f64 {
    4.0 * (n * h * gw) as f64
}
