//! The model C API, called directly: NULL pointers, bad options and sizes, names, lengths,
//! non-finite values, outputs untouched on failure, and agreement with `Model`.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};

use fpf::*;
use fpf_core::cell::{Activation, CellKind, CellShape};
use fpf_std::model::Model;

mod common;
use common::Rng;

/// The thread's last error message, checking that a NULL buffer reports its full length.
fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0 as c_char; n + 1];
    let m = unsafe { fpf_last_error_message(buf.as_mut_ptr(), buf.len()) };
    assert_eq!(m, n);
    let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
    s.to_str().unwrap().to_owned()
}

/// Asserts a status and that the message mentions every one of `words`.
fn expect(status: fpf_status, want: fpf_status, words: &[&str]) {
    assert_eq!(status, want);
    let msg = last_error();
    assert!(!msg.is_empty(), "no message for {want:?}");
    for w in words {
        assert!(msg.contains(w), "message {msg:?} lacks {w:?}");
    }
}

fn new_rnn(cell: fpf_cell, ni: usize, nh: usize, no: usize, seed: u64) -> *mut fpf_rnn {
    let mut p = null_mut();
    let s = unsafe { fpf_rnn_new(cell, ni, nh, no, seed, &mut p) };
    assert_eq!(s, fpf_status::FPF_OK, "{}", last_error());
    assert!(!p.is_null());
    assert_eq!(last_error(), "");
    p
}

const OK: fpf_status = fpf_status::FPF_OK;
const NULL: fpf_status = fpf_status::FPF_NULL_POINTER;

#[test]
fn new_checks_cell_and_sizes_and_writes_out_only_on_success() {
    let sentinel = 0x1234usize as *mut fpf_rnn;
    let mut p = sentinel;
    for cell in [8, 9, u32::MAX] {
        let s = unsafe { fpf_rnn_new(cell, 1, 4, 1, 0, &mut p) };
        expect(s, fpf_status::FPF_BAD_OPTION, &["cell", &cell.to_string()]);
        assert_eq!(p, sentinel);
    }
    let bad = fpf_status::FPF_BAD_SIZE;
    let cases: [(usize, usize, usize, &str); 6] = [
        (1, 0, 1, "n_hidden"),
        (1, 1 << 20, 1, "n_hidden"),
        (1 << 20, 4, 1, "n_inputs"),
        (1, 4, 0, "n_outputs"),
        (1, 4, usize::MAX, "n_outputs"),
        (1, 1 << 14, 1, "too large"),
    ];
    for (ni, nh, no, word) in cases {
        let s = unsafe { fpf_rnn_new(FPF_CELL_LSTM, ni, nh, no, 0, &mut p) };
        expect(s, bad, &[word]);
        assert_eq!(p, sentinel);
    }
    let s = unsafe { fpf_rnn_new(FPF_CELL_TANH, 1, 4, 1, 0, null_mut()) };
    expect(s, NULL, &["out"]);
    // n_inputs = 0 is an autonomous network.
    let r = new_rnn(FPF_CELL_GRU, 0, 3, 1, 0);
    unsafe { fpf_rnn_free(r) };
}

#[test]
fn accessors_and_free() {
    for (cell, kind) in [
        (FPF_CELL_TANH, CellKind::Tanh),
        (FPF_CELL_GRU, CellKind::Gru),
        (FPF_CELL_GRU_TORCH, CellKind::GruTorch),
        (FPF_CELL_LSTM, CellKind::Lstm),
    ] {
        let r = new_rnn(cell, 3, 5, 2, 1);
        unsafe {
            assert_eq!(fpf_rnn_cell(r), cell);
            assert_eq!(fpf_rnn_n_inputs(r), 3);
            assert_eq!(fpf_rnn_n_hidden(r), 5);
            assert_eq!(fpf_rnn_n_outputs(r), 2);
            let sd = if kind == CellKind::Lstm { 10 } else { 5 };
            assert_eq!(fpf_rnn_state_dim(r), sd);
            fpf_rnn_free(r);
        }
    }
    unsafe {
        assert_eq!(fpf_rnn_state_dim(null()), 0);
        assert_eq!(fpf_rnn_n_inputs(null()), 0);
        assert_eq!(fpf_rnn_n_hidden(null()), 0);
        assert_eq!(fpf_rnn_n_outputs(null()), 0);
        assert_eq!(fpf_rnn_cell(null()), FPF_CELL_INVALID);
        fpf_rnn_free(null_mut());
    }
}

