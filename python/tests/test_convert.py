"""from_torch and from_keras against the frameworks' own formulas, written out in numpy
here (so neither framework is needed): every converted network steps as the original."""

import numpy as np
import pytest

import fpf

sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
rng = np.random.default_rng(7)
I, H, O, N = 3, 5, 2, 6


class Tensor:
    """A stand-in torch tensor (what fpf reads of one: detach().cpu().numpy())."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


class Module:
    """A stand-in torch.nn.RNN/GRU/LSTM: mode, sizes, flags and a state_dict of tensors."""

    def __init__(self, mode, G, num_layers=1, bidirectional=False, nonlinearity="tanh",
                 bias=True):
        self.mode, self.num_layers, self.bidirectional = mode, num_layers, bidirectional
        self.nonlinearity, self.proj_size = nonlinearity, 0
        self.sd = {"weight_ih_l0": rng.normal(0, 0.6, (G * H, I)),
                   "weight_hh_l0": rng.normal(0, 0.6, (G * H, H))}
        if bias:
            self.sd.update(bias_ih_l0=rng.normal(0, 0.2, G * H),
                           bias_hh_l0=rng.normal(0, 0.2, G * H))

    def state_dict(self):
        return {k: Tensor(v) for k, v in self.sd.items()}


class Linear:
    def __init__(self):
        self.w, self.b = rng.normal(size=(O, H)), rng.normal(size=O)

    def state_dict(self):
        return {"weight": Tensor(self.w), "bias": Tensor(self.b)}


def torch_step(m, x, h):
    sd = m.sd
    b_ih = sd.get("bias_ih_l0", 0)
    b_hh = sd.get("bias_hh_l0", 0)
    gi = x @ sd["weight_ih_l0"].T + b_ih
    if m.mode == "RNN_TANH":
        return np.tanh(gi + h @ sd["weight_hh_l0"].T + b_hh)
    if m.mode == "GRU":
        gh = h @ sd["weight_hh_l0"].T + b_hh
        r = sig(gi[:, :H] + gh[:, :H])
        z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h
    hh, c = h[:, :H], h[:, H:]
    g = gi + hh @ sd["weight_hh_l0"].T + b_hh
    i, f, gg, o = (g[:, k * H:(k + 1) * H] for k in range(4))
    c2 = sig(f) * c + sig(i) * np.tanh(gg)
    return np.concatenate([sig(o) * np.tanh(c2), c2], axis=1)


@pytest.mark.parametrize("mode,G,S", [("RNN_TANH", 1, H), ("GRU", 3, H), ("LSTM", 4, 2 * H)])
def test_from_torch_steps_as_torch(mode, G, S):
    m, lin = Module(mode, G), Linear()
    rnn = fpf.from_torch(m, readout=lin)
    assert (rnn.n_inputs, rnn.n_hidden, rnn.n_outputs, rnn.state_dim) == (I, H, O, S)
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, S))
    assert np.abs(rnn.step(x, h) - torch_step(m, x, h)).max() < 1e-12
    y, hs = rnn(x[:, None, :], h)
    assert np.allclose(y[:, 0], hs[:, :H] @ lin.w.T + lin.b)
    # Without a readout the outputs are the hidden state; without biases, zeros.
    plain = fpf.from_torch(Module(mode, G, bias=False))
    assert plain.n_outputs == H
    y, hs = plain(x[:, None, :], h)
    assert np.allclose(y[:, 0], hs[:, :H])


def test_from_torch_refuses_what_it_cannot_convert():
    # A stacked module must have every layer's weights (this stand-in has layer 0's only).
    with pytest.raises(ValueError, match="no weight_ih_l1"):
        fpf.from_torch(Module("GRU", 3, num_layers=2))
    with pytest.raises(ValueError, match="bidirectional"):
        fpf.from_torch(Module("GRU", 3, bidirectional=True))
    with pytest.raises(ValueError, match="relu"):
        fpf.from_torch(Module("RNN_RELU", 1, nonlinearity="relu"))
    with pytest.raises(TypeError, match="torch.nn.RNN, GRU or LSTM"):
        fpf.from_torch(object())
    with pytest.raises(ValueError, match=r"readout weight must be \[n_outputs, 5\]"):
        fpf.from_torch(Module("GRU", 3), readout=(np.zeros((H, O)), np.zeros(O)))


def keras_weights(kind, reset_after=True):
    G = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[kind]
    k, r = rng.normal(0, 0.6, (I, G * H)), rng.normal(0, 0.6, (H, G * H))
    b = rng.normal(0, 0.2, (2, G * H) if kind == "GRU" and reset_after else G * H)
    return [k, r, b]


def keras_step(kind, w, x, h, reset_after=True):
    k, r, b = w
    if kind == "SimpleRNN":
        return np.tanh(x @ k + h @ r + b)
    if kind == "LSTM":
        hh, c = h[:, :H], h[:, H:]
        z = x @ k + hh @ r + b
        i, f, cc, o = (z[:, j * H:(j + 1) * H] for j in range(4))
        c2 = sig(f) * c + sig(i) * np.tanh(cc)
        return np.concatenate([sig(o) * np.tanh(c2), c2], axis=1)
    blk = lambda a, j: a[..., j * H:(j + 1) * H]  # noqa: E731  Keras' order: z, r, h
    if reset_after:
        mx, mi = x @ k + b[0], h @ r + b[1]
        z, rr = sig(blk(mx, 0) + blk(mi, 0)), sig(blk(mx, 1) + blk(mi, 1))
        hh = np.tanh(blk(mx, 2) + rr * blk(mi, 2))
    else:
        mx = x @ k + b
        z, rr = sig(blk(mx, 0) + h @ blk(r, 0)), sig(blk(mx, 1) + h @ blk(r, 1))
        hh = np.tanh(blk(mx, 2) + (rr * h) @ blk(r, 2))
    return z * h + (1 - z) * hh


@pytest.mark.parametrize("kind,reset_after", [("SimpleRNN", None), ("GRU", True),
                                              ("GRU", False), ("LSTM", None)])
def test_from_keras_steps_as_keras(kind, reset_after):
    ra = True if reset_after is None else reset_after
    w = keras_weights(kind, ra)
    dense = [rng.normal(size=(H, O)), rng.normal(size=O)]
    rnn = fpf.from_keras(kind, w, readout=dense, reset_after=ra)
    S = 2 * H if kind == "LSTM" else H
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, S))
    assert np.abs(rnn.step(x, h) - keras_step(kind, w, x, h, ra)).max() < 1e-12
    y, hs = rnn(x[:, None, :], h)
    assert np.allclose(y[:, 0], hs[:, :H] @ dense[0] + dense[1])


def test_from_keras_reads_a_layer_object_and_its_config():
    class GRU:
        def __init__(self, reset_after):
            self.w, self.ra = keras_weights("GRU", reset_after), reset_after

        def get_weights(self):
            return self.w

        def get_config(self):
            return {"reset_after": self.ra, "activation": "tanh",
                    "recurrent_activation": "sigmoid"}

    layer = GRU(False)
    rnn = fpf.from_keras(layer)
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, H))
    assert rnn.rnn_type == "gru"
    assert np.abs(rnn.step(x, h) - keras_step("GRU", layer.w, x, h, False)).max() < 1e-12
    layer.get_config = lambda: {"recurrent_activation": "hard_sigmoid"}
    with pytest.raises(ValueError, match="hard_sigmoid"):
        fpf.from_keras(layer)
    with pytest.raises(ValueError, match=r"bias is \[2, 15\]"):
        fpf.from_keras("GRU", keras_weights("GRU", False), reset_after=True)
    with pytest.raises(TypeError, match="`weights`"):
        fpf.from_keras("LSTM")
    with pytest.raises(ValueError, match="unsupported layer"):
        fpf.from_keras("Conv1D", keras_weights("LSTM"))
