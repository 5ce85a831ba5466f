//! Every cell's Jacobians and vector-Jacobian products against central finite differences,
//! f32 against f64, the const-generic cells against the run-time ones, and the PyTorch cells
//! against PyTorch's formulas on a hand-computed example.

#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use fpf_core::cell::fixed::{GruCell, GruTorchCell, LstmCell, TanhCell};
use fpf_core::cell::{Activation, Cell, CellKind, CellShape, KINK_TOL, WeightsMut};

const SIZES: [usize; 6] = [1, 2, 3, 7, 16, 64];
const N_IN: usize = 3;

struct Case {
    shape: CellShape,
    p: Vec<f64>,
    x: Vec<f64>,
    h: Vec<f64>,
}

/// Random weights; `gain` > 1 saturates the nonlinearities.
fn case(kind: CellKind, nh: usize, gain: f64, seed: u64) -> Case {
    let mut rng = Rng(seed);
    let shape = CellShape::new(kind, N_IN, nh);
    let scale = gain / (nh as f64).sqrt();
    let p = rng.vec(shape.n_params(), scale);
    let x = rng.vec(N_IN, 1.0);
    let h = rng.vec(shape.state_dim(), 0.7);
    Case { shape, p, x, h }
}

fn step(shape: CellShape, p: &[f64], x: &[f64], h: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let cell = Cell::from_flat(shape, p).unwrap();
    let mut out = vec![0.0; shape.state_dim()];
    let mut cache = vec![0.0; shape.cache_len()];
    cell.step(x, h, &mut out, &mut cache).unwrap();
    (out, cache)
}

