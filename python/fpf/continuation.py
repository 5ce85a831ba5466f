"""Continuation of fixed points along a path of inputs (libfpf's ``fpf_continue_line`` and
``fpf_continue_path``): branches, their stability, and the bifurcations on them, as numpy
arrays. Made by ``FixedPointFinder.continuation``."""

import ctypes as C

import numpy as np

from . import _check, _options
from ._lib import _mirror, check, lib, ptr

ContinuationOptions = _mirror("fpf_continuation_options", "ContinuationOptions")
METHODS = {"pseudo_arclength": 0, "natural": 1}
_METHOD_NAMES = {v: k for k, v in METHODS.items()}
ENDS = {0: "reached_end", 1: "returned_to_start", 2: "step_too_small", 3: "max_steps",
        4: "eigen_failure"}
KINDS = {0: "saddle_node", 1: "branch_point", 2: "period_doubling", 3: "neimark_sacker"}

_sz, _dp = C.c_size_t, C.POINTER(C.c_double)
_OPT = C.POINTER(ContinuationOptions)
for _name, (_res, _args) in {
    "fpf_continuation_options_default": (None, [_OPT]),
    "fpf_continuation_options_validate": (C.c_int, [_OPT]),
    "fpf_continue_line": (C.c_int, [C.c_void_p, _OPT, _dp, _sz, _dp, _dp, _sz,
                                    C.POINTER(C.c_void_p)]),
    "fpf_continue_path": (C.c_int, [C.c_void_p, _OPT, _dp, _sz, _dp, _sz,
                                    C.POINTER(C.c_void_p)]),
    "fpf_continuation_free": (None, [C.c_void_p]),
    "fpf_continuation_n_branches": (_sz, [C.c_void_p]),
    "fpf_continuation_branch_len": (_sz, [C.c_void_p, _sz]),
    "fpf_continuation_branch_n_seeds": (_sz, [C.c_void_p, _sz]),
    "fpf_continuation_branch_end": (C.c_int, [C.c_void_p, _sz, C.POINTER(C.c_uint32)]),
    "fpf_continuation_seed_branch": (C.c_int, [C.c_void_p, C.POINTER(C.c_int64), _sz]),
    "fpf_continuation_n_bifurcations": (_sz, [C.c_void_p]),
    "fpf_continuation_summary": (_sz, [C.c_void_p, C.c_char_p, _sz]),
}.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args
_READERS = {"f64": (np.float64, C.c_double), "size": (np.uintp, C.c_size_t),
            "u8": (np.uint8, C.c_uint8), "i64": (np.int64, C.c_int64)}
for _t, (_, _ct) in _READERS.items():
    _f = getattr(lib, f"fpf_continuation_branch_field_{_t}")
    _f.restype = C.c_int
    _f.argtypes = [C.c_void_p, _sz, C.c_char_p, C.POINTER(_ct), _sz]
    _f = getattr(lib, f"fpf_continuation_bifurcation_field_{_t}")
    _f.restype = C.c_int
    _f.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(_ct), _sz]


def option_names():
    """The continuation options (members of the library's fpf_continuation_options)."""
    return _options.names(ContinuationOptions)


def make_options(owner, **options):
    """A filled, validated ContinuationOptions; ``method`` is 'pseudo_arclength' (default)
    or 'natural'."""
    o = ContinuationOptions()
    lib.fpf_continuation_options_default(C.byref(o))
    for k, v in options.items():
        if k == "method":
            o.method = _check.choice(v, f"{owner}.method", METHODS)
        else:
            setattr(o, k, _options.convert(ContinuationOptions, k, v, owner))
    if lib.fpf_continuation_options_validate(C.byref(o)) != 0:
        from ._lib import last_error
        raise ValueError(f"{owner}: {last_error()}")
    return o


def _read_branch(h, b, name, kind, n):
    dt, ct = _READERS[kind]
    out = np.empty(n, dtype=dt)
    fn = getattr(lib, f"fpf_continuation_branch_field_{kind}")
    check(fn(h, b, name.encode(), out.ctypes.data_as(C.POINTER(ct)), n))
    return out


def _read_bif(h, name, kind, n):
    dt, ct = _READERS[kind]
    out = np.empty(n, dtype=dt)
    fn = getattr(lib, f"fpf_continuation_bifurcation_field_{kind}")
    check(fn(h, name.encode(), out.ctypes.data_as(C.POINTER(ct)), n))
    return out


