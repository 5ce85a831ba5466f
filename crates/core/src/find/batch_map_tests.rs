//! Unit tests of [`super::batch_map`]: the trait's defaults, [`ModelError`]'s message, and
//! [`jacobians`] by the model's Jacobian function or from VJPs, against Jacobians written
//! out by hand.

use super::batch_map::{BatchMap, ModelError, jacobians, jacobians_work_len};
use core::cell::Cell as StdCell;

/// `F(x, u) = tanh(A x + B u + b)` with `S = 3`, `I = 2`: Jacobians that differ from state
/// to state and from input row to input row. `with_jac`: whether it has a Jacobian
/// function. Counts its VJP and Jacobian calls; `fail_vjp` makes the VJP return that status.
struct TanhMap {
    with_jac: bool,
    fail_vjp: i32,
    vjp_calls: StdCell<usize>,
    jac_calls: StdCell<usize>,
}

const S: usize = 3;
const I: usize = 2;
const A: [[f64; S]; S] = [[0.9, -0.4, 0.3], [0.2, 1.1, -0.7], [-0.5, 0.6, 0.8]];
const B: [[f64; I]; S] = [[0.7, -0.2], [-0.3, 0.5], [0.4, 0.9]];
const BIAS: [f64; S] = [0.1, -0.2, 0.05];

impl TanhMap {
    fn new(with_jac: bool) -> Self {
        TanhMap {
            with_jac,
            fail_vjp: 0,
            vjp_calls: StdCell::new(0),
            jac_calls: StdCell::new(0),
        }
    }

    /// `F` of one state.
    fn f(x: &[f64], u: &[f64]) -> [f64; S] {
        core::array::from_fn(|o| {
            let a: f64 = (0..S).map(|k| A[o][k] * x[k]).sum::<f64>()
                + (0..I).map(|k| B[o][k] * u[k]).sum::<f64>()
                + BIAS[o];
            a.tanh()
        })
    }

    /// The Jacobians of one state, written out: `∂F_o/∂x_k = (1 − F_o²) A_ok`, likewise
    /// with `B` for `u`.
    fn jac_one(x: &[f64], u: &[f64]) -> ([[f64; S]; S], [[f64; I]; S]) {
        let f = Self::f(x, u);
        let jx = core::array::from_fn(|o| core::array::from_fn(|k| (1.0 - f[o] * f[o]) * A[o][k]));
        let ju = core::array::from_fn(|o| core::array::from_fn(|k| (1.0 - f[o] * f[o]) * B[o][k]));
        (jx, ju)
    }
}

impl BatchMap for TanhMap {
    fn n_states(&self) -> usize {
        S
    }
    fn n_inputs(&self) -> usize {
        I
    }
    fn forward(&self, x: &[f64], u: &[f64], fx: &mut [f64]) -> Result<(), ModelError> {
        for ((xr, ur), fr) in x.chunks(S).zip(u.chunks(I)).zip(fx.chunks_mut(S)) {
            fr.copy_from_slice(&Self::f(xr, ur));
        }
        Ok(())
    }
    fn vjp(
        &self,
        x: &[f64],
        u: &[f64],
        v: &[f64],
        vjp_x: &mut [f64],
        mut vjp_u: Option<&mut [f64]>,
    ) -> Result<(), ModelError> {
        self.vjp_calls.set(self.vjp_calls.get() + 1);
        if self.fail_vjp != 0 {
            return Err(ModelError {
                function: "vjp",
                code: self.fail_vjp,
            });
        }
        let n = x.len() / S;
        assert_eq!((u.len(), v.len(), vjp_x.len()), (n * I, n * S, n * S));
        for i in 0..n {
            let (xr, ur, vr) = (&x[i * S..][..S], &u[i * I..][..I], &v[i * S..][..S]);
            let (jx, ju) = Self::jac_one(xr, ur);
            for k in 0..S {
                vjp_x[i * S + k] = (0..S).map(|o| vr[o] * jx[o][k]).sum();
            }
            if let Some(vu) = vjp_u.as_deref_mut() {
                assert_eq!(vu.len(), n * I);
                for k in 0..I {
                    vu[i * I + k] = (0..S).map(|o| vr[o] * ju[o][k]).sum();
                }
            }
        }
        Ok(())
    }
    fn jacobian(
        &self,
        x: &[f64],
        u: &[f64],
        jac: &mut [f64],
        mut dfdu: Option<&mut [f64]>,
    ) -> Result<bool, ModelError> {
        if !self.with_jac {
            return Ok(false);
        }
        self.jac_calls.set(self.jac_calls.get() + 1);
        for i in 0..x.len() / S {
            // Marked (+1000) so that a test sees which path wrote the result.
            let (jx, ju) = Self::jac_one(&x[i * S..][..S], &u[i * I..][..I]);
            for o in 0..S {
                for k in 0..S {
                    jac[(i * S + o) * S + k] = jx[o][k] + 1000.0;
                }
                if let Some(d) = dfdu.as_deref_mut() {
                    for k in 0..I {
                        d[(i * S + o) * I + k] = ju[o][k] + 1000.0;
                    }
                }
            }
        }
        Ok(true)
    }
    fn input_derivatives(&self) -> bool {
        true
    }
}

/// A map that overrides nothing optional: the trait's defaults.
struct Plain;

