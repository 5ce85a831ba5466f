"""Leaky rate cells end to end: a leaky ReLU and a leaky softplus network trained on the
3-bit flip-flop, their fixed points found by libfpf and, from the same initial states, by an
independent numpy computation written here (the cell's map and Jacobian from its
equations, Adam on q, then damped Newton, every point certified by q < 1e-20); the two sets
of points and their stability must agree. Also: the constructor's checks, arrays in and
out, copies through checkpoint bytes."""

import os
import pickle
import tempfile

import numpy as np
import pytest

import fpf
from fpf import FixedPointFinder, FlipFlopData, FlipFlopRNN, train_flipflop_rnn

Q_CERT = 1e-20


class LeakyNet:
    """The leaky cell ``h' = (1 − α) h + α φ(h W_hh + u W_ih + b_h)`` in numpy, from the
    network's arrays only."""

    def __init__(self, rnn):
        self.kind, self.alpha = rnn.rnn_type, rnn.alpha
        self.W, self.U, self.b = (rnn.get_param(n) for n in ("w_hh", "w_ih", "b_h"))

    def phi(self, a):
        if self.kind == "leaky_relu":
            return np.maximum(a, 0.0), (a > 0).astype(float)  # φ'(0) = 0
        sig = 0.5 * (1.0 + np.tanh(0.5 * a))
        return np.logaddexp(0.0, a), sig

    def F(self, X, u):
        p, d = self.phi(X @ self.W + u @ self.U + self.b)
        return (1 - self.alpha) * X + self.alpha * p, d

    def q(self, X, u):
        return 0.5 * np.sum((X - self.F(X, u)[0]) ** 2, axis=-1)

    def jacobians(self, X, u):
        """J[n] = (1 − α) I + α diag(φ'(a)) W_hhᵀ (row-vector convention: a = h W)."""
        _, d = self.F(X, u)
        eye = np.eye(X.shape[1])
        return (1 - self.alpha) * eye + self.alpha * d[:, :, None] * self.W.T[None]


def numpy_fixed_points(net, inits, u, tol_unique):
    """Adam on q from every state, damped Newton, the points with q < Q_CERT, deduplicated
    within ``tol_unique``, with their stability."""
    X = inits.copy()
    m, v = np.zeros_like(X), np.zeros_like(X)
    lr, b1, b2, eps = 0.02, 0.9, 0.999, 1e-8
    active = np.ones(len(X), dtype=bool)  # a state stops once its q < 1e-4
    for t in range(1, 5001):
        F, d = net.F(X, u)
        R = X - F
        active &= 0.5 * np.sum(R * R, axis=1) >= 1e-4
        if not active.any():
            break
        # ∇q = r − Jᵀ r = α r − α (r∘φ') W_hhᵀ
        g = net.alpha * (R - (R * d) @ net.W.T)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        X -= np.where(active[:, None], step, 0.0)
    eye = np.eye(X.shape[1])
    for _ in range(100):
        q = net.q(X, u)
        if np.all(q < 1e-28):
            break
        R = X - net.F(X, u)[0]
        dx = np.linalg.solve(eye - net.jacobians(X, u), R[:, :, None])[:, :, 0]
        step = np.ones(len(X))
        for _ in range(30):  # backtrack until q decreases
            trial = X - step[:, None] * dx
            worse = net.q(trial, u) > q
            if not worse.any():
                break
            step[worse] *= 0.5
        X = np.where((net.q(trial, u) <= q)[:, None], trial, X)
    q = net.q(X, u)
    keep = []
    for i in np.argsort(q, kind="stable"):
        if q[i] >= Q_CERT:
            continue
        if all(np.linalg.norm(X[i] - X[j]) > tol_unique for j in keep):
            keep.append(i)
    pts = X[keep]
    lead = np.abs(np.linalg.eigvals(net.jacobians(pts, u))).max(axis=1)
    return pts, lead < 1.0, lead


def trained(kind, alpha, hidden, seed, lr, max_epochs, min_loss):
    gen = FlipFlopData(n_bits=3, n_time=64, p=0.5, random_seed=seed)
    tr, va, te = (gen.generate_data(n) for n in (512, 128, 128))
    rnn = FlipFlopRNN(3, hidden, 3, rnn_type=kind, alpha=alpha, seed=seed)
    losses = train_flipflop_rnn(rnn, tr, va, max_epochs=max_epochs, seed=seed,
                                learning_rate=lr, min_loss=min_loss, verbose=False)
    return rnn, te, losses[-1]


