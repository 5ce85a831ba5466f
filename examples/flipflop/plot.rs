//! SVG figures for the demo (plotters, a dev-dependency): 2-D and 3-D PCA views of the
//! trajectories with stable points (filled), unstable points (crosses) and their unstable
//! modes (segments along the real eigenvectors with |λ| > 1), one trial's traces, and the
//! branches of a continuation over the input, coloured by stability.

use fpf_std::analysis::continuation::Continuation;
use fpf_std::analysis::{FixedPoints, Pca};
use plotters::prelude::*;
use std::path::Path;

type Res = Result<(), Box<dyn std::error::Error>>;

/// Everything the PCA plots draw, already projected.
pub struct Scene {
    /// One polyline per trial, `k` coordinates per point.
    pub trajectories: Vec<Vec<Vec<f64>>>,
    /// Projected fixed points with their stability.
    pub points: Vec<(Vec<f64>, bool)>,
    /// Segments along unstable modes.
    pub modes: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Projects trajectories (`n_trials × n_time × S`, first `n_plot` trials, from `start`),
/// the fixed points and their unstable modes onto `pca`'s components.
pub fn scene(
    pca: &Pca,
    states: &[f64],
    n_time: usize,
    n_plot: usize,
    start: usize,
    fps: &FixedPoints,
) -> Result<Scene, Box<dyn std::error::Error>> {
    let s = pca.dim;
    let k = pca.k();
    let mut trajectories = Vec::new();
    for b in 0..n_plot.min(states.len() / (n_time * s)) {
        let rows = &states[(b * n_time + start) * s..(b + 1) * n_time * s];
        let z = pca.transform(rows)?;
        trajectories.push(z.chunks(k).map(|c| c.to_vec()).collect());
    }
    let mut points = Vec::new();
    let mut modes = Vec::new();
    let stable = fps.is_stable.clone().unwrap_or_else(|| vec![false; fps.n]);
    for i in 0..fps.n {
        let x = fps.x(i);
        points.push((pca.transform(x)?, stable[i]));
        if let (Some(re), Some(im), Some(vr)) = (&fps.eigval_re, &fps.eigval_im, &fps.eigvec_re) {
            for m in 0..s {
                let (lr, li) = (re[i * s + m], im[i * s + m]);
                if li == 0.0 && lr.abs() > 1.0 {
                    let v: Vec<f64> = (0..s).map(|r| vr[i * s * s + r * s + m]).collect();
                    let scale = 0.25;
                    let a: Vec<f64> = x.iter().zip(&v).map(|(p, q)| p + scale * q).collect();
                    let b: Vec<f64> = x.iter().zip(&v).map(|(p, q)| p - scale * q).collect();
                    modes.push((pca.transform(&a)?, pca.transform(&b)?));
                }
            }
        }
    }
    Ok(Scene {
        trajectories,
        points,
        modes,
    })
}

fn range(sc: &Scene, axis: usize) -> std::ops::Range<f64> {
    let vals = sc
        .trajectories
        .iter()
        .flatten()
        .map(|p| p[axis])
        .chain(sc.points.iter().map(|p| p.0[axis]));
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let pad = 0.08 * (hi - lo).max(1e-6);
    (lo - pad)..(hi + pad)
}

const TRAJ: RGBColor = RGBColor(150, 150, 170);
const STABLE: RGBColor = RGBColor(20, 90, 200);
const UNSTABLE: RGBColor = RGBColor(210, 40, 40);

/// The 2-D PCA figure.
pub fn fixed_points_2d(path: &Path, title: &str, sc: &Scene) -> Res {
    let root = SVGBackend::new(path, (900, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(range(sc, 0), range(sc, 1))?;
    chart
        .configure_mesh()
        .x_desc("PC 1")
        .y_desc("PC 2")
        .draw()?;
    for t in &sc.trajectories {
        chart.draw_series(LineSeries::new(
            t.iter().map(|p| (p[0], p[1])),
            TRAJ.mix(0.5),
        ))?;
    }
    for (a, b) in &sc.modes {
        chart.draw_series(LineSeries::new(
            [(a[0], a[1]), (b[0], b[1])],
            UNSTABLE.stroke_width(2),
        ))?;
    }
    chart
        .draw_series(
            sc.points
                .iter()
                .filter(|p| p.1)
                .map(|p| Circle::new((p.0[0], p.0[1]), 7, STABLE.filled())),
        )?
        .label("stable")
        .legend(|(x, y)| Circle::new((x, y), 5, STABLE.filled()));
    chart
        .draw_series(
            sc.points
                .iter()
                .filter(|p| !p.1)
                .map(|p| Cross::new((p.0[0], p.0[1]), 7, UNSTABLE.stroke_width(2))),
        )?
        .label("unstable")
        .legend(|(x, y)| Cross::new((x, y), 5, UNSTABLE.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// The 3-D PCA figure.
pub fn fixed_points_3d(path: &Path, title: &str, sc: &Scene) -> Res {
    let root = SVGBackend::new(path, (900, 760)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .build_cartesian_3d(range(sc, 0), range(sc, 1), range(sc, 2))?;
    chart.with_projection(|mut pb| {
        pb.yaw = 0.6;
        pb.pitch = 0.35;
        pb.scale = 0.85;
        pb.into_matrix()
    });
    chart.configure_axes().draw()?;
    for t in &sc.trajectories {
        chart.draw_series(LineSeries::new(
            t.iter().map(|p| (p[0], p[1], p[2])),
            TRAJ.mix(0.5),
        ))?;
    }
    for (a, b) in &sc.modes {
        chart.draw_series(LineSeries::new(
            [(a[0], a[1], a[2]), (b[0], b[1], b[2])],
            UNSTABLE.stroke_width(2),
        ))?;
    }
    chart.draw_series(
        sc.points
            .iter()
            .filter(|p| p.1)
            .map(|p| Circle::new((p.0[0], p.0[1], p.0[2]), 6, STABLE.filled())),
    )?;
    chart.draw_series(
        sc.points
            .iter()
            .filter(|p| !p.1)
            .map(|p| Cross::new((p.0[0], p.0[1], p.0[2]), 6, UNSTABLE.stroke_width(2))),
    )?;
    root.present()?;
    Ok(())
}

/// One trial: inputs, targets and outputs per bit, stacked.
pub fn trial(
    path: &Path,
    inputs: &[f64],
    targets: &[f64],
    outputs: &[f64],
    n_time: usize,
    n_bits: usize,
) -> Res {
    let root = SVGBackend::new(path, (1000, 220 * n_bits as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((n_bits, 1));
    for (b, area) in panels.iter().enumerate() {
        let mut chart = ChartBuilder::on(area)
            .caption(format!("bit {}", b + 1), ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..n_time as f64, -1.4f64..1.4f64)?;
        chart.configure_mesh().disable_mesh().draw()?;
        let series = |v: &[f64]| -> Vec<(f64, f64)> {
            (0..n_time).map(|t| (t as f64, v[t * n_bits + b])).collect()
        };
        chart
            .draw_series(LineSeries::new(series(inputs), RGBColor(120, 120, 120)))?
            .label("input")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], RGBColor(120, 120, 120)));
        chart
            .draw_series(LineSeries::new(series(targets), STABLE.stroke_width(2)))?
            .label("target")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], STABLE));
        chart
            .draw_series(LineSeries::new(series(outputs), UNSTABLE))?
            .label("output")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], UNSTABLE));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Branches of a continuation over the input (x: the position along the path), `y` of each
/// point (e.g. a readout), stable pieces solid blue, unstable pieces dashed red, refined
/// bifurcations as black dots.
pub fn continuation(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    cont: &Continuation,
    y: impl Fn(&[f64]) -> f64,
) -> Res {
    let root = SVGBackend::new(path, (900, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let ys: Vec<Vec<f64>> = cont
        .branches
        .iter()
        .map(|b| (0..b.n).map(|i| y(b.x(i))).collect())
        .collect();
    let (lo, hi) = ys
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let pad = 0.08 * (hi - lo).max(1e-6);
    let len = cont.path.length();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.02 * len..1.02 * len, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()?;
    let mut labelled = (false, false);
    for (b, yb) in cont.branches.iter().zip(&ys) {
        // Pieces of one stability, each joined to the next point so the curve is unbroken.
        let mut start = 0;
        while start < b.n {
            let st = b.is_stable[start];
            let mut end = start;
            while end + 1 < b.n && b.is_stable[end + 1] == st {
                end += 1;
            }
            let stop = (end + 2).min(b.n);
            let pts: Vec<(f64, f64)> = (start..stop).map(|i| (b.sigma[i], yb[i])).collect();
            if st {
                let s = chart.draw_series(LineSeries::new(pts, STABLE.stroke_width(2)))?;
                if !labelled.0 {
                    s.label("stable").legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], STABLE.stroke_width(2))
                    });
                    labelled.0 = true;
                }
            } else {
                let s = chart.draw_series(DashedLineSeries::new(
                    pts,
                    6,
                    4,
                    UNSTABLE.stroke_width(2),
                ))?;
                if !labelled.1 {
                    s.label("unstable").legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], UNSTABLE.stroke_width(2))
                    });
                    labelled.1 = true;
                }
            }
            start = end + 1;
        }
    }
    let marks: Vec<(f64, f64)> = cont
        .bifurcations
        .iter()
        .filter_map(|f| f.refined.as_ref().map(|p| (p.sigma, y(&p.xstar))))
        .collect();
    if !marks.is_empty() {
        chart
            .draw_series(marks.iter().map(|&p| Circle::new(p, 4, BLACK.filled())))?
            .label("saddle-node")
            .legend(|(x, y)| Circle::new((x, y), 4, BLACK.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
