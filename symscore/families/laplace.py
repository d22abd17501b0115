"""Independent Laplace coordinates — NOT smooth: log p has a kink at x = μ.

    log p(x) = Σᵢ [ −|xᵢ − μᵢ| / bᵢ − log(2 bᵢ) ]

The score −sign(xᵢ − μᵢ)/bᵢ jumps at μᵢ and the divergence is a Dirac delta
there, so :attr:`Density.is_smooth` is False (because of the ``Abs``) and the
integration-by-parts behind implicit score matching does not apply as is.
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ._common import check_count, declared, variables, vector


def laplace(dim: int = 1, name: str | None = None) -> Density:
    """Product of D Laplace distributions (normalised), flagged non-smooth.

    Parameter groups: ``loc`` (D,) — symbols ``mu_i``; ``scale`` (D,) —
    symbols ``b_i`` > 0. Defaults: μ = 0, b = 1.

    >>> d = laplace(dim=1)
    >>> d.is_smooth, d.nonsmooth_parts, d.score
    (False, (Abs(mu_0 - x_0),), Matrix([[sign(mu_0 - x_0)/b_0]]))
    """
    check_count(dim, "dim")
    xs = variables(dim)
    mu, loc_group = vector("mu", dim, "loc")
    b, scale_group = vector("b", dim, "scale", positive=True)
    log_density = sp.Add(*[-sp.Abs(x - m) / bi - sp.log(2 * bi) for x, m, bi in zip(xs, mu, b)])
    return Density(log_density, xs, declared(mu, b), name=name or f"laplace(dim={dim})",
                   param_groups=(loc_group, scale_group),
                   defaults={"loc": [0.0] * dim, "scale": [1.0] * dim})
