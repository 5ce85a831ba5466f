//! Unit tests of the finder's checks before it runs: [`FinderOptions::validate`] at both sides
//! of every bound, [`Method::name`], the argument checks of `find/mod.rs` (`check_len`,
//! `check_batch`, `check_batch_dims`, `check_finite`) and the messages of [`OptionError`] and
//! [`FindError`].

use super::batch_map::ModelError;
use super::options::MAX_THREADS;
use super::{FindError, FinderOptions, Method, OptionError};
use crate::cell::{CellKind, CellShape, ShapeError};

/// The option `validate` names for `o`, or `None` when it accepts `o`.
fn offender(o: FinderOptions) -> Option<&'static str> {
    o.validate().err().map(|e| e.name)
}

/// The defaults with one edit.
fn with(edit: impl FnOnce(&mut FinderOptions)) -> FinderOptions {
    let mut o = FinderOptions::default();
    edit(&mut o);
    o
}

#[test]
fn the_defaults_are_valid() {
    assert_eq!(FinderOptions::default().validate(), Ok(()));
    for method in [Method::Joint, Method::Sequential, Method::Newton] {
        assert_eq!(offender(with(|o| o.method = method)), None, "{method:?}");
    }
}

/// Every bound, with a value just inside it (accepted) and values outside it (rejected, the
/// offending option named). Zero where "0 = off" or "≥ 0" allows it, the largest accepted
/// count, and NaN and ±∞ for every float.
#[test]
fn every_bound_is_checked_on_both_sides() {
    type Edit = fn(&mut FinderOptions);
    let accepted: &[(&str, Edit)] = &[
        ("max_iters 1", |o| o.max_iters = 1),
        ("tol_q 0", |o| o.tol_q = 0.0),
        ("tol_q 1e300", |o| o.tol_q = 1e300),
        ("tol_dq 0", |o| o.tol_dq = 0.0),
        ("lr_init tiny", |o| o.lr_init = f64::MIN_POSITIVE),
        ("lr_init 1e300", |o| o.lr_init = 1e300),
        ("lr_factor 1", |o| o.lr_factor = 1.0),
        ("lr_factor tiny", |o| o.lr_factor = f64::MIN_POSITIVE),
        ("max_grad_norm 0", |o| o.max_grad_norm = 0.0),
        ("max_grad_norm 5", |o| o.max_grad_norm = 5.0),
        ("adaptive_grad_clip 0", |o| o.adaptive_grad_clip = 0.0),
        ("adaptive_grad_clip 3", |o| o.adaptive_grad_clip = 3.0),
        ("period 1", |o| o.period = 1),
        ("period 1024", |o| o.period = 1024),
        ("newton_max_iters 0 with joint", |o| {
            o.method = Method::Joint;
            o.newton_max_iters = 0;
        }),
        ("newton_max_iters 0 with sequential", |o| {
            o.method = Method::Sequential;
            o.newton_max_iters = 0;
        }),
        ("newton_max_iters 1 with newton", |o| {
            o.method = Method::Newton;
            o.newton_max_iters = 1;
        }),
        ("tol_unique 0", |o| o.tol_unique = 0.0),
        ("outlier_distance_scale tiny", |o| {
            o.outlier_distance_scale = f64::MIN_POSITIVE
        }),
        ("outlier_q_scale tiny", |o| {
            o.outlier_q_scale = f64::MIN_POSITIVE
        }),
        ("max_n_unique 1", |o| o.max_n_unique = 1),
        ("final_q_threshold tiny", |o| {
            o.final_q_threshold = f64::MIN_POSITIVE
        }),
        ("final_q_threshold inf", |o| {
            o.final_q_threshold = f64::INFINITY
        }),
        ("n_iters_per_print_update 1", |o| {
            o.n_iters_per_print_update = 1
        }),
        ("n_threads 0", |o| o.n_threads = 0),
        ("n_threads 1", |o| o.n_threads = 1),
        ("n_threads MAX_THREADS", |o| o.n_threads = MAX_THREADS),
    ];
    for (what, edit) in accepted {
        assert_eq!(offender(with(edit)), None, "{what}");
    }

    let nonneg: &[(&str, Edit)] = &[
        ("tol_q", |o| o.tol_q = -1e-300),
        ("tol_q", |o| o.tol_q = f64::NAN),
        ("tol_q", |o| o.tol_q = f64::INFINITY),
        ("tol_dq", |o| o.tol_dq = -1.0),
        ("tol_dq", |o| o.tol_dq = f64::NAN),
        ("tol_dq", |o| o.tol_dq = f64::INFINITY),
        ("max_grad_norm", |o| o.max_grad_norm = -1.0),
        ("max_grad_norm", |o| o.max_grad_norm = f64::NAN),
        ("max_grad_norm", |o| o.max_grad_norm = f64::INFINITY),
        ("adaptive_grad_clip", |o| o.adaptive_grad_clip = -0.5),
        ("adaptive_grad_clip", |o| o.adaptive_grad_clip = f64::NAN),
        ("adaptive_grad_clip", |o| {
            o.adaptive_grad_clip = f64::INFINITY
        }),
        ("tol_unique", |o| o.tol_unique = -1e-3),
        ("tol_unique", |o| o.tol_unique = f64::NAN),
        ("tol_unique", |o| o.tol_unique = f64::INFINITY),
    ];
    let positive: &[(&str, Edit)] = &[
        ("lr_init", |o| o.lr_init = 0.0),
        ("lr_init", |o| o.lr_init = -1.0),
        ("lr_init", |o| o.lr_init = f64::NAN),
        ("lr_init", |o| o.lr_init = f64::INFINITY),
        ("outlier_distance_scale", |o| o.outlier_distance_scale = 0.0),
        ("outlier_distance_scale", |o| {
            o.outlier_distance_scale = -2.0
        }),
        ("outlier_distance_scale", |o| {
            o.outlier_distance_scale = f64::NAN
        }),
        ("outlier_distance_scale", |o| {
            o.outlier_distance_scale = f64::INFINITY
        }),
        ("outlier_q_scale", |o| o.outlier_q_scale = 0.0),
        ("outlier_q_scale", |o| o.outlier_q_scale = -10.0),
        ("outlier_q_scale", |o| o.outlier_q_scale = f64::NAN),
        ("outlier_q_scale", |o| o.outlier_q_scale = f64::INFINITY),
    ];
    let other: &[(&str, Edit)] = &[
        ("max_iters", |o| o.max_iters = 0),
        ("lr_factor", |o| o.lr_factor = 0.0),
        ("lr_factor", |o| o.lr_factor = -0.5),
        ("lr_factor", |o| o.lr_factor = 1.0 + f64::EPSILON),
        ("lr_factor", |o| o.lr_factor = 1.5),
        ("lr_factor", |o| o.lr_factor = f64::NAN),
        ("lr_factor", |o| o.lr_factor = f64::INFINITY),
        ("period", |o| o.period = 0),
        ("period", |o| o.period = 1025),
        ("period", |o| o.period = usize::MAX),
        ("newton_max_iters", |o| {
            o.method = Method::Newton;
            o.newton_max_iters = 0;
        }),
        ("max_n_unique", |o| o.max_n_unique = 0),
        ("final_q_threshold", |o| o.final_q_threshold = 0.0),
        ("final_q_threshold", |o| o.final_q_threshold = -1e-8),
        ("final_q_threshold", |o| o.final_q_threshold = f64::NAN),
        ("final_q_threshold", |o| {
            o.final_q_threshold = f64::NEG_INFINITY
        }),
        ("n_iters_per_print_update", |o| {
            o.n_iters_per_print_update = 0
        }),
        ("n_threads", |o| o.n_threads = MAX_THREADS + 1),
        ("n_threads", |o| o.n_threads = usize::MAX),
    ];
    for (name, edit) in nonneg.iter().chain(positive).chain(other) {
        let o = with(edit);
        assert_eq!(offender(o), Some(*name), "{o:?}");
    }
}

