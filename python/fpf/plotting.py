"""Fixed points among state trajectories in the first 2 or 3 principal components
(canns' plot_fixed_points_2d/3d, drawing what the original FixedPointFinder's plot draws).

matplotlib is optional and imported only here, when a plot is made; the backend is never
changed (a notebook's inline backend, a desktop window or Agg, whatever the user has)."""

import dataclasses

import numpy as np

from ._check import to_numpy
from .fixed_points import FixedPoints
from .utils import Pca


@dataclasses.dataclass
class PlotConfig:
    """canns' PlotConfig fields used by the fixed-point plots, plus the original's
    mode_scale (half-length of the unstable-mode lines, in state units)."""
    title: str = ""
    xlabel: str = "PC 1"
    ylabel: str = "PC 2"
    zlabel: str = "PC 3"
    figsize: tuple = (10, 8)
    save_path: str = None
    show: bool = False
    show_legend: bool = True
    grid: bool = False
    dpi: int = 100
    mode_scale: float = 0.25
    plot_unstable_modes: bool = True


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib (pip install matplotlib, or "
                          "pip install 'libfpf[plot]')") from None
    return plt


def _config(config, dims, kwargs):
    if config is None:
        config = PlotConfig(title=f"Fixed Points ({dims}D PCA)",
                            figsize=(10, 8) if dims == 2 else (12, 10))
    elif not isinstance(config, PlotConfig):
        # canns' own PlotConfig, or any object with these attributes.
        config = PlotConfig(**{f.name: getattr(config, f.name, f.default)
                               for f in dataclasses.fields(PlotConfig)})
    else:
        config = dataclasses.replace(config)
    for k, v in kwargs.items():
        if not hasattr(config, k):
            raise TypeError(f"unknown plot option {k!r} (PlotConfig fields: "
                            f"{', '.join(f.name for f in dataclasses.fields(PlotConfig))})")
        setattr(config, k, v)
    return config


def _plot(fps, state_traj, dims, config, plot_batch_idx, plot_start_time, ax, kwargs):
    if not isinstance(fps, FixedPoints):
        raise TypeError(f"`fixed_points` must be a FixedPoints; got {type(fps).__name__}")
    traj = np.asarray(to_numpy(state_traj), dtype=float)
    if traj.ndim != 3:
        raise ValueError(f"`state_traj` must be [n_batch, n_time, n_states]; got shape "
                         f"{traj.shape}")
    if fps.n and traj.shape[2] != fps.n_states:
        raise ValueError(f"`state_traj` has {traj.shape[2]} states per step; the fixed "
                         f"points {fps.n_states}")
    if traj.shape[2] < dims:
        raise ValueError(f"a {dims}-D plot needs at least {dims} state dimensions; got "
                         f"{traj.shape[2]}")
    cfg = _config(config, dims, kwargs)
    batches = (list(range(min(30, traj.shape[0]))) if plot_batch_idx is None
               else [int(b) for b in plot_batch_idx])
    segs = [traj[b, plot_start_time:] for b in batches]
    pca = Pca(np.concatenate(segs, axis=0), dims)
    plt = _pyplot()
    if ax is None:
        fig = plt.figure(figsize=cfg.figsize)
        ax = fig.add_subplot(111, projection="3d" if dims == 3 else None)
    else:
        fig = ax.figure
        if dims == 3 and getattr(ax, "name", "") != "3d":
            raise ValueError("plot_fixed_points_3d needs a 3-D axes "
                             "(fig.add_subplot(projection='3d'))")
    # Trajectories beneath everything else.
    for k, seg in enumerate(segs):
        ax.plot(*pca.transform(seg).T, color="cornflowerblue", lw=0.6, alpha=0.5, zorder=1,
                label="trajectories" if k == 0 else None)
    if fps.n:
        z = pca.transform(np.asarray(fps.xstar, dtype=float))
        stable = (np.asarray(fps.is_stable, dtype=bool) if fps.is_stable is not None
                  else np.zeros(fps.n, dtype=bool))
        # Unstable modes: a line along the real part of each eigenvector with |λ| > 1.
        if (cfg.plot_unstable_modes and fps.eigval_J_xstar is not None
                and fps.eigvec_J_xstar is not None):
            first = True
            for i in np.nonzero(~stable)[0]:
                w, v = fps.eigval_J_xstar[i], fps.eigvec_J_xstar[i]
                for k in np.nonzero(np.abs(w) > 1.0)[0]:
                    d = np.real(v[:, k]).astype(float)
                    norm = np.linalg.norm(d)
                    if not np.isfinite(norm) or norm == 0:
                        continue
                    d *= cfg.mode_scale / norm
                    x = np.asarray(fps.xstar[i], dtype=float)
                    ends = pca.transform(np.stack([x - d, x + d]))
                    ax.plot(*ends.T, color="red", lw=1.5, zorder=2,
                            label="unstable modes" if first else None)
                    first = False
        if stable.any():
            ax.scatter(*z[stable].T, marker="o", s=60, c="black", edgecolors="black",
                       zorder=4, label="stable")
        if (~stable).any():
            ax.scatter(*z[~stable].T, marker="x", s=60, c="red", linewidths=2, zorder=3,
                       label="unstable")
    ax.set_title(cfg.title)
    ax.set_xlabel(cfg.xlabel)
    ax.set_ylabel(cfg.ylabel)
    if dims == 3:
        ax.set_zlabel(cfg.zlabel)
    if cfg.show_legend:
        ax.legend()
    if cfg.grid:
        ax.grid(True, alpha=0.3)
    if cfg.save_path:
        fig.savefig(cfg.save_path, dpi=cfg.dpi)
    if cfg.show:
        plt.show()
    return fig


def plot_fixed_points_2d(fixed_points, state_traj, config=None, plot_batch_idx=None,
                         plot_start_time=0, ax=None, **options):
    """Trajectories (lines, beneath), unstable-mode lines, stable fixed points (filled) and
    unstable ones (crosses) in the first two principal components of the plotted
    trajectories. ``config``: a PlotConfig (canns' works too); any of its fields may also be
    given as keywords (title=…, save_path=…, show=…). ``ax``: draw into these axes. Returns
    the figure, left open (matplotlib's backend is left alone)."""
    return _plot(fixed_points, state_traj, 2, config, plot_batch_idx, plot_start_time, ax,
                 options)


def plot_fixed_points_3d(fixed_points, state_traj, config=None, plot_batch_idx=None,
                         plot_start_time=0, ax=None, **options):
    """As plot_fixed_points_2d, in three principal components (``ax`` must be 3-D)."""
    return _plot(fixed_points, state_traj, 3, config, plot_batch_idx, plot_start_time, ax,
                 options)