/// Central difference of F along coordinate `k` of the vector selected by `which`
/// (0: state, 1: input, 2: parameters).
fn fd_column(c: &Case, which: usize, k: usize) -> Vec<f64> {
    let (mut p, mut x, mut h) = (c.p.clone(), c.x.clone(), c.h.clone());
    let v = match which {
        0 => &mut h,
        1 => &mut x,
        _ => &mut p,
    };
    let base = v[k];
    let eps = 1e-6 * base.abs().max(1.0);
    v[k] = base + eps;
    let (fp, _) = step(c.shape, &p, &x, &h);
    let v = match which {
        0 => &mut h,
        1 => &mut x,
        _ => &mut p,
    };
    v[k] = base - eps;
    let (fm, _) = step(c.shape, &p, &x, &h);
    fp.iter()
        .zip(&fm)
        .map(|(a, b)| (a - b) / (2.0 * eps))
        .collect()
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

fn check_case(c: &Case, label: &str) {
    let s = c.shape;
    let sd = s.state_dim();
    let cell = Cell::from_flat(s, &c.p).unwrap();
    let (_, cache) = step(s, &c.p, &c.x, &c.h);
    let mut scratch = vec![0.0; cell.jacobian_scratch_len()];

    // State Jacobian.
    let mut jac = vec![0.0; sd * sd];
    cell.jacobian(&c.x, &c.h, &cache, &mut jac, &mut scratch)
        .unwrap();
    let mut fd = vec![0.0; sd * sd];
    for j in 0..sd {
        for (i, v) in fd_column(c, 0, j).into_iter().enumerate() {
            fd[i * sd + j] = v;
        }
    }
    let e = rel_err(&jac, &fd);
    assert!(e < 1e-6, "{label}: state Jacobian rel err {e:e}");

    // Input Jacobian.
    let mut ij = vec![0.0; sd * N_IN];
    cell.input_jacobian(&c.x, &c.h, &cache, &mut ij, &mut scratch)
        .unwrap();
    let mut fdi = vec![0.0; sd * N_IN];
    for k in 0..N_IN {
        for (i, v) in fd_column(c, 1, k).into_iter().enumerate() {
            fdi[i * N_IN + k] = v;
        }
    }
    let e = rel_err(&ij, &fdi);
    assert!(e < 1e-6, "{label}: input Jacobian rel err {e:e}");

    // Vector-Jacobian products for a random upstream gradient.
    let mut rng = Rng(99);
    let g = rng.vec(sd, 1.0);
    let mut gh = vec![0.0; sd];
    let mut gx = vec![0.0; N_IN];
    let mut gp = vec![0.0; s.n_params()];
    let mut vscratch = vec![0.0; s.scratch_len()];
    {
        let mut gw = WeightsMut::from_flat(&s, &mut gp).unwrap();
        cell.vjp(
            &c.x,
            &c.h,
            &cache,
            &g,
            &mut gh,
            Some(&mut gx),
            Some(&mut gw),
            &mut vscratch,
        )
        .unwrap();
    }
    let want_h: Vec<f64> = (0..sd)
        .map(|j| (0..sd).map(|i| g[i] * fd[i * sd + j]).sum())
        .collect();
    let e = rel_err(&gh, &want_h);
    assert!(e < 1e-6, "{label}: vjp state rel err {e:e}");
    let want_x: Vec<f64> = (0..N_IN)
        .map(|k| (0..sd).map(|i| g[i] * fdi[i * N_IN + k]).sum())
        .collect();
    let e = rel_err(&gx, &want_x);
    assert!(e < 1e-6, "{label}: vjp input rel err {e:e}");

    // Parameters: every one for small sizes, a random sample of 400 for large ones.
    let n = s.n_params();
    let idx: Vec<usize> = if n <= 2000 {
        (0..n).collect()
    } else {
        (0..400)
            .map(|_| (rng.next_u64() % n as u64) as usize)
            .collect()
    };
    let mut got = Vec::new();
    let mut want = Vec::new();
    for k in idx {
        let col = fd_column(c, 2, k);
        want.push(g.iter().zip(&col).map(|(a, b)| a * b).sum::<f64>());
        got.push(gp[k]);
    }
    let e = rel_err(&got, &want);
    assert!(e < 1e-6, "{label}: vjp parameter rel err {e:e}");

    // The vjp accumulates into the parameter gradient: a second call doubles it.
    let before = gp.clone();
    {
        let mut gw = WeightsMut::from_flat(&s, &mut gp).unwrap();
        cell.vjp(
            &c.x,
            &c.h,
            &cache,
            &g,
            &mut gh,
            None,
            Some(&mut gw),
            &mut vscratch,
        )
        .unwrap();
    }
    for (a, b) in gp.iter().zip(&before) {
        assert!((a - 2.0 * b).abs() <= 1e-12 * b.abs().max(1.0));
    }
}

#[test]
fn jacobians_and_vjps_match_finite_differences() {
    for kind in CellKind::ALL {
        for &nh in &SIZES {
            for (gain, tag) in [(1.0, "normal"), (6.0, "saturated")] {
                let c = case(kind, nh, gain, 1000 + nh as u64);
                check_case(&c, &format!("{} H={nh} {tag}", kind.name()));
            }
        }
    }
}

/// The leaky cells at several `α` (1 included) and hidden sizes up to 256, every `φ`.
#[test]
fn leaky_cells_match_finite_differences() {
    for act in Activation::ALL {
        for alpha in [1.0, 0.3, 0.05] {
            for nh in [1usize, 7, 64, 256] {
                let mut c = case(CellKind::leaky(act), nh, 1.5, 77 + nh as u64);
                c.shape = c.shape.with_alpha(alpha);
                let label = format!("leaky {} alpha={alpha} H={nh}", act.name());
                // ReLU: the finite differences must not straddle a kink.
                let cell = Cell::from_flat(c.shape, &c.p).unwrap();
                let mut a = vec![0.0; nh];
                assert_eq!(cell.kink_units(&c.x, &c.h, &mut a).unwrap(), 0, "{label}");
                check_case(&c, &label);
            }
        }
    }
}

/// α = 1 with φ = tanh is the Elman cell, bit for bit; α < 1 keeps `(1 − α) h`.
#[test]
fn leaky_tanh_at_alpha_one_is_the_tanh_cell() {
    let c = case(CellKind::Tanh, 16, 1.0, 5);
    let (want, _) = step(c.shape, &c.p, &c.x, &c.h);
    let leaky = CellShape::leaky(Activation::Tanh, N_IN, 16, 1.0);
    let (got, _) = step(leaky, &c.p, &c.x, &c.h);
    assert_eq!(got, want);
    let (half, _) = step(leaky.with_alpha(0.25), &c.p, &c.x, &c.h);
    for k in 0..16 {
        let expect = 0.75 * c.h[k] + 0.25 * want[k];
        assert!((half[k] - expect).abs() < 1e-15, "{k}");
    }
}

/// At a pre-activation of exactly 0 the ReLU cell uses `φ'(0) = 0`: with zero weights and
/// bias, `J = (1 − α) I`, and every unit is counted as on the kink; a unit just beyond
/// [`KINK_TOL`] is not.
#[test]
fn relu_kink_uses_the_left_derivative_and_is_counted() {
    let nh = 4;
    let shape = CellShape::leaky(Activation::Relu, 2, nh, 0.2);
    let mut p = vec![0.0; shape.n_params()];
    let cell = Cell::from_flat(shape, &p).unwrap();
    let (x, h) = ([0.0; 2], [0.0; 4]);
    let (f, cache) = step(shape, &p, &x, &h);
    assert_eq!(f, vec![0.0; nh]);
    let mut jac = vec![0.0; nh * nh];
    let mut scratch = vec![0.0; cell.jacobian_scratch_len()];
    cell.jacobian(&x, &h, &cache, &mut jac, &mut scratch)
        .unwrap();
    for i in 0..nh {
        for j in 0..nh {
            let want = if i == j { 0.8 } else { 0.0 };
            assert!((jac[i * nh + j] - want).abs() < 1e-15, "J[{i}][{j}]");
        }
    }
    let mut a = vec![0.0; nh];
    assert_eq!(cell.kink_units(&x, &h, &mut a).unwrap(), nh);
    // Biases: one unit on the tolerance, one just past it, two far away.
    let nb = shape.len_w_x() + shape.len_w_h();
    p[nb..].copy_from_slice(&[KINK_TOL, 2.0 * KINK_TOL, 0.5, -0.5]);
    let cell = Cell::from_flat(shape, &p).unwrap();
    assert_eq!(cell.kink_units(&x, &h, &mut a).unwrap(), 1);
    // Smooth cells have no kinks.
    let smooth = CellShape::leaky(Activation::Softplus, 2, nh, 0.2);
    let cell = Cell::from_flat(smooth, &p).unwrap();
    assert_eq!(cell.kink_units(&x, &h, &mut a).unwrap(), 0);
}

/// `φ'(0) = 0` for ReLU also where it matters: with nonzero weights and `h = x = 0` (so every
/// pre-activation is exactly 0) the Jacobian is `(1 − α) I`, not `(1 − α) I + α W_hᵀ`, and
/// `eval` itself gives `(0, 0)` at 0 and `(a, 1)` just above it.
#[test]
fn relu_derivative_at_exactly_zero_is_zero_with_nonzero_weights() {
    assert_eq!(Activation::Relu.eval(0.0f64), (0.0, 0.0));
    assert_eq!(Activation::Relu.eval(-0.0f64), (0.0, 0.0));
    assert_eq!(Activation::Relu.eval(1e-300f64), (1e-300, 1.0));
    let nh = 3;
    let shape = CellShape::leaky(Activation::Relu, 1, nh, 0.2);
    let mut p = vec![0.0; shape.n_params()];
    let wx = shape.len_w_x();
    for (k, v) in p[wx..wx + shape.len_w_h()].iter_mut().enumerate() {
        *v = 0.5 + k as f64;
    }
    let cell = Cell::from_flat(shape, &p).unwrap();
    let (x, h) = ([0.0; 1], [0.0; 3]);
    let (f, cache) = step(shape, &p, &x, &h);
    assert_eq!(f, vec![0.0; nh]);
    let mut jac = vec![0.0; nh * nh];
    let mut scratch = vec![0.0; cell.jacobian_scratch_len()];
    cell.jacobian(&x, &h, &cache, &mut jac, &mut scratch)
        .unwrap();
    for i in 0..nh {
        for j in 0..nh {
            let want = if i == j { 0.8 } else { 0.0 };
            assert!((jac[i * nh + j] - want).abs() < 1e-15, "J[{i}][{j}]");
        }
    }
}

/// `α` outside (0, 1] (or NaN) is a shape error; the other kinds need `α = 1`.
#[test]
fn alpha_out_of_range_is_a_shape_error() {
    for alpha in [0.0, -0.5, 1.0 + 1e-12, f64::NAN, f64::INFINITY] {
        let s = CellShape::leaky(Activation::Relu, 1, 3, alpha);
        let e = s.validate().unwrap_err();
        assert_eq!(e.what, "alpha", "{alpha}");
        assert!(e.to_string().contains("(0, 1]"), "{e}");
        assert!(Cell::from_flat(s, &vec![0.0; s.n_params()]).is_err());
    }
    assert!(
        CellShape::leaky(Activation::Relu, 1, 3, 1e-9)
            .validate()
            .is_ok()
    );
    assert!(
        CellShape::new(CellKind::Gru, 1, 3)
            .with_alpha(0.5)
            .validate()
            .is_err()
    );
    for kind in CellKind::ALL {
        assert_eq!(CellKind::from_code(kind.code()), Some(kind));
        assert_eq!(CellKind::from_name(kind.name()), Some(kind));
        if let Some(act) = kind.activation() {
            assert_eq!(CellKind::leaky(act), kind);
            assert_eq!(Activation::from_code(act.code()), Some(act));
        }
    }
}

/// The activations' names are the documented lower-case ones, `from_name` inverts `name`
/// and refuses anything else; codes round trip in `ALL` order and refuse the rest.
#[test]
fn activation_names_and_codes_round_trip_and_reject_the_rest() {
    let names: Vec<&str> = Activation::ALL.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["tanh", "relu", "softplus", "sigmoid"]);
    for (k, act) in Activation::ALL.into_iter().enumerate() {
        assert_eq!(Activation::from_name(act.name()), Some(act));
        assert_eq!(act.code(), k as u32);
        assert_eq!(Activation::from_code(k as u32), Some(act));
    }
    for bad in ["", "Tanh", "RELU", "leaky_relu", "sigmoid ", "xyzzy"] {
        assert_eq!(Activation::from_name(bad), None, "{bad:?}");
    }
    for bad in [4, 5, u32::MAX] {
        assert_eq!(Activation::from_code(bad), None, "{bad}");
    }
}

