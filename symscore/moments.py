"""Exact sample means of quadratic polynomials from the data's first two moments.

When the score is affine in x (s = A x + b, A and b free of x: Gaussian families,
Gaussian graphical models — see ``Structure.score_is_affine``), the ISM integrand
∇·s + ½‖s‖² is a quadratic polynomial in x, and so is each of its θ-derivatives.
The mean of any quadratic polynomial q over the N rows of X depends on X only
through m = mean x and C = mean (x − m)(x − m)ᵀ, and it equals the mean of q over
the 2D *moment points*

    z = m ± √D·uᵢ   (i = 1…D, C = U Uᵀ, uᵢ the columns of U)

which have exactly that mean and covariance. So the ISM loss and its θ-gradient
over N samples are the same kernels run on 2D points: O(N D²) once per X (one
BLAS product, cached per X) instead of the kernel's per-sample work N times.
A repeated call on the same, unchanged X (a fit's loop) costs one exact
comparison with a private copy (O(N·D) reads, in threads) and the 2D-point pass.

The result equals the per-sample mean up to floating-point rounding (a
different summation order: ~1e-13 relative in the tests), not bit for bit.

>>> import numpy as np
>>> X = np.random.default_rng(0).standard_normal((500, 3)) + 5.0
>>> Z = moment_points(X)
>>> Z.shape
(6, 3)
>>> q = lambda Y: (Y @ [1.0, 2.0, 3.0]) ** 2 + Y[:, 0] * Y[:, 2] - Y[:, 1]
>>> bool(abs(q(X).mean() - q(Z).mean()) < 1e-10 * abs(q(X).mean()))
True
"""

from __future__ import annotations

import weakref

import numpy as np

from .backends.cpu import run_chunks
from .backends.numba_cache import njit

__all__ = ["moment_points", "MomentCache"]

#: rows per chunk of the threaded comparison
_ROWS = 4096

#: the uncentred product XᵀX/N − m mᵀ (no copy of X) is used when every mᵢ² is at
#: most this many times the smallest variance (estimated on the first 256 rows), so
#: that its cancellation costs ≤ ~3 digits (≤ ~1e-13 relative); else X is centred
_UNCENTRED_RATIO = 1e3


def _covariance(X):
    N = X.shape[0]
    m = (np.ones(N) @ X) / N    # BLAS: several times faster than X.mean(axis=0)
    var_min = float(np.min(np.var(X[: min(N, 256)], axis=0)))
    if var_min > 0 and float(np.max(m * m)) <= _UNCENTRED_RATIO * var_min:
        C = X.T @ X / N - np.outer(m, m)
    else:
        Xc = X - m
        C = Xc.T @ Xc / N
    return m, (C + C.T) / 2


def moment_points(X) -> np.ndarray:
    """(2D, D) float64 points with the same mean and (biased) covariance as the rows
    of X (an (N, D) array): the mean of any polynomial of degree ≤ 2 over them equals
    its mean over X (up to rounding). Non-finite points when X holds a non-finite
    entry (or its squares overflow)."""
    X = np.asarray(X, dtype=np.float64)
    D = X.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        m, C = _covariance(X)
    if not (np.isfinite(m).all() and np.isfinite(C).all()):
        return np.full((2 * D, D), np.nan)
    try:
        U = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:   # singular (N ≤ D, collinear data): any square root
        w, V = np.linalg.eigh(C)
        U = V * np.sqrt(np.clip(w, 0.0, None))
    U = U * np.sqrt(D)
    return np.ascontiguousarray(np.concatenate([m + U.T, m - U.T]))


@njit(nogil=True)
def _differ(a, b, k0, k1, out):
    """out[k] = True where rows k·_ROWS … of a and b differ (values: NaN ≠ NaN)."""
    N, D = a.shape
    for k in range(k0, k1):
        d = False
        for r in range(k * _ROWS, min(N, (k + 1) * _ROWS)):
            for i in range(D):
                d |= a[r, i] != b[r, i]
        out[k] = d


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """a == b everywhere, for C-contiguous float64 arrays of one (N, D) shape (NaN
    never equals), in threads.

    >>> a = np.arange(12.0).reshape(4, 3); b = a.copy()
    >>> same_values(a, b), same_values(a, b + np.eye(4, 3))
    (True, False)
    """
    n = -(-a.shape[0] // _ROWS)
    out = np.zeros(n, dtype=np.bool_)
    run_chunks(_differ, n, (a, b), (out,))
    return not out.any()


class MomentCache:
    """The moment points of the last X seen, reused while the same array with the
    same contents comes back (checked exactly against a private copy).
    Arrays over ``max_bytes`` are not cached (their points are recomputed).
    ``points`` returns None when X's moments are not finite (a non-finite entry,
    or squares that overflow): the caller validates X itself."""

    def __init__(self, max_bytes: int = 1 << 28):
        self.max_bytes = max_bytes
        self._ref = self._copy = self._points = None

    def points(self, X: np.ndarray) -> np.ndarray | None:
        """X: a C-contiguous float64 (N, D) array."""
        ref = self._ref() if self._ref is not None else None
        if ref is X and self._copy.shape == X.shape and same_values(self._copy, X):
            return self._points
        Z = moment_points(X)
        if not np.isfinite(Z).all():
            return None
        if X.nbytes <= self.max_bytes:
            try:
                self._ref = weakref.ref(X)
            except TypeError:
                self._ref = None
                return Z
            self._copy, self._points = X.copy(), Z
        return Z
