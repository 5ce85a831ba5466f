"""Shared fixtures. Under CI (CI set and not 'false'/'0') a skipped test is a failure: CI
installs everything these tests need, so a skip there means something is missing."""

import os

import numpy as np
import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
CI = os.environ.get("CI", "") not in ("", "0", "false")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if CI and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI, which counts as a failure: {rep.longrepr}"


def read_array(path):
    """A fixture file of tests/data: '# shape d0 d1 …' then the values."""
    with open(path) as f:
        shape = tuple(int(v) for v in f.readline().split()[2:])
        return np.array(f.read().split(), dtype=np.float64).reshape(shape)


def need_data():
    if not os.path.isdir(DATA):
        pytest.skip(f"the repository's test data ({DATA}) is not here")


@pytest.fixture
def fixture_rnn():
    """The 4-unit tanh network of tests/data/flipflop3_h4_s42 and its 1024 initial states."""
    import fpf
    need_data()
    d = os.path.join(DATA, "flipflop3_h4_s42")
    rnn = fpf.FlipFlopRNN(3, 4, 3, rnn_type="tanh", seed=42, init="tutorial")
    rnn.load_state_dict({k: read_array(os.path.join(d, k + ".txt"))
                         for k in ("w_ih", "w_hh", "b_h", "w_out", "b_out", "h0")})
    return rnn, read_array(os.path.join(d, "inits.txt"))


TUTORIAL = dict(method="joint", max_iters=5000, lr_init=0.02, tol_q=1e-4,
                final_q_threshold=1e-6, tol_unique=1e-2, outlier_distance_scale=10.0,
                verbose=False)


@pytest.fixture
def trained():
    """A 3-bit, 16-unit tanh network trained as the tutorial does (0.5 s), with test-set
    states."""
    import fpf
    gen = fpf.FlipFlopData(3, 64, 0.5, 42)
    tr, va, te = (gen.generate_data(n) for n in (512, 128, 128))
    rnn = fpf.FlipFlopRNN(3, 16, 3, seed=42)
    fpf.train_flipflop_rnn(rnn, tr, va, max_epochs=500, seed=42, verbose=False)
    _, hiddens = rnn(te["inputs"])
    return rnn, hiddens, te
