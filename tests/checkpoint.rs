//! Checkpoints: round trips for every cell and precision, fixed points, mismatches, every
//! truncation and bit flip, future versions, bad paths, atomic saves, and the C API.

use std::ffi::{CStr, CString};
use std::io::Write;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};

use fpf::*;
use fpf_core::Real;
use fpf_core::cell::{CellKind, CellShape};
use fpf_core::find::newton::NewtonOutcome;
use fpf_std::analysis::FixedPoints;
use fpf_std::checkpoint::{
    self as ck, CheckpointError as E, FileError as F, FileKind, ModelViewMut, Value,
};
use fpf_std::model::Model;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The codec error inside a file error (anything else fails the test).
fn format_err(e: F) -> E {
    match e {
        F::Format(e) => e,
        e => panic!("not a format error: {e:?}"),
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "fpf-checkpoint-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// A model with every array (biases, b_out, h0 included) random.
/// Random values everywhere; a leaky cell gets `α = 0.25`.
fn model<T: Real>(kind: CellKind, ni: usize, nh: usize, no: usize, seed: u64) -> Model<T> {
    let alpha = if kind.is_leaky() { 0.25 } else { 1.0 };
    let shape = CellShape::new(kind, ni, nh).with_alpha(alpha);
    let mut m = Model::<T>::init_random(shape, no, seed).unwrap();
    let mut r = Rng(seed ^ 0xABCD);
    m.params_mut()
        .iter_mut()
        .for_each(|x| *x = T::from_f64(r.next()));
    m.w_out_mut()
        .iter_mut()
        .for_each(|x| *x = T::from_f64(r.next()));
    m.b_out_mut()
        .iter_mut()
        .for_each(|x| *x = T::from_f64(r.next()));
    m.h0_mut()
        .iter_mut()
        .for_each(|x| *x = T::from_f64(r.next()));
    m
}

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64().to_bits()).collect()
}

fn assert_bitwise<T: Real>(a: &Model<T>, b: &Model<T>) {
    assert_eq!(a.shape(), b.shape());
    assert_eq!(a.n_outputs(), b.n_outputs());
    assert_eq!(bits(a.params()), bits(b.params()));
    assert_eq!(bits(a.w_out()), bits(b.w_out()));
    assert_eq!(bits(a.b_out()), bits(b.b_out()));
    assert_eq!(bits(a.h0()), bits(b.h0()));
}

/// The smallest interesting model checkpoint.
fn small_bytes() -> Vec<u8> {
    ck::encode_model(&model::<f64>(CellKind::Tanh, 1, 2, 1, 7)).unwrap()
}

/// Recomputes the trailing CRC after a deliberate edit.
fn fix_crc(b: &mut [u8]) {
    let n = b.len() - 4;
    let c = ck::crc32(&b[..n]);
    b[n..].copy_from_slice(&c.to_le_bytes());
}

