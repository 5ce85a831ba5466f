//! The q-minimization against an independent f64 reference written out here from the
//! definitions: q and its gradient of a tanh cell by hand, bias-corrected Adam (Kingma & Ba),
//! the reduce-on-plateau schedule, fixed and adaptive gradient clipping and the stopping
//! rule, jointly (one optimizer and one schedule on the mean q) and sequentially (each state
//! its own optimizer and schedule). Newton is off: the trajectory is Adam's alone.

#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use fpf_core::cell::{Cell, CellKind, CellShape};
use fpf_core::find::qmin::{self, QminOutput, QminReport, Stop};
use fpf_core::find::{FindError, FinderOptions, Method, Progress};

/// A tanh cell `F(h) = tanh(u W_x + h W_h + b)` (row-vector convention), by hand.
struct Net {
    ni: usize,
    nh: usize,
    wx: Vec<f64>,
    wh: Vec<f64>,
    b: Vec<f64>,
}

impl Net {
    fn random(ni: usize, nh: usize, gain: f64, seed: u64) -> Net {
        let mut rng = Rng(seed);
        let s = gain / (nh as f64).sqrt();
        Net {
            ni,
            nh,
            wx: rng.vec(ni * nh, 0.5),
            wh: rng.vec(nh * nh, s),
            b: rng.vec(nh, 0.2),
        }
    }

    fn params(&self) -> Vec<f64> {
        [&self.wx[..], &self.wh, &self.b].concat()
    }

    fn shape(&self) -> CellShape {
        CellShape::new(CellKind::Tanh, self.ni, self.nh)
    }

    fn step(&self, u: &[f64], h: &[f64]) -> Vec<f64> {
        (0..self.nh)
            .map(|j| {
                let mut a = self.b[j];
                for i in 0..self.ni {
                    a += u[i] * self.wx[i * self.nh + j];
                }
                for i in 0..self.nh {
                    a += h[i] * self.wh[i * self.nh + j];
                }
                a.tanh()
            })
            .collect()
    }

    /// `(q, ∇q, F(h))` with `q = ½‖h − F(h)‖²`, `∇q = r − J_Fᵀ r`.
    fn q_grad(&self, u: &[f64], h: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        let f = self.step(u, h);
        let r: Vec<f64> = h.iter().zip(&f).map(|(a, b)| a - b).collect();
        let q = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
        let g = (0..self.nh)
            .map(|i| {
                let jt_r: f64 = (0..self.nh)
                    .map(|j| (1.0 - f[j] * f[j]) * self.wh[i * self.nh + j] * r[j])
                    .sum();
                r[i] - jt_r
            })
            .collect();
        (q, g, f)
    }
}

/// Reduce-on-plateau, from its definition.
struct Plateau {
    lr: f64,
    factor: f64,
    patience: u32,
    cooldown: u32,
    best: f64,
    bad: u32,
    cooling: u32,
}

impl Plateau {
    fn new(o: &FinderOptions) -> Plateau {
        Plateau {
            lr: o.lr_init,
            factor: o.lr_factor,
            patience: o.lr_patience,
            cooldown: o.lr_cooldown,
            best: f64::INFINITY,
            bad: 0,
            cooling: 0,
        }
    }
    fn observe(&mut self, v: f64) -> f64 {
        if v < self.best {
            self.best = v;
            self.bad = 0;
        } else {
            self.bad += 1;
        }
        if self.cooling > 0 {
            self.cooling -= 1;
            self.bad = 0;
        } else if self.bad > self.patience {
            self.lr *= self.factor;
            self.cooling = self.cooldown;
            self.bad = 0;
        }
        self.lr
    }
}

fn clip(g: &mut [f64], max: f64) -> f64 {
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > max && norm > 0.0 {
        for v in g.iter_mut() {
            *v *= max / norm;
        }
    }
    norm
}

/// The reference's result for one block of states.
struct RefBlock {
    x: Vec<Vec<f64>>,
    q: Vec<f64>,
    fx: Vec<Vec<f64>>,
    dq: Vec<f64>,
    n_iters: Vec<usize>,
    stop: Stop,
    lr: f64,
    progress: Vec<Progress>,
    /// The rate each Adam step used.
    step_lrs: Vec<f64>,
}

