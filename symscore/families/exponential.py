"""Independent exponential coordinates on the orthant (0, ∞)^D.

    log p(x) = Σᵢ [ log λᵢ − λᵢ xᵢ ],   support xᵢ ∈ (0, ∞)

The score −λ is constant and p does not vanish at the boundary xᵢ = 0, so the
boundary term of Hyvärinen's integration by parts is not zero there: plain ISM
is not valid, weighted ISM (weights hᵢ = xᵢ²) is. The support is declared so
the proof engine can see this.
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ._common import check_count, declared, variables, vector


def exponential(dim: int = 1, name: str | None = None) -> Density:
    """Product of D exponential distributions with rates λᵢ (normalised).

    Parameter group: ``rate`` (D,) — symbols ``rate_i`` > 0. Default: λ = 1.

    >>> d = exponential(dim=2)
    >>> d.support, d.score.T
    ((Interval.open(0, oo), Interval.open(0, oo)), Matrix([[-rate_0, -rate_1]]))
    """
    check_count(dim, "dim")
    xs = variables(dim)
    rate, rate_group = vector("rate", dim, "rate", positive=True)
    log_density = sp.Add(*[sp.log(r) - r * x for x, r in zip(xs, rate)])
    return Density(log_density, xs, declared(rate),
                   support=[sp.Interval.open(0, sp.oo)] * dim,
                   name=name or f"exponential(dim={dim})", param_groups=(rate_group,),
                   defaults={"rate": [1.0] * dim})
