//! Training by analytic backpropagation through time (std).
//!
//! The loss is the mean squared error over every output of every step of every trial
//! (`mean((y − target)²)`, as the reference's `train_flipflop_rnn`). One Adam optimizer updates
//! every trained value: the cell parameters, `w_out`, `b_out` and `h0`. Each epoch shuffles
//! the trials (seeded), runs `n_trials / batch_size` minibatches (the remainder is dropped, as
//! in the tutorial) and reports the mean of the batch losses.
//!
//! Per batch, the forward and backward passes run over the whole minibatch at once as
//! matrix–matrix products (`bptt`): per step the pre-activations of every trial `X_t W_x +
//! H_{t−1} W_h`, the state gradients `D_t W_hᵀ` and, a few steps at a time, the weight
//! gradients `H_{t−1}ᵀ D_t`, `X_tᵀ D_t`; the gates and `D_t` elementwise in between. The
//! gradient that reaches the state before the first step is the gradient of `h0` (summed
//! over the batch, since every trial starts there). The batch is cut into fixed chunks of
//! trials that run on [`TrainOptions::n_threads`] threads; their losses and gradients are
//! summed in chunk order, so every thread count gives bit-identical results.
//!
//! Every buffer is allocated once per [`train`] call, sized for one batch; the epoch loop does
//! not allocate (except when printing).

use core::fmt;

mod bptt;

use crate::analysis::sci;
use crate::find::options::MAX_THREADS;
use crate::log::Log;
use crate::memory::OutOfMemory;
use crate::model::Model;
use crate::optim::{Adam, Plateau, clip_grad_norm};
use crate::random::Gaussian;
use crate::scalar::Real;
use crate::threads::Threads;
use bptt::Bptt;

/// A set of input/target sequences, `f64`, row-major:
/// `inputs` is `n_trials × n_time × n_inputs`, `targets` `n_trials × n_time × n_outputs`.
#[derive(Clone, Copy, Debug)]
pub struct Sequences<'a> {
    /// Inputs, `n_trials × n_time × n_inputs`.
    pub inputs: &'a [f64],
    /// Targets for the readout, `n_trials × n_time × n_outputs`.
    pub targets: &'a [f64],
    /// Number of trials.
    pub n_trials: usize,
    /// Steps per trial.
    pub n_time: usize,
    /// Input width.
    pub n_inputs: usize,
    /// Output width.
    pub n_outputs: usize,
}

impl Sequences<'_> {
    /// Checks `n_trials ≥ 1`, `n_time ≥ 1`, both lengths (overflow-checked) and that every
    /// value is finite. `name` (`"train"`, `"valid"`) labels the errors.
    pub fn validate(&self, name: &'static str) -> Result<(), TrainError> {
        if self.n_trials == 0 {
            return Err(TrainError::Empty { what: name });
        }
        if self.n_time == 0 {
            return Err(TrainError::Empty { what: name });
        }
        let steps = self
            .n_trials
            .checked_mul(self.n_time)
            .ok_or(TrainError::TooLarge { what: name })?;
        let n_in = steps
            .checked_mul(self.n_inputs)
            .ok_or(TrainError::TooLarge { what: name })?;
        let n_out = steps
            .checked_mul(self.n_outputs)
            .ok_or(TrainError::TooLarge { what: name })?;
        check_len(name, "inputs", n_in, self.inputs.len())?;
        check_len(name, "targets", n_out, self.targets.len())?;
        if let Some(index) = self.inputs.iter().position(|v| !v.is_finite()) {
            return Err(TrainError::NotFinite {
                what: name,
                array: "inputs",
                index,
            });
        }
        if let Some(index) = self.targets.iter().position(|v| !v.is_finite()) {
            return Err(TrainError::NotFinite {
                what: name,
                array: "targets",
                index,
            });
        }
        Ok(())
    }

    /// [`Sequences::validate`] plus the widths a model needs.
    fn validate_for<T: Real>(
        &self,
        model: &Model<T>,
        name: &'static str,
    ) -> Result<(), TrainError> {
        self.validate(name)?;
        if model.is_stacked() {
            return Err(TrainError::Stacked {
                n_layers: model.n_layers(),
            });
        }
        if self.n_inputs != model.n_inputs() {
            return Err(TrainError::Mismatch {
                what: name,
                field: "n_inputs",
                model: model.n_inputs(),
                data: self.n_inputs,
            });
        }
        if self.n_outputs != model.n_outputs() {
            return Err(TrainError::Mismatch {
                what: name,
                field: "n_outputs",
                model: model.n_outputs(),
                data: self.n_outputs,
            });
        }
        Ok(())
    }
}

