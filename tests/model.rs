//! The model: named parameters (every cell, every name), the PyTorch layouts against by-hand
//! formulas, readout, trajectories against manual stepping, initialization, errors.

#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use fpf_core::cell::names::{self, lookup};
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_std::model::{MAX_OUTPUTS, Model, ModelError, param_names};

fn sig(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// `Σ_k m[r·len + k] v[k]`: row `r` of a row-major matrix times a vector (PyTorch's `W v`).
fn row_dot(m: &[f64], r: usize, v: &[f64]) -> f64 {
    (0..v.len()).map(|k| m[r * v.len() + k] * v[k]).sum()
}

/// `(x A)[j]` for a row-major `len(x) × n` matrix `A`.
fn vec_mat(x: &[f64], a: &[f64], n: usize) -> Vec<f64> {
    (0..n)
        .map(|j| (0..x.len()).map(|i| x[i] * a[i * n + j]).sum())
        .collect()
}

fn step(m: &Model<f64>, x: &[f64], h: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; m.state_dim()];
    let mut cache = vec![0.0; m.shape().cache_len()];
    m.cell().step(x, h, &mut out, &mut cache).unwrap();
    out
}

#[test]
fn every_name_round_trips_for_every_cell() {
    for kind in CellKind::ALL {
        for (ni, nh, no) in [(3, 4, 2), (0, 2, 1), (1, 1, 3)] {
            let shape = CellShape::new(kind, ni, nh);
            let mut m = Model::<f64>::init_random(shape, no, 1).unwrap();
            let mut rng = Rng(7);
            for name in param_names(kind) {
                let len = m.param_len(name).unwrap();
                let v = rng.vec(len, 1.0);
                let before = m.clone();
                m.set_param(name, &v).unwrap();
                let mut got = vec![f64::NAN; len];
                m.get_param(name, &mut got).unwrap();
                assert_eq!(got, v, "{} {name}", kind.name());
                if len > 0 {
                    assert_ne!(m, before, "{} {name} changed nothing", kind.name());
                }
            }
        }
    }
}

#[test]
fn canonical_names_cover_every_parameter_exactly_once() {
    for kind in CellKind::ALL {
        let shape = CellShape::new(kind, 3, 5);
        let mut m = Model::<f64>::new(shape, 2).unwrap();
        let mut next = 1.0;
        for name in names::names(kind) {
            let len = m.param_len(name).unwrap();
            let v: Vec<f64> = (0..len).map(|k| next + k as f64).collect();
            next += len as f64;
            m.set_param(name, &v).unwrap();
        }
        let mut flat = m.params().to_vec();
        flat.sort_by(f64::total_cmp);
        let want: Vec<f64> = (1..=shape.n_params()).map(|k| k as f64).collect();
        assert_eq!(flat, want, "{}", kind.name());
    }
}

#[test]
fn param_specs_describe_shapes_and_layouts() {
    let s = CellShape::new(CellKind::Lstm, 3, 5);
    let w = lookup(&s, "weight_ih_l0").unwrap();
    assert_eq!(
        (w.rows, w.cols, w.transposed, w.vector),
        (20, 3, true, false)
    );
    let b = lookup(&s, "bias_hh_l0").unwrap();
    assert_eq!((b.rows, b.cols, b.len(), b.vector), (1, 20, 20, true));
    let g = CellShape::new(CellKind::Gru, 3, 5);
    let wz = lookup(&g, "w_iz").unwrap();
    assert_eq!((wz.rows, wz.cols, wz.transposed), (3, 5, false));
    // w_iz is column block 1 of w_x: element (r, c) is w_x[r][5 + c].
    let p: Vec<f64> = (0..g.n_params()).map(|k| k as f64).collect();
    let mut out = vec![0.0; 15];
    wz.read(&g, &p, &mut out).unwrap();
    for r in 0..3 {
        for c in 0..5 {
            assert_eq!(out[r * 5 + c], (r * 15 + 5 + c) as f64);
        }
    }
    // b_n: block 2 of the bias row.
    let bn = lookup(&g, "b_n").unwrap();
    let mut out = vec![0.0; 5];
    bn.read(&g, &p, &mut out).unwrap();
    assert_eq!(out[0], (g.len_w_x() + g.len_w_h() + 10) as f64);
    // Misuse is an error, not a panic.
    assert!(wz.read(&s, &p, &mut [0.0; 15]).is_err());
    assert!(wz.read(&g, &p[1..], &mut [0.0; 15]).is_err());
    assert!(wz.read(&g, &p, &mut [0.0; 14]).is_err());
    assert!(lookup(&g, "weight_ih_l0").is_none());
    assert!(lookup(&CellShape::new(CellKind::Tanh, 1, 0), "w_ih").is_none());
    // The tanh cell's nn.RNN biases are model-level, not cell names.
    let t = CellShape::new(CellKind::Tanh, 2, 3);
    assert!(lookup(&t, "bias_ih_l0").is_none());
    assert_eq!(
        names::aliases(CellKind::Tanh),
        ["weight_ih_l0", "weight_hh_l0"]
    );
    assert!(names::aliases(CellKind::Lstm).is_empty());
}