/// Adam on the mean q of the block `x` (one input row per state), as the finder's options
/// say, for at most `max_iters` steps.
fn reference_block(
    net: &Net,
    o: &FinderOptions,
    max_iters: usize,
    mut x: Vec<Vec<f64>>,
    u: &[Vec<f64>],
    first: usize,
) -> RefBlock {
    let (n, s) = (x.len(), net.nh);
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
    let mut m = vec![vec![0.0; s]; n];
    let mut v = vec![vec![0.0; s]; n];
    let mut norm_avg = vec![0.0; n];
    let mut q_prev = vec![0.0; n];
    let mut q = vec![0.0; n];
    let mut dq = vec![0.0; n];
    let mut fx = vec![vec![0.0; s]; n];
    let mut n_iters = vec![0; n];
    let mut sched = Plateau::new(o);
    let mut lr = o.lr_init;
    let mut progress = Vec::new();
    let mut step_lrs = Vec::new();
    let mut grads = vec![vec![0.0; s]; n];
    let mut frozen = vec![false; n];
    for iter in 0..=max_iters {
        let stepping = iter < max_iters;
        let mut all_done = true;
        for i in 0..n {
            // A frozen state keeps what it had when it met the rule.
            if frozen[i] {
                continue;
            }
            let (qi, gi, fi) = net.q_grad(&u[i], &x[i]);
            dq[i] = if iter == 0 {
                0.0
            } else {
                (qi - q_prev[i]).abs()
            };
            q[i] = qi;
            fx[i] = fi;
            grads[i] = gi;
            n_iters[i] = iter;
            let done = qi < o.tol_q || (iter > 0 && dq[i] < o.tol_dq * lr);
            frozen[i] = done && o.freeze_converged;
            all_done &= done;
        }
        let nf = n as f64;
        let mean = |a: &[f64]| a.iter().sum::<f64>() / nf;
        let std = |a: &[f64]| {
            let mu = mean(a);
            (a.iter().map(|v| v * v).sum::<f64>() / nf - mu * mu)
                .max(0.0)
                .sqrt()
        };
        progress.push(Progress {
            iter,
            first_state: first,
            n_states: n,
            q_mean: mean(&q),
            q_std: std(&q),
            dq_mean: mean(&dq),
            dq_std: std(&dq),
            lr,
            done: all_done || !stepping,
        });
        if all_done {
            return RefBlock {
                x,
                q,
                fx,
                dq,
                n_iters,
                stop: Stop::Converged,
                lr,
                progress,
                step_lrs,
            };
        }
        if !stepping {
            break;
        }
        lr = sched.observe(mean(&q));
        step_lrs.push(lr);
        let t = (iter + 1) as i32;
        for i in 0..n {
            if frozen[i] {
                continue;
            }
            // The gradient of the mean q.
            let mut g: Vec<f64> = grads[i].iter().map(|v| v / nf).collect();
            if o.max_grad_norm > 0.0 {
                clip(&mut g, o.max_grad_norm);
            }
            if o.adaptive_grad_clip > 0.0 {
                let limit = if norm_avg[i] > 0.0 {
                    o.adaptive_grad_clip * norm_avg[i]
                } else {
                    f64::INFINITY
                };
                let norm = clip(&mut g, limit);
                norm_avg[i] = (norm_avg[i] * iter as f64 + norm) / (iter as f64 + 1.0);
            }
            for k in 0..s {
                m[i][k] = b1 * m[i][k] + (1.0 - b1) * g[k];
                v[i][k] = b2 * v[i][k] + (1.0 - b2) * g[k] * g[k];
                let m_hat = m[i][k] / (1.0 - b1.powi(t));
                let v_hat = v[i][k] / (1.0 - b2.powi(t));
                x[i][k] -= lr * m_hat / (v_hat.sqrt() + eps);
            }
            q_prev[i] = q[i];
        }
    }
    RefBlock {
        x,
        q,
        fx,
        dq,
        n_iters,
        stop: Stop::MaxIters,
        lr,
        progress,
        step_lrs,
    }
}

