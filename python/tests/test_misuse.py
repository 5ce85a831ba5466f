"""Every misuse the issue lists (and their neighbours) raises a clear exception naming the
argument, before any pointer crosses into the library."""

import copy
import gc
import pickle

import numpy as np
import pytest

import fpf
from conftest import TUTORIAL


def small_rnn(**kw):
    return fpf.FlipFlopRNN(3, 4, 3, seed=1, **kw)


def test_too_narrow_initial_states_and_trajectories():
    rnn = small_rnn()
    finder = fpf.FixedPointFinder(rnn, verbose=False)
    with pytest.raises(ValueError, match=r"`initial_states`.*n_states=4"):
        finder.find_fixed_points(initial_states=np.zeros((8, 3)), inputs=np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"`initial_states`"):
        finder.find_fixed_points(np.zeros((8, 5)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"`state_traj`.*n_states=4"):
        finder.find_fixed_points(np.zeros((2, 10, 3)), np.zeros((1, 3)), n_inits=4)


def test_one_dimensional_initial_state_is_refused_with_a_hint():
    finder = fpf.FixedPointFinder(small_rnn(), verbose=False)
    with pytest.raises(ValueError, match=r"`state_traj`.*1-D.*x\[None, :\]"):
        finder.find_fixed_points(np.zeros(4), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"`initial_states`.*1-D"):
        finder.find_fixed_points(initial_states=np.zeros(4), inputs=np.zeros((1, 3)))


def test_inputs_rows_and_width():
    finder = fpf.FixedPointFinder(small_rnn(), verbose=False)
    x0 = np.zeros((6, 4))
    with pytest.raises(ValueError, match=r"`inputs`.*n_inputs=3"):
        finder.find_fixed_points(x0, np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"`inputs` must have 1 row or one per initial state"):
        finder.find_fixed_points(x0, np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"`inputs`"):
        finder.find_fixed_points(x0, None)
    # One shared 1-D input row is accepted.
    u, _ = finder.find_fixed_points(x0, np.zeros(3))
    assert u.n_inputs == 3


def test_training_data_shapes_are_checked():
    rnn = small_rnn()
    data = fpf.FlipFlopData(3, 16, 0.5, 0).generate_data(8)
    narrow = {"inputs": data["inputs"][:, :, :2], "targets": data["targets"]}
    with pytest.raises(ValueError, match=r"train_data\['inputs'\].*n_inputs=3"):
        fpf.train_flipflop_rnn(rnn, narrow, batch_size=4, max_epochs=1, verbose=False)
    bad_targets = {"inputs": data["inputs"], "targets": data["targets"][:, :8]}
    with pytest.raises(ValueError, match=r"train_data\['targets'\].*n_time"):
        fpf.train_flipflop_rnn(rnn, bad_targets, batch_size=4, max_epochs=1, verbose=False)
    other_t = fpf.FlipFlopData(3, 12, 0.5, 0).generate_data(8)
    with pytest.raises(ValueError, match=r"valid_data\['inputs'\].*n_time=16"):
        fpf.train_flipflop_rnn(rnn, data, other_t, batch_size=4, max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"`batch_size` = 128 is larger than the 8"):
        fpf.train_flipflop_rnn(rnn, data, max_epochs=1, verbose=False)
    with pytest.raises(TypeError, match=r"`train_data` must be a dict"):
        fpf.train_flipflop_rnn(rnn, data["inputs"], verbose=False)
    with pytest.raises(ValueError, match=r"learning_rate"):
        fpf.train_flipflop_rnn(rnn, data, batch_size=4, learning_rate=-1.0, verbose=False)
    with pytest.raises(TypeError, match=r"train_flipflop_rnn has no option 'no_such'"):
        fpf.train_flipflop_rnn(rnn, data, batch_size=4, no_such=1, verbose=False)
    with pytest.raises(ValueError, match=r"`train_flipflop_rnn.dtype`"):
        fpf.train_flipflop_rnn(rnn, data, batch_size=4, dtype="float16", verbose=False)


def test_copies_and_pickles_own_their_handles():
    rnn = small_rnn()
    w = rnn.get_param("w_hh")
    shallow, deep = copy.copy(rnn), copy.deepcopy(rnn)
    pickled = pickle.loads(pickle.dumps(rnn))
    del rnn
    gc.collect()
    for c in (shallow, deep, pickled):
        assert np.array_equal(c.get_param("w_hh"), w)
    # Copies are independent.
    shallow.set_param("w_hh", np.zeros((4, 4)))
    assert np.array_equal(deep.get_param("w_hh"), w)
    # A finder copies and pickles with its options and model.
    finder = fpf.FixedPointFinder(deep, lr_init=0.1, max_iters=77, verbose=False)
    for f in (copy.copy(finder), copy.deepcopy(finder), pickle.loads(pickle.dumps(finder))):
        assert (f.lr_init, f.max_iters) == (0.1, 77)
        f.max_iters = 5
        assert finder.max_iters == 77
    assert copy.copy(finder).rnn_model is deep and copy.deepcopy(finder).rnn_model is not deep
    pca = fpf.Pca(np.random.default_rng(0).normal(size=(50, 4)), 2)
    p2 = pickle.loads(pickle.dumps(pca))
    assert np.allclose(p2.transform(np.ones((3, 4))), pca.transform(np.ones((3, 4))))


def test_bytes_round_trip_and_bad_bytes():
    rnn = small_rnn(rnn_type="gru")
    b = rnn.to_bytes()
    back = fpf.FlipFlopRNN.from_bytes(b)
    assert back.rnn_type == "gru" and np.array_equal(back.get_param("w_hn"),
                                                     rnn.get_param("w_hn"))
    with pytest.raises(fpf.FpfError) as e:
        fpf.FlipFlopRNN.from_bytes(b[:-5])
    assert e.value.status_name == "FPF_BAD_FORMAT"
    with pytest.raises(TypeError, match=r"`data` must be bytes"):
        fpf.FlipFlopRNN.from_bytes("not bytes")


def test_options_set_after_construction_are_honoured(fixture_rnn):
    rnn, inits = fixture_rnn
    finder = fpf.FixedPointFinder(rnn, **TUTORIAL)
    finder.max_iters = 3
    finder.newton_polish = False
    assert finder.max_iters == 3
    _, all_fps = finder.find_fixed_points(inits[:64], np.zeros((1, 3)))
    assert all_fps.n_iters.max() <= 3


def test_bad_options_raise_naming_the_option():
    rnn = small_rnn()
    with pytest.raises(ValueError, match=r"`FixedPointFinder.method`.*'foo'"):
        fpf.FixedPointFinder(rnn, method="foo")
    with pytest.raises(ValueError, match=r"`FixedPointFinder.dtype`.*float16"):
        fpf.FixedPointFinder(rnn, dtype="float16")
    with pytest.raises(ValueError, match=r"`FixedPointFinder.max_iters` must be at least 0"):
        fpf.FixedPointFinder(rnn, max_iters=-1)
    with pytest.raises(TypeError, match=r"`FixedPointFinder.max_iters` must be an int"):
        fpf.FixedPointFinder(rnn, max_iters=2.5)
    with pytest.raises(TypeError, match=r"`FixedPointFinder.verbose` must be True or False"):
        fpf.FixedPointFinder(rnn, verbose="yes")
    with pytest.raises(TypeError, match=r"no option 'no_such_option'"):
        fpf.FixedPointFinder(rnn, no_such_option=1)
    finder = fpf.FixedPointFinder(rnn, verbose=False)
    with pytest.raises(ValueError, match=r"lr_init"):
        finder.lr_init = -1.0
    assert finder.lr_init == 1.0  # unchanged after a refused value
    with pytest.raises(ValueError, match=r"`FixedPointFinder.method`"):
        finder.method = "foo"
    with pytest.raises(AttributeError, match=r"no option 'max_iter'"):
        finder.max_iter = 10
    with pytest.raises(TypeError, match=r"`rnn_model` must be a FlipFlopRNN"):
        fpf.FixedPointFinder(object())
    finder.max_n_unique = np.inf
    assert finder.max_n_unique == np.inf
    finder.max_n_unique = 5
    assert finder.max_n_unique == 5
    finder.dtype = np.float64
    assert finder.dtype == "float64"


def test_set_param_takes_exactly_the_parameter_shape():
    rnn = fpf.FlipFlopRNN(3, 4, 2, seed=0)
    w = np.arange(8.0).reshape(4, 2)
    rnn.set_param("w_out", w)
    assert np.array_equal(rnn.get_param("w_out"), w)
    with pytest.raises(ValueError, match=r"`w_out` must have shape \[dim0=4, dim1=2\]"):
        rnn.set_param("w_out", w.T)  # same element count, transposed
    with pytest.raises(ValueError, match=r"`w_out` must be a 2-D array"):
        rnn.set_param("w_out", w.ravel())
    with pytest.raises(KeyError, match=r"no parameter 'w_xx'"):
        rnn.set_param("w_xx", w)
    with pytest.raises(ValueError, match=r"`w_out`\[0, 1\] is nan"):
        rnn.set_param("w_out", np.where(w == 1, np.nan, w))
    # load_state_dict changes nothing when one entry is wrong.
    with pytest.raises(ValueError):
        rnn.load_state_dict({"w_out": np.zeros((4, 2)), "b_out": np.zeros(3)})
    assert np.array_equal(rnn.get_param("w_out"), w)


def test_element_types_and_layouts():
    rnn = small_rnn()
    x = np.random.default_rng(0).uniform(-1, 1, (5, 4))
    u = np.zeros((5, 3))
    want = rnn.step(u, x)
    # Non-contiguous, Fortran-ordered, integer and float32 arrays are converted or copied.
    assert np.array_equal(rnn.step(u, np.asfortranarray(x)), want)
    big = np.zeros((5, 8))
    big[:, ::2] = x
    assert np.array_equal(rnn.step(u, big[:, ::2]), want)
    assert rnn.step(np.zeros((5, 3), dtype=np.int32), x.astype(np.float32)).dtype == np.float64
    with pytest.raises(TypeError, match=r"`h` must hold real numbers; got dtype complex"):
        rnn.step(u, x + 1j)
    with pytest.raises(TypeError, match=r"`h` must hold real numbers"):
        rnn.step(u, np.array([["a"] * 4] * 5))
    with pytest.raises(TypeError, match=r"`h` is not an array of numbers"):
        rnn.step(u, [[1, 2, 3, 4], [1, 2]])
    with pytest.raises(ValueError, match=r"`x` must have shape \[n=5, n_inputs=3\]"):
        rnn.step(np.zeros((4, 3)), x)
    with pytest.raises(ValueError, match=r"`inputs`.*n_inputs=3"):
        rnn(np.zeros((2, 5, 2)))
    with pytest.raises(ValueError, match=r"`hidden` must have shape"):
        rnn(np.zeros((2, 5, 3)), np.zeros((3, 4)))


def test_constructor_arguments():
    with pytest.raises(ValueError, match=r"`rnn_type` must be one of"):
        fpf.FlipFlopRNN(3, 4, 3, rnn_type="elman")
    with pytest.raises(ValueError, match=r"`n_hidden` must be at least 1"):
        fpf.FlipFlopRNN(3, 0, 3)
    with pytest.raises(TypeError, match=r"`n_inputs` must be an int"):
        fpf.FlipFlopRNN(3.0, 4, 3)
    with pytest.raises(ValueError, match=r"`init` must be one of"):
        fpf.FlipFlopRNN(3, 4, 3, init="xavier")
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\]"):
        fpf.FlipFlopData(3, 64, 1.5)
    with pytest.raises(ValueError, match=r"`n_trials` must be at least 1"):
        fpf.FlipFlopData(3, 64, 0.5).generate_data(0)


