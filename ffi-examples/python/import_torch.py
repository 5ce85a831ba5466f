"""Analyzing a PyTorch nn.GRU with libfpf (needs torch: pip install torch).

A model made in PyTorch converts in one call:

    rnn = fpf.from_torch(gru, readout=linear)     # nn.GRU (or nn.RNN, nn.LSTM), nn.Linear

The GRU here is an ordinary float32 `torch.nn.GRU(batch_first=True)` with fairly strong
recurrence: two attractors and the saddle between them (weights drawn by numpy, so the run
is the same with every torch version). The converted network is libfpf's cell `gru_torch`
in double precision, with PyTorch's formulas:

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn))
    h' = (1 − z) ∘ n + z ∘ h

The states the search starts from are the GRU's own trajectories (a torch tensor is taken as
it is), and every fixed point found is checked with the GRU's own forward call.
"""

import numpy as np

try:
    import torch
except ImportError:
    raise SystemExit("import_torch.py needs PyTorch (pip install torch)") from None

import fpf


def make_gru(n_inputs=3, n_hidden=8, n_outputs=3, seed=1, scale=3.0):
    """A float32 torch.nn.GRU (batch_first) and an nn.Linear readout, weights from numpy."""
    rng = np.random.default_rng(seed)
    H, I = n_hidden, n_inputs
    gru = torch.nn.GRU(I, H, batch_first=True)
    gru.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in {
        "weight_ih_l0": rng.normal(0, 1 / np.sqrt(I), (3 * H, I)),
        "weight_hh_l0": rng.normal(0, scale / np.sqrt(H), (3 * H, H)),
        "bias_ih_l0": rng.normal(0, 0.1, 3 * H),
        "bias_hh_l0": rng.normal(0, 0.1, 3 * H)}.items()})
    linear = torch.nn.Linear(H, n_outputs)
    linear.load_state_dict({"weight": torch.tensor(rng.normal(0, 0.3, (n_outputs, H)),
                                                   dtype=torch.float32),
                            "bias": torch.zeros(n_outputs)})
    return gru, linear


def torch_step(gru, x, h):
    """One step of the GRU's own forward call: x [n, I], h [n, H] (numpy) → h' (numpy)."""
    with torch.no_grad():
        _, h_next = gru(torch.tensor(x, dtype=torch.float32)[:, None, :],
                        torch.tensor(h, dtype=torch.float32)[None])
    return h_next[0].numpy()


def main():
    I, H, O = 3, 8, 3
    gru, linear = make_gru(I, H, O)
    rnn = fpf.from_torch(gru, readout=linear)
    print("from a torch.nn.GRU:", rnn)

    # The same step as PyTorch (float32 there, double here: they agree to float32's rounding).
    rng = np.random.default_rng(1)
    x, h = rng.normal(size=(5, I)), rng.uniform(-1, 1, (5, H))
    err = np.max(np.abs(rnn.step(x, h) - torch_step(gru, x, h)))
    print(f"max |libfpf − torch.nn.GRU| over 5 steps: {err:.2e}")

    # Fixed points at zero input, from the GRU's own trajectories driven by random pulses.
    # The reference's default lr_init = 1.0 throws these states far into the GRU's saturated
    # region, where every optimized state is then a distance outlier; 0.1 keeps them near
    # the data.
    pulses = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=(32, 50, I))
    with torch.no_grad():
        states, _ = gru(torch.tensor(pulses, dtype=torch.float32))
    finder = fpf.FixedPointFinder(rnn, lr_init=0.1, tol_q=1e-10, tol_unique=1e-3,
                                  dtype="float64", verbose=False)
    unique_fps, _ = finder.find_fixed_points(states, np.zeros((1, I)), n_inits=256,
                                             noise_scale=0.1)
    unique_fps.print_summary()
    if unique_fps.n == 0:
        raise SystemExit("no fixed point found")
    # Checked by PyTorch: ‖h − GRU(h)‖ at each point, with the GRU's own step (float32).
    residual = np.linalg.norm(
        torch_step(gru, np.zeros((unique_fps.n, I)), unique_fps.xstar) - unique_fps.xstar,
        axis=1)
    for k in range(unique_fps.n):
        lam = np.abs(unique_fps.eigval_J_xstar[k, 0])
        kind = "stable" if unique_fps.is_stable[k] else "unstable"
        print(f"  #{k + 1}: q = {unique_fps.qstar[k]:.1e}, max |λ| = {lam:.3f} ({kind}), "
              f"‖h − GRU(h)‖ by torch = {residual[k]:.1e}")
    print(f"largest ‖h − GRU(h)‖ by torch at the fixed points: {residual.max():.1e}")
    return unique_fps


if __name__ == "__main__":
    main()