fn check_len(
    what: &'static str,
    array: &'static str,
    expected: usize,
    got: usize,
) -> Result<(), TrainError> {
    if expected == got {
        Ok(())
    } else {
        Err(TrainError::Length {
            what,
            array,
            expected,
            got,
        })
    }
}

/// Why training (or a loss evaluation) failed.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// An option is out of range.
    BadOption {
        /// The option.
        what: &'static str,
        /// Its value, as text.
        got: String,
        /// What it must be.
        requirement: &'static str,
    },
    /// A data set has no trials or no steps.
    Empty {
        /// `"train"` or `"valid"`.
        what: &'static str,
    },
    /// A size product of a data set overflows.
    TooLarge {
        /// The data set.
        what: &'static str,
    },
    /// An array of a data set has the wrong length.
    Length {
        /// The data set.
        what: &'static str,
        /// `"inputs"` or `"targets"`.
        array: &'static str,
        /// The length its sizes imply.
        expected: usize,
        /// The length it has.
        got: usize,
    },
    /// A data set's width does not match the model.
    Mismatch {
        /// The data set.
        what: &'static str,
        /// `"n_inputs"` or `"n_outputs"`.
        field: &'static str,
        /// The model's value.
        model: usize,
        /// The data's value.
        data: usize,
    },
    /// A data value is NaN or infinite.
    NotFinite {
        /// The data set.
        what: &'static str,
        /// `"inputs"` or `"targets"`.
        array: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// Fewer training trials than one batch.
    BatchTooLarge {
        /// The batch size asked for.
        batch_size: usize,
        /// The number of training trials.
        n_trials: usize,
    },
    /// The loss or the gradient became NaN or infinite. The model keeps the last parameters
    /// for which both were finite.
    Diverged {
        /// Epoch (0-based).
        epoch: usize,
        /// Batch within the epoch.
        batch: usize,
        /// The batch loss.
        loss: f64,
    },
    /// The training workspace could not be allocated.
    OutOfMemory(OutOfMemory),
    /// The model stacks layers, which this training does not handle.
    Stacked {
        /// The model's number of layers.
        n_layers: usize,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::BadOption {
                what,
                got,
                requirement,
            } => write!(
                f,
                "option `{what}` = {got} is invalid: it must be {requirement}"
            ),
            TrainError::Empty { what } => {
                write!(f, "the {what} data have no trials or no time steps")
            }
            TrainError::TooLarge { what } => {
                write!(f, "the sizes of the {what} data overflow")
            }
            TrainError::Length {
                what,
                array,
                expected,
                got,
            } => write!(
                f,
                "{what} `{array}` has length {got}, expected {expected} (n_trials × n_time × width)"
            ),
            TrainError::Mismatch {
                what,
                field,
                model,
                data,
            } => write!(
                f,
                "the {what} data have {field} = {data}, but the model has {field} = {model}"
            ),
            TrainError::NotFinite { what, array, index } => {
                write!(f, "{what} `{array}`[{index}] is NaN or infinite")
            }
            TrainError::BatchTooLarge {
                batch_size,
                n_trials,
            } => write!(
                f,
                "batch_size = {batch_size} exceeds the {n_trials} training trials (no full batch)"
            ),
            TrainError::Diverged { epoch, batch, loss } => write!(
                f,
                "training diverged at epoch {epoch}, batch {batch}: the loss ({loss}) or its \
                 gradient is not finite (try a smaller learning_rate or max_grad_norm > 0)"
            ),
            TrainError::OutOfMemory(e) => e.fmt(f),
            TrainError::Stacked { n_layers } => write!(
                f,
                "training a stacked model ({n_layers} layers) is not supported: train it \
                 elsewhere (e.g. PyTorch) and convert it, or train a single layer"
            ),
        }
    }
}

impl std::error::Error for TrainError {}