class Branch:
    """One branch, its points in the order the continuation met them (n points, S states,
    I inputs): ``sigma`` [n] (position along the path: the input-space arclength from its
    first input), ``inputs`` [n, I], ``xstar`` [n, S], ``qstar`` [n], ``eigval`` [n, S]
    (complex, sorted by modulus, largest first), ``max_abs_eig`` [n], ``is_stable`` [n]
    (bool), ``n_unstable`` [n], ``node`` [n] (the index of the path input a point sits on
    exactly, −1 between them), ``seeds`` (indices of the seeds on it) and ``end`` (why it
    stopped: 'reached_end', 'returned_to_start', 'step_too_small', 'max_steps',
    'eigen_failure')."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def n(self):
        return len(self.sigma)

    def at_node(self, k):
        """Indices of the points at path input ``k``."""
        return np.nonzero(self.node == k)[0]

    def __repr__(self):
        return (f"Branch(n={self.n}, seeds={list(self.seeds)}, sigma=[{self.sigma.min():.4g}, "
                f"{self.sigma.max():.4g}], stable={int(self.is_stable.sum())}, end={self.end!r})")


class Bifurcation:
    """A bifurcation between points ``before`` and ``before + 1`` of branch ``branch``:
    ``kind`` ('saddle_node', 'branch_point', 'period_doubling', 'neimark_sacker'),
    ``eig_before``/``eig_after`` (the crossing eigenvalue at the two points, complex),
    ``turned`` (the branch reverses in the input there), and the point refined by bisection
    (``refined``; ``sigma``, ``inputs`` [I], ``xstar`` [S], ``eig`` (complex), ``q``, NaN
    where not refined)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return (f"Bifurcation({self.kind!r}, branch={self.branch}, before={self.before}, "
                f"sigma={self.sigma:.12g}, eig={self.eig:.6g})")


class Continuation:
    """Branches and bifurcations of a continuation (see FixedPointFinder.continuation):
    ``branches`` (list of Branch), ``bifurcations`` (list of Bifurcation), ``seed_branch``
    (the branch of each seed, −1 for a seed that was not a fixed point at the first input),
    ``path`` (the path's inputs [K + 1, I]) and ``path_sigma`` (their positions)."""

    def __init__(self, handle, n_states, n_inputs, n_seeds, path):
        h = handle
        self.n_states, self.n_inputs = n_states, n_inputs
        self.path = path
        steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
        self.path_sigma = np.concatenate([[0.0], np.cumsum(steps)])
        S, I = n_states, n_inputs
        self.branches = []
        for b in range(lib.fpf_continuation_n_branches(h)):
            n = lib.fpf_continuation_branch_len(h, b)
            f = {k: _read_branch(h, b, k, "f64", n * w) for k, w in
                 (("sigma", 1), ("inputs", I), ("xstar", S), ("qstar", 1), ("eigval_re", S),
                  ("eigval_im", S), ("max_abs_eig", 1))}
            end = C.c_uint32()
            check(lib.fpf_continuation_branch_end(h, b, C.byref(end)))
            self.branches.append(Branch(
                sigma=f["sigma"], inputs=f["inputs"].reshape(n, I),
                xstar=f["xstar"].reshape(n, S), qstar=f["qstar"],
                eigval=(f["eigval_re"] + 1j * f["eigval_im"]).reshape(n, S),
                max_abs_eig=f["max_abs_eig"],
                is_stable=_read_branch(h, b, "is_stable", "u8", n).astype(bool),
                n_unstable=_read_branch(h, b, "n_unstable", "size", n).astype(np.int64),
                node=_read_branch(h, b, "node", "i64", n),
                seeds=_read_branch(h, b, "seeds", "size",
                                   lib.fpf_continuation_branch_n_seeds(h, b)).astype(np.int64),
                end=ENDS.get(end.value, end.value)))
        sb = np.empty(n_seeds, dtype=np.int64)
        check(lib.fpf_continuation_seed_branch(h, sb.ctypes.data_as(C.POINTER(C.c_int64)),
                                               n_seeds))
        self.seed_branch = sb
        m = lib.fpf_continuation_n_bifurcations(h)
        g = {k: _read_bif(h, k, "f64", m * w) for k, w in
             (("sigma", 1), ("inputs", I), ("xstar", S), ("eig", 2), ("q", 1),
              ("eig_before", 2), ("eig_after", 2))}
        kind = _read_bif(h, "kind", "size", m)
        branch = _read_bif(h, "branch", "size", m)
        before = _read_bif(h, "before", "size", m)
        turned = _read_bif(h, "turned", "u8", m)
        refined = _read_bif(h, "refined", "u8", m)
        c2 = lambda a, i: complex(a[2 * i], a[2 * i + 1])  # noqa: E731
        self.bifurcations = [Bifurcation(
            kind=KINDS.get(int(kind[i]), int(kind[i])), branch=int(branch[i]),
            before=int(before[i]), turned=bool(turned[i]), refined=bool(refined[i]),
            sigma=float(g["sigma"][i]), inputs=g["inputs"][i * I:(i + 1) * I].copy(),
            xstar=g["xstar"][i * S:(i + 1) * S].copy(), eig=c2(g["eig"], i),
            q=float(g["q"][i]), eig_before=c2(g["eig_before"], i),
            eig_after=c2(g["eig_after"], i)) for i in range(m)]
        n = lib.fpf_continuation_summary(h, None, 0)
        buf = C.create_string_buffer(n + 1)
        lib.fpf_continuation_summary(h, buf, n + 1)
        self._summary = buf.value.decode("utf-8", "replace")

    def summary(self):
        """The text summary: branches (seeds, range, stability, end), then bifurcations."""
        return self._summary

    def print_summary(self):
        print(self._summary, end="")

    def plot(self, y=None, x=None, ax=None, stable_color="tab:blue",
             unstable_color="tab:red"):
        """Branches over the input, coloured by stability (stable solid, unstable dashed),
        bifurcations marked. ``y``: a function of ``xstar`` [n, S] → [n] (default: the first
        state); ``x``: a function of ``(sigma [n], inputs [n, I])`` → [n] (default: sigma).
        Returns the axes (matplotlib needed; the backend is left alone)."""
        from .plotting import _pyplot
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 5))
        fy = y if y is not None else (lambda xs: xs[:, 0])
        fx = x if x is not None else (lambda s, u: s)
        for b in self.branches:
            xs, ys = np.asarray(fx(b.sigma, b.inputs)), np.asarray(fy(b.xstar))
            cut = np.nonzero(np.diff(b.is_stable.astype(int)))[0] + 1
            for seg in np.split(np.arange(b.n), cut):
                if len(seg) == 0:
                    continue
                lo, hi = seg[0], min(seg[-1] + 2, b.n)  # join with the next piece
                st = b.is_stable[seg[0]]
                ax.plot(xs[lo:hi], ys[lo:hi], "-" if st else "--",
                        color=stable_color if st else unstable_color, lw=1.5)
        for f in self.bifurcations:
            if f.refined:
                ax.plot(fx(np.array([f.sigma]), f.inputs[None, :]), fy(f.xstar[None, :]), "ko",
                        ms=5)
        ax.set_xlabel("input (path arclength)" if x is None else "input")
        return ax


