"""CallbackModel with numpy functions: every built-in cell kind, written out here in numpy
(its step and VJP, the VJP checked by finite differences), gives through the callback path
the fixed points, stability, Jacobians and eigenvalues the built-in path finds from the
same initial states; and the callback path's errors."""

import numpy as np
import pytest

import fpf

sig = lambda a: 0.5 * (1 + np.tanh(0.5 * a))  # noqa: E731 - no overflow


def numpy_cell(rnn):
    """(f, vjp) of a FlipFlopRNN's cell in numpy, from its parameters; vjp gives the state
    and input parts."""
    kind, H = rnn.rnn_type, rnn.n_hidden
    p = rnn.state_dict()
    if kind == "tanh":
        W, U, b = p["w_ih"], p["w_hh"], p["b_h"]

        def f(x, u):
            return np.tanh(u @ W + x @ U + b)

        def vjp(x, u, v):
            g = v * (1 - f(x, u) ** 2)
            return g @ U.T, g @ W.T
    elif kind == "gru":
        Wr, Wz, Wn = p["w_ir"], p["w_iz"], p["w_in"]
        Ur, Uz, Un = p["w_hr"], p["w_hz"], p["w_hn"]
        br, bz, bn = p["b_r"], p["b_z"], p["b_n"]

        def gates(x, u):
            r = sig(u @ Wr + x @ Ur + br)
            z = sig(u @ Wz + x @ Uz + bz)
            n = np.tanh(u @ Wn + (r * x) @ Un + bn)
            return r, z, n

        def f(x, u):
            r, z, n = gates(x, u)
            return (1 - z) * n + z * x

        def vjp(x, u, v):
            r, z, n = gates(x, u)
            an = v * (1 - z) * (1 - n ** 2)
            drh = an @ Un.T
            ar = drh * x * r * (1 - r)
            az = v * (x - n) * z * (1 - z)
            dx = v * z + drh * r + az @ Uz.T + ar @ Ur.T
            return dx, an @ Wn.T + az @ Wz.T + ar @ Wr.T
    elif kind == "gru_torch":
        Wi, Wh = p["weight_ih_l0"], p["weight_hh_l0"]
        bi, bh = p["bias_ih_l0"], p["bias_hh_l0"]

        def gates(x, u):
            gi, gh = u @ Wi.T + bi, x @ Wh.T + bh
            r = sig(gi[:, :H] + gh[:, :H])
            z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            return r, z, n, gh[:, 2 * H:]

        def f(x, u):
            r, z, n, _ = gates(x, u)
            return (1 - z) * n + z * x

        def vjp(x, u, v):
            r, z, n, ghn = gates(x, u)
            an = v * (1 - z) * (1 - n ** 2)
            ar = an * ghn * r * (1 - r)
            az = v * (x - n) * z * (1 - z)
            dgi = np.concatenate([ar, az, an], axis=1)
            dgh = np.concatenate([ar, az, an * r], axis=1)
            return v * z + dgh @ Wh, dgi @ Wi
    elif kind == "lstm":
        Wi, Wh = p["weight_ih_l0"], p["weight_hh_l0"]
        b = p["bias_ih_l0"] + p["bias_hh_l0"]

        def gates(x, u):
            a = u @ Wi.T + x[:, :H] @ Wh.T + b
            i, fg, g, o = (sig(a[:, :H]), sig(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]),
                           sig(a[:, 3 * H:]))
            c2 = fg * x[:, H:] + i * g
            return i, fg, g, o, c2

        def f(x, u):
            i, fg, g, o, c2 = gates(x, u)
            return np.concatenate([o * np.tanh(c2), c2], axis=1)

        def vjp(x, u, v):
            i, fg, g, o, c2 = gates(x, u)
            vh, vc = v[:, :H], v[:, H:]
            t = np.tanh(c2)
            dc2 = vc + vh * o * (1 - t ** 2)
            da = np.concatenate([dc2 * g * i * (1 - i), dc2 * x[:, H:] * fg * (1 - fg),
                                 dc2 * i * (1 - g ** 2), vh * t * o * (1 - o)], axis=1)
            return np.concatenate([da @ Wh, dc2 * fg], axis=1), da @ Wi
    else:
        raise ValueError(kind)
    return f, vjp


def check_vjp(f, vjp, S, I, rng):
    """The numpy VJP against central differences of f, in the state and in the input."""
    x, u = rng.normal(0, 0.5, (3, S)), rng.normal(0, 0.5, (3, I))
    v = rng.normal(size=(3, S))
    gx, gu = vjp(x, u, v)
    h = 1e-6
    for j in range(S):
        e = np.zeros(S)
        e[j] = h
        fd = np.sum(v * (f(x + e, u) - f(x - e, u)), axis=1) / (2 * h)
        np.testing.assert_allclose(gx[:, j], fd, rtol=1e-6, atol=1e-8)
    for j in range(I):
        e = np.zeros(I)
        e[j] = h
        fd = np.sum(v * (f(x, u + e) - f(x, u - e)), axis=1) / (2 * h)
        np.testing.assert_allclose(gu[:, j], fd, rtol=1e-6, atol=1e-8)


