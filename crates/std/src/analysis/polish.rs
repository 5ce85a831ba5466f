//! Newton polish of many states that share a few fixed points: one full Newton per fixed
//! point, chord steps for the states around it.
//!
//! The q-minimization leaves a thousand end points around a few dozen fixed points. The
//! states are taken in order: the first one still waiting gets a full damped Newton polish
//! ([`newton::polish`]); if it converges to `x*`, the factorization of `I − J_G(x*)` becomes an
//! anchor, and every waiting state within [`REACH`] times the first state's own distance
//! to `x*` runs the chord iteration on it, a tile of 64 at a time ([`chord::chord_tile`]:
//! two matrix–matrix products per step instead of a Jacobian and an LU per state). States
//! that converge are done; the rest are left exactly where they were and wait for a later
//! anchor or their own full polish. So every state ends either polished by the chord to
//! the fixed point it started next to, or as plain Newton would have left it.
//!
//! The order of the work (which state anchors, which tiles form) depends on the states
//! only, never on the number of threads: results are bit-identical for every thread count.

use super::AnalysisError;
use crate::cell::Cell;
use crate::find::FindError;
use crate::find::chord::{self, Operands};
use crate::find::newton::{self, NewtonOutcome, NewtonResult};
use crate::memory::{copied, filled};
use crate::threads::Threads;

/// A waiting state tries an anchor if it is at most this many times as far from `x*` as
/// the anchor's own starting point was.
pub(crate) const REACH: f64 = 8.0;

/// Chord steps per state and anchor, at most (each cuts q by 4 or the state drops out).
const MAX_CHORD_STEPS: usize = 40;

/// The per-state arrays the polish reads and writes, `S` (or 1) elements per state.
pub(crate) struct PolishStates<'a> {
    pub x: &'a mut [f64],
    pub fx: &'a mut [f64],
    pub q: &'a mut [f64],
    pub outcome: &'a mut [Option<NewtonOutcome>],
}

/// Whether [`polish_grouped`] handles this cell at period `period`.
pub(crate) fn supported(cell: &Cell<'_, f64>, period: usize) -> bool {
    chord::supported(cell, period)
}

