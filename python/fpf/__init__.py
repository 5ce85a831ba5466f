"""fpf: fixed points of recurrent neural networks, computed by libfpf (Rust, through its C
ABI), with the API of canns' FixedPointFinder and of the original FixedPointFinder.

    import numpy as np
    from fpf import FlipFlopData, FlipFlopRNN, FixedPointFinder, train_flipflop_rnn
    gen = FlipFlopData(n_bits=3, n_time=64, p=0.5, random_seed=42)
    train, valid, test = (gen.generate_data(n) for n in (512, 128, 128))
    rnn = FlipFlopRNN(3, 16, 3, rnn_type="tanh", seed=42)
    train_flipflop_rnn(rnn, train, valid, max_epochs=500)
    _, hiddens = rnn(test["inputs"])
    finder = FixedPointFinder(rnn, lr_init=0.02, tol_q=1e-4, final_q_threshold=1e-6,
                              tol_unique=1e-2)
    unique_fps, all_fps = finder.find_fixed_points(hiddens, np.zeros((1, 3)), n_inits=1024,
                                                   noise_scale=0.4)
    unique_fps.print_summary()

Every failing library call raises FpfError(status, message); a bad argument raises
ValueError or TypeError naming it before anything reaches the library.
"""

from ._lib import (ABI_VERSION, STATUS_NAMES, Cancelled, FpfError, abi_version, lib,
                   lib_origin, lib_path, version)
from .callback import CallbackModel
from .checkpoint import load_checkpoint, save_checkpoint
from .continuation import Bifurcation, Branch, Continuation
from .convert import from_keras, from_torch
from .data import FlipFlopData
from .finder import FixedPointFinder
from .fixed_points import FixedPoints
from .model import FlipFlopRNN
from .plotting import PlotConfig, plot_fixed_points_2d, plot_fixed_points_3d
from .train import train_flipflop_rnn
from .utils import Pca, eig

__version__ = "0.2.0"

__all__ = [
    "FpfError", "Cancelled", "FlipFlopData", "FlipFlopRNN", "train_flipflop_rnn",
    "FixedPointFinder", "FixedPoints", "Pca", "eig", "save_checkpoint", "load_checkpoint",
    "from_torch", "from_keras", "PlotConfig", "plot_fixed_points_2d", "plot_fixed_points_3d",
    "version", "abi_version", "lib_path", "STATUS_NAMES", "ABI_VERSION", "Continuation",
    "Branch", "Bifurcation", "CallbackModel",
]
