//! Training: analytic BPTT gradients against finite differences, the flip-flop generator, and
//! end-to-end training runs.

mod common;

use common::Rng;
use fpf_core::cell::{CellKind, CellShape};
use fpf_std::model::Model;
use fpf_std::task::{FlipFlop, TaskError};
use fpf_std::train::{
    EpochReport, Gradients, Sequences, TrainError, TrainOptions, loss, loss_and_grad, train,
    train_logged,
};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// Gradient check

/// A tiny model with every value (biases, readout bias and h0 included) random and nonzero.
fn random_model(kind: CellKind, seed: u64) -> Model<f64> {
    let mut m = Model::<f64>::init_random(CellShape::new(kind, 2, 3), 2, seed).unwrap();
    let mut rng = Rng(seed ^ 0xABCD);
    for v in m.params_mut() {
        *v = 0.6 * rng.normal();
    }
    for v in m.w_out_mut() {
        *v = 0.8 * rng.normal();
    }
    for v in m.b_out_mut() {
        *v = 0.3 * rng.normal();
    }
    for v in m.h0_mut() {
        *v = 0.5 * rng.normal();
    }
    m
}

/// Every trained value of the model, by (vector index, element index), as a mutable ref.
fn value(m: &mut Model<f64>, which: usize, i: usize) -> &mut f64 {
    match which {
        0 => &mut m.params_mut()[i],
        1 => &mut m.w_out_mut()[i],
        2 => &mut m.b_out_mut()[i],
        _ => &mut m.h0_mut()[i],
    }
}

