"""Loading libfpf, its C signatures, its status codes and the ctypes mirrors of its structs.

The library is looked for, in order: the environment variable FPF_LIB (a path to the shared
library); the copy installed inside this package (``pip install`` puts it there); the cargo
target directory of the source checkout this package sits in (``$CARGO_TARGET_DIR``, else
``target/`` two levels up), release before debug. The struct layouts are read from the
library itself (``fpf_struct_*``), so a field added to an option struct appears here without
any change to this file.
"""

import ctypes as C
import os
import sys

import numpy as np

ABI_VERSION = 3

STATUS_NAMES = {
    0: "FPF_OK", 1: "FPF_NULL_POINTER", 2: "FPF_BAD_SIZE", 3: "FPF_LENGTH_MISMATCH",
    4: "FPF_NOT_FINITE", 5: "FPF_BAD_OPTION", 6: "FPF_UNKNOWN_NAME", 7: "FPF_NO_CONVERGENCE",
    8: "FPF_DIVERGED", 9: "FPF_CANCELLED", 10: "FPF_IO", 11: "FPF_BAD_FORMAT",
    12: "FPF_MISMATCH", 13: "FPF_BUSY", 14: "FPF_OUT_OF_MEMORY",
    15: "FPF_CALLBACK_FAILED", 16: "FPF_UNSUPPORTED", 99: "FPF_PANIC",
}
STATUS = {v: k for k, v in STATUS_NAMES.items()}


class FpfError(RuntimeError):
    """A failed libfpf call: ``status`` (an int, see ``STATUS_NAMES``), ``status_name`` and
    the library's ``message``."""

    def __init__(self, status, message):
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, str(self.status))
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class Cancelled(FpfError):
    """A search stopped by its progress callback (which returned False)."""


LIB_NAME = {"darwin": "libfpf.dylib", "win32": "fpf.dll"}.get(sys.platform, "libfpf.so")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    if os.environ.get("FPF_LIB"):
        return [("FPF_LIB", os.environ["FPF_LIB"])]
    found = [("installed", os.path.join(_HERE, LIB_NAME))]
    root = os.path.normpath(os.path.join(_HERE, "..", ".."))
    if os.path.exists(os.path.join(root, "Cargo.toml")):
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(root, "target")
        if not os.path.isabs(target):
            target = os.path.join(root, target)
        found += [("checkout", os.path.join(target, p, LIB_NAME)) for p in ("release", "debug")]
    return found


def _load():
    tried = []
    for origin, path in _candidates():
        tried.append(path)
        if os.path.exists(path):
            return C.CDLL(path), path, origin
    raise ImportError(
        "libfpf not found; tried: " + ", ".join(tried) + ". Install the package with "
        "`pip install <path to the libfpf checkout>`, build the library with "
        "`cargo build --release --lib`, or set FPF_LIB to its path.")


lib, lib_path, lib_origin = _load()

_sz = C.c_size_t
_dp = C.POINTER(C.c_double)
_u8p = C.POINTER(C.c_uint8)
_szp = C.POINTER(C.c_size_t)
_i64p = C.POINTER(C.c_int64)
_vp = C.c_void_p
SIZE_MAX = 2 ** (8 * C.sizeof(_sz)) - 1

# FPF_MEMBER_* codes → ctypes types.
MEMBER_F64, MEMBER_SIZE, MEMBER_U64, MEMBER_BOOL, MEMBER_U32, MEMBER_POINTER = range(6)
_MEMBER_CTYPES = {MEMBER_F64: C.c_double, MEMBER_SIZE: _sz, MEMBER_U64: C.c_uint64,
                  MEMBER_BOOL: C.c_bool, MEMBER_U32: C.c_uint32, MEMBER_POINTER: _vp}
lib.fpf_struct_size.restype, lib.fpf_struct_size.argtypes = _sz, [C.c_char_p]
lib.fpf_struct_n_members.restype, lib.fpf_struct_n_members.argtypes = _sz, [C.c_char_p]
lib.fpf_struct_member.restype = C.c_int
lib.fpf_struct_member.argtypes = [C.c_char_p, _sz, C.POINTER(C.c_char_p), C.POINTER(_sz),
                                  C.POINTER(C.c_uint32)]


def _mirror(c_name, py_name):
    """A ctypes Structure laid out as the library reports ``c_name``; ``_member_types_``
    maps each member to its FPF_MEMBER_* code."""
    name = c_name.encode()
    members = []
    for k in range(lib.fpf_struct_n_members(name)):
        m, off, ty = C.c_char_p(), _sz(), C.c_uint32()
        if lib.fpf_struct_member(name, k, C.byref(m), C.byref(off), C.byref(ty)) != 0:
            raise ImportError(f"libfpf cannot describe {c_name} member {k}")
        members.append((m.value.decode(), int(ty.value), off.value))
    cls = type(py_name, (C.Structure,), {
        "_fields_": [(n, _MEMBER_CTYPES[t]) for n, t, _ in members],
        "_member_types_": {n: t for n, t, _ in members},
    })
    if (not members or C.sizeof(cls) != lib.fpf_struct_size(name)
            or any(getattr(cls, n).offset != o for n, _, o in members)):
        raise ImportError(f"libfpf's {c_name} does not lay out as ctypes would")
    return cls


