"""FixedPointFinder: canns' and the original FixedPointFinder's API over libfpf."""

import copy as _copy
import ctypes as C

import numpy as np

from . import _check, _options
from ._lib import (LOG_TO_STDOUT_ADDR, PROGRESS_FN, SET_ALL, FinderOptions, check,
                   last_error, lib, ptr)
from ._progress import Reporter
from .fixed_points import FixedPoints

# canns' positional order after rnn_model.
_CANNS_ORDER = ("method", "max_iters", "tol_q", "tol_dq", "lr_init", "lr_factor",
                "lr_patience", "lr_cooldown", "do_compute_jacobians", "do_decompose_jacobians",
                "tol_unique", "do_exclude_distance_outliers", "outlier_distance_scale",
                "do_rerun_q_outliers", "outlier_q_scale", "max_n_unique", "final_q_threshold",
                "dtype", "verbose", "super_verbose", "n_iters_per_print_update")
# Where canns' defaults differ from the C library's.
_CANNS_DEFAULTS = {"verbose": True}


def _check_model(value, name):
    from .callback import CallbackModel
    from .model import FlipFlopRNN
    if not isinstance(value, (FlipFlopRNN, CallbackModel)):
        raise TypeError(f"`{name}` must be a FlipFlopRNN or a CallbackModel; got "
                        f"{type(value).__name__} (convert other networks with fpf.from_torch "
                        f"or fpf.from_keras, or give any model's functions to "
                        f"fpf.CallbackModel)")


def _builtin(model, what):
    from .model import FlipFlopRNN
    if not isinstance(model, FlipFlopRNN):
        raise TypeError(f"{what} needs a built-in network (a FlipFlopRNN); a CallbackModel is "
                        f"searched one input at a time with find_fixed_points")


