//! The main demo: the reference tutorial end to end, natively.
//!
//! `cargo run --release --example flipflop` generates 3-bit flip-flop data, trains a 16-unit
//! tanh RNN, runs it, finds its fixed points from 1024 states sampled along its trajectories
//! (noise 0.4, the tutorial's finder settings), prints the summary and the top-10 table,
//! follows every fixed point along a sustained input on the first bit (0 to 1, by
//! continuation) and writes SVG figures, `continuation.svg` among them: the branches over
//! that input, coloured by stability, with their saddle-nodes. Flags: `--bits N --hidden N --cell tanh|gru|gru_torch|lstm|leaky_tanh|leaky_relu|leaky_softplus|leaky_sigmoid
//! --alpha A --seed N --n-inits N --out-dir DIR --init scaled|tutorial --max-epochs N --period K --checkpoint FILE` (load the
//! model if FILE exists, else train and save it there; `--alpha` is a leaky cell's α, default 1).
//!
//! The default initialization is `scaled` (recurrent weights N(0, 1/H), spectral radius
//! about 1): it trains the 16-unit network to 1e-4 in tens of epochs. `--init tutorial`
//! uses the reference's N(0, 0.5²), which at 16 units starts chaotic and trains 10× slower.

mod plot;

use fpf_core::cell::{CellKind, CellShape};
use fpf_core::find::FinderOptions;
use fpf_std::analysis::continuation::{
    BifurcationKind, ContinuationOptions, InputPath, continue_fixed_points,
};
use fpf_std::analysis::{FixedPointFinder, Pca, Trajectory};
use fpf_std::log::Log;
use fpf_std::model::Model;
use fpf_std::task::flipflop::FlipFlop;
use fpf_std::train::{TrainOptions, train_logged};
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    bits: usize,
    hidden: usize,
    cell: CellKind,
    alpha: f64,
    seed: u64,
    n_inits: usize,
    out_dir: PathBuf,
    scaled_init: bool,
    max_epochs: usize,
    period: usize,
    checkpoint: Option<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        bits: 3,
        hidden: 16,
        cell: CellKind::Tanh,
        alpha: 1.0,
        seed: 42,
        n_inits: 1024,
        out_dir: PathBuf::from("out/flipflop"),
        scaled_init: true,
        max_epochs: 500,
        period: 1,
        checkpoint: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--bits" => a.bits = num(val()?)? as usize,
            "--hidden" => a.hidden = num(val()?)? as usize,
            "--seed" => a.seed = num(val()?)?,
            "--n-inits" => a.n_inits = num(val()?)? as usize,
            "--max-epochs" => a.max_epochs = num(val()?)? as usize,
            "--period" => a.period = num(val()?)? as usize,
            "--checkpoint" => a.checkpoint = Some(PathBuf::from(val()?)),
            "--out-dir" => a.out_dir = PathBuf::from(val()?),
            "--alpha" => {
                let v = val()?;
                a.alpha = v.parse().map_err(|e| format!("--alpha: {e}"))?;
            }
            "--cell" => {
                let v = val()?;
                a.cell = CellKind::from_name(&v).ok_or(format!("unknown cell `{v}`"))?;
            }
            "--init" => match val()?.as_str() {
                "tutorial" => a.scaled_init = false,
                "scaled" => a.scaled_init = true,
                v => return Err(format!("unknown init `{v}` (tutorial or scaled)")),
            },
            "-h" | "--help" => {
                return Err(
                    "usage: flipflop [--bits N] [--hidden N] [--cell tanh|gru|gru_torch|lstm|\
                            leaky_tanh|leaky_relu|leaky_softplus|leaky_sigmoid] [--alpha A] \
                            [--seed N] [--n-inits N] [--out-dir DIR] [--init tutorial|scaled] \
                            [--max-epochs N] [--period K] [--checkpoint FILE]"
                        .into(),
                );
            }
            other => return Err(format!("unknown flag `{other}` (try --help)")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let t_all = Instant::now();
    let n_time = 64;
    println!(
        "\n--- Running FlipFlop Task ({}_bit, {} {} units) ---",
        a.bits,
        a.hidden,
        a.cell.name()
    );
    println!("Seed: {}", a.seed);

    // Data.
    let t = Instant::now();
    let task = FlipFlop::new(a.bits, n_time, 0.5);
    let train_data = task.generate(512, a.seed)?;
    let valid_data = task.generate(128, a.seed.wrapping_add(1))?;
    let test_data = task.generate(128, a.seed.wrapping_add(2))?;
    let t_data = t.elapsed();

    // Model and training (f32, like the reference).
    let shape = CellShape::new(a.cell, a.bits, a.hidden).with_alpha(a.alpha);
    shape.validate().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let (model, epochs, final_loss) = match &a.checkpoint {
        Some(path) if path.exists() => {
            // A checkpoint of another cell or size is an error naming the mismatch.
            let m: Model<f32> = fpf_std::checkpoint::load_model(path)?;
            if *m.shape() != shape || m.n_outputs() != a.bits {
                return Err(format!(
                    "checkpoint {} holds a {} network with {} inputs and {} units, not the {} \
                     network with {} inputs and {} units asked for",
                    path.display(),
                    m.kind().name(),
                    m.n_inputs(),
                    m.n_hidden(),
                    a.cell.name(),
                    a.bits,
                    a.hidden
                )
                .into());
            }
            println!("Loaded model from checkpoint: {}", path.display());
            (m, 0, f64::NAN)
        }
        _ => {
            if let Some(path) = &a.checkpoint {
                println!("No checkpoint found ({}). Training...", path.display());
            }
            let mut model: Model<f32> = if a.scaled_init {
                Model::init_scaled(shape, a.bits, a.seed)?
            } else {
                Model::init_random(shape, a.bits, a.seed)?
            };
            let opts = TrainOptions {
                learning_rate: 0.08,
                batch_size: 128,
                max_epochs: a.max_epochs,
                min_loss: 1e-4,
                print_every: 10,
                verbose: true,
                seed: a.seed,
                ..TrainOptions::default()
            };
            let report = train_logged(
                &mut model,
                &train_data.sequences(),
                Some(&valid_data.sequences()),
                &opts,
                None,
                &Log::to(|line: &str| println!("{line}")),
            )?;
            if let Some(path) = &a.checkpoint {
                fpf_std::checkpoint::save_model(&model, path)?;
                println!("Saved model to checkpoint: {}", path.display());
            }
            (model, report.epochs, report.final_train_loss)
        }
    };
    let t_train = t.elapsed();

    // Trajectories of the test trials, in f64 for the analysis.
    let model64 = model.to_f64();
    let s = model64.state_dim();
    let mut outputs = vec![0.0; 128 * n_time * a.bits];
    let mut states = vec![0.0; 128 * n_time * s];
    model64.run(&test_data.inputs, 128, n_time, &mut outputs, &mut states)?;

    // Fixed points, with the tutorial's settings.
    println!("\n--- Fixed Point Analysis ---");
    let t = Instant::now();
    let finder = FixedPointFinder::new(
        model64.cell(),
        FinderOptions {
            max_iters: 5000,
            lr_init: 0.02,
            tol_q: 1e-4,
            final_q_threshold: 1e-6,
            tol_unique: 1e-2,
            outlier_distance_scale: 10.0,
            period: a.period,
            verbose: true,
            super_verbose: true,
            ..FinderOptions::default()
        },
    )?
    .with_log(Log::to(|line: &str| println!("{line}")));
    let traj = Trajectory {
        states: &states,
        n_batch: 128,
        n_time,
        n_states: s,
        valid: None,
    };
    let zero = vec![0.0; a.bits];
    let res = finder.find_from_trajectory(&traj, &zero, a.n_inits, 0.4, a.seed)?;
    let t_find = t.elapsed();
    let fps = &res.unique;

    println!("\n--- Fixed Point Analysis Results ---");
    print!("{}", res.summary());
    if fps.n > 0 {
        println!("\nDetailed Fixed Point Information (Top 10):");
        print!("{}", fps.table(10));
    }

    // PCA and figures.
    let t = Instant::now();
    let pca = Pca::fit(&states, s, 3.min(s))?;
    let ratios: Vec<String> = pca
        .explained_variance_ratio
        .iter()
        .map(|v| format!("{v:.8}"))
        .collect();
    println!("PCA explained variance: [{}]", ratios.join(" "));
    println!(
        "Total variance explained: {:.2}%",
        100.0 * pca.explained_variance_ratio.iter().sum::<f64>()
    );
    std::fs::create_dir_all(&a.out_dir)?;
    let name = format!("{}_bit", a.bits);
    let expected = 1usize << a.bits;
    if pca.k() >= 2 {
        let sc = plot::scene(&pca, &states, n_time, 30, 10, fps)?;
        plot::fixed_points_2d(
            &a.out_dir.join("fixed_points_2d.svg"),
            &format!(
                "FlipFlop Fixed Points ({name} - 2D PCA): {} stable",
                fps.n_stable()
            ),
            &sc,
        )?;
        if pca.k() >= 3 {
            plot::fixed_points_3d(
                &a.out_dir.join("fixed_points_3d.svg"),
                &format!("FlipFlop Fixed Points ({name} - 3D PCA)"),
                &sc,
            )?;
        }
    }
    // Continuation: every fixed point followed along a sustained input on the first bit.
    let t_cont = Instant::now();
    let mut u1 = vec![0.0; a.bits];
    u1[0] = 1.0;
    if fps.n > 0 {
        let path = InputPath::line(&zero, &u1, 19)?;
        let cont = continue_fixed_points(
            model64.cell(),
            &fps.xstar,
            &path,
            &ContinuationOptions {
                period: a.period,
                ..ContinuationOptions::default()
            },
        )?;
        let readout = |x: &[f64]| -> f64 {
            let mut y = vec![0.0; a.bits];
            model64
                .readout(&x[..a.hidden], &mut y)
                .map_or(f64::NAN, |_| y[0])
        };
        println!("\n--- Continuation along bit 1's input (0 to 1, 20 inputs) ---");
        let reach = cont
            .branches
            .iter()
            .filter(|b| b.sigma.last().is_some_and(|&s| s >= path.length()))
            .count();
        let stable_end = cont
            .branches
            .iter()
            .filter(|b| b.node.last() == Some(&Some(path.n_nodes() - 1)))
            .filter(|b| b.is_stable.last() == Some(&true))
            .count();
        let folds: Vec<f64> = cont
            .bifurcations
            .iter()
            .filter(|f| f.kind == BifurcationKind::SaddleNode)
            .filter_map(|f| f.refined.as_ref().map(|p| p.sigma))
            .collect();
        println!(
            "Branches: {} ({} reach input 1, {} of them stable there); bifurcations: {} \
             ({} saddle-nodes)",
            cont.branches.len(),
            reach,
            stable_end,
            cont.bifurcations.len(),
            folds.len()
        );
        let stable = fps.is_stable.clone().unwrap_or_default();
        let (mut minus, mut died) = (0, Vec::new());
        for i in 0..fps.n {
            if !stable.get(i).copied().unwrap_or(false) || readout(fps.x(i)) >= 0.0 {
                continue;
            }
            let Some(bi) = cont.seed_branch[i] else {
                continue;
            };
            let b = &cont.branches[bi];
            let fold = cont
                .bifurcations
                .iter()
                .find(|f| f.branch == bi && f.kind == BifurcationKind::SaddleNode)
                .and_then(|f| f.refined.as_ref());
            let partner = b.seeds.iter().find(|&&j| j != i);
            minus += 1;
            match (fold, partner) {
                (Some(p), Some(&j)) => {
                    died.push(p.sigma);
                    println!(
                        "Memory {i} (bit 1 = {:.2}) disappears in a saddle-node with saddle {j} \
                     at input {:.6}",
                        readout(fps.x(i)),
                        p.sigma
                    )
                }
                _ => println!(
                    "Memory {i} (bit 1 = {:.2}) survives to input {:.3} ({})",
                    readout(fps.x(i)),
                    b.sigma.iter().copied().fold(0.0, f64::max),
                    b.end.map_or("?", |e| e.name())
                ),
            }
        }
        let (lo, hi) = died
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        let title = if died.is_empty() {
            format!("Sustained input on bit 1: {} saddle-nodes", folds.len())
        } else {
            format!(
                "Sustained input on bit 1: {} of {minus} memories with bit 1 = -1 end in \
                 saddle-nodes (input {lo:.3} to {hi:.3})",
                died.len()
            )
        };
        plot::continuation(
            &a.out_dir.join("continuation.svg"),
            &title,
            "input on bit 1",
            "readout of bit 1",
            &cont,
            readout,
        )?;
    }
    let t_cont = t_cont.elapsed();

    let per = n_time * a.bits;
    plot::trial(
        &a.out_dir.join("trial.svg"),
        &test_data.inputs[..per],
        &test_data.targets[..per],
        &outputs[..per],
        n_time,
        a.bits,
    )?;
    let t_plot = t.elapsed();

    println!("\n--- Analysis complete ---");
    let marginal = fps.n_marginal();
    if fps.n_stable() < expected && marginal > 0 {
        // Not 2^N stable points: say where the other memories may live instead.
        println!(
            "Stable fixed points: {}, fewer than the 2^{} = {expected} memories; {marginal} \
             marginally unstable point(s) (1 < |eig| <= {}) and slow points may hold the \
             others; figures in {}",
            fps.n_stable(),
            a.bits,
            fpf_std::analysis::MARGINAL,
            a.out_dir.display()
        );
    } else {
        println!(
            "Stable fixed points: {} (expected 2^{} = {expected}); figures in {}",
            fps.n_stable(),
            a.bits,
            a.out_dir.display()
        );
    }
    if fps.n_on_kink() > 0 {
        println!(
            "{} fixed point(s) sit on a ReLU kink (|a_i| <= {:e}): their stability is that of \
             the one-sided Jacobian (phi'(0) = 0)",
            fps.n_on_kink(),
            fpf_core::cell::KINK_TOL
        );
    }
    println!(
        "Wall time: data {:.3} s, training {:.3} s ({} epochs, final loss {}), \
         fixed points {:.3} s, continuation {:.3} s, figures {:.3} s, total {:.3} s",
        t_data.as_secs_f64(),
        t_train.as_secs_f64(),
        epochs,
        fpf_std::analysis::sci(final_loss, 2),
        t_find.as_secs_f64(),
        t_cont.as_secs_f64(),
        t_plot.as_secs_f64(),
        t_all.elapsed().as_secs_f64()
    );
    Ok(())
}
