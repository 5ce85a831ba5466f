//! The finder against ground truth: the original FixedPointFinder's test networks, the
//! trained 3-bit flip-flop network with the fixed points the reference found, a period-2
//! network, and the effect of every option.

#![allow(clippy::needless_range_loop)]

mod common;

use common::{data, read_array};
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::{FinderOptions, Method};
use fpf_std::analysis::{FixedPointFinder, FixedPoints, Trajectory};

/// A tanh cell's flat parameters `[w_x | w_h | b]`.
fn tanh_params(w_ih: &[f64], w_hh: &[f64], b: &[f64]) -> Vec<f64> {
    [w_ih, w_hh, b].concat()
}

fn golub(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let dir = format!("golub_tanh_n{n}");
    let (_, w) = read_array(&data(&format!("{dir}/w_hh.txt")));
    let (_, x) = read_array(&data(&format!("{dir}/refined_xstar.txt")));
    let (_, r) = read_array(&data(&format!("{dir}/refined_max_abs_eig.txt")));
    (w, x, r)
}

/// Matches every expected point to a distinct found point within `tol` (max norm);
/// returns, for each expected point, the index of its match.
fn match_points(found: &FixedPoints, want: &[f64], s: usize, tol: f64) -> Vec<usize> {
    let m = want.len() / s;
    let mut used = vec![false; found.n];
    let mut out = Vec::new();
    for k in 0..m {
        let w = &want[k * s..(k + 1) * s];
        let hit = (0..found.n)
            .find(|&i| !used[i] && found.x(i).iter().zip(w).all(|(a, b)| (a - b).abs() <= tol));
        let i = hit.unwrap_or_else(|| panic!("expected point {k} {w:?} not found"));
        used[i] = true;
        out.push(i);
    }
    out
}

fn golub_opts() -> FinderOptions {
    FinderOptions {
        tol_unique: 1e-3,
        final_q_threshold: 1e-12,
        ..FinderOptions::default()
    }
}

/// A grid of initial states covering [-1, 1]^n.
fn grid(n: usize, k: usize) -> Vec<f64> {
    let total = k.pow(n as u32);
    let mut out = Vec::with_capacity(total * n);
    for idx in 0..total {
        let mut r = idx;
        for _ in 0..n {
            out.push(-1.0 + 2.0 * (r % k) as f64 / (k - 1) as f64);
            r /= k;
        }
    }
    out
}

#[test]
fn golub_networks_give_exactly_their_fixed_points() {
    for (n, expect) in [(2, 3), (3, 3), (4, 9)] {
        let (w, want, radii) = golub(n);
        let shape = CellShape::new(CellKind::Tanh, 0, n);
        let p = tanh_params(&[], &w, &vec![0.0; n]);
        let cell = Cell::from_flat(shape, &p).unwrap();
        let finder = FixedPointFinder::new(cell, golub_opts()).unwrap();
        let inits = grid(n, 7);
        let res = finder.find_fixed_points(&inits, &[], None, None).unwrap();
        let fps = &res.unique;
        assert_eq!(fps.n, expect, "n={n}: found {:?}", fps.xstar);
        let idx = match_points(fps, &want, n, 1e-8);
        for (k, &i) in idx.iter().enumerate() {
            let r = fps.max_abs_eig(i).unwrap();
            assert!(
                (r - radii[k]).abs() < 1e-8,
                "n={n} point {k}: radius {r} vs {}",
                radii[k]
            );
        }
    }
}

struct FlipFlop {
    params: Vec<f64>,
    inits: Vec<f64>,
    refined: Vec<f64>,
    radii: Vec<f64>,
    traj: Vec<f64>,
}

fn flipflop() -> FlipFlop {
    let rd = |f: &str| read_array(&data(&format!("flipflop3_h4_s42/{f}"))).1;
    FlipFlop {
        params: tanh_params(&rd("w_ih.txt"), &rd("w_hh.txt"), &rd("b_h.txt")),
        inits: rd("inits.txt"),
        refined: rd("refined_xstar.txt"),
        radii: rd("refined_max_abs_eig.txt"),
        traj: rd("hiddens_first8.txt"),
    }
}

/// The tutorial's finder settings.
fn tutorial_opts() -> FinderOptions {
    FinderOptions {
        method: Method::Joint,
        max_iters: 5000,
        lr_init: 0.02,
        tol_q: 1e-4,
        final_q_threshold: 1e-6,
        tol_unique: 1e-2,
        outlier_distance_scale: 10.0,
        ..FinderOptions::default()
    }
}

