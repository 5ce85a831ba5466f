"""Continuation and sweeps from Python: the one-unit network h' = tanh(w h + u), whose
saddle-node (w > 1) and period doubling (w < -1) are known in closed form, the demo's
3-bit network, misuse, and the figure."""

import numpy as np
import pytest

import fpf


def one_unit(w, n_inputs=1):
    rnn = fpf.FlipFlopRNN(n_inputs, 1, 1, rnn_type="tanh", seed=1)
    rnn.load_state_dict({"w_ih": np.ones((1, n_inputs)), "w_hh": np.array([[w]]),
                         "b_h": np.zeros(1)})
    return rnn


def test_saddle_node_of_one_unit():
    rnn = one_unit(2.0)
    finder = fpf.FixedPointFinder(rnn, verbose=False, dtype="float64", tol_unique=1e-6,
                                  do_exclude_distance_outliers=False)
    unique, _ = finder.find_fixed_points(initial_states=np.linspace(-1, 1, 41)[:, None],
                                         inputs=np.zeros((1, 1)))
    assert unique.n == 3
    c = finder.continuation(unique, u1=[1.0], n_steps=20)  # u0 from the points' inputs
    h_c = -np.sqrt(0.5)
    u_c = np.arctanh(h_c) - 2 * h_c
    assert len(c.branches) == 2 and len(c.bifurcations) == 1
    f = c.bifurcations[0]
    assert f.kind == "saddle_node" and f.turned and f.refined
    assert abs(f.sigma - u_c) < 1e-10 and abs(f.inputs[0] - u_c) < 1e-10
    assert abs(f.xstar[0] - h_c) < 1e-6 and abs(f.eig - 1) < 1e-6
    assert (f.eig_before.real - 1) * (f.eig_after.real - 1) < 0
    b = c.branches[f.branch]
    order = np.argsort(unique.xstar[:, 0])  # the lower memory, the saddle, the upper memory
    assert b.end == "returned_to_start" and sorted(b.seeds) == sorted(order[:2])
    assert b.eigval[f.before] == f.eig_before and b.eigval[f.before + 1] == f.eig_after
    assert np.all(np.abs(b.xstar[:, 0] - np.tanh(2 * b.xstar[:, 0] + b.inputs[:, 0])) < 2e-12)
    assert np.array_equal(b.is_stable, np.abs(b.eigval[:, 0]) < 1)
    assert np.all(b.qstar < 1e-24)
    sb = c.seed_branch[order]
    assert sb[0] == sb[1] == f.branch and sb[2] != f.branch
    assert c.path.shape == (21, 1) and c.path_sigma[-1] == pytest.approx(1.0)
    for k in range(21):
        assert len(b.at_node(k)) == (2 if k / 20 < u_c else 0)
    assert "saddle-node" in c.summary()
    # The natural parameter stops at the fold.
    n = finder.continuation(unique, u1=[1.0], method="natural")
    assert [x.end for x in n.branches].count("step_too_small") == 2
    assert not n.bifurcations


def test_period_doubling_along_rows():
    rnn = one_unit(-2.0)
    finder = fpf.FixedPointFinder(rnn, verbose=False)
    rows = np.linspace(0.0, 3.0, 31)[:, None]
    c = finder.continuation(np.zeros((1, 1)), inputs=rows)
    h = np.sqrt(0.5)
    u_pd = np.arctanh(h) + 2 * h
    (f,) = c.bifurcations
    assert f.kind == "period_doubling" and not f.turned
    assert abs(f.sigma - u_pd) < 1e-10 and abs(f.eig + 1) < 1e-9
    assert c.branches[0].end == "reached_end"