FinderOptions = _mirror("fpf_finder_options", "FinderOptions")
TrainOptions = _mirror("fpf_train_options", "TrainOptions")
Progress = _mirror("fpf_progress", "Progress")
TrainProgress = _mirror("fpf_train_progress", "TrainProgress")
TrainReport = _mirror("fpf_train_report", "TrainReport")

LOG_FN = C.CFUNCTYPE(None, _vp, C.c_char_p)
PROGRESS_FN = C.CFUNCTYPE(C.c_bool, C.POINTER(Progress), _vp)
TRAIN_PROGRESS_FN = C.CFUNCTYPE(C.c_bool, C.POINTER(TrainProgress), _vp)


def _log_line(_user, message):
    # sys.stdout is looked up at each line, so contextlib.redirect_stdout and notebooks
    # (which replace sys.stdout) see the library's verbose output.
    try:
        sys.stdout.write(message.decode("utf-8", "replace") + "\n")
    except Exception:  # a closed or broken stream must not unwind into the library
        pass


LOG_TO_STDOUT = LOG_FN(_log_line)
LOG_TO_STDOUT_ADDR = C.cast(LOG_TO_STDOUT, _vp).value

_SIGS = {
    "fpf_version": (C.c_char_p, []),
    "fpf_abi_version": (C.c_uint32, []),
    "fpf_last_error_message": (_sz, [C.c_char_p, _sz]),
    "fpf_eig": (C.c_int, [_sz, _dp, _dp, _dp, _dp, _dp]),
    "fpf_rnn_new_init": (C.c_int, [C.c_uint32, _sz, _sz, _sz, C.c_uint64, C.c_uint32,
                                   C.POINTER(_vp)]),
    "fpf_rnn_new_leaky": (C.c_int, [C.c_uint32, C.c_double, _sz, _sz, _sz, C.c_uint64,
                                    C.c_uint32, C.POINTER(_vp)]),
    "fpf_rnn_new_stacked": (C.c_int, [C.c_uint32, C.c_double, _sz, _sz, _sz, _sz, C.c_uint64,
                                      C.c_uint32, C.POINTER(_vp)]),
    "fpf_rnn_n_layers": (_sz, [_vp]),
    "fpf_rnn_alpha": (C.c_double, [_vp]),
    "fpf_rnn_free": (None, [_vp]),
    "fpf_rnn_cell": (C.c_uint32, [_vp]),
    "fpf_rnn_state_dim": (_sz, [_vp]),
    "fpf_rnn_n_inputs": (_sz, [_vp]),
    "fpf_rnn_n_hidden": (_sz, [_vp]),
    "fpf_rnn_n_outputs": (_sz, [_vp]),
    "fpf_rnn_param_len": (C.c_int, [_vp, C.c_char_p, _szp]),
    "fpf_rnn_set_param": (C.c_int, [_vp, C.c_char_p, _dp, _sz]),
    "fpf_rnn_get_param": (C.c_int, [_vp, C.c_char_p, _dp, _sz]),
    "fpf_rnn_step": (C.c_int, [_vp, _dp, _dp, _sz, _dp]),
    "fpf_rnn_run": (C.c_int, [_vp, _dp, _sz, _sz, _dp, _dp]),
    "fpf_flipflop_generate": (C.c_int, [_sz, _sz, C.c_double, _sz, C.c_uint64, _dp, _dp]),
    "fpf_train_options_default": (None, [C.POINTER(TrainOptions)]),
    "fpf_train_options_validate": (C.c_int, [C.POINTER(TrainOptions)]),
    "fpf_train": (C.c_int, [_vp, C.POINTER(TrainOptions), _dp, _dp, _sz, _sz, _dp, _dp, _sz,
                            TRAIN_PROGRESS_FN, _vp, C.POINTER(TrainReport)]),
    "fpf_finder_options_default": (None, [C.POINTER(FinderOptions)]),
    "fpf_finder_options_validate": (C.c_int, [C.POINTER(FinderOptions)]),
    "fpf_find_fixed_points_cond": (C.c_int, [_vp, C.POINTER(FinderOptions), _dp, _sz, _dp,
                                             _sz, _i64p, PROGRESS_FN, _vp, C.POINTER(_vp)]),
    "fpf_find_fixed_points_sweep": (C.c_int, [_vp, C.POINTER(FinderOptions), _dp, _sz, _dp,
                                              _sz, C.c_bool, C.POINTER(_vp)]),
    "fpf_sample_states": (C.c_int, [_dp, _sz, _sz, _sz, _u8p, _sz, C.c_double, C.c_uint64,
                                    _dp]),
    "fpf_fixed_points_free": (None, [_vp]),
    "fpf_fixed_points_len": (_sz, [_vp]),
    "fpf_fixed_points_select": (C.c_int, [_vp, C.c_uint32, C.POINTER(_vp)]),
    "fpf_checkpoint_save": (C.c_int, [_vp, C.c_char_p]),
    "fpf_checkpoint_load_into": (C.c_int, [_vp, C.c_char_p]),
    "fpf_checkpoint_save_buffer": (C.c_int, [_vp, C.c_char_p, _sz, _szp]),
    "fpf_checkpoint_load_buffer": (C.c_int, [C.c_char_p, _sz, C.POINTER(_vp)]),
    "fpf_pca_fit": (C.c_int, [_dp, _sz, _sz, _sz, C.POINTER(_vp)]),
    "fpf_pca_components": (C.c_int, [_vp, _dp, _sz]),
    "fpf_pca_mean": (C.c_int, [_vp, _dp, _sz]),
    "fpf_pca_explained_variance_ratio": (C.c_int, [_vp, _dp, _sz]),
    "fpf_pca_free": (None, [_vp]),
    "fpf_fixed_points_n_fields": (_sz, []),
    "fpf_fixed_points_field_name": (C.c_char_p, [_sz]),
    "fpf_fixed_points_field_type": (C.c_uint32, [_sz]),
    "fpf_fixed_points_field_width": (_sz, [_vp, _sz]),
}
# The typed field readers, by FPF_FIELD_* element type: (C function, numpy dtype, pointer).
FIELD_READERS = {
    0: ("fpf_fixed_points_field_f64", np.float64, _dp),
    1: ("fpf_fixed_points_field_size", np.uintp, _szp),
    2: ("fpf_fixed_points_field_u8", np.uint8, _u8p),
    3: ("fpf_fixed_points_field_i64", np.int64, _i64p),
}
for _fn, _dt, _ptr in FIELD_READERS.values():
    _SIGS[_fn] = (C.c_int, [_vp, C.c_char_p, _ptr, _sz])
