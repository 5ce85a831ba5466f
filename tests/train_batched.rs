//! The batched BPTT (matrix–matrix products over chunks of trials, on threads) against the
//! per-trial implementation it replaced, kept here as the reference: every trial stepped
//! with `Cell::step`, then walked back with `Cell::vjp`, the readout by dot products. Loss
//! and every gradient entry, all four cells, f32 and f64, batch sizes that leave partial
//! chunks and time blocks; and training bit-identical for every thread count.

mod common;

use common::Rng;
use fpf_core::Real;
use fpf_core::cell::{CellKind, CellShape, WeightsMut};
use fpf_core::linalg::dense::{axpy, dot};
use fpf_std::model::Model;
use fpf_std::task::FlipFlop;
use fpf_std::train::{Gradients, Sequences, TrainOptions, loss, loss_and_grad, train};

/// The loss (mean squared error) and its gradient, flat `[params | w_out | b_out | h0]`,
/// one trial and one step at a time: the implementation before the batched one.
fn per_trial<T: Real>(model: &Model<T>, data: &Sequences<'_>) -> (f64, Vec<T>) {
    let shape = *model.shape();
    let (ni, nh, no) = (shape.n_inputs, shape.n_hidden, model.n_outputs());
    let (sd, cl) = (shape.state_dim(), shape.cache_len());
    let (n, nt) = (data.n_trials, data.n_time);
    let cell = model.cell();
    let (w_out, b_out, h0) = (model.w_out(), model.b_out(), model.h0());
    let mut w_out_t = vec![T::ZERO; no * nh];
    for j in 0..nh {
        for o in 0..no {
            w_out_t[o * nh + j] = w_out[j * no + o];
        }
    }
    let x: Vec<T> = data.inputs.iter().map(|&v| T::from_f64(v)).collect();
    let mut states = vec![T::ZERO; n * nt * sd];
    let mut caches = vec![T::ZERO; n * nt * cl];
    let mut resid = vec![T::ZERO; n * nt * no];
    let mut y = vec![T::ZERO; no];
    let mut sse = 0.0f64;
    for k in 0..n {
        let x_k = &x[k * nt * ni..(k + 1) * nt * ni];
        let s_k = &mut states[k * nt * sd..(k + 1) * nt * sd];
        let c_k = &mut caches[k * nt * cl..(k + 1) * nt * cl];
        for t in 0..nt {
            let (prev, cur) = s_k.split_at_mut(t * sd);
            let h = if t == 0 { h0 } else { &prev[(t - 1) * sd..] };
            let next = &mut cur[..sd];
            cell.step(
                &x_k[t * ni..(t + 1) * ni],
                &h[..sd],
                next,
                &mut c_k[t * cl..(t + 1) * cl],
            )
            .unwrap();
            for ((yv, &b), w) in y.iter_mut().zip(b_out).zip(w_out_t.chunks_exact(nh)) {
                *yv = b + dot(&next[..nh], w);
            }
            let ys = &data.targets[(k * nt + t) * no..];
            for o in 0..no {
                let d = y[o] - T::from_f64(ys[o]);
                resid[(k * nt + t) * no + o] = d;
                sse += d.to_f64() * d.to_f64();
            }
        }
    }
    let mut flat = vec![T::ZERO; model.n_total_params()];
    let n_p = model.params().len();
    let (gp, rest) = flat.split_at_mut(n_p);
    let (gw_out, rest) = rest.split_at_mut(nh * no);
    let (gb_out, gh0) = rest.split_at_mut(no);
    let mut gw = WeightsMut::from_flat(&shape, gp).unwrap();
    let mut g_w_out_t = vec![T::ZERO; no * nh];
    let scale = T::from_f64(2.0 / (n * nt * no) as f64);
    let (mut g, mut gh) = (vec![T::ZERO; sd], vec![T::ZERO; sd]);
    let mut dy = vec![T::ZERO; no];
    let mut scratch = vec![T::ZERO; shape.scratch_len()];
    for k in 0..n {
        let x_k = &x[k * nt * ni..(k + 1) * nt * ni];
        let s_k = &states[k * nt * sd..(k + 1) * nt * sd];
        let c_k = &caches[k * nt * cl..(k + 1) * nt * cl];
        g.fill(T::ZERO);
        for t in (0..nt).rev() {
            let h_t = &s_k[t * sd..(t + 1) * sd];
            for (d, &r) in dy.iter_mut().zip(&resid[(k * nt + t) * no..]) {
                *d = r * scale;
            }
            for (b, &d) in gb_out.iter_mut().zip(&dy) {
                *b += d;
            }
            for ((&d, w), gwt) in dy
                .iter()
                .zip(w_out_t.chunks_exact(nh))
                .zip(g_w_out_t.chunks_exact_mut(nh))
            {
                axpy(d, w, &mut g[..nh]);
                axpy(d, &h_t[..nh], gwt);
            }
            let h_prev = if t == 0 {
                h0
            } else {
                &s_k[(t - 1) * sd..t * sd]
            };
            cell.vjp(
                &x_k[t * ni..(t + 1) * ni],
                h_prev,
                &c_k[t * cl..(t + 1) * cl],
                &g,
                &mut gh,
                None,
                Some(&mut gw),
                &mut scratch,
            )
            .unwrap();
            std::mem::swap(&mut g, &mut gh);
        }
        for (a, &b) in gh0.iter_mut().zip(&g) {
            *a += b;
        }
    }
    for j in 0..nh {
        for o in 0..no {
            gw_out[j * no + o] += g_w_out_t[o * nh + j];
        }
    }
    (sse / (n * nt * no) as f64, flat)
}

