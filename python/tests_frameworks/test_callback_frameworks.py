"""CallbackModel from PyTorch and JAX (imports torch and jax: without them this file fails
to collect, it never skips; .ci/run runs this directory in a venv it installs them in): a PyTorch nn.GRU gives the same fixed points through
fpf.from_torch (the built-in cell) and through the callback (torch.autograd VJPs), and so
do nn.RNN and nn.LSTM, the same GRU written as a JAX function (jax.vjp), a two-layer
nn.GRU's callback points are certified by PyTorch itself, and two-layer nn.GRU, nn.RNN and
nn.LSTM modules give the same points through fpf.from_torch (the built-in stacked model)
and through the callback."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import fpf

OPTS = dict(lr_init=0.02, tol_q=1e-12, tol_unique=1e-3, final_q_threshold=1e-16,
            dtype="float64", verbose=False, n_threads=1)


def trained_module(kind, hidden=8, seed=42):
    """A torch module with the weights of a FlipFlopRNN trained briefly by the library on
    the 3-bit flip-flop, and 256 initial states from its test trajectories."""
    gen = fpf.FlipFlopData(3, 64, 0.5, seed)
    tr, te = gen.generate_data(256), gen.generate_data(64)
    cell = {"rnn": "tanh", "gru": "gru_torch", "lstm": "lstm"}[kind]
    rnn = fpf.FlipFlopRNN(3, hidden, 3, rnn_type=cell, seed=seed)
    fpf.train_flipflop_rnn(rnn, tr, None, max_epochs=150, seed=seed, verbose=False)
    _, hiddens = rnn(te["inputs"])
    inits = fpf.FixedPointFinder(rnn, **OPTS).sample_states(hiddens, 256, noise_scale=0.4,
                                                             seed=seed)
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    m = cls(3, hidden, batch_first=True)
    names = ["weight_ih_l0", "weight_hh_l0"] + (
        ["bias_ih_l0", "bias_hh_l0"] if kind != "rnn" else [])
    sd = {k: torch.tensor(rnn.get_param(k), dtype=torch.float32) for k in names}
    if kind == "rnn":  # the tanh cell keeps one bias row: all of it in bias_ih
        sd["bias_ih_l0"] = torch.tensor(rnn.get_param("b_h"), dtype=torch.float32)
        sd["bias_hh_l0"] = torch.zeros(hidden)
    m.load_state_dict(sd)
    return m, inits


def assert_same(a, b, label):
    assert a.n == b.n, f"{label}: {a.n} points one way, {b.n} the other"
    for i in range(a.n):
        d = np.max(np.abs(b.xstar - a.xstar[i]), axis=1)
        j = int(np.argmin(d))
        assert d[j] < 1e-8, f"{label}: point {i} is {d[j]:.1e} from the nearest"
        assert a.is_stable[i] == b.is_stable[j], label
        np.testing.assert_allclose(a.J_xstar[i], b.J_xstar[j], atol=1e-8, err_msg=label)
        np.testing.assert_allclose(a.dFdu[i], b.dFdu[j], atol=1e-8, err_msg=label)
        ea, eb = np.sort_complex(a.eigval_J_xstar[i]), np.sort_complex(b.eigval_J_xstar[j])
        np.testing.assert_allclose(ea, eb, atol=1e-7, err_msg=label)


def find(model, inits):
    u = np.zeros((1, model.n_inputs))
    return fpf.FixedPointFinder(model, **OPTS).find_fixed_points(initial_states=inits,
                                                                 inputs=u)[0]


@pytest.mark.parametrize("kind", ["gru", "rnn", "lstm"])
def test_a_torch_module_through_from_torch_and_through_the_callback(kind):
    m, inits = trained_module(kind)
    builtin = find(fpf.from_torch(m), inits)
    assert builtin.n >= 3 and builtin.is_stable.any() and not builtin.is_stable.all()
    cb = fpf.CallbackModel.from_torch(m)
    assert (cb.state_dim, cb.n_inputs) == (inits.shape[1], 3)
    got = find(cb, inits)
    assert_same(got, builtin, kind)
    assert_same(builtin, got, kind)
    # The module itself was left in float32.
    assert next(m.parameters()).dtype == torch.float32


def test_a_torch_callable_of_tensors():
    m, inits = trained_module("gru", hidden=6, seed=3)
    cell = torch.nn.GRUCell(3, 6).double()
    with torch.no_grad():
        for a, b in [("weight_ih", "weight_ih_l0"), ("weight_hh", "weight_hh_l0"),
                     ("bias_ih", "bias_ih_l0"), ("bias_hh", "bias_hh_l0")]:
            getattr(cell, a).copy_(getattr(m, b))
    cb = fpf.CallbackModel.from_torch(lambda h, u: cell(u, h), n_states=6, n_inputs=3)
    assert_same(find(cb, inits), find(fpf.from_torch(m), inits), "GRUCell callable")
    with pytest.raises(TypeError, match="n_states and n_inputs"):
        fpf.CallbackModel.from_torch(lambda h, u: h)
    with pytest.raises(ValueError, match="bidirectional"):
        fpf.CallbackModel.from_torch(torch.nn.GRU(3, 4, bidirectional=True))


def test_the_same_gru_as_a_jax_function():
    m, inits = trained_module("gru")
    p = {k: jnp.asarray(v.detach().numpy()) for k, v in m.state_dict().items()}
    H = 8

    def gru(h, u):
        gi = u @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        gh = h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        r = jax.nn.sigmoid(gi[:, :H] + gh[:, :H])
        z = jax.nn.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = jnp.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h

    got = find(fpf.CallbackModel.from_jax(gru, n_states=H, n_inputs=3), inits)
    assert_same(got, find(fpf.from_torch(m), inits), "JAX GRU")


def test_a_two_layer_gru_through_the_callback_is_certified_by_torch():
    torch.manual_seed(0)
    H = 3
    m = torch.nn.GRU(3, H, num_layers=2).double()
    with torch.no_grad():
        for layer in (0, 1):
            # Self-excitation of each unit's candidate: every unit bistable, so the network
            # has stable points and saddles.
            getattr(m, f"weight_hh_l{layer}")[2 * H:].mul_(0.2).add_(2.5 * torch.eye(H))
    cb = fpf.CallbackModel.from_torch(m)
    assert cb.state_dim == 2 * H
    inits = np.random.default_rng(1).uniform(-1, 1, (128, 2 * H))
    fps = find(cb, inits)
    assert fps.n >= 3 and fps.is_stable.any() and not fps.is_stable.all(), fps.n
    # Each point is a fixed point of the module's own step from [h_layer0, h_layer1].
    h = torch.tensor(fps.xstar).reshape(fps.n, 2, H).transpose(0, 1).contiguous()
    with torch.no_grad():
        _, hn = m(torch.zeros(1, fps.n, 3, dtype=torch.float64), h)
    f = hn.transpose(0, 1).reshape(fps.n, 2 * H).numpy()
    q = 0.5 * np.sum((fps.xstar - f) ** 2, axis=1)
    assert np.all(q < 1e-20), q
    # The Jacobians and stability agree with what torch.autograd gives at each point.
    for i in range(fps.n):
        jac = torch.autograd.functional.jacobian(
            lambda v: m(torch.zeros(1, 1, 3, dtype=torch.float64),
                        v.reshape(1, 2, H).transpose(0, 1).contiguous())[1]
            .transpose(0, 1).reshape(2 * H), torch.tensor(fps.xstar[i])).numpy()
        np.testing.assert_allclose(fps.J_xstar[i], jac, atol=1e-10)
        assert fps.is_stable[i] == (np.max(np.abs(np.linalg.eigvals(jac))) < 1)


@pytest.mark.parametrize("cls", [torch.nn.GRU, torch.nn.RNN, torch.nn.LSTM])
def test_a_two_layer_module_through_from_torch_and_through_the_callback(cls):
    # The built-in stacked model (analytic block Jacobians) and the module's own step with
    # torch.autograd give the same fixed points, stability, Jacobians, dF/du, eigenvalues.
    torch.manual_seed(0)
    H = 3
    m = cls(3, H, num_layers=2).double()
    G = {torch.nn.GRU: 3, torch.nn.RNN: 1, torch.nn.LSTM: 4}[cls]
    cand = {torch.nn.GRU: 2, torch.nn.RNN: 0, torch.nn.LSTM: 2}[cls]  # the candidate block
    # Self-excitation of each unit's candidate makes it bistable: in both layers of the GRU,
    # in layer 0 of the others (with both, the RNN's up to 729 points put the two searches'
    # 128 states on different subsets). Found here: GRU 3 points (2 stable), RNN 25 (7),
    # LSTM 8 (3).
    excited = (0, 1) if cls is torch.nn.GRU else (0,)
    with torch.no_grad():
        for layer in excited:
            w = getattr(m, f"weight_hh_l{layer}")
            w[cand * H:(cand + 1) * H].mul_(0.2).add_(2.5 * torch.eye(H))
            assert w.shape[0] == G * H
    builtin_model = fpf.from_torch(m)
    assert builtin_model.num_layers == 2
    cb = fpf.CallbackModel.from_torch(m)
    assert cb.state_dim == builtin_model.state_dim
    inits = np.random.default_rng(1).uniform(-1, 1, (128, cb.state_dim))
    builtin = find(builtin_model, inits)
    assert builtin.n >= 2 and builtin.is_stable.any(), builtin.n
    got = find(cb, inits)
    label = f"two-layer {cls.__name__}"
    assert_same(got, builtin, label)
    assert_same(builtin, got, label)
