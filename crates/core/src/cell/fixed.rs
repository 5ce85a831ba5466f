//! Cells with compile-time sizes for embedded callers: no heap, every buffer on the stack.
//!
//! Each type owns its weights as nested arrays whose memory order *is* the shared layout of
//! [`crate::cell`] (`[[[T; H]; G]; I]` flattens to `I × G·H`), and borrows them as a
//! [`Cell`], so the run-time kernels do the work and no size gets its own copy of them.
//! Weights are public fields; fill them directly or through a flat parameter slice.

use super::{Cell, CellKind, CellShape, Weights};
use crate::scalar::Real;

/// Stack buffers for one step plus Jacobian: 9 rows of `H` cover every cell's cache
/// (at most 6H) and scratch (at most 7H + 2H) for state size `H`.
const ROWS: usize = 9;

macro_rules! fixed_cell {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $g:literal, wx: $wx:ty, wh: $wh:ty, b: $b:ty,
     bzero: $bz:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name<T, const I: usize, const H: usize> {
            /// Input weights, `I × G·H` in the shared layout.
            pub w_x: $wx,
            /// Recurrent weights, `H × G·H`.
            pub w_h: $wh,
            /// Bias rows, `B × G·H`.
            pub b: $b,
        }

        impl<T: Real, const I: usize, const H: usize> $name<T, I, H> {
            /// The shape these sizes describe.
            pub const SHAPE: CellShape = CellShape::new($kind, I, H);

            /// All weights zero.
            pub fn zeros() -> Self {
                Self {
                    w_x: [[[T::ZERO; H]; $g]; I],
                    w_h: [[[T::ZERO; H]; $g]; H],
                    b: $bz,
                }
            }

            /// Borrows the weights as a run-time [`Cell`].
            pub fn cell(&self) -> Cell<'_, T> {
                Cell {
                    shape: Self::SHAPE,
                    w: Weights {
                        w_x: self.w_x.as_flattened().as_flattened(),
                        w_h: self.w_h.as_flattened().as_flattened(),
                        b: self.b.flat(),
                    },
                }
            }

            /// `F(h, x)`.
            pub fn step(&self, x: &[T; I], h: &[T; H]) -> [T; H] {
                let mut out = [T::ZERO; H];
                let mut cache = [[T::ZERO; H]; ROWS];
                let cache = &mut cache.as_flattened_mut()[..Self::SHAPE.cache_len()];
                self.cell().step_unchecked(x, h, &mut out, cache);
                out
            }

            /// `F(h, x)` and the state Jacobian `J[i][j] = ∂F_i/∂h_j`.
            pub fn step_with_jacobian(&self, x: &[T; I], h: &[T; H]) -> ([T; H], [[T; H]; H]) {
                let cell = self.cell();
                let mut out = [T::ZERO; H];
                let mut jac = [[T::ZERO; H]; H];
                let mut cache = [[T::ZERO; H]; ROWS];
                let mut scratch = [[T::ZERO; H]; ROWS];
                let cache = &mut cache.as_flattened_mut()[..Self::SHAPE.cache_len()];
                cell.step_unchecked(x, h, &mut out, cache);
                // Lengths are right by construction, so this cannot fail.
                let _ = cell.jacobian(
                    x,
                    h,
                    cache,
                    jac.as_flattened_mut(),
                    scratch.as_flattened_mut(),
                );
                (out, jac)
            }
        }
    };
}

/// Flattens bias storage of any nesting depth to the `B × G·H` slice.
trait FlatBias<T> {
    fn flat(&self) -> &[T];
}
impl<T, const H: usize> FlatBias<T> for [T; H] {
    fn flat(&self) -> &[T] {
        self
    }
}
impl<T, const H: usize, const G: usize> FlatBias<T> for [[T; H]; G] {
    fn flat(&self) -> &[T] {
        self.as_flattened()
    }
}
impl<T, const H: usize, const G: usize, const B: usize> FlatBias<T> for [[[T; H]; G]; B] {
    fn flat(&self) -> &[T] {
        self.as_flattened().as_flattened()
    }
}
fixed_cell!(
    /// Elman cell `F = tanh(x W_x + h W_h + b)` with `I` inputs and `H` units.
    TanhCell, CellKind::Tanh, 1, wx: [[[T; H]; 1]; I], wh: [[[T; H]; 1]; H], b: [T; H],
    bzero: [T::ZERO; H]
);
fixed_cell!(
    /// GRU, "reset before" convention (gate blocks r, z, n).
    GruCell, CellKind::Gru, 3, wx: [[[T; H]; 3]; I], wh: [[[T; H]; 3]; H], b: [[T; H]; 3],
    bzero: [[T::ZERO; H]; 3]
);
fixed_cell!(
    /// GRU, PyTorch "reset after" convention (gate blocks r, z, n; bias rows b_ih, b_hh).
    GruTorchCell, CellKind::GruTorch, 3, wx: [[[T; H]; 3]; I], wh: [[[T; H]; 3]; H],
    b: [[[T; H]; 3]; 2], bzero: [[[T::ZERO; H]; 3]; 2]
);

/// LSTM (gate blocks i, f, g, o; bias rows b_ih, b_hh) with `I` inputs and `H` units; the
/// state is `(h, c)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LstmCell<T, const I: usize, const H: usize> {
    /// Input weights, `I × 4H`.
    pub w_x: [[[T; H]; 4]; I],
    /// Recurrent weights, `H × 4H`.
    pub w_h: [[[T; H]; 4]; H],
    /// Bias rows `b_ih`, `b_hh`, `2 × 4H`.
    pub b: [[[T; H]; 4]; 2],
}

impl<T: Real, const I: usize, const H: usize> LstmCell<T, I, H> {
    /// The shape these sizes describe.
    pub const SHAPE: CellShape = CellShape::new(CellKind::Lstm, I, H);

    /// All weights zero.
    pub fn zeros() -> Self {
        Self {
            w_x: [[[T::ZERO; H]; 4]; I],
            w_h: [[[T::ZERO; H]; 4]; H],
            b: [[[T::ZERO; H]; 4]; 2],
        }
    }

    /// Borrows the weights as a run-time [`Cell`] (state `[h, c]` of length `2H`).
    pub fn cell(&self) -> Cell<'_, T> {
        Cell {
            shape: Self::SHAPE,
            w: Weights {
                w_x: self.w_x.as_flattened().as_flattened(),
                w_h: self.w_h.as_flattened().as_flattened(),
                b: self.b.as_flattened().as_flattened(),
            },
        }
    }

    /// One step: `(h', c') = F((h, c), x)`.
    pub fn step(&self, x: &[T; I], h: &[T; H], c: &[T; H]) -> ([T; H], [T; H]) {
        let mut state = [[T::ZERO; H]; 2];
        state[0] = *h;
        state[1] = *c;
        let mut next = [[T::ZERO; H]; 2];
        let mut cache = [[T::ZERO; H]; 6];
        self.cell().step_unchecked(
            x,
            state.as_flattened(),
            next.as_flattened_mut(),
            cache.as_flattened_mut(),
        );
        (next[0], next[1])
    }
}
