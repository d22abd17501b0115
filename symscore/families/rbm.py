"""Gaussian–Bernoulli restricted Boltzmann machine, marginalised over hidden units.

Visible v = x ∈ ℝ^D, hidden h ∈ {0,1}^H, energy (Cho, Raiko & Ilin 2011)

    E(x, h) = Σᵢ (xᵢ − bᵢ)²/(2σᵢ²) − Σⱼ cⱼhⱼ − Σᵢⱼ (xᵢ/σᵢ²) Wᵢⱼ hⱼ.

Summing exp(−E) over h gives the free energy F and log p~ = −F:

    log p~(x) = −Σᵢ (xᵢ − bᵢ)²/(2σᵢ²) + Σⱼ softplus(cⱼ + Σᵢ Wᵢⱼ xᵢ/σᵢ²),

unnormalised (the partition function is intractable — score matching's use
case). With ``learn_sigma=False`` (default) σ = 1 and σ is not a parameter.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..density import Density
from ..errors import DensityError
from ..params import ParamGroup
from ..stable import Softplus
from ._common import check_count, declared, variables, vector


def gaussian_bernoulli_rbm(dim: int = 2, hidden: int = 2, learn_sigma: bool = False,
                           name: str | None = None, structured: bool | None = None) -> Density:
    """Gaussian–Bernoulli RBM free energy, D visible and H hidden units (unnormalised).

    Parameter groups: ``W`` (D, H) — symbols ``W_i_j``; ``b`` (D,) visible
    biases ``b_i``; ``c`` (H,) hidden biases ``c_j``; with ``learn_sigma``
    also ``sigma`` (D,) — symbols ``sigma_i`` > 0. Defaults: b = c = 0, σ = 1,
    W = 0.5·(standard normal draws with numpy seed 0)/√D. ``structured``: index form
    or unrolled (None: by dimension, see :func:`symscore.structured.choose`).

    >>> d = gaussian_bernoulli_rbm(dim=1, hidden=1)
    >>> d.score
    Matrix([[W_0_0*Sigmoid(W_0_0*x_0 + c_0) + b_0 - x_0]])
    """
    D = check_count(dim, "dim")
    H = check_count(hidden, "hidden")
    if not isinstance(learn_sigma, bool):
        raise DensityError(f"learn_sigma must be True or False, got {learn_sigma!r}")
    from .. import structured as _structured
    if _structured.choose(structured, D):
        from ..structured import models
        return models.gaussian_bernoulli_rbm(D, H, learn_sigma, name)
    xs = variables(D)
    W = [[sp.Symbol(f"W_{i}_{j}", real=True) for j in range(H)] for i in range(D)]
    b, b_group = vector("b", D, "b")
    c, c_group = vector("c", H, "c")
    groups = [ParamGroup("W", (D, H), tuple(((i, j), W[i][j]) for i in range(D)
                                            for j in range(H))), b_group, c_group]
    defaults = {"W": 0.5 * np.random.default_rng(0).standard_normal((D, H)) / np.sqrt(D),
                "b": [0.0] * D, "c": [0.0] * H}
    if learn_sigma:
        sigma, sigma_group = vector("sigma", D, "sigma", positive=True)
        groups.append(sigma_group)
        defaults["sigma"] = [1.0] * D
        var = [s**2 for s in sigma]
    else:
        sigma, var = [], [sp.S.One] * D
    visible = sp.Add(*[-(x - bi)**2 / (2 * v) for x, bi, v in zip(xs, b, var)])
    hidden_terms = sp.Add(*[Softplus(c[j] + sp.Add(*[W[i][j] * xs[i] / var[i] for i in range(D)]))
                            for j in range(H)])
    params = declared([w for row in W for w in row], b, c, sigma)
    return Density(visible + hidden_terms, xs, params,
                   name=name or f"gaussian_bernoulli_rbm(dim={D}, hidden={H}"
                                f"{', learn_sigma=True' if learn_sigma else ''})",
                   param_groups=tuple(groups), defaults=defaults)
