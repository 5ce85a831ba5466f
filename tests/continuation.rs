//! Continuation of fixed points along a path of inputs, against bifurcations known in closed
//! form: the one-unit network `h' = tanh(w h + u)`, whose fixed points satisfy
//! `h = tanh(w h + u)` with multiplier `λ = w (1 − h²)`.
//! - `w > 1`: a saddle-node where `λ = 1`, i.e. `h_c = ±√(1 − 1/w)`,
//!   `u_c = atanh(h_c) − w h_c`;
//! - `w < −1`: period doubling where `λ = −1`, i.e. `h = ±√(1 + 1/w)`, `u = atanh(h) − w h`.
//!
//! Then the demo's 3-bit flip-flop network (trained here as the demo trains it): continuation
//! along one bit's input against independent searches at 20 inputs.

#![allow(clippy::needless_range_loop)]

use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_std::analysis::continuation::{
    BifurcationKind, BranchEnd, ContinuationMethod, ContinuationOptions, InputPath,
    continue_fixed_points,
};

/// `[w_x | w_h | b]` of a one-unit tanh cell with input weights `wx`.
fn one_unit(wx: &[f64], w: f64) -> Vec<f64> {
    let mut p = wx.to_vec();
    p.push(w);
    p.push(0.0);
    p
}

fn cell_of(p: &[f64], n_inputs: usize) -> Cell<'_, f64> {
    Cell::from_flat(CellShape::new(CellKind::Tanh, n_inputs, 1), p).unwrap()
}

/// The fixed points of `h = tanh(w h + u)` by bisection on a fine grid.
fn roots(w: f64, u: f64) -> Vec<f64> {
    let f = |h: f64| (w * h + u).tanh() - h;
    let n = 20000;
    let mut out = Vec::new();
    for i in 0..n {
        let (mut a, mut b) = (
            -1.0 + 2.0 * i as f64 / n as f64,
            -1.0 + 2.0 * (i + 1) as f64 / n as f64,
        );
        if f(a) == 0.0 {
            out.push(a);
            continue;
        }
        if f(a) * f(b) > 0.0 || f(b) == 0.0 {
            continue;
        }
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if f(a) * f(m) <= 0.0 {
                b = m;
            } else {
                a = m;
            }
        }
        out.push(0.5 * (a + b));
    }
    out
}

fn saddle_node(w: f64) -> (f64, f64) {
    let h = -(1.0 - 1.0 / w).sqrt();
    (h, h.atanh() - w * h)
}

