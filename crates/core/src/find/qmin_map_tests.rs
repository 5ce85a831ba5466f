//! Unit tests of [`super::qmin::minimize_map`]: a [`BatchMap`] that evaluates a tanh cell
//! row by row with the cell's own step and VJP must follow the cell's own minimization (the
//! batched tile kernels) to rounding, in every method, with shared and per-state inputs,
//! freezing, clipping and the plateau schedule; and its argument checks and the model's
//! errors.

use super::batch_map::{BatchMap, ModelError};
use super::qmin::{self, QminOutput, QminReport};
use super::{FindError, FinderOptions, Method, Progress};
use crate::cell::{Cell, CellKind, CellShape};
use crate::test_data::data;
use core::cell::Cell as Counter;

/// A cell as a batched map, one row at a time; counts the rows each function saw, and
/// fails `forward` on call `fail_at` (if set).
struct CellMap<'a> {
    cell: Cell<'a, f64>,
    forward_rows: Counter<usize>,
    vjp_rows: Counter<usize>,
    calls: Counter<usize>,
    fail_at: Option<usize>,
}

impl<'a> CellMap<'a> {
    fn new(cell: Cell<'a, f64>) -> Self {
        CellMap {
            cell,
            forward_rows: Counter::new(0),
            vjp_rows: Counter::new(0),
            calls: Counter::new(0),
            fail_at: None,
        }
    }
}

impl BatchMap for CellMap<'_> {
    fn n_states(&self) -> usize {
        self.cell.shape().state_dim()
    }
    fn n_inputs(&self) -> usize {
        self.cell.shape().n_inputs
    }
    fn forward(&self, x: &[f64], u: &[f64], fx: &mut [f64]) -> Result<(), ModelError> {
        let c = self.calls.get();
        self.calls.set(c + 1);
        if self.fail_at == Some(c) {
            return Err(ModelError {
                function: "forward",
                code: 7,
            });
        }
        let sh = *self.cell.shape();
        let (s, ni) = (sh.state_dim(), sh.n_inputs);
        let mut cache = vec![0.0; sh.cache_len()];
        for ((xi, ui), fi) in x.chunks(s).zip(rows_of(u, ni)).zip(fx.chunks_mut(s)) {
            self.cell.step(ui, xi, fi, &mut cache).unwrap();
        }
        self.forward_rows.set(self.forward_rows.get() + x.len() / s);
        Ok(())
    }
    fn vjp(
        &self,
        x: &[f64],
        u: &[f64],
        v: &[f64],
        vjp_x: &mut [f64],
        _vjp_u: Option<&mut [f64]>,
    ) -> Result<(), ModelError> {
        let sh = *self.cell.shape();
        let (s, ni) = (sh.state_dim(), sh.n_inputs);
        let (mut cache, mut fx) = (vec![0.0; sh.cache_len()], vec![0.0; s]);
        let mut scratch = vec![0.0; sh.scratch_len()];
        for (((xi, ui), vi), gi) in x
            .chunks(s)
            .zip(rows_of(u, ni))
            .zip(v.chunks(s))
            .zip(vjp_x.chunks_mut(s))
        {
            self.cell.step(ui, xi, &mut fx, &mut cache).unwrap();
            self.cell
                .vjp(ui, xi, &cache, vi, gi, None, None, &mut scratch)
                .unwrap();
        }
        self.vjp_rows.set(self.vjp_rows.get() + x.len() / s);
        Ok(())
    }
}

/// The input rows of `u` (`ni` each; with no inputs, an empty row for every state).
fn rows_of(u: &[f64], ni: usize) -> Box<dyn Iterator<Item = &[f64]> + '_> {
    if ni == 0 {
        Box::new(core::iter::repeat(&[][..]))
    } else {
        Box::new(u.chunks(ni))
    }
}

struct Run {
    x: Vec<f64>,
    fx: Vec<f64>,
    q: Vec<f64>,
    dq: Vec<f64>,
    n_iters: Vec<usize>,
    report: QminReport,
    progress: Vec<Progress>,
}

