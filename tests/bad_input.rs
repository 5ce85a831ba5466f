//! A table-driven battery of bad input through the C ABI: zero and oversized dimensions,
//! out-of-range enum values, nonsensical options, NaN/∞ values and diverging networks.
//! Every error case checks the exact status and that `fpf_last_error_message` names the
//! offending argument. (FORMAT.md, "Bad input: what each case returns", is the same table.)
//! Cases already covered elsewhere (tests/ffi_rnn.rs, tests/ffi_finder.rs,
//! tests/checkpoint.rs) are mostly not repeated.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};

use fpf::*;
use fpf_status::*;

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0 as c_char; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr(), buf.len()) };
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned()
}

const CELLS: [fpf_cell; 4] = [
    FPF_CELL_TANH,
    FPF_CELL_GRU,
    FPF_CELL_GRU_TORCH,
    FPF_CELL_LSTM,
];

/// A model handle freed on drop.
struct Rnn(*mut fpf_rnn);

impl Rnn {
    fn new(cell: fpf_cell, ni: usize, nh: usize, no: usize) -> Rnn {
        let mut p = null_mut();
        assert_eq!(unsafe { fpf_rnn_new(cell, ni, nh, no, 3, &mut p) }, FPF_OK);
        Rnn(p)
    }
    fn sd(&self) -> usize {
        unsafe { fpf_rnn_state_dim(self.0) }
    }
    /// The parameter names of this cell kind (those `fpf_rnn_param_len` knows).
    fn names(&self) -> Vec<&'static CStr> {
        let all: [&'static CStr; 14] = [
            c"w_ih",
            c"w_hh",
            c"b_h",
            c"w_ir",
            c"w_iz",
            c"w_in",
            c"w_hr",
            c"w_hz",
            c"w_hn",
            c"b_r",
            c"b_z",
            c"b_n",
            c"weight_ih_l0",
            c"weight_hh_l0",
        ];
        let extra: [&'static CStr; 5] = [c"bias_ih_l0", c"bias_hh_l0", c"w_out", c"b_out", c"h0"];
        all.into_iter()
            .chain(extra)
            .filter(|n| {
                let mut len = 0;
                unsafe { fpf_rnn_param_len(self.0, n.as_ptr(), &mut len) == FPF_OK }
            })
            .collect()
    }
    fn len(&self, name: &CStr) -> usize {
        let mut len = 0;
        assert_eq!(
            unsafe { fpf_rnn_param_len(self.0, name.as_ptr(), &mut len) },
            FPF_OK
        );
        len
    }
    fn set_all(&self, value: f64) {
        for n in self.names() {
            if n == c"h0" || n == c"b_out" || n == c"w_out" {
                continue;
            }
            let v = vec![value; self.len(n)];
            let s = unsafe { fpf_rnn_set_param(self.0, n.as_ptr(), v.as_ptr(), v.len()) };
            assert_eq!(s, FPF_OK, "{n:?}: {}", last_error());
        }
    }
}

impl Drop for Rnn {
    fn drop(&mut self) {
        unsafe { fpf_rnn_free(self.0) };
    }
}

fn finder_options() -> fpf_finder_options {
    let mut o = std::mem::MaybeUninit::uninit();
    unsafe { fpf_finder_options_default(o.as_mut_ptr()) };
    let mut o = unsafe { o.assume_init() };
    o.max_iters = 20;
    o.newton_max_iters = 5;
    o
}

fn train_options() -> fpf_train_options {
    let mut o = std::mem::MaybeUninit::uninit();
    unsafe { fpf_train_options_default(o.as_mut_ptr()) };
    let mut o = unsafe { o.assume_init() };
    o.batch_size = 2;
    o.max_epochs = 1;
    o
}

/// `fpf_find_fixed_points` on a small tanh model with `o` and 2 zero initial states.
fn find_with(o: &fpf_finder_options) -> fpf_status {
    let rnn = Rnn::new(FPF_CELL_TANH, 1, 3, 1);
    let x = [0.1; 6];
    let u = [0.0; 1];
    let mut fps = null_mut();
    let s = unsafe { fpf_find_fixed_points(rnn.0, o, x.as_ptr(), 2, u.as_ptr(), 1, &mut fps) };
    assert!(fps.is_null() || s == FPF_OK);
    unsafe { fpf_fixed_points_free(fps) };
    s
}

