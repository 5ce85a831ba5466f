//! Named parameter arrays and where they live in the shared flat layout `[w_x | w_h | b]`.
//!
//! A user sees a cell's parameters as named row-major arrays: the tutorial's names
//! in row-vector convention (`w_ih` is `I × H`), or PyTorch's names in column convention
//! (`weight_ih_l0` is `G·H × I`, the transpose of `w_x`). A [`ParamSpec`] says how one named
//! array maps onto the flat parameter vector of length [`CellShape::n_params`]: which region
//! (`w_x`, `w_h` or `b`), which gate block of columns, and whether it is transposed.
//!
//! | cell        | name                       | user shape | flat location                     |
//! |-------------|----------------------------|------------|-----------------------------------|
//! | `tanh`      | `w_ih`                     | `I × H`    | `w_x`                             |
//! | `leaky_*`   | `w_hh`                     | `H × H`    | `w_h`                             |
//! |             | `b_h`                      | `H`        | `b`                               |
//! |             | `weight_ih_l0` (alias)     | `H × I`    | `w_x` transposed                  |
//! |             | `weight_hh_l0` (alias)     | `H × H`    | `w_h` transposed                  |
//! | `gru`       | `w_ir`, `w_iz`, `w_in`     | `I × H`    | gate blocks 0, 1, 2 of `w_x`      |
//! |             | `w_hr`, `w_hz`, `w_hn`     | `H × H`    | gate blocks 0, 1, 2 of `w_h`      |
//! |             | `b_r`, `b_z`, `b_n`        | `H`        | gate blocks 0, 1, 2 of `b`        |
//! | `gru_torch` | `weight_ih_l0`             | `3H × I`   | `w_x` transposed                  |
//! | and `lstm`  | `weight_hh_l0`             | `G·H × H`  | `w_h` transposed                  |
//! | (`G` = 3/4) | `bias_ih_l0`, `bias_hh_l0` | `G·H`      | bias rows 0 and 1                 |
//!
//! Gate order is PyTorch's (r, z, n for the GRU; i, f, g, o for the LSTM), so a PyTorch
//! `state_dict` maps over by name alone.
//!
//! **The tanh cell's biases.** `torch.nn.RNN` has two bias vectors that only ever appear as a
//! sum, while the tanh cell has one bias row. This core module therefore knows only `b_h`
//! for it; `bias_ih_l0` and `bias_hh_l0` are *not* cell names here. The heap-using
//! `fpf::model::Model` (and the C API) accepts them on top (it remembers the split and keeps
//! `b_h = bias_ih_l0 + bias_hh_l0`); without it, pass `bias_ih + bias_hh` as `b_h`.
//!
//! Readout (`w_out`, `b_out`) and initial state (`h0`) are model-level names, not cell names.

use super::{CellKind, CellShape, ShapeError};

const TANH_NAMES: &[&str] = &["w_ih", "w_hh", "b_h"];
const TANH_ALIASES: &[&str] = &["weight_ih_l0", "weight_hh_l0"];
const GRU_NAMES: &[&str] = &[
    "w_ir", "w_iz", "w_in", "w_hr", "w_hz", "w_hn", "b_r", "b_z", "b_n",
];
const TORCH_NAMES: &[&str] = &["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];

/// The canonical parameter names of a cell kind: together they cover every entry of the flat
/// parameter vector exactly once (input weights, then recurrent weights, then biases).
pub fn names(kind: CellKind) -> &'static [&'static str] {
    match kind {
        CellKind::Gru => GRU_NAMES,
        CellKind::GruTorch | CellKind::Lstm => TORCH_NAMES,
        // tanh and the leaky cells.
        _ => TANH_NAMES,
    }
}

/// Extra names [`lookup`] accepts for a kind, each another view of canonical parameters:
/// the tanh (and leaky) cells' PyTorch `nn.RNN` weight names `weight_ih_l0` and `weight_hh_l0`.
pub fn aliases(kind: CellKind) -> &'static [&'static str] {
    match kind {
        CellKind::Gru | CellKind::GruTorch | CellKind::Lstm => &[],
        _ => TANH_ALIASES,
    }
}

/// Where one named parameter array lives in the flat vector `[w_x | w_h | b]`.
///
/// Element `(r, c)` of the user's row-major `rows × cols` array is
/// `flat[offset + r·stride + c]`, or `flat[offset + c·stride + r]` when the array is
/// transposed relative to the storage (the PyTorch names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name, as listed by [`names`] or [`aliases`].
    pub name: &'static str,
    /// Rows of the user's array (1 for a vector).
    pub rows: usize,
    /// Columns of the user's array (the length, for a vector).
    pub cols: usize,
    /// True for a one-dimensional array (a bias) of length `cols`.
    pub vector: bool,
    /// True if the user's array is the transpose of the stored block (PyTorch's layout).
    pub transposed: bool,
    shape: CellShape,
    offset: usize,
    stride: usize,
}

/// The region of the flat vector a name lives in.
#[derive(Clone, Copy)]
enum Region {
    Wx,
    Wh,
    /// Bias row `k`.
    B(usize),
}