/// `minimize_map` (or, without a map, `minimize` on the cell), with exactly the stated
/// workspace.
fn run(
    cell: &Cell<'_, f64>,
    map: Option<&CellMap<'_>>,
    o: &FinderOptions,
    x0: &[f64],
    inputs: &[f64],
) -> Result<Run, FindError> {
    let s = cell.shape().state_dim();
    let n = x0.len() / s;
    let mut r = Run {
        x: x0.to_vec(),
        fx: vec![0.0; n * s],
        q: vec![0.0; n],
        dq: vec![0.0; n],
        n_iters: vec![0; n],
        report: QminReport {
            max_iters_used: 0,
            n_converged: 0,
            stop: qmin::Stop::MaxIters,
            final_lr: 0.0,
        },
        progress: Vec::new(),
    };
    let mut progress = Vec::new();
    let mut cb = |p: &Progress| {
        progress.push(*p);
        true
    };
    let out = QminOutput {
        q: &mut r.q,
        fx: &mut r.fx,
        dq: &mut r.dq,
        n_iters: &mut r.n_iters,
    };
    r.report = match map {
        Some(m) => {
            let mut work = vec![0.0; qmin::map_work_len(m, n, o)];
            qmin::minimize_map(m, o, inputs, &mut r.x, out, &mut work, Some(&mut cb))?
        }
        None => {
            let mut work = vec![0.0; qmin::work_len(cell, n, o)];
            qmin::minimize(cell, o, inputs, &mut r.x, out, &mut work, Some(&mut cb))?
        }
    };
    r.progress = progress;
    Ok(r)
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(p, q)| (p - q).abs() <= tol * (1.0 + q.abs()))
}

/// The map's run follows the cell's: the same iterations, stop and rates, the same states,
/// `G(x)`, q and dq to rounding, the same progress.
fn assert_same(m: &Run, c: &Run, what: &str) {
    assert_eq!(m.n_iters, c.n_iters, "{what}: iterations");
    assert_eq!(m.report.max_iters_used, c.report.max_iters_used, "{what}");
    assert_eq!(m.report.n_converged, c.report.n_converged, "{what}");
    assert_eq!(m.report.stop, c.report.stop, "{what}");
    assert_eq!(m.report.final_lr, c.report.final_lr, "{what}");
    assert!(close(&m.x, &c.x, 1e-9), "{what}: x");
    assert!(close(&m.fx, &c.fx, 1e-9), "{what}: fx");
    let (qs, dqs) = (c.q.iter().fold(0.0f64, |a, &v| a.max(v)), 1e-9);
    assert!(
        m.q.iter()
            .zip(&c.q)
            .all(|(a, b)| (a - b).abs() <= 1e-7 * qs + 1e-300),
        "{what}: q"
    );
    assert!(close(&m.dq, &c.dq, dqs), "{what}: dq");
    assert_eq!(m.progress.len(), c.progress.len(), "{what}: progress calls");
    for (a, b) in m.progress.iter().zip(&c.progress) {
        assert_eq!(
            (a.iter, a.first_state, a.n_states, a.lr, a.done),
            (b.iter, b.first_state, b.n_states, b.lr, b.done),
            "{what}"
        );
        assert!(
            (a.q_mean - b.q_mean).abs() <= 1e-7 * b.q_mean + 1e-300,
            "{what}"
        );
    }
}