/// What the library returned.
struct Run {
    x: Vec<f64>,
    q: Vec<f64>,
    fx: Vec<f64>,
    dq: Vec<f64>,
    n_iters: Vec<usize>,
    report: QminReport,
    progress: Vec<Progress>,
}

fn run_lib(net: &Net, o: &FinderOptions, x0: &[f64], inputs: &[f64]) -> Run {
    let p = net.params();
    let cell = Cell::from_flat(net.shape(), &p).unwrap();
    let n = x0.len() / net.nh;
    let mut x = x0.to_vec();
    let (mut q, mut fx, mut dq, mut n_iters) = (
        vec![0.0; n],
        vec![0.0; n * net.nh],
        vec![0.0; n],
        vec![0; n],
    );
    let mut work = vec![0.0; qmin::work_len(&cell, n, o)];
    let mut progress = Vec::new();
    let mut cb = |p: &Progress| {
        progress.push(*p);
        true
    };
    let report = qmin::minimize(
        &cell,
        o,
        inputs,
        &mut x,
        QminOutput {
            q: &mut q,
            fx: &mut fx,
            dq: &mut dq,
            n_iters: &mut n_iters,
        },
        &mut work,
        Some(&mut cb),
    )
    .unwrap();
    Run {
        x,
        q,
        fx,
        dq,
        n_iters,
        report,
        progress,
    }
}