OPTS = dict(lr_init=0.02, tol_q=1e-12, tol_unique=1e-3, final_q_threshold=1e-16,
            dtype="float64", verbose=False, n_threads=1)


def trained(kind, hidden=8, seed=42):
    gen = fpf.FlipFlopData(3, 64, 0.5, seed)
    tr, te = gen.generate_data(256), gen.generate_data(64)
    rnn = fpf.FlipFlopRNN(3, hidden, 3, rnn_type=kind, seed=seed)
    fpf.train_flipflop_rnn(rnn, tr, None, max_epochs=150, seed=seed, verbose=False)
    _, hiddens = rnn(te["inputs"])
    inits = fpf.FixedPointFinder(rnn, **OPTS).sample_states(hiddens, 256, noise_scale=0.4,
                                                             seed=seed)
    return rnn, inits


def assert_same(a, b, label, dfdu=True):
    """Every point of a near one of b (the counts equal), with the same stability,
    Jacobians and eigenvalues."""
    assert a.n == b.n, f"{label}: {a.n} points one way, {b.n} the other"
    for i in range(a.n):
        d = np.max(np.abs(b.xstar - a.xstar[i]), axis=1)
        j = int(np.argmin(d))
        assert d[j] < 1e-8, f"{label}: point {i} is {d[j]:.1e} from the nearest"
        assert a.is_stable[i] == b.is_stable[j], label
        np.testing.assert_allclose(a.J_xstar[i], b.J_xstar[j], atol=1e-8, err_msg=label)
        if dfdu:
            np.testing.assert_allclose(a.dFdu[i], b.dFdu[j], atol=1e-8, err_msg=label)
        ea, eb = np.sort_complex(a.eigval_J_xstar[i]), np.sort_complex(b.eigval_J_xstar[j])
        np.testing.assert_allclose(ea, eb, atol=1e-7, err_msg=label)


@pytest.mark.parametrize("kind", ["tanh", "gru", "gru_torch", "lstm"])
def test_every_cell_kind_through_numpy_callbacks(kind):
    rnn, inits = trained(kind)
    S, I = rnn.state_dim, rnn.n_inputs
    f, vjp = numpy_cell(rnn)
    check_vjp(f, vjp, S, I, np.random.default_rng(0))
    # The numpy step is the library's step.
    x, u = inits[:5], np.random.default_rng(1).normal(size=(5, I))
    np.testing.assert_allclose(f(x, u), rnn.step(u, x), atol=1e-12)

    zeros = np.zeros((1, I))
    built, _ = fpf.FixedPointFinder(rnn, **OPTS).find_fixed_points(initial_states=inits,
                                                                   inputs=zeros)
    assert built.n >= 3 and built.is_stable.any() and not built.is_stable.all(), built.n
    model = fpf.CallbackModel(f, vjp, S, I, input_derivatives=True)
    got, all_fps = fpf.FixedPointFinder(model, **OPTS).find_fixed_points(initial_states=inits,
                                                                         inputs=zeros)
    assert all_fps.n == len(inits)
    assert_same(got, built, kind)
    assert_same(built, got, kind)

    # Without input derivatives: the same points, no dFdu.
    only_x = fpf.CallbackModel(f, lambda x, u, v: vjp(x, u, v)[0], S, I)
    got2, _ = fpf.FixedPointFinder(only_x, **OPTS).find_fixed_points(initial_states=inits,
                                                                     inputs=zeros)
    assert got2.dFdu is None
    assert_same(got2, built, kind, dfdu=False)


def test_a_jacobian_function_is_used_and_agrees():
    rnn, inits = trained("gru", hidden=6, seed=3)
    S, I = rnn.state_dim, rnn.n_inputs
    f, vjp = numpy_cell(rnn)
    calls = []

    def jacobian(x, u):
        calls.append(len(x))
        eye = np.eye(S)
        jx = np.stack([vjp(np.repeat(x[k:k + 1], S, 0), np.repeat(u[k:k + 1], S, 0), eye)[0]
                       for k in range(len(x))])
        ju = np.stack([vjp(np.repeat(x[k:k + 1], S, 0), np.repeat(u[k:k + 1], S, 0), eye)[1]
                       for k in range(len(x))])
        return jx, ju

    zeros = np.zeros((1, I))
    built, _ = fpf.FixedPointFinder(rnn, **OPTS).find_fixed_points(initial_states=inits[:64],
                                                                   inputs=zeros)
    model = fpf.CallbackModel(f, vjp, S, I, jacobian=jacobian, input_derivatives=True)
    got, _ = fpf.FixedPointFinder(model, **OPTS).find_fixed_points(initial_states=inits[:64],
                                                                   inputs=zeros)
    assert calls, "the Jacobian function was never called"
    assert_same(got, built, "gru with a Jacobian function")


