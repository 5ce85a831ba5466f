//! The scaling table of the joint q-minimization (tanh cell, f32, one thread) next to its
//! floor in the same run (benches/common/floor.rs: two GEMMs by matrixmultiply plus one
//! elementwise pass): `cargo run --release --example scaling [iterations [H n]]`.
//!
//! For H ∈ {16, 64, 128, 256, 512} and n ∈ {1024, 8192} it prints µs per iteration on one
//! thread, GFLOP/s (by the floor's count, 4·n·H²), the floor and the ratio to it, then µs
//! per iteration on every core and the speedup over one thread, and what two cores give on
//! independent work at that moment (two one-thread jobs at once): the speedup a perfect
//! split of a pass over both cores would reach.

#[path = "../benches/common/floor.rs"]
mod floor;

use std::time::Instant;

use floor::{Floor, flops};
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_core::find::qmin::{self, QminOutput};
use fpf_std::threads::Threads;

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0) as f32
}

/// Seconds per iteration of each of `fs` (each called with a number of iterations, returning
/// the seconds its timed part took: the iterations, not the resetting of their arrays), best
/// of [`ROUNDS`]; the rounds take turns (each function once per round), so a change of the
/// machine's speed during a row reaches all of them alike.
fn per_iter<const K: usize>(iters: usize, fs: &mut [&mut dyn FnMut(usize) -> f64; K]) -> [f64; K] {
    for f in fs.iter_mut() {
        f(1); // warm up
    }
    let mut best = [f64::INFINITY; K];
    for _ in 0..ROUNDS {
        for (b, f) in best.iter_mut().zip(fs.iter_mut()) {
            *b = b.min(f(iters) / iters as f64);
        }
    }
    best
}

/// Timed runs of each measurement in a row.
const ROUNDS: usize = 5;

/// One minimization's arrays and workspace, kept between runs.
struct Job {
    x0: Vec<f32>,
    x: Vec<f32>,
    q: Vec<f32>,
    fx: Vec<f32>,
    dq: Vec<f32>,
    it: Vec<usize>,
    work: Vec<f32>,
}

impl Job {
    fn new(cell: &Cell<'_, f32>, opts: &FinderOptions, x0: &[f32]) -> Job {
        let n = x0.len() / cell.shape().state_dim();
        Job {
            x0: x0.to_vec(),
            x: x0.to_vec(),
            q: vec![0.0; n],
            fx: vec![0.0; x0.len()],
            dq: vec![0.0; n],
            it: vec![0; n],
            work: vec![0.0; qmin::work_len(cell, n, opts)],
        }
    }

    /// Seconds `k` iterations from the initial states take on `threads` (as the finder runs
    /// the loop: on a team, no progress calls).
    fn run(
        &mut self,
        cell: &Cell<'_, f32>,
        opts: &FinderOptions,
        threads: &Threads,
        k: usize,
    ) -> f64 {
        let opts = FinderOptions {
            max_iters: k,
            ..*opts
        };
        self.x.copy_from_slice(&self.x0);
        let t = Instant::now();
        let out = QminOutput {
            q: &mut self.q,
            fx: &mut self.fx,
            dq: &mut self.dq,
            n_iters: &mut self.it,
        };
        qmin::minimize_with(
            threads.fork(),
            cell,
            &opts,
            &[0.0; 3],
            &mut self.x,
            out,
            &mut self.work,
            None,
        )
        .unwrap();
        t.elapsed().as_secs_f64()
    }
}

