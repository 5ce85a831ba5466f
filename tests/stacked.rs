//! Stacked layers (PyTorch's `num_layers`): the kernel's block Jacobians and VJPs against
//! central finite differences, the model's step against the layers stepped by hand, and
//! the whole finder on stacked models whose fixed points are known from their layers.

mod common;

use common::Rng;
use fpf_core::cell::{Activation, Cell, CellKind, CellShape, StackedCell};
use fpf_core::find::FinderOptions;
use fpf_std::analysis::FixedPointFinder;
use fpf_std::find::batch_map::BatchMap;
use fpf_std::linalg::eig;
use fpf_std::model::Model;
use fpf_std::stacked::StackedMap;

/// Every cell kind, the leaky ones at α = 0.5 (α = 1 is the plain cell).
fn shapes(n_inputs: usize, n_hidden: usize) -> Vec<CellShape> {
    let mut v: Vec<CellShape> = [
        CellKind::Tanh,
        CellKind::Gru,
        CellKind::GruTorch,
        CellKind::Lstm,
    ]
    .into_iter()
    .map(|k| CellShape::new(k, n_inputs, n_hidden))
    .collect();
    for act in Activation::ALL {
        v.push(CellShape::leaky(act, n_inputs, n_hidden, 0.5));
    }
    v
}

/// Random parameters of every layer (weights scaled by 1/√fan-in, biases 0.3).
fn layer_params(shapes: &[CellShape], seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Rng(seed);
    shapes
        .iter()
        .map(|s| {
            let mut p = Vec::with_capacity(s.n_params());
            p.extend(rng.vec(s.len_w_x(), 1.0 / (s.n_inputs.max(1) as f64).sqrt()));
            p.extend(rng.vec(s.len_w_h(), 1.2 / (s.n_hidden as f64).sqrt()));
            p.extend(rng.vec(s.len_b(), 0.3));
            p
        })
        .collect()
}

fn bind<'a>(shapes: &[CellShape], params: &'a [Vec<f64>]) -> Vec<Cell<'a, f64>> {
    shapes
        .iter()
        .zip(params)
        .map(|(s, p)| Cell::from_flat(*s, p).unwrap())
        .collect()
}

/// `F(x, h)` of the stack (fresh cache).
fn eval(stack: &StackedCell<'_, f64>, x: &[f64], h: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; stack.state_dim()];
    let mut cache = vec![0.0; stack.cache_len()];
    stack.step(x, h, &mut out, &mut cache).unwrap();
    out
}

/// Largest |a − b| relative to max(1, max |b|).
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
        / scale
}

/// Checks ∂F/∂h, ∂F/∂x and both VJPs of a stack against central differences at a random
/// point; returns the largest relative error seen.
fn check_stack(layer_shapes: &[CellShape], seed: u64) -> f64 {
    let params = layer_params(layer_shapes, seed);
    let layers = bind(layer_shapes, &params);
    let stack = StackedCell::new(&layers).unwrap();
    let (s, ni) = (stack.state_dim(), stack.n_inputs());
    let mut rng = Rng(seed ^ 0xABCD);
    let x = rng.vec(ni, 0.7);
    let h = rng.vec(s, 0.5);
    let mut out = vec![0.0; s];
    let mut cache = vec![0.0; stack.cache_len()];
    stack.step(&x, &h, &mut out, &mut cache).unwrap();
    let mut jac = vec![0.0; s * s];
    let mut dfdu = vec![0.0; s * ni];
    let mut scratch = vec![0.0; stack.jacobian_scratch_len()];
    stack
        .jacobians(
            &x,
            &h,
            &cache,
            Some(&mut jac),
            Some(&mut dfdu),
            &mut scratch,
        )
        .unwrap();

    // Finite differences, column by column.
    let eps = 1e-6;
    let mut fd_j = vec![0.0; s * s];
    for j in 0..s {
        let (mut hp, mut hm) = (h.clone(), h.clone());
        hp[j] += eps;
        hm[j] -= eps;
        let (fp, fm) = (eval(&stack, &x, &hp), eval(&stack, &x, &hm));
        for i in 0..s {
            fd_j[i * s + j] = (fp[i] - fm[i]) / (2.0 * eps);
        }
    }
    let mut fd_u = vec![0.0; s * ni];
    for k in 0..ni {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[k] += eps;
        xm[k] -= eps;
        let (fp, fm) = (eval(&stack, &xp, &h), eval(&stack, &xm, &h));
        for i in 0..s {
            fd_u[i * ni + k] = (fp[i] - fm[i]) / (2.0 * eps);
        }
    }
    let e_j = rel_err(&jac, &fd_j);
    let e_u = rel_err(&dfdu, &fd_u);

    // VJPs: gᵀJ and gᵀB from the analytic Jacobians (themselves checked above).
    let g = rng.vec(s, 1.0);
    let mut g_h = vec![0.0; s];
    let mut g_x = vec![0.0; ni];
    let mut vs = vec![0.0; stack.vjp_scratch_len()];
    stack
        .vjp(&x, &h, &cache, &g, &mut g_h, Some(&mut g_x), &mut vs)
        .unwrap();
    let want_h: Vec<f64> = (0..s)
        .map(|j| (0..s).map(|i| g[i] * jac[i * s + j]).sum())
        .collect();
    let want_x: Vec<f64> = (0..ni)
        .map(|k| (0..s).map(|i| g[i] * dfdu[i * ni + k]).sum())
        .collect();
    let e_vh = rel_err(&g_h, &want_h);
    let e_vx = rel_err(&g_x, &want_x);
    assert!(e_vh < 1e-12, "{layer_shapes:?}: vjp_h off by {e_vh:e}");
    assert!(e_vx < 1e-12, "{layer_shapes:?}: vjp_x off by {e_vx:e}");

    // Block lower-triangular: every block above the diagonal is exactly zero.
    let mut off = 0;
    for ls in layer_shapes {
        let sl = ls.state_dim();
        for i in off..off + sl {
            assert!(
                jac[i * s + off + sl..(i + 1) * s].iter().all(|&v| v == 0.0),
                "{layer_shapes:?}: a block above the diagonal is not zero"
            );
        }
        off += sl;
    }
    e_j.max(e_u)
}

