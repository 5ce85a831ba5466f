//! Text a person reads: the summary block, the per-point table, progress lines, in the
//! reference tutorial format.

use super::fixed_points::FixedPoints;
use super::unique::median;
use core::fmt::Write;

/// Formats like C's `%.{prec}e` (two-digit exponent with sign): `2.76e-04`.
pub fn sci(v: f64, prec: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let s = format!("{v:.prec$e}");
    match s.split_once('e') {
        Some((mant, exp)) => {
            let e: i32 = exp.parse().unwrap_or(0);
            let sign = if e < 0 { '-' } else { '+' };
            format!("{mant}e{sign}{:02}", e.abs())
        }
        None => s,
    }
}

impl FixedPoints {
    /// The summary block of the tutorial (`=== Fixed Points Summary ===`, …).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "=== Fixed Points Summary ===");
        let _ = writeln!(s, "Number of fixed points: {}", self.n);
        let _ = writeln!(s, "State dimension: {}", self.n_states);
        let _ = writeln!(s, "Input dimension: {}", self.n_inputs);
        if self.n > 0 {
            let qmin = self.qstar.iter().copied().fold(f64::INFINITY, f64::min);
            let qmax = self.qstar.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(
                s,
                "q values: min={}, median={}, max={}",
                sci(qmin, 2),
                sci(median(&self.qstar), 2),
                sci(qmax, 2)
            );
            let it: Vec<f64> = self.n_iters.iter().map(|&v| v as f64).collect();
            let _ = writeln!(
                s,
                "Iterations: min={}, median={}, max={}",
                self.n_iters.iter().min().copied().unwrap_or(0),
                median(&it) as usize,
                self.n_iters.iter().max().copied().unwrap_or(0)
            );
        }
        if self.is_stable.is_some() {
            let _ = writeln!(s, "Stable fixed points: {} / {}", self.n_stable(), self.n);
        }
        s
    }

    /// Prints [`FixedPoints::summary`] to standard output.
    pub fn print_summary(&self) {
        print!("{}", self.summary());
    }

    /// The per-point table of the first `top` points: q, stability, max |eig| and the number
    /// of unstable modes.
    pub fn table(&self, top: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<4} {:<12} {:<12} {:<12} {:<8}",
            "#", "q-value", "Stability", "Max |eig|", "Unstable modes"
        );
        let _ = writeln!(s, "{}", "-".repeat(60));
        for i in 0..self.n.min(top) {
            let stab = match self.is_stable.as_ref() {
                Some(v) if v[i] => "Stable",
                Some(_) => "Unstable",
                None => "?",
            };
            let eig = self
                .max_abs_eig(i)
                .map_or("?".to_string(), |v| format!("{v:.4}"));
            let modes = self
                .n_unstable
                .as_ref()
                .map_or("?".to_string(), |v| v[i].to_string());
            let _ = writeln!(
                s,
                "{:<4} {:<12} {:<12} {:<12} {:<8}",
                i + 1,
                sci(self.qstar[i], 2),
                stab,
                eig,
                modes
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sci_matches_printf() {
        assert_eq!(sci(2.76e-4, 2), "2.76e-04");
        assert_eq!(sci(0.0, 2), "0.00e+00");
        assert_eq!(sci(1.0e-6, 1), "1.0e-06");
        assert_eq!(sci(12345.0, 2), "1.23e+04");
        assert_eq!(sci(-3.2e-120, 2), "-3.20e-120");
    }
}