#[test]
fn tanh_accepts_nn_rnn_names() {
    // torch.nn.RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh), W_ih is H × I.
    let (ni, nh) = (2, 3);
    let mut rng = Rng(3);
    let w_ih = rng.vec(nh * ni, 0.5);
    let w_hh = rng.vec(nh * nh, 0.5);
    let b_ih = rng.vec(nh, 0.5);
    let b_hh = rng.vec(nh, 0.5);
    let mut m = Model::<f64>::new(CellShape::new(CellKind::Tanh, ni, nh), 1).unwrap();
    // Biases in either order, weights in between.
    m.set_param("bias_hh_l0", &b_hh).unwrap();
    m.set_param("weight_ih_l0", &w_ih).unwrap();
    m.set_param("bias_ih_l0", &b_ih).unwrap();
    m.set_param("weight_hh_l0", &w_hh).unwrap();
    let x = [0.4, -0.9];
    let h = [0.1, -0.2, 0.3];
    let got = step(&m, &x, &h);
    for i in 0..nh {
        let want = (row_dot(&w_ih, i, &x) + b_ih[i] + row_dot(&w_hh, i, &h) + b_hh[i]).tanh();
        assert!((got[i] - want).abs() < 1e-15, "{got:?}");
    }
    // Each share reads back exactly; b_h is their sum.
    let mut v = vec![0.0; nh];
    m.get_param("bias_ih_l0", &mut v).unwrap();
    assert_eq!(v, b_ih);
    m.get_param("bias_hh_l0", &mut v).unwrap();
    assert_eq!(v, b_hh);
    m.get_param("b_h", &mut v).unwrap();
    let sum: Vec<f64> = b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect();
    assert_eq!(v, sum);
    // The PyTorch weight names are transposes of the reference's names.
    let mut w = vec![0.0; ni * nh];
    m.get_param("w_ih", &mut w).unwrap();
    for i in 0..ni {
        for j in 0..nh {
            assert_eq!(w[i * nh + j], w_ih[j * ni + i]);
        }
    }
    // Setting b_h forgets the split: bias_ih_l0 reads as b_h, bias_hh_l0 as zeros.
    m.set_param("b_h", &[1.0, 2.0, 3.0]).unwrap();
    m.get_param("bias_ih_l0", &mut v).unwrap();
    assert_eq!(v, [1.0, 2.0, 3.0]);
    m.get_param("bias_hh_l0", &mut v).unwrap();
    assert_eq!(v, [0.0; 3]);
    // So does a change through params_mut (e.g. training).
    m.set_param("bias_hh_l0", &[0.5; 3]).unwrap();
    let n = m.params().len();
    m.params_mut()[n - 1] += 1.0;
    m.get_param("bias_hh_l0", &mut v).unwrap();
    assert_eq!(v, [0.0; 3]);
    m.get_param("bias_ih_l0", &mut v).unwrap();
    assert_eq!(v, [1.5, 2.5, 4.5]);
    // A sum that overflows is rejected and changes nothing.
    m.set_param("bias_hh_l0", &[1e308; 3]).unwrap();
    let before = m.params().to_vec();
    let e = m.set_param("bias_ih_l0", &[1e308; 3]).unwrap_err();
    assert!(matches!(e, ModelError::NotFinite { .. }), "{e}");
    assert_eq!(m.params(), &before[..]);
}