#[test]
fn analytic_gradient_matches_finite_differences_for_every_cell_and_parameter() {
    let (n_trials, n_time) = (5, 6);
    for (ki, kind) in CellKind::ALL.into_iter().enumerate() {
        let model = random_model(kind, 11 + ki as u64);
        let mut rng = Rng(99 + ki as u64);
        let inputs = rng.vec(n_trials * n_time * 2, 1.0);
        let targets = rng.vec(n_trials * n_time * 2, 1.0);
        let data = Sequences {
            inputs: &inputs,
            targets: &targets,
            n_trials,
            n_time,
            n_inputs: 2,
            n_outputs: 2,
        };
        let mut grad = Gradients::zeros(&model);
        let l0 = loss_and_grad(&model, &data, &mut grad).unwrap();
        assert!((l0 - loss(&model, &data).unwrap()).abs() < 1e-15);
        let analytic = [grad.params(), grad.w_out(), grad.b_out(), grad.h0()];
        let lens = [
            model.params().len(),
            model.w_out().len(),
            model.b_out().len(),
            model.h0().len(),
        ];
        let mut worst = 0.0f64;
        let mut checked = 0;
        for (which, (an, &len)) in analytic.iter().zip(&lens).enumerate() {
            assert_eq!(an.len(), len);
            for (i, &a) in an.iter().enumerate() {
                let eps = 1e-5;
                let mut mp = model.clone();
                *value(&mut mp, which, i) += eps;
                let mut mm = model.clone();
                *value(&mut mm, which, i) -= eps;
                let num = (loss(&mp, &data).unwrap() - loss(&mm, &data).unwrap()) / (2.0 * eps);
                let rel = (a - num).abs() / a.abs().max(num.abs()).max(1e-4);
                worst = worst.max(rel);
                assert!(
                    rel < 1e-6,
                    "{kind:?} vector {which} [{i}]: analytic {a:e}, numeric {num:e}, rel {rel:e}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, model.n_total_params());
        eprintln!("{kind:?}: {checked} values, worst rel err {worst:.1e}, loss {l0:.4}");
    }
}

#[test]
fn f32_gradient_agrees_with_f64() {
    let model = random_model(CellKind::Gru, 5);
    let mut rng = Rng(3);
    let inputs = rng.vec(4 * 5 * 2, 1.0);
    let targets = rng.vec(4 * 5 * 2, 1.0);
    let data = Sequences {
        inputs: &inputs,
        targets: &targets,
        n_trials: 4,
        n_time: 5,
        n_inputs: 2,
        n_outputs: 2,
    };
    let mut g64 = Gradients::zeros(&model);
    let l64 = loss_and_grad(&model, &data, &mut g64).unwrap();
    let m32 = model.to_f32();
    let mut g32 = Gradients::zeros(&m32);
    let l32 = loss_and_grad(&m32, &data, &mut g32).unwrap();
    assert!((l64 - l32).abs() < 1e-5 * l64.max(1.0));
    for (a, b) in g64.as_slice().iter().zip(g32.as_slice()) {
        assert!(
            (a - *b as f64).abs() < 1e-4 * a.abs().max(1e-2),
            "{a} vs {b}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The generator

#[test]
fn flipflop_is_deterministic_per_seed() {
    let task = FlipFlop::new(3, 20, 0.5);
    let a = task.generate(10, 42).unwrap();
    let b = task.generate(10, 42).unwrap();
    let c = task.generate(10, 43).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.inputs, c.inputs);
    assert_eq!(a.inputs.len(), 10 * 20 * 3);
    assert_eq!(a.targets.len(), 10 * 20 * 3);
    assert_eq!((a.n_trials, a.n_time, a.n_bits), (10, 20, 3));
}

#[test]
fn flipflop_pulses_at_start_and_targets_hold_the_last_pulse() {
    let (nb, nt, n) = (3, 40, 50);
    let d = FlipFlop::new(nb, nt, 0.3).generate(n, 7).unwrap();
    for tr in 0..n {
        for b in 0..nb {
            let mut last = f64::NAN;
            for t in 0..nt {
                let i = (tr * nt + t) * nb + b;
                let x = d.inputs[i];
                assert!(x == 0.0 || x == 1.0 || x == -1.0, "{x}");
                if t == 0 {
                    assert!(x != 0.0, "trial {tr} bit {b} has no pulse at t = 0");
                }
                if x != 0.0 {
                    last = x;
                }
                assert_eq!(d.targets[i], last, "trial {tr} t {t} bit {b}");
            }
        }
    }
}

#[test]
fn flipflop_pulse_and_sign_frequencies() {
    for &p in &[0.0, 0.2, 0.5, 1.0] {
        let (nb, nt, n) = (2, 50, 2000);
        let d = FlipFlop::new(nb, nt, p).generate(n, 1).unwrap();
        let (mut pulses, mut pos, mut total) = (0usize, 0usize, 0usize);
        for tr in 0..n {
            for t in 1..nt {
                for b in 0..nb {
                    let x = d.inputs[(tr * nt + t) * nb + b];
                    total += 1;
                    if x != 0.0 {
                        pulses += 1;
                    }
                    if x > 0.0 {
                        pos += 1;
                    }
                }
            }
        }
        let freq = pulses as f64 / total as f64;
        assert!((freq - p).abs() < 0.01, "p = {p}: frequency {freq}");
        if pulses > 0 {
            let f = pos as f64 / pulses as f64;
            assert!((f - 0.5).abs() < 0.01, "p = {p}: positive fraction {f}");
        }
    }
}

#[test]
fn flipflop_rejects_bad_arguments() {
    let bad = |r: Result<_, TaskError>| {
        let e = r.unwrap_err();
        assert!(!e.to_string().is_empty());
        e
    };
    bad(FlipFlop::new(0, 10, 0.5).generate(1, 0));
    bad(FlipFlop::new(2, 0, 0.5).generate(1, 0));
    bad(FlipFlop::new(2, 10, 1.5).generate(1, 0));
    bad(FlipFlop::new(2, 10, -0.1).generate(1, 0));
    bad(FlipFlop::new(2, 10, f64::NAN).generate(1, 0));
    bad(FlipFlop::new(2, 10, 0.5).generate(0, 0));
    let e = bad(FlipFlop::new(2, 10, 0.5).generate(usize::MAX / 4, 0));
    assert!(matches!(e, TaskError::TooLarge { .. }), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Training

fn quick_opts() -> TrainOptions {
    TrainOptions {
        learning_rate: 0.02,
        batch_size: 32,
        max_epochs: 200,
        min_loss: 0.0,
        seed: 1,
        ..TrainOptions::default()
    }
}

#[test]
fn training_reaches_a_low_loss_quickly() {
    let task = FlipFlop::new(2, 32, 0.5);
    let tr = task.generate(256, 1).unwrap();
    let va = task.generate(64, 2).unwrap();
    let mut model = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 2, 8), 2, 3).unwrap();
    let before = loss(&model, &tr.sequences()).unwrap();
    let opts = TrainOptions {
        min_loss: 0.01,
        ..quick_opts()
    };
    let t0 = Instant::now();
    let rep = train(
        &mut model,
        &tr.sequences(),
        Some(&va.sequences()),
        &opts,
        None,
    )
    .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "2-bit tanh H=8: {} epochs, loss {:.5} → {:.5} (valid {:.5}), {secs:.2} s",
        rep.epochs,
        before,
        rep.final_train_loss,
        rep.final_valid_loss.unwrap()
    );
    assert!(rep.reached_target, "{rep:?}");
    assert!(rep.final_train_loss < 0.05);
    assert!(rep.final_valid_loss.unwrap() < 0.05);
    assert_eq!(rep.losses.len(), rep.epochs);
    assert!(!rep.cancelled);
}

#[test]
fn training_works_in_f32_for_gru() {
    let task = FlipFlop::new(2, 32, 0.5);
    let tr = task.generate(256, 5).unwrap();
    let mut model = Model::<f32>::init_scaled(CellShape::new(CellKind::Gru, 2, 8), 2, 4).unwrap();
    let opts = TrainOptions {
        min_loss: 0.05,
        ..quick_opts()
    };
    let rep = train(&mut model, &tr.sequences(), None, &opts, None).unwrap();
    eprintln!(
        "2-bit GRU f32 H=8: {} epochs, loss {:.5}",
        rep.epochs, rep.final_train_loss
    );
    assert!(rep.reached_target, "{rep:?}");
    assert!(rep.final_valid_loss.is_none());
}

#[test]
fn training_stops_at_min_loss() {
    let task = FlipFlop::new(2, 16, 0.5);
    let tr = task.generate(128, 9).unwrap();
    let mut model = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 2, 6), 2, 1).unwrap();
    let opts = TrainOptions {
        min_loss: 0.3,
        ..quick_opts()
    };
    let rep = train(&mut model, &tr.sequences(), None, &opts, None).unwrap();
    assert!(rep.reached_target);
    assert!(rep.epochs < opts.max_epochs);
    let (last, earlier) = rep.losses.split_last().unwrap();
    assert!(*last < 0.3);
    assert!(earlier.iter().all(|&l| l >= 0.3), "{:?}", rep.losses);
    assert_eq!(rep.final_train_loss, *last);
}

#[test]
fn progress_callback_sees_every_epoch_and_can_cancel() {
    let task = FlipFlop::new(2, 16, 0.5);
    let tr = task.generate(64, 9).unwrap();
    let va = task.generate(16, 10).unwrap();
    let mut model = Model::<f64>::init_scaled(CellShape::new(CellKind::Lstm, 2, 4), 2, 1).unwrap();
    let mut seen: Vec<EpochReport> = Vec::new();
    let mut cb = |r: &EpochReport, _: &Model<_>| {
        seen.push(*r);
        r.epoch < 4
    };
    let opts = TrainOptions {
        print_every: 2,
        ..quick_opts()
    };
    let rep = train(
        &mut model,
        &tr.sequences(),
        Some(&va.sequences()),
        &opts,
        Some(&mut cb),
    )
    .unwrap();
    assert!(rep.cancelled && !rep.reached_target);
    assert_eq!(rep.epochs, 5);
    assert_eq!(seen.len(), 5);
    for (i, r) in seen.iter().enumerate() {
        assert_eq!(r.epoch, i);
        assert_eq!(r.train_loss, rep.losses[i]);
        assert_eq!(r.valid_loss.is_some(), i % 2 == 0);
        assert_eq!(r.learning_rate, opts.learning_rate);
    }
}

#[test]
fn training_is_reproducible_from_the_seed() {
    let task = FlipFlop::new(2, 16, 0.5);
    let tr = task.generate(64, 9).unwrap();
    let init = Model::<f64>::init_scaled(CellShape::new(CellKind::GruTorch, 2, 4), 2, 1).unwrap();
    let opts = TrainOptions {
        max_epochs: 5,
        ..quick_opts()
    };
    let run = || {
        let mut m = init.clone();
        let r = train(&mut m, &tr.sequences(), None, &opts, None).unwrap();
        (m, r)
    };
    let (m1, r1) = run();
    let (m2, r2) = run();
    assert_eq!(m1, m2);
    assert_eq!(r1, r2);
    assert_ne!(m1, init);
}

#[test]
fn plateau_and_clipping_options_run() {
    let task = FlipFlop::new(2, 16, 0.5);
    let tr = task.generate(64, 9).unwrap();
    let mut model = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 2, 4), 2, 1).unwrap();
    let mut lrs = Vec::new();
    let mut cb = |r: &EpochReport, _: &Model<_>| {
        lrs.push(r.learning_rate);
        true
    };
    let opts = TrainOptions {
        max_epochs: 30,
        max_grad_norm: 0.1,
        lr_factor: 0.5,
        lr_patience: 0,
        learning_rate: 1.0, // too large: the loss stalls, the rate must drop
        ..quick_opts()
    };
    let rep = train(&mut model, &tr.sequences(), None, &opts, Some(&mut cb)).unwrap();
    assert_eq!(rep.epochs, 30);
    assert!(lrs.last().unwrap() < &1.0, "{lrs:?}");
}

