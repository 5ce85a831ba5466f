//! The C ABI of continuation and sweeps, driven from Rust as a C caller would: the one-unit
//! network `h' = tanh(2h + u)` and its closed-form saddle-node, every reader, and every bad
//! argument a status.

use fpf::*;
use std::ffi::CStr;
use std::ptr::{null, null_mut};

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// `h' = tanh(w h + u)`: one input, one unit, one output.
fn one_unit(w: f64) -> *mut fpf_rnn {
    let mut rnn = null_mut();
    assert_eq!(
        unsafe { fpf_rnn_new(FPF_CELL_TANH, 1, 1, 1, 1, &mut rnn) },
        fpf_status::FPF_OK
    );
    for (name, v) in [(c"w_ih", 1.0), (c"w_hh", w), (c"b_h", 0.0)] {
        assert_eq!(
            unsafe { fpf_rnn_set_param(rnn, name.as_ptr(), &v, 1) },
            fpf_status::FPF_OK
        );
    }
    rnn
}

/// The three fixed points of `h = tanh(2h)`.
const SEEDS: [f64; 3] = [-0.957_504_024_390_572_2, 0.0, 0.957_504_024_390_572_2];

fn f64_field(c: *const fpf_continuation, b: usize, name: &CStr, len: usize) -> Vec<f64> {
    let mut v = vec![0.0; len];
    let st = unsafe { fpf_continuation_branch_field_f64(c, b, name.as_ptr(), v.as_mut_ptr(), len) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    v
}

#[test]
fn continue_line_finds_the_saddle_node_and_every_reader_works() {
    let rnn = one_unit(2.0);
    let mut o = unsafe { std::mem::zeroed::<fpf_continuation_options>() };
    unsafe { fpf_continuation_options_default(&mut o) };
    assert_eq!(o.struct_size, size_of::<fpf_continuation_options>());
    assert_eq!(o.method, FPF_CONTINUATION_PSEUDO_ARCLENGTH);
    assert_eq!(
        unsafe { fpf_continuation_options_validate(&o) },
        fpf_status::FPF_OK
    );
    let mut c = null_mut();
    let st = unsafe { fpf_continue_line(rnn, &o, SEEDS.as_ptr(), 3, &0.0, &1.0, 20, &mut c) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    assert_eq!(unsafe { fpf_continuation_n_branches(c) }, 2);
    let mut sb = [0i64; 3];
    assert_eq!(
        unsafe { fpf_continuation_seed_branch(c, sb.as_mut_ptr(), 3) },
        fpf_status::FPF_OK
    );
    assert_eq!(sb, [0, 0, 1]);
    let n = unsafe { fpf_continuation_branch_len(c, 0) };
    assert!(n > 20);
    let sigma = f64_field(c, 0, c"sigma", n);
    let u = f64_field(c, 0, c"inputs", n);
    let x = f64_field(c, 0, c"xstar", n);
    let q = f64_field(c, 0, c"qstar", n);
    let re = f64_field(c, 0, c"eigval_re", n);
    let im = f64_field(c, 0, c"eigval_im", n);
    let rho = f64_field(c, 0, c"max_abs_eig", n);
    let mut stable = vec![9u8; n];
    let mut unstable = vec![9usize; n];
    let mut node = vec![9i64; n];
    unsafe {
        assert_eq!(
            fpf_continuation_branch_field_u8(c, 0, c"is_stable".as_ptr(), stable.as_mut_ptr(), n),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_continuation_branch_field_size(
                c,
                0,
                c"n_unstable".as_ptr(),
                unstable.as_mut_ptr(),
                n
            ),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_continuation_branch_field_i64(c, 0, c"node".as_ptr(), node.as_mut_ptr(), n),
            fpf_status::FPF_OK
        );
    }
    for i in 0..n {
        assert_eq!(sigma[i], u[i]);
        assert!((x[i] - (2.0 * x[i] + u[i]).tanh()).abs() < 2e-12);
        assert!(q[i] < 1e-24);
        assert_eq!(im[i], 0.0);
        assert_eq!(rho[i], re[i].abs());
        assert_eq!(stable[i] == 1, re[i] < 1.0);
        assert_eq!(unstable[i], (re[i] > 1.0) as usize);
        assert!(node[i] == -1 || (sigma[i] - node[i] as f64 / 20.0).abs() < 1e-15);
    }
    assert_eq!(node[0], 0);
    assert_eq!(node[n - 1], 0);
    let mut end = 99;
    assert_eq!(
        unsafe { fpf_continuation_branch_end(c, 0, &mut end) },
        fpf_status::FPF_OK
    );
    assert_eq!(end, FPF_BRANCH_RETURNED_TO_START);
    assert_eq!(
        unsafe { fpf_continuation_branch_end(c, 1, &mut end) },
        fpf_status::FPF_OK
    );
    assert_eq!(end, FPF_BRANCH_REACHED_END);
    assert_eq!(unsafe { fpf_continuation_branch_n_seeds(c, 0) }, 2);
    let mut seeds = [9usize; 2];
    assert_eq!(
        unsafe {
            fpf_continuation_branch_field_size(c, 0, c"seeds".as_ptr(), seeds.as_mut_ptr(), 2)
        },
        fpf_status::FPF_OK
    );
    assert_eq!(seeds, [0, 1]);

    // The bifurcation, read field by field.
    assert_eq!(unsafe { fpf_continuation_n_bifurcations(c) }, 1);
    let h_c = -(0.5f64).sqrt();
    let u_c = h_c.atanh() - 2.0 * h_c;
    let read = |name: &CStr, len: usize| {
        let mut v = vec![0.0; len];
        let st = unsafe {
            fpf_continuation_bifurcation_field_f64(c, name.as_ptr(), v.as_mut_ptr(), len)
        };
        assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
        v
    };
    assert!((read(c"sigma", 1)[0] - u_c).abs() < 1e-10);
    assert!((read(c"inputs", 1)[0] - u_c).abs() < 1e-10);
    assert!((read(c"xstar", 1)[0] - h_c).abs() < 1e-6);
    let eig = read(c"eig", 2);
    assert!((eig[0] - 1.0).abs() < 1e-6 && eig[1] == 0.0);
    assert!(read(c"q", 1)[0] < 1e-24);
    let (before, after) = (read(c"eig_before", 2), read(c"eig_after", 2));
    assert!(before[0] < 1.0 && after[0] > 1.0);
    let mut sz = [9usize; 1];
    let mut flag = [9u8; 1];
    unsafe {
        assert_eq!(
            fpf_continuation_bifurcation_field_size(c, c"kind".as_ptr(), sz.as_mut_ptr(), 1),
            fpf_status::FPF_OK
        );
        assert_eq!(sz[0], FPF_BIFURCATION_SADDLE_NODE as usize);
        assert_eq!(
            fpf_continuation_bifurcation_field_size(c, c"branch".as_ptr(), sz.as_mut_ptr(), 1),
            fpf_status::FPF_OK
        );
        assert_eq!(sz[0], 0);
        assert_eq!(
            fpf_continuation_bifurcation_field_size(c, c"before".as_ptr(), sz.as_mut_ptr(), 1),
            fpf_status::FPF_OK
        );
        assert_eq!(re[sz[0]], before[0]);
        assert_eq!(re[sz[0] + 1], after[0]);
        for name in [c"turned", c"refined"] {
            assert_eq!(
                fpf_continuation_bifurcation_field_u8(c, name.as_ptr(), flag.as_mut_ptr(), 1),
                fpf_status::FPF_OK
            );
            assert_eq!(flag[0], 1);
        }
    }
    // The summary, sized by a first call.
    let len = unsafe { fpf_continuation_summary(c, null_mut(), 0) };
    let mut buf = vec![0u8; len + 1];
    assert_eq!(
        unsafe { fpf_continuation_summary(c, buf.as_mut_ptr().cast(), len + 1) },
        len
    );
    let text = String::from_utf8_lossy(&buf[..len]);
    assert!(text.starts_with("=== Continuation Summary ==="), "{text}");
    assert!(text.contains("saddle-node"));

    // The same along a path of rows: u = 0 → 0.4 → 1, natural parameter (which stops at
    // the fold).
    o.method = FPF_CONTINUATION_NATURAL;
    let rows = [0.0, 0.4, 1.0];
    let mut c2 = null_mut();
    let st = unsafe { fpf_continue_path(rnn, &o, SEEDS.as_ptr(), 3, rows.as_ptr(), 3, &mut c2) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    assert_eq!(unsafe { fpf_continuation_n_branches(c2) }, 3);
    for (b, want) in [
        (0, FPF_BRANCH_STEP_TOO_SMALL),
        (1, FPF_BRANCH_STEP_TOO_SMALL),
        (2, FPF_BRANCH_REACHED_END),
    ] {
        assert_eq!(
            unsafe { fpf_continuation_branch_end(c2, b, &mut end) },
            fpf_status::FPF_OK
        );
        assert_eq!(end, want);
    }
    unsafe {
        fpf_continuation_free(c2);
        fpf_continuation_free(c);
        fpf_continuation_free(null_mut());
        fpf_rnn_free(rnn);
    }
}

#[test]
fn bad_arguments_are_statuses_and_write_nothing() {
    let rnn = one_unit(2.0);
    let mut o = unsafe { std::mem::zeroed::<fpf_continuation_options>() };
    unsafe { fpf_continuation_options_default(&mut o) };
    let mut c = null_mut();
    let line = |o: &fpf_continuation_options,
                seeds: *const f64,
                n: usize,
                steps: usize,
                c: &mut *mut fpf_continuation| unsafe {
        fpf_continue_line(rnn, o, seeds, n, &0.0, &1.0, steps, c)
    };
    assert_eq!(line(&o, null(), 1, 4, &mut c), fpf_status::FPF_NULL_POINTER);
    assert_eq!(
        line(&o, SEEDS.as_ptr(), 0, 4, &mut c),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        line(&o, SEEDS.as_ptr(), 1, 0, &mut c),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        line(&o, [f64::NAN].as_ptr(), 1, 4, &mut c),
        fpf_status::FPF_NOT_FINITE
    );
    assert!(last_error().contains("seeds"));
    let bad = fpf_continuation_options { method: 7, ..o };
    assert_eq!(
        line(&bad, SEEDS.as_ptr(), 1, 4, &mut c),
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("method"));
    let bad = fpf_continuation_options { tol_q: -1.0, ..o };
    assert_eq!(
        unsafe { fpf_continuation_options_validate(&bad) },
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("tol_q"));
    let bad = fpf_continuation_options {
        struct_size: 0,
        ..o
    };
    assert_eq!(
        line(&bad, SEEDS.as_ptr(), 1, 4, &mut c),
        fpf_status::FPF_BAD_SIZE
    );
    assert!(c.is_null());
    // u0 = u1: no path.
    let st = unsafe { fpf_continue_line(rnn, &o, SEEDS.as_ptr(), 1, &0.5, &0.5, 4, &mut c) };
    assert_eq!(st, fpf_status::FPF_BAD_OPTION);
    assert!(last_error().contains("repeat"), "{}", last_error());
    let st = unsafe { fpf_continue_path(rnn, &o, SEEDS.as_ptr(), 1, [0.0].as_ptr(), 1, &mut c) };
    assert_eq!(st, fpf_status::FPF_BAD_SIZE);
    assert!(c.is_null());
    // Options compiled against an older, shorter struct get the defaults for the rest.
    let mut short = o;
    assert_eq!(
        unsafe { fpf_continuation_options_init(&mut short, 2 * size_of::<usize>()) },
        fpf_status::FPF_OK
    );
    assert_eq!(
        unsafe { fpf_continuation_options_validate(&short) },
        fpf_status::FPF_OK
    );

    // A real result, then readers misused.
    assert_eq!(line(&o, SEEDS.as_ptr(), 3, 4, &mut c), fpf_status::FPF_OK);
    let n = unsafe { fpf_continuation_branch_len(c, 0) };
    let mut v = vec![7.0; n];
    let f = |b: usize, name: &CStr, v: &mut [f64], len: usize| unsafe {
        fpf_continuation_branch_field_f64(c, b, name.as_ptr(), v.as_mut_ptr(), len)
    };
    assert_eq!(f(0, c"nope", &mut v, n), fpf_status::FPF_UNKNOWN_NAME);
    assert!(
        last_error().contains("sigma"),
        "lists the fields: {}",
        last_error()
    );
    assert_eq!(
        f(0, c"sigma", &mut v, n - 1),
        fpf_status::FPF_LENGTH_MISMATCH
    );
    assert_eq!(f(5, c"sigma", &mut v, n), fpf_status::FPF_BAD_SIZE);
    assert_eq!(f(0, c"is_stable", &mut v, n), fpf_status::FPF_BAD_OPTION);
    assert!(last_error().contains("_u8"), "{}", last_error());
    assert!(v.iter().all(|&x| x == 7.0));
    assert_eq!(unsafe { fpf_continuation_branch_len(c, 5) }, 0);
    assert_eq!(unsafe { fpf_continuation_branch_len(null(), 0) }, 0);
    assert_eq!(unsafe { fpf_continuation_n_branches(null()) }, 0);
    assert_eq!(unsafe { fpf_continuation_n_bifurcations(null()) }, 0);
    let mut end = 0;
    assert_eq!(
        unsafe { fpf_continuation_branch_end(c, 9, &mut end) },
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        unsafe { fpf_continuation_branch_end(c, 0, null_mut()) },
        fpf_status::FPF_NULL_POINTER
    );
    let mut sb = [0i64; 2];
    assert_eq!(
        unsafe { fpf_continuation_seed_branch(c, sb.as_mut_ptr(), 2) },
        fpf_status::FPF_LENGTH_MISMATCH
    );
    let st =
        unsafe { fpf_continuation_bifurcation_field_f64(c, c"kind".as_ptr(), v.as_mut_ptr(), 1) };
    assert_eq!(st, fpf_status::FPF_BAD_OPTION);
    unsafe {
        fpf_continuation_free(c);
        fpf_rnn_free(rnn);
    }

    // A network without inputs has no path.
    let mut auto = null_mut();
    assert_eq!(
        unsafe { fpf_rnn_new(FPF_CELL_TANH, 0, 2, 1, 1, &mut auto) },
        fpf_status::FPF_OK
    );
    let st = unsafe { fpf_continue_path(auto, &o, [0.0, 0.0].as_ptr(), 1, null(), 2, &mut c) };
    assert_eq!(st, fpf_status::FPF_BAD_SIZE);
    assert!(last_error().contains("no inputs"));
    unsafe { fpf_rnn_free(auto) };
}

#[test]
fn sweep_returns_one_result_per_input() {
    let rnn = one_unit(2.0);
    let mut o = unsafe { std::mem::zeroed::<fpf_finder_options>() };
    unsafe { fpf_finder_options_default(&mut o) };
    o.dtype = FPF_DTYPE_FLOAT64;
    o.tol_unique = 1e-6;
    o.do_exclude_distance_outliers = false;
    let inits: Vec<f64> = (0..21).map(|i| -1.0 + 0.1 * i as f64).collect();
    let inputs = [0.0, 0.25, 0.5, 0.75];
    for seeded in [false, true] {
        let mut out = [null_mut(); 4];
        let st = unsafe {
            fpf_find_fixed_points_sweep(
                rnn,
                &o,
                inits.as_ptr(),
                inits.len(),
                inputs.as_ptr(),
                4,
                seeded,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
        // Three fixed points below the fold at u = 0.5328, one above.
        for (r, &h) in out.iter().enumerate() {
            let n = unsafe { fpf_fixed_points_len(h) };
            assert_eq!(n, if inputs[r] < 0.53 { 3 } else { 1 }, "input {r}");
            let mut u = vec![0.0; n];
            assert_eq!(
                unsafe { fpf_fixed_points_field_f64(h, c"inputs".as_ptr(), u.as_mut_ptr(), n) },
                fpf_status::FPF_OK
            );
            assert!(u.iter().all(|&v| v == inputs[r]));
            unsafe { fpf_fixed_points_free(h) };
        }
    }
    let mut out = [null_mut(); 1];
    let st = unsafe {
        fpf_find_fixed_points_sweep(
            rnn,
            &o,
            inits.as_ptr(),
            21,
            inputs.as_ptr(),
            0,
            true,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(st, fpf_status::FPF_BAD_SIZE);
    assert!(out[0].is_null());
    unsafe { fpf_rnn_free(rnn) };
}