#[test]
fn the_requirements_say_what_each_option_must_be() {
    let req = |o: FinderOptions| o.validate().unwrap_err().requirement;
    assert_eq!(req(with(|o| o.tol_q = -1.0)), "finite and ≥ 0");
    assert_eq!(req(with(|o| o.lr_init = 0.0)), "finite and > 0");
    assert_eq!(req(with(|o| o.lr_factor = 2.0)), "in (0, 1]");
    assert_eq!(req(with(|o| o.period = 0)), "between 1 and 1024");
    assert_eq!(
        req(with(|o| o.n_threads = MAX_THREADS + 1)),
        "at most 1024 (0 = all cores)"
    );
    // The message names the largest count accepted.
    assert_eq!(MAX_THREADS, 1024);
}

#[test]
fn the_first_offender_in_declaration_order_is_named() {
    let o = with(|o| {
        o.n_threads = MAX_THREADS + 1;
        o.period = 0;
        o.tol_dq = -1.0;
    });
    assert_eq!(offender(o), Some("tol_dq"));
    let o = with(|o| {
        o.n_threads = MAX_THREADS + 1;
        o.period = 0;
    });
    assert_eq!(offender(o), Some("period"));
}

#[test]
fn methods_have_their_lower_case_names() {
    assert_eq!(Method::Joint.name(), "joint");
    assert_eq!(Method::Sequential.name(), "sequential");
    assert_eq!(Method::Newton.name(), "newton");
}