fpf_core::options_struct! {
    /// Training options; the defaults are the reference's `train_flipflop_rnn`. Its C
    /// mirror, `fpf_train_options`, is generated from this list by the C library's build
    /// script, so new fields go at the end.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub struct TrainOptions {
        /// Adam learning rate.
        learning_rate: f64 = 0.08,
        /// Trials per minibatch; the remainder of an epoch is dropped.
        batch_size: usize = 128,
        /// Epoch cap.
        max_epochs: usize = 1000,
        /// Stop once an epoch's training loss is below this (0 = never).
        min_loss: f64 = 1e-4,
        /// Clip the 2-norm of the full gradient to this (0 = off).
        max_grad_norm: f64 = 0.0,
        /// Plateau schedule on the epoch loss: multiply the rate by this after `lr_patience`
        /// epochs without improvement (1.0 = fixed rate).
        lr_factor: f64 = 1.0,
        /// Epochs without improvement before the rate drops.
        lr_patience: u32 = 10,
        /// Epochs between validation losses and logged lines (0 = none).
        print_every: usize = 10,
        /// Send the tutorial's progress lines to the log (the [`Log`] given to
        /// [`train_logged`]; in C, the options' `log` callback).
        verbose: bool = false,
        /// Seed of the trial shuffling.
        seed: u64 = 0,
        /// Threads (0 = all cores). The batch is split into fixed chunks of trials whose
        /// gradients are summed in a fixed order, so the result is the same for every count.
        n_threads: usize = 0,
    }
}

impl TrainOptions {
    /// Checks every option.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |what, got: String, requirement| {
            Err(TrainError::BadOption {
                what,
                got,
                requirement,
            })
        };
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "finite and > 0",
            );
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "at least 1");
        }
        if self.max_epochs == 0 {
            return bad("max_epochs", "0".into(), "at least 1");
        }
        if !(self.min_loss.is_finite() && self.min_loss >= 0.0) {
            return bad("min_loss", self.min_loss.to_string(), "finite and ≥ 0");
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return bad(
                "max_grad_norm",
                self.max_grad_norm.to_string(),
                "finite and ≥ 0 (0 = no clipping)",
            );
        }
        if !(self.lr_factor > 0.0 && self.lr_factor <= 1.0) {
            return bad("lr_factor", self.lr_factor.to_string(), "in (0, 1]");
        }
        if self.n_threads > MAX_THREADS {
            return bad(
                "n_threads",
                self.n_threads.to_string(),
                "at most 1024 (0 = all cores)",
            );
        }
        Ok(())
    }
}

/// The progress callback of [`train`]: after every epoch, its statistics and the model as
/// trained so far; returning `false` stops training.
pub type ProgressFn<'a, T> = &'a mut dyn FnMut(&EpochReport, &Model<T>) -> bool;

/// One epoch's statistics, passed to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// Epoch, 0-based.
    pub epoch: usize,
    /// Mean of the epoch's batch losses.
    pub train_loss: f64,
    /// Validation loss, computed on printed epochs (`epoch % print_every == 0`) when
    /// validation data were given.
    pub valid_loss: Option<f64>,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
}

/// The outcome of [`train`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Epochs run.
    pub epochs: usize,
    /// The last epoch's training loss.
    pub final_train_loss: f64,
    /// Validation loss of the final model, if validation data were given.
    pub final_valid_loss: Option<f64>,
    /// Every epoch's training loss.
    pub losses: Vec<f64>,
    /// Stopped because the loss fell below `min_loss`.
    pub reached_target: bool,
    /// Stopped because the progress callback returned `false`.
    pub cancelled: bool,
}

/// The gradient of the loss with respect to every trained value, flat
/// `[params | w_out | b_out | h0]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients<T> {
    flat: Vec<T>,
    n_params: usize,
    n_w_out: usize,
    n_b_out: usize,
}

impl<T: Real> Gradients<T> {
    /// Zeros shaped like `model`'s values.
    pub fn zeros(model: &Model<T>) -> Self {
        Gradients {
            flat: vec![T::ZERO; model.n_total_params()],
            n_params: model.params().len(),
            n_w_out: model.w_out().len(),
            n_b_out: model.b_out().len(),
        }
    }
    /// Cell parameters, `[w_x | w_h | b]`.
    pub fn params(&self) -> &[T] {
        &self.flat[..self.n_params]
    }
    /// `w_out`.
    pub fn w_out(&self) -> &[T] {
        &self.flat[self.n_params..self.n_params + self.n_w_out]
    }
    /// `b_out`.
    pub fn b_out(&self) -> &[T] {
        let a = self.n_params + self.n_w_out;
        &self.flat[a..a + self.n_b_out]
    }
    /// `h0`.
    pub fn h0(&self) -> &[T] {
        &self.flat[self.n_params + self.n_w_out + self.n_b_out..]
    }
    /// Everything, flat.
    pub fn as_slice(&self) -> &[T] {
        &self.flat
    }
    /// Zeroes every entry.
    pub fn clear(&mut self) {
        self.flat.fill(T::ZERO);
    }
    fn matches(&self, model: &Model<T>) -> bool {
        self.flat.len() == model.n_total_params()
            && self.n_params == model.params().len()
            && self.n_w_out == model.w_out().len()
            && self.n_b_out == model.b_out().len()
    }
}

