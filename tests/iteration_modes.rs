//! The finder's faster iteration modes and its threads against the reference's iteration (Adam on every
//! state until all meet the stop rule at once, then Newton): the true fixed points (unique,
//! Newton-converged, below the final threshold) must be the same set.
//! - `freeze_converged` (the default), on every test network: the original
//!   FixedPointFinder's test networks, both trained flip-flop fixtures in both precisions,
//!   random Hopfield-like tanh networks with up to 80 fixed points, and GRU, PyTorch-GRU and
//!   LSTM networks;
//! - `newton_handoff_iters`, on the trained flip-flop fixtures (its documented scope: on
//!   networks with dozens of interleaved basins it returns another subset).

mod common;

use common::{Rng, data, read_array};
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_core::find::newton::NewtonOutcome;
use fpf_std::analysis::{FindResult, FixedPointFinder, FixedPoints};

/// Every point of `a` has a point of `b` within `tol` (max norm), and the other way round.
fn same_set(a: &FixedPoints, b: &FixedPoints, tol: f64) -> bool {
    let near = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(p, q)| (p - q).abs() <= tol);
    (0..a.n).all(|i| (0..b.n).any(|j| near(a.x(i), b.x(j))))
        && (0..b.n).all(|j| (0..a.n).any(|i| near(a.x(i), b.x(j))))
}

fn find(cell: Cell<'_, f64>, opts: FinderOptions, inits: &[f64], u: &[f64]) -> FindResult {
    FixedPointFinder::new(cell, opts)
        .unwrap()
        .find_fixed_points(inits, u, None, None)
        .unwrap()
}

/// The reference's iteration.
fn reference(opts: FinderOptions) -> FinderOptions {
    FinderOptions {
        freeze_converged: false,
        newton_handoff_iters: 0,
        ..opts
    }
}

/// Runs `fast` and the reference's iteration and checks they agree; returns the number of
/// true fixed points.
fn agree(cell: Cell<'_, f64>, fast: FinderOptions, inits: &[f64], u: &[f64], what: &str) -> usize {
    let (want_all, got_all) = (
        find(cell, reference(fast), inits, u),
        find(cell, fast, inits, u),
    );
    let (want, got) = (&want_all.unique, &got_all.unique);
    for fps in [want, got] {
        assert!(fps.n > 0, "{what}");
        assert!(
            fps.newton
                .iter()
                .all(|o| *o == Some(NewtonOutcome::Converged)),
            "{what}"
        );
    }
    assert_eq!(got.n, want.n, "{what}");
    assert!(same_set(got, want, 1e-8), "{what}");
    assert_eq!(got.n_stable(), want.n_stable(), "{what}");
    // And with fewer Adam steps, summed over the states.
    let steps = |r: &FindResult| r.all.n_iters.iter().sum::<usize>();
    assert!(steps(&got_all) <= steps(&want_all), "{what}");
    got.n
}

fn fixture(name: &str) -> (Vec<f64>, Vec<f64>, usize, usize) {
    let rd = |f: &str| read_array(&data(&format!("{name}/{f}")));
    let (shape, w_ih) = rd("w_ih.txt");
    let p = [w_ih, rd("w_hh.txt").1, rd("b_h.txt").1].concat();
    (p, rd("inits.txt").1, shape[0], shape[1])
}

/// The tutorial's settings.
fn tutorial() -> FinderOptions {
    FinderOptions {
        max_iters: 5000,
        lr_init: 0.02,
        tol_q: 1e-4,
        final_q_threshold: 1e-6,
        tol_unique: 1e-2,
        outlier_distance_scale: 10.0,
        ..FinderOptions::default()
    }
}

