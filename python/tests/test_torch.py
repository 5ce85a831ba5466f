"""from_torch against real PyTorch modules: the converted network steps as the module's own
forward call, and the fixed points libfpf finds are fixed points of the module itself (its own
step, its own autograd Jacobian). Skipped without torch (a failure under CI, which installs it)."""

import os
import runpy

import numpy as np
import pytest

import fpf
from conftest import ROOT

torch = pytest.importorskip("torch")

I, H, O, N = 3, 6, 2, 7
KINDS = {"RNN": (torch.nn.RNN, 1, "tanh"), "GRU": (torch.nn.GRU, 3, "gru_torch"),
         "LSTM": (torch.nn.LSTM, 4, "lstm")}


def module(kind, seed=0, scale=0.8, symmetric=False, bias=True, batch_first=False,
           dtype=torch.float64):
    """A one-layer torch module of `kind` with weights drawn by numpy (so they do not depend
    on torch's generator): recurrent blocks N(0, scale²/H), symmetric if asked."""
    cls, G, _ = KINDS[kind]
    m = cls(I, H, bias=bias, batch_first=batch_first)
    rng = np.random.default_rng(seed)
    w_hh = rng.normal(0, scale / np.sqrt(H), (G * H, H))
    if symmetric:
        for g in range(G):
            blk = w_hh[g * H:(g + 1) * H]
            w_hh[g * H:(g + 1) * H] = (blk + blk.T) / 2
    sd = {"weight_ih_l0": rng.normal(0, 1 / np.sqrt(I), (G * H, I)), "weight_hh_l0": w_hh}
    if bias:
        sd.update(bias_ih_l0=rng.normal(0, 0.2, G * H), bias_hh_l0=rng.normal(0, 0.2, G * H))
    m.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    return m.to(dtype)


def torch_run(m, x, h):
    """The module's own forward call from state h [n, state_dim] over inputs x [n, T, I]:
    the states [n, T, state_dim] (for an LSTM [h, c], stepping one call per time step, since
    the module returns c only at the end) and the outputs [n, T, H]."""
    dt = next(m.parameters()).dtype
    x = torch.as_tensor(x, dtype=dt)
    h = torch.as_tensor(h, dtype=dt)
    seq = (lambda a: a) if m.batch_first else (lambda a: a.transpose(0, 1))
    with torch.no_grad():
        if not isinstance(m, torch.nn.LSTM):
            out, _ = m(seq(x), h[None].contiguous())
            return seq(out).numpy(), seq(out).numpy()
        hh, cc = h[None, :, :H].contiguous(), h[None, :, H:].contiguous()
        states, outs = [], []
        for t in range(x.shape[1]):
            out, (hh, cc) = m(seq(x[:, t:t + 1]), (hh, cc))
            outs.append(seq(out)[:, 0])
            states.append(torch.cat([hh[0], cc[0]], 1))
        return torch.stack(states, 1).numpy(), torch.stack(outs, 1).numpy()


def torch_step(m, x, h):
    return torch_run(m, x[:, None, :], h)[0][:, 0]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_converted_network_steps_as_the_torch_module(kind, batch_first, bias):
    m = module(kind, seed=1, bias=bias, batch_first=batch_first)
    lin = torch.nn.Linear(H, O).double()
    rnn = fpf.from_torch(m, readout=lin)
    S = 2 * H if kind == "LSTM" else H
    assert rnn.rnn_type == KINDS[kind][2]
    assert (rnn.n_inputs, rnn.n_hidden, rnn.n_outputs, rnn.state_dim) == (I, H, O, S)
    rng = np.random.default_rng(2)
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, S))
    assert np.abs(rnn.step(x, h) - torch_step(m, x, h)).max() < 1e-12
    # Twenty steps from h, and the readout: nn.Linear applied to the module's outputs.
    xs = rng.normal(size=(N, 20, I))
    y, states = rnn(xs, h)
    ref_states, ref_out = torch_run(m, xs, h)
    assert np.abs(states - ref_states).max() < 1e-12
    with torch.no_grad():
        ref_y = lin(torch.tensor(ref_out)).numpy()
    assert np.abs(y - ref_y).max() < 1e-12
    # From h0 = 0 (torch's default initial state): the same trajectory as the module's.
    _, from_zero = rnn(xs)
    assert np.abs(from_zero - torch_run(m, xs, np.zeros((N, S)))[0]).max() < 1e-12


@pytest.mark.parametrize("cls,S", [(torch.nn.RNNCell, H), (torch.nn.GRUCell, H),
                                   (torch.nn.LSTMCell, 2 * H)])
