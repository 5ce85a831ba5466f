//! A model given by callbacks through the C ABI (`fpf_callback_model`), driven from Rust as a
//! C caller would: every built-in cell kind, trained briefly on the 3-bit flip-flop, run
//! through the callback path (its step and VJP as the caller's functions, with and without
//! a Jacobian function) gives the same fixed points, stability, Jacobians and eigenvalues
//! as the built-in path from the same initial states; and every bad argument or failing
//! callback is a status.

use fpf::*;
use fpf_core::cell::{CellKind, CellShape};
use fpf_std::analysis::Trajectory;
use fpf_std::checkpoint::encode_model;
use fpf_std::model::Model;
use fpf_std::task::flipflop::FlipFlop;
use fpf_std::train::{TrainOptions, train};
use std::cell::Cell as StdCell;
use std::ffi::CString;
use std::os::raw::c_void;
use std::ptr::{null, null_mut};

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// What the callbacks get as `user`: the network, and counters of their calls.
struct Net {
    model: Model<f64>,
    calls: StdCell<usize>,
    /// Calls of the Jacobian function among them.
    jac_calls: StdCell<usize>,
    /// A callback returns this (0: success) once `calls` reaches `fail_after`.
    fail_code: i32,
    fail_after: usize,
    /// Free this handle from inside the first call (tests the deferred free).
    free_inside: StdCell<*mut fpf_callback_model>,
}

impl Net {
    fn new(model: Model<f64>) -> Net {
        Net {
            model,
            calls: StdCell::new(0),
            jac_calls: StdCell::new(0),
            fail_code: 0,
            fail_after: usize::MAX,
            free_inside: StdCell::new(null_mut()),
        }
    }
    fn tick(&self) -> i32 {
        let c = self.calls.get() + 1;
        self.calls.set(c);
        let h = self.free_inside.replace(null_mut());
        if !h.is_null() {
            unsafe { fpf_callback_model_free(h) };
        }
        if c >= self.fail_after {
            self.fail_code
        } else {
            0
        }
    }
}

/// Row `i` of an `n × w` array at `p` (NULL when `w` is 0).
unsafe fn rows<'a>(p: *const f64, n: usize, w: usize) -> &'a [f64] {
    if w == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(p, n * w) }
    }
}

unsafe extern "C" fn forward(
    user: *mut c_void,
    n: usize,
    x: *const f64,
    u: *const f64,
    fx: *mut f64,
) -> i32 {
    let net = unsafe { &*(user as *const Net) };
    let code = net.tick();
    if code != 0 {
        return code;
    }
    let cell = net.model.cell();
    let (s, ni) = (cell.shape().state_dim(), cell.shape().n_inputs);
    let (x, u) = unsafe { (rows(x, n, s), rows(u, n, ni)) };
    let fx = unsafe { std::slice::from_raw_parts_mut(fx, n * s) };
    let mut cache = vec![0.0; cell.shape().cache_len()];
    for i in 0..n {
        cell.step(
            &u[i * ni..(i + 1) * ni],
            &x[i * s..(i + 1) * s],
            &mut fx[i * s..(i + 1) * s],
            &mut cache,
        )
        .unwrap();
    }
    0
}

unsafe extern "C" fn vjp(
    user: *mut c_void,
    n: usize,
    x: *const f64,
    u: *const f64,
    v: *const f64,
    vjp_x: *mut f64,
    vjp_u: *mut f64,
) -> i32 {
    let net = unsafe { &*(user as *const Net) };
    let code = net.tick();
    if code != 0 {
        return code;
    }
    let cell = net.model.cell();
    let (s, ni) = (cell.shape().state_dim(), cell.shape().n_inputs);
    let (x, u, v) = unsafe { (rows(x, n, s), rows(u, n, ni), rows(v, n, s)) };
    let out_x = unsafe { std::slice::from_raw_parts_mut(vjp_x, n * s) };
    let mut out_u =
        (!vjp_u.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(vjp_u, n * ni) });
    let mut cache = vec![0.0; cell.shape().cache_len()];
    let mut next = vec![0.0; s];
    let mut scratch = vec![0.0; cell.shape().scratch_len()];
    for i in 0..n {
        let (ui, xi) = (&u[i * ni..(i + 1) * ni], &x[i * s..(i + 1) * s]);
        cell.step(ui, xi, &mut next, &mut cache).unwrap();
        let gu = out_u.as_deref_mut().map(|o| &mut o[i * ni..(i + 1) * ni]);
        cell.vjp(
            ui,
            xi,
            &cache,
            &v[i * s..(i + 1) * s],
            &mut out_x[i * s..(i + 1) * s],
            gu,
            None,
            &mut scratch,
        )
        .unwrap();
    }
    0
}

