"""Honesty checks of a numerical fit: an estimate is reported only when it is one.

* :func:`unused_params` — parameters the score does not depend on (score matching
  cannot see them: refused before fitting);
* :func:`stationarity` — max |∂f/∂θₖ|·max(1, |θₖ|) / max(1, |f|) at the end of an
  optimiser run: ~1e-8 at a minimum, O(1) when the optimiser stopped on a relative
  loss-reduction test while the loss was still falling (an objective unbounded
  below: degenerate data — identical or collinear rows, N ≤ D — for a scale
  family);
* :func:`curvature_directions` — the Hessian after equilibration: directions of
  (near) zero or negative curvature, split into exact symmetries of the model (a
  common shift of mixture logits: the objective is flat along them for *any* data,
  checked at perturbed points) and directions the data leave undetermined;
* :func:`degeneracy` — plain words on why data are degenerate (identical rows,
  fewer samples than dimensions, rank-deficient covariance).

>>> import numpy as np
>>> degeneracy(np.ones((500, 2)))
'all 500 rows are identical'
>>> degeneracy(np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]))
'the rows span only 1 of 2 dimensions (collinear or coplanar data)'
>>> degeneracy(np.random.default_rng(0).normal(size=(50, 2))) is None
True
"""

from __future__ import annotations

import numpy as np

__all__ = ["unused_params", "stationarity", "degeneracy", "curvature_directions",
           "STATIONARY", "MAX_CONDITION"]

#: a run ends at a stationary point when stationarity(...) is at most this
STATIONARY = 1e-4
#: the largest condition number of the equilibrated Hessian accepted
MAX_CONDITION = 1e12
#: equilibrated eigenvalues below this (relative to the largest) count as zero
_ZERO = 1e-9


def unused_params(density) -> list[str]:
    """Names of the parameters no score component depends on.

    >>> import sympy as sp, symscore as ss
    >>> x, m, c = sp.symbols("x m c", real=True)
    >>> unused_params(ss.Density.from_log_density(-(x - m)**2 / 2 + c, [x], [m, c]))
    ['c']
    """
    used = set().union(*(s.free_symbols for s in density.score))
    return [p.name for p in density.params if p not in used]


def stationarity(theta, loss, grad, bounds) -> float:
    """Scale-free size of the projected gradient (components pushing against an
    active bound are dropped)."""
    g = np.asarray(grad, dtype=float).copy()
    for k, (lo, hi) in enumerate(bounds):
        if (lo is not None and theta[k] <= lo and g[k] > 0) or \
                (hi is not None and theta[k] >= hi and g[k] < 0):
            g[k] = 0.0
    if not g.size:
        return 0.0
    return float(np.max(np.abs(g) * np.maximum(1.0, np.abs(theta))) / max(1.0, abs(loss)))


def degeneracy(X) -> str | None:
    """Why the rows of X cannot determine a full-rank scale, or None."""
    X = np.asarray(X, dtype=float)
    N, D = X.shape
    if N > 1 and np.all(X == X[0]):
        return f"all {N} rows are identical"
    if N <= D:
        return f"only {N} samples in {D} dimensions"
    Xc = X - X.mean(axis=0)
    s = np.linalg.svd(Xc / max(np.max(np.abs(Xc)), np.finfo(float).tiny), compute_uv=False)
    rank = int(np.sum(s > 1e-10 * s[0])) if s.size and s[0] > 0 else 0
    if rank < D:
        return (f"the rows span only {rank} of {D} dimensions (collinear or coplanar data)")
    return None


def _perturbed(density, X, rng, n=64) -> np.ndarray:
    """Points near the data but off any subspace the data lie in, inside the support."""
    Z = X[rng.integers(0, len(X), n)].copy()
    spread = X.std(axis=0) + 1.0
    for j, sup in enumerate(density.support):
        xi = rng.standard_normal(n)
        lo = float(sup.inf)
        hi = float(sup.sup)
        if np.isfinite(lo) and np.isfinite(hi):
            u = (Z[:, j] - lo) / (hi - lo)
            u = np.clip(u + 0.1 * xi, 1e-3, 1 - 1e-3)
            Z[:, j] = lo + (hi - lo) * u
        elif np.isfinite(lo):
            Z[:, j] = lo + (np.maximum(Z[:, j] - lo, 1e-3)) * np.exp(0.5 * xi)
        elif np.isfinite(hi):
            Z[:, j] = hi - (np.maximum(hi - Z[:, j], 1e-3)) * np.exp(0.5 * xi)
        else:
            Z[:, j] = Z[:, j] + spread[j] * xi
    return Z


def curvature_directions(H, loss_on, density, X, theta, bounds, seed=0):
    """Classify the Hessian ``H`` at θ̂ after equilibration (S H S, S = diag^-½).

    Returns ``(symmetries, undetermined, negative, condition)``: unit directions
    (in θ) along which the objective is flat for any data (kept: the pseudo-inverse
    handles them), flat only for these data, and of negative curvature; and the
    condition number over the remaining directions. ``loss_on(Z, θ)`` is the mean
    objective over the rows of Z."""
    H = (np.asarray(H, dtype=float) + np.asarray(H, dtype=float).T) / 2
    d = np.abs(np.diag(H))
    top = float(np.max(d)) if d.size else 0.0
    S = 1.0 / np.sqrt(np.maximum(d, max(top, 1.0) * 1e-300))
    evals, evecs = np.linalg.eigh(H * S[:, None] * S[None, :])
    scale = max(float(np.max(np.abs(evals))), np.finfo(float).tiny)
    rng = np.random.default_rng(seed)
    Z = _perturbed(density, X, rng)
    sym, flat, neg = [], [], []
    keep = np.ones(len(evals), dtype=bool)
    for i, lam in enumerate(evals):
        if lam > _ZERO * scale:
            continue
        v = evecs[:, i] * S
        v /= np.max(np.abs(v))
        keep[i] = False
        if _flat_for_any_data(loss_on, Z, theta, v, bounds):
            sym.append(v)
        elif lam < -1e-6 * scale:
            neg.append(v)
        else:
            flat.append(v)
    kept = evals[keep]
    cond = float(kept[-1] / kept[0]) if kept.size else 1.0
    return sym, flat, neg, cond


def _flat_for_any_data(loss_on, Z, theta, v, bounds) -> bool:
    """Whether the objective on the off-data points Z does not change along v (first
    and second differences at rounding level)."""
    eps = 1e-3 * max(1.0, float(np.max(np.abs(theta))))
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    tp, tm = theta + eps * v, theta - eps * v
    if np.any(tp < lo) or np.any(tp > hi) or np.any(tm < lo) or np.any(tm > hi):
        tp, tm = np.clip(tp, lo, hi), np.clip(tm, lo, hi)
    try:
        f0, fp, fm = (float(loss_on(Z, t)) for t in (theta, tp, tm))
    except Exception:   # noqa: BLE001 - a point where the objective cannot be evaluated
        return False
    if not np.all(np.isfinite([f0, fp, fm])):
        return False
    tol = 1e-7 * (1.0 + abs(f0))
    return abs(fp - fm) <= tol and abs(fp + fm - 2 * f0) <= tol
