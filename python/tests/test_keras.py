"""from_keras against real Keras 3 layers (on the JAX backend, no TensorFlow): SimpleRNN, GRU
with reset_after True and False, LSTM. The converted network steps as the layer's own call,
both from the layer object and from its saved weight arrays alone. Skipped without keras (a
failure under CI, which installs it).

Keras runs in float32 here: Keras 3's type promotion (3.15) turns 64-bit results into 32-bit
(its tanh and sigmoid return float32 even in a float64 layer), so a float64 layer cannot run.
The inputs, states and weights are float32 numbers, which libfpf takes exactly (in double);
the two then differ only by Keras' float32 rounding, well under the 1e-6 asserted."""

import os

import numpy as np
import pytest

import fpf

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
# Keras' own variables, under numpy 2 (not this package's doing).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

I, H, O, N = 3, 6, 2, 7
LAYERS = [("SimpleRNN", {}, "tanh"), ("GRU", {"reset_after": True}, "gru_torch"),
          ("GRU", {"reset_after": False}, "gru"), ("LSTM", {}, "lstm")]
IDS = ["SimpleRNN", "GRU-reset_after", "GRU-reset_before", "LSTM"]


def f32(a):
    return np.asarray(a, dtype=np.float32)


def layer_with_random_weights(kind, options, seed, **extra):
    """A built Keras layer (returning its sequence and its states) with random float32
    weights, biases included (Keras initializes them to zeros, or ones for the LSTM's
    forget gate, which would hide a bias in the wrong place)."""
    layer = getattr(keras.layers, kind)(H, return_sequences=True, return_state=True,
                                        **options, **extra)
    layer.build((None, None, I))
    rng = np.random.default_rng(seed)
    layer.set_weights([f32(rng.normal(0, 0.6, w.shape)) for w in layer.get_weights()])
    return layer


def keras_run(layer, x, h):
    """The layer's own call over inputs x [n, T, I] from state h [n, state_dim] (an LSTM's
    [h, c]): the outputs [n, T, H] and the final state [n, state_dim]."""
    lstm = isinstance(getattr(layer, "cell", None), keras.layers.LSTMCell)
    init = [f32(h[:, :H]), f32(h[:, H:])] if lstm else [f32(h)]
    seq, *states = layer(f32(x), initial_state=init)
    return np.asarray(seq, dtype=float), np.concatenate([np.asarray(s) for s in states], 1)


def inputs_and_states(S, seed, T=1):
    rng = np.random.default_rng(seed)
    return (f32(rng.normal(size=(N, T, I))).astype(float),
            f32(rng.uniform(-1, 1, (N, S))).astype(float))


@pytest.mark.parametrize("kind,options,cell", LAYERS, ids=IDS)
def test_converted_layer_steps_as_the_keras_layer(kind, options, cell):
    layer = layer_with_random_weights(kind, options, seed=1)
    dense = keras.layers.Dense(O)
    dense.build((None, H))
    dense.set_weights([f32(w + 0.3) for w in dense.get_weights()])  # a nonzero bias
    rnn = fpf.from_keras(layer, readout=dense)
    S = 2 * H if kind == "LSTM" else H
    assert rnn.rnn_type == cell
    assert (rnn.n_inputs, rnn.n_hidden, rnn.n_outputs, rnn.state_dim) == (I, H, O, S)
    x, h = inputs_and_states(S, seed=2)
    _, want = keras_run(layer, x, h)
    assert np.abs(rnn.step(x[:, 0], h) - want).max() < 1e-6
    # Twenty steps: the whole sequence of outputs, the final state and the Dense readout.
    xs, _ = inputs_and_states(S, seed=3, T=20)
    seq, final = keras_run(layer, xs, h)
    y, states = rnn(xs, h)
    assert np.abs(states[:, :, :H] - seq).max() < 1e-6
    assert np.abs(states[:, -1] - final).max() < 1e-6
    assert np.abs(y - np.asarray(dense(f32(seq)))).max() < 1e-5


