//! Clustered uniqueness and outlier rules.
//!
//! The references keep a point unless it is within `tol` of an *earlier kept* point: a
//! greedy, order-dependent, non-transitive pass that lets near-duplicates and even identical
//! rows survive. Here points are the vertices of a graph with an edge wherever
//! two are within `tol` (on `[x*, u]`); each connected component is one fixed point,
//! represented by its lowest-q member (ties: lowest index). Representatives are returned in
//! increasing index order, so the result does not depend on anything but the data.
//!
//! Cost: a sort on the first coordinate, then a sweep comparing only pairs whose first
//! coordinates are within `tol`: near `O(n log n)` for well-separated points, `O(n²·S)` at
//! worst.

use super::fixed_points::FixedPoints;

/// Union–find with path halving.
struct Components {
    parent: Vec<usize>,
}

impl Components {
    fn new(n: usize) -> Self {
        Components {
            parent: (0..n).collect(),
        }
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

impl FixedPoints {
    /// The unique points: clusters of points within `tol_unique` of each other on
    /// `[x*, u]` (transitively), each represented by its lowest-q member.
    pub fn get_unique(&self) -> FixedPoints {
        self.subset(&representatives(self, self.tol_unique))
    }
}

/// Indices of the lowest-q member of each cluster, in increasing order.
pub fn representatives(fps: &FixedPoints, tol: f64) -> Vec<usize> {
    let n = fps.n;
    let point = |i: usize| fps.x(i).iter().chain(fps.u(i).iter());
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| fps.x(i).first().copied().unwrap_or(0.0);
    order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
    let tol2 = tol * tol;
    let mut comps = Components::new(n);
    for (pos, &i) in order.iter().enumerate() {
        for &j in &order[pos + 1..] {
            if key(j) - key(i) > tol {
                break;
            }
            // Already joined (the Newton-polished copies of one point, most often): the
            // distance cannot change the components.
            if comps.find(i) == comps.find(j) {
                continue;
            }
            if within(point(i), point(j), tol2) {
                comps.join(i, j);
            }
        }
    }
    let mut best: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let r = comps.find(i);
        match best[r] {
            Some(b) if fps.qstar[b] <= fps.qstar[i] => {}
            _ => best[r] = Some(i),
        }
    }
    let mut keep: Vec<usize> = best.into_iter().flatten().collect();
    keep.sort_unstable();
    keep
}

/// Whether `Σ (a_k − b_k)² ≤ tol2`, stopping at the first partial sum above it (the sum
/// only grows).
fn within<'a>(
    a: impl Iterator<Item = &'a f64>,
    b: impl Iterator<Item = &'a f64>,
    tol2: f64,
) -> bool {
    let mut d2 = 0.0;
    for (x, y) in a.zip(b) {
        d2 += (x - y) * (x - y);
        if d2 > tol2 {
            return false;
        }
    }
    d2 <= tol2
}

/// Indices of points whose distance to the centroid `c` of `inits` (rows of `s`), divided by
/// the initial states' mean distance to `c`, is below `scale`.
pub fn within_distance(fps: &FixedPoints, inits: &[f64], scale: f64) -> Vec<usize> {
    let s = fps.n_states;
    let m = inits.len() / s.max(1);
    if m == 0 {
        return (0..fps.n).collect();
    }
    let mut c = vec![0.0; s];
    for row in inits.chunks_exact(s) {
        for (ci, v) in c.iter_mut().zip(row) {
            *ci += v / m as f64;
        }
    }
    let dist = |x: &[f64]| -> f64 {
        x.iter()
            .zip(&c)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt()
    };
    let mean = inits.chunks_exact(s).map(dist).sum::<f64>() / m as f64;
    if mean == 0.0 {
        // All initial states coincide: only points at the centroid are not outliers.
        return (0..fps.n).filter(|&i| dist(fps.x(i)) == 0.0).collect();
    }
    (0..fps.n)
        .filter(|&i| dist(fps.x(i)) / mean < scale)
        .collect()
}

/// Median of a non-empty slice (mean of the middle two for even length).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fps(xs: &[f64], q: &[f64]) -> FixedPoints {
        let n = q.len();
        FixedPoints {
            n,
            n_states: 1,
            n_inputs: 0,
            period: 1,
            xstar: xs.to_vec(),
            qstar: q.to_vec(),
            tol_unique: 0.1,
            ..Default::default()
        }
    }

    #[test]
    fn clusters_are_transitive_and_keep_lowest_q() {
        // 0.0 – 0.08 – 0.16 chain: one cluster although 0.0 and 0.16 are 0.16 apart.
        let f = fps(&[0.16, 5.0, 0.0, 0.08, 5.05], &[3.0, 1.0, 2.0, 0.5, 0.1]);
        assert_eq!(representatives(&f, 0.1), vec![3, 4]);
        // Identical rows collapse.
        let g = fps(&[1.0, 1.0, 1.0], &[0.0, 0.0, 0.0]);
        assert_eq!(representatives(&g, 0.0), vec![0]);
    }

    #[test]
    fn distance_outliers_use_mean_distance_of_inits() {
        let f = fps(&[0.0, 1.5, 25.0], &[0.0; 3]);
        // inits at ±1: centroid 0, mean distance 1.
        assert_eq!(within_distance(&f, &[-1.0, 1.0], 10.0), vec![0, 1]);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
    }
}
