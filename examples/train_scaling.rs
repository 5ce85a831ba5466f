//! One training epoch (512 trials × 64 steps, batch 128, 3-bit flip-flop, f32) for tanh and
//! the reference's GRU next to its floor (every matrix product of the epoch's BPTT by
//! matrixmultiply, `benches/common/floor.rs`): `cargo run --release --example train_scaling
//! [rounds [H…]]`.
//!
//! The runs of each size (libfpf on one thread, on all cores, the floor) alternate `rounds`
//! times (default 5) and the best of each is printed, so that a second core busy with other
//! work shows as noise in every column rather than in one. "1 thread ms" is a `train` call of
//! one epoch, its buffers' allocation (and their page faults) included; "in a run" is an
//! epoch inside a call of three (the fastest of the second and third, from the progress
//! callback), what each epoch of a training costs, with its ratio to the floor.

#[path = "../benches/common/floor.rs"]
mod floor;

use std::time::Instant;

use floor::TrainFloor;
use fpf_core::cell::{CellKind, CellShape};
use fpf_std::model::Model;
use fpf_std::task::FlipFlop;
use fpf_std::train::{EpochReport, TrainOptions, train};

const N_TRIALS: usize = 512;
const N_TIME: usize = 64;
const BATCH: usize = 128;
const N_BITS: usize = 3;

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("rounds"));
    let sizes: Vec<usize> = {
        let v: Vec<usize> = args.map(|a| a.parse().expect("H")).collect();
        if v.is_empty() { vec![16, 64, 256] } else { v }
    };
    let data = FlipFlop::new(N_BITS, N_TIME, 0.5)
        .generate(N_TRIALS, 42)
        .expect("data");
    let seqs = data.sequences();
    println!(
        "one epoch, {N_TRIALS} trials × {N_TIME} steps, batch {BATCH}, f32; best of {rounds}, \
         alternating; floor = the BPTT's GEMMs by matrixmultiply, one thread"
    );
    println!(
        "{:>5} {:>5} {:>12} {:>12} {:>12} {:>9} {:>7} {:>8} {:>11} {:>7}",
        "cell",
        "H",
        "1 thread ms",
        "all cores ms",
        "floor ms",
        "GFLOP/s",
        "ratio",
        "speedup",
        "in a run ms",
        "ratio"
    );
    for &nh in &sizes {
        for kind in [CellKind::Tanh, CellKind::Gru] {
            let shape = CellShape::new(kind, N_BITS, nh);
            let init = Model::<f32>::init_scaled(shape, N_BITS, 1).expect("model");
            // A `train` call of `epochs` epochs on `n_threads` threads: its wall time, and the
            // fastest epoch after its first (from the progress callback).
            let call = |epochs, n_threads| {
                let opts = TrainOptions {
                    batch_size: BATCH,
                    max_epochs: epochs,
                    min_loss: 0.0,
                    print_every: 0,
                    n_threads,
                    ..TrainOptions::default()
                };
                let mut m = init.clone();
                let mut ends = Vec::with_capacity(epochs);
                let mut at_end = |_: &EpochReport, _: &Model<f32>| {
                    ends.push(Instant::now());
                    true
                };
                let t = Instant::now();
                train(&mut m, &seqs, None, &opts, Some(&mut at_end)).expect("train");
                let wall = t.elapsed().as_secs_f64();
                let later = ends
                    .windows(2)
                    .map(|w| (w[1] - w[0]).as_secs_f64())
                    .fold(f64::INFINITY, f64::min);
                (wall, later)
            };
            let epoch = |n_threads| call(1, n_threads).0;
            let run_epoch = || call(3, 1).1;
            let mut floor =
                TrainFloor::<f32>::new(BATCH, N_TIME, N_BITS, nh, shape.gate_width(), N_BITS);
            let mut floor_epoch = || {
                let t = Instant::now();
                for _ in 0..N_TRIALS / BATCH {
                    floor.batch();
                }
                t.elapsed().as_secs_f64()
            };
            // Warm up (pools, caches), then alternate.
            epoch(1);
            epoch(0);
            floor_epoch();
            let mut best = [f64::INFINITY; 4];
            for _ in 0..rounds {
                best[0] = best[0].min(epoch(1));
                best[1] = best[1].min(epoch(0));
                best[2] = best[2].min(floor_epoch());
                best[3] = best[3].min(run_epoch());
            }
            let flops = floor.flops() * (N_TRIALS / BATCH) as f64;
            println!(
                "{:>5} {:>5} {:>12.2} {:>12.2} {:>12.2} {:>9.1} {:>6.2}× {:>7.2}× {:>11.2} {:>6.2}×",
                kind.name(),
                nh,
                best[0] * 1e3,
                best[1] * 1e3,
                best[2] * 1e3,
                flops / best[0] * 1e-9,
                best[0] / best[2],
                best[0] / best[1],
                best[3] * 1e3,
                best[3] / best[2]
            );
        }
    }
}
