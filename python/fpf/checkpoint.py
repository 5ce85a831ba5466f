"""Model checkpoints (libfpf's format, FORMAT.md), with canns' save/load functions."""

import os

from ._lib import FpfError, check, lib


def _model(model):
    from .model import FlipFlopRNN
    if not isinstance(model, FlipFlopRNN):
        raise TypeError(f"`model` must be a FlipFlopRNN; got {type(model).__name__}")
    return model


def _path(filepath):
    if not isinstance(filepath, (str, bytes, os.PathLike)):
        raise TypeError(f"`filepath` must be a path; got {type(filepath).__name__}")
    return os.fsencode(filepath)


def save_checkpoint(model, filepath):
    """Saves ``model`` to ``filepath`` (written atomically: a crash leaves any previous file
    intact). Raises FpfError (FPF_IO) if the file cannot be written."""
    check(lib.fpf_checkpoint_save(_model(model).handle, _path(filepath)))


def load_checkpoint(model, filepath):
    """Loads ``filepath`` into ``model``, as canns does: returns False if the file does not
    exist, True once loaded. Unlike canns, a file that exists but cannot be used raises
    FpfError: FPF_BAD_FORMAT (not a checkpoint, truncated, corrupt), FPF_MISMATCH (a network
    of another kind or size; the message names what differs), FPF_IO (unreadable); the model
    is then unchanged."""
    path = _path(filepath)
    _model(model)
    if not os.path.exists(path):
        return False
    check(lib.fpf_checkpoint_load_into(model.handle, path))
    return True


__all__ = ["save_checkpoint", "load_checkpoint", "FpfError"]
