"""Argument checks done before any pointer crosses into the library: every array's number
of dimensions, its shape against the model's sizes, its element type (converted) and its
memory layout (copied to C order); every scalar's type and range. Errors name the argument."""

import numbers
import operator

import numpy as np


def to_numpy(x):
    """numpy view or copy of an array-like, including torch tensors (detached, on the CPU),
    TensorFlow tensors and JAX arrays."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor
        x = x.detach().cpu()
        if hasattr(x, "resolve_conj"):
            x = x.resolve_conj()
        try:
            return x.numpy()
        except TypeError:  # a type numpy lacks (bfloat16): widened, exactly, to double
            return x.double().numpy()
    if hasattr(x, "numpy") and callable(x.numpy) and not isinstance(x, (list, tuple)):
        try:
            return np.asarray(x.numpy())  # tf.Tensor
        except Exception:
            pass
    return x


def ndim(x, name):
    """The number of dimensions of an array-like (TypeError naming it if it is not one)."""
    try:
        return np.ndim(to_numpy(x))
    except (ValueError, TypeError) as e:
        raise TypeError(f"`{name}` is not an array of numbers ({e})") from None


def _shape_text(dims):
    return "[" + ", ".join(d if isinstance(d, str) else f"{d[0]}={d[1]}" for d in dims) + "]"


def array(x, name, dims, dtype=np.float64, finite=True, allow_empty=False):
    """``x`` as a C-contiguous array of ``dtype`` with ``len(dims)`` dimensions. ``dims`` lists
    each dimension as a label (any size) or a (label, size) pair (that size exactly)."""
    if x is None:
        raise TypeError(f"`{name}` is required (got None); expected an array {_shape_text(dims)}")
    try:
        a = np.asarray(to_numpy(x))
    except (ValueError, TypeError) as e:
        raise TypeError(f"`{name}` is not an array of numbers ({e})") from None
    kinds = "biuf" if np.dtype(dtype).kind in "fiu" else "b"
    if a.dtype.kind not in kinds:
        if np.dtype(dtype).kind == "b" and a.dtype.kind in "iuf":
            if not np.all((a == 0) | (a == 1)):
                raise ValueError(f"`{name}` must be boolean (0/1 values)")
        else:
            raise TypeError(f"`{name}` must hold {'booleans' if kinds == 'b' else 'real numbers'}"
                            f"; got dtype {a.dtype}")
    if a.ndim != len(dims):
        raise ValueError(f"`{name}` must be a {len(dims)}-D array {_shape_text(dims)}; got "
                         f"{a.ndim}-D, shape {a.shape}")
    for axis, (d, n) in enumerate(zip(dims, a.shape)):
        if not isinstance(d, str) and n != d[1]:
            raise ValueError(f"`{name}` must have shape {_shape_text(dims)}; got {a.shape} "
                             f"(axis {axis}, {d[0]}, is {n}, not {d[1]})")
    if a.size == 0 and not allow_empty and any(isinstance(d, str) for d in dims):
        raise ValueError(f"`{name}` is empty (shape {a.shape})")
    a = np.ascontiguousarray(a, dtype=dtype)
    if finite and a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"`{name}`{list(at)} is {a[at]} (values must be finite)")
    return a


def count(v, name, minimum=0, maximum=None):
    """An int (not bool, not float) in [minimum, maximum]."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
        try:
            if isinstance(v, (bool, np.bool_)):
                raise TypeError
            v = operator.index(v)
        except TypeError:
            raise TypeError(f"`{name}` must be an int; got {v!r} ({type(v).__name__})") from None
    v = int(v)
    if v < minimum or (maximum is not None and v > maximum):
        hi = "" if maximum is None else f" and at most {maximum}"
        raise ValueError(f"`{name}` must be at least {minimum}{hi}; got {v}")
    return v


def real(v, name, finite=True):
    """A real number (not bool, not complex, not a string)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating,
                                                             np.integer)):
        raise TypeError(f"`{name}` must be a real number; got {v!r} ({type(v).__name__})")
    v = float(v)
    if finite and not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite; got {v}")
    return v


def flag(v, name):
    """A bool (numpy bools and the ints 0 and 1 accepted)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (numbers.Integral, np.integer)) and int(v) in (0, 1):
        return bool(v)
    raise TypeError(f"`{name}` must be True or False; got {v!r} ({type(v).__name__})")


def choice(v, name, options):
    """One of the string keys of ``options`` (case-insensitive); returns its value."""
    if not isinstance(v, str) or v.lower() not in options:
        raise ValueError(f"`{name}` must be one of {sorted(options)}; got {v!r}")
    return options[v.lower()]


def dtype_name(v, name="dtype"):
    """'float32' or 'float64' from a string, a numpy dtype or a scalar type."""
    try:
        d = np.dtype(v).name if not isinstance(v, str) else v.lower()
    except TypeError:
        d = None
    if d not in ("float32", "float64"):
        raise ValueError(f"`{name}` must be 'float32' or 'float64'; got {v!r}")
    return d


def seed(v, name="seed"):
    """An int seed in [-2^63, 2^64), reduced modulo 2^64."""
    return count(v, name, minimum=-(2 ** 63), maximum=2 ** 64 - 1) % 2 ** 64
