//! The leaky rate cells through the whole pipeline: a fixed point on ReLU's kink is found
//! and reported (per point and in the summary), one off the kink is not, smooth cells have no
//! kink field, and α changes the points' Jacobians as `(1 − α) I + α D W_hᵀ` says.

mod common;

use common::Rng;
use fpf_core::cell::{Activation, Cell, CellShape};
use fpf_core::find::FinderOptions;
use fpf_std::analysis::FixedPointFinder;

const H: usize = 6;

fn opts() -> FinderOptions {
    FinderOptions {
        lr_init: 0.05,
        tol_q: 1e-12,
        tol_unique: 1e-3,
        final_q_threshold: 1e-20,
        ..FinderOptions::default()
    }
}

/// Small recurrent weights (a contraction: one fixed point), zero input weights, bias `b`.
fn params(shape: &CellShape, b: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut p = vec![0.0; shape.n_params()];
    let (wx, wh) = (shape.len_w_x(), shape.len_w_h());
    for v in &mut p[wx..wx + wh] {
        *v = 0.3 * rng.normal() / (H as f64).sqrt();
    }
    for v in &mut p[wx + wh..] {
        *v = b;
    }
    p
}

fn inits(n: usize, seed: u64) -> Vec<f64> {
    Rng(seed).vec(n * H, 0.5)
}

#[test]
fn a_fixed_point_on_the_relu_kink_is_reported() {
    // Zero bias and input: h = 0 is the fixed point, every unit's pre-activation is 0.
    let shape = CellShape::leaky(Activation::Relu, 2, H, 0.4);
    let p = params(&shape, 0.0, 3);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let finder = FixedPointFinder::new(cell, opts()).unwrap();
    let res = finder
        .find_fixed_points(&inits(64, 5), &[0.0; 2], None, None)
        .unwrap();
    let fps = &res.unique;
    assert_eq!(fps.n, 1, "{}", res.summary());
    assert!(fps.xstar.iter().all(|v| v.abs() < 1e-10), "{:?}", fps.xstar);
    assert_eq!(fps.n_kink.as_deref(), Some(&[H][..]));
    assert_eq!(fps.n_on_kink(), 1);
    assert!(
        res.summary().contains("On an activation kink: 1 "),
        "{}",
        res.summary()
    );
    // On the kink each unit's row of J is one of the two one-sided ones, (1 − α) e_i
    // (a_i ≤ 0, φ' = 0) or that plus α times column i of W_h (a_i > 0 by a rounding
    // residue): which one is what the summary's kink count warns about.
    let wh = &p[shape.len_w_x()..shape.len_w_x() + shape.len_w_h()];
    let j = fps.j_xstar.as_ref().unwrap();
    for r in 0..H {
        let row = |d: f64| -> Vec<f64> {
            (0..H)
                .map(|c| if r == c { 0.6 } else { 0.0 } + 0.4 * d * wh[c * H + r])
                .collect()
        };
        let got = &j[r * H..(r + 1) * H];
        let near = |w: Vec<f64>| got.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-12);
        assert!(near(row(0.0)) || near(row(1.0)), "row {r}: {got:?}");
    }
    assert_eq!(fps.is_stable.as_deref(), Some(&[true][..]));
}

#[test]
fn a_fixed_point_off_the_kink_is_not_and_smooth_cells_have_no_kink_field() {
    // Bias 0.3: every unit is active at the fixed point, J = (1 − α) I + α W_hᵀ.
    let alpha = 0.25;
    let shape = CellShape::leaky(Activation::Relu, 2, H, alpha);
    let p = params(&shape, 0.3, 4);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let finder = FixedPointFinder::new(cell, opts()).unwrap();
    let res = finder
        .find_fixed_points(&inits(64, 6), &[0.0; 2], None, None)
        .unwrap();
    let fps = &res.unique;
    assert_eq!(fps.n, 1, "{}", res.summary());
    assert_eq!(fps.n_kink.as_deref(), Some(&[0][..]));
    assert!(!res.summary().contains("kink"), "{}", res.summary());
    let wh = &p[shape.len_w_x()..shape.len_w_x() + shape.len_w_h()];
    let j = fps.j_xstar.as_ref().unwrap();
    for r in 0..H {
        for c in 0..H {
            let want = if r == c { 1.0 - alpha } else { 0.0 } + alpha * wh[c * H + r];
            assert!((j[r * H + c] - want).abs() < 1e-12, "J[{r}][{c}]");
        }
    }
    // Its fixed point satisfies x = (1 − α) x + α (x W_h + b), i.e. x (I − W_h) = b.
    let x = fps.x(0);
    for i in 0..H {
        let a: f64 = (0..H).map(|k| x[k] * wh[k * H + i]).sum::<f64>() + 0.3;
        assert!((x[i] - a).abs() < 1e-12);
    }

    let soft = CellShape::leaky(Activation::Softplus, 2, H, alpha);
    let cell = Cell::from_flat(soft, &p).unwrap();
    let res = FixedPointFinder::new(cell, opts())
        .unwrap()
        .find_fixed_points(&inits(16, 7), &[0.0; 2], None, None)
        .unwrap();
    assert_eq!(res.unique.n, 1, "{}", res.summary());
    assert!(res.unique.n_kink.is_none());
}