/// How a name maps: region, gate block (`None`: all `G` blocks), transposed.
fn entry(kind: CellKind, name: &str) -> Option<(&'static str, Region, Option<usize>, bool)> {
    let e = |n: &'static str, r: Region, blk: Option<usize>, t: bool| Some((n, r, blk, t));
    match kind {
        CellKind::Gru => {
            let i = GRU_NAMES.iter().position(|&n| n == name)?;
            let region = match i / 3 {
                0 => Region::Wx,
                1 => Region::Wh,
                _ => Region::B(0),
            };
            e(GRU_NAMES[i], region, Some(i % 3), false)
        }
        CellKind::GruTorch | CellKind::Lstm => match name {
            "weight_ih_l0" => e("weight_ih_l0", Region::Wx, None, true),
            "weight_hh_l0" => e("weight_hh_l0", Region::Wh, None, true),
            "bias_ih_l0" => e("bias_ih_l0", Region::B(0), None, false),
            "bias_hh_l0" => e("bias_hh_l0", Region::B(1), None, false),
            _ => None,
        },
        // tanh and the leaky cells: one block, one bias row.
        _ => match name {
            "w_ih" => e("w_ih", Region::Wx, None, false),
            "w_hh" => e("w_hh", Region::Wh, None, false),
            "b_h" => e("b_h", Region::B(0), None, false),
            "weight_ih_l0" => e("weight_ih_l0", Region::Wx, None, true),
            "weight_hh_l0" => e("weight_hh_l0", Region::Wh, None, true),
            _ => None,
        },
    }
}

/// The spec of parameter `name` of a cell of `shape`; `None` if the kind has no such name
/// (see [`names`] and [`aliases`]) or if `shape` does not pass [`CellShape::validate`].
pub fn lookup(shape: &CellShape, name: &str) -> Option<ParamSpec> {
    shape.validate().ok()?;
    let (name, region, block, transposed) = entry(shape.kind, name)?;
    let (ni, nh, gw) = (shape.n_inputs, shape.n_hidden, shape.gate_width());
    let (base, n_rows) = match region {
        Region::Wx => (0, ni),
        Region::Wh => (shape.len_w_x(), nh),
        Region::B(k) => (shape.len_w_x() + shape.len_w_h() + k * gw, 1),
    };
    let (col0, width) = match block {
        Some(g) => (g * nh, nh),
        None => (0, gw),
    };
    let vector = matches!(region, Region::B(_));
    let (rows, cols) = if transposed {
        (width, n_rows)
    } else {
        (n_rows, width)
    };
    Some(ParamSpec {
        name,
        rows,
        cols,
        vector,
        transposed,
        shape: *shape,
        offset: base + col0,
        stride: gw,
    })
}

impl ParamSpec {
    /// Number of elements, `rows · cols`.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// True if the array has no elements (an input weight of a cell with no inputs).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flat index of the user's element `(r, c)`.
    #[inline]
    fn index(&self, r: usize, c: usize) -> usize {
        if self.transposed {
            self.offset + c * self.stride + r
        } else {
            self.offset + r * self.stride + c
        }
    }

    fn check(&self, shape: &CellShape, flat: usize, user: usize) -> Result<(), ShapeError> {
        if *shape != self.shape {
            return Err(ShapeError {
                what: "shape (the spec was looked up for another shape)",
                expected: self.shape.n_params(),
                got: shape.n_params(),
            });
        }
        if flat != self.shape.n_params() {
            return Err(ShapeError {
                what: "params",
                expected: self.shape.n_params(),
                got: flat,
            });
        }
        if user != self.len() {
            return Err(ShapeError {
                what: self.name,
                expected: self.len(),
                got: user,
            });
        }
        Ok(())
    }

    /// Copies the named array out of the flat vector into `out` (row-major, length
    /// [`ParamSpec::len`]). `shape` must be the one the spec was looked up for.
    pub fn read<T: Copy>(
        &self,
        shape: &CellShape,
        flat: &[T],
        out: &mut [T],
    ) -> Result<(), ShapeError> {
        self.check(shape, flat.len(), out.len())?;
        if self.cols == 0 {
            return Ok(());
        }
        for (r, row) in out.chunks_exact_mut(self.cols).enumerate() {
            for (c, o) in row.iter_mut().enumerate() {
                *o = flat[self.index(r, c)];
            }
        }
        Ok(())
    }

    /// Copies `src` (row-major, length [`ParamSpec::len`]) into its place in the flat vector,
    /// leaving every other parameter unchanged.
    pub fn write<T: Copy>(
        &self,
        shape: &CellShape,
        flat: &mut [T],
        src: &[T],
    ) -> Result<(), ShapeError> {
        self.check(shape, flat.len(), src.len())?;
        if self.cols == 0 {
            return Ok(());
        }
        for (r, row) in src.chunks_exact(self.cols).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                flat[self.index(r, c)] = v;
            }
        }
        Ok(())
    }
}
