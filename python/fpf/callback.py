"""Models given by Python functions: a map ``h' = F(h, u)`` on a batch of states, from numpy
functions (with their vector-Jacobian product), a PyTorch module or callable (the VJP by
torch.autograd) or a JAX function (the VJP by jax.vjp). ``FixedPointFinder`` takes a
``CallbackModel`` in place of a network and runs its whole pipeline on it through the
library's callback model (``fpf_callback_model``): every evaluation in double precision,
one call per iteration for all the states still iterating.

    model = fpf.CallbackModel(f, vjp, n_states=16, n_inputs=3)     # numpy
    model = fpf.CallbackModel.from_torch(gru)                      # nn.RNN/GRU/LSTM
    model = fpf.CallbackModel.from_torch(fn, n_states=16, n_inputs=3)
    model = fpf.CallbackModel.from_jax(fn, n_states=16, n_inputs=3)
    unique_fps, all_fps = fpf.FixedPointFinder(model).find_fixed_points(hiddens, u)

torch and jax are imported only by ``from_torch`` and ``from_jax``.
"""

import copy as _copy
import ctypes as C

import numpy as np

from ._lib import PROGRESS_FN, FinderOptions, Handle, check, lib

_dp, _sz, _vp = C.POINTER(C.c_double), C.c_size_t, C.c_void_p
FORWARD_FN = C.CFUNCTYPE(C.c_int32, _vp, _sz, _dp, _dp, _dp)
VJP_FN = C.CFUNCTYPE(C.c_int32, _vp, _sz, _dp, _dp, _dp, _dp, _dp)
JACOBIAN_FN = C.CFUNCTYPE(C.c_int32, _vp, _sz, _dp, _dp, _dp, _dp)

for _name, _res, _args in [
        ("fpf_callback_model_new", C.c_int, [_sz, _sz, FORWARD_FN, VJP_FN, JACOBIAN_FN,
                                             C.c_bool, _vp, C.POINTER(_vp)]),
        ("fpf_callback_model_free", None, [_vp]),
        ("fpf_callback_find_fixed_points_cond", C.c_int,
         [_vp, C.POINTER(FinderOptions), _dp, _sz, _dp, _sz, C.POINTER(C.c_int64),
          PROGRESS_FN, _vp, C.POINTER(_vp)])]:
    _f = getattr(lib, _name)
    _f.restype, _f.argtypes = _res, _args


def _view(p, shape):
    """The n-d numpy view of a library buffer (an empty array for a size of 0)."""
    if 0 in shape:
        return np.zeros(shape)
    return np.ctypeslib.as_array(p, shape=shape)


def _count(v, name, low):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError(f"`{name}` must be an integer ≥ {low}; got {v!r}")
    return int(v)