unsafe extern "C" fn jacobian(
    user: *mut c_void,
    n: usize,
    x: *const f64,
    u: *const f64,
    jac: *mut f64,
    dfdu: *mut f64,
) -> i32 {
    let net = unsafe { &*(user as *const Net) };
    net.jac_calls.set(net.jac_calls.get() + 1);
    let code = net.tick();
    if code != 0 {
        return code;
    }
    let cell = net.model.cell();
    let (s, ni) = (cell.shape().state_dim(), cell.shape().n_inputs);
    let (x, u) = unsafe { (rows(x, n, s), rows(u, n, ni)) };
    let jac = unsafe { std::slice::from_raw_parts_mut(jac, n * s * s) };
    let mut dfdu =
        (!dfdu.is_null()).then(|| unsafe { std::slice::from_raw_parts_mut(dfdu, n * s * ni) });
    let mut cache = vec![0.0; cell.shape().cache_len()];
    let mut next = vec![0.0; s];
    let mut scratch = vec![0.0; cell.jacobian_scratch_len()];
    for i in 0..n {
        let (ui, xi) = (&u[i * ni..(i + 1) * ni], &x[i * s..(i + 1) * s]);
        cell.step(ui, xi, &mut next, &mut cache).unwrap();
        cell.jacobian(
            ui,
            xi,
            &cache,
            &mut jac[i * s * s..(i + 1) * s * s],
            &mut scratch,
        )
        .unwrap();
        if let Some(d) = dfdu.as_deref_mut() {
            cell.input_jacobian(
                ui,
                xi,
                &cache,
                &mut d[i * s * ni..(i + 1) * s * ni],
                &mut scratch,
            )
            .unwrap();
        }
    }
    0
}

/// A 3-bit flip-flop network of `kind` and `hidden` units trained for a few hundred
/// epochs (enough for several stable memories and saddles), and 256 initial states
/// sampled from its test trajectories.
fn trained(kind: CellKind, hidden: usize, seed: u64) -> (Model<f64>, Vec<f64>) {
    let (bits, n_time) = (3, 64);
    let task = FlipFlop::new(bits, n_time, 0.5);
    let tr = task.generate(256, seed).unwrap();
    let te = task.generate(64, seed + 2).unwrap();
    // The leaky cells at α = 0.5 and 32 units (an 8-unit leaky ReLU network keeps a single
    // fixed point: nothing to compare).
    let shape = if kind.is_leaky() {
        CellShape::new(kind, bits, hidden.max(32)).with_alpha(0.5)
    } else {
        CellShape::new(kind, bits, hidden)
    };
    let mut model: Model<f32> = Model::init_scaled(shape, bits, seed).unwrap();
    let mut opts = TrainOptions {
        max_epochs: 150,
        seed,
        ..TrainOptions::default()
    };
    if kind == CellKind::LeakySoftplus {
        // Softplus units diverge at the default rate (python/tests/test_leaky.py's settings).
        opts.learning_rate = 0.04;
        opts.max_epochs = 400;
        opts.min_loss = 1e-3;
    }
    train(&mut model, &tr.sequences(), None, &opts, None).unwrap();
    let m = model.to_f64();
    let s = m.state_dim();
    let mut out = vec![0.0; 64 * n_time * bits];
    let mut states = vec![0.0; 64 * n_time * s];
    m.run(&te.inputs, 64, n_time, &mut out, &mut states)
        .unwrap();
    let traj = Trajectory {
        states: &states,
        n_batch: 64,
        n_time,
        n_states: s,
        valid: None,
    };
    let inits = fpf_std::analysis::sample_states(&traj, 256, 0.4, seed)
        .unwrap()
        .states;
    (m, inits)
}

