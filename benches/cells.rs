//! One step plus state Jacobian for each cell at H = 4, 16, 64 (f32 and f64), next to the
//! floor: the bare mat-vec `h W_hh` at the same size.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fpf_core::Real;
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::linalg::dense::vec_mat;
use std::hint::black_box;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn bench_type<T: Real>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("cell_step_jacobian_{}", T::NAME));
    for &nh in &[4usize, 16, 64] {
        let ni = 3;
        let mut seed = 7u64;
        let h: Vec<T> = (0..2 * nh)
            .map(|_| T::from_f64(lcg(&mut seed) * 0.5))
            .collect();
        let x: Vec<T> = (0..ni).map(|_| T::from_f64(lcg(&mut seed))).collect();
        // floor: y = h W_hh, H × H
        let w: Vec<T> = (0..nh * nh)
            .map(|_| T::from_f64(lcg(&mut seed) * 0.3))
            .collect();
        let mut y = vec![T::ZERO; nh];
        g.bench_with_input(BenchmarkId::new("floor_matvec", nh), &nh, |b, _| {
            b.iter(|| {
                vec_mat(black_box(&h[..nh]), &w, nh, nh, &mut y, false);
                black_box(&y);
            })
        });
        for kind in CellKind::ALL {
            let shape = CellShape::new(kind, ni, nh);
            let p: Vec<T> = (0..shape.n_params())
                .map(|_| T::from_f64(lcg(&mut seed) * 0.3))
                .collect();
            let cell = Cell::from_flat(shape, &p).unwrap();
            let sd = shape.state_dim();
            let mut out = vec![T::ZERO; sd];
            let mut cache = vec![T::ZERO; shape.cache_len()];
            let mut jac = vec![T::ZERO; sd * sd];
            let mut scratch = vec![T::ZERO; cell.jacobian_scratch_len()];
            let hs = &h[..sd];
            g.bench_with_input(BenchmarkId::new(kind.name(), nh), &nh, |b, _| {
                b.iter(|| {
                    cell.step(black_box(&x), black_box(hs), &mut out, &mut cache)
                        .unwrap();
                    cell.jacobian(&x, hs, &cache, &mut jac, &mut scratch)
                        .unwrap();
                    black_box(&jac);
                })
            });
            g.bench_with_input(
                BenchmarkId::new(format!("{}_step", kind.name()), nh),
                &nh,
                |b, _| {
                    b.iter(|| {
                        cell.step(black_box(&x), black_box(hs), &mut out, &mut cache)
                            .unwrap();
                        black_box(&out);
                    })
                },
            );
        }
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_type::<f32>(c);
    bench_type::<f64>(c);
}

criterion_group!(cells, benches);
criterion_main!(cells);