def test_cells_convert_and_step_as_their_forward(cls, S):
    cell = cls(I, H).double()
    rng = np.random.default_rng(5)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.tensor(rng.normal(0, 0.6, p.shape)))
    rnn = fpf.from_torch(cell)
    assert rnn.state_dim == S
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, S))
    with torch.no_grad():
        if cls is torch.nn.LSTMCell:
            h2, c2 = cell(torch.tensor(x), (torch.tensor(h[:, :H]), torch.tensor(h[:, H:])))
            want = torch.cat([h2, c2], 1).numpy()
        else:
            want = cell(torch.tensor(x), torch.tensor(h)).numpy()
    assert np.abs(rnn.step(x, h) - want).max() < 1e-12


def test_pruned_module_converts_as_its_forward_sees_it():
    """torch.nn.utils.prune keeps weight_hh_l0_orig and a mask in the state_dict; the weight
    the module runs with is the masked one."""
    import torch.nn.utils.prune as prune
    m = module("LSTM", seed=6)
    prune.l1_unstructured(m, "weight_hh_l0", amount=0.5)
    assert "weight_hh_l0" not in m.state_dict()
    rnn = fpf.from_torch(m)
    assert np.sum(rnn.get_param("weight_hh_l0") == 0) == m.weight_hh_l0.numel() // 2
    rng = np.random.default_rng(7)
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, 2 * H))
    assert np.abs(rnn.step(x, h) - torch_step(m, x, h)).max() < 1e-12


def test_parametrized_module_converts_as_its_forward_sees_it():
    """weight_norm keeps the weight as two `parametrizations.…` tensors in the state_dict."""
    from torch.nn.utils.parametrizations import weight_norm
    m = module("GRU", seed=8)
    weight_norm(m, "weight_hh_l0")
    assert "weight_hh_l0" not in m.state_dict()
    rnn = fpf.from_torch(m)
    rng = np.random.default_rng(9)
    x, h = rng.normal(size=(N, I)), rng.uniform(-1, 1, (N, H))
    assert np.abs(rnn.step(x, h) - torch_step(m, x, h)).max() < 1e-12


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_reduced_precision_modules_and_tensors(dtype):
    """A module in float32 (torch's default), float16 or bfloat16 converts exactly (its
    weights widened to double); tensors of those types are accepted as states and inputs."""
    m = module("GRU", seed=3, dtype=dtype)
    rnn = fpf.from_torch(m)
    wide = module("GRU", seed=3, dtype=dtype).double()  # the same rounded weights, in double
    for name, p in wide.state_dict().items():
        assert np.array_equal(rnn.get_param(name), p.numpy()), name
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.normal(size=(N, I))).to(dtype)
    h = torch.tensor(rng.uniform(-1, 1, (N, H))).to(dtype)
    want = torch_step(wide, x.double().numpy(), h.double().numpy())
    assert np.abs(rnn.step(x, h) - want).max() < 1e-12


@pytest.mark.parametrize("kind", list(KINDS))
def test_fixed_points_are_fixed_points_of_the_torch_module(kind):
    """Strong symmetric recurrence (several attractors and saddles); initial states from the
    module's own trajectories; every point found is a fixed point of the module's own step
    at zero input, with the module's own (autograd) Jacobian, and its stability from it."""
    scale = {"RNN": 2.5, "GRU": 5.0, "LSTM": 6.0}[kind]
    m = module(kind, seed=0, scale=scale, symmetric=True, batch_first=True)
    rnn = fpf.from_torch(m)
    S = rnn.state_dim
    rng = np.random.default_rng(0)
    pulses = np.zeros((32, 40, I))
    pulses[:, :5] = rng.normal(0, 2, (32, 5, I))
    states, _ = torch_run(m, pulses, np.zeros((32, S)))
    finder = fpf.FixedPointFinder(rnn, lr_init=0.1, tol_q=1e-14, final_q_threshold=1e-12,
                                  tol_unique=1e-3, dtype="float64", verbose=False)
    unique, _ = finder.find_fixed_points(torch.tensor(states), np.zeros((1, I)), n_inits=128,
                                         noise_scale=0.05)
    assert unique.n >= 2 and 1 <= unique.n_stable() < unique.n, (unique.n, unique.n_stable())
    zero = torch.zeros(1, I, dtype=torch.float64)

    def F(v):  # the module's own step at zero input, differentiable for autograd
        if kind == "LSTM":
            _, (h2, c2) = m(zero[None], (v[None, None, :H], v[None, None, H:]))
            return torch.cat([h2[0, 0], c2[0, 0]])
        return m(zero[None], v[None, None])[1][0, 0]

    for k in range(unique.n):
        x = torch.tensor(unique.xstar[k])
        with torch.no_grad():
            assert (F(x) - x).norm().item() < 1e-10, (k, unique.qstar[k])
        J = torch.autograd.functional.jacobian(F, x).numpy()
        assert J.shape == (S, S)
        assert np.abs(J - unique.J_xstar[k]).max() < 1e-10  # J[i, j] = ∂F_i/∂x_j
        assert bool(unique.is_stable[k]) == (np.abs(np.linalg.eigvals(J)).max() < 1)