#[test]
fn saddle_node_of_one_unit_is_found_where_the_closed_form_puts_it() {
    let w = 2.0;
    let p = one_unit(&[1.0], w);
    let cell = cell_of(&p, 1);
    let seeds = roots(w, 0.0);
    assert_eq!(seeds.len(), 3);
    let path = InputPath::line(&[0.0], &[1.0], 20).unwrap();
    let c = continue_fixed_points(cell, &seeds, &path, &ContinuationOptions::default()).unwrap();
    print!("{}", c.summary());
    let (h_c, u_c) = saddle_node(w);

    // The lower stable branch turns at the fold and comes back as the saddle: one branch
    // through seeds 0 and 1; the upper one goes to the end.
    assert_eq!(c.seed_branch, vec![Some(0), Some(0), Some(1)]);
    assert_eq!(c.branches.len(), 2);
    assert_eq!(c.branches[0].seeds, vec![0, 1]);
    assert_eq!(c.branches[0].end, Some(BranchEnd::ReturnedToStart));
    assert_eq!(c.branches[1].end, Some(BranchEnd::ReachedEnd));

    // Every point is a fixed point with the right multiplier and stability.
    for b in &c.branches {
        for i in 0..b.n {
            let (h, u) = (b.x(i)[0], b.u(i)[0]);
            assert!((h - (w * h + u).tanh()).abs() < 2e-12, "h = {h}, u = {u}");
            assert!((b.sigma[i] - u).abs() < 1e-15);
            let lam = w * (1.0 - h * h);
            assert!(
                (b.eigval_re[i] - lam).abs() < 1e-10,
                "{} vs {lam} at h = {h}, u = {u}",
                b.eigval_re[i]
            );
            assert_eq!(b.is_stable[i], lam.abs() < 1.0);
            assert!(b.qstar[i] < 1e-24);
        }
    }

    // Exactly one bifurcation: the saddle-node, refined to the closed form.
    assert_eq!(c.bifurcations.len(), 1, "{:?}", c.bifurcations);
    let f = &c.bifurcations[0];
    assert_eq!(f.kind, BifurcationKind::SaddleNode);
    assert_eq!(f.branch, 0);
    assert!(f.turned);
    let r = f.refined.as_ref().expect("refined");
    assert!((r.sigma - u_c).abs() < 1e-10, "u = {} vs {u_c}", r.sigma);
    assert!((r.inputs[0] - u_c).abs() < 1e-10);
    assert!(
        (r.xstar[0] - h_c).abs() < 1e-6,
        "h = {} vs {h_c}",
        r.xstar[0]
    );
    assert!(
        (r.eig[0] - 1.0).abs() < 1e-6 && r.eig[1] == 0.0,
        "{:?}",
        r.eig
    );
    // The eigenvalue crosses 1 between the neighbouring points, and the branch turns there:
    // σ rises up to `before` and falls from `before + 1` on.
    let b = &c.branches[0];
    assert!(f.eig_before[0] < 1.0 && f.eig_after[0] > 1.0, "{f:?}");
    assert_eq!(f.eig_before[0], b.eigval_re[f.before]);
    assert_eq!(f.eig_after[0], b.eigval_re[f.before + 1]);
    assert!(b.sigma[f.before] <= u_c && b.sigma[f.before + 1] <= u_c);
    for i in 0..f.before {
        assert!(b.sigma[i + 1] > b.sigma[i]);
    }
    for i in f.before + 1..b.n - 1 {
        assert!(b.sigma[i + 1] < b.sigma[i]);
    }
    // A point at every node below the fold on both sides of it, none above.
    for k in 0..=20 {
        let uk = k as f64 / 20.0;
        let at = b.at_node(k);
        let expect = if uk < u_c { 2 } else { 0 };
        assert_eq!(at.len(), expect, "node {k}");
        let exact = roots(w, uk);
        for &i in &at {
            assert!(exact.iter().any(|&h| (h - b.x(i)[0]).abs() < 1e-9));
        }
        assert_eq!(c.branches[1].at_node(k).len(), 1);
    }
}

#[test]
fn period_doubling_of_one_unit_is_found_where_the_closed_form_puts_it() {
    let w = -2.0;
    let p = one_unit(&[1.0], w);
    let cell = cell_of(&p, 1);
    let path = InputPath::line(&[0.0], &[3.0], 30).unwrap();
    let c = continue_fixed_points(cell, &[0.0], &path, &ContinuationOptions::default()).unwrap();
    print!("{}", c.summary());
    let h_pd = (1.0 + 1.0 / w).sqrt();
    let u_pd = h_pd.atanh() - w * h_pd;
    assert_eq!(c.branches.len(), 1);
    assert_eq!(c.branches[0].end, Some(BranchEnd::ReachedEnd));
    assert_eq!(c.bifurcations.len(), 1, "{:?}", c.bifurcations);
    let f = &c.bifurcations[0];
    assert_eq!(f.kind, BifurcationKind::PeriodDoubling);
    assert!(!f.turned);
    assert!(f.eig_before[0] < -1.0 && f.eig_after[0] > -1.0, "{f:?}");
    let r = f.refined.as_ref().unwrap();
    assert!((r.sigma - u_pd).abs() < 1e-10, "u = {} vs {u_pd}", r.sigma);
    assert!((r.xstar[0] - h_pd).abs() < 1e-10);
    assert!((r.eig[0] + 1.0).abs() < 1e-9);
    let b = &c.branches[0];
    for i in 0..b.n {
        assert_eq!(b.is_stable[i], b.sigma[i] > u_pd);
    }
}

