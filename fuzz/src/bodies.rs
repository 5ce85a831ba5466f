// Fuzz bodies shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and the replay test
// (`tests/fuzz_replay.rs`), which both `include!` this file. Each body must return normally for
// every input: a panic (or a failed assertion) is a finding.

/// Decodes `data` as every kind of checkpoint; whatever decodes must re-encode byte for byte.
/// Then repairs `total_len` and the CRC so that the fuzzer also reaches the header and array
/// checks behind the checksum, and decodes that too.
#[allow(dead_code)]
pub fn checkpoint_decode_body(data: &[u8]) {
    fuzz_decode_all(data);
    if data.len() >= 28 {
        let mut v = data.to_vec();
        let n = v.len();
        v[16..24].copy_from_slice(&(n as u64).to_le_bytes());
        let c = fpf_std::checkpoint::crc32(&v[..n - 4]);
        v[n - 4..].copy_from_slice(&c.to_le_bytes());
        fuzz_decode_all(&v);
    }
}

fn fuzz_decode_all(data: &[u8]) {
    use fpf_std::checkpoint::*;
    let header = decode_header(data);
    let m64 = decode_model::<f64>(data);
    let m32 = decode_model::<f32>(data);
    let wide = decode_model_f64(data);
    if let Ok(m) = &m64 {
        let enc = encode_model(m).expect("a decoded f64 model re-encodes");
        assert_eq!(
            decode_model::<f64>(&enc).as_ref(),
            Ok(m),
            "f64 model round trip"
        );
        assert!(
            enc == data,
            "f64 model: re-encoding differs from the accepted bytes"
        );
        assert!(header.is_ok(), "model decodes but its header does not");
        assert_eq!(
            wide.as_ref(),
            Ok(m),
            "decode_model_f64 disagrees with decode_model::<f64>"
        );
    }
    if let Ok(m) = &m32 {
        let enc = encode_model(m).expect("a decoded f32 model re-encodes");
        assert_eq!(
            decode_model::<f32>(&enc).as_ref(),
            Ok(m),
            "f32 model round trip"
        );
        assert!(
            enc == data,
            "f32 model: re-encoding differs from the accepted bytes"
        );
        assert!(header.is_ok(), "model decodes but its header does not");
        assert!(wide.is_ok(), "an f32 model does not widen");
    }
    if wide.is_ok() {
        assert!(
            m64.is_ok() || m32.is_ok(),
            "widening accepts what neither precision does"
        );
    }
    if let Ok(fp) = decode_fixed_points(data) {
        assert!(
            m64.is_err() && m32.is_err(),
            "a file is both a model and fixed points"
        );
        let enc = encode_fixed_points(&fp).expect("decoded fixed points re-encode");
        assert!(
            enc == data,
            "fixed points: re-encoding differs from the accepted bytes"
        );
        let again = decode_fixed_points(&enc).expect("re-encoded fixed points decode");
        assert_eq!(
            encode_fixed_points(&again).ok(),
            Some(enc),
            "fixed points round trip"
        );
    }
}

/// Structured input carved from the raw bytes (zeros once they run out).
struct FuzzInput<'a> {
    data: &'a [u8],
}

#[allow(dead_code)]
impl FuzzInput<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    fn u64(&mut self) -> u64 {
        (self.u32() as u64) | ((self.u32() as u64) << 32)
    }
    /// `0 ..= max`.
    fn upto(&mut self, max: usize) -> usize {
        self.byte() as usize % (max + 1)
    }
    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }
    /// Mostly a value of `0 .. n_valid`, sometimes any `u32`.
    fn enum_like(&mut self, n_valid: u32) -> u32 {
        let b = self.byte();
        if b < 224 {
            b as u32 % n_valid
        } else {
            self.u32()
        }
    }
    /// A size in `0 ..= max`, or (rarely) one that must be rejected without allocating.
    fn size(&mut self, max: usize, huge: &[usize]) -> usize {
        let b = self.byte();
        if b >= 248 && !huge.is_empty() {
            huge[b as usize % huge.len()]
        } else {
            b as usize % (max + 1)
        }
    }
    /// Small values most of the time, plus NaN, infinities, huge, tiny and raw bit patterns.
    fn f64(&mut self) -> f64 {
        const SPECIAL: [f64; 16] = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            1e3,
            -1e3,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
        ];
        let b = self.byte();
        match b {
            0..=127 => (b as f64 - 64.0) / 32.0,
            128..=207 => SPECIAL[(b % 16) as usize],
            _ => f64::from_bits(self.u64()),
        }
    }
    fn f64s(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.f64()).collect()
    }
}

