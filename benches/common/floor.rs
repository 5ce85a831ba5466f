//! The floor every finder benchmark is compared with, in the same run: the work one joint
//! q-minimization iteration cannot avoid, done by a tuned GEMM (matrixmultiply,
//! single-threaded, with its run-time AVX/FMA dispatch) over the same arrays:
//! `P = X_h W_h` (n × H × G·H), `D = P W_hᵀ` (n × G·H × H), and one elementwise pass over
//! the n × S states (the gates, the residual and Adam's update have to read and write them
//! at least once). 4·n·H·G·H + O(n·S) flops; G = 1 for the tanh cell (the gate-width floor
//! of the GRUs has G = 3, of the LSTM G = 4 with S = 2H).
//!
//! Training's floor ([`TrainFloor`]) is every matrix product of a batch's BPTT by the same
//! GEMM, with no elementwise work.

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
    let rsb = if b_t { (1, k) } else { (n, 1) };
    gemm_strided(m, k, n, a, (lda, 1), b, rsb, 0.0, c, n);
}

/// `c = a b + beta c` with every operand given by its row and column strides (so a
/// transposed operand is only a swap of strides): `a` is m × k, `b` k × n, `c` m × n.
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    (rsa, csa): (usize, usize),
    b: &[T],
    (rsb, csb): (usize, usize),
    beta: f64,
    c: &mut [T],
    ldc: usize,
) {
    let span = |rows: usize, cols: usize, rs: usize, cs: usize| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs + (cols - 1) * cs + 1
        }
    };
    assert!(a.len() >= span(m, k, rsa, csa) && b.len() >= span(k, n, rsb, csb));
    assert!(c.len() >= span(m, n, ldc, 1));
    let (rsa, csa, rsb, csb) = (rsa as isize, csa as isize, rsb as isize, csb as isize);
    // SAFETY: the asserts above keep every strided access inside the slices.
    unsafe {
        if T::NAME == "f32" {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                rsa,
                csa,
                b.as_ptr().cast(),
                rsb,
                csb,
                beta as f32,
                c.as_mut_ptr().cast(),
                ldc as isize,
                1,
            );
        } else {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                rsa,
                csa,
                b.as_ptr().cast(),
                rsb,
                csb,
                beta,
                c.as_mut_ptr().cast(),
                ldc as isize,
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

/// The matrix products of one training batch's BPTT (forward and backward) over arrays shaped
/// as the training's, by matrixmultiply, with no elementwise work: per step forward `X_t W_x`,
/// `H_{t−1} W_h` (`n × H × G·H`) and the readout `H_t W_out`; backward `D_t W_hᵀ`,
/// `dY_t W_outᵀ` and the gradients `H_{t−1}ᵀ D_t`, `X_tᵀ D_t`, `H_tᵀ dY_t`; each over the
/// whole batch of `n` trials.
pub struct TrainFloor<T> {
    n: usize,
    nt: usize,
    ni: usize,
    nh: usize,
    gw: usize,
    no: usize,
    /// States `(T + 1) × n × H`, inputs `T × n × I`.
    hs: Vec<T>,
    xs: Vec<T>,
    /// Pre-activations and `D` (`n × G·H`), readout and its gradient (`n × O`), state
    /// gradient (`n × H`).
    p: Vec<T>,
    d: Vec<T>,
    y: Vec<T>,
    dy: Vec<T>,
    g: Vec<T>,
    w_x: Vec<T>,
    w_h: Vec<T>,
    w_out: Vec<T>,
    gw_x: Vec<T>,
    gw_h: Vec<T>,
    gw_out: Vec<T>,
}

impl<T: Real> TrainFloor<T> {
    /// A batch of `n` trials of `nt` steps, `ni` inputs, `nh` units, gate width `gw`, `no`
    /// outputs.
    pub fn new(n: usize, nt: usize, ni: usize, nh: usize, gw: usize, no: usize) -> Self {
        let mut s = 1u64;
        let mut rnd = |len: usize| -> Vec<T> {
            (0..len)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
                })
                .collect()
        };
        TrainFloor {
            n,
            nt,
            ni,
            nh,
            gw,
            no,
            hs: rnd((nt + 1) * n * nh),
            xs: rnd(nt * n * ni),
            p: rnd(n * gw),
            d: rnd(n * gw),
            y: rnd(n * no),
            dy: rnd(n * no),
            g: rnd(n * nh),
            w_x: rnd(ni * gw),
            w_h: rnd(nh * gw),
            w_out: rnd(nh * no),
            gw_x: rnd(ni * gw),
            gw_h: rnd(nh * gw),
            gw_out: rnd(nh * no),
        }
    }

    /// The products of one batch's forward and backward pass.
    pub fn batch(&mut self) {
        let (n, ni, no, nh, gw) = (self.n, self.ni, self.no, self.nh, self.gw);
        let s = &mut *self;
        for t in 0..s.nt {
            let (x, h) = (&s.xs[t * n * ni..], &s.hs[t * n * nh..]);
            gemm_strided(n, ni, gw, x, (ni, 1), &s.w_x, (gw, 1), 0.0, &mut s.p, gw);
            gemm_strided(n, nh, gw, h, (nh, 1), &s.w_h, (gw, 1), 1.0, &mut s.p, gw);
            let h1 = &s.hs[(t + 1) * n * nh..];
            gemm_strided(n, nh, no, h1, (nh, 1), &s.w_out, (no, 1), 0.0, &mut s.y, no);
        }
        for t in (0..s.nt).rev() {
            let (x, h) = (&s.xs[t * n * ni..], &s.hs[t * n * nh..]);
            let h1 = &s.hs[(t + 1) * n * nh..];
            gemm_strided(n, gw, nh, &s.d, (gw, 1), &s.w_h, (1, gw), 0.0, &mut s.g, nh);
            gemm_strided(
                n,
                no,
                nh,
                &s.dy,
                (no, 1),
                &s.w_out,
                (1, no),
                1.0,
                &mut s.g,
                nh,
            );
            gemm_strided(nh, n, gw, h, (1, nh), &s.d, (gw, 1), 1.0, &mut s.gw_h, gw);
            gemm_strided(ni, n, gw, x, (1, ni), &s.d, (gw, 1), 1.0, &mut s.gw_x, gw);
            gemm_strided(
                nh,
                n,
                no,
                h1,
                (1, nh),
                &s.dy,
                (no, 1),
                1.0,
                &mut s.gw_out,
                no,
            );
        }
        std::hint::black_box((&s.g, &s.gw_h, &s.gw_x, &s.gw_out));
    }

    /// Flops of one batch by this count.
    pub fn flops(&self) -> f64 {
        let (n, nt, ni, nh, gw, no) = (self.n, self.nt, self.ni, self.nh, self.gw, self.no);
        let fwd = n * (ni + nh) * gw + n * nh * no;
        let bwd = n * gw * nh + n * no * nh + nh * n * gw + ni * n * gw + nh * n * no;
        2.0 * (nt * (fwd + bwd)) as f64
    }
}
