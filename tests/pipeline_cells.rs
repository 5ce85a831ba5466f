//! The whole finder pipeline on GRU, PyTorch-GRU and LSTM cells against fixed points computed
//! here independently (Newton's method with a finite-difference Jacobian on the cell's step,
//! certified by q < 1e-20), with `J_xstar`, `dFdu` and the period-2 Jacobians checked against
//! central finite differences of the (k-fold) map.

#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::map::{jacobian, jacobian_work_len};
use fpf_core::find::{FinderOptions, newton::NewtonOutcome};
use fpf_std::analysis::{FixedPointFinder, FixedPoints};

const KINDS: [CellKind; 3] = [CellKind::Gru, CellKind::GruTorch, CellKind::Lstm];

/// `G(x) = F^k(x)` at input `u`, with the cell's step.
fn g_map(cell: &Cell<'_, f64>, u: &[f64], x: &[f64], k: usize) -> Vec<f64> {
    let mut a = x.to_vec();
    let mut b = vec![0.0; a.len()];
    let mut cache = vec![0.0; cell.shape().cache_len()];
    for _ in 0..k {
        cell.step(u, &a, &mut b, &mut cache).unwrap();
        std::mem::swap(&mut a, &mut b);
    }
    a
}

fn q_of(cell: &Cell<'_, f64>, u: &[f64], x: &[f64], k: usize) -> f64 {
    let g = g_map(cell, u, x, k);
    0.5 * x
        .iter()
        .zip(&g)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
}