fn rows(v: &[f64], w: usize) -> Vec<Vec<f64>> {
    v.chunks_exact(w).map(|r| r.to_vec()).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn assert_block_matches(lib: &Run, r: &RefBlock, offset: usize, s: usize, label: &str) {
    for (k, xi) in r.x.iter().enumerate() {
        let i = offset + k;
        for j in 0..s {
            let (a, b) = (lib.x[i * s + j], xi[j]);
            assert!(
                (a - b).abs() < 1e-12,
                "{label}: x*[{i}][{j}] = {a} vs reference {b}"
            );
            let (a, b) = (lib.fx[i * s + j], r.fx[k][j]);
            assert!((a - b).abs() < 1e-12, "{label}: F(x*)[{i}][{j}] {a} vs {b}");
        }
        assert!(
            close(lib.q[i], r.q[k], 1e-9),
            "{label}: q[{i}] {} vs {}",
            lib.q[i],
            r.q[k]
        );
        assert!(
            (lib.dq[i] - r.dq[k]).abs() <= 1e-9 * r.q[k].max(1e-12),
            "{label}: dq[{i}] {} vs {}",
            lib.dq[i],
            r.dq[k]
        );
        assert_eq!(lib.n_iters[i], r.n_iters[k], "{label}: n_iters[{i}]");
    }
}

fn assert_progress_matches(lib: &[Progress], want: &[Progress], label: &str) {
    assert_eq!(lib.len(), want.len(), "{label}: number of progress calls");
    for (a, b) in lib.iter().zip(want) {
        let tag = format!("{label}: iteration {} of block {}", b.iter, b.first_state);
        assert_eq!(
            (a.iter, a.first_state, a.n_states, a.done),
            (b.iter, b.first_state, b.n_states, b.done),
            "{tag}"
        );
        assert_eq!(a.lr, b.lr, "{tag}: lr");
        assert!(close(a.q_mean, b.q_mean, 1e-9), "{tag}: q_mean {a:?} {b:?}");
        assert!(
            (a.q_std - b.q_std).abs() <= 1e-6 * b.q_mean,
            "{tag}: q_std {a:?} {b:?}"
        );
        assert!(
            (a.dq_mean - b.dq_mean).abs() <= 1e-9 * b.q_mean,
            "{tag}: dq_mean {a:?} {b:?}"
        );
        assert!(
            (a.dq_std - b.dq_std).abs() <= 1e-6 * b.q_mean,
            "{tag}: dq_std {a:?} {b:?}"
        );
    }
}

fn opts(lr_init: f64, max_iters: usize) -> FinderOptions {
    FinderOptions {
        method: Method::Joint,
        max_iters,
        lr_init,
        tol_q: 0.0,
        tol_dq: 0.0,
        newton_polish: false,
        single_precision: false,
        // The reference's iteration; `freezing_stops_each_state_where_it_meets_the_rule`
        // covers the default.
        freeze_converged: false,
        ..FinderOptions::default()
    }
}

fn setup(n: usize, seed: u64) -> (Net, Vec<f64>, Vec<f64>) {
    let net = Net::random(2, 3, 1.8, seed);
    let mut rng = Rng(seed + 100);
    let x0 = rng.vec(n * 3, 0.8);
    let inputs = rng.vec(n * 2, 0.5);
    (net, x0, inputs)
}

fn check_joint(net: &Net, o: &FinderOptions, x0: &[f64], inputs: &[f64], label: &str) -> RefBlock {
    let s = net.nh;
    let n = x0.len() / s;
    let lib = run_lib(net, o, x0, inputs);
    let u = if inputs.len() == net.ni {
        vec![inputs.to_vec(); n]
    } else {
        rows(inputs, net.ni)
    };
    let r = reference_block(net, o, o.max_iters, rows(x0, s), &u, 0);
    assert_block_matches(&lib, &r, 0, s, label);
    assert_progress_matches(&lib.progress, &r.progress, label);
    assert_eq!(lib.report.stop, r.stop, "{label}");
    assert_eq!(lib.report.final_lr, r.lr, "{label}");
    assert_eq!(
        lib.report.max_iters_used,
        *r.n_iters.iter().max().unwrap(),
        "{label}"
    );
    let conv = if r.stop == Stop::Converged { n } else { 0 };
    assert_eq!(lib.report.n_converged, conv, "{label}");
    r
}

#[test]
fn joint_adam_follows_the_reference_at_a_constant_rate() {
    let (net, x0, inputs) = setup(4, 1);
    // A long patience: the rate never drops, every step is taken at lr_init.
    let o = FinderOptions {
        lr_patience: 1000,
        ..opts(0.05, 60)
    };
    let r = check_joint(&net, &o, &x0, &inputs[..2], "constant rate, shared input");
    assert!(r.step_lrs.iter().all(|&l| l == 0.05));
    assert_eq!(r.stop, Stop::MaxIters);
}

#[test]
fn joint_adam_takes_the_scheduled_rate_when_the_plateau_lowers_it() {
    let (net, x0, inputs) = setup(4, 2);
    // A large rate makes mean q go up and down: with patience 1 the schedule halves the rate
    // several times, and with a cooldown of 2 the drops are spaced out.
    let o = FinderOptions {
        lr_factor: 0.5,
        lr_patience: 1,
        lr_cooldown: 2,
        ..opts(0.5, 80)
    };
    let r = check_joint(&net, &o, &x0, &inputs, "plateau, one input row per state");
    let drops = r.step_lrs.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(
        drops >= 2,
        "the schedule never lowered the rate: {:?}",
        r.step_lrs
    );
    assert!(r.lr < 0.5 / 2.0);
    // The default schedule (factor 0.95, patience 5) on a slower rate also drops.
    let o = FinderOptions {
        lr_patience: 0,
        ..opts(0.2, 50)
    };
    let r = check_joint(&net, &o, &x0, &inputs, "factor 0.95, patience 0");
    assert!(r.lr < 0.2, "{:?}", r.step_lrs);
}

#[test]
fn sequential_runs_one_optimizer_and_one_schedule_per_state() {
    let (net, x0, inputs) = setup(3, 3);
    let s = net.nh;
    let o = FinderOptions {
        method: Method::Sequential,
        lr_factor: 0.5,
        lr_patience: 1,
        ..opts(0.4, 70)
    };
    let lib = run_lib(&net, &o, &x0, &inputs);
    let mut want_progress = Vec::new();
    let mut lrs = Vec::new();
    for i in 0..3 {
        let r = reference_block(
            &net,
            &o,
            o.max_iters,
            vec![x0[i * s..(i + 1) * s].to_vec()],
            &[inputs[i * 2..(i + 1) * 2].to_vec()],
            i,
        );
        assert_block_matches(&lib, &r, i, s, &format!("sequential state {i}"));
        want_progress.extend(r.progress);
        lrs.push(r.lr);
    }
    assert_progress_matches(&lib.progress, &want_progress, "sequential");
    assert_eq!(lib.report.final_lr, lrs[2]);
    assert_eq!(lib.report.stop, Stop::MaxIters);
    assert_eq!(lib.report.n_converged, 0);
    assert_eq!(lib.report.max_iters_used, 70);
    // The schedules differ per state, and the joint run is another trajectory.
    assert!(lrs.iter().any(|&l| l < 0.4), "{lrs:?}");
    let joint = run_lib(
        &net,
        &FinderOptions {
            method: Method::Joint,
            ..o
        },
        &x0,
        &inputs,
    );
    let diff = joint
        .x
        .iter()
        .zip(&lib.x)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff > 1e-6, "joint and sequential agree to {diff:e}");
}