@pytest.mark.parametrize("kind, alpha, hidden, seed, lr, max_epochs, min_loss", [
    ("leaky_relu", 0.5, 32, 42, 0.08, 300, 1e-4),
    ("leaky_softplus", 0.5, 32, 1, 0.04, 400, 1e-3),
])
def test_fixed_points_agree_with_an_independent_numpy_computation(
        kind, alpha, hidden, seed, lr, max_epochs, min_loss):
    rnn, te, loss = trained(kind, alpha, hidden, seed, lr, max_epochs, min_loss)
    assert loss < 2 * min_loss, f"{kind}: training stopped at loss {loss}"
    _, hiddens = rnn(te["inputs"])
    u = np.zeros((1, 3))
    finder = FixedPointFinder(rnn, lr_init=0.02, tol_q=1e-4, final_q_threshold=Q_CERT,
                              tol_unique=1e-2, do_exclude_distance_outliers=False,
                              do_rerun_q_outliers=False, dtype="float64", verbose=False)
    inits = finder.sample_states(hiddens, n_inits=256, noise_scale=0.4, seed=seed)
    ours, _ = finder.find_fixed_points(initial_states=inits, inputs=u)

    net = LeakyNet(rnn)
    theirs, stable, lead = numpy_fixed_points(net, inits, u, tol_unique=1e-2)
    print(f"{kind}: libfpf {ours.n} points ({ours.n_stable()} stable), numpy {len(theirs)} "
          f"({int(stable.sum())} stable); leading |eig| {np.sort(lead).round(4)}")
    assert ours.n >= 3 and ours.n_stable() >= 2, ours.summary()

    # Every libfpf point is certified by the numpy map, and so is every numpy point.
    assert np.all(net.q(ours.xstar, u) < Q_CERT), net.q(ours.xstar, u)
    # The same points, one to one, with the same stability.
    assert ours.n == len(theirs), ours.summary()
    dist = np.linalg.norm(ours.xstar[:, None, :] - theirs[None, :, :], axis=2)
    match = dist.argmin(axis=1)
    assert np.all(dist[np.arange(ours.n), match] < 1e-8), dist.min(axis=1)
    assert sorted(match) == list(range(len(theirs)))
    assert np.array_equal(np.asarray(ours.is_stable, dtype=bool), stable[match])
    assert np.allclose(ours.leading_abs_eig(), lead[match], rtol=1e-9, atol=1e-12)
    # The summary shows each point's leading |eig| and counts the marginal ones.
    text = ours.summary()
    assert "Leading |eig| per point: " in text
    assert (f"Marginal fixed points (1 < |eig| <= 1.05): {ours.n_marginal()}" in text) == \
        (ours.n_marginal() > 0)
    assert ours.n_marginal() == int(np.sum((lead > 1) & (lead <= 1.05)))
    if kind == "leaky_relu":
        assert ours.n_kink is not None and len(ours.n_kink) == ours.n
        a = ours.xstar @ net.W + u @ net.U + net.b
        assert np.array_equal(ours.n_kink, np.sum(np.abs(a) <= 1e-8, axis=1))
    else:
        assert ours.n_kink is None


def test_constructor_checks_alpha_and_kind():
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            FlipFlopRNN(3, 8, 3, rnn_type="leaky_relu", alpha=bad)
    with pytest.raises(TypeError, match="alpha"):
        FlipFlopRNN(3, 8, 3, rnn_type="leaky_relu", alpha="0.5")
    with pytest.raises(ValueError, match="alpha"):
        FlipFlopRNN(3, 8, 3, rnn_type="gru", alpha=0.5)
    with pytest.raises(ValueError, match="rnn_type"):
        FlipFlopRNN(3, 8, 3, rnn_type="leaky_elu", alpha=0.5)
    rnn = FlipFlopRNN(3, 8, 3, rnn_type="leaky_sigmoid", alpha=0.25, seed=3)
    assert (rnn.rnn_type, rnn.alpha) == ("leaky_sigmoid", 0.25)
    assert "alpha=0.25" in repr(rnn)
    assert FlipFlopRNN(3, 8, 3).alpha == 1.0


def test_arrays_and_checkpoint_bytes_keep_the_cell():
    rnn = FlipFlopRNN(2, 6, 1, rnn_type="leaky_softplus", alpha=0.3, seed=5)
    state = rnn.state_dict()
    assert sorted(state) == ["b_h", "b_out", "h0", "w_hh", "w_ih", "w_out"]
    again = FlipFlopRNN.from_arrays(state, rnn_type="leaky_softplus", alpha=0.3)
    x = np.random.default_rng(0).normal(size=(4, 5, 2))
    assert np.array_equal(again(x)[1], rnn(x)[1])
    # The step is the numpy formula.
    h = np.random.default_rng(1).normal(size=(4, 6))
    want, _ = LeakyNet(rnn).F(h, x[:, 0])
    assert np.allclose(rnn.step(x[:, 0], h), want, rtol=1e-13, atol=1e-14)
    for copy in (FlipFlopRNN.from_bytes(rnn.to_bytes()), pickle.loads(pickle.dumps(rnn))):
        assert (copy.rnn_type, copy.alpha) == ("leaky_softplus", 0.3)
        assert np.array_equal(copy(x)[1], rnn(x)[1])
    # A checkpoint of another alpha does not load into a network (which stays as it was).
    other = FlipFlopRNN(2, 6, 1, rnn_type="leaky_softplus", alpha=0.4)
    before = other(x)[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "net.fpf")
        fpf.save_checkpoint(rnn, path)
        with pytest.raises(fpf.FpfError, match="alpha"):
            fpf.load_checkpoint(other, path)
        assert np.array_equal(other(x)[1], before)
        fpf.load_checkpoint(again, path)
