//! Replays the fuzz targets' bodies (`fuzz/src/bodies.rs`, shared with `fuzz/fuzz_targets/`)
//! over the committed seed corpus `fuzz/corpus_min/<target>/` and every saved finding in
//! `fuzz/regressions/<target>/`, without a fuzzer: no input may panic, and every C status
//! must be a documented one other than `FPF_PANIC`.
//!
//! `FPF_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_replay seed_corpus` (re)writes the checkpoint
//! seeds of `fuzz/corpus_min/checkpoint_decode/`.

use std::path::{Path, PathBuf};

include!("../fuzz/src/bodies.rs");

fn files(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus_min", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_file() && !name.starts_with('.') && !name.ends_with(".md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A fuzz body.
type Body = fn(&[u8]);

fn replay(target: &str, body: Body) -> usize {
    let fs = files(target);
    for p in &fs {
        let data = std::fs::read(p).unwrap();
        let r = std::panic::catch_unwind(|| body(&data));
        assert!(r.is_ok(), "{target}: input {} fails", p.display());
    }
    fs.len()
}

#[test]
fn replay_checkpoint_decode() {
    let n = replay("checkpoint_decode", checkpoint_decode_body);
    assert!(n >= 10, "the checkpoint seed corpus is missing ({n} files)");
}

#[test]
fn replay_ffi_entry() {
    let n = replay("ffi_entry", ffi_entry_body);
    assert!(n >= 10, "the FFI seed corpus is missing ({n} files)");
}

/// Generated inputs: the checkpoint body over valid files, every truncation and a bit flip in
/// every byte of a small one (with and without the CRC repair the body applies).
#[test]
fn checkpoint_body_on_truncations_and_flips() {
    for bytes in seed_checkpoints().into_iter().take(3) {
        checkpoint_decode_body(&bytes);
        for n in 0..bytes.len() {
            checkpoint_decode_body(&bytes[..n]);
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1 << (i % 8);
            checkpoint_decode_body(&b);
        }
    }
}

fn seed_checkpoints() -> Vec<Vec<u8>> {
    use fpf_core::cell::{CellKind, CellShape};
    use fpf_std::analysis::FixedPoints;
    use fpf_std::checkpoint::{encode_fixed_points, encode_model};
    use fpf_std::model::Model;
    let mut out = Vec::new();
    let kinds = [
        CellKind::Tanh,
        CellKind::Gru,
        CellKind::GruTorch,
        CellKind::Lstm,
    ];
    for (k, kind) in kinds.into_iter().enumerate() {
        let ni = k % 2;
        let m = Model::<f64>::init_random(CellShape::new(kind, ni, 2), 1, k as u64).unwrap();
        out.push(encode_model(&m).unwrap());
        let m = Model::<f32>::init_random(CellShape::new(kind, 1, 1), 1, k as u64).unwrap();
        out.push(encode_model(&m).unwrap());
    }
    for (n, s, i, opt) in [
        (0, 1, 0, false),
        (1, 2, 1, true),
        (2, 1, 1, false),
        (3, 1, 0, true),
    ] {
        let fp = FixedPoints {
            n,
            n_states: s,
            n_inputs: i,
            period: 1 + n % 2,
            xstar: vec![0.5; n * s],
            f_xstar: vec![f64::NAN; n * s],
            x_init: vec![-1.0; n * s],
            inputs: vec![1.0; n * i],
            qstar: vec![1e-12; n],
            dq: vec![0.0; n],
            n_iters: (0..n).collect(),
            newton: vec![None; n],
            is_slow: (0..n).map(|k| k % 2 == 0).collect(),
            j_xstar: opt.then(|| vec![0.25; n * s * s]),
            dfdu: opt.then(|| vec![0.0; n * s * i]),
            eigval_re: opt.then(|| vec![0.25; n * s]),
            eigval_im: opt.then(|| vec![0.0; n * s]),
            eigvec_re: opt.then(|| vec![1.0; n * s * s]),
            eigvec_im: opt.then(|| vec![0.0; n * s * s]),
            is_stable: opt.then(|| vec![true; n]),
            n_unstable: opt.then(|| vec![0; n]),
            n_kink: None,
            min_period: opt.then(|| vec![1; n]),
            cond_id: opt.then(|| vec![-1; n]),
            tol_unique: 1e-3,
        };
        out.push(encode_fixed_points(&fp).unwrap());
    }
    out
}

/// The committed checkpoint seeds of `fuzz/corpus_min/checkpoint_decode/` are what
/// [`seed_checkpoints`] makes (each whole, truncated to half, and with one bit flipped).
/// `FPF_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_replay seed_corpus` rewrites them; no other
/// run writes to the source tree.
#[test]
fn seed_corpus_matches_its_generator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus_min/checkpoint_decode");
    let write = std::env::var_os("FPF_WRITE_FUZZ_SEEDS").is_some_and(|v| v == "1");
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (k, b) in seed_checkpoints().iter().enumerate() {
        let mut flipped = b.clone();
        flipped[b.len() / 3] ^= 0x10;
        for (name, bytes) in [
            (format!("seed_{k:02}"), b.clone()),
            (format!("seed_{k:02}_truncated"), b[..b.len() / 2].to_vec()),
            (format!("seed_{k:02}_flipped"), flipped),
        ] {
            let path = dir.join(&name);
            if write {
                std::fs::write(&path, &bytes).unwrap();
            } else {
                let committed = std::fs::read(&path).unwrap_or_default();
                assert!(
                    committed == bytes,
                    "{name} is stale: run FPF_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_replay \
                     seed_corpus"
                );
            }
        }
    }
}
