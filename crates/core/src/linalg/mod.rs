//! Small dense kernels on row-major slices, the LU solve and the eigenvalue solver.
//!
//! Everything here works on caller-supplied memory and never allocates.

pub mod dense;
pub mod eig;
pub mod gemm;
pub mod lu;
