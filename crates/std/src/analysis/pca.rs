//! Principal component analysis of state trajectories, for plotting fixed points in the
//! plane or in 3-D alongside the trajectories they organize.

use super::AnalysisError;
use crate::linalg::eig;
use crate::memory::filled;

/// A fitted PCA: mean, components (rows, unit norm, by decreasing variance) and the variance
/// each explains.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Dimension of the data.
    pub dim: usize,
    /// Mean of the fitted rows.
    pub mean: Vec<f64>,
    /// `k × dim` principal axes, one per row.
    pub components: Vec<f64>,
    /// Variance along each axis.
    pub variance: Vec<f64>,
    /// Fraction of the total variance along each axis.
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    /// Fits `k` components to the rows of `data` (`n × dim`, n ≥ 2, 1 ≤ k ≤ dim).
    ///
    /// Cost: `n·dim²` for the covariance plus one `dim × dim` eigendecomposition.
    pub fn fit(data: &[f64], dim: usize, k: usize) -> Result<Pca, AnalysisError> {
        if dim == 0 || k == 0 || k > dim {
            return Err(AnalysisError::bad(
                "k",
                "must be between 1 and the data dimension",
            ));
        }
        if !data.len().is_multiple_of(dim) || data.len() / dim < 2 {
            return Err(AnalysisError::bad(
                "data",
                "must hold at least two rows of `dim` values",
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(AnalysisError::NotFinite {
                what: "data",
                index: i,
            });
        }
        let n = data.len() / dim;
        let mut mean = vec![0.0; dim];
        for row in data.chunks_exact(dim) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        for m in mean.iter_mut() {
            *m /= n as f64;
        }
        let mut cov = filled(dim * dim, 0.0, "covariance")?;
        let mut centered = vec![0.0; dim];
        for row in data.chunks_exact(dim) {
            for (c, (v, m)) in centered.iter_mut().zip(row.iter().zip(&mean)) {
                *c = v - m;
            }
            for i in 0..dim {
                let ci = centered[i];
                for j in i..dim {
                    cov[i * dim + j] += ci * centered[j];
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / (n - 1) as f64;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        let mut work = filled(eig::work_len(dim, true), 0.0, "eigen solver workspace")?;
        let (mut re, mut im) = (
            filled(dim, 0.0, "eigenvalues")?,
            filled(dim, 0.0, "eigenvalues")?,
        );
        let (mut vr, mut vi) = (
            filled(dim * dim, 0.0, "eigenvectors")?,
            filled(dim * dim, 0.0, "eigenvectors")?,
        );
        eig::eig(
            dim,
            &cov,
            &mut work,
            &mut re,
            &mut im,
            Some((&mut vr, &mut vi)),
        )
        .map_err(|error| AnalysisError::Eig { index: 0, error })?;
        // A covariance is symmetric positive semi-definite: eigenvalues are real and ≥ 0.
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| re[b].total_cmp(&re[a]));
        let total: f64 = re.iter().map(|v| v.max(0.0)).sum();
        let mut components = Vec::with_capacity(k * dim);
        let mut variance = Vec::with_capacity(k);
        for &c in order.iter().take(k) {
            let mut axis: Vec<f64> = (0..dim).map(|i| vr[i * dim + c]).collect();
            // Deterministic sign: the largest-magnitude entry is positive.
            let big = axis
                .iter()
                .copied()
                .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            let norm = axis.iter().map(|v| v * v).sum::<f64>().sqrt();
            let s = if big < 0.0 { -1.0 / norm } else { 1.0 / norm };
            axis.iter_mut().for_each(|v| *v *= s);
            components.extend(axis);
            variance.push(re[c].max(0.0));
        }
        let explained_variance_ratio = variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        Ok(Pca {
            dim,
            mean,
            components,
            variance,
            explained_variance_ratio,
        })
    }

    /// Number of components.
    pub fn k(&self) -> usize {
        self.variance.len()
    }

    /// Projects the rows of `data` (`n × dim`) onto the components: `n × k`.
    pub fn transform(&self, data: &[f64]) -> Result<Vec<f64>, AnalysisError> {
        if !data.len().is_multiple_of(self.dim) {
            return Err(AnalysisError::length(
                "data",
                self.dim,
                data.len() % self.dim,
            ));
        }
        let k = self.k();
        let mut out = crate::memory::with_capacity(data.len() / self.dim * k, "projections")?;
        for row in data.chunks_exact(self.dim) {
            for c in self.components.chunks_exact(self.dim) {
                out.push(
                    row.iter()
                        .zip(&self.mean)
                        .zip(c)
                        .map(|((v, m), a)| (v - m) * a)
                        .sum(),
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_dominant_direction() {
        // Points along (3, 4)/5 with a little spread along (−4, 3)/5.
        let mut data = Vec::new();
        for i in 0..50 {
            let t = i as f64 - 25.0;
            let e = if i % 2 == 0 { 0.1 } else { -0.1 };
            data.extend([1.0 + 0.6 * t - 0.8 * e, 2.0 + 0.8 * t + 0.6 * e]);
        }
        let p = Pca::fit(&data, 2, 2).unwrap();
        assert!((p.components[0] - 0.6).abs() < 1e-3 && (p.components[1] - 0.8).abs() < 1e-3);
        assert!(p.explained_variance_ratio[0] > 0.999);
        let z = p.transform(&data[..2]).unwrap();
        // The first point sits at t = −25, the mean at t = −0.5.
        assert!((z[0] + 24.5).abs() < 1e-2, "{z:?}");
        assert!(Pca::fit(&data, 2, 3).is_err());
        assert!(Pca::fit(&data[..2], 2, 1).is_err());
    }
}
