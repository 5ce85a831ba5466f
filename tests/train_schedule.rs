//! Training's learning-rate schedule (`lr_factor`, `lr_patience`) and gradient clipping
//! (`max_grad_norm`) against a reference written out here: with one batch per epoch, an
//! epoch is one full-batch gradient (`loss_and_grad`), clipped on its whole 2-norm, then one
//! bias-corrected Adam step at the rate the plateau schedule gives after each epoch's loss.

#![allow(clippy::needless_range_loop)]

use fpf_core::cell::{CellKind, CellShape};
use fpf_std::model::Model;
use fpf_std::task::FlipFlop;
use fpf_std::train::{EpochReport, Gradients, Sequences, TrainOptions, loss_and_grad, train};

/// Every trained value, flat `[params | w_out | b_out | h0]`.
fn values(m: &Model<f64>) -> Vec<f64> {
    [m.params(), m.w_out(), m.b_out(), m.h0()].concat()
}

fn set_values(m: &mut Model<f64>, v: &[f64]) {
    let (a, b, c) = (m.params().len(), m.w_out().len(), m.b_out().len());
    m.params_mut().copy_from_slice(&v[..a]);
    m.w_out_mut().copy_from_slice(&v[a..a + b]);
    m.b_out_mut().copy_from_slice(&v[a + b..a + b + c]);
    m.h0_mut().copy_from_slice(&v[a + b + c..]);
}

struct Reference {
    model: Model<f64>,
    losses: Vec<f64>,
    lrs: Vec<f64>,
    /// Norm of each epoch's gradient before clipping.
    norms: Vec<f64>,
}