/// Asserts a status is a documented one, never `FPF_PANIC`, and that the last-error message
/// is empty exactly on success.
fn fuzz_check(s: fpf::fpf_status, what: &str) -> fpf::fpf_status {
    use fpf::*;
    let code = s as u32;
    let n = unsafe { fpf_last_error_message(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        s != fpf_status::FPF_PANIC,
        "{what}: panic at the C boundary: {msg}"
    );
    assert!(matches!(code, 0..=12), "{what}: undocumented status {code}");
    if s == fpf_status::FPF_OK {
        assert!(msg.is_empty(), "{what}: OK with message {msg:?}");
    } else {
        assert!(!msg.is_empty(), "{what}: {s:?} without a message");
    }
    s
}

fn fuzz_all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

unsafe extern "C" fn fuzz_stop_after(
    _p: *const fpf::fpf_progress,
    user: *mut core::ffi::c_void,
) -> bool {
    let left = unsafe { &mut *(user as *mut u32) };
    if *left == 0 {
        return false;
    }
    *left -= 1;
    true
}

unsafe extern "C" fn fuzz_train_stop(
    _p: *const fpf::fpf_train_progress,
    user: *mut core::ffi::c_void,
) -> bool {
    let left = unsafe { &mut *(user as *mut u32) };
    if *left == 0 {
        return false;
    }
    *left -= 1;
    true
}

const FUZZ_PARAM_NAMES: [&str; 20] = [
    "w_ih",
    "w_hh",
    "b_h",
    "weight_ih_l0",
    "weight_hh_l0",
    "bias_ih_l0",
    "bias_hh_l0",
    "w_ir",
    "w_iz",
    "w_in",
    "w_hr",
    "w_hz",
    "w_hn",
    "b_r",
    "b_z",
    "b_n",
    "w_out",
    "b_out",
    "h0",
    "",
];

/// Calls the C entry points with sizes, enum values, names and floats taken from `data`.
#[allow(dead_code)]
pub fn ffi_entry_body(data: &[u8]) {
    use fpf::*;
    use std::ptr::{null, null_mut};
    let mut r = FuzzInput { data };

    // fpf_eig on a small arbitrary matrix (n = 0 and n > FPF_EIG_MAX_N must be refused).
    {
        let n = r.size(5, &[0, FPF_EIG_MAX_N + 1]);
        let m = if n <= 5 { n } else { 0 };
        let a = r.f64s(m * m);
        let (mut re, mut im) = (vec![0.0; m], vec![0.0; m]);
        let (mut vr, mut vi) = (vec![0.0; m * m], vec![0.0; m * m]);
        let which = r.upto(3);
        let vrp = if which & 1 == 1 {
            vr.as_mut_ptr()
        } else {
            null_mut()
        };
        let vip = if which & 2 == 2 {
            vi.as_mut_ptr()
        } else {
            null_mut()
        };
        let s = unsafe { fpf_eig(n, a.as_ptr(), re.as_mut_ptr(), im.as_mut_ptr(), vrp, vip) };
        let s = fuzz_check(s, "fpf_eig");
        if s == fpf_status::FPF_OK {
            assert!(n == m && fuzz_all_finite(&a));
            assert!(
                fuzz_all_finite(&re) && fuzz_all_finite(&im),
                "fpf_eig: OK with NaN"
            );
        }
    }

    // A model with arbitrary cell and sizes.
    let cell = r.enum_like(4);
    let ni = r.size(3, &[65537, usize::MAX]);
    let nh = r.size(6, &[16385, usize::MAX]);
    let no = r.size(3, &[65537, usize::MAX]);
    let seed = r.u64();
    let mut rnn: *mut fpf_rnn = null_mut();
    let s = if r.flag() {
        let init = r.enum_like(2);
        unsafe { fpf_rnn_new_init(cell, ni, nh, no, seed, init, &mut rnn) }
    } else {
        unsafe { fpf_rnn_new(cell, ni, nh, no, seed, &mut rnn) }
    };
    if fuzz_check(s, "fpf_rnn_new") != fpf_status::FPF_OK {
        assert!(rnn.is_null(), "out written on failure");
        fuzz_pca_and_sample(&mut r);
        return;
    }
    let sd = unsafe { fpf_rnn_state_dim(rnn) };
    assert_eq!(unsafe { fpf_rnn_n_inputs(rnn) }, ni);
    assert_eq!(unsafe { fpf_rnn_n_hidden(rnn) }, nh);
    assert_eq!(unsafe { fpf_rnn_n_outputs(rnn) }, no);
    assert_eq!(unsafe { fpf_rnn_cell(rnn) }, cell);

    // Parameters: known and garbage names, right and wrong lengths, arbitrary values.
    for _ in 0..r.upto(6) {
        let name: Vec<u8> = if r.byte() < 200 {
            let k = r.upto(FUZZ_PARAM_NAMES.len() - 1);
            FUZZ_PARAM_NAMES[k].bytes().chain([0]).collect()
        } else {
            let len = r.upto(12);
            (0..len).map(|_| r.byte().max(1)).chain([0]).collect()
        };
        let mut want = 0usize;
        let s = unsafe { fpf_rnn_param_len(rnn, name.as_ptr().cast(), &mut want) };
        let known = fuzz_check(s, "fpf_rnn_param_len") == fpf_status::FPF_OK;
        let len = match r.upto(7) {
            0 => want + 1,
            1 => want.saturating_sub(1),
            2 => 0,
            _ => want,
        }
        .min(1024);
        let v = if r.flag() {
            r.f64s(len)
        } else {
            vec![r.f64(); len]
        };
        let s = unsafe { fpf_rnn_set_param(rnn, name.as_ptr().cast(), v.as_ptr(), len) };
        let s = fuzz_check(s, "fpf_rnn_set_param");
        if s == fpf_status::FPF_OK {
            assert!(known && len == want && fuzz_all_finite(&v));
            let mut back = vec![0.0; len];
            let s = unsafe { fpf_rnn_get_param(rnn, name.as_ptr().cast(), back.as_mut_ptr(), len) };
            assert_eq!(fuzz_check(s, "fpf_rnn_get_param"), fpf_status::FPF_OK);
        }
    }

    // One step and a run.
    {
        let n = r.upto(3);
        let x = r.f64s(n * ni);
        let mut h = r.f64s(n * sd);
        let mut hn = vec![0.0; n * sd];
        let inplace = r.flag();
        let s = if inplace {
            let hp = h.as_mut_ptr();
            unsafe { fpf_rnn_step(rnn, x.as_ptr(), hp, n, hp) }
        } else {
            unsafe { fpf_rnn_step(rnn, x.as_ptr(), h.as_ptr(), n, hn.as_mut_ptr()) }
        };
        if fuzz_check(s, "fpf_rnn_step") == fpf_status::FPF_OK {
            let out = if inplace { &h } else { &hn };
            assert!(
                fuzz_all_finite(out),
                "fpf_rnn_step: FPF_OK with NaN/inf in h_next"
            );
        }
        let (nt, nk) = (r.upto(2), r.upto(3));
        let u = r.f64s(nt * nk * ni);
        let mut ys = vec![0.0; nt * nk * no];
        let mut hs = vec![0.0; nt * nk * sd];
        let s = unsafe { fpf_rnn_run(rnn, u.as_ptr(), nt, nk, ys.as_mut_ptr(), hs.as_mut_ptr()) };
        if fuzz_check(s, "fpf_rnn_run") == fpf_status::FPF_OK {
            assert!(
                fuzz_all_finite(&hs),
                "fpf_rnn_run: FPF_OK with NaN/inf states"
            );
            assert!(
                fuzz_all_finite(&ys),
                "fpf_rnn_run: FPF_OK with NaN/inf outputs"
            );
        }
    }

    // The finder with arbitrary (but cheap) options.
    {
        let mut o = std::mem::MaybeUninit::<fpf_finder_options>::uninit();
        unsafe { fpf_finder_options_default(o.as_mut_ptr()) };
        let mut o = unsafe { o.assume_init() };
        o.method = r.enum_like(3);
        o.dtype = r.enum_like(2);
        o.max_iters = r.upto(50);
        o.newton_max_iters = r.upto(20);
        o.period = r.size(2, &[usize::MAX]).min(3);
        o.verbose = false;
        o.super_verbose = false;
        for _ in 0..r.upto(4) {
            let v = r.f64();
            match r.upto(11) {
                0 => o.tol_q = v,
                1 => o.tol_dq = v,
                2 => o.lr_init = v,
                3 => o.lr_factor = v,
                4 => o.max_grad_norm = v,
                5 => o.adaptive_grad_clip = v,
                6 => o.tol_unique = v,
                7 => o.outlier_distance_scale = v,
                8 => o.outlier_q_scale = v,
                9 => o.final_q_threshold = v,
                10 => o.lr_patience = r.upto(6),
                _ => o.max_n_unique = r.upto(4),
            }
        }
        o.newton_polish = r.flag();
        o.do_compute_jacobians = r.flag();
        o.do_decompose_jacobians = r.flag();
        o.do_exclude_distance_outliers = r.flag();
        o.do_rerun_q_outliers = r.flag();
        o.n_iters_per_print_update = r.upto(3);
        let n_inits = r.upto(5);
        let inits = r.f64s(n_inits * sd);
        let rows = match r.upto(3) {
            0 => n_inits,
            1 => 1,
            2 => 0,
            _ => n_inits + 1,
        };
        let inputs = r.f64s(rows * ni);
        let inp = if ni == 0 && r.flag() {
            null()
        } else {
            inputs.as_ptr()
        };
        let mut fps: *mut fpf_fixed_points = null_mut();
        let mut budget = r.upto(60) as u32;
        let s = if r.flag() {
            unsafe {
                fpf_find_fixed_points_progress(
                    rnn,
                    &o,
                    inits.as_ptr(),
                    n_inits,
                    inp,
                    rows,
                    Some(fuzz_stop_after),
                    (&mut budget as *mut u32).cast(),
                    &mut fps,
                )
            }
        } else {
            unsafe { fpf_find_fixed_points(rnn, &o, inits.as_ptr(), n_inits, inp, rows, &mut fps) }
        };
        if fuzz_check(s, "fpf_find_fixed_points") == fpf_status::FPF_OK {
            assert!(!fps.is_null());
            fuzz_inspect_fps(&mut r, fps, sd, ni);
            unsafe { fpf_fixed_points_free(fps) };
        } else {
            assert!(fps.is_null(), "out written on failure");
        }
    }

    // A tiny training run on arbitrary data.
    if r.flag() {
        let mut o = std::mem::MaybeUninit::<fpf_train_options>::uninit();
        unsafe { fpf_train_options_default(o.as_mut_ptr()) };
        let mut o = unsafe { o.assume_init() };
        o.verbose = false;
        o.learning_rate = r.f64();
        o.batch_size = r.upto(3);
        o.max_epochs = r.upto(3);
        o.min_loss = r.f64();
        o.max_grad_norm = if r.flag() { r.f64() } else { 0.0 };
        o.lr_factor = if r.flag() { r.f64() } else { 1.0 };
        o.lr_patience = r.upto(3);
        o.print_every = r.upto(2);
        o.dtype = r.enum_like(2);
        let (nt, nk) = (r.upto(3), r.upto(3));
        let u = r.f64s(nt * nk * ni);
        let y = r.f64s(nt * nk * no);
        let mut budget = r.upto(3) as u32;
        let mut report = std::mem::MaybeUninit::<fpf_train_report>::uninit();
        let s = unsafe {
            fpf_train(
                rnn,
                &o,
                u.as_ptr(),
                y.as_ptr(),
                nt,
                nk,
                null(),
                null(),
                0,
                Some(fuzz_train_stop),
                (&mut budget as *mut u32).cast(),
                report.as_mut_ptr(),
            )
        };
        fuzz_check(s, "fpf_train");
    }

    unsafe { fpf_rnn_free(rnn) };
    fuzz_pca_and_sample(&mut r);
}

fn fuzz_inspect_fps(
    r: &mut FuzzInput<'_>,
    fps: *mut fpf::fpf_fixed_points,
    sd: usize,
    ni: usize,
) {
    use fpf::*;
    let n = unsafe { fpf_fixed_points_len(fps) };
    let _ = unsafe { fpf_fixed_points_n_slow(fps) };
    let mut x = vec![0.0; n * sd];
    let s = unsafe { fpf_fixed_points_xstar(fps, x.as_mut_ptr(), x.len()) };
    assert_eq!(fuzz_check(s, "fpf_fixed_points_xstar"), fpf_status::FPF_OK);
    assert!(fuzz_all_finite(&x), "FPF_OK with non-finite fixed points");
    let mut u = vec![0.0; n * ni];
    let s = unsafe { fpf_fixed_points_field_f64(fps, c"inputs".as_ptr(), u.as_mut_ptr(), u.len()) };
    assert_eq!(fuzz_check(s, "fpf_fixed_points_field_f64"), fpf_status::FPF_OK);
    let len = n * sd + r.upto(1);
    let (mut re, mut im) = (vec![0.0; len], vec![0.0; len]);
    let s = unsafe { fpf_fixed_points_eigvals(fps, re.as_mut_ptr(), im.as_mut_ptr(), len) };
    fuzz_check(s, "fpf_fixed_points_eigvals");
    let len = n * sd * sd;
    let (mut re, mut im) = (vec![0.0; len], vec![0.0; len]);
    let s = unsafe { fpf_fixed_points_eigvecs(fps, re.as_mut_ptr(), im.as_mut_ptr(), len) };
    fuzz_check(s, "fpf_fixed_points_eigvecs");
    let mut j = vec![0.0; len];
    let s = unsafe { fpf_fixed_points_field_f64(fps, c"j_xstar".as_ptr(), j.as_mut_ptr(), len) };
    fuzz_check(s, "fpf_fixed_points_field_f64");
    let mut buf = [0u8; 64];
    let _ = unsafe { fpf_fixed_points_summary(fps, buf.as_mut_ptr().cast(), buf.len()) };
    let which = r.enum_like(3);
    let mut sel: *mut fpf_fixed_points = std::ptr::null_mut();
    let s = unsafe { fpf_fixed_points_select(fps, which, &mut sel) };
    if fuzz_check(s, "fpf_fixed_points_select") == fpf_status::FPF_OK {
        let m = unsafe { fpf_fixed_points_len(sel) };
        let mut q = vec![0.0; m];
        let s = unsafe { fpf_fixed_points_qstar(sel, q.as_mut_ptr(), m) };
        assert_eq!(fuzz_check(s, "fpf_fixed_points_qstar"), fpf_status::FPF_OK);
        unsafe { fpf_fixed_points_free(sel) };
    } else {
        assert!(sel.is_null());
    }
}

fn fuzz_pca_and_sample(r: &mut FuzzInput<'_>) {
    use fpf::*;
    use std::ptr::null;
    // fpf_sample_states: arbitrary trajectory, mask, count and noise.
    {
        let (nb, nt, sd) = (r.upto(3), r.upto(3), r.upto(3));
        let states = r.f64s(nb * nt * sd);
        let mask: Vec<u8> = (0..nb * nt).map(|_| r.byte() % 3).collect();
        let vp = if r.flag() { mask.as_ptr() } else { null() };
        let n_inits = r.upto(6);
        let noise = r.f64();
        let seed = r.u64();
        let mut out = vec![0.0; n_inits * sd];
        let s = unsafe {
            fpf_sample_states(
                states.as_ptr(),
                nb,
                nt,
                sd,
                vp,
                n_inits,
                noise,
                seed,
                out.as_mut_ptr(),
            )
        };
        if fuzz_check(s, "fpf_sample_states") == fpf_status::FPF_OK {
            assert!(
                fuzz_all_finite(&out),
                "fpf_sample_states: FPF_OK with NaN/inf"
            );
        }
    }
    // fpf_pca_fit / transform on a small matrix.
    {
        let (rows, dim) = (r.upto(5), r.upto(4));
        let k = r.upto(4);
        let d = r.f64s(rows * dim);
        let mut p: *mut fpf_pca = std::ptr::null_mut();
        let s = unsafe { fpf_pca_fit(d.as_ptr(), rows, dim, k, &mut p) };
        if fuzz_check(s, "fpf_pca_fit") == fpf_status::FPF_OK {
            let mut out = vec![0.0; rows * k];
            let s = unsafe { fpf_pca_transform(p, d.as_ptr(), rows, out.as_mut_ptr()) };
            assert_eq!(fuzz_check(s, "fpf_pca_transform"), fpf_status::FPF_OK);
            let mut ev = vec![0.0; k];
            let s = unsafe { fpf_pca_explained_variance_ratio(p, ev.as_mut_ptr(), k) };
            assert_eq!(
                fuzz_check(s, "fpf_pca_explained_variance_ratio"),
                fpf_status::FPF_OK
            );
            unsafe { fpf_pca_free(p) };
        }
    }
    // fpf_flipflop_generate with arbitrary p.
    {
        let (bits, nt, trials) = (r.upto(2), r.upto(3), r.upto(2));
        let p = r.f64();
        let mut a = vec![0.0; bits * nt * trials];
        let mut b = vec![0.0; bits * nt * trials];
        let s = unsafe {
            fpf_flipflop_generate(bits, nt, p, trials, r.u64(), a.as_mut_ptr(), b.as_mut_ptr())
        };
        fuzz_check(s, "fpf_flipflop_generate");
    }
}