/// Central differences of `G` in the state (`s × s`) and in the input (`s × I`), row-major,
/// `[i][j] = ∂G_i/∂(x or u)_j`.
fn fd_jacobians(cell: &Cell<'_, f64>, u: &[f64], x: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let s = x.len();
    let ni = u.len();
    let h = 1e-6;
    let mut jx = vec![0.0; s * s];
    for j in 0..s {
        let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
        xp[j] += h;
        xm[j] -= h;
        let (gp, gm) = (g_map(cell, u, &xp, k), g_map(cell, u, &xm, k));
        for i in 0..s {
            jx[i * s + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    let mut ju = vec![0.0; s * ni];
    for j in 0..ni {
        let (mut up, mut um) = (u.to_vec(), u.to_vec());
        up[j] += h;
        um[j] -= h;
        let (gp, gm) = (g_map(cell, &up, x, k), g_map(cell, &um, x, k));
        for i in 0..s {
            ju[i * ni + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    (jx, ju)
}

/// Solves `a y = b` (`n × n`, row-major) by Gaussian elimination with partial pivoting.
fn solve(n: usize, mut a: Vec<f64>, mut b: Vec<f64>) -> Vec<f64> {
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| a[i * n + k].abs().total_cmp(&a[j * n + k].abs()))
            .unwrap();
        for j in 0..n {
            a.swap(k * n + j, p * n + j);
        }
        b.swap(k, p);
        assert!(a[k * n + k].abs() > 1e-12, "singular Newton matrix");
        for i in k + 1..n {
            let l = a[i * n + k] / a[k * n + k];
            for j in k..n {
                a[i * n + j] -= l * a[k * n + j];
            }
            b[i] -= l * b[k];
        }
    }
    let mut y = vec![0.0; n];
    for k in (0..n).rev() {
        let s: f64 = (k + 1..n).map(|j| a[k * n + j] * y[j]).sum();
        y[k] = (b[k] - s) / a[k * n + k];
    }
    y
}

/// Newton on `x − G(x) = 0` with the finite-difference Jacobian; `None` if it does not reach
/// q < 1e-20 (the certificate) within 100 iterations or leaves the box |x| < 10.
fn own_newton(cell: &Cell<'_, f64>, u: &[f64], x0: &[f64], k: usize) -> Option<Vec<f64>> {
    let s = x0.len();
    let mut x = x0.to_vec();
    for _ in 0..100 {
        let g = g_map(cell, u, &x, k);
        let r: Vec<f64> = x.iter().zip(&g).map(|(a, b)| a - b).collect();
        if 0.5 * r.iter().map(|v| v * v).sum::<f64>() < 1e-26 {
            break;
        }
        let (jx, _) = fd_jacobians(cell, u, &x, k);
        let mut a = vec![0.0; s * s];
        for i in 0..s {
            for j in 0..s {
                a[i * s + j] = f64::from(u8::from(i == j)) - jx[i * s + j];
            }
        }
        let d = solve(s, a, r);
        for i in 0..s {
            x[i] -= d[i];
        }
        if x.iter().any(|v| !v.is_finite() || v.abs() > 10.0) {
            return None;
        }
    }
    (q_of(cell, u, &x, k) < 1e-20).then_some(x)
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

/// Distinct points of a list (max-norm distance above `tol`).
fn distinct(points: Vec<Vec<f64>>, tol: f64) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::new();
    for p in points {
        if out.iter().all(|q| dist(q, &p) > tol) {
            out.push(p);
        }
    }
    out
}

fn max_rel_err(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(1e-2f64, |m, v| m.max(v.abs()));
    dist(a, b) / scale
}

/// Checks the Jacobians the finder stored at point `i` against finite differences.
fn check_jacobians(cell: &Cell<'_, f64>, fps: &FixedPoints, i: usize, k: usize, label: &str) {
    let (s, ni) = (fps.n_states, fps.n_inputs);
    let (jx, ju) = fd_jacobians(cell, fps.u(i), fps.x(i), k);
    let j = &fps.j_xstar.as_ref().unwrap()[i * s * s..(i + 1) * s * s];
    let d = &fps.dfdu.as_ref().unwrap()[i * s * ni..(i + 1) * s * ni];
    let e = max_rel_err(j, &jx);
    assert!(
        e < 1e-7,
        "{label}: J_xstar differs from finite differences by {e:e}"
    );
    let e = max_rel_err(d, &ju);
    assert!(
        e < 1e-7,
        "{label}: dFdu differs from finite differences by {e:e}"
    );
}

/// Random weights of gain `gain` (the recurrent map is then a contraction for small gains).
fn random_params(shape: CellShape, gain: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    rng.vec(shape.n_params(), gain / (shape.n_hidden as f64).sqrt())
}

/// Sets `w_h`'s block `block` (gate columns) to the `H × H` matrix `m` (`m[i][j]`: from unit
/// i to unit j) and the bias of that block (first bias row) to `bias` (one per unit).
fn set_block(shape: CellShape, p: &mut [f64], block: usize, m: &[f64], bias: &[f64]) {
    let (ni, h) = (shape.n_inputs, shape.n_hidden);
    let gw = shape.gate_width();
    let w_h = ni * gw;
    for i in 0..h {
        for j in 0..h {
            p[w_h + i * gw + block * h + j] = m[i * h + j];
        }
    }
    let b = w_h + h * gw;
    for j in 0..h {
        p[b + block * h + j] = bias[j];
    }
    // PyTorch cells: the second bias row adds to the first; zero it for this block.
    if shape.kind.n_bias_rows() == 2 {
        for j in 0..h {
            p[b + gw + block * h + j] = 0.0;
        }
    }
}

fn finder_opts() -> FinderOptions {
    FinderOptions {
        lr_init: 0.02,
        tol_unique: 1e-3,
        final_q_threshold: 1e-12,
        ..FinderOptions::default()
    }
}

#[test]
fn unique_fixed_point_of_a_contraction_with_its_jacobians() {
    for (n, kind) in KINDS.into_iter().enumerate() {
        let label = kind.name();
        let shape = CellShape::new(kind, 3, 4);
        let p = random_params(shape, 0.6, 10 + n as u64);
        let cell = Cell::from_flat(shape, &p).unwrap();
        let s = shape.state_dim();
        let mut rng = Rng(77 + n as u64);
        let u = rng.vec(3, 1.0);
        let inits = rng.vec(8 * s, 0.7);
        let want = own_newton(&cell, &u, &inits[..s], 1).expect("own Newton failed");
        // From every start the same point: the map is a contraction.
        for k in 1..8 {
            let other = own_newton(&cell, &u, &inits[k * s..(k + 1) * s], 1).unwrap();
            assert!(dist(&other, &want) < 1e-10, "{label}");
        }
        let res = FixedPointFinder::new(cell, finder_opts())
            .unwrap()
            .find_fixed_points(&inits, &u, None, None)
            .unwrap();
        let fps = &res.unique;
        assert_eq!(fps.n, 1, "{label}: {:?}", fps.xstar);
        assert!(dist(fps.x(0), &want) < 1e-10, "{label}");
        assert!(q_of(&cell, &u, fps.x(0), 1) < 1e-20);
        assert_eq!(fps.newton[0], Some(NewtonOutcome::Converged));
        assert!(fps.is_stable.as_ref().unwrap()[0], "{label}");
        check_jacobians(&cell, fps, 0, 1, label);
        // The input Jacobian is not trivial here.
        assert!(fps.dfdu.as_ref().unwrap().iter().any(|v| v.abs() > 1e-2));
    }
}

#[test]
fn multistable_cells_every_found_point_is_a_certified_fixed_point() {
    for (n, kind) in KINDS.into_iter().enumerate() {
        let label = kind.name();
        let shape = CellShape::new(kind, 2, 2);
        let mut p = random_params(shape, 0.2, 20 + n as u64);
        // Strong self-excitation through the candidate (GRU n, LSTM g), the other gates
        // open so that the cell is close to h ← tanh(3h + small coupling): bistable units.
        let m = [3.0, 0.3, -0.2, 3.0];
        match kind {
            CellKind::Lstm => {
                set_block(shape, &mut p, 0, &[0.0; 4], &[8.0; 2]); // i ≈ 1
                set_block(shape, &mut p, 1, &[0.0; 4], &[-8.0; 2]); // f ≈ 0
                set_block(shape, &mut p, 2, &[4.0, 0.3, -0.2, 4.0], &[0.05; 2]); // g
                set_block(shape, &mut p, 3, &[0.0; 4], &[8.0; 2]); // o ≈ 1
            }
            _ => {
                set_block(shape, &mut p, 0, &[0.0; 4], &[8.0; 2]); // r ≈ 1
                set_block(shape, &mut p, 1, &[0.0; 4], &[-3.0; 2]); // z small
                set_block(shape, &mut p, 2, &m, &[0.05; 2]); // n
            }
        }
        let cell = Cell::from_flat(shape, &p).unwrap();
        let s = shape.state_dim();
        let u = [0.1, -0.2];
        let mut rng = Rng(5 + n as u64);
        let inits = rng.vec(64 * s, 0.8);
        let mine = distinct(
            (0..64)
                .filter_map(|k| own_newton(&cell, &u, &inits[k * s..(k + 1) * s], 1))
                .collect(),
            1e-6,
        );
        assert!(mine.len() >= 4, "{label}: {mine:?}");
        let res = FixedPointFinder::new(cell, finder_opts())
            .unwrap()
            .find_fixed_points(&inits, &u, None, None)
            .unwrap();
        let fps = &res.unique;
        assert!(fps.n >= 4, "{label}: {}", res.summary());
        for i in 0..fps.n {
            assert!(q_of(&cell, &u, fps.x(i), 1) < 1e-20, "{label} point {i}");
            let m = mine
                .iter()
                .map(|p| dist(p, fps.x(i)))
                .fold(f64::INFINITY, f64::min);
            assert!(
                m < 1e-9,
                "{label}: point {:?} is none of {mine:?}",
                fps.x(i)
            );
            check_jacobians(&cell, fps, i, 1, &format!("{label} point {i}"));
        }
        // The stable ones (the map iterated from nearby comes back) are all found.
        let stable_mine: Vec<&Vec<f64>> = mine
            .iter()
            .filter(|x| {
                let mut y: Vec<f64> = x.iter().map(|v| v + 1e-4).collect();
                for _ in 0..500 {
                    y = g_map(&cell, &u, &y, 1);
                }
                dist(&y, x) < 1e-8
            })
            .collect();
        for x in &stable_mine {
            let i = (0..fps.n).find(|&i| dist(fps.x(i), x) < 1e-9);
            let i = i.unwrap_or_else(|| panic!("{label}: stable {x:?} not found"));
            assert!(fps.is_stable.as_ref().unwrap()[i], "{label}");
        }
        let n_stable_mine = stable_mine.len();
        assert_eq!(fps.n_stable(), n_stable_mine, "{label}: {}", res.summary());
    }
}

/// Cells whose candidate has strong negative self-feedback: F is close to h ← tanh(−2h + b) (b unequal across units),
/// which has 2-cycles.
fn oscillating(kind: CellKind, seed: u64) -> (CellShape, Vec<f64>) {
    let shape = CellShape::new(kind, 2, 2);
    let mut p = random_params(shape, 0.1, seed);
    let m = [-2.0, 0.3, 0.2, -2.2];
    match kind {
        CellKind::Lstm => {
            set_block(shape, &mut p, 0, &[0.0; 4], &[8.0; 2]);
            set_block(shape, &mut p, 1, &[0.0; 4], &[-8.0; 2]);
            set_block(shape, &mut p, 2, &[-3.0, 0.4, 0.3, -3.2], &[0.4, -0.3]);
            set_block(shape, &mut p, 3, &[0.0; 4], &[8.0; 2]);
        }
        _ => {
            set_block(shape, &mut p, 0, &[0.0; 4], &[8.0; 2]);
            set_block(shape, &mut p, 1, &[0.0; 4], &[-8.0; 2]);
            set_block(shape, &mut p, 2, &m, &[0.4, -0.3]);
        }
    }
    (shape, p)
}

#[test]
fn two_cycles_with_the_period_two_jacobians() {
    for (n, kind) in KINDS.into_iter().enumerate() {
        let label = kind.name();
        let (shape, p) = oscillating(kind, 30 + n as u64);
        let cell = Cell::from_flat(shape, &p).unwrap();
        let s = shape.state_dim();
        let u = [0.05, -0.1];
        // The stable 2-cycle, by iterating F∘F and then Newton on it.
        let mut x0 = vec![0.7; s];
        for _ in 0..300 {
            x0 = g_map(&cell, &u, &x0, 2);
        }
        let a = own_newton(&cell, &u, &x0, 2).expect("own Newton on F∘F failed");
        let b = g_map(&cell, &u, &a, 1);
        assert!(dist(&a, &b) > 0.5, "{label}: not a 2-cycle: {a:?}");
        assert!(q_of(&cell, &u, &b, 2) < 1e-20);
        // The Jacobian of F∘F at a is J(b) J(a), not J(a) J(b).
        let (ja, _) = fd_jacobians(&cell, &u, &a, 1);
        let (jb, _) = fd_jacobians(&cell, &u, &b, 1);
        let prod = |l: &[f64], r: &[f64]| -> Vec<f64> {
            let mut o = vec![0.0; s * s];
            for i in 0..s {
                for k in 0..s {
                    for j in 0..s {
                        o[i * s + j] += l[i * s + k] * r[k * s + j];
                    }
                }
            }
            o
        };
        let (ba, ab) = (prod(&jb, &ja), prod(&ja, &jb));
        assert!(
            max_rel_err(&ab, &ba) > 1e-3,
            "{label}: the order does not matter"
        );
        let opts = FinderOptions {
            period: 2,
            ..finder_opts()
        };
        let mut rng = Rng(40 + n as u64);
        let inits: Vec<f64> = (0..16)
            .flat_map(|k| {
                let base = if k % 2 == 0 { &a } else { &b };
                base.iter()
                    .map(|v| v + 0.05 * rng.normal())
                    .collect::<Vec<_>>()
            })
            .collect();
        let res = FixedPointFinder::new(cell, opts)
            .unwrap()
            .find_fixed_points(&inits, &u, None, None)
            .unwrap();
        let fps = &res.unique;
        assert_eq!(fps.period, 2);
        for (want, other) in [(&a, &b), (&b, &a)] {
            let i = (0..fps.n)
                .find(|&i| dist(fps.x(i), want) < 1e-9)
                .unwrap_or_else(|| panic!("{label}: {want:?} not found: {:?}", fps.xstar));
            assert_eq!(fps.min_period.as_ref().unwrap()[i], 2, "{label}");
            assert!(fps.is_stable.as_ref().unwrap()[i], "{label}");
            // f_xstar is G(x*) = x*, the partner is F(x*).
            assert!(dist(&fps.f_xstar[i * s..(i + 1) * s], want) < 1e-9);
            assert!(dist(&g_map(&cell, &u, fps.x(i), 1), other) < 1e-9);
            check_jacobians(&cell, fps, i, 2, &format!("{label} period 2"));
        }
    }
}

#[test]
fn kfold_jacobians_match_finite_differences_anywhere() {
    for (n, kind) in KINDS.into_iter().enumerate() {
        let shape = CellShape::new(kind, 3, 3);
        let p = random_params(shape, 1.5, 50 + n as u64);
        let cell = Cell::from_flat(shape, &p).unwrap();
        let s = shape.state_dim();
        let mut rng = Rng(60 + n as u64);
        for k in 1..=3 {
            let x = rng.vec(s, 0.7);
            let u = rng.vec(3, 1.0);
            let mut j = vec![0.0; s * s];
            let mut d = vec![0.0; s * 3];
            let mut work = vec![0.0; jacobian_work_len(&cell, k)];
            jacobian(&cell, &u, &x, k, &mut j, Some(&mut d), &mut work);
            let (jx, ju) = fd_jacobians(&cell, &u, &x, k);
            let e = max_rel_err(&j, &jx);
            assert!(e < 1e-7, "{} k={k}: J {e:e}", kind.name());
            let e = max_rel_err(&d, &ju);
            assert!(e < 1e-7, "{} k={k}: dF/du {e:e}", kind.name());
            // Without dfdu, the same J.
            let mut j2 = vec![0.0; s * s];
            jacobian(&cell, &u, &x, k, &mut j2, None, &mut work);
            assert_eq!(j, j2);
        }
    }
}
