//! Unit tests of what each pass of [`super::qmin`] observes on the states it evaluated (the
//! stop rule, freezing, the statistics, the first state whose q is not finite), on blocks
//! of several runs and tiles, serially and cut into runs for a fork: each state stops at
//! the first iteration whose q and dq meet the rule, the progress reports the mean and
//! deviation over every state of the block (running or stopped), and a divergence names
//! the state (not the slot) met first.

use super::qmin::{self, QminOutput, QminReport, Stop};
use super::{FindError, FinderOptions, Method, Progress};
use crate::cell::{Cell, CellKind, CellShape};
use crate::fork::{Fork, Serial};
use crate::test_data::data;

/// Asks for pieces (as a thread pool does) and runs them last first.
struct SplitReversed;
impl Fork for SplitReversed {
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F) {
        items.iter_mut().rev().for_each(f);
    }
}

/// A run's per-state results, report and progress.
struct Run {
    x: Vec<f64>,
    q: Vec<f64>,
    dq: Vec<f64>,
    n_iters: Vec<usize>,
    result: Result<QminReport, FindError>,
    progress: Vec<Progress>,
}

/// Minimizes from `x0` at `inputs` (one shared row or one per state) through `fork`.
fn run<F: Fork>(
    fork: &F,
    cell: &Cell<'_, f64>,
    o: &FinderOptions,
    x0: &[f64],
    inputs: &[f64],
) -> Run {
    let s = cell.shape().state_dim();
    let n = x0.len() / s;
    let mut x = x0.to_vec();
    let (mut q, mut fx, mut dq) = (vec![0.0; n], vec![0.0; n * s], vec![0.0; n]);
    let mut n_iters = vec![0; n];
    let mut work = vec![0.0; qmin::work_len(cell, n, o)];
    let mut progress = Vec::new();
    let mut cb = |p: &Progress| {
        progress.push(*p);
        true
    };
    let out = QminOutput {
        q: &mut q,
        fx: &mut fx,
        dq: &mut dq,
        n_iters: &mut n_iters,
    };
    let result = qmin::minimize_with(fork, cell, o, inputs, &mut x, out, &mut work, Some(&mut cb));
    Run {
        x,
        q,
        dq,
        n_iters,
        result,
        progress,
    }
}

/// A tanh cell with `h` units and 2 inputs.
fn tanh_cell(h: usize, seed: u64, gain: f64) -> (CellShape, Vec<f64>) {
    let shape = CellShape::new(CellKind::Tanh, 2, h);
    let p = data(shape.n_params(), seed, gain / (h as f64).sqrt());
    (shape, p)
}

/// Joint, a constant rate (the schedule never sees a plateau: each state's run depends on
/// that state alone), the stop rule on, freezing as given.
fn options(freeze: bool, max_iters: usize) -> FinderOptions {
    FinderOptions {
        method: Method::Joint,
        max_iters,
        lr_init: 0.1,
        lr_patience: 1_000_000,
        tol_q: 1e-5,
        tol_dq: 1e-5,
        freeze_converged: freeze,
        newton_polish: false,
        ..FinderOptions::default()
    }
}

/// The mean and standard deviation of `v`, as the progress defines them, and its root
/// mean square (the scale of the deviation's rounding).
fn mean_std(v: &[f64]) -> (f64, f64, f64) {
    let nf = v.len() as f64;
    let mean = v.iter().sum::<f64>() / nf;
    let sq = v.iter().map(|a| a * a).sum::<f64>() / nf;
    (mean, (sq - mean * mean).max(0.0).sqrt(), sq.sqrt())
}

/// `a` within `tol` of `b` (and of an exact 0).
fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol + 1e-300
}

