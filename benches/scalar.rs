//! The math backend per element: `f64` `tanh`, `exp` and sigmoid, and `f32` `tanh` and sigmoid, over a
//! slice of 4096 values in [−4, 4] (the loop the cells run, which vectorizes), next to the
//! platform's functions (`std`, i.e. the system libm) in the same run; `sigmoid_generic` is
//! `Real`'s default formula on std's `exp`, with its branch.
//!
//! `cargo bench --bench scalar`; criterion's throughput line gives elements per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fpf_core::Real;
use std::hint::black_box;

const N: usize = 4096;

fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn map<T: Copy>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    xs: &[T],
    f: impl Fn(T) -> T,
) {
    let mut out = xs.to_vec();
    c.bench_function(name, |b| {
        b.iter(|| {
            for (o, &x) in out.iter_mut().zip(black_box(xs)) {
                *o = f(x);
            }
            black_box(&out);
        })
    });
}

fn generic_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn generic_sigmoid32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn benches(c: &mut Criterion) {
    let mut seed = 11u64;
    let xs: Vec<f64> = (0..N).map(|_| 4.0 * lcg(&mut seed)).collect();
    let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
    let mut g = c.benchmark_group(format!("scalar_{N}"));
    g.throughput(Throughput::Elements(N as u64));
    map(&mut g, "f64_tanh", &xs, Real::tanh);
    map(&mut g, "f64_tanh_std", &xs, f64::tanh);
    map(&mut g, "f64_exp", &xs, Real::exp);
    map(&mut g, "f64_exp_std", &xs, f64::exp);
    map(&mut g, "f64_sigmoid", &xs, Real::sigmoid);
    map(&mut g, "f64_sigmoid_generic", &xs, generic_sigmoid);
    map(&mut g, "f32_tanh", &xs32, Real::tanh);
    map(&mut g, "f32_tanh_std", &xs32, f32::tanh);
    map(&mut g, "f32_sigmoid", &xs32, Real::sigmoid);
    map(&mut g, "f32_sigmoid_generic", &xs32, generic_sigmoid32);
    g.finish();
}

criterion_group!(scalar, benches);
criterion_main!(scalar);
