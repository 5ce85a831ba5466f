"""Analyzing a PyTorch nn.GRU with libfpf.

With torch, a trained model converts in one call:

    rnn = fpf.from_torch(gru, readout=linear)     # nn.GRU (or nn.RNN, nn.LSTM), nn.Linear

Here (so that torch is not needed) the same call reads a stand-in with nn.GRU's interface
whose state_dict holds numpy arrays in PyTorch's layout, gates stacked in the order r, z, n:
weight_ih_l0 (3H × I), weight_hh_l0 (3H × H), bias_ih_l0 and bias_hh_l0 (3H). With torch
installed, main() uses a real nn.GRU with those weights. libfpf's cell `gru_torch` uses
PyTorch's "reset after" formulas:

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))
    h' = (1 − z) ∘ n + z ∘ h
"""

import numpy as np

import fpf


def make_state_dict(n_inputs=3, n_hidden=8, seed=0, scale=1.5):
    """A PyTorch-layout GRU state_dict (numpy arrays) with fairly strong recurrence."""
    rng = np.random.default_rng(seed)
    H, I = n_hidden, n_inputs
    return {
        "weight_ih_l0": rng.normal(0, 1 / np.sqrt(I), (3 * H, I)),
        "weight_hh_l0": rng.normal(0, scale / np.sqrt(H), (3 * H, H)),
        "bias_ih_l0": rng.normal(0, 0.1, 3 * H),
        "bias_hh_l0": rng.normal(0, 0.1, 3 * H),
    }


def torch_gru_step(sd, x, h):
    """PyTorch's nn.GRU step in numpy: x (n × I), h (n × H) → h'."""
    H = h.shape[1]
    gi = x @ sd["weight_ih_l0"].T + sd["bias_ih_l0"]
    gh = h @ sd["weight_hh_l0"].T + sd["bias_hh_l0"]
    sig = lambda v: 1 / (1 + np.exp(-v))
    r = sig(gi[:, :H] + gh[:, :H])
    z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


class GruStandIn:
    """What fpf.from_torch reads from an nn.GRU: its mode, sizes and state_dict."""

    mode, num_layers, bidirectional, batch_first = "GRU", 1, False, True

    def __init__(self, sd):
        self._sd = sd
        self.hidden_size, self.input_size = sd["weight_hh_l0"].shape[1], sd["weight_ih_l0"].shape[1]

    def state_dict(self):
        return dict(self._sd)


def torch_gru(sd):
    """A real torch.nn.GRU holding `sd`, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    H3, I = sd["weight_ih_l0"].shape
    gru = torch.nn.GRU(I, H3 // 3, batch_first=True)
    gru.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in sd.items()})
    return gru


def rnn_from_torch(sd, readout_weight, readout_bias):
    """A libfpf network from a GRU state_dict and an nn.Linear readout (weight O × H)."""
    return fpf.from_torch(GruStandIn(sd), readout=(readout_weight, readout_bias))


def main():
    I, H, O = 3, 8, 3
    sd = make_state_dict(I, H)
    rng = np.random.default_rng(1)
    readout = (rng.normal(0, 0.3, (O, H)), np.zeros(O))
    gru = torch_gru(sd)
    print("from", "a torch.nn.GRU" if gru is not None else "an nn.GRU stand-in (no torch)")
    rnn = fpf.from_torch(gru if gru is not None else GruStandIn(sd), readout=readout)

    # The same step as PyTorch.
    x, h = rng.normal(size=(5, I)), rng.uniform(-1, 1, (5, H))
    err = np.max(np.abs(rnn.step(x, h) - torch_gru_step(sd, x, h)))
    print(f"max |libfpf − PyTorch formulas| over 5 steps: {err:.2e}")

    # Fixed points at zero input from trajectories driven by random pulses. The reference's
    # default lr_init = 1.0 throws these states far into the GRU's saturated region, where
    # every optimized state is then a distance outlier; 0.1 keeps them near the data.
    pulses = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=(32, 50, I))
    _, states = rnn(pulses)
    finder = fpf.FixedPointFinder(rnn, lr_init=0.1, tol_q=1e-10, tol_unique=1e-3,
                                  dtype="float64", verbose=False)
    unique_fps, _ = finder.find_fixed_points(states, np.zeros((1, I)), n_inits=256,
                                             noise_scale=0.1)
    unique_fps.print_summary()
    for k in range(unique_fps.n):
        lam = np.abs(unique_fps.eigval_J_xstar[k, 0])
        kind = "stable" if unique_fps.is_stable[k] else "unstable"
        print(f"  #{k + 1}: q = {unique_fps.qstar[k]:.1e}, max |λ| = {lam:.3f} ({kind})")
    if unique_fps.n == 0:
        raise SystemExit("no fixed point found")
    return unique_fps


if __name__ == "__main__":
    main()