#[test]
fn null_pointers_are_rejected_and_nothing_is_written() {
    let r = new_rnn(FPF_CELL_GRU_TORCH, 2, 3, 2, 5);
    let name = c"w_out".as_ptr();
    let mut v = [9.0; 6];
    let mut len = 77usize;
    unsafe {
        expect(fpf_rnn_param_len(null(), name, &mut len), NULL, &["rnn"]);
        expect(fpf_rnn_param_len(r, null(), &mut len), NULL, &["name"]);
        expect(fpf_rnn_param_len(r, name, null_mut()), NULL, &["out_len"]);
        assert_eq!(len, 77);

        expect(
            fpf_rnn_set_param(null_mut(), name, v.as_ptr(), 6),
            NULL,
            &["rnn"],
        );
        expect(fpf_rnn_set_param(r, null(), v.as_ptr(), 6), NULL, &["name"]);
        expect(fpf_rnn_set_param(r, name, null(), 6), NULL, &["`v`"]);

        expect(
            fpf_rnn_get_param(null(), name, v.as_mut_ptr(), 6),
            NULL,
            &["rnn"],
        );
        expect(
            fpf_rnn_get_param(r, null(), v.as_mut_ptr(), 6),
            NULL,
            &["name"],
        );
        expect(fpf_rnn_get_param(r, name, null_mut(), 6), NULL, &["`v`"]);
        assert_eq!(v, [9.0; 6]);

        let x = [0.1; 2];
        let h = [0.2; 3];
        let mut hn = [9.0; 3];
        let (xp, hp, hnp) = (x.as_ptr(), h.as_ptr(), hn.as_mut_ptr());
        expect(fpf_rnn_step(null(), xp, hp, 1, hnp), NULL, &["rnn"]);
        expect(fpf_rnn_step(r, null(), hp, 1, hnp), NULL, &["`x`"]);
        expect(fpf_rnn_step(r, xp, null(), 1, hnp), NULL, &["`h`"]);
        expect(fpf_rnn_step(r, xp, hp, 1, null_mut()), NULL, &["h_next"]);
        // Even for zero rows every pointer must be valid.
        expect(fpf_rnn_step(r, null(), hp, 0, hnp), NULL, &["`x`"]);
        assert_eq!(hn, [9.0; 3]);

        let xs = [0.1; 4];
        let mut ys = [9.0; 4];
        let mut hs = [9.0; 6];
        let (ip, yp, sp) = (xs.as_ptr(), ys.as_mut_ptr(), hs.as_mut_ptr());
        expect(fpf_rnn_run(null(), ip, 1, 2, yp, sp), NULL, &["rnn"]);
        expect(fpf_rnn_run(r, null(), 1, 2, yp, sp), NULL, &["inputs"]);
        expect(fpf_rnn_run(r, ip, 1, 2, null_mut(), sp), NULL, &["outputs"]);
        expect(fpf_rnn_run(r, ip, 1, 2, yp, null_mut()), NULL, &["states"]);
        assert_eq!(ys, [9.0; 4]);
        assert_eq!(hs, [9.0; 6]);
        fpf_rnn_free(r);
    }
}

#[test]
fn names_lengths_and_values() {
    let r = new_rnn(FPF_CELL_GRU, 2, 3, 2, 5);
    let mut v = [9.0; 9];
    let mut len = 0usize;
    unsafe {
        // Lengths of every kind of name.
        for (name, want) in [
            (c"w_ir", 6),
            (c"w_hn", 9),
            (c"b_z", 3),
            (c"w_out", 6),
            (c"b_out", 2),
            (c"h0", 3),
        ] {
            assert_eq!(fpf_rnn_param_len(r, name.as_ptr(), &mut len), OK);
            assert_eq!(len, want, "{name:?}");
        }
        // Unknown and non-UTF-8 names.
        let unknown = fpf_status::FPF_UNKNOWN_NAME;
        let s = fpf_rnn_param_len(r, c"weight_ih_l0".as_ptr(), &mut len);
        expect(s, unknown, &["weight_ih_l0", "w_ir", "b_n", "w_out", "h0"]);
        let bad_utf8 = c"\xff\xfe".as_ptr();
        expect(
            fpf_rnn_set_param(r, bad_utf8, v.as_ptr(), 3),
            unknown,
            &["UTF-8"],
        );
        expect(
            fpf_rnn_get_param(r, bad_utf8, v.as_mut_ptr(), 3),
            unknown,
            &["UTF-8"],
        );
        expect(
            fpf_rnn_param_len(r, bad_utf8, &mut len),
            unknown,
            &["UTF-8"],
        );
        expect(
            fpf_rnn_get_param(r, c"".as_ptr(), v.as_mut_ptr(), 3),
            unknown,
            &["valid names"],
        );
        assert_eq!(v, [9.0; 9]);

        // Length mismatches, both ways.
        let mismatch = fpf_status::FPF_LENGTH_MISMATCH;
        let b_z = c"b_z".as_ptr();
        expect(
            fpf_rnn_set_param(r, b_z, v.as_ptr(), 4),
            mismatch,
            &["b_z", "3", "4"],
        );
        expect(
            fpf_rnn_get_param(r, b_z, v.as_mut_ptr(), 2),
            mismatch,
            &["b_z", "3", "2"],
        );
        assert_eq!(v, [9.0; 9]);

        // Non-finite values change nothing.
        let mut before = [0.0; 3];
        assert_eq!(fpf_rnn_get_param(r, b_z, before.as_mut_ptr(), 3), OK);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let w = [0.5, bad, 0.5];
            expect(
                fpf_rnn_set_param(r, b_z, w.as_ptr(), 3),
                fpf_status::FPF_NOT_FINITE,
                &["b_z", "[1]"],
            );
        }
        let mut after = [0.0; 3];
        assert_eq!(fpf_rnn_get_param(r, b_z, after.as_mut_ptr(), 3), OK);
        assert_eq!(before, after);

        // A round trip.
        let w = [0.25, -0.5, 0.75];
        assert_eq!(fpf_rnn_set_param(r, b_z, w.as_ptr(), 3), OK);
        assert_eq!(last_error(), "");
        assert_eq!(fpf_rnn_get_param(r, b_z, v.as_mut_ptr(), 3), OK);
        assert_eq!(v[..3], w);
        fpf_rnn_free(r);
    }
}

