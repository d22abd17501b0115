"""Independent numerical oracles for tests of the symbolic core.

Nothing here uses symscore's derivatives or its stable functions' numerics:
expressions are evaluated with mpmath at high precision, where the naive forms
(log Σ exp, log(1 + exp)) are exact enough because mpmath's exponent range is
unbounded, and derivatives are central finite differences.

Accuracy at ``dps`` digits (ε = 10^-dps) with step h·max(1, |xᵢ|):
first derivatives h = ε^(1/3) → error ~ε^(2/3); second derivatives
h = ε^(1/4) → error ~ε^(1/2). At 50 digits: ~1e-33 and ~1e-25, relative to
the size of the function's derivatives.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, Sequence

import mpmath as mp
import numpy as np
import sympy as sp

DPS = 50


# -- mpmath evaluation of SymPy expressions -----------------------------------------

def _mp_lse(*a):
    return mp.log(mp.fsum(mp.exp(v) for v in a))


def _mp_dirac(z):
    if z != 0:
        return mp.mpf(0)
    raise ValueError("DiracDelta evaluated at its singular point")


#: naive definitions by function name; exact enough at 50 digits
MP_FUNCTIONS = {
    "LogSumExp": _mp_lse,
    "Softplus": lambda z: mp.log(1 + mp.exp(z)),
    "Sigmoid": lambda z: 1 / (1 + mp.exp(-z)),
    "log1p": mp.log1p,
    "loggamma": mp.loggamma,
    "DiracDelta": _mp_dirac,
}


@lru_cache(maxsize=256)
def _mp_lambdify(expr, symbols):
    return sp.lambdify(list(symbols), expr, modules=[MP_FUNCTIONS, "mpmath"])


def mp_callable(expr, symbols: Sequence[sp.Symbol]) -> Callable:
    """f(*values) evaluating ``expr`` (scalar or matrix → list) with mpmath at the
    current working precision. Inputs may be floats (taken at their exact binary value)."""
    if isinstance(expr, sp.MatrixBase):
        fs = [mp_callable(e, symbols) for e in expr]
        return lambda *v: [f(*v) for f in fs]
    raw = _mp_lambdify(expr, tuple(symbols))
    return lambda *v: raw(*[mp.mpf(float(x)) if not isinstance(x, mp.mpf) else x for x in v])


def bind_params(density, expr, theta) -> Callable:
    """g(x) = expr(x; θ) evaluated at ``DPS`` digits; x a sequence of floats or mpf."""
    f = mp_callable(expr, list(density.variables) + list(density.params))
    theta = [float(t) for t in theta]

    def g(x):
        with mp.workdps(max(DPS, mp.mp.dps)):
            return f(*(list(x) + theta))
    return g


def log_density_mp(density, theta) -> Callable:
    """x ↦ log p~(x; θ) at ``DPS`` digits (a numeric log-density, no derivatives used)."""
    return bind_params(density, density.log_density, theta)


# -- central finite differences ----------------------------------------------------

def _steps(x, power):
    eps = mp.mpf(10) ** (-mp.mp.dps)
    return [eps ** power * max(1, abs(mp.mpf(xi))) for xi in x]


def fd_gradient(f: Callable, x: Sequence, dps: int = DPS) -> list:
    """∂f/∂xᵢ by central differences, f evaluated at ``dps`` digits."""
    with mp.workdps(dps):
        x = [mp.mpf(float(v)) if not isinstance(v, mp.mpf) else v for v in x]
        hs = _steps(x, mp.mpf(1) / 3)
        out = []
        for i, h in enumerate(hs):
            up, dn = list(x), list(x)
            up[i] += h
            dn[i] -= h
            out.append((f(up) - f(dn)) / (2 * h))
        return out


def fd_hessian(f: Callable, x: Sequence, dps: int = DPS) -> list[list]:
    """∂²f/∂xᵢ∂xⱼ by central differences (the diagonal by the 3-point rule)."""
    with mp.workdps(dps):
        x = [mp.mpf(float(v)) if not isinstance(v, mp.mpf) else v for v in x]
        hs = _steps(x, mp.mpf(1) / 4)
        n = len(x)
        f0 = f(x)
        H = [[None] * n for _ in range(n)]

        def at(**shift):
            y = list(x)
            for i, s in shift.items():
                y[int(i[1:])] += s
            return f(y)
        for i in range(n):
            H[i][i] = (at(**{f"i{i}": hs[i]}) - 2 * f0 + at(**{f"i{i}": -hs[i]})) / hs[i] ** 2
            for j in range(i + 1, n):
                hi, hj = hs[i], hs[j]
                H[i][j] = H[j][i] = (at(**{f"i{i}": hi, f"i{j}": hj})
                                     - at(**{f"i{i}": hi, f"i{j}": -hj})
                                     - at(**{f"i{i}": -hi, f"i{j}": hj})
                                     + at(**{f"i{i}": -hi, f"i{j}": -hj})) / (4 * hi * hj)
        return H


def fd_laplacian(f: Callable, x: Sequence, dps: int = DPS):
    """Σᵢ ∂²f/∂xᵢ² by the 3-point rule in each coordinate."""
    with mp.workdps(dps):
        x = [mp.mpf(float(v)) if not isinstance(v, mp.mpf) else v for v in x]
        hs = _steps(x, mp.mpf(1) / 4)
        f0 = f(x)
        total = mp.mpf(0)
        for i, h in enumerate(hs):
            up, dn = list(x), list(x)
            up[i] += h
            dn[i] -= h
            total += (f(up) - 2 * f0 + f(dn)) / h ** 2
        return total


def fd_jacobian(g: Callable, x: Sequence, dps: int = DPS) -> list[list]:
    """J[i][j] = ∂gᵢ/∂xⱼ for a vector function g by central differences."""
    with mp.workdps(dps):
        x = [mp.mpf(float(v)) if not isinstance(v, mp.mpf) else v for v in x]
        hs = _steps(x, mp.mpf(1) / 3)
        cols = []
        for j, h in enumerate(hs):
            up, dn = list(x), list(x)
            up[j] += h
            dn[j] -= h
            gu, gd = g(up), g(dn)
            cols.append([(a - b) / (2 * h) for a, b in zip(gu, gd)])
        return [[cols[j][i] for j in range(len(x))] for i in range(len(cols[0]))]


# -- comparisons -----------------------------------------------------------------

def rel_err(a: Sequence, b: Sequence, floor: float = 1.0) -> float:
    """max |aᵢ − bᵢ| / max(floor, max |bᵢ|) as a float (a vector-wise relative error)."""
    a = [a] if not isinstance(a, (list, tuple, np.ndarray)) else list(a)
    b = [b] if not isinstance(b, (list, tuple, np.ndarray)) else list(b)
    assert len(a) == len(b), (len(a), len(b))
    with mp.workdps(DPS):
        scale = max([mp.mpf(floor)] + [abs(mp.mpf(v)) for v in b])
        return float(max(abs(mp.mpf(u) - mp.mpf(v)) for u, v in zip(a, b)) / scale)


# -- closed forms -----------------------------------------------------------------

def mixture_score_mp(weights, means, x, *, covs=None, precisions=None, dps: int = DPS) -> list:
    """Score of Σₖ wₖ N(μₖ, Σₖ) at x, at ``dps`` digits: Σₖ rₖ(x) · (−Pₖ(x − μₖ))
    with Pₖ = Σₖ⁻¹ (or given as ``precisions``) and responsibilities
    rₖ ∝ wₖ N(x; μₖ, Σₖ) computed in log space."""
    with mp.workdps(dps):
        x = mp.matrix([mp.mpf(float(v)) for v in x])
        logs, grads = [], []
        mats = precisions if precisions is not None else covs
        for w, mu, mat in zip(weights, means, mats):
            M = mp.matrix([[mp.mpf(float(c)) for c in row] for row in mat])
            r = x - mp.matrix([mp.mpf(float(m)) for m in mu])
            P_r = M * r if precisions is not None else mp.lu_solve(M, r)
            log_det_P = mp.log(mp.det(M)) * (1 if precisions is not None else -1)
            quad = mp.fsum(r[i] * P_r[i] for i in range(len(r)))
            logs.append(mp.log(mp.mpf(float(w))) + log_det_P / 2 - quad / 2)
            grads.append(-P_r)
        top = max(logs)
        resp = [mp.exp(v - top) for v in logs]
        total = mp.fsum(resp)
        return [mp.fsum(rk * g[i] for rk, g in zip(resp, grads)) / total
                for i in range(len(x))]


def mixture_score_numpy(weights, means, covs, x) -> tuple[np.ndarray, float]:
    """(score, divergence) of Σₖ wₖ N(μₖ, Σₖ) at x in float64 numpy (solve,
    slogdet, log-sum-exp): s = Σₖ rₖgₖ with gₖ = −Σₖ⁻¹(x − μₖ) and
    ∇·s = Σₖ rₖ(‖gₖ‖² − tr Σₖ⁻¹) − ‖s‖²  (since Δ log p = Δp/p − ‖∇ log p‖²)."""
    logs, grads, traces = [], [], []
    for w, mu, cov in zip(weights, means, covs):
        r = np.asarray(x, float) - np.asarray(mu, float)
        g = -np.linalg.solve(cov, r)
        logs.append(math.log(w) - np.linalg.slogdet(cov)[1] / 2 - r @ -g / 2)
        grads.append(g)
        traces.append(np.trace(np.linalg.inv(cov)))
    logs = np.array(logs)
    resp = np.exp(logs - logs.max())
    resp /= resp.sum()
    grads = np.array(grads)
    s = resp @ grads
    div = resp @ (np.sum(grads**2, axis=1) - np.array(traces)) - s @ s
    return s, float(div)


# -- float evaluation with stable primitives (what compiled code must match) --------

def _lse(*a):
    m = max(a)
    if math.isinf(m):
        return m
    return m + math.log(math.fsum(math.exp(v - m) for v in a))


def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


FLOAT_FUNCTIONS = {"LogSumExp": _lse, "Softplus": _softplus, "Sigmoid": _sigmoid,
                   "log1p": math.log1p, "loggamma": math.lgamma}


def float_callable(expr, symbols: Sequence[sp.Symbol]) -> Callable:
    """f(*floats) → float (or list for a matrix) in float64 ``math`` with stable
    LogSumExp / Softplus / Sigmoid, i.e. the arithmetic a kernel performs."""
    if isinstance(expr, sp.MatrixBase):
        fs = [float_callable(e, symbols) for e in expr]
        return lambda *v: [f(*v) for f in fs]
    return sp.lambdify(list(symbols), expr, modules=[FLOAT_FUNCTIONS, "math"])
