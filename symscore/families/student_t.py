"""The multivariate Student-t distribution (one joint t, not D independent ones).

With location μ, precision-like matrix P = L Lᵀ (L lower triangular, positive
diagonal — the same parametrisation as :func:`~symscore.families.gaussian`)
and ν > 0 degrees of freedom, q = ‖Lᵀ(x − μ)‖² and

    log p(x) = log Γ((ν+D)/2) − log Γ(ν/2) − (D/2) log(νπ) + Σᵢ log Lᵢᵢ
               − ((ν+D)/2) · log1p(q/ν),

so the score is s = −((ν+D)/(ν+q)) · P (x − μ): heavy tails, |s| → 0 far out.
As ν → ∞ it tends to N(μ, P⁻¹). (The scale matrix of the t is P⁻¹.)
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ..params import ParamGroup
from ._common import (check_count, declared, identity_like, mahalanobis, precision_cholesky,
                      variables, vector)


def student_t(dim: int = 1, kind: str = "full", name: str | None = None,
              structured: bool | None = None) -> Density:
    """Multivariate Student-t with ν degrees of freedom (normalised).

    Parameter groups: ``loc`` (D,) — symbols ``mu_i``; ``prec_chol`` — lower
    triangular (D, D) for ``kind="full"``, its diagonal (D,) for ``"diag"``,
    a scalar for ``"iso"`` — symbols ``L_…``; ``df`` — the scalar ``nu`` > 0.
    Defaults: μ = 0, L = I, ν = 5. ``structured``: index form or unrolled (None: by
    dimension, see :func:`symscore.structured.choose`).

    >>> t = student_t(dim=2, kind="iso")
    >>> [p.name for p in t.params], t.defaults
    (['mu_0', 'mu_1', 'L', 'nu'], (0.0, 0.0, 1.0, 5.0))
    """
    check_count(dim, "dim")
    from .. import structured as _structured
    if _structured.choose(structured, dim):
        from ..structured import models
        return models.student_t(dim, kind, name)
    xs = variables(dim)
    mu, loc_group = vector("mu", dim, "loc")
    L, chol_entries, chol_shape = precision_cholesky(dim, kind)
    nu = sp.Symbol("nu", positive=True)
    q = mahalanobis(L, [x - m for x, m in zip(xs, mu)])
    half = (nu + dim) / 2
    log_norm = (sp.loggamma(half) - sp.loggamma(nu / 2) - sp.Rational(dim, 2) * sp.log(nu * sp.pi)
                + sp.Add(*[sp.log(L[i][i]) for i in range(dim)]))
    log_density = log_norm - half * sp.log(1 + q / nu)  # log(1 + q/ν) becomes log1p
    groups = (loc_group, ParamGroup("prec_chol", chol_shape, chol_entries),
              ParamGroup("df", (), (((), nu),)))
    params = declared(mu, [s for _, s in chol_entries], [nu])
    return Density(log_density, xs, params, name=name or f"student_t(dim={dim}, kind={kind})",
                   param_groups=groups,
                   defaults={"loc": [0.0] * dim, "prec_chol": identity_like(dim, kind),
                             "df": 5.0})