#[test]
fn step_and_run_agree_with_the_model() {
    let mut rng = Rng(17);
    for (cell, kind) in [
        (FPF_CELL_TANH, CellKind::Tanh),
        (FPF_CELL_GRU, CellKind::Gru),
        (FPF_CELL_GRU_TORCH, CellKind::GruTorch),
        (FPF_CELL_LSTM, CellKind::Lstm),
    ] {
        for ni in [0, 3] {
            let (nh, no, seed) = (4, 2, 1234);
            let r = new_rnn(cell, ni, nh, no, seed);
            let mut m = Model::<f64>::init_random(CellShape::new(kind, ni, nh), no, seed).unwrap();
            let sd = m.state_dim();
            // Same initialization from the same seed; then a nonzero h0 through both APIs.
            let h0 = rng.vec(sd, 0.3);
            m.set_param("h0", &h0).unwrap();
            unsafe {
                assert_eq!(fpf_rnn_set_param(r, c"h0".as_ptr(), h0.as_ptr(), sd), OK);
            }
            let mut w = vec![0.0; nh * no];
            unsafe {
                assert_eq!(
                    fpf_rnn_get_param(r, c"w_out".as_ptr(), w.as_mut_ptr(), nh * no),
                    OK
                );
            }
            assert_eq!(w, m.w_out());

            let (nt, nk) = (3, 6);
            let inputs = rng.vec(nt * nk * ni, 1.0);
            let mut ys = vec![0.0; nt * nk * no];
            let mut hs = vec![0.0; nt * nk * sd];
            m.run(&inputs, nt, nk, &mut ys, &mut hs).unwrap();
            let mut ys_c = vec![9.0; nt * nk * no];
            let mut hs_c = vec![9.0; nt * nk * sd];
            let dummy = [0.0];
            let ip = if ni == 0 {
                dummy.as_ptr()
            } else {
                inputs.as_ptr()
            };
            let s = unsafe { fpf_rnn_run(r, ip, nt, nk, ys_c.as_mut_ptr(), hs_c.as_mut_ptr()) };
            assert_eq!(s, OK, "{}", last_error());
            assert_eq!(ys_c, ys);
            assert_eq!(hs_c, hs);

            // Step: n rows, then in place (h_next == h).
            let n = 5;
            let x = rng.vec(n * ni, 1.0);
            let h = rng.vec(n * sd, 0.5);
            let mut want = vec![0.0; n * sd];
            m.step_batch(&x, &h, n, &mut want).unwrap();
            let xp = if ni == 0 { dummy.as_ptr() } else { x.as_ptr() };
            let mut got = vec![9.0; n * sd];
            let s = unsafe { fpf_rnn_step(r, xp, h.as_ptr(), n, got.as_mut_ptr()) };
            assert_eq!(s, OK, "{}", last_error());
            assert_eq!(got, want);
            let mut inplace = h.clone();
            let p = inplace.as_mut_ptr();
            assert_eq!(unsafe { fpf_rnn_step(r, xp, p, n, p) }, OK);
            assert_eq!(inplace, want);
            // Zero rows / trials do nothing and succeed.
            assert_eq!(
                unsafe { fpf_rnn_step(r, xp, h.as_ptr(), 0, got.as_mut_ptr()) },
                OK
            );
            assert_eq!(got, want);
            let s = unsafe { fpf_rnn_run(r, ip, 0, nk, ys_c.as_mut_ptr(), hs_c.as_mut_ptr()) };
            assert_eq!(s, OK);
            assert_eq!(ys_c, ys);
            unsafe { fpf_rnn_free(r) };
        }
    }
}

