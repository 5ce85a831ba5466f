"""libfpf's eigen solver and PCA for numpy arrays."""

import ctypes as C

import numpy as np

from . import _check
from ._lib import check, lib, ptr


def eig(a, vectors=True):
    """Eigenvalues of the real square matrix ``a`` (complex, sorted by modulus, largest
    first) and, with vectors=True, unit right eigenvectors as columns, like
    numpy.linalg.eig: returns (w, v) or w."""
    a = _check.array(a, "a", ["n", "n"])
    n = a.shape[0]
    if a.shape != (n, n):
        raise ValueError(f"`a` must be square; got shape {a.shape}")
    re, im = np.empty(n), np.empty(n)
    if vectors:
        vr, vi = np.empty((n, n)), np.empty((n, n))
        check(lib.fpf_eig(n, ptr(a), ptr(re), ptr(im), ptr(vr), ptr(vi)))
        return re + 1j * im, vr + 1j * vi
    check(lib.fpf_eig(n, ptr(a), ptr(re), ptr(im), None, None))
    return re + 1j * im


class Pca:
    """Principal components fitted by libfpf: ``Pca(data, k)`` with data [..., dim] (all
    leading axes are rows); ``transform(data)`` → [..., k]. After the fit it holds only
    numpy arrays (``mean_``, ``components_`` [k, dim], ``explained_variance_ratio_``), so it
    copies and pickles like any Python object."""

    def __init__(self, data, k):
        d = _check.to_numpy(data)
        d = np.asarray(d)
        if d.ndim < 2:
            raise ValueError(f"`data` must be at least 2-D [..., dim]; got shape {d.shape}")
        d = _check.array(d.reshape(-1, d.shape[-1]), "data", ["rows", "dim"])
        rows, dim = d.shape
        k = _check.count(k, "k", 1, dim)
        if rows < 2:
            raise ValueError(f"`data` needs at least 2 rows for a PCA; got {rows}")
        h = C.c_void_p()
        check(lib.fpf_pca_fit(ptr(d), rows, dim, k, C.byref(h)))
        try:
            self.mean_ = np.empty(dim)
            self.components_ = np.empty((k, dim))
            self.explained_variance_ratio_ = np.empty(k)
            check(lib.fpf_pca_mean(h, ptr(self.mean_), dim))
            check(lib.fpf_pca_components(h, ptr(self.components_), k * dim))
            check(lib.fpf_pca_explained_variance_ratio(h, ptr(self.explained_variance_ratio_),
                                                       k))
        finally:
            lib.fpf_pca_free(h)
        self.k, self.dim = k, dim

    def transform(self, data):
        d = np.asarray(_check.to_numpy(data), dtype=float)
        if d.ndim < 1 or d.shape[-1] != self.dim:
            raise ValueError(f"`data` must be [..., dim={self.dim}]; got shape {d.shape}")
        return (d - self.mean_) @ self.components_.T
