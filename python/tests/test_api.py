"""The reference APIs: canns' and the original FixedPointFinder's finder and FixedPoints,
verbose output through sys.stdout, progress and cancellation."""

import contextlib
import io
import os

import numpy as np
import pytest

import fpf
from conftest import DATA, TUTORIAL, read_array


def test_tutorial_fixture_both_forms(fixture_rnn):
    rnn, inits = fixture_rnn
    finder = fpf.FixedPointFinder(rnn, **TUTORIAL)
    unique, all_fps = finder.find_fixed_points(inits, np.zeros((1, 3)))  # the original's form
    assert (unique.n, unique.n_stable(), all_fps.n) == (25, 8, 1024)
    refined = read_array(os.path.join(DATA, "flipflop3_h4_s42", "refined_xstar.txt"))
    for w in refined:
        assert np.min(np.max(np.abs(unique.xstar - w), axis=1)) < 1e-6
    assert unique.J_xstar.shape == (25, 4, 4) and unique.dFdu.shape == (25, 4, 3)
    assert unique.eigvec_J_xstar.shape == (25, 4, 4)
    assert np.array_equal(unique.is_stable, np.abs(unique.eigval_J_xstar[:, 0]) < 1)
    # canns' form: sampling from a trajectory.
    _, hiddens = rnn(fpf.FlipFlopData(3, 64, 0.5, 42).generate_data(64)["inputs"])
    u2, a2 = finder.find_fixed_points(state_traj=hiddens, inputs=np.zeros((1, 3)),
                                      n_inits=256, noise_scale=0.4)
    assert u2.n_stable() == 8 and a2.n == 256
    # Positional options in canns' order.
    f2 = fpf.FixedPointFinder(rnn, "sequential", 123)
    assert (f2.method, f2.max_iters) == ("sequential", 123)


def test_options_are_the_library_struct_members():
    rnn = fpf.FlipFlopRNN(3, 4, 3)
    f = fpf.FixedPointFinder(rnn)
    members = [n for n, _ in fpf._lib.FinderOptions._fields_
               if n not in ("struct_size", "log", "log_user")]
    assert f.options() == members
    for name in ("method", "max_iters", "tol_q", "tol_dq", "lr_init", "lr_factor",
                 "lr_patience", "lr_cooldown", "do_compute_jacobians", "do_decompose_jacobians",
                 "tol_unique", "do_exclude_distance_outliers", "outlier_distance_scale",
                 "do_rerun_q_outliers", "outlier_q_scale", "max_n_unique", "final_q_threshold",
                 "dtype", "verbose", "super_verbose", "n_iters_per_print_update"):
        assert name in members
    # canns' defaults.
    assert (f.method, f.max_iters, f.tol_q, f.lr_init, f.max_n_unique, f.dtype, f.verbose) == \
        ("joint", 5000, 1e-12, 1.0, np.inf, "float32", True)
    opts = f.get_options()
    assert fpf.FixedPointFinder(rnn, **opts).get_options() == opts


def test_sampling(fixture_rnn):
    rnn, _ = fixture_rnn
    x = np.random.default_rng(1).choice([-1.0, 0.0, 1.0], size=(8, 20, 3))
    _, states = rnn(x)
    f = fpf.FixedPointFinder(rnn, **TUTORIAL)
    a, b = f.sample_states(states, 30, seed=5), f.sample_states(states, 30, seed=5)
    assert a.shape == (30, 4) and np.array_equal(a, b)
    noisy = f.sample_states(states, 30, noise_scale=0.1, seed=5)
    assert not np.array_equal(noisy, a)
    u, s = f.sample_inputs_and_states(x, states, 40, seed=2)
    assert u.shape == (40, 3) and s.shape == (40, 4)
    flat_x, flat_s = x.reshape(-1, 3), states.reshape(-1, 4)
    for ui, si in zip(u, s):  # input and state come from the same (trial, time)
        k = np.argmin(np.abs(flat_s - si).max(axis=1))
        assert np.abs(flat_s[k] - si).max() < 1e-6 and np.array_equal(flat_x[k], ui)
    _, s_noisy = f.sample_inputs_and_states(x, states, 40, noise_scale=0.2, seed=2)
    assert np.abs(s_noisy - s).max() > 0.01
    with pytest.raises(ValueError, match=r"`inputs` must have shape \[n_batch=8, n_time=20"):
        f.sample_inputs_and_states(x[:, :5], states, 4)


