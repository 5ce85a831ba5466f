//! Runs the finder on the trained 3-bit flip-flop fixture network with the tutorial's
//! settings and prints what the tutorial prints: `cargo run --release --example fixture_find`.

use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_std::analysis::FixedPointFinder;
use fpf_std::log::Log;

fn read(name: &str) -> Vec<f64> {
    let path = format!(
        "{}/tests/data/flipflop3_h4_s42/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .skip(1)
        .flat_map(|l| l.split_whitespace())
        .map(|v| v.parse().expect("a number"))
        .collect()
}

fn main() {
    let params = [read("w_ih.txt"), read("w_hh.txt"), read("b_h.txt")].concat();
    let inits = read("inits.txt");
    let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, 3, 4), &params).expect("shape");
    let opts = FinderOptions {
        max_iters: 5000,
        lr_init: 0.02,
        tol_q: 1e-4,
        final_q_threshold: 1e-6,
        tol_unique: 1e-2,
        outlier_distance_scale: 10.0,
        verbose: true,
        super_verbose: true,
        ..FinderOptions::default()
    };
    let finder = FixedPointFinder::new(cell, opts)
        .expect("options")
        .with_log(Log::to(|line: &str| println!("{line}")));
    println!("\n--- Fixed Point Analysis ---");
    let res = finder
        .find_fixed_points(&inits, &[0.0; 3], None, None)
        .expect("find");
    println!("\n--- Fixed Point Analysis Results ---");
    res.unique.print_summary();
    println!("\nDetailed Fixed Point Information (Top 10):");
    print!("{}", res.unique.table(10));
}