#[test]
fn training_rejects_bad_input() {
    let task = FlipFlop::new(2, 8, 0.5);
    let tr = task.generate(16, 9).unwrap();
    let model = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 2, 4), 2, 1).unwrap();
    let opts = TrainOptions {
        batch_size: 8,
        ..quick_opts()
    };
    let err = |m: &Model<f64>, d: &Sequences, o: &TrainOptions| {
        let e = train(&mut m.clone(), d, None, o, None).unwrap_err();
        assert!(!e.to_string().is_empty());
        e
    };
    let good = tr.sequences();
    // Widths that do not fit the model.
    let m3 = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 3, 4), 2, 1).unwrap();
    assert!(matches!(
        err(&m3, &good, &opts),
        TrainError::Mismatch {
            field: "n_inputs",
            ..
        }
    ));
    let m_o = Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 2, 4), 3, 1).unwrap();
    assert!(matches!(
        err(&m_o, &good, &opts),
        TrainError::Mismatch {
            field: "n_outputs",
            ..
        }
    ));
    // Lengths.
    let short = Sequences {
        inputs: &tr.inputs[1..],
        ..good
    };
    assert!(matches!(
        err(&model, &short, &opts),
        TrainError::Length { .. }
    ));
    // Non-finite data.
    let mut bad_in = tr.inputs.clone();
    bad_in[5] = f64::NAN;
    let nan = Sequences {
        inputs: &bad_in,
        ..good
    };
    assert!(matches!(
        err(&model, &nan, &opts),
        TrainError::NotFinite {
            array: "inputs",
            index: 5,
            ..
        }
    ));
    // Batch larger than the data.
    let big = TrainOptions {
        batch_size: 17,
        ..opts
    };
    assert!(matches!(
        err(&model, &good, &big),
        TrainError::BatchTooLarge { .. }
    ));
    // Options.
    for o in [
        TrainOptions {
            learning_rate: 0.0,
            ..opts
        },
        TrainOptions {
            batch_size: 0,
            ..opts
        },
        TrainOptions {
            lr_factor: 0.0,
            ..opts
        },
        TrainOptions {
            max_grad_norm: -1.0,
            ..opts
        },
        TrainOptions {
            min_loss: f64::NAN,
            ..opts
        },
    ] {
        assert!(matches!(
            err(&model, &good, &o),
            TrainError::BadOption { .. }
        ));
    }
    // A NaN parameter: divergence, reported at the first batch, model left as it was.
    let mut m_nan = model.clone();
    m_nan.w_out_mut()[0] = f64::NAN;
    let mut m = m_nan.clone();
    let e = train(&mut m, &good, None, &opts, None).unwrap_err();
    assert!(
        matches!(
            e,
            TrainError::Diverged {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        "{e}"
    );
    assert!(m.params() == m_nan.params());
}

/// The tutorial's training configuration at 16 hidden units (scaled init): 3 bits, 512
/// trials × 64 steps, lr 0.08, batch 128, until the loss is below 1e-4.
#[test]
#[ignore = "slow: trains the tutorial's 3-bit flip-flop to 1e-4"]
fn tutorial_three_bit_flipflop_reaches_1e_4() {
    let task = FlipFlop::new(3, 64, 0.5);
    let tr = task.generate(512, 42).unwrap();
    let va = task.generate(128, 43).unwrap();
    let mut model =
        // The tutorial's N(0, 0.5²) init starts chaotic at 16 units; with lr 0.08 its loss
        // spikes and a CI run missed 1e-4 within 1000 epochs (2.0e-3 at the end). The scaled
        // init is the documented better-conditioned option.
        Model::<f64>::init_scaled(CellShape::new(CellKind::Tanh, 3, 16), 3, 42).unwrap();
    let opts = TrainOptions {
        verbose: true,
        seed: 42,
        ..TrainOptions::default()
    };
    let t0 = Instant::now();
    let rep = train(
        &mut model,
        &tr.sequences(),
        Some(&va.sequences()),
        &opts,
        None,
    )
    .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "3-bit tanh H=16, scaled init (f64): {} epochs, {secs:.2} s, final {:.2e}",
        rep.epochs, rep.final_train_loss
    );
    assert!(
        rep.reached_target,
        "{:?}",
        &rep.losses[rep.losses.len().saturating_sub(5)..]
    );
}

