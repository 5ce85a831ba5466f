//! The damped Newton polish (`fpf_core::find::newton`) outcome by outcome, on cells built so
//! that each outcome is certain: Converged (and already converged), backtracking (q falls at
//! every iteration although the full Newton step would raise it), NoProgress at a slow point,
//! Singular where `I − J` has a zero row, MaxIters, and a period-2 polish.

#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::newton::{self, NewtonOutcome, NewtonResult, Q_TARGET};

/// Runs `polish` from `x0`, returning the result, the final point and `G(x)`.
fn polish(
    cell: &Cell<'_, f64>,
    u: &[f64],
    x0: &[f64],
    period: usize,
    max_iters: usize,
) -> (NewtonResult, Vec<f64>, Vec<f64>) {
    let s = cell.shape().state_dim();
    let mut x = x0.to_vec();
    let mut gx = vec![0.0; s];
    let mut work = vec![0.0; newton::work_len(cell, period)];
    let mut piv = vec![0; s];
    let r = newton::polish(
        cell, u, &mut x, period, max_iters, &mut gx, &mut work, &mut piv,
    );
    (r, x, gx)
}

/// `G(x)` (the map applied `period` times) and `q = ½‖x − G(x)‖²`, with the cell's step.
fn g_and_q(cell: &Cell<'_, f64>, u: &[f64], x: &[f64], period: usize) -> (Vec<f64>, f64) {
    let shape = cell.shape();
    let mut a = x.to_vec();
    let mut b = vec![0.0; a.len()];
    let mut cache = vec![0.0; shape.cache_len()];
    for _ in 0..period {
        cell.step(u, &a, &mut b, &mut cache).unwrap();
        std::mem::swap(&mut a, &mut b);
    }
    let q = 0.5
        * x.iter()
            .zip(&a)
            .map(|(p, g)| (p - g) * (p - g))
            .sum::<f64>();
    (a, q)
}

/// The 1-unit autonomous tanh cell `F(h) = tanh(w h + b)`.
fn scalar_tanh(w: f64, b: f64) -> Vec<f64> {
    vec![w, b]
}

fn tanh1(p: &[f64]) -> Cell<'_, f64> {
    Cell::from_flat(CellShape::new(CellKind::Tanh, 0, 1), p).unwrap()
}

#[test]
fn converges_to_the_fixed_point_of_a_contraction() {
    let mut rng = Rng(11);
    let (ni, nh) = (2, 4);
    let shape = CellShape::new(CellKind::Tanh, ni, nh);
    let mut p = rng.vec(shape.n_params(), 0.3);
    // A contraction: the fixed point is the limit of x ← F(x).
    for v in &mut p[ni * nh..ni * nh + nh * nh] {
        *v *= 0.5;
    }
    let cell = Cell::from_flat(shape, &p).unwrap();
    let u = [0.3, -0.7];
    let mut want = vec![0.0; nh];
    for _ in 0..2000 {
        want = g_and_q(&cell, &u, &want, 1).0;
    }
    let x0 = rng.vec(nh, 0.8);
    let (_, q0) = g_and_q(&cell, &u, &x0, 1);
    let (r, x, gx) = polish(&cell, &u, &x0, 1, 50);
    assert_eq!(r.outcome, NewtonOutcome::Converged, "{r:?}");
    assert!(r.q < Q_TARGET && r.q < q0);
    assert!(r.iters >= 1 && r.iters <= 10, "{r:?}");
    for i in 0..nh {
        assert!((x[i] - want[i]).abs() < 1e-12, "{x:?} vs {want:?}");
    }
    // The returned q and G(x) are those of the returned point.
    let (g, q) = g_and_q(&cell, &u, &x, 1);
    assert_eq!(gx, g);
    assert_eq!(r.q, q);
    // From the fixed point itself: converged without an iteration.
    let (r2, x2, _) = polish(&cell, &u, &x, 1, 50);
    assert_eq!((r2.outcome, r2.iters), (NewtonOutcome::Converged, 0));
    assert_eq!(x2, x);
    assert_eq!(r2.q, q);
}

