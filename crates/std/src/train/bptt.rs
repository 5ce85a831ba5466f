//! Backpropagation through time over a minibatch as matrix–matrix products.
//!
//! The batch is cut into fixed chunks of [`CHUNK`] trials (the last one shorter), each with
//! its own buffers and its own gradient accumulator; the chunks run on the threads and their
//! losses and gradients are summed in chunk order, so the result does not depend on the
//! number of threads. Within a chunk of `m` trials, all arrays are time-major (`m` rows per
//! step), and per step:
//! - forward: the pre-activations of every gate for the whole chunk, `X_t W_x` and
//!   `H_{t−1} W_h` by [`gemm`] (the reference's GRU adds `(r∘H_{t−1}) W_hn` after its
//!   gates r and z), written straight into the step's cache, then the gates elementwise.
//!   After the last step the readout of every step is one product `H W_out`.
//! - backward (from the last step): `D_t = ∂L/∂P_t` elementwise from the carried state
//!   gradient and the cache, then `dH_{t−1} = D_t W_hᵀ` (+ the elementwise terms: `g∘z` for
//!   the GRUs, the cell-state path `g_c∘f` for the LSTM; the reference's GRU needs
//!   `(D_n W_hnᵀ)` before `D_r`) plus the readout's `dY_{t−1} W_outᵀ`.
//!
//! The weight gradients `dW_h += H_{t−1}ᵀ D_t` and `dW_x += X_tᵀ D_t` are products too,
//! taken over [`TIME_BLOCK`] steps at a time (`k = m · TIME_BLOCK`): the block's `D` is
//! packed as the right operand, its states (and inputs) transposed (`O(k · H)`) as the left.
//! The bias gradients are the column sums of `D`.
//!
//! The right operands that hold weights (`W_x`, `W_h` and `W_hᵀ` in the blocks each cell
//! needs, `W_out`, `W_outᵀ`) are packed once per batch. Every buffer is allocated by
//! [`Bptt::new`]; nothing inside a run allocates.

use crate::cell::CellKind;
use crate::linalg::gemm::{gemm, pack, packed_len};
use crate::memory::{OutOfMemory, filled};
use crate::model::Model;
use crate::scalar::Real;
use crate::threads::Threads;
use fpf_core::isa;

use super::{Gradients, Sequences};

/// Trials per chunk: the unit of parallel work and of the fixed reduction order.
pub(super) const CHUNK: usize = 32;

/// Steps per weight-gradient product.
const TIME_BLOCK: usize = 8;

/// The sizes every array follows from.
#[derive(Clone, Copy, Debug)]
struct Dims {
    kind: CellKind,
    /// Inputs `I`, hidden units `H`, outputs `O`, state `S`, gate width `G·H`.
    ni: usize,
    nh: usize,
    no: usize,
    sd: usize,
    gw: usize,
    /// Bias rows.
    nb: usize,
    /// The leaky cells' `α` (1 for the others).
    alpha: f64,
    /// Cache per trial and step: tanh none (the state is the output); leaky `φ'(a)`;
    /// GRU `[r z n]`;
    /// PyTorch GRU `[r z n hn]`; LSTM `[i f g o tanh c']`.
    cw: usize,
    /// `D` per trial and step: tanh and leaky `H`; GRU `[d_r d_z d_n]`; PyTorch GRU
    /// `[d_r d_z d_n∘r d_n]` (what `W_h` sees, then what `W_x` sees of the n block); LSTM
    /// `[d_i d_f d_g d_o]`.
    dw: usize,
}

impl Dims {
    fn new<T: Real>(model: &Model<T>) -> Dims {
        let s = model.shape();
        let h = s.n_hidden;
        let (cw, dw) = match s.kind {
            CellKind::Tanh => (0, h),
            CellKind::Gru => (3 * h, 3 * h),
            CellKind::GruTorch => (4 * h, 4 * h),
            CellKind::Lstm => (5 * h, 4 * h),
            CellKind::LeakyTanh
            | CellKind::LeakyRelu
            | CellKind::LeakySoftplus
            | CellKind::LeakySigmoid => (h, h),
        };
        Dims {
            kind: s.kind,
            ni: s.n_inputs,
            nh: h,
            no: model.n_outputs(),
            sd: s.state_dim(),
            gw: s.gate_width(),
            nb: s.kind.n_bias_rows(),
            alpha: s.alpha,
            cw,
            dw,
        }
    }

    /// Column ranges `(offset, width)` of `D` packed for the weight-gradient products.
    fn d_packs(&self) -> [(usize, usize); 3] {
        let h = self.nh;
        match self.kind {
            CellKind::Gru | CellKind::GruTorch => {}
            _ => return [(0, self.gw), (0, 0), (0, 0)],
        }
        match self.kind {
            // rz, n.
            CellKind::Gru => [(0, 2 * h), (2 * h, h), (0, 0)],
            // rz, n∘r (W_h, b_hh), n (W_x, b_ih).
            _ => [(0, 2 * h), (2 * h, h), (3 * h, h)],
        }
    }
}

/// The weights as right operands, packed once per batch, and the bias rows combined.
struct Packed<T> {
    /// `W_x` (`I × G·H`).
    wx: Vec<T>,
    /// `W_h` (`H × G·H`); for the GRUs its r, z block (`H × 2H`).
    wh: Vec<T>,
    /// The GRUs' `W_hn` (`H × H`).
    wh_n: Vec<T>,
    /// `W_hᵀ` (`G·H × H`); for the reference's GRU `W_hrzᵀ` (`2H × H`).
    wht: Vec<T>,
    /// The reference's GRU: `W_hnᵀ` (`H × H`).
    wht_n: Vec<T>,
    /// `W_out` (`H × O`) and `W_outᵀ` (`O × H`).
    wout: Vec<T>,
    woutt: Vec<T>,
    /// The bias added to every pre-activation (`G·H`): the bias rows summed, except the
    /// PyTorch GRU's `b_hn`, which is `b_hn` below.
    bias: Vec<T>,
    b_hn: Vec<T>,
}