#[test]
fn a_map_follows_the_cells_own_minimization() {
    let shape = CellShape::new(CellKind::Tanh, 2, 5);
    let p = data(shape.n_params(), 4, 1.3 / 5f64.sqrt());
    let cell = Cell::from_flat(shape, &p).unwrap();
    let n = 90;
    let x0 = data(n * 5, 8, 1.0);
    let rows = data(n * 2, 9, 0.5);
    let base = FinderOptions {
        max_iters: 120,
        lr_init: 0.1,
        tol_q: 1e-7,
        tol_dq: 1e-9,
        lr_patience: 3,
        lr_factor: 0.7,
        ..FinderOptions::default()
    };
    let configs = [
        ("joint, stopped states moved out", base),
        (
            "joint, no freezing",
            FinderOptions {
                freeze_converged: false,
                ..base
            },
        ),
        (
            "joint, clipped",
            FinderOptions {
                max_grad_norm: 2e-3,
                adaptive_grad_clip: 1.2,
                ..base
            },
        ),
        (
            "sequential",
            FinderOptions {
                method: Method::Sequential,
                max_iters: 60,
                ..base
            },
        ),
        (
            "newton (no step)",
            FinderOptions {
                method: Method::Newton,
                ..base
            },
        ),
    ];
    for (name, o) in configs {
        for shared in [true, false] {
            let (x0, inputs) = if name == "sequential" {
                (&x0[..10 * 5], if shared { &rows[..2] } else { &rows[..20] })
            } else {
                (&x0[..], if shared { &rows[..2] } else { &rows[..] })
            };
            let what = format!("{name}, shared {shared}");
            let map = CellMap::new(cell);
            let m = run(&cell, Some(&map), &o, x0, inputs).unwrap();
            let c = run(&cell, None, &o, x0, inputs).unwrap();
            assert_same(&m, &c, &what);
            if o.method == Method::Joint && o.freeze_converged {
                let its = &c.n_iters;
                assert!(its.iter().min() < its.iter().max(), "{what}: nothing froze");
                // One evaluation per state and iteration it ran, and the gradient on all
                // but the last.
                let evals: usize = its.iter().map(|&k| k + 1).sum();
                assert_eq!(map.forward_rows.get(), evals, "{what}: forward rows");
                let grads = evals - its.iter().filter(|&&k| k == o.max_iters).count();
                assert_eq!(map.vjp_rows.get(), grads, "{what}: vjp rows");
            }
            if o.method == Method::Newton {
                assert_eq!(m.x, x0, "{what}: the newton method moved a state");
                assert_eq!(map.vjp_rows.get(), 0, "{what}");
            }
        }
    }
}

#[test]
fn map_arguments_and_model_errors() {
    let shape = CellShape::new(CellKind::Tanh, 2, 3);
    let p = data(shape.n_params(), 2, 0.4);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let (x0, u) = (data(12, 1, 1.0), [0.1, 0.2]);
    let o = FinderOptions {
        max_iters: 20,
        ..FinderOptions::default()
    };
    // The model's failure on its third call stops the run.
    let mut map = CellMap::new(cell);
    map.fail_at = Some(2);
    let e = run(&cell, Some(&map), &o, &x0, &u).err();
    let err = ModelError {
        function: "forward",
        code: 7,
    };
    assert_eq!(e, Some(FindError::Model(err)));
    // Period 2 is refused; so is a workspace one element short.
    let map = CellMap::new(cell);
    let o2 = FinderOptions { period: 2, ..o };
    assert!(matches!(
        run(&cell, Some(&map), &o2, &x0, &u),
        Err(FindError::Shape(_))
    ));
    for method in [Method::Joint, Method::Sequential] {
        let om = FinderOptions { method, ..o };
        let need = qmin::map_work_len(&map, 4, &om);
        let mut work = vec![0.0; need - 1];
        let (mut q, mut fx, mut dq, mut it) =
            (vec![0.0; 4], vec![0.0; 12], vec![0.0; 4], vec![0; 4]);
        let mut x = x0.clone();
        let out = QminOutput {
            q: &mut q,
            fx: &mut fx,
            dq: &mut dq,
            n_iters: &mut it,
        };
        let e = qmin::minimize_map(&map, &om, &u, &mut x, out, &mut work, None);
        assert_eq!(e.err(), Some(FindError::Workspace { need }), "{method:?}");
    }
}

/// A model without inputs (the shared input row is empty, nothing to repeat) follows the
/// cell's own minimization too, joint and sequential.
#[test]
fn a_map_without_inputs_follows_the_cell() {
    let shape = CellShape::new(CellKind::Tanh, 0, 4);
    let p = data(shape.n_params(), 5, 1.2 / 2.0);
    let cell = Cell::from_flat(shape, &p).unwrap();
    let x0 = data(70 * 4, 6, 1.0);
    for method in [Method::Joint, Method::Sequential] {
        let o = FinderOptions {
            method,
            max_iters: 40,
            lr_init: 0.1,
            tol_q: 1e-7,
            tol_dq: 1e-9,
            ..FinderOptions::default()
        };
        let map = CellMap::new(cell);
        let m = run(&cell, Some(&map), &o, &x0, &[]).unwrap();
        let c = run(&cell, None, &o, &x0, &[]).unwrap();
        assert_same(&m, &c, &format!("{method:?}, no inputs"));
        assert!(map.forward_rows.get() >= 70, "{method:?}");
    }
}
