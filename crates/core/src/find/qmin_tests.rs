//! Unit tests of [`super::qmin`] on batches of many tiles (the trajectories themselves are
//! checked against an independent reference in tests/qmin_reference.rs, on small batches):
//! at a constant rate every state's run depends on that state alone, so reordering the
//! states, repeating one, splitting the tiles through a [`Fork`] in either order, or
//! running them serially gives every state the same bits; and the workspace is exactly
//! [`qmin::work_len`].

use super::qmin::{self, QminOutput, QminReport};
use super::{FindError, FinderOptions, Method};
use crate::cell::{Cell, CellKind, CellShape};
use crate::fork::{Fork, Serial};
use crate::scalar::Real;
use crate::test_data::data;

/// Asks for pieces (as a thread pool does) and runs them in order.
struct Split;
impl Fork for Split {
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F) {
        items.iter_mut().for_each(f);
    }
}

/// Asks for pieces and runs them last first.
struct SplitReversed;
impl Fork for SplitReversed {
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F) {
        items.iter_mut().rev().for_each(f);
    }
}

/// One state's results.
#[derive(Debug, PartialEq)]
struct StateOut<T> {
    x: Vec<T>,
    fx: Vec<T>,
    q: T,
    dq: T,
    n_iters: usize,
}

/// Minimizes from `x0` (`n × S`) at `inputs` through `fork`, with a workspace of exactly
/// [`qmin::work_len`]; per-state results and the report.
fn run<T: Real, F: Fork>(
    fork: &F,
    cell: &Cell<'_, T>,
    o: &FinderOptions,
    x0: &[T],
    inputs: &[T],
) -> (Vec<StateOut<T>>, QminReport) {
    let s = cell.shape().state_dim();
    let n = x0.len() / s;
    let mut x = x0.to_vec();
    let (mut q, mut fx, mut dq) = (vec![T::ZERO; n], vec![T::ZERO; n * s], vec![T::ZERO; n]);
    let mut n_iters = vec![0; n];
    let mut work = vec![T::ZERO; qmin::work_len(cell, n, o)];
    let out = QminOutput {
        q: &mut q,
        fx: &mut fx,
        dq: &mut dq,
        n_iters: &mut n_iters,
    };
    let report = qmin::minimize_with(fork, cell, o, inputs, &mut x, out, &mut work, None).unwrap();
    let states = (0..n)
        .map(|i| StateOut {
            x: x[i * s..(i + 1) * s].to_vec(),
            fx: fx[i * s..(i + 1) * s].to_vec(),
            q: q[i],
            dq: dq[i],
            n_iters: n_iters[i],
        })
        .collect();
    (states, report)
}

/// The options: joint, a constant rate (the schedule never sees a plateau), the stop rule
/// on, freezing as given, clipping as given.
fn options(freeze: bool, clip: bool, period: usize) -> FinderOptions {
    FinderOptions {
        method: Method::Joint,
        max_iters: 200,
        lr_init: 0.1,
        lr_patience: 1_000_000,
        tol_q: 1e-6,
        tol_dq: 1e-9,
        freeze_converged: freeze,
        max_grad_norm: if clip { 1e-3 } else { 0.0 },
        adaptive_grad_clip: if clip { 1.5 } else { 0.0 },
        period,
        ..FinderOptions::default()
    }
}