def run(rnn, seeds, u0, u1, n_steps, inputs, opts):
    """Calls the library: a line u0 → u1 in n_steps, or the rows ``inputs``."""
    S, I = rnn.state_dim, rnn.n_inputs
    if I == 0:
        raise ValueError("the network has no inputs: there is no input path to follow")
    x = _check.array(seeds, "fixed_points", ["n_seeds", ("n_states", S)])
    h = C.c_void_p()
    if inputs is not None:
        if u0 is not None or u1 is not None:
            raise TypeError("give `inputs` (the path's rows) or `u0` and `u1`, not both")
        path = _check.array(inputs, "inputs", ["n_rows", ("n_inputs", I)])
        if path.shape[0] < 2:
            raise ValueError(f"`inputs` must have at least 2 rows; got {path.shape[0]}")
        check(lib.fpf_continue_path(rnn.handle, C.byref(opts), ptr(x), x.shape[0], ptr(path),
                                    path.shape[0], C.byref(h)))
    else:
        if u1 is None:
            raise TypeError("continuation needs `u1` (and `u0`, or fixed points that carry "
                            "their inputs) or `inputs`")
        a = _check.array(np.ravel(_check.to_numpy(u0)), "u0", [("n_inputs", I)])
        b = _check.array(np.ravel(_check.to_numpy(u1)), "u1", [("n_inputs", I)])
        k = _check.count(n_steps, "n_steps", 1)
        path = a[None, :] + np.linspace(0.0, 1.0, k + 1)[:, None] * (b - a)[None, :]
        check(lib.fpf_continue_line(rnn.handle, C.byref(opts), ptr(x), x.shape[0], ptr(a),
                                    ptr(b), k, C.byref(h)))
    try:
        return Continuation(h, S, I, x.shape[0], path)
    finally:
        lib.fpf_continuation_free(h)