fn reference(init: &Model<f64>, data: &Sequences<'_>, o: &TrainOptions) -> Reference {
    let mut model = init.clone();
    let mut x = values(&model);
    let n = x.len();
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    let mut lr = o.learning_rate;
    let (mut best, mut bad) = (f64::INFINITY, 0u32);
    let mut grad = Gradients::zeros(&model);
    let (mut losses, mut lrs, mut norms) = (Vec::new(), Vec::new(), Vec::new());
    for epoch in 0..o.max_epochs {
        let loss = loss_and_grad(&model, data, &mut grad).unwrap();
        let mut g = grad.as_slice().to_vec();
        let norm = g.iter().map(|a| a * a).sum::<f64>().sqrt();
        norms.push(norm);
        if o.max_grad_norm > 0.0 && norm > o.max_grad_norm {
            for a in &mut g {
                *a *= o.max_grad_norm / norm;
            }
        }
        let t = (epoch + 1) as i32;
        for k in 0..n {
            m[k] = b1 * m[k] + (1.0 - b1) * g[k];
            v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
            let m_hat = m[k] / (1.0 - b1.powi(t));
            let v_hat = v[k] / (1.0 - b2.powi(t));
            x[k] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        set_values(&mut model, &x);
        losses.push(loss);
        lrs.push(lr);
        if loss < o.min_loss {
            break;
        }
        // Plateau on the epoch loss, no cooldown.
        if o.lr_factor < 1.0 {
            if loss < best {
                best = loss;
                bad = 0;
            } else {
                bad += 1;
            }
            if bad > o.lr_patience {
                lr *= o.lr_factor;
                bad = 0;
            }
        }
    }
    Reference {
        model,
        losses,
        lrs,
        norms,
    }
}

struct Trained {
    model: Model<f64>,
    losses: Vec<f64>,
    lrs: Vec<f64>,
}

fn run(init: &Model<f64>, data: &Sequences<'_>, o: &TrainOptions) -> Trained {
    let mut model = init.clone();
    let mut lrs = Vec::new();
    let mut cb = |r: &EpochReport, _: &Model<f64>| {
        lrs.push(r.learning_rate);
        true
    };
    let rep = train(&mut model, data, None, o, Some(&mut cb)).unwrap();
    Trained {
        model,
        losses: rep.losses,
        lrs,
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

fn compare(t: &Trained, r: &Reference, label: &str) {
    assert_eq!(t.losses.len(), r.losses.len(), "{label}: epochs");
    for (e, (a, b)) in t.losses.iter().zip(&r.losses).enumerate() {
        assert!(
            (a - b).abs() <= 1e-10 * b,
            "{label}: epoch {e} loss {a} vs reference {b}"
        );
    }
    assert_eq!(t.lrs, r.lrs, "{label}: learning rates");
    let d = max_diff(&values(&t.model), &values(&r.model));
    assert!(d < 1e-10, "{label}: trained values differ by {d:e}");
}

fn setup() -> (Model<f64>, fpf_std::task::FlipFlopData) {
    let task = FlipFlop::new(2, 16, 0.5);
    let tr = task.generate(32, 9).unwrap();
    let model = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 2, 4), 2, 1).unwrap();
    (model, tr)
}

fn opts() -> TrainOptions {
    TrainOptions {
        batch_size: 32, // one batch per epoch: the whole set
        max_epochs: 30,
        min_loss: 0.0,
        seed: 3,
        ..TrainOptions::default()
    }
}

#[test]
fn a_fixed_rate_follows_the_reference() {
    let (init, tr) = setup();
    let o = TrainOptions {
        learning_rate: 0.05,
        ..opts()
    };
    let r = reference(&init, &tr.sequences(), &o);
    compare(&run(&init, &tr.sequences(), &o), &r, "fixed rate");
    assert!(r.lrs.iter().all(|&l| l == 0.05));
    // lr_factor 1 is a fixed rate whatever the patience.
    let o1 = TrainOptions {
        lr_patience: 0,
        lr_factor: 1.0,
        ..o
    };
    compare(&run(&init, &tr.sequences(), &o1), &r, "factor 1");
}

#[test]
fn the_plateau_schedule_lowers_the_rate_as_the_reference_does() {
    let (init, tr) = setup();
    // A rate too large: the loss goes up and down, each stall halves the rate.
    for patience in [0, 1, 3] {
        let o = TrainOptions {
            learning_rate: 0.2,
            lr_factor: 0.5,
            lr_patience: patience,
            max_epochs: 25,
            ..opts()
        };
        let r = reference(&init, &tr.sequences(), &o);
        let drops = r.lrs.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(drops >= 1, "patience {patience}: no drop {:?}", r.losses);
        compare(
            &run(&init, &tr.sequences(), &o),
            &r,
            &format!("patience {patience}"),
        );
    }
}

#[test]
fn clipping_bounds_the_whole_gradient_as_the_reference_does() {
    let (init, tr) = setup();
    let base = TrainOptions {
        learning_rate: 0.05,
        ..opts()
    };
    let free = reference(&init, &tr.sequences(), &base);
    // A bound between the smallest and the largest gradient norm: some epochs are clipped,
    // some are not.
    let mut sorted = free.norms.clone();
    sorted.sort_by(f64::total_cmp);
    let bound = sorted[sorted.len() / 2];
    let o = TrainOptions {
        max_grad_norm: bound,
        ..base
    };
    let r = reference(&init, &tr.sequences(), &o);
    assert!(r.norms.iter().any(|&n| n > bound) && r.norms.iter().any(|&n| n < bound));
    let t = run(&init, &tr.sequences(), &o);
    compare(&t, &r, "max_grad_norm");
    // The clip acts: the trained values are not those of the unclipped run.
    let d = max_diff(&values(&t.model), &values(&free.model));
    assert!(d > 1e-6, "clipping changed nothing ({d:e})");
    // A bound far below every norm: Adam sees gradients of norm 1e-9, where eps matters.
    let o = TrainOptions {
        max_grad_norm: 1e-9,
        ..base
    };
    compare(
        &run(&init, &tr.sequences(), &o),
        &reference(&init, &tr.sequences(), &o),
        "tiny bound",
    );
    // Clipping together with the schedule.
    let o = TrainOptions {
        max_grad_norm: bound,
        learning_rate: 0.5,
        lr_factor: 0.5,
        lr_patience: 1,
        ..opts()
    };
    compare(
        &run(&init, &tr.sequences(), &o),
        &reference(&init, &tr.sequences(), &o),
        "clip and schedule",
    );
}