impl<T: Real> Packed<T> {
    fn new(d: &Dims) -> Result<Self, OutOfMemory> {
        let (h, gw) = (d.nh, d.gw);
        let gru = matches!(d.kind, CellKind::Gru | CellKind::GruTorch);
        let z = |n: usize| filled(n, T::ZERO, "packed weights");
        Ok(Packed {
            wx: z(packed_len::<T>(d.ni, gw))?,
            wh: z(packed_len::<T>(h, if gru { 2 * h } else { gw }))?,
            wh_n: z(if gru { packed_len::<T>(h, h) } else { 0 })?,
            wht: z(if d.kind == CellKind::Gru {
                packed_len::<T>(2 * h, h)
            } else {
                packed_len::<T>(gw, h)
            })?,
            wht_n: z(if d.kind == CellKind::Gru {
                packed_len::<T>(h, h)
            } else {
                0
            })?,
            wout: z(packed_len::<T>(h, d.no))?,
            woutt: z(packed_len::<T>(d.no, h))?,
            bias: z(gw)?,
            b_hn: z(if d.kind == CellKind::GruTorch { h } else { 0 })?,
        })
    }

    /// Packs `model`'s weights (the transposed ones only for a backward pass).
    fn fill(&mut self, model: &Model<T>, d: &Dims, backward: bool) -> Option<()> {
        let (h, gw) = (d.nh, d.gw);
        let cell = model.cell();
        let w = cell.weights();
        pack(w.w_x, gw, d.ni, gw, false, &mut self.wx)?;
        match d.kind {
            CellKind::Tanh
            | CellKind::Lstm
            | CellKind::LeakyTanh
            | CellKind::LeakyRelu
            | CellKind::LeakySoftplus
            | CellKind::LeakySigmoid => {
                pack(w.w_h, gw, h, gw, false, &mut self.wh)?;
                if backward {
                    pack(w.w_h, gw, gw, h, true, &mut self.wht)?;
                }
            }
            CellKind::Gru | CellKind::GruTorch => {
                let w_hn = w.w_h.get(2 * h..)?;
                pack(w.w_h, gw, h, 2 * h, false, &mut self.wh)?;
                pack(w_hn, gw, h, h, false, &mut self.wh_n)?;
                if backward && d.kind == CellKind::Gru {
                    pack(w.w_h, gw, 2 * h, h, true, &mut self.wht)?;
                    pack(w_hn, gw, h, h, true, &mut self.wht_n)?;
                } else if backward {
                    pack(w.w_h, gw, gw, h, true, &mut self.wht)?;
                }
            }
        }
        let w_out = model.w_out();
        pack(w_out, d.no, h, d.no, false, &mut self.wout)?;
        if backward {
            pack(w_out, d.no, d.no, h, true, &mut self.woutt)?;
        }
        let (b0, more) = w.b.split_at_checked(gw)?;
        self.bias.copy_from_slice(b0);
        match d.kind {
            CellKind::Lstm => {
                for (a, &b) in self.bias.iter_mut().zip(more) {
                    *a += b;
                }
            }
            CellKind::GruTorch => {
                for (a, &b) in self.bias.iter_mut().zip(more).take(2 * h) {
                    *a += b;
                }
                self.b_hn.copy_from_slice(more.get(2 * h..3 * h)?);
            }
            _ => {}
        }
        Some(())
    }
}

/// What every chunk of one run reads.
struct Run<'a, T> {
    d: Dims,
    model: &'a Model<T>,
    packed: &'a Packed<T>,
    data: &'a Sequences<'a>,
    trial: &'a (dyn Fn(usize) -> usize + Sync),
    /// Trials in the batch (the loss is the mean over all of them).
    n: usize,
    backward: bool,
}

/// One chunk's buffers, for up to `cap` trials of up to `cap_time` steps.
struct Chunk<T> {
    /// Inputs, `time × trials × I`.
    x: Vec<T>,
    /// States, `(time + 1) × trials × S` (`h0` first).
    states: Vec<T>,
    /// `time × trials × cw` (see [`Dims::cw`]).
    cache: Vec<T>,
    /// Readout residuals `y − target`, then their loss gradients: `time × trials × O`.
    resid: Vec<T>,
    /// The state gradient carried back and the next one, `trials × S`.
    g: Vec<T>,
    g2: Vec<T>,
    /// The reference GRU's `r∘h` and `(r∘h) W_hn` (forward), `D_n W_hnᵀ` (backward), `trials ×
    /// H` each.
    q: Vec<T>,
    /// The current time block's `D` and the operands of its weight-gradient products.
    blk: Block<T>,
    /// This chunk's gradient, laid out as [`Gradients`].
    grad: Vec<T>,
    sse: f64,
    ok: bool,
}

/// `D` of the steps of one time block and the operands of its weight-gradient products.
struct Block<T> {
    /// `D`, `TIME_BLOCK × trials × dw`.
    d: Vec<T>,
    /// `D` packed, one pack per range of [`Dims::d_packs`].
    packs: Vec<T>,
    /// The readout gradients `dY` of the steps before the block's states, packed.
    dy_pack: Vec<T>,
    /// The left operands: `H_{t−1}ᵀ`, the reference GRU's `(r∘H_{t−1})ᵀ` (`H × k` each),
    /// `X_tᵀ` (`I × k`).
    ht: Vec<T>,
    rht: Vec<T>,
    xt: Vec<T>,
}

