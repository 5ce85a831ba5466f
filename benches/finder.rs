//! The joint q-minimization on 1024 states × 16 hidden tanh units (f32 and f64), per
//! iteration, next to its floor measured in the same run: the bare batched products
//! `H W_hh` and `D W_hhᵀ` over the same states. Also the whole find (1024 inits, Newton on)
//! on the flip-flop fixture network.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fpf_core::Real;
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_core::find::qmin::{self, QminOutput};
use fpf_core::linalg::dense::{mat_vec, vec_mat};
use fpf_std::analysis::FixedPointFinder;
use std::hint::black_box;

const N: usize = 1024;
const H: usize = 16;
const I: usize = 3;
const ITERS: usize = 20;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn joint<T: Real>(c: &mut Criterion) {
    let mut seed = 3u64;
    let shape = CellShape::new(CellKind::Tanh, I, H);
    let p: Vec<T> = (0..shape.n_params())
        .map(|_| T::from_f64(lcg(&mut seed) * 0.6))
        .collect();
    let cell = Cell::from_flat(shape, &p).unwrap();
    let x0: Vec<T> = (0..N * H).map(|_| T::from_f64(lcg(&mut seed))).collect();
    let w_hh = &p[I * H..I * H + H * H];
    let mut g = c.benchmark_group(format!(
        "finder_joint_{}_{N}x{H}_per_{ITERS}_iters",
        T::NAME
    ));
    g.sample_size(20);
    // Floor: per iteration, y_i = h_i W_hh and z_i = W_hh d_i for every state.
    let mut y = [T::ZERO; N * H];
    let mut z = [T::ZERO; N * H];
    g.bench_function(BenchmarkId::new("floor_HW_and_DWt", N), |b| {
        b.iter(|| {
            for _ in 0..ITERS {
                for i in 0..N {
                    vec_mat(
                        &x0[i * H..(i + 1) * H],
                        w_hh,
                        H,
                        H,
                        &mut y[i * H..(i + 1) * H],
                        false,
                    );
                    mat_vec(
                        w_hh,
                        H,
                        &y[i * H..(i + 1) * H],
                        &mut z[i * H..(i + 1) * H],
                        false,
                    );
                }
            }
            black_box(&z);
        })
    });
    let opts = FinderOptions {
        max_iters: ITERS,
        tol_q: 0.0,
        tol_dq: 0.0,
        lr_init: 0.01,
        ..FinderOptions::default()
    };
    let mut work = vec![T::ZERO; qmin::work_len(&cell, N, &opts)];
    let (mut q, mut fx, mut dq, mut it) = (
        vec![T::ZERO; N],
        vec![T::ZERO; N * H],
        vec![T::ZERO; N],
        vec![0usize; N],
    );
    let zero = vec![T::ZERO; I];
    g.bench_function(BenchmarkId::new("qmin_joint", N), |b| {
        b.iter(|| {
            let mut x = x0.clone();
            qmin::minimize(
                &cell,
                &opts,
                &zero,
                &mut x,
                QminOutput {
                    q: &mut q,
                    fx: &mut fx,
                    dq: &mut dq,
                    n_iters: &mut it,
                },
                &mut work,
                None,
            )
            .unwrap();
            black_box(&x);
        })
    });
    g.finish();
}

fn read(name: &str) -> Vec<f64> {
    let path = format!(
        "{}/tests/data/flipflop3_h4_s42/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .flat_map(|l| l.split_whitespace())
        .map(|v| v.parse().unwrap())
        .collect()
}

fn whole_find(c: &mut Criterion) {
    let p = [read("w_ih.txt"), read("w_hh.txt"), read("b_h.txt")].concat();
    let inits = read("inits.txt");
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &p).unwrap();
    let opts = FinderOptions {
        lr_init: 0.02,
        tol_q: 1e-4,
        final_q_threshold: 1e-6,
        tol_unique: 1e-2,
        ..FinderOptions::default()
    };
    let finder = FixedPointFinder::new(cell, opts).unwrap();
    let mut g = c.benchmark_group("find_flipflop3_h4_1024_inits");
    g.sample_size(20);
    g.bench_function("whole_pipeline_newton_on", |b| {
        b.iter(|| {
            black_box(
                finder
                    .find_fixed_points(&inits, &[0.0; 3], None, None)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    joint::<f32>(c);
    joint::<f64>(c);
    whole_find(c);
}

criterion_group!(finder, benches);
criterion_main!(finder);