#[test]
fn jacobians_and_vjps_match_finite_differences_for_every_kind_at_two_and_three_layers() {
    for (h, seed) in [(5usize, 1u64), (64, 2)] {
        for shape in shapes(3, h) {
            for n_layers in [2usize, 3] {
                let layers: Vec<CellShape> = (0..n_layers)
                    .map(|l| {
                        if l == 0 {
                            shape
                        } else {
                            CellShape {
                                n_inputs: h,
                                ..shape
                            }
                        }
                    })
                    .collect();
                let err = check_stack(&layers, seed + n_layers as u64);
                assert!(
                    err < 1e-6,
                    "{:?} × {n_layers}, H = {h}: Jacobian off by {err:e}",
                    shape.kind
                );
            }
        }
    }
}

#[test]
fn layers_of_different_kinds_and_sizes_compose() {
    // LSTM (H = 7) → GRU (H = 4) → leaky softplus (H = 6): the state is [h, c | h | h].
    let layers = [
        CellShape::new(CellKind::Lstm, 2, 7),
        CellShape::new(CellKind::Gru, 7, 4),
        CellShape::leaky(Activation::Softplus, 4, 6, 0.3),
    ];
    let err = check_stack(&layers, 9);
    assert!(err < 1e-6, "mixed stack: Jacobian off by {err:e}");
    let params = layer_params(&layers, 9);
    let cells = bind(&layers, &params);
    assert_eq!(StackedCell::new(&cells).unwrap().state_dim(), 14 + 4 + 6);
    // A layer whose input size is not the hidden size below is refused.
    let bad = [
        CellShape::new(CellKind::Tanh, 2, 7),
        CellShape::new(CellKind::Tanh, 6, 4),
    ];
    let params = layer_params(&bad, 1);
    let cells = bind(&bad, &params);
    let e = StackedCell::new(&cells).unwrap_err();
    assert_eq!((e.expected, e.got), (7, 6));
    assert!(StackedCell::<f64>::new(&[]).is_err());
}

