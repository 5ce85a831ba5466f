"""Checks of the Python wrapper, runnable without pytest: python3 test_fpf.py"""

import glob
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fpf  # noqa: E402

DATA = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "data"))


def read_array(path):
    """A fixture file: '# shape d0 d1 …' then the values."""
    with open(path) as f:
        shape = tuple(int(v) for v in f.readline().split()[2:])
        return np.array(f.read().split(), dtype=np.float64).reshape(shape)


def gru_state_dict(n_inputs, n_hidden, seed):
    """A PyTorch-layout nn.GRU state_dict (numpy arrays), gates stacked r, z, n."""
    rng = np.random.default_rng(seed)
    H, I = n_hidden, n_inputs
    return {"weight_ih_l0": rng.normal(0, 1 / np.sqrt(I), (3 * H, I)),
            "weight_hh_l0": rng.normal(0, 1.5 / np.sqrt(H), (3 * H, H)),
            "bias_ih_l0": rng.normal(0, 0.1, 3 * H), "bias_hh_l0": rng.normal(0, 0.1, 3 * H)}


def torch_gru_step(sd, x, h):
    """PyTorch's nn.GRU step written out in numpy: x (n × I), h (n × H) → h'."""
    H = h.shape[1]
    gi = x @ sd["weight_ih_l0"].T + sd["bias_ih_l0"]
    gh = h @ sd["weight_hh_l0"].T + sd["bias_hh_l0"]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    r = sig(gi[:, :H] + gh[:, :H])
    z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def test_gru_torch_step_matches_pytorch_formulas():
    sd = gru_state_dict(3, 8, seed=5)
    rng = np.random.default_rng(0)
    w_out = rng.normal(size=(2, 8))
    rnn = fpf.FlipFlopRNN(3, 8, 2, rnn_type="gru_torch")
    rnn.load_state_dict({**sd, "w_out": w_out.T, "b_out": np.array([0.1, -0.2])})
    x, h = rng.normal(size=(7, 3)), rng.uniform(-1, 1, (7, 8))
    assert np.max(np.abs(rnn.step(x, h) - torch_gru_step(sd, x, h))) < 1e-12
    # __call__ with a hidden state and one step: (y[:, None, :], h_next), as the tutorial.
    y, h1 = rnn(x[:, None, :], h)
    want = torch_gru_step(sd, x, h)
    assert y.shape == (7, 1, 2) and np.allclose(h1, want, atol=1e-12)
    assert np.allclose(y[:, 0], want @ w_out.T + [0.1, -0.2], atol=1e-12)
    # A whole run from h0 agrees with stepping.
    xs = rng.normal(size=(2, 5, 3))
    _, states = rnn(xs)
    hh = np.tile(rnn.get_param("h0"), (2, 1))
    for t in range(5):
        hh = torch_gru_step(sd, xs[:, t], hh)
        assert np.allclose(states[:, t], hh, atol=1e-12)
    sd2 = rnn.state_dict()
    for k in sd:
        assert np.allclose(sd2[k], sd[k]), k
    assert np.allclose(sd2["w_out"], w_out.T)


def test_eig_fixtures():
    files = sorted(glob.glob(os.path.join(DATA, "eig", "*.matrix.txt")))
    assert files, "no eig fixtures found in " + DATA
    for path in files:
        name = os.path.basename(path)[: -len(".matrix.txt")]
        a = read_array(path)
        want = read_array(path.replace(".matrix.txt", ".eig.txt")).reshape(-1, 2)
        want = want[:, 0] + 1j * want[:, 1]
        w, v = fpf.eig(a)
        n = a.shape[0]
        norm = max(np.linalg.norm(a), 1e-300)
        # Backward error of every eigenpair.
        resid = np.linalg.norm(a @ v - v * w, axis=0) / norm
        assert np.all(resid < 1e-10), (name, resid.max())
        # Sorted by modulus, largest first.
        assert np.all(np.diff(np.abs(w)) <= 1e-12 * max(1.0, np.abs(w).max())), name
        ill = any(k in name for k in ("near_defective", "repeated", "badly_scaled"))
        if not ill:
            for k in range(n):
                assert np.min(np.abs(w - want[k])) < 1e-8 * max(1.0, norm), (name, k)
        assert np.allclose(fpf.eig(a, vectors=False), w)
    print(f"  {len(files)} eig fixtures")