fn check_flipflop(opts: FinderOptions) -> FixedPoints {
    let ff = flipflop();
    let shape = CellShape::new(CellKind::Tanh, 3, 4);
    let cell = Cell::from_flat(shape, &ff.params).unwrap();
    let finder = FixedPointFinder::new(cell, opts).unwrap();
    let res = finder
        .find_fixed_points(&ff.inits, &[0.0; 3], None, None)
        .unwrap();
    let fps = res.unique;
    assert_eq!(fps.n, 25, "found {} points", fps.n);
    assert_eq!(fps.n_stable(), 8);
    let idx = match_points(&fps, &ff.refined, 4, 1e-6);
    for (k, &i) in idx.iter().enumerate() {
        let r = fps.max_abs_eig(i).unwrap();
        assert!(
            (r - ff.radii[k]).abs() < 1e-6,
            "point {k}: {r} vs {}",
            ff.radii[k]
        );
        assert!(fps.qstar[i] < 1e-20, "point {k} q = {}", fps.qstar[i]);
    }
    // No duplicates: every pair is farther apart than tol_unique.
    for i in 0..fps.n {
        for j in 0..i {
            let d: f64 = fps
                .x(i)
                .iter()
                .zip(fps.x(j))
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            assert!(d > 1e-2, "points {i} and {j} are {d} apart");
        }
    }
    fps
}

#[test]
fn flipflop_fixture_joint_finds_all_25_with_8_stable() {
    check_flipflop(tutorial_opts());
}

#[test]
fn flipflop_fixture_joint_in_f64_agrees() {
    check_flipflop(FinderOptions {
        single_precision: false,
        ..tutorial_opts()
    });
}

#[test]
fn flipflop_fixture_sequential_agrees_with_joint() {
    let a = check_flipflop(FinderOptions {
        max_iters: 300,
        ..tutorial_opts()
    });
    let b = check_flipflop(FinderOptions {
        method: Method::Sequential,
        max_iters: 300,
        ..tutorial_opts()
    });
    let idx = match_points(&b, &a.xstar, 4, 1e-9);
    assert_eq!(idx.len(), 25);
}

#[test]
fn flipflop_fixture_newton_method_finds_true_fixed_points() {
    // Undamped basins differ from Adam's: pure Newton from the same inits reaches fewer of
    // the 25, but everything it reports must be one of them.
    let ff = flipflop();
    let shape = CellShape::new(CellKind::Tanh, 3, 4);
    let cell = Cell::from_flat(shape, &ff.params).unwrap();
    let opts = FinderOptions {
        method: Method::Newton,
        ..tutorial_opts()
    };
    let finder = FixedPointFinder::new(cell, opts).unwrap();
    let fps = finder
        .find_fixed_points(&ff.inits, &[0.0; 3], None, None)
        .unwrap()
        .unique;
    assert!(fps.n >= 20, "only {} points", fps.n);
    assert_eq!(fps.n_stable(), 8);
    for i in 0..fps.n {
        let hit = (0..25).any(|k| {
            fps.x(i)
                .iter()
                .zip(&ff.refined[k * 4..(k + 1) * 4])
                .all(|(a, b)| (a - b).abs() < 1e-6)
        });
        assert!(hit, "point {i} {:?} is not a refined fixed point", fps.x(i));
    }
}

#[test]
fn sampling_from_a_trajectory_is_reproducible() {
    let ff = flipflop();
    let shape = CellShape::new(CellKind::Tanh, 3, 4);
    let cell = Cell::from_flat(shape, &ff.params).unwrap();
    let finder = FixedPointFinder::new(cell, tutorial_opts()).unwrap();
    let traj = Trajectory {
        states: &ff.traj,
        n_batch: 8,
        n_time: 64,
        n_states: 4,
        valid: None,
    };
    let a = finder
        .find_from_trajectory(&traj, &[0.0; 3], 256, 0.4, 7)
        .unwrap();
    let b = finder
        .find_from_trajectory(&traj, &[0.0; 3], 256, 0.4, 7)
        .unwrap();
    assert_eq!(a.unique.xstar, b.unique.xstar);
    assert!(a.unique.n_stable() == 8, "{}", a.unique.summary());
}

