"""Numerical evidence for CHECKED steps: numpy evaluation of SymPy expressions
(``lambdify`` with CSE and the stable primitives mapped to stable numpy code),
exact or importance sampling from a data density, Monte Carlo means with
standard errors, and tail evaluations of boundary terms.

This is the symbolic layer's own light numerics (never numba).

>>> import numpy as np, symscore as ss
>>> g = ss.families.gaussian(dim=1)
>>> d = draw(g, g.defaults, 2000, seed=1)
>>> d.method, d.samples.shape, abs(float(d.samples.mean())) < 0.1
('exact Gaussian mixture', (2000, 1), True)
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy as sp
from scipy import optimize

from ..numeric import NUMPY_FUNCTIONS as _PUBLIC_NUMPY
from ..stable import LogSumExp
from .core import ProofError
from .gaussian import quadratic_parts

__all__ = ["lambdify_numpy", "draw", "Draw", "mc_mean", "tail_values", "gaussian_components"]


#: symscore's public mapping, plus what the proofs meet besides
NUMPY_FUNCTIONS = {**_PUBLIC_NUMPY,
                   # the classical (pointwise) integrand of a kinked density: the Dirac
                   # delta is 0 almost everywhere, which is exactly why ISM fails there
                   "DiracDelta": lambda z: np.zeros_like(np.asarray(z, dtype=float))}


def lambdify_numpy(args: Sequence[sp.Symbol], exprs):
    """A numpy function of ``args`` returning ``exprs`` (a list) with CSE."""
    return sp.lambdify(list(args), list(exprs), modules=[NUMPY_FUNCTIONS, "numpy", "scipy"],
                       cse=True)


# -- sampling from a data density ---------------------------------------------------------

@dataclass(frozen=True)
class Draw:
    """Samples (n, D) and self-normalised importance weights (None when exact)."""

    samples: np.ndarray
    weights: np.ndarray | None
    method: str

    @property
    def ess(self) -> float:
        if self.weights is None:
            return float(len(self.samples))
        w = self.weights
        return float(w.sum()**2 / np.sum(w * w))


def gaussian_components(density, values):
    """[(log mass, mean, cov)] when log p is a quadratic or a log-sum-exp of
    quadratics in x with negative-definite quadratic parts; else None."""
    subs = {p: sp.Float(float(v)) for p, v in zip(density.params, values)}
    xs = density.variables
    L = density.log_density.xreplace(subs)
    parts = [t for t in sp.Add.make_args(L) if t.free_symbols & set(xs)]
    if len(parts) == 1 and isinstance(parts[0], LogSumExp):
        args = parts[0].args
    elif all(t.is_polynomial(*xs) for t in parts):
        args = (sp.Add(*parts),)
    else:
        return None
    comps = []
    D = len(xs)
    for a in args:
        quad = quadratic_parts(a, xs)  # a = c + bᵀx + ½xᵀHx
        if quad is None or sp.Poly(a, *xs).total_degree() != 2:
            return None
        H = np.array(quad[0], dtype=float)
        b = np.array(quad[1], dtype=float).reshape(-1)
        c = float(quad[2])
        prec = -H
        try:
            chol = np.linalg.cholesky(prec)
        except np.linalg.LinAlgError:
            return None
        cov = np.linalg.inv(prec)
        mean = cov @ b
        logdet_prec = 2.0 * np.sum(np.log(np.diag(chol)))
        logmass = c + 0.5 * b @ mean + 0.5 * D * np.log(2 * np.pi) - 0.5 * logdet_prec
        comps.append((logmass, mean, cov))
    return comps


def separable_terms(f, xs):
    """{xᵢ: the terms of f in xᵢ alone}, or None when a term couples coordinates."""
    parts = {x: [] for x in xs}
    for t in sp.Add.make_args(f):
        fx = t.free_symbols & set(xs)
        if len(fx) > 1:
            return None
        if fx:
            parts[fx.pop()].append(t)
    return {x: sp.Add(*ts) for x, ts in parts.items()}


def _maps(support, c, s):
    """x(u) and log x'(u) for a 1-D support: ℝ by c + s·sinh(u); a half-line by
    a ± s·eᵘ; a box by a + (b − a)·expit(u). Grids uniform in u are then fine near
    the bulk and geometric in the tails or near a finite end."""
    lo, hi = support.start, support.end
    if lo.is_finite and hi.is_finite:
        a, w = float(lo), float(hi - lo)
        return (lambda u: a + w * special.expit(u),
                lambda u: np.log(w) + special.log_expit(u) + special.log_expit(-u))
    if lo.is_finite:
        a = float(lo)
        return lambda u: a + s * np.exp(u), lambda u: np.log(s) + u
    if hi.is_finite:
        b = float(hi)
        return lambda u: b - s * np.exp(u), lambda u: np.log(s) + u
    return lambda u: c + s * np.sinh(u), lambda u: np.log(s) + np.log(np.cosh(u))


def _grid_u(g, support, c, s, n):
    """(x grid, log density in u) covering the mass of exp(g), or None."""
    xmap, logjac = _maps(support, c, s)
    for half in (4.0, 8.0, 16.0, 32.0, 64.0, 128.0):
        u = np.linspace(-half, half, n)
        with np.errstate(all="ignore"):
            x = xmap(u)
            v = np.asarray(g(x), dtype=float) * np.ones_like(u) + logjac(u)
        ok = np.isfinite(v)
        if not ok.any():
            continue
        top = np.max(v[ok])
        lo_small = not ok[0] or v[0] < top - 40
        hi_small = not ok[-1] or v[-1] < top - 40
        # the ends must be negligible and the mass resolved away from them
        if lo_small and hi_small and np.count_nonzero(v > top - 40) > 50:
            return x, v
    return None


def _grid(g, support, n=20001):
    """A grid in x (with the log-density per unit of a transformed variable u) that
    covers the mass of exp(g) on a 1-D support interval: a first pass finds the
    location and scale, a second resolves them."""
    first = _grid_u(g, support, 0.0, 1.0, 4001)
    if first is None:
        return None
    x, v = first
    ok = np.isfinite(v)
    if support.start.is_infinite and support.end.is_infinite:
        with np.errstate(all="ignore"):
            gx = np.asarray(g(x), dtype=float) * np.ones_like(x)
        good = np.isfinite(gx)
        c = float(x[good][np.argmax(gx[good])])
        near = good & (gx > np.max(gx[good]) - 2.0)
        s = float(max(np.ptp(x[near]) / 2.0, 1e-12)) if near.any() else 1.0
    else:
        c, s = 0.0, float(np.exp(np.median(np.log(np.abs(x[ok & (v > np.max(v[ok]) - 3)]
                                                            - (float(support.start)
                                                               if support.start.is_finite
                                                               else float(support.end)))
                                                     + 1e-300))))
    return _grid_u(g, support, c, s, n)


def quiet(fn):
    """Run ``fn`` with numpy floating-point warnings and RuntimeWarnings silenced: the
    symbolic layer's numerics meet singular points on purpose (and report them)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)
    return wrapper