#[test]
fn saturated_cases_really_saturate() {
    // Guard for the test above: with gain 6 most tanh units sit in the flat tails.
    let c = case(CellKind::Tanh, 64, 6.0, 1064);
    let (f, _) = step(c.shape, &c.p, &c.x, &c.h);
    let flat = f.iter().filter(|v| v.abs() > 0.99).count();
    assert!(flat > 32, "only {flat} of 64 units saturated");
}

#[test]
fn f32_agrees_with_f64_to_f32_precision() {
    for kind in CellKind::ALL {
        for &nh in &SIZES {
            let c = case(kind, nh, 1.0, 7 + nh as u64);
            let s = c.shape;
            let sd = s.state_dim();
            let cast = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            let (p32, x32, h32) = (cast(&c.p), cast(&c.x), cast(&c.h));
            // Reference in f64 from the f32-rounded inputs, so only arithmetic error remains.
            let up = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let (p64, x64, h64) = (up(&p32), up(&x32), up(&h32));
            let c32 = Cell::from_flat(s, &p32).unwrap();
            let c64 = Cell::from_flat(s, &p64).unwrap();
            let mut o32 = vec![0f32; sd];
            let mut k32 = vec![0f32; s.cache_len()];
            c32.step(&x32, &h32, &mut o32, &mut k32).unwrap();
            let mut o64 = vec![0f64; sd];
            let mut k64 = vec![0f64; s.cache_len()];
            c64.step(&x64, &h64, &mut o64, &mut k64).unwrap();
            let tol = 64.0 * f32::EPSILON as f64 * (nh as f64).sqrt();
            assert!(
                rel_err(&up(&o32), &o64) < tol,
                "{} H={nh} step",
                kind.name()
            );
            let mut j32 = vec![0f32; sd * sd];
            let mut j64 = vec![0f64; sd * sd];
            c32.jacobian(
                &x32,
                &h32,
                &k32,
                &mut j32,
                &mut vec![0f32; c32.jacobian_scratch_len()],
            )
            .unwrap();
            c64.jacobian(
                &x64,
                &h64,
                &k64,
                &mut j64,
                &mut vec![0f64; c64.jacobian_scratch_len()],
            )
            .unwrap();
            assert!(
                rel_err(&up(&j32), &j64) < tol,
                "{} H={nh} jacobian",
                kind.name()
            );
        }
    }
}

