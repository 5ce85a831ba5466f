//! Runs the finder on a trained 3-bit flip-flop fixture network of `tests/data` with the
//! tutorial's settings and prints what the tutorial prints, then the wall time:
//! `cargo run --release --example fixture_find [flipflop3_h4_s42 | flipflop3_h64_s42]
//! [--handoff N] [--threads N] [--f64] [--quiet]` (default: the 4-unit network, f32, all
//! cores; `--handoff 50` hands states to Newton early, `--quiet` drops the per-iteration
//! lines).

use std::time::Instant;

use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_std::analysis::FixedPointFinder;
use fpf_std::log::Log;

/// A fixture array: its shape and values.
fn read(fixture: &str, name: &str) -> (Vec<usize>, Vec<f64>) {
    let path = format!("{}/tests/data/{fixture}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    let shape = lines
        .next()
        .and_then(|l| l.strip_prefix("# shape "))
        .unwrap_or_else(|| panic!("{path}: no shape line"))
        .split_whitespace()
        .map(|v| v.parse().expect("a size"))
        .collect();
    let values = lines
        .flat_map(|l| l.split_whitespace())
        .map(|v| v.parse().expect("a number"))
        .collect();
    (shape, values)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name);
    let fixture = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "flipflop3_h4_s42".to_string());
    let handoff = flag("--handoff").map_or(0, |i| {
        args.get(i + 1)
            .and_then(|v| v.parse().ok())
            .expect("--handoff N")
    });
    let threads = flag("--threads").map_or(0, |i| {
        args.get(i + 1)
            .and_then(|v| v.parse().ok())
            .expect("--threads N")
    });
    let (ih_shape, w_ih) = read(&fixture, "w_ih.txt");
    let (n_inputs, n_hidden) = (ih_shape[0], ih_shape[1]);
    let params = [
        w_ih,
        read(&fixture, "w_hh.txt").1,
        read(&fixture, "b_h.txt").1,
    ]
    .concat();
    let inits = read(&fixture, "inits.txt").1;
    let shape = CellShape::new(CellKind::Tanh, n_inputs, n_hidden);
    let cell = Cell::from_flat(shape, &params).expect("shape");
    let opts = FinderOptions {
        max_iters: 5000,
        lr_init: 0.02,
        tol_q: 1e-4,
        final_q_threshold: 1e-6,
        tol_unique: 1e-2,
        outlier_distance_scale: 10.0,
        verbose: true,
        super_verbose: flag("--quiet").is_none(),
        single_precision: flag("--f64").is_none(),
        newton_handoff_iters: handoff,
        n_threads: threads,
        ..FinderOptions::default()
    };
    let finder = FixedPointFinder::new(cell, opts)
        .expect("options")
        .with_log(Log::to(|line: &str| println!("{line}")));
    println!("\n--- Fixed Point Analysis ({fixture}) ---");
    let t = Instant::now();
    let res = finder
        .find_fixed_points(&inits, &vec![0.0; n_inputs], None, None)
        .expect("find");
    let secs = t.elapsed().as_secs_f64();
    println!("\n--- Fixed Point Analysis Results ---");
    print!("{}", res.summary());
    println!("\nDetailed Fixed Point Information (Top 10):");
    print!("{}", res.unique.table(10));
    println!("\nWhole find (optimize, Newton, uniqueness, Jacobians, eigenvectors): {secs:.3} s");
}
