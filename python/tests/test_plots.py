"""The plots: what they draw (artists checked), in which order, into which axes, and that
they leave matplotlib's backend alone and return the figure open."""

import numpy as np
import pytest

import fpf

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def found(fixture_rnn):
    from conftest import TUTORIAL
    rnn, inits = fixture_rnn
    _, hiddens = rnn(fpf.FlipFlopData(3, 64, 0.5, 42).generate_data(40)["inputs"])
    unique, _ = fpf.FixedPointFinder(rnn, **TUTORIAL).find_fixed_points(inits, np.zeros((1, 3)))
    return unique, hiddens


def n_unstable_modes(fps):
    return int(sum(np.sum(np.abs(fps.eigval_J_xstar[i]) > 1) for i in range(fps.n)
                   if not fps.is_stable[i]))


@pytest.mark.parametrize("dims", [2, 3])
def test_plot_draws_the_original_figure(found, tmp_path, dims):
    unique, hiddens = found
    backend = matplotlib.get_backend()
    plot = fpf.plot_fixed_points_2d if dims == 2 else fpf.plot_fixed_points_3d
    path = tmp_path / f"fps_{dims}d.png"
    cfg = fpf.PlotConfig(title="flip-flop", save_path=str(path))
    fig = plot(unique, hiddens, config=cfg, plot_batch_idx=list(range(10)), plot_start_time=5)
    assert matplotlib.get_backend() == backend
    assert plt.fignum_exists(fig.number)  # returned open
    assert path.exists() and path.stat().st_size > 1000
    ax = fig.axes[0]
    assert ax.get_title() == "flip-flop" and ax.get_xlabel() == "PC 1"
    lines = ax.get_lines()
    traj = [ln for ln in lines if ln.get_color() == "cornflowerblue"]
    modes = [ln for ln in lines if ln.get_color() == "red"]
    assert len(traj) == 10
    assert len(modes) == n_unstable_modes(unique) > 0
    by_label = {c.get_label(): c for c in ax.collections}
    stable, unstable = by_label["stable"], by_label["unstable"]
    n_st = unique.n_stable()
    assert len(stable.get_offsets()) == n_st == 8
    assert len(unstable.get_offsets()) == unique.n - n_st
    assert np.allclose(stable.get_facecolor()[0][:3], 0.0)  # filled black
    # Trajectories beneath the modes, the modes beneath the points.
    assert max(ln.get_zorder() for ln in traj) < min(ln.get_zorder() for ln in modes)
    assert max(ln.get_zorder() for ln in modes) < min(stable.get_zorder(),
                                                       unstable.get_zorder())
    plt.close(fig)


def test_plot_into_given_axes_and_keyword_options(found):
    unique, hiddens = found
    fig, (a, b) = plt.subplots(1, 2)
    out = fpf.plot_fixed_points_2d(unique, hiddens, ax=b, title="right", show_legend=False)
    assert out is fig and b.get_title() == "right" and not a.get_lines()
    assert b.get_legend() is None
    with pytest.raises(ValueError, match="3-D axes"):
        fpf.plot_fixed_points_3d(unique, hiddens, ax=a)
    with pytest.raises(TypeError, match="unknown plot option 'colour'"):
        fpf.plot_fixed_points_2d(unique, hiddens, colour="red")

    class CannsPlotConfig:  # another library's config object with the same fields
        title, xlabel, figsize, show = "canns", "x", (4, 3), False

    fig2 = fpf.plot_fixed_points_2d(unique, hiddens, config=CannsPlotConfig())
    assert fig2.axes[0].get_title() == "canns" and fig2.axes[0].get_xlabel() == "x"
    assert tuple(fig2.get_size_inches()) == (4, 3)
    empty = unique[np.zeros(unique.n, dtype=bool)]
    fig3 = fpf.plot_fixed_points_2d(empty, hiddens)
    assert not fig3.axes[0].collections
    with pytest.raises(ValueError, match="state_traj"):
        fpf.plot_fixed_points_2d(unique, hiddens[0])
    plt.close("all")