#[test]
fn run_and_step_reject_non_finite_inputs_and_huge_sizes() {
    let r = new_rnn(FPF_CELL_TANH, 2, 3, 1, 0);
    let mut inputs = [0.1; 2 * 4 * 2];
    inputs[3] = f64::NAN;
    let mut ys = vec![9.0; 2 * 4];
    let mut hs = vec![9.0; 2 * 4 * 3];
    unsafe {
        let s = fpf_rnn_run(r, inputs.as_ptr(), 2, 4, ys.as_mut_ptr(), hs.as_mut_ptr());
        expect(s, fpf_status::FPF_NOT_FINITE, &["inputs", "[3]"]);
        let s = fpf_rnn_run(
            r,
            inputs.as_ptr(),
            usize::MAX,
            2,
            ys.as_mut_ptr(),
            hs.as_mut_ptr(),
        );
        expect(s, fpf_status::FPF_BAD_SIZE, &["n_trials"]);
        let s = fpf_rnn_run(
            r,
            inputs.as_ptr(),
            1 << 62,
            1,
            ys.as_mut_ptr(),
            hs.as_mut_ptr(),
        );
        expect(s, fpf_status::FPF_BAD_SIZE, &[]);
        assert!(ys.iter().chain(&hs).all(|&v| v == 9.0));

        let x = [0.0, 0.0];
        let h = [0.0, f64::INFINITY, 0.0];
        let mut hn = [9.0; 3];
        let s = fpf_rnn_step(r, x.as_ptr(), h.as_ptr(), 1, hn.as_mut_ptr());
        expect(s, fpf_status::FPF_NOT_FINITE, &["`h`[1]"]);
        let s = fpf_rnn_step(r, x.as_ptr(), h.as_ptr(), usize::MAX, hn.as_mut_ptr());
        expect(s, fpf_status::FPF_BAD_SIZE, &[]);
        assert_eq!(hn, [9.0; 3]);
        fpf_rnn_free(r);
    }
}

#[test]
fn tanh_takes_pytorch_rnn_names() {
    let r = new_rnn(FPF_CELL_TANH, 1, 2, 1, 0);
    let w_ih = [0.5, -0.25]; // H × I
    let w_hh = [0.1, 0.2, 0.3, 0.4];
    let (b_ih, b_hh) = ([0.01, 0.02], [0.03, -0.04]);
    unsafe {
        for (name, v) in [
            (c"weight_ih_l0", &w_ih[..]),
            (c"weight_hh_l0", &w_hh[..]),
            (c"bias_ih_l0", &b_ih[..]),
            (c"bias_hh_l0", &b_hh[..]),
        ] {
            assert_eq!(fpf_rnn_set_param(r, name.as_ptr(), v.as_ptr(), v.len()), OK);
        }
        let (x, h) = ([0.7], [0.3, -0.6]);
        let mut hn = [0.0; 2];
        assert_eq!(
            fpf_rnn_step(r, x.as_ptr(), h.as_ptr(), 1, hn.as_mut_ptr()),
            OK
        );
        for i in 0..2 {
            let pre =
                w_ih[i] * x[0] + b_ih[i] + w_hh[2 * i] * h[0] + w_hh[2 * i + 1] * h[1] + b_hh[i];
            assert!((hn[i] - pre.tanh()).abs() < 1e-15);
        }
        let mut b = [0.0; 2];
        assert_eq!(fpf_rnn_get_param(r, c"b_h".as_ptr(), b.as_mut_ptr(), 2), OK);
        assert_eq!(b, [0.04, -0.02]);
        fpf_rnn_free(r);
    }
}

#[test]
fn last_error_message_truncates_and_reports_full_length() {
    let mut p = null_mut();
    let s = unsafe { fpf_rnn_new(9, 1, 1, 1, 0, &mut p) };
    assert_eq!(s, fpf_status::FPF_BAD_OPTION);
    let full = last_error();
    let mut small = [1 as c_char; 5];
    let n = unsafe { fpf_last_error_message(small.as_mut_ptr(), small.len()) };
    assert_eq!(n, full.len());
    assert_eq!(small[4], 0);
    let head = unsafe { CStr::from_ptr(small.as_ptr()) }.to_str().unwrap();
    assert_eq!(head, &full[..4]);
}

