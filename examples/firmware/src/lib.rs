//! The firmware's work, target-independent and `#![no_std]`: one fixed point of a 16-unit GRU.
//!
//! 1. one damped-Newton step (`fpf_core::find::newton::polish`, `max_iters = 1`) from the state
//!    `h0` towards a fixed point `x* = F(x*, u)` — in f64, because `polish` takes a
//!    `Cell<'_, f64>`: the f32 weights are widened into an f64 copy on the stack;
//! 2. `F` and its 16×16 state Jacobian at the new point (`GruCell::step_with_jacobian`, f32);
//! 3. the Jacobian's eigenvalues (`fpf_core::linalg::eig::eigvals_fixed`, computed in f64).
//!
//! Nothing here allocates; every buffer is on the stack, sized by the constants below.

#![cfg_attr(not(test), no_std)]

use fpf_core::cell::fixed::GruCell;
use fpf_core::find::newton::{self, NewtonOutcome};
use fpf_core::linalg::eig::{self, EigError};

/// Inputs.
pub const I: usize = 3;
/// Hidden units (= state size for a GRU).
pub const H: usize = 16;

/// The network, as stored in flash (f32).
pub type Gru32 = GruCell<f32, I, H>;
/// The f64 copy Newton works on.
pub type Gru64 = GruCell<f64, I, H>;

const SHAPE: fpf_core::cell::CellShape = Gru64::SHAPE;
const S: usize = SHAPE.state_dim();
const PERIOD: usize = 1;

/// f64 workspace of `newton::polish` for GRU(3, 16), period 1: `newton::work_len`, spelled out
/// with the crate's `const fn`s (its own `work_len` is a run-time `fn` of a `Cell`):
/// `max(jacobian_work_len, eval_work_len) + S² + 3S` with
/// `jacobian_work_len = k(S + C) + 2S² + 2SI + (V + S)` and `eval_work_len = k(S + C) + 2S + V`
/// (`C` = cache, `V` = scratch, `k` = period). GRU(3, 16): max(768, 176) + 256 + 48 = 1072
/// f64 = 8576 bytes. The host test checks it against `newton::work_len`.
pub const NEWTON_WORK: usize = {
    let (c, v, k) = (SHAPE.cache_len(), SHAPE.scratch_len(), PERIOD);
    let jac = k * (S + c) + 2 * S * S + 2 * S * I + v + S;
    let eval = k * (S + c) + 2 * S + v;
    (if jac > eval { jac } else { eval }) + S * S + 3 * S
};

/// Stack reserved for the firmware (`link.x`, `_stack_size`; the link fails if RAM cannot hold
/// it). Estimate from the buffers: Newton's f64 weights 960·8 = 7680 B, its workspace
/// `NEWTON_WORK`·8 = 8576 B, `x`, `gx`, pivots ≈ 0.4 KB; `step_with_jacobian` 1 KB (J) + 1.1 KB
/// (cache, scratch); `eigvals_fixed` 2 KB (H) + 0.8 KB (scratch) + 0.25 KB (re, im); plus
/// `Output` (480 B) and the solver's frames: ≈ 22 KiB if nothing shares a stack slot.
/// Measured on QEMU mps2-an386 (`qemu-run.sh`, painted RAM): 23.3 KB high-water mark.
/// Keep equal to `_stack_size` in `link.x`.
pub const STACK_BYTES: usize = 32 * 1024;

/// What one run produces (`#[repr(C)]` so a debugger or host tool can read it from RAM).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Output {
    /// The state after the Newton step.
    pub x: [f64; H],
    /// q = ½‖x − F(x)‖² after the step (f64).
    pub q: f64,
    /// Newton iterations taken (0 or 1).
    pub iters: u32,
    /// `NewtonOutcome` code: 1 converged, 2 no progress, 3 singular, 4 max iterations (the
    /// normal outcome of one step).
    pub outcome: u32,
    /// 0 ok, 1 NaN/inf, 2 no convergence, 3 bad length.
    pub eig_status: u32,
    /// F(x) in f32.
    pub f: [f32; H],
    /// Eigenvalues of ∂F/∂h at x, sorted by modulus (descending).
    pub re: [f64; H],
    /// Imaginary parts.
    pub im: [f64; H],
    /// max |λ|.
    pub radius: f64,
}

impl Output {
    /// All zero.
    pub const ZERO: Output = Output {
        x: [0.0; H],
        q: 0.0,
        iters: 0,
        outcome: 0,
        eig_status: 0,
        f: [0.0; H],
        re: [0.0; H],
        im: [0.0; H],
        radius: 0.0,
    };
}

/// Widens the f32 weights into `w` (f64).
fn widen(src: &Gru32, dst: &mut Gru64) {
    fn copy(d: &mut [f64], s: &[f32]) {
        for (d, &s) in d.iter_mut().zip(s) {
            *d = s as f64;
        }
    }
    copy(
        dst.w_x.as_flattened_mut().as_flattened_mut(),
        src.w_x.as_flattened().as_flattened(),
    );
    copy(
        dst.w_h.as_flattened_mut().as_flattened_mut(),
        src.w_h.as_flattened().as_flattened(),
    );
    copy(dst.b.as_flattened_mut(), src.b.as_flattened());
}