#[test]
fn gru_names_match_the_seeds_formula() {
    let (ni, nh) = (2, 3);
    let mut rng = Rng(11);
    let mut m = Model::<f64>::new(CellShape::new(CellKind::Gru, ni, nh), 1).unwrap();
    let mut p = std::collections::HashMap::new();
    for name in names::names(CellKind::Gru) {
        let v = rng.vec(m.param_len(name).unwrap(), 0.6);
        m.set_param(name, &v).unwrap();
        p.insert(*name, v);
    }
    let x = [0.3, -0.7];
    let h = [0.2, -0.5, 0.9];
    let lin = |wi: &str, wh: &str, b: &str, hv: &[f64]| -> Vec<f64> {
        let a = vec_mat(&x, &p[wi], nh);
        let c = vec_mat(hv, &p[wh], nh);
        (0..nh).map(|j| a[j] + c[j] + p[b][j]).collect()
    };
    let r: Vec<f64> = lin("w_ir", "w_hr", "b_r", &h)
        .into_iter()
        .map(sig)
        .collect();
    let z: Vec<f64> = lin("w_iz", "w_hz", "b_z", &h)
        .into_iter()
        .map(sig)
        .collect();
    let rh: Vec<f64> = (0..nh).map(|j| r[j] * h[j]).collect();
    let n: Vec<f64> = lin("w_in", "w_hn", "b_n", &rh)
        .into_iter()
        .map(f64::tanh)
        .collect();
    let got = step(&m, &x, &h);
    for j in 0..nh {
        let want = (1.0 - z[j]) * n[j] + z[j] * h[j];
        assert!((got[j] - want).abs() < 1e-15, "{got:?}");
    }
}

#[test]
fn gru_torch_names_match_pytorch_by_hand() {
    // The example of tests/cells.rs, set by name instead of by layout conversion.
    let w_ih = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6];
    let w_hh = [
        0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, -1.2,
    ];
    let b_ih = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06];
    let b_hh = [-0.01, 0.02, -0.03, 0.04, -0.05, 0.06];
    let mut m = Model::<f64>::new(CellShape::new(CellKind::GruTorch, 1, 2), 1).unwrap();
    m.set_param("weight_ih_l0", &w_ih).unwrap();
    m.set_param("weight_hh_l0", &w_hh).unwrap();
    m.set_param("bias_ih_l0", &b_ih).unwrap();
    m.set_param("bias_hh_l0", &b_hh).unwrap();
    let (x, h) = ([0.7], [0.3, -0.4]);
    let got = step(&m, &x, &h);
    for i in 0..2 {
        let r = sig(row_dot(&w_ih, i, &x) + b_ih[i] + row_dot(&w_hh, i, &h) + b_hh[i]);
        let z =
            sig(row_dot(&w_ih, 2 + i, &x) + b_ih[2 + i] + row_dot(&w_hh, 2 + i, &h) + b_hh[2 + i]);
        let n = (row_dot(&w_ih, 4 + i, &x)
            + b_ih[4 + i]
            + r * (row_dot(&w_hh, 4 + i, &h) + b_hh[4 + i]))
            .tanh();
        let want = (1.0 - z) * n + z * h[i];
        assert!((got[i] - want).abs() < 1e-15, "{got:?}");
    }
    let literal = [-0.012089671745289327, 0.07530984622333273];
    for i in 0..2 {
        assert!((got[i] - literal[i]).abs() < 1e-12);
    }
}

#[test]
fn lstm_names_match_pytorch_by_hand() {
    let (ni, nh) = (2, 3);
    let mut rng = Rng(21);
    let w_ih = rng.vec(4 * nh * ni, 0.5);
    let w_hh = rng.vec(4 * nh * nh, 0.5);
    let b_ih = rng.vec(4 * nh, 0.3);
    let b_hh = rng.vec(4 * nh, 0.3);
    let mut m = Model::<f64>::new(CellShape::new(CellKind::Lstm, ni, nh), 2).unwrap();
    m.set_param("weight_ih_l0", &w_ih).unwrap();
    m.set_param("weight_hh_l0", &w_hh).unwrap();
    m.set_param("bias_ih_l0", &b_ih).unwrap();
    m.set_param("bias_hh_l0", &b_hh).unwrap();
    let x = [0.9, -0.4];
    let (h, c) = ([0.2, -0.1, 0.4], [0.5, -0.3, 0.8]);
    let state = [h, c].concat();
    let got = step(&m, &x, &state);
    for k in 0..nh {
        let pre = |r: usize| row_dot(&w_ih, r, &x) + b_ih[r] + row_dot(&w_hh, r, &h) + b_hh[r];
        let (i, f, g, o) = (
            sig(pre(k)),
            sig(pre(nh + k)),
            pre(2 * nh + k).tanh(),
            sig(pre(3 * nh + k)),
        );
        let cn = f * c[k] + i * g;
        assert!((got[nh + k] - cn).abs() < 1e-15);
        assert!((got[k] - o * cn.tanh()).abs() < 1e-15);
    }
}