impl<T: Real> Chunk<T> {
    fn new(
        d: &Dims,
        n_total: usize,
        cap: usize,
        cap_time: usize,
        backward: bool,
    ) -> Result<Self, OutOfMemory> {
        let steps = cap.saturating_mul(cap_time);
        let z = |n: usize, what| filled(n, T::ZERO, what);
        // Backward buffers only when there is a backward pass.
        let zb = |n: usize, what| filled(if backward { n } else { 0 }, T::ZERO, what);
        let k = cap * TIME_BLOCK;
        let packs: usize = d
            .d_packs()
            .iter()
            .map(|&(_, w)| packed_len::<T>(k, w))
            .sum();
        Ok(Chunk {
            x: z(steps.saturating_mul(d.ni), "training inputs")?,
            states: z(
                (steps.saturating_add(cap)).saturating_mul(d.sd),
                "training states",
            )?,
            cache: z(steps.saturating_mul(d.cw), "training caches")?,
            resid: z(steps.saturating_mul(d.no), "training residuals")?,
            g: zb(cap * d.sd, "state gradient")?,
            g2: zb(cap * d.sd, "state gradient")?,
            q: z(
                if d.kind == CellKind::Gru {
                    2 * cap * d.nh
                } else {
                    0
                },
                "training scratch",
            )?,
            blk: Block {
                d: zb(k * d.dw, "training gate gradients")?,
                packs: zb(packs, "training gate gradients")?,
                dy_pack: zb(packed_len::<T>(k, d.no), "training readout gradients")?,
                ht: zb(k * d.nh, "training scratch")?,
                rht: zb(
                    if d.kind == CellKind::Gru { k * d.nh } else { 0 },
                    "training scratch",
                )?,
                xt: zb(k * d.ni, "training scratch")?,
            },
            grad: zb(n_total, "training gradient")?,
            sse: 0.0,
            ok: true,
        })
    }

    /// The forward pass (and with `r.backward` the backward pass) of the batch's trials
    /// `start..start + m`; sets `sse` and, with a backward pass, `grad`. `None`: a buffer
    /// is too short (a bug).
    #[inline(always)]
    fn run(&mut self, r: &Run<'_, T>, start: usize, m: usize) -> Option<()> {
        self.forward(r, start, m)?;
        if r.backward {
            self.backward(r, m)?;
        }
        Some(())
    }

    #[inline(always)]
    fn forward(&mut self, r: &Run<'_, T>, start: usize, m: usize) -> Option<()> {
        let Dims {
            ni, nh, no, sd, cw, ..
        } = r.d;
        let nt = r.data.n_time;
        let p = r.packed;
        for i in 0..m {
            let tr = (r.trial)(start + i);
            let src = r.data.inputs.get(tr * nt * ni..(tr + 1) * nt * ni)?;
            for t in 0..nt {
                let dst = self.x.get_mut((t * m + i) * ni..)?.get_mut(..ni)?;
                for (a, &b) in dst.iter_mut().zip(&src[t * ni..]) {
                    *a = T::from_f64(b);
                }
            }
        }
        let h0 = r.model.h0();
        for row in self.states.get_mut(..m * sd)?.chunks_exact_mut(sd.max(1)) {
            row.copy_from_slice(h0);
        }
        for t in 0..nt {
            let (prev, rest) = self.states.split_at_mut_checked((t + 1) * m * sd)?;
            let h = prev.get(t * m * sd..)?;
            let next = rest.get_mut(..m * sd)?;
            let x = self.x.get(t * m * ni..(t + 1) * m * ni)?;
            let ca = self.cache.get_mut(t * m * cw..(t + 1) * m * cw)?;
            step(&r.d, p, m, x, h, next, ca, &mut self.q)?;
        }

        // The readout of every step, then the residuals and their squares.
        let steps = nt * m;
        let resid = self.resid.get_mut(..steps * no)?;
        gemm(
            steps,
            nh,
            no,
            self.states.get(m * sd..)?,
            sd,
            &p.wout,
            resid,
            no,
            false,
        )?;
        let b_out = r.model.b_out();
        let mut sse = 0.0f64;
        for i in 0..m {
            let tr = (r.trial)(start + i);
            let ys = r.data.targets.get(tr * nt * no..(tr + 1) * nt * no)?;
            for (t, y) in ys.chunks_exact(no).enumerate() {
                let res = resid.get_mut((t * m + i) * no..)?.get_mut(..no)?;
                for ((rv, &b), &target) in res.iter_mut().zip(b_out).zip(y) {
                    let dv = *rv + b - T::from_f64(target);
                    *rv = dv;
                    let dv = dv.to_f64();
                    sse += dv * dv;
                }
            }
        }
        self.sse = sse;
        Some(())
    }

    #[inline(always)]
    fn backward(&mut self, r: &Run<'_, T>, m: usize) -> Option<()> {
        let d = r.d;
        let Dims {
            nh, no, sd, cw, dw, ..
        } = d;
        let nt = r.data.n_time;
        let p = r.packed;
        let steps = nt * m;
        let scale = T::from_f64(2.0 / (r.n * nt * no) as f64);
        let model = r.model;
        let (n_p, n_w, n_b) = (
            model.params().len(),
            model.w_out().len(),
            model.b_out().len(),
        );
        self.grad.fill(T::ZERO);
        // dL/dy, the gradient of b_out, and that of W_out from the last step (the blocks'
        // products take the others).
        let resid = self.resid.get_mut(..steps * no)?;
        for v in resid.iter_mut() {
            *v *= scale;
        }
        {
            let (_, rest) = self.grad.split_at_mut_checked(n_p)?;
            let (gw_out, rest) = rest.split_at_mut_checked(n_w)?;
            col_sums(resid, no, steps, 0, no, rest.get_mut(..n_b)?)?;
            let hs = ex(&self.states, nt * m * sd, m * sd)?;
            let dys = ex(resid, (nt - 1) * m * no, m * no)?;
            for (h, dy) in hs.chunks_exact(sd).zip(dys.chunks_exact(no)) {
                for (&hv, row) in h.iter().zip(gw_out.chunks_exact_mut(no)) {
                    for (o, &dv) in row.iter_mut().zip(dy) {
                        *o += hv * dv;
                    }
                }
            }
        }

        // The state gradient after the last step: the readout's only.
        let (mut g, mut g2) = (self.g.get_mut(..m * sd)?, self.g2.get_mut(..m * sd)?);
        g.fill(T::ZERO);
        let resid: &[T] = resid;
        gemm(
            m,
            no,
            nh,
            resid.get((nt - 1) * m * no..)?,
            no,
            &p.woutt,
            g,
            sd,
            true,
        )?;
        for t in (0..nt).rev() {
            let t0 = t / TIME_BLOCK * TIME_BLOCK;
            let dt = self.blk.d.get_mut((t - t0) * m * dw..)?.get_mut(..m * dw)?;
            let h = self.states.get(t * m * sd..)?.get(..m * sd)?;
            let f = self.states.get((t + 1) * m * sd..)?.get(..m * sd)?;
            let ca = self.cache.get(t * m * cw..)?.get(..m * cw)?;
            vjp_step(&d, p, g, h, f, ca, dt, g2, &mut self.q)?;
            if t > 0 {
                gemm(
                    m,
                    no,
                    nh,
                    resid.get((t - 1) * m * no..)?,
                    no,
                    &p.woutt,
                    g2,
                    sd,
                    true,
                )?;
            }
            core::mem::swap(&mut g, &mut g2);
            if t == t0 {
                let t1 = (t0 + TIME_BLOCK).min(nt);
                weight_gradients(
                    &d,
                    m,
                    t0,
                    t1,
                    &self.states,
                    &self.x,
                    &self.cache,
                    resid,
                    &mut self.blk,
                    &mut self.grad,
                )?;
            }
        }

        // h0, shared by every trial.
        let gh0 = self.grad.get_mut(n_p + n_w + n_b..)?;
        for row in g.chunks_exact(sd) {
            for (a, &b) in gh0.iter_mut().zip(row) {
                *a += b;
            }
        }
        Some(())
    }
}