/// Checks every ordering and fork on one cell, `n` states, shared or per-state inputs.
fn check_orderings<T: Real>(kind: CellKind, h: usize, n: usize, o: &FinderOptions, shared: bool) {
    let cast = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    let shape = CellShape::new(kind, 2, h);
    let p = cast(data(
        shape.n_params(),
        3 + h as u64,
        1.6 / (h as f64).sqrt(),
    ));
    let cell = Cell::from_flat(shape, &p).unwrap();
    let s = shape.state_dim();
    let mut x0 = cast(data(n * s, 5, 1.0));
    let mut inputs = cast(data(if shared { 2 } else { n * 2 }, 6, 0.5));
    // State n − 2 (in the last, partial tile) repeats state 3 (in the first).
    let (a, b) = (3, n - 2);
    let row3 = x0[a * s..(a + 1) * s].to_vec();
    x0[b * s..(b + 1) * s].copy_from_slice(&row3);
    if !shared {
        let u3 = inputs[a * 2..a * 2 + 2].to_vec();
        inputs[b * 2..b * 2 + 2].copy_from_slice(&u3);
    }
    let what = format!(
        "{kind:?} H = {h}, {n} states, shared {shared}, freeze {}, period {}",
        o.freeze_converged, o.period
    );
    let (base, report) = run(&Serial, &cell, o, &x0, &inputs);
    assert!(base.iter().all(|r| r.q.is_finite()), "{what}");
    // Some states stop early, others run on (freezing leaves gaps in the tiles).
    let its: Vec<usize> = base.iter().map(|r| r.n_iters).collect();
    let (lo, hi) = (its.iter().min().unwrap(), its.iter().max().unwrap());
    assert_eq!(report.max_iters_used, *hi, "{what}");
    if o.freeze_converged {
        assert!(lo < hi, "{what}: every state stopped at iteration {lo}");
    }
    assert_eq!(base[b], base[a], "{what}: a repeated state ends elsewhere");

    for (name, (got, rep)) in [
        ("split", run(&Split, &cell, o, &x0, &inputs)),
        (
            "split reversed",
            run(&SplitReversed, &cell, o, &x0, &inputs),
        ),
    ] {
        assert_eq!(rep, report, "{what}: {name}");
        for (i, (g, w)) in got.iter().zip(&base).enumerate() {
            assert_eq!(g, w, "{what}: {name}, state {i}");
        }
    }

    // The states in reverse order (their input rows too).
    let rev = |v: &[T], w: usize| -> Vec<T> { v.chunks(w).rev().flatten().copied().collect() };
    let u_rev = if shared {
        inputs.clone()
    } else {
        rev(&inputs, 2)
    };
    let (got, rep) = run(&Split, &cell, o, &rev(&x0, s), &u_rev);
    assert_eq!(
        rep.max_iters_used, report.max_iters_used,
        "{what}: reversed"
    );
    assert_eq!(rep.stop, report.stop, "{what}: reversed");
    for (i, (g, w)) in got.iter().rev().zip(&base).enumerate() {
        assert_eq!(g, w, "{what}: reversed, state {i}");
    }
}

/// More than 16 runs' worth of tiles (1100 states: 18 tiles, two per run, the last one
/// partial; 2200: 35 tiles, three per run, more states in a run than a pass leaves
/// unsplit), fewer (300: 5 tiles, one per run), and 100 (2 tiles, too few states to split).
#[test]
fn every_state_ends_the_same_in_any_order_and_through_any_fork() {
    check_orderings::<f64>(CellKind::Tanh, 2, 2200, &options(true, false, 1), false);
    for n in [1100, 300, 100] {
        for shared in [true, false] {
            check_orderings::<f64>(CellKind::Tanh, 4, n, &options(true, false, 1), shared);
        }
    }
    check_orderings::<f64>(CellKind::Tanh, 4, 1100, &options(false, false, 1), false);
    check_orderings::<f64>(CellKind::Tanh, 4, 300, &options(true, true, 1), false);
    check_orderings::<f64>(CellKind::Gru, 3, 300, &options(true, false, 1), false);
    check_orderings::<f32>(CellKind::Tanh, 4, 300, &options(true, false, 1), true);
    // Period 2: the state-by-state evaluation (no batched kernel).
    check_orderings::<f64>(CellKind::Tanh, 3, 300, &options(true, false, 2), false);
}

/// [`qmin::work_len`] elements are enough (every test above runs with exactly that many)
/// and one fewer is refused, for every method, batch size and evaluation path; a state
/// more in a joint block costs its moments, optimizer state and input row, `2·S + 3 + I`,
/// and a
/// sequential run needs one state's workspace whatever the batch.
#[test]
fn the_workspace_is_exactly_work_len() {
    let shape = CellShape::new(CellKind::Tanh, 2, 3);
    let p = data(shape.n_params(), 1, 0.5);
    let cell = Cell::from_flat(shape, &p).unwrap();
    for period in [1, 2] {
        let joint = FinderOptions {
            period,
            ..FinderOptions::default()
        };
        // 69 and 70 states: two tiles, two runs of one tile, either way.
        let extra = qmin::work_len(&cell, 70, &joint) - qmin::work_len(&cell, 69, &joint);
        assert_eq!(extra, 2 * 3 + 3 + 2, "period {period}");
        let seq = FinderOptions {
            method: Method::Sequential,
            ..joint
        };
        assert_eq!(
            qmin::work_len(&cell, 1100, &seq),
            qmin::work_len(&cell, 1, &seq)
        );
        assert_eq!(
            qmin::work_len(&cell, 1, &seq),
            qmin::work_len(&cell, 1, &joint)
        );
    }
    for method in [Method::Joint, Method::Sequential, Method::Newton] {
        for n in [1, 64, 65, 1100] {
            for period in [1, 2] {
                let o = FinderOptions {
                    method,
                    max_iters: 3,
                    period,
                    ..FinderOptions::default()
                };
                let need = qmin::work_len(&cell, n, &o);
                let x0 = data(n * 3, 2, 1.0);
                let mut x = x0.clone();
                let (mut q, mut fx, mut dq) = (vec![0.0; n], vec![0.0; n * 3], vec![0.0; n]);
                let mut its = vec![0; n];
                let mut go = |len: usize, x: &mut [f64]| {
                    let mut work = vec![0.0; len];
                    let out = QminOutput {
                        q: &mut q,
                        fx: &mut fx,
                        dq: &mut dq,
                        n_iters: &mut its,
                    };
                    qmin::minimize(&cell, &o, &[0.1, -0.2], x, out, &mut work, None)
                };
                let e = go(need - 1, &mut x).unwrap_err();
                assert_eq!(e, FindError::Workspace { need }, "{method:?} n = {n}");
                assert_eq!(x, x0);
                go(need, &mut x).unwrap();
                assert!(q.iter().all(|v| v.is_finite()), "{method:?} n = {n}");
            }
        }
    }
}