/// The same run in f32, and the tutorial's own 4 hidden units (it reports 194 epochs).
#[test]
#[ignore = "slow: f32 and H = 4 variants of the tutorial run"]
fn tutorial_variants() {
    let task = FlipFlop::new(3, 64, 0.5);
    let tr = task.generate(512, 42).unwrap();
    let opts = TrainOptions {
        seed: 42,
        ..TrainOptions::default()
    };
    let mut m32 = Model::<f32>::init_random(CellShape::new(CellKind::Tanh, 3, 16), 3, 42).unwrap();
    let t0 = Instant::now();
    let r = train(&mut m32, &tr.sequences(), None, &opts, None).unwrap();
    eprintln!(
        "f32 H=16: {} epochs, {:.2} s, reached {}",
        r.epochs,
        t0.elapsed().as_secs_f64(),
        r.reached_target
    );
    let mut m4 = Model::<f64>::init_random(CellShape::new(CellKind::Tanh, 3, 4), 3, 42).unwrap();
    let t0 = Instant::now();
    let r = train(&mut m4, &tr.sequences(), None, &opts, None).unwrap();
    eprintln!(
        "f64 H=4: {} epochs, {:.2} s, reached {}, final {:.2e}",
        r.epochs,
        t0.elapsed().as_secs_f64(),
        r.reached_target,
        r.final_train_loss
    );
}

