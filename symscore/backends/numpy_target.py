"""The ``numpy`` target: the same generated expressions, vectorised over rows with
NumPy (no numba). It is the oracle the CPU kernels are tested against and a
fallback for users without numba. Rows are processed in blocks of ``BLOCK`` so
memory stays bounded; block sums are added with ``math.fsum`` (correctly
rounded, so the result does not depend on the order of the blocks).

>>> list(_blocks(10, 4))
[(0, 4), (4, 8), (8, 10)]
"""

from __future__ import annotations

import math

import numpy as np

from .host import HostOps

__all__ = ["NumpyOps", "BLOCK"]

BLOCK = 4096


def _blocks(n: int, size: int = BLOCK):
    for lo in range(0, n, size):
        yield lo, min(lo + size, n)


def _rows(value, n):
    """Per-row float64 values (a constant expression comes back as a scalar)."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))


class NumpyOps(HostOps):
    """Evaluates the generated ``numpy``-target modules block by block."""

    target = "numpy"
    PARTS_ROWS = BLOCK  # rows per partial sum

    def per_sample(self, what: str, X, theta, spec=None):
        mod = self.module(self.SETS[what], spec)
        th, c = self.prepare(mod, theta)
        fn = getattr(mod, f"{what}_c")
        out = np.empty(X.shape[0], dtype=mod.DTYPE)
        for lo, hi in _blocks(X.shape[0]):
            out[lo:hi] = _rows(fn(X[lo:hi], th, c), hi - lo)
        return out

    def score(self, X, theta):
        mod = self.module("core")
        th, c = self.prepare(mod, theta)
        out = np.empty(X.shape, dtype=mod.DTYPE)
        for lo, hi in _blocks(X.shape[0]):
            mod.score_c(X[lo:hi], th, c, out[lo:hi])
        return out

    def _parts(self, fn, X, *args, rows=()):
        parts = []
        for lo, hi in _blocks(X.shape[0]):
            vals = fn(X[lo:hi], *(r[lo:hi] for r in rows), *args)
            parts.append(float(np.sum(_rows(vals, hi - lo))))
        return np.array(parts)

    def sum(self, what: str, X, theta, spec=None) -> float:
        return math.fsum(self.sum_parts(what, X, theta, spec))

    def sum_parts(self, what: str, X, theta, spec=None) -> np.ndarray:
        """The block sums of :meth:`sum`, one per ``BLOCK`` rows."""
        mod = self.module(self.SETS[what], spec)
        th, c = self.prepare(mod, theta)
        return self._parts(getattr(mod, f"{what}_c"), X, th, c)

    def grad_sum(self, what: str, X, theta, spec=None):
        part, gpart = self.grad_sum_parts(what, X, theta, spec)
        return math.fsum(part), np.array([math.fsum(col) for col in gpart.T])

    def grad_sum_parts(self, what: str, X, theta, spec=None):
        """Block sums of :meth:`grad_sum`: (n,) and (n, P), one row per block."""
        mod = self.module(f"{what}_grad", spec)
        th, c = self.prepare(mod, theta)
        fn = getattr(mod, f"{what}_grad_c")
        parts, grads = [], []
        for lo, hi in _blocks(X.shape[0]):
            g = np.zeros((hi - lo, mod.P), dtype=mod.DTYPE)
            parts.append(float(np.sum(_rows(fn(X[lo:hi], th, c, g), hi - lo))))
            grads.append(g.sum(axis=0, dtype=np.float64))
        return np.array(parts), np.array(grads).reshape(len(grads), mod.P)

    def ism_grad_sum(self, X, theta):
        return self.grad_sum("ism", X, theta)

    def dsm_sum(self, X, Z, sigma: float, weighted: bool, theta) -> float:
        return math.fsum(self.dsm_sum_parts(X, Z, sigma, weighted, theta))

    def dsm_sum_parts(self, X, Z, sigma: float, weighted: bool, theta) -> np.ndarray:
        mod = self.module("dsm")
        th, c = self.prepare(mod, theta)
        fn = mod.dsm_weighted_c if weighted else mod.dsm_c
        return self._parts(fn, X, mod.DTYPE(sigma), th, c, rows=(Z,))

    def ssm_sum(self, X, V, theta) -> float:
        mod = self.module("ssm")
        th, c = self.prepare(mod, theta)
        D = X.shape[1]
        parts = []
        for lo, hi in _blocks(X.shape[0]):
            n = hi - lo
            s = np.empty((n, D), dtype=mod.DTYPE)
            H = np.empty((n, D * D), dtype=mod.DTYPE)
            mod.score_hessian_c(X[lo:hi], th, c, s, H)
            for j in range(V.shape[0]):
                parts.append(float(np.sum(_rows(mod.ssm_from(s, H, V[j, lo:hi]), n))))
        return math.fsum(parts)
