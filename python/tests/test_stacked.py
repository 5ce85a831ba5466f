"""Stacked networks (PyTorch's num_layers) from numpy: construction and its checks, layer
names, copies, the finder on them (the same points for every thread count, each a fixed
point of the network's own step), and the calls that need a single cell raising."""

import pickle

import numpy as np
import pytest

import fpf

OPTS = dict(lr_init=0.02, tol_q=1e-12, tol_unique=1e-4, final_q_threshold=1e-18,
            dtype="float64", verbose=False)


def test_construction_and_names():
    rnn = fpf.FlipFlopRNN(3, 4, 2, rnn_type="gru_torch", num_layers=3, seed=1)
    assert (rnn.num_layers, rnn.state_dim) == (3, 12)
    assert "num_layers=3" in repr(rnn)
    assert rnn.param_shape("weight_ih_l0") == (12, 3)
    assert rnn.param_shape("weight_ih_l2") == (12, 4)
    assert rnn.param_shape("h0") == (12,)
    with pytest.raises(KeyError):
        rnn.param_shape("weight_ih_l3")
    w = np.arange(48.0).reshape(12, 4) / 100
    rnn.set_param("weight_hh_l1", w)
    assert np.array_equal(rnn.get_param("weight_hh_l1"), w)
    leaky = fpf.FlipFlopRNN(2, 3, 1, rnn_type="leaky_relu", alpha=0.2, num_layers=2)
    assert leaky.alpha == 0.2 and leaky.param_shape("w_ih_l1") == (3, 3)
    with pytest.raises(ValueError, match="alpha"):
        fpf.FlipFlopRNN(2, 3, 1, rnn_type="gru", alpha=0.5, num_layers=2)
    with pytest.raises(ValueError, match="num_layers"):
        fpf.FlipFlopRNN(2, 3, 1, num_layers=0)
    with pytest.raises(fpf.FpfError, match="n_layers"):
        fpf.FlipFlopRNN(2, 3, 1, num_layers=1000)
    tanh = fpf.FlipFlopRNN(2, 3, 1, rnn_type="tanh", num_layers=2)
    tanh.set_param("bias_ih_l1", np.ones(3))
    tanh.set_param("bias_hh_l1", np.full(3, 0.5))
    assert np.array_equal(tanh.get_param("b_h_l1"), np.full(3, 1.5))


def test_copies_and_arrays_keep_the_layers():
    rnn = fpf.FlipFlopRNN(3, 5, 2, rnn_type="lstm", num_layers=2, seed=4)
    x = np.random.default_rng(0).normal(size=(4, 3))
    h = np.random.default_rng(1).normal(size=(4, 20))
    want = rnn.step(x, h)
    for other in (pickle.loads(pickle.dumps(rnn)),
                  fpf.FlipFlopRNN.from_arrays(rnn.state_dict(), "lstm")):
        assert other.num_layers == 2
        assert np.array_equal(other.step(x, h), want)
    # The readout reads the top layer's h.
    y, s = rnn(x[:, None, :], h)
    top = s[:, 10:15]  # one step from `hidden`: the state after it
    assert np.allclose(y[:, 0], top @ rnn.get_param("w_out") + rnn.get_param("b_out"))


def test_the_finder_on_a_stacked_network():
    rnn = fpf.FlipFlopRNN(2, 3, 1, rnn_type="tanh", num_layers=2, seed=3)
    for layer in ("w_hh", "w_hh_l1"):  # every unit bistable: several fixed points
        rnn.set_param(layer, 1.8 * np.eye(3) + 0.05 * rnn.get_param(layer))
    inits = np.random.default_rng(5).uniform(-1, 1, (200, 6))
    runs = []
    for threads in (1, 2):
        finder = fpf.FixedPointFinder(rnn, n_threads=threads, **OPTS)
        runs.append(finder.find_fixed_points(initial_states=inits,
                                             inputs=np.zeros((1, 2)))[0])
    a, b = runs
    assert a.n >= 4 and a.is_stable.any() and not a.is_stable.all(), a.n
    assert np.array_equal(a.xstar, b.xstar) and np.array_equal(a.J_xstar, b.J_xstar)
    f = rnn.step(np.zeros((a.n, 2)), a.xstar)
    q = 0.5 * np.sum((f - a.xstar) ** 2, axis=1)
    assert np.all(q < 1e-20), q.max()
    # Block lower-triangular Jacobians: layer 0 does not read layer 1.
    assert np.all(a.J_xstar[:, :3, 3:] == 0)


def test_calls_that_need_a_single_cell_raise():
    rnn = fpf.FlipFlopRNN(3, 4, 3, rnn_type="gru_torch", num_layers=2)
    gen = fpf.FlipFlopData(3, 16, 0.5, 1)
    tr = gen.generate_data(8)
    with pytest.raises(fpf.FpfError, match="stacked") as e:
        fpf.train_flipflop_rnn(rnn, tr, None, max_epochs=1, batch_size=4, verbose=False)
    assert e.value.status_name == "FPF_UNSUPPORTED"
    finder = fpf.FixedPointFinder(rnn, **OPTS)
    fps, _ = finder.find_fixed_points(initial_states=np.zeros((4, 8)), inputs=np.zeros((1, 3)))
    with pytest.raises(fpf.FpfError, match="continuation") as e:
        finder.continuation(fps, u0=[0, 0, 0], u1=[1, 0, 0], n_steps=4)
    assert e.value.status_name == "FPF_UNSUPPORTED"