/// A model with every value (biases, readout and h0 included) random and nonzero; a leaky
/// cell gets an `α` picked by the seed (1 among them).
fn random_model(kind: CellKind, ni: usize, nh: usize, no: usize, seed: u64) -> Model<f64> {
    let alpha = if kind.is_leaky() {
        [0.3, 1.0, 0.1, 0.5, 0.05][seed as usize % 5]
    } else {
        1.0
    };
    let shape = CellShape::new(kind, ni, nh).with_alpha(alpha);
    let mut m = Model::<f64>::init_scaled(shape, no, seed).unwrap();
    let mut rng = Rng(seed ^ 0x5EED);
    let s = 1.2 / (nh as f64).sqrt();
    for v in m.params_mut() {
        *v = s * rng.normal();
    }
    for v in m.w_out_mut() {
        *v = s * rng.normal();
    }
    for v in m.b_out_mut() {
        *v = 0.3 * rng.normal();
    }
    for v in m.h0_mut() {
        *v = 0.5 * rng.normal();
    }
    m
}

fn check<T: Real>(model: &Model<T>, data: &Sequences<'_>, rtol: f64, tag: &str) {
    let (l_ref, g_ref) = per_trial(model, data);
    let mut grad = Gradients::zeros(model);
    let l = loss_and_grad(model, data, &mut grad).unwrap();
    assert!(
        (l - l_ref).abs() <= rtol * l_ref,
        "{tag}: loss {l} vs {l_ref}"
    );
    assert!(
        (loss(model, data).unwrap() - l).abs() <= rtol * l_ref,
        "{tag}: loss()"
    );
    let scale = g_ref.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    assert!(scale > 0.0);
    let got = grad.as_slice();
    assert_eq!(got.len(), g_ref.len());
    for (i, (a, b)) in got.iter().zip(&g_ref).enumerate() {
        let (a, b) = (a.to_f64(), b.to_f64());
        assert!(
            (a - b).abs() <= rtol * (b.abs() + scale),
            "{tag}: gradient entry {i}: {a} vs {b} (largest entry {scale})"
        );
    }
}

#[test]
fn batched_bptt_matches_the_per_trial_implementation() {
    // (trials, steps, inputs, units, outputs). Trials: one, fewer than a chunk (32), a chunk
    // and a bit, several chunks and a partial one. Steps: fewer than a time block (8), a
    // partial block, whole blocks. Inputs: few (row updates of dW_x) and 9 (a product).
    let cases = [
        (1usize, 3usize, 2usize, 5usize, 2usize),
        (7, 11, 3, 16, 3),
        (33, 8, 2, 9, 1),
        (70, 13, 3, 24, 2),
        (40, 10, 9, 12, 2),
    ];
    for (ki, kind) in CellKind::ALL.into_iter().enumerate() {
        for (ci, &(n, nt, ni, nh, no)) in cases.iter().enumerate() {
            let seed = 17 + 10 * ki as u64 + ci as u64;
            let model = random_model(kind, ni, nh, no, seed);
            let mut rng = Rng(seed ^ 0xDA7A);
            let inputs = rng.vec(n * nt * ni, 1.0);
            let targets = rng.vec(n * nt * no, 1.0);
            let data = Sequences {
                inputs: &inputs,
                targets: &targets,
                n_trials: n,
                n_time: nt,
                n_inputs: ni,
                n_outputs: no,
            };
            let tag = format!("{} n={n} T={nt} H={nh}", kind.name());
            check(&model, &data, 1e-13, &format!("{tag} f64"));
            check(&model.to_f32(), &data, 1e-5, &format!("{tag} f32"));
        }
    }
}

#[test]
fn autonomous_networks_have_no_input_weights_to_train() {
    for kind in CellKind::ALL {
        let model = random_model(kind, 0, 6, 2, 5);
        let mut rng = Rng(8);
        let targets = rng.vec(5 * 7 * 2, 1.0);
        let data = Sequences {
            inputs: &[],
            targets: &targets,
            n_trials: 5,
            n_time: 7,
            n_inputs: 0,
            n_outputs: 2,
        };
        check(&model, &data, 1e-13, kind.name());
    }
}

#[test]
fn training_is_bit_identical_for_every_thread_count() {
    let task = FlipFlop::new(3, 20, 0.5);
    let tr = task.generate(230, 4).unwrap();
    let va = task.generate(50, 5).unwrap();
    for kind in CellKind::ALL {
        let init = Model::<f32>::init_scaled(CellShape::new(kind, 3, 12), 3, 2).unwrap();
        let run = |n_threads| {
            let opts = TrainOptions {
                // 100 = three chunks of 32 and one of 4.
                batch_size: 100,
                max_epochs: 3,
                min_loss: 0.0,
                print_every: 1,
                n_threads,
                ..TrainOptions::default()
            };
            let mut m = init.clone();
            let r = train(&mut m, &tr.sequences(), Some(&va.sequences()), &opts, None).unwrap();
            (m, r)
        };
        let (m1, r1) = run(1);
        assert_ne!(m1, init);
        for n_threads in [2, 3, 0] {
            let (m, r) = run(n_threads);
            assert_eq!(m, m1, "{}: {n_threads} threads", kind.name());
            assert_eq!(r, r1, "{}: {n_threads} threads", kind.name());
        }
    }
}