fn main() {
    let iters: usize = std::env::args()
        .nth(1)
        .map_or(3, |a| a.parse().expect("iterations"));
    println!(
        "joint q-minimization, tanh, f32; floor = 2 GEMMs (matrixmultiply, one thread) + 1 pass"
    );
    let one = Threads::new(1);
    let many = Threads::new(0);
    // Optional: one size only (`scaling ITERS H N`), e.g. for a profiler; `scaling ITERS H N
    // ours` runs only libfpf on one thread (for `perf stat` counts on a busy machine),
    // `scaling ITERS H N many` only libfpf on every core (for a profiler), `scaling ITERS H N
    // one` libfpf and the floor, both on one thread (benches/jax_compare.py's rounds).
    let only: Vec<usize> = std::env::args()
        .skip(2)
        .take(2)
        .map(|a| a.parse().expect("H and n"))
        .collect();
    let mode = std::env::args().nth(4);
    let only_on = match mode.as_deref() {
        Some("ours") => Some(&one),
        Some("many") => Some(&many),
        _ => None,
    };
    let one_thread = mode.as_deref() == Some("one");
    if one_thread {
        println!(
            "{:>5} {:>6} {:>12} {:>12}",
            "H", "n", "libfpf µs", "floor µs"
        );
    } else {
        println!(
            "{:>5} {:>6} {:>12} {:>9} {:>12} {:>9} {:>7} {:>12} {:>8} {:>8}",
            "H",
            "n",
            "libfpf µs",
            "GFLOP/s",
            "floor µs",
            "GFLOP/s",
            "ratio",
            format!("{}-thread µs", many.count()),
            "speedup",
            "2 cores"
        );
    }
    for h in [16usize, 64, 128, 256, 512] {
        for n in [1024usize, 8192] {
            if only.len() == 2 && (only[0] != h || only[1] != n) {
                continue;
            }
            let mut seed = 7u64;
            let shape = CellShape::new(CellKind::Tanh, 3, h);
            let scale = 1.5 / (h as f32).sqrt();
            let p: Vec<f32> = (0..shape.n_params())
                .map(|_| lcg(&mut seed) * scale)
                .collect();
            let cell = Cell::from_flat(shape, &p).unwrap();
            let x0: Vec<f32> = (0..n * h).map(|_| lcg(&mut seed)).collect();
            let w_hh = &p[3 * h..3 * h + h * h];
            let mut fl = Floor::<f32>::new(n, h);
            let mut xf = x0.clone();
            let mut floor = |k: usize| {
                let t = Instant::now();
                for _ in 0..k {
                    fl.iteration(&mut xf, w_hh);
                }
                t.elapsed().as_secs_f64()
            };
            let opts = FinderOptions {
                tol_q: 0.0,
                tol_dq: 0.0,
                lr_init: 0.01,
                ..FinderOptions::default()
            };
            // Each job's workspace is the caller's and kept between calls, as the floor keeps
            // its arrays: neither timing includes allocating (and faulting in) memory.
            let mut job = Job::new(&cell, &opts, &x0);
            let mut twin = Job::new(&cell, &opts, &x0);
            let mut run = |threads: &Threads, k: usize| job.run(&cell, &opts, threads, k);
            if let Some(threads) = only_on {
                let [ours] = per_iter(iters, &mut [&mut |k| run(threads, k)]);
                println!("{h:>5} {n:>6} {:>12.1}", ours * 1e6);
                continue;
            }
            if one_thread {
                let [floor_s, ours] = per_iter(iters, &mut [&mut floor, &mut |k| run(&one, k)]);
                println!("{h:>5} {n:>6} {:>12.1} {:>12.1}", ours * 1e6, floor_s * 1e6);
                continue;
            }
            let run = &std::cell::RefCell::new(run);
            // What two cores give on independent work at this moment: two one-thread jobs at
            // once, one per thread; a pass split perfectly over the two runs in
            // a·b/(a + b) of their times a and b (both cores busy, each at its own speed).
            let mut pair = |k: usize| {
                let twin = &mut twin;
                let (a, b) = std::thread::scope(|s| {
                    let other = s.spawn(|| twin.run(&cell, &opts, &one, k));
                    let a = run.borrow_mut()(&one, k);
                    (a, other.join().expect("the twin job"))
                });
                a * b / (a + b)
            };
            let [floor_s, ours, ours_t, pair_s] = per_iter(
                iters,
                &mut [
                    &mut floor,
                    &mut |k| run.borrow_mut()(&one, k),
                    &mut |k| run.borrow_mut()(&many, k),
                    &mut pair,
                ],
            );
            let f = flops(n, h);
            println!(
                "{h:>5} {n:>6} {:>12.1} {:>9.1} {:>12.1} {:>9.1} {:>6.1}x {:>12.1} {:>7.2}x {:>7.2}x",
                ours * 1e6,
                f / ours * 1e-9,
                floor_s * 1e6,
                f / floor_s * 1e-9,
                ours / floor_s,
                ours_t * 1e6,
                ours / ours_t,
                ours / pair_s
            );
        }
    }
}