/// `fpf_rnn_new_leaky`: bad `α` (≤ 0, > 1, NaN, infinite) and unknown activations are
/// `FPF_BAD_OPTION` with a message naming them, nothing written; a good call makes the
/// `FPF_CELL_LEAKY_*` kind with that `α`, which steps as `Model` does.
#[test]
fn new_leaky_checks_alpha_and_activation() {
    let sentinel = 0x1234usize as *mut fpf_rnn;
    let mut p = sentinel;
    let bad = fpf_status::FPF_BAD_OPTION;
    for alpha in [0.0, -0.1, 1.0 + 1e-9, 2.0, f64::NAN, f64::INFINITY] {
        let s = unsafe {
            fpf_rnn_new_leaky(
                FPF_ACTIVATION_RELU,
                alpha,
                1,
                4,
                1,
                0,
                FPF_INIT_SCALED,
                &mut p,
            )
        };
        expect(s, bad, &["alpha", "(0, 1]"]);
        assert_eq!(p, sentinel);
    }
    for act in [4, 99, u32::MAX] {
        let s = unsafe { fpf_rnn_new_leaky(act, 0.5, 1, 4, 1, 0, FPF_INIT_SCALED, &mut p) };
        expect(s, bad, &["activation", &act.to_string()]);
        assert_eq!(p, sentinel);
    }
    let s = unsafe { fpf_rnn_new_leaky(FPF_ACTIVATION_TANH, 0.5, 1, 4, 1, 0, 7, &mut p) };
    expect(s, bad, &["init"]);
    let s = unsafe {
        fpf_rnn_new_leaky(
            FPF_ACTIVATION_TANH,
            0.5,
            1,
            0,
            1,
            0,
            FPF_INIT_SCALED,
            &mut p,
        )
    };
    expect(s, fpf_status::FPF_BAD_SIZE, &["n_hidden"]);
    let s = unsafe {
        fpf_rnn_new_leaky(
            FPF_ACTIVATION_TANH,
            0.5,
            1,
            4,
            1,
            0,
            FPF_INIT_SCALED,
            null_mut(),
        )
    };
    expect(s, NULL, &["out"]);
    assert_eq!(p, sentinel);
    assert!(unsafe { fpf_rnn_alpha(null()) }.is_nan());

    for (act, cell) in [
        (FPF_ACTIVATION_TANH, FPF_CELL_LEAKY_TANH),
        (FPF_ACTIVATION_RELU, FPF_CELL_LEAKY_RELU),
        (FPF_ACTIVATION_SOFTPLUS, FPF_CELL_LEAKY_SOFTPLUS),
        (FPF_ACTIVATION_SIGMOID, FPF_CELL_LEAKY_SIGMOID),
    ] {
        let mut p = null_mut();
        let s = unsafe { fpf_rnn_new_leaky(act, 0.1, 2, 5, 3, 9, FPF_INIT_SCALED, &mut p) };
        assert_eq!(s, OK, "{}", last_error());
        assert_eq!(unsafe { fpf_rnn_cell(p) }, cell);
        assert_eq!(unsafe { fpf_rnn_alpha(p) }, 0.1);
        let a = Activation::from_code(act).unwrap();
        let m = Model::<f64>::init_scaled(CellShape::leaky(a, 2, 5, 0.1), 3, 9).unwrap();
        let (x, h) = ([0.3, -0.7], [0.1, -0.2, 0.3, 0.4, -0.5]);
        let mut got = [0.0; 5];
        let s = unsafe { fpf_rnn_step(p, x.as_ptr(), h.as_ptr(), 1, got.as_mut_ptr()) };
        assert_eq!(s, OK, "{}", last_error());
        let cell = m.cell();
        let mut want = [0.0; 5];
        let mut cache = vec![0.0; m.shape().cache_len()];
        cell.step(&x, &h, &mut want, &mut cache).unwrap();
        assert_eq!(got, want);
        unsafe { fpf_rnn_free(p) };
    }
    // fpf_rnn_new with a leaky kind: α = 1.
    let p = new_rnn(FPF_CELL_LEAKY_SOFTPLUS, 1, 3, 1, 0);
    assert_eq!(unsafe { fpf_rnn_alpha(p) }, 1.0);
    assert_eq!(
        CellKind::from_code(unsafe { fpf_rnn_cell(p) }),
        Some(CellKind::LeakySoftplus)
    );
    unsafe { fpf_rnn_free(p) };
}
