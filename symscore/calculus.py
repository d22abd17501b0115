"""Exact derivatives of a density (pure SymPy, no simplification beyond SymPy's
automatic canonicalisation, so cost stays bounded on large mixtures).

Example
-------
>>> import sympy as sp, symscore as ss
>>> x = sp.Symbol("x", real=True); a = sp.Symbol("a", positive=True)
>>> d = ss.Density.from_energy(a * x**4 / 4, [x], [a])
>>> ss.calculus.score(d), ss.calculus.divergence(d)
(Matrix([[-a*x**3]]), -3*a*x**2)
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .errors import SymscoreError

__all__ = ["score", "hessian", "divergence", "param_gradient", "NormaliserCheck",
           "normaliser_drops_out"]


def score(density) -> sp.ImmutableMatrix:
    """s(x; θ) = ∇x log p~(x; θ) as a D×1 matrix."""
    L = density.log_density
    return sp.ImmutableMatrix([sp.diff(L, v) for v in density.variables])


def hessian(density) -> sp.ImmutableMatrix:
    """∂ⱼ sᵢ: the Jacobian of the score (= Hessian of log p~), symmetric, D×D."""
    s, xs = density.score, density.variables
    D = len(xs)
    rows = [[None] * D for _ in range(D)]
    for i in range(D):
        for j in range(i, D):
            rows[i][j] = rows[j][i] = sp.diff(s[i], xs[j])
    return sp.ImmutableMatrix(rows)


def divergence(density) -> sp.Expr:
    """∇·s = Σᵢ ∂sᵢ/∂xᵢ (the trace of the Jacobian; only the diagonal is formed)."""
    if "hessian" in density.__dict__:
        return sp.Add(*density.hessian.diagonal())
    fast = _lse_divergence(density)
    if fast is not None:
        return fast
    s = density.score
    return sp.Add(*[sp.diff(s[i], v) for i, v in enumerate(density.variables)])


def _lse_divergence(density):
    """∇·s in O(K) size when log p~ = Σⱼ cⱼ·LSE(aⱼ₁, …, aⱼK) + R (cⱼ free of x, R
    without LogSumExp), by ∂ᵢ² LSE(a) = Σₖ wₖ(∂ᵢ²aₖ + (∂ᵢaₖ)²) − (Σₖ wₖ∂ᵢaₖ)² with the
    softmax weights wₖ = exp(aₖ − LSE(a)) — the chain rule SymPy would apply, without
    re-deriving the K-term score K times; None for other shapes."""
    from .stable import LogSumExp
    xs = density.variables
    L = density.log_density
    if not L.has(LogSumExp):
        return None
    lses, rest = [], []
    for term in sp.Add.make_args(L):
        if not (term.free_symbols & set(xs)):
            continue
        c, f = term.as_independent(*xs, as_Add=False)
        if isinstance(f, LogSumExp):
            lses.append((c, f))
        elif term.has(LogSumExp):
            return None
        else:
            rest.append(term)
    if sum(len(f.args) for _, f in lses) < 8:
        return None
    R = sp.Add(*rest)
    out = [sp.diff(R, x, 2) for x in xs]
    for c, f in lses:
        w = [sp.exp(a - f) for a in f.args]
        for x in xs:
            da = [sp.diff(a, x) for a in f.args]
            first = sp.Add(*[wk * d for wk, d in zip(w, da)])
            second = sp.Add(*[wk * (sp.diff(d, x) + d**2) for wk, d in zip(w, da)])
            out.append(c * (second - first**2))
    return sp.Add(*out)


def param_gradient(density, integrand: sp.Expr) -> sp.ImmutableMatrix:
    """∂/∂θⱼ of a scalar integrand, as a P×1 matrix in ``density.params`` order."""
    if not isinstance(integrand, sp.Expr) or isinstance(integrand, sp.MatrixBase):
        raise SymscoreError(f"param_gradient needs a scalar sympy expression, got "
                            f"{type(integrand).__name__}")
    return sp.ImmutableMatrix([sp.diff(integrand, p) for p in density.params])


@dataclass(frozen=True)
class NormaliserCheck:
    """∇x log(p~/Z(θ)) versus ∇x log p~: ``difference`` is exactly zero."""

    normalised_score: sp.ImmutableMatrix
    score: sp.ImmutableMatrix
    difference: sp.ImmutableMatrix

    @property
    def holds(self) -> bool:
        return all(d == 0 for d in self.difference)


def normaliser_drops_out(density) -> NormaliserCheck:
    """Differentiate log(p~(x; θ) / Z(θ)) with Z an undefined function of θ only,
    and show the result equals the score of p~ exactly (Z is x-free, ∂ᵢ log Z = 0).

    >>> import symscore as ss
    >>> ss.calculus.normaliser_drops_out(ss.families.gaussian(dim=2)).holds
    True
    """
    Z = sp.Function("Z", positive=True)(*density.params)
    log_p = sp.log(sp.exp(density.log_density) / Z)
    normalised = sp.ImmutableMatrix([sp.diff(log_p, v) for v in density.variables])
    diff = (normalised - density.score).applyfunc(_reduce_difference)
    return NormaliserCheck(normalised, density.score, diff)


def _reduce_difference(e):
    """expand(powsimp(e)); when that is not 0, over a common denominator (cancel):
    d/dx log(e^f / Z) leaves e^f in numerator and denominator, which expansion alone
    does not always remove (x² + log(x² + 2) left e^{x²}·(x² + 2) terms)."""
    r = sp.expand(sp.powsimp(e))
    return r if r == 0 else sp.cancel(r)