#[test]
fn the_model_steps_as_pytorch_stacks_layers() {
    // Layer 0 reads x; layer 1 reads layer 0's new h of the same step; an LSTM passes only
    // h up. Stepped here layer by layer with the single cells.
    for shape in shapes(3, 6) {
        let model = Model::<f64>::init_scaled_stacked(shape, 3, 2, 5).unwrap();
        let s1 = shape.state_dim();
        assert_eq!(model.state_dim(), 3 * s1);
        let mut rng = Rng(3);
        let (x, h) = (rng.vec(3, 1.0), rng.vec(3 * s1, 0.5));
        let mut got = vec![0.0; 3 * s1];
        model.step_batch(&x, &h, 1, &mut got).unwrap();
        let mut want = vec![0.0; 3 * s1];
        let mut input = x.clone();
        for l in 0..3 {
            let cell = model.layer(l);
            let mut cache = vec![0.0; cell.shape().cache_len()];
            let (hl, out) = (&h[l * s1..(l + 1) * s1], &mut want[l * s1..(l + 1) * s1]);
            cell.step(&input, hl, out, &mut cache).unwrap();
            input = out[..shape.n_hidden].to_vec();
        }
        assert_eq!(got, want, "{:?}", shape.kind);
        // The readout reads the top layer's h.
        let mut y = vec![0.0; 2];
        model.readout(&got, &mut y).unwrap();
        let mut y_top = vec![0.0; 2];
        model
            .readout(&got[2 * s1..2 * s1 + shape.n_hidden], &mut y_top)
            .unwrap();
        assert_eq!(y, y_top);
    }
}

#[test]
fn layer_parameters_are_named_with_their_layer_suffix() {
    let shape = CellShape::new(CellKind::GruTorch, 3, 4);
    let mut m = Model::<f64>::new_stacked(shape, 2, 1).unwrap();
    let w: Vec<f64> = (0..12 * 4).map(|i| i as f64).collect();
    m.set_param("weight_ih_l1", &w).unwrap(); // G·H × H: the layer above reads H inputs
    let mut back = vec![0.0; 48];
    m.get_param("weight_ih_l1", &mut back).unwrap();
    assert_eq!(back, w);
    let mut l0 = vec![0.0; 36];
    m.get_param("weight_ih_l0", &mut l0).unwrap();
    assert!(l0.iter().all(|&v| v == 0.0), "layer 0 is untouched");
    assert!(m.param_len("weight_ih_l2").is_err(), "there is no layer 2");
    assert!(m.param_len("w_out_l1").is_err());
    // The tanh cell's torch biases per layer, and a name without `_l0` (w_hh) gets `_l1`.
    let mut t = Model::<f64>::new_stacked(CellShape::new(CellKind::Tanh, 2, 3), 2, 1).unwrap();
    t.set_param("bias_ih_l1", &[1.0, 2.0, 3.0]).unwrap();
    t.set_param("bias_hh_l1", &[0.5, 0.5, 0.5]).unwrap();
    let mut b = vec![0.0; 3];
    t.get_param("b_h_l1", &mut b).unwrap();
    assert_eq!(b, [1.5, 2.5, 3.5]);
    t.get_param("bias_ih_l1", &mut b).unwrap();
    assert_eq!(b, [1.0, 2.0, 3.0]);
    t.get_param("b_h", &mut b).unwrap();
    assert_eq!(b, [0.0; 3]);
    t.set_param("w_hh_l1", &[1.0; 9]).unwrap();
    assert_eq!(t.layer(1).weights().w_h, &[1.0; 9]);
    assert_eq!(t.layer(0).weights().w_h, &[0.0; 9]);
}

fn finder_opts() -> FinderOptions {
    FinderOptions {
        lr_init: 0.05,
        tol_q: 1e-14,
        tol_unique: 1e-4,
        final_q_threshold: 1e-20,
        max_iters: 20_000,
        ..FinderOptions::default()
    }
}

/// A two-unit-per-axis bistable tanh layer (`tanh(1.6 h + small)` has 3 fixed points per
/// unit: 9 for H = 2), input weights `w_x`.
fn bistable(n_inputs: usize, w_x: f64, seed: u64) -> (CellShape, Vec<f64>) {
    let shape = CellShape::new(CellKind::Tanh, n_inputs, 2);
    let mut rng = Rng(seed);
    let mut p = Vec::new();
    p.extend(rng.vec(shape.len_w_x(), w_x));
    p.extend([1.6, 0.05, -0.04, 1.7]);
    p.extend([0.01, -0.02]);
    (shape, p)
}