def test_fixed_points_methods(fixture_rnn, tmp_path, capsys):
    rnn, inits = fixture_rnn
    unique, all_fps = fpf.FixedPointFinder(rnn, **TUTORIAL).find_fixed_points(
        inits, np.zeros((1, 3)))
    # get_unique reduces the optimized states as the finder does (before its filters).
    again = all_fps.get_unique()
    assert again.n >= unique.n
    doubled = fpf.FixedPoints.concatenate([unique, unique])
    assert doubled.n == 50 and doubled.get_unique().n == 25
    # find / __contains__.
    assert unique[3] in unique and list(unique.find(unique[3])) == [3]
    far = unique[3].transform(np.eye(4), offset=10.0)
    assert far not in unique and unique.xstar[0] in unique
    # Indexing.
    assert unique[3].n == 1 and unique[3].xstar.shape == (1, 4)
    assert unique[2:5].n == 3 and unique[unique.is_stable].n == 8
    with pytest.raises(IndexError):
        unique[25]
    # update appends in place; __setitem__ overwrites.
    u2 = unique[:2]
    u2.update(unique[2:4])
    assert u2.n == 4 and np.array_equal(u2.xstar, unique.xstar[:4])
    u2[0] = unique[5]
    assert np.array_equal(u2.xstar[0], unique.xstar[5])
    # transform onto principal components.
    pca = fpf.Pca(unique.xstar, 2)
    t = unique.transform(pca.components_.T, offset=-pca.mean_ @ pca.components_.T)
    assert t.xstar.shape == (25, 2) and t.n_states == 2 and t.J_xstar is None
    assert np.allclose(t.xstar, pca.transform(unique.xstar), atol=1e-5)
    # decompose_jacobians with libfpf's solver agrees with the finder's.
    d = fpf.FixedPoints(**{**unique.kwargs, "eigval_J_xstar": None, "eigvec_J_xstar": None,
                           "is_stable": None})
    d.decompose_jacobians()
    assert np.array_equal(d.is_stable, unique.is_stable)
    assert np.allclose(d.eigval_J_xstar, unique.eigval_J_xstar, atol=1e-5)
    # save / restore.
    p = tmp_path / "fps.npz"
    unique.save(p)
    back = fpf.FixedPoints().restore(p)
    assert back.n == 25 and back.tol_unique == unique.tol_unique
    for name in ("xstar", "J_xstar", "eigvec_J_xstar", "is_stable", "n_iters"):
        assert np.array_equal(getattr(back, name), getattr(unique, name)), name
    assert back.dtype is unique.dtype
    assert fpf.FixedPoints.load(p).n == 25
    capsys.readouterr()
    unique.print_shapes()
    out = capsys.readouterr().out
    assert "xstar: (25, 4)" in out and "J_xstar: (25, 4, 4)" in out
    unique.print_summary()
    out = capsys.readouterr().out
    assert "Number of fixed points: 25" in out and "Stable fixed points: 8 / 25" in out
    with pytest.raises(ValueError, match=r"has 3 points but qstar"):
        fpf.FixedPoints(xstar=np.zeros((3, 2)), qstar=np.zeros(2))


def test_outlier_helpers_follow_the_finder(fixture_rnn):
    rnn, inits = fixture_rnn
    opts = {**TUTORIAL, "outlier_distance_scale": 0.8}
    f = fpf.FixedPointFinder(rnn, **opts)
    kept, all_fps = f.find_fixed_points(inits, np.zeros((1, 3)))
    no_filter = fpf.FixedPointFinder(rnn, **{**opts, "do_exclude_distance_outliers": False})
    everything, _ = no_filter.find_fixed_points(inits, np.zeros((1, 3)))
    mine = f.exclude_distance_outliers(everything, inits)
    assert mine.n == kept.n < everything.n
    assert np.allclose(np.sort(mine.qstar), np.sort(kept.qstar))
    assert list(f._identify_distance_non_outliers(everything, inits, 0.8)) == \
        list(f.identify_distance_non_outliers(everything, inits, 0.8))
    q = all_fps.qstar
    t = float(np.median(q))
    out, ok = f.identify_q_outliers(all_fps, t), f.identify_q_non_outliers(all_fps, t)
    assert len(out) + len(ok) == all_fps.n and np.all(q[out] > t)
    rerun = f.run_additional_iterations_on_outliers(all_fps[:32])
    assert rerun.n == 32