def test_dtype_is_honoured_in_outputs(fixture_rnn):
    rnn, inits = fixture_rnn
    for dtype, real, cplx in (("float32", np.float32, np.complex64),
                              ("float64", np.float64, np.complex128)):
        f = fpf.FixedPointFinder(rnn, **{**TUTORIAL, "dtype": dtype})
        u, a = f.find_fixed_points(inits[:128], np.zeros((1, 3)))
        for fps in (u, a):
            assert fps.xstar.dtype == real and fps.qstar.dtype == real
            assert fps.dtype is real
        assert u.J_xstar.dtype == real and u.eigval_J_xstar.dtype == cplx
        assert u.n_iters.dtype == np.int64 and u.is_stable.dtype == bool
        assert f.sample_states(inits[None], 8).dtype == real


def test_cond_ids_are_kept_in_both_sets(fixture_rnn):
    rnn, inits = fixture_rnn
    f = fpf.FixedPointFinder(rnn, **TUTORIAL)
    ids = np.arange(256) * 10 + 7
    u, a = f.find_fixed_points(initial_states=inits[:256], inputs=np.zeros((1, 3)),
                               cond_ids=ids)
    assert np.array_equal(a.cond_id, ids)
    assert u.cond_id is not None and len(u.cond_id) == u.n > 0
    for k in range(u.n):  # each unique point carries the id of the state it came from
        i = (u.cond_id[k] - 7) // 10
        assert np.array_equal(u.x_init[k], inits[i].astype(u.x_init.dtype))
    assert u[u.is_stable].cond_id.shape == (u.n_stable(),)
    with pytest.raises(ValueError, match=r"`cond_ids` must have shape \[n_inits=256\]"):
        f.find_fixed_points(initial_states=inits[:256], inputs=np.zeros((1, 3)),
                            cond_ids=ids[:10])
    with pytest.raises(TypeError, match=r"`cond_ids` must be integers"):
        f.find_fixed_points(initial_states=inits[:256], inputs=np.zeros((1, 3)),
                            cond_ids=ids + 0.5)


