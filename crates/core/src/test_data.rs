//! Deterministic test data shared by the kernel's unit tests.

/// `len` values uniform in `[−scale, scale)` from a 64-bit LCG seeded with `seed`.
pub(crate) fn data(len: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0) * scale
        })
        .collect()
}