/// The pipeline: Newton step from `h0` at input `u`, then `F`, `∂F/∂h` and its eigenvalues.
pub fn run(net: &Gru32, u: &[f32; I], h0: &[f32; H]) -> Output {
    let mut out = Output::ZERO;

    // 1. One Newton step, in f64.
    let mut net64 = Gru64::zeros();
    widen(net, &mut net64);
    let cell = net64.cell();
    let mut u64 = [0.0f64; I];
    for (d, &s) in u64.iter_mut().zip(u) {
        *d = s as f64;
    }
    let mut x = [0.0f64; H];
    for (d, &s) in x.iter_mut().zip(h0) {
        *d = s as f64;
    }
    let mut gx = [0.0f64; H];
    let mut work = [0.0f64; NEWTON_WORK];
    let mut piv = [0usize; H];
    let r = newton::polish(&cell, &u64, &mut x, PERIOD, 1, &mut gx, &mut work, &mut piv);
    out.x = x;
    out.q = r.q;
    out.iters = r.iters as u32;
    out.outcome = u32::from(NewtonOutcome::code(Some(r.outcome)));

    // 2. F and its Jacobian at the new point, in f32.
    let mut h = [0.0f32; H];
    for (d, &s) in h.iter_mut().zip(&x) {
        *d = s as f32;
    }
    let (f, jac) = net.step_with_jacobian(u, &h);
    out.f = f;

    // 3. Eigenvalues of the Jacobian.
    match eig::eigvals_fixed(&jac) {
        Ok((re, im)) => {
            out.radius = eig::spectral_radius(&re, &im);
            out.re = re;
            out.im = im;
        }
        Err(e) => {
            out.eig_status = match e {
                EigError::NotFinite => 1,
                EigError::NoConvergence { .. } => 2,
                EigError::BadLength { .. } => 3,
            }
        }
    }
    out
}

/// Deterministic example weights (a const LCG), uniform in ±`scale`: w_x ±0.5, w_h ±0.3,
/// b ±0.1. A real firmware would `include_bytes!` trained weights instead.
pub const fn example_weights() -> Gru32 {
    let mut net = Gru32 {
        w_x: [[[0.0; H]; 3]; I],
        w_h: [[[0.0; H]; 3]; H],
        b: [[0.0; H]; 3],
    };
    let mut seed = 0x1234_5678u32;
    let mut i = 0;
    while i < I * 3 * H + H * 3 * H + 3 * H {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let unit = (seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0; // [-1, 1)
        let (row, rest) = (i / (3 * H), i % (3 * H));
        let (g, j) = (rest / H, rest % H);
        if i < I * 3 * H {
            net.w_x[row][g][j] = 0.5 * unit;
        } else if i < (I + H) * 3 * H {
            net.w_h[row - I][g][j] = 0.3 * unit;
        } else {
            net.b[g][j] = 0.1 * unit;
        }
        i += 1;
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_const_matches_the_kernel() {
        let net = Gru64::zeros();
        assert_eq!(newton::work_len(&net.cell(), PERIOD), NEWTON_WORK);
    }

    /// q at `h` after `iters` Newton iterations (0: q at `h` itself).
    fn q_after(net: &Gru32, u: &[f32; I], h: &[f32; H], iters: usize) -> f64 {
        let mut n64 = Gru64::zeros();
        widen(net, &mut n64);
        let u64 = u.map(|v| v as f64);
        let mut x = h.map(|v| v as f64);
        let (mut gx, mut work, mut piv) = ([0.0; H], [0.0; NEWTON_WORK], [0; H]);
        let c = n64.cell();
        newton::polish(
            &c, &u64, &mut x, PERIOD, iters, &mut gx, &mut work, &mut piv,
        )
        .q
    }

    #[test]
    fn pipeline_runs_and_is_consistent() {
        let net = example_weights();
        let (u, h0) = ([0.5, -0.25, 1.0], [0.1; H]);
        let out = run(&net, &u, &h0);
        assert_eq!(out.eig_status, 0);
        assert_eq!(out.iters, 1);
        // Newton converges quadratically here: q = 0.17, 5.0e-3, 1.5e-6, 1.1e-13, 1.1e-27.
        let q0 = q_after(&net, &u, &h0, 0);
        assert!(out.q < 0.05 * q0, "q0 = {q0}, q1 = {}", out.q);
        assert_eq!(out.q, q_after(&net, &u, &h0, 1));
        assert!(q_after(&net, &u, &h0, 10) < newton::Q_TARGET);
        // F(x) is evaluated at the f32-rounded x: its distance to x is √(2q) plus rounding.
        let d: f64 = (0..H).map(|i| (out.f[i] as f64 - out.x[i]).powi(2)).sum();
        assert!(
            (d.sqrt() - (2.0 * out.q).sqrt()).abs() < 1e-4,
            "|F(x) - x| = {}",
            d.sqrt()
        );
        // A contracting network at this input: a stable fixed point.
        assert!(out.radius > 0.0 && out.radius < 1.0);
    }
}
