#!/usr/bin/env python3
"""Regenerate the fixtures in tests/data from first principles.

    python3 tests/data/regenerate.py [--check] [--out DIR] [FAMILY ...]

FAMILY is any of (default: eig golub flipflop-points):

  eig              seeded matrices of every class the eigen solver is tested on (one
                   numpy.random.default_rng(1) stream in INDEX order) and their eigenvalues by
                   numpy.linalg.eigvals (LAPACK dgeev). numpy only; seconds.
  golub            the original FixedPointFinder's test networks, W_hh[i, :] = -roll(linspace(
                   -1, 1, n), -i) for n = 2, 3, 4, every fixed point found by Newton in f64 from a
                   grid of starts, refined in extended precision and certified. numpy only.
  flipflop-points  the true fixed points of the two trained networks as committed (weights
                   read from tests/data): Newton in f64 from every point the reference finder
                   reported (xstar), kept at q < 1e-26, deduplicated at 1e-6; and, independently,
                   Adam + Newton from the committed initial states, each point certified (q <
                   1e-26 at its f64 value, I − J nonsingular), which must find the same set.
                   numpy only; 5-20 s.
  flipflop-train   the two networks themselves, trained by the JAX reference as the canns
                   example flipflop_fixed_points.py does (brainpy optimizer, seed 42), then the
                   reference finder (canns FixedPointFinder, the tutorial's settings) for
                   inits / xstar / qstar / is_stable, then the refinement above. Needs canns 1.5.0
                   and its JAX (python -m pip install canns==1.5.0); about 9 minutes on 2 cores.

Without --check the files are written to --out (default: tests/data itself). With --check they
are written to a temporary directory and compared with tests/data: bit for bit where the recipe
is exact, within the stated tolerance where LAPACK or a Newton path decides the last bits; the
exit status is 1 on any difference beyond them. Every file has the format of tests/data: a line
`# shape d0 d1 ...`, then the values, one row of the last axis per line, `%.17e`.
"""

import argparse
import os
import sys
import tempfile
import time

# One BLAS thread: the batched products here are small, and on a shared machine extra
# threads only wait for cores (set before numpy loads its BLAS).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------
# The file format.


def fmt(a):
    """The text of one fixture file for the array `a`."""
    a = np.asarray(a, dtype=np.float64)
    lines = ["# shape " + " ".join(str(d) for d in a.shape)]
    rows = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
    for row in rows:
        lines.append(" ".join("%.17e" % v for v in row))
    return "\n".join(lines) + "\n"


