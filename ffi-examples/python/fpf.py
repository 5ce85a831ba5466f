"""ctypes wrapper of libfpf with numpy arrays in and out, mirroring the reference API.

    from fpf import FlipFlopData, FlipFlopRNN, FixedPointFinder, train_flipflop_rnn
    gen = FlipFlopData(n_bits=3, n_time=64, p=0.5, random_seed=42)
    train, valid, test = gen.generate_data(512), gen.generate_data(128), gen.generate_data(128)
    rnn = FlipFlopRNN(3, 16, 3, rnn_type="tanh", seed=42)
    train_flipflop_rnn(rnn, train, valid, max_epochs=500)
    _, hiddens = rnn(test["inputs"])
    finder = FixedPointFinder(rnn, lr_init=0.02, tol_q=1e-4, final_q_threshold=1e-6, tol_unique=1e-2)
    unique_fps, all_fps = finder.find_fixed_points(hiddens, np.zeros((1, 3)), n_inits=1024, noise_scale=0.4)
    unique_fps.print_summary()

The library is found through the environment variable FPF_LIB (a path to libfpf.so), else in
the cargo target directory ($CARGO_TARGET_DIR, else ../../target relative to this file),
release before debug. Every failing call raises FpfError(status, message).
"""

import ctypes as C
import os
import sys

import numpy as np

__all__ = [
    "FpfError", "FlipFlopData", "FlipFlopRNN", "train_flipflop_rnn", "FixedPointFinder",
    "FixedPoints", "Pca", "eig", "save_checkpoint", "load_checkpoint", "plot_fixed_points_2d",
    "plot_fixed_points_3d", "lib", "version", "abi_version",
]

ABI_VERSION = 3

STATUS_NAMES = {
    0: "FPF_OK", 1: "FPF_NULL_POINTER", 2: "FPF_BAD_SIZE", 3: "FPF_LENGTH_MISMATCH",
    4: "FPF_NOT_FINITE", 5: "FPF_BAD_OPTION", 6: "FPF_UNKNOWN_NAME", 7: "FPF_NO_CONVERGENCE",
    8: "FPF_DIVERGED", 9: "FPF_CANCELLED", 10: "FPF_IO", 11: "FPF_BAD_FORMAT",
    12: "FPF_MISMATCH", 13: "FPF_BUSY", 14: "FPF_OUT_OF_MEMORY", 99: "FPF_PANIC",
}
CELLS = {"tanh": 0, "gru": 1, "gru_torch": 2, "lstm": 3}
INITS = {"tutorial": 0, "scaled": 1}
METHODS = {"joint": 0, "sequential": 1, "newton": 2}
DTYPES = {"float32": 0, "float64": 1}
SET_UNIQUE, SET_SLOW, SET_ALL = 0, 1, 2


class FpfError(RuntimeError):
    """A failed libfpf call: `status` (an int, see STATUS_NAMES) and the library's message."""

    def __init__(self, status, message):
        self.status = int(status)
        self.message = message
        super().__init__(f"{STATUS_NAMES.get(self.status, self.status)}: {message}")


# --------------------------------------------------------------------------- library loading

def _candidates():
    if os.environ.get("FPF_LIB"):
        return [os.environ["FPF_LIB"]]
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(root, "target")
    if not os.path.isabs(target):
        target = os.path.join(root, target)
    name = {"darwin": "libfpf.dylib", "win32": "fpf.dll"}.get(sys.platform, "libfpf.so")
    return [os.path.join(target, p, name) for p in ("release", "debug")]


def _load():
    tried = []
    for path in _candidates():
        tried.append(path)
        if os.path.exists(path):
            return C.CDLL(path)
    raise OSError(
        "libfpf not found; tried: " + ", ".join(tried)
        + ". Build it with `cargo build --release --lib` or set FPF_LIB to its path.")


lib = _load()