#[test]
fn backtracking_keeps_q_falling_where_the_full_step_would_raise_it() {
    // F(h) = tanh(2h): near h = 0.45, 1 − F'(h) ≈ 0.026, so the full Newton step lands near
    // h ≈ 10.7, where q ≈ 47: only a halved step lowers q.
    let p = scalar_tanh(2.0, 0.0);
    let cell = tanh1(&p);
    let x0 = [0.45];
    let (_, q0) = g_and_q(&cell, &[], &x0, 1);
    let f = x0[0] - (2.0 * x0[0]).tanh();
    let df = 1.0 - 2.0 * (1.0 - (2.0 * x0[0]).tanh().powi(2));
    let full = x0[0] - f / df;
    assert!(g_and_q(&cell, &[], &[full], 1).1 > q0);
    // q after 0, 1, 2, … iterations: the polish is deterministic, so each run's iterations
    // are the first ones of the next.
    let mut qs = vec![q0];
    let mut last = None;
    for k in 1..=50 {
        let (r, x, _) = polish(&cell, &[], &x0, 1, k);
        assert_eq!(g_and_q(&cell, &[], &x, 1).1, r.q);
        if k == 1 {
            // The accepted step is the Newton step halved m ≥ 1 times.
            let step = x[0] - x0[0];
            let ratio = (full - x0[0]) / step;
            let m = ratio.log2().round();
            assert!(
                m >= 1.0 && (ratio - m.exp2()).abs() < 1e-9 * ratio,
                "{ratio}"
            );
            assert_eq!(r.outcome, NewtonOutcome::MaxIters);
        }
        if r.outcome == NewtonOutcome::Converged {
            last = Some((r, x));
            break;
        }
        assert_eq!(r.outcome, NewtonOutcome::MaxIters, "{r:?}");
        assert_eq!(r.iters, k);
        qs.push(r.q);
    }
    assert!(
        qs.windows(2).all(|w| w[1] < w[0]),
        "q rose along the iterations: {qs:?}"
    );
    let (r, x) = last.expect("never converged");
    assert!(r.q < Q_TARGET);
    // It reached one of the three fixed points 0, ±0.9575.
    let h = x[0];
    assert!(
        h.abs() < 1e-12 || ((2.0 * h).tanh() - h).abs() < 1e-12,
        "{h}"
    );
}

#[test]
fn a_slow_point_makes_no_progress_and_stays_put() {
    // F(h) = tanh(2h + 0.6) has lost its two negative fixed points: q has a local minimum,
    // q ≈ 5.6e-4 > 0, where F'(h) = 1, i.e. 2h + b = −acosh(√2). Just beside it the Newton
    // step is ~1e7 long and points across the minimum: no halving (down to 2^-39) lowers q.
    let b = 0.6;
    let p = scalar_tanh(2.0, b);
    let cell = tanh1(&p);
    let x_min = (-(2f64.sqrt()).acosh() - b) / 2.0;
    let x0 = [x_min + 1e-9];
    let (g0, q0) = g_and_q(&cell, &[], &x0, 1);
    assert!(q0 > 1e-4 && q0 < 1e-3, "{q0}");
    let (r, x, gx) = polish(&cell, &[], &x0, 1, 50);
    assert_eq!(r.outcome, NewtonOutcome::NoProgress, "{r:?} at {x:?}");
    assert_eq!(r.iters, 1);
    assert_eq!(x, x0);
    assert_eq!(r.q, q0);
    assert_eq!(gx, g0);
}

#[test]
fn a_singular_jacobian_stops_where_it_started() {
    // A GRU whose unit 0 has its update gate at exactly 1 (σ(40) = 1 in f64): F_0(h) = h_0,
    // so row 0 of I − J is zero, while unit 1 is not at a fixed point (q > 0).
    let shape = CellShape::new(CellKind::Gru, 0, 2);
    let mut p = vec![0.0; shape.n_params()];
    let (h, gw) = (2, 6);
    let mut rng = Rng(5);
    for v in &mut p[..h * gw] {
        *v = 0.8 * rng.normal();
    }
    let b = &mut p[h * gw..];
    b[h] = 40.0; // z of unit 0
    b[h + 1] = -3.0; // z of unit 1: mostly the candidate
    b[2 * h + 1] = 1.5; // n of unit 1: away from h_1
    let cell = Cell::from_flat(shape, &p).unwrap();
    let x0 = [0.3, -0.4];
    let (g0, q0) = g_and_q(&cell, &[], &x0, 1);
    assert_eq!(g0[0], x0[0]);
    assert!(q0 > 1e-3, "{q0}");
    let (r, x, gx) = polish(&cell, &[], &x0, 1, 50);
    assert_eq!(r.outcome, NewtonOutcome::Singular, "{r:?}");
    assert_eq!(r.iters, 1);
    assert_eq!(x, x0);
    assert_eq!(r.q, q0);
    assert_eq!(gx, g0);
}