class FixedPointFinder:
    """Finds the fixed points of a FlipFlopRNN (see fpf.from_torch / fpf.from_keras for
    other networks) or of a CallbackModel (any model given by numpy, PyTorch or JAX
    functions of a batch of states; searched in float64, period 1). Options are canns' (the original's) plus libfpf's, every one a readable
    and writable attribute checked when set (ValueError/TypeError naming it)::

        finder = FixedPointFinder(rnn, lr_init=0.02, tol_q=1e-4)
        finder.max_iters = 3000
        unique_fps, all_fps = finder.find_fixed_points(hiddens, np.zeros((1, 3)),
                                                       n_inits=1024, noise_scale=0.4)

    ``options()`` lists them; they come from the library's option struct, so options a
    newer library adds appear here by themselves. Verbose lines go to sys.stdout at the
    time they are made (notebooks and contextlib.redirect_stdout see them).
    """

    def __init__(self, rnn_model, *args, **options):
        _check_model(rnn_model, "rnn_model")
        if len(args) > len(_CANNS_ORDER):
            raise TypeError(f"FixedPointFinder takes at most {len(_CANNS_ORDER)} positional "
                            f"options; got {len(args)}")
        for k, v in zip(_CANNS_ORDER, args):
            if k in options:
                raise TypeError(f"FixedPointFinder got option {k!r} twice")
            options[k] = v
        object.__setattr__(self, "rnn_model", rnn_model)
        o = FinderOptions()
        lib.fpf_finder_options_default(C.byref(o))
        o.log = LOG_TO_STDOUT_ADDR
        object.__setattr__(self, "_opts", o)
        for k, v in {**_CANNS_DEFAULTS, **options}.items():
            setattr(o, k, _options.convert(FinderOptions, k, v, "FixedPointFinder"))
        self._validate(", ".join(f"{k}={v!r}" for k, v in options.items()))

    # -- options as attributes
    @staticmethod
    def options():
        """Names of every option."""
        return _options.names(FinderOptions)

    def get_options(self):
        """Every option and its value, as a dict (what ``FixedPointFinder(rnn, **d)`` takes)."""
        return {k: _options.get(self._opts, k) for k in self.options()}

    def _validate(self, what):
        if lib.fpf_finder_options_validate(C.byref(self._opts)) != 0:
            raise ValueError(f"FixedPointFinder({what}): {last_error()}")

    def __getattr__(self, name):
        opts = self.__dict__.get("_opts")
        if opts is not None and name in FinderOptions._member_types_ \
                and name in _options.names(FinderOptions):
            return _options.get(opts, name)
        raise AttributeError(f"FixedPointFinder has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in _options.names(FinderOptions):
            old = getattr(self._opts, name)
            setattr(self._opts, name, _options.convert(FinderOptions, name, value,
                                                       "FixedPointFinder"))
            try:
                self._validate(f"{name}={value!r}")
            except ValueError:
                setattr(self._opts, name, old)
                raise
        elif name in ("rnn_model", "rnn"):
            _check_model(value, name)
            object.__setattr__(self, "rnn_model", value)
        else:
            raise AttributeError(f"FixedPointFinder has no option {name!r} (options: "
                                 f"{', '.join(self.options())})")

    @property
    def rnn(self):
        return self.rnn_model

    @property
    def np_dtype(self):
        return np.float32 if self._opts.dtype == 0 else np.float64

    def __repr__(self):
        return f"FixedPointFinder({self.rnn_model!r}, {self.get_options()})"

    # Copies share the model (as the reference's do) and own their options.
    def __copy__(self):
        return FixedPointFinder(self.rnn_model, **self.get_options())

    def __deepcopy__(self, memo):
        return FixedPointFinder(_copy.deepcopy(self.rnn_model, memo), **self.get_options())

    def __getstate__(self):
        return {"rnn_model": self.rnn_model, "options": self.get_options()}

    def __setstate__(self, state):
        self.__init__(state["rnn_model"], **state["options"])

    # -- sampling
    def _traj(self, state_traj, valid_bxt, name="state_traj"):
        S = self.rnn_model.state_dim
        raw = np.asarray(_check.to_numpy(state_traj)) if state_traj is not None else None
        traj = _check.array(raw, name, ["n_batch", "n_time", ("n_states", S)], finite=False)
        B, T, _ = traj.shape
        mask = None
        if valid_bxt is not None:
            mask = _check.array(valid_bxt, "valid_bxt", [("n_batch", B), ("n_time", T)],
                                dtype=np.bool_)
            if not mask.any():
                raise ValueError("`valid_bxt` marks no state as valid")
        bad = ~np.isfinite(traj)
        if bad.any():
            at = np.argwhere(bad)
            if mask is None or mask[at[:, 0], at[:, 1]].any():
                i = next(tuple(int(v) for v in r) for r in at if mask is None or mask[r[0], r[1]])
                raise ValueError(f"`{name}`{list(i)} is {traj[i]} in a state marked valid "
                                 f"(pad trials with NaN only where valid_bxt is False)")
            traj = np.where(bad, 0.0, traj)  # padding never sampled
        return traj, mask

    def sample_states(self, state_traj, n_inits, valid_bxt=None, noise_scale=0.0, seed=0):
        """``n_inits`` states drawn from ``state_traj`` [n_batch, n_time, n_states] (where
        ``valid_bxt`` [n_batch, n_time] is true; NaN padding elsewhere is fine), without
        replacement unless more are asked for than exist, plus Gaussian noise of standard
        deviation ``noise_scale``; reproducible from ``seed``. → [n_inits, n_states]."""
        traj, mask = self._traj(state_traj, valid_bxt)
        return _sample(traj, mask, n_inits, noise_scale, seed).astype(self.np_dtype, copy=False)

    def sample_inputs_and_states(self, inputs, state_traj, n_inits, valid_bxt=None,
                                 noise_scale=0.0, seed=0):
        """As ``sample_states``, also returning the input at each sampled (trial, time):
        inputs [n_batch, n_time, n_inputs] → (inputs [n_inits, n_inputs], states
        [n_inits, n_states]). The noise is added to the states only."""
        traj, mask = self._traj(state_traj, valid_bxt)
        B, T, S = traj.shape
        I = self.rnn_model.n_inputs
        u = _check.array(inputs, "inputs", [("n_batch", B), ("n_time", T), ("n_inputs", I)],
                         finite=False, allow_empty=I == 0)
        if mask is not None:
            u = np.where(mask[:, :, None], u, 0.0)
        if not np.all(np.isfinite(u)):
            raise ValueError("`inputs` has a NaN or infinity at a valid (trial, time)")
        both = np.ascontiguousarray(np.concatenate([traj, u], axis=2))
        picked = _sample(both, mask, n_inits, 0.0, seed)
        noise = _check.real(noise_scale, "noise_scale")
        if noise < 0:
            raise ValueError(f"`noise_scale` must be ≥ 0; got {noise}")
        states = picked[:, :S]
        if noise > 0:
            states = states + noise * np.random.default_rng(_check.seed(seed)).standard_normal(
                states.shape)
        dt = self.np_dtype
        return picked[:, S:].astype(dt), states.astype(dt)

    # -- finding
    def find_fixed_points(self, state_traj=None, inputs=None, n_inits=1024, noise_scale=0.0,
                          valid_bxt=None, cond_ids=None, *, initial_states=None, seed=0,
                          progress=None):
        """Both forms of the references: canns' ``(state_traj [n_batch, n_time, n_states],
        inputs, n_inits, noise_scale, valid_bxt, cond_ids)`` samples ``n_inits`` initial
        states from the trajectory; the original's ``(initial_states [n, n_states], inputs,
        cond_ids=...)`` starts from the given states. ``inputs`` is [1, n_inputs] (shared)
        or one row per initial state. Returns (unique_fps, all_fps), their float arrays in
        the finder's dtype; ``cond_ids`` (one int per initial state) are kept in both.

        progress: None (a tqdm bar when tqdm is installed and verbose), False, True, or a
        function called after every iteration with {'iter', 'first_state', 'n_states',
        'q_mean', 'q_std', 'dq_mean', 'dq_std', 'lr', 'done'} that may return False to stop
        the search (fpf.Cancelled is raised). An exception in it (KeyboardInterrupt too)
        stops the search and is raised again."""
        if initial_states is not None:
            if state_traj is not None:
                raise TypeError("give `state_traj` or `initial_states`, not both")
            x0 = initial_states
            name = "initial_states"
        else:
            x0, name = state_traj, "state_traj"
        if x0 is None:
            raise TypeError("find_fixed_points needs `state_traj` [n_batch, n_time, n_states] "
                            "or `initial_states` [n_inits, n_states]")
        nd = _check.ndim(x0, name)
        S = self.rnn_model.state_dim
        if nd == 3 and name == "state_traj":
            inits = self.sample_states(x0, n_inits, valid_bxt=valid_bxt,
                                       noise_scale=noise_scale, seed=seed)
        elif nd == 2:
            if valid_bxt is not None or noise_scale != 0.0:
                raise ValueError(f"`{name}` is 2-D (initial states): valid_bxt and "
                                 f"noise_scale apply only to a 3-D state trajectory")
            inits, name = x0, "initial_states"
        else:
            raise ValueError(
                f"`{name}` must be a 3-D state trajectory [n_batch, n_time, n_states={S}] "
                f"or 2-D initial states [n_inits, n_states={S}]; got {nd}-D, shape "
                f"{np.shape(_check.to_numpy(x0))} (one state: x[None, :])")
        return self._find(inits, inputs, cond_ids, progress,
                          "sampled states" if nd == 3 else name)

    def find_fixed_points_from_inits(self, initial_states, inputs, cond_ids=None,
                                     progress=None):
        """``find_fixed_points(initial_states=…, inputs=…)``."""
        return self._find(initial_states, inputs, cond_ids, progress, "initial_states")

    def _find(self, inits, inputs, cond_ids, progress, name):
        rnn = self.rnn_model
        S, I = rnn.state_dim, rnn.n_inputs
        x = _check.array(inits, name, ["n_inits", ("n_states", S)])
        n = x.shape[0]
        if inputs is None and I == 0:
            inputs = np.zeros((1, 0))
        u_raw = _check.to_numpy(inputs)
        if _check.ndim(u_raw, "inputs") == 1:
            u_raw = np.asarray(u_raw)[None, :]
        u = _check.array(u_raw, "inputs", ["rows", ("n_inputs", I)], allow_empty=I == 0)
        if u.shape[0] not in (1, n):
            raise ValueError(f"`inputs` must have 1 row or one per initial state ({n}); got "
                             f"{u.shape[0]} rows")
        ids = None
        if cond_ids is not None:
            ids = _check.array(cond_ids, "cond_ids", [("n_inits", n)], dtype=np.float64)
            if not np.all(ids == np.round(ids)):
                raise TypeError("`cond_ids` must be integers")
            ids = np.ascontiguousarray(ids, dtype=np.int64)
        o = self._opts
        sequential = o.method == 1
        rep = Reporter(progress, o.verbose, n if sequential else o.max_iters, "fixed points",
                       "state" if sequential else "iter")

        def on_iter(p, _user):
            p = p.contents
            info = {k: getattr(p, k) for k, _ in p._fields_}
            at = p.first_state + (p.n_states if p.done else 0) if sequential else p.iter
            return rep.update(at, info)

        cb = PROGRESS_FN(on_iter) if rep.active else PROGRESS_FN()
        h = C.c_void_p()
        from .callback import CallbackModel
        try:
            if isinstance(rnn, CallbackModel):
                from . import callback
                h = callback.find(self, rnn, x, u, ids, cb)
            else:
                check(lib.fpf_find_fixed_points_cond(
                    rnn.handle, C.byref(o), ptr(x), n, ptr(u), u.shape[0],
                    None if ids is None else ids.ctypes.data_as(C.POINTER(C.c_int64)), cb,
                    None, C.byref(h)))
        finally:
            rep.finish()
        a = C.c_void_p()
        dt = self.np_dtype
        try:
            unique = FixedPoints._from_handle(h, S, I, o.tol_unique, dt)
            check(lib.fpf_fixed_points_select(h, SET_ALL, C.byref(a)))
            all_fps = FixedPoints._from_handle(a, S, I, o.tol_unique, dt)
        finally:
            lib.fpf_fixed_points_free(a)
            lib.fpf_fixed_points_free(h)
        return unique, all_fps

    # -- many inputs
    def find_fixed_points_sweep(self, initial_states, inputs, seed_from_previous=True):
        """The whole search at every row of ``inputs`` [K, n_inputs] from the same
        ``initial_states`` [n, n_states], in one library call, on ``n_threads`` threads
        across inputs. With ``seed_from_previous``, each input's points are merged with those
        Newton reaches from the previous input's points (in input order), so a fixed point
        that moves continuously along the inputs is not lost where the initial states miss
        it. Returns a list of (unique_fps, all_fps), one per input row."""
        rnn = self.rnn_model
        _builtin(rnn, "find_fixed_points_sweep")
        S, I = rnn.state_dim, rnn.n_inputs
        if I == 0:
            raise ValueError("the network has no inputs: there is nothing to sweep")
        x = _check.array(initial_states, "initial_states", ["n_inits", ("n_states", S)])
        u = _check.array(inputs, "inputs", ["rows", ("n_inputs", I)])
        flag = _check.flag(seed_from_previous, "seed_from_previous")
        k = u.shape[0]
        handles = (C.c_void_p * k)()
        check(lib.fpf_find_fixed_points_sweep(rnn.handle, C.byref(self._opts), ptr(x),
                                              x.shape[0], ptr(u), k, flag, handles))
        out, dt = [], self.np_dtype
        try:
            for h in handles:
                a = C.c_void_p()
                check(lib.fpf_fixed_points_select(h, SET_ALL, C.byref(a)))
                try:
                    out.append((FixedPoints._from_handle(h, S, I, self._opts.tol_unique, dt),
                                FixedPoints._from_handle(a, S, I, self._opts.tol_unique, dt)))
                finally:
                    lib.fpf_fixed_points_free(a)
        finally:
            for h in handles:
                lib.fpf_fixed_points_free(h)
        return out

    def continuation(self, fixed_points, u0=None, u1=None, n_steps=20, inputs=None,
                     **options):
        """Follows fixed points at the input ``u0`` along the line ``u0 → u1`` in
        ``n_steps`` segments (or along the rows of ``inputs`` [K, n_inputs], from its first
        row) by predictor–corrector Newton: each branch gets a point at every input of the
        path it passes, its eigenvalues and stability; saddle-nodes (a real eigenvalue
        crossing +1 where the branch turns), branch points, period doubling (−1) and
        Neimark–Sacker bifurcations are detected and refined by bisection.

        ``fixed_points``: a FixedPoints (its ``xstar``; ``u0`` defaults to its first input
        row) or an array [n, n_states] (``u0`` defaults to zeros). Options (``fpf.continuation.option_names()``):
        method ('pseudo_arclength', the default, goes round folds; 'natural' stops at
        them), step_max, step_min, step_init (0: automatic), max_steps, corrector_max_iters,
        tol_q, refine_tol, tol_same, period (default: the finder's), n_threads (default: the
        finder's). Returns an fpf.continuation.Continuation."""
        from . import continuation as _cont
        _builtin(self.rnn_model, "continuation")
        if isinstance(fixed_points, FixedPoints):
            seeds = fixed_points.xstar
            if seeds is None or fixed_points.n == 0:
                raise ValueError("`fixed_points` holds no points")
            if u0 is None and inputs is None and fixed_points.inputs is not None:
                u0 = np.asarray(fixed_points.inputs)[0]
        else:
            seeds = fixed_points
        options.setdefault("period", self._opts.period)
        options.setdefault("n_threads", self._opts.n_threads)
        opts = _cont.make_options("FixedPointFinder.continuation", **options)
        if inputs is None and u0 is None:
            u0 = np.zeros(self.rnn_model.n_inputs)
        return _cont.run(self.rnn_model, seeds, u0, u1, n_steps, inputs, opts)

    # -- the reference's outlier helpers
    @staticmethod
    def identify_q_outliers(fps, q_thresh):
        """Indices of the points with qstar > q_thresh."""
        return np.nonzero(np.asarray(fps.qstar) > q_thresh)[0]

    @staticmethod
    def identify_q_non_outliers(fps, q_thresh):
        """Indices of the points with qstar <= q_thresh."""
        return np.nonzero(np.asarray(fps.qstar) <= q_thresh)[0]

    @staticmethod
    def identify_distance_non_outliers(fps, initial_states, dist_thresh):
        """Indices of the points whose distance to the centroid of ``initial_states``,
        in units of the initial states' mean distance to it, is below ``dist_thresh`` (the
        rule the finder applies with outlier_distance_scale)."""
        x0 = np.asarray(_check.to_numpy(initial_states), dtype=float)
        if x0.ndim != 2 or x0.shape[1] != fps.n_states:
            raise ValueError(f"`initial_states` must be [n, n_states={fps.n_states}]; got "
                             f"{x0.shape}")
        c = x0.mean(axis=0)
        mean = np.mean(np.linalg.norm(x0 - c, axis=1))
        d = np.linalg.norm(np.asarray(fps.xstar, dtype=float) - c, axis=1)
        if mean == 0:
            return np.nonzero(d == 0)[0]
        return np.nonzero(d / mean < dist_thresh)[0]

    def exclude_distance_outliers(self, fps, initial_states):
        """The points of ``fps`` that are not distance outliers (outlier_distance_scale)."""
        return fps[self.identify_distance_non_outliers(fps, initial_states,
                                                       self.outlier_distance_scale)]

    def run_additional_iterations_on_outliers(self, fps):
        """Re-optimizes, one state at a time, the points whose q exceeds outlier_q_scale
        times the median q, and puts the results in their place (a new FixedPoints)."""
        if fps.n == 0:
            return fps
        thresh = self.outlier_q_scale * np.median(np.asarray(fps.qstar, dtype=float))
        idx = self.identify_q_outliers(fps, thresh)
        if idx.size == 0:
            return fps[np.arange(fps.n)]
        again = FixedPointFinder(self.rnn_model, **{
            **self.get_options(), "method": "sequential", "do_exclude_distance_outliers": False,
            "do_rerun_q_outliers": False, "verbose": False, "super_verbose": False})
        inputs = fps.inputs[idx] if fps.inputs is not None else None
        _, rerun = again.find_fixed_points(initial_states=fps.xstar[idx], inputs=inputs,
                                           progress=False)
        out = fps[np.arange(fps.n)]
        out[idx] = rerun
        return out

    _identify_q_outliers = identify_q_outliers
    _identify_q_non_outliers = identify_q_non_outliers
    _identify_distance_non_outliers = identify_distance_non_outliers
    _exclude_distance_outliers = exclude_distance_outliers
    _run_additional_iterations_on_outliers = run_additional_iterations_on_outliers
    _sample_states = sample_states


def _sample(traj, mask, n_inits, noise_scale, seed):
    """The library's sampling of a checked trajectory and mask."""
    B, T, S = traj.shape
    n = _check.count(n_inits, "n_inits", 1)
    noise = _check.real(noise_scale, "noise_scale")
    if noise < 0:
        raise ValueError(f"`noise_scale` must be ≥ 0; got {noise}")
    out = np.empty((n, S))
    m = None if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
    check(lib.fpf_sample_states(ptr(traj), B, T, S,
                                None if m is None else ptr(m, C.c_uint8),
                                n, noise, _check.seed(seed), ptr(out)))
    return out
