//! Stacked layers, PyTorch's `num_layers` convention: layer 0 reads the input `x`, layer
//! `l > 0` reads the new hidden state `h'_{l−1}` of the layer below at the same step (for an
//! LSTM only `h` goes up; `c` stays in its layer). The state is the layers' states back to
//! back, `[s_0 | s_1 | … | s_{L−1}]` (an LSTM layer's `s_l = [h_l, c_l]`).
//!
//! Every derivative is composed from the layers' own kernels ([`Cell::step_unchecked`],
//! [`Cell::vjp_unchecked`], [`Cell::jacobian`], [`Cell::input_jacobian`]); nothing about a
//! cell is derived again here. With `A_l = ∂s'_l/∂s_l` (the layer's state Jacobian) and
//! `B_l = ∂s'_l/∂(input of l)` (its input Jacobian, `S_l × I_l`):
//! - `∂F/∂s` is block lower-triangular: block `(l, l)` is `A_l`, and for `k < l` block
//!   `(l, k) = B_l · P_{l−1} · (block row l−1)`, `P_{l−1}` taking the first `H_{l−1}` rows
//!   (the `h` part of the layer below's new state);
//! - `∂F/∂x`: `D_0 = B_0`, `D_l = B_l · P_{l−1} D_{l−1}`;
//! - the vector-Jacobian product runs the layers top down: layer `l`'s upstream is its
//!   slice of `g` plus, on its `h` part, the input gradient of the layer above.
//!
//! The layers may differ in kind and size; a layer's input size must be the hidden size of
//! the one below. No heap: the caller gives the layers (a slice of [`Cell`]s) and the
//! workspaces, whose lengths the methods state.

use super::{Cell, ShapeError, check};
use crate::scalar::Real;
use crate::split::{sub, sub_mut, take, take_mut};

/// A stack of `L ≥ 1` cells, layer 0 first, bound to the caller's slice of layers.
#[derive(Clone, Copy, Debug)]
pub struct StackedCell<'a, T> {
    layers: &'a [Cell<'a, T>],
    state_dim: usize,
    cache_len: usize,
    /// Largest layer state size.
    max_state: usize,
    /// Largest input size of a layer above the first (the hidden size of the one below).
    max_upper_input: usize,
    /// Largest [`Cell::jacobian_scratch_len`] (which covers [`super::CellShape::scratch_len`]).
    max_scratch: usize,
}

