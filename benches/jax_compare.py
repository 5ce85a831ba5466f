#!/usr/bin/env python3
"""Per-iteration time of libfpf's joint q-minimization next to a jitted JAX loop doing the
same Adam iteration, in one run: tanh cell ``F(h) = tanh(h W_hh + u W_ih + b)`` (row
vectors, W_hh is H x H), f32, one core, H in {16, 64, 128, 256, 512} x n in {1024, 8192}.

A manual comparison, not part of CI. Set up a venv outside the tracked tree (under target/,
which git ignores) and run from the repository root:

    python3 -m venv target/jax-venv
    target/jax-venv/bin/pip install jax numpy
    target/jax-venv/bin/python benches/jax_compare.py              # all sizes, --iters 20
    target/jax-venv/bin/python benches/jax_compare.py --iters 50 --sizes 16x1024,64x8192

The two sides take turns: ``--rounds`` rounds over the sizes, and in each, size by size,
libfpf (``taskset -c 0 target/release/examples/scaling ITERS H n one``, examples/scaling.rs:
libfpf's loop and the floor on one thread, best of 5; the table is parsed by header names)
and then JAX (one worker process for the whole comparison, asked for one size at a time).
Each side's figure is its best round. On a shared VM the machine slows down by up to half
for stretches of tens of ms to seconds; one side's runs all in one stretch and the other's
in another made the ratio swing by 1.5x from one comparison to the next.

JAX side, modelled on the fixed-point optimizer of google-research/computation-thru-dynamics
(fixed_point_finder/fixed_points.py): q_i = 1/2 ||h_i - F(h_i)||^2 per state through
``vmap``, ``jax.value_and_grad`` of the mean over states, then Adam written out exactly as
crates/core/src/optim.rs does it (beta1 0.9, beta2 0.999, eps 1e-8, lr 0.01, bias-corrected:
``x -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``) inside ``lax.fori_loop``, jitted.
The learning rate is constant (libfpf's plateau schedule is scalar work per iteration); the
mean q is carried out of the loop so that, as in libfpf, q is computed every iteration.
Compilation is excluded (one warm-up call), each timed call ends in ``block_until_ready``,
and a round's time is the best of 3 runs of at least ITERS iterations (more at small sizes,
so that a run lasts >= 0.3 s), each run from the same initial states.
Weights: uniform(-1, 1) * 1.5/sqrt(H) for W_ih, W_hh and b, states uniform(-1, 1), input
u = 0, like the Rust example (same distribution, not the same numbers).

One core: both sides run under ``taskset -c 0``; the JAX process also gets
``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"`` (XLA
accepts the first; the second is a TensorFlow session option with no XLA flag behind it,
kept because it is the usual recipe and XLA ignores it) and OMP/OpenBLAS/MKL thread
counts of 1. These flags alone do not make jaxlib 0.10 single-threaded: its CPU runtime
sizes its intra-op thread pool from the CPUs it may run on (unpinned, with the flags, it
used both cores and ran about 1.8x faster at H = 256), so the affinity mask is what makes it
one core; the table's preamble prints the JAX process's thread count and allowed CPUs.
The script writes nothing into the tree (cargo's target/ aside).
"""

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True