for _name, (_res, _args) in _SIGS.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args

if lib.fpf_abi_version() != ABI_VERSION:
    raise ImportError(f"{lib_path} has C ABI {lib.fpf_abi_version()}, but this fpf package "
                      f"expects {ABI_VERSION}")

CELLS = {"tanh": 0, "gru": 1, "gru_torch": 2, "lstm": 3, "leaky_tanh": 4, "leaky_relu": 5,
         "leaky_softplus": 6, "leaky_sigmoid": 7}
# The leaky cells' activations (FPF_ACTIVATION_*), by cell name.
LEAKY_ACTIVATIONS = {"leaky_tanh": 0, "leaky_relu": 1, "leaky_softplus": 2, "leaky_sigmoid": 3}
CELL_NAMES = {v: k for k, v in CELLS.items()}
INITS = {"tutorial": 0, "scaled": 1}
METHODS = {"joint": 0, "sequential": 1, "newton": 2}
DTYPES = {"float32": 0, "float64": 1}
SET_UNIQUE, SET_SLOW, SET_ALL = 0, 1, 2


def last_error():
    n = lib.fpf_last_error_message(None, 0)
    buf = C.create_string_buffer(n + 1)
    lib.fpf_last_error_message(buf, n + 1)
    return buf.value.decode("utf-8", "replace")


def check(status):
    """Raises FpfError (Cancelled for FPF_CANCELLED) for a failed call."""
    if status != 0:
        cls = Cancelled if status == STATUS["FPF_CANCELLED"] else FpfError
        raise cls(status, last_error())


def ptr(a, ctype=C.c_double):
    """The data pointer of a C-contiguous numpy array (checked by the callers)."""
    return a.ctypes.data_as(C.POINTER(ctype))


class Handle:
    """Owns one library handle and frees it exactly once, when the last Python reference
    goes. Never copied or pickled itself: the objects holding it decide what a copy is."""

    __slots__ = ("value", "_free")

    def __init__(self, value, free):
        self.value = value
        self._free = free

    def __del__(self):
        v, self.value = self.value, None
        if v:
            try:
                self._free(v)
            except Exception:  # interpreter shutdown
                pass

    def __copy__(self):
        raise TypeError("a libfpf handle cannot be copied; copy the object that owns it")

    __deepcopy__ = __reduce__ = lambda self, *a: self.__copy__()


def version():
    """The library's version string."""
    return lib.fpf_version().decode()


def abi_version():
    """The library's C ABI version."""
    return int(lib.fpf_abi_version())