@quiet
def draw(density, values, n: int, seed: int = 0) -> Draw:
    """Samples from ``density`` at parameter ``values``: exact for Gaussian-type
    and log-sum-exp-of-Gaussian (mixture) log-densities; inverse-CDF on a fine
    grid per coordinate for separable ones; otherwise self-normalised importance
    sampling from a Student-t₅ proposal around the mode (``weights`` set)."""
    rng = np.random.default_rng(seed)
    D = density.dim
    comps = gaussian_components(density, values) if density.has_full_support else None
    if comps is not None:
        logm = np.array([c[0] for c in comps])
        w = np.exp(logm - logm.max())
        k = rng.choice(len(comps), size=n, p=w / w.sum())
        out = np.empty((n, D))
        for j, (_, mean, cov) in enumerate(comps):
            idx = np.nonzero(k == j)[0]
            out[idx] = rng.multivariate_normal(mean, cov, size=len(idx))
        return Draw(out, None, "exact Gaussian mixture")
    parts = separable_terms(density.log_density, density.variables)
    subs = {p: float(v) for p, v in zip(density.params, values)}
    if parts is not None:
        out = np.empty((n, D))
        for i, x in enumerate(density.variables):
            g = sp.lambdify([x], parts[x].xreplace(subs), modules=[NUMPY_FUNCTIONS, "numpy"])
            grid = _grid(g, density.support[i])
            if grid is None:
                break
            xg, v = grid     # v: log density per unit of the uniform grid variable u
            dens = np.exp(np.where(np.isfinite(v), v - np.max(v[np.isfinite(v)]), -np.inf))
            cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]))])
            uidx = np.interp(rng.random(n) * cdf[-1], cdf, np.arange(len(xg), dtype=float))
            k = np.minimum(uidx.astype(int), len(xg) - 2)
            out[:, i] = xg[k] + (uidx - k) * (xg[k + 1] - xg[k])
        else:
            return Draw(out, None, "inverse CDF on a 20001-point transformed grid per "
                        "coordinate (sinh / exp / logistic in the tails)")
    if not density.has_full_support:
        raise ProofError(f"no sampler for {density.name}: not separable and its support is "
                         "bounded on some coordinate")
    return _importance(density, values, n, rng)


