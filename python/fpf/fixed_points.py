"""FixedPoints: a set of fixed points as numpy arrays, with the methods of the reference
FixedPoints classes (canns' and the original FixedPointFinder's)."""

import ctypes as C

import numpy as np

from ._check import to_numpy
from ._lib import FIELD_READERS, check, lib

# Per-point fields, from the library's own table, under the reference's names where it has
# one; eigenvalues and eigenvectors as one complex array each.
_RENAME = {"f_xstar": "F_xstar", "j_xstar": "J_xstar", "dfdu": "dFdu"}
_COMPLEX = {"eigval": "eigval_J_xstar", "eigvec": "eigvec_J_xstar"}
_C_FIELDS = [lib.fpf_fixed_points_field_name(k).decode()
             for k in range(lib.fpf_fixed_points_n_fields())]
DATA_ATTRS = tuple(dict.fromkeys(
    _COMPLEX[f[:-3]] if f[:-3] in _COMPLEX else _RENAME.get(f, f) for f in _C_FIELDS))
_REFERENCE_ATTRS = ("xstar", "x_init", "inputs", "F_xstar", "qstar", "dq", "n_iters",
                    "J_xstar", "dFdu", "eigval_J_xstar", "eigvec_J_xstar", "is_stable",
                    "cond_id")
DATA_ATTRS = tuple(dict.fromkeys(_REFERENCE_ATTRS + DATA_ATTRS))
_STATE_ATTRS = ("xstar", "x_init", "F_xstar")  # the ones transform() maps
# Library fields with one value per state.
_PER_STATE = ("xstar", "f_xstar", "x_init", "eigval_re", "eigval_im")


# 1 < |λ| ≤ MARGINAL: marginally unstable (the library's `fpf_std::analysis::MARGINAL`).
MARGINAL = 1.05


def _complex_dtype(dtype):
    return np.complex64 if np.dtype(dtype) == np.float32 else np.complex128