_sz = C.c_size_t
_dp = C.POINTER(C.c_double)
_u8p = C.POINTER(C.c_uint8)
_szp = C.POINTER(C.c_size_t)
_vp = C.c_void_p


# The C structs, mirrored from the layout the library itself reports (fpf_struct_*), so
# that no copy of them is kept here.
_MEMBER_CTYPES = {0: C.c_double, 1: _sz, 2: C.c_uint64, 3: C.c_bool, 4: C.c_uint32, 5: _vp}
lib.fpf_struct_size.restype, lib.fpf_struct_size.argtypes = _sz, [C.c_char_p]
lib.fpf_struct_n_members.restype, lib.fpf_struct_n_members.argtypes = _sz, [C.c_char_p]
lib.fpf_struct_member.restype = C.c_int
lib.fpf_struct_member.argtypes = [C.c_char_p, _sz, C.POINTER(C.c_char_p), C.POINTER(_sz),
                                  C.POINTER(C.c_uint32)]


def _mirror(c_name, py_name):
    name = c_name.encode()
    members = []
    for k in range(lib.fpf_struct_n_members(name)):
        m, off, ty = C.c_char_p(), _sz(), C.c_uint32()
        if lib.fpf_struct_member(name, k, C.byref(m), C.byref(off), C.byref(ty)) != 0:
            raise OSError(f"libfpf cannot describe {c_name} member {k}")
        members.append((m.value.decode(), _MEMBER_CTYPES[ty.value], off.value))
    cls = type(py_name, (C.Structure,), {"_fields_": [(n, t) for n, t, _ in members]})
    if (not members or C.sizeof(cls) != lib.fpf_struct_size(name)
            or any(getattr(cls, n).offset != o for n, _, o in members)):
        raise OSError(f"libfpf's {c_name} does not lay out as ctypes would")
    return cls


FinderOptions = _mirror("fpf_finder_options", "FinderOptions")
TrainOptions = _mirror("fpf_train_options", "TrainOptions")
TrainProgress = _mirror("fpf_train_progress", "TrainProgress")
TrainReport = _mirror("fpf_train_report", "TrainReport")

# The library prints nothing: its verbose lines come through this callback, to sys.stdout
# (so notebooks and contextlib.redirect_stdout see them).
LOG_FN = C.CFUNCTYPE(None, _vp, C.c_char_p)
_LOG_TO_STDOUT = LOG_FN(lambda _user, message: print(message.decode()))


def _log_to_stdout(opts):
    opts.log = C.cast(_LOG_TO_STDOUT, _vp).value

TRAIN_PROGRESS_FN = C.CFUNCTYPE(C.c_bool, C.POINTER(TrainProgress), _vp)