@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM])
def test_stacked_modules_step_and_read_out_as_torch(cls):
    # num_layers = 3: the state is [h_0, h_1, h_2] ([h, c] per layer for the LSTM), layer l
    # reads layer l−1's new h, and the readout reads the top layer's h.
    torch.manual_seed(1)
    m, lin = cls(I, H, num_layers=3).double(), torch.nn.Linear(H, 2).double()
    rnn = fpf.from_torch(m, readout=lin)
    per = 2 * H if cls is torch.nn.LSTM else H
    assert (rnn.num_layers, rnn.state_dim) == (3, 3 * per)
    n = 5
    x = np.random.default_rng(2).normal(size=(n, I))
    h = np.random.default_rng(3).uniform(-1, 1, (n, 3 * per))
    layers = torch.tensor(h).reshape(n, 3, per).transpose(0, 1)
    with torch.no_grad():
        if cls is torch.nn.LSTM:
            out, (hn, cn) = m(torch.tensor(x)[None], (layers[..., :H].contiguous(),
                                                       layers[..., H:].contiguous()))
            want = torch.cat([hn, cn], -1)
        else:
            out, want = m(torch.tensor(x)[None], layers.contiguous())
        y_want = lin(out[0]).numpy()
    want = want.transpose(0, 1).reshape(n, 3 * per).numpy()
    assert np.abs(rnn.step(x, h) - want).max() < 1e-13
    y, _ = rnn(x[:, None, :], h)
    assert np.abs(y[:, 0] - y_want).max() < 1e-13


def test_what_from_torch_refuses():
    with pytest.raises(ValueError, match="bidirectional"):
        fpf.from_torch(torch.nn.LSTM(I, H, bidirectional=True))
    with pytest.raises(ValueError, match="relu"):
        fpf.from_torch(torch.nn.RNN(I, H, nonlinearity="relu"))
    with pytest.raises(ValueError, match="proj_size"):
        fpf.from_torch(torch.nn.LSTM(I, H, proj_size=2))
    with pytest.raises(TypeError, match="torch.nn.RNN, GRU or LSTM"):
        fpf.from_torch(torch.nn.Linear(I, H))
    with pytest.raises(ValueError, match=r"readout weight must be \[n_outputs, 6\]"):
        fpf.from_torch(torch.nn.GRU(I, H), readout=torch.nn.Linear(H + 1, O))


def test_import_torch_example_uses_torch_and_finds_fixed_points(capsys):
    path = os.path.join(ROOT, "ffi-examples", "python", "import_torch.py")
    if not os.path.exists(path):
        pytest.skip(f"{path} is not here")
    fps = runpy.run_path(path, run_name="import_torch")["main"]()
    out = capsys.readouterr().out
    assert "from a torch.nn.GRU" in out, out
    assert fps.n >= 2 and fps.n_stable() >= 1, out  # two attractors and a saddle
    assert f"Number of fixed points: {fps.n}" in out
    line = "largest ‖h − GRU(h)‖ by torch at the fixed points: "
    residual = float(out.split(line)[1].split()[0])
    assert residual < 1e-5, out  # torch's own float32 step


def test_tensors_from_a_forward_pass_are_taken_everywhere(tmp_path):
    """The module's output as it comes (float32, requiring grad) where the API takes states:
    the search, the plots, transform, find and `in`."""
    m = module("GRU", seed=0, scale=5.0, symmetric=True, batch_first=True, dtype=torch.float32)
    rnn = fpf.from_torch(m)
    pulses = torch.zeros(16, 30, I)
    pulses[:, :5] = torch.tensor(np.random.default_rng(1).normal(0, 2, (16, 5, I)))
    out, _ = m(pulses)
    assert out.requires_grad and out.dtype == torch.float32
    finder = fpf.FixedPointFinder(rnn, lr_init=0.1, verbose=False)
    unique, _ = finder.find_fixed_points(out, torch.zeros(1, I), n_inits=64, noise_scale=0.05)
    assert unique.n >= 1
    x = torch.tensor(unique.xstar[0], requires_grad=True)
    assert x in unique and list(unique.find(x)) == [0]
    moved = unique.transform(torch.eye(H, dtype=torch.float64), torch.ones(H))
    assert np.allclose(moved.xstar, unique.xstar + 1)
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = fpf.plot_fixed_points_2d(unique, out, save_path=str(tmp_path / "fps.png"))
    assert (tmp_path / "fps.png").stat().st_size > 1000
    plt.close(fig)
