"""Recurrent networks held by libfpf (double precision): the tutorial's FlipFlopRNN."""

import ctypes as C

import numpy as np

from . import _check
from ._lib import CELL_NAMES, CELLS, INITS, LEAKY_ACTIVATIONS, Handle, check, lib, ptr

_SZ = C.c_size_t


def _cell_params(kind, I, H):
    """Name → shape of every parameter of a cell, as `get_param`/`set_param` take them."""
    if kind == "tanh" or kind in LEAKY_ACTIVATIONS:
        return {"w_ih": (I, H), "w_hh": (H, H), "b_h": (H,)}
    if kind == "gru":
        return {**{f"w_i{g}": (I, H) for g in "rzn"}, **{f"w_h{g}": (H, H) for g in "rzn"},
                **{f"b_{g}": (H,) for g in "rzn"}}
    G = 3 if kind == "gru_torch" else 4
    return {"weight_ih_l0": (G * H, I), "weight_hh_l0": (G * H, H), "bias_ih_l0": (G * H,),
            "bias_hh_l0": (G * H,)}


def _torch_names_for_tanh(I, H):
    # torch.nn.RNN's names, accepted by set_param for the tanh cell (biases summed to b_h).
    return {"weight_ih_l0": (H, I), "weight_hh_l0": (H, H), "bias_ih_l0": (H,),
            "bias_hh_l0": (H,)}


def _layer_names(names, k):
    """Layer k's names (k ≥ 1) of a stacked network: ``_l0`` → ``_l<k>``, else ``_l<k>``
    appended (the library's rule)."""
    return {(n[:-3] if n.endswith("_l0") else n) + f"_l{k}": s for n, s in names.items()}


