"""Readable forms of a mixture's score and divergence.

A log-density whose x-dependence sits in one log-sum-exp, log p~ = LSE(a₁ … a_K) + b,
has the score and divergence

    s(x)  = Σₖ rₖ(x) ∇aₖ(x) + ∇b,         rₖ = exp(aₖ − LSE(a))  (responsibilities)
    ∇·s   = Σₖ rₖ (Δaₖ + ‖∇aₖ‖²) − ‖Σₖ rₖ ∇aₖ‖² + Δb,

exactly (differentiate rₖ: ∇rₖ = rₖ(∇aₖ − Σⱼ rⱼ∇aⱼ)). For Gaussian components
∇aₖ is affine, often cₖ(μₖ − x): a Gaussian mixture's score reads "responsibilities
× (μₖ − x)/(1 + σ²)" instead of one expression with nested e^{−logsumexp(…)}.
SymPy's raw score stays the source of truth; tests compare the two. The Markdown
rendering is :func:`symscore.latex.mixture_markdown`.

>>> import sympy as sp, symscore as ss
>>> d = ss.families.gaussian_mixture_perturbed([0.5, 0.5], [[-1.0], [1.0]], [[[0.0]], [[0.0]]])
>>> m = mixture_form(d)
>>> len(m.terms), [sp.factor(g[0]) for g in m.grads]
(2, [-(x_0 + 1)/sigma**2, -(x_0 - 1)/sigma**2])
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .stable import LogSumExp

__all__ = ["MixtureForm", "mixture_form", "centre_form"]


@dataclass(frozen=True)
class MixtureForm:
    """log p~ = LSE(terms) + rest; ``grads[k]`` = ∇aₖ, ``laplacians[k]`` = Δaₖ."""

    variables: tuple
    terms: tuple
    rest: sp.Expr
    grads: tuple
    laplacians: tuple

    def responsibilities(self) -> tuple:
        lse = LogSumExp(*self.terms)
        return tuple(sp.exp(a - lse) for a in self.terms)

    def score(self) -> tuple:
        r = self.responsibilities()
        xs = self.variables
        return tuple(sp.Add(*[rk * g[i] for rk, g in zip(r, self.grads)]) + sp.diff(self.rest, x)
                     for i, x in enumerate(xs))

    def divergence(self) -> sp.Expr:
        r = self.responsibilities()
        xs = self.variables
        mean = [sp.Add(*[rk * g[i] for rk, g in zip(r, self.grads)]) for i in range(len(xs))]
        within = sp.Add(*[rk * (lap + sp.Add(*[gi**2 for gi in g]))
                          for rk, lap, g in zip(r, self.laplacians, self.grads)])
        return (within - sp.Add(*[m**2 for m in mean])
                + sp.Add(*[sp.diff(self.rest, x, 2) for x in xs]))


def mixture_form(density, theta=None) -> MixtureForm | None:
    """The log-sum-exp structure of ``density``'s log-density (at ``theta``, a mapping
    or flat vector substituted first, when given), or None when x does not sit in
    exactly one LogSumExp."""
    expr = density.log_density
    if theta is not None:
        from .params import pack
        values = [sp.Integer(int(v)) if float(v).is_integer() else sp.Float(v)
                  for v in pack(density, theta)]
        expr = expr.xreplace(dict(zip(density.params, values)))
    xs = tuple(density.variables)
    parts = sp.Add.make_args(expr)
    lse = [t for t in parts if isinstance(t, LogSumExp) and t.free_symbols & set(xs)]
    if len(lse) != 1:
        return None
    rest = sp.Add(*[t for t in parts if t is not lse[0]])
    terms = tuple(lse[0].args)
    grads = tuple(tuple(sp.factor(sp.diff(a, x)) for x in xs) for a in terms)
    laps = tuple(sp.factor(sp.Add(*[sp.diff(a, x, 2) for x in xs])) for a in terms)
    return MixtureForm(xs, terms, rest, grads, laps)


def centre_form(grad, xs):
    """(P, m) with grad = P·(m − x) exactly (P an x-free matrix, m a constant
    vector), else None."""
    P = -sp.Matrix([[sp.diff(g, y) for y in xs] for g in grad])
    if P.free_symbols & set(xs) or len(xs) > 3:
        return None
    try:
        m = (sp.Matrix(xs) + P.inv() * sp.Matrix(grad)).applyfunc(sp.simplify)
    except (ValueError, ZeroDivisionError, sp.matrices.common.NonInvertibleMatrixError):
        return None
    if m.free_symbols & set(xs):
        return None
    return P.applyfunc(sp.factor), m
