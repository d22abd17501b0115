"""CPU execution of generated kernel modules: range drivers run in parallel threads.

The generated module (see :mod:`symscore.codegen.ranges`) holds serial ``nogil``
range drivers ``<name>_sums`` / ``<name>_values`` over fixed chunks of
``CHUNK`` samples. :func:`run_chunks` splits the chunk indices into one
contiguous range per thread (``numba.get_num_threads()``, i.e. ``NUMBA_NUM_THREADS``
or ``numba.set_num_threads``) and runs them concurrently. Each chunk writes its
own partial sum, and partial sums are added in chunk order with ``math.fsum``,
so results are bitwise identical for any number of threads. No N×D temporary
is created: each thread only holds its column blocks (D × CHUNK).

>>> import numpy as np
>>> seen = []
>>> run_chunks(lambda k0, k1: seen.append((k0, k1)), 5, (), (), threads=2)
>>> sorted(seen)
[(0, 0), (0, 2), (2, 5)]
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..codegen.ranges import CHUNK, GRAD_CHUNK
from .host import HostOps

__all__ = ["CpuOps", "run_chunks", "n_threads"]

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def n_threads() -> int:
    import numba
    return max(1, int(numba.get_num_threads()))


def _get_pool(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="symscore")
            _pool_size = size
        return _pool


def run_chunks(fn, nchunks: int, head: tuple, tail: tuple, threads: int | None = None) -> None:
    """Call ``fn(*head, k0, k1, *tail)`` over a partition of ``range(nchunks)``.

    An empty range is run first in the calling thread, so that compilation (and
    any typing error) happens here rather than inside a worker."""
    fn(*head, 0, 0, *tail)
    if nchunks <= 0:
        return
    t = min(threads or n_threads(), nchunks)
    if t == 1:
        fn(*head, 0, nchunks, *tail)
        return
    bounds = [nchunks * i // t for i in range(t + 1)]
    pool = _get_pool(t)
    futures = [pool.submit(fn, *head, bounds[i], bounds[i + 1], *tail) for i in range(t)]
    try:
        for f in futures:
            f.result()
    except BaseException:   # Ctrl-C while waiting: start nothing more; running parts end soon
        for f in futures:
            f.cancel()
        raise


def _nchunks(n: int, chunk: int = CHUNK) -> int:
    return (n + chunk - 1) // chunk


class CpuOps(HostOps):
    """Runs the range drivers of the generated ``cpu`` modules of one density."""

    target = "cpu"

    def per_sample(self, what: str, X, theta, spec=None):
        """One value per row of X of the per-sample function ``what``."""
        mod = self.module(self.SETS[what], spec)
        th, c = self.prepare(mod, theta)
        out = np.empty(X.shape[0], dtype=mod.DTYPE)
        run_chunks(getattr(mod, f"{what}_values"), _nchunks(X.shape[0]), (X,), (th, c, out))
        return out

    def score(self, X, theta):
        mod = self.module("core")
        th, c = self.prepare(mod, theta)
        out = np.empty(X.shape, dtype=mod.DTYPE)
        run_chunks(mod.score_values, _nchunks(X.shape[0]), (X,), (th, c, out))
        return out

    def sum(self, what: str, X, theta, spec=None) -> float:
        """Σ over rows of X of ``what`` (float64; chunk sums added in order)."""
        mod = self.module(self.SETS[what], spec)
        th, c = self.prepare(mod, theta)
        part = np.zeros(_nchunks(X.shape[0]))
        run_chunks(getattr(mod, f"{what}_sums"), part.shape[0], (X,), (th, c, part))
        return math.fsum(part)

    def grad_sum(self, what: str, X, theta, spec=None):
        """(Σ f, Σ ∂θ f) over rows of X for f = ``what`` ("ism" or "weighted", from
        the ``<what>_grad`` kernel set); the gradient as a float64 array."""
        mod = self.module(f"{what}_grad", spec)
        th, c = self.prepare(mod, theta)
        n = _nchunks(X.shape[0], GRAD_CHUNK)
        part = np.zeros(n)
        gpart = np.zeros((n, mod.P))
        run_chunks(getattr(mod, f"{what}_grad_sums"), n, (X,), (th, c, part, gpart))
        return math.fsum(part), np.array([math.fsum(col) for col in gpart.T])

    def ism_grad_sum(self, X, theta):
        """(Σ ism, Σ ∂θ ism) over rows of X; the gradient as a float64 array."""
        return self.grad_sum("ism", X, theta)

    def dsm_sum(self, X, Z, sigma: float, weighted: bool, theta) -> float:
        """Σ over rows of the DSM integrand at x + σz (z = rows of Z)."""
        mod = self.module("dsm")
        th, c = self.prepare(mod, theta)
        part = np.zeros(_nchunks(X.shape[0]))
        fn = mod.dsm_weighted_sums if weighted else mod.dsm_sums
        run_chunks(fn, part.shape[0], (X, Z), (mod.DTYPE(sigma), th, c, part))
        return math.fsum(part)

    def ssm_sum(self, X, V, theta) -> float:
        """Σ over rows and projections j of vᵀHv + ½(vᵀs)², v = V[j, row]."""
        mod = self.module("ssm")
        th, c = self.prepare(mod, theta)
        part = np.zeros(_nchunks(X.shape[0]))
        run_chunks(mod.ssm_sums, part.shape[0], (X, V), (th, c, part))
        return math.fsum(part)