_SIGS = {
    "fpf_version": (C.c_char_p, []),
    "fpf_abi_version": (C.c_uint32, []),
    "fpf_last_error_message": (_sz, [C.c_char_p, _sz]),
    "fpf_eig": (C.c_int, [_sz, _dp, _dp, _dp, _dp, _dp]),
    "fpf_rnn_new_init": (C.c_int, [C.c_uint32, _sz, _sz, _sz, C.c_uint64, C.c_uint32, C.POINTER(_vp)]),
    "fpf_rnn_free": (None, [_vp]),
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
    "fpf_train": (C.c_int, [_vp, C.POINTER(TrainOptions), _dp, _dp, _sz, _sz, _dp, _dp, _sz,
                            TRAIN_PROGRESS_FN, _vp, C.POINTER(TrainReport)]),
    "fpf_finder_options_default": (None, [C.POINTER(FinderOptions)]),
    "fpf_find_fixed_points": (C.c_int, [_vp, C.POINTER(FinderOptions), _dp, _sz, _dp, _sz, C.POINTER(_vp)]),
    "fpf_sample_states": (C.c_int, [_dp, _sz, _sz, _sz, _u8p, _sz, C.c_double, C.c_uint64, _dp]),
    "fpf_fixed_points_free": (None, [_vp]),
    "fpf_fixed_points_len": (_sz, [_vp]),
    "fpf_fixed_points_select": (C.c_int, [_vp, C.c_uint32, C.POINTER(_vp)]),
    "fpf_fixed_points_summary": (_sz, [_vp, C.c_char_p, _sz]),
    "fpf_fixed_points_eigvals": (C.c_int, [_vp, _dp, _dp, _sz]),
    "fpf_fixed_points_eigvecs": (C.c_int, [_vp, _dp, _dp, _sz]),
    "fpf_checkpoint_save": (C.c_int, [_vp, C.c_char_p]),
    "fpf_checkpoint_load_into": (C.c_int, [_vp, C.c_char_p]),
    "fpf_pca_fit": (C.c_int, [_dp, _sz, _sz, _sz, C.POINTER(_vp)]),
    "fpf_pca_transform": (C.c_int, [_vp, _dp, _sz, _dp]),
    "fpf_pca_explained_variance_ratio": (C.c_int, [_vp, _dp, _sz]),
    "fpf_pca_k": (_sz, [_vp]),
    "fpf_pca_dim": (_sz, [_vp]),
    "fpf_pca_free": (None, [_vp]),
}
_SIGS.update({
    "fpf_fixed_points_n_fields": (_sz, []),
    "fpf_fixed_points_field_name": (C.c_char_p, [_sz]),
    "fpf_fixed_points_field_type": (C.c_uint32, [_sz]),
    "fpf_fixed_points_field_width": (_sz, [_vp, _sz]),
})
# The typed field readers, by FPF_FIELD_* element type: (C function, numpy dtype, pointer).
_FIELD_READERS = {
    0: ("fpf_fixed_points_field_f64", np.float64, _dp),
    1: ("fpf_fixed_points_field_size", np.uintp, _szp),
    2: ("fpf_fixed_points_field_u8", np.uint8, _u8p),
    3: ("fpf_fixed_points_field_i64", np.int64, C.POINTER(C.c_int64)),
}
for _fn, _dt, _ptr in _FIELD_READERS.values():
    _SIGS[_fn] = (C.c_int, [_vp, C.c_char_p, _ptr, _sz])
for _name, (_res, _args) in _SIGS.items():
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args

# Per-point fields, from the library's own table: their index by C name, and the attribute
# names FixedPoints uses (the reference's where it has one; eigen pairs as one complex array).
_FIELD_INDEX = {lib.fpf_fixed_points_field_name(k).decode(): k
                for k in range(lib.fpf_fixed_points_n_fields())}
_RENAME = {"f_xstar": "F_xstar", "j_xstar": "J_xstar", "dfdu": "dFdu"}
_COMPLEX = {"eigval": "eigval_J_xstar", "eigvec": "eigvec_J_xstar"}  # *_re + 1j * *_im
_FP_FIELDS = tuple(_COMPLEX[f[:-3]] if f[:-3] in _COMPLEX else _RENAME.get(f, f)
                   for f in _FIELD_INDEX if not (f[:-3] in _COMPLEX and f.endswith("_im")))

if lib.fpf_abi_version() != ABI_VERSION:
    raise OSError(f"libfpf ABI {lib.fpf_abi_version()} but fpf.py expects {ABI_VERSION}")


def version():
    return lib.fpf_version().decode()


def abi_version():
    return int(lib.fpf_abi_version())


def _last_error():
    n = lib.fpf_last_error_message(None, 0)
    buf = C.create_string_buffer(n + 1)
    lib.fpf_last_error_message(buf, n + 1)
    return buf.value.decode("utf-8", "replace")


def _check(status):
    if status != 0:
        raise FpfError(status, _last_error())


def _arr(x, dtype=np.float64):
    return np.ascontiguousarray(x, dtype=dtype)


def _p(a):
    return a.ctypes.data_as(_dp)


