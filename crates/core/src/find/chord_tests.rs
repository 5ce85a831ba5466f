//! Unit tests of [`super::chord`] through its public functions, with workspaces of exactly
//! the stated lengths: a full tile converges to the anchor's fixed point, a state that does
//! not converge is left bit for bit where it was, a state already below the target is
//! accepted without a step, and the argument checks.

use super::chord::{self, MAX_TILE, Operands};
use super::map::{eval, eval_work_len};
use super::newton::{self, NewtonOutcome, Q_TARGET};
use crate::cell::{Cell, CellKind, CellShape};
use crate::test_data::data;

/// A network, its input row and its fixed point there (Newton from 0, converged).
struct Fixture {
    shape: CellShape,
    p: Vec<f64>,
    u: Vec<f64>,
    xstar: Vec<f64>,
}

impl Fixture {
    fn new(kind: CellKind, h: usize, seed: u64) -> Self {
        let shape = CellShape::new(kind, 2, h);
        let p = data(shape.n_params(), seed, 1.2 / (h as f64).sqrt());
        let u = data(2, seed + 1, 0.5);
        let cell = Cell::from_flat(shape, &p).unwrap();
        let s = shape.state_dim();
        let mut xstar = vec![0.0; s];
        let mut work = vec![0.0; newton::work_len(&cell, 1)];
        let (mut piv, mut gx) = (vec![0; s], vec![0.0; s]);
        let r = newton::polish(&cell, &u, &mut xstar, 1, 100, &mut gx, &mut work, &mut piv);
        assert_eq!(r.outcome, NewtonOutcome::Converged, "{kind:?} H = {h}");
        Fixture { shape, p, u, xstar }
    }

    fn cell(&self) -> Cell<'_, f64> {
        Cell::from_flat(self.shape, &self.p).unwrap()
    }

    /// The anchor at `x*`, built with workspaces of exactly the stated lengths.
    fn anchor(&self) -> Vec<f64> {
        let cell = self.cell();
        let mut anchor = vec![0.0; chord::anchor_len(&cell)];
        let mut work = vec![0.0; chord::anchor_work_len(&cell)];
        let mut piv = vec![0; self.shape.state_dim()];
        chord::make_anchor(
            &cell,
            &self.u,
            &self.xstar,
            &mut anchor,
            &mut work,
            &mut piv,
        )
        .expect("I − J at a stable fixed point of a contraction is regular");
        anchor
    }

    /// `rows` states at `x*` plus noise of size `scale[i % scale.len()]`.
    fn states(&self, rows: usize, scale: &[f64], seed: u64) -> Vec<f64> {
        let s = self.shape.state_dim();
        let noise = data(rows * s, seed, 1.0);
        (0..rows * s)
            .map(|k| self.xstar[k % s] + scale[(k / s) % scale.len()] * noise[k])
            .collect()
    }
}

/// The outputs of one [`chord::chord_tile`] call.
struct Tile {
    ok: Option<()>,
    x: Vec<f64>,
    fx: Vec<f64>,
    q: Vec<f64>,
    converged: Vec<bool>,
}

/// Runs the chord on `x` (`rows` states, `conv_len` flags), the input shared or one row per
/// state, with exactly [`chord::operands_len`] and [`chord::tile_work_len`] elements.
fn run(f: &Fixture, x: &[f64], rows: usize, conv_len: usize, shared: bool, steps: usize) -> Tile {
    let cell = f.cell();
    let s = f.shape.state_dim();
    let anchor = f.anchor();
    let mut ops_buf = vec![0.0; chord::operands_len(&cell)];
    let ops = Operands::new(&cell, shared.then_some(&f.u[..]), &mut ops_buf).unwrap();
    let inputs: Vec<f64> = if shared {
        Vec::new()
    } else {
        (0..rows).flat_map(|_| f.u.iter().copied()).collect()
    };
    let mut t = Tile {
        ok: None,
        x: x.to_vec(),
        fx: vec![0.0; rows * s],
        q: vec![0.0; rows],
        converged: vec![false; conv_len],
    };
    let mut work = vec![0.0; chord::tile_work_len(&cell)];
    t.ok = chord::chord_tile(
        &cell,
        &ops,
        &inputs,
        &anchor,
        &mut t.x,
        &mut t.fx,
        &mut t.q,
        &mut t.converged,
        steps,
        &mut work,
    );
    t
}

/// `G(x)` and q of one state, by the one-state evaluation.
fn g_and_q(f: &Fixture, x: &[f64]) -> (Vec<f64>, f64) {
    let cell = f.cell();
    let sh = f.shape;
    let s = sh.state_dim();
    let mut gx = vec![0.0; s];
    let mut work = vec![0.0; eval_work_len(s, sh.cache_len(), sh.scratch_len(), 1)];
    let q = eval(&cell, &f.u, x, 1, &mut gx, None, &mut work);
    (gx, q)
}

/// `½‖x − fx‖²`.
fn half_sq(x: &[f64], fx: &[f64]) -> f64 {
    0.5 * x
        .iter()
        .zip(fx)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs()
}