#[test]
fn fixed_size_cells_match_runtime_cells() {
    let mut rng = Rng(5);
    let mut tc = TanhCell::<f64, 2, 3>::zeros();
    for v in tc.w_x.as_flattened_mut().as_flattened_mut() {
        *v = rng.normal();
    }
    for v in tc.w_h.as_flattened_mut().as_flattened_mut() {
        *v = rng.normal();
    }
    tc.b = [0.1, -0.2, 0.3];
    let x = [0.5, -1.0];
    let h = [0.1, 0.2, -0.3];
    let flat: Vec<f64> = tc
        .w_x
        .as_flattened()
        .as_flattened()
        .iter()
        .chain(tc.w_h.as_flattened().as_flattened())
        .chain(&tc.b)
        .copied()
        .collect();
    let (f_rt, _) = step(CellShape::new(CellKind::Tanh, 2, 3), &flat, &x, &h);
    let (f, j) = tc.step_with_jacobian(&x, &h);
    assert_eq!(f.to_vec(), f_rt);
    assert_eq!(tc.step(&x, &h), f);
    // J = diag(1 − F²) W_hᵀ for the tanh cell.
    for i in 0..3 {
        for k in 0..3 {
            let want = (1.0 - f[i] * f[i]) * tc.w_h[k][0][i];
            assert!((j[i][k] - want).abs() < 1e-15);
        }
    }
    // The other fixed-size cells run and agree with their run-time twins.
    let mut g = GruCell::<f32, 1, 2>::zeros();
    g.b[1] = [0.5, -0.5];
    let out = g.step(&[1.0], &[0.2, 0.4]);
    let z = [1.0 / (1.0 + (-0.5f32).exp()), 1.0 / (1.0 + 0.5f32.exp())];
    for i in 0..2 {
        let want = z[i] * [0.2, 0.4][i];
        assert!((out[i] - want).abs() < 1e-6);
    }
    let gt = GruTorchCell::<f64, 1, 2>::zeros();
    assert_eq!(gt.step(&[1.0], &[0.0, 0.0]), [0.0, 0.0]);
    let l = LstmCell::<f64, 1, 2>::zeros();
    // All gates 0.5, g = 0: c' = 0.5 c, h' = 0.5 tanh(c').
    let (h2, c2) = l.step(&[1.0], &[0.3, 0.3], &[1.0, -2.0]);
    assert_eq!(c2, [0.5, -1.0]);
    assert!((h2[0] - 0.5 * 0.5f64.tanh()).abs() < 1e-15);
}

