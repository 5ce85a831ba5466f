//! Stacked models in the finder: [`StackedMap`] is a stack of cells (PyTorch's
//! `num_layers`, [`crate::model::Model::new_stacked`]) as a [`BatchMap`], so the whole
//! pipeline ([`crate::analysis::FixedPointFinder::for_map`]: Adam, Newton, uniqueness,
//! outliers, Jacobians, eigen-decomposition, summaries) runs on it.
//!
//! Every evaluation is the kernel's [`StackedCell`] (the layers' own per-state kernels,
//! composed), in f64, one state at a time, the batch's rows spread over `n_threads`
//! threads in fixed chunks: each row's arithmetic does not depend on the chunking, so the
//! results are the same bits for every thread count. The Jacobians are the analytic block
//! lower-triangular ones ([`StackedCell::jacobians`]), `∂F/∂u` included.
//!
//! ```
//! use fpf_std::analysis::FixedPointFinder;
//! use fpf_std::cell::{CellKind, CellShape};
//! use fpf_std::find::FinderOptions;
//! use fpf_std::model::Model;
//! use fpf_std::stacked::StackedMap;
//!
//! let shape = CellShape::new(CellKind::GruTorch, 3, 16);
//! let model = Model::<f64>::init_scaled_stacked(shape, 2, 3, 42)?; // 2 layers, S = 32
//! let map = StackedMap::new(&model, 0)?;
//! let finder = FixedPointFinder::for_map(&map, FinderOptions::default())?;
//! let inits: Vec<f64> = (0..64 * 32).map(|k| 0.3 * (k as f64).sin()).collect();
//! let found = finder.find_fixed_points(&inits, &[0.0; 3], None, None)?;
//! assert!(found.unique.n >= 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::analysis::AnalysisError;
use crate::cell::{Cell, CellKind, StackedCell};
use crate::find::batch_map::{BatchMap, ModelError};
use crate::model::Model;
use crate::threads::Threads;

/// Rows per chunk of parallel work (fixed, so the work split does not depend on the
/// thread count).
const CHUNK: usize = 16;

/// The per-row work of [`StackedMap::rows`]: `(row, its output, scratch)`, `None` when a
/// slice is too short.
type RowFn<'f> = dyn Fn(usize, &mut [f64], &mut [f64]) -> Option<()> + Sync + 'f;

/// A stack of cells as a [`BatchMap`] for the finder (see the module docs).
pub struct StackedMap<'m> {
    layers: Vec<Cell<'m, f64>>,
    n_states: usize,
    n_inputs: usize,
    cache_len: usize,
    vjp_scratch: usize,
    jac_scratch: usize,
    threads: Threads,
}

impl<'m> StackedMap<'m> {
    /// The map of `model`'s layers (any number, 1 included), evaluated on `n_threads`
    /// threads (0 = one per core).
    pub fn new(model: &'m Model<f64>, n_threads: usize) -> Result<Self, AnalysisError> {
        Self::from_layers(model.layers(), n_threads)
    }

    /// The map of the given layers, layer 0 first (they may differ in kind and size; each
    /// layer above the first must take the hidden size of the one below as its input size).
    pub fn from_layers(
        layers: Vec<Cell<'m, f64>>,
        n_threads: usize,
    ) -> Result<Self, AnalysisError> {
        let (n_states, n_inputs, cache_len, vjp_scratch, jac_scratch) = {
            let s = StackedCell::new(&layers)?;
            (
                s.state_dim(),
                s.n_inputs(),
                s.cache_len(),
                s.vjp_scratch_len(),
                s.jacobian_scratch_len(),
            )
        };
        Ok(StackedMap {
            layers,
            n_states,
            n_inputs,
            cache_len,
            vjp_scratch,
            jac_scratch,
            threads: Threads::new(n_threads),
        })
    }

    /// The layers, layer 0 first.
    pub fn layers(&self) -> &[Cell<'m, f64>] {
        &self.layers
    }

    /// The stacked cell over the layers (checked in [`StackedMap::from_layers`]).
    fn stack(&self) -> Option<StackedCell<'_, f64>> {
        StackedCell::new(&self.layers).ok()
    }

    /// Runs `f(r, out_row, scratch)` for every row `r` of `out` (rows of `width`), on the
    /// threads in chunks of [`CHUNK`] rows, each worker with a scratch of `scratch_len`.
    fn rows(&self, out: &mut [f64], width: usize, scratch_len: usize, f: &RowFn<'_>) {
        if width == 0 {
            return;
        }
        let mut chunks: Vec<&mut [f64]> = out.chunks_mut(CHUNK * width).collect();
        self.threads.for_each(
            &mut chunks,
            || vec![0.0; scratch_len],
            |scratch, c, chunk| {
                for (k, o) in chunk.chunks_exact_mut(width).enumerate() {
                    // `None`: a slice shorter than the batch (the caller's error); stop.
                    if f(c * CHUNK + k, o, scratch).is_none() {
                        return;
                    }
                }
            },
        );
    }
}

/// Row `r` of a row-major array of rows of `width`.
fn row(a: &[f64], r: usize, width: usize) -> Option<&[f64]> {
    a.get(r * width..)?.get(..width)
}

