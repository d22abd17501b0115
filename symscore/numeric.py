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

from typing import Sequence

import mpmath
import numpy as np

__all__ = ["NUMPY_FUNCTIONS", "MPMATH_FUNCTIONS", "lambdify"]


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


#: lambdify ``modules`` entry: symscore's stable primitives as NumPy functions
NUMPY_FUNCTIONS = {"LogSumExp": _np_logsumexp, "Softplus": _np_softplus,
                   "Sigmoid": _np_sigmoid, "log1p": np.log1p}
#: the same for mpmath (arbitrary precision; use with ``mpmath.workdps``)
MPMATH_FUNCTIONS = {"LogSumExp": _mp_logsumexp, "Softplus": _mp_softplus,
                    "Sigmoid": _mp_sigmoid, "log1p": mpmath.log1p}


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