/// PyTorch's layout: `weight_ih` is `G·H × I` (rows are gates), `weight_hh` `G·H × H`.
/// Converts to the shared row-vector layout `[w_x | w_h | b_ih | b_hh]`.
fn from_torch(
    nh: usize,
    ni: usize,
    g: usize,
    w_ih: &[f64],
    w_hh: &[f64],
    b_ih: &[f64],
    b_hh: &[f64],
) -> Vec<f64> {
    let gw = g * nh;
    let mut p = Vec::new();
    for k in 0..ni {
        p.extend((0..gw).map(|r| w_ih[r * ni + k]));
    }
    for k in 0..nh {
        p.extend((0..gw).map(|r| w_hh[r * nh + k]));
    }
    p.extend_from_slice(b_ih);
    p.extend_from_slice(b_hh);
    p
}

fn sig(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

#[test]
fn gru_torch_matches_pytorch_formulas_by_hand() {
    // H = 2, I = 1. torch.nn.GRU: r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(…),
    // n = tanh(W_in x + b_in + r ∗ (W_hn h + b_hn)), h' = (1 − z) ∗ n + z ∗ h.
    let w_ih = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]; // rows r0 r1 z0 z1 n0 n1
    let w_hh = [
        0.1, 0.2, //
        -0.3, 0.4, //
        0.5, -0.6, //
        0.7, 0.8, //
        -0.9, 1.0, //
        1.1, -1.2,
    ];
    let b_ih = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06];
    let b_hh = [-0.01, 0.02, -0.03, 0.04, -0.05, 0.06];
    let x = [0.7];
    let h = [0.3, -0.4];
    // By hand, element by element, in PyTorch's column convention.
    let mut want = [0.0; 2];
    for i in 0..2 {
        let row = |m: &[f64], r: usize, v: &[f64]| -> f64 {
            (0..v.len()).map(|k| m[r * v.len() + k] * v[k]).sum()
        };
        let r = sig(row(&w_ih, i, &x) + b_ih[i] + row(&w_hh, i, &h) + b_hh[i]);
        let z = sig(row(&w_ih, 2 + i, &x) + b_ih[2 + i] + row(&w_hh, 2 + i, &h) + b_hh[2 + i]);
        let n = (row(&w_ih, 4 + i, &x) + b_ih[4 + i] + r * (row(&w_hh, 4 + i, &h) + b_hh[4 + i]))
            .tanh();
        want[i] = (1.0 - z) * n + z * h[i];
    }
    // The same numbers, computed once with Python's math module from the formulas above.
    let literal = [-0.012089671745289327, 0.07530984622333273];
    let p = from_torch(2, 1, 3, &w_ih, &w_hh, &b_ih, &b_hh);
    let (got, _) = step(CellShape::new(CellKind::GruTorch, 1, 2), &p, &x, &h);
    for i in 0..2 {
        assert!((got[i] - want[i]).abs() < 1e-15, "{got:?} vs {want:?}");
        assert!(
            (got[i] - literal[i]).abs() < 1e-12,
            "{got:?} vs {literal:?}"
        );
    }
}