def test_verbose_goes_through_sys_stdout(fixture_rnn):
    rnn, inits = fixture_rnn
    f = fpf.FixedPointFinder(rnn, **{**TUTORIAL, "verbose": True, "super_verbose": True})
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        f.find_fixed_points(inits[:64], np.zeros((1, 3)), progress=False)
    text = buf.getvalue()
    assert "Searching for fixed points from 64 initial states." in text
    assert "Iter: 100, q = " in text and "Fixed point finding complete." in text
    data = fpf.FlipFlopData(3, 16, 0.5, 1).generate_data(32)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fpf.train_flipflop_rnn(fpf.FlipFlopRNN(3, 4, 3), data, data, batch_size=16,
                               max_epochs=3, progress=False)
    assert "Epoch    0: train_loss" in buf.getvalue()
    # Quiet means quiet.
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fpf.FixedPointFinder(rnn, **TUTORIAL).find_fixed_points(inits[:8], np.zeros((1, 3)))
    assert buf.getvalue() == ""


def test_progress_and_cancel(fixture_rnn):
    rnn, inits = fixture_rnn
    f = fpf.FixedPointFinder(rnn, **TUTORIAL)
    seen = []
    f.find_fixed_points(inits[:64], np.zeros((1, 3)), progress=lambda p: seen.append(p["iter"]))
    assert len(seen) > 10 and seen == sorted(seen)
    with pytest.raises(fpf.Cancelled):
        f.find_fixed_points(inits[:64], np.zeros((1, 3)), progress=lambda p: p["iter"] < 5)

    def interrupt(p):
        if p["iter"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        f.find_fixed_points(inits[:64], np.zeros((1, 3)), progress=interrupt)
    # The tqdm bar (installed for these tests) in joint and sequential modes.
    f.find_fixed_points(inits[:16], np.zeros((1, 3)), progress=True)
    f.method = "sequential"
    f.find_fixed_points(inits[:4], np.zeros((1, 3)), progress=True)
    # Training: stop after 2 epochs, keep what was learnt.
    data = fpf.FlipFlopData(3, 16, 0.5, 1).generate_data(32)
    net = fpf.FlipFlopRNN(3, 4, 3)
    before = net.get_param("w_hh")
    losses = fpf.train_flipflop_rnn(net, data, batch_size=16, max_epochs=50, verbose=False,
                                    progress=lambda p: p["epoch"] < 1)
    assert len(losses) == 2 and not np.array_equal(net.get_param("w_hh"), before)
    losses = fpf.train_flipflop_rnn(net, data, batch_size=16, max_epochs=3, verbose=False,
                                    progress=True)
    assert len(losses) == 3
    with pytest.raises(TypeError, match=r"`progress` must be"):
        fpf.train_flipflop_rnn(net, data, batch_size=16, max_epochs=3, progress="yes")


def test_eig_and_pca():
    a = np.array([[0.0, 1.0], [-2.0, 0.0]])
    w, v = fpf.eig(a)
    assert np.allclose(sorted(w.imag), [-np.sqrt(2), np.sqrt(2)])
    assert np.allclose(a @ v, v * w)
    with pytest.raises(ValueError, match=r"`a` must be square"):
        fpf.eig(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"`k` must be at least 1 and at most 3"):
        fpf.Pca(np.zeros((10, 3)), 4)


def test_training_threads_are_an_option_and_change_nothing():
    # n_threads is a member of the library's training options, so it is a keyword here;
    # batch 80 = chunks of 32, 32 and 16 trials, summed in a fixed order on any thread count.
    data = fpf.FlipFlopData(3, 16, 0.5, 1).generate_data(96)
    nets = [fpf.FlipFlopRNN(3, 8, 3, rnn_type="gru", seed=1) for _ in range(3)]
    for net, n in zip(nets, (1, 2, 0)):
        fpf.train_flipflop_rnn(net, data, batch_size=80, max_epochs=2, verbose=False,
                               n_threads=n)
    for net in nets[1:]:
        for name in net.param_names():
            assert np.array_equal(net.get_param(name), nets[0].get_param(name)), name
    with pytest.raises(ValueError, match="n_threads"):
        fpf.train_flipflop_rnn(nets[0], data, batch_size=16, max_epochs=1, verbose=False,
                               n_threads=5000)