def test_nan_padded_trials_with_valid_bxt(fixture_rnn):
    rnn, _ = fixture_rnn
    x = np.random.default_rng(0).normal(size=(4, 10, 3))
    _, states = rnn(x)
    valid = np.ones((4, 10), dtype=bool)
    valid[1, 6:] = valid[3, 2:] = False
    padded = states.copy()
    padded[~valid] = np.nan
    f = fpf.FixedPointFinder(rnn, **TUTORIAL)
    s = f.sample_states(padded, 20, valid_bxt=valid, seed=3)
    assert np.all(np.isfinite(s))
    # The samples are states at valid entries.
    pool = states[valid]
    assert all(np.min(np.abs(pool - row).max(axis=1)) < 1e-6 for row in s)
    u, _ = f.find_fixed_points(padded, np.zeros((1, 3)), n_inits=20, valid_bxt=valid)
    assert u.n > 0
    with pytest.raises(ValueError, match=r"`state_traj`\[1, \d+, 0\] is nan in a state marked"):
        f.sample_states(padded, 20)  # no mask: the NaN is in a valid state
    with pytest.raises(ValueError, match=r"`valid_bxt` must have shape \[n_batch=4, n_time=10\]"):
        f.sample_states(padded, 20, valid_bxt=valid[:, :5])
    with pytest.raises(ValueError, match=r"`valid_bxt` marks no state"):
        f.sample_states(padded, 20, valid_bxt=np.zeros((4, 10), dtype=bool))
    with pytest.raises(ValueError, match=r"valid_bxt and noise_scale apply only"):
        f.find_fixed_points(states[:, 0], np.zeros((1, 3)), valid_bxt=valid)