/// 100 states (two runs of 50, serially and through a fork) and 1100 (9 runs of two
/// tiles), per-state inputs, with and without freezing: a run to `max_iters = k` ends with
/// every state's q and dq at iteration `min(k, its stop)`, so those runs, one for each `k`,
/// give the trajectories independently of the longest run's own bookkeeping (its dq from
/// the q of the runs to k − 1 and k). Each state stops at the first iteration whose q and
/// dq meet the rule, and not before; the progress at iteration `k` has the mean and
/// deviation of the run to `k`'s q and dq over all states, the stopped ones included;
/// `done` is set on the last call only; the run converges exactly when every state has met
/// the rule.
#[test]
fn each_state_stops_where_it_meets_the_rule_and_the_progress_counts_every_state() {
    let (shape, p) = tanh_cell(3, 21, 1.5);
    let cell = Cell::from_flat(shape, &p).unwrap();
    for (n, freeze, forks) in [(100, true, 2), (100, false, 1), (1100, true, 1)] {
        let x0 = data(n * 3, 22, 1.0);
        let u = data(n * 2, 23, 0.5);
        let long = options(freeze, 400);
        let what = format!("{n} states, freeze {freeze}");
        let full = run(&Serial, &cell, &long, &x0, &u);
        let report = full.result.unwrap();
        assert_eq!(report.stop, Stop::Converged, "{what}");
        let last = report.max_iters_used;
        assert_eq!(full.progress.len(), last + 1, "{what}");
        let stops = &full.n_iters;
        assert!(stops.iter().all(|&s| s <= last), "{what}");
        if freeze {
            let lo = *stops.iter().min().unwrap();
            assert!(lo + 10 < last, "{what}: the states stopped together, {lo}");
        } else {
            assert!(stops.iter().all(|&s| s == last), "{what}");
        }
        // Iterations 0 to 2, every tenth (the 1100 states: every 25th) with the one before
        // it (whose q give its dq), and the last two.
        let step = if n > 500 { 25 } else { 10 };
        let ks: Vec<usize> = (0..=last)
            .filter(|&k| k < 3 || (k + 1) % step < 2 || k + 2 > last)
            .collect();
        let mut prev: Option<(usize, Vec<f64>)> = None;
        // A state's rule at iteration `k`: by its q and dq there.
        let lr = long.lr_init;
        let meets = |q: f64, dq: f64, k: usize| q < long.tol_q || (k > 0 && dq < long.tol_dq * lr);
        for &k in &ks {
            // (`max_iters` is at least 1: the `newton` method's evaluation is iteration 0.)
            let short = FinderOptions {
                max_iters: k.max(1),
                method: if k == 0 {
                    Method::Newton
                } else {
                    Method::Joint
                },
                ..long
            };
            let mut next = None;
            for f in 0..forks {
                let at_k = if f == 0 {
                    run(&Serial, &cell, &short, &x0, &u)
                } else {
                    run(&SplitReversed, &cell, &short, &x0, &u)
                };
                let tag = format!("{what}, iteration {k}, fork {f}");
                let rep = at_k.result.unwrap();
                for i in 0..n {
                    let stop = if freeze { stops[i] } else { last };
                    assert_eq!(at_k.n_iters[i], stop.min(k), "{tag}: state {i}");
                    let (q, dq) = (at_k.q[i], at_k.dq[i]);
                    // Its |Δq| at k, from the runs to k − 1 and k, while it iterates.
                    match &prev {
                        _ if k == 0 => assert_eq!(dq, 0.0, "{tag}: state {i}"),
                        Some((j, q_before)) if *j + 1 == k && k <= stop => {
                            assert_eq!(dq, (q - q_before[i]).abs(), "{tag}: state {i}: dq")
                        }
                        _ => {}
                    }
                    if freeze && k < stops[i] {
                        assert!(!meets(q, dq, k), "{tag}: state {i} went on");
                    }
                    if freeze && k == stops[i] {
                        assert!(meets(q, dq, k), "{tag}: state {i} stopped");
                    }
                    if freeze && k >= stops[i] {
                        // A stopped state keeps its last x, q and dq.
                        assert_eq!((q, dq), (full.q[i], full.dq[i]), "{tag}: state {i}");
                        assert_eq!(
                            at_k.x[i * 3..(i + 1) * 3],
                            full.x[i * 3..(i + 1) * 3],
                            "{tag}: state {i}"
                        );
                    }
                }
                let done = k == last;
                let stop = if done {
                    Stop::Converged
                } else {
                    Stop::MaxIters
                };
                if k > 0 {
                    assert_eq!(rep.stop, stop, "{tag}");
                }
                if f == 0 {
                    next = Some((k, at_k.q.clone()));
                }
                // The run to k's last call, and the longest run's at k (with k = 0, the
                // `newton` method's calls are per state: only the longest run's).
                let b = &full.progress[k];
                let mut check = vec![(b, "the longest run")];
                if k > 0 {
                    assert_eq!(at_k.progress.len(), k + 1, "{tag}");
                    assert!(at_k.progress[..k].iter().all(|p| !p.done), "{tag}");
                    let a = &at_k.progress[k];
                    assert!(a.done, "{tag}");
                    check.push((a, "the run to k"));
                }
                assert_eq!(b.done, done, "{tag}");
                let (qm, qs, qr) = mean_std(&at_k.q);
                let (dm, ds, dr) = mean_std(&at_k.dq);
                for (p, name) in check {
                    assert_eq!(
                        (p.iter, p.first_state, p.n_states, p.lr),
                        (k, 0, n, lr),
                        "{tag}: {name}"
                    );
                    let m = format!("{tag}: {name}: {p:?}, want {qm} {qs} {dm} {ds}");
                    assert!(near(p.q_mean, qm, 1e-10 * qm), "{m}");
                    assert!(near(p.q_std, qs, 1e-6 * qr), "{m}");
                    assert!(near(p.dq_mean, dm, 1e-10 * dm), "{m}");
                    assert!(near(p.dq_std, ds, 1e-6 * dr), "{m}");
                }
            }
            prev = next;
        }
    }
}

