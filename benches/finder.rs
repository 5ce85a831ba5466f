//! The joint q-minimization per iteration, next to its floor measured in the same run
//! (`common/floor.rs`: the two products a joint iteration needs, done by matrixmultiply's
//! GEMM, plus one elementwise pass over the states), at the sizes the targets name: tanh at
//! H = 16, 64, 256 with 1024 states and H = 64 with 8192 (f32), on two threads at H = 64 and
//! 256, GRU, PyTorch GRU and LSTM at H = 64 against their gate-width floors, tanh at H = 64
//! in f64. Then the whole find (Newton, Jacobians, eigenvectors) on the two trained fixture
//! networks of tests/data: default, one thread, and with the Newton hand-off.
//!
//! `cargo bench --bench finder`; each sample is a run of `ITERS` iterations from the same
//! initial states (copied into arrays allocated once, as the floor's are), and the floor
//! does `ITERS` of its iterations. A run of `k` iterations evaluates the states `k + 1` times
//! (the first evaluation has no step before it, the last computes no gradient) and packs the
//! weights once: a search's thousands of iterations spread that over all of them, 50 over
//! about 2 %. (With 5 iterations and the states allocated in each sample the tanh ratios
//! read 1.63, 1.35, 1.08 and 1.34× at H = 16, 64, 256 and H = 64 with 8192 states; as here,
//! 1.29, 0.99, 1.03 and 0.99×, 2026-12-02.)

#[path = "common/floor.rs"]
mod floor;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use floor::Floor;
use fpf_core::Real;
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_core::find::qmin::{self, QminOutput};
use fpf_std::analysis::FixedPointFinder;
use fpf_std::threads::Threads;
use std::hint::black_box;
use std::time::Duration;

const I: usize = 3;
const ITERS: usize = 50;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// One cell's joint iteration next to its gate-width floor, on `threads` threads (the floor
/// is always one thread).
fn joint<T: Real>(c: &mut Criterion, kind: CellKind, n: usize, h: usize, threads: usize) {
    let mut seed = 3u64;
    let shape = CellShape::new(kind, I, h);
    let (gw, sd) = (shape.gate_width(), shape.state_dim());
    let scale = 1.5 / (h as f64).sqrt();
    let p: Vec<T> = (0..shape.n_params())
        .map(|_| T::from_f64(lcg(&mut seed) * scale))
        .collect();
    let cell = Cell::from_flat(shape, &p).unwrap();
    let x0: Vec<T> = (0..n * sd).map(|_| T::from_f64(lcg(&mut seed))).collect();
    let w_hh = &p[I * gw..I * gw + h * gw];
    let mut g = c.benchmark_group(format!(
        "joint_{}_{}_n{n}_h{h}_per_{ITERS}_iters",
        kind.name(),
        T::NAME
    ));
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    if threads == 1 {
        let mut fl = Floor::<T>::gated(n, h, gw, sd);
        g.bench_function(BenchmarkId::new("floor_gemm", n), |b| {
            let mut x = x0.clone();
            b.iter(|| {
                for _ in 0..ITERS {
                    fl.iteration(&mut x, w_hh);
                }
                black_box(&x);
            })
        });
    }
    let opts = FinderOptions {
        max_iters: ITERS,
        tol_q: 0.0,
        tol_dq: 0.0,
        lr_init: 0.01,
        ..FinderOptions::default()
    };
    let mut work = vec![T::ZERO; qmin::work_len(&cell, n, &opts)];
    let (mut q, mut fx, mut dq, mut it) = (
        vec![T::ZERO; n],
        vec![T::ZERO; n * sd],
        vec![T::ZERO; n],
        vec![0usize; n],
    );
    let zero = vec![T::ZERO; I];
    let pool = Threads::new(threads);
    let name = if threads == 1 {
        "qmin_joint".to_string()
    } else {
        format!("qmin_joint_{threads}_threads")
    };
    let mut x = x0.clone();
    g.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            x.copy_from_slice(&x0);
            let out = QminOutput {
                q: &mut q,
                fx: &mut fx,
                dq: &mut dq,
                n_iters: &mut it,
            };
            let fork = pool.fork();
            qmin::minimize_with(fork, &cell, &opts, &zero, &mut x, out, &mut work, None).unwrap();
            black_box(&x);
        })
    });
    g.finish();
}

/// A fixture array of tests/data.
fn read(fixture: &str, name: &str) -> Vec<f64> {
    let path = format!("{}/tests/data/{fixture}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .flat_map(|l| l.split_whitespace())
        .map(|v| v.parse().unwrap())
        .collect()
}

fn whole_find(c: &mut Criterion, fixture: &str, h: usize) {
    let p = [
        read(fixture, "w_ih.txt"),
        read(fixture, "w_hh.txt"),
        read(fixture, "b_h.txt"),
    ]
    .concat();
    let inits = read(fixture, "inits.txt");
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, h), &p).unwrap();
    let opts = FinderOptions {
        lr_init: 0.02,
        tol_q: 1e-4,
        final_q_threshold: 1e-6,
        tol_unique: 1e-2,
        ..FinderOptions::default()
    };
    let mut g = c.benchmark_group(format!("find_{fixture}_1024_inits"));
    g.sample_size(10);
    for (name, handoff, threads) in [
        ("default", 0, 0),
        ("one_thread", 0, 1),
        ("newton_handoff_50", 50, 0),
    ] {
        let o = FinderOptions {
            newton_handoff_iters: handoff,
            n_threads: threads,
            ..opts
        };
        let finder = FixedPointFinder::new(cell, o).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    finder
                        .find_fixed_points(&inits, &[0.0; 3], None, None)
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    for (n, h) in [(1024, 16), (1024, 64), (1024, 256), (8192, 64)] {
        joint::<f32>(c, CellKind::Tanh, n, h, 1);
    }
    for h in [64, 256] {
        joint::<f32>(c, CellKind::Tanh, 1024, h, 2);
    }
    for kind in [CellKind::Gru, CellKind::GruTorch, CellKind::Lstm] {
        joint::<f32>(c, kind, 1024, 64, 1);
    }
    joint::<f64>(c, CellKind::Tanh, 1024, 64, 1);
    whole_find(c, "flipflop3_h4_s42", 4);
    whole_find(c, "flipflop3_h64_s42", 64);
}

criterion_group!(finder, benches);
criterion_main!(finder);