fn split4<T>(
    v: &mut [T],
    a: usize,
    b: usize,
    c: usize,
) -> (&mut [T], &mut [T], &mut [T], &mut [T]) {
    let (p, rest) = v.split_at_mut(a);
    let (w, rest) = rest.split_at_mut(b);
    let (bo, h0) = rest.split_at_mut(c);
    (p, w, bo, h0)
}

/// The mean squared error of `model` on `data` (on all cores; the result does not depend
/// on their number).
pub fn loss<T: Real>(model: &Model<T>, data: &Sequences<'_>) -> Result<f64, TrainError> {
    data.validate_for(model, "data")?;
    let cap = data.n_trials.min(1024);
    let mut ws = Bptt::new(model, cap, data.n_time, false, Threads::new(0))
        .map_err(TrainError::OutOfMemory)?;
    Ok(ws.loss(model, data))
}

/// The mean squared error of `model` on all of `data` (one batch) and its gradient with
/// respect to every trained value, written to `grad` (overwritten; made by
/// [`Gradients::zeros`] for a model of the same shape). Runs on all cores; the result does
/// not depend on their number.
pub fn loss_and_grad<T: Real>(
    model: &Model<T>,
    data: &Sequences<'_>,
    grad: &mut Gradients<T>,
) -> Result<f64, TrainError> {
    data.validate_for(model, "data")?;
    if !grad.matches(model) {
        return Err(TrainError::Length {
            what: "gradient",
            array: "grad",
            expected: model.n_total_params(),
            got: grad.flat.len(),
        });
    }
    let mut ws = Bptt::new(model, data.n_trials, data.n_time, true, Threads::new(0))
        .map_err(TrainError::OutOfMemory)?;
    grad.clear();
    let sse = ws.run(model, data, data.n_trials, &|k| k, Some(grad));
    Ok(sse / (data.n_trials * data.n_time * data.n_outputs) as f64)
}

const BANNER: &str = "======================================================================";

/// Trains `model` in place on `train` (see the module docs); the `verbose` lines are
/// discarded (see [`train_logged`]). `progress`, if given, is called after every epoch; returning `false` stops
/// training (the report then has `cancelled` set).
///
/// Errors: invalid options, data that do not fit the model or are not finite, fewer training
/// trials than `batch_size`, and divergence (a non-finite loss or gradient; the model keeps
/// the last finite parameters).
pub fn train<T: Real>(
    model: &mut Model<T>,
    train: &Sequences<'_>,
    valid: Option<&Sequences<'_>>,
    opts: &TrainOptions,
    progress: Option<ProgressFn<'_, T>>,
) -> Result<TrainReport, TrainError> {
    train_logged(model, train, valid, opts, progress, &Log::none())
}