fn options() -> fpf_finder_options {
    let mut o: fpf_finder_options = unsafe { std::mem::zeroed() };
    unsafe { fpf_finder_options_default(&mut o) };
    o.dtype = FPF_DTYPE_FLOAT64;
    o.lr_init = 0.02;
    o.tol_q = 1e-12;
    o.tol_unique = 1e-3;
    o.final_q_threshold = 1e-16;
    o.n_threads = 1;
    o
}

/// The fields of a result the comparison reads.
struct Found {
    n: usize,
    xstar: Vec<f64>,
    stable: Vec<u8>,
    n_unstable: Vec<usize>,
    jac: Vec<f64>,
    dfdu: Option<Vec<f64>>,
    eig_re: Vec<f64>,
    eig_im: Vec<f64>,
}

fn read(fps: *mut fpf_fixed_points, s: usize, ni: usize) -> Found {
    let n = unsafe { fpf_fixed_points_len(fps) };
    let f64s = |name: &str, len: usize| -> Option<Vec<f64>> {
        let c = CString::new(name).unwrap();
        let mut v = vec![0.0; len];
        let st = unsafe { fpf_fixed_points_field_f64(fps, c.as_ptr(), v.as_mut_ptr(), len) };
        (st == fpf_status::FPF_OK).then_some(v)
    };
    let mut stable = vec![0u8; n];
    let c = CString::new("is_stable").unwrap();
    let st = unsafe { fpf_fixed_points_field_u8(fps, c.as_ptr(), stable.as_mut_ptr(), n) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let mut n_unstable = vec![0usize; n];
    let c = CString::new("n_unstable").unwrap();
    let st = unsafe { fpf_fixed_points_field_size(fps, c.as_ptr(), n_unstable.as_mut_ptr(), n) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    Found {
        n,
        xstar: f64s("xstar", n * s).unwrap(),
        stable,
        n_unstable,
        jac: f64s("j_xstar", n * s * s).unwrap(),
        dfdu: f64s("dfdu", n * s * ni),
        eig_re: f64s("eigval_re", n * s).unwrap(),
        eig_im: f64s("eigval_im", n * s).unwrap(),
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
}

/// Every point of `a` has one of `b` within 1e-8 (and the counts agree), with the same
/// stability, number of unstable modes, Jacobians (and `dfdu` when both have it) and
/// eigenvalues (as sets).
fn same_points(a: &Found, b: &Found, s: usize, ni: usize, label: &str) {
    assert_eq!(
        a.n, b.n,
        "{label}: {} points one way, {} the other",
        a.n, b.n
    );
    for i in 0..a.n {
        let xa = &a.xstar[i * s..(i + 1) * s];
        let (j, d) = (0..b.n)
            .map(|j| (j, max_diff(xa, &b.xstar[j * s..(j + 1) * s])))
            .min_by(|p, q| p.1.total_cmp(&q.1))
            .unwrap();
        assert!(d < 1e-8, "{label}: point {i} is {d:e} from the nearest");
        assert_eq!(a.stable[i], b.stable[j], "{label}: point {i}'s stability");
        assert_eq!(
            a.n_unstable[i], b.n_unstable[j],
            "{label}: point {i}'s unstable modes"
        );
        let e = max_diff(
            &a.jac[i * s * s..(i + 1) * s * s],
            &b.jac[j * s * s..(j + 1) * s * s],
        );
        assert!(e < 1e-8, "{label}: point {i}'s Jacobians differ by {e:e}");
        if let (Some(da), Some(db)) = (&a.dfdu, &b.dfdu) {
            let e = max_diff(
                &da[i * s * ni..(i + 1) * s * ni],
                &db[j * s * ni..(j + 1) * s * ni],
            );
            assert!(e < 1e-8, "{label}: point {i}'s dFdu differ by {e:e}");
        }
        for k in 0..s {
            let (re, im) = (a.eig_re[i * s + k], a.eig_im[i * s + k]);
            let near = (0..s)
                .map(|l| (b.eig_re[j * s + l] - re).hypot(b.eig_im[j * s + l] - im))
                .fold(f64::INFINITY, f64::min);
            assert!(
                near < 1e-7,
                "{label}: point {i}'s eigenvalue {k} off by {near:e}"
            );
        }
    }
}

fn builtin_find(m: &Model<f64>, inits: &[f64], o: &fpf_finder_options) -> *mut fpf_fixed_points {
    let bytes = encode_model(m).unwrap();
    let mut rnn = null_mut();
    let st = unsafe { fpf_checkpoint_load_buffer(bytes.as_ptr(), bytes.len(), &mut rnn) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    let zeros = vec![0.0; m.n_inputs()];
    let mut fps = null_mut();
    let n = inits.len() / m.state_dim();
    let st =
        unsafe { fpf_find_fixed_points(rnn, o, inits.as_ptr(), n, zeros.as_ptr(), 1, &mut fps) };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    unsafe { fpf_rnn_free(rnn) };
    fps
}

fn new_model(net: &Net, with_jacobian: bool, input_derivatives: bool) -> *mut fpf_callback_model {
    let mut h = null_mut();
    let st = unsafe {
        fpf_callback_model_new(
            net.model.state_dim(),
            net.model.n_inputs(),
            Some(forward),
            Some(vjp),
            if with_jacobian { Some(jacobian) } else { None },
            input_derivatives,
            (net as *const Net).cast_mut().cast(),
            &mut h,
        )
    };
    assert_eq!(st, fpf_status::FPF_OK, "{}", last_error());
    h
}

fn callback_find(
    h: *const fpf_callback_model,
    n_inputs: usize,
    s: usize,
    inits: &[f64],
    o: &fpf_finder_options,
) -> Result<*mut fpf_fixed_points, (fpf_status, String)> {
    let zeros = vec![0.0; n_inputs];
    let mut fps = null_mut();
    let st = unsafe {
        fpf_callback_find_fixed_points(
            h,
            o,
            inits.as_ptr(),
            inits.len() / s,
            zeros.as_ptr(),
            1,
            &mut fps,
        )
    };
    if st == fpf_status::FPF_OK {
        Ok(fps)
    } else {
        Err((st, last_error()))
    }
}

#[test]
fn every_cell_kind_through_callbacks_finds_the_builtin_fixed_points() {
    for kind in CellKind::ALL {
        let seed = if kind == CellKind::LeakySoftplus {
            1
        } else {
            42
        };
        let (m, inits) = trained(kind, 8, seed);
        let (s, ni) = (m.state_dim(), m.n_inputs());
        let o = options();
        let fb = builtin_find(&m, &inits, &o);
        let built = read(fb, s, ni);
        assert!(
            built.n >= 3,
            "{}: only {} fixed points to compare",
            kind.name(),
            built.n
        );
        assert!(
            built.stable.contains(&1),
            "{}: no stable point",
            kind.name()
        );
        assert!(
            built.stable.contains(&0),
            "{}: no unstable point",
            kind.name()
        );
        for (with_jac, with_u) in [(false, true), (true, true), (false, false)] {
            let label = format!("{} (jacobian fn {with_jac}, dfdu {with_u})", kind.name());
            let net = Net::new(m.clone());
            let h = new_model(&net, with_jac, with_u);
            let fc =
                callback_find(h, ni, s, &inits, &o).unwrap_or_else(|e| panic!("{label}: {e:?}"));
            let got = read(fc, s, ni);
            assert_eq!(got.dfdu.is_some(), with_u, "{label}: dfdu present");
            assert_eq!(net.jac_calls.get() > 0, with_jac, "{label}: Jacobian calls");
            same_points(&got, &built, s, ni, &label);
            same_points(&built, &got, s, ni, &label);
            eprintln!(
                "{label}: {} points ({} stable), the same both ways; {} callback calls",
                got.n,
                got.stable.iter().filter(|&&v| v == 1).count(),
                net.calls.get()
            );
            unsafe {
                fpf_fixed_points_free(fc);
                fpf_callback_model_free(h);
            }
        }
        unsafe { fpf_fixed_points_free(fb) };
    }
}

#[test]
fn the_summary_and_the_other_methods_run_on_callbacks() {
    let (m, inits) = trained(CellKind::Tanh, 8, 7);
    let (s, ni) = (m.state_dim(), m.n_inputs());
    let inits = &inits[..32 * s];
    for method in [FPF_METHOD_SEQUENTIAL, FPF_METHOD_NEWTON] {
        let mut o = options();
        o.method = method;
        o.max_iters = 300;
        let fb = builtin_find(&m, inits, &o);
        let net = Net::new(m.clone());
        let h = new_model(&net, false, true);
        let fc = callback_find(h, ni, s, inits, &o).unwrap();
        let (a, b) = (read(fc, s, ni), read(fb, s, ni));
        same_points(&a, &b, s, ni, &format!("method {method}"));
        let len = unsafe { fpf_fixed_points_summary(fc, null_mut(), 0) };
        let mut buf = vec![0u8; len + 1];
        unsafe { fpf_fixed_points_summary(fc, buf.as_mut_ptr().cast(), buf.len()) };
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        assert!(text.contains("Fixed Points Summary"), "{text}");
        unsafe {
            fpf_fixed_points_free(fb);
            fpf_fixed_points_free(fc);
            fpf_callback_model_free(h);
        }
    }
}

#[test]
fn a_failing_callback_stops_the_search_with_its_status() {
    let (m, inits) = trained(CellKind::Gru, 4, 3);
    let (s, ni) = (m.state_dim(), m.n_inputs());
    let inits = &inits[..16 * s];
    let o = options();
    // Count the calls of a whole search, then fail at the first, a middle and the last call
    // (the last one is a Jacobian's VJP, after Newton).
    let net = Net::new(m.clone());
    let h = new_model(&net, false, true);
    let fps = callback_find(h, ni, s, inits, &o).unwrap();
    let total = net.calls.get();
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_callback_model_free(h);
    }
    assert!(total > 10, "{total} calls");
    for (at, code) in [(1, 7), (total / 2, -3), (total, 12345)] {
        let mut net = Net::new(m.clone());
        net.fail_code = code;
        net.fail_after = at;
        let h = new_model(&net, false, true);
        let (st, msg) = callback_find(h, ni, s, inits, &o).unwrap_err();
        assert_eq!(st, fpf_status::FPF_CALLBACK_FAILED, "call {at}: {msg}");
        assert!(msg.contains(&format!("returned {code}")), "{msg}");
        assert_eq!(net.calls.get(), at, "no call after the failing one");
        unsafe { fpf_callback_model_free(h) };
    }
    // A failing Jacobian function.
    let mut net = Net::new(m.clone());
    let h = new_model(&net, true, true);
    let fps = callback_find(h, ni, s, inits, &o).unwrap();
    net.fail_after = net.calls.get();
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_callback_model_free(h);
    }
    net.calls.set(0);
    net.fail_code = 5;
    let h = new_model(&net, true, true);
    let (st, msg) = callback_find(h, ni, s, inits, &o).unwrap_err();
    assert_eq!(st, fpf_status::FPF_CALLBACK_FAILED, "{msg}");
    assert!(
        msg.contains("`jacobian`") && msg.contains("returned 5"),
        "{msg}"
    );
    unsafe { fpf_callback_model_free(h) };
}

#[test]
fn a_free_from_inside_a_callback_is_deferred() {
    let (m, inits) = trained(CellKind::Tanh, 4, 5);
    let (s, ni) = (m.state_dim(), m.n_inputs());
    let net = Net::new(m);
    let h = new_model(&net, false, false);
    net.free_inside.set(h);
    // The search completes on the handle its first callback freed; the free happens after.
    let fps = callback_find(h, ni, s, &inits[..8 * s], &options()).unwrap();
    assert!(net.free_inside.get().is_null());
    assert!(unsafe { fpf_fixed_points_len(fps) } >= 1);
    unsafe { fpf_fixed_points_free(fps) };
}

#[test]
fn bad_arguments_are_statuses() {
    let net = Net::new(Model::init_scaled(CellShape::new(CellKind::Tanh, 2, 3), 1, 1).unwrap());
    let user = (&net as *const Net).cast_mut().cast::<c_void>();
    let mut h = null_mut();
    let new = |s,
               i,
               f: fpf_model_forward_fn,
               v: fpf_model_vjp_fn,
               out: *mut *mut fpf_callback_model| unsafe {
        fpf_callback_model_new(s, i, f, v, None, false, user, out)
    };
    assert_eq!(
        new(3, 2, None, Some(vjp), &mut h),
        fpf_status::FPF_NULL_POINTER
    );
    assert!(last_error().contains("`forward`"));
    assert_eq!(
        new(3, 2, Some(forward), None, &mut h),
        fpf_status::FPF_NULL_POINTER
    );
    assert!(last_error().contains("`vjp`"));
    assert_eq!(
        new(3, 2, Some(forward), Some(vjp), null_mut()),
        fpf_status::FPF_NULL_POINTER
    );
    assert_eq!(
        new(0, 2, Some(forward), Some(vjp), &mut h),
        fpf_status::FPF_BAD_SIZE
    );
    assert!(last_error().contains("`n_states` is 0"));
    assert_eq!(
        new(usize::MAX, 2, Some(forward), Some(vjp), &mut h),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        new(
            FPF_CALLBACK_MAX_STATES + 1,
            2,
            Some(forward),
            Some(vjp),
            &mut h
        ),
        fpf_status::FPF_BAD_SIZE
    );
    assert_eq!(
        new(3, usize::MAX, Some(forward), Some(vjp), &mut h),
        fpf_status::FPF_BAD_SIZE
    );
    assert!(h.is_null(), "no handle after a failure");
    assert_eq!(
        new(3, 2, Some(forward), Some(vjp), &mut h),
        fpf_status::FPF_OK
    );
    assert_eq!(unsafe { fpf_callback_model_n_states(h) }, 3);
    assert_eq!(unsafe { fpf_callback_model_n_inputs(h) }, 2);
    assert_eq!(unsafe { fpf_callback_model_n_states(null()) }, 0);

    let o = options();
    let x = [0.1, 0.2, 0.3, 0.0, 0.0, 0.0];
    let u = [0.0, 0.0];
    let mut fps = null_mut();
    let find = |h: *const fpf_callback_model,
                o: *const fpf_finder_options,
                x: *const f64,
                n: usize,
                u: *const f64,
                rows: usize,
                fps: *mut *mut fpf_fixed_points| unsafe {
        fpf_callback_find_fixed_points(h, o, x, n, u, rows, fps)
    };
    let cases: [(&str, fpf_status, fpf_status); 7] = [
        (
            "NULL model",
            find(null(), &o, x.as_ptr(), 2, u.as_ptr(), 1, &mut fps),
            fpf_status::FPF_NULL_POINTER,
        ),
        (
            "NULL opts",
            find(h, null(), x.as_ptr(), 2, u.as_ptr(), 1, &mut fps),
            fpf_status::FPF_NULL_POINTER,
        ),
        (
            "NULL inits",
            find(h, &o, null(), 2, u.as_ptr(), 1, &mut fps),
            fpf_status::FPF_NULL_POINTER,
        ),
        (
            "NULL inputs",
            find(h, &o, x.as_ptr(), 2, null(), 1, &mut fps),
            fpf_status::FPF_NULL_POINTER,
        ),
        (
            "NULL out",
            find(h, &o, x.as_ptr(), 2, u.as_ptr(), 1, null_mut()),
            fpf_status::FPF_NULL_POINTER,
        ),
        (
            "no inits",
            find(h, &o, x.as_ptr(), 0, u.as_ptr(), 1, &mut fps),
            fpf_status::FPF_BAD_SIZE,
        ),
        (
            "3 input rows",
            find(h, &o, x.as_ptr(), 2, u.as_ptr(), 3, &mut fps),
            fpf_status::FPF_BAD_SIZE,
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "{what}");
    }
    let mut bad = o;
    bad.period = 2;
    assert_eq!(
        find(h, &bad, x.as_ptr(), 2, u.as_ptr(), 1, &mut fps),
        fpf_status::FPF_BAD_OPTION
    );
    assert!(last_error().contains("period"), "{}", last_error());
    let nan = [f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0];
    assert_eq!(
        find(h, &o, nan.as_ptr(), 2, u.as_ptr(), 1, &mut fps),
        fpf_status::FPF_NOT_FINITE
    );
    assert!(fps.is_null(), "no result after a failure");
    assert_eq!(net.calls.get(), 0, "no callback ran for a bad argument");
    // The same arguments are fine.
    assert_eq!(
        find(h, &o, x.as_ptr(), 2, u.as_ptr(), 1, &mut fps),
        fpf_status::FPF_OK,
        "{}",
        last_error()
    );
    unsafe {
        fpf_fixed_points_free(fps);
        fpf_callback_model_free(h);
        fpf_callback_model_free(null_mut());
    }
}