#[test]
fn a_pitchfork_is_a_branch_point_where_the_closed_form_puts_it() {
    // A one-unit GRU ("reset before") with r = σ(u), z = 1/2, n = tanh(4 r h): the fixed
    // points satisfy h = tanh(4 σ(u) h), so h = 0 for every u, and the multiplier there,
    // 1/2 + 2 σ(u), crosses 1 at σ(u) = 1/4, u = −ln 3, without the branch turning.
    let p = [1.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0];
    let cell = Cell::from_flat(CellShape::new(CellKind::Gru, 1, 1), &p[..]).unwrap();
    let path = InputPath::line(&[-3.0], &[0.0], 30).unwrap();
    let c = continue_fixed_points(cell, &[0.0], &path, &ContinuationOptions::default()).unwrap();
    print!("{}", c.summary());
    assert_eq!(c.branches.len(), 1);
    assert_eq!(c.branches[0].end, Some(BranchEnd::ReachedEnd));
    assert_eq!(c.bifurcations.len(), 1);
    let f = &c.bifurcations[0];
    assert_eq!(f.kind, BifurcationKind::BranchPoint);
    assert!(!f.turned);
    assert!(f.eig_before[0] < 1.0 && f.eig_after[0] > 1.0);
    let r = f.refined.as_ref().unwrap();
    let u_bp = -(3.0f64).ln();
    assert!(
        (r.inputs[0] - u_bp).abs() < 1e-10,
        "{} vs {u_bp}",
        r.inputs[0]
    );
    assert!((r.sigma - (u_bp + 3.0)).abs() < 1e-10);
    assert!((r.eig[0] - 1.0).abs() < 1e-9);
    assert!(c.branches[0].xstar.iter().all(|&h| h == 0.0));
}

#[test]
fn a_complex_pair_leaving_the_unit_circle_is_a_neimark_sacker_bifurcation() {
    // h' = tanh(W h + (u, 0)) with W = 1.2 · rotation(1): at u = 0 the origin has the pair
    // 1.2 e^{±i}; the input saturates the units and J = diag(1 − h²) W has det
    // 1.44 (1 − h1²)(1 − h2²), the squared modulus of the pair, which falls through 1.
    let (rho, th) = (1.2f64, 1.0f64);
    let w_h = [
        rho * th.cos(),
        rho * th.sin(),
        -rho * th.sin(),
        rho * th.cos(),
    ];
    let mut p = vec![1.0, 0.0];
    p.extend_from_slice(&w_h);
    p.extend_from_slice(&[0.0, 0.0]);
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 1, 2), &p[..]).unwrap();
    let path = InputPath::line(&[0.0], &[3.0], 30).unwrap();
    let c =
        continue_fixed_points(cell, &[0.0, 0.0], &path, &ContinuationOptions::default()).unwrap();
    print!("{}", c.summary());
    assert_eq!(c.branches.len(), 1);
    assert_eq!(c.bifurcations.len(), 1, "{:?}", c.bifurcations);
    let f = &c.bifurcations[0];
    assert_eq!(f.kind, BifurcationKind::NeimarkSacker);
    let m = |e: [f64; 2]| e[0].hypot(e[1]);
    assert!(m(f.eig_before) > 1.0 && m(f.eig_after) < 1.0, "{f:?}");
    let r = f.refined.as_ref().unwrap();
    assert!(
        r.eig[1] > 0.0 && (m(r.eig) - 1.0).abs() < 1e-9,
        "{:?}",
        r.eig
    );
    let (h1, h2) = (r.xstar[0], r.xstar[1]);
    let det = rho * rho * (1.0 - h1 * h1) * (1.0 - h2 * h2);
    assert!((det - 1.0).abs() < 1e-9, "det J = {det}");
    let b = &c.branches[0];
    for i in 0..b.n {
        assert_eq!(b.is_stable[i], b.sigma[i] > r.sigma);
    }
}