fn run(opts: FinderOptions, inits: &[f64]) -> fpf_std::analysis::FindResult {
    let p = flipflop().params;
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &p).unwrap();
    FixedPointFinder::new(cell, opts)
        .unwrap()
        .find_fixed_points(inits, &[0.0; 3], None, None)
        .unwrap()
}

#[test]
fn period_two_network_yields_its_two_cycles() {
    // F(h) = tanh(h W), W = −3·I + small coupling: each coordinate flips sign every step.
    let w = [-3.0, 0.05, -0.04, -3.0];
    let p = tanh_params(&[], &w, &[0.0, 0.0]);
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 0, 2), &p).unwrap();
    let inits = grid(2, 9);
    // Period 1: the only fixed point is the origin, a saddle-free repeller.
    let one = FixedPointFinder::new(cell, golub_opts())
        .unwrap()
        .find_fixed_points(&inits, &[], None, None)
        .unwrap()
        .unique;
    assert_eq!(one.n, 1);
    assert_eq!(one.n_stable(), 0);
    // Period 2: 9 fixed points of F∘F; the origin has minimal period 1, the 8 others are
    // points of 2-cycles, and the 4 with no zero coordinate are stable. Newton from the grid
    // reaches all 9 (saddles included); Adam reaches the stable ones and the origin.
    let newton = FinderOptions {
        period: 2,
        method: Method::Newton,
        ..golub_opts()
    };
    let all9 = FixedPointFinder::new(cell, newton)
        .unwrap()
        .find_fixed_points(&inits, &[], None, None)
        .unwrap()
        .unique;
    assert_eq!(all9.n, 9, "{:?}", all9.xstar);
    assert_eq!(all9.n_stable(), 4);
    let periods = all9.min_period.as_ref().unwrap();
    assert_eq!(periods.iter().filter(|&&p| p == 1).count(), 1);
    assert_eq!(periods.iter().filter(|&&p| p == 2).count(), 8);
    let opts = FinderOptions {
        period: 2,
        ..golub_opts()
    };
    let two = FixedPointFinder::new(cell, opts)
        .unwrap()
        .find_fixed_points(&inits, &[], None, None)
        .unwrap()
        .unique;
    assert_eq!(two.n_stable(), 4);
    assert!(two.n >= 5);
    // A stable 2-cycle point maps to its partner, which is also found.
    let i = (0..two.n)
        .find(|&i| two.is_stable.as_ref().unwrap()[i])
        .unwrap();
    let mut fx = [0.0; 2];
    let mut cache = [0.0; 2];
    cell.step(&[], two.x(i), &mut fx, &mut cache).unwrap();
    assert!(
        (0..two.n).any(|j| j != i && two.x(j).iter().zip(&fx).all(|(a, b)| (a - b).abs() < 1e-9))
    );
}

#[test]
fn returned_point_is_where_q_was_evaluated() {
    let ff = flipflop();
    let opts = FinderOptions {
        newton_polish: false,
        single_precision: false,
        max_iters: 37,
        // Every state iterates to the cap.
        freeze_converged: false,
        ..tutorial_opts()
    };
    let all = run(opts, &ff.inits[..64 * 4]).all;
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &ff.params).unwrap();
    for i in 0..all.n {
        // F(x*) as one step computes it: equal to the returned F(x*) up to the rounding of
        // the batched products (FMA, another summation order), far below one Adam step.
        let mut fx = [0.0; 4];
        let mut cache = [0.0; 4];
        cell.step(&[0.0; 3], all.x(i), &mut fx, &mut cache).unwrap();
        let f_star = &all.f_xstar[i * 4..(i + 1) * 4];
        for (a, b) in fx.iter().zip(f_star) {
            assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
        }
        // q* is ½‖x* − F(x*)‖² of the returned pair (to the rounding of the summation
        // order).
        let q: f64 = 0.5
            * all
                .x(i)
                .iter()
                .zip(f_star)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
        assert!(
            (q - all.qstar[i]).abs() <= 1e-15 * q,
            "{q} vs {}",
            all.qstar[i]
        );
        assert_eq!(all.n_iters[i], 37);
    }
}