class FlipFlopRNN:
    """A recurrent network held by libfpf, in double precision: a cell, the readout
    ``y = h W_out + b_out`` and the initial state ``h0``.

    rnn_type: 'tanh', 'gru' (the tutorial's, reset before), 'gru_torch' (torch.nn.GRU),
    'lstm' (torch.nn.LSTM; the state is [h, c], 2·n_hidden long), or a leaky rate cell
    ``h' = (1 − alpha) h + alpha φ(x W_ih + h W_hh + b_h)``: 'leaky_tanh', 'leaky_relu'
    (φ'(0) taken as 0; fixed points on the kink are counted in ``n_kink``), 'leaky_softplus',
    'leaky_sigmoid', with ``alpha`` in (0, 1] (the only cells that take an alpha; its
    parameters are named as tanh's). init: 'scaled' (default; trains fast) or 'tutorial'
    (the reference's N(0, 0.5²) recurrent weights).

    num_layers: stacked layers of the cell, PyTorch's convention (layer 0 reads the input,
    each layer above the new hidden state of the one below; an LSTM layer passes up only h).
    The state is the layers' states back to back (``num_layers · n_hidden``, or
    ``num_layers · 2·n_hidden`` for the LSTM), the readout reads the top layer's h, and layer
    k ≥ 1's parameters are named with the suffix ``_l<k>`` (``weight_hh_l1``, ``w_hh_l1``).
    The finder runs on a stacked network; training one raises FpfError (FPF_UNSUPPORTED):
    train it in PyTorch and convert it with ``fpf.from_torch``.

    copy.copy, copy.deepcopy and pickle give an independent network with the same weights
    (through the library's checkpoint bytes, ``to_bytes``/``from_bytes``).
    """

    def __init__(self, n_inputs, n_hidden, n_outputs, rnn_type="tanh", seed=0, init="scaled",
                 alpha=1.0, num_layers=1):
        kind = _check.choice(rnn_type, "rnn_type", CELLS)
        n_inputs = _check.count(n_inputs, "n_inputs", 0)
        n_hidden = _check.count(n_hidden, "n_hidden", 1)
        n_outputs = _check.count(n_outputs, "n_outputs", 1)
        num_layers = _check.count(num_layers, "num_layers", 1)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)):
            raise TypeError(f"`alpha` must be a number; got {type(alpha).__name__}")
        alpha = float(alpha)
        if not 0.0 < alpha <= 1.0:  # NaN fails too
            raise ValueError(f"`alpha` must be in (0, 1]; got {alpha}")
        h = C.c_void_p()
        init = _check.choice(init, "init", INITS)
        if num_layers > 1:
            if rnn_type not in LEAKY_ACTIVATIONS and alpha != 1.0:
                raise ValueError(f"`alpha` is a leaky cell's; a {rnn_type} cell takes none "
                                 f"(got alpha={alpha})")
            check(lib.fpf_rnn_new_stacked(kind, alpha, num_layers, n_inputs, n_hidden,
                                          n_outputs, _check.seed(seed), init, C.byref(h)))
        elif rnn_type in LEAKY_ACTIVATIONS:
            check(lib.fpf_rnn_new_leaky(LEAKY_ACTIVATIONS[rnn_type], alpha, n_inputs, n_hidden,
                                        n_outputs, _check.seed(seed), init, C.byref(h)))
        else:
            if alpha != 1.0:
                raise ValueError(f"`alpha` is a leaky cell's; a {rnn_type} cell takes none "
                                 f"(got alpha={alpha})")
            check(lib.fpf_rnn_new_init(kind, n_inputs, n_hidden, n_outputs, _check.seed(seed),
                                       init, C.byref(h)))
        self._adopt(h)

    def _adopt(self, h):
        self._h = Handle(h.value, lib.fpf_rnn_free)
        v = self._h.value
        self.rnn_type = CELL_NAMES[int(lib.fpf_rnn_cell(v))]
        self.n_inputs = int(lib.fpf_rnn_n_inputs(v))
        self.n_hidden = int(lib.fpf_rnn_n_hidden(v))
        self.n_outputs = int(lib.fpf_rnn_n_outputs(v))
        self.state_dim = int(lib.fpf_rnn_state_dim(v))
        self.alpha = float(lib.fpf_rnn_alpha(v))
        self.num_layers = int(lib.fpf_rnn_n_layers(v))
        I, H = self.n_inputs, self.n_hidden
        self._params = _cell_params(self.rnn_type, I, H)
        for k in range(1, self.num_layers):
            self._params.update(_layer_names(_cell_params(self.rnn_type, H, H), k))
        self._params.update({"w_out": (H, self.n_outputs),
                             "b_out": (self.n_outputs,), "h0": (self.state_dim,)})
        self._settable = dict(self._params)
        if self.rnn_type == "tanh":
            self._settable.update(_torch_names_for_tanh(I, H))
            for k in range(1, self.num_layers):
                self._settable.update(_layer_names(_torch_names_for_tanh(H, H), k))

    @property
    def handle(self):
        """The raw ``fpf_rnn *`` (an int), valid while this object lives."""
        return self._h.value

    def __repr__(self):
        alpha = f", alpha={self.alpha!r}" if self.rnn_type in LEAKY_ACTIVATIONS else ""
        layers = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        return (f"FlipFlopRNN(n_inputs={self.n_inputs}, n_hidden={self.n_hidden}, "
                f"n_outputs={self.n_outputs}, rnn_type={self.rnn_type!r}{alpha}{layers})")

    @classmethod
    def from_arrays(cls, params, rnn_type="tanh", alpha=1.0, num_layers=None):
        """A network from its arrays: ``params`` maps every parameter name (as
        ``state_dict`` gives them; ``w_out`` [H, O] included, ``b_out`` and ``h0`` zero if
        absent) to an array; the sizes follow from ``w_out`` and the input weights (``w_ih``,
        ``w_in`` or ``weight_ih_l0``), the number of layers from the highest layer suffix
        ``_l<k>`` among the names unless ``num_layers`` is given.
        ``from_arrays(rnn.state_dict(), rnn.rnn_type, rnn.alpha)`` rebuilds ``rnn``."""
        _check.choice(rnn_type, "rnn_type", CELLS)
        if "w_out" not in params:
            raise ValueError("`params` needs `w_out` [n_hidden, n_outputs]")
        H, O = np.shape(params["w_out"])
        if "w_ih" in params or "w_in" in params:  # I × H
            I = np.shape(params["w_ih"] if "w_ih" in params else params["w_in"])[0]
        elif "weight_ih_l0" in params:  # G·H × I
            I = np.shape(params["weight_ih_l0"])[1]
        else:
            raise ValueError("`params` needs the input weights (w_ih, w_in or weight_ih_l0)")
        if num_layers is None:
            suffixes = [n.rsplit("_l", 1)[1] for n in params if "_l" in n]
            num_layers = 1 + max([int(k) for k in suffixes if k.isdigit()], default=0)
        rnn = cls(I, H, O, rnn_type=rnn_type, alpha=alpha, num_layers=num_layers)
        rnn.load_state_dict(params)
        return rnn

    # -- copies, pickling: through checkpoint bytes, so a copy never shares the handle
    def to_bytes(self):
        """The network as libfpf checkpoint bytes (the format of ``save_checkpoint``)."""
        n = _SZ()
        check(lib.fpf_checkpoint_save_buffer(self.handle, None, 0, C.byref(n)))
        buf = C.create_string_buffer(n.value)
        check(lib.fpf_checkpoint_save_buffer(self.handle, buf, n.value, C.byref(n)))
        return buf.raw[: n.value]

    @classmethod
    def from_bytes(cls, data):
        """A network from checkpoint bytes (``to_bytes``, or a checkpoint file's content);
        FpfError (FPF_BAD_FORMAT) if they are not a valid checkpoint."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"`data` must be bytes; got {type(data).__name__}")
        data = bytes(data)
        h = C.c_void_p()
        check(lib.fpf_checkpoint_load_buffer(data, len(data), C.byref(h)))
        self = cls.__new__(cls)
        self._adopt(h)
        return self

    def __copy__(self):
        return type(self).from_bytes(self.to_bytes())

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        return (type(self).from_bytes, (self.to_bytes(),))

    # -- parameters
    def param_names(self):
        """Names of every parameter (the cell's, then w_out, b_out, h0)."""
        return list(self._params)

    def param_shape(self, name):
        if name not in self._settable:
            raise KeyError(f"{self.rnn_type} network has no parameter {name!r} (parameters: "
                           f"{', '.join(self._settable)})")
        return self._settable[name]

    def get_param(self, name):
        """Parameter ``name`` as a new array of its shape (see ``param_names``)."""
        shape = self.param_shape(name)
        out = np.empty(shape)
        check(lib.fpf_rnn_get_param(self.handle, name.encode(), ptr(out), out.size))
        return out

    def set_param(self, name, value):
        """Sets parameter ``name`` from an array of exactly its shape (a transposed or
        flattened array is refused, even with the right number of elements)."""
        shape = self.param_shape(name)
        v = _check.array(value, name, [(f"dim{k}", n) for k, n in enumerate(shape)],
                         allow_empty=True)
        check(lib.fpf_rnn_set_param(self.handle, name.encode(), ptr(v), v.size))

    def state_dict(self):
        return {name: self.get_param(name) for name in self._params}

    def load_state_dict(self, state):
        """Sets every parameter in ``state``; nothing is changed if any name or shape is
        wrong."""
        checked = {}
        for name, value in state.items():
            shape = self.param_shape(name)
            checked[name] = _check.array(value, name,
                                         [(f"dim{k}", n) for k, n in enumerate(shape)],
                                         allow_empty=True)
        for name, v in checked.items():
            check(lib.fpf_rnn_set_param(self.handle, name.encode(), ptr(v), v.size))

    # -- running
    def step(self, x, h):
        """One step for n rows: x [n, n_inputs], h [n, state_dim] → h_next [n, state_dim]
        (1-D x and h: one row, and a 1-D result)."""
        one = _check.ndim(h, "h") == 1
        if one:
            x, h = np.atleast_2d(_check.to_numpy(x)), np.atleast_2d(_check.to_numpy(h))
        h = _check.array(h, "h", ["n", ("state_dim", self.state_dim)])
        x = _check.array(x, "x", [("n", h.shape[0]), ("n_inputs", self.n_inputs)],
                         allow_empty=True)
        out = np.empty_like(h)
        check(lib.fpf_rnn_step(self.handle, ptr(x), ptr(h), h.shape[0], ptr(out)))
        return out[0] if one else out

    def _readout(self, h):
        top = (self.num_layers - 1) * (self.state_dim // self.num_layers)  # the top layer's h
        return (h[..., top: top + self.n_hidden] @ self.get_param("w_out")
                + self.get_param("b_out"))

    def __call__(self, inputs, hidden=None):
        """inputs [batch, time, n_inputs] → (outputs [batch, time, n_outputs], states
        [batch, time, state_dim]), from h0, or from ``hidden`` [batch, state_dim]. As in the
        tutorial, with one time step and ``hidden`` given: (y[:, None, :], h_next)."""
        x = _check.array(inputs, "inputs", ["batch", "time", ("n_inputs", self.n_inputs)],
                         allow_empty=self.n_inputs == 0)
        B, T = x.shape[:2]
        if hidden is None:
            y = np.empty((B, T, self.n_outputs))
            s = np.empty((B, T, self.state_dim))
            check(lib.fpf_rnn_run(self.handle, ptr(x), B, T, ptr(y), ptr(s)))
            return y, s
        h = _check.array(hidden, "hidden", [("batch", B), ("state_dim", self.state_dim)])
        states = np.empty((B, T, self.state_dim))
        for t in range(T):
            h = self.step(x[:, t, :], h)
            states[:, t] = h
        ys = self._readout(states)
        if T == 1:
            return ys, states[:, 0]
        return ys, states

    def train(self, train_data, valid_data=None, **kwargs):
        """``train_flipflop_rnn(self, train_data, valid_data, **kwargs)``."""
        from .train import train_flipflop_rnn
        return train_flipflop_rnn(self, train_data, valid_data, **kwargs)