#[test]
fn error_messages_name_the_culprit() {
    let opt = OptionError {
        name: "lr_factor",
        requirement: "in (0, 1]",
    };
    assert_eq!(opt.to_string(), "option `lr_factor` must be in (0, 1]");
    assert_eq!(
        FindError::Option(opt).to_string(),
        "option `lr_factor` must be in (0, 1]"
    );
    let shape = ShapeError {
        what: "inputs",
        expected: 3,
        got: 5,
    };
    assert_eq!(
        FindError::Shape(shape).to_string(),
        "`inputs` has length 5, expected 3"
    );
    assert_eq!(
        FindError::NotFinite {
            what: "initial states",
            index: 7
        }
        .to_string(),
        "initial states[7] is NaN or infinite"
    );
    assert_eq!(
        FindError::Diverged { state: 4 }.to_string(),
        "q is not finite for state 4: the network diverges"
    );
    assert_eq!(
        FindError::Cancelled.to_string(),
        "stopped by the progress callback"
    );
    let model = ModelError {
        function: "vjp",
        code: -3,
    };
    assert_eq!(
        FindError::Model(model).to_string(),
        "the model's `vjp` function failed (returned -3)"
    );
    assert_eq!(
        FindError::Workspace { need: 120 }.to_string(),
        "workspace too short: 120 elements needed"
    );
}

#[test]
fn errors_convert_into_find_errors() {
    let model = ModelError {
        function: "forward",
        code: 2,
    };
    assert_eq!(FindError::from(model), FindError::Model(model));
    let shape = ShapeError {
        what: "q",
        expected: 4,
        got: 3,
    };
    assert_eq!(FindError::from(shape), FindError::Shape(shape));
}

#[test]
fn check_len_accepts_only_the_expected_length() {
    assert_eq!(super::check_len("q", 4, 4), Ok(()));
    assert_eq!(super::check_len("q", 0, 0), Ok(()));
    let shape = |expected, got| {
        Err(FindError::Shape(ShapeError {
            what: "q",
            expected,
            got,
        }))
    };
    assert_eq!(super::check_len("q", 4, 3), shape(4, 3));
    assert_eq!(super::check_len("q", 4, 5), shape(4, 5));
    assert_eq!(super::check_len("q", 0, 1), shape(0, 1));
}

/// The error for initial states of length `got` that are not a positive multiple of the state
/// size: it names the next positive multiple.
fn bad_states(expected: usize, got: usize) -> Result<usize, FindError> {
    Err(FindError::Shape(ShapeError {
        what: "initial states (a positive multiple of the state size)",
        expected,
        got,
    }))
}