fn fixed_points(n: usize, s: usize, i: usize, optional: bool, seed: u64) -> FixedPoints {
    let mut r = Rng(seed);
    let newton = [
        None,
        Some(NewtonOutcome::Converged),
        Some(NewtonOutcome::NoProgress),
        Some(NewtonOutcome::Singular),
        Some(NewtonOutcome::MaxIters),
    ];
    FixedPoints {
        n,
        n_states: s,
        n_inputs: i,
        period: 2,
        xstar: r.vec(n * s),
        f_xstar: r.vec(n * s),
        x_init: r.vec(n * s),
        inputs: r.vec(n * i),
        qstar: r.vec(n).iter().map(|x| x.abs() * 1e-12).collect(),
        dq: r.vec(n),
        n_iters: (0..n).map(|k| 100 * k + usize::MAX / 2 * (k % 2)).collect(),
        newton: (0..n).map(|k| newton[k % 5]).collect(),
        is_slow: (0..n).map(|k| k % 3 == 0).collect(),
        j_xstar: optional.then(|| r.vec(n * s * s)),
        dfdu: optional.then(|| r.vec(n * s * i)),
        eigval_re: optional.then(|| r.vec(n * s)),
        eigval_im: optional.then(|| r.vec(n * s)),
        eigvec_re: optional.then(|| r.vec(n * s * s)),
        eigvec_im: optional.then(|| r.vec(n * s * s)),
        is_stable: optional.then(|| (0..n).map(|k| k % 2 == 1).collect()),
        n_unstable: optional.then(|| (0..n).map(|k| k % 4).collect()),
        n_kink: optional.then(|| (0..n).map(|k| k % 3).collect()),
        min_period: optional.then(|| (0..n).map(|k| 1 + k % 2).collect()),
        cond_id: optional.then(|| (0..n).map(|k| k as i64 - 2).collect()),
        tol_unique: 1e-3,
    }
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

#[test]
fn crc32_check_value() {
    assert_eq!(ck::crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(ck::crc32(b""), 0);
}

fn round_trip<T: Real>(dir: &TempDir) {
    for (k, kind) in CellKind::ALL.into_iter().enumerate() {
        for (ni, nh, no) in [(3, 5, 2), (0, 1, 1)] {
            let m = model::<T>(kind, ni, nh, no, 11 + k as u64);
            let path = dir.path(&format!("{}_{}_{ni}.fpf", kind.name(), T::NAME));
            ck::save_model(&m, &path).unwrap();
            let back: Model<T> = ck::load_model(&path).unwrap();
            assert_bitwise(&m, &back);
            // In memory, and the allocation-free core with caller slices.
            let bytes = ck::encode_model(&m).unwrap();
            assert_eq!(bytes, std::fs::read(&path).unwrap());
            let view = m.view();
            assert_eq!(ck::encoded_len(&view), bytes.len());
            let mut buf = vec![0u8; bytes.len() + 10];
            assert_eq!(ck::encode_into(&view, &mut buf).unwrap(), bytes.len());
            assert_eq!(&buf[..bytes.len()], &bytes[..]);
            let h = ck::decode_header(&bytes).unwrap();
            assert_eq!((h.shape, h.n_outputs), (*m.shape(), no));
            assert_eq!(h.scalar, ck::Scalar::of::<T>());
            let mut params = vec![T::ZERO; m.params().len()];
            let mut w_out = vec![T::ZERO; m.w_out().len()];
            let mut b_out = vec![T::ZERO; no];
            let mut h0 = vec![T::ZERO; m.state_dim()];
            let out = ModelViewMut {
                shape: *m.shape(),
                n_layers: 1,
                n_outputs: no,
                params: &mut params,
                w_out: &mut w_out,
                b_out: &mut b_out,
                h0: &mut h0,
            };
            ck::decode_into(&bytes, out).unwrap();
            assert_eq!(bits(&params), bits(m.params()));
            assert_eq!(bits(&w_out), bits(m.w_out()));
            assert_eq!(bits(&b_out), bits(m.b_out()));
            assert_eq!(bits(&h0), bits(m.h0()));
        }
    }
}

#[test]
fn round_trip_every_cell_f64() {
    let dir = TempDir::new();
    round_trip::<f64>(&dir);
}

#[test]
fn round_trip_every_cell_f32() {
    let dir = TempDir::new();
    round_trip::<f32>(&dir);
}

#[test]
fn round_trip_fixed_points() {
    let dir = TempDir::new();
    for (n, s, i, optional) in [
        (5, 4, 2, true),
        (5, 4, 2, false),
        (0, 3, 1, true),
        (3, 2, 0, true),
    ] {
        let fp = fixed_points(n, s, i, optional, 3 + n as u64);
        let path = dir.path("fps.fpf");
        ck::save_fixed_points(&fp, &path).unwrap();
        let back = ck::load_fixed_points(&path).unwrap();
        assert_eq!(back, fp);
        assert_eq!(back.tol_unique.to_bits(), fp.tol_unique.to_bits());
    }
    // Some optional fields present, others not.
    let mut fp = fixed_points(4, 3, 2, true, 9);
    fp.dfdu = None;
    fp.eigvec_im = None;
    fp.cond_id = None;
    let bytes = ck::encode_fixed_points(&fp).unwrap();
    assert_eq!(ck::decode_fixed_points(&bytes).unwrap(), fp);
    // NaN survives bitwise.
    fp.qstar[1] = f64::NAN;
    let back = ck::decode_fixed_points(&ck::encode_fixed_points(&fp).unwrap()).unwrap();
    assert!(back.qstar[1].is_nan());
}

#[test]
fn inconsistent_fixed_points_are_refused() {
    let mut fp = fixed_points(4, 3, 2, true, 1);
    fp.eigval_re.as_mut().unwrap().pop();
    match ck::encode_fixed_points(&fp) {
        Err(E::ArrayLength {
            name,
            expected,
            got,
        }) => {
            assert_eq!(name, "eigval_re");
            assert_eq!((expected, got), (12, 11));
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn kinds_are_not_confused() {
    let dir = TempDir::new();
    let (mp, fpp) = (dir.path("m.fpf"), dir.path("f.fpf"));
    ck::save_model(&model::<f64>(CellKind::Gru, 2, 3, 1, 1), &mp).unwrap();
    ck::save_fixed_points(&fixed_points(2, 3, 2, true, 1), &fpp).unwrap();
    assert_eq!(
        format_err(ck::load_fixed_points(&mp).unwrap_err()),
        E::WrongKind {
            expected: FileKind::FixedPoints,
            found: FileKind::Model
        }
    );
    let e = format_err(ck::load_model::<f64>(&fpp).unwrap_err());
    assert_eq!(
        e,
        E::WrongKind {
            expected: FileKind::Model,
            found: FileKind::FixedPoints
        }
    );
    assert!(e.to_string().contains("fixed-point file"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Mismatches
// ---------------------------------------------------------------------------------------

#[test]
fn load_into_checks_the_shape_and_leaves_the_model_alone() {
    let dir = TempDir::new();
    let path = dir.path("gru.fpf");
    let saved = model::<f64>(CellKind::Gru, 2, 3, 4, 5);
    ck::save_model(&saved, &path).unwrap();

    let cases: Vec<(Model<f64>, &str, Value, Value)> = vec![
        (
            model(CellKind::Lstm, 2, 3, 4, 6),
            "cell kind",
            Value::Cell(CellKind::Lstm),
            Value::Cell(CellKind::Gru),
        ),
        (
            model(CellKind::Gru, 1, 3, 4, 6),
            "n_inputs",
            Value::Size(1),
            Value::Size(2),
        ),
        (
            model(CellKind::Gru, 2, 7, 4, 6),
            "n_hidden",
            Value::Size(7),
            Value::Size(3),
        ),
        (
            model(CellKind::Gru, 2, 3, 1, 6),
            "n_outputs",
            Value::Size(1),
            Value::Size(4),
        ),
    ];
    for (mut m, what, expected, found) in cases {
        let before = m.clone();
        let e = format_err(ck::load_into(&mut m, &path).unwrap_err());
        assert_eq!(
            e,
            E::Mismatch {
                what,
                expected,
                found
            }
        );
        assert!(e.to_string().contains(what), "{e}");
        assert_bitwise(&m, &before);
    }
    // Scalar type.
    let mut m32 = model::<f32>(CellKind::Gru, 2, 3, 4, 6);
    let before = m32.clone();
    let e = format_err(ck::load_into(&mut m32, &path).unwrap_err());
    assert!(
        matches!(
            e,
            E::Mismatch {
                what: "scalar type",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("f64") && e.to_string().contains("f32"),
        "{e}"
    );
    assert_bitwise(&m32, &before);
    assert!(matches!(
        ck::load_model::<f32>(&path).map_err(format_err),
        Err(E::Mismatch {
            what: "scalar type",
            ..
        })
    ));
    // A corrupt file leaves the model alone too.
    let bad = dir.path("bad.fpf");
    let mut b = std::fs::read(&path).unwrap();
    let last = b.len() - 10;
    b[last] ^= 1;
    std::fs::write(&bad, &b).unwrap();
    let mut m = model::<f64>(CellKind::Gru, 2, 3, 4, 6);
    let before = m.clone();
    assert!(matches!(
        ck::load_into(&mut m, &bad).map_err(format_err),
        Err(E::Checksum { .. })
    ));
    assert_bitwise(&m, &before);
    // The matching model loads.
    ck::load_into(&mut m, &path).unwrap();
    assert_bitwise(&m, &saved);
}

#[test]
fn decode_into_caller_slices_checks_first() {
    let bytes = small_bytes();
    let mut p = vec![9.0f64; 6];
    let (mut w, mut b, mut h) = (vec![9.0; 2], vec![9.0; 1], vec![9.0; 2]);
    let out = ModelViewMut {
        shape: CellShape::new(CellKind::Tanh, 1, 3),
        n_layers: 1,
        n_outputs: 1,
        params: &mut p,
        w_out: &mut w,
        b_out: &mut b,
        h0: &mut h,
    };
    assert!(matches!(
        ck::decode_into(&bytes, out),
        Err(E::Mismatch {
            what: "n_hidden",
            ..
        })
    ));
    assert!(p.iter().chain(&w).chain(&b).chain(&h).all(|&x| x == 9.0));
    let mut small = [0u8; 10];
    let m = model::<f64>(CellKind::Tanh, 1, 2, 1, 7);
    assert_eq!(
        ck::encode_into(&m.view(), &mut small),
        Err(E::BufferTooSmall {
            needed: bytes.len(),
            got: 10
        })
    );
}

#[test]
fn non_finite_models_are_not_saved() {
    let mut m = model::<f64>(CellKind::Lstm, 1, 2, 1, 3);
    m.h0_mut()[3] = f64::INFINITY;
    match ck::encode_model(&m) {
        Err(E::NotFinite { name, index }) => {
            assert_eq!((name, index), (ck::ArrayName::new("h0"), 3))
        }
        r => panic!("{r:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

#[test]
fn truncated_at_every_byte_position() {
    let bytes = small_bytes();
    assert_eq!(ck::decode_model::<f64>(&[]).unwrap_err(), E::Empty);
    for k in 1..bytes.len() {
        assert_eq!(
            ck::decode_model::<f64>(&bytes[..k]).unwrap_err(),
            E::Truncated { at: k },
            "cut at {k}"
        );
        assert!(ck::decode_header(&bytes[..k]).is_err());
    }
    let fp = ck::encode_fixed_points(&fixed_points(2, 2, 1, true, 4)).unwrap();
    for k in 0..fp.len() {
        assert!(ck::decode_fixed_points(&fp[..k]).is_err(), "cut at {k}");
    }
    // Through files, a few positions.
    let dir = TempDir::new();
    for k in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
        let p = dir.path("t.fpf");
        std::fs::write(&p, &bytes[..k]).unwrap();
        let e = format_err(ck::load_model::<f64>(&p).unwrap_err());
        assert_eq!(
            e,
            if k == 0 {
                E::Empty
            } else {
                E::Truncated { at: k }
            }
        );
    }
}

#[test]
fn every_bit_flip_is_detected() {
    let bytes = small_bytes();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            let e = ck::decode_model::<f64>(&b).unwrap_err();
            assert!(ck::decode_header(&b).is_err());
            if (28..bytes.len()).contains(&i) {
                assert!(matches!(e, E::Checksum { .. }), "byte {i} bit {bit}: {e:?}");
            }
        }
    }
    let fp = ck::encode_fixed_points(&fixed_points(2, 2, 1, true, 4)).unwrap();
    for i in 0..fp.len() {
        let mut b = fp.clone();
        b[i] ^= 0x10;
        assert!(ck::decode_fixed_points(&b).is_err(), "byte {i}");
    }
}

/// A leaky cell's checkpoint is format version 2 with its `α` after `h0`; the other cells'
/// are still version 1, byte for byte the old layout (so older libraries read them), and a
/// version 1 file reads as before; `α` is checked against the model it is loaded into.
#[test]
fn leaky_checkpoints_keep_alpha_and_old_files_still_load() {
    use fpf_core::cell::Activation;
    // The old layout: FORMAT.md's example, a tanh model with I = 1, H = 2, O = 1 in f64.
    let old = small_bytes();
    assert_eq!((old.len(), &old[8..12]), (332, &1u32.to_le_bytes()[..]));
    assert_eq!(ck::decode_model::<f64>(&old).unwrap().shape().alpha, 1.0);
    // The same version-1 bytes with the leaky kind's code are refused: version 1 has none.
    let mut b = old.clone();
    b[28..32].copy_from_slice(&CellKind::LeakyRelu.code().to_le_bytes());
    fix_crc(&mut b);
    assert!(matches!(ck::decode_model::<f64>(&b), Err(E::BadHeader(_))));

    let shape = CellShape::leaky(Activation::Relu, 1, 2, 0.2);
    let mut m = Model::<f64>::init_scaled(shape, 1, 3).unwrap();
    m.b_out_mut()[0] = 0.5;
    let bytes = ck::encode_model(&m).unwrap();
    assert_eq!(&bytes[8..12], &2u32.to_le_bytes());
    assert_eq!(bytes.len(), old.len() + 28 + 8);
    assert_eq!(ck::encoded_len(&m.view()), bytes.len());
    let back = ck::decode_model::<f64>(&bytes).unwrap();
    assert_eq!(back.shape().alpha, 0.2);
    assert_bitwise(&m, &back);
    let f32s = ck::encode_model(&m.to_f32()).unwrap();
    assert_eq!(ck::decode_model::<f32>(&f32s).unwrap().shape().alpha, 0.2);
    assert_eq!(ck::decode_model_f64(&f32s).unwrap().shape().alpha, 0.2);

    // Loading into a model with another α, or another φ, is a mismatch that names it.
    let mut other = Model::<f64>::init_scaled(shape.with_alpha(0.3), 1, 3).unwrap();
    let e = ck::decode_model_into(&mut other, &bytes).unwrap_err();
    assert_eq!(
        e,
        E::Mismatch {
            what: "alpha",
            expected: Value::Alpha(0.3f64.to_bits()),
            found: Value::Alpha(0.2f64.to_bits()),
        }
    );
    assert!(
        e.to_string()
            .contains("alpha is 0.2 in the checkpoint, 0.3 in the model")
    );
    assert_eq!(other.shape().alpha, 0.3);
    let soft = CellShape::leaky(Activation::Softplus, 1, 2, 0.2);
    let mut other = Model::<f64>::init_scaled(soft, 1, 3).unwrap();
    assert!(matches!(
        ck::decode_model_into(&mut other, &bytes),
        Err(E::Mismatch {
            what: "cell kind",
            ..
        })
    ));
    let mut same = Model::<f64>::init_scaled(shape, 1, 9).unwrap();
    ck::decode_model_into(&mut same, &bytes).unwrap();
    assert_bitwise(&m, &same);

    // A corrupt α (out of range, with a valid checksum), or none, is refused.
    let at = bytes.len() - 4 - 8;
    for bad in [0.0, -1.0, 1.5, f64::NAN] {
        let mut b = bytes.clone();
        b[at..at + 8].copy_from_slice(&f64::to_le_bytes(bad));
        fix_crc(&mut b);
        assert_eq!(
            ck::decode_model::<f64>(&b).unwrap_err(),
            E::BadValue {
                name: ck::ArrayName::new("alpha"),
                index: 0
            },
            "{bad}"
        );
    }
    let mut b = bytes.clone();
    b[24..28].copy_from_slice(&6u32.to_le_bytes());
    fix_crc(&mut b);
    assert_eq!(
        ck::decode_model::<f64>(&b).unwrap_err(),
        E::MissingArray("alpha")
    );
    // A tanh model's file with an `alpha` array is refused (no other kind has one).
    let mut b = bytes.clone();
    b[28..32].copy_from_slice(&CellKind::Tanh.code().to_le_bytes());
    fix_crc(&mut b);
    assert_eq!(
        ck::decode_model::<f64>(&b).unwrap_err(),
        E::UnknownArray(ck::ArrayName::new("alpha"))
    );
}

#[test]
fn future_version_and_other_header_errors() {
    let bytes = small_bytes();
    for v in [4u32, 7, u32::MAX] {
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        fix_crc(&mut b);
        let e = ck::decode_model::<f64>(&b).unwrap_err();
        assert_eq!(
            e,
            E::FutureVersion {
                found: v,
                supported: 3
            }
        );
        assert!(e.to_string().contains(&v.to_string()));
    }
    let mut b = bytes.clone();
    b[0] = b'X';
    assert_eq!(ck::decode_model::<f64>(&b).unwrap_err(), E::BadMagic);
    assert_eq!(ck::decode_model::<f64>(b"hello").unwrap_err(), E::BadMagic);
    // Trailing bytes.
    let mut b = bytes.clone();
    b.push(0);
    assert!(matches!(
        ck::decode_model::<f64>(&b),
        Err(E::TrailingBytes { .. })
    ));
    // Valid checksums over invalid contents.
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes.clone();
        f(&mut b);
        fix_crc(&mut b);
        ck::decode_model::<f64>(&b).unwrap_err()
    };
    assert!(matches!(edit(&|b| b[12] = 9), E::BadHeader(_))); // scalar code
    assert!(matches!(edit(&|b| b[28] = 9), E::BadHeader(_))); // cell code
    assert!(matches!(edit(&|b| b[40] = 0), E::BadHeader(_))); // n_hidden = 0
    // First array record at 56: name "w_x".
    assert_eq!(
        edit(&|b| b[58] = b'q'),
        E::UnknownArray(ck::ArrayName::new("w_q"))
    );
    assert_eq!(
        edit(&|b| b[56..59].copy_from_slice(b"b\0\0")),
        E::MissingArray("w_x")
    );
    assert!(matches!(edit(&|b| b[72] = 1), E::ArrayType { .. }));
    match edit(&|b| b[76] = 5) {
        E::ArrayLength {
            name,
            expected,
            got,
        } => {
            assert_eq!((name, expected, got), (ck::ArrayName::new("w_x"), 2, 5));
        }
        e => panic!("{e:?}"),
    }
    match edit(&|b| b[84..92].copy_from_slice(&f64::NAN.to_le_bytes())) {
        E::NotFinite { name, index } => assert_eq!((name, index), (ck::ArrayName::new("w_x"), 0)),
        e => panic!("{e:?}"),
    }
    // Bad values in a fixed-point file.
    let fp = fixed_points(2, 1, 0, false, 4);
    let mut b = ck::encode_fixed_points(&fp).unwrap();
    let n = b.len();
    b[n - 5] = 7; // is_slow[1]
    fix_crc(&mut b);
    assert!(matches!(
        ck::decode_fixed_points(&b),
        Err(E::BadValue { .. })
    ));
}

#[test]
fn empty_directory_and_missing_paths() {
    let dir = TempDir::new();
    let empty = dir.path("empty.fpf");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        format_err(ck::load_model::<f64>(&empty).unwrap_err()),
        E::Empty
    );
    assert_eq!(
        format_err(ck::load_fixed_points(&empty).unwrap_err()),
        E::Empty
    );

    let e = ck::load_model::<f64>(&dir.0).unwrap_err();
    assert_eq!(
        e,
        F::IsDirectory {
            path: dir.0.clone()
        }
    );
    assert!(e.to_string().contains(&dir.0.display().to_string()));
    let m = model::<f64>(CellKind::Tanh, 1, 2, 1, 1);
    assert!(matches!(
        ck::save_model(&m, &dir.0),
        Err(F::IsDirectory { .. })
    ));

    let missing = dir.path("nope.fpf");
    match ck::load_model::<f64>(&missing).unwrap_err() {
        F::Io { path, kind, .. } => {
            assert_eq!(kind, std::io::ErrorKind::NotFound);
            assert_eq!(path, missing);
        }
        e => panic!("{e:?}"),
    }
    let deep = dir.path("no/such/dir/m.fpf");
    match ck::save_model(&m, &deep).unwrap_err() {
        F::Io { kind, .. } => assert_eq!(kind, std::io::ErrorKind::NotFound),
        e => panic!("{e:?}"),
    }
    #[cfg(unix)]
    assert!(matches!(
        ck::load_model::<f64>("/dev/null"),
        Err(F::NotAFile { .. })
    ));
    assert_eq!(dir.entries(), vec!["empty.fpf"]);
}

// ---------------------------------------------------------------------------------------
// Atomicity
// ---------------------------------------------------------------------------------------

#[test]
fn a_crash_mid_write_leaves_the_old_checkpoint() {
    let dir = TempDir::new();
    let path = dir.path("model.fpf");
    let a = model::<f64>(CellKind::Lstm, 2, 3, 2, 1);
    let b = model::<f64>(CellKind::Lstm, 2, 3, 2, 2);
    ck::save_model(&a, &path).unwrap();
    let b_bytes = ck::encode_model(&b).unwrap();

    // The writer dies after half the bytes.
    let e = ck::write_atomic_with(&path, &b_bytes, |f, bytes| {
        f.write_all(&bytes[..bytes.len() / 2])?;
        Err(std::io::Error::other("simulated crash"))
    })
    .unwrap_err();
    match &e {
        F::Io { op, message, .. } => {
            assert_eq!(*op, "write");
            assert!(message.contains("simulated crash"));
        }
        e => panic!("{e:?}"),
    }
    assert_bitwise(&ck::load_model::<f64>(&path).unwrap(), &a);
    assert_eq!(
        dir.entries(),
        vec!["model.fpf"],
        "temporary file left behind"
    );

    // A writer killed outright leaves a stale partial temp file; it never affects loads or
    // later saves.
    let stale = dir.path(".model.fpf.99999.0.tmp");
    std::fs::write(&stale, &b_bytes[..b_bytes.len() / 3]).unwrap();
    assert_bitwise(&ck::load_model::<f64>(&path).unwrap(), &a);
    ck::save_model(&b, &path).unwrap();
    assert_bitwise(&ck::load_model::<f64>(&path).unwrap(), &b);
    assert_eq!(dir.entries(), vec![".model.fpf.99999.0.tmp", "model.fpf"]);

    // Saving over a file in the current directory with a bare relative name works too.
    let rel = format!("fpf-ckpt-rel-{}.fpf", std::process::id());
    ck::save_model(&a, &rel).unwrap();
    assert_bitwise(&ck::load_model::<f64>(&rel).unwrap(), &a);
    std::fs::remove_file(&rel).unwrap();
}

// ---------------------------------------------------------------------------------------
// C API
// ---------------------------------------------------------------------------------------

fn last_error() -> String {
    let n = unsafe { fpf_last_error_message(null_mut(), 0) };
    let mut buf = vec![0 as c_char; n + 1];
    unsafe { fpf_last_error_message(buf.as_mut_ptr(), buf.len()) };
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn expect(status: fpf_status, want: fpf_status, words: &[&str]) {
    assert_eq!(status, want, "{}", last_error());
    let msg = last_error();
    for w in words {
        assert!(msg.contains(w), "message {msg:?} lacks {w:?}");
    }
}

fn c(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

fn new_rnn(cell: fpf_cell, ni: usize, nh: usize, no: usize, seed: u64) -> *mut fpf_rnn {
    let mut p = null_mut();
    assert_eq!(
        unsafe { fpf_rnn_new(cell, ni, nh, no, seed, &mut p) },
        fpf_status::FPF_OK
    );
    p
}

fn get(rnn: *const fpf_rnn, name: &str) -> Vec<f64> {
    let n = CString::new(name).unwrap();
    let mut len = 0usize;
    assert_eq!(
        unsafe { fpf_rnn_param_len(rnn, n.as_ptr(), &mut len) },
        fpf_status::FPF_OK
    );
    let mut v = vec![0.0; len];
    assert_eq!(
        unsafe { fpf_rnn_get_param(rnn, n.as_ptr(), v.as_mut_ptr(), len) },
        fpf_status::FPF_OK
    );
    v
}

#[test]
fn ffi_save_load_and_errors() {
    use fpf_status::*;
    let dir = TempDir::new();
    let path = dir.path("c.fpf");
    let cp = c(&path);
    let rnn = new_rnn(FPF_CELL_GRU_TORCH, 2, 3, 2, 4);
    unsafe {
        expect(
            fpf_checkpoint_save(null(), cp.as_ptr()),
            FPF_NULL_POINTER,
            &["rnn"],
        );
        expect(
            fpf_checkpoint_save(rnn, null()),
            FPF_NULL_POINTER,
            &["path"],
        );
        expect(fpf_checkpoint_save(rnn, cp.as_ptr()), FPF_OK, &[]);

        let mut out = null_mut();
        expect(
            fpf_checkpoint_load(null(), &mut out),
            FPF_NULL_POINTER,
            &["path"],
        );
        expect(
            fpf_checkpoint_load(cp.as_ptr(), null_mut()),
            FPF_NULL_POINTER,
            &["out"],
        );
        expect(fpf_checkpoint_load(cp.as_ptr(), &mut out), FPF_OK, &[]);
        assert!(!out.is_null());
        for name in [
            "weight_ih_l0",
            "weight_hh_l0",
            "bias_ih_l0",
            "bias_hh_l0",
            "w_out",
            "b_out",
            "h0",
        ] {
            assert_eq!(get(out, name), get(rnn, name), "{name}");
        }
        assert_eq!(fpf_rnn_cell(out), FPF_CELL_GRU_TORCH);
        fpf_rnn_free(out);

        // Failures leave *out alone.
        let sentinel = 0x10 as *mut fpf_rnn;
        let mut out = sentinel;
        let missing = c(&dir.path("missing.fpf"));
        expect(
            fpf_checkpoint_load(missing.as_ptr(), &mut out),
            FPF_IO,
            &["missing.fpf"],
        );
        let d = c(&dir.0);
        expect(
            fpf_checkpoint_load(d.as_ptr(), &mut out),
            FPF_IO,
            &["directory"],
        );
        expect(fpf_checkpoint_save(rnn, d.as_ptr()), FPF_IO, &["directory"]);
        let nodir = c(&dir.path("x/y.fpf"));
        expect(fpf_checkpoint_save(rnn, nodir.as_ptr()), FPF_IO, &[]);
        let garbage = dir.path("garbage.fpf");
        std::fs::write(&garbage, b"not a checkpoint at all").unwrap();
        let g = c(&garbage);
        expect(
            fpf_checkpoint_load(g.as_ptr(), &mut out),
            FPF_BAD_FORMAT,
            &["garbage.fpf", "magic"],
        );
        let empty = dir.path("empty.fpf");
        std::fs::write(&empty, b"").unwrap();
        let e = c(&empty);
        expect(
            fpf_checkpoint_load(e.as_ptr(), &mut out),
            FPF_BAD_FORMAT,
            &["empty"],
        );
        let mut trunc = std::fs::read(&path).unwrap();
        trunc.truncate(trunc.len() - 1);
        let tp = dir.path("trunc.fpf");
        std::fs::write(&tp, &trunc).unwrap();
        let t = c(&tp);
        expect(
            fpf_checkpoint_load(t.as_ptr(), &mut out),
            FPF_BAD_FORMAT,
            &["truncated"],
        );
        assert_eq!(out, sentinel);

        // load_into: matching, mismatching, NULLs.
        let other = new_rnn(FPF_CELL_GRU_TORCH, 2, 3, 2, 99);
        expect(
            fpf_checkpoint_load_into(null_mut(), cp.as_ptr()),
            FPF_NULL_POINTER,
            &["rnn"],
        );
        expect(
            fpf_checkpoint_load_into(other, null()),
            FPF_NULL_POINTER,
            &["path"],
        );
        expect(fpf_checkpoint_load_into(other, cp.as_ptr()), FPF_OK, &[]);
        assert_eq!(get(other, "weight_hh_l0"), get(rnn, "weight_hh_l0"));
        let lstm = new_rnn(FPF_CELL_LSTM, 2, 3, 2, 5);
        let before = get(lstm, "weight_hh_l0");
        expect(
            fpf_checkpoint_load_into(lstm, cp.as_ptr()),
            FPF_MISMATCH,
            &["cell kind", "lstm", "gru_torch"],
        );
        assert_eq!(get(lstm, "weight_hh_l0"), before);
        let wide = new_rnn(FPF_CELL_GRU_TORCH, 2, 4, 2, 5);
        expect(
            fpf_checkpoint_load_into(wide, cp.as_ptr()),
            FPF_MISMATCH,
            &["n_hidden"],
        );
        expect(
            fpf_checkpoint_load_into(wide, g.as_ptr()),
            FPF_BAD_FORMAT,
            &[],
        );
        for p in [other, lstm, wide] {
            fpf_rnn_free(p);
        }

        // A single-precision checkpoint (Rust API) widens exactly.
        let m32 = model::<f32>(CellKind::GruTorch, 2, 3, 2, 8);
        let p32 = dir.path("f32.fpf");
        ck::save_model(&m32, &p32).unwrap();
        let c32 = c(&p32);
        let mut out = null_mut();
        expect(fpf_checkpoint_load(c32.as_ptr(), &mut out), FPF_OK, &[]);
        let want: Vec<f64> = m32.w_out().iter().map(|&x| x as f64).collect();
        assert_eq!(get(out, "w_out"), want);
        expect(fpf_checkpoint_load_into(out, c32.as_ptr()), FPF_OK, &[]);
        fpf_rnn_free(out);

        // Raw (non-UTF-8) path bytes on Unix.
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let mut raw = dir.0.as_os_str().as_bytes().to_vec();
            raw.extend_from_slice(b"/r\xffw.fpf");
            let rp = CString::new(raw).unwrap();
            expect(fpf_checkpoint_save(rnn, rp.as_ptr()), FPF_OK, &[]);
            let mut out = null_mut();
            expect(fpf_checkpoint_load(rp.as_ptr(), &mut out), FPF_OK, &[]);
            fpf_rnn_free(out);
        }
        fpf_rnn_free(rnn);
    }
}

#[test]
fn ffi_fixed_points_save_and_load() {
    use fpf_status::*;
    let dir = TempDir::new();
    let src = dir.path("src.fpf");
    let fp = fixed_points(3, 2, 1, true, 5);
    ck::save_fixed_points(&fp, &src).unwrap();
    let (cs, dst) = (c(&src), dir.path("dst.fpf"));
    let cd = c(&dst);
    unsafe {
        let mut h = null_mut();
        expect(
            fpf_fixed_points_load(null(), &mut h),
            FPF_NULL_POINTER,
            &["path"],
        );
        expect(
            fpf_fixed_points_load(cs.as_ptr(), null_mut()),
            FPF_NULL_POINTER,
            &["out"],
        );
        expect(fpf_fixed_points_load(cs.as_ptr(), &mut h), FPF_OK, &[]);
        assert_eq!(fpf_fixed_points_len(h), 3);
        expect(
            fpf_fixed_points_save(null(), cd.as_ptr()),
            FPF_NULL_POINTER,
            &["fps"],
        );
        expect(
            fpf_fixed_points_save(h, null()),
            FPF_NULL_POINTER,
            &["path"],
        );
        let d = c(&dir.0);
        expect(fpf_fixed_points_save(h, d.as_ptr()), FPF_IO, &["directory"]);
        expect(fpf_fixed_points_save(h, cd.as_ptr()), FPF_OK, &[]);
        fpf_fixed_points_free(h);
        // A model file is not a fixed-point file, and the reverse.
        let mut h = null_mut();
        let mp = dir.path("m.fpf");
        ck::save_model(&model::<f64>(CellKind::Tanh, 1, 2, 1, 1), &mp).unwrap();
        let cm = c(&mp);
        expect(
            fpf_fixed_points_load(cm.as_ptr(), &mut h),
            FPF_BAD_FORMAT,
            &["model checkpoint"],
        );
        assert!(h.is_null());
        let mut r = null_mut();
        expect(
            fpf_checkpoint_load(cs.as_ptr(), &mut r),
            FPF_BAD_FORMAT,
            &["fixed-point file"],
        );
        assert!(r.is_null());
    }
    assert_eq!(ck::load_fixed_points(&dst).unwrap(), fp);
}

// ---------------------------------------------------------------------------------------
// Temporary names, stale temporaries, long names, symlinks, large non-checkpoints
// ---------------------------------------------------------------------------------------

#[test]
fn any_name_the_file_system_accepts_can_be_saved() {
    let dir = TempDir::new();
    let m = model::<f64>(CellKind::Tanh, 1, 2, 1, 3);
    for len in [1, 200, 243, 250, 255] {
        let name = "n".repeat(len);
        let p = dir.path(&name);
        ck::save_model(&m, &p).unwrap_or_else(|e| panic!("{len}-byte name: {e}"));
        assert_bitwise(&ck::load_model::<f64>(&p).unwrap(), &m);
        std::fs::remove_file(&p).unwrap();
    }
    assert!(dir.entries().is_empty(), "{:?}", dir.entries());
}

#[test]
fn stale_temporaries_of_killed_saves_are_removed_and_never_block() {
    let dir = TempDir::new();
    let m = model::<f64>(CellKind::Gru, 1, 2, 1, 4);
    let p = dir.path("m.fpf");
    ck::save_model(&m, &p).unwrap();
    // What a save killed before its rename leaves: a temporary of the same target, old or
    // young, under the name scheme of this library (learnt from a save we interrupt).
    let mut tmp_name = None;
    let _ = ck::write_atomic_with(&p, b"x", |_, _| {
        tmp_name = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(".tmp"));
        Err(std::io::Error::other("killed"))
    });
    let tmp_name = tmp_name.expect("a temporary file existed during the save");
    assert!(
        tmp_name.starts_with(".fpf-") && tmp_name.len() <= 45,
        "{tmp_name}"
    );
    let tag = &tmp_name[..".fpf-".len() + 17];
    let stale = dir.path(&format!("{tag}00000000000000aa.tmp"));
    let young = dir.path(&format!("{tag}00000000000000bb.tmp"));
    let other = dir.path(".fpf-0123456789abcdef.00000000000000cc.tmp");
    for f in [&stale, &young, &other] {
        std::fs::write(f, b"partial").unwrap();
    }
    let old = std::time::SystemTime::now() - ck::STALE_TEMP_AGE * 2;
    for f in [&stale, &other] {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    ck::save_model(&m, &p).unwrap();
    let left = dir.entries();
    assert!(
        !left.contains(&stale.file_name().unwrap().to_string_lossy().into_owned()),
        "{left:?}"
    );
    // A young temporary may belong to a save in progress; another target's is not ours.
    assert!(young.exists() && other.exists(), "{left:?}");
}

#[cfg(unix)]
#[test]
fn a_symlink_is_followed_and_kept() {
    let dir = TempDir::new();
    let (a, b) = (
        model::<f64>(CellKind::Tanh, 1, 2, 1, 5),
        model::<f64>(CellKind::Tanh, 1, 2, 1, 6),
    );
    let target = dir.path("real.fpf");
    let link = dir.path("link.fpf");
    ck::save_model(&a, &target).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    ck::save_model(&b, &link).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_bitwise(&ck::load_model::<f64>(&target).unwrap(), &b);
    // A dangling link is an error naming it; nothing is created.
    let dangling = dir.path("dangling.fpf");
    std::os::unix::fs::symlink(dir.path("nowhere/x.fpf"), &dangling).unwrap();
    match ck::save_model(&a, &dangling).unwrap_err() {
        F::Io { op, .. } => assert_eq!(op, "resolve the symlink"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn a_large_file_that_is_not_a_checkpoint_is_refused_before_it_is_read() {
    let dir = TempDir::new();
    let p = dir.path("big.bin");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(700 << 20).unwrap(); // sparse: 700 MB of zeros, no disk used
    drop(f);
    let t = std::time::Instant::now();
    assert_eq!(
        format_err(ck::load_model::<f64>(&p).unwrap_err()),
        E::BadMagic
    );
    // A real header announcing another length: refused from the header alone.
    let m = model::<f64>(CellKind::Tanh, 1, 2, 1, 7);
    let mut bytes = ck::encode_model(&m).unwrap();
    bytes.truncate(ck::COMMON_HEADER_LEN);
    let q = dir.path("padded.fpf");
    std::fs::write(&q, &bytes).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&q)
        .unwrap()
        .set_len(700 << 20)
        .unwrap();
    assert!(matches!(
        format_err(ck::load_model::<f64>(&q).unwrap_err()),
        E::TrailingBytes { .. }
    ));
    assert!(
        t.elapsed().as_secs_f64() < 0.5,
        "read the whole files: {:?}",
        t.elapsed()
    );
}
