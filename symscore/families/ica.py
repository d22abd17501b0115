"""Hyvärinen's ICA model (Hyvärinen 2005, section 4.3): n sources, unmixing W.

    log p~(x) = Σ_k G(w_kᵀ x),   G(s) = −2 log cosh(π s / (2√3)),

w_k the k-th row of the square matrix W. G is the log-density of a logistic
source of unit variance up to its constant −log(4√3/π); the normaliser
log|det W| − n log(4√3/π) is omitted (p~ is unnormalised; the score does not
need it). The construction writes the naive ``log(cosh(u))``; the Density's
stabilising rewrite turns it into ``Softplus(2u) − u − log 2``, which stays
finite for any x (cosh itself overflows once |u| > 710).
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ..params import ParamGroup
from ._common import check_count, variables


def ica(dim: int = 2, name: str | None = None, structured: bool | None = None) -> Density:
    """Hyvärinen's ICA model with an (n, n) unmixing matrix (unnormalised).

    Parameter group: ``W`` (n, n) — symbols ``W_k_i`` (row k, column i), real.
    Default: W = I (independent unit-variance logistic sources). ``structured``: index
    form or unrolled (None: by dimension, see :func:`symscore.structured.choose`).

    >>> d = ica(dim=1)
    >>> d.log_density
    sqrt(3)*pi*W_0_0*x_0/3 - 2*Softplus(sqrt(3)*pi*W_0_0*x_0/3) + 2*log(2)
    """
    n = check_count(dim, "dim")
    from .. import structured as _structured
    if _structured.choose(structured, n):
        from ..structured import models
        return models.ica(n, name)
    xs = variables(n)
    W = [[sp.Symbol(f"W_{k}_{i}", real=True) for i in range(n)] for k in range(n)]
    c = sp.pi / (2 * sp.sqrt(3))
    log_density = sp.Add(*[-2 * sp.log(sp.cosh(c * sp.Add(*[W[k][i] * xs[i] for i in range(n)])))
                           for k in range(n)])
    group = ParamGroup("W", (n, n), tuple(((k, i), W[k][i]) for k in range(n) for i in range(n)))
    return Density(log_density, xs, [(w, "real") for row in W for w in row],
                   name=name or f"ica(dim={n})", param_groups=(group,),
                   defaults={"W": [[float(k == i) for i in range(n)] for k in range(n)]})
