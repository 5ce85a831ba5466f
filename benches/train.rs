//! One training epoch (512 trials × 64 steps, batch 128, 3-bit flip-flop, f32) for tanh and
//! the reference's GRU at H = 16, 64 and 256, on one thread and on all cores, next to its
//! floor in the same run.
//!
//! The floor is every matrix product of the epoch's BPTT over the same arrays, by
//! matrixmultiply's single-threaded GEMM (`benches/common/floor.rs`), each over the whole
//! batch of 128 trials, with no elementwise work at all: per step forward `X_t W_x`,
//! `H_{t−1} W_h` (`128 × H × G·H`) and the readout `H_t W_out`; backward `D_t W_hᵀ`,
//! `dY_t W_outᵀ`, and the gradients `H_{t−1}ᵀ D_t`, `X_tᵀ D_t`, `H_tᵀ dY_t`.

#[path = "common/floor.rs"]
mod floor;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use floor::TrainFloor;
use fpf_core::cell::{CellKind, CellShape};
use fpf_std::model::Model;
use fpf_std::task::FlipFlop;
use fpf_std::train::{TrainOptions, train};
use std::hint::black_box;
use std::time::Duration;

const N_TRIALS: usize = 512;
const N_TIME: usize = 64;
const BATCH: usize = 128;
const N_BITS: usize = 3;

fn bench_epoch(c: &mut Criterion) {
    let data = FlipFlop::new(N_BITS, N_TIME, 0.5)
        .generate(N_TRIALS, 42)
        .unwrap();
    let seqs = data.sequences();
    let mut g = c.benchmark_group("train_epoch_512x64_b128_f32");
    g.warm_up_time(Duration::from_secs(1));
    for n_hidden in [16, 64, 256] {
        g.sample_size(if n_hidden >= 256 { 10 } else { 20 });
        for kind in [CellKind::Tanh, CellKind::Gru] {
            let shape = CellShape::new(kind, N_BITS, n_hidden);
            let init = Model::<f32>::init_scaled(shape, N_BITS, 1).unwrap();
            let name = format!("{}_h{n_hidden}", kind.name());
            for (label, n_threads) in [("1thread", 1), ("all_cores", 0)] {
                let opts = TrainOptions {
                    batch_size: BATCH,
                    max_epochs: 1,
                    min_loss: 0.0,
                    print_every: 0,
                    n_threads,
                    ..TrainOptions::default()
                };
                g.bench_function(format!("{name}_{label}"), |b| {
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
            }
            let mut floor =
                TrainFloor::<f32>::new(BATCH, N_TIME, N_BITS, n_hidden, shape.gate_width(), N_BITS);
            g.bench_function(format!("{name}_floor_gemm"), |b| {
                b.iter(|| {
                    for _ in 0..N_TRIALS / BATCH {
                        floor.batch();
                    }
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_epoch);
criterion_main!(benches);