#[test]
fn sequential_states_stop_on_their_own() {
    let (net, x0, inputs) = setup(3, 4);
    let s = net.nh;
    // tol_q loose enough that the states stop after different numbers of steps.
    let o = FinderOptions {
        method: Method::Sequential,
        tol_q: 1e-3,
        ..opts(0.05, 400)
    };
    let lib = run_lib(&net, &o, &x0, &inputs);
    let mut n_conv = 0;
    let mut worst = Stop::Converged;
    for i in 0..3 {
        let r = reference_block(
            &net,
            &o,
            o.max_iters,
            vec![x0[i * s..(i + 1) * s].to_vec()],
            &[inputs[i * 2..(i + 1) * 2].to_vec()],
            i,
        );
        assert_block_matches(&lib, &r, i, s, &format!("state {i}"));
        match r.stop {
            Stop::Converged => n_conv += 1,
            Stop::MaxIters => worst = Stop::MaxIters,
        }
    }
    assert_eq!(lib.report.n_converged, n_conv);
    assert_eq!(lib.report.stop, worst);
    assert_eq!(
        lib.report.max_iters_used,
        *lib.n_iters.iter().max().unwrap()
    );
    assert!(n_conv >= 1, "{:?}", lib.n_iters);
    let mut it = lib.n_iters.clone();
    it.dedup();
    assert!(
        it.len() > 1,
        "every state stopped together: {:?}",
        lib.n_iters
    );
}

#[test]
fn joint_stopping_rule_waits_for_every_state() {
    let (net, x0, inputs) = setup(4, 5);
    // tol_q: the joint run stops when the last state meets it.
    let o = FinderOptions {
        tol_q: 5e-3,
        ..opts(0.05, 400)
    };
    let r = check_joint(&net, &o, &x0, &inputs, "tol_q");
    assert_eq!(r.stop, Stop::Converged);
    assert!(r.q.iter().all(|&q| q < 5e-3));
    let it = r.n_iters[0];
    assert!(it > 1 && it < 400, "{it}");
    // tol_dq: stop once every |Δq| < tol_dq · lr.
    let o = FinderOptions {
        tol_dq: 1e-4,
        ..opts(0.05, 400)
    };
    let r = check_joint(&net, &o, &x0, &inputs, "tol_dq");
    assert_eq!(r.stop, Stop::Converged);
    assert!(r.n_iters[0] > 1 && r.n_iters[0] < 400);
}

#[test]
fn freezing_stops_each_state_where_it_meets_the_rule() {
    let (net, x0, inputs) = setup(6, 5);
    for (label, o) in [
        (
            "freeze, tol_q",
            FinderOptions {
                tol_q: 5e-3,
                freeze_converged: true,
                ..opts(0.05, 400)
            },
        ),
        (
            "freeze, tol_dq, clipping",
            FinderOptions {
                tol_dq: 1e-4,
                adaptive_grad_clip: 1.1,
                freeze_converged: true,
                ..opts(0.05, 400)
            },
        ),
    ] {
        let r = check_joint(&net, &o, &x0, &inputs, label);
        assert_eq!(r.stop, Stop::Converged, "{label}");
        // The states stopped at different iterations, each where it met the rule.
        let (lo, hi) = (
            r.n_iters.iter().min().unwrap(),
            r.n_iters.iter().max().unwrap(),
        );
        assert!(lo < hi && *hi < 400, "{label}: {:?}", r.n_iters);
    }
}