#[test]
fn a_stack_over_an_uncoupled_layer_has_the_product_of_the_layers_fixed_points() {
    // Layer 1 does not read layer 0 (w_x = 0) and is a contraction: the stack's fixed points
    // are (every fixed point of layer 0) × (layer 1's one point), with layer 1's modes as
    // extra stable eigenvalues.
    let (s0, p0) = bistable(1, 0.0, 1);
    let s1 = CellShape::leaky(Activation::Tanh, 2, 2, 0.5);
    let p1 = vec![0.0, 0.0, 0.0, 0.0, 0.3, -0.2, 0.1, 0.25, 0.4, -0.3];
    let layers = vec![
        Cell::from_flat(s0, &p0).unwrap(),
        Cell::from_flat(s1, &p1).unwrap(),
    ];
    let map = StackedMap::from_layers(layers.clone(), 1).unwrap();
    let mut rng = Rng(7);
    let inits: Vec<f64> = (0..256).flat_map(|_| rng.vec(4, 0.8)).collect();
    let stacked = FixedPointFinder::for_map(&map, finder_opts())
        .unwrap()
        .find_fixed_points(&inits, &[0.0], None, None)
        .unwrap()
        .unique;
    let inits0: Vec<f64> = inits.chunks(4).flat_map(|c| c[..2].to_vec()).collect();
    let inits1: Vec<f64> = inits.chunks(4).flat_map(|c| c[2..].to_vec()).collect();
    let alone = FixedPointFinder::new(layers[0], finder_opts())
        .unwrap()
        .find_fixed_points(&inits0, &[0.0], None, None)
        .unwrap()
        .unique;
    assert_eq!(alone.n, 9, "the bistable layer has 9 fixed points");
    assert_eq!(stacked.n, alone.n, "one stacked point per point of layer 0");
    // Layer 1's point: F1(b) = b at any input (its w_x is 0).
    let l1 = FixedPointFinder::new(layers[1], finder_opts())
        .unwrap()
        .find_fixed_points(&inits1, &[0.0, 0.0], None, None)
        .unwrap()
        .unique;
    assert_eq!(l1.n, 1);
    for i in 0..alone.n {
        let a = alone.x(i);
        let k = (0..stacked.n)
            .find(|&k| rel_err(&stacked.x(k)[..2], a) < 1e-10)
            .unwrap_or_else(|| panic!("layer 0's point {a:?} is not in the stack's"));
        assert!(rel_err(&stacked.x(k)[2..], l1.x(0)) < 1e-10);
        let st = stacked.is_stable.as_ref().unwrap()[k];
        assert_eq!(st, alone.is_stable.as_ref().unwrap()[i]);
        assert_eq!(
            stacked.n_unstable.as_ref().unwrap()[k],
            alone.n_unstable.as_ref().unwrap()[i]
        );
    }
    assert_eq!(stacked.n_stable(), alone.n_stable());
}

/// Eigenvalues of a row-major `n × n` matrix, sorted (re, im).
fn eigs(n: usize, a: &[f64]) -> Vec<(f64, f64)> {
    let mut work = vec![0.0; eig::work_len(n, false)];
    let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
    eig::eig(n, a, &mut work, &mut re, &mut im, None).unwrap();
    let mut v: Vec<(f64, f64)> = re.into_iter().zip(im).collect();
    v.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
    v
}

#[test]
fn coupled_stacks_fixed_points_are_fixed_points_of_each_layer_with_the_union_of_their_spectra() {
    // Layer 1 reads layer 0 (so its fixed points move with layer 0's): a stacked fixed point
    // (a, b) has a = F0(a) and b = F1(b, a), and its Jacobian, block triangular, has the
    // eigenvalues of ∂F0/∂a and of ∂F1/∂b together. GRU-torch over the bistable layer,
    // then a third LSTM layer.
    let (s0, p0) = bistable(1, 0.3, 2);
    let upper = [
        CellShape::new(CellKind::GruTorch, 2, 3),
        CellShape::new(CellKind::Lstm, 3, 2),
    ];
    let pu = layer_params(&upper, 4);
    let mut layers = vec![Cell::from_flat(s0, &p0).unwrap()];
    layers.extend(bind(&upper, &pu));
    let map = StackedMap::from_layers(layers.clone(), 1).unwrap();
    let s = map.n_states();
    assert_eq!(s, 2 + 3 + 4);
    let mut rng = Rng(11);
    let inits: Vec<f64> = (0..256).flat_map(|_| rng.vec(s, 0.8)).collect();
    let u = [0.2];
    let found = FixedPointFinder::for_map(&map, finder_opts())
        .unwrap()
        .find_fixed_points(&inits, &u, None, None)
        .unwrap()
        .unique;
    assert!(found.n >= 4, "found only {} points", found.n);
    let jac = found.j_xstar.as_ref().unwrap();
    for k in 0..found.n {
        let x = found.x(k);
        // Each layer is at a fixed point given its input.
        let mut input = u.to_vec();
        let mut off = 0;
        let mut blocks = Vec::new();
        for cell in &layers {
            let sl = cell.shape().state_dim();
            let hl = &x[off..off + sl];
            let mut out = vec![0.0; sl];
            let mut cache = vec![0.0; cell.shape().cache_len()];
            cell.step(&input, hl, &mut out, &mut cache).unwrap();
            assert!(
                rel_err(&out, hl) < 1e-12,
                "layer at offset {off} is not fixed"
            );
            let mut a = vec![0.0; sl * sl];
            let mut scratch = vec![0.0; cell.jacobian_scratch_len()];
            cell.jacobian(&input, hl, &cache, &mut a, &mut scratch)
                .unwrap();
            blocks.extend(eigs(sl, &a));
            input = hl[..cell.shape().n_hidden].to_vec();
            off += sl;
        }
        blocks.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.total_cmp(&q.1)));
        let whole = eigs(s, &jac[k * s * s..(k + 1) * s * s]);
        for (p, q) in whole.iter().zip(&blocks) {
            assert!(
                (p.0 - q.0).abs() < 1e-9 && (p.1 - q.1).abs() < 1e-9,
                "point {k}: eigenvalue {p:?} vs the layers' {q:?}"
            );
        }
        let leading = whole.iter().fold(0.0f64, |m, e| m.max(e.0.hypot(e.1)));
        assert_eq!(found.is_stable.as_ref().unwrap()[k], leading < 1.0);
    }
    // dF/du is present (the map has input derivatives) and matches differences of F.
    let dfdu = found.dfdu.as_ref().unwrap();
    let x = found.x(0);
    let eps = 1e-6;
    let mut fp = vec![0.0; s];
    let mut fm = vec![0.0; s];
    map.forward(x, &[u[0] + eps], &mut fp).unwrap();
    map.forward(x, &[u[0] - eps], &mut fm).unwrap();
    for i in 0..s {
        let fd = (fp[i] - fm[i]) / (2.0 * eps);
        assert!(
            (dfdu[i] - fd).abs() < 1e-6,
            "dfdu[{i}] = {} vs {fd}",
            dfdu[i]
        );
    }
}