# --------------------------------------------------------------------------- data

class FlipFlopData:
    """The flip-flop task (the reference's FlipFlopData). Successive `generate_data` calls use
    seeds random_seed, random_seed + 1, … so train/valid/test sets differ, reproducibly."""

    def __init__(self, n_bits=3, n_time=64, p=0.5, random_seed=0):
        self.n_bits, self.n_time, self.p = int(n_bits), int(n_time), float(p)
        self.random_seed = int(random_seed)
        self._calls = 0

    def generate_data(self, n_trials):
        shape = (int(n_trials), self.n_time, self.n_bits)
        inputs, targets = np.empty(shape), np.empty(shape)
        seed = (self.random_seed + self._calls) % 2**64
        _check(lib.fpf_flipflop_generate(self.n_bits, self.n_time, self.p, shape[0], seed,
                                         _p(inputs), _p(targets)))
        self._calls += 1
        return {"inputs": inputs, "targets": targets}


# --------------------------------------------------------------------------- models

_PARAM_NAMES = {
    "tanh": ["w_ih", "w_hh", "b_h"],
    "gru": ["w_ir", "w_iz", "w_in", "w_hr", "w_hz", "w_hn", "b_r", "b_z", "b_n"],
    "gru_torch": ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
    "lstm": ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
}