#[test]
fn learning_rate_schedule_is_applied() {
    let ff = flipflop();
    let opts = FinderOptions {
        lr_patience: 0,
        lr_factor: 0.5,
        lr_init: 0.5,
        max_iters: 60,
        tol_q: 0.0,
        newton_polish: false,
        ..tutorial_opts()
    };
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &ff.params).unwrap();
    let mut lrs = Vec::new();
    let mut cb = |p: &fpf_core::find::Progress| {
        lrs.push(p.lr);
        true
    };
    FixedPointFinder::new(cell, opts)
        .unwrap()
        .find_fixed_points(&ff.inits[..256], &[0.0; 3], None, Some(&mut cb))
        .unwrap();
    assert_eq!(lrs[0], 0.5);
    assert!(*lrs.last().unwrap() < 0.25, "lr never decayed: {lrs:?}");
    assert!(lrs.windows(2).all(|w| w[1] <= w[0]));
}

#[test]
fn every_option_has_its_effect() {
    let ff = flipflop();
    let inits = &ff.inits[..256 * 4];
    let base = tutorial_opts();
    // tol_q: a loose tolerance stops earlier.
    let loose = run(
        FinderOptions {
            tol_q: 1e-2,
            newton_polish: false,
            ..base
        },
        inits,
    )
    .all;
    let tight = run(
        FinderOptions {
            tol_q: 1e-8,
            newton_polish: false,
            ..base
        },
        inits,
    )
    .all;
    assert!(loose.n_iters[0] < tight.n_iters[0]);
    // tol_dq: a huge tolerance stops after the first step.
    let dq = run(
        FinderOptions {
            tol_dq: 1e30,
            newton_polish: false,
            ..base
        },
        inits,
    )
    .all;
    assert_eq!(dq.n_iters[0], 1);
    // tol_unique: a huge tolerance merges everything into one point.
    let merged = run(
        FinderOptions {
            tol_unique: 100.0,
            ..base
        },
        inits,
    )
    .unique;
    assert_eq!(merged.n, 1);
    // max_n_unique keeps the lowest q.
    let full = run(base, inits).unique;
    let three = run(
        FinderOptions {
            max_n_unique: 3,
            ..base
        },
        inits,
    )
    .unique;
    assert_eq!(three.n, 3);
    let mut qs = full.qstar.clone();
    qs.sort_by(f64::total_cmp);
    let mut q3 = three.qstar.clone();
    q3.sort_by(f64::total_cmp);
    assert_eq!(q3, qs[..3].to_vec());
    // Jacobians off: no stability; decomposition off: Jacobians but no eigenvalues.
    let nj = run(
        FinderOptions {
            do_compute_jacobians: false,
            ..base
        },
        inits,
    )
    .unique;
    assert!(nj.j_xstar.is_none() && nj.is_stable.is_none());
    let nd = run(
        FinderOptions {
            do_decompose_jacobians: false,
            ..base
        },
        inits,
    )
    .unique;
    assert!(nd.j_xstar.is_some() && nd.dfdu.is_some() && nd.eigval_re.is_none());
    // final_q_threshold: without Newton and with few iterations, a strict threshold leaves
    // slow points out of `unique` but keeps them in `slow`.
    let r = run(
        FinderOptions {
            max_iters: 20,
            newton_polish: false,
            final_q_threshold: 1e-9,
            ..base
        },
        inits,
    );
    assert!(r.slow.n > 0);
    assert!(r.unique.qstar.iter().all(|&q| q < 1e-9));
    assert!(r.slow.qstar.iter().all(|&q| q >= 1e-9));
    assert!(r.all.is_slow.iter().any(|&s| s));
    // Distance outliers: inits clustered at one point make every far point an outlier.
    let x0 = &ff.refined[..4];
    let near: Vec<f64> = (0..8)
        .flat_map(|k| x0.iter().map(move |v| v + 1e-3 * ((k % 3) as f64 - 1.0)))
        .collect();
    let mut probe = near.clone();
    probe.extend_from_slice(&ff.refined[4..8]);
    let kept = run(
        FinderOptions {
            outlier_distance_scale: 2.0,
            ..base
        },
        &probe,
    )
    .unique;
    let unfiltered = run(
        FinderOptions {
            do_exclude_distance_outliers: false,
            ..base
        },
        &probe,
    )
    .unique;
    assert_eq!(unfiltered.n, 2);
    assert_eq!(kept.n, 1);
    // q-outlier rerun: runs (the original crashes) and lowers the outliers' q.
    let few = FinderOptions {
        max_iters: 30,
        newton_polish: false,
        ..base
    };
    // Compare over every unique point, slow ones included (the final filter drops those).
    let worst = |r: &fpf_std::analysis::FindResult| {
        r.unique
            .qstar
            .iter()
            .chain(&r.slow.qstar)
            .copied()
            .fold(0.0, f64::max)
    };
    let before = run(few, inits);
    let after = run(
        FinderOptions {
            do_rerun_q_outliers: true,
            outlier_q_scale: 1.0,
            ..few
        },
        inits,
    );
    assert!(
        worst(&after) < worst(&before),
        "the rerun did not lower the worst q: {} vs {}",
        worst(&after),
        worst(&before)
    );
    // Gradient clipping changes the path but still converges.
    let clipped = run(
        FinderOptions {
            max_grad_norm: 1e-4,
            ..base
        },
        inits,
    )
    .unique;
    assert_eq!(clipped.n_stable(), 8);
    let adaptive = run(
        FinderOptions {
            adaptive_grad_clip: 2.0,
            ..base
        },
        inits,
    )
    .unique;
    assert_eq!(adaptive.n_stable(), 8);
}

