"""Independent logistic coordinates (a product of D one-dimensional logistics).

With zᵢ = (xᵢ − μᵢ)/sᵢ the logistic density is e^{−z} / (s (1 + e^{−z})²), i.e.

    log p(x) = Σᵢ [ −zᵢ − 2 softplus(−zᵢ) − log sᵢ ]   (= Σᵢ −2 log cosh(zᵢ/2) − log 4sᵢ),

written with :class:`~symscore.stable.Softplus` so it stays finite for any x;
the score is sᵢ(x) = −tanh(zᵢ/2)/sᵢ = (1 − 2σ(zᵢ))/sᵢ, bounded by 1/sᵢ.
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ..stable import Softplus
from ._common import check_count, declared, variables, vector


def logistic(dim: int = 1, name: str | None = None) -> Density:
    """Product of D logistic distributions (normalised).

    Parameter groups: ``loc`` (D,) — symbols ``mu_i``; ``scale`` (D,) —
    symbols ``s_i`` > 0. Defaults: μ = 0, s = 1.

    >>> d = logistic(dim=1)
    >>> d.log_density
    -log(s_0) - 2*Softplus(-(-mu_0 + x_0)/s_0) - (-mu_0 + x_0)/s_0
    """
    check_count(dim, "dim")
    xs = variables(dim)
    mu, loc_group = vector("mu", dim, "loc")
    s, scale_group = vector("s", dim, "scale", positive=True)
    z = [(x - m) / si for x, m, si in zip(xs, mu, s)]
    log_density = sp.Add(*[-zi - 2 * Softplus(-zi) - sp.log(si) for zi, si in zip(z, s)])
    return Density(log_density, xs, declared(mu, s), name=name or f"logistic(dim={dim})",
                   param_groups=(loc_group, scale_group),
                   defaults={"loc": [0.0] * dim, "scale": [1.0] * dim})
