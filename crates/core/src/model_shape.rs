//! A model's sizes (a cell, a linear readout and an initial state) and the rules they obey,
//! written once for the std layer's `Model` and for the checkpoint codec.

use crate::cell::{CellShape, ShapeError};

/// Largest number of outputs `O`.
pub const MAX_OUTPUTS: usize = 1 << 16;
/// Largest total number of stored values (cell parameters, readout, `h0`).
pub const MAX_TOTAL_PARAMS: usize = 1 << 28;
/// Largest number of stacked layers `L`.
pub const MAX_LAYERS: usize = 256;

/// Names of a model's arrays, in checkpoint order: the flat cell layout of [`crate::cell`]
/// (`w_x`, `w_h`, `b`), then the readout and the initial state.
pub const MODEL_ARRAYS: [&str; 6] = ["w_x", "w_h", "b", "w_out", "b_out", "h0"];

/// Why a model's sizes are invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeError {
    /// The cell shape is invalid (`n_hidden` 0 or too large, `n_inputs` too large).
    Shape(ShapeError),
    /// `n_outputs` is not in `1..=MAX_OUTPUTS`.
    Outputs(usize),
    /// `n_layers` is not in `1..=MAX_LAYERS`.
    Layers(usize),
    /// The model would hold more than [`MAX_TOTAL_PARAMS`] values.
    TooLarge,
}

impl From<ShapeError> for SizeError {
    fn from(e: ShapeError) -> Self {
        SizeError::Shape(e)
    }
}

/// A model's cell shape, number of layers and output size.
///
/// A model of `L` layers stacks `L` cells of one kind, hidden size and `α` (PyTorch's
/// `num_layers`): layer 0 reads the input (`n_inputs`), every layer above reads the new
/// hidden state of the one below (`n_hidden` inputs). Each of `w_x`, `w_h`, `b` and `h0`
/// holds the layers' arrays back to back, layer 0 first; the readout reads the top layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelShape {
    /// Cell kind and sizes (layer 0's; the layers above take `n_hidden` inputs).
    pub cell: CellShape,
    /// Number of stacked layers `L` (1 for a single cell).
    pub n_layers: usize,
    /// Output size `O`.
    pub n_outputs: usize,
}

impl ModelShape {
    /// Lengths of the arrays of [`MODEL_ARRAYS`], after checking every rule: a valid cell
    /// shape, `1 ≤ n_layers ≤ MAX_LAYERS`, `1 ≤ n_outputs ≤ MAX_OUTPUTS`, at most
    /// [`MAX_TOTAL_PARAMS`] values in all. The bounds keep every product far from overflow,
    /// on 32-bit targets too.
    pub const fn array_lens(&self) -> Result<[usize; 6], SizeError> {
        let c = &self.cell;
        if let Err(e) = c.validate() {
            return Err(SizeError::Shape(e));
        }
        let nl = self.n_layers;
        if nl == 0 || nl > MAX_LAYERS {
            return Err(SizeError::Layers(nl));
        }
        let o = self.n_outputs;
        if o == 0 || o > MAX_OUTPUTS {
            return Err(SizeError::Outputs(o));
        }
        // Bounded sizes: every product and the sum fit in u64.
        let (i, h, ou, l) = (c.n_inputs as u64, c.n_hidden as u64, o as u64, nl as u64);
        let gw = c.kind.n_gates() as u64 * h;
        let lens = [
            i * gw + (l - 1) * h * gw,
            l * h * gw,
            l * c.kind.n_bias_rows() as u64 * gw,
            h * ou,
            ou,
            l * c.state_dim() as u64,
        ];
        let total = lens[0] + lens[1] + lens[2] + lens[3] + lens[4] + lens[5];
        if total > MAX_TOTAL_PARAMS as u64 {
            return Err(SizeError::TooLarge);
        }
        // Each length is at most MAX_TOTAL_PARAMS < 2^32: the casts are exact.
        Ok([
            lens[0] as usize,
            lens[1] as usize,
            lens[2] as usize,
            lens[3] as usize,
            lens[4] as usize,
            lens[5] as usize,
        ])
    }
}