class FlipFlopRNN:
    """A recurrent network held by libfpf (double precision). rnn_type: 'tanh', 'gru' (reset
    before, the tutorial's), 'gru_torch' (torch.nn.GRU), 'lstm'. init: 'scaled' (default;
    trains fast) or 'tutorial' (the reference's N(0, 0.5²) recurrent weights)."""

    def __init__(self, n_inputs, n_hidden, n_outputs, rnn_type="tanh", seed=0, init="scaled"):
        self.rnn_type = rnn_type.lower()
        if self.rnn_type not in CELLS:
            raise ValueError(f"Unsupported rnn_type: {rnn_type} (one of {list(CELLS)})")
        if init not in INITS:
            raise ValueError(f"Unknown init: {init} (one of {list(INITS)})")
        h = _vp()
        _check(lib.fpf_rnn_new_init(CELLS[self.rnn_type], n_inputs, n_hidden, n_outputs,
                                    int(seed) % 2**64, INITS[init], C.byref(h)))
        self._h = h
        self.n_inputs, self.n_hidden, self.n_outputs = int(n_inputs), int(n_hidden), int(n_outputs)
        self.state_dim = int(lib.fpf_rnn_state_dim(h))

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and lib is not None:
            lib.fpf_rnn_free(h)
            self._h = None

    @property
    def handle(self):
        return self._h

    # -- parameters
    def param_names(self):
        return _PARAM_NAMES[self.rnn_type] + ["w_out", "b_out", "h0"]

    def _shape(self, name, n):
        I, H, O = self.n_inputs, self.n_hidden, self.n_outputs
        shapes = {"w_out": (H, O), "b_out": (O,), "h0": (self.state_dim,),
                  "w_ih": (I, H), "w_hh": (H, H), "w_ir": (I, H), "w_iz": (I, H),
                  "w_in": (I, H), "w_hr": (H, H), "w_hz": (H, H), "w_hn": (H, H)}
        if name in shapes:
            return shapes[name]
        if name == "weight_ih_l0":
            return (n // max(I, 1), I) if I else (n,)
        if name == "weight_hh_l0":
            return (n // H, H)
        return (n,)

    def get_param(self, name):
        n = _sz()
        key = name.encode()
        _check(lib.fpf_rnn_param_len(self._h, key, C.byref(n)))
        out = np.empty(n.value)
        _check(lib.fpf_rnn_get_param(self._h, key, _p(out), n.value))
        return out.reshape(self._shape(name, n.value))

    def set_param(self, name, value):
        v = _arr(value).ravel()
        _check(lib.fpf_rnn_set_param(self._h, name.encode(), _p(v), v.size))

    def state_dict(self):
        return {name: self.get_param(name) for name in self.param_names()}

    def load_state_dict(self, state):
        for name, value in state.items():
            self.set_param(name, value)

    # -- running
    def _readout(self, h):
        w_out, b_out = self.get_param("w_out"), self.get_param("b_out")
        return h[..., : self.n_hidden] @ w_out + b_out

    def step(self, x, h):
        """One step for n rows: x (n × n_inputs), h (n × state_dim) → h_next."""
        x, h = _arr(np.atleast_2d(x)), _arr(np.atleast_2d(h))
        n = h.shape[0]
        if x.shape != (n, self.n_inputs) or h.shape[1] != self.state_dim:
            raise ValueError("step: x must be n × n_inputs and h n × state_dim")
        out = np.empty_like(h)
        _check(lib.fpf_rnn_step(self._h, _p(x), _p(h), n, _p(out)))
        return out

    def __call__(self, inputs, hidden=None):
        """inputs [batch, time, n_inputs] → (outputs [batch, time, n_outputs], hiddens); as in
        the tutorial, with n_time == 1 and `hidden` given, returns (y[:, None, :], h_next)."""
        x = _arr(inputs)
        if x.ndim != 3 or x.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must be [batch, time, {self.n_inputs}], got {x.shape}")
        B, T = x.shape[:2]
        if hidden is None:
            y = np.empty((B, T, self.n_outputs))
            s = np.empty((B, T, self.state_dim))
            _check(lib.fpf_rnn_run(self._h, _p(x), B, T, _p(y), _p(s)))
            return y, s
        h = _arr(hidden).reshape(B, self.state_dim)
        states = np.empty((B, T, self.state_dim))
        for t in range(T):
            h = self.step(x[:, t, :], h)
            states[:, t] = h
        ys = self._readout(states)
        if T == 1:
            return ys, states[:, 0]
        return ys, states

    def train(self, train_data, valid_data=None, **kwargs):
        return train_flipflop_rnn(self, train_data, valid_data, **kwargs)


def train_flipflop_rnn(rnn, train_data, valid_data=None, learning_rate=0.08, batch_size=128,
                       max_epochs=1000, min_loss=1e-4, print_every=10, seed=0,
                       dtype="float32", max_grad_norm=0.0, lr_factor=1.0, lr_patience=10,
                       verbose=True):
    """Trains `rnn` (the reference's train_flipflop_rnn); returns the per-epoch losses."""
    o = TrainOptions()
    lib.fpf_train_options_default(C.byref(o))
    o.learning_rate, o.batch_size, o.max_epochs = learning_rate, batch_size, max_epochs
    o.min_loss, o.print_every, o.seed = min_loss, print_every, int(seed) % 2**64
    o.max_grad_norm, o.lr_factor, o.lr_patience = max_grad_norm, lr_factor, lr_patience
    o.dtype = DTYPES[dtype]
    o.verbose = bool(verbose)
    _log_to_stdout(o)
    x, y = _arr(train_data["inputs"]), _arr(train_data["targets"])
    n, T = x.shape[:2]
    if valid_data is not None:
        vx, vy = _arr(valid_data["inputs"]), _arr(valid_data["targets"])
        if vx.shape[1] != T:
            raise ValueError("valid_data must have the same n_time as train_data")
        vxp, vyp, nv = _p(vx), _p(vy), vx.shape[0]
    else:
        vxp, vyp, nv = None, None, 0
    losses = []

    def on_epoch(p, _user):
        losses.append(p.contents.train_loss)
        return True

    cb = TRAIN_PROGRESS_FN(on_epoch)
    rep = TrainReport()
    _check(lib.fpf_train(rnn.handle, C.byref(o), _p(x), _p(y), n, T, vxp, vyp, nv, cb, None,
                         C.byref(rep)))
    return losses


# --------------------------------------------------------------------------- fixed points

class FixedPoints:
    """Fixed points as numpy arrays, named as in the reference. Arrays that were not computed
    (e.g. Jacobians of the `all` set) are None."""

    # Every per-point field of the library's table (_FP_FIELDS), under the reference's name
    # where it has one.

    def __init__(self, n_states, n_inputs, **arrays):
        self.n_states, self.n_inputs = n_states, n_inputs
        for f in _FP_FIELDS:
            setattr(self, f, arrays.get(f))
        self.n = 0 if self.xstar is None else int(self.xstar.shape[0])

    @classmethod
    def _from_handle(cls, h, S, I):
        n = int(lib.fpf_fixed_points_len(h))
        raw = {}
        for k in range(int(lib.fpf_fixed_points_n_fields())):
            name = lib.fpf_fixed_points_field_name(k).decode()
            fn, dtype, ptr = _FIELD_READERS[int(lib.fpf_fixed_points_field_type(k))]
            width = int(lib.fpf_fixed_points_field_width(h, k))
            if width == 0:  # not computed
                continue
            out = np.empty(n * width, dtype=dtype)
            _check(getattr(lib, fn)(h, name.encode(), out.ctypes.data_as(ptr), out.size))
            raw[name] = out
        matrices = {"j_xstar": (S, S), "eigvec_re": (S, S), "eigvec_im": (S, S), "dfdu": (S, I)}
        for name, v in raw.items():
            w = int(lib.fpf_fixed_points_field_width(h, _FIELD_INDEX[name]))
            v = v.reshape((n,) + matrices.get(name, () if w == 1 else (w,)))
            if v.dtype == np.uint8 and name != "newton":
                v = v.astype(bool)
            elif v.dtype == np.uintp:
                v = v.astype(np.int64)
            raw[name] = v
        a = {}
        for name, v in raw.items():
            base = name[:-3]
            if base in _COMPLEX:
                if name.endswith("_re"):
                    a[_COMPLEX[base]] = v + 1j * raw[base + "_im"]
                continue
            a[_RENAME.get(name, name)] = v
        return cls(S, I, **a)

    def __len__(self):
        return self.n

    def __getitem__(self, idx):
        if isinstance(idx, (int, np.integer)):
            idx = [int(idx)]
        sub = {f: (None if getattr(self, f) is None else getattr(self, f)[idx])
               for f in _FP_FIELDS}
        return FixedPoints(self.n_states, self.n_inputs, **sub)

    def n_stable(self):
        return 0 if self.is_stable is None else int(np.sum(self.is_stable))

    def summary(self):
        lines = ["=== Fixed Points Summary ===", f"Number of fixed points: {self.n}",
                 f"State dimension: {self.n_states}", f"Input dimension: {self.n_inputs}"]
        if self.n > 0:
            q, it = self.qstar, self.n_iters
            lines.append(f"q values: min={q.min():.2e}, median={np.median(q):.2e}, "
                         f"max={q.max():.2e}")
            lines.append(f"Iterations: min={it.min()}, median={int(np.median(it))}, "
                         f"max={it.max()}")
        if self.is_stable is not None:
            lines.append(f"Stable fixed points: {self.n_stable()} / {self.n}")
        return "\n".join(lines) + "\n"

    def print_summary(self):
        print(self.summary(), end="")


class FixedPointFinder:
    """The reference's FixedPointFinder over a FlipFlopRNN. Options (the reference's names):
    method ('joint', 'sequential', 'newton'), max_iters, tol_q, tol_dq, lr_init, lr_factor,
    lr_patience, lr_cooldown, do_compute_jacobians, do_decompose_jacobians, tol_unique,
    do_exclude_distance_outliers, outlier_distance_scale, do_rerun_q_outliers,
    outlier_q_scale, max_n_unique, final_q_threshold, dtype ('float32', 'float64'), verbose,
    super_verbose, n_iters_per_print_update; plus libfpf's max_grad_norm, adaptive_grad_clip,
    newton_polish, newton_max_iters, period."""

    def __init__(self, rnn_model, **options):
        self.rnn = rnn_model
        self.opts = FinderOptions()
        lib.fpf_finder_options_default(C.byref(self.opts))
        _log_to_stdout(self.opts)
        names = {f[0] for f in FinderOptions._fields_} - {"struct_size", "log", "log_user"}
        for key, value in options.items():
            if key not in names:
                raise TypeError(f"unknown FixedPointFinder option {key!r}")
            if key == "method":
                value = METHODS[value.lower()]
            elif key == "dtype":
                value = DTYPES[np.dtype(value).name if not isinstance(value, str) else value]
            elif key == "max_n_unique" and (value is None or value == np.inf):
                value = 2**64 - 1 if C.sizeof(_sz) == 8 else 2**32 - 1
            setattr(self.opts, key, value)

    def find_fixed_points(self, state_traj, inputs, n_inits=1024, noise_scale=0.0,
                          valid_bxt=None, cond_ids=None, seed=0):
        """Samples n_inits states from state_traj [batch, time, state_dim] (where valid_bxt
        is true), adds Gaussian noise, and optimizes: returns (unique_fps, all_fps)."""
        traj = _arr(state_traj)
        if traj.ndim != 3:
            raise ValueError("state_traj must be [batch, time, state_dim]")
        B, T, S = traj.shape
        inits = np.empty((int(n_inits), S))
        mask = None
        if valid_bxt is not None:
            mask = _arr(valid_bxt, np.uint8).reshape(B, T)
        _check(lib.fpf_sample_states(_p(traj), B, T, S,
                                     None if mask is None else mask.ctypes.data_as(_u8p),
                                     int(n_inits), float(noise_scale), int(seed) % 2**64,
                                     _p(inits)))
        return self.find_fixed_points_from_inits(inits, inputs, cond_ids=cond_ids)

    def find_fixed_points_from_inits(self, inits, inputs, cond_ids=None):
        """Optimizes from the given initial states (n × state_dim) at constant inputs
        (1 × n_inputs or n × n_inputs): returns (unique_fps, all_fps)."""
        x = _arr(np.atleast_2d(inits))
        u = _arr(np.atleast_2d(inputs)).reshape(-1, self.rnn.n_inputs) if self.rnn.n_inputs else np.zeros((1, 0))
        h, a = _vp(), _vp()
        _check(lib.fpf_find_fixed_points(self.rnn.handle, C.byref(self.opts), _p(x), x.shape[0],
                                         _p(u), u.shape[0], C.byref(h)))
        try:
            S, I = self.rnn.state_dim, self.rnn.n_inputs
            unique = FixedPoints._from_handle(h, S, I)
            _check(lib.fpf_fixed_points_select(h, SET_ALL, C.byref(a)))
            try:
                all_fps = FixedPoints._from_handle(a, S, I)
            finally:
                lib.fpf_fixed_points_free(a)
        finally:
            lib.fpf_fixed_points_free(h)
        if cond_ids is not None and all_fps.n == len(cond_ids):
            all_fps.cond_id = np.asarray(cond_ids)
        return unique, all_fps


# --------------------------------------------------------------------------- utilities

def eig(a, vectors=True):
    """Eigenvalues (complex, sorted by modulus, largest first) and, with vectors=True, unit
    right eigenvectors as columns, like numpy.linalg.eig: returns (w, v) or w."""
    a = _arr(a)
    n = a.shape[0]
    if a.shape != (n, n):
        raise ValueError("eig: a must be square")
    re, im = np.empty(n), np.empty(n)
    if vectors:
        vr, vi = np.empty((n, n)), np.empty((n, n))
        _check(lib.fpf_eig(n, _p(a), _p(re), _p(im), _p(vr), _p(vi)))
        return re + 1j * im, vr + 1j * vi
    _check(lib.fpf_eig(n, _p(a), _p(re), _p(im), None, None))
    return re + 1j * im


class Pca:
    """PCA by libfpf: Pca(data [n, dim], k); .transform(data) → [n, k]."""

    def __init__(self, data, k):
        d = _arr(data)
        d = d.reshape(-1, d.shape[-1])
        h = _vp()
        _check(lib.fpf_pca_fit(_p(d), d.shape[0], d.shape[1], int(k), C.byref(h)))
        self._h, self.k, self.dim = h, int(k), d.shape[1]
        r = np.empty(self.k)
        _check(lib.fpf_pca_explained_variance_ratio(h, _p(r), self.k))
        self.explained_variance_ratio_ = r

    def transform(self, data):
        d = _arr(data)
        shape = d.shape[:-1]
        d = d.reshape(-1, self.dim)
        out = np.empty((d.shape[0], self.k))
        _check(lib.fpf_pca_transform(self._h, _p(d), d.shape[0], _p(out)))
        return out.reshape(shape + (self.k,))

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and lib is not None:
            lib.fpf_pca_free(h)
            self._h = None


def save_checkpoint(rnn, path):
    """Saves rnn to `path` (written atomically)."""
    _check(lib.fpf_checkpoint_save(rnn.handle, os.fsencode(path)))


def load_checkpoint(rnn, path):
    """Loads `path` into rnn: False if the file does not exist; raises FpfError if it is not a
    checkpoint or holds another network (FPF_MISMATCH); True on success."""
    if not os.path.exists(path):
        return False
    _check(lib.fpf_checkpoint_load_into(rnn.handle, os.fsencode(path)))
    return True


def _plt():
    try:
        import matplotlib
        matplotlib.use("Agg") if not os.environ.get("DISPLAY") else None
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print("matplotlib is not installed; skipping the plot", file=sys.stderr)
        return None


def _plot(fps, state_traj, dims, title, plot_batch_idx, plot_start_time, save_path, show):
    plt = _plt()
    if plt is None:
        return None
    traj = _arr(state_traj)
    pca = Pca(traj, dims)
    batches = range(min(30, traj.shape[0])) if plot_batch_idx is None else plot_batch_idx
    fig = plt.figure(figsize=(10, 8) if dims == 2 else (12, 10))
    ax = fig.add_subplot(111, projection="3d" if dims == 3 else None)
    for b in batches:
        z = pca.transform(traj[b, plot_start_time:])
        ax.plot(*z.T, color="0.6", lw=0.5, alpha=0.6)
    if fps.n:
        z = pca.transform(fps.xstar)
        st = fps.is_stable if fps.is_stable is not None else np.zeros(fps.n, bool)
        ax.scatter(*z[st].T, c="k", s=40, label="stable")
        ax.scatter(*z[~st].T, facecolors="none", edgecolors="r", s=40, label="unstable")
        ax.legend()
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if dims == 3:
        ax.set_zlabel("PC 3")
    if save_path:
        fig.savefig(save_path, dpi=100)
    if show:
        plt.show()
    plt.close(fig)
    return fig


def plot_fixed_points_2d(fps, state_traj, title="Fixed points (2D PCA)", plot_batch_idx=None,
                         plot_start_time=0, save_path=None, show=False):
    """Trajectories and fixed points (filled: stable) in the first two principal components.
    Returns the figure, or None without matplotlib."""
    return _plot(fps, state_traj, 2, title, plot_batch_idx, plot_start_time, save_path, show)


def plot_fixed_points_3d(fps, state_traj, title="Fixed points (3D PCA)", plot_batch_idx=None,
                         plot_start_time=0, save_path=None, show=False):
    """As plot_fixed_points_2d, in three principal components."""
    return _plot(fps, state_traj, 3, title, plot_batch_idx, plot_start_time, save_path, show)
