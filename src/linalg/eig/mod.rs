//! Real non-symmetric eigenvalue solver (being written).