#[test]
fn cond_ids_travel_with_their_points_and_cancellation_stops() {
    let ff = flipflop();
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &ff.params).unwrap();
    let finder = FixedPointFinder::new(cell, tutorial_opts()).unwrap();
    let ids: Vec<i64> = (0..64).collect();
    let r = finder
        .find_fixed_points(&ff.inits[..256], &[0.0; 3], Some(&ids), None)
        .unwrap();
    assert_eq!(r.all.cond_id.as_ref().unwrap(), &ids);
    let u = r.unique.cond_id.as_ref().unwrap();
    assert_eq!(u.len(), r.unique.n);
    let mut stop = |p: &fpf_core::find::Progress| p.iter < 3;
    let e = finder
        .find_fixed_points(&ff.inits[..256], &[0.0; 3], None, Some(&mut stop))
        .unwrap_err();
    assert_eq!(
        e,
        fpf_std::analysis::AnalysisError::Find(fpf_core::find::FindError::Cancelled)
    );
}

#[test]
fn bad_options_and_inputs_are_errors() {
    let ff = flipflop();
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &ff.params).unwrap();
    for bad in [
        FinderOptions {
            max_iters: 0,
            ..tutorial_opts()
        },
        FinderOptions {
            lr_init: 0.0,
            ..tutorial_opts()
        },
        FinderOptions {
            lr_init: -1.0,
            ..tutorial_opts()
        },
        FinderOptions {
            tol_q: -1.0,
            ..tutorial_opts()
        },
        FinderOptions {
            tol_q: f64::NAN,
            ..tutorial_opts()
        },
        FinderOptions {
            lr_factor: 1.5,
            ..tutorial_opts()
        },
        FinderOptions {
            period: 0,
            ..tutorial_opts()
        },
        FinderOptions {
            max_n_unique: 0,
            ..tutorial_opts()
        },
    ] {
        assert!(FixedPointFinder::new(cell, bad).is_err(), "{bad:?}");
    }
    let f = FixedPointFinder::new(cell, tutorial_opts()).unwrap();
    assert!(f.find_fixed_points(&[], &[0.0; 3], None, None).is_err());
    assert!(
        f.find_fixed_points(&ff.inits[..5], &[0.0; 3], None, None)
            .is_err()
    );
    assert!(
        f.find_fixed_points(&ff.inits[..8], &[0.0; 2], None, None)
            .is_err()
    );
    let mut nan = ff.inits[..8].to_vec();
    nan[3] = f64::NAN;
    assert!(f.find_fixed_points(&nan, &[0.0; 3], None, None).is_err());
    assert!(
        f.find_fixed_points(&ff.inits[..8], &[f64::INFINITY, 0.0, 0.0], None, None)
            .is_err()
    );
}

