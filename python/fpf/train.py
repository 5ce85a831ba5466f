"""Training a FlipFlopRNN by backpropagation through time (the tutorial's
train_flipflop_rnn), in libfpf."""

import ctypes as C

import numpy as np

from . import _check, _options
from ._lib import (LOG_TO_STDOUT_ADDR, TRAIN_PROGRESS_FN, TrainOptions, TrainReport, check,
                   lib, ptr)
from ._progress import Reporter


def _task_arrays(data, name, rnn, n_time=None):
    if not isinstance(data, dict) or "inputs" not in data or "targets" not in data:
        raise TypeError(f"`{name}` must be a dict with 'inputs' and 'targets' arrays (as "
                        f"FlipFlopData.generate_data returns); got {type(data).__name__}")
    t = "n_time" if n_time is None else ("n_time", n_time)
    x = _check.array(data["inputs"], f"{name}['inputs']",
                     ["n_trials", t, ("n_inputs", rnn.n_inputs)], allow_empty=rnn.n_inputs == 0)
    y = _check.array(data["targets"], f"{name}['targets']",
                     [("n_trials", x.shape[0]), ("n_time", x.shape[1]),
                      ("n_outputs", rnn.n_outputs)])
    return x, y


def train_flipflop_rnn(rnn, train_data, valid_data=None, learning_rate=0.08, batch_size=128,
                       max_epochs=1000, min_loss=1e-4, print_every=10, seed=0,
                       dtype="float32", max_grad_norm=0.0, lr_factor=1.0, lr_patience=10,
                       verbose=True, progress=None, **options):
    """Trains ``rnn`` in place on the mean squared error of its readout; returns the
    per-epoch training losses (the tutorial's function). Verbose lines go to sys.stdout.

    progress: None (a tqdm bar when tqdm is installed and verbose), False, True, or a
    function called after every epoch with {'epoch', 'train_loss', 'valid_loss',
    'learning_rate'} that returns False to stop (the weights reached so far are kept).
    An exception in it (KeyboardInterrupt too) stops training and is raised again.
    Further keywords set any other member of the library's training options by name (a
    member a newer library adds is accepted without a change here)."""
    from .model import FlipFlopRNN
    if not isinstance(rnn, FlipFlopRNN):
        raise TypeError(f"`rnn` must be a FlipFlopRNN; got {type(rnn).__name__} (convert "
                        f"other models with fpf.from_torch or fpf.from_keras)")
    x, y = _task_arrays(train_data, "train_data", rnn)
    n, T = x.shape[:2]
    if valid_data is not None:
        vx, vy = _task_arrays(valid_data, "valid_data", rnn, n_time=T)
        vxp, vyp, nv = ptr(vx), ptr(vy), vx.shape[0]
    else:
        vxp, vyp, nv = None, None, 0
    o = TrainOptions()
    lib.fpf_train_options_default(C.byref(o))
    settings = dict(learning_rate=learning_rate, batch_size=batch_size, max_epochs=max_epochs,
                    min_loss=min_loss, print_every=print_every, seed=seed, dtype=dtype,
                    max_grad_norm=max_grad_norm, lr_factor=lr_factor, lr_patience=lr_patience,
                    verbose=verbose, **options)
    for k, v in settings.items():
        setattr(o, k, _options.convert(TrainOptions, k, v, "train_flipflop_rnn"))
    if o.batch_size > n:
        raise ValueError(f"`batch_size` = {o.batch_size} is larger than the {n} training "
                         f"trials")
    o.log = LOG_TO_STDOUT_ADDR
    status = lib.fpf_train_options_validate(C.byref(o))
    if status != 0:
        from ._lib import last_error
        raise ValueError(f"train_flipflop_rnn: {last_error()}")
    losses = []
    rep = Reporter(progress, o.verbose, o.max_epochs, "training", "epoch")

    def on_epoch(p, _user):
        p = p.contents
        losses.append(p.train_loss)
        return rep.update(p.epoch + 1, {"epoch": int(p.epoch), "train_loss": p.train_loss,
                                        "valid_loss": p.valid_loss,
                                        "learning_rate": p.learning_rate})

    cb = TRAIN_PROGRESS_FN(on_epoch)
    report = TrainReport()
    try:
        check(lib.fpf_train(rnn.handle, C.byref(o), ptr(x), ptr(y), n, T, vxp, vyp, nv, cb,
                            None, C.byref(report)))
    finally:
        rep.finish()
    return losses
