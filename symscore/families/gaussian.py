"""Gaussians and Gaussian mixtures, parametrised by precision Cholesky factors.

The precision of a component is P = L Lᵀ with L lower triangular and a positive
diagonal, so log N(x; μ, P⁻¹) = Σᵢ log Lᵢᵢ − ½‖Lᵀ(x − μ)‖² − (D/2) log 2π —
no matrix inverse or determinant appears symbolically.
"""

from __future__ import annotations

import math

import sympy as sp

from ..density import Density
from ..errors import DensityError
from ..params import POSITIVE, REAL, ParamGroup
from ..stable import LogSumExp

_KINDS = ("full", "diag", "iso")


def _check(dim, components=1, kind="full"):
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise DensityError(f"dim must be a positive integer, got {dim!r}")
    if not isinstance(components, int) or isinstance(components, bool) or components < 1:
        raise DensityError(f"components must be a positive integer, got {components!r}")
    if kind not in _KINDS:
        raise DensityError(f"kind must be one of {_KINDS}, got {kind!r}")


def _variables(dim):
    return tuple(sp.Symbol(f"x_{i}", real=True) for i in range(dim))


def _component(xs, tag: str, kind: str):
    """Symbols and log-density of one Gaussian component; ``tag`` suffixes names."""
    D = len(xs)
    mu = [sp.Symbol(f"mu{tag}_{i}", real=True) for i in range(D)]
    if kind == "full":
        # diagonal entries positive; off-diagonal ones merely real (positive=False
        # would declare them ≤ 0 and let SymPy "simplify" Abs(L_1_0) to -L_1_0)
        L = [[(sp.Symbol(f"L{tag}_{i}_{j}", positive=True) if i == j
               else sp.Symbol(f"L{tag}_{i}_{j}", real=True)) if j <= i else 0
              for j in range(D)] for i in range(D)]
        chol_entries = [((i, j), L[i][j]) for i in range(D) for j in range(i + 1)]
    elif kind == "diag":
        d = [sp.Symbol(f"L{tag}_{i}", positive=True) for i in range(D)]
        L = [[d[i] if i == j else 0 for j in range(D)] for i in range(D)]
        chol_entries = [((i,), d[i]) for i in range(D)]
    else:
        c = sp.Symbol(f"L{tag}", positive=True)
        L = [[c if i == j else 0 for j in range(D)] for i in range(D)]
        chol_entries = [((), c)]
    r = [xs[i] - mu[i] for i in range(D)]
    # (Lᵀ r)_j = Σ_{i ≥ j} L_ij r_i
    quad = sp.Add(*[sp.Add(*[L[i][j] * r[i] for i in range(j, D)])**2 for j in range(D)])
    logdet = sp.Add(*[sp.log(L[i][i]) for i in range(D)])
    log_pdf = logdet - quad / 2 - sp.Rational(D, 2) * sp.log(2 * sp.pi)
    return mu, chol_entries, log_pdf


def _chol_shape(D, kind):
    return {"full": (D, D), "diag": (D,), "iso": ()}[kind]


def gaussian(dim: int = 1, kind: str = "full", name: str | None = None,
             structured: bool | None = None) -> Density:
    """N(μ, (LLᵀ)⁻¹) in ``dim`` dimensions (normalised).

    Parameters (groups): ``mean`` (D,), ``prec_chol`` — lower-triangular (D, D)
    for ``kind="full"``, its diagonal (D,) for ``"diag"``, a scalar for ``"iso"``.
    Defaults: μ = 0, L = I. ``structured``: index form (sums over i < D, cost
    independent of D) or unrolled scalars; None chooses by dimension
    (:func:`symscore.structured.choose`); both give the same numbers.

    >>> g = gaussian(dim=2, kind="iso")
    >>> [p.name for p in g.params]
    ['mu_0', 'mu_1', 'L']
    """
    _check(dim, 1, kind)
    from .. import structured as _structured
    if _structured.choose(structured, dim):
        from ..structured import models
        return models.gaussian(dim, kind, name)
    xs = _variables(dim)
    mu, chol, log_pdf = _component(xs, "", kind)
    groups = (ParamGroup("mean", (dim,), tuple(((i,), m) for i, m in enumerate(mu))),
              ParamGroup("prec_chol", _chol_shape(dim, kind), tuple(chol)))
    params = [(m, REAL) for m in mu] + [(s, POSITIVE if s.is_positive else REAL) for _, s in chol]
    eye = {"full": [[float(i == j) for j in range(dim)] for i in range(dim)],
           "diag": [1.0] * dim, "iso": 1.0}[kind]
    return Density(log_pdf, xs, params, name=name or f"gaussian(dim={dim}, kind={kind})",
                   param_groups=groups, defaults={"mean": [0.0] * dim, "prec_chol": eye})


def gaussian_mixture(dim: int = 2, components: int = 2, kind: str = "full",
                     name: str | None = None, structured: bool | None = None) -> Density:
    """Σₖ πₖ N(μₖ, (LₖLₖᵀ)⁻¹) with weights π = softmax(logits) (normalised).

    Written with :class:`~symscore.stable.LogSumExp`, so scores stay finite and
    accurate far from all components. Parameter groups: ``logits`` (K,),
    ``means`` (K, D), ``prec_chol`` (K, D, D) lower-triangular for ``"full"``
    ((K, D) for ``"diag"``, (K,) for ``"iso"``). Defaults: equal weights, means
    spread on a circle of radius 4 in the first two coordinates, L = 1.5·I.
    ``structured``: an indexed log-sum-exp over components (None: by dimension).

    >>> gm = gaussian_mixture(dim=2, components=8)
    >>> gm.n_params
    48
    """
    _check(dim, components, kind)
    from .. import structured as _structured
    if _structured.choose(structured, dim):
        from ..structured import models
        return models.gaussian_mixture(dim, components, kind, name)
    xs = _variables(dim)
    K = components
    logits = [sp.Symbol(f"alpha_{k}", real=True) for k in range(K)]
    terms, mean_entries, chol_entries = [], [], []
    for k in range(K):
        mu, chol, log_pdf = _component(xs, f"_{k}", kind)
        terms.append(logits[k] + log_pdf)
        mean_entries += [((k, i), m) for i, m in enumerate(mu)]
        chol_entries += [((k,) + idx, s) for idx, s in chol]
    log_density = LogSumExp(*terms) - LogSumExp(*logits)
    groups = (ParamGroup("logits", (K,), tuple(((k,), a) for k, a in enumerate(logits))),
              ParamGroup("means", (K, dim), tuple(mean_entries)),
              ParamGroup("prec_chol", (K,) + _chol_shape(dim, kind), tuple(chol_entries)))
    params = ([(a, REAL) for a in logits] + [(m, REAL) for _, m in mean_entries]
              + [(s, POSITIVE if s.is_positive else REAL) for _, s in chol_entries])
    means = [[0.0] * dim for _ in range(K)]
    for k in range(K):
        if K > 1:
            means[k][0] = 4.0 * math.cos(2 * math.pi * k / K)
            if dim > 1:
                means[k][1] = 4.0 * math.sin(2 * math.pi * k / K)
    one = {"full": [[1.5 * (i == j) for j in range(dim)] for i in range(dim)],
           "diag": [1.5] * dim, "iso": 1.5}[kind]
    return Density(log_density, xs, params,
                   name=name or f"gaussian_mixture(dim={dim}, components={K}, kind={kind})",
                   param_groups=groups,
                   defaults={"logits": [0.0] * K, "means": means, "prec_chol": [one] * K})