#[test]
fn cooldown_spaces_out_the_rate_drops_and_newton_cap_is_honored() {
    let ff = flipflop();
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &ff.params).unwrap();
    let drops = |cooldown: u32| -> Vec<usize> {
        let opts = FinderOptions {
            lr_patience: 0,
            lr_factor: 0.5,
            lr_cooldown: cooldown,
            lr_init: 0.5,
            max_iters: 40,
            tol_q: 0.0,
            newton_polish: false,
            ..tutorial_opts()
        };
        let mut lrs = Vec::new();
        let mut cb = |p: &fpf_core::find::Progress| {
            lrs.push(p.lr);
            true
        };
        FixedPointFinder::new(cell, opts)
            .unwrap()
            .find_fixed_points(&ff.inits[..64], &[0.0; 3], None, Some(&mut cb))
            .unwrap();
        (1..lrs.len()).filter(|&i| lrs[i] < lrs[i - 1]).collect()
    };
    let free = drops(0);
    let cooled = drops(3);
    assert!(cooled.len() < free.len(), "{cooled:?} vs {free:?}");
    assert!(cooled.windows(2).all(|w| w[1] - w[0] >= 4), "{cooled:?}");

    // From barely optimized states one Newton iteration (and its chord steps) cannot reach
    // q < 1e-24: the cap must show.
    let opts = FinderOptions {
        newton_max_iters: 1,
        max_iters: 2,
        ..tutorial_opts()
    };
    let all = FixedPointFinder::new(cell, opts)
        .unwrap()
        .find_fixed_points(&ff.inits[..64], &[0.0; 3], None, None)
        .unwrap()
        .all;
    use fpf_core::find::newton::NewtonOutcome;
    assert!(all.newton.iter().all(|o| matches!(
        o,
        Some(NewtonOutcome::MaxIters)
            | Some(NewtonOutcome::Converged)
            | Some(NewtonOutcome::NoProgress)
    )));
    assert!(all.newton.contains(&Some(NewtonOutcome::MaxIters)));
}

/// A 4-unit GRU trained on the 3-bit flip-flop with the tutorial's settings has a saturated
/// slow region where q sinks below `final_q_threshold` without a fixed point: Newton stalls
/// there. Those points are slow points, not fixed points; the true ones (8 stable, 27 in all
/// for this seed) are exactly the points Newton converged on.
#[test]
fn stalled_newton_points_are_slow_points_not_fixed_points() {
    use fpf_core::find::newton::NewtonOutcome;
    use fpf_std::task::flipflop::FlipFlop;
    use fpf_std::train::{TrainOptions, train};
    let task = FlipFlop::new(3, 64, 0.5);
    let (tr, te) = (
        task.generate(512, 42).unwrap(),
        task.generate(128, 44).unwrap(),
    );
    let shape = CellShape::new(CellKind::Gru, 3, 4);
    let mut m = fpf_std::model::Model::<f32>::init_random(shape, 3, 42).unwrap();
    let opts = TrainOptions {
        seed: 42,
        ..TrainOptions::default()
    };
    assert!(
        train(&mut m, &tr.sequences(), None, &opts, None)
            .unwrap()
            .reached_target
    );
    let m = m.to_f64();
    let s = m.state_dim();
    let (mut y, mut h) = (vec![0.0; 128 * 64 * 3], vec![0.0; 128 * 64 * s]);
    m.run(&te.inputs, 128, 64, &mut y, &mut h).unwrap();
    let finder = FixedPointFinder::new(
        m.cell(),
        FinderOptions {
            lr_init: 0.02,
            tol_q: 1e-4,
            final_q_threshold: 1e-6,
            tol_unique: 1e-2,
            ..FinderOptions::default()
        },
    )
    .unwrap();
    let traj = Trajectory {
        states: &h,
        n_batch: 128,
        n_time: 64,
        n_states: s,
        valid: None,
    };
    let r = finder
        .find_from_trajectory(&traj, &[0.0; 3], 1024, 0.4, 42)
        .unwrap();
    let u = &r.unique;
    assert_eq!((u.n, u.n_stable()), (27, 8), "{}", r.summary());
    for i in 0..u.n {
        assert_eq!(u.newton[i], Some(NewtonOutcome::Converged), "point {i}");
        assert!(u.qstar[i] < 1e-20, "point {i}: q = {:e}", u.qstar[i]);
    }
    // The slow region: many points below the q threshold that Newton could not converge.
    let stalled = (0..r.slow.n)
        .filter(|&i| r.slow.qstar[i] < 1e-6 && r.slow.newton[i] != Some(NewtonOutcome::Converged))
        .count();
    assert!(stalled > 50, "{} slow points, {stalled} stalled", r.slow.n);
    assert!(r.summary().contains(&format!(
        "Slow points (q >= final_q_threshold, or Newton did not converge): {}",
        r.slow.n
    )));
    // Every state flagged slow in `all` is one the unique/slow split agrees with.
    let all_stalled = (0..r.all.n)
        .filter(|&i| r.all.qstar[i] < 1e-6 && r.all.newton[i] != Some(NewtonOutcome::Converged))
        .all(|i| r.all.is_slow[i]);
    assert!(all_stalled);
}