def test_flipflop_minus_memories_die_in_saddle_nodes(trained):
    rnn, hiddens, _ = trained
    finder = fpf.FixedPointFinder(rnn, lr_init=0.02, tol_q=1e-4, final_q_threshold=1e-6,
                                  tol_unique=1e-2, verbose=False)
    unique, _ = finder.find_fixed_points(hiddens, np.zeros((1, 3)), n_inits=1024,
                                         noise_scale=0.4, seed=42)
    assert unique.n_stable() == 8
    c = finder.continuation(unique, u0=[0, 0, 0], u1=[1, 0, 0], n_steps=19)
    y = unique.xstar @ rnn.get_param("w_out") + rnn.get_param("b_out")
    minus = [i for i in range(unique.n) if unique.is_stable[i] and y[i, 0] < 0]
    assert len(minus) == 4
    for i in minus:
        b = c.branches[c.seed_branch[i]]
        assert b.end == "returned_to_start" and len(b.seeds) == 2
        (f,) = [f for f in c.bifurcations if f.branch == c.seed_branch[i]]
        assert f.kind == "saddle_node" and 0 < f.sigma < 0.2
    # Independent searches at the path's inputs agree with the branches.
    sweep = finder.find_fixed_points_sweep(finder.sample_states(hiddens, 1024, noise_scale=0.4,
                                                                seed=42),
                                           c.path, seed_from_previous=False)
    for k, (u, _) in enumerate(sweep):
        tracked = np.concatenate([b.xstar[b.at_node(k)] for b in c.branches])
        for x in u.xstar:
            assert np.min(np.linalg.norm(tracked - x, axis=1)) < 1e-6


def test_sweep():
    rnn = one_unit(2.0)
    finder = fpf.FixedPointFinder(rnn, verbose=False, dtype="float64", tol_unique=1e-6,
                                  do_exclude_distance_outliers=False)
    inits = np.linspace(-1, 1, 21)[:, None]
    for seeded in (False, True):
        res = finder.find_fixed_points_sweep(inits, [[0.0], [0.25], [0.5], [0.75]],
                                             seed_from_previous=seeded)
        assert [u.n for u, _ in res] == [3, 3, 3, 1]
        assert all(a.n == 21 for _, a in res)
        assert np.all(res[1][0].inputs == 0.25)


def test_misuse():
    rnn = one_unit(2.0)
    finder = fpf.FixedPointFinder(rnn, verbose=False)
    seeds = np.zeros((1, 1))
    with pytest.raises(TypeError, match="step_maxx"):
        finder.continuation(seeds, u1=[1.0], step_maxx=0.1)
    with pytest.raises(ValueError, match="method"):
        finder.continuation(seeds, u1=[1.0], method="arclength")
    with pytest.raises(ValueError, match="step_min"):
        finder.continuation(seeds, u1=[1.0], step_max=0.1, step_min=0.2)
    with pytest.raises(TypeError, match="not both"):
        finder.continuation(seeds, u0=[0.0], u1=[1.0], inputs=[[0.0], [1.0]])
    with pytest.raises(TypeError, match="u1"):
        finder.continuation(seeds)
    with pytest.raises(ValueError, match="fixed_points"):
        finder.continuation(np.zeros((1, 2)), u1=[1.0])
    with pytest.raises(ValueError, match="u1"):
        finder.continuation(seeds, u1=[1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 rows"):
        finder.continuation(seeds, inputs=[[0.0]])
    with pytest.raises(fpf.FpfError, match="repeat"):
        finder.continuation(seeds, inputs=[[0.0], [0.0]])
    with pytest.raises(ValueError, match="n_inputs"):
        finder.find_fixed_points_sweep(seeds, np.zeros((2, 3)))
    auto = fpf.FlipFlopRNN(0, 2, 1)
    with pytest.raises(ValueError, match="no inputs"):
        fpf.FixedPointFinder(auto, verbose=False).continuation(np.zeros((1, 2)), u1=[])


def test_plot_draws_branches_by_stability():
    matplotlib = pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    rnn = one_unit(2.0)
    finder = fpf.FixedPointFinder(rnn, verbose=False)
    seeds = np.array([[-0.9575040243905722], [0.0], [0.9575040243905722]])
    c = finder.continuation(seeds, u1=[1.0])
    backend = matplotlib.get_backend()
    ax = c.plot()
    styles = [(ln.get_linestyle(), ln.get_color()) for ln in ax.get_lines()]
    assert ("-", "tab:blue") in styles and ("--", "tab:red") in styles
    assert sum(1 for ln in ax.get_lines() if ln.get_marker() == "o") == 1
    assert matplotlib.get_backend() == backend
    plt.close(ax.figure)