ALL_H = (16, 64, 128, 256, 512)
ALL_N = (1024, 8192)
XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
SINGLE_THREAD_ENV = {
    "XLA_FLAGS": XLA_FLAGS,
    "JAX_PLATFORMS": "cpu",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_RUN_SECONDS = 0.3


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        m = re.fullmatch(r"(\d+)\s*[x:]\s*(\d+)", item)
        if not m:
            raise argparse.ArgumentTypeError(f"size {item!r} is not HxN (e.g. 64x8192)")
        sizes.append((int(m.group(1)), int(m.group(2))))
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes")
    return sizes


# ---------------------------------------------------------------------------------------
# libfpf: run examples/scaling.rs and parse its table by header names.


def _number(token):
    m = re.match(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", token.replace(",", ""))
    return float(m.group(0)) if m else None


def _columns(header, row):
    """Maps the header's names to the row's tokens. Names may hold single spaces
    ("libfpf µs"). The table is right-aligned, so a name ends where its column's values end:
    header words are joined until one ends at the right edge of a value. Where that does not
    give one name per value (a left-aligned table), the header is split on runs of two or
    more blanks instead."""
    spans = [(m.end(), m.group(0)) for m in re.finditer(r"\S+", row)]
    tokens = [t for _, t in spans]
    edges = {end for end, _ in spans}
    names, words = [], []
    for m in re.finditer(r"\S+", header):
        words.append(m.group(0))
        if m.end() in edges:
            names.append(" ".join(words))
            words = []
    if words or len(names) != len(tokens):
        names = re.split(r"\s{2,}", header.strip())
    if len(names) != len(tokens):
        return {}
    return dict(zip(names, tokens))


def _find(cols, *pred):
    for name in cols:
        low = name.lower()
        if all(p(low) for p in pred):
            return name
    return None


def parse_scaling(text):
    """{(H, n): (libfpf µs, floor µs or None)} from the output of examples/scaling.rs."""
    lines = text.splitlines()
    header = None
    table = {}
    for line in lines:
        toks = line.split()
        if not toks:
            continue
        if header is None:
            if toks[0] == "H" and "n" in toks and any("libfpf" in t for t in toks):
                header = line
            continue
        if not re.fullmatch(r"\d+", toks[0]):
            continue
        cols = _columns(header, line)
        h_key = _find(cols, lambda s: s == "h")
        n_key = _find(cols, lambda s: s == "n")
        ours = _find(cols, lambda s: s.startswith("libfpf"), lambda s: "s" in s[6:])
        floor = _find(cols, lambda s: s.startswith("floor"), lambda s: "s" in s[5:])
        threads = _find(cols, lambda s: s.startswith("thread"))
        if h_key is None or n_key is None or ours is None:
            raise SystemExit(f"cannot read the scaling table row {line!r} under {header!r}")
        if threads is not None and _number(cols[threads]) != 1:
            continue
        scale = 1e3 if "ms" in ours.lower() else 1.0
        key = (int(cols[h_key]), int(cols[n_key]))
        fl = _number(cols[floor]) * scale if floor else None
        table[key] = (_number(cols[ours]) * scale, fl)
    if header is None:
        raise SystemExit("no table header (H, n, libfpf …) in the scaling example's output:\n" + text)
    return table


def build_libfpf():
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--example", "scaling"], cwd=ROOT, check=True
    )
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(ROOT, target, "release", "examples", "scaling")


def run_libfpf(exe, iters, h_dim, n):
    """(libfpf µs, floor µs) of one size, both on one thread (``scaling ITERS H N one``)."""
    cmd = pinned([exe, str(iters), str(h_dim), str(n), "one"], "libfpf")
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    table = parse_scaling(out)
    if (h_dim, n) not in table or table[(h_dim, n)][1] is None:
        raise SystemExit(f"no row with a floor for H = {h_dim}, n = {n} in the scaling "
                         "example's output:\n"
                         + out)
    return table[(h_dim, n)]


def pinned(cmd, who):
    if shutil.which("taskset"):
        return ["taskset", "-c", "0"] + cmd
    print(f"warning: no taskset; {who} runs unpinned", file=sys.stderr)
    return cmd


# ---------------------------------------------------------------------------------------
# JAX: the same iteration, in a child process pinned to core 0 with the XLA flags set
# before jax is imported.


def threads_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def jax_loop():
    """The jitted loop: ``run(x0, (W_ih, W_hh, b, u), iters) -> (x, m, v, mean q)``."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01

    def rnn(params, h):  # one state, row vector
        w_ih, w_hh, b, u = params
        return jnp.tanh(h @ w_hh + u @ w_ih + b)

    def q_one(params, h):
        r = h - rnn(params, h)
        return 0.5 * jnp.dot(r, r)

    def q_mean(x, params):
        return jnp.mean(jax.vmap(q_one, in_axes=(None, 0))(params, x))

    value_and_grad = jax.value_and_grad(q_mean)

    @jax.jit
    def run(x, params, iters):
        def body(i, state):
            x, m, v, _ = state
            q, g = value_and_grad(x, params)
            t = (i + 1).astype(jnp.float32)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            step = lr / (1 - b1**t)
            inv_sqrt_c2 = 1 / jnp.sqrt(1 - b2**t)
            x = x - step * m / (jnp.sqrt(v) * inv_sqrt_c2 + eps)
            return x, m, v, q

        z = jnp.zeros_like(x)
        return lax.fori_loop(0, iters, body, (x, z, z, jnp.float32(0)))

    return run


def jax_worker(min_iters):
    """Answers each stdin line ``H n`` with one JSON line: the best of 3 timed runs of that
    size (compiled on its first request, kept for the later rounds)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    n_in = 3
    run = jax_loop()
    ready = {}

    def make(h_dim, n, seed):
        rng = np.random.default_rng(seed)
        scale = 1.5 / math.sqrt(h_dim)
        w_ih = rng.uniform(-1, 1, (n_in, h_dim)) * scale
        w_hh = rng.uniform(-1, 1, (h_dim, h_dim)) * scale
        b = rng.uniform(-1, 1, (h_dim,)) * scale
        x0 = rng.uniform(-1, 1, (n, h_dim))
        f32 = lambda a: jnp.asarray(a, dtype=jnp.float32)
        return f32(w_ih), f32(w_hh), f32(b), f32(x0)

    def timed(x0, params, k):
        t = time.perf_counter()
        jax.block_until_ready(run(x0, params, k))
        return time.perf_counter() - t

    for line in sys.stdin:
        h_dim, n = (int(t) for t in line.split())
        if (h_dim, n) not in ready:
            w_ih, w_hh, b, x0 = make(h_dim, n, 7 + h_dim + n)
            params = (w_ih, w_hh, b, jnp.zeros((n_in,), jnp.float32))
            timed(x0, params, 1)  # compile (the trip count is a run-time argument)
            est = timed(x0, params, min_iters) / min_iters
            k = max(min_iters, math.ceil(MIN_RUN_SECONDS / max(est, 1e-9)))
            ready[(h_dim, n)] = (x0, params, k)
        x0, params, k = ready[(h_dim, n)]
        best = min(timed(x0, params, k) for _ in range(3)) / k
        print(
            json.dumps(
                {
                    "H": h_dim,
                    "n": n,
                    "us": best * 1e6,
                    "iters": k,
                    "threads": threads_now(),
                    "cpus": sorted(os.sched_getaffinity(0)),
                    "jax": jax.__version__,
                }
            ),
            flush=True,
        )


class JaxWorker:
    """The JAX child process, pinned to core 0 with the XLA flags set before jax is
    imported; kept for the whole comparison, asked for one size at a time."""

    def __init__(self, min_iters):
        env = dict(os.environ, **SINGLE_THREAD_ENV)
        cmd = pinned([sys.executable, "-B", os.path.abspath(__file__), "--worker", "--iters",
                      str(min_iters)], "JAX")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd="/")

    def time(self, h_dim, n):
        self.proc.stdin.write(f"{h_dim} {n}\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"the JAX worker ended (exit code {self.proc.wait()})")
            if line.startswith("{"):
                return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=20,
                    help="iterations per timed run: libfpf's count, JAX's minimum (default 20)")
    ap.add_argument("--sizes", type=parse_sizes,
                    default=[(h, n) for h in ALL_H for n in ALL_N],
                    help="comma-separated HxN, e.g. 16x1024,512x8192 (default: all ten)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds over the sizes, each side's best kept (default 3)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.iters < 1 or args.rounds < 1:
        ap.error("--iters and --rounds must be at least 1")
    if args.worker:
        jax_worker(args.iters)
        return

    try:
        import jax  # noqa: F401  (fail early, before the long libfpf run)
    except ImportError:
        raise SystemExit("jax is not importable by " + sys.executable + "; see the docstring "
                         "for the venv (target/jax-venv/bin/python benches/jax_compare.py)")
    t0 = time.time()
    exe = build_libfpf()
    jax_side = JaxWorker(args.iters)
    ours, theirs, floors = {}, {}, {}
    # Rounds that take turns, size by size (libfpf, then JAX): a slow stretch of the machine
    # (on a shared VM they last from tens of ms to seconds) reaches both sides alike, and
    # each side's figure is its best round.
    for _ in range(args.rounds):
        for key in args.sizes:
            o, fl = run_libfpf(exe, args.iters, *key)
            j = jax_side.time(*key)
            ours[key] = min(ours.get(key, o), o)
            floors[key] = min(floors.get(key, fl), fl)
            if key not in theirs or j["us"] < theirs[key]["us"]:
                theirs[key] = j
    jax_side.close()
    any_jax = next(iter(theirs.values()), {})
    print("joint q-minimization, tanh, f32, one core (taskset -c 0); µs per iteration")
    print(f"{args.rounds} rounds taking turns, size by size; each figure its side's best round")
    print(f"libfpf: examples/scaling.rs ITERS H n one, {args.iters} iterations, best of 5 "
          f"(the floor: the same run's two matrixmultiply GEMMs + 1 pass)")
    print(f"JAX {any_jax.get('jax', '?')}: jit(fori_loop(vmap q, value_and_grad, Adam)), "
          f"best of 3, >= {args.iters} iterations; XLA_FLAGS=\"{XLA_FLAGS}\"")
    print(f"JAX process: {any_jax.get('threads', '?')} threads, "
          f"allowed CPUs {any_jax.get('cpus', '?')}")
    print(f"{'H':>5} {'n':>6} {'libfpf µs':>12} {'JAX µs':>12} {'JAX/libfpf':>10} "
          f"{'floor µs':>10} {'JAX iters':>9}")
    fmt = lambda v, w: f"{v:>{w},.1f}"
    for key in args.sizes:
        o, fl, j = ours[key], floors[key], theirs[key]["us"]
        print(f"{key[0]:>5} {key[1]:>6} {fmt(o, 12)} {fmt(j, 12)} {j / o:>9.2f}x "
              f"{fmt(fl, 10)} {theirs[key]['iters']:>9}")
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