/// A stopped state's iteration count survives its three scalars exactly, in f32 and f64,
/// from 0 to the largest count, and its frozen mark stays non-zero.
#[test]
fn a_stopped_states_count_is_kept_exactly() {
    fn check<T: Real>() {
        let counts = [
            0usize,
            1,
            (1 << 22) - 1,
            1 << 22,
            (1 << 22) + 1,
            0x2a5_5a5a_5a5a,
            usize::MAX >> 1,
            usize::MAX,
        ];
        for it in counts {
            let (mut qp, mut na, mut fr) = (T::ONE, T::ONE, T::ZERO);
            qmin::put_count(it, &mut qp, &mut na, &mut fr);
            assert!(fr != T::ZERO, "{it}");
            assert_eq!(qmin::get_count(qp, na, fr), it, "{it}");
        }
    }
    check::<f32>();
    check::<f64>();
}

/// A run stopped by its progress callback leaves every state in its own place: the states
/// (some stopped early, some still running, shuffled among the slots meanwhile) are those
/// of a run that ends at that iteration, state by state.
#[test]
fn a_cancelled_run_leaves_every_state_in_place() {
    let shape = CellShape::new(CellKind::Tanh, 2, 4);
    let p = data(shape.n_params(), 7, 0.8);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let n = 300;
    let x0 = data(n * 4, 8, 1.0);
    let u = [0.1, -0.2];
    let o = options(true, false, 1);
    let stop_at = 150;
    let (want, _) = run(
        &Split,
        &cell,
        &FinderOptions {
            max_iters: stop_at,
            ..o
        },
        &x0,
        &u,
    );
    let its: Vec<usize> = want.iter().map(|r| r.n_iters).collect();
    assert!(
        its.iter().any(|&i| i < stop_at) && its.contains(&stop_at),
        "{its:?}"
    );
    let mut x = x0.clone();
    let (mut q, mut fx, mut dq) = (vec![0.0; n], vec![0.0; n * 4], vec![0.0; n]);
    let mut n_iters = vec![0; n];
    let mut work = vec![0.0; qmin::work_len(&cell, n, &o)];
    let out = QminOutput {
        q: &mut q,
        fx: &mut fx,
        dq: &mut dq,
        n_iters: &mut n_iters,
    };
    let mut cancel = |p: &super::Progress| p.iter < stop_at;
    let e = qmin::minimize_with(
        &Split,
        &cell,
        &o,
        &u,
        &mut x,
        out,
        &mut work,
        Some(&mut cancel),
    );
    assert_eq!(e.unwrap_err(), FindError::Cancelled);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(x[i * 4..(i + 1) * 4], w.x[..], "state {i}");
        assert_eq!(
            (q[i], dq[i], n_iters[i]),
            (w.q, w.dq, w.n_iters),
            "state {i}"
        );
    }
}

/// A run that diverges keeps the counts of the states that stopped in the same iteration
/// before the divergent one was met: state 0 (a fixed point of the zero network) stops at
/// iteration 1, when state 1's q overflows.
#[test]
fn a_diverged_run_keeps_the_counts_of_the_states_stopped_before() {
    let shape = CellShape::new(CellKind::Tanh, 1, 1);
    let cell = Cell::from_flat(shape, &[0.0; 3]).unwrap();
    let o = FinderOptions {
        lr_init: 1e300,
        tol_q: 0.0,
        ..options(true, false, 1)
    };
    let mut x = vec![0.0, 1.0];
    let (mut q, mut fx, mut dq, mut n_iters) =
        (vec![0.0; 2], vec![0.0; 2], vec![0.0; 2], vec![0; 2]);
    let mut work = vec![0.0; qmin::work_len(&cell, 2, &o)];
    let out = QminOutput {
        q: &mut q,
        fx: &mut fx,
        dq: &mut dq,
        n_iters: &mut n_iters,
    };
    let e = qmin::minimize(&cell, &o, &[0.0], &mut x, out, &mut work, None);
    assert_eq!(e.unwrap_err(), FindError::Diverged { state: 1 });
    assert_eq!(n_iters, [1, 1]);
    assert_eq!(x[0], 0.0);
}