#[test]
fn clipping_follows_the_reference() {
    let (net, x0, inputs) = setup(4, 6);
    // Fixed clipping well below the gradients' norms (of the mean q), with a schedule.
    let o = FinderOptions {
        max_grad_norm: 1e-3,
        lr_factor: 0.5,
        lr_patience: 2,
        ..opts(0.1, 50)
    };
    check_joint(&net, &o, &x0, &inputs, "max_grad_norm");
    // Adaptive clipping, alone and on top of the fixed clip.
    let o = FinderOptions {
        adaptive_grad_clip: 1.1,
        ..opts(0.1, 50)
    };
    check_joint(&net, &o, &x0, &inputs, "adaptive_grad_clip");
    // Below 1 the adaptive clip binds at nearly every step, and its path is another.
    let o = FinderOptions {
        adaptive_grad_clip: 0.7,
        ..opts(0.1, 50)
    };
    check_joint(&net, &o, &x0, &inputs, "adaptive_grad_clip 0.7");
    let free = run_lib(&net, &opts(0.1, 50), &x0, &inputs);
    let adaptive = run_lib(&net, &o, &x0, &inputs);
    let diff = free
        .x
        .iter()
        .zip(&adaptive.x)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff > 1e-6, "adaptive clipping changed nothing: {diff:e}");
    let o = FinderOptions {
        adaptive_grad_clip: 1.1,
        max_grad_norm: 2e-3,
        ..opts(0.1, 50)
    };
    check_joint(&net, &o, &x0, &inputs, "both clips");
    let o = FinderOptions {
        method: Method::Sequential,
        adaptive_grad_clip: 1.1,
        max_grad_norm: 2e-3,
        ..opts(0.1, 40)
    };
    let lib = run_lib(&net, &o, &x0, &inputs);
    for i in 0..4 {
        let r = reference_block(
            &net,
            &o,
            o.max_iters,
            vec![x0[i * 3..(i + 1) * 3].to_vec()],
            &[inputs[i * 2..(i + 1) * 2].to_vec()],
            i,
        );
        assert_block_matches(&lib, &r, i, 3, &format!("sequential clip {i}"));
    }
    // The clip acts: without it the trajectory is another.
    let unclipped = run_lib(&net, &opts(0.1, 50), &x0, &inputs);
    let clipped = run_lib(
        &net,
        &FinderOptions {
            max_grad_norm: 1e-3,
            ..opts(0.1, 50)
        },
        &x0,
        &inputs,
    );
    let diff = unclipped
        .x
        .iter()
        .zip(&clipped.x)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff > 1e-6, "{diff:e}");
}

#[test]
fn newton_method_takes_no_adam_step() {
    let (net, x0, inputs) = setup(3, 7);
    let o = FinderOptions {
        method: Method::Newton,
        ..opts(0.1, 50)
    };
    let lib = run_lib(&net, &o, &x0, &inputs);
    assert_eq!(lib.x, x0);
    assert_eq!(lib.n_iters, vec![0; 3]);
    assert_eq!(lib.dq, vec![0.0; 3]);
    for i in 0..3 {
        let (q, _, f) = net.q_grad(&inputs[i * 2..(i + 1) * 2], &x0[i * 3..(i + 1) * 3]);
        assert!(close(lib.q[i], q, 1e-12));
        for j in 0..3 {
            assert!((lib.fx[i * 3 + j] - f[j]).abs() < 1e-14);
        }
    }
    assert_eq!(lib.report.max_iters_used, 0);
    assert_eq!(lib.report.final_lr, 0.1);
    assert_eq!(lib.progress.len(), 3);
    assert!(lib.progress.iter().all(|p| p.done && p.iter == 0));
}