#[test]
fn natural_parameter_stops_at_the_fold() {
    let w = 2.0;
    let p = one_unit(&[1.0], w);
    let cell = cell_of(&p, 1);
    let seeds = roots(w, 0.0);
    let path = InputPath::line(&[0.0], &[1.0], 20).unwrap();
    let opts = ContinuationOptions {
        method: ContinuationMethod::Natural,
        ..ContinuationOptions::default()
    };
    let c = continue_fixed_points(cell, &seeds, &path, &opts).unwrap();
    let (_, u_c) = saddle_node(w);
    // Three branches (nothing merges without turning); the two that meet at the fold stop
    // short of it, the third reaches the end.
    assert_eq!(c.branches.len(), 3);
    for (i, b) in c.branches.iter().enumerate() {
        let last = b.sigma[b.n - 1];
        if i == 2 {
            assert_eq!(b.end, Some(BranchEnd::ReachedEnd));
        } else {
            assert_eq!(b.end, Some(BranchEnd::StepTooSmall));
            assert!(
                last < u_c && last > u_c - 1e-3,
                "stopped at {last}, fold at {u_c}"
            );
            for i in 1..b.n {
                assert!(b.sigma[i] > b.sigma[i - 1]);
            }
        }
    }
    assert!(c.bifurcations.is_empty());
}