#[test]
fn readout_is_h_w_out_plus_b_out() {
    let mut m = Model::<f64>::init_random(CellShape::new(CellKind::Lstm, 2, 3), 2, 5).unwrap();
    m.set_param("b_out", &[0.25, -0.5]).unwrap();
    let w = m.w_out().to_vec();
    let state = [0.1, 0.2, 0.3, 9.0, 9.0, 9.0];
    let mut y = [0.0; 2];
    m.readout(&state, &mut y).unwrap();
    for o in 0..2 {
        let want = [0.25, -0.5][o] + (0..3).map(|j| state[j] * w[j * 2 + o]).sum::<f64>();
        assert!((y[o] - want).abs() < 1e-15);
    }
    // The hidden part alone gives the same; other lengths are errors.
    let mut y2 = [0.0; 2];
    m.readout(&state[..3], &mut y2).unwrap();
    assert_eq!(y, y2);
    assert!(matches!(
        m.readout(&state[..4], &mut y2),
        Err(ModelError::Length { name: "h", .. })
    ));
    assert!(m.readout(&state, &mut [0.0; 3]).is_err());
}

#[test]
fn run_matches_manual_stepping() {
    for kind in CellKind::ALL {
        for ni in [0, 3] {
            let shape = CellShape::new(kind, ni, 4);
            let mut m = Model::<f64>::init_random(shape, 2, 9).unwrap();
            let mut rng = Rng(kind as u64 + 100);
            let h0 = rng.vec(m.state_dim(), 0.3);
            m.set_param("h0", &h0).unwrap();
            m.set_param("b_out", &[0.1, -0.1]).unwrap();
            let (nt, nk) = (3, 5);
            let sd = m.state_dim();
            let inputs = rng.vec(nt * nk * ni, 1.0);
            let mut ys = vec![0.0; nt * nk * 2];
            let mut hs = vec![0.0; nt * nk * sd];
            m.run(&inputs, nt, nk, &mut ys, &mut hs).unwrap();
            for tr in 0..nt {
                let mut h = h0.clone();
                for t in 0..nk {
                    let k = tr * nk + t;
                    h = step(&m, &inputs[k * ni..(k + 1) * ni], &h);
                    assert_eq!(&hs[k * sd..(k + 1) * sd], &h[..], "{}", kind.name());
                    let mut y = [0.0; 2];
                    m.readout(&h, &mut y).unwrap();
                    assert_eq!(&ys[k * 2..(k + 1) * 2], &y[..]);
                }
            }
            // step_batch over all rows of the first step equals the run's first states.
            let xs: Vec<f64> = (0..nt)
                .flat_map(|tr| inputs[tr * nk * ni..tr * nk * ni + ni].to_vec())
                .collect();
            let h0s: Vec<f64> = (0..nt).flat_map(|_| h0.clone()).collect();
            let mut next = vec![0.0; nt * sd];
            m.step_batch(&xs, &h0s, nt, &mut next).unwrap();
            for tr in 0..nt {
                assert_eq!(
                    &next[tr * sd..(tr + 1) * sd],
                    &hs[tr * nk * sd..tr * nk * sd + sd]
                );
            }
        }
    }
}

#[test]
fn run_of_nothing_is_ok() {
    let m = Model::<f64>::init_random(CellShape::new(CellKind::Gru, 2, 3), 1, 0).unwrap();
    m.run(&[], 0, 5, &mut [], &mut []).unwrap();
    m.run(&[], 4, 0, &mut [], &mut []).unwrap();
    m.step_batch(&[], &[], 0, &mut []).unwrap();
}