def write(path, a):
    """Writes `a` to `path` in the fixture format (directories created as needed)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(fmt(a))


def read(path):
    """Reads a fixture file back into an array of its shape."""
    with open(path) as f:
        head = f.readline().split()
        if head[:2] != ["#", "shape"]:
            raise ValueError(f"{path}: no shape line")
        shape = tuple(int(d) for d in head[2:])
        v = np.array(f.read().split(), dtype=np.float64)
    return v.reshape(shape)


# ---------------------------------------------------------------------------------------------
# eig: matrices of every class the eigen solver is tested on (one seeded stream, INDEX order), and
# LAPACK's eigenvalues sorted by modulus, then real part, then imaginary part, all descending.

EIG_CASES = (
    [("gaussian", n) for n in (1, 2, 3, 4, 5, 8, 16, 32, 64, 128)]
    + [(kind, n) for n in (4, 16, 64, 128) for kind in ("rnn_jacobian", "rnn_saturated")]
    + [("gru_clustered_near_one", n) for n in (4, 16, 64)]
    + [("cyclic_permutation", n) for n in (2, 3, 4, 8, 16, 64)]
    + [("repeated_eigenvalues", n) for n in (8, 16, 64)]
    + [("badly_scaled", n) for n in (6, 16)]
    + [("companion", n) for n in (5, 12)]
    + [("zero", 16), ("identity", 16), ("upper_triangular", 16), ("rotation_blocks", 16)]
    + [("near_defective", 8)]
)


def eig_matrices():
    """Yields (name, matrix) in INDEX order, all drawn from one default_rng(1) stream."""
    g = np.random.default_rng(1)
    rnn_w = {}
    for k, (kind, n) in enumerate(EIG_CASES):
        if kind == "gaussian":
            a = g.standard_normal((n, n))
        elif kind == "rnn_jacobian":
            # tanh-cell Jacobian diag(1 - h^2) W at a random state h in (-1, 1),
            # W with standard deviation 1.5 / sqrt(n).
            w = g.standard_normal((n, n)) * 1.5 / np.sqrt(n)
            rnn_w[n] = w
            h = g.uniform(-1.0, 1.0, n)
            a = (1.0 - h**2)[:, None] * w
        elif kind == "rnn_saturated":
            # The same W at a saturated state h = tanh(3 z).
            h = np.tanh(3.0 * g.standard_normal(n))
            a = (1.0 - h**2)[:, None] * rnn_w[n]
        elif kind == "gru_clustered_near_one":
            # GRU with update gates z within 1e-6..1e-2 of 1: diag(z) + diag(1 - z) W / sqrt(n).
            z = 1.0 - 10.0 ** g.uniform(-6.0, -2.0, n)
            w = g.standard_normal((n, n)) / np.sqrt(n)
            a = np.diag(z) + (1.0 - z)[:, None] * w
        elif kind == "cyclic_permutation":
            a = np.roll(np.eye(n), 1, axis=1)
        elif kind == "repeated_eigenvalues":
            # V diag(d) V^-1, each of n/4 values in (-1, 1) four times.
            d = np.repeat(g.uniform(-1.0, 1.0, n // 4), 4)
            v = g.standard_normal((n, n))
            a = v @ np.diag(d) @ np.linalg.inv(v)
        elif kind == "badly_scaled":
            # D A D^-1 with D = diag(10^u), u uniform in (-6, 6).
            d = 10.0 ** g.uniform(-6.0, 6.0, n)
            a = (d[:, None] * g.standard_normal((n, n))) * (1.0 / d)[None, :]
        elif kind == "companion":
            a = np.zeros((n, n))
            a[0, :] = g.standard_normal(n)
            a[np.arange(1, n), np.arange(n - 1)] = 1.0
        elif kind == "zero":
            a = np.zeros((n, n))
        elif kind == "identity":
            a = np.eye(n)
        elif kind == "upper_triangular":
            a = np.triu(g.standard_normal((n, n)))
        elif kind == "rotation_blocks":
            # n/2 copies of 0.9 times a quarter turn: eigenvalues ±0.9i, each n/2 times.
            a = np.kron(np.eye(n // 2), np.array([[0.0, -0.9], [0.9, 0.0]]))
        elif kind == "near_defective":
            # A Jordan block of 0.5 with 1e-8 in the corner: eigenvalues 0.5 + 0.1 e^{2πik/8}.
            a = 0.5 * np.eye(n) + np.eye(n, k=1)
            a[n - 1, 0] = 1e-8
        else:
            raise AssertionError(kind)
        yield "%03d_%s_n%d" % (k, kind, n), a


def sorted_eigvals(a):
    """numpy.linalg.eigvals (LAPACK dgeev), by modulus, real, imaginary part, descending;
    moduli equal to 12 decimals are ties (a cyclic permutation's are all 1 up to rounding)."""
    lam = np.linalg.eigvals(a)
    order = np.lexsort((-lam.imag, -lam.real, -np.round(np.abs(lam), 12)))
    lam = lam[order]
    return np.stack([lam.real, lam.imag], axis=1)


def gen_eig(out):
    """Writes eig/INDEX.txt, eig/NAME.matrix.txt and eig/NAME.eig.txt."""
    names = []
    for name, a in eig_matrices():
        names.append(name)
        write(os.path.join(out, "eig", name + ".matrix.txt"), a)
        write(os.path.join(out, "eig", name + ".eig.txt"), sorted_eigvals(a))
    with open(os.path.join(out, "eig", "INDEX.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


# ---------------------------------------------------------------------------------------------
# Fixed points of the tanh cell F(h) = tanh(x W_ih + h W_hh + b) at x = 0 (row vectors).


def tanh_map(w_hh, b):
    """F and its Jacobian J[k, i, j] = dF_i/dh_j for a batch of states, in the dtype of h."""

    def f(h):
        return np.tanh(h @ w_hh.astype(h.dtype) + b.astype(h.dtype))

    def jac(fh):
        return (1.0 - fh**2)[:, :, None] * w_hh.T[None, :, :]

    return f, jac


def q_of(h, f):
    """q = ½‖h − F(h)‖² per state, in the dtype of h."""
    r = h - f(h)
    return 0.5 * np.sum(r * r, axis=-1)


def newton(h, w_hh, b, iters=60):
    """Damped Newton on h − F(h) = 0 in f64 for a batch of states: the step solves
    (I − J) δ = −(h − F), halved until q does not rise (at most 30 halvings); a state stops
    when q reaches 0 or its step no longer changes it. Returns the states and their q."""
    f, jac = tanh_map(w_hh, b)
    h = np.array(h, dtype=np.float64)
    eye = np.eye(h.shape[1])
    q = q_of(h, f)
    active = np.where(q > 0)[0]
    for _ in range(iters):
        if len(active) == 0:
            break
        ha, qa = h[active], q[active]
        fh = f(ha)
        a = eye[None] - jac(fh)
        r = ha - fh
        try:
            d = np.linalg.solve(a, -r[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            d = np.stack([np.linalg.lstsq(ak, -rk, rcond=None)[0] for ak, rk in zip(a, r)])
        t = 1.0
        todo = np.arange(len(active))
        moved = np.zeros(len(active), dtype=bool)
        for _ in range(30):
            cand = ha[todo] + t * d[todo]
            qc = q_of(cand, f)
            ok = np.isfinite(qc) & (qc <= qa[todo])
            done = todo[ok]
            moved[done] = np.any(cand[ok] != ha[done], axis=1)
            ha[done], qa[done] = cand[ok], qc[ok]
            todo = todo[~ok]
            t *= 0.5
            if len(todo) == 0:
                break
        h[active], q[active] = ha, qa
        active = active[moved & (qa > 0)]
    return h, q


def polish_extended(h, w_hh, b, steps=3):
    """A few Newton steps with the residual in extended precision (numpy.longdouble) and the
    correction solved in f64 (iterative refinement); returns the f64-rounded states and q(h)
    evaluated in extended precision at those rounded states (the certificate)."""
    f, jac = tanh_map(w_hh.astype(np.longdouble), b.astype(np.longdouble))
    x = np.array(h, dtype=np.longdouble)
    n = x.shape[1]
    for _ in range(steps):
        fx = f(x)
        r = x - fx
        a = np.eye(n)[None] - jac(fx).astype(np.float64)
        d = np.linalg.solve(a, -r.astype(np.float64)[:, :, None])[:, :, 0]
        x = x + d.astype(np.longdouble)
    x64 = x.astype(np.float64)
    return x64, q_of(x64.astype(np.longdouble), f).astype(np.float64)


def dedupe(x, tol):
    """Keeps the first of every group of states within `tol` (max norm) of a kept one."""
    keep = []
    for i, xi in enumerate(x):
        if all(np.max(np.abs(xi - x[j])) > tol for j in keep):
            keep.append(i)
    return np.array(keep, dtype=int)


def spectral_radii(x, w_hh):
    """max |λ(J(x))| for the tanh cell's Jacobian diag(1 − F²) W_hhᵀ at each fixed point."""
    fx = np.tanh(x @ w_hh)
    return np.array([np.max(np.abs(np.linalg.eigvals((1.0 - fi**2)[:, None] * w_hh.T))) for fi in fx])


def lexsorted(x):
    """Rows of `x` in lexicographic order (first column first)."""
    return x[np.lexsort(x.T[::-1])]


# ---------------------------------------------------------------------------------------------
# golub: W_hh[i, :] = −roll(linspace(−1, 1, n), −i), no input, no bias; all fixed points.

GOLUB_COUNTS = {2: 3, 3: 3, 4: 9}


def golub_w(n):
    """The original FixedPointFinder's test network of n units."""
    base = np.linspace(-1.0, 1.0, n)
    return np.stack([-np.roll(base, -i) for i in range(n)])


def golub_fixed_points(n):
    """Every fixed point of the golub network: Newton from a 9^n grid over [−1.2, 1.2]^n and
    2000 seeded random starts in [−1.5, 1.5]^n, those that reach q < 1e-28 deduplicated at 1e-8,
    polished in extended precision, certified q < 1e-30 with I − J nonsingular, lexsorted."""
    w = golub_w(n)
    b = np.zeros(n)
    axis = np.linspace(-1.2, 1.2, 9)
    grid = np.stack(np.meshgrid(*([axis] * n), indexing="ij"), axis=-1).reshape(-1, n)
    rand = np.random.default_rng(2013).uniform(-1.5, 1.5, (2000, n))
    h, q = newton(np.concatenate([grid, rand]), w, b)
    h = h[q < 1e-28]
    h = h[dedupe(h, 1e-8)]
    x, qx = polish_extended(h, w, b)
    fx = np.tanh(x @ w)
    for xi, fi, qi in zip(x, fx, qx):
        a = np.eye(n) - (1.0 - fi**2)[:, None] * w.T
        smin = np.linalg.svd(a, compute_uv=False)[-1]
        if not (qi < 1e-30 and smin > 1e-6):
            raise RuntimeError(f"golub n={n}: point {xi} not certified (q={qi:.1e}, σmin={smin:.1e})")
    if len(x) != GOLUB_COUNTS[n]:
        raise RuntimeError(f"golub n={n}: {len(x)} fixed points, expected {GOLUB_COUNTS[n]}")
    x = lexsorted(x)
    return w, x, spectral_radii(x, w)


def gen_golub(out):
    """Writes golub_tanh_n{2,3,4}/{w_hh,refined_xstar,refined_max_abs_eig}.txt."""
    for n in (2, 3, 4):
        w, x, radii = golub_fixed_points(n)
        d = os.path.join(out, f"golub_tanh_n{n}")
        write(os.path.join(d, "w_hh.txt"), w)
        write(os.path.join(d, "refined_xstar.txt"), x)
        write(os.path.join(d, "refined_max_abs_eig.txt"), radii)


# ---------------------------------------------------------------------------------------------
# The trained flip-flop networks (3 bits, tanh cell, seed 42).

# name: hidden units, learning rate, W_hh init scale, refined_xstar order ("lex": lexsorted;
# "found": in the order Newton reached them from the reference's xstar).
FLIPFLOP = {
    "flipflop3_h4_s42": dict(n_hidden=4, lr=0.08, whh_scale=0.5, order="lex"),
    "flipflop3_h64_s42": dict(n_hidden=64, lr=0.01, whh_scale=0.125, order="found"),
}
FLIPFLOP_PARAMS = ("w_ih", "w_hh", "b_h", "w_out", "b_out", "h0")


def refine_reported(xstar, w_hh, b_h, order):
    """The true fixed points near what the reference reported: Newton in f64 from every
    reported point, kept at q < 1e-26, deduplicated at 1e-6, with their spectral radii."""
    h, q = newton(xstar, w_hh, b_h)
    h = h[q < 1e-26]
    h = h[dedupe(h, 1e-6)]
    if order == "lex":
        h = lexsorted(h)
    return h, spectral_radii_b(h, w_hh, b_h)


def spectral_radii_b(x, w_hh, b_h):
    """max |λ(J(x))| for the tanh cell with bias b_h (J = diag(1 − F²) W_hhᵀ)."""
    fx = np.tanh(x @ w_hh + b_h)
    return np.array([np.max(np.abs(np.linalg.eigvals((1.0 - fi**2)[:, None] * w_hh.T))) for fi in fx])


def adam_newton(inits, w_hh, b_h, iters=1000, lr=0.02):
    """An independent search: Adam on q from every initial state (f64, each state its own
    moments, β = 0.9, 0.999, ε = 1e-8, a fixed rate), then damped Newton from where Adam
    stopped; the states that reach q < 1e-20 deduplicated at 1e-6, polished in extended
    precision and certified (q < 1e-26 at the f64-rounded point, I − J nonsingular)."""
    f, jac = tanh_map(w_hh, b_h)
    h = np.array(inits, dtype=np.float64)
    m = np.zeros_like(h)
    v = np.zeros_like(h)
    for t in range(1, iters + 1):
        fh = f(h)
        r = h - fh
        # ∇q = (I − J)ᵀ r with J = diag(1 − F²) W_hhᵀ: r − W_hh ((1 − F²) ∘ r) row-wise.
        grad = r - ((1.0 - fh**2) * r) @ w_hh.T
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        h = h - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    h, q = newton(h, w_hh, b_h)
    h = h[q < 1e-20]
    h = h[dedupe(h, 1e-6)]
    x, qx = polish_extended(h, w_hh, b_h)
    fx = f(x)
    n = x.shape[1]
    for xi, fi, qi in zip(x, fx, qx):
        smin = np.linalg.svd(np.eye(n) - (1.0 - fi**2)[:, None] * w_hh.T, compute_uv=False)[-1]
        if not (qi < 1e-26 and smin > 1e-8):
            raise RuntimeError(f"point not certified (q={qi:.1e}, σmin={smin:.1e})")
    return x


def match_sets(a, b, tol):
    """Whether the rows of a and b pair up one to one within `tol` (max norm)."""
    if a.shape != b.shape:
        return False
    used = np.zeros(len(b), dtype=bool)
    for x in a:
        d = np.max(np.abs(b - x), axis=1)
        d[used] = np.inf
        j = int(np.argmin(d))
        if d[j] > tol:
            return False
        used[j] = True
    return True


def gen_flipflop_points(out, src=HERE):
    """From the committed weights and reference output in `src`: writes refined_xstar and
    refined_max_abs_eig, and checks that the independent Adam + Newton search from the
    committed inits finds exactly the same set of fixed points."""
    for name, cfg in FLIPFLOP.items():
        d = os.path.join(src, name)
        w_hh, b_h = read(os.path.join(d, "w_hh.txt")), read(os.path.join(d, "b_h.txt"))
        xstar, inits = read(os.path.join(d, "xstar.txt")), read(os.path.join(d, "inits.txt"))
        x, radii = refine_reported(xstar, w_hh, b_h, cfg["order"])
        write(os.path.join(out, name, "refined_xstar.txt"), x)
        write(os.path.join(out, name, "refined_max_abs_eig.txt"), radii)
        t0 = time.time()
        y = adam_newton(inits, w_hh, b_h)
        same = match_sets(x, y, 1e-9)
        print(
            f"{name}: {len(x)} fixed points from the reference's {len(xstar)} ({int(np.sum(radii < 1))}"
            f" stable); Adam + Newton from the {len(inits)} inits: {len(y)} certified points,"
            f" {'the same set' if same else 'A DIFFERENT SET'} ({time.time() - t0:.1f} s)"
        )
        if not same:
            raise RuntimeError(f"{name}: the independent search disagrees with the refinement")


def flipflop_data(rng_seed, n_trials):
    """The canns example's FlipFlopData(n_bits=3, n_time=64, p=0.5, random_seed=seed):
    returns a generator of (inputs, targets) batches of n_trials each, in float32."""
    rng = np.random.RandomState(rng_seed)

    def batch(n):
        unsigned = rng.binomial(1, 0.5, [n, 64, 3])
        unsigned[:, 0, :] = 1
        signs = 2 * rng.binomial(1, 0.5, [n, 64, 3]) - 1
        inputs = unsigned * signs
        targets = np.zeros([n, 64, 3])
        for i in range(n):
            for k in range(3):
                for t in np.where(inputs[i, :, k] != 0)[0]:
                    targets[i, t:, k] = inputs[i, t, k]
        return inputs.astype(np.float32), targets.astype(np.float32)

    return [batch(n) for n in n_trials]


def train_flipflop(name, cfg, log=print):
    """Trains one network as the canns example flipflop_fixed_points.py does (3_bit config:
    512 training trials, 128 validation and test trials of 64 steps; tanh cell; brainpy Adam at
    a fixed rate, batch 128, at most 500 epochs, stopping below a training loss of 1e-4; numpy,
    `random` and the weights' PRNGKey seeded with 42), then runs canns's FixedPointFinder with
    the tutorial's settings on the test trials' hidden states. Returns a dict of arrays."""
    import random

    import brainpy as bp
    import brainpy.math as bm
    import jax
    import jax.numpy as jnp
    from canns.analyzer.slow_points import FixedPointFinder

    seed, n_bits, n_hidden = 42, 3, cfg["n_hidden"]
    np.random.seed(seed)
    random.seed(seed)
    (x_tr, y_tr), (x_va, y_va), (x_te, _) = flipflop_data(seed, [512, 128, 128])

    class FlipFlopRNN(bp.DynamicalSystem):
        """The example's tanh network, h' = tanh(x W_ih + h W_hh + b_h), y = h W_out + b_out."""

        def __init__(self):
            super().__init__()
            self.rnn_type = "tanh"
            k1, k2, k3, _ = jax.random.split(jax.random.PRNGKey(seed), 4)
            self.w_ih = bm.Variable(jax.random.normal(k1, (n_bits, n_hidden)) * 0.1)
            self.w_hh = bm.Variable(jax.random.normal(k2, (n_hidden, n_hidden)) * cfg["whh_scale"])
            self.b_h = bm.Variable(jnp.zeros(n_hidden))
            self.w_out = bm.Variable(jax.random.normal(k3, (n_hidden, n_bits)) * 0.1)
            self.b_out = bm.Variable(jnp.zeros(n_bits))
            self.h0 = bm.Variable(jnp.zeros(n_hidden))

        def step(self, x_t, h):
            return jnp.tanh(x_t @ self.w_ih.value + h @ self.w_hh.value + self.b_h.value)

        def __call__(self, inputs, hidden=None):
            h = jnp.tile(self.h0.value, (inputs.shape[0], 1)) if hidden is None else hidden
            if inputs.shape[1] == 1:
                h_next = self.step(inputs[:, 0, :], h)
                return (h_next @ self.w_out.value + self.b_out.value)[:, None, :], h_next

            def scan_fn(h_prev, x_t):
                h_next = self.step(x_t, h_prev)
                return h_next, (h_next @ self.w_out.value + self.b_out.value, h_next)

            _, (ys, hs) = jax.lax.scan(scan_fn, h, inputs.transpose(1, 0, 2))
            return ys.transpose(1, 0, 2), hs.transpose(1, 0, 2)

    rnn = FlipFlopRNN()
    train_vars = {k: v for k, v in rnn.vars().items() if isinstance(v, bm.Variable)}
    full = {k.split(".")[-1]: k for k in train_vars}
    params = {k.split(".")[-1]: v.value for k, v in train_vars.items()}
    opt = bp.optimizers.Adam(lr=cfg["lr"], train_vars=train_vars)

    @jax.jit
    def grad_step(p, xb, yb):
        def loss(p):
            def scan_fn(h, x_t):
                h = jnp.tanh(x_t @ p["w_ih"] + h @ p["w_hh"] + p["b_h"])
                return h, h @ p["w_out"] + p["b_out"]

            _, ys = jax.lax.scan(scan_fn, jnp.tile(p["h0"], (xb.shape[0], 1)), xb.transpose(1, 0, 2))
            return jnp.mean((ys.transpose(1, 0, 2) - yb) ** 2)

        return jax.value_and_grad(loss)(p)

    xs, ys = jnp.array(x_tr), jnp.array(y_tr)
    for epoch in range(500):
        perm = np.random.permutation(512)
        epoch_loss = 0.0
        for k in range(4):
            idx = perm[k * 128 : (k + 1) * 128]
            loss, grads = grad_step(params, xs[idx], ys[idx])
            opt.update({full[k2]: g for k2, g in grads.items()})
            params = {k2.split(".")[-1]: v.value for k2, v in train_vars.items()}
            epoch_loss += float(loss)
        epoch_loss /= 4
        if epoch_loss < 1e-4:
            break
    valid = float(jnp.mean((rnn(jnp.array(x_va))[0] - y_va) ** 2))
    log(f"{name}: trained {epoch + 1} epochs, training loss {epoch_loss:.3e}, validation {valid:.3e}")

    _, hiddens = rnn(jnp.array(x_te))
    hiddens = np.array(hiddens)
    finder = FixedPointFinder(
        rnn,
        method="joint",
        max_iters=5000,
        lr_init=0.02,
        tol_q=1e-4,
        final_q_threshold=1e-6,
        tol_unique=1e-2,
        do_compute_jacobians=True,
        do_decompose_jacobians=True,
        outlier_distance_scale=10.0,
        verbose=False,
    )
    unique, all_fps = finder.find_fixed_points(
        state_traj=hiddens, inputs=np.zeros((1, n_bits), dtype=np.float32), n_inits=1024, noise_scale=0.4
    )
    out = {k: np.asarray(params[k], dtype=np.float64) for k in FLIPFLOP_PARAMS}
    out.update(
        inits=np.asarray(all_fps.x_init, dtype=np.float64),
        xstar=np.asarray(unique.xstar, dtype=np.float64),
        qstar=np.asarray(unique.qstar, dtype=np.float64),
        is_stable=np.asarray(unique.is_stable, dtype=np.float64),
        hiddens_first8=hiddens[:8].astype(np.float64),
    )
    log(f"{name}: the reference finder reports {unique.n} fixed points, {int(np.sum(unique.is_stable))} stable")
    return out


def gen_flipflop_train(out):
    """Trains both networks and writes every file of their directories (the refinement from
    the freshly trained weights and reported points, as gen_flipflop_points does)."""
    try:
        import brainpy  # noqa: F401
        import canns  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"flipflop-train needs canns 1.5.0 and its JAX (pip install canns==1.5.0): {e}")
    for name, cfg in FLIPFLOP.items():
        t0 = time.time()
        res = train_flipflop(name, cfg)
        d = os.path.join(out, name)
        for k in FLIPFLOP_PARAMS + ("inits", "xstar", "qstar", "is_stable"):
            write(os.path.join(d, k + ".txt"), res[k])
        if cfg["order"] == "lex":  # the 4-unit fixture also keeps 8 test trials' hidden states
            write(os.path.join(d, "hiddens_first8.txt"), res["hiddens_first8"])
        x, radii = refine_reported(res["xstar"], res["w_hh"], res["b_h"], cfg["order"])
        write(os.path.join(d, "refined_xstar.txt"), x)
        write(os.path.join(d, "refined_max_abs_eig.txt"), radii)
        print(f"{name}: {len(x)} true fixed points, {int(np.sum(radii < 1))} stable ({time.time() - t0:.0f} s)")


# ---------------------------------------------------------------------------------------------
# Families, tolerances and the check.

FAMILIES = {
    "eig": (gen_eig, ["eig"]),
    "golub": (gen_golub, ["golub_tanh_n2", "golub_tanh_n3", "golub_tanh_n4"]),
    "flipflop-points": (gen_flipflop_points, list(FLIPFLOP)),
    "flipflop-train": (gen_flipflop_train, list(FLIPFLOP)),
}
# Files of those directories that no recipe writes (documentation).
NOT_GENERATED = {"README.md"}
# What flipflop-points writes; flipflop-train writes every file.
POINTS_FILES = {"refined_xstar.txt", "refined_max_abs_eig.txt"}


def tolerance(rel):
    """How a regenerated file must agree with the committed one: ("bytes",) identical text;
    ("scaled", t) every value within t·max(1, max |committed|); ("abs", t) within t."""
    base = os.path.basename(rel)
    if rel.startswith("eig/") and base.endswith(".eig.txt"):
        # LAPACK's last bits depend on its build and the BLAS under it; the ill-conditioned
        # classes' eigenvalues move most for the same rounding.
        ill = any(k in base for k in ("repeated_eigenvalues", "near_defective", "badly_scaled"))
        return ("scaled", 1e-12 if ill else 1e-13)
    if rel.startswith("eig/") and "repeated_eigenvalues" in base:
        return ("scaled", 1e-12)  # V diag(d) V^-1: dense products and an inverse (BLAS)
    if base == "refined_xstar.txt":
        return ("abs", 1e-13)  # the last bits of a Newton path
    if base == "refined_max_abs_eig.txt":
        return ("abs", 1e-12)
    return ("bytes",)


def compare(new_dir, rel):
    """Compares new_dir/rel with the committed file; returns (ok, description)."""
    new, old = os.path.join(new_dir, rel), os.path.join(HERE, rel)
    if not os.path.exists(old):
        return False, "not committed"
    if not os.path.exists(new):
        return False, "not regenerated"
    with open(new) as f1, open(old) as f2:
        if f1.read() == f2.read():
            return True, "identical"
    rule = tolerance(rel)
    if rule[0] == "bytes" or rel.endswith("INDEX.txt"):
        if rel.endswith(".txt") and not rel.endswith("INDEX.txt"):
            a, b = read(new), read(old)
            if a.shape == b.shape:
                return False, f"differs (max |Δ| {np.max(np.abs(a - b)):.2e}, must be identical)"
        return False, "differs (must be identical)"
    a, b = read(new), read(old)
    if a.shape != b.shape:
        return False, f"shape {a.shape} != committed {b.shape}"
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    limit = rule[1] * (max(1.0, float(np.max(np.abs(b)))) if rule[0] == "scaled" and b.size else 1.0)
    return diff <= limit, f"max |Δ| {diff:.2e} (limit {limit:.1e})"


def check(families):
    """Regenerates `families` into a temporary directory and compares every file with
    tests/data; prints a summary per family and returns whether all agree."""
    all_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for fam in families:
            gen, dirs = FAMILIES[fam]
            t0 = time.time()
            gen(tmp)
            rels = set()
            for d in dirs:
                for root in (HERE, tmp):
                    p = os.path.join(root, d)
                    if os.path.isdir(p):
                        names = set(os.listdir(p)) - NOT_GENERATED
                        if fam == "flipflop-points":
                            names &= POINTS_FILES
                        rels |= {os.path.join(d, n) for n in names}
            n_same = n_tol = 0
            worst = ""
            for rel in sorted(rels):
                ok, desc = compare(tmp, rel)
                if not ok:
                    all_ok = False
                    print(f"  FAIL {rel}: {desc}")
                elif desc == "identical":
                    n_same += 1
                else:
                    n_tol += 1
                    worst = max(worst, desc, key=lambda s: float(s.split()[2]) if s else -1.0)
            print(
                f"{fam}: {len(rels)} files, {n_same} identical, {n_tol} within tolerance"
                + (f" (worst: {worst})" if worst else "")
                + f", {len(rels) - n_same - n_tol} failing ({time.time() - t0:.1f} s)"
            )
    return all_ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("families", nargs="*", default=["eig", "golub", "flipflop-points"],
                    help="any of " + ", ".join(FAMILIES) + " (default: eig golub flipflop-points)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with tests/data")
    ap.add_argument("--out", default=HERE, help="where to write (default: tests/data)")
    args = ap.parse_args(argv)
    for fam in args.families:
        if fam not in FAMILIES:
            ap.error(f"unknown family {fam!r} (known: {', '.join(FAMILIES)})")
    print(f"numpy {np.__version__}")
    if args.check:
        ok = check(args.families)
        print("all regenerated fixtures agree with tests/data" if ok else "MISMATCH")
        return 0 if ok else 1
    for fam in args.families:
        FAMILIES[fam][0](args.out)
        print(f"{fam}: written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