fn max_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
}

/// A full tile (and a partial one) converges to `x*` with the workspaces of the stated
/// lengths, for `S = 1` and larger states, shared and per-state inputs; `fx` and `q` are
/// `G` and q at the returned points.
#[test]
fn a_full_tile_converges_to_the_anchor_with_the_stated_workspaces() {
    for (kind, h) in [
        (CellKind::Tanh, 1),
        (CellKind::Tanh, 9),
        (CellKind::Gru, 4),
        (CellKind::Lstm, 3),
    ] {
        let f = Fixture::new(kind, h, 11 + h as u64);
        let s = f.shape.state_dim();
        for rows in [MAX_TILE, 5] {
            let x = f.states(rows, &[1e-3, 1e-2, 3e-2], 5);
            for shared in [true, false] {
                let t = run(&f, &x, rows, rows, shared, 40);
                let what = format!("{kind:?} H = {h}, {rows} rows, shared {shared}");
                assert_eq!(t.ok, Some(()), "{what}");
                assert!(t.converged.iter().all(|&c| c), "{what}: {:?}", t.converged);
                for i in 0..rows {
                    let xi = &t.x[i * s..(i + 1) * s];
                    assert!(t.q[i] < Q_TARGET, "{what}: q[{i}] = {:e}", t.q[i]);
                    assert!(max_dist(xi, &f.xstar) < 1e-10, "{what}: state {i}");
                    let fxi = &t.fx[i * s..(i + 1) * s];
                    assert!(max_dist(fxi, &g_and_q(&f, xi).0) < 1e-14, "{what}");
                    assert!(close(t.q[i], half_sq(xi, fxi)), "{what}: q[{i}]");
                }
            }
        }
    }
}

/// With one step allowed, the states next to `x*` converge and the far ones do not: those
/// are left exactly where they started.
#[test]
fn a_state_that_does_not_converge_is_left_where_it_was() {
    let f = Fixture::new(CellKind::Tanh, 9, 3);
    let s = f.shape.state_dim();
    let rows = 40;
    let x = f.states(rows, &[1e-9, 0.3], 8);
    let t = run(&f, &x, rows, rows, true, 1);
    assert_eq!(t.ok, Some(()));
    for i in 0..rows {
        let (xi, x0) = (&t.x[i * s..(i + 1) * s], &x[i * s..(i + 1) * s]);
        if i % 2 == 0 {
            assert!(
                t.converged[i],
                "near state {i} did not converge in one step"
            );
            assert!(max_dist(xi, &f.xstar) < 1e-12);
        } else {
            assert!(!t.converged[i], "far state {i} converged in one step");
            assert_eq!(xi, x0, "far state {i} moved");
        }
    }
}

/// A state that starts below the target is accepted as it is, also with no step allowed.
#[test]
fn a_state_below_the_target_is_accepted_without_a_step() {
    let f = Fixture::new(CellKind::Tanh, 6, 21);
    let s = f.shape.state_dim();
    let (_, q_star) = g_and_q(&f, &f.xstar);
    // (The tile's q, from its batched `G`, differs from `q_star` in the last bits.)
    assert!(q_star < Q_TARGET);
    let rows = 3;
    let x: Vec<f64> = (0..rows).flat_map(|_| f.xstar.iter().copied()).collect();
    for steps in [0, 5] {
        let t = run(&f, &x, rows, rows, true, steps);
        assert_eq!(t.ok, Some(()));
        assert_eq!(t.converged, vec![true; rows], "{steps} steps");
        assert_eq!(t.x, x, "{steps} steps: a converged state moved");
        for i in 0..rows {
            let fxi = &t.fx[i * s..(i + 1) * s];
            assert!(max_dist(fxi, &g_and_q(&f, &f.xstar).0) < 1e-15);
            assert!(close(t.q[i], half_sq(&f.xstar, fxi)), "q[{i}]");
        }
    }
}

/// More than [`MAX_TILE`] states or too few flags is `None` (nothing converged); more
/// flags than states is fine.
#[test]
fn tile_arguments_are_checked() {
    let f = Fixture::new(CellKind::Tanh, 4, 5);
    let x = f.states(MAX_TILE + 1, &[1e-3], 2);
    let t = run(&f, &x, MAX_TILE + 1, MAX_TILE + 1, true, 40);
    assert_eq!(t.ok, None);
    assert_eq!(t.x, x);
    let t = run(&f, &x[..8 * 4], 8, 7, true, 40);
    assert_eq!(t.ok, None);
    let t = run(&f, &x[..8 * 4], 8, 12, true, 40);
    assert_eq!(t.ok, Some(()));
    assert!(t.converged[..8].iter().all(|&c| c));
}

/// The chord iterates the one-step map: period 1 only.
#[test]
fn only_period_one_is_supported() {
    let f = Fixture::new(CellKind::Gru, 3, 1);
    let cell = f.cell();
    assert!(chord::supported(&cell, 1));
    assert!(!chord::supported(&cell, 2));
    assert!(!chord::supported(&cell, 3));
}
