"""Identities that hold for ARBITRARY smooth fields, proven once with undefined
SymPy functions of (xᵢ, x₋ᵢ) (x₋ᵢ = the other coordinates, held fixed).

Each function returns a PROVEN :class:`Step` when ``expand(lhs − rhs)`` is
exactly 0 (it always is — a FAILED step here would reveal a bug). Being
universal, an identity is instantiated for a model by substitution: no
model-specific simplification is ever needed.

>>> pointwise_identity().status.name
'PROVEN'
>>> weighted_pointwise_identity().evidence["residual"]
0
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .core import Status, Step
from .notation import XI, XREST, Tex, generic_coordinate_functions

__all__ = ["normaliser_identity", "expansion_identity", "log_derivative_identity",
           "product_rule_identity", "pointwise_identity", "weighted_product_rule_identity",
           "weighted_pointwise_identity", "verify_identity", "GENERIC"]

HALF = sp.Rational(1, 2)


def _fields():
    s, = generic_coordinate_functions("s_i")
    p = sp.Function("p")(XI, XREST)
    return s, p


#: the generic objects: s_i (model score coordinate), p (data density), h_i (weight of xᵢ)
GENERIC = {"s": _fields()[0], "p": _fields()[1],
           "h": sp.Function("h_i")(XI)}


def verify_identity(key: str, title: str, lhs, rhs, justification: str,
                    vector_form=None) -> Step:
    """PROVEN iff ``expand((lhs − rhs).doit()) == 0`` (FAILED with the residual otherwise).
    Unevaluated ``Derivative`` objects keep the statement readable; ``doit`` applies them."""
    residual = sp.expand((lhs - rhs).doit())
    ok = residual == 0
    evidence = {"residual": residual, "holds_for": "arbitrary smooth s_i, p > 0 (and h_i)"}
    if vector_form is not None:
        evidence["vector_form"] = vector_form
    return Step(key, title, sp.Eq(lhs, rhs, evaluate=False),
                Status.PROVEN if ok else Status.FAILED,
                "generic identity: sympy.expand(lhs - rhs) == 0 with undefined functions",
                justification, evidence)


def _dlogp(p):
    return sp.Derivative(sp.log(p), XI)


@lru_cache(maxsize=None)
def normaliser_identity() -> Step:
    """∂ᵢ log(p~/Z(θ)) = ∂ᵢ log p~: Z depends on θ only."""
    theta = Tex(r"\theta")
    pt = sp.Function(r"\tilde{p}")(XI, XREST)
    Z = sp.Function("Z")(theta)
    lhs = sp.Derivative(sp.log(pt / Z), XI)
    rhs = sp.Derivative(sp.log(pt), XI)
    return verify_identity(
        "normaliser", "The normaliser drops out", lhs, rhs,
        r"$Z(\theta)=\int \tilde p\,dx$ does not depend on $x$, so $\partial_i \log Z(\theta) = 0$ "
        r"and the score of $p = \tilde p / Z$ equals the score of $\tilde p$.",
        sp.Eq(Tex(r"\nabla_x \log \frac{\tilde p(x;\theta)}{Z(\theta)}"),
              Tex(r"\nabla_x \log \tilde p(x;\theta)"), evaluate=False))


@lru_cache(maxsize=None)
def expansion_identity() -> Step:
    """½(sᵢ − ∂ᵢ log p)² = ½sᵢ² − sᵢ ∂ᵢ log p + ½(∂ᵢ log p)²."""
    s, p = _fields()
    g = _dlogp(p)
    return verify_identity(
        "expansion", "Expanding the squared error", HALF * (s - g)**2,
        HALF * s**2 - s * g + HALF * g**2,
        r"Coordinate-wise square expansion; summing over $i$ gives "
        r"$\tfrac12\|s-\nabla\log p\|^2 = \tfrac12\|s\|^2 - s\cdot\nabla\log p + "
        r"\tfrac12\|\nabla\log p\|^2$.",
        sp.Eq(Tex(r"\tfrac12\|s_\theta - \nabla\log p\|^2"),
              Tex(r"\tfrac12\|s_\theta\|^2 - s_\theta\cdot\nabla\log p + "
                  r"\tfrac12\|\nabla\log p\|^2"), evaluate=False))


@lru_cache(maxsize=None)
def log_derivative_identity() -> Step:
    """p ∂ᵢ log p = ∂ᵢ p (the log-derivative trick)."""
    _, p = _fields()
    return verify_identity(
        "log_derivative", "Log-derivative trick", p * sp.Derivative(sp.log(p), XI),
        sp.Derivative(p, XI),
        r"$\partial_i \log p = \partial_i p / p$ for $p > 0$; hence "
        r"$\mathbb{E}_p[s\cdot\nabla\log p] = \int s\cdot\nabla p\,dx$.",
        sp.Eq(Tex(r"p\,\nabla\log p"), Tex(r"\nabla p"), evaluate=False))


@lru_cache(maxsize=None)
def product_rule_identity() -> Step:
    """∂ᵢ(sᵢ p) = (∂ᵢ sᵢ) p + sᵢ ∂ᵢ p."""
    s, p = _fields()
    return verify_identity(
        "product_rule", "Product rule, per coordinate", sp.Derivative(s * p, XI),
        sp.Derivative(s, XI) * p + s * sp.Derivative(p, XI),
        r"Summing over $i$: $\nabla\cdot(s\,p) = (\nabla\cdot s)\,p + s\cdot\nabla p$.",
        sp.Eq(Tex(r"\nabla\cdot(s_\theta\, p)"),
              Tex(r"(\nabla\cdot s_\theta)\, p + s_\theta\cdot\nabla p"), evaluate=False))


@lru_cache(maxsize=None)
def pointwise_identity() -> Step:
    """½(sᵢ − ∂ᵢ log p)² p = (∂ᵢsᵢ + ½sᵢ² + ½(∂ᵢ log p)²) p − ∂ᵢ(sᵢ p)."""
    s, p = _fields()
    g = _dlogp(p)
    lhs = HALF * (s - g)**2 * p
    rhs = (sp.Derivative(s, XI) + HALF * s**2 + HALF * g**2) * p - sp.Derivative(s * p, XI)
    return verify_identity(
        "pointwise_identity", "Pointwise identity (Hyvärinen 2005, Lemma 4)",
        lhs, rhs,
        r"Holds for any smooth $s$ and $p>0$, coordinate by coordinate; summing over $i$ gives "
        r"the vector form. Integrated over the support, the last term contributes only "
        r"boundary values $[s_i p]$ (fundamental theorem of calculus in $x_i$).",
        sp.Eq(Tex(r"\tfrac12\|s_\theta-\nabla\log p\|^2 p"),
              Tex(r"\big(\nabla\cdot s_\theta + \tfrac12\|s_\theta\|^2 + "
                  r"\tfrac12\|\nabla\log p\|^2\big)p - \sum_i \partial_i(s_{\theta,i}\,p)"),
              evaluate=False))


@lru_cache(maxsize=None)
def weighted_product_rule_identity() -> Step:
    """∂ᵢ(hᵢ sᵢ p) = hᵢ′ sᵢ p + hᵢ (∂ᵢ sᵢ) p + hᵢ sᵢ ∂ᵢ p."""
    s, p = _fields()
    h = GENERIC["h"]
    return verify_identity(
        "weighted_product_rule", "Product rule with a weight $h_i(x_i)$",
        sp.Derivative(h * s * p, XI),
        sp.Derivative(h, XI) * s * p + h * sp.Derivative(s, XI) * p + h * s * sp.Derivative(p, XI),
        r"The weight $h_i$ depends on $x_i$ only.")


@lru_cache(maxsize=None)
def weighted_pointwise_identity() -> Step:
    """½hᵢ(sᵢ − ∂ᵢ log p)² p = (½hᵢsᵢ² + hᵢ∂ᵢsᵢ + hᵢ′sᵢ + ½hᵢ(∂ᵢ log p)²) p − ∂ᵢ(hᵢ sᵢ p)."""
    s, p = _fields()
    h = GENERIC["h"]
    g = _dlogp(p)
    lhs = HALF * h * (s - g)**2 * p
    rhs = ((HALF * h * s**2 + h * sp.Derivative(s, XI) + sp.Derivative(h, XI) * s
            + HALF * h * g**2) * p - sp.Derivative(h * s * p, XI))
    return verify_identity(
        "weighted_pointwise_identity", "Weighted pointwise identity (Hyvärinen 2007)",
        lhs, rhs,
        r"For any smooth $s$, $p>0$ and weight $h_i(x_i)\ge 0$; the last term integrates to the "
        r"boundary values $[h_i s_i p]$.",
        sp.Eq(Tex(r"\tfrac12\sum_i h_i(s_{\theta,i}-\partial_i\log p)^2 p"),
              Tex(r"\sum_i\big(\tfrac12 h_i s_{\theta,i}^2 + h_i\partial_i s_{\theta,i} + "
                  r"h_i' s_{\theta,i} + \tfrac12 h_i(\partial_i\log p)^2\big)p - "
                  r"\sum_i\partial_i(h_i s_{\theta,i} p)"), evaluate=False))
