"""Analyzing a PyTorch nn.GRU with libfpf, from its state_dict arrays.

With torch, the arrays come from a trained model:

    sd = {k: v.detach().cpu().numpy() for k, v in gru.state_dict().items()}
    readout = (linear.weight.detach().numpy(), linear.bias.detach().numpy())

Here they are built with numpy (no torch needed): the layout is PyTorch's, gates stacked in
the order r, z, n: weight_ih_l0 (3H × I), weight_hh_l0 (3H × H), bias_ih_l0 and bias_hh_l0
(3H). libfpf's cell `gru_torch` uses PyTorch's "reset after" formulas:

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


def rnn_from_torch(sd, readout_weight, readout_bias):
    """A libfpf network from a GRU state_dict and an nn.Linear readout (weight O × H)."""
    H3, I = sd["weight_ih_l0"].shape
    O = readout_weight.shape[0]
    rnn = fpf.FlipFlopRNN(I, H3 // 3, O, rnn_type="gru_torch")
    rnn.load_state_dict(dict(sd, w_out=readout_weight.T, b_out=readout_bias))
    return rnn


def main():
    I, H, O = 3, 8, 3
    sd = make_state_dict(I, H)
    rng = np.random.default_rng(1)
    rnn = rnn_from_torch(sd, rng.normal(0, 0.3, (O, H)), np.zeros(O))

    # The same step as PyTorch.
    x, h = rng.normal(size=(5, I)), rng.uniform(-1, 1, (5, H))
    err = np.max(np.abs(rnn.step(x, h) - torch_gru_step(sd, x, h)))
    print(f"max |libfpf − PyTorch formulas| over 5 steps: {err:.2e}")

    # Fixed points at zero input from trajectories driven by random pulses.
    pulses = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=(32, 50, I))
    _, states = rnn(pulses)
    finder = fpf.FixedPointFinder(rnn, tol_q=1e-10, tol_unique=1e-3, dtype="float64")
    unique_fps, _ = finder.find_fixed_points(states, np.zeros((1, I)), n_inits=256,
                                             noise_scale=0.1)
    unique_fps.print_summary()
    for k in range(unique_fps.n):
        lam = np.abs(unique_fps.eigval_J_xstar[k, 0])
        kind = "stable" if unique_fps.is_stable[k] else "unstable"
        print(f"  #{k + 1}: q = {unique_fps.qstar[k]:.1e}, max |λ| = {lam:.3f} ({kind})")
    return unique_fps


if __name__ == "__main__":
    main()