/// `fpf_train` on a small tanh model with `o` and 4 trials of 3 steps of `u`, `y`.
fn train_with(o: &fpf_train_options, u: f64, y: f64, n_trials: usize, n_time: usize) -> fpf_status {
    let rnn = Rnn::new(FPF_CELL_TANH, 1, 3, 1);
    let u = [u; 12];
    let y = [y; 12];
    let (n_trials, n_time) = (n_trials.min(4), n_time.min(3));
    unsafe {
        fpf_train(
            rnn.0,
            o,
            u.as_ptr(),
            y.as_ptr(),
            n_trials,
            n_time,
            null(),
            null(),
            0,
            None,
            null_mut(),
            null_mut(),
        )
    }
}

fn sample(
    states: &[f64],
    dims: (usize, usize, usize),
    valid: Option<&[u8]>,
    n: usize,
    noise: f64,
) -> fpf_status {
    let mut out = vec![0.0; n.min(64) * dims.2.min(64)];
    let v = valid.map_or(null(), |v| v.as_ptr());
    unsafe {
        fpf_sample_states(
            states.as_ptr(),
            dims.0,
            dims.1,
            dims.2,
            v,
            n,
            noise,
            0,
            out.as_mut_ptr(),
        )
    }
}

fn pca_fit(data: &[f64], rows: usize, dim: usize, k: usize) -> fpf_status {
    let mut p = null_mut();
    let s = unsafe { fpf_pca_fit(data.as_ptr(), rows, dim, k, &mut p) };
    unsafe { fpf_pca_free(p) };
    s
}

