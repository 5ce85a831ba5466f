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

/// Upper end of "marginally unstable": a point whose leading eigenvalue has
/// `1 < |λ| ≤ MARGINAL` lets a perturbation grow by at most 5 % per step, so over a trial
/// the network may keep a state near it much as near a stable point (trained leaky ReLU
/// networks often have such points next to fewer than 2^N stable ones).
pub const MARGINAL: f64 = 1.05;

impl FixedPoints {
    /// The modulus of each point's leading eigenvalue (`None` if not decomposed).
    pub fn leading_abs_eig(&self) -> Option<Vec<f64>> {
        self.eigval_re.as_ref()?;
        Some(
            (0..self.n)
                .map(|i| self.max_abs_eig(i).unwrap_or(0.0))
                .collect(),
        )
    }

    /// Points that are marginally unstable: `1 < |λ|max ≤` [`MARGINAL`] (0 if not
    /// decomposed).
    pub fn n_marginal(&self) -> usize {
        self.leading_abs_eig().map_or(0, |v| {
            v.iter().filter(|&&m| m > 1.0 && m <= MARGINAL).count()
        })
    }

    /// The summary block of the tutorial (`=== Fixed Points Summary ===`, …), then, once the
    /// Jacobians are decomposed, the modulus of each point's leading eigenvalue, the number
    /// of marginally unstable points ([`FixedPoints::n_marginal`]) and of points on an
    /// activation kink ([`FixedPoints::n_kink`]), each when there are any.
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
        if let Some(lead) = self.leading_abs_eig().filter(|v| !v.is_empty()) {
            let _ = write!(s, "Leading |eig| per point:");
            for v in &lead {
                let _ = write!(s, " {v:.4}");
            }
            let _ = writeln!(s);
            let m = self.n_marginal();
            if m > 0 {
                let _ = writeln!(s, "Marginal fixed points (1 < |eig| <= {MARGINAL}): {m}");
            }
        }
        let k = self.n_on_kink();
        if k > 0 {
            let _ = writeln!(
                s,
                "On an activation kink: {k} (the Jacobian is one-sided there)"
            );
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

    /// The summary's leading |eig| per point, the marginal count (1 < |λ| ≤ 1.05, a complex
    /// pair by its modulus) and the kink count; none of them before decomposition.
    #[test]
    fn summary_shows_leading_moduli_marginal_points_and_kinks() {
        let n = 4;
        let mut fp = FixedPoints {
            n,
            n_states: 2,
            n_inputs: 0,
            period: 1,
            xstar: vec![0.0; 2 * n],
            f_xstar: vec![0.0; 2 * n],
            x_init: vec![0.0; 2 * n],
            qstar: vec![1e-30; n],
            dq: vec![0.0; n],
            n_iters: vec![10; n],
            newton: vec![None; n],
            is_slow: vec![false; n],
            ..FixedPoints::default()
        };
        let plain = fp.summary();
        assert!(
            !plain.contains("Leading") && !plain.contains("Marginal"),
            "{plain}"
        );
        // |λ| = 0.5, 1.02 (a complex pair 0.6 ± 0.825 i: 1.0201), 1.05 (the bound), 1.5.
        fp.eigval_re = Some(vec![0.5, 0.1, 0.6, 0.6, 1.05, 0.0, -1.5, 0.2]);
        fp.eigval_im = Some(vec![0.0, 0.0, 0.825, -0.825, 0.0, 0.0, 0.0, 0.0]);
        fp.is_stable = Some(vec![true, false, false, false]);
        fp.n_kink = Some(vec![0, 2, 0, 1]);
        let s = fp.summary();
        assert!(s.contains("Stable fixed points: 1 / 4\n"), "{s}");
        assert!(
            s.contains("Leading |eig| per point: 0.5000 1.0201 1.0500 1.5000\n"),
            "{s}"
        );
        assert!(
            s.contains("Marginal fixed points (1 < |eig| <= 1.05): 2\n"),
            "{s}"
        );
        assert!(s.contains("On an activation kink: 2 "), "{s}");
        assert_eq!((fp.n_marginal(), fp.n_on_kink()), (2, 2));
    }

    #[test]
    fn sci_matches_printf() {
        assert_eq!(sci(2.76e-4, 2), "2.76e-04");
        assert_eq!(sci(0.0, 2), "0.00e+00");
        assert_eq!(sci(1.0e-6, 1), "1.0e-06");
        assert_eq!(sci(12345.0, 2), "1.23e+04");
        assert_eq!(sci(-3.2e-120, 2), "-3.20e-120");
    }
}
