"""Evaluating symscore's expressions with plain NumPy or mpmath.

symscore writes mixtures, RBMs and logistic terms with its stable primitives
(:class:`~symscore.stable.LogSumExp`, :class:`~symscore.stable.Softplus`,
:class:`~symscore.stable.Sigmoid`, ``log1p``), which ``sympy.lambdify`` does not
know. :data:`NUMPY_FUNCTIONS` and :data:`MPMATH_FUNCTIONS` map them to stable
evaluations (max-shifted log-sum-exp, ``max(z, 0) + log1p(e^{−|z|})``, …); pass
one as the first entry of lambdify's ``modules`` or call :func:`lambdify`.

(The compiled kernels of :func:`symscore.compile` are the fast way to evaluate
scores and losses on many samples; this is for quick looks and for oracles.)

>>> import mpmath, symscore as ss
>>> d = ss.families.gaussian_mixture(dim=1, components=2)
>>> f = ss.lambdify([*d.variables, *d.params], d.log_density)
>>> round(float(f(1000.0, 0.0, 0.0, -4.0, 4.0, 1.5, 1.5)), 4)  # finite far out (naive: -inf)
-1116019.2066
>>> g = ss.lambdify([*d.variables, *d.params], d.log_density, backend="mpmath")
>>> print(mpmath.nstr(g(1000.0, 0.0, 0.0, -4.0, 4.0, 1.5, 1.5), 12))
-1116019.20662
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import mpmath
import numpy as np

__all__ = ["NUMPY_FUNCTIONS", "MPMATH_FUNCTIONS", "lambdify", "score_at", "log_density_at",
           "as_rows"]


def _np_logsumexp(*a):
    arrays = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in a])
    m = np.max(arrays, axis=0)
    shift = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return shift + np.log(np.sum([np.exp(v - shift) for v in arrays], axis=0))


def _np_softplus(z):
    z = np.asarray(z, dtype=float)
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _np_sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _mp_logsumexp(*a):
    m = max(mpmath.mpf(v) for v in a)
    return m + mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in a))


def _mp_softplus(z):
    z = mpmath.mpf(z)
    return max(z, 0) + mpmath.log1p(mpmath.exp(-abs(z)))


def _mp_sigmoid(z):
    z = mpmath.mpf(z)
    return 1 / (1 + mpmath.exp(-z)) if z >= 0 else mpmath.exp(z) / (1 + mpmath.exp(z))


def _np_loggamma(z):
    from scipy.special import gammaln   # deferred: scipy is slow to import
    return gammaln(z)


#: lambdify ``modules`` entry: symscore's stable primitives as NumPy functions
NUMPY_FUNCTIONS = {"LogSumExp": _np_logsumexp, "Softplus": _np_softplus,
                   "Sigmoid": _np_sigmoid, "log1p": np.log1p, "loggamma": _np_loggamma}
#: the same for mpmath (arbitrary precision; use with ``mpmath.workdps``)
MPMATH_FUNCTIONS = {"LogSumExp": _mp_logsumexp, "Softplus": _mp_softplus,
                    "Sigmoid": _mp_sigmoid, "log1p": mpmath.log1p,
                    "loggamma": mpmath.loggamma}


def lambdify(args: Sequence, exprs, backend: str = "numpy", cse: bool = True):
    """``sympy.lambdify(args, exprs)`` that understands symscore's stable primitives.

    ``backend``: ``"numpy"`` (vectorised float64) or ``"mpmath"`` (scalars, at the
    current ``mpmath.mp.dps``). ``exprs`` may be one expression or a list/matrix.
    """
    import sympy as sp
    if backend == "numpy":
        modules = [NUMPY_FUNCTIONS, "numpy"]
    elif backend == "mpmath":
        modules = [MPMATH_FUNCTIONS, "mpmath"]
    else:
        from .errors import InputValueError
        raise InputValueError(f"backend must be 'numpy' or 'mpmath', got {backend!r}")
    return sp.lambdify(list(args), exprs, modules=modules, cse=cse)


# -- a density's score and log-density at points (plain NumPy, no compilation) ------------

@lru_cache(maxsize=64)
def _density_function(density, what: str):
    xs, th = list(density.variables), list(density.params)
    exprs = list(density.score) if what == "score" else [density.log_density]
    return lambdify(xs + th, exprs)


def as_rows(density, X, what: str = "X") -> np.ndarray:
    """X as a finite float64 (N, D) array for ``density`` (a flat array when D = 1)."""
    from .errors import InputValueError, ShapeError
    X = np.asarray(X, dtype=float)
    if X.ndim == 1 and density.dim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != density.dim:
        raise ShapeError(f"{what} must have shape (N, {density.dim}), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputValueError(f"{what} holds NaN or infinite values")
    return X


def score_at(density, X, theta) -> np.ndarray:
    """The exact score ∇x log p~(x; θ) at the rows of X, shape (N, D).

    >>> import numpy as np, symscore as ss
    >>> score_at(ss.families.gaussian(dim=1), np.array([[1.0]]), [0.0, 2.0])
    array([[-4.]])
    """
    from .params import pack
    X, theta = as_rows(density, X), pack(density, theta)
    out = _density_function(density, "score")(*X.T, *theta)
    return np.stack([np.broadcast_to(np.asarray(o, dtype=float), (len(X),)) for o in out],
                    axis=1)


def log_density_at(density, X, theta) -> np.ndarray:
    """log p~(x; θ) at the rows of X, shape (N,).

    >>> import numpy as np, symscore as ss
    >>> log_density_at(ss.families.gaussian(dim=1), np.array([[0.0]]), [0.0, 1.0])
    array([-0.91893853])
    """
    from .params import pack
    X, theta = as_rows(density, X), pack(density, theta)
    out = _density_function(density, "logp")(*X.T, *theta)[0]
    return np.broadcast_to(np.asarray(out, dtype=float), (len(X),)).copy()