#[test]
fn lstm_matches_pytorch_formulas_by_hand() {
    // H = 2, I = 1, gate rows i0 i1 f0 f1 g0 g1 o0 o1.
    let w_ih: Vec<f64> = (0..8).map(|k| 0.1 * (k as f64) - 0.35).collect();
    let w_hh: Vec<f64> = (0..16).map(|k| 0.07 * (k as f64) - 0.5).collect();
    let b_ih: Vec<f64> = (0..8).map(|k| 0.02 * k as f64).collect();
    let b_hh: Vec<f64> = (0..8).map(|k| -0.01 * k as f64).collect();
    let x = [0.9];
    let (h, c) = ([0.2, -0.1], [0.5, -0.3]);
    let mut want_h = [0.0; 2];
    let mut want_c = [0.0; 2];
    for k in 0..2 {
        let pre = |r: usize| {
            w_ih[r] * x[0] + b_ih[r] + w_hh[2 * r] * h[0] + w_hh[2 * r + 1] * h[1] + b_hh[r]
        };
        let (i, f, g, o) = (
            sig(pre(k)),
            sig(pre(2 + k)),
            pre(4 + k).tanh(),
            sig(pre(6 + k)),
        );
        want_c[k] = f * c[k] + i * g;
        want_h[k] = o * want_c[k].tanh();
    }
    let literal_h = [0.1501811885630848, -0.0377950749317721];
    let literal_c = [0.26622750588452476, -0.0625611477441504];
    let p = from_torch(2, 1, 4, &w_ih, &w_hh, &b_ih, &b_hh);
    let state = [h[0], h[1], c[0], c[1]];
    let (got, _) = step(CellShape::new(CellKind::Lstm, 1, 2), &p, &x, &state);
    for k in 0..2 {
        assert!((got[k] - want_h[k]).abs() < 1e-15);
        assert!((got[2 + k] - want_c[k]).abs() < 1e-15);
        assert!((got[k] - literal_h[k]).abs() < 1e-12, "{got:?}");
        assert!((got[2 + k] - literal_c[k]).abs() < 1e-12, "{got:?}");
    }
}

#[test]
fn wrong_lengths_are_errors_not_panics() {
    let s = CellShape::new(CellKind::Gru, 2, 4);
    let p = vec![0.0; s.n_params()];
    assert!(Cell::from_flat(s, &p[1..]).is_err());
    let cell = Cell::from_flat(s, &p).unwrap();
    let mut out = vec![0.0; 4];
    let mut cache = vec![0.0; s.cache_len()];
    let e = cell
        .step(&[0.0; 3], &[0.0; 4], &mut out, &mut cache)
        .unwrap_err();
    assert_eq!((e.what, e.expected, e.got), ("x", 2, 3));
    assert!(
        cell.step(&[0.0; 2], &[0.0; 4], &mut out, &mut cache[1..])
            .is_err()
    );
    assert!(CellShape::new(CellKind::Tanh, 1, 0).validate().is_err());
}

/// Codes and names of the cell kinds are each other's inverses and reject everything else
/// (checkpoints and the C ABI decode kinds with them).
#[test]
fn kind_codes_and_names_round_trip_and_reject_the_rest() {
    for (i, k) in CellKind::ALL.into_iter().enumerate() {
        assert_eq!(k.code(), i as u32);
        assert_eq!(CellKind::from_code(k.code()), Some(k));
        assert_eq!(CellKind::from_name(k.name()), Some(k));
    }
    let past = CellKind::ALL.len() as u32;
    for code in [past, past + 1, 255, u32::MAX] {
        assert_eq!(CellKind::from_code(code), None, "code {code}");
    }
    for name in ["", "Tanh", "gru ", "lstm2", "rnn"] {
        assert_eq!(CellKind::from_name(name), None, "name {name:?}");
    }
}

