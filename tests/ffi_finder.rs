//! The C ABI of the eigen solver and the finder, driven from Rust exactly as a C caller
//! would: fixtures in, fixture answers out, and every bad argument a status.

mod common;

use common::{data, read_array};
use fpf::*;
use std::ptr::{null, null_mut};

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn fpf_eig_matches_the_fixtures() {
    for name in [
        "009_gaussian_n128",
        "026_cyclic_permutation_n64",
        "030_badly_scaled_n6",
    ] {
        let (shape, a) = read_array(&data(&format!("eig/{name}.matrix.txt")));
        let (_, want) = read_array(&data(&format!("eig/{name}.eig.txt")));
        let n = shape[0];
        let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
        let (mut vr, mut vi) = (vec![0.0; n * n], vec![0.0; n * n]);
        let st = unsafe {
            fpf_eig(
                n,
                a.as_ptr(),
                re.as_mut_ptr(),
                im.as_mut_ptr(),
                vr.as_mut_ptr(),
                vi.as_mut_ptr(),
            )
        };
        assert_eq!(st, fpf_status::FPF_OK, "{name}: {}", last_error());
        let norm = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        // Multiset comparison: every fixture eigenvalue has a computed one nearby.
        for k in 0..n {
            let (wr, wi) = (want[2 * k], want[2 * k + 1]);
            let best = (0..n)
                .map(|j| (re[j] - wr).hypot(im[j] - wi))
                .fold(f64::INFINITY, f64::min);
            assert!(
                best < 1e-8 * norm.max(1.0),
                "{name}: eigenvalue {k} off by {best:e}"
            );
        }
        // Eigenpairs: ‖A v − λ v‖ / ‖A‖ small.
        for k in 0..n {
            let mut worst = 0.0f64;
            for i in 0..n {
                let (mut sr, mut si) = (0.0, 0.0);
                for j in 0..n {
                    sr += a[i * n + j] * vr[j * n + k];
                    si += a[i * n + j] * vi[j * n + k];
                }
                sr -= re[k] * vr[i * n + k] - im[k] * vi[i * n + k];
                si -= re[k] * vi[i * n + k] + im[k] * vr[i * n + k];
                worst = worst.max(sr.hypot(si));
            }
            assert!(
                worst / norm < 1e-10,
                "{name}: eigenpair {k} residual {worst:e}"
            );
        }
    }
}