@pytest.mark.parametrize("kind,options,cell", LAYERS, ids=IDS)
def test_saved_weight_arrays_convert_without_the_layer(kind, options, cell, tmp_path):
    """The path without TensorFlow or Keras at conversion time: get_weights() saved to an .npz
    file, converted from the kind and the arrays alone; use_bias=False too."""
    for use_bias in (True, False):
        layer = layer_with_random_weights(kind, options, seed=4, use_bias=use_bias)
        np.savez(tmp_path / "w.npz", *layer.get_weights())
        with np.load(tmp_path / "w.npz") as f:
            weights = [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
        assert len(weights) == (3 if use_bias else 2)
        rnn = fpf.from_keras(kind, weights, reset_after=options.get("reset_after"))
        assert rnn.rnn_type == cell and rnn.n_outputs == H
        S = rnn.state_dim
        x, h = inputs_and_states(S, seed=5)
        _, want = keras_run(layer, x, h)
        assert np.abs(rnn.step(x[:, 0], h) - want).max() < 1e-6, use_bias


def rnn_of(cell):
    return keras.layers.RNN(cell, return_sequences=True, return_state=True)


@pytest.mark.parametrize("make,cell", [
    (lambda: rnn_of(keras.layers.GRUCell(H, reset_after=False)), "gru"),
    (lambda: rnn_of(keras.layers.LSTMCell(H)), "lstm"),
    (lambda: keras.layers.GRUCell(H), "gru_torch")],
    ids=["RNN-GRUCell", "RNN-LSTMCell", "GRUCell"])
def test_generic_rnn_layer_and_cells_convert_as_their_cell(make, cell):
    layer = make()
    whole = isinstance(layer, keras.layers.RNN)
    layer.build((None, None, I) if whole else (None, I))
    rng = np.random.default_rng(8)
    layer.set_weights([f32(rng.normal(0, 0.6, w.shape)) for w in layer.get_weights()])
    rnn = fpf.from_keras(layer)
    assert rnn.rnn_type == cell
    x, h = inputs_and_states(rnn.state_dim, seed=9)
    if whole:
        _, want = keras_run(layer, x, h)
    else:
        out, _ = layer(f32(x[:, 0]), [f32(h)])
        want = np.asarray(out, dtype=float)
    assert np.abs(rnn.step(x[:, 0], h) - want).max() < 1e-6


def test_fixed_points_are_fixed_points_of_the_keras_layer():
    """A GRU (reset_after) with strong recurrence: the points libfpf finds from the layer's
    own trajectories are fixed points of the layer's own step, to float32's rounding."""
    layer = layer_with_random_weights("GRU", {}, seed=6)
    rng = np.random.default_rng(7)
    w = layer.get_weights()
    w[1] = f32(rng.normal(0, 3 / np.sqrt(H), w[1].shape))
    layer.set_weights(w)
    rnn = fpf.from_keras(layer)
    pulses = np.zeros((32, 40, I))
    pulses[:, :5] = rng.normal(0, 2, (32, 5, I))
    traj, _ = keras_run(layer, pulses, np.zeros((32, H)))
    finder = fpf.FixedPointFinder(rnn, lr_init=0.1, tol_q=1e-14, tol_unique=1e-3,
                                  dtype="float64", verbose=False)
    unique, _ = finder.find_fixed_points(traj, np.zeros((1, I)), n_inits=128, noise_scale=0.05)
    assert unique.n >= 1
    _, stepped = keras_run(layer, np.zeros((unique.n, 1, I)), unique.xstar)
    assert np.linalg.norm(stepped - unique.xstar, axis=1).max() < 1e-6


def test_what_from_keras_refuses():
    with pytest.raises(ValueError, match="relu"):
        fpf.from_keras(layer_with_random_weights("SimpleRNN", {}, 0, activation="relu"))
    with pytest.raises(ValueError, match="hard_sigmoid"):
        fpf.from_keras(layer_with_random_weights("GRU", {}, 0,
                                                 recurrent_activation="hard_sigmoid"))
    with pytest.raises(ValueError, match=r"bias is \[2, 18\]"):
        gru = layer_with_random_weights("GRU", {"reset_after": False}, 0)
        fpf.from_keras("GRU", gru.get_weights(), reset_after=True)
    with pytest.raises(ValueError, match="unsupported layer"):
        fpf.from_keras(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="no weights yet; build it first"):
        fpf.from_keras(keras.layers.GRU(H))
