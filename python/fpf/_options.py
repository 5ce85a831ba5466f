"""Reading and writing the C option structs by member name, each value checked by the
member's type (from the library's layout table) before it is stored."""

import ctypes as C

import numpy as np

from . import _check
from ._lib import (DTYPES, MEMBER_BOOL, MEMBER_F64, MEMBER_POINTER, MEMBER_SIZE, MEMBER_U32,
                   MEMBER_U64, METHODS, SIZE_MAX)

_HIDDEN = {"struct_size", "log", "log_user"}
_METHOD_NAMES = {v: k for k, v in METHODS.items()}
_DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


def names(struct_cls):
    """The user-settable members of an option struct, in declaration order."""
    return [n for n, t in struct_cls._member_types_.items()
            if n not in _HIDDEN and t != MEMBER_POINTER]


def get(opts, name):
    v = getattr(opts, name)
    if name == "method":
        return _METHOD_NAMES.get(v, v)
    if name == "dtype":
        return _DTYPE_NAMES.get(v, v)
    if name == "max_n_unique" and v == SIZE_MAX:
        return np.inf
    if isinstance(v, float) or isinstance(v, bool):
        return v
    return int(v)


def convert(struct_cls, name, value, owner):
    """The C value for member ``name`` from a Python value; TypeError/ValueError naming
    ``owner.name``."""
    what = f"{owner}.{name}"
    t = struct_cls._member_types_.get(name)
    if t is None or name in _HIDDEN or t == MEMBER_POINTER:
        raise TypeError(f"{owner} has no option {name!r} (options: "
                             f"{', '.join(names(struct_cls))})")
    if name == "method":
        return _check.choice(value, what, METHODS)
    if name == "dtype":
        return DTYPES[_check.dtype_name(value, what)]
    if name == "max_n_unique" and (value is None or (isinstance(value, float)
                                                    and value == np.inf)):
        return SIZE_MAX
    if t == MEMBER_F64:
        return _check.real(value, what)
    if t == MEMBER_BOOL:
        return _check.flag(value, what)
    bits = {MEMBER_SIZE: 8 * C.sizeof(C.c_size_t), MEMBER_U64: 64, MEMBER_U32: 32}[t]
    if name == "seed":
        return _check.seed(value, what)
    return _check.count(value, what, 0, 2 ** bits - 1)
