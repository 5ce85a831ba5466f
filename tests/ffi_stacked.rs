//! Stacked models through the C ABI, driven as a C caller would: construction and its
//! argument checks, layer names, the finder (the same points as the Rust `StackedMap`),
//! checkpoints (round trip, a mismatched file refused), and `FPF_UNSUPPORTED` from the
//! calls that need a single cell.

mod common;

use common::Rng;
use fpf::*;
use fpf_std::analysis::FixedPointFinder;
use fpf_std::checkpoint::{decode_model_f64, encode_model};
use fpf_std::find::FinderOptions;
use fpf_std::stacked::StackedMap;
use std::ffi::CString;
use std::ptr::{null, null_mut};

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn stacked(cell: fpf_cell, alpha: f64, layers: usize, ni: usize, nh: usize) -> *mut fpf_rnn {
    let mut rnn = null_mut();
    let st = unsafe {
        fpf_rnn_new_stacked(cell, alpha, layers, ni, nh, 2, 7, FPF_INIT_SCALED, &mut rnn)
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    rnn
}

/// The handle's model, through checkpoint bytes (what C would save).
fn model_of(rnn: *const fpf_rnn) -> fpf_std::model::Model<f64> {
    let mut n = 0;
    let st = unsafe { fpf_checkpoint_save_buffer(rnn, null_mut(), 0, &mut n) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let mut buf = vec![0u8; n];
    let st = unsafe { fpf_checkpoint_save_buffer(rnn, buf.as_mut_ptr(), n, &mut n) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    decode_model_f64(&buf).unwrap()
}

#[test]
fn new_stacked_checks_every_argument() {
    let mut rnn = null_mut();
    let call = |cell, alpha, layers, out: *mut *mut fpf_rnn| unsafe {
        fpf_rnn_new_stacked(cell, alpha, layers, 3, 8, 2, 1, FPF_INIT_SCALED, out)
    };
    assert_eq!(
        call(FPF_CELL_GRU, 1.0, 2, null_mut()),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        call(FPF_CELL_GRU, 1.0, 0, &mut rnn),
        fpf_status::FPF_BAD_SIZE
    );
    assert!(last_error().contains("n_layers"), "{}", last_error());
    assert_eq!(
        call(FPF_CELL_GRU, 1.0, 257, &mut rnn),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(call(99, 1.0, 2, &mut rnn), fpf_status::FPF_BAD_OPTION);
    assert_eq!(
        call(FPF_CELL_GRU, 0.5, 2, &mut rnn),
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("alpha"), "{}", last_error());
    assert_eq!(
        call(FPF_CELL_LEAKY_RELU, 0.0, 2, &mut rnn),
        fpf_status::FPF_BAD_OPTION
    );
    assert_eq!(
        call(FPF_CELL_LEAKY_RELU, f64::NAN, 2, &mut rnn),
        fpf_status::FPF_BAD_OPTION
    );
    let st = unsafe { fpf_rnn_new_stacked(FPF_CELL_GRU, 1.0, 2, 3, 8, 2, 1, 7, &mut rnn) };
    assert_eq!(st, fpf_status::FPF_BAD_OPTION, "init out of range");
    assert!(rnn.is_null(), "nothing written on error");
    let rnn = stacked(FPF_CELL_LSTM, 1.0, 3, 3, 8);
    unsafe {
        assert_eq!(fpf_rnn_n_layers(rnn), 3);
        assert_eq!(fpf_rnn_state_dim(rnn), 3 * 16);
        assert_eq!(fpf_rnn_n_hidden(rnn), 8);
        assert_eq!(fpf_rnn_cell(rnn), FPF_CELL_LSTM);
        assert_eq!(fpf_rnn_n_layers(null()), 0);
        fpf_rnn_free(rnn);
    }
    let leaky = stacked(FPF_CELL_LEAKY_SOFTPLUS, 0.25, 2, 3, 4);
    unsafe {
        assert_eq!(fpf_rnn_alpha(leaky), 0.25);
        fpf_rnn_free(leaky);
    }
    // One layer is the single cell of `fpf_rnn_new_init`, bit for bit.
    let one = stacked(FPF_CELL_GRU_TORCH, 1.0, 1, 3, 8);
    let mut single = null_mut();
    let st =
        unsafe { fpf_rnn_new_init(FPF_CELL_GRU_TORCH, 3, 8, 2, 7, FPF_INIT_SCALED, &mut single) };
    assert_eq!(st, fpf_status::FPF_OK);
    assert_eq!(model_of(one), model_of(single));
    unsafe {
        fpf_rnn_free(one);
        fpf_rnn_free(single);
    }
}

#[test]
fn layer_parameters_by_name() {
    let rnn = stacked(FPF_CELL_GRU_TORCH, 1.0, 2, 3, 4);
    let name = |s: &str| CString::new(s).unwrap();
    let mut len = 0;
    unsafe {
        let st = fpf_rnn_param_len(rnn, name("weight_ih_l1").as_ptr(), &mut len);
        assert_eq!((st, len), (fpf_status::FPF_OK, 12 * 4));
        let st = fpf_rnn_param_len(rnn, name("weight_ih_l0").as_ptr(), &mut len);
        assert_eq!((st, len), (fpf_status::FPF_OK, 12 * 3));
        let st = fpf_rnn_param_len(rnn, name("h0").as_ptr(), &mut len);
        assert_eq!((st, len), (fpf_status::FPF_OK, 8));
        let st = fpf_rnn_param_len(rnn, name("weight_ih_l2").as_ptr(), &mut len);
        assert_eq!(st, fpf_status::FPF_UNKNOWN_NAME);
        let v: Vec<f64> = (0..48).map(|i| i as f64 * 0.01).collect();
        let st = fpf_rnn_set_param(rnn, name("weight_ih_l1").as_ptr(), v.as_ptr(), 48);
        assert_eq!(st, fpf_status::FPF_OK);
        let mut back = vec![0.0; 48];
        let st = fpf_rnn_get_param(rnn, name("weight_ih_l1").as_ptr(), back.as_mut_ptr(), 48);
        assert_eq!(st, fpf_status::FPF_OK);
        assert_eq!(back, v);
        let st = fpf_rnn_set_param(rnn, name("weight_ih_l1").as_ptr(), v.as_ptr(), 47);
        assert_eq!(st, fpf_status::FPF_LENGTH_MISMATCH);
        fpf_rnn_free(rnn);
    }
}

#[test]
fn the_finder_gives_the_rust_stacked_maps_points_and_checkpoints_round_trip() {
    let rnn = stacked(FPF_CELL_GRU_TORCH, 1.0, 2, 3, 8);
    let s = unsafe { fpf_rnn_state_dim(rnn) };
    let mut rng = Rng(3);
    let inits = rng.vec(64 * s, 0.5);
    let zeros = [0.0; 3];
    let mut o = std::mem::MaybeUninit::<fpf_finder_options>::uninit();
    unsafe { fpf_finder_options_default(o.as_mut_ptr()) };
    let mut o = unsafe { o.assume_init() };
    o.n_threads = 2;
    let mut fps = null_mut();
    let st =
        unsafe { fpf_find_fixed_points(rnn, &o, inits.as_ptr(), 64, zeros.as_ptr(), 1, &mut fps) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let n = unsafe { fpf_fixed_points_len(fps) };
    assert!(n >= 1);
    let mut xstar = vec![0.0; n * s];
    let mut jac = vec![0.0; n * s * s];
    let mut stable = vec![0u8; n];
    unsafe {
        let f = CString::new("xstar").unwrap();
        assert_eq!(
            fpf_fixed_points_field_f64(fps, f.as_ptr(), xstar.as_mut_ptr(), n * s),
            fpf_status::FPF_OK
        );
        let f = CString::new("j_xstar").unwrap();
        assert_eq!(
            fpf_fixed_points_field_f64(fps, f.as_ptr(), jac.as_mut_ptr(), n * s * s),
            fpf_status::FPF_OK
        );
        let f = CString::new("is_stable").unwrap();
        assert_eq!(
            fpf_fixed_points_field_u8(fps, f.as_ptr(), stable.as_mut_ptr(), n),
            fpf_status::FPF_OK
        );
        fpf_fixed_points_free(fps);
    }
    // The same search in Rust, on the model the handle holds, one thread.
    let model = model_of(rnn);
    assert_eq!(model.n_layers(), 2);
    let map = StackedMap::new(&model, 1).unwrap();
    let rust = FixedPointFinder::for_map(
        &map,
        FinderOptions {
            n_threads: 1,
            ..FinderOptions::default()
        },
    )
    .unwrap()
    .find_fixed_points(&inits, &zeros, None, None)
    .unwrap()
    .unique;
    assert_eq!(rust.xstar, xstar);
    assert_eq!(rust.j_xstar.as_ref().unwrap(), &jac);
    let want: Vec<u8> = rust.is_stable.unwrap().iter().map(|&b| b as u8).collect();
    assert_eq!(want, stable);

    // Checkpoints: the bytes are version 3 and load back to the same model; a two-layer
    // file does not load into a one- or three-layer handle.
    let bytes = encode_model(&model).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3);
    let mut back = null_mut();
    let st = unsafe { fpf_checkpoint_load_buffer(bytes.as_ptr(), bytes.len(), &mut back) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    assert_eq!(model_of(back), model);
    let dir = std::env::temp_dir().join(format!("fpf-stacked-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = CString::new(dir.join("two.fpf").to_str().unwrap()).unwrap();
    assert_eq!(
        unsafe { fpf_checkpoint_save(rnn, path.as_ptr()) },
        fpf_status::FPF_OK
    );
    for layers in [1, 3] {
        let other = stacked(FPF_CELL_GRU_TORCH, 1.0, layers, 3, 8);
        let st = unsafe { fpf_checkpoint_load_into(other, path.as_ptr()) };
        assert_eq!(st, fpf_status::FPF_MISMATCH, "{layers} layers");
        assert!(last_error().contains("n_layers"), "{}", last_error());
        unsafe { fpf_rnn_free(other) };
    }
    let same = stacked(FPF_CELL_GRU_TORCH, 1.0, 2, 3, 8);
    assert_eq!(
        unsafe { fpf_checkpoint_load_into(same, path.as_ptr()) },
        fpf_status::FPF_OK
    );
    assert_eq!(model_of(same), model);
    std::fs::remove_dir_all(&dir).unwrap();
    // A stacked header in a version-2 file is refused.
    let mut old = bytes.clone();
    old[8..12].copy_from_slice(&2u32.to_le_bytes());
    let body = old.len() - 4;
    let crc = fpf_std::checkpoint::crc32(&old[..body]);
    old[body..].copy_from_slice(&crc.to_le_bytes());
    let mut h = null_mut();
    let st = unsafe { fpf_checkpoint_load_buffer(old.as_ptr(), old.len(), &mut h) };
    assert_eq!(st, fpf_status::FPF_BAD_FORMAT);
    unsafe {
        fpf_rnn_free(back);
        fpf_rnn_free(same);
    }

    // A period other than 1 is refused for a stacked model.
    o.period = 2;
    let st =
        unsafe { fpf_find_fixed_points(rnn, &o, inits.as_ptr(), 64, zeros.as_ptr(), 1, &mut fps) };
    assert_eq!(st, fpf_status::FPF_BAD_OPTION);
    assert!(last_error().contains("period"), "{}", last_error());
    unsafe { fpf_rnn_free(rnn) };
}

#[test]
fn training_continuation_and_sweeps_are_unsupported_on_a_stacked_model() {
    let rnn = stacked(FPF_CELL_TANH, 1.0, 2, 3, 8);
    let (trials, time) = (8usize, 10usize);
    let x = vec![0.0; trials * time * 3];
    let y = vec![0.0; trials * time * 2];
    let mut t = std::mem::MaybeUninit::<fpf_train_options>::uninit();
    unsafe { fpf_train_options_default(t.as_mut_ptr()) };
    let mut t = unsafe { t.assume_init() };
    t.batch_size = 4;
    t.max_epochs = 1;
    let st = unsafe {
        fpf_train(
            rnn,
            &t,
            x.as_ptr(),
            y.as_ptr(),
            trials,
            time,
            null(),
            null(),
            0,
            None,
            null_mut(),
            null_mut(),
        )
    };
    assert_eq!(st, fpf_status::FPF_UNSUPPORTED);
    assert!(last_error().contains("stacked"), "{}", last_error());

    let seeds = [0.0; 16];
    let (u0, u1) = ([0.0; 3], [1.0, 0.0, 0.0]);
    let mut c = std::mem::MaybeUninit::<fpf_continuation_options>::uninit();
    unsafe { fpf_continuation_options_default(c.as_mut_ptr()) };
    let c = unsafe { c.assume_init() };
    let mut out = null_mut();
    let st = unsafe {
        fpf_continue_line(
            rnn,
            &c,
            seeds.as_ptr(),
            1,
            u0.as_ptr(),
            u1.as_ptr(),
            4,
            &mut out,
        )
    };
    assert_eq!(st, fpf_status::FPF_UNSUPPORTED);
    assert!(last_error().contains("continuation"), "{}", last_error());

    let mut o = std::mem::MaybeUninit::<fpf_finder_options>::uninit();
    unsafe { fpf_finder_options_default(o.as_mut_ptr()) };
    let o = unsafe { o.assume_init() };
    let mut handles = [null_mut(); 2];
    let inputs = [0.0; 6];
    let st = unsafe {
        fpf_find_fixed_points_sweep(
            rnn,
            &o,
            seeds.as_ptr(),
            1,
            inputs.as_ptr(),
            2,
            false,
            handles.as_mut_ptr(),
        )
    };
    assert_eq!(st, fpf_status::FPF_UNSUPPORTED);
    unsafe { fpf_rnn_free(rnn) };
}