def _importance(density, values, n, rng) -> Draw:
    D = density.dim
    logp_f = lambdify_numpy(list(density.variables) + list(density.params),
                            [density.log_density, *density.score])
    th = [float(v) for v in values]

    def neg(x):
        out = logp_f(*x, *th)
        return -float(out[0]), -np.array(out[1:], dtype=float)

    best = min((optimize.minimize(neg, x0, jac=True, method="BFGS")
                for x0 in (np.zeros(D), rng.standard_normal(D) * 2)), key=lambda r: r.fun)
    mode = best.x
    cov = np.asarray(best.hess_inv) if np.all(np.isfinite(best.hess_inv)) else np.eye(D)
    cov = 0.5 * (cov + cov.T) * 4.0 + 1e-9 * np.eye(D)
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        chol, cov = np.eye(D) * 2.0, np.eye(D) * 4.0
    nu = 5.0
    z = rng.standard_normal((n, D))
    u = rng.chisquare(nu, size=n)
    X = mode + (z @ chol.T) / np.sqrt(u / nu)[:, None]
    r = np.linalg.solve(chol, (X - mode).T).T
    logq = -0.5 * (nu + D) * np.log1p(np.sum(r * r, axis=1) / nu)
    logp = np.asarray(logp_f(*X.T, *th)[0], dtype=float) * np.ones(n)
    lw = logp - logq
    w = np.exp(lw - np.max(lw))
    return Draw(X, w / w.sum(), "self-normalised importance sampling (Student-t5 proposal)")


def mc_mean(values: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Mean and standard error (delta method for self-normalised weights)."""
    v = np.asarray(values, dtype=float)
    if weights is None:
        return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
    w = weights / weights.sum()
    m = float(np.sum(w * v))
    return m, float(np.sqrt(np.sum(w * w * (v - m)**2)))


# -- boundary terms evaluated along a coordinate ----------------------------------------

@quiet
def tail_values(log_abs_term, density_args, values, coordinate, end, dim,
                others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log|term| at points approaching ``end`` = (value, side) along ``coordinate``,
    for each row of ``others`` (values of the other coordinates).

    Returns (distances or positions, array (n_points, n_others))."""
    value, side = end
    if value.is_infinite:
        ts = 10.0 ** np.arange(1, 7)
        pos = ts * (1.0 if value == sp.oo else -1.0)
    else:
        ts = 10.0 ** -np.arange(1, 9)
        pos = float(value) + side * ts
    f = lambdify_numpy(density_args, [log_abs_term])
    rows = []
    for x in pos:
        X = (np.insert(others, coordinate, x, axis=1) if dim > 1
             else np.full((len(others), 1), x))
        with np.errstate(all="ignore"):
            v = f(*[X[:, i] for i in range(dim)], *[float(t) for t in values])[0]
        rows.append(np.broadcast_to(np.asarray(v, dtype=float), (len(others),)))
    return pos, np.array(rows)



# -- tail diagnostics: may a Monte Carlo mean be trusted? ------------------------------

def hill_tail_index(values, weights=None, seed: int = 0) -> tuple[float, float]:
    """Hill's estimate of the tail index α of |values| (P(|V| > v) ~ v^−α) and its
    standard error α/√k, from the top k = max(100, n/50) order statistics.
    Weighted samples are resampled by their weights first. A large α (light or
    bounded tails) gives a large value; α ≤ 2 means the variance is infinite.

    >>> rng = np.random.default_rng(0)
    >>> a, se = hill_tail_index(rng.pareto(1.5, 100_000) + 1)
    >>> bool(abs(a - 1.5) < 3 * se)
    True
    """
    v = np.abs(np.asarray(values, dtype=float))
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        idx = np.random.default_rng(seed).choice(len(v), size=len(v), p=w / w.sum())
        v = v[idx]
    v = np.sort(v[np.isfinite(v)])[::-1]
    n = len(v)
    if n < 200:
        return float("nan"), float("inf")
    k = max(100, n // 50)
    ref = v[k]
    if ref <= 0:
        return float("inf"), 0.0      # at most k nonzero values: no tail at all
    logs = np.log(v[:k] / ref)
    m = float(np.mean(logs))
    if m <= 0:
        return float("inf"), 0.0
    alpha = 1.0 / m
    return alpha, alpha / np.sqrt(k)


@quiet
def finite_variance_evidence(values, weights=None, seed: int = 0, z: float = 2.0) -> dict:
    """Whether a Monte Carlo mean of ``values`` (with self-normalised importance
    ``weights``) has finite variance, by Hill tail indices: the values' index and
    the weights' index must both exceed 2 by ``z`` standard errors."""
    a, se = hill_tail_index(values, weights, seed)
    ev = {"tail_index": a, "tail_index_se": se}
    ok = bool(np.isfinite(se) and a - z * se > 2.0)
    if weights is not None:
        aw, sew = hill_tail_index(weights)
        ev.update(weights_tail_index=aw, weights_tail_index_se=sew)
        ok = ok and bool(np.isfinite(sew) and aw - z * sew > 2.0)
    ev["finite_variance_supported"] = ok
    return ev