/// `dW_h`, `dW_x` and the bias gradients of the steps `t0..t1`, whose `D` is in `blk.d`,
/// and `dW_out += H_sᵀ dY_{s−1}` for the block's states `H_s` (`s ≥ 1`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn weight_gradients<T: Real>(
    d: &Dims,
    m: usize,
    t0: usize,
    t1: usize,
    states: &[T],
    x: &[T],
    cache: &[T],
    dy: &[T],
    blk: &mut Block<T>,
    grad: &mut [T],
) -> Option<()> {
    let Dims {
        ni,
        nh,
        no,
        sd,
        gw,
        nb,
        cw,
        dw,
        ..
    } = *d;
    let k = (t1 - t0) * m;
    let row0 = t0 * m;
    transpose(states.get(row0 * sd..)?, sd, k, nh, &mut blk.ht)?;
    transpose(x.get(row0 * ni..)?, ni, k, ni, &mut blk.xt)?;
    if d.kind == CellKind::Gru {
        let r = cache.get(row0 * cw..)?;
        transpose_product(r, cw, states.get(row0 * sd..)?, sd, k, nh, &mut blk.rht)?;
    }
    let dk = blk.d.get(..k * dw)?;
    let mut packs: [&[T]; 3] = [&[]; 3];
    let mut rest = &mut blk.packs[..];
    for (slot, (off, w)) in packs.iter_mut().zip(d.d_packs()) {
        let (out, tail) = core::mem::take(&mut rest).split_at_mut_checked(packed_len::<T>(k, w))?;
        if w > 0 {
            pack(dk.get(off..)?, dw, k, w, false, out)?;
        }
        *slot = out;
        rest = tail;
    }
    let (ht, xt) = (&blk.ht[..], &blk.xt[..]);
    let (gwx, rest) = grad.split_at_mut_checked(ni * gw)?;
    let (gwh, rest) = rest.split_at_mut_checked(nh * gw)?;
    let (gb, rest) = rest.split_at_mut_checked(nb * gw)?;
    let gw_out = ex_mut(rest, 0, nh * no)?;
    // W_out: the block's states s (but h0, which has no readout) with dY_{s−1}.
    let skip = if t0 == 0 { m } else { 0 };
    if k > skip {
        let kk = k - skip;
        let dys = ex(dy, (row0 + skip - m) * no, kk * no)?;
        pack(dys, no, kk, no, false, &mut blk.dy_pack)?;
        gemm(
            nh,
            kk,
            no,
            ht.get(skip..)?,
            k,
            &blk.dy_pack,
            gw_out,
            no,
            true,
        )?;
    }
    // C (rows × w) += Aᵀ-block (rows × k) · pack (k × w), into `c` at column `col`.
    let prod = |rows: usize, a: &[T], pk: &[T], w: usize, c: &mut [T], col: usize| {
        if rows == 0 || w == 0 {
            return Some(());
        }
        gemm(rows, k, w, a, k, pk, c.get_mut(col..)?, gw, true)
    };
    let h = nh;
    // The column ranges `(offset in D, width, offset in the bias)` that the bias rows sum.
    let b_sums = match d.kind {
        CellKind::Tanh
        | CellKind::LeakyTanh
        | CellKind::LeakyRelu
        | CellKind::LeakySoftplus
        | CellKind::LeakySigmoid => {
            prod(nh, ht, packs[0], h, gwh, 0)?;
            prod(ni, xt, packs[0], h, gwx, 0)?;
            [(0, h, 0), (0, 0, 0), (0, 0, 0)]
        }
        CellKind::Lstm => {
            prod(nh, ht, packs[0], gw, gwh, 0)?;
            prod(ni, xt, packs[0], gw, gwx, 0)?;
            [(0, gw, 0), (0, gw, gw), (0, 0, 0)]
        }
        CellKind::Gru => {
            let rht = &blk.rht[..];
            prod(nh, ht, packs[0], 2 * h, gwh, 0)?;
            prod(nh, rht, packs[1], h, gwh, 2 * h)?;
            prod(ni, xt, packs[0], 2 * h, gwx, 0)?;
            prod(ni, xt, packs[1], h, gwx, 2 * h)?;
            [(0, gw, 0), (0, 0, 0), (0, 0, 0)]
        }
        CellKind::GruTorch => {
            prod(nh, ht, packs[0], 2 * h, gwh, 0)?;
            prod(nh, ht, packs[1], h, gwh, 2 * h)?;
            prod(ni, xt, packs[0], 2 * h, gwx, 0)?;
            prod(ni, xt, packs[2], h, gwx, 2 * h)?;
            // b_ih: [d_r d_z d_n]; b_hh: [d_r d_z d_n∘r].
            [(0, 2 * h, 0), (3 * h, h, 2 * h), (0, 3 * h, gw)]
        }
    };
    // The bias: column sums down the block (a product with one row would be bound by its
    // one accumulator chain).
    for &(off, w, col) in &b_sums {
        col_sums(dk, dw, k, off, w, ex_mut(gb, col, w)?)?;
    }
    Some(())
}