class CallbackModel:
    """A model ``h' = F(h, u)`` of state size ``n_states`` and input size ``n_inputs``
    given by numpy functions of a batch of ``n`` states:

    - ``f(x, u)``: ``x`` [n, n_states], ``u`` [n, n_inputs] → ``F`` [n, n_states];
    - ``vjp(x, u, v)``: ``v`` [n, n_states] → ``v_iᵀ ∂F/∂x`` [n, n_states], or the pair
      ``(v_iᵀ ∂F/∂x, v_iᵀ ∂F/∂u [n, n_inputs])`` when ``input_derivatives`` is true;
    - ``jacobian(x, u)`` (optional; otherwise each Jacobian is formed from ``n_states``
      VJPs, one call per batch of points) → ``∂F/∂x`` [n, n_states, n_states] (row = output),
      or ``(∂F/∂x, ∂F/∂u [n, n_states, n_inputs])`` with ``input_derivatives``.

    ``input_derivatives`` (default False): the functions also give the input derivatives,
    and results carry ``dFdu``. An exception in a function (or a result of the wrong shape,
    a ValueError naming the function) stops the search and is raised again. Periods other
    than 1 and input sweeps need a built-in network.
    """

    def __init__(self, f, vjp, n_states, n_inputs=0, jacobian=None,
                 input_derivatives=False):
        if not callable(f):
            raise TypeError(f"`f` must be callable; got {type(f).__name__}")
        if not callable(vjp):
            raise TypeError(f"`vjp` must be callable; got {type(vjp).__name__}")
        if jacobian is not None and not callable(jacobian):
            raise TypeError(f"`jacobian` must be callable or None; got "
                            f"{type(jacobian).__name__}")
        if not isinstance(input_derivatives, (bool, np.bool_)):
            raise TypeError(f"`input_derivatives` must be a bool; got {input_derivatives!r}")
        self.state_dim = _count(n_states, "n_states", 1)
        self.n_inputs = _count(n_inputs, "n_inputs", 0)
        self.f, self.vjp, self.jacobian = f, vjp, jacobian
        self.input_derivatives = bool(input_derivatives)
        self.error = None
        # The C function pointers live as long as the model (the library keeps only them).
        self._c_forward = FORWARD_FN(self._forward)
        self._c_vjp = VJP_FN(self._vjp)
        self._c_jacobian = JACOBIAN_FN(self._jacobian) if jacobian is not None \
            else JACOBIAN_FN()
        h = C.c_void_p()
        check(lib.fpf_callback_model_new(self.state_dim, self.n_inputs, self._c_forward,
                                         self._c_vjp, self._c_jacobian,
                                         self.input_derivatives, None, C.byref(h)))
        self._handle = Handle(h.value, lib.fpf_callback_model_free)

    @property
    def handle(self):
        return self._handle.value

    @property
    def n_states(self):
        return self.state_dim

    def __repr__(self):
        return (f"CallbackModel(n_states={self.state_dim}, n_inputs={self.n_inputs}, "
                f"jacobian={'yes' if self.jacobian else 'from VJPs'}, "
                f"input_derivatives={self.input_derivatives})")

    # Copies share the functions and get a library handle of their own.
    def __copy__(self):
        return CallbackModel(self.f, self.vjp, self.state_dim, self.n_inputs, self.jacobian,
                             self.input_derivatives)

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        raise TypeError("a CallbackModel does not pickle (its functions may not); build it "
                        "again in the other process")

    # -- the library's callbacks: any exception is kept for the search to raise again
    def _call(self, fn):
        try:
            fn()
            return 0
        except BaseException as e:  # noqa: B902 - raised again by the search
            if self.error is None:
                self.error = e
            return 1

    def _shape(self, name, got, want):
        a = np.asarray(got, dtype=np.float64)
        if a.shape != want:
            raise ValueError(f"the model's `{name}` returned shape {a.shape}; expected {want}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"the model's `{name}` returned a NaN or infinity")
        return a

    def _inputs(self, n, u):
        return _view(u, (n, self.n_inputs)) if self.n_inputs else np.zeros((n, 0))

    def _forward(self, _user, n, x, u, fx):
        def run():
            S = self.state_dim
            xs, us = _view(x, (n, S)).copy(), self._inputs(n, u).copy()
            _view(fx, (n, S))[...] = self._shape("f", self.f(xs, us), (n, S))
        return self._call(run)

    def _vjp(self, _user, n, x, u, v, vjp_x, vjp_u):
        def run():
            S, I = self.state_dim, self.n_inputs
            xs, us = _view(x, (n, S)).copy(), self._inputs(n, u).copy()
            r = self.vjp(xs, us, _view(v, (n, S)).copy())
            if self.input_derivatives:
                if not isinstance(r, tuple) or len(r) != 2:
                    raise ValueError("the model's `vjp` must return (vjp_x, vjp_u) with "
                                     "input_derivatives=True")
                _view(vjp_x, (n, S))[...] = self._shape("vjp", r[0], (n, S))
                if vjp_u:
                    _view(vjp_u, (n, I))[...] = self._shape("vjp (inputs)", r[1], (n, I))
            else:
                _view(vjp_x, (n, S))[...] = self._shape("vjp", r, (n, S))
        return self._call(run)

    def _jacobian(self, _user, n, x, u, jac, dfdu):
        def run():
            S, I = self.state_dim, self.n_inputs
            xs, us = _view(x, (n, S)).copy(), self._inputs(n, u).copy()
            r = self.jacobian(xs, us)
            if self.input_derivatives:
                if not isinstance(r, tuple) or len(r) != 2:
                    raise ValueError("the model's `jacobian` must return (jac, dfdu) with "
                                     "input_derivatives=True")
                _view(jac, (n, S, S))[...] = self._shape("jacobian", r[0], (n, S, S))
                if dfdu:
                    _view(dfdu, (n, S, I))[...] = self._shape("jacobian (inputs)", r[1],
                                                             (n, S, I))
            else:
                _view(jac, (n, S, S))[...] = self._shape("jacobian", r, (n, S, S))
        return self._call(run)

    def take_error(self):
        """The exception a function raised during the last search (cleared)."""
        e, self.error = self.error, None
        return e

    # -- frameworks
    @classmethod
    def from_torch(cls, model, n_states=None, n_inputs=None, dtype=None):
        """A CallbackModel from PyTorch, the VJPs by ``torch.autograd`` (input
        derivatives included, so results carry ``dFdu``).

        ``model``: a ``torch.nn.RNN``, ``GRU`` or ``LSTM`` (unidirectional, batch_first
        either way, any ``num_layers``; the sizes come from it): one step of it from the
        state ``[h_layer0, …]`` (an LSTM layer's state is ``[h, c]``); it is copied and
        converted to ``dtype`` (default float64). Or any callable ``fn(h, u)`` of tensors
        ``h`` [n, n_states] and ``u`` [n, n_inputs] returning [n, n_states] (an
        ``nn.Module`` too), given ``n_states`` and ``n_inputs``; it is called with float64
        tensors (``dtype``), so a module should be in that precision (``module.double()``):
        in float32 Newton cannot polish past float32's rounding and the points end up slow.
        """
        import torch
        dt = torch.float64 if dtype is None else dtype
        rnn = isinstance(model, torch.nn.RNNBase)
        if rnn:
            fn, S, I = _torch_rnn_step(_copy.deepcopy(model).to(dt))
            if n_states is not None and n_states != S:
                raise ValueError(f"`n_states` is {n_states}, but the module's state has {S}")
            if n_inputs is not None and n_inputs != I:
                raise ValueError(f"`n_inputs` is {n_inputs}, but the module takes {I}")
            n_states, n_inputs = S, I
        else:
            if not callable(model):
                raise TypeError(f"`model` must be a torch.nn.RNN/GRU/LSTM or a callable "
                                f"fn(h, u); got {type(model).__name__}")
            if n_states is None or n_inputs is None:
                raise TypeError("from_torch(fn) needs n_states and n_inputs")
            fn = model

        def tensor(a, grad=False):
            return torch.from_numpy(a).to(dt).requires_grad_(grad)

        def out(t):
            return t.detach().cpu().numpy()

        def f(x, u):
            with torch.no_grad():
                return out(fn(tensor(x), tensor(u)))

        def vjp(x, u, v):
            with torch.enable_grad():
                xt, ut = tensor(x, True), tensor(u, u.shape[1] > 0)
                y = fn(xt, ut)
                wrt = (xt, ut) if u.shape[1] > 0 else (xt,)
                g = torch.autograd.grad(y, wrt, grad_outputs=tensor(v), allow_unused=True)
            gx = np.zeros_like(x) if g[0] is None else out(g[0])
            gu = np.zeros_like(u) if len(g) < 2 or g[1] is None else out(g[1])
            return gx, gu

        m = cls(f, vjp, n_states, n_inputs, input_derivatives=True)
        m.torch_step = fn
        return m

    @classmethod
    def from_jax(cls, fn, n_states, n_inputs=0, jit=True):
        """A CallbackModel from a JAX function ``fn(h, u)`` of arrays ``h`` [n, n_states]
        and ``u`` [n, n_inputs] returning [n, n_states], the VJPs by ``jax.vjp`` (input
        derivatives included). Every call runs under ``jax.enable_x64(True)``, so the map
        is evaluated in float64 (parameters held in float32 are promoted); ``jit`` (default
        True) compiles ``fn`` and its VJP, for batches padded to a power of two (so that a
        shrinking set of iterating states compiles only a few shapes)."""
        import jax

        def vjp_of(x, u, v):
            _, pull = jax.vjp(fn, x, u)
            return pull(v)

        f_c, vjp_c = (jax.jit(fn), jax.jit(vjp_of)) if jit else (fn, vjp_of)

        def padded(n, *arrays):
            # A jitted function compiles once per shape, and the number of states still
            # iterating changes from one iteration to the next: pad each batch to the next
            # power of two (repeating its first row), so at most log2(n) shapes compile.
            if not jit:
                return arrays
            m = 1 << max(0, (n - 1).bit_length())
            return tuple(np.concatenate([a, np.repeat(a[:1], m - n, 0)]) if m > n else a
                         for a in arrays)

        def f(x, u):
            n = len(x)
            with jax.enable_x64(True):
                return np.asarray(f_c(*padded(n, x, u)))[:n]

        def vjp(x, u, v):
            n = len(x)
            with jax.enable_x64(True):
                gx, gu = vjp_c(*padded(n, x, u, v))
                return np.asarray(gx)[:n], np.asarray(gu)[:n]

        return cls(f, vjp, n_states, n_inputs, input_derivatives=True)


def _torch_rnn_step(m):
    """One step of a torch RNN/GRU/LSTM as fn(h [n, S], u [n, I]) → [n, S], the state the
    layers' states concatenated (``[h, c]`` for each LSTM layer)."""
    import torch
    if m.bidirectional:
        raise ValueError("a bidirectional RNN has no recurrent map of one state")
    if getattr(m, "proj_size", 0):
        raise ValueError("an LSTM with proj_size is not supported")
    L, H, I = m.num_layers, m.hidden_size, m.input_size
    lstm = isinstance(m, torch.nn.LSTM)
    per = 2 * H if lstm else H

    def fn(h, u):
        n = h.shape[0]
        x = u[:, None, :] if m.batch_first else u[None, :, :]
        layers = h.reshape(n, L, per).transpose(0, 1)  # [L, n, per]
        if lstm:
            hc = (layers[:, :, :H].contiguous(), layers[:, :, H:].contiguous())
            _, (hn, cn) = m(x, hc)
            new = torch.cat([hn, cn], dim=2)
        else:
            _, new = m(x, layers.contiguous())
        return new.transpose(0, 1).reshape(n, L * per)

    return fn, L * per, I


def find(finder, model, x, u, ids, cb):
    """The library's search on a CallbackModel; a function's exception is raised again."""
    from ._lib import STATUS
    h = C.c_void_p()
    model.error = None
    status = lib.fpf_callback_find_fixed_points_cond(
        model.handle, C.byref(finder._opts), x.ctypes.data_as(_dp), x.shape[0],
        u.ctypes.data_as(_dp), u.shape[0],
        None if ids is None else ids.ctypes.data_as(C.POINTER(C.c_int64)), cb, None,
        C.byref(h))
    e = model.take_error()
    if e is not None and status == STATUS["FPF_CALLBACK_FAILED"]:
        raise e
    check(status)
    return h