#[test]
fn verbose_lines_go_to_the_log_and_nowhere_else() {
    let task = FlipFlop::new(2, 16, 0.5);
    let tr = task.generate(16, 3).unwrap();
    let va = task.generate(8, 4).unwrap();
    let shape = CellShape::new(CellKind::Tanh, 2, 4);
    let opts = TrainOptions {
        batch_size: 8,
        max_epochs: 12,
        min_loss: 0.0,
        print_every: 10,
        verbose: true,
        ..TrainOptions::default()
    };
    let mut lines = Vec::new();
    let mut m = Model::<f64>::init_scaled(shape, 2, 1).unwrap();
    {
        let log = fpf_std::log::Log::to(|l: &str| lines.push(l.to_string()));
        let rep = train_logged(
            &mut m,
            &tr.sequences(),
            Some(&va.sequences()),
            &opts,
            None,
            &log,
        )
        .unwrap();
        assert_eq!(rep.epochs, 12);
    }
    let text = lines.join("\n");
    for want in [
        "Training FlipFlop RNN",
        " Batch size: 8",
        "Epoch    0: ",
        "Epoch   10: ",
        "Total epochs: 12",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(
        !text.contains("Epoch    1: "),
        "prints only every 10th epoch:\n{text}"
    );
    // `train` is `train_logged` with no sink: the same model trained the same way.
    let mut m2 = Model::<f64>::init_scaled(shape, 2, 1).unwrap();
    train(&mut m2, &tr.sequences(), Some(&va.sequences()), &opts, None).unwrap();
    assert_eq!(m, m2);
}