#[test]
fn a_path_of_rows_in_two_inputs_with_a_bend() {
    // u_eff = u_a + 0.5 u_b; the path goes (0,0) → (0.4, 0) → (0.4, 2) → (0, 0): up through
    // the fold at u_eff = u_c on the second segment and back.
    let w = 2.0;
    let p = one_unit(&[1.0, 0.5], w);
    let cell = cell_of(&p, 2);
    let rows = [0.0, 0.0, 0.4, 0.0, 0.4, 2.0, 0.0, 0.0];
    let path = InputPath::rows(&rows, 2).unwrap();
    let (h_c, u_c) = saddle_node(w);
    let seeds = roots(w, 0.0);
    let c = continue_fixed_points(cell, &seeds, &path, &ContinuationOptions::default()).unwrap();
    print!("{}", c.summary());
    assert_eq!(c.bifurcations.len(), 1);
    let r = c.bifurcations[0].refined.as_ref().unwrap();
    let ue = r.inputs[0] + 0.5 * r.inputs[1];
    assert!((ue - u_c).abs() < 1e-10, "{ue} vs {u_c}");
    assert!((r.inputs[0] - 0.4).abs() < 1e-15);
    // σ on the second segment: 0.4 + (u_c − 0.4) / 0.5.
    assert!((r.sigma - (0.4 + (u_c - 0.4) / 0.5)).abs() < 1e-9);
    assert!((r.xstar[0] - h_c).abs() < 1e-6);
    // The upper branch follows the whole path back to u = 0, through every node.
    let up = &c.branches[c.seed_branch[2].unwrap()];
    assert_eq!(up.end, Some(BranchEnd::ReachedEnd));
    for k in 0..4 {
        assert_eq!(up.at_node(k).len(), 1, "node {k}");
    }
    let last = up.n - 1;
    assert!((up.x(last)[0] - seeds[2]).abs() < 1e-12);
    for b in &c.branches {
        for i in 0..b.n {
            let (h, u) = (b.x(i)[0], b.u(i)[0] + 0.5 * b.u(i)[1]);
            assert!((h - (w * h + u).tanh()).abs() < 2e-12);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let p = one_unit(&[1.0], 3.0);
    let cell = cell_of(&p, 1);
    let seeds = roots(3.0, 0.0);
    let path = InputPath::line(&[-2.5], &[2.5], 40).unwrap();
    let run = |n| {
        let o = ContinuationOptions {
            n_threads: n,
            ..ContinuationOptions::default()
        };
        continue_fixed_points(cell, &seeds, &path, &o).unwrap()
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn bad_arguments_are_errors_naming_them() {
    let p = one_unit(&[1.0], 2.0);
    let cell = cell_of(&p, 1);
    let path = InputPath::line(&[0.0], &[1.0], 4).unwrap();
    let o = ContinuationOptions::default();
    fn msg<T>(r: Result<T, fpf_std::analysis::AnalysisError>) -> String {
        r.err().expect("an error").to_string()
    }
    assert!(msg(continue_fixed_points(cell, &[], &path, &o)).contains("seeds"));
    assert!(msg(continue_fixed_points(cell, &[f64::NAN], &path, &o)).contains("seeds"));
    let two = InputPath::line(&[0.0, 0.0], &[1.0, 1.0], 4).unwrap();
    assert!(msg(continue_fixed_points(cell, &[0.0], &two, &o)).contains("path inputs"));
    assert!(msg(InputPath::rows(&[0.0, 0.0, 1.0], 1)).contains("repeat"));
    assert!(msg(InputPath::rows(&[0.0], 1)).contains("two whole rows"));
    assert!(msg(InputPath::rows(&[0.0, f64::INFINITY], 1)).contains("inputs"));
    assert!(msg(InputPath::rows(&[], 0)).contains("no input path"));
    assert!(msg(InputPath::line(&[0.0], &[1.0], 0)).contains("n_steps"));
    assert!(msg(InputPath::line(&[0.0], &[1.0, 2.0], 3)).contains("u1"));
    for (bad, name) in [
        (
            ContinuationOptions {
                step_max: -1.0,
                ..o
            },
            "step_max",
        ),
        (
            ContinuationOptions {
                step_max: 0.1,
                step_min: 0.2,
                ..o
            },
            "step_min",
        ),
        (ContinuationOptions { max_steps: 0, ..o }, "max_steps"),
        (ContinuationOptions { tol_q: 0.0, ..o }, "tol_q"),
        (ContinuationOptions { period: 0, ..o }, "period"),
        (
            ContinuationOptions {
                refine_tol: 1.0,
                ..o
            },
            "refine_tol",
        ),
        (
            ContinuationOptions {
                corrector_max_iters: 0,
                ..o
            },
            "corrector_max_iters",
        ),
    ] {
        assert!(msg(continue_fixed_points(cell, &[0.0], &path, &bad)).contains(name));
    }
    // A seed the step cap stops at once: a branch of the seed only, ended by the cap.
    let c = continue_fixed_points(
        cell,
        &[0.9],
        &path,
        &ContinuationOptions { max_steps: 1, ..o },
    )
    .unwrap();
    assert!(c.branches[0].end == Some(BranchEnd::MaxSteps) || c.branches[0].n >= 1);
}

mod flipflop {
    use super::*;
    use fpf_core::find::FinderOptions;
    use fpf_std::analysis::continuation::Continuation;
    use fpf_std::analysis::{FixedPointFinder, FixedPoints, Trajectory, sample_states};
    use fpf_std::log::Log;
    use fpf_std::model::Model;
    use fpf_std::task::flipflop::FlipFlop;
    use fpf_std::train::{TrainOptions, train_logged};

    /// The demo's network (`cargo run --release --example flipflop`): 3 bits, 16 tanh units,
    /// seed 42, the demo's data and training; and its test trajectories.
    pub fn demo() -> (Model<f64>, Vec<f64>) {
        let (bits, n_time, seed) = (3, 64, 42);
        let task = FlipFlop::new(bits, n_time, 0.5);
        let tr = task.generate(512, seed).unwrap();
        let va = task.generate(128, seed + 1).unwrap();
        let te = task.generate(128, seed + 2).unwrap();
        let mut model: Model<f32> =
            Model::init_scaled(CellShape::new(CellKind::Tanh, bits, 16), bits, seed).unwrap();
        let opts = TrainOptions {
            learning_rate: 0.08,
            batch_size: 128,
            max_epochs: 500,
            min_loss: 1e-4,
            print_every: 10,
            verbose: true,
            seed,
            ..TrainOptions::default()
        };
        let rep = train_logged(
            &mut model,
            &tr.sequences(),
            Some(&va.sequences()),
            &opts,
            None,
            &Log::none(),
        )
        .unwrap();
        assert!(rep.reached_target);
        let m = model.to_f64();
        let s = m.state_dim();
        let mut out = vec![0.0; 128 * n_time * bits];
        let mut states = vec![0.0; 128 * n_time * s];
        m.run(&te.inputs, 128, n_time, &mut out, &mut states)
            .unwrap();
        (m, states)
    }

    /// The demo's finder options.
    pub fn options() -> FinderOptions {
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

    pub fn q_at(m: &Model<f64>, u: &[f64], x: &[f64]) -> f64 {
        let mut fx = vec![0.0; x.len()];
        let mut cache = vec![0.0; m.shape().cache_len()];
        m.cell().step(u, x, &mut fx, &mut cache).unwrap();
        0.5 * x
            .iter()
            .zip(&fx)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
    }

    pub fn bit0(m: &Model<f64>, x: &[f64]) -> f64 {
        let mut y = vec![0.0; 3];
        m.readout(x, &mut y).unwrap();
        y[0]
    }

    pub struct Run {
        pub model: Model<f64>,
        pub at0: FixedPoints,
        pub cont: Continuation,
        pub searches: Vec<FixedPoints>,
        pub seeded_searches: Vec<FixedPoints>,
        pub n_from_previous: Vec<usize>,
    }

    pub fn run() -> Run {
        let (model, states) = demo();
        let s = model.state_dim();
        let traj = Trajectory {
            states: &states,
            n_batch: 128,
            n_time: 64,
            n_states: s,
            valid: None,
        };
        let finder = FixedPointFinder::new(model.cell(), options()).unwrap();
        let at0 = finder
            .find_from_trajectory(&traj, &[0.0; 3], 1024, 0.4, 42)
            .unwrap()
            .unique;
        let path = InputPath::line(&[0.0; 3], &[1.0, 0.0, 0.0], 19).unwrap();
        let cont = continue_fixed_points(
            model.cell(),
            &at0.xstar,
            &path,
            &ContinuationOptions::default(),
        )
        .unwrap();
        let inits = sample_states(&traj, 1024, 0.4, 42).unwrap().states;
        let sweep = finder.sweep(&inits, path.nodes(), false).unwrap();
        let searches = sweep.results.into_iter().map(|r| r.unique).collect();
        let seeded = finder.sweep(&inits, path.nodes(), true).unwrap();
        let seeded_searches = seeded.results.into_iter().map(|r| r.unique).collect();
        drop(finder);
        Run {
            model,
            at0,
            cont,
            searches,
            seeded_searches,
            n_from_previous: seeded.n_from_previous,
        }
    }
}

/// The "done when": continuation along bit 0's input from 0 to 1 on the demo's
/// network agrees with independent full searches at the path's 20 inputs; every reported
/// bifurcation is confirmed; the memories whose bit 0 is −1 disappear in saddle-nodes with
/// the saddles next to them, long before the input reaches 1.
#[test]
fn flipflop_continuation_agrees_with_searches_and_the_minus_memories_die_in_saddle_nodes() {
    let t = std::time::Instant::now();
    let r = flipflop::run();
    let (m, c) = (&r.model, &r.cont);
    println!(
        "trained, searched 21 times and continued in {:?}",
        t.elapsed()
    );
    print!("{}", c.summary());
    assert_eq!(r.at0.n, 25);
    assert_eq!(r.at0.n_stable(), 8);
    assert!(c.seed_branch.iter().all(|b| b.is_some()));
    let same = 1e-6;
    let d = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt()
    };
    let (mut found, mut certified) = (0, 0);
    for (k, search) in r.searches.iter().enumerate() {
        let u = c.path.node(k);
        let tracked_at: Vec<(usize, usize)> = c
            .branches
            .iter()
            .enumerate()
            .flat_map(|(bi, b)| b.at_node(k).into_iter().map(move |i| (bi, i)))
            .collect();
        let tracked: Vec<&[f64]> = tracked_at
            .iter()
            .map(|&(bi, i)| c.branches[bi].x(i))
            .collect();
        for (a, x) in tracked.iter().enumerate() {
            for y in &tracked[a + 1..] {
                assert!(d(x, y) > same, "node {k}: two branches through one point");
            }
        }
        // Every point the search finds lies on a tracked branch …
        for i in 0..search.n {
            assert!(
                tracked.iter().any(|x| d(x, search.x(i)) <= same),
                "node {k}: point {i} of the search is on no branch"
            );
        }
        // … and every tracked point is found by the search or certified by Newton.
        for (x, &(bi, i)) in tracked.iter().zip(&tracked_at) {
            if (0..search.n).any(|i| d(x, search.x(i)) <= same) {
                found += 1;
            } else {
                let q = flipflop::q_at(m, u, x);
                assert!(q < 1e-20, "node {k}: a tracked point with q = {q}");
                certified += 1;
                println!(
                    "node {k}: branch {bi} point {i} (q = {q:.1e}, {} unstable modes) is not \
                     among the search's points",
                    c.branches[bi].n_unstable[i]
                );
            }
        }
        println!(
            "node {k} (u0 = {:.4}): search {} points ({} stable), tracked {}",
            u[0],
            search.n,
            search.n_stable(),
            tracked.len()
        );
    }
    println!(
        "tracked node points: {found} found by the searches, {certified} certified (q < 1e-20)"
    );
    // The sweep seeded from the previous input finds at least what the independent searches
    // find, and nothing off the branches.
    for (k, (seeded, plain)) in r.seeded_searches.iter().zip(&r.searches).enumerate() {
        assert!(seeded.n >= plain.n, "node {k}");
        for i in 0..seeded.n {
            let on = c.branches.iter().any(|b| {
                b.at_node(k)
                    .into_iter()
                    .any(|j| d(b.x(j), seeded.x(i)) <= same)
            });
            assert!(on, "node {k}: seeded point {i} is on no branch");
        }
    }
    println!(
        "seeded sweep: {:?} points from the previous input",
        r.n_from_previous
    );

    // Every bifurcation: the eigenvalue crosses between the neighbouring points (the count of
    // real eigenvalues above 1 changes by one), the branch turns there, and the refined point
    // is a fixed point with the eigenvalue at 1.
    assert!(!c.bifurcations.is_empty());
    let s = m.state_dim();
    for f in &c.bifurcations {
        assert_eq!(f.kind, BifurcationKind::SaddleNode, "{f:?}");
        let b = &c.branches[f.branch];
        let (i, j) = (f.before, f.before + 1);
        assert!(
            (f.eig_before[0] - 1.0) * (f.eig_after[0] - 1.0) < 0.0,
            "{f:?}"
        );
        let above = |p: usize| {
            (0..s)
                .filter(|&k| b.eigval_im[p * s + k] == 0.0 && b.eigval_re[p * s + k] > 1.0)
                .count()
        };
        assert_eq!(above(i).abs_diff(above(j)), 1);
        assert!(f.turned);
        assert!(i >= 1 && j + 1 < b.n);
        let before = b.sigma[i] - b.sigma[i - 1];
        let after = b.sigma[j + 1] - b.sigma[j];
        assert!(
            before * after < 0.0,
            "branch {} does not turn at {i}",
            f.branch
        );
        let p = f.refined.as_ref().expect("refined");
        assert!(
            (p.eig[0] - 1.0).abs() < 1e-6 && p.eig[1] == 0.0,
            "{:?}",
            p.eig
        );
        assert!(flipflop::q_at(m, &p.inputs, &p.xstar) < 1e-20);
        let (lo, hi) = (b.sigma[i].min(b.sigma[j]), b.sigma[i].max(b.sigma[j]));
        if before > 0.0 {
            assert!(p.sigma >= hi, "a fold at a maximum of σ");
        } else {
            assert!(p.sigma <= lo, "a fold at a minimum of σ");
        }
    }

    // The memories whose bit 0 is −1, under a sustained +1 on bit 0.
    let stable = r.at0.is_stable.as_ref().unwrap();
    let mut folds = Vec::new();
    for i in 0..r.at0.n {
        if !stable[i] || flipflop::bit0(m, r.at0.x(i)) > 0.0 {
            continue;
        }
        let bi = c.seed_branch[i].unwrap();
        let b = &c.branches[bi];
        // It dies in one saddle-node, with a saddle of bit 0 near 0 (the one between it and
        // the memory with bit 0 = +1), and its branch comes back to u = 0 as that saddle.
        assert_eq!(b.end, Some(BranchEnd::ReturnedToStart));
        let here: Vec<_> = c.bifurcations.iter().filter(|f| f.branch == bi).collect();
        assert_eq!(here.len(), 1);
        let fold = here[0].refined.as_ref().unwrap().sigma;
        assert_eq!(b.seeds.len(), 2);
        let partner = *b.seeds.iter().find(|&&j| j != i).unwrap();
        assert!(!stable[partner]);
        let y = flipflop::bit0(m, r.at0.x(partner));
        assert!(y.abs() < 0.2, "the partner saddle's bit 0 is {y}");
        // Stable on the memory's side of the fold, unstable on the saddle's (the branch
        // starts at whichever of the two comes first among the seeds).
        let from_memory = b.seeds[0] == i;
        for p in 0..b.n {
            assert_eq!(
                b.is_stable[p],
                (p <= here[0].before) == from_memory,
                "point {p}"
            );
        }
        // Under u = (1, 0, 0) the state leaves the memory for the +1 memory of the same
        // other bits.
        let mut h = r.at0.x(i).to_vec();
        let mut next = vec![0.0; s];
        let mut cache = vec![0.0; m.shape().cache_len()];
        for _ in 0..200 {
            m.cell()
                .step(&[1.0, 0.0, 0.0], &h, &mut next, &mut cache)
                .unwrap();
            std::mem::swap(&mut h, &mut next);
        }
        let end_bit = flipflop::bit0(m, &h);
        assert!(end_bit > 0.9, "ends at bit 0 = {end_bit}");
        let (mut y0, mut y1) = (vec![0.0; 3], vec![0.0; 3]);
        m.readout(r.at0.x(i), &mut y0).unwrap();
        m.readout(&h, &mut y1).unwrap();
        assert!(
            y0[1] * y1[1] > 0.0 && y0[2] * y1[2] > 0.0,
            "{y0:?} → {y1:?}"
        );
        println!(
            "memory {i} (bit 0 = {:.3}): saddle-node with saddle {partner} (bit 0 = {y:.3}) at \
             u0 = {fold:.6}; under u0 = 1 it goes to bit 0 = {end_bit:.3}",
            flipflop::bit0(m, r.at0.x(i))
        );
        folds.push(fold);
    }
    assert_eq!(folds.len(), 4);
    // No stable point with bit 0 = −1 is left beyond the last fold, in the searches either.
    let last = folds.iter().copied().fold(0.0, f64::max);
    for (k, search) in r.searches.iter().enumerate() {
        if c.path.node_sigma()[k] > last {
            let st = search.is_stable.as_ref().unwrap();
            for i in 0..search.n {
                assert!(!st[i] || flipflop::bit0(m, search.x(i)) > 0.0);
            }
            assert_eq!(search.n_stable(), 4);
        }
    }
}