impl BatchMap for Plain {
    fn n_states(&self) -> usize {
        2
    }
    fn n_inputs(&self) -> usize {
        1
    }
    fn forward(&self, x: &[f64], _u: &[f64], fx: &mut [f64]) -> Result<(), ModelError> {
        fx.copy_from_slice(x);
        Ok(())
    }
    fn vjp(
        &self,
        _x: &[f64],
        _u: &[f64],
        v: &[f64],
        vjp_x: &mut [f64],
        _vjp_u: Option<&mut [f64]>,
    ) -> Result<(), ModelError> {
        vjp_x.copy_from_slice(v);
        Ok(())
    }
}

/// Four distinct states and input rows.
fn states() -> (Vec<f64>, Vec<f64>) {
    let n = 4;
    let x = (0..n * S).map(|k| 0.3 * (k as f64 * 1.7).sin()).collect();
    let u = (0..n * I)
        .map(|k| 0.8 * (k as f64 * 2.3 + 0.4).cos())
        .collect();
    (x, u)
}

#[test]
fn model_error_message_names_the_function_and_status() {
    let e = ModelError {
        function: "vjp",
        code: -7,
    };
    assert_eq!(
        format!("{e}"),
        "the model's `vjp` function failed (returned -7)"
    );
}

#[test]
fn trait_defaults_have_no_jacobian_no_input_derivatives_no_kinks() {
    let m = Plain;
    assert!(!m.input_derivatives());
    assert_eq!(m.kink_units(&[0.0, 0.0], &[0.0]), None);
    let mut jac = [7.0; 4];
    let mut d = [7.0; 2];
    assert_eq!(
        m.jacobian(&[0.1, 0.2], &[0.3], &mut jac, Some(&mut d)),
        Ok(false)
    );
    assert_eq!((jac, d), ([7.0; 4], [7.0; 2]), "the default writes nothing");
}

#[test]
fn work_len_is_the_repeated_states_unit_vectors_and_inputs() {
    let m = TanhMap::new(false);
    // n·S rows of x (S each), of the unit vectors (S each) and of u (I each).
    assert_eq!(jacobians_work_len(&m, 4), 4 * S * (S + S + I));
    assert_eq!(jacobians_work_len(&m, 1), S * (2 * S + I));
    assert_eq!(jacobians_work_len(&m, 0), 0);
    assert_eq!(jacobians_work_len(&Plain, 3), 3 * 2 * 5);
}

/// Without a Jacobian function: one VJP call on n·S rows gives every state's `∂F/∂x` and
/// `∂F/∂u`, equal to the hand-written ones, in a workspace of exactly
/// [`jacobians_work_len`].
#[test]
fn jacobians_from_vjps_match_the_written_out_jacobians() {
    let (x, u) = states();
    let n = x.len() / S;
    for with_dfdu in [true, false] {
        let m = TanhMap::new(false);
        let mut work = vec![f64::NAN; jacobians_work_len(&m, n)];
        let mut jac = vec![f64::NAN; n * S * S];
        let mut dfdu = vec![f64::NAN; n * S * I];
        let d = with_dfdu.then_some(&mut dfdu[..]);
        jacobians(&m, &x, &u, &mut jac, d, &mut work).unwrap();
        assert_eq!((m.vjp_calls.get(), m.jac_calls.get()), (1, 0));
        for i in 0..n {
            let (jx, ju) = TanhMap::jac_one(&x[i * S..][..S], &u[i * I..][..I]);
            for o in 0..S {
                for k in 0..S {
                    let got = jac[(i * S + o) * S + k];
                    assert!(
                        (got - jx[o][k]).abs() < 1e-14,
                        "state {i} J[{o}][{k}] {got}"
                    );
                }
                for k in 0..I {
                    let got = dfdu[(i * S + o) * I + k];
                    if with_dfdu {
                        assert!((got - ju[o][k]).abs() < 1e-14, "state {i} dFdu[{o}][{k}]");
                    } else {
                        assert!(got.is_nan(), "dfdu written when not asked for");
                    }
                }
            }
        }
    }
}

/// With a Jacobian function: it alone writes the result (no VJP call).
#[test]
fn jacobians_use_the_models_jacobian_function_when_it_has_one() {
    let (x, u) = states();
    let n = x.len() / S;
    let m = TanhMap::new(true);
    let mut work = vec![0.0; jacobians_work_len(&m, n)];
    let mut jac = vec![f64::NAN; n * S * S];
    let mut dfdu = vec![f64::NAN; n * S * I];
    jacobians(&m, &x, &u, &mut jac, Some(&mut dfdu), &mut work).unwrap();
    assert_eq!((m.vjp_calls.get(), m.jac_calls.get()), (0, 1));
    let (jx, ju) = TanhMap::jac_one(&x[S..][..S], &u[I..][..I]);
    assert_eq!(jac[S * S + S + 2], jx[1][2] + 1000.0);
    assert_eq!(dfdu[S * I + I + 1], ju[1][1] + 1000.0);
}

/// A failing VJP's status comes back as the error.
#[test]
fn jacobians_pass_on_the_models_error() {
    let (x, u) = states();
    let n = x.len() / S;
    let mut m = TanhMap::new(false);
    m.fail_vjp = 5;
    let mut work = vec![0.0; jacobians_work_len(&m, n)];
    let mut jac = vec![0.0; n * S * S];
    let r = jacobians(&m, &x, &u, &mut jac, None, &mut work);
    assert_eq!(
        r,
        Err(ModelError {
            function: "vjp",
            code: 5
        })
    );
}