fn bad_inputs(expected: usize, got: usize) -> Result<usize, FindError> {
    Err(FindError::Shape(ShapeError {
        what: "inputs",
        expected,
        got,
    }))
}

#[test]
fn a_batch_is_a_positive_number_of_whole_states() {
    let dims = |sd, ni, nx, nu| super::check_batch_dims(sd, ni, &vec![0.0f64; nx], &vec![0.0; nu]);
    // State size 3, input size 2: one input row for all, or one per state.
    assert_eq!(dims(3, 2, 3, 2), Ok(1));
    assert_eq!(dims(3, 2, 6, 2), Ok(2));
    assert_eq!(dims(3, 2, 15, 2), Ok(5));
    assert_eq!(dims(3, 2, 15, 10), Ok(5));
    assert_eq!(dims(3, 2, 9, 6), Ok(3));
    // No input: every state shares the empty row.
    assert_eq!(dims(3, 0, 12, 0), Ok(4));
    assert_eq!(dims(1, 1, 7, 7), Ok(7));
    // Not a positive multiple of the state size: the next one is expected.
    assert_eq!(dims(3, 2, 0, 2), bad_states(3, 0));
    assert_eq!(dims(3, 2, 5, 2), bad_states(6, 5));
    assert_eq!(dims(3, 2, 7, 2), bad_states(9, 7));
    assert_eq!(dims(4, 1, 10, 1), bad_states(12, 10));
    assert_eq!(dims(1, 1, 0, 1), bad_states(1, 0));
    // Inputs neither 1 × I nor n × I: 1 × I is named.
    assert_eq!(dims(3, 2, 9, 0), bad_inputs(2, 0));
    assert_eq!(dims(3, 2, 9, 4), bad_inputs(2, 4));
    assert_eq!(dims(3, 2, 9, 5), bad_inputs(2, 5));
    assert_eq!(dims(3, 2, 9, 7), bad_inputs(2, 7));
    assert_eq!(dims(3, 2, 9, 12), bad_inputs(2, 12));
    assert_eq!(dims(3, 0, 9, 1), bad_inputs(0, 1));
}

#[test]
fn a_cells_batch_is_sized_by_its_state_and_input_sizes() {
    // An LSTM's state is [h, c]: 2H = 6 values per state, 2 inputs.
    let lstm = CellShape::new(CellKind::Lstm, 2, 3);
    let x = [0.5f32; 18];
    assert_eq!(super::check_batch(&lstm, &x, &[0.0; 2]), Ok(3));
    assert_eq!(super::check_batch(&lstm, &x, &[0.0; 6]), Ok(3));
    assert_eq!(super::check_batch(&lstm, &x[..6], &[0.0; 2]), Ok(1));
    assert_eq!(
        super::check_batch(&lstm, &x[..9], &[0.0; 2]),
        bad_states(12, 9)
    );
    assert_eq!(
        super::check_batch(&lstm, &x[..0], &[0.0; 2]),
        bad_states(6, 0)
    );
    assert_eq!(super::check_batch(&lstm, &x, &[0.0; 3]), bad_inputs(2, 3));
}

#[test]
fn check_finite_names_the_first_nan_or_infinity() {
    assert_eq!(
        super::check_finite("inputs", &[0.0f64, -1e308, 5e-324]),
        Ok(())
    );
    assert_eq!(super::check_finite::<f64>("inputs", &[]), Ok(()));
    assert_eq!(super::check_finite("inputs", &[f32::MAX, f32::MIN]), Ok(()));
    let bad = |what, index| Err(FindError::NotFinite { what, index });
    assert_eq!(
        super::check_finite("initial states", &[1.0f64, f64::NAN, f64::INFINITY]),
        bad("initial states", 1)
    );
    assert_eq!(
        super::check_finite("inputs", &[1.0f32, 2.0, f32::NEG_INFINITY]),
        bad("inputs", 2)
    );
    assert_eq!(super::check_finite("x", &[f64::INFINITY]), bad("x", 0));
}