#[test]
fn cancellation_and_divergence_are_errors() {
    let (net, x0, inputs) = setup(2, 8);
    let p = net.params();
    let cell = Cell::from_flat(net.shape(), &p).unwrap();
    let o = opts(0.1, 50);
    let mut x = x0.clone();
    let (mut q, mut fx, mut dq, mut it) = (vec![0.0; 2], vec![0.0; 6], vec![0.0; 2], vec![0; 2]);
    let mut work = vec![0.0; qmin::work_len(&cell, 2, &o)];
    let mut calls = 0;
    let mut stop = |p: &Progress| {
        calls += 1;
        p.iter < 5
    };
    let e = qmin::minimize(
        &cell,
        &o,
        &inputs,
        &mut x,
        QminOutput {
            q: &mut q,
            fx: &mut fx,
            dq: &mut dq,
            n_iters: &mut it,
        },
        &mut work,
        Some(&mut stop),
    );
    assert_eq!(e.unwrap_err(), FindError::Cancelled);
    assert_eq!(calls, 6);
    // The workspace is checked.
    let short = qmin::minimize(
        &cell,
        &o,
        &inputs,
        &mut x,
        QminOutput {
            q: &mut q,
            fx: &mut fx,
            dq: &mut dq,
            n_iters: &mut it,
        },
        &mut work[..1],
        None,
    );
    assert!(matches!(short, Err(FindError::Workspace { .. })));
    // A huge initial state makes q infinite: the state's index is named.
    let mut far = x0.clone();
    far[4] = 1e300;
    let e = qmin::minimize(
        &cell,
        &o,
        &inputs,
        &mut far,
        QminOutput {
            q: &mut q,
            fx: &mut fx,
            dq: &mut dq,
            n_iters: &mut it,
        },
        &mut work,
        None,
    );
    assert_eq!(e.unwrap_err(), FindError::Diverged { state: 1 });
}

#[test]
fn zero_tolerances_never_stop_early() {
    // At an exact fixed point (the origin of a bias-free tanh cell at input 0) q and |Δq| are
    // exactly 0: with tol_q = tol_dq = 0 the strict tests `q < tol_q`, `|Δq| < tol_dq · lr`
    // never hold, so every iteration runs.
    let mut net = Net::random(2, 3, 1.8, 9);
    net.b = vec![0.0; 3];
    for method in [Method::Joint, Method::Sequential] {
        let o = FinderOptions {
            method,
            ..opts(0.1, 25)
        };
        let lib = run_lib(&net, &o, &[0.0; 6], &[0.0; 2]);
        assert_eq!(lib.x, vec![0.0; 6]);
        assert_eq!(lib.q, vec![0.0; 2]);
        assert_eq!(lib.n_iters, vec![25; 2], "{method:?}");
        assert_eq!(lib.report.stop, Stop::MaxIters);
        assert_eq!(lib.report.n_converged, 0);
        // A tolerance above 0 stops at once.
        let o = FinderOptions { tol_q: 1e-300, ..o };
        let lib = run_lib(&net, &o, &[0.0; 6], &[0.0; 2]);
        assert_eq!(lib.n_iters, vec![0; 2]);
        assert_eq!(lib.report.stop, Stop::Converged);
        assert_eq!(lib.report.n_converged, 2);
    }
    // A mean q that stays equal (0 here) is no improvement: the schedule lowers the rate
    // after every `lr_patience + 1` equal values.
    let o = FinderOptions {
        lr_factor: 0.5,
        lr_patience: 2,
        ..opts(0.1, 25)
    };
    let r = check_joint(&net, &o, &[0.0; 6], &[0.0; 2], "constant q");
    let drops: Vec<usize> = (1..r.step_lrs.len())
        .filter(|&i| r.step_lrs[i] < r.step_lrs[i - 1])
        .collect();
    assert_eq!(drops, vec![3, 6, 9, 12, 15, 18, 21, 24], "{:?}", r.step_lrs);
}