def test_checkpoints_missing_corrupt_and_mismatched(tmp_path):
    rnn = small_rnn()
    path = tmp_path / "m.fpf"
    assert fpf.load_checkpoint(rnn, path) is False
    fpf.save_checkpoint(rnn, path)
    other = fpf.FlipFlopRNN(3, 4, 3, seed=9)
    assert fpf.load_checkpoint(other, str(path)) is True
    assert np.array_equal(other.get_param("w_hh"), rnn.get_param("w_hh"))
    wrong = fpf.FlipFlopRNN(3, 5, 3, seed=9)
    before = wrong.get_param("w_hh")
    with pytest.raises(fpf.FpfError) as e:
        fpf.load_checkpoint(wrong, path)
    assert e.value.status_name == "FPF_MISMATCH" and "n_hidden" in e.value.message
    assert np.array_equal(wrong.get_param("w_hh"), before)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(fpf.FpfError) as e:
        fpf.load_checkpoint(other, path)
    assert e.value.status_name == "FPF_BAD_FORMAT"
    with pytest.raises(TypeError, match=r"`model` must be a FlipFlopRNN"):
        fpf.load_checkpoint("rnn", path)
    with pytest.raises(fpf.FpfError) as e:
        fpf.save_checkpoint(rnn, tmp_path / "no_such_dir" / "m.fpf")
    assert e.value.status_name == "FPF_IO"

