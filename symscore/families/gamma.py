"""Independent gamma coordinates on the orthant (0, ∞)^D (shape–rate form).

    log p(x) = Σᵢ [ (kᵢ − 1) log xᵢ − βᵢ xᵢ + kᵢ log βᵢ − log Γ(kᵢ) ],   xᵢ ∈ (0, ∞)

The score is sᵢ = (kᵢ − 1)/xᵢ − βᵢ. At the boundary xᵢ → 0, sᵢ p → 0 only
when kᵢ > 2 (roughly); for k ≤ 1 the density itself is unbounded there. This
is why the support is declared: the proof engine checks the boundary term.
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ._common import check_count, declared, variables, vector


def gamma(dim: int = 1, name: str | None = None) -> Density:
    """Product of D gamma distributions with shapes kᵢ and rates βᵢ (normalised).

    Parameter groups: ``shape`` (D,) — symbols ``shape_i`` > 0; ``rate`` (D,)
    — symbols ``rate_i`` > 0. Defaults: k = 3, β = 1.

    >>> d = gamma(dim=1)
    >>> d.score, d.divergence
    (Matrix([[-rate_0 + (shape_0 - 1)/x_0]]), -(shape_0 - 1)/x_0**2)
    """
    check_count(dim, "dim")
    xs = variables(dim)
    k, shape_group = vector("shape", dim, "shape", positive=True)
    rate, rate_group = vector("rate", dim, "rate", positive=True)
    log_density = sp.Add(*[(ki - 1) * sp.log(x) - r * x + ki * sp.log(r) - sp.loggamma(ki)
                           for x, ki, r in zip(xs, k, rate)])
    return Density(log_density, xs, declared(k, rate),
                   support=[sp.Interval.open(0, sp.oo)] * dim,
                   name=name or f"gamma(dim={dim})", param_groups=(shape_group, rate_group),
                   defaults={"shape": [3.0] * dim, "rate": [1.0] * dim})