/// `G(x)` (the cell's step applied `period` times), `q = ½‖x − G(x)‖²` and
/// `∇q = r − J_Gᵀ r` from `period` steps forward and `period` VJPs backward, composed here
/// from `Cell::step` and `Cell::vjp` (both checked against finite differences in
/// tests/cells.rs).
fn composed(
    cell: &Cell<'_, f64>,
    u: &[f64],
    x: &[f64],
    period: usize,
) -> (f64, Vec<f64>, Vec<f64>) {
    let s = cell.shape();
    let mut states = vec![x.to_vec()];
    let mut caches = Vec::new();
    for t in 0..period {
        let mut next = vec![0.0; s.state_dim()];
        let mut cache = vec![0.0; s.cache_len()];
        cell.step(u, &states[t], &mut next, &mut cache).unwrap();
        states.push(next);
        caches.push(cache);
    }
    let gx = states[period].clone();
    let r: Vec<f64> = x.iter().zip(&gx).map(|(a, b)| a - b).collect();
    let q = 0.5 * r.iter().map(|v| v * v).sum::<f64>();
    let mut g = r.clone();
    let mut scratch = vec![0.0; s.scratch_len()];
    for t in (0..period).rev() {
        let mut gh = vec![0.0; s.state_dim()];
        cell.vjp(
            u,
            &states[t],
            &caches[t],
            &g,
            &mut gh,
            None,
            None,
            &mut scratch,
        )
        .unwrap();
        g = gh;
    }
    let grad = r.iter().zip(&g).map(|(a, b)| a - b).collect();
    (q, gx, grad)
}

/// The q-minimization of the k-fold map (period 2 and 3) for every cell kind, one state in a
/// workspace of exactly `qmin::work_len`: the Adam trajectory (which mixes the gradients of
/// successive iterates), q and `G(x)` where it stops, against Adam at a constant rate on the
/// composition of single steps.
#[test]
fn period_k_minimization_of_every_cell_matches_composed_steps() {
    for kind in CellKind::ALL {
        for nh in [1, 4] {
            for period in [2, 3] {
                let label = format!("{kind:?} H={nh} period {period}");
                let shape = CellShape::new(kind, 2, nh);
                let mut rng = Rng(7 + nh as u64 + 10 * period as u64);
                let p = rng.vec(shape.n_params(), 1.2 / (nh as f64).sqrt());
                let cell = Cell::from_flat(shape, &p).unwrap();
                let sd = shape.state_dim();
                let u = rng.vec(2, 0.5);
                let x0 = rng.vec(sd, 0.6);
                let lr = 1e-3;
                for iters in [1, 8] {
                    let o = FinderOptions {
                        period,
                        lr_patience: 1000,
                        ..opts(lr, iters)
                    };
                    let mut x = x0.clone();
                    let (mut q, mut fx, mut dq, mut n_iters) =
                        (vec![0.0], vec![0.0; sd], vec![0.0], vec![0]);
                    let mut work = vec![0.0; qmin::work_len(&cell, 1, &o)];
                    qmin::minimize(
                        &cell,
                        &o,
                        &u,
                        &mut x,
                        QminOutput {
                            q: &mut q,
                            fx: &mut fx,
                            dq: &mut dq,
                            n_iters: &mut n_iters,
                        },
                        &mut work,
                        None,
                    )
                    .unwrap_or_else(|e| panic!("{label}: {e:?}"));
                    // Adam (Kingma & Ba, bias-corrected) on the composed q.
                    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
                    let (mut xr, mut m, mut v) = (x0.clone(), vec![0.0; sd], vec![0.0; sd]);
                    for t in 1..=iters as i32 {
                        let (_, _, g) = composed(&cell, &u, &xr, period);
                        for k in 0..sd {
                            m[k] = b1 * m[k] + (1.0 - b1) * g[k];
                            v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
                            let (m_hat, v_hat) =
                                (m[k] / (1.0 - b1.powi(t)), v[k] / (1.0 - b2.powi(t)));
                            xr[k] -= lr * m_hat / (v_hat.sqrt() + eps);
                        }
                    }
                    for k in 0..sd {
                        assert!(
                            close(x[k], xr[k], 1e-10),
                            "{label}, {iters} steps: x[{k}] {} vs {}",
                            x[k],
                            xr[k]
                        );
                    }
                    let (want_q, want_gx, _) = composed(&cell, &u, &x, period);
                    assert!(
                        close(q[0], want_q, 1e-12),
                        "{label}: q {} vs {want_q}",
                        q[0]
                    );
                    for k in 0..sd {
                        assert!(close(fx[k], want_gx[k], 1e-12), "{label}: G(x)[{k}]");
                    }
                }
            }
        }
    }
}