#[test]
fn trained_flip_flops_give_the_same_fixed_points_in_every_mode() {
    for (name, expect) in [("flipflop3_h4_s42", 25), ("flipflop3_h64_s42", 27)] {
        let (p, inits, ni, h) = fixture(name);
        let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, ni, h), &p).unwrap();
        let u = vec![0.0; ni];
        for single_precision in [true, false] {
            for (freeze, handoff) in [(true, 0), (false, 50), (true, 50)] {
                let opts = FinderOptions {
                    single_precision,
                    freeze_converged: freeze,
                    newton_handoff_iters: handoff,
                    ..tutorial()
                };
                let what = format!("{name} f32={single_precision} {freeze} {handoff}");
                assert_eq!(agree(cell, opts, &inits, &u, &what), expect, "{what}");
            }
        }
    }
}

#[test]
fn reference_test_networks_give_the_same_fixed_points() {
    for n in [2usize, 3, 4] {
        let (_, w) = read_array(&data(&format!("golub_tanh_n{n}/w_hh.txt")));
        let p = [w, vec![0.0; n]].concat();
        let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 0, n), &p).unwrap();
        let inits = Rng(n as u64).vec(200 * n, 1.0);
        let opts = FinderOptions {
            tol_unique: 1e-3,
            final_q_threshold: 1e-12,
            ..FinderOptions::default()
        };
        agree(cell, opts, &inits, &[], &format!("golub {n}"));
    }
}

/// A tanh network with a symmetric recurrent matrix of gain 3: dozens of stable points and
/// saddles, as in a Hopfield network.
fn hopfield(h: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng(seed);
    let mut p = rng.vec(h + h * h + h, 0.1);
    let a = rng.vec(h * h, 3.0 / (h as f64).sqrt());
    for i in 0..h {
        for j in 0..h {
            p[h + i * h + j] = 0.5 * (a[i * h + j] + a[j * h + i]);
        }
    }
    (p, rng.vec(256 * h, 1.0))
}

#[test]
fn freezing_gives_the_same_fixed_points_on_many_fixed_point_networks() {
    let opts = FinderOptions {
        lr_init: 0.02,
        tol_q: 1e-8,
        tol_unique: 1e-3,
        final_q_threshold: 1e-12,
        ..FinderOptions::default()
    };
    let mut total = 0;
    for h in [12usize, 16] {
        for seed in 0..4u64 {
            let (p, inits) = hopfield(h, 1000 + seed * 31 + h as u64);
            let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 1, h), &p).unwrap();
            total += agree(cell, opts, &inits, &[0.1], &format!("hopfield {h} {seed}"));
        }
    }
    // 9 + 13 + 25 + 13 and 58 + 37 + 26 + 29 fixed points.
    assert!(total > 150, "{total}");
}

#[test]
fn freezing_gives_the_same_fixed_points_on_gated_cells() {
    for (k, kind) in [CellKind::Gru, CellKind::GruTorch, CellKind::Lstm]
        .into_iter()
        .enumerate()
    {
        // Gain 2.5: several isolated fixed points (at higher gains saturated gates make
        // continua of them, where no two searches pick the same points).
        let shape = CellShape::new(kind, 2, 6);
        let mut rng = Rng(40 + k as u64);
        let p = rng.vec(shape.n_params(), 2.5 / 6f64.sqrt());
        let cell = Cell::from_flat(shape, &p).unwrap();
        let inits = rng.vec(256 * shape.state_dim(), 1.0);
        let opts = FinderOptions {
            lr_init: 0.05,
            tol_q: 1e-10,
            tol_unique: 1e-3,
            final_q_threshold: 1e-12,
            ..FinderOptions::default()
        };
        agree(cell, opts, &inits, &[0.3, -0.2], kind.name());
    }
}

#[test]
fn results_are_bit_identical_for_every_thread_count() {
    let (p, inits, ni, h) = fixture("flipflop3_h64_s42");
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, ni, h), &p).unwrap();
    for (single_precision, handoff) in [(true, 0), (false, 50)] {
        let run = |n_threads| {
            let opts = FinderOptions {
                n_threads,
                single_precision,
                newton_handoff_iters: handoff,
                ..tutorial()
            };
            find(cell, opts, &inits[..256 * h], &vec![0.0; ni])
        };
        let one = run(1);
        assert!(one.unique.n > 0);
        for n in [2, 3, 0] {
            assert!(run(n) == one, "{n} threads");
        }
    }
}
