//! Unit tests of [`super::batch`] beyond its in-file check against the one-state
//! evaluation: the workspace sizes are exactly what the kernels take (a tile's scratch in the
//! q-minimization as documented), and the q-minimization runs the tile kernels at period 1
//! and the one-state map otherwise.

use super::batch::{Packed, TILE, eval_scratch_len, eval_tile, packed_work_len, tile_scratch_len};
use super::map::{eval, eval_work_len};
use super::qmin::{self, QminOutput};
use super::{FinderOptions, Method};
use crate::cell::{Cell, CellKind, CellShape};
use crate::test_data::data;

const KINDS: [(CellKind, f64); 6] = [
    (CellKind::Tanh, 1.0),
    (CellKind::Gru, 1.0),
    (CellKind::GruTorch, 1.0),
    (CellKind::Lstm, 1.0),
    (CellKind::LeakyTanh, 0.3),
    (CellKind::LeakySoftplus, 0.5),
];

fn params(shape: &CellShape) -> Vec<f64> {
    let h = shape.n_hidden;
    data(shape.n_params(), 3 + h as u64, 1.5 / (h as f64).sqrt())
}

/// [`Packed::new`] takes exactly [`packed_work_len`] elements, and [`eval_tile`] on a full
/// tile with one input row per state exactly [`eval_scratch_len`]: one element less is
/// refused.
#[test]
fn workspace_lengths_are_exactly_what_the_kernels_take() {
    for (kind, alpha) in KINDS {
        for h in [1usize, 5, 16] {
            let shape = CellShape::new(kind, 2, h).with_alpha(alpha);
            let p = params(&shape);
            let cell = Cell::from_flat(shape, &p).unwrap();
            let sd = shape.state_dim();
            let tag = (kind.name(), h);
            let u = data(TILE * 2, 11, 1.0);
            let need = packed_work_len(&cell);
            let mut pw = vec![0.0; need - 1];
            assert!(
                Packed::new(&cell, Some(&u[..2]), &mut pw).is_none(),
                "{tag:?}"
            );
            let mut pw = vec![0.0; need];
            let packed = Packed::new(&cell, None, &mut pw).unwrap();
            let x = data(TILE * sd, 5, 1.0);
            let (mut fx, mut q, mut g) =
                (vec![0.0; TILE * sd], vec![0.0; TILE], vec![0.0; TILE * sd]);
            let len = eval_scratch_len(&cell);
            let mut run = |scratch: &mut [f64]| {
                eval_tile(
                    &cell,
                    &packed,
                    &u,
                    &x,
                    &mut fx,
                    &mut q,
                    Some(&mut g),
                    scratch,
                )
            };
            assert!(
                run(&mut vec![0.0; len - 1]).is_none(),
                "{tag:?}: eval_tile ran in less than eval_scratch_len"
            );
            let r = run(&mut vec![0.0; len]);
            assert!(r.is_some(), "{tag:?}");
        }
    }
}

/// A tile's scratch in the q-minimization is, as documented, [`eval_tile`]'s and the tile's
/// `G(x)` and gradients (`S` each per state). (Too short a scratch is caught by the test
/// below; this one catches an oversized one, which would only waste memory.)
#[test]
fn tile_scratch_is_the_kernels_and_the_tiles_outputs() {
    for (kind, alpha) in KINDS {
        for (ni, h) in [(0usize, 4usize), (1, 3), (2, 16), (5, 33)] {
            let shape = CellShape::new(kind, ni, h).with_alpha(alpha);
            let p = params(&shape);
            let cell = Cell::from_flat(shape, &p).unwrap();
            let sd = shape.state_dim();
            assert_eq!(
                tile_scratch_len(&cell),
                eval_scratch_len(&cell) + TILE * (sd + sd),
                "{:?}",
                (kind.name(), ni, h)
            );
        }
    }
}