def test_trajectories_cond_ids_and_the_summary_work_on_a_callback_model(capsys):
    rnn, _ = trained("tanh", hidden=6, seed=5)
    f, vjp = numpy_cell(rnn)
    model = fpf.CallbackModel(f, vjp, rnn.state_dim, 3, input_derivatives=True)
    _, hiddens = rnn(fpf.FlipFlopData(3, 32, 0.5, 9).generate_data(16)["inputs"])
    finder = fpf.FixedPointFinder(model, **{**OPTS, "verbose": True})
    unique, all_fps = finder.find_fixed_points(hiddens, np.zeros((1, 3)), n_inits=64,
                                               noise_scale=0.2, cond_ids=np.arange(64) % 4,
                                               progress=False)
    out = capsys.readouterr().out
    assert "Searching for fixed points from 64 initial states." in out
    assert set(all_fps.cond_id) == {0, 1, 2, 3}
    unique.print_summary()
    assert "Fixed Points Summary" in capsys.readouterr().out
    for what in (lambda: finder.find_fixed_points_sweep(hiddens[:, 0], np.zeros((2, 3))),
                 lambda: finder.continuation(unique, u1=[1, 0, 0])):
        with pytest.raises(TypeError, match="built-in network"):
            what()


def test_an_exception_in_a_function_stops_the_search_and_is_raised():
    S, I = 3, 1
    A = np.diag([0.5, 0.2, -0.3])
    state = {"n": 0}

    def f(x, u):
        state["n"] += 1
        if state["n"] == 5:
            raise KeyError("boom in f")
        return x @ A.T + u

    model = fpf.CallbackModel(f, lambda x, u, v: v @ A, S, I)
    finder = fpf.FixedPointFinder(model, **OPTS)
    x0 = np.random.default_rng(2).normal(size=(10, S))
    with pytest.raises(KeyError, match="boom in f"):
        finder.find_fixed_points(initial_states=x0, inputs=np.zeros((1, 1)))
    # After the failure the model works again: one fixed point, x = (I − A)⁻¹ u = 0.
    unique, _ = finder.find_fixed_points(initial_states=x0, inputs=np.zeros((1, 1)))
    assert unique.n == 1 and np.max(np.abs(unique.xstar)) < 1e-10
    assert unique.is_stable[0]

    bad_shape = fpf.CallbackModel(lambda x, u: x[:, :2], lambda x, u, v: v, S, I)
    with pytest.raises(ValueError, match=r"`f` returned shape \(10, 2\); expected \(10, 3\)"):
        fpf.FixedPointFinder(bad_shape, **OPTS).find_fixed_points(initial_states=x0,
                                                                  inputs=np.zeros((1, 1)))
    nan = fpf.CallbackModel(lambda x, u: x * np.nan, lambda x, u, v: v, S, I)
    with pytest.raises(ValueError, match="NaN or infinity"):
        fpf.FixedPointFinder(nan, **OPTS).find_fixed_points(initial_states=x0,
                                                            inputs=np.zeros((1, 1)))
    no_pair = fpf.CallbackModel(lambda x, u: x @ A.T, lambda x, u, v: v @ A, S, I,
                                input_derivatives=True)
    with pytest.raises(ValueError, match=r"\(vjp_x, vjp_u\)"):
        fpf.FixedPointFinder(no_pair, **OPTS).find_fixed_points(initial_states=x0,
                                                                inputs=np.zeros((1, 1)))


def test_bad_arguments():
    f, v = (lambda x, u: x), (lambda x, u, g: g)
    with pytest.raises(TypeError, match="`f` must be callable"):
        fpf.CallbackModel(None, v, 3)
    with pytest.raises(TypeError, match="`vjp` must be callable"):
        fpf.CallbackModel(f, 1, 3)
    with pytest.raises(TypeError, match="`jacobian` must be callable"):
        fpf.CallbackModel(f, v, 3, jacobian="no")
    for bad in (0, -1, 2.5, True, None):
        with pytest.raises(ValueError, match="n_states"):
            fpf.CallbackModel(f, v, bad)
    with pytest.raises(ValueError, match="n_inputs"):
        fpf.CallbackModel(f, v, 3, -1)
    with pytest.raises(fpf.FpfError, match="FPF_BAD_SIZE"):
        fpf.CallbackModel(f, v, 10 ** 6)
    m = fpf.CallbackModel(f, v, 3, 2)
    with pytest.raises(fpf.FpfError, match="FPF_BAD_OPTION.*period"):
        fpf.FixedPointFinder(m, **OPTS, period=2).find_fixed_points(
            initial_states=np.zeros((2, 3)), inputs=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="n_states"):
        fpf.FixedPointFinder(m).find_fixed_points(initial_states=np.zeros((2, 4)),
                                                  inputs=np.zeros((1, 2)))
    with pytest.raises(TypeError, match="FlipFlopRNN or a CallbackModel"):
        fpf.FixedPointFinder(f)
    with pytest.raises(TypeError, match="does not pickle"):
        import pickle
        pickle.dumps(m)
    import copy
    assert copy.deepcopy(m).handle != m.handle