def fixture_rnn():
    d = os.path.join(DATA, "flipflop3_h4_s42")
    rnn = fpf.FlipFlopRNN(3, 4, 3, rnn_type="tanh", seed=42, init="tutorial")
    rnn.load_state_dict({k: read_array(os.path.join(d, k + ".txt"))
                         for k in ("w_ih", "w_hh", "b_h", "w_out", "b_out", "h0")})
    return rnn, d


def test_flipflop_fixture_fixed_points():
    rnn, d = fixture_rnn()
    inits = read_array(os.path.join(d, "inits.txt"))
    refined = read_array(os.path.join(d, "refined_xstar.txt"))
    finder = fpf.FixedPointFinder(rnn, method="joint", max_iters=5000, lr_init=0.02,
                                  tol_q=1e-4, final_q_threshold=1e-6, tol_unique=1e-2,
                                  do_compute_jacobians=True, do_decompose_jacobians=True,
                                  outlier_distance_scale=10.0, verbose=False)
    unique_fps, all_fps = finder.find_fixed_points_from_inits(inits, np.zeros((1, 3)))
    assert unique_fps.n == 25 and len(unique_fps) == 25, unique_fps.n
    assert unique_fps.n_stable() == 8
    assert all_fps.n == 1024
    for w in refined:
        assert np.min(np.max(np.abs(unique_fps.xstar - w), axis=1)) < 1e-6, w
    assert unique_fps.eigval_J_xstar.dtype == np.complex64  # dtype float32
    assert unique_fps.eigvec_J_xstar.shape == (25, 4, 4)
    assert unique_fps.J_xstar.shape == (25, 4, 4) and unique_fps.dFdu.shape == (25, 4, 3)
    assert np.array_equal(unique_fps.is_stable, np.abs(unique_fps.eigval_J_xstar[:, 0]) < 1)
    assert "Stable fixed points: 8 / 25" in unique_fps.summary()
    sub = unique_fps[unique_fps.is_stable]
    assert sub.n == 8 and sub.n_stable() == 8 and unique_fps[3].n == 1
    # From a trajectory (sampling) too.
    _, hiddens = rnn(fpf.FlipFlopData(3, 64, 0.5, 42).generate_data(64)["inputs"])
    u, _ = finder.find_fixed_points(hiddens, np.zeros((1, 3)), n_inits=256, noise_scale=0.4)
    assert u.n_stable() == 8, u.n_stable()


def test_errors_and_checkpoints():
    rnn, _ = fixture_rnn()
    try:
        rnn.set_param("w_hh", np.zeros(5))
        raise AssertionError("expected ValueError")
    except ValueError as e:
        assert "w_hh" in str(e)
    try:
        fpf.FixedPointFinder(rnn, no_such_option=1)
        raise AssertionError("expected TypeError")
    except TypeError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.fpf")
        assert fpf.load_checkpoint(rnn, path) is False
        fpf.save_checkpoint(rnn, path)
        other = fpf.FlipFlopRNN(3, 4, 3, seed=1)
        assert fpf.load_checkpoint(other, path) is True
        assert np.array_equal(other.get_param("w_hh"), rnn.get_param("w_hh"))
        wrong = fpf.FlipFlopRNN(3, 5, 3)
        try:
            fpf.load_checkpoint(wrong, path)
            raise AssertionError("expected a mismatch error")
        except fpf.FpfError as e:
            assert e.status == 12, e
    try:
        fpf.FlipFlopData(3, 64, 1.5).generate_data(4)
        raise AssertionError("expected ValueError")
    except ValueError as e:
        assert "`p`" in str(e)


def test_pca_and_training_smoke():
    data = fpf.FlipFlopData(2, 16, 0.5, 3)
    tr, va = data.generate_data(64), data.generate_data(16)
    assert tr["inputs"].shape == (64, 16, 2) and not np.array_equal(tr["inputs"][:16], va["inputs"])
    rnn = fpf.FlipFlopRNN(2, 8, 2, seed=3)
    losses = fpf.train_flipflop_rnn(rnn, tr, va, batch_size=32, max_epochs=5, verbose=False)
    assert len(losses) == 5 and losses[-1] < losses[0]
    _, h = rnn(tr["inputs"])
    pca = fpf.Pca(h, 2)
    z = pca.transform(h)
    assert z.shape == (64, 16, 2) and 0 < pca.explained_variance_ratio_.sum() <= 1 + 1e-12


def main():
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    for name, f in tests:
        print(name)
        f()
    print(f"OK: {len(tests)} tests passed (libfpf {fpf.version()}, ABI {fpf.abi_version()})")


if __name__ == "__main__":
    main()