class FixedPoints:
    """Fixed points and what is known about them, as numpy arrays (None: not computed).

    Attributes (n points, S = n_states, I = n_inputs): xstar, F_xstar, x_init [n, S];
    inputs [n, I]; qstar, dq, n_iters [n]; J_xstar [n, S, S]; dFdu [n, S, I];
    eigval_J_xstar [n, S] and eigvec_J_xstar [n, S, S] (complex, sorted by modulus, largest
    first; column k of eigvec belongs to eigval k); is_stable [n] (max |λ| < 1); cond_id [n];
    and libfpf's own: newton (Newton outcome codes), is_slow, n_unstable, n_kink (leaky ReLU
    units on the kink), min_period.
    """

    def __init__(self, xstar=None, F_xstar=None, x_init=None, inputs=None, qstar=None,
                 dq=None, n_iters=None, J_xstar=None, dFdu=None, eigval_J_xstar=None,
                 eigvec_J_xstar=None, is_stable=None, cond_id=None, tol_unique=1e-3,
                 dtype=np.float32, n_states=None, n_inputs=None, verbose=False, **extra):
        given = dict(xstar=xstar, F_xstar=F_xstar, x_init=x_init, inputs=inputs, qstar=qstar,
                     dq=dq, n_iters=n_iters, J_xstar=J_xstar, dFdu=dFdu,
                     eigval_J_xstar=eigval_J_xstar, eigvec_J_xstar=eigvec_J_xstar,
                     is_stable=is_stable, cond_id=cond_id)
        unknown = set(extra) - set(DATA_ATTRS)
        if unknown:
            raise TypeError(f"FixedPoints got unknown fields {sorted(unknown)}")
        given.update(extra)
        for name in DATA_ATTRS:
            v = given.get(name)
            setattr(self, name, None if v is None else np.asarray(to_numpy(v)))
        self.tol_unique = float(tol_unique)
        self.dtype = np.dtype(dtype).type
        self.verbose = bool(verbose)
        first = next((getattr(self, a) for a in ("xstar", "x_init", "F_xstar")
                      if getattr(self, a) is not None), None)
        if first is not None and first.ndim != 2:
            raise ValueError(f"xstar must be [n, n_states]; got shape {first.shape}")
        self.n = 0 if first is None else int(first.shape[0])
        if first is None:
            self.n = next((len(getattr(self, a)) for a in DATA_ATTRS
                           if getattr(self, a) is not None), 0)
        self.n_states = int(first.shape[1]) if first is not None else int(n_states or 0)
        self.n_inputs = (int(self.inputs.shape[1]) if self.inputs is not None
                         and self.inputs.ndim == 2 else int(n_inputs or 0))
        self.assert_valid_shapes()

    # -- from the library
    @classmethod
    def _from_handle(cls, h, n_states, n_inputs, tol_unique, dtype):
        n = int(lib.fpf_fixed_points_len(h))
        raw = {}
        for k, name in enumerate(_C_FIELDS):
            fn, dt, p = FIELD_READERS[int(lib.fpf_fixed_points_field_type(k))]
            width = int(lib.fpf_fixed_points_field_width(h, k))
            if width == 0:  # not computed
                continue
            out = np.empty(n * width, dtype=dt)
            check(getattr(lib, fn)(h, name.encode(), out.ctypes.data_as(p), out.size))
            S, I = n_states, n_inputs
            # By the field's kind, not its width: with one state or one input a row of S
            # or I values is still a row (a width of 1 alone would make it a scalar).
            shape = {"j_xstar": (S, S), "eigvec_re": (S, S), "eigvec_im": (S, S),
                     "dfdu": (S, I), "inputs": (I,)}.get(
                name, (S,) if name in _PER_STATE else () if width == 1 else (width,))
            out = out.reshape((n,) + shape)
            if out.dtype == np.uint8 and name != "newton":
                out = out.astype(bool)
            elif out.dtype == np.uintp:
                out = out.astype(np.int64)
            elif out.dtype == np.float64:
                out = out.astype(dtype, copy=False)
            raw[name] = out
        a = {}
        for name, v in raw.items():
            base = name[:-3]
            if base in _COMPLEX:
                if name.endswith("_re"):
                    c = (v + 1j * raw[base + "_im"]).astype(_complex_dtype(dtype))
                    a[_COMPLEX[base]] = c
                continue
            a[_RENAME.get(name, name)] = v
        return cls(tol_unique=tol_unique, dtype=dtype, n_states=n_states, n_inputs=n_inputs,
                   **a)

    # -- container protocol
    def __len__(self):
        return self.n

    def __repr__(self):
        return (f"FixedPoints(n={self.n}, n_states={self.n_states}, n_inputs={self.n_inputs}"
                f", n_stable={self.n_stable() if self.is_stable is not None else '?'})")

    @property
    def kwargs(self):
        """Keyword arguments that rebuild this object: ``FixedPoints(**fps.kwargs)``."""
        kw = {name: getattr(self, name) for name in DATA_ATTRS}
        kw.update(tol_unique=self.tol_unique, dtype=self.dtype, n_states=self.n_states,
                  n_inputs=self.n_inputs, verbose=self.verbose)
        return kw

    def _index(self, idx):
        if isinstance(idx, (int, np.integer)):
            if not -self.n <= int(idx) < self.n:
                raise IndexError(f"index {int(idx)} out of range for {self.n} fixed points")
            idx = [int(idx)]
        return idx

    def __getitem__(self, idx):
        """A new FixedPoints with the points at ``idx`` (int, slice, index array or boolean
        mask; an int keeps the arrays' first axis)."""
        idx = self._index(idx)
        kw = self.kwargs
        for name in DATA_ATTRS:
            v = getattr(self, name)
            kw[name] = None if v is None else v[idx]
        return FixedPoints(**kw)

    def __setitem__(self, idx, fps):
        """Overwrites the points at ``idx`` with those of ``fps`` (fields both have)."""
        if not isinstance(fps, FixedPoints):
            raise TypeError(f"fps must be a FixedPoints; got {type(fps).__name__}")
        idx = self._index(idx)
        for name in DATA_ATTRS:
            mine, theirs = getattr(self, name), getattr(fps, name)
            if mine is not None and theirs is not None:
                mine[idx] = theirs

    def find(self, fp):
        """Indices of the points within tol_unique (2-norm on [xstar, inputs]) of the single
        point ``fp`` (a FixedPoints of one point, or a state vector)."""
        if isinstance(fp, FixedPoints):
            if fp.n != 1 or fp.n_states != self.n_states or fp.n_inputs != self.n_inputs:
                return np.array([], dtype=int)
            theirs = self._stacked(fp)
        else:
            x = np.asarray(to_numpy(fp), dtype=float).reshape(-1)
            if x.size != self.n_states:
                return np.array([], dtype=int)
            theirs = x if self.inputs is None or self.n_inputs == 0 else None
            if theirs is None:  # a bare state matches at any input
                mine = np.asarray(self.xstar, dtype=float)
                d = np.linalg.norm(mine - x, axis=1)
                return np.nonzero(d <= self.tol_unique)[0]
        mine = self._stacked(self)
        if self.n == 0:
            return np.array([], dtype=int)
        d = np.linalg.norm(mine - theirs.reshape(1, -1), axis=1)
        return np.nonzero(d <= self.tol_unique)[0]

    def __contains__(self, fp):
        return self.find(fp).size > 0

    @staticmethod
    def _stacked(fps):
        x = np.asarray(fps.xstar, dtype=float)
        if fps.inputs is None or fps.n_inputs == 0:
            return x
        return np.concatenate([x, np.asarray(fps.inputs, dtype=float)], axis=1)

    # -- the reference's methods
    def get_unique(self):
        """The unique points: clusters of points within tol_unique of each other on
        [xstar, inputs] (transitively, as libfpf's finder forms them), each represented by
        its lowest-q member, in index order."""
        if self.xstar is None:
            raise ValueError("get_unique needs xstar")
        n = self.n
        if n == 0:
            return self[np.arange(0)]
        data = self._stacked(self)
        parent = np.arange(n)

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        tol2 = self.tol_unique ** 2
        for i in range(n - 1):
            d2 = np.sum((data[i + 1:] - data[i]) ** 2, axis=1)
            for j in np.nonzero(d2 <= tol2)[0] + i + 1:
                a, b = root(i), root(int(j))
                if a != b:
                    parent[max(a, b)] = min(a, b)
        q = (np.asarray(self.qstar, dtype=float) if self.qstar is not None
             else np.zeros(n))
        best = {}
        for i in range(n):
            r = root(i)
            if r not in best or q[i] < q[best[r]]:
                best[r] = i
        return self[np.array(sorted(best.values()), dtype=int)]

    def decompose_jacobians(self, verbose=False, do_batch=True, str_prefix=""):
        """Eigenvalues and eigenvectors of each J_xstar (libfpf's solver, sorted by modulus,
        largest first) and stability (max |λ| < 1). A Jacobian with a NaN gets NaNs and is
        not stable. Does nothing if already decomposed or without Jacobians."""
        from .utils import eig
        if self.J_xstar is None or self.n == 0:
            if verbose:
                print(f"{str_prefix}No Jacobians to decompose.")
            return
        if self.has_decomposed_jacobians:
            if verbose:
                print(f"{str_prefix}Jacobians have already been decomposed, not repeating.")
            return
        if verbose:
            print(f"{str_prefix}Decomposing {self.n} Jacobians...")
        n, S = self.n, self.n_states
        cdt = _complex_dtype(self.dtype)
        vals = np.full((n, S), np.nan, dtype=cdt)
        vecs = np.full((n, S, S), np.nan, dtype=cdt)
        stable = np.zeros(n, dtype=bool)
        unstable = np.zeros(n, dtype=np.int64)
        for i in range(n):
            J = np.asarray(self.J_xstar[i], dtype=float)
            if not np.all(np.isfinite(J)):
                continue
            w, v = eig(J)
            vals[i], vecs[i] = w, v
            stable[i] = abs(w[0]) < 1.0
            unstable[i] = int(np.sum(np.abs(w) > 1.0))
        self.eigval_J_xstar, self.eigvec_J_xstar, self.is_stable = vals, vecs, stable
        if "n_unstable" in DATA_ATTRS:
            self.n_unstable = unstable
        if verbose:
            print(f"{str_prefix}Found {int(stable.sum())} stable and {n - int(stable.sum())} "
                  f"unstable fixed points.")

    def transform(self, U, offset=0.0):
        """An affine map of the state space, e.g. onto principal components: xstar, x_init
        and F_xstar become ``x @ U + offset`` (U is [n_states, k]); eigenvectors become
        ``U.T @ v``; Jacobians (which a non-square U cannot map) are dropped."""
        U = np.asarray(to_numpy(U), dtype=float)
        offset = np.asarray(to_numpy(offset), dtype=float)
        if U.ndim != 2 or U.shape[0] != self.n_states:
            raise ValueError(f"`U` must be [n_states={self.n_states}, k]; got {U.shape}")
        kw = self.kwargs
        for name in _STATE_ATTRS:
            v = getattr(self, name)
            kw[name] = None if v is None else v @ U + offset
        if self.eigvec_J_xstar is not None:
            kw["eigvec_J_xstar"] = np.matmul(U.T, self.eigvec_J_xstar)
        kw["J_xstar"] = kw["dFdu"] = None
        kw["n_states"] = U.shape[1]
        return FixedPoints(**kw)

    def update(self, new_fps):
        """Appends the points of ``new_fps`` to this object (in place)."""
        joined = FixedPoints.concatenate([self, new_fps])
        self.__dict__.update(joined.__dict__)

    @staticmethod
    def concatenate(fps_seq):
        """One FixedPoints with the points of every element of ``fps_seq`` (which must agree
        on n_states and n_inputs); a field absent from any element is absent."""
        fps_seq = list(fps_seq)
        if not fps_seq:
            raise ValueError("cannot concatenate an empty sequence of FixedPoints")
        for f in fps_seq:
            if not isinstance(f, FixedPoints):
                raise TypeError(f"concatenate takes FixedPoints; got {type(f).__name__}")
        first = fps_seq[0]
        for f in fps_seq[1:]:
            if (f.n_states, f.n_inputs) != (first.n_states, first.n_inputs):
                raise ValueError(f"cannot concatenate FixedPoints of n_states/n_inputs "
                                 f"{first.n_states}/{first.n_inputs} and {f.n_states}/"
                                 f"{f.n_inputs}")
        kw = first.kwargs
        for name in DATA_ATTRS:
            parts = [getattr(f, name) for f in fps_seq]
            kw[name] = None if any(p is None for p in parts) else np.concatenate(parts, axis=0)
        return FixedPoints(**kw)

    def save(self, save_path):
        """Writes every field to ``save_path`` (numpy's .npz format, no pickled objects)."""
        self.assert_valid_shapes()
        arrays = {name: getattr(self, name) for name in DATA_ATTRS
                  if getattr(self, name) is not None}
        meta = np.array([self.tol_unique, self.n_states, self.n_inputs, self.n], dtype=float)
        with open(save_path, "wb") as f:
            np.savez(f, __meta__=meta, __dtype__=np.array(np.dtype(self.dtype).name),
                     **arrays)

    def restore(self, restore_path):
        """Replaces this object's content by the points saved at ``restore_path``; returns
        self. ``FixedPoints.load(path)`` makes a new object."""
        with np.load(restore_path, allow_pickle=False) as z:
            if "__meta__" not in z.files:
                raise ValueError(f"{restore_path} was not written by FixedPoints.save")
            tol, S, I, _ = z["__meta__"]
            kw = {name: z[name] for name in z.files if name in DATA_ATTRS}
            loaded = FixedPoints(tol_unique=tol, dtype=str(z["__dtype__"]), n_states=int(S),
                                 n_inputs=int(I), **kw)
        self.__dict__.update(loaded.__dict__)
        return self

    @classmethod
    def load(cls, path):
        return cls().restore(path)

    # -- printing
    def n_stable(self):
        return 0 if self.is_stable is None else int(np.sum(self.is_stable))

    @property
    def has_decomposed_jacobians(self):
        return self.eigval_J_xstar is not None

    @property
    def is_single_fixed_point(self):
        return self.n == 1

    def summary(self):
        lines = ["", "=== Fixed Points Summary ===", f"Number of fixed points: {self.n}",
                 f"State dimension: {self.n_states}", f"Input dimension: {self.n_inputs}"]
        if self.qstar is not None and self.n > 0:
            q = np.asarray(self.qstar, dtype=float)
            lines += ["", f"q values: min={q.min():.2e}, median={np.median(q):.2e}, "
                          f"max={q.max():.2e}"]
        if self.n_iters is not None and self.n > 0:
            it = np.asarray(self.n_iters)
            lines.append(f"Iterations: min={it.min()}, median={np.median(it):.0f}, "
                         f"max={it.max()}")
        if self.is_stable is not None:
            lines += ["", f"Stable fixed points: {self.n_stable()} / {self.n}"]
        lead = self.leading_abs_eig()
        if lead is not None and self.n > 0:
            lines.append("Leading |eig| per point: " + " ".join(f"{v:.4f}" for v in lead))
            n_marg = self.n_marginal()
            if n_marg:
                lines.append(f"Marginal fixed points (1 < |eig| <= {MARGINAL}): {n_marg}")
        if getattr(self, "n_kink", None) is not None:
            k = int(np.sum(np.asarray(self.n_kink) > 0))
            if k:
                lines.append(f"On an activation kink: {k} (the Jacobian is one-sided there)")
        return "\n".join(lines) + "\n"

    def leading_abs_eig(self):
        """The modulus of each point's leading eigenvalue (None if not decomposed)."""
        if self.eigval_J_xstar is None:
            return None
        w = np.abs(np.asarray(self.eigval_J_xstar))
        return w.max(axis=1) if w.ndim == 2 and w.shape[1] else np.zeros(self.n)

    def n_marginal(self):
        """Points whose leading eigenvalue is just outside the unit circle,
        1 < |λ| <= MARGINAL: as good as stable over a trial, so they can hold memories."""
        lead = self.leading_abs_eig()
        return 0 if lead is None else int(np.sum((lead > 1.0) & (lead <= MARGINAL)))

    def print_summary(self):
        """Prints the summary block (canns' format) to sys.stdout."""
        print(self.summary(), end="")

    def print_shapes(self):
        """Prints each field's shape (None for fields not computed)."""
        for name in DATA_ATTRS:
            v = getattr(self, name)
            print(f"{name}: {None if v is None else v.shape}")

    def assert_valid_shapes(self):
        """ValueError unless every field has n rows."""
        for name in DATA_ATTRS:
            v = getattr(self, name)
            if v is not None and (v.ndim == 0 or v.shape[0] != self.n):
                raise ValueError(f"FixedPoints has {self.n} points but {name} has shape "
                                 f"{v.shape}")