/// [`train`], with the `verbose` lines (the tutorial's printout) sent to `log`.
pub fn train_logged<T: Real>(
    model: &mut Model<T>,
    train: &Sequences<'_>,
    valid: Option<&Sequences<'_>>,
    opts: &TrainOptions,
    mut progress: Option<ProgressFn<'_, T>>,
    log: &Log<'_>,
) -> Result<TrainReport, TrainError> {
    opts.validate()?;
    train.validate_for(model, "train")?;
    if let Some(v) = valid {
        v.validate_for(model, "valid")?;
    }
    let bs = opts.batch_size;
    if train.n_trials < bs {
        return Err(TrainError::BatchTooLarge {
            batch_size: bs,
            n_trials: train.n_trials,
        });
    }
    let n_batches = train.n_trials / bs;
    let cap_time = valid.map_or(train.n_time, |v| v.n_time.max(train.n_time));

    // Every buffer, once.
    let mut ws = Bptt::new(model, bs, cap_time, true, Threads::new(opts.n_threads))
        .map_err(TrainError::OutOfMemory)?;
    let mut grad = Gradients::zeros(model);
    let mut m = vec![T::ZERO; grad.flat.len()];
    let mut v = vec![T::ZERO; grad.flat.len()];
    let mut perm: Vec<usize> = (0..train.n_trials).collect();
    let mut losses = Vec::with_capacity(opts.max_epochs.min(1 << 16));
    let mut rng = Gaussian::new(opts.seed);
    let adam = Adam::default();
    let mut plateau = Plateau::new(opts.learning_rate, opts.lr_factor, opts.lr_patience, 0);
    let mut lr = opts.learning_rate;
    let mut t_adam = 0u64;

    if opts.verbose {
        log.line(&format!("\n{BANNER}"));
        log.line("Training FlipFlop RNN");
        log.line(BANNER);
        log.line("\nTraining parameters:");
        log.line(&format!(" Batch size: {bs}"));
        if opts.lr_factor < 1.0 {
            log.line(&format!(
                " Learning rate:{:.6} (Plateau: factor {}, patience {})",
                opts.learning_rate, opts.lr_factor, opts.lr_patience
            ));
        } else {
            log.line(&format!(" Learning rate:{:.6} (Fixed)", opts.learning_rate));
        }
    }

    let mut epochs = 0;
    let mut epoch_loss = f64::NAN;
    let mut reached_target = false;
    let mut cancelled = false;
    for epoch in 0..opts.max_epochs {
        // Fisher–Yates.
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.below(i + 1));
        }
        let mut sum = 0.0;
        for batch in 0..n_batches {
            let idx = &perm[batch * bs..(batch + 1) * bs];
            grad.clear();
            let sse = ws.run(model, train, bs, &|k| idx[k], Some(&mut grad));
            let loss = sse / (bs * train.n_time * train.n_outputs) as f64;
            let norm = if opts.max_grad_norm > 0.0 {
                clip_grad_norm(&mut grad.flat, opts.max_grad_norm)
            } else {
                0.0
            };
            if !loss.is_finite()
                || !norm.is_finite()
                || (opts.max_grad_norm == 0.0 && !grad.flat.iter().all(|g| g.is_finite()))
            {
                return Err(TrainError::Diverged { epoch, batch, loss });
            }
            t_adam += 1;
            let (n_p, n_w, n_b) = (grad.n_params, grad.n_w_out, grad.n_b_out);
            let (gp, gw, gb, gh) = split4(&mut grad.flat, n_p, n_w, n_b);
            let (mp, mw, mb, mh) = split4(&mut m, n_p, n_w, n_b);
            let (vp, vw, vb, vh) = split4(&mut v, n_p, n_w, n_b);
            adam.update(t_adam, lr, model.params_mut(), gp, mp, vp);
            adam.update(t_adam, lr, model.w_out_mut(), gw, mw, vw);
            adam.update(t_adam, lr, model.b_out_mut(), gb, mb, vb);
            adam.update(t_adam, lr, model.h0_mut(), gh, mh, vh);
            sum += loss;
        }
        epoch_loss = sum / n_batches as f64;
        losses.push(epoch_loss);
        epochs = epoch + 1;

        let print_epoch = opts.print_every > 0 && epoch % opts.print_every == 0;
        let valid_loss = match valid {
            Some(d) if print_epoch => Some(ws.loss(model, d)),
            _ => None,
        };
        if opts.verbose && print_epoch {
            match valid_loss {
                Some(vl) => log.line(&format!(
                    "Epoch {epoch:4}: train_loss = {epoch_loss:.6}, valid_loss = {vl:.6}"
                )),
                None => log.line(&format!("Epoch {epoch:4}: train_loss = {epoch_loss:.6}")),
            }
        }
        if let Some(cb) = progress.as_mut() {
            let report = EpochReport {
                epoch,
                train_loss: epoch_loss,
                valid_loss,
                learning_rate: lr,
            };
            if !cb(&report, model) {
                cancelled = true;
                break;
            }
        }
        if epoch_loss < opts.min_loss {
            reached_target = true;
            if opts.verbose {
                log.line(&format!(
                    "\nReached target loss {} at epoch {epoch}",
                    sci(opts.min_loss, 2)
                ));
            }
            break;
        }
        if opts.lr_factor < 1.0 {
            lr = plateau.observe(epoch_loss);
        }
    }

    let final_valid_loss = valid.map(|d| ws.loss(model, d));
    if opts.verbose {
        log.line(&format!("\n{BANNER}"));
        log.line("Training Complete!");
        log.line(BANNER);
        log.line(&format!("Final training loss: {epoch_loss:.6}"));
        if let Some(vl) = final_valid_loss {
            log.line(&format!("Final validation loss: {vl:.6}"));
        }
        log.line(&format!("Total epochs: {epochs}"));
    }
    Ok(TrainReport {
        epochs,
        final_train_loss: epoch_loss,
        final_valid_loss,
        losses,
        reached_target,
        cancelled,
    })
}