impl BatchMap for StackedMap<'_> {
    fn n_states(&self) -> usize {
        self.n_states
    }

    fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    fn forward(&self, x: &[f64], u: &[f64], fx: &mut [f64]) -> Result<(), ModelError> {
        let Some(stack) = self.stack() else {
            return Ok(());
        };
        let (s, ni) = (self.n_states, self.n_inputs);
        self.rows(fx, s, self.cache_len, &|r, o, cache| {
            stack.step_unchecked(row(u, r, ni)?, row(x, r, s)?, o, cache);
            Some(())
        });
        Ok(())
    }

    fn vjp(
        &self,
        x: &[f64],
        u: &[f64],
        v: &[f64],
        vjp_x: &mut [f64],
        vjp_u: Option<&mut [f64]>,
    ) -> Result<(), ModelError> {
        let Some(stack) = self.stack() else {
            return Ok(());
        };
        let (s, ni, c) = (self.n_states, self.n_inputs, self.cache_len);
        // Scratch: the step's output and cache, the VJP's scratch.
        let need = s + c + self.vjp_scratch;
        let run = |r: usize, gx: &mut [f64], gu: Option<&mut [f64]>, w: &mut [f64]| {
            let (fx, rest) = w.split_at_mut_checked(s)?;
            let (cache, scratch) = rest.split_at_mut_checked(c)?;
            let (xr, ur) = (row(x, r, s)?, row(u, r, ni)?);
            stack.step_unchecked(ur, xr, fx, cache);
            stack.vjp_unchecked(ur, xr, cache, row(v, r, s)?, gx, gu, scratch);
            Some(())
        };
        match vjp_u {
            Some(vu) if ni > 0 => {
                // One output row `[vᵀ∂F/∂x | vᵀ∂F/∂u]` per state, split afterwards.
                let width = s + ni;
                let mut joint = vec![0.0; (vjp_x.len() / s.max(1)) * width];
                self.rows(&mut joint, width, need, &|r, o, w| {
                    let (gx, gu) = o.split_at_mut_checked(s)?;
                    run(r, gx, Some(gu), w)
                });
                for ((j, dx), du) in joint
                    .chunks_exact(width)
                    .zip(vjp_x.chunks_exact_mut(s))
                    .zip(vu.chunks_exact_mut(ni))
                {
                    dx.copy_from_slice(&j[..s]);
                    du.copy_from_slice(&j[s..]);
                }
            }
            _ => self.rows(vjp_x, s, need, &|r, o, w| run(r, o, None, w)),
        }
        Ok(())
    }

    fn jacobian(
        &self,
        x: &[f64],
        u: &[f64],
        jac: &mut [f64],
        dfdu: Option<&mut [f64]>,
    ) -> Result<bool, ModelError> {
        let Some(stack) = self.stack() else {
            return Ok(true);
        };
        let (s, ni, c) = (self.n_states, self.n_inputs, self.cache_len);
        let need = s + c + self.jac_scratch;
        let with_u = dfdu.is_some();
        // One output row `[∂F/∂x | ∂F/∂u]` (S² + S·I) per state, split afterwards.
        let width = s * s + if with_u { s * ni } else { 0 };
        let n = jac.len() / (s * s).max(1);
        let mut joint = vec![0.0; n * width];
        self.rows(&mut joint, width, need, &|r, o, w| {
            let (fx, rest) = w.split_at_mut_checked(s)?;
            let (cache, scratch) = rest.split_at_mut_checked(c)?;
            let (xr, ur) = (row(x, r, s)?, row(u, r, ni)?);
            stack.step_unchecked(ur, xr, fx, cache);
            let (j, d) = o.split_at_mut_checked(s * s)?;
            let d = if with_u { Some(d) } else { None };
            stack.jacobians(ur, xr, cache, Some(j), d, scratch).ok()
        });
        for (k, jr) in joint.chunks_exact(width).enumerate() {
            if let Some(dst) = jac.get_mut(k * s * s..(k + 1) * s * s) {
                dst.copy_from_slice(&jr[..s * s]);
            }
        }
        if let Some(d) = dfdu {
            for (k, jr) in joint.chunks_exact(width).enumerate() {
                if let Some(dst) = d.get_mut(k * s * ni..(k + 1) * s * ni) {
                    dst.copy_from_slice(&jr[s * s..]);
                }
            }
        }
        Ok(true)
    }

    fn input_derivatives(&self) -> bool {
        true
    }

    /// Every layer's units on a kink (leaky ReLU layers), each at its own input.
    fn kink_units(&self, x: &[f64], u: &[f64]) -> Option<usize> {
        if !self
            .layers
            .iter()
            .any(|c| c.shape().kind == CellKind::LeakyRelu)
        {
            return None;
        }
        let stack = self.stack()?;
        let mut fx = vec![0.0; self.n_states];
        let mut cache = vec![0.0; self.cache_len];
        stack.step(u, x, &mut fx, &mut cache).ok()?;
        let mut scratch = vec![0.0; self.layers.iter().map(|c| c.shape().n_hidden).max()?];
        let (mut count, mut off) = (0, 0);
        let mut input = u;
        for cell in &self.layers {
            let s = cell.shape();
            let h = x.get(off..off + s.state_dim())?;
            count += cell.kink_units(input, h, &mut scratch).ok()?;
            input = fx.get(off..off + s.n_hidden)?;
            off += s.state_dim();
        }
        Some(count)
    }
}