/// [`Chunk::run`] as an [`isa::Kernel`]: everything it inlines (the gates, `D`, the
/// transpositions) is compiled for the CPU's vector width.
struct ChunkRun<'c, 'r, 'a, T> {
    chunk: &'c mut Chunk<T>,
    run: &'r Run<'a, T>,
    start: usize,
    m: usize,
}

impl<T: Real> isa::Kernel for ChunkRun<'_, '_, '_, T> {
    type Output = Option<()>;
    #[inline(always)]
    fn run(self) -> Option<()> {
        self.chunk.run(self.run, self.start, self.m)
    }
}

/// `s[a..a + n]`, its length visible to the compiler (so loops over `0..n` need no bounds
/// checks and vectorize).
#[inline(always)]
fn ex<T>(s: &[T], a: usize, n: usize) -> Option<&[T]> {
    s.get(a..)?.get(..n)
}

/// [`ex`], mutable.
#[inline(always)]
fn ex_mut<T>(s: &mut [T], a: usize, n: usize) -> Option<&mut [T]> {
    s.get_mut(a..)?.get_mut(..n)
}

/// `dst[c] += Σ_p src[p·ld + off + c]` for `c < w`, `p < rows`, summed in the order of `p`,
/// sixteen columns at a time in a fixed-size accumulator.
#[inline(always)]
fn col_sums<T: Real>(
    src: &[T],
    ld: usize,
    rows: usize,
    off: usize,
    w: usize,
    dst: &mut [T],
) -> Option<()> {
    const L: usize = 16;
    let dst = dst.get_mut(..w)?;
    let mut c0 = 0;
    while c0 < w {
        let n = L.min(w - c0);
        let out = ex_mut(dst, c0, n)?;
        if n == L {
            let mut acc = [T::ZERO; L];
            for (a, &v) in acc.iter_mut().zip(out.iter()) {
                *a = v;
            }
            for p in 0..rows {
                for (a, &v) in acc.iter_mut().zip(ex(src, p * ld + off + c0, L)?) {
                    *a += v;
                }
            }
            for (o, &a) in out.iter_mut().zip(&acc) {
                *o = a;
            }
        } else {
            for p in 0..rows {
                for (o, &v) in out.iter_mut().zip(ex(src, p * ld + off + c0, n)?) {
                    *o += v;
                }
            }
        }
        c0 += n;
    }
    Some(())
}

/// `out` (`cols × rows`) = the first `cols` columns of the `rows` rows of `src` (row stride
/// `ld`), transposed.
#[inline(always)]
fn transpose<T: Real>(src: &[T], ld: usize, rows: usize, cols: usize, out: &mut [T]) -> Option<()> {
    transpose_with(src, ld, None, rows, cols, out)
}

/// [`transpose`] of the elementwise product of `a` and `b` (row strides `lda`, `ldb`).
#[inline(always)]
fn transpose_product<T: Real>(
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    rows: usize,
    cols: usize,
    out: &mut [T],
) -> Option<()> {
    transpose_with(a, lda, Some((b, ldb)), rows, cols, out)
}

/// `out = (src ∘ by)ᵀ` (`by` absent: 1), in tiles of 8 × 8 (read into a fixed-size array,
/// written out by rows), then the edges element by element.
#[inline(always)]
fn transpose_with<T: Real>(
    src: &[T],
    ld: usize,
    by: Option<(&[T], usize)>,
    rows: usize,
    cols: usize,
    out: &mut [T],
) -> Option<()> {
    const B: usize = 8;
    let out = out.get_mut(..rows * cols)?;
    let at = |p: usize, j: usize| -> Option<T> {
        let v = *src.get(p * ld + j)?;
        Some(match by {
            Some((b, ldb)) => v * *b.get(p * ldb + j)?,
            None => v,
        })
    };
    let (full_rows, full_cols) = (rows / B * B, cols / B * B);
    for p0 in (0..full_rows).step_by(B) {
        for j0 in (0..full_cols).step_by(B) {
            let mut t = [[T::ZERO; B]; B];
            for (i, ti) in t.iter_mut().enumerate() {
                let s = ex(src, (p0 + i) * ld + j0, B)?;
                match by {
                    Some((b, ldb)) => {
                        let bs = ex(b, (p0 + i) * ldb + j0, B)?;
                        for ((a, &u), &v) in ti.iter_mut().zip(s).zip(bs) {
                            *a = u * v;
                        }
                    }
                    None => {
                        for (a, &u) in ti.iter_mut().zip(s) {
                            *a = u;
                        }
                    }
                }
            }
            for jj in 0..B {
                let o = ex_mut(out, (j0 + jj) * rows + p0, B)?;
                for (ov, ti) in o.iter_mut().zip(&t) {
                    *ov = ti[jj];
                }
            }
        }
        for j in full_cols..cols {
            for i in 0..B {
                *out.get_mut(j * rows + p0 + i)? = at(p0 + i, j)?;
            }
        }
    }
    for p in full_rows..rows {
        for j in 0..cols {
            *out.get_mut(j * rows + p)? = at(p, j)?;
        }
    }
    Some(())
}