impl<'a, T: Real> StackedCell<'a, T> {
    /// Binds the layers, checking that there is at least one and that each layer above the
    /// first takes the hidden size of the one below as its input size.
    pub fn new(layers: &'a [Cell<'a, T>]) -> Result<Self, ShapeError> {
        if layers.is_empty() {
            return Err(ShapeError {
                what: "layers",
                expected: 1,
                got: 0,
            });
        }
        let (mut state_dim, mut cache_len) = (0usize, 0usize);
        let (mut max_state, mut max_upper_input, mut max_scratch) = (0, 0, 0);
        let mut below: Option<usize> = None;
        for cell in layers {
            let s = cell.shape();
            if let Some(h) = below {
                check(
                    "a stacked layer's n_inputs (the n_hidden of the layer below)",
                    h,
                    s.n_inputs,
                )?;
                max_upper_input = max_upper_input.max(s.n_inputs);
            }
            let too_large = ShapeError {
                what: "stacked state size",
                expected: usize::MAX,
                got: usize::MAX,
            };
            state_dim = state_dim.checked_add(s.state_dim()).ok_or(too_large)?;
            // The cache also keeps each non-top layer's new `h` (the input of the next one).
            cache_len = cache_len
                .checked_add(s.cache_len() + s.n_hidden)
                .ok_or(too_large)?;
            max_state = max_state.max(s.state_dim());
            max_scratch = max_scratch.max(cell.jacobian_scratch_len());
            below = Some(s.n_hidden);
        }
        // The top layer's `h` is part of the output, not kept in the cache.
        cache_len -= below.unwrap_or(0);
        Ok(StackedCell {
            layers,
            state_dim,
            cache_len,
            max_state,
            max_upper_input,
            max_scratch,
        })
    }

    /// The layers, layer 0 first.
    pub fn layers(&self) -> &'a [Cell<'a, T>] {
        self.layers
    }

    /// Number of layers `L`.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Input size `I` (layer 0's).
    pub fn n_inputs(&self) -> usize {
        self.layers.first().map_or(0, |c| c.shape().n_inputs)
    }

    /// State size `S = Σ S_l`.
    pub fn state_dim(&self) -> usize {
        self.state_dim
    }

    /// Offset of layer `l`'s state in the stacked state (`S` for `l = L`).
    pub fn state_offset(&self, l: usize) -> usize {
        self.layers
            .iter()
            .take(l)
            .map(|c| c.shape().state_dim())
            .sum()
    }

    /// Per-sample cache that [`StackedCell::step`] fills and the derivatives read: every
    /// layer's cache, and the new `h` of every layer but the top one.
    pub fn cache_len(&self) -> usize {
        self.cache_len
    }

    /// Scratch [`StackedCell::vjp`] needs.
    pub fn vjp_scratch_len(&self) -> usize {
        self.max_state + self.max_upper_input + self.max_scratch
    }

    /// Scratch [`StackedCell::jacobians`] needs.
    pub fn jacobian_scratch_len(&self) -> usize {
        self.max_state * self.max_state + self.max_state * self.max_upper_input + self.max_scratch
    }

    /// `h_next = F(h, x)` for the whole stack; fills `cache` (length
    /// [`StackedCell::cache_len`]) for the derivatives.
    pub fn step(
        &self,
        x: &[T],
        h: &[T],
        h_next: &mut [T],
        cache: &mut [T],
    ) -> Result<(), ShapeError> {
        check("x", self.n_inputs(), x.len())?;
        check("h", self.state_dim, h.len())?;
        check("h_next", self.state_dim, h_next.len())?;
        check("cache", self.cache_len, cache.len())?;
        self.step_unchecked(x, h, h_next, cache);
        Ok(())
    }

    /// [`StackedCell::step`] for callers that checked the lengths. Never panics in release
    /// builds: a slice that is too short stops the step early and leaves the outputs
    /// unspecified (debug builds panic).
    pub fn step_unchecked(&self, x: &[T], h: &[T], h_next: &mut [T], cache: &mut [T]) {
        let done = self.step_in(x, h, h_next, cache);
        debug_assert!(
            done.is_some(),
            "StackedCell::step_unchecked: a slice is too short"
        );
    }

    fn step_in(&self, x: &[T], h: &[T], h_next: &mut [T], cache: &mut [T]) -> Option<()> {
        let (mut h_rest, mut out_rest, mut c_rest) = (h, h_next, cache);
        let mut input: &[T] = x;
        let top = self.layers.len() - 1;
        for (l, cell) in self.layers.iter().enumerate() {
            let s = cell.shape();
            let hl = take(&mut h_rest, s.state_dim())?;
            let out = take_mut(&mut out_rest, s.state_dim())?;
            let cl = take_mut(&mut c_rest, s.cache_len())?;
            cell.step_unchecked(input, hl, out, cl);
            if l < top {
                let kept = take_mut(&mut c_rest, s.n_hidden)?;
                kept.copy_from_slice(out.get(..s.n_hidden)?);
                input = kept;
            }
        }
        Some(())
    }

    /// Layer `l`'s cell and operands: its input (`x` for layer 0, the kept `h'_{l−1}` above
    /// it), its slice of the state and its own cache, found by walking the layers below.
    fn layer_view<'c>(
        &self,
        l: usize,
        x: &'c [T],
        h: &'c [T],
        cache: &'c [T],
    ) -> Option<(Cell<'a, T>, LayerView<'c, T>)> {
        let (mut h_rest, mut c_rest) = (h, cache);
        let mut input: &[T] = x;
        let mut offset = 0;
        for (k, cell) in self.layers.iter().enumerate() {
            let s = cell.shape();
            let hl = take(&mut h_rest, s.state_dim())?;
            let cl = take(&mut c_rest, s.cache_len())?;
            if k == l {
                let view = LayerView {
                    input,
                    h: hl,
                    cache: cl,
                    offset,
                };
                return Some((*cell, view));
            }
            offset += s.state_dim();
            input = take(&mut c_rest, s.n_hidden)?;
        }
        None
    }

    /// Vector-Jacobian products at the point of the `step` that filled `cache`, for an
    /// upstream gradient `g` (length `S`): `g_h = gᵀ ∂F/∂h` (length `S`, overwritten) and,
    /// if given, `g_x = gᵀ ∂F/∂x` (length `I`, overwritten). `scratch` has
    /// [`StackedCell::vjp_scratch_len`] elements.
    #[allow(clippy::too_many_arguments)]
    pub fn vjp(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        g: &[T],
        g_h: &mut [T],
        g_x: Option<&mut [T]>,
        scratch: &mut [T],
    ) -> Result<(), ShapeError> {
        check("x", self.n_inputs(), x.len())?;
        check("h", self.state_dim, h.len())?;
        check("cache", self.cache_len, cache.len())?;
        check("g", self.state_dim, g.len())?;
        check("g_h", self.state_dim, g_h.len())?;
        if let Some(gx) = &g_x {
            check("g_x", self.n_inputs(), gx.len())?;
        }
        if scratch.len() < self.vjp_scratch_len() {
            return Err(ShapeError {
                what: "scratch",
                expected: self.vjp_scratch_len(),
                got: scratch.len(),
            });
        }
        self.vjp_unchecked(x, h, cache, g, g_h, g_x, scratch);
        Ok(())
    }

    /// [`StackedCell::vjp`] for callers that checked the lengths. Never panics in release
    /// builds: a slice that is too short stops it early and leaves the outputs unspecified
    /// (debug builds panic).
    #[allow(clippy::too_many_arguments)]
    pub fn vjp_unchecked(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        g: &[T],
        g_h: &mut [T],
        g_x: Option<&mut [T]>,
        scratch: &mut [T],
    ) {
        let done = self.vjp_in(x, h, cache, g, g_h, g_x, scratch);
        debug_assert!(
            done.is_some(),
            "StackedCell::vjp_unchecked: a slice is too short"
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn vjp_in(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        g: &[T],
        g_h: &mut [T],
        mut g_x: Option<&mut [T]>,
        scratch: &mut [T],
    ) -> Option<()> {
        let mut w = scratch;
        let up = take_mut(&mut w, self.max_state)?;
        let g_in = take_mut(&mut w, self.max_upper_input)?;
        let cell_scratch = w;
        // Top down: each layer's upstream gets the input gradient of the layer above.
        let n = self.layers.len();
        let mut from_above = false;
        for l in (0..n).rev() {
            let (cell, v) = self.layer_view(l, x, h, cache)?;
            let s = cell.shape();
            let (sd, nh) = (s.state_dim(), s.n_hidden);
            let up = up.get_mut(..sd)?;
            up.copy_from_slice(sub(g, v.offset, sd)?);
            if from_above {
                for (a, &b) in up.iter_mut().zip(g_in.get(..nh)?) {
                    *a += b;
                }
            }
            let gh = sub_mut(g_h, v.offset, sd)?;
            if l > 0 {
                let gi = g_in.get_mut(..s.n_inputs)?;
                cell.vjp_unchecked(v.input, v.h, v.cache, up, gh, Some(gi), None, cell_scratch);
            } else {
                let gx = g_x.as_deref_mut();
                cell.vjp_unchecked(v.input, v.h, v.cache, up, gh, gx, None, cell_scratch);
            }
            from_above = true;
        }
        Some(())
    }

    /// The Jacobians at the point of the `step` that filled `cache`: `jac = ∂F/∂h` (`S × S`,
    /// row-major, row = output) and `dfdu = ∂F/∂x` (`S × I`), each if given. `scratch` has
    /// [`StackedCell::jacobian_scratch_len`] elements. Cost: the layers' own Jacobians, plus
    /// for layer `l > 0` a product `(S_l × H_{l−1}) · (H_{l−1} × Σ_{k<l} S_k)` (and one with
    /// `I` columns for `dfdu`).
    pub fn jacobians(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        jac: Option<&mut [T]>,
        dfdu: Option<&mut [T]>,
        scratch: &mut [T],
    ) -> Result<(), ShapeError> {
        let (sd, ni) = (self.state_dim, self.n_inputs());
        check("x", ni, x.len())?;
        check("h", sd, h.len())?;
        check("cache", self.cache_len, cache.len())?;
        if let Some(j) = &jac {
            check("jacobian", sd * sd, j.len())?;
        }
        if let Some(d) = &dfdu {
            check("input_jacobian", sd * ni, d.len())?;
        }
        if scratch.len() < self.jacobian_scratch_len() {
            return Err(ShapeError {
                what: "scratch",
                expected: self.jacobian_scratch_len(),
                got: scratch.len(),
            });
        }
        let done = self.jacobians_in(x, h, cache, jac, dfdu, scratch);
        debug_assert!(
            done.is_some(),
            "StackedCell::jacobians: a slice is too short"
        );
        Ok(())
    }

    fn jacobians_in(
        &self,
        x: &[T],
        h: &[T],
        cache: &[T],
        mut jac: Option<&mut [T]>,
        mut dfdu: Option<&mut [T]>,
        scratch: &mut [T],
    ) -> Option<()> {
        let (sd, ni) = (self.state_dim, self.n_inputs());
        let mut w = scratch;
        let diag = take_mut(&mut w, self.max_state * self.max_state)?;
        let b = take_mut(&mut w, self.max_state * self.max_upper_input)?;
        let cell_scratch = w;
        if let Some(j) = jac.as_deref_mut() {
            j.fill(T::ZERO);
        }
        // (offset, hidden size) of the layer below.
        let mut below: Option<(usize, usize)> = None;
        for l in 0..self.layers.len() {
            let (cell, v) = self.layer_view(l, x, h, cache)?;
            let s = cell.shape();
            let (sl, off) = (s.state_dim(), v.offset);
            if let Some(j) = jac.as_deref_mut() {
                let a = diag.get_mut(..sl * sl)?;
                cell.jacobian(v.input, v.h, v.cache, a, cell_scratch).ok()?;
                for (r, row) in a.chunks_exact(sl).enumerate() {
                    sub_mut(j, (off + r) * sd + off, sl)?.copy_from_slice(row);
                }
            }
            match below {
                None => {
                    // Layer 0: its input Jacobian is the top rows of `dfdu` as they are.
                    if let Some(d) = dfdu.as_deref_mut() {
                        let d0 = d.get_mut(..sl * ni)?;
                        cell.input_jacobian(v.input, v.h, v.cache, d0, cell_scratch)
                            .ok()?;
                    }
                }
                Some((off_b, h_b)) => {
                    let bl = b.get_mut(..sl * h_b)?;
                    cell.input_jacobian(v.input, v.h, v.cache, bl, cell_scratch)
                        .ok()?;
                    if let Some(j) = jac.as_deref_mut() {
                        // Rows of layer l, columns 0..off: B_l · (the layer below's h rows).
                        let (top, bottom) = j.split_at_mut_checked(off * sd)?;
                        let src = top.get(off_b * sd..)?;
                        matmul_strided(sl, h_b, off, bl, h_b, src, sd, bottom, sd)?;
                    }
                    if let Some(d) = dfdu.as_deref_mut() {
                        let (top, bottom) = d.split_at_mut_checked(off * ni)?;
                        let src = top.get(off_b * ni..)?;
                        matmul_strided(sl, h_b, ni, bl, h_b, src, ni, bottom, ni)?;
                    }
                }
            }
            below = Some((off, s.n_hidden));
        }
        Some(())
    }
}

/// One layer's operands inside a stacked evaluation.
#[derive(Clone, Copy)]
struct LayerView<'c, T> {
    /// The layer's input: `x`, or the new `h` of the layer below.
    input: &'c [T],
    /// The layer's slice of the stacked state.
    h: &'c [T],
    /// The layer's own cache.
    cache: &'c [T],
    /// Offset of the layer's state in the stacked state.
    offset: usize,
}

/// `c[i][j] = Σ_p a[i][p] b[p][j]` for `i < m`, `j < n`, `p < k`, every matrix row-major
/// with its own row stride (`lda`, `ldb`, `ldc`); columns of `c` past `n` are left alone.
/// `None` if a slice is too short.
#[allow(clippy::too_many_arguments)]
fn matmul_strided<T: Real>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    lda: usize,
    b: &[T],
    ldb: usize,
    c: &mut [T],
    ldc: usize,
) -> Option<()> {
    for i in 0..m {
        let ci = sub_mut(c, i * ldc, n)?;
        ci.fill(T::ZERO);
        for (p, &aip) in sub(a, i * lda, k)?.iter().enumerate() {
            for (cv, &bv) in ci.iter_mut().zip(sub(b, p * ldb, n)?) {
                *cv += aip * bv;
            }
        }
    }
    Some(())
}