fn eig(n: usize, a: &[f64]) -> fpf_status {
    let mut re = vec![0.0; n.min(8)];
    let mut im = vec![0.0; n.min(8)];
    unsafe {
        fpf_eig(
            n,
            a.as_ptr(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut(),
        )
    }
}

fn flipflop(bits: usize, time: usize, p: f64, trials: usize) -> fpf_status {
    let mut a = vec![0.0; 64];
    let mut b = vec![0.0; 64];
    unsafe { fpf_flipflop_generate(bits, time, p, trials, 0, a.as_mut_ptr(), b.as_mut_ptr()) }
}

fn set_param(cell: fpf_cell, name: &CStr, value: f64, len_delta: isize) -> fpf_status {
    let rnn = Rnn::new(cell, 2, 3, 2);
    let len = rnn.len(name).checked_add_signed(len_delta).unwrap();
    let mut v = vec![0.25; len];
    if let Some(x) = v.last_mut() {
        *x = value;
    }
    unsafe { fpf_rnn_set_param(rnn.0, name.as_ptr(), v.as_ptr(), len) }
}

/// A small fixed-point result (tanh, 3 hidden units, 2 points; no Jacobians when `jac` is false).
fn with_fps<R>(jac: bool, f: impl FnOnce(*mut fpf_fixed_points) -> R) -> R {
    let rnn = Rnn::new(FPF_CELL_TANH, 1, 3, 1);
    let mut o = finder_options();
    o.do_compute_jacobians = jac;
    o.do_decompose_jacobians = jac;
    let x = [0.1, 0.2, 0.3, -0.1, -0.2, -0.3];
    let u = [0.0];
    let mut fps = null_mut();
    let s = unsafe { fpf_find_fixed_points(rnn.0, &o, x.as_ptr(), 2, u.as_ptr(), 1, &mut fps) };
    assert_eq!(s, FPF_OK, "{}", last_error());
    let r = f(fps);
    unsafe { fpf_fixed_points_free(fps) };
    r
}

type Case = (
    &'static str,
    fn() -> fpf_status,
    fpf_status,
    &'static [&'static str],
);

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for (name, call, want, words) in cases {
        let got = call();
        let msg = last_error();
        if got != *want {
            failures.push(format!("{name}: got {got:?}, want {want:?} ({msg})"));
            continue;
        }
        if msg.is_empty() {
            failures.push(format!("{name}: {got:?} with an empty message"));
        }
        for w in *words {
            if !msg.contains(w) {
                failures.push(format!("{name}: message {msg:?} lacks {w:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn zero_and_oversized_dimensions() {
    let cases: &[Case] = &[
        (
            "new_init n_hidden 0",
            || {
                let mut p = null_mut();
                unsafe { fpf_rnn_new_init(FPF_CELL_GRU, 1, 0, 1, 0, FPF_INIT_SCALED, &mut p) }
            },
            FPF_BAD_SIZE,
            &["n_hidden"],
        ),
        (
            "new_init n_outputs huge",
            || {
                let mut p = null_mut();
                unsafe {
                    fpf_rnn_new_init(FPF_CELL_TANH, 1, 2, 1 << 17, 0, FPF_INIT_SCALED, &mut p)
                }
            },
            FPF_BAD_SIZE,
            &["n_outputs"],
        ),
        (
            "new n_inputs usize::MAX",
            || {
                let mut p = null_mut();
                unsafe { fpf_rnn_new(FPF_CELL_GRU_TORCH, usize::MAX, 2, 1, 0, &mut p) }
            },
            FPF_BAD_SIZE,
            &["n_inputs"],
        ),
        (
            "set_param len 0",
            || set_param(FPF_CELL_GRU, c"w_hr", 0.0, -9),
            FPF_LENGTH_MISMATCH,
            &["w_hr", "9", "0"],
        ),
        (
            "set_param len + 1",
            || set_param(FPF_CELL_LSTM, c"bias_hh_l0", 0.0, 1),
            FPF_LENGTH_MISMATCH,
            &["bias_hh_l0", "12", "13"],
        ),
        (
            "get_param len 0",
            || {
                let rnn = Rnn::new(FPF_CELL_TANH, 1, 2, 1);
                let mut v = [0.0; 1];
                unsafe { fpf_rnn_get_param(rnn.0, c"w_out".as_ptr(), v.as_mut_ptr(), 0) }
            },
            FPF_LENGTH_MISMATCH,
            &["w_out"],
        ),
        (
            "step n·state_dim overflows",
            || {
                let rnn = Rnn::new(FPF_CELL_LSTM, 1, 2, 1);
                let b = [0.0; 4];
                let mut o = [0.0; 4];
                unsafe {
                    fpf_rnn_step(
                        rnn.0,
                        b.as_ptr(),
                        b.as_ptr(),
                        usize::MAX / 2,
                        o.as_mut_ptr(),
                    )
                }
            },
            FPF_BAD_SIZE,
            &["n × n_inputs", "too large"],
        ),
        (
            "run n_trials·n_time overflows",
            || {
                let rnn = Rnn::new(FPF_CELL_GRU, 1, 2, 1);
                let b = [0.0; 4];
                let (mut y, mut h) = ([0.0; 4], [0.0; 4]);
                unsafe {
                    fpf_rnn_run(
                        rnn.0,
                        b.as_ptr(),
                        usize::MAX,
                        2,
                        y.as_mut_ptr(),
                        h.as_mut_ptr(),
                    )
                }
            },
            FPF_BAD_SIZE,
            &["overflows"],
        ),
        ("eig n = 0", || eig(0, &[1.0]), FPF_BAD_SIZE, &["n"]),
        (
            "eig n > FPF_EIG_MAX_N",
            || eig(FPF_EIG_MAX_N + 1, &[1.0]),
            FPF_BAD_SIZE,
            &["n", "8192"],
        ),
        (
            "find n_input_rows 0",
            || {
                let rnn = Rnn::new(FPF_CELL_TANH, 1, 3, 1);
                let x = [0.1; 6];
                let u = [0.0; 2];
                let mut fps = null_mut();
                unsafe {
                    fpf_find_fixed_points(
                        rnn.0,
                        &finder_options(),
                        x.as_ptr(),
                        2,
                        u.as_ptr(),
                        0,
                        &mut fps,
                    )
                }
            },
            FPF_BAD_SIZE,
            &["n_input_rows"],
        ),
        (
            "sample n_batch 0",
            || sample(&[0.0; 4], (0, 2, 2), None, 1, 0.0),
            FPF_BAD_SIZE,
            &["trajectory"],
        ),
        (
            "sample n_time 0",
            || sample(&[0.0; 4], (2, 0, 2), None, 1, 0.0),
            FPF_BAD_SIZE,
            &["trajectory"],
        ),
        (
            "sample state_dim 0",
            || sample(&[0.0; 4], (2, 2, 0), None, 1, 0.0),
            FPF_BAD_SIZE,
            &["trajectory"],
        ),
        (
            "sample n_inits 0",
            || sample(&[0.0; 4], (1, 2, 2), None, 0, 0.0),
            FPF_BAD_SIZE,
            &["n_inits"],
        ),
        (
            "sample n_batch·n_time overflows",
            || sample(&[0.0; 4], (usize::MAX, 2, 1), None, 1, 0.0),
            FPF_BAD_SIZE,
            &["n_batch × n_time"],
        ),
        (
            "pca n_rows 1",
            || pca_fit(&[1.0, 2.0], 1, 2, 1),
            FPF_BAD_SIZE,
            &["n_rows"],
        ),
        (
            "pca dim 0",
            || pca_fit(&[1.0, 2.0], 2, 0, 1),
            FPF_BAD_SIZE,
            &["dim"],
        ),
        (
            "pca dim 8193",
            || pca_fit(&[1.0, 2.0], 2, 8193, 1),
            FPF_BAD_SIZE,
            &["dim"],
        ),
        (
            "pca k 0",
            || pca_fit(&[1.0, 2.0, 3.0, 5.0], 2, 2, 0),
            FPF_BAD_SIZE,
            &["k"],
        ),
        (
            "pca k > dim",
            || pca_fit(&[1.0, 2.0, 3.0, 5.0], 2, 2, 3),
            FPF_BAD_SIZE,
            &["k"],
        ),
        (
            "pca n_rows·dim overflows",
            || pca_fit(&[1.0], usize::MAX, 4, 1),
            FPF_BAD_SIZE,
            &["overflows"],
        ),
        (
            "pca_transform n_rows·dim overflows",
            || {
                let d = [1.0, 2.0, 3.0, 5.0];
                let mut p = null_mut();
                assert_eq!(unsafe { fpf_pca_fit(d.as_ptr(), 2, 2, 1, &mut p) }, FPF_OK);
                let mut o = [0.0; 4];
                let s = unsafe { fpf_pca_transform(p, d.as_ptr(), usize::MAX, o.as_mut_ptr()) };
                unsafe { fpf_pca_free(p) };
                s
            },
            FPF_BAD_SIZE,
            &["overflows"],
        ),
        (
            "pca_mean len 0",
            || {
                let d = [1.0, 2.0, 3.0, 5.0];
                let mut p = null_mut();
                assert_eq!(unsafe { fpf_pca_fit(d.as_ptr(), 2, 2, 1, &mut p) }, FPF_OK);
                let mut o = [0.0; 4];
                let s = unsafe { fpf_pca_mean(p, o.as_mut_ptr(), 0) };
                unsafe { fpf_pca_free(p) };
                s
            },
            FPF_LENGTH_MISMATCH,
            &["mean"],
        ),
        (
            "fixed_points_xstar len + 1",
            || {
                with_fps(false, |f| {
                    let n = unsafe { fpf_fixed_points_len(f) };
                    let mut o = vec![0.0; 3 * n + 1];
                    unsafe { fpf_fixed_points_xstar(f, o.as_mut_ptr(), o.len()) }
                })
            },
            FPF_LENGTH_MISMATCH,
            &["xstar"],
        ),
        (
            "fixed_points_eigvals len 0",
            || {
                with_fps(true, |f| {
                    let (mut re, mut im) = ([0.0; 1], [0.0; 1]);
                    unsafe { fpf_fixed_points_eigvals(f, re.as_mut_ptr(), im.as_mut_ptr(), 0) }
                })
            },
            FPF_LENGTH_MISMATCH,
            &["eig"],
        ),
        (
            "flipflop n_bits 0",
            || flipflop(0, 2, 0.5, 2),
            FPF_BAD_SIZE,
            &["n_bits"],
        ),
        (
            "flipflop n_time 0",
            || flipflop(2, 0, 0.5, 2),
            FPF_BAD_SIZE,
            &["n_time"],
        ),
        (
            "flipflop n_trials 0",
            || flipflop(2, 2, 0.5, 0),
            FPF_BAD_SIZE,
            &["n_trials"],
        ),
        (
            "flipflop above 2^30 values",
            || flipflop(1 << 10, 1 << 11, 0.5, 1 << 10),
            FPF_BAD_SIZE,
            &["1073741824"],
        ),
        (
            "train n_trials 0",
            || train_with(&train_options(), 0.0, 0.0, 0, 3),
            FPF_BAD_SIZE,
            &["no trials"],
        ),
        (
            "train n_time 0",
            || train_with(&train_options(), 0.0, 0.0, 4, 0),
            FPF_BAD_SIZE,
            &["no time steps"],
        ),
        (
            "train batch_size > n_trials",
            || {
                let mut o = train_options();
                o.batch_size = 5;
                train_with(&o, 0.0, 0.0, 4, 3)
            },
            FPF_BAD_SIZE,
            &["batch_size"],
        ),
        (
            "train n_valid > 0 without arrays",
            || {
                let rnn = Rnn::new(FPF_CELL_TANH, 1, 3, 1);
                let u = [0.0; 12];
                unsafe {
                    fpf_train(
                        rnn.0,
                        &train_options(),
                        u.as_ptr(),
                        u.as_ptr(),
                        4,
                        3,
                        null(),
                        null(),
                        2,
                        None,
                        null_mut(),
                        null_mut(),
                    )
                }
            },
            FPF_BAD_SIZE,
            &["n_valid"],
        ),
    ];
    check(cases);
}

#[test]
fn out_of_range_enum_values() {
    let cases: &[Case] = &[
        (
            "new_init cell 8",
            || {
                let mut p = null_mut();
                unsafe { fpf_rnn_new_init(8, 1, 2, 1, 0, FPF_INIT_TUTORIAL, &mut p) }
            },
            FPF_BAD_OPTION,
            &["cell", "8"],
        ),
        (
            "new_init init 2",
            || {
                let mut p = null_mut();
                unsafe { fpf_rnn_new_init(FPF_CELL_TANH, 1, 2, 1, 0, 2, &mut p) }
            },
            FPF_BAD_OPTION,
            &["init", "2"],
        ),
        (
            "new_init init u32::MAX",
            || {
                let mut p = null_mut();
                unsafe { fpf_rnn_new_init(FPF_CELL_LSTM, 1, 2, 1, 0, u32::MAX, &mut p) }
            },
            FPF_BAD_OPTION,
            &["init", "4294967295"],
        ),
        (
            "new cell FPF_CELL_INVALID",
            || {
                let mut p = null_mut();
                unsafe { fpf_rnn_new(FPF_CELL_INVALID, 1, 2, 1, 0, &mut p) }
            },
            FPF_BAD_OPTION,
            &["cell"],
        ),
        (
            "finder method u32::MAX",
            || {
                let mut o = finder_options();
                o.method = u32::MAX;
                find_with(&o)
            },
            FPF_BAD_OPTION,
            &["method", "4294967295"],
        ),
        (
            "finder dtype 2",
            || {
                let mut o = finder_options();
                o.dtype = 2;
                find_with(&o)
            },
            FPF_BAD_OPTION,
            &["dtype", "2"],
        ),
        (
            "train dtype 2",
            || {
                let mut o = train_options();
                o.dtype = 2;
                train_with(&o, 0.0, 0.0, 4, 3)
            },
            FPF_BAD_OPTION,
            &["dtype"],
        ),
        (
            "select which 3",
            || {
                with_fps(false, |f| {
                    let mut out = null_mut();
                    let s = unsafe { fpf_fixed_points_select(f, 3, &mut out) };
                    assert!(out.is_null());
                    s
                })
            },
            FPF_BAD_OPTION,
            &["3"],
        ),
        (
            "select which u32::MAX",
            || {
                with_fps(false, |f| {
                    let mut out = null_mut();
                    unsafe { fpf_fixed_points_select(f, u32::MAX, &mut out) }
                })
            },
            FPF_BAD_OPTION,
            &["4294967295"],
        ),
    ];
    check(cases);
}

macro_rules! finder_edit {
    ($name:literal, $field:ident = $v:expr) => {
        (
            $name,
            || {
                let mut o = finder_options();
                o.$field = $v;
                find_with(&o)
            },
            FPF_BAD_OPTION,
            &[stringify!($field)],
        )
    };
}

macro_rules! train_edit {
    ($name:literal, $field:ident = $v:expr) => {
        (
            $name,
            || {
                let mut o = train_options();
                o.$field = $v;
                train_with(&o, 0.0, 0.0, 4, 3)
            },
            FPF_BAD_OPTION,
            &[stringify!($field)],
        )
    };
}

#[test]
fn nonsensical_options() {
    let cases: &[Case] = &[
        finder_edit!("tol_q < 0", tol_q = -1e-12),
        finder_edit!("tol_dq < 0", tol_dq = -1.0),
        finder_edit!("tol_dq inf", tol_dq = f64::INFINITY),
        finder_edit!("lr_init 0", lr_init = 0.0),
        finder_edit!("lr_init NaN", lr_init = f64::NAN),
        finder_edit!("lr_factor > 1", lr_factor = 1.5),
        finder_edit!("lr_factor NaN", lr_factor = f64::NAN),
        finder_edit!("max_grad_norm < 0", max_grad_norm = -1.0),
        finder_edit!("adaptive_grad_clip < 0", adaptive_grad_clip = -0.5),
        finder_edit!("tol_unique < 0", tol_unique = -1e-3),
        finder_edit!("outlier_distance_scale 0", outlier_distance_scale = 0.0),
        finder_edit!("outlier_q_scale < 0", outlier_q_scale = -10.0),
        finder_edit!("max_n_unique 0", max_n_unique = 0),
        finder_edit!("final_q_threshold 0", final_q_threshold = 0.0),
        finder_edit!("final_q_threshold < 0", final_q_threshold = -1e-8),
        finder_edit!("n_iters_per_print_update 0", n_iters_per_print_update = 0),
        finder_edit!("period 1025", period = 1025),
        finder_edit!("lr_patience > u32::MAX", lr_patience = usize::MAX),
        finder_edit!("lr_cooldown > u32::MAX", lr_cooldown = usize::MAX),
        (
            "newton without newton_max_iters",
            || {
                let mut o = finder_options();
                o.method = FPF_METHOD_NEWTON;
                o.newton_max_iters = 0;
                find_with(&o)
            },
            FPF_BAD_OPTION,
            &["newton_max_iters"],
        ),
        train_edit!("learning_rate 0", learning_rate = 0.0),
        train_edit!("learning_rate < 0", learning_rate = -0.08),
        train_edit!("learning_rate NaN", learning_rate = f64::NAN),
        train_edit!("batch_size 0", batch_size = 0),
        train_edit!("max_epochs 0", max_epochs = 0),
        train_edit!("min_loss < 0", min_loss = -1.0),
        train_edit!("max_grad_norm < 0", max_grad_norm = -1.0),
        train_edit!("lr_factor 0", lr_factor = 0.0),
        train_edit!("lr_factor > 1", lr_factor = 2.0),
        (
            "sample noise NaN",
            || sample(&[0.0; 4], (1, 2, 2), None, 1, f64::NAN),
            FPF_BAD_OPTION,
            &["noise_scale"],
        ),
        (
            "sample noise inf",
            || sample(&[0.0; 4], (1, 2, 2), None, 1, f64::INFINITY),
            FPF_BAD_OPTION,
            &["noise_scale"],
        ),
        (
            "sample mask of 2s and 0s",
            || sample(&[0.0; 4], (1, 2, 2), Some(&[0, 0]), 3, 0.0),
            FPF_BAD_OPTION,
            &["valid"],
        ),
        (
            "flipflop p < 0",
            || flipflop(2, 2, -0.1, 2),
            FPF_BAD_OPTION,
            &["p"],
        ),
        (
            "flipflop p > 1",
            || flipflop(2, 2, 1.5, 2),
            FPF_BAD_OPTION,
            &["p"],
        ),
        (
            "flipflop p NaN",
            || flipflop(2, 2, f64::NAN, 2),
            FPF_NOT_FINITE,
            &["p"],
        ),
    ];
    check(cases);
}

#[test]
fn nan_and_inf_values() {
    let cases: &[Case] = &[
        (
            "set_param NaN (gru)",
            || set_param(FPF_CELL_GRU, c"w_hz", f64::NAN, 0),
            FPF_NOT_FINITE,
            &["w_hz"],
        ),
        (
            "set_param inf (gru_torch)",
            || set_param(FPF_CELL_GRU_TORCH, c"weight_hh_l0", f64::INFINITY, 0),
            FPF_NOT_FINITE,
            &["weight_hh_l0"],
        ),
        (
            "set_param -inf (lstm)",
            || set_param(FPF_CELL_LSTM, c"bias_ih_l0", f64::NEG_INFINITY, 0),
            FPF_NOT_FINITE,
            &["bias_ih_l0"],
        ),
        (
            "set_param NaN (tanh w_out)",
            || set_param(FPF_CELL_TANH, c"w_out", f64::NAN, 0),
            FPF_NOT_FINITE,
            &["w_out"],
        ),
        (
            "set_param inf (lstm h0)",
            || set_param(FPF_CELL_LSTM, c"h0", f64::INFINITY, 0),
            FPF_NOT_FINITE,
            &["h0"],
        ),
        (
            "step NaN in h (gru)",
            || {
                let rnn = Rnn::new(FPF_CELL_GRU, 1, 2, 1);
                let (x, h, mut o) = ([0.0], [0.0, f64::NAN], [0.0; 2]);
                unsafe { fpf_rnn_step(rnn.0, x.as_ptr(), h.as_ptr(), 1, o.as_mut_ptr()) }
            },
            FPF_NOT_FINITE,
            &["h"],
        ),
        (
            "step inf in x (lstm)",
            || {
                let rnn = Rnn::new(FPF_CELL_LSTM, 1, 2, 1);
                let (x, h, mut o) = ([f64::NEG_INFINITY], [0.0; 4], [0.0; 4]);
                unsafe { fpf_rnn_step(rnn.0, x.as_ptr(), h.as_ptr(), 1, o.as_mut_ptr()) }
            },
            FPF_NOT_FINITE,
            &["x"],
        ),
        (
            "run NaN input (gru_torch)",
            || {
                let rnn = Rnn::new(FPF_CELL_GRU_TORCH, 1, 2, 1);
                let u = [0.0, f64::NAN];
                let (mut y, mut h) = ([0.0; 2], [0.0; 4]);
                unsafe { fpf_rnn_run(rnn.0, u.as_ptr(), 1, 2, y.as_mut_ptr(), h.as_mut_ptr()) }
            },
            FPF_NOT_FINITE,
            &["inputs"],
        ),
        (
            "eig NaN",
            || eig(2, &[1.0, f64::NAN, 0.0, 1.0]),
            FPF_NOT_FINITE,
            &["a"],
        ),
        (
            "eig inf",
            || eig(1, &[f64::INFINITY]),
            FPF_NOT_FINITE,
            &["a"],
        ),
        (
            "find inputs inf",
            || {
                let rnn = Rnn::new(FPF_CELL_GRU, 1, 3, 1);
                let x = [0.1; 6];
                let u = [f64::INFINITY];
                let mut fps = null_mut();
                unsafe {
                    fpf_find_fixed_points(
                        rnn.0,
                        &finder_options(),
                        x.as_ptr(),
                        2,
                        u.as_ptr(),
                        1,
                        &mut fps,
                    )
                }
            },
            FPF_NOT_FINITE,
            &["inputs"],
        ),
        (
            "find inits NaN (lstm)",
            || {
                let rnn = Rnn::new(FPF_CELL_LSTM, 0, 2, 1);
                let x = [0.1, 0.1, f64::NAN, 0.0];
                let mut fps = null_mut();
                unsafe {
                    fpf_find_fixed_points(
                        rnn.0,
                        &finder_options(),
                        x.as_ptr(),
                        1,
                        null(),
                        1,
                        &mut fps,
                    )
                }
            },
            FPF_NOT_FINITE,
            &["inits"],
        ),
        (
            "sample NaN state",
            || sample(&[0.0, f64::NAN, 0.0, 0.0], (1, 2, 2), None, 1, 0.0),
            FPF_NOT_FINITE,
            &["trajectory"],
        ),
        (
            "pca_fit NaN",
            || pca_fit(&[1.0, f64::NAN, 3.0, 5.0], 2, 2, 1),
            FPF_NOT_FINITE,
            &["data"],
        ),
        (
            "pca_transform inf",
            || {
                let d = [1.0, 2.0, 3.0, 5.0];
                let mut p = null_mut();
                assert_eq!(unsafe { fpf_pca_fit(d.as_ptr(), 2, 2, 1, &mut p) }, FPF_OK);
                let bad = [f64::INFINITY, 0.0];
                let mut o = [0.0; 1];
                let s = unsafe { fpf_pca_transform(p, bad.as_ptr(), 1, o.as_mut_ptr()) };
                unsafe { fpf_pca_free(p) };
                s
            },
            FPF_NOT_FINITE,
            &["data"],
        ),
        (
            "train NaN input",
            || train_with(&train_options(), f64::NAN, 0.0, 4, 3),
            FPF_NOT_FINITE,
            &["inputs"],
        ),
        (
            "train inf target",
            || train_with(&train_options(), 0.0, f64::INFINITY, 4, 3),
            FPF_NOT_FINITE,
            &["targets"],
        ),
    ];
    check(cases);
}

/// Weights of 1e3 in every parameter of every cell kind: each call returns `FPF_OK` with
/// finite results, or `FPF_DIVERGED` with a message; never NaN results with `FPF_OK`.
#[test]
fn diverging_networks_never_return_nan_with_ok() {
    for cell in CELLS {
        let rnn = Rnn::new(cell, 2, 4, 2);
        rnn.set_all(1e3);
        let w_out = [1e3; 8];
        let s = unsafe { fpf_rnn_set_param(rnn.0, c"w_out".as_ptr(), w_out.as_ptr(), 8) };
        assert_eq!(s, FPF_OK);
        let sd = rnn.sd();
        ok_or_diverged(cell, "step", step_finite(&rnn, 1e3, sd));
        ok_or_diverged(cell, "run", run_finite(&rnn, 1e3, sd));
        ok_or_diverged(cell, "find", find_finite(&rnn, sd));
    }
}

fn ok_or_diverged(cell: fpf_cell, what: &str, r: (fpf_status, bool)) {
    let (s, finite) = r;
    match s {
        FPF_OK => assert!(finite, "cell {cell} {what}: FPF_OK with NaN/inf results"),
        FPF_DIVERGED => assert!(!last_error().is_empty(), "cell {cell} {what}: no message"),
        other => panic!("cell {cell} {what}: {other:?} ({})", last_error()),
    }
}

fn step_finite(rnn: &Rnn, scale: f64, sd: usize) -> (fpf_status, bool) {
    let x = [scale, -scale];
    let h: Vec<f64> = (0..sd)
        .map(|k| if k % 2 == 0 { 0.9 } else { -0.9 })
        .collect();
    let mut o = vec![0.0; sd];
    let s = unsafe { fpf_rnn_step(rnn.0, x.as_ptr(), h.as_ptr(), 1, o.as_mut_ptr()) };
    (s, o.iter().all(|v| v.is_finite()))
}

fn run_finite(rnn: &Rnn, scale: f64, sd: usize) -> (fpf_status, bool) {
    let u: Vec<f64> = (0..2 * 5 * 2)
        .map(|k| if k % 3 == 0 { scale } else { -scale })
        .collect();
    let mut y = vec![0.0; 2 * 5 * 2];
    let mut h = vec![0.0; 2 * 5 * sd];
    let s = unsafe { fpf_rnn_run(rnn.0, u.as_ptr(), 2, 5, y.as_mut_ptr(), h.as_mut_ptr()) };
    (s, y.iter().chain(&h).all(|v| v.is_finite()))
}

fn find_finite(rnn: &Rnn, sd: usize) -> (fpf_status, bool) {
    let x: Vec<f64> = (0..3 * sd).map(|k| (k as f64 * 0.37).sin()).collect();
    let u = [0.5, -0.5];
    let mut fps = null_mut();
    let s = unsafe {
        fpf_find_fixed_points(
            rnn.0,
            &finder_options(),
            x.as_ptr(),
            3,
            u.as_ptr(),
            1,
            &mut fps,
        )
    };
    if s != FPF_OK {
        return (s, false);
    }
    let n = unsafe { fpf_fixed_points_len(fps) };
    let mut xs = vec![0.0; n * sd];
    let mut q = vec![0.0; n];
    assert_eq!(
        unsafe { fpf_fixed_points_xstar(fps, xs.as_mut_ptr(), xs.len()) },
        FPF_OK
    );
    assert_eq!(
        unsafe { fpf_fixed_points_qstar(fps, q.as_mut_ptr(), q.len()) },
        FPF_OK
    );
    unsafe { fpf_fixed_points_free(fps) };
    (s, xs.iter().chain(&q).all(|v| v.is_finite()))
}

/// Found by fuzzing (`ffi_entry`), fixed: finite but huge weights overflow a pre-activation
/// to `inf − inf = NaN`; `fpf_rnn_step` / `fpf_rnn_run` now return `FPF_DIVERGED`.
#[test]
fn huge_finite_weights_never_return_nan_with_ok() {
    for cell in CELLS {
        let rnn = Rnn::new(cell, 2, 4, 2);
        rnn.set_all(1e300);
        let sd = rnn.sd();
        ok_or_diverged(cell, "step", step_finite(&rnn, 1e300, sd));
        ok_or_diverged(cell, "run", run_finite(&rnn, 1e300, sd));
    }
}

/// Found by fuzzing (`ffi_entry`), fixed: a finite but huge `noise_scale` (or huge states)
/// overflowed the samples to ±inf; now an error.
#[test]
fn huge_noise_never_returns_inf_with_ok() {
    let states = [1.0, 2.0, 1e308, 4.0];
    let mut out = [0.0; 16];
    let s = unsafe {
        fpf_sample_states(
            states.as_ptr(),
            1,
            2,
            2,
            null(),
            8,
            f64::MAX,
            1,
            out.as_mut_ptr(),
        )
    };
    assert!(
        s != FPF_OK || out.iter().all(|v| v.is_finite()),
        "FPF_OK with {out:?}"
    );
}