/// One forward step of `m` trials: states `h` → `next` (`m × S` each), inputs `x`
/// (`m × I`), filling the step's cache `ca` (`m × cw`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn step<T: Real>(
    d: &Dims,
    p: &Packed<T>,
    m: usize,
    x: &[T],
    h: &[T],
    next: &mut [T],
    ca: &mut [T],
    q: &mut [T],
) -> Option<()> {
    let Dims {
        ni, nh, sd, gw, cw, ..
    } = *d;
    let one = T::ONE;
    let bias = ex(&p.bias, 0, gw)?;
    match d.kind {
        CellKind::Tanh => {
            gemm(m, ni, nh, x, ni, &p.wx, next, sd, false)?;
            gemm(m, nh, nh, h, sd, &p.wh, next, sd, true)?;
            for row in next.chunks_exact_mut(sd) {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v = (*v + b).tanh();
                }
            }
        }
        CellKind::LeakyTanh
        | CellKind::LeakyRelu
        | CellKind::LeakySoftplus
        | CellKind::LeakySigmoid => {
            // The pre-activations into `next`, then F there and φ'(a) into the cache.
            let act = d.kind.activation()?;
            let alpha = T::from_f64(d.alpha);
            gemm(m, ni, nh, x, ni, &p.wx, next, sd, false)?;
            gemm(m, nh, nh, h, sd, &p.wh, next, sd, true)?;
            for ((row, hp), dr) in next
                .chunks_exact_mut(sd)
                .zip(h.chunks_exact(sd))
                .zip(ca.chunks_exact_mut(cw))
            {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
                act.leaky_row(alpha, row, hp, dr);
            }
        }
        CellKind::Lstm => {
            gemm(m, ni, gw, x, ni, &p.wx, ca, cw, false)?;
            gemm(m, nh, gw, h, sd, &p.wh, ca, cw, true)?;
            let (bi, bf) = (ex(bias, 0, nh)?, ex(bias, nh, nh)?);
            let (bg, bo) = (ex(bias, 2 * nh, nh)?, ex(bias, 3 * nh, nh)?);
            for ((a, nx), hp) in ca
                .chunks_exact_mut(cw)
                .zip(next.chunks_exact_mut(sd))
                .zip(h.chunks_exact(sd))
            {
                let (ai, rest) = a.split_at_mut_checked(nh)?;
                let (af, rest) = rest.split_at_mut_checked(nh)?;
                let (ag, rest) = rest.split_at_mut_checked(nh)?;
                let (ao, tc) = rest.split_at_mut_checked(nh)?;
                let tc = ex_mut(tc, 0, nh)?;
                let c = ex(hp, nh, nh)?;
                let (nxh, nxc) = nx.split_at_mut_checked(nh)?;
                let nxc = ex_mut(nxc, 0, nh)?;
                for k in 0..nh {
                    let i = (ai[k] + bi[k]).sigmoid();
                    let f = (af[k] + bf[k]).sigmoid();
                    let g = (ag[k] + bg[k]).tanh();
                    let o = (ao[k] + bo[k]).sigmoid();
                    let cn = f * c[k] + i * g;
                    let t = cn.tanh();
                    ai[k] = i;
                    af[k] = f;
                    ag[k] = g;
                    ao[k] = o;
                    tc[k] = t;
                    nxh[k] = o * t;
                    nxc[k] = cn;
                }
            }
        }
        CellKind::GruTorch => {
            gemm(m, ni, gw, x, ni, &p.wx, ca, cw, false)?;
            gemm(m, nh, 2 * nh, h, sd, &p.wh, ca, cw, true)?;
            gemm(m, nh, nh, h, sd, &p.wh_n, ca.get_mut(3 * nh..)?, cw, false)?;
            let (brz, bn) = (ex(bias, 0, 2 * nh)?, ex(bias, 2 * nh, nh)?);
            let b_hn = ex(&p.b_hn, 0, nh)?;
            for ((a, nx), hp) in ca
                .chunks_exact_mut(cw)
                .zip(next.chunks_exact_mut(sd))
                .zip(h.chunks_exact(sd))
            {
                let (rz, rest) = a.split_at_mut_checked(2 * nh)?;
                let (an, hn) = rest.split_at_mut_checked(nh)?;
                let hn = ex_mut(hn, 0, nh)?;
                for (v, &b) in rz.iter_mut().zip(brz) {
                    *v = (*v + b).sigmoid();
                }
                let (r, z) = rz.split_at_checked(nh)?;
                let (nx, hp) = (ex_mut(nx, 0, nh)?, ex(hp, 0, nh)?);
                for k in 0..nh {
                    let hnv = hn[k] + b_hn[k];
                    hn[k] = hnv;
                    let n = (an[k] + bn[k] + r[k] * hnv).tanh();
                    an[k] = n;
                    nx[k] = (one - z[k]) * n + z[k] * hp[k];
                }
            }
        }
        CellKind::Gru => {
            gemm(m, ni, gw, x, ni, &p.wx, ca, cw, false)?;
            gemm(m, nh, 2 * nh, h, sd, &p.wh, ca, cw, true)?;
            let (brz, bn) = (ex(bias, 0, 2 * nh)?, ex(bias, 2 * nh, nh)?);
            let (rh, q) = q.get_mut(..2 * m * nh)?.split_at_mut(m * nh);
            for ((a, hp), rhr) in ca
                .chunks_exact_mut(cw)
                .zip(h.chunks_exact(sd))
                .zip(rh.chunks_exact_mut(nh))
            {
                let rz = ex_mut(a, 0, 2 * nh)?;
                for (v, &b) in rz.iter_mut().zip(brz) {
                    *v = (*v + b).sigmoid();
                }
                for ((o, &r), &hv) in rhr.iter_mut().zip(&rz[..nh]).zip(hp) {
                    *o = r * hv;
                }
            }
            gemm(m, nh, nh, rh, nh, &p.wh_n, q, nh, false)?;
            for (((a, nx), hp), qr) in ca
                .chunks_exact_mut(cw)
                .zip(next.chunks_exact_mut(sd))
                .zip(h.chunks_exact(sd))
                .zip(q.chunks_exact(nh))
            {
                let (rz, an) = a.split_at_mut_checked(2 * nh)?;
                let (z, an) = (ex(rz, nh, nh)?, ex_mut(an, 0, nh)?);
                let (nx, hp, qr) = (ex_mut(nx, 0, nh)?, ex(hp, 0, nh)?, ex(qr, 0, nh)?);
                for k in 0..nh {
                    let n = (an[k] + bn[k] + qr[k]).tanh();
                    an[k] = n;
                    nx[k] = (one - z[k]) * n + z[k] * hp[k];
                }
            }
        }
    }
    Some(())
}
/// One backward step of `m` trials: from `g = ∂L/∂next` (`m × S`), the states before
/// (`h`) and after (`f`) the step and its cache, `D` into `dt` (`m × dw`) and
/// `∂L/∂h` into `g2` (`m × S`, overwritten; the readout's part is added by the caller).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn vjp_step<T: Real>(
    d: &Dims,
    p: &Packed<T>,
    g: &[T],
    h: &[T],
    f: &[T],
    ca: &[T],
    dt: &mut [T],
    g2: &mut [T],
    q: &mut [T],
) -> Option<()> {
    let Dims { nh, sd, cw, dw, .. } = *d;
    let m = g.len() / sd.max(1);
    let one = T::ONE;
    match d.kind {
        CellKind::Tanh => {
            for ((dr, gr), fr) in dt
                .chunks_exact_mut(dw)
                .zip(g.chunks_exact(sd))
                .zip(f.chunks_exact(sd))
            {
                for ((dv, &gv), &fv) in dr.iter_mut().zip(gr).zip(fr) {
                    *dv = gv * (one - fv * fv);
                }
            }
            gemm(m, nh, nh, dt, dw, &p.wht, g2, sd, false)?;
        }
        CellKind::LeakyTanh
        | CellKind::LeakyRelu
        | CellKind::LeakySoftplus
        | CellKind::LeakySigmoid => {
            // D = α g∘φ'(a); ∂L/∂h = D W_hᵀ + (1 − α) g.
            let alpha = T::from_f64(d.alpha);
            for ((dr, gr), ar) in dt
                .chunks_exact_mut(dw)
                .zip(g.chunks_exact(sd))
                .zip(ca.chunks_exact(cw))
            {
                for ((dv, &gv), &av) in dr.iter_mut().zip(gr).zip(ar) {
                    *dv = alpha * gv * av;
                }
            }
            gemm(m, nh, nh, dt, dw, &p.wht, g2, sd, false)?;
            for (o, &gv) in g2.iter_mut().zip(g) {
                *o += (one - alpha) * gv;
            }
        }
        CellKind::Lstm => {
            for (((dr, gr), hr), (ar, g2r)) in dt
                .chunks_exact_mut(dw)
                .zip(g.chunks_exact(sd))
                .zip(h.chunks_exact(sd))
                .zip(ca.chunks_exact(cw).zip(g2.chunks_exact_mut(sd)))
            {
                let (gh, gc) = (ex(gr, 0, nh)?, ex(gr, nh, nh)?);
                let c = ex(hr, nh, nh)?;
                let (ai, af) = (ex(ar, 0, nh)?, ex(ar, nh, nh)?);
                let (ag, ao, tc) = (
                    ex(ar, 2 * nh, nh)?,
                    ex(ar, 3 * nh, nh)?,
                    ex(ar, 4 * nh, nh)?,
                );
                let (di, rest) = dr.split_at_mut_checked(nh)?;
                let (df, rest) = rest.split_at_mut_checked(nh)?;
                let (dg, d_o) = rest.split_at_mut_checked(nh)?;
                let d_o = ex_mut(d_o, 0, nh)?;
                let g2c = ex_mut(g2r, nh, nh)?;
                for k in 0..nh {
                    let (i, fv, gv, o, t) = (ai[k], af[k], ag[k], ao[k], tc[k]);
                    let ghv = gh[k];
                    let gct = gc[k] + ghv * o * (one - t * t);
                    di[k] = gct * gv * i * (one - i);
                    df[k] = gct * c[k] * fv * (one - fv);
                    dg[k] = gct * i * (one - gv * gv);
                    d_o[k] = ghv * t * o * (one - o);
                    g2c[k] = gct * fv;
                }
            }
            gemm(m, 4 * nh, nh, dt, dw, &p.wht, g2, sd, false)?;
        }
        CellKind::GruTorch => {
            for (((dr, gr), hr), ar) in dt
                .chunks_exact_mut(dw)
                .zip(g.chunks_exact(sd))
                .zip(h.chunks_exact(sd))
                .zip(ca.chunks_exact(cw))
            {
                let (r, z) = (ex(ar, 0, nh)?, ex(ar, nh, nh)?);
                let (n, hn) = (ex(ar, 2 * nh, nh)?, ex(ar, 3 * nh, nh)?);
                let (gr, hr) = (ex(gr, 0, nh)?, ex(hr, 0, nh)?);
                let (d_r, rest) = dr.split_at_mut_checked(nh)?;
                let (d_z, rest) = rest.split_at_mut_checked(nh)?;
                let (d_nr, d_n) = rest.split_at_mut_checked(nh)?;
                let d_n = ex_mut(d_n, 0, nh)?;
                for k in 0..nh {
                    let gv = gr[k];
                    let dn = gv * (one - z[k]) * (one - n[k] * n[k]);
                    d_r[k] = dn * hn[k] * r[k] * (one - r[k]);
                    d_z[k] = gv * (hr[k] - n[k]) * z[k] * (one - z[k]);
                    d_nr[k] = dn * r[k];
                    d_n[k] = dn;
                }
            }
            gemm(m, 3 * nh, nh, dt, dw, &p.wht, g2, sd, false)?;
            for ((g2r, gr), ar) in g2
                .chunks_exact_mut(sd)
                .zip(g.chunks_exact(sd))
                .zip(ca.chunks_exact(cw))
            {
                let z = ex(ar, nh, nh)?;
                for ((o, &gv), &zv) in g2r.iter_mut().zip(gr).zip(z) {
                    *o += gv * zv;
                }
            }
        }
        CellKind::Gru => {
            for ((dr, gr), ar) in dt
                .chunks_exact_mut(dw)
                .zip(g.chunks_exact(sd))
                .zip(ca.chunks_exact(cw))
            {
                let (z, n) = (ex(ar, nh, nh)?, ex(ar, 2 * nh, nh)?);
                let (gr, d_n) = (ex(gr, 0, nh)?, ex_mut(dr, 2 * nh, nh)?);
                for k in 0..nh {
                    d_n[k] = gr[k] * (one - z[k]) * (one - n[k] * n[k]);
                }
            }
            let grh = q.get_mut(..m * nh)?;
            gemm(m, nh, nh, dt.get(2 * nh..)?, dw, &p.wht_n, grh, nh, false)?;
            for (((dr, gr), hr), (ar, qr)) in dt
                .chunks_exact_mut(dw)
                .zip(g.chunks_exact(sd))
                .zip(h.chunks_exact(sd))
                .zip(ca.chunks_exact(cw).zip(grh.chunks_exact(nh)))
            {
                let (r, z, n) = (ex(ar, 0, nh)?, ex(ar, nh, nh)?, ex(ar, 2 * nh, nh)?);
                let (gr, hr, qr) = (ex(gr, 0, nh)?, ex(hr, 0, nh)?, ex(qr, 0, nh)?);
                let (d_r, rest) = dr.split_at_mut_checked(nh)?;
                let d_z = ex_mut(rest, 0, nh)?;
                for k in 0..nh {
                    d_r[k] = qr[k] * hr[k] * r[k] * (one - r[k]);
                    d_z[k] = gr[k] * (hr[k] - n[k]) * z[k] * (one - z[k]);
                }
            }
            gemm(m, 2 * nh, nh, dt, dw, &p.wht, g2, sd, false)?;
            for (((g2r, gr), ar), qr) in g2
                .chunks_exact_mut(sd)
                .zip(g.chunks_exact(sd))
                .zip(ca.chunks_exact(cw))
                .zip(grh.chunks_exact(nh))
            {
                let (r, z, qr) = (ex(ar, 0, nh)?, ex(ar, nh, nh)?, ex(qr, 0, nh)?);
                let (g2r, gr) = (ex_mut(g2r, 0, nh)?, ex(gr, 0, nh)?);
                for k in 0..nh {
                    g2r[k] += gr[k] * z[k] + qr[k] * r[k];
                }
            }
        }
    }
    Some(())
}

