"""Exact expectations under a Gaussian-type density (log p quadratic in x with a
negative-definite Hessian): its mean and covariance are read off symbolically,
and expectations of polynomials follow from Isserlis' theorem — no integration.

>>> import sympy as sp, symscore as ss
>>> x, m = sp.Symbol("x", real=True), sp.Symbol("m", real=True)
>>> s = sp.Symbol("s", positive=True)
>>> data = ss.Density.from_log_density(-(x - m)**2 / (2 * s**2), [x], [m, s])
>>> mean, cov = gaussian_moments(data)
>>> mean, cov
(Matrix([[m]]), Matrix([[s**2]]))
>>> expect_polynomial(x**2, data.variables, mean, cov)
m**2 + s**2
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

__all__ = ["quadratic_parts", "is_negative_definite", "gaussian_moments", "expect_polynomial"]


def _degree_bound(e, xs) -> int:
    """An upper bound of the total degree of a polynomial in ``xs`` without expanding
    it (so (x² + y² + 1)**500 costs nothing)."""
    if not (e.free_symbols & xs):
        return 0
    if e in xs:
        return 1
    if e.is_Add:
        return max(_degree_bound(a, xs) for a in e.args)
    if e.is_Mul:
        return sum(_degree_bound(a, xs) for a in e.args)
    if e.is_Pow and e.exp.is_Integer and e.exp >= 0:
        return _degree_bound(e.base, xs) * int(e.exp)
    return 10**9


def quadratic_parts(expr, xs):
    """(H, b, c) with expr = c + bᵀx + ½ xᵀHx, or None if expr is not a polynomial
    of total degree ≤ 2 in ``xs``."""
    if not expr.is_polynomial(*xs) or _degree_bound(expr, set(xs)) > 2:
        return None
    P = sp.Poly(expr, *xs)
    if P.total_degree() > 2:
        return None
    D = len(xs)
    H = sp.zeros(D, D)
    b = sp.zeros(D, 1)
    c = sp.S.Zero
    for monom, coeff in P.terms():
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        if len(idx) == 2:
            i, j = idx
            H[i, j] += coeff
            H[j, i] += coeff
        elif len(idx) == 1:
            b[idx[0]] += coeff
        else:
            c += coeff
    return sp.ImmutableMatrix(H), sp.ImmutableMatrix(b), c


def _minor_sign(A, k) -> bool | None:
    det = sp.factor(sp.cancel(A[:k, :k].det(method="berkowitz")))
    return det.is_positive


def is_negative_definite(H, max_dim: int = 4) -> bool | None:
    """Sylvester's criterion on −H (leading principal minors > 0), decided by
    SymPy's assumptions; None when undecided or D > ``max_dim``."""
    A = -sp.Matrix(H)
    if A.shape[0] > max_dim:
        return None
    signs = [_minor_sign(A, k) for k in range(1, A.shape[0] + 1)]
    if all(s is True for s in signs):
        return True
    return False if any(s is False for s in signs) else None


def gaussian_moments(density, max_dim: int = 4):
    """(mean, covariance) as exact SymPy matrices when ``density`` is Gaussian-type
    on ℝ^D, else None."""
    xs = density.variables
    if not density.has_full_support or len(xs) > max_dim:
        return None
    parts = quadratic_parts(density.log_density, xs)
    if parts is None:
        return None
    H, b, _ = parts
    if is_negative_definite(H, max_dim) is not True:
        return None
    cov = (-sp.Matrix(H)).inv(method="LU").applyfunc(lambda e: sp.factor(sp.cancel(e)))
    mean = (cov * sp.Matrix(b)).applyfunc(lambda e: sp.factor(sp.cancel(e)))
    return sp.ImmutableMatrix(mean), sp.ImmutableMatrix(cov)


@lru_cache(maxsize=4096)
def _isserlis(indices: tuple[int, ...], cov: sp.ImmutableMatrix) -> sp.Expr:
    """E[z_{i1}⋯z_{ik}] for z ~ N(0, cov)."""
    if not indices:
        return sp.S.One
    if len(indices) % 2:
        return sp.S.Zero
    first, rest = indices[0], indices[1:]
    total = sp.S.Zero
    for j, other in enumerate(rest):
        total += cov[first, other] * _isserlis(rest[:j] + rest[j + 1:], cov)
    return total


def expect_polynomial(expr, xs, mean, cov) -> sp.Expr:
    """E[expr] for x ~ N(mean, cov), expr a polynomial in ``xs`` (exact)."""
    z = sp.symbols(f"z_0:{len(xs)}", real=True, cls=sp.Dummy)
    shifted = sp.expand(expr.xreplace({x: mean[i] + z[i] for i, x in enumerate(xs)}))
    P = sp.Poly(shifted, *z)
    cov = sp.ImmutableMatrix(cov)
    total = sp.S.Zero
    for monom, coeff in P.terms():
        idx = tuple(i for i, k in enumerate(monom) for _ in range(k))
        total += coeff * _isserlis(idx, cov)
    return sp.expand(total)
