"""Networks users already have: PyTorch modules and Keras weight arrays as FlipFlopRNNs.

Neither framework is imported here: a torch module is read through its ``state_dict()``
and attributes, Keras weights are the arrays of ``layer.get_weights()`` (or the layer
itself), so TensorFlow need not be installed to convert saved Keras weights.
"""

import numpy as np

from ._check import to_numpy
from .model import FlipFlopRNN


def _arr(x, name):
    a = np.asarray(to_numpy(x), dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` holds a NaN or infinity")
    return a


def _build(I, H, kind, params, readout_w, readout_b, num_layers=1):
    if readout_w is None:
        readout_w, readout_b = np.eye(H), np.zeros(H)
    O = readout_w.shape[1]
    if readout_w.shape[0] != H:
        raise ValueError(f"the readout takes {readout_w.shape[0]} inputs, but the network has "
                         f"{H} hidden units")
    rnn = FlipFlopRNN(I, H, O, rnn_type=kind, num_layers=num_layers)
    rnn.load_state_dict({**params, "w_out": readout_w,
                         "b_out": np.zeros(O) if readout_b is None else readout_b})
    return rnn


def _torch_readout(readout, H):
    if readout is None:
        return None, None
    if hasattr(readout, "state_dict"):  # nn.Linear
        sd = readout.state_dict()
        w = _arr(sd["weight"], "readout.weight")
        b = _arr(sd["bias"], "readout.bias") if "bias" in sd else None
    else:
        w, b = readout if isinstance(readout, (tuple, list)) else (readout, None)
        w = _arr(w, "readout weight")
        b = None if b is None else _arr(b, "readout bias")
    if w.ndim != 2 or w.shape[1] != H:
        raise ValueError(f"the readout weight must be [n_outputs, {H}] (nn.Linear's layout); "
                         f"got {w.shape}")
    return w.T, b


_TORCH_KINDS = {"RNN_TANH": "tanh", "RNN": "tanh", "GRU": "gru_torch", "LSTM": "lstm",
                "RNNCELL": "tanh", "GRUCELL": "gru_torch", "LSTMCELL": "lstm"}


def _torch_param(module, sd, name):
    # The module's attribute first: it is what forward() uses. A pruned or parametrized
    # weight lives there, while the state_dict holds `name_orig` and a mask instead.
    v = getattr(module, name, None)
    if v is None:
        v = sd.get(name)
    return None if v is None else _arr(v, name)


def from_torch(module, readout=None):
    """A FlipFlopRNN with the weights of a unidirectional ``torch.nn.RNN`` (tanh),
    ``nn.GRU`` or ``nn.LSTM`` (without projections) of any ``num_layers``, or of an
    ``nn.RNNCell`` (tanh), ``nn.GRUCell`` or ``nn.LSTMCell``, in any floating dtype (widened
    to double). Pruned or parametrized weights are read as the module's forward uses them.
    ``readout``: an ``nn.Linear`` (or its (weight, bias) arrays, weight [n_outputs, hidden])
    applied to the (top layer's) hidden state; without one the outputs are the hidden state
    itself. ``batch_first`` does not matter: libfpf's arrays are always [batch, time,
    features]. The LSTM's state is [h, c]; a stacked module's state is its layers' states
    back to back, ``[h_0, h_1, …]`` (``[h_0, c_0, h_1, c_1, …]`` for the LSTM), as
    ``CallbackModel.from_torch`` has it. Dropout between layers is a training-time
    operation and is not part of the map (the module in ``eval()`` mode)."""
    mode = getattr(module, "mode", None) or type(module).__name__.upper()
    if mode == "RNN_RELU" or getattr(module, "nonlinearity", "tanh") != "tanh":
        raise ValueError("from_torch: only tanh RNNs are supported (nonlinearity='relu' is "
                         "not)")
    if mode not in _TORCH_KINDS or not hasattr(module, "state_dict"):
        raise TypeError(f"from_torch takes a torch.nn.RNN, GRU or LSTM (or RNNCell, GRUCell, "
                        f"LSTMCell); got {type(module).__name__}")
    num_layers = int(getattr(module, "num_layers", 1))
    if getattr(module, "bidirectional", False):
        raise ValueError("from_torch: bidirectional modules are not supported")
    if getattr(module, "proj_size", 0):
        raise ValueError("from_torch: LSTMs with proj_size are not supported")
    kind = _TORCH_KINDS[mode]
    suffix = "" if mode.endswith("CELL") else "_l0"
    sd = module.state_dict()
    w_ih = _torch_param(module, sd, "weight_ih" + suffix)
    w_hh = _torch_param(module, sd, "weight_hh" + suffix)
    if w_ih is None or w_hh is None:
        raise ValueError(f"from_torch: the {type(module).__name__} has no weight_ih{suffix}/"
                         f"weight_hh{suffix} (state_dict keys: {', '.join(sd)})")
    H, I = w_hh.shape[1], w_ih.shape[1]
    G = {"tanh": 1, "gru_torch": 3, "lstm": 4}[kind]
    zeros = np.zeros(G * H)
    b_ih = _torch_param(module, sd, "bias_ih" + suffix)
    b_hh = _torch_param(module, sd, "bias_hh" + suffix)
    params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh,
              "bias_ih_l0": zeros if b_ih is None else b_ih,
              "bias_hh_l0": zeros if b_hh is None else b_hh}
    for k in range(1, num_layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            v = _torch_param(module, sd, f"{name}_l{k}")
            if v is None and name.startswith("weight"):
                raise ValueError(f"from_torch: the {type(module).__name__} has no "
                                 f"{name}_l{k} (state_dict keys: {', '.join(sd)})")
            params[f"{name}_l{k}"] = zeros if v is None else v
    w, b = _torch_readout(readout, H)
    return _build(I, H, kind, params, w, b, num_layers)


_KERAS_KINDS = {"simplernn": "simple_rnn", "simple_rnn": "simple_rnn", "rnn": "simple_rnn",
                "gru": "gru", "lstm": "lstm"}


def _keras_readout(readout, H):
    if readout is None:
        return None, None
    ws = readout.get_weights() if hasattr(readout, "get_weights") else list(readout)
    w = _arr(ws[0], "readout kernel")
    b = _arr(ws[1], "readout bias") if len(ws) > 1 else None
    if w.ndim != 2 or w.shape[0] != H:
        raise ValueError(f"the readout kernel must be [{H}, n_outputs] (Dense's layout); got "
                         f"{w.shape}")
    return w, b


def from_keras(layer, weights=None, readout=None, reset_after=None, activation=None,
               recurrent_activation=None):
    """A FlipFlopRNN with the weights of a Keras ``SimpleRNN``, ``GRU`` (reset_after True or
    False) or ``LSTM`` layer (or its cell, or ``keras.layers.RNN`` around one). Either pass
    the layer itself, or its kind ('SimpleRNN', 'GRU', 'LSTM') and ``weights`` =
    ``layer.get_weights()`` (kernel, recurrent_kernel[, bias]),
    e.g. loaded from a file without TensorFlow installed. ``readout``: a ``Dense`` layer or
    its [kernel [hidden, n_outputs], bias]; without one the outputs are the hidden state.
    Only Keras' default activations (tanh, and sigmoid for the gates) are supported."""
    if isinstance(layer, str):
        kind = _KERAS_KINDS.get(layer.lower())
        config = {}
        if weights is None:
            raise TypeError("from_keras(kind, weights): `weights` (layer.get_weights()) is "
                            "required")
    else:
        if not hasattr(layer, "get_weights"):
            raise TypeError(f"from_keras takes a Keras layer or a kind string; got "
                            f"{type(layer).__name__}")
        # keras.layers.RNN(cell) is what its cell is; a cell itself converts too.
        cell = layer.cell if type(layer).__name__ == "RNN" and hasattr(layer, "cell") else layer
        name = type(cell).__name__.lower()
        kind = _KERAS_KINDS.get(name[:-4] if name.endswith("cell") else name)
        config = cell.get_config() if hasattr(cell, "get_config") else {}
        weights = layer.get_weights() if weights is None else weights
        if kind is not None and len(weights) == 0:
            raise ValueError(f"from_keras: the {type(layer).__name__} layer has no weights "
                             f"yet; build it first (call it on an input, or "
                             f"layer.build(input_shape))")
    if kind is None:
        raise ValueError(f"from_keras: unsupported layer {layer!r} (SimpleRNN, GRU, LSTM)")
    act = activation or config.get("activation", "tanh")
    ract = recurrent_activation or config.get("recurrent_activation", "sigmoid")
    if act != "tanh" or (kind != "simple_rnn" and ract != "sigmoid"):
        raise ValueError(f"from_keras: only activation='tanh' and recurrent_activation="
                         f"'sigmoid' are supported; got {act!r}, {ract!r}")
    if reset_after is None:
        reset_after = config.get("reset_after", True)
    ws = [_arr(w, f"weights[{k}]") for k, w in enumerate(weights)]
    if len(ws) not in (2, 3):
        raise ValueError(f"from_keras: expected [kernel, recurrent_kernel, bias] weights; got "
                         f"{len(ws)} arrays")
    kernel, rk = ws[0], ws[1]
    if kernel.ndim != 2 or rk.ndim != 2:
        raise ValueError("from_keras: kernel and recurrent_kernel must be 2-D")
    I, H = kernel.shape[0], rk.shape[0]
    G = {"simple_rnn": 1, "gru": 3, "lstm": 4}[kind]
    if kernel.shape[1] != G * H or rk.shape != (H, G * H):
        raise ValueError(f"from_keras: a {kind} of {H} units needs kernel [{I}, {G * H}] and "
                         f"recurrent_kernel [{H}, {G * H}]; got {kernel.shape}, {rk.shape}")
    bias = ws[2] if len(ws) == 3 else None
    w, b = _keras_readout(readout, H)
    if kind == "simple_rnn":
        params = {"w_ih": kernel, "w_hh": rk, "b_h": np.zeros(H) if bias is None else bias}
        return _build(I, H, "tanh", params, w, b)
    if kind == "lstm":  # Keras' gate order i, f, c, o is PyTorch's i, f, g, o
        params = {"weight_ih_l0": kernel.T, "weight_hh_l0": rk.T,
                  "bias_ih_l0": np.zeros(4 * H) if bias is None else bias,
                  "bias_hh_l0": np.zeros(4 * H)}
        return _build(I, H, "lstm", params, w, b)
    # GRU: Keras' gate order is z, r, h.
    z, r, n = (slice(k * H, (k + 1) * H) for k in range(3))
    if reset_after:
        if bias is None:
            bias = np.zeros((2, 3 * H))
        if bias.shape != (2, 3 * H):
            raise ValueError(f"from_keras: a reset_after GRU's bias is [2, {3 * H}]; got "
                             f"{bias.shape} (pass reset_after=False for the other GRU)")
        perm = np.r_[np.arange(3 * H)[r], np.arange(3 * H)[z], np.arange(3 * H)[n]]
        params = {"weight_ih_l0": kernel[:, perm].T, "weight_hh_l0": rk[:, perm].T,
                  "bias_ih_l0": bias[0, perm], "bias_hh_l0": bias[1, perm]}
        return _build(I, H, "gru_torch", params, w, b)
    if bias is None:
        bias = np.zeros(3 * H)
    if bias.shape != (3 * H,):
        raise ValueError(f"from_keras: a GRU with reset_after=False has bias [{3 * H}]; got "
                         f"{bias.shape}")
    params = {"w_iz": kernel[:, z], "w_ir": kernel[:, r], "w_in": kernel[:, n],
              "w_hz": rk[:, z], "w_hr": rk[:, r], "w_hn": rk[:, n],
              "b_z": bias[z], "b_r": bias[r], "b_n": bias[n]}
    return _build(I, H, "gru", params, w, b)