/// Polishes the states `active` (period 1), with input row `i` of `rows` for state `i`.
/// Returns the number of full Newton polishes it ran (the anchors and the states no
/// anchor reached).
pub(crate) fn polish_grouped(
    cell: &Cell<'_, f64>,
    threads: &Threads,
    active: &[usize],
    rows: &[f64],
    max_iters: usize,
    st: PolishStates<'_>,
) -> Result<usize, AnalysisError> {
    let shape = *cell.shape();
    let (s, ni) = (shape.state_dim(), shape.n_inputs);
    let row = |i: usize| &rows[i * ni..(i + 1) * ni];
    let shared = match active.first() {
        Some(&a) => active.iter().all(|&i| row(i) == row(a)),
        None => return Ok(0),
    };
    let mut ops_buf = filled(chord::operands_len(cell), 0.0, "chord operands")?;
    let ops = Operands::new(cell, shared.then(|| row(active[0])), &mut ops_buf).ok_or(
        AnalysisError::Find(FindError::Workspace {
            need: chord::operands_len(cell),
        }),
    )?;
    let mut work = filled(newton::work_len(cell, 1), 0.0, "Newton workspace")?;
    let mut piv = filled(s, 0usize, "Newton pivots")?;
    let mut anchor = filled(chord::anchor_len(cell), 0.0, "chord anchor")?;
    let mut anchor_work = filled(chord::anchor_work_len(cell), 0.0, "chord anchor workspace")?;
    let (mut xt, mut ft) = (
        filled(s, 0.0, "Newton state")?,
        filled(s, 0.0, "Newton state")?,
    );
    // The full polish of the state likely to anchor next, run while the current anchor's
    // chord round runs (on two threads or more): its state, result, `x` and `G(x)`.
    let speculate = threads.count() > 1;
    let mut ahead: Option<(usize, NewtonResult)> = None;
    let (mut xa, mut fa) = (
        filled(s, 0.0, "Newton state")?,
        filled(s, 0.0, "Newton state")?,
    );
    let mut work_a = filled(newton::work_len(cell, 1), 0.0, "Newton workspace")?;
    let mut piv_a = filled(s, 0usize, "Newton pivots")?;
    let mut full = 0;
    let mut queue = copied(active, "polish queue")?;
    let mut head = 0;
    while head < queue.len() {
        let r = queue[head];
        head += 1;
        let xr = &mut st.x[r * s..(r + 1) * s];
        // A waiting state is where it was when its polish ran ahead: the same result.
        let res = match ahead.take() {
            Some((a, res)) if a == r => {
                xt.copy_from_slice(&xa);
                ft.copy_from_slice(&fa);
                res
            }
            _ => {
                xt.copy_from_slice(xr);
                newton::polish(
                    cell,
                    row(r),
                    &mut xt,
                    1,
                    max_iters,
                    &mut ft,
                    &mut work,
                    &mut piv,
                )
            }
        };
        full += 1;
        let d0 = dist(xr, &xt);
        xr.copy_from_slice(&xt);
        st.fx[r * s..(r + 1) * s].copy_from_slice(&ft);
        st.q[r] = res.q;
        st.outcome[r] = Some(res.outcome);
        if res.outcome != NewtonOutcome::Converged || head == queue.len() {
            continue;
        }
        // The waiting states near x*, in order, in tiles.
        let reach = REACH * d0.max(f64::MIN_POSITIVE);
        let near: Vec<usize> = queue[head..]
            .iter()
            .copied()
            .filter(|&i| dist(&st.x[i * s..(i + 1) * s], &xt) <= reach)
            .collect();
        if near.is_empty() {
            continue;
        }
        // The next anchor, unless a near state fails its chord: the first waiting state
        // out of reach (the chord round leaves it where it is).
        let next = queue[head..]
            .iter()
            .copied()
            .find(|&i| speculate && dist(&st.x[i * s..(i + 1) * s], &xt) > reach);
        let mut jobs: Vec<Tile> = near
            .chunks(chord::MAX_TILE)
            .map(|ids| Tile::gather(ids, st.x, rows, s, ni, shared))
            .collect();
        let tile_len = chord::tile_work_len(cell);
        let x_all = &*st.x;
        let (anchored, polished) = join(
            threads,
            || {
                if chord::make_anchor(cell, row(r), &xt, &mut anchor, &mut anchor_work, &mut piv)
                    .is_err()
                {
                    return false;
                }
                let anchor = &anchor[..];
                threads.for_each(
                    &mut jobs,
                    || vec![0.0; tile_len],
                    |scratch, _, t| {
                        let n = t.ids.len();
                        t.done = vec![false; n];
                        let ok = chord::chord_tile(
                            cell,
                            &ops,
                            &t.inputs,
                            anchor,
                            &mut t.x,
                            &mut t.fx,
                            &mut t.q,
                            &mut t.done,
                            MAX_CHORD_STEPS,
                            scratch,
                        );
                        if ok.is_none() {
                            t.done.fill(false);
                        }
                    },
                );
                true
            },
            || {
                next.map(|c| {
                    xa.copy_from_slice(&x_all[c * s..(c + 1) * s]);
                    let res = newton::polish(
                        cell,
                        row(c),
                        &mut xa,
                        1,
                        max_iters,
                        &mut fa,
                        &mut work_a,
                        &mut piv_a,
                    );
                    (c, res)
                })
            },
        );
        ahead = polished.flatten();
        if anchored != Some(true) {
            continue;
        }
        let mut converged = vec![false; st.q.len()];
        for t in &jobs {
            for (k, &i) in t.ids.iter().enumerate() {
                if t.done[k] {
                    st.x[i * s..(i + 1) * s].copy_from_slice(&t.x[k * s..(k + 1) * s]);
                    st.fx[i * s..(i + 1) * s].copy_from_slice(&t.fx[k * s..(k + 1) * s]);
                    st.q[i] = t.q[k];
                    st.outcome[i] = Some(NewtonOutcome::Converged);
                    converged[i] = true;
                }
            }
        }
        let waiting: Vec<usize> = queue[head..]
            .iter()
            .copied()
            .filter(|&i| !converged[i])
            .collect();
        queue = waiting;
        head = 0;
    }
    Ok(full)
}

/// One tile of waiting states, gathered: their ids, states, input rows, and the chord's
/// outputs.
struct Tile {
    ids: Vec<usize>,
    x: Vec<f64>,
    fx: Vec<f64>,
    q: Vec<f64>,
    inputs: Vec<f64>,
    done: Vec<bool>,
}

