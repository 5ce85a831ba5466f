//! One training epoch (512 trials × 64 steps, batch 128, 3-bit flip-flop) for tanh and GRU at
//! 16 hidden units in f32, next to its floor: the forward mat-vecs alone (`h W_hh`, 16×16 for
//! tanh and 16×48 for the GRU's fused gates) for every trial and step.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fpf_core::Real;
use fpf_core::cell::{CellKind, CellShape};
use fpf_core::linalg::dense::vec_mat;
use fpf_std::model::Model;
use fpf_std::task::FlipFlop;
use fpf_std::train::{TrainOptions, train};
use std::hint::black_box;

const N_TRIALS: usize = 512;
const N_TIME: usize = 64;
const N_BITS: usize = 3;
const N_HIDDEN: usize = 16;

fn bench_epoch(c: &mut Criterion) {
    let data = FlipFlop::new(N_BITS, N_TIME, 0.5)
        .generate(N_TRIALS, 42)
        .unwrap();
    let seqs = data.sequences();
    let opts = TrainOptions {
        max_epochs: 1,
        min_loss: 0.0,
        print_every: 0,
        ..TrainOptions::default()
    };
    let mut g = c.benchmark_group("train_epoch_512x64_f32");
    g.sample_size(20);
    for kind in [CellKind::Tanh, CellKind::Gru] {
        let shape = CellShape::new(kind, N_BITS, N_HIDDEN);
        let init = Model::<f32>::init_scaled(shape, N_BITS, 1).unwrap();
        g.bench_function(format!("{}_epoch", kind.name()), |b| {
            b.iter_batched(
                || init.clone(),
                |mut m| {
                    let r = train(&mut m, &seqs, None, &opts, None).unwrap();
                    black_box(r.final_train_loss);
                    m
                },
                BatchSize::LargeInput,
            )
        });
        // Floor: the recurrent mat-vec of the forward pass alone, every trial and step.
        let gw = shape.gate_width();
        let w: Vec<f32> =
            init.params()[shape.len_w_x()..shape.len_w_x() + shape.len_w_h()].to_vec();
        let h0: Vec<f32> = (0..N_HIDDEN)
            .map(|i| f32::from_f64(0.01 * i as f64))
            .collect();
        let mut y = vec![0.0f32; gw];
        let mut h = h0.clone();
        g.bench_function(
            format!("{}_floor_matvec_{}x{}", kind.name(), N_HIDDEN, gw),
            |b| {
                b.iter(|| {
                    for _ in 0..N_TRIALS {
                        h.copy_from_slice(&h0);
                        for _ in 0..N_TIME {
                            vec_mat(black_box(&h), &w, gw, gw, &mut y, false);
                            // Feed a slice of the result back so the steps form a chain.
                            for (a, &v) in h.iter_mut().zip(&y) {
                                *a = v * 0.1;
                            }
                        }
                    }
                    black_box(&h);
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_epoch);
criterion_main!(benches);