/// The size limits are inclusive, and a shape error says which argument, what it must be
/// and what it is.
#[test]
fn shape_limits_are_inclusive_and_errors_name_the_argument() {
    let max_h = CellShape::new(CellKind::Tanh, 1, CellShape::MAX_HIDDEN);
    assert!(max_h.validate().is_ok());
    let e = CellShape::new(CellKind::Tanh, 1, CellShape::MAX_HIDDEN + 1)
        .validate()
        .unwrap_err();
    assert_eq!(e.what, "n_hidden");
    assert!(
        CellShape::new(CellKind::Lstm, CellShape::MAX_INPUTS, 1)
            .validate()
            .is_ok()
    );
    let e = CellShape::new(CellKind::Lstm, CellShape::MAX_INPUTS + 1, 1)
        .validate()
        .unwrap_err();
    assert_eq!(e.what, "n_inputs");
    let s = CellShape::new(CellKind::Gru, 2, 4);
    let p = vec![0.0; s.n_params()];
    let cell = Cell::from_flat(s, &p).unwrap();
    let mut out = vec![0.0; 4];
    let mut cache = vec![0.0; s.cache_len()];
    let e = cell
        .step(&[0.0; 3], &[0.0; 4], &mut out, &mut cache)
        .unwrap_err();
    assert_eq!(e.to_string(), "`x` has length 3, expected 2");
}

/// `Cell::jacobian` and `Cell::input_jacobian` take exactly the scratch their docs give
/// (`scratch_len + S`), `Cell::vjp` at least `scratch_len`, and all three refuse arguments
/// of the wrong length instead of stopping early on them.
#[test]
fn jacobians_take_the_documented_scratch_and_check_their_arguments() {
    for kind in CellKind::ALL {
        for nh in [1, 3, 16] {
            let c = case(kind, nh, 1.0, 5);
            let s = c.shape;
            let sd = s.state_dim();
            let cell = Cell::from_flat(s, &c.p).unwrap();
            let (_, cache) = step(s, &c.p, &c.x, &c.h);
            let documented = s.scratch_len() + sd;
            assert_eq!(cell.jacobian_scratch_len(), documented, "{kind:?} {nh}");
            let mut scratch = vec![0.0; documented];
            let (mut jac, mut ij) = (vec![0.0; sd * sd], vec![0.0; sd * N_IN]);
            cell.jacobian(&c.x, &c.h, &cache, &mut jac, &mut scratch)
                .unwrap();
            cell.input_jacobian(&c.x, &c.h, &cache, &mut ij, &mut scratch)
                .unwrap();
            let short = &mut scratch[..documented - 1];
            assert!(cell.jacobian(&c.x, &c.h, &cache, &mut jac, short).is_err());
            assert!(
                cell.input_jacobian(&c.x, &c.h, &cache, &mut ij, short)
                    .is_err()
            );
            let (x, h) = (&c.x[..N_IN - 1], &c.h[..sd - 1]);
            let bad_cache = &cache[..s.cache_len() - 1];
            for (x, h, cache) in [(x, &c.h[..], &cache[..]), (&c.x[..], h, &cache[..])]
                .into_iter()
                .chain([(&c.x[..], &c.h[..], bad_cache)])
            {
                assert!(cell.jacobian(x, h, cache, &mut jac, &mut scratch).is_err());
                assert!(
                    cell.input_jacobian(x, h, cache, &mut ij, &mut scratch)
                        .is_err()
                );
            }
            assert!(
                cell.jacobian(&c.x, &c.h, &cache, &mut jac[1..], &mut scratch)
                    .is_err()
            );
            assert!(
                cell.input_jacobian(&c.x, &c.h, &cache, &mut ij[1..], &mut scratch)
                    .is_err()
            );
            // The VJP: at least `scratch_len` (more is fine), less is refused.
            let (g, mut gh) = (vec![1.0; sd], vec![0.0; sd]);
            for extra in [0, 1] {
                let mut vs = vec![0.0; s.scratch_len() + extra];
                cell.vjp(&c.x, &c.h, &cache, &g, &mut gh, None, None, &mut vs)
                    .unwrap();
            }
            let mut vs = vec![0.0; s.scratch_len() - 1];
            assert!(
                cell.vjp(&c.x, &c.h, &cache, &g, &mut gh, None, None, &mut vs)
                    .is_err()
            );
        }
    }
}