/// States per run as the running part of a block of 1024 shrinks (16 tile scratches), and
/// in a block of 100 (2): whole tiles while there are enough, then equal short runs of at
/// least 16 states, then one.
#[test]
fn a_shrinking_pass_is_cut_into_shorter_runs() {
    for (rows, runs, per_run) in [
        (8192, 16, 512),
        (1500, 16, 128),
        (1024, 16, 64),
        (545, 16, 35),
        (84, 16, 17),
        (32, 16, 16),
        (31, 16, 31),
        (9, 16, 9),
        (0, 16, 0),
        (100, 2, 50),
        (100, 1, 128),
        (100, 0, 128),
    ] {
        assert_eq!(
            qmin::run_rows(rows, runs),
            per_run,
            "{rows} rows, {runs} runs"
        );
    }
}

/// A pass is never cut into more runs than asked (at most 16: `for_tiles` has 16 slots, the
/// last taking whatever is left, and one tile scratch per run), and a run longer than a
/// tile is whole tiles: for every pass length up to 5000 states and every number of runs.
#[test]
fn a_pass_never_has_more_runs_than_asked() {
    for runs in 1..=16 {
        for rows in (1..=5000).chain([8191, 8192, 8193, 100_000]) {
            let per = qmin::run_rows(rows, runs);
            let tag = format!("{rows} rows, {runs} runs: {per} per run");
            assert!(per >= 1 && rows.div_ceil(per) <= runs, "{tag}");
            assert!(per <= 64 || per.is_multiple_of(64), "{tag}");
        }
    }
}

/// Counts the calls of `for_each` and the pieces handed to it (running them in order); `S`
/// is its [`Fork::SERIAL`].
struct CountPieces<const S: bool>([core::sync::atomic::AtomicUsize; 2]);
impl<const S: bool> Fork for CountPieces<S> {
    const SERIAL: bool = S;
    fn for_each<I: Send, F: Fn(&mut I) + Sync>(&self, items: &mut [I], f: F) {
        use core::sync::atomic::Ordering::Relaxed;
        self.0[0].fetch_add(1, Relaxed);
        self.0[1].fetch_add(items.len(), Relaxed);
        items.iter_mut().for_each(f);
    }
}

/// A pass is cut into runs for threads to share, as many as there are tile scratches (one
/// per tile of the block, at most 16), each of whole tiles or else of one short tile of at
/// least 16 states; a serial fork is never asked. Pieces per pass, every state running (no
/// freezing, no early stop: 3 iterations and the final pass that writes `G(x)`):
/// - 40 and 64 states (one tile scratch): none;
/// - 100 (2 tiles): 2 runs of 50; 128: 2 of 64;
/// - 192 (3 tiles): 3 runs of one tile; 300 (5 tiles): 5 of 60;
/// - 1100 (18 tiles): 9 runs of two tiles; 2200 (35 tiles): 12 of three (at most 16 runs).
#[test]
fn a_pass_is_cut_into_its_runs() {
    let shape = CellShape::new(CellKind::Tanh, 2, 2);
    let p = data(shape.n_params(), 11, 0.9);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let o = FinderOptions {
        max_iters: 2,
        tol_q: 0.0,
        tol_dq: 0.0,
        freeze_converged: false,
        ..options(false, false, 1)
    };
    let passes = o.max_iters + 2;
    for (n, pieces) in [
        (40, 0),
        (64, 0),
        (100, 2),
        (128, 2),
        (192, 3),
        (300, 5),
        (1100, 9),
        (2200, 12),
    ] {
        let x0 = data(n * 2, 12, 1.0);
        let u = [0.3, -0.1];
        let pool = CountPieces::<false>(Default::default());
        let (got, report) = run(&pool, &cell, &o, &x0, &u);
        assert_eq!(report.max_iters_used, o.max_iters, "{n} states");
        let [calls, items] = pool.0.map(|c| c.into_inner());
        let calls_per_pass = usize::from(pieces > 0);
        assert_eq!(
            (calls, items),
            (calls_per_pass * passes, pieces * passes),
            "{n} states"
        );
        let serial = CountPieces::<true>(Default::default());
        let (want, _) = run(&serial, &cell, &o, &x0, &u);
        let [calls, _] = serial.0.map(|c| c.into_inner());
        assert_eq!(calls, 0, "{n} states: a serial fork was asked");
        assert_eq!(got, want, "{n} states");
    }
}