#[test]
fn results_are_the_same_bits_for_every_thread_count() {
    let shape = CellShape::new(CellKind::GruTorch, 3, 24);
    let model = Model::<f64>::init_scaled_stacked(shape, 2, 3, 42).unwrap();
    let mut rng = Rng(5);
    let inits: Vec<f64> = (0..300).flat_map(|_| rng.vec(48, 0.5)).collect();
    let run = |threads: usize| {
        let map = StackedMap::new(&model, threads).unwrap();
        let opts = FinderOptions {
            n_threads: threads,
            ..finder_opts()
        };
        FixedPointFinder::for_map(&map, opts)
            .unwrap()
            .find_fixed_points(&inits, &[0.0; 3], None, None)
            .unwrap()
    };
    let one = run(1);
    assert!(one.unique.n >= 1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn units_on_a_relu_kink_are_counted_in_every_layer() {
    // Layer 0: leaky ReLU off its kink (bias 0.5, small weights); layer 1: leaky ReLU whose
    // weights and bias are zero, so its pre-activation is 0 at its fixed point h = 0: all
    // three of its units sit on the kink.
    let s0 = CellShape::leaky(Activation::Relu, 1, 2, 0.5);
    let p0 = vec![0.0, 0.0, 0.1, -0.05, 0.02, 0.1, 0.5, 0.5];
    let s1 = CellShape::leaky(Activation::Relu, 2, 3, 0.5);
    let p1 = vec![0.0; s1.n_params()];
    let layers = vec![
        Cell::from_flat(s0, &p0).unwrap(),
        Cell::from_flat(s1, &p1).unwrap(),
    ];
    let map = StackedMap::from_layers(layers, 1).unwrap();
    let inits = Rng(2).vec(16 * 5, 0.5);
    let found = FixedPointFinder::for_map(&map, finder_opts())
        .unwrap()
        .find_fixed_points(&inits, &[0.0], None, None)
        .unwrap()
        .unique;
    assert_eq!(found.n, 1);
    assert_eq!(found.n_kink.as_deref(), Some(&[3usize][..]));
    // A smooth stack has no kink field.
    let shape = CellShape::leaky(Activation::Tanh, 1, 3, 0.5);
    let model = Model::<f64>::init_scaled_stacked(shape, 2, 1, 1).unwrap();
    let map = StackedMap::new(&model, 1).unwrap();
    let found = FixedPointFinder::for_map(&map, finder_opts())
        .unwrap()
        .find_fixed_points(&Rng(3).vec(8 * 6, 0.3), &[0.0], None, None)
        .unwrap()
        .unique;
    assert!(found.n >= 1 && found.n_kink.is_none());
}
