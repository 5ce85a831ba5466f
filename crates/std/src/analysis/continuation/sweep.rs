//! Input sweeps: the whole search at many constant inputs in one call.
//!
//! Two stages. First, on the threads across inputs (one search per input, each on one
//! thread): the full search ([`FixedPointFinder::find_fixed_points`]) from the caller's
//! states at every input. Then, with `seed_from_previous`, in input order: at input `r`, the
//! unique and slow points of input `r` and the unique points of input `r − 1` (after its own
//! merge, so points are carried along the whole sweep) are polished together by Newton
//! (method `newton`, the finder's threads) and reduced again (uniqueness, outliers,
//! Jacobians, eigenvalues, final filter). A point the caller's states miss at `r` but that
//! moved there continuously from `r − 1` is found that way. The second stage costs a Newton
//! solve per point, far less than the first.

use crate::analysis::{AnalysisError, FindResult, FixedPointFinder};
use crate::find::{FinderOptions, Method};
use crate::threads::Threads;

/// What [`FixedPointFinder::sweep`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    /// One result per input row: `unique` and `slow` after the merge with the previous
    /// input's points; `all` the caller's states as the first stage optimized them.
    pub results: Vec<FindResult>,
    /// Per input row, the unique points that only the previous input's points led to (not
    /// within `tol_unique` of a point the caller's states found there).
    pub n_from_previous: Vec<usize>,
}

impl FixedPointFinder<'_> {
    /// The whole search from the states `inits` (`n × S`) at each row of `inputs`
    /// (`K × I`); with `seed_from_previous`, each input's search also starts from the
    /// previous input's fixed points (see the module docs). Threads: the options'
    /// `n_threads`, across inputs. The `verbose` lines are one summary per input, sent
    /// when all are done.
    pub fn sweep(
        &self,
        inits: &[f64],
        inputs: &[f64],
        seed_from_previous: bool,
    ) -> Result<SweepResult, AnalysisError> {
        let cell = self.cell().ok_or(AnalysisError::bad(
            "model",
            "must be a built-in cell for a sweep (a model given by functions is searched one \
             input at a time)",
        ))?;
        let shape = *cell.shape();
        let (s, ni) = (shape.state_dim(), shape.n_inputs);
        if ni == 0 {
            return Err(AnalysisError::bad(
                "inputs",
                "cannot be swept: the network has no inputs",
            ));
        }
        if inputs.is_empty() || !inputs.len().is_multiple_of(ni) {
            return Err(AnalysisError::bad(
                "inputs",
                "must hold a positive whole number of rows of n_inputs values",
            ));
        }
        if inits.is_empty() || !inits.len().is_multiple_of(s) {
            return Err(AnalysisError::bad(
                "inits",
                "must hold a positive whole number of states",
            ));
        }
        let k = inputs.len() / ni;
        let opts = *self.options();
        let threads = Threads::new(opts.n_threads);
        let inner = FinderOptions {
            n_threads: 1,
            verbose: false,
            super_verbose: false,
            ..opts
        };
        let mut jobs: Vec<(usize, Option<Result<FindResult, AnalysisError>>)> =
            (0..k).map(|r| (r, None)).collect();
        threads.for_each(
            &mut jobs,
            || (),
            |_, _, (r, out)| {
                let row = &inputs[*r * ni..(*r + 1) * ni];
                *out = Some(
                    FixedPointFinder::new(cell, inner)
                        .and_then(|f| f.find_fixed_points(inits, row, None, None)),
                );
            },
        );
        let mut results = Vec::with_capacity(k);
        for (_, r) in jobs {
            match r {
                Some(r) => results.push(r?),
                None => return Err(AnalysisError::bad("sweep", "left an input unsearched")),
            }
        }
        let mut n_from_previous = vec![0; k];
        if seed_from_previous {
            let chain = FixedPointFinder::new(
                cell,
                FinderOptions {
                    method: Method::Newton,
                    verbose: false,
                    super_verbose: false,
                    ..opts
                },
            )?;
            for r in 1..k {
                let (done, todo) = results.split_at_mut(r);
                let prev = &done[r - 1].unique;
                let cur = &mut todo[0];
                if prev.n == 0 {
                    continue;
                }
                let mut seeds = Vec::with_capacity(
                    (cur.unique.xstar.len() + cur.slow.xstar.len())
                        .saturating_add(prev.xstar.len()),
                );
                seeds.extend_from_slice(&cur.unique.xstar);
                seeds.extend_from_slice(&cur.slow.xstar);
                seeds.extend_from_slice(&prev.xstar);
                let row = &inputs[r * ni..(r + 1) * ni];
                let merged = chain.find_fixed_points(&seeds, row, None, None)?;
                let tol2 = opts.tol_unique * opts.tol_unique;
                n_from_previous[r] = (0..merged.unique.n)
                    .filter(|&i| {
                        !(0..cur.unique.n).any(|j| {
                            let d2: f64 = merged
                                .unique
                                .x(i)
                                .iter()
                                .zip(cur.unique.x(j))
                                .map(|(a, b)| (a - b) * (a - b))
                                .sum();
                            d2 <= tol2
                        })
                    })
                    .count();
                cur.unique = merged.unique;
                cur.slow = merged.slow;
            }
        }
        for (r, res) in results.iter().enumerate() {
            self.say(&format!(
                "Sweep input {r}: {} fixed points ({} stable), {} from the previous input's \
                 points.",
                res.unique.n,
                res.unique.n_stable(),
                n_from_previous[r]
            ));
        }
        Ok(SweepResult {
            results,
            n_from_previous,
        })
    }
}
