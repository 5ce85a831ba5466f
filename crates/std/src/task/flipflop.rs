//! The N-bit flip-flop task (the reference's `FlipFlopData`).
//!
//! Each of `n_bits` channels receives, at every step, a pulse with probability `p` (and always
//! at `t = 0`) of random sign ±1 (probability ½ each); the target of a channel is the sign of
//! its most recent pulse. Since every trial starts with a pulse on every bit, every target is
//! ±1.

use crate::memory::{OutOfMemory, filled};
use crate::random::Gaussian;
use crate::train::Sequences;
use core::fmt;

/// Largest number of values (`n_trials × n_time × n_bits`) one generated array may hold.
pub const MAX_VALUES: usize = 1 << 30;

/// Why task data could not be generated.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskError {
    /// An argument is out of range.
    Bad {
        /// The argument.
        what: &'static str,
        /// Its value, as text.
        got: String,
        /// What it must be.
        requirement: &'static str,
    },
    /// `n_trials × n_time × n_bits` overflows or exceeds [`MAX_VALUES`].
    TooLarge {
        /// The requested number of trials.
        n_trials: usize,
        /// Steps per trial.
        n_time: usize,
        /// Channels.
        n_bits: usize,
    },
    /// The data could not be allocated.
    OutOfMemory(OutOfMemory),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Bad {
                what,
                got,
                requirement,
            } => write!(f, "`{what}` = {got} is invalid: it must be {requirement}"),
            TaskError::TooLarge {
                n_trials,
                n_time,
                n_bits,
            } => write!(
                f,
                "{n_trials} trials × {n_time} steps × {n_bits} bits is too large (more than \
                 {MAX_VALUES} values)"
            ),
            TaskError::OutOfMemory(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TaskError {}

/// The flip-flop task's parameters (the reference's `FlipFlopData(n_bits, n_time, p)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlipFlop {
    /// Number of memory channels (inputs = outputs = `n_bits`).
    pub n_bits: usize,
    /// Steps per trial.
    pub n_time: usize,
    /// Probability of a pulse at each step (before the sign), in `[0, 1]`.
    pub p: f64,
}

impl Default for FlipFlop {
    /// The tutorial's 3 bits, 64 steps, `p = 0.5`.
    fn default() -> Self {
        FlipFlop {
            n_bits: 3,
            n_time: 64,
            p: 0.5,
        }
    }
}

/// Generated trials, `[n_trials × n_time × n_bits]` row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct FlipFlopData {
    /// Signed pulses: −1, 0 or +1.
    pub inputs: Vec<f64>,
    /// Sign of the last pulse on each channel: −1 or +1.
    pub targets: Vec<f64>,
    /// Number of trials.
    pub n_trials: usize,
    /// Steps per trial.
    pub n_time: usize,
    /// Channels.
    pub n_bits: usize,
}

impl FlipFlopData {
    /// The data as a training set (inputs and outputs both `n_bits` wide).
    pub fn sequences(&self) -> Sequences<'_> {
        Sequences {
            inputs: &self.inputs,
            targets: &self.targets,
            n_trials: self.n_trials,
            n_time: self.n_time,
            n_inputs: self.n_bits,
            n_outputs: self.n_bits,
        }
    }
}

impl FlipFlop {
    /// A task; checked by [`FlipFlop::validate`] when data are generated.
    pub fn new(n_bits: usize, n_time: usize, p: f64) -> Self {
        FlipFlop { n_bits, n_time, p }
    }

    /// Checks `n_bits ≥ 1`, `n_time ≥ 1` and `p ∈ [0, 1]`.
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.n_bits == 0 {
            return Err(bad("n_bits", self.n_bits, "at least 1"));
        }
        if self.n_time == 0 {
            return Err(bad("n_time", self.n_time, "at least 1"));
        }
        if !(0.0..=1.0).contains(&self.p) {
            return Err(bad("p", self.p, "in [0, 1]"));
        }
        Ok(())
    }

    /// Generates `n_trials` trials, reproducibly from `seed` (xoshiro256++): first every
    /// unsigned pulse (trial, time, bit order; `uniform() < p`), then every sign
    /// (`uniform() < ½` → +1). Cost: `O(n_trials · n_time · n_bits)`.
    pub fn generate(&self, n_trials: usize, seed: u64) -> Result<FlipFlopData, TaskError> {
        self.validate()?;
        if n_trials == 0 {
            return Err(bad("n_trials", n_trials, "at least 1"));
        }
        let (nt, nb) = (self.n_time, self.n_bits);
        let len = n_trials
            .checked_mul(nt)
            .and_then(|v| v.checked_mul(nb))
            .filter(|&v| v <= MAX_VALUES)
            .ok_or(TaskError::TooLarge {
                n_trials,
                n_time: nt,
                n_bits: nb,
            })?;
        let mut rng = Gaussian::new(seed);
        let mut inputs = filled(len, 0.0f64, "inputs").map_err(TaskError::OutOfMemory)?;
        for v in inputs.iter_mut() {
            *v = if rng.uniform() < self.p { 1.0 } else { 0.0 };
        }
        // Every trial starts with a pulse on every bit.
        for trial in inputs.chunks_exact_mut(nt * nb) {
            trial[..nb].fill(1.0);
        }
        for v in inputs.iter_mut() {
            let sign = if rng.uniform() < 0.5 { 1.0 } else { -1.0 };
            *v *= sign;
        }
        // The target holds the last pulse; t = 0 always pulses, so it is never 0.
        let mut targets = filled(len, 0.0f64, "targets").map_err(TaskError::OutOfMemory)?;
        for (x, y) in inputs.chunks_exact(nb).zip(targets.chunks_exact_mut(nb)) {
            y.copy_from_slice(x);
        }
        for y in targets.chunks_exact_mut(nt * nb) {
            for i in nb..nt * nb {
                if y[i] == 0.0 {
                    y[i] = y[i - nb];
                }
            }
        }
        Ok(FlipFlopData {
            inputs,
            targets,
            n_trials,
            n_time: nt,
            n_bits: nb,
        })
    }
}

fn bad(what: &'static str, got: impl fmt::Display, requirement: &'static str) -> TaskError {
    TaskError::Bad {
        what,
        got: got.to_string(),
        requirement,
    }
}
