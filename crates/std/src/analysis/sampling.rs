//! Initial states for the finder, drawn from a state trajectory.

use super::AnalysisError;
use crate::memory::with_capacity;
use crate::random::Gaussian;

/// A state trajectory `[n_batch × n_time × n_states]`, row-major, with an optional validity
/// mask `[n_batch × n_time]`.
#[derive(Clone, Copy, Debug)]
pub struct Trajectory<'a> {
    /// The states.
    pub states: &'a [f64],
    /// Trials.
    pub n_batch: usize,
    /// Time steps per trial.
    pub n_time: usize,
    /// State size.
    pub n_states: usize,
    /// `valid[b·n_time + t]`: whether that state may be sampled (all, if `None`).
    pub valid: Option<&'a [bool]>,
}

/// Initial states and where each came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    /// `n × n_states` states (noise added).
    pub states: Vec<f64>,
    /// `(trial, time)` of each sample.
    pub origin: Vec<(usize, usize)>,
}

/// Draws `n` states from the valid entries of `traj`, without replacement unless more are
/// asked for than exist, and adds Gaussian noise of standard deviation `noise_scale`.
/// Reproducible from `seed`.
pub fn sample_states(
    traj: &Trajectory<'_>,
    n: usize,
    noise_scale: f64,
    seed: u64,
) -> Result<Samples, AnalysisError> {
    let (b, t, s) = (traj.n_batch, traj.n_time, traj.n_states);
    if n == 0 {
        return Err(AnalysisError::bad("n_inits", "must be at least 1"));
    }
    if !(noise_scale.is_finite() && noise_scale >= 0.0) {
        return Err(AnalysisError::bad("noise_scale", "must be finite and ≥ 0"));
    }
    let bt = b
        .checked_mul(t)
        .ok_or_else(|| AnalysisError::bad("trajectory", "n_batch × n_time overflows"))?;
    let total = bt
        .checked_mul(s)
        .ok_or_else(|| AnalysisError::bad("trajectory", "size overflows"))?;
    if bt == 0 || s == 0 {
        return Err(AnalysisError::bad("trajectory", "is empty"));
    }
    if traj.states.len() != total {
        return Err(AnalysisError::length(
            "trajectory",
            total,
            traj.states.len(),
        ));
    }
    if let Some(i) = traj.states.iter().position(|v| !v.is_finite()) {
        return Err(AnalysisError::NotFinite {
            what: "trajectory",
            index: i,
        });
    }
    let valid: Vec<usize> = match traj.valid {
        None => (0..bt).collect(),
        Some(mask) => {
            if mask.len() != bt {
                return Err(AnalysisError::length("valid_bxt", bt, mask.len()));
            }
            (0..bt).filter(|&i| mask[i]).collect()
        }
    };
    if valid.is_empty() {
        return Err(AnalysisError::bad("valid_bxt", "has no valid entry"));
    }
    let mut rng = Gaussian::new(seed);
    let picks: Vec<usize> = if n <= valid.len() {
        // Partial Fisher–Yates: the first n of a uniform permutation.
        let mut pool = valid;
        for i in 0..n {
            let j = i + rng.below(pool.len() - i);
            pool.swap(i, j);
        }
        pool.truncate(n);
        pool
    } else {
        let mut picks = with_capacity(n, "sampled indices")?;
        picks.extend((0..n).map(|_| valid[rng.below(valid.len())]));
        picks
    };
    let mut states = with_capacity(n.saturating_mul(s), "sampled states")?;
    let mut origin = with_capacity(n, "sample origins")?;
    for &k in &picks {
        states.extend_from_slice(&traj.states[k * s..(k + 1) * s]);
        origin.push((k / t, k % t));
    }
    if noise_scale > 0.0 {
        for v in states.iter_mut() {
            *v += noise_scale * rng.normal();
        }
        if states.iter().any(|v| !v.is_finite()) {
            return Err(AnalysisError::bad(
                "noise_scale",
                "is so large that the noisy states overflow",
            ));
        }
    }
    Ok(Samples { states, origin })
}
