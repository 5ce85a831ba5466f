//! Uniqueness (`fpf_std::analysis::unique`): points closer than `tol_unique` on `[x*, u]`
//! are one fixed point, farther ones are not, in every dimension and direction; clusters are
//! transitive and keep their lowest-q member; plus the distance-outlier rule and the median.

#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use fpf_std::analysis::FixedPoints;
use fpf_std::analysis::unique::{median, representatives, within_distance};

/// Points `xs` (`n × s`) at inputs `us` (`n × i`) with q values `q`.
fn points(xs: &[f64], us: &[f64], q: &[f64], s: usize, i: usize, tol: f64) -> FixedPoints {
    let n = q.len();
    assert_eq!(xs.len(), n * s);
    assert_eq!(us.len(), n * i);
    FixedPoints {
        n,
        n_states: s,
        n_inputs: i,
        period: 1,
        xstar: xs.to_vec(),
        f_xstar: xs.to_vec(),
        x_init: xs.to_vec(),
        inputs: us.to_vec(),
        qstar: q.to_vec(),
        dq: vec![0.0; n],
        n_iters: vec![0; n],
        newton: vec![None; n],
        is_slow: vec![false; n],
        tol_unique: tol,
        ..Default::default()
    }
}

/// A random unit vector of length `d`.
fn unit(rng: &mut Rng, d: usize) -> Vec<f64> {
    let v = rng.vec(d, 1.0);
    let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    v.into_iter().map(|a| a / n).collect()
}

/// Two points `p` and `p + r·d` on `[x, u]` (`s` states, `i` inputs): how many unique points.
fn n_unique_pair(p: &[f64], d: &[f64], r: f64, s: usize, i: usize, tol: f64) -> usize {
    let q: Vec<f64> = p.iter().zip(d).map(|(a, b)| a + r * b).collect();
    let xs = [&p[..s], &q[..s]].concat();
    let us = [&p[s..], &q[s..]].concat();
    let f = points(&xs, &us, &[1.0, 2.0], s, i, tol);
    let reps = representatives(&f, tol);
    let u = f.get_unique();
    assert_eq!(u.n, reps.len());
    if reps.len() == 1 {
        // The lowest-q member represents the cluster.
        assert_eq!(reps, vec![0]);
        assert_eq!(u.x(0), &p[..s]);
    }
    reps.len()
}

/// Pairs 0.9·tol apart merge and pairs 1.1·tol apart do not, for `s` states and `i` inputs,
/// in random directions, along the sort key and across it.
fn check_radius(s: usize, i: usize, seed: u64) {
    let mut rng = Rng(seed);
    {
        let d = s + i;
        for tol in [1e-3, 2e-2, 0.3] {
            let mut dirs: Vec<Vec<f64>> = (0..6).map(|_| unit(&mut rng, d)).collect();
            // Along the first coordinate (the sweep's sort key) and, where there is one,
            // orthogonal to it.
            let mut e0 = vec![0.0; d];
            e0[0] = 1.0;
            dirs.push(e0);
            if d > 1 {
                let mut e1 = vec![0.0; d];
                e1[d - 1] = 1.0;
                dirs.push(e1);
            }
            for (k, dir) in dirs.iter().enumerate() {
                let mut p = rng.vec(d, 1.0);
                p[0] += 3.0; // positive, well away from 0, for the sweep
                let label = format!("S={s} I={i} tol={tol} direction {k}");
                assert_eq!(
                    n_unique_pair(&p, dir, 0.9 * tol, s, i, tol),
                    1,
                    "{label}: 0.9·tol apart did not merge"
                );
                assert_eq!(
                    n_unique_pair(&p, dir, 1.1 * tol, s, i, tol),
                    2,
                    "{label}: 1.1·tol apart merged"
                );
                // The same with the points in the other order and negative coordinates.
                let neg: Vec<f64> = p.iter().map(|v| -v).collect();
                assert_eq!(
                    n_unique_pair(&neg, dir, -0.9 * tol, s, i, tol),
                    1,
                    "{label}"
                );
                assert_eq!(
                    n_unique_pair(&neg, dir, -1.1 * tol, s, i, tol),
                    2,
                    "{label}"
                );
            }
        }
    }
}

#[test]
fn one_state_merges_within_the_tolerance_only() {
    check_radius(1, 0, 1);
    // With an input, the offset is partly in the input, off the sort key.
    check_radius(1, 1, 2);
}

#[test]
fn three_states_merge_within_the_tolerance_only() {
    check_radius(3, 0, 3);
    check_radius(3, 2, 4);
}

#[test]
fn sixteen_states_merge_within_the_tolerance_only() {
    check_radius(16, 0, 5);
    check_radius(16, 3, 6);
}