/// Buffers for batches of up to `cap_trials` trials of up to `cap_time` steps, and the
/// threads to run their chunks on.
pub(super) struct Bptt<T> {
    cap_trials: usize,
    cap_time: usize,
    d: Dims,
    backward: bool,
    packed: Packed<T>,
    chunks: Vec<Chunk<T>>,
    threads: Threads,
}

impl<T: Real> Bptt<T> {
    /// Buffers for `model`; `backward`: also for gradients.
    pub(super) fn new(
        model: &Model<T>,
        cap_trials: usize,
        cap_time: usize,
        backward: bool,
        threads: Threads,
    ) -> Result<Self, OutOfMemory> {
        let d = Dims::new(model);
        let n_chunks = cap_trials.div_ceil(CHUNK);
        let mut chunks = Vec::new();
        chunks
            .try_reserve_exact(n_chunks)
            .map_err(|_| OutOfMemory {
                what: "training chunks",
                bytes: n_chunks.saturating_mul(size_of::<Chunk<T>>()),
            })?;
        for c in 0..n_chunks {
            let cap = CHUNK.min(cap_trials - c * CHUNK);
            chunks.push(Chunk::new(
                &d,
                model.n_total_params(),
                cap,
                cap_time,
                backward,
            )?);
        }
        Ok(Bptt {
            cap_trials,
            cap_time,
            d,
            backward,
            packed: Packed::new(&d)?,
            chunks,
            threads,
        })
    }

