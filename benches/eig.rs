//! Benchmarks of `fpf_core::linalg::eig` against nalgebra 0.35's real Schur decomposition on the
//! same random Gaussian matrices (fixed seed).
//!
//! - `eigenvalues/*`: fpf eigenvalues only vs nalgebra `Schur::try_new` + `complex_eigenvalues`.
//! - `eigenvectors/*`: fpf eigenvalues + right eigenvectors vs the same nalgebra call (nalgebra
//!   has no eigenvectors for non-symmetric matrices; its Schur form always includes `Q`).
//!
//! Run: `cargo bench --bench eig -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fpf_core::linalg::eig::{eig, work_len};
use nalgebra::DMatrix;
use nalgebra::linalg::Schur;
use std::hint::black_box;

const SIZES: [usize; 4] = [4, 16, 64, 128];

/// splitmix64 + Box–Muller: standard Gaussian entries, row-major.
fn gaussian(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n * n)
        .map(|_| {
            let (u1, u2) = (next(), next());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

fn nalgebra_schur_eigenvalues(m: &DMatrix<f64>) -> usize {
    let schur =
        Schur::try_new(m.clone(), f64::EPSILON, 10_000).expect("nalgebra Schur did not converge");
    schur.complex_eigenvalues().len()
}

fn bench_eigenvalues(c: &mut Criterion) {
    let mut g = c.benchmark_group("eigenvalues");
    for &n in &SIZES {
        let a = gaussian(n, 0x5EED + n as u64);
        let m = DMatrix::from_row_slice(n, n, &a);
        let mut work = vec![0.0; work_len(n, false)];
        let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
        g.bench_with_input(BenchmarkId::new("fpf", n), &n, |b, &n| {
            b.iter(|| {
                eig(n, black_box(&a), &mut work, &mut re, &mut im, None).unwrap();
                black_box(re[0])
            })
        });
        g.bench_with_input(BenchmarkId::new("nalgebra_schur", n), &n, |b, _| {
            b.iter(|| black_box(nalgebra_schur_eigenvalues(black_box(&m))))
        });
    }
    g.finish();
}

fn bench_eigenvectors(c: &mut Criterion) {
    let mut g = c.benchmark_group("eigenvectors");
    for &n in &SIZES {
        let a = gaussian(n, 0x5EED + n as u64);
        let m = DMatrix::from_row_slice(n, n, &a);
        let mut work = vec![0.0; work_len(n, true)];
        let (mut re, mut im) = (vec![0.0; n], vec![0.0; n]);
        let (mut vr, mut vi) = (vec![0.0; n * n], vec![0.0; n * n]);
        g.bench_with_input(BenchmarkId::new("fpf", n), &n, |b, &n| {
            b.iter(|| {
                eig(
                    n,
                    black_box(&a),
                    &mut work,
                    &mut re,
                    &mut im,
                    Some((&mut vr, &mut vi)),
                )
                .unwrap();
                black_box(vr[0])
            })
        });
        g.bench_with_input(BenchmarkId::new("nalgebra_schur", n), &n, |b, _| {
            b.iter(|| black_box(nalgebra_schur_eigenvalues(black_box(&m))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_eigenvalues, bench_eigenvectors);
criterion_main!(benches);