/// The q-minimization's evaluation (after two joint Adam steps, q and `G(x)` at the returned
/// states) in a workspace of exactly [`qmin::work_len`]: at period 1 the same bits as
/// [`eval_tile`] on the same tiles of 64 states (so it runs the tile kernels, not the
/// one-state map, whose rounding differs), at period 2 the same bits as the one-state
/// two-step map. Shared and per-state inputs of sizes 1 and 2; one full tile (its scratch is
/// then exactly one tile's: a shorter one is caught) and a full plus a partial tile.
#[test]
fn q_minimization_evaluates_by_tiles_at_period_one_only() {
    let mut tile_differs_from_map = false;
    for (kind, alpha) in KINDS {
        for (h, ni) in [(3usize, 1usize), (16, 2), (33, 1)] {
            let shape = CellShape::new(kind, ni, h).with_alpha(alpha);
            let p = params(&shape);
            let cell = Cell::from_flat(shape, &p).unwrap();
            let sd = shape.state_dim();
            for (n, shared, period) in cases() {
                let x0 = data(n * sd, 7 + h as u64, 1.0);
                let u = data(if shared { ni } else { n * ni }, 13, 1.0);
                let u_of = |i: usize| if shared { &u[..ni] } else { &u[i * ni..][..ni] };
                let opts = FinderOptions {
                    method: Method::Joint,
                    max_iters: 2,
                    period,
                    ..FinderOptions::default()
                };
                let mut x = x0.clone();
                let (mut q, mut fx, mut dq) = (vec![0.0; n], vec![0.0; n * sd], vec![0.0; n]);
                let mut n_iters = vec![0; n];
                let mut work = vec![0.0; qmin::work_len(&cell, n, &opts)];
                let out = QminOutput {
                    q: &mut q,
                    fx: &mut fx,
                    dq: &mut dq,
                    n_iters: &mut n_iters,
                };
                qmin::minimize(&cell, &opts, &u, &mut x, out, &mut work, None).unwrap();
                assert_ne!(x, x0, "no step taken");
                // The one-state map at this period.
                let len = eval_work_len(sd, shape.cache_len(), shape.scratch_len(), period);
                let mut w1 = vec![0.0; len];
                let mut q_map = vec![0.0; n];
                let mut fx_map = vec![0.0; n * sd];
                for i in 0..n {
                    let xi = &x[i * sd..][..sd];
                    let fi = &mut fx_map[i * sd..][..sd];
                    q_map[i] = eval(&cell, u_of(i), xi, period, fi, None, &mut w1);
                }
                let tag = (kind.name(), h, ni, n, shared, period);
                if period == 1 {
                    // The tile kernels on the same tiles.
                    let mut pw = vec![0.0; packed_work_len(&cell)];
                    let sh = shared.then_some(&u[..ni]);
                    let packed = Packed::new(&cell, sh, &mut pw).unwrap();
                    let mut scratch = vec![0.0; eval_scratch_len(&cell)];
                    let mut q_tile = vec![0.0; n];
                    let mut fx_tile = vec![0.0; n * sd];
                    for t0 in (0..n).step_by(TILE) {
                        let rows = TILE.min(n - t0);
                        let ut = if shared {
                            &u[..]
                        } else {
                            &u[t0 * ni..][..rows * ni]
                        };
                        eval_tile(
                            &cell,
                            &packed,
                            ut,
                            &x[t0 * sd..][..rows * sd],
                            &mut fx_tile[t0 * sd..][..rows * sd],
                            &mut q_tile[t0..][..rows],
                            None,
                            &mut scratch,
                        )
                        .unwrap();
                    }
                    assert_eq!(q, q_tile, "{tag:?} q");
                    assert_eq!(fx, fx_tile, "{tag:?} fx");
                    tile_differs_from_map |= q_tile != q_map;
                    for i in 0..n {
                        assert!((q[i] - q_map[i]).abs() <= 1e-12 * q_map[i].max(1.0));
                    }
                } else {
                    assert_eq!(q, q_map, "{tag:?} q");
                    assert_eq!(fx, fx_map, "{tag:?} fx");
                }
            }
        }
    }
    // Else the period-1 comparison could not tell the two evaluations apart.
    assert!(tile_differs_from_map);
}

/// (states, shared input, period) of each run.
fn cases() -> impl Iterator<Item = (usize, bool, usize)> {
    [TILE, TILE + 37].into_iter().flat_map(|n| {
        [true, false]
            .into_iter()
            .flat_map(move |shared| [1, 2].map(|period| (n, shared, period)))
    })
}
