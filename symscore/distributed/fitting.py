"""``fit`` on a dask array (e.g. a memory-mapped ``.npy`` file or a zarr store).

:func:`symscore.fit` recognises a dask X and keeps it lazy:

* :func:`as_data` checks it in one pass on the workers (shape, finiteness —
  naming the global row — and the support), without loading it on the client;
* the exact (exponential-family) path accumulates its sufficient statistics
  Σ A(x), Σ b(x), Σ c(x) chunk by chunk (:func:`moments`) and the gradient
  covariance of its standard errors in a second pass
  (:func:`gradient_covariance`); chunks are aligned to the plan's row blocks
  and block sums merged exactly: the single-process estimate, bit for bit;
* the L-BFGS-B path evaluates ``Kernels.ism_loss_and_grad`` /
  ``weighted_ism_loss_and_grad`` on the dask array: every loss and gradient is
  the single-process value (:mod:`.arrays`), and so is the optimiser's path.

>>> import numpy as np, dask.array as da, symscore as ss
>>> g = ss.families.gaussian_natural(dim=1)
>>> X = np.random.default_rng(0).normal(size=(1000, 1))
>>> a = ss.fit(g, X, prove=False)
>>> b = ss.fit(g, da.from_array(X, chunks=(300, 1)), prove=False)
>>> bool(np.array_equal(a.theta, b.theta)) and a.loss == b.loss
True
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..errors import InputValueError, ShapeError
from . import exactsum, require_dask
from .arrays import _compute, _offsets, aligned, check_block, tree_reduce

__all__ = ["as_data", "moments", "gradient_covariance"]


def _scan(block, offset):
    check_block(block, offset)
    return block.min(axis=0), block.max(axis=0)


def _minmax(*items):
    return np.min([i[0] for i in items], axis=0), np.max([i[1] for i in items], axis=0)


def as_data(density, X):
    """X (N, D) as a float64 dask array, checked on the workers (see the module doc)."""
    import dask
    require_dask("fit on a dask array")
    if X.ndim == 1 and density.dim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != density.dim:
        raise ShapeError(f"X must have shape (N, {density.dim}) for {density.name}, "
                         f"got {X.shape}")
    if np.isnan(X.shape[0]):
        raise ShapeError("X has an unknown number of rows; call X.compute_chunk_sizes()")
    if X.shape[0] < 2:
        raise ShapeError(f"X needs at least 2 samples, got {X.shape[0]}")
    if X.dtype.kind not in "fiu":
        raise ShapeError(f"X must be an array of numbers, got dtype {X.dtype}")
    X = X.astype(np.float64).rechunk({1: -1})
    f = dask.delayed(_scan, pure=True)
    lo, hi = _compute(tree_reduce([f(b, off) for b, off in
                                   zip(X.to_delayed().ravel(), _offsets(X))], _minmax))
    from ..params import in_domain
    from ..fit.result import _interval_text
    for j, (v, sup) in enumerate(zip(density.variables, density.support)):
        if sup == sp.S.Reals:
            continue
        for t in (lo[j], hi[j]):
            if not in_domain(t, sup):
                raise InputValueError(f"X[:, {j}] has value {t!r} outside the support "
                                      f"{_interval_text(sup)} of {v}")
    return X


def _plan(density, weights):
    from ..fit.exact import quadratic_plan
    return quadratic_plan(density, weights)


def _sums_block(block, density, weights):
    A, b, c = _plan(density, weights).block_sums(block)
    n = len(c)
    return (exactsum.expansions(A.reshape(n, -1)), exactsum.expansions(b.reshape(n, -1)),
            [exactsum.expansion(c)])


def _cov_block(block, density, weights, theta, center):
    S, s = _plan(density, weights).gradient_block_sums(block, theta, center)
    n = len(s)
    return exactsum.expansions(S.reshape(n, -1)), exactsum.expansions(s.reshape(n, -1))


def _merge(*items):
    return tuple([exactsum.merge_many(i[part][k] for i in items)
                  for k in range(len(items[0][part]))] for part in range(len(items[0])))


def _run(plan, X, fn, *args):
    import dask
    X = aligned(X, plan._chunk)
    f = dask.delayed(fn, pure=True)
    d = dask.delayed((plan.density, plan.weights), pure=True)
    leaves = [f(b, d[0], d[1], *args) for b in X.to_delayed().ravel()]
    return [exactsum.totals(e) for e in _compute(tree_reduce(leaves, _merge))]


def moments(plan, X):
    """(Ā, b̄, c̄) of ``plan`` (a :class:`~symscore.fit.exact.QuadraticPlan`) over a
    dask X: the block sums of :meth:`~symscore.fit.exact.QuadraticPlan.moments`,
    computed chunk by chunk on the workers and merged exactly (the same bits)."""
    P, N = plan.density.n_params, X.shape[0]
    A, b, c = _run(plan, X, _sums_block)
    return A.reshape(P, P) / N, b / N, float(c[0]) / N


def gradient_covariance(plan, X, theta, center):
    """:meth:`~symscore.fit.exact.QuadraticPlan.gradient_covariance` over a dask X."""
    P, N = len(theta), X.shape[0]
    S, s = _run(plan, X, _cov_block, np.asarray(theta, dtype=float),
                np.asarray(center, dtype=float))
    d = s / N
    return S.reshape(P, P) / N - np.outer(d, d)