/// Minimizes and returns the error (the run must fail).
fn diverged<F: Fork>(fork: &F, cell: &Cell<'_, f64>, o: &FinderOptions, x0: &[f64]) -> FindError {
    let n = x0.len() / cell.shape().state_dim();
    let u = data(n * 2, 31, 0.5);
    run(fork, cell, o, x0, &u).result.unwrap_err()
}

/// At the first iteration, q is infinite for the states that start far out (1e300): the
/// error names the first of them in the block's order, wherever its run and tile (the
/// slots are still the states' own), also with a later one in the same run or tile,
/// serially and through a fork (the runs' findings are added in slot order, whichever ran
/// first).
#[test]
fn a_divergence_at_the_start_names_the_first_state_in_the_block() {
    let (shape, p) = tanh_cell(3, 21, 1.5);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let o = options(true, 50);
    // 100 states: two runs of 50; 300: five of 60; 1100: 9 runs of two tiles (states 896
    // to 1023 are the eighth run, 960 on its second tile); 2200: 12 of three (1920 to 2111
    // the eleventh).
    for (n, far) in [
        (100, &[70, 99][..]),
        (100, &[20, 30]),
        (300, &[250, 299]),
        (300, &[130, 10]),
        (1100, &[1000, 1090]),
        (1100, &[1090, 1000, 1050]),
        (1100, &[70, 1000]),
        (1100, &[1000, 900]),
        (2200, &[2199, 2000, 1500]),
        (2200, &[150, 200]),
        (2200, &[2100, 2000]),
    ] {
        let mut x0 = data(n * 3, 32, 1.0);
        for &i in far {
            x0[i * 3 + 1] = 1e300;
        }
        let first = *far.iter().min().unwrap();
        let want = FindError::Diverged { state: first };
        assert_eq!(diverged(&Serial, &cell, &o, &x0), want, "{n} {far:?}");
        assert_eq!(
            diverged(&SplitReversed, &cell, &o, &x0),
            want,
            "{n} {far:?}"
        );
    }
}

/// The first `n_stop` states start at the zero network's fixed point (q = 0: they stop at
/// once and leave their slots, each for the last running one's), the others far enough out
/// that the first step of a huge rate makes their q infinite: the error names a state that
/// diverged (not the slot it had moved to), the one in the first running slot; the stopped
/// states keep their count 0, the others 1.
#[test]
fn a_divergence_names_the_state_not_the_slot_it_moved_to() {
    let shape = CellShape::new(CellKind::Tanh, 2, 1);
    let cell = Cell::from_flat(shape, &[0.0; 4]).unwrap();
    let o = FinderOptions {
        lr_init: 1e300,
        ..options(true, 50)
    };
    // (states, the first that stop, the state expected in slot 0 at the second iteration)
    // Slots after the first iteration: with 2 states, [1, 0]; with 3 and one stopped,
    // [2, 1, 0]; with 4 and two stopped, [3, 2, 1, 0] (slot 1 is stopped state 1's after
    // slot 0 took state 3: then it takes state 2).
    for (n, n_stop, want) in [(2, 1, 1), (3, 1, 2), (4, 2, 3), (5, 1, 4)] {
        let x0: Vec<f64> = (0..n)
            .map(|i| if i < n_stop { 0.0 } else { 1.0 + i as f64 })
            .collect();
        for f in 0..2 {
            let r = if f == 0 {
                run(&Serial, &cell, &o, &x0, &[0.0, 0.0])
            } else {
                run(&SplitReversed, &cell, &o, &x0, &[0.0, 0.0])
            };
            let tag = format!("{n} states, {n_stop} stopped, fork {f}");
            assert_eq!(
                r.result.unwrap_err(),
                FindError::Diverged { state: want },
                "{tag}"
            );
            let its: Vec<usize> = (0..n).map(|i| usize::from(i >= n_stop)).collect();
            assert_eq!(r.n_iters, its, "{tag}");
            assert!(r.x[..n_stop].iter().all(|&v| v == 0.0), "{tag}");
        }
    }
}