#[test]
fn fpf_eig_rejects_bad_arguments_and_writes_nothing() {
    let a = [1.0, 2.0, 3.0, 4.0];
    let (mut re, mut im) = ([7.0; 2], [7.0; 2]);
    let call = |n: usize, a: *const f64, re: *mut f64, im: *mut f64, vr: *mut f64, vi: *mut f64| unsafe {
        fpf_eig(n, a, re, im, vr, vi)
    };
    assert_eq!(
        call(
            2,
            null(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_NULL_POINTER
    );
    assert!(last_error().contains("`a`"));
    assert_eq!(
        call(
            2,
            a.as_ptr(),
            null_mut(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        call(
            2,
            a.as_ptr(),
            re.as_mut_ptr(),
            null_mut(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_NULL_POINTER
    );
    let mut v = [0.0; 4];
    assert_eq!(
        call(
            2,
            a.as_ptr(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            v.as_mut_ptr(),
            null_mut()
        ),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        call(
            0,
            a.as_ptr(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        call(
            usize::MAX,
            a.as_ptr(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_BAD_SIZE
    );
    let nan = [1.0, f64::NAN, 0.0, 1.0];
    assert_eq!(
        call(
            2,
            nan.as_ptr(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_NOT_FINITE
    );
    assert!(last_error().contains("NaN"));
    assert_eq!((re, im), ([7.0; 2], [7.0; 2]), "outputs written on failure");
    assert_eq!(
        call(
            2,
            a.as_ptr(),
            re.as_mut_ptr(),
            im.as_mut_ptr(),
            null_mut(),
            null_mut()
        ),
        fpf_status::FPF_OK
    );
    assert_eq!(last_error(), "");
}

/// The flip-flop fixture network as a C handle.
fn fixture_rnn() -> *mut fpf_rnn {
    let rd = |f: &str| read_array(&data(&format!("flipflop3_h4_s42/{f}"))).1;
    let mut rnn = null_mut();
    assert_eq!(
        unsafe { fpf_rnn_new(FPF_CELL_TANH, 3, 4, 3, 42, &mut rnn) },
        fpf_status::FPF_OK
    );
    for (name, file) in [
        ("w_ih", "w_ih.txt"),
        ("w_hh", "w_hh.txt"),
        ("b_h", "b_h.txt"),
        ("w_out", "w_out.txt"),
        ("b_out", "b_out.txt"),
        ("h0", "h0.txt"),
    ] {
        let v = rd(file);
        let st = unsafe {
            fpf_rnn_set_param(
                rnn,
                format!("{name}\0").as_ptr().cast(),
                v.as_ptr(),
                v.len(),
            )
        };
        assert_eq!(st, fpf_status::FPF_OK, "{name}: {}", last_error());
    }
    rnn
}

fn tutorial_options() -> fpf_finder_options {
    let mut o = std::mem::MaybeUninit::<fpf_finder_options>::uninit();
    unsafe { fpf_finder_options_default(o.as_mut_ptr()) };
    let mut o = unsafe { o.assume_init() };
    assert_eq!(
        (o.max_iters, o.tol_q, o.lr_init, o.lr_patience),
        (5000, 1e-12, 1.0, 5)
    );
    assert_eq!(o.max_n_unique, usize::MAX);
    o.lr_init = 0.02;
    o.tol_q = 1e-4;
    o.final_q_threshold = 1e-6;
    o.tol_unique = 1e-2;
    o
}

#[test]
fn fpf_find_fixed_points_on_the_flipflop_fixture() {
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let refined = read_array(&data("flipflop3_h4_s42/refined_xstar.txt")).1;
    let opts = tutorial_options();
    let zero = [0.0; 3];
    let mut fps = null_mut();
    let st = unsafe {
        fpf_find_fixed_points(rnn, &opts, inits.as_ptr(), 1024, zero.as_ptr(), 1, &mut fps)
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let n = unsafe { fpf_fixed_points_len(fps) };
    assert_eq!(n, 25);
    let mut x = vec![0.0; n * 4];
    let mut q = vec![0.0; n];
    let mut stable = vec![0u8; n];
    let (mut re, mut im) = (vec![0.0; n * 4], vec![0.0; n * 4]);
    unsafe {
        assert_eq!(
            fpf_fixed_points_xstar(fps, x.as_mut_ptr(), x.len()),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_fixed_points_qstar(fps, q.as_mut_ptr(), q.len()),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_fixed_points_is_stable(fps, stable.as_mut_ptr(), n),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_fixed_points_eigvals(fps, re.as_mut_ptr(), im.as_mut_ptr(), n * 4),
            fpf_status::FPF_OK
        );
        // Wrong lengths are errors and write nothing.
        assert_eq!(
            fpf_fixed_points_xstar(fps, x.as_mut_ptr(), 3),
            fpf_status::FPF_LENGTH_MISMATCH
        );
        assert_eq!(
            fpf_fixed_points_qstar(null(), q.as_mut_ptr(), n),
            fpf_status::FPF_NULL_POINTER
        );
    }
    assert_eq!(stable.iter().filter(|&&s| s == 1).count(), 8);
    for k in 0..25 {
        let w = &refined[k * 4..(k + 1) * 4];
        assert!(
            (0..n).any(|i| x[i * 4..(i + 1) * 4]
                .iter()
                .zip(w)
                .all(|(a, b)| (a - b).abs() < 1e-6)),
            "refined point {k} missing"
        );
    }
    for i in 0..n {
        let r = (0..4)
            .map(|k| re[i * 4 + k].hypot(im[i * 4 + k]))
            .fold(0.0, f64::max);
        assert_eq!(stable[i] == 1, r < 1.0);
    }
    let len = unsafe { fpf_fixed_points_summary(fps, null_mut(), 0) };
    let mut buf = vec![0u8; len + 1];
    unsafe { fpf_fixed_points_summary(fps, buf.as_mut_ptr().cast(), buf.len()) };
    let text = String::from_utf8_lossy(&buf[..len]);
    assert!(text.contains("Stable fixed points: 8 / 25"), "{text}");
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_rnn_free(rnn);
    }
}

unsafe extern "C" fn stop_at_5(p: *const fpf_progress, user: *mut std::ffi::c_void) -> bool {
    let calls = unsafe { &mut *(user as *mut usize) };
    *calls += 1;
    unsafe { (*p).iter < 5 }
}

#[test]
fn progress_callback_sees_iterations_and_can_cancel() {
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let opts = tutorial_options();
    let mut calls = 0usize;
    let mut fps = null_mut();
    let st = unsafe {
        fpf_find_fixed_points_progress(
            rnn,
            &opts,
            inits.as_ptr(),
            16,
            [0.0; 3].as_ptr(),
            1,
            Some(stop_at_5),
            (&mut calls as *mut usize).cast(),
            &mut fps,
        )
    };
    assert_eq!(st, fpf_status::FPF_CANCELLED);
    assert!(fps.is_null());
    assert_eq!(calls, 6);
    unsafe { fpf_rnn_free(rnn) };
}

#[test]
fn finder_rejects_bad_arguments() {
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let zero = [0.0; 3];
    let good = tutorial_options();
    let mut fps = null_mut();
    let find = |o: &fpf_finder_options,
                x: *const f64,
                n: usize,
                u: *const f64,
                rows: usize,
                out: *mut *mut fpf_fixed_points| unsafe {
        fpf_find_fixed_points(rnn, o, x, n, u, rows, out)
    };
    let mut bad = good;
    bad.method = 3;
    assert_eq!(
        find(&bad, inits.as_ptr(), 8, zero.as_ptr(), 1, &mut fps),
        fpf_status::FPF_BAD_OPTION
    );
    bad = good;
    bad.dtype = 9;
    assert_eq!(
        find(&bad, inits.as_ptr(), 8, zero.as_ptr(), 1, &mut fps),
        fpf_status::FPF_BAD_OPTION
    );
    for edit in [
        |o: &mut fpf_finder_options| o.lr_init = -1.0,
        |o: &mut fpf_finder_options| o.max_iters = 0,
        |o: &mut fpf_finder_options| o.tol_q = f64::NAN,
        |o: &mut fpf_finder_options| o.lr_factor = 0.0,
        |o: &mut fpf_finder_options| o.period = 0,
    ] {
        let mut o = good;
        edit(&mut o);
        assert_eq!(
            find(&o, inits.as_ptr(), 8, zero.as_ptr(), 1, &mut fps),
            fpf_status::FPF_BAD_OPTION,
            "{}",
            last_error()
        );
    }
    assert_eq!(
        find(&good, null(), 8, zero.as_ptr(), 1, &mut fps),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        find(&good, inits.as_ptr(), 8, null(), 1, &mut fps),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        find(&good, inits.as_ptr(), 8, zero.as_ptr(), 1, null_mut()),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        unsafe {
            fpf_find_fixed_points(null(), &good, inits.as_ptr(), 8, zero.as_ptr(), 1, &mut fps)
        },
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        unsafe {
            fpf_find_fixed_points(rnn, null(), inits.as_ptr(), 8, zero.as_ptr(), 1, &mut fps)
        },
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        find(&good, inits.as_ptr(), 0, zero.as_ptr(), 1, &mut fps),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        find(&good, inits.as_ptr(), 8, zero.as_ptr(), 3, &mut fps),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        find(
            &good,
            inits.as_ptr(),
            usize::MAX,
            zero.as_ptr(),
            1,
            &mut fps
        ),
        fpf_status::FPF_BAD_SIZE
    );
    let mut nan = inits[..32].to_vec();
    nan[5] = f64::INFINITY;
    assert_eq!(
        find(&good, nan.as_ptr(), 8, zero.as_ptr(), 1, &mut fps),
        fpf_status::FPF_NOT_FINITE
    );
    assert!(fps.is_null());
    // A diverging network (weights of 1e3) still gives finite, bounded states for tanh.
    let big = [1e3; 16];
    assert_eq!(
        unsafe { fpf_rnn_set_param(rnn, c"w_hh".as_ptr(), big.as_ptr(), 16) },
        fpf_status::FPF_OK
    );
    assert_eq!(
        find(&good, inits.as_ptr(), 8, zero.as_ptr(), 1, &mut fps),
        fpf_status::FPF_OK,
        "{}",
        last_error()
    );
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_fixed_points_free(null_mut());
        fpf_rnn_free(rnn);
    }
}

#[test]
fn sample_states_is_reproducible_and_checks_masks() {
    let traj = read_array(&data("flipflop3_h4_s42/hiddens_first8.txt")).1;
    let mut a = vec![0.0; 100 * 4];
    let mut b = vec![0.0; 100 * 4];
    unsafe {
        assert_eq!(
            fpf_sample_states(traj.as_ptr(), 8, 64, 4, null(), 100, 0.4, 9, a.as_mut_ptr()),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_sample_states(traj.as_ptr(), 8, 64, 4, null(), 100, 0.4, 9, b.as_mut_ptr()),
            fpf_status::FPF_OK
        );
    }
    assert_eq!(a, b);
    // Without noise every sample is a row of the trajectory, from the valid entries only.
    let mut mask = vec![0u8; 8 * 64];
    mask[3 * 64 + 10] = 1;
    let mut c = vec![0.0; 5 * 4];
    unsafe {
        assert_eq!(
            fpf_sample_states(
                traj.as_ptr(),
                8,
                64,
                4,
                mask.as_ptr(),
                5,
                0.0,
                1,
                c.as_mut_ptr()
            ),
            fpf_status::FPF_OK
        );
    }
    let row = &traj[(3 * 64 + 10) * 4..(3 * 64 + 11) * 4];
    assert!(c.chunks(4).all(|r| r == row));
    let none = vec![0u8; 8 * 64];
    let st = unsafe {
        fpf_sample_states(
            traj.as_ptr(),
            8,
            64,
            4,
            none.as_ptr(),
            5,
            0.0,
            1,
            c.as_mut_ptr(),
        )
    };
    assert_eq!(st, fpf_status::FPF_BAD_OPTION);
    assert!(last_error().contains("no valid entry"), "{}", last_error());
    let st =
        unsafe { fpf_sample_states(traj.as_ptr(), 8, 64, 4, null(), 5, -1.0, 1, c.as_mut_ptr()) };
    assert_eq!(st, fpf_status::FPF_BAD_OPTION);
}

#[test]
fn select_reads_the_all_and_slow_sets() {
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let mut opts = tutorial_options();
    opts.newton_polish = false;
    opts.max_iters = 20;
    opts.final_q_threshold = 1e-9;
    let mut fps = null_mut();
    let st = unsafe {
        fpf_find_fixed_points(
            rnn,
            &opts,
            inits.as_ptr(),
            256,
            [0.0; 3].as_ptr(),
            1,
            &mut fps,
        )
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let (mut all, mut slow) = (null_mut(), null_mut());
    unsafe {
        assert_eq!(
            fpf_fixed_points_select(fps, FPF_SET_ALL, &mut all),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_fixed_points_select(fps, FPF_SET_SLOW, &mut slow),
            fpf_status::FPF_OK
        );
        assert_eq!(
            fpf_fixed_points_select(fps, 7, &mut slow),
            fpf_status::FPF_BAD_OPTION
        );
        assert_eq!(fpf_fixed_points_len(all), 256);
        let ns = fpf_fixed_points_len(slow);
        assert_eq!(ns, fpf_fixed_points_n_slow(fps));
        assert!(ns > 0);
        let mut flags = vec![9u8; ns];
        assert_eq!(
            fpf_fixed_points_field_u8(slow, c"is_slow".as_ptr(), flags.as_mut_ptr(), ns),
            fpf_status::FPF_OK
        );
        assert!(flags.iter().all(|&f| f == 1));
        let mut newton = vec![9u8; ns];
        assert_eq!(
            fpf_fixed_points_field_u8(slow, c"newton".as_ptr(), newton.as_mut_ptr(), ns),
            fpf_status::FPF_OK
        );
        assert!(newton.iter().all(|&o| o == FPF_NEWTON_NOT_RUN));
        fpf_fixed_points_free(all);
        fpf_fixed_points_free(slow);
        fpf_fixed_points_free(fps);
        fpf_rnn_free(rnn);
    }
}

unsafe extern "C" fn collect_line(
    user: *mut std::os::raw::c_void,
    msg: *const std::os::raw::c_char,
) {
    let lines = unsafe { &mut *user.cast::<Vec<String>>() };
    lines.push(
        unsafe { std::ffi::CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned(),
    );
}

/// Runs the fixture search with `o` and returns the lines its log callback received.
fn logged_run(o: &fpf_finder_options, lines: &mut Vec<String>) -> fpf_status {
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let mut o = *o;
    o.log_user = (lines as *mut Vec<String>).cast();
    let mut fps = null_mut();
    let st = unsafe {
        fpf_find_fixed_points(rnn, &o, inits.as_ptr(), 64, [0.0; 3].as_ptr(), 1, &mut fps)
    };
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_rnn_free(rnn);
    }
    st
}

#[test]
fn verbose_lines_go_to_the_log_callback_only() {
    let mut o = tutorial_options();
    o.verbose = true;
    o.log = Some(collect_line);
    let mut lines = Vec::new();
    assert_eq!(
        logged_run(&o, &mut lines),
        fpf_status::FPF_OK,
        "{}",
        last_error()
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Identified ")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Newton polish: ")),
        "{lines:?}"
    );
    // Without a callback the same run says nothing (and the library prints nothing).
    o.log = None;
    let mut none = Vec::new();
    assert_eq!(logged_run(&o, &mut none), fpf_status::FPF_OK);
    assert!(none.is_empty());
}

#[test]
fn options_shorter_than_this_library_take_defaults_past_struct_size() {
    let mut o = tutorial_options();
    assert_eq!(o.struct_size, size_of::<fpf_finder_options>());
    o.verbose = true;
    o.log = Some(collect_line);
    // A caller whose struct ends before `verbose`: verbose and log are the defaults (off).
    o.struct_size = std::mem::offset_of!(fpf_finder_options, verbose);
    let mut lines = Vec::new();
    assert_eq!(
        logged_run(&o, &mut lines),
        fpf_status::FPF_OK,
        "{}",
        last_error()
    );
    assert!(lines.is_empty(), "{lines:?}");
    // Too short to hold even struct_size, or absurd: an error naming the field.
    for bad in [0, 4, usize::MAX] {
        o.struct_size = bad;
        assert_eq!(
            logged_run(&o, &mut lines),
            fpf_status::FPF_BAD_SIZE,
            "{bad}"
        );
        assert!(last_error().contains("struct_size"), "{}", last_error());
    }
}

#[test]
fn options_init_fills_a_longer_struct_and_rejects_unknown_set_bytes() {
    #[repr(C)]
    struct Newer {
        o: fpf_finder_options,
        future: [u64; 2],
    }
    let mut n = std::mem::MaybeUninit::<Newer>::uninit();
    let st = unsafe { fpf_finder_options_init(n.as_mut_ptr().cast(), size_of::<Newer>()) };
    assert_eq!(st, fpf_status::FPF_OK);
    let mut n = unsafe { n.assume_init() };
    assert_eq!((n.o.struct_size, n.future), (size_of::<Newer>(), [0, 0]));
    assert_eq!((n.o.max_iters, n.o.tol_q), (5000, 1e-12));
    n.o.tol_unique = 1e-2;
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let run = |o: &fpf_finder_options| {
        let mut fps = null_mut();
        let st = unsafe {
            fpf_find_fixed_points(rnn, o, inits.as_ptr(), 64, [0.0; 3].as_ptr(), 1, &mut fps)
        };
        unsafe { fpf_fixed_points_free(fps) };
        st
    };
    // Zero bytes past this library's struct: accepted.
    assert_eq!(run(&n.o), fpf_status::FPF_OK, "{}", last_error());
    // An option this library does not know, set: refused, never ignored.
    n.future[1] = 7;
    assert_eq!(run(&n.o), fpf_status::FPF_BAD_OPTION);
    assert!(
        last_error().contains("knows only its first"),
        "{}",
        last_error()
    );
    unsafe { fpf_rnn_free(rnn) };
}

#[test]
fn finite_values_too_large_for_single_precision_are_named_as_such() {
    let rnn = fixture_rnn();
    let mut inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    inits[5] = 1e39;
    let mut o = tutorial_options();
    o.dtype = FPF_DTYPE_FLOAT32;
    let mut fps = null_mut();
    let st = unsafe {
        fpf_find_fixed_points(rnn, &o, inits.as_ptr(), 8, [0.0; 3].as_ptr(), 1, &mut fps)
    };
    assert_eq!(st, fpf_status::FPF_NOT_FINITE);
    let msg = last_error();
    assert!(
        msg.contains("initial states`[5]") && msg.contains("overflows single precision"),
        "{msg}"
    );
    // In double precision the same state is a valid (if distant) start.
    o.dtype = FPF_DTYPE_FLOAT64;
    let st = unsafe {
        fpf_find_fixed_points(rnn, &o, inits.as_ptr(), 8, [0.0; 3].as_ptr(), 1, &mut fps)
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_rnn_free(rnn);
    }
}

#[test]
fn truncated_error_messages_stay_utf8() {
    // A message with multi-byte characters ("×"), cut at every capacity.
    let mut out = [0.0; 4];
    let st = unsafe {
        fpf_sample_states(
            out.as_ptr(),
            usize::MAX,
            2,
            1,
            null(),
            1,
            0.0,
            1,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(st, fpf_status::FPF_BAD_SIZE);
    let full = last_error();
    assert!(full.contains('×'), "{full}");
    for cap in 1..full.len() + 2 {
        let mut buf = vec![0xFFu8; cap];
        let n = unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), cap) };
        assert_eq!(n, full.len());
        let end = buf.iter().position(|&b| b == 0).expect("NUL-terminated");
        let text = std::str::from_utf8(&buf[..end]).expect("valid UTF-8 at every cut");
        assert!(full.starts_with(text));
        assert!(
            end + 4 > cap.min(full.len() + 1) - 1,
            "cut at most one character short"
        );
    }
}

#[test]
fn slices_no_buffer_can_have_are_refused() {
    let rnn = fixture_rnn();
    let o = tutorial_options();
    let x = [0.0; 4];
    let mut fps = null_mut();
    // 2^61 states × 4 doubles fits in size_t but no buffer: refused before any slice exists.
    let st =
        unsafe { fpf_find_fixed_points(rnn, &o, x.as_ptr(), 1 << 61, x.as_ptr(), 1, &mut fps) };
    assert_eq!(st, fpf_status::FPF_BAD_SIZE, "{}", last_error());
    assert!(fps.is_null());
    let mut out = [0.0; 4];
    let st = unsafe {
        fpf_sample_states(
            x.as_ptr(),
            1 << 30,
            1 << 30,
            4,
            null(),
            1,
            0.0,
            1,
            out.as_mut_ptr(),
        )
    };
    assert_eq!(st, fpf_status::FPF_BAD_SIZE, "{}", last_error());
    unsafe { fpf_rnn_free(rnn) };
}

struct Reentry {
    rnn: *mut fpf_rnn,
    statuses: Vec<fpf_status>,
    free: bool,
}

unsafe extern "C" fn reenter_find(
    _p: *const fpf_progress,
    user: *mut std::os::raw::c_void,
) -> bool {
    let r = unsafe { &mut *user.cast::<Reentry>() };
    if r.statuses.is_empty() {
        let w = [0.0; 16];
        r.statuses
            .push(unsafe { fpf_rnn_set_param(r.rnn, c"w_hh".as_ptr(), w.as_ptr(), 16) });
        let path = c"/nonexistent-dir/never-read.fpf";
        r.statuses
            .push(unsafe { fpf_checkpoint_load_into(r.rnn, path.as_ptr()) });
        // Reading is fine during the search.
        let mut v = [0.0; 16];
        r.statuses
            .push(unsafe { fpf_rnn_get_param(r.rnn, c"w_hh".as_ptr(), v.as_mut_ptr(), 16) });
        if r.free {
            unsafe { fpf_rnn_free(r.rnn) };
        }
    }
    true
}

#[test]
fn a_callback_cannot_change_or_free_the_handle_its_search_reads() {
    for free in [false, true] {
        let rnn = fixture_rnn();
        let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
        let o = tutorial_options();
        let mut r = Reentry {
            rnn,
            statuses: Vec::new(),
            free,
        };
        let mut fps = null_mut();
        let st = unsafe {
            fpf_find_fixed_points_progress(
                rnn,
                &o,
                inits.as_ptr(),
                64,
                [0.0; 3].as_ptr(),
                1,
                Some(reenter_find),
                (&mut r as *mut Reentry).cast(),
                &mut fps,
            )
        };
        assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
        assert_eq!(
            r.statuses,
            [
                fpf_status::FPF_BUSY,
                fpf_status::FPF_BUSY,
                fpf_status::FPF_OK
            ]
        );
        assert!(unsafe { fpf_fixed_points_len(fps) } > 0);
        unsafe { fpf_fixed_points_free(fps) };
        if !free {
            // Not held any more: changes go through again.
            let w = [0.0; 16];
            let st = unsafe { fpf_rnn_set_param(rnn, c"w_hh".as_ptr(), w.as_ptr(), 16) };
            assert_eq!(st, fpf_status::FPF_OK);
            unsafe { fpf_rnn_free(rnn) };
        } // else: freed by the search when it returned (valgrind and ASan runs check this)
    }
}

struct TrainWatch {
    rnn: *mut fpf_rnn,
    w_hh: Vec<Vec<f64>>,
    set: Vec<fpf_status>,
}

unsafe extern "C" fn watch_epoch(
    _p: *const fpf_train_progress,
    user: *mut std::os::raw::c_void,
) -> bool {
    let t = unsafe { &mut *user.cast::<TrainWatch>() };
    let mut v = vec![0.0; 16];
    let st = unsafe { fpf_rnn_get_param(t.rnn, c"w_hh".as_ptr(), v.as_mut_ptr(), 16) };
    assert_eq!(st, fpf_status::FPF_OK);
    t.w_hh.push(v.clone());
    t.set
        .push(unsafe { fpf_rnn_set_param(t.rnn, c"w_hh".as_ptr(), v.as_ptr(), 16) });
    true
}

#[test]
fn a_training_callback_sees_the_current_weights_and_cannot_change_them() {
    let rnn = fixture_rnn();
    let (n, t) = (32usize, 16usize);
    let (mut x, mut y) = (vec![0.0; n * t * 3], vec![0.0; n * t * 3]);
    assert_eq!(
        unsafe { fpf_flipflop_generate(3, t, 0.5, n, 7, x.as_mut_ptr(), y.as_mut_ptr()) },
        fpf_status::FPF_OK
    );
    let mut before = vec![0.0; 16];
    unsafe { fpf_rnn_get_param(rnn, c"w_hh".as_ptr(), before.as_mut_ptr(), 16) };
    let mut o = std::mem::MaybeUninit::<fpf_train_options>::uninit();
    unsafe { fpf_train_options_default(o.as_mut_ptr()) };
    let mut o = unsafe { o.assume_init() };
    o.batch_size = 16;
    o.max_epochs = 3;
    o.min_loss = 0.0;
    o.dtype = FPF_DTYPE_FLOAT64;
    let mut w = TrainWatch {
        rnn,
        w_hh: Vec::new(),
        set: Vec::new(),
    };
    let st = unsafe {
        fpf_train(
            rnn,
            &o,
            x.as_ptr(),
            y.as_ptr(),
            n,
            t,
            null(),
            null(),
            0,
            Some(watch_epoch),
            (&mut w as *mut TrainWatch).cast(),
            null_mut(),
        )
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    assert_eq!(w.set, [fpf_status::FPF_BUSY; 3]);
    // Each epoch's weights, all different, none the initial ones; the last is what remains.
    assert_ne!(w.w_hh[0], before);
    assert_ne!(w.w_hh[1], w.w_hh[0]);
    let mut after = vec![0.0; 16];
    unsafe { fpf_rnn_get_param(rnn, c"w_hh".as_ptr(), after.as_mut_ptr(), 16) };
    assert_eq!(&after, w.w_hh.last().unwrap());
    unsafe { fpf_rnn_free(rnn) };
}

#[test]
fn cond_ids_reach_every_set_of_the_result() {
    let rnn = fixture_rnn();
    let inits = read_array(&data("flipflop3_h4_s42/inits.txt")).1;
    let n_inits = 256;
    let ids: Vec<i64> = (0..n_inits as i64).map(|i| 1000 + i).collect();
    let opts = tutorial_options();
    let zero = [0.0; 3];
    let mut fps = null_mut();
    let st = unsafe {
        fpf_find_fixed_points_cond(
            rnn,
            &opts,
            inits.as_ptr(),
            n_inits,
            zero.as_ptr(),
            1,
            ids.as_ptr(),
            None,
            null_mut(),
            &mut fps,
        )
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let read = |h: *const fpf_fixed_points| {
        let n = unsafe { fpf_fixed_points_len(h) };
        let (mut c, mut x0) = (vec![0i64; n], vec![0.0; n * 4]);
        let cid = c"cond_id".as_ptr();
        assert_eq!(
            unsafe { fpf_fixed_points_field_i64(h, cid, c.as_mut_ptr(), n) },
            fpf_status::FPF_OK,
            "{}",
            last_error()
        );
        let xi = c"x_init".as_ptr();
        assert_eq!(
            unsafe { fpf_fixed_points_field_f64(h, xi, x0.as_mut_ptr(), n * 4) },
            fpf_status::FPF_OK
        );
        (c, x0)
    };
    // Each unique point keeps the id of the initial state it was optimized from.
    let (c, x0) = read(fps);
    assert!(!c.is_empty());
    for (k, id) in c.iter().enumerate() {
        let i = (*id - 1000) as usize;
        assert_eq!(&x0[k * 4..(k + 1) * 4], &inits[i * 4..(i + 1) * 4]);
    }
    let mut all = null_mut();
    assert_eq!(
        unsafe { fpf_fixed_points_select(fps, FPF_SET_ALL, &mut all) },
        fpf_status::FPF_OK
    );
    assert_eq!(read(all).0, ids);
    // Without ids the field is absent.
    let mut plain = null_mut();
    let st = unsafe {
        fpf_find_fixed_points(rnn, &opts, inits.as_ptr(), 8, zero.as_ptr(), 1, &mut plain)
    };
    assert_eq!(st, fpf_status::FPF_OK);
    let k = (0..fpf_fixed_points_n_fields())
        .find(|&k| {
            let p = fpf_fixed_points_field_name(k);
            unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes() == b"cond_id"
        })
        .expect("cond_id field");
    assert_eq!(unsafe { fpf_fixed_points_field_width(plain, k) }, 0);
    // A NULL progress callback with ids, and ids with NULL inits: still checked.
    let st = unsafe {
        fpf_find_fixed_points_cond(
            rnn,
            &opts,
            null(),
            8,
            zero.as_ptr(),
            1,
            ids.as_ptr(),
            None,
            null_mut(),
            &mut plain,
        )
    };
    assert_eq!(st, fpf_status::FPF_NULL_POINTER);
    unsafe {
        fpf_fixed_points_free(plain);
        fpf_fixed_points_free(all);
        fpf_fixed_points_free(fps);
        fpf_rnn_free(rnn);
    }
}

#[test]
fn options_validate_without_running() {
    let mut o = tutorial_options();
    assert_eq!(
        unsafe { fpf_finder_options_validate(&o) },
        fpf_status::FPF_OK
    );
    o.lr_init = -1.0;
    assert_eq!(
        unsafe { fpf_finder_options_validate(&o) },
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("lr_init"), "{}", last_error());
    o = tutorial_options();
    o.method = 7;
    assert_eq!(
        unsafe { fpf_finder_options_validate(&o) },
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("method"), "{}", last_error());
    assert_eq!(
        unsafe { fpf_finder_options_validate(null()) },
        fpf_status::FPF_NULL_POINTER
    );
    let mut t = std::mem::MaybeUninit::<fpf_train_options>::uninit();
    unsafe { fpf_train_options_default(t.as_mut_ptr()) };
    let mut t = unsafe { t.assume_init() };
    assert_eq!(
        unsafe { fpf_train_options_validate(&t) },
        fpf_status::FPF_OK
    );
    t.learning_rate = f64::NAN;
    assert_eq!(
        unsafe { fpf_train_options_validate(&t) },
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("learning_rate"), "{}", last_error());
    t.learning_rate = 0.1;
    t.dtype = 9;
    assert_eq!(
        unsafe { fpf_train_options_validate(&t) },
        fpf_status::FPF_BAD_OPTION
    );
    t.dtype = 0;
    assert_eq!(t.n_threads, 0, "all cores by default");
    t.n_threads = 5000;
    assert_eq!(
        unsafe { fpf_train_options_validate(&t) },
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("n_threads"), "{}", last_error());
}

#[test]
fn checkpoints_round_trip_through_memory() {
    let rnn = fixture_rnn();
    let mut len = 0usize;
    assert_eq!(
        unsafe { fpf_checkpoint_save_buffer(rnn, null_mut(), 0, &mut len) },
        fpf_status::FPF_OK
    );
    assert!(len > 0);
    let mut buf = vec![0u8; len];
    // Too small: the length is still reported, nothing is written.
    let mut got = 0usize;
    assert_eq!(
        unsafe { fpf_checkpoint_save_buffer(rnn, buf.as_mut_ptr(), len - 1, &mut got) },
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(got, len);
    assert!(buf.iter().all(|&b| b == 0));
    assert_eq!(
        unsafe { fpf_checkpoint_save_buffer(rnn, buf.as_mut_ptr(), len, &mut got) },
        fpf_status::FPF_OK
    );
    assert_eq!(
        unsafe { fpf_checkpoint_save_buffer(rnn, buf.as_mut_ptr(), len, null_mut()) },
        fpf_status::FPF_NULL_POINTER
    );
    // The bytes are those of a checkpoint file.
    let dir = std::env::temp_dir().join(format!("fpf_ckpt_buf_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.fpf");
    let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(
        unsafe { fpf_checkpoint_save(rnn, cpath.as_ptr()) },
        fpf_status::FPF_OK
    );
    assert_eq!(std::fs::read(&path).unwrap(), buf);
    let _ = std::fs::remove_dir_all(&dir);
    let mut copy = null_mut();
    assert_eq!(
        unsafe { fpf_checkpoint_load_buffer(buf.as_ptr(), buf.len(), &mut copy) },
        fpf_status::FPF_OK
    );
    let name = c"w_hh".as_ptr();
    let (mut a, mut b) = (vec![0.0; 16], vec![1.0; 16]);
    unsafe {
        fpf_rnn_get_param(rnn, name, a.as_mut_ptr(), 16);
        fpf_rnn_get_param(copy, name, b.as_mut_ptr(), 16);
    }
    assert_eq!(a, b);
    // Corrupt, truncated and empty buffers are BAD_FORMAT; *out is left alone.
    let mut bad = buf.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let mut out = null_mut();
    for (p, n) in [
        (bad.as_ptr(), bad.len()),
        (buf.as_ptr(), buf.len() - 3),
        (buf.as_ptr(), 0),
    ] {
        assert_eq!(
            unsafe { fpf_checkpoint_load_buffer(p, n, &mut out) },
            fpf_status::FPF_BAD_FORMAT,
            "{}",
            last_error()
        );
        assert!(out.is_null());
    }
    assert_eq!(
        unsafe { fpf_checkpoint_load_buffer(null(), 4, &mut out) },
        fpf_status::FPF_NULL_POINTER
    );
    unsafe {
        fpf_rnn_free(copy);
        fpf_rnn_free(rnn);
    }
}
