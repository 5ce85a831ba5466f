//! Unit tests of [`super::StackedCell`]'s sizes, offsets and workspaces: a one-layer stack
//! is its cell (the same bits), and the derivatives given exactly the stated scratch equal
//! those given more (a shorter scratch is refused). The derivatives themselves are checked
//! against finite differences in the integration tests (tests/stacked.rs).

use super::{Activation, Cell, CellKind, CellShape, StackedCell};
use crate::test_data::data;

fn params(shapes: &[CellShape], seed: u64) -> Vec<Vec<f64>> {
    shapes
        .iter()
        .enumerate()
        .map(|(l, s)| {
            data(
                s.n_params(),
                seed + l as u64,
                1.0 / (s.n_hidden as f64).sqrt(),
            )
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

/// LSTM (I = 2, H = 3) → GRU (H = 4) → tanh (H = 2): states of 6, 4 and 2.
fn mixed() -> [CellShape; 3] {
    [
        CellShape::new(CellKind::Lstm, 2, 3),
        CellShape::new(CellKind::Gru, 3, 4),
        CellShape::new(CellKind::Tanh, 4, 2),
    ]
}

#[test]
fn sizes_and_offsets_follow_the_layers() {
    let shapes = mixed();
    let p = params(&shapes, 1);
    let cells = bind(&shapes, &p);
    let st = StackedCell::new(&cells).unwrap();
    assert_eq!(st.n_layers(), 3);
    assert_eq!(st.layers().len(), 3);
    assert_eq!(st.n_inputs(), 2);
    assert_eq!(st.state_dim(), 12);
    let offsets: Vec<usize> = (0..=4).map(|l| st.state_offset(l)).collect();
    assert_eq!(offsets, [0, 6, 10, 12, 12]);
    // Every layer's cache, and the new h of the two lower layers.
    let caches: usize = shapes.iter().map(|s| s.cache_len()).sum();
    assert_eq!(st.cache_len(), caches + 3 + 4);
    let one = StackedCell::new(&cells[1..2]).unwrap();
    assert_eq!((one.n_layers(), one.state_offset(1)), (1, 4));
}

/// A stack of one layer steps, differentiates and takes its workspaces as the cell does,
/// with scratch of exactly the stated lengths (`S = 1` included).
#[test]
fn a_one_layer_stack_is_its_cell() {
    let mut shapes = vec![
        CellShape::new(CellKind::Tanh, 3, 1),
        CellShape::new(CellKind::Tanh, 2, 5),
        CellShape::new(CellKind::Gru, 2, 4),
        CellShape::new(CellKind::GruTorch, 2, 3),
        CellShape::new(CellKind::Lstm, 1, 1),
        CellShape::new(CellKind::Lstm, 2, 3),
    ];
    for act in Activation::ALL {
        shapes.push(CellShape::leaky(act, 2, 3, 0.5));
    }
    for (k, shape) in shapes.iter().enumerate() {
        let p = params(&[*shape], 10 + k as u64);
        let cells = bind(&[*shape], &p);
        let (cell, st) = (cells[0], StackedCell::new(&cells).unwrap());
        let (s, ni) = (shape.state_dim(), shape.n_inputs);
        assert_eq!((st.state_dim(), st.cache_len()), (s, shape.cache_len()));
        let x = data(ni, 3, 0.8);
        let h = data(s, 4, 0.6);
        let g = data(s, 5, 1.0);
        let what = format!("{:?} H = {}", shape.kind, shape.n_hidden);

        let (mut out, mut cache) = (vec![0.0; s], vec![0.0; shape.cache_len()]);
        cell.step(&x, &h, &mut out, &mut cache).unwrap();
        let (mut out_s, mut cache_s) = (vec![0.0; s], vec![0.0; st.cache_len()]);
        st.step(&x, &h, &mut out_s, &mut cache_s).unwrap();
        assert_eq!((&out_s, &cache_s), (&out, &cache), "{what}: step");

        let (mut gh, mut gx) = (vec![0.0; s], vec![0.0; ni]);
        let mut sc = vec![0.0; shape.scratch_len()];
        cell.vjp(&x, &h, &cache, &g, &mut gh, Some(&mut gx), None, &mut sc)
            .unwrap();
        let (mut gh_s, mut gx_s) = (vec![f64::NAN; s], vec![f64::NAN; ni]);
        let mut sc_s = vec![0.0; st.vjp_scratch_len()];
        st.vjp(&x, &h, &cache, &g, &mut gh_s, Some(&mut gx_s), &mut sc_s)
            .unwrap();
        assert_eq!((&gh_s, &gx_s), (&gh, &gx), "{what}: vjp");

        let (mut j, mut d) = (vec![0.0; s * s], vec![0.0; s * ni]);
        let mut sc = vec![0.0; cell.jacobian_scratch_len()];
        cell.jacobian(&x, &h, &cache, &mut j, &mut sc).unwrap();
        cell.input_jacobian(&x, &h, &cache, &mut d, &mut sc)
            .unwrap();
        let (mut j_s, mut d_s) = (vec![f64::NAN; s * s], vec![f64::NAN; s * ni]);
        let mut sc_s = vec![0.0; st.jacobian_scratch_len()];
        st.jacobians(&x, &h, &cache, Some(&mut j_s), Some(&mut d_s), &mut sc_s)
            .unwrap();
        assert_eq!((&j_s, &d_s), (&j, &d), "{what}: jacobians");
    }
}

/// The derivatives of a stack given exactly the stated scratch are those given more (each
/// output also alone); one element less is refused.
#[test]
fn derivatives_take_exactly_the_stated_scratch() {
    for shapes in [
        mixed().to_vec(),
        vec![
            CellShape::new(CellKind::Tanh, 2, 1),
            CellShape::new(CellKind::Tanh, 1, 1),
        ],
        vec![
            CellShape::new(CellKind::Gru, 5, 2),
            CellShape::leaky(Activation::Relu, 2, 6, 0.4),
            CellShape::new(CellKind::Lstm, 6, 1),
        ],
    ] {
        let p = params(&shapes, 7);
        let cells = bind(&shapes, &p);
        let st = StackedCell::new(&cells).unwrap();
        let (s, ni) = (st.state_dim(), st.n_inputs());
        let (x, h, g) = (data(ni, 1, 0.8), data(s, 2, 0.6), data(s, 3, 1.0));
        let (mut out, mut cache) = (vec![0.0; s], vec![0.0; st.cache_len()]);
        st.step(&x, &h, &mut out, &mut cache).unwrap();

        let vjp = |len: usize, with_x: bool| {
            let (mut gh, mut gx) = (vec![f64::NAN; s], vec![f64::NAN; ni]);
            let mut sc = vec![0.0; len];
            let r = st.vjp(
                &x,
                &h,
                &cache,
                &g,
                &mut gh,
                with_x.then_some(&mut gx[..]),
                &mut sc,
            );
            r.map(|()| (gh, gx))
        };
        let need = st.vjp_scratch_len();
        let (gh, gx) = vjp(need + 50, true).unwrap();
        assert!(gh.iter().chain(&gx).all(|v| v.is_finite()));
        assert_eq!(vjp(need, true).unwrap(), (gh.clone(), gx), "{shapes:?}");
        assert_eq!(vjp(need, false).unwrap().0, gh, "{shapes:?}");
        assert!(vjp(need - 1, true).is_err());

        let jac = |len: usize, j: bool, d: bool| {
            let (mut jm, mut dm) = (vec![f64::NAN; s * s], vec![f64::NAN; s * ni]);
            let mut sc = vec![0.0; len];
            let r = st.jacobians(
                &x,
                &h,
                &cache,
                j.then_some(&mut jm[..]),
                d.then_some(&mut dm[..]),
                &mut sc,
            );
            r.map(|()| (jm, dm))
        };
        let need = st.jacobian_scratch_len();
        let (jm, dm) = jac(need + 50, true, true).unwrap();
        assert!(jm.iter().chain(&dm).all(|v| v.is_finite()));
        assert_eq!(jac(need, true, true).unwrap(), (jm.clone(), dm.clone()));
        assert_eq!(jac(need, true, false).unwrap().0, jm, "{shapes:?}");
        assert_eq!(jac(need, false, true).unwrap().1, dm, "{shapes:?}");
        assert!(jac(need - 1, true, true).is_err());
    }
}
