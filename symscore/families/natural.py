"""The Gaussian in natural (exponential-family) parameters — linear in θ.

    log p~(x) = −½ xᵀ M x + hᵀ x,      M symmetric positive definite, h ∈ ℝ^D

i.e. N(μ, Σ) with precision M = Σ⁻¹ and linear term h = M μ. The normaliser
½ log det M − ½ hᵀM⁻¹h − (D/2) log 2π depends on θ only and is omitted (the
score does not need it). Because log p~ is linear in θ = (M_ij for i ≤ j, h),
the score-matching objective is an exact quadratic in θ and
:func:`symscore.fit` solves it in closed form: this is the parametrisation of
Hyvärinen (2005), section 4.1, where the score-matching estimate is the
maximum-likelihood one (precision = inverse of the 1/T sample covariance,
mean = sample mean).

Only M's diagonal is constrained (positive) per entry; positive definiteness
of the whole matrix is not a box constraint and is not enforced.
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ..params import ParamGroup
from ._common import check_count, variables


def gaussian_natural(dim: int = 1, name: str | None = None) -> Density:
    """N(M⁻¹h, M⁻¹) as an unnormalised exponential family in (M, h).

    Parameter groups: ``precision`` (D, D) symmetric — symbols ``M_i_j`` for
    i ≤ j (diagonal positive), the same symbol at (i, j) and (j, i);
    ``linear`` (D,) — symbols ``h_i``, real. Defaults: M = I, h = 0.

    >>> d = gaussian_natural(dim=2)
    >>> [p.name for p in d.params]
    ['M_0_0', 'M_0_1', 'M_1_1', 'h_0', 'h_1']
    >>> d.score.T
    Matrix([[-M_0_0*x_0 - M_0_1*x_1 + h_0, -M_0_1*x_0 - M_1_1*x_1 + h_1]])
    """
    D = check_count(dim, "dim")
    xs = variables(D)
    M = {}
    for i in range(D):
        for j in range(i, D):
            M[i, j] = M[j, i] = sp.Symbol(f"M_{i}_{j}", positive=True) if i == j \
                else sp.Symbol(f"M_{i}_{j}", real=True)
    h = [sp.Symbol(f"h_{i}", real=True) for i in range(D)]
    quad = sp.Add(*[M[i, j] * xs[i] * xs[j] for i in range(D) for j in range(D)])
    log_density = -quad / 2 + sp.Add(*[hi * x for hi, x in zip(h, xs)])
    upper = [M[i, j] for i in range(D) for j in range(i, D)]
    groups = (ParamGroup("precision", (D, D),
                         tuple(((i, j), M[i, j]) for i in range(D) for j in range(D))),
              ParamGroup("linear", (D,), tuple(((i,), hi) for i, hi in enumerate(h))))
    params = [(m, "positive" if m.is_positive else "real") for m in upper] + \
             [(hi, "real") for hi in h]
    return Density(log_density, xs, params, name=name or f"gaussian_natural(dim={D})",
                   param_groups=groups,
                   defaults={"precision": [[float(i == j) for j in range(D)] for i in range(D)],
                             "linear": [0.0] * D})