#[test]
fn the_iteration_cap_is_honored_with_q_lowered() {
    let p = scalar_tanh(2.0, 0.0);
    let cell = tanh1(&p);
    let x0 = [3.0];
    let (_, q0) = g_and_q(&cell, &[], &x0, 1);
    let (r, x, _) = polish(&cell, &[], &x0, 1, 1);
    assert_eq!((r.outcome, r.iters), (NewtonOutcome::MaxIters, 1));
    assert!(r.q < q0 && r.q >= Q_TARGET);
    assert_ne!(x, x0);
    let (r, x, _) = polish(&cell, &[], &x0, 1, 30);
    assert_eq!(r.outcome, NewtonOutcome::Converged);
    assert!((x[0] - (2.0 * x[0]).tanh()).abs() < 1e-12 && x[0] > 0.9);
}

#[test]
fn period_two_polish_converges_to_a_two_cycle() {
    // F(h) = tanh(h W) with W ≈ −3·I plus coupling: points of 2-cycles are fixed points of
    // F∘F but not of F.
    let w = [-3.0, 0.4, -0.3, -3.0];
    let p = [&w[..], &[0.1, -0.05]].concat();
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 0, 2), &p).unwrap();
    let x0 = [0.8, 0.9];
    let (r, x, gx) = polish(&cell, &[], &x0, 2, 50);
    assert_eq!(r.outcome, NewtonOutcome::Converged, "{r:?}");
    let (g, q) = g_and_q(&cell, &[], &x, 2);
    assert!(q < 1e-24);
    assert_eq!(gx, g);
    let (f1, q1) = g_and_q(&cell, &[], &x, 1);
    assert!(q1 > 0.1, "a fixed point of F, not a 2-cycle: {x:?} {f1:?}");
}

#[test]
fn outcome_codes_round_trip() {
    assert_eq!(NewtonOutcome::code(None), NewtonOutcome::NOT_RUN);
    assert_eq!(NewtonOutcome::from_code(0), Some(None));
    for (k, o) in NewtonOutcome::ALL.into_iter().enumerate() {
        let c = NewtonOutcome::code(Some(o));
        assert_eq!(c as usize, k + 1);
        assert_eq!(NewtonOutcome::from_code(c), Some(Some(o)));
    }
    assert_eq!(NewtonOutcome::from_code(5), None);
    assert_eq!(NewtonOutcome::from_code(255), None);
}

/// A value `x` with `½x² = Q_TARGET` exactly in f64, if there is one near `√(2·Q_TARGET)`.
fn exact_target_residual() -> Option<f64> {
    let mut x = (2.0 * Q_TARGET).sqrt();
    for _ in 0..64 {
        x = f64::from_bits(x.to_bits() - 1);
    }
    (0..128)
        .map(|k| f64::from_bits(x.to_bits() + k))
        .find(|&v| (v * v) * 0.5 == Q_TARGET)
}

#[test]
fn q_exactly_at_the_target_is_not_converged_yet() {
    // F ≡ 0 (w = b = 0): q = ½x². At q = Q_TARGET exactly Newton still steps (the test is
    // q < Q_TARGET), to x = 0 in one iteration.
    let x = exact_target_residual().expect("no x with ½x² = 1e-24 exactly");
    let p = scalar_tanh(0.0, 0.0);
    let cell = tanh1(&p);
    assert_eq!(g_and_q(&cell, &[], &[x], 1).1, Q_TARGET);
    let (r, y, _) = polish(&cell, &[], &[x], 1, 50);
    assert_eq!((r.outcome, r.iters), (NewtonOutcome::Converged, 1), "{r:?}");
    assert_eq!((y[0], r.q), (0.0, 0.0));
}

#[test]
fn a_step_that_leaves_q_unchanged_is_no_progress() {
    // F(h) = tanh(w h + b) with w = −1e6, b putting a fixed point at t: the fixed point is
    // so sharp that q cannot go below ~1e-23 in f64 (one ulp of h moves F by ~1e-10), while
    // the Newton step there is below half an ulp: x + αδ = x, q is unchanged, and that is no
    // progress (not a step to take again and again until the iteration cap).
    let w = -1e6;
    for t in [0.3f64, 0.5, 0.7, 0.9, -0.6] {
        let b = t.atanh() - w * t;
        let p = scalar_tanh(w, b);
        let cell = tanh1(&p);
        let (_, q0) = g_and_q(&cell, &[], &[t], 1);
        let (r, x, _) = polish(&cell, &[], &[t], 1, 50);
        assert_eq!(
            (r.outcome, r.iters),
            (NewtonOutcome::NoProgress, 1),
            "t={t}: {r:?} at {x:?}"
        );
        assert_eq!((x[0], r.q), (t, q0), "t={t}");
        assert!(r.q >= Q_TARGET && r.q < 1e-20, "t={t}: {r:?}");
    }
}