#[test]
fn exactly_the_tolerance_apart_is_one_point() {
    let tol = 0.5;
    // Along the sort key: first coordinates 1.0 and 1.5.
    let f = points(&[1.0, 0.0, 1.5, 0.0], &[], &[2.0, 1.0], 2, 0, tol);
    assert_eq!(representatives(&f, tol), vec![1]);
    // Across it.
    let f = points(&[1.0, 0.0, 1.0, 0.5], &[], &[1.0, 2.0], 2, 0, tol);
    assert_eq!(representatives(&f, tol), vec![0]);
    // In the input.
    let f = points(&[1.0, 1.0], &[0.25, 0.75], &[1.0, 2.0], 1, 1, tol);
    assert_eq!(representatives(&f, tol), vec![0]);
    // Tolerance 0: only identical rows merge.
    let f = points(&[1.0, 1.0, 1.0 + 1e-15], &[], &[3.0, 2.0, 1.0], 1, 0, 0.0);
    assert_eq!(representatives(&f, 0.0), vec![1, 2]);
}

#[test]
fn clusters_are_transitive_keep_their_lowest_q_and_do_not_depend_on_order() {
    let tol = 0.1;
    // Two chains in 2-D, each link 0.08 long, ends 0.24 apart; a lone point; a tie.
    let xs = [
        0.0, 0.0, // 0 chain A
        0.0, 0.08, // 1 chain A
        0.0, 0.16, // 2 chain A
        0.0, 0.24, // 3 chain A
        5.0, 5.0, // 4 chain B
        5.08, 5.0, // 5 chain B
        -3.0, 1.0, // 6 alone
        2.0, 2.0, // 7 tie
        2.0, 2.05, // 8 tie
    ];
    let q = [4.0, 3.0, 0.5, 9.0, 2.0, 1.0, 7.0, 1.0, 1.0];
    let f = points(&xs, &[], &q, 2, 0, tol);
    assert_eq!(representatives(&f, tol), vec![2, 5, 6, 7]);
    let u = f.get_unique();
    assert_eq!(u.qstar, vec![0.5, 1.0, 7.0, 1.0]);
    // Reversed input order: the same points represent the same clusters.
    let n = q.len();
    let rev: Vec<usize> = (0..n).rev().collect();
    let g = f.subset(&rev);
    let reps: Vec<usize> = representatives(&g, tol).iter().map(|&k| rev[k]).collect();
    let mut reps_sorted = reps.clone();
    reps_sorted.sort_unstable();
    // Ties go to the lowest index, which is now the other point of the tie.
    assert_eq!(reps_sorted, vec![2, 5, 6, 8]);
    let r = representatives(&g, tol);
    assert!(r.windows(2).all(|w| w[0] < w[1]), "{r:?}");
    // A chain whose members sort far apart on the first coordinate still joins through
    // the middle (first coordinates 0, 0.09, 0.18 with tol 0.1).
    let f = points(&[0.18, 0.0, 0.09], &[], &[1.0, 2.0, 3.0], 1, 0, tol);
    assert_eq!(representatives(&f, tol), vec![0]);
    // Many points, merged by a large tolerance: one cluster, its lowest q kept.
    let mut rng = Rng(3);
    let xs = rng.vec(50 * 3, 0.2);
    let q: Vec<f64> = (0..50).map(|k| ((k * 37) % 50) as f64).collect();
    let f = points(&xs, &[], &q, 3, 0, 10.0);
    let lowest = (0..50).find(|&k| q[k] == 0.0).unwrap();
    assert_eq!(representatives(&f, 10.0), vec![lowest]);
}

#[test]
fn distance_outliers_are_measured_against_the_inits() {
    // Inits at (±1, 0) and (0, ±1)... centred at (1, 1): mean distance 1.
    let inits = [2.0, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0, 0.0];
    let xs = [1.0, 1.0, 1.0, 2.9, 1.0, 3.1, -0.9, 1.0, -1.1, 1.0];
    let f = points(&xs, &[], &[0.0; 5], 2, 0, 0.1);
    assert_eq!(within_distance(&f, &inits, 2.0), vec![0, 1, 3]);
    assert_eq!(within_distance(&f, &inits, 100.0), vec![0, 1, 2, 3, 4]);
    // Exactly `scale` mean distances away is an outlier (the test is `<`).
    let f = points(
        &[1.0, 3.0, 1.0, 1.0 + 2.0 - 1e-9],
        &[],
        &[0.0; 2],
        2,
        0,
        0.1,
    );
    assert_eq!(within_distance(&f, &inits, 2.0), vec![1]);
    // Distances are in units of the mean distance: inits at distance 2 from (0, 0).
    let wide = [2.0, 0.0, -2.0, 0.0, 0.0, 2.0, 0.0, -2.0];
    let f = points(&[0.0, 3.0, 0.0, 3.9, 4.1, 0.0], &[], &[0.0; 3], 2, 0, 0.1);
    assert_eq!(within_distance(&f, &wide, 2.0), vec![0, 1]);
    // Inits all at one point: only points exactly there are kept.
    let f = points(&[1.0, 1.0, 1.0, 1.0 + 1e-12], &[], &[0.0; 2], 2, 0, 0.1);
    assert_eq!(within_distance(&f, &[1.0, 1.0, 1.0, 1.0], 10.0), vec![0]);
    // No inits: everything is kept.
    assert_eq!(within_distance(&f, &[], 10.0), vec![0, 1]);
}

#[test]
fn median_of_odd_and_even_lengths() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    assert_eq!(median(&[5.0]), 5.0);
    assert_eq!(median(&[4.0, 1.0]), 2.5);
    assert!(median(&[]).is_nan());
}