fn std_dev(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn init_random_is_deterministic_with_the_tutorial_scales() {
    for kind in CellKind::ALL {
        let shape = CellShape::new(kind, 32, 64);
        let a = Model::<f64>::init_random(shape, 16, 42).unwrap();
        let b = Model::<f64>::init_random(shape, 16, 42).unwrap();
        let c = Model::<f64>::init_random(shape, 16, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.params(), c.params());
        let p = a.params();
        let (wx, rest) = p.split_at(shape.len_w_x());
        let (wh, bias) = rest.split_at(shape.len_w_h());
        for (v, want, what) in [
            (wx, 0.1, "w_x"),
            (wh, 0.5, "w_h"),
            (a.w_out(), 0.1, "w_out"),
        ] {
            let s = std_dev(v);
            assert!(
                (s / want - 1.0).abs() < 0.1,
                "{} {what}: std {s}",
                kind.name()
            );
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            assert!(
                mean.abs() < 0.1 * want,
                "{} {what}: mean {mean}",
                kind.name()
            );
        }
        assert!(bias.iter().all(|&v| v == 0.0));
        assert!(a.b_out().iter().all(|&v| v == 0.0));
        assert!(a.h0().iter().all(|&v| v == 0.0));
        assert_eq!(
            a.n_total_params(),
            shape.n_params() + 64 * 16 + 16 + a.state_dim()
        );
        // init_scaled: N(0, 1/I) and N(0, 1/H).
        let s = Model::<f64>::init_scaled(shape, 16, 1).unwrap();
        let p = s.params();
        let sx = std_dev(&p[..shape.len_w_x()]);
        let sh = std_dev(&p[shape.len_w_x()..shape.len_w_x() + shape.len_w_h()]);
        assert!((sx * 32f64.sqrt() - 1.0).abs() < 0.1, "{sx}");
        assert!((sh * 8.0 - 1.0).abs() < 0.1, "{sh}");
    }
    // Gaussian shape, not just scale: about 68.3 % within one standard deviation.
    let m = Model::<f64>::init_random(CellShape::new(CellKind::Tanh, 1, 200), 1, 7).unwrap();
    let wh = &m.params()[200..200 + 40000];
    let inside = wh.iter().filter(|v| v.abs() < 0.5).count() as f64 / wh.len() as f64;
    assert!((inside - 0.6827).abs() < 0.01, "{inside}");
}

#[test]
fn precision_casts() {
    let m = Model::<f64>::init_random(CellShape::new(CellKind::GruTorch, 2, 3), 2, 4).unwrap();
    let m32 = m.to_f32();
    assert_eq!(m32.shape(), m.shape());
    let back = m32.to_f64();
    for (a, b) in back.params().iter().zip(m.params()) {
        assert!((a - b).abs() <= 1e-7 * b.abs().max(1e-30));
    }
    assert_eq!(back.to_f32(), m32);
    let c: Model<f64> = m.cast();
    assert_eq!(c, m);
}

#[test]
fn errors_are_specific_and_change_nothing() {
    let shape = CellShape::new(CellKind::Gru, 2, 3);
    let mut m = Model::<f64>::init_random(shape, 2, 1).unwrap();
    let before = m.clone();

    let e = m.set_param("w_xyz", &[0.0]).unwrap_err();
    assert!(matches!(&e, ModelError::UnknownName { name, .. } if name == "w_xyz"));
    let msg = e.to_string();
    for n in param_names(CellKind::Gru) {
        assert!(msg.contains(n), "{msg}");
    }
    assert!(msg.contains("gru"), "{msg}");
    // A PyTorch name on the reference's GRU is unknown too.
    assert!(matches!(
        m.param_len("weight_ih_l0"),
        Err(ModelError::UnknownName { .. })
    ));

    let e = m.set_param("w_hz", &[0.0; 8]).unwrap_err();
    assert_eq!(
        e,
        ModelError::Length {
            name: "w_hz",
            expected: 9,
            got: 8
        }
    );
    assert!(e.to_string().contains("w_hz"));
    let mut out = [7.0; 4];
    assert!(m.get_param("b_out", &mut out).is_err());
    assert_eq!(out, [7.0; 4]);

    let mut v = vec![0.5; 9];
    v[4] = f64::NAN;
    assert_eq!(
        m.set_param("w_hz", &v).unwrap_err(),
        ModelError::NotFinite {
            name: "w_hz",
            index: 4
        }
    );
    assert!(m.set_param("h0", &[0.0, f64::INFINITY, 0.0]).is_err());
    assert_eq!(m, before);

    // run: lengths and NaN inputs; outputs untouched.
    let mut ys = vec![3.0; 2 * 4 * 2];
    let mut hs = vec![3.0; 2 * 4 * 3];
    let mut xs = vec![0.1; 2 * 4 * 2];
    assert!(matches!(
        m.run(&xs[1..], 2, 4, &mut ys, &mut hs),
        Err(ModelError::Length { name: "inputs", .. })
    ));
    assert!(matches!(
        m.run(&xs, 2, 4, &mut ys[1..], &mut hs),
        Err(ModelError::Length {
            name: "outputs",
            ..
        })
    ));
    assert!(matches!(
        m.run(&xs, 2, 4, &mut ys, &mut hs[1..]),
        Err(ModelError::Length { name: "states", .. })
    ));
    xs[5] = f64::NAN;
    assert_eq!(
        m.run(&xs, 2, 4, &mut ys, &mut hs).unwrap_err(),
        ModelError::NotFinite {
            name: "inputs",
            index: 5
        }
    );
    assert!(matches!(
        m.run(&xs, usize::MAX, 2, &mut ys, &mut hs),
        Err(ModelError::TooLarge { .. })
    ));
    assert!(ys.iter().chain(&hs).all(|&v| v == 3.0));
    assert!(
        m.step_batch(&[0.0; 2], &[f64::NAN, 0.0, 0.0], 1, &mut [0.0; 3])
            .is_err()
    );
    assert!(
        m.step_batch(&[0.0; 2], &[0.0; 3], 2, &mut [0.0; 3])
            .is_err()
    );

    // Construction.
    let bad = |s: CellShape, o: usize| Model::<f64>::new(s, o).unwrap_err();
    assert!(matches!(
        bad(shape, 0),
        ModelError::BadSize {
            what: "n_outputs",
            ..
        }
    ));
    assert!(matches!(
        bad(shape, MAX_OUTPUTS + 1),
        ModelError::BadSize { .. }
    ));
    let e = bad(CellShape::new(CellKind::Tanh, 2, 0), 1);
    assert!(matches!(e, ModelError::Shape(_)));
    assert!(e.to_string().contains("n_hidden"), "{e}");
    assert!(matches!(
        bad(CellShape::new(CellKind::Tanh, 1 << 20, 4), 1),
        ModelError::Shape(_)
    ));
    // 16384² · 4 LSTM weights exceed the total limit.
    assert!(matches!(
        bad(CellShape::new(CellKind::Lstm, 1, 1 << 14), 1),
        ModelError::TooLarge { .. }
    ));
    assert!(matches!(
        bad(CellShape::new(CellKind::Tanh, 1, 1 << 14), 1 << 16),
        ModelError::TooLarge { .. }
    ));
    // from_parts checks lengths and values.
    let ok = Model::from_parts(
        shape,
        2,
        m.params().to_vec(),
        m.w_out().to_vec(),
        m.b_out().to_vec(),
        m.h0().to_vec(),
    )
    .unwrap();
    assert_eq!(ok, m);
    assert!(
        Model::from_parts(
            shape,
            2,
            vec![0.0; 3],
            vec![0.0; 6],
            vec![0.0; 2],
            vec![0.0; 3]
        )
        .is_err()
    );
    assert!(
        Model::from_parts(
            shape,
            2,
            vec![f64::NAN; shape.n_params()],
            vec![0.0; 6],
            vec![0.0; 2],
            vec![0.0; 3]
        )
        .is_err()
    );
}

#[test]
fn cell_of_model_is_the_flat_parameters() {
    let m = Model::<f32>::init_random(CellShape::new(CellKind::Tanh, 2, 3), 1, 2).unwrap();
    let c = m.cell();
    let direct = Cell::from_flat(*m.shape(), m.params()).unwrap();
    assert_eq!(c.weights().w_h, direct.weights().w_h);
    assert_eq!(m.state_dim(), 3);
    assert_eq!(m.n_outputs(), 1);
}