    /// The trials `trial(0..n)` of `data` (validated, `n ≤ cap_trials`, `data.n_time ≤
    /// cap_time`): returns the sum of squared residuals (divide by `n · n_time · O` for the
    /// mean) and, with `grad` (only if built with `backward`), adds the gradient of that
    /// mean to it.
    pub(super) fn run(
        &mut self,
        model: &Model<T>,
        data: &Sequences<'_>,
        n: usize,
        trial: &(dyn Fn(usize) -> usize + Sync),
        grad: Option<&mut Gradients<T>>,
    ) -> f64 {
        assert!(
            n <= self.cap_trials
                && data.n_time <= self.cap_time
                && (grad.is_none() || self.backward),
            "training buffers are sized for the batch"
        );
        let backward = grad.is_some();
        self.packed
            .fill(model, &self.d, backward)
            .expect("training buffers are sized for the model");
        let run = Run {
            d: self.d,
            model,
            packed: &self.packed,
            data,
            trial,
            n,
            backward,
        };
        let n_chunks = n.div_ceil(CHUNK);
        let chunks = &mut self.chunks[..n_chunks];
        self.threads.for_each(
            chunks,
            || (),
            |_, c, chunk| {
                let start = c * CHUNK;
                let m = CHUNK.min(n - start);
                chunk.ok = isa::dispatch(ChunkRun {
                    chunk,
                    run: &run,
                    start,
                    m,
                })
                .is_some();
            },
        );
        let mut sse = 0.0;
        for c in chunks.iter() {
            assert!(c.ok, "training buffers are sized for the batch");
            sse += c.sse;
        }
        if let Some(grad) = grad {
            for c in chunks.iter() {
                for (a, &b) in grad.flat.iter_mut().zip(&c.grad) {
                    *a += b;
                }
            }
        }
        sse
    }

    /// Mean squared error over all of `data`, in batches of `cap_trials`.
    pub(super) fn loss(&mut self, model: &Model<T>, data: &Sequences<'_>) -> f64 {
        let mut sse = 0.0;
        let mut start = 0;
        while start < data.n_trials {
            let n = self.cap_trials.min(data.n_trials - start);
            sse += self.run(model, data, n, &|k| start + k, None);
            start += n;
        }
        sse / (data.n_trials * data.n_time * data.n_outputs) as f64
    }
}