impl Tile {
    fn gather(ids: &[usize], x: &[f64], rows: &[f64], s: usize, ni: usize, shared: bool) -> Self {
        let mut t = Tile {
            ids: ids.to_vec(),
            x: Vec::with_capacity(ids.len() * s),
            fx: vec![0.0; ids.len() * s],
            q: vec![0.0; ids.len()],
            inputs: Vec::new(),
            done: Vec::new(),
        };
        for &i in ids {
            t.x.extend_from_slice(&x[i * s..(i + 1) * s]);
            if !shared {
                t.inputs.extend_from_slice(&rows[i * ni..(i + 1) * ni]);
            }
        }
        t
    }
}

/// `a` and `b` on the threads' team (one after the other on one thread); both results are
/// there when it returns (a panic in either reaches the caller).
fn join<A: Send, B: Send>(
    threads: &Threads,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (Option<A>, Option<B>) {
    let (mut ra, mut rb) = (None, None);
    threads.fork().join(|| ra = Some(a()), || rb = Some(b()));
    (ra, rb)
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q) * (p - q))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::{CellKind, CellShape};

    /// A small deterministic generator (splitmix64), uniform in [−1, 1).
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
        fn vec(&mut self, n: usize, scale: f64) -> Vec<f64> {
            (0..n).map(|_| scale * self.next()).collect()
        }
    }

    /// A Hopfield-like tanh network (symmetric recurrent weights, gain 3): many fixed
    /// points, stable ones and saddles.
    fn network(h: usize, ni: usize, g: &mut Gen) -> Vec<f64> {
        let mut p = g.vec(ni * h + h * h + h, 0.1);
        let a = g.vec(h * h, 3.0 * 3f64.sqrt() / (h as f64).sqrt());
        for i in 0..h {
            for j in 0..h {
                p[ni * h + i * h + j] = 0.5 * (a[i * h + j] + a[j * h + i]);
            }
        }
        p
    }

    fn row_of(rows: &[f64], ni: usize, i: usize) -> &[f64] {
        &rows[i * ni..(i + 1) * ni]
    }

    fn polish_each(cell: &Cell<'_, f64>, rows: &[f64], x: &mut [f64]) -> Vec<NewtonOutcome> {
        let (s, ni) = (cell.shape().state_dim(), cell.shape().n_inputs);
        let mut work = vec![0.0; newton::work_len(cell, 1)];
        let (mut piv, mut gx) = (vec![0; s], vec![0.0; s]);
        x.chunks_mut(s)
            .enumerate()
            .map(|(i, xi)| {
                let u = &rows[i * ni..(i + 1) * ni];
                newton::polish(cell, u, xi, 1, 50, &mut gx, &mut work, &mut piv).outcome
            })
            .collect()
    }

    /// [`network`]'s parameters, an input row, and the network's fixed points there that
    /// per-state Newton finds from `n0` random states.
    fn network_with_points(
        h: usize,
        ni: usize,
        n0: usize,
        g: &mut Gen,
    ) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
        let p = network(h, ni, g);
        let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, ni, h), &p).unwrap();
        let u = g.vec(ni, 0.5);
        let mut fps = g.vec(n0 * h, 1.0);
        let rows0: Vec<f64> = (0..n0).flat_map(|_| u.iter().copied()).collect();
        let found = polish_each(&cell, &rows0, &mut fps);
        let fps = fps
            .chunks(h)
            .zip(&found)
            .filter(|(_, o)| **o == NewtonOutcome::Converged)
            .map(|(x, _)| x.to_vec())
            .collect();
        (p, u, fps)
    }

    /// Every state ends as per-state Newton leaves it: the same outcome and, where both
    /// converge, the same fixed point; and the same bits on one thread and on two.
    #[test]
    fn grouped_polish_ends_where_newton_does() {
        let (h, ni) = (24, 2);
        let mut g = Gen(7);
        let (p, u, fps) = network_with_points(h, ni, 120, &mut g);
        let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, ni, h), &p).unwrap();
        let fps: Vec<&[f64]> = fps.iter().map(|x| &x[..]).collect();
        assert!(fps.len() > 20, "the network has few fixed points");
        // States around them at distances from 1e-3 to 0.3, and some anywhere.
        let n = 400;
        let mut x = Vec::with_capacity(n * h);
        for i in 0..n {
            if i % 10 == 9 {
                x.extend(g.vec(h, 1.0));
                continue;
            }
            let scale = [1e-3, 1e-2, 3e-2, 0.1, 0.3][i % 5];
            let fp = fps[(g.next().abs() * fps.len() as f64) as usize % fps.len()];
            x.extend(fp.iter().zip(g.vec(h, scale)).map(|(a, b)| a + b));
        }
        let rows: Vec<f64> = (0..n).flat_map(|_| u.iter().copied()).collect();
        let mut each = x.clone();
        let outcomes = polish_each(&cell, &rows, &mut each);
        let active: Vec<usize> = (0..n).collect();
        let mut runs = Vec::new();
        for threads in [1, 2] {
            let (mut xs, mut fx, mut q) = (x.clone(), vec![0.0; n * h], vec![0.0; n]);
            let mut out = vec![None; n];
            let states = PolishStates {
                x: &mut xs,
                fx: &mut fx,
                q: &mut q,
                outcome: &mut out,
            };
            let t = Threads::new(threads);
            let full = polish_grouped(&cell, &t, &active, &rows, 50, states).unwrap();
            assert!(full < n / 2, "{full} full polishes of {n} states");
            runs.push((xs, fx, q, out));
        }
        assert!(runs[0] == runs[1], "one thread and two differ");
        let (xs, _, q, out) = &runs[0];
        for i in 0..n {
            assert_eq!(out[i], Some(outcomes[i]), "state {i}");
            if outcomes[i] == NewtonOutcome::Converged {
                assert!(q[i] < newton::Q_TARGET);
                let d = dist(&xs[i * h..(i + 1) * h], &each[i * h..(i + 1) * h]);
                assert!(
                    d < 1e-9,
                    "state {i} converged {d:.1e} away from Newton's point"
                );
            }
        }
    }

    /// A state whose own full polish does not converge anchors nothing: with one Newton
    /// iteration allowed and every state too far from its fixed point to converge in one,
    /// every state gets its own full polish and ends exactly as that one iteration leaves
    /// it (none is reported converged by a chord round around a point that is not a fixed
    /// point), on one thread and on two.
    #[test]
    fn an_unconverged_polish_anchors_nothing() {
        let (h, ni) = (24, 2);
        let mut g = Gen(7);
        let (p, u, fps) = network_with_points(h, ni, 60, &mut g);
        let cell = Cell::from_flat(CellShape::new(CellKind::Tanh, ni, h), &p).unwrap();
        let fps: Vec<&[f64]> = fps.iter().map(|x| &x[..]).collect();
        assert!(fps.len() > 5, "the network has few fixed points");
        // Clusters of states about 0.03 to 0.3 from four fixed points.
        let n = 120;
        let mut x = Vec::with_capacity(n * h);
        for i in 0..n {
            let scale = [1e-2, 3e-2, 0.1][i % 3];
            let fp = fps[i % 4];
            x.extend(fp.iter().zip(g.vec(h, scale)).map(|(a, b)| a + b));
        }
        let rows: Vec<f64> = (0..n).flat_map(|_| u.iter().copied()).collect();
        let (s, mut each) = (h, x.clone());
        let mut work = vec![0.0; newton::work_len(&cell, 1)];
        let (mut piv, mut gx) = (vec![0; s], vec![0.0; s]);
        let mut want = Vec::new();
        for (i, xi) in each.chunks_mut(s).enumerate() {
            let res = newton::polish(
                &cell,
                row_of(&rows, ni, i),
                xi,
                1,
                1,
                &mut gx,
                &mut work,
                &mut piv,
            );
            assert_ne!(
                res.outcome,
                NewtonOutcome::Converged,
                "state {i} converged at once"
            );
            want.push((res.outcome, res.q, gx.clone()));
        }
        let active: Vec<usize> = (0..n).collect();
        for threads in [1, 2] {
            let (mut xs, mut fx, mut q) = (x.clone(), vec![0.0; n * h], vec![0.0; n]);
            let mut out = vec![None; n];
            let states = PolishStates {
                x: &mut xs,
                fx: &mut fx,
                q: &mut q,
                outcome: &mut out,
            };
            let full =
                polish_grouped(&cell, &Threads::new(threads), &active, &rows, 1, states).unwrap();
            assert_eq!(full, n, "{threads} threads");
            assert!(xs == each, "{threads} threads");
            for (i, (o, qi, gxi)) in want.iter().enumerate() {
                assert_eq!(out[i], Some(*o), "state {i}, {threads} threads");
                assert_eq!(q[i], *qi, "state {i}, {threads} threads");
                assert!(
                    fx[i * s..(i + 1) * s] == gxi[..],
                    "state {i}, {threads} threads"
                );
            }
        }
    }
}
