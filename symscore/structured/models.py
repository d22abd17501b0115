"""Structured (index-form) versions of the families: the same parameter names,
groups, flat θ order and defaults as the unrolled constructors in
:mod:`symscore.families`, so both forms give the same numbers.

>>> d = gaussian(4, "diag")
>>> d.structure.score
-(-mu[j] + x[j])*L[j]**2
>>> d.structure.divergence
-Sum(L[j]**2, (j, 0, 3))
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..params import POSITIVE, REAL
from .core import DUMMIES, Structure, StructuredDensity, x_base
from .groups import ArrayGroup, base

__all__ = ["gaussian", "gaussian_graphical", "GroupList"]

i, k, l, m, n = DUMMIES


class GroupList:
    """Appends groups with consecutive offsets."""

    def __init__(self):
        self.groups = []
        self.offset = 0

    def add(self, name, symbol, shape, pattern, domain=REAL, diag_domain=POSITIVE):
        shape = tuple(s if isinstance(s, sp.Basic) and not s.is_Integer else int(s)
                      for s in shape)
        g = ArrayGroup(name, base(symbol, shape if shape else ()), shape, pattern, self.offset,
                       domain, diag_domain)
        self.groups.append(g)
        if all(isinstance(v, int) for v in shape):   # a symbolic D has no flat layout
            self.offset += g.size
        return g.base

    def __iter__(self):
        return iter(self.groups)


def _finish(structure, name, defaults):
    """The StructuredDensity (``defaults``: a callable giving the default values), or,
    for a symbolic dimension, the :class:`Structure` itself: its derivations hold for
    every D (there is no θ layout to compile)."""
    if not isinstance(structure.D, (int, np.integer)):
        return structure
    return StructuredDensity(structure, name, defaults=defaults())


def _sum(expr, idx, D):
    return sp.Sum(expr, (idx, 0, D - 1))


def chol_quadratic(L, kind, r, D):
    """(‖Lᵀ r‖², Σ log L_ii) in index form; ``r`` a function of the index."""
    if kind == "full":
        u = _sum(L[i, k] * r(i), i, D)           # (Lᵀ r)_k
        return _sum(u**2, k, D), _sum(sp.log(L[k, k]), k, D)
    if kind == "diag":
        return _sum(L[i]**2 * r(i)**2, i, D), _sum(sp.log(L[i]), i, D)
    return L**2 * _sum(r(i)**2, i, D), D * sp.log(L)


def symmetric_quadratic(K, r, D):
    """rᵀ K r = Σᵢ Σₖ r_i K[i, k] r_k in index form."""
    return _sum(_sum(r(i) * K[i, k] * r(k), k, D), i, D)


def _chol_group(G, kind, D, symbol="L", name="prec_chol"):
    if kind == "full":
        return G.add(name, symbol, (D, D), "lower")
    if kind == "diag":
        return G.add(name, symbol, (D,), "vector", POSITIVE)
    return G.add(name, symbol, (), "scalar", POSITIVE)


def _eye(D, kind, scale=1.0):
    return {"full": scale * np.eye(D), "diag": np.full(D, scale), "iso": scale}[kind]


def gaussian(D: int, kind: str = "full", name: str | None = None) -> StructuredDensity:
    """N(μ, (LLᵀ)⁻¹), normalised; groups ``mean`` (D,) and ``prec_chol``."""
    x = x_base()
    G = GroupList()
    mu = G.add("mean", "mu", (D,), "vector")
    L = _chol_group(G, kind, D)
    quad, logdet = chol_quadratic(L, kind, lambda t: x[t] - mu[t], D)
    logp = logdet - quad / 2 - sp.S(D) / 2 * sp.log(2 * sp.pi)
    return _finish(Structure(D, x, tuple(G), logp), name or f"gaussian(dim={D}, kind={kind})",
                   lambda: {"mean": np.zeros(D), "prec_chol": _eye(D, kind)})


def gaussian_graphical(D: int, name: str | None = None) -> StructuredDensity:
    """Centred Gaussian graphical model p~(x) = exp(−½ xᵀKx) (Lin, Drton & Shojaie
    2016), K symmetric positive definite; group ``precision`` (D, D) stored as its
    lower triangle, symbols ``K_i_k`` (k ≤ i), diagonal positive. Unnormalised
    (½ log det K is θ-only). Default K = I."""
    x = x_base()
    G = GroupList()
    K = G.add("precision", "K", (D, D), "symmetric")
    logp = -symmetric_quadratic(K, lambda t: x[t], D) / 2
    return _finish(Structure(D, x, tuple(G), logp), name or f"gaussian_graphical(dim={D})",
                   lambda: {"precision": np.eye(D)})


def ica(D: int, name: str | None = None) -> StructuredDensity:
    """Hyvärinen's ICA model Σₖ G(wₖᵀx), G(u) = −2 log cosh(πu/(2√3)) (stabilised to
    softplus form); group ``W`` (D, D), symbols ``W_k_i``. Default W = I."""
    from ..stable import stabilize
    x = x_base()
    G = GroupList()
    W = G.add("W", "W", (D, D), "full")
    c = sp.pi / (2 * sp.sqrt(3))
    u = _sum(W[k, i] * x[i], i, D)
    logp = stabilize(_sum(-2 * sp.log(sp.cosh(c * u)), k, D))
    return _finish(Structure(D, x, tuple(G), logp), name or f"ica(dim={D})",
                   lambda: {"W": np.eye(D)})


def gaussian_bernoulli_rbm(D: int, H: int, learn_sigma: bool = False,
                           name: str | None = None) -> StructuredDensity:
    """The Gaussian–Bernoulli RBM free energy (see :mod:`symscore.families.rbm`):
    −Σᵢ (xᵢ − bᵢ)²/(2σᵢ²) + Σⱼ softplus(cⱼ + Σᵢ Wᵢⱼ xᵢ/σᵢ²); groups ``W`` (D, H),
    ``b`` (D,), ``c`` (H,) [, ``sigma`` (D,) > 0]."""
    from ..stable import Softplus
    x = x_base()
    G = GroupList()
    W = G.add("W", "W", (D, H), "full")
    b = G.add("b", "b", (D,), "vector")
    c = G.add("c", "c", (H,), "vector")
    def defaults():
        out = {"W": 0.5 * np.random.default_rng(0).standard_normal((D, H)) / np.sqrt(D),
               "b": np.zeros(D), "c": np.zeros(H)}
        if learn_sigma:
            out["sigma"] = np.ones(D)
        return out
    if learn_sigma:
        sigma = G.add("sigma", "sigma", (D,), "vector", POSITIVE)
        var = lambda t: sigma[t]**2   # noqa: E731
    else:
        var = lambda t: sp.S.One      # noqa: E731
    visible = -_sum((x[i] - b[i])**2 / (2 * var(i)), i, D)
    hidden = _sum(Softplus(c[k] + _sum(W[i, k] * x[i] / var(i), i, D)), k, H)
    label = f"gaussian_bernoulli_rbm(dim={D}, hidden={H}" + \
        (", learn_sigma=True)" if learn_sigma else ")")
    return _finish(Structure(D, x, tuple(G), visible + hidden), name or label, defaults)


def student_t(D: int, kind: str = "full", name: str | None = None) -> StructuredDensity:
    """Multivariate Student-t (see :mod:`symscore.families.student_t`): groups ``loc``
    (D,) 'mu', ``prec_chol`` 'L', ``df`` 'nu' > 0; log p = log Γ((ν+D)/2) − log Γ(ν/2)
    − (D/2) log(νπ) + Σ log Lᵢᵢ − ((ν+D)/2) log1p(q/ν), q = ‖Lᵀ(x − μ)‖²."""
    from ..stable import stabilize
    x = x_base()
    G = GroupList()
    mu = G.add("loc", "mu", (D,), "vector")
    L = _chol_group(G, kind, D)
    nu = G.add("df", "nu", (), "scalar", POSITIVE)
    q, logdet = chol_quadratic(L, kind, lambda t: x[t] - mu[t], D)
    half = (nu + D) / 2
    log_norm = (sp.loggamma(half) - sp.loggamma(nu / 2) - sp.S(D) / 2 * sp.log(nu * sp.pi)
                + logdet)
    logp = stabilize(log_norm - half * sp.log(1 + q / nu))
    return _finish(Structure(D, x, tuple(G), logp), name or f"student_t(dim={D}, kind={kind})",
                   lambda: {"loc": np.zeros(D), "prec_chol": _eye(D, kind), "df": 5.0})


def gaussian_mixture(D: int, K: int, kind: str = "full",
                     name: str | None = None) -> StructuredDensity:
    """Σₖ πₖ N(μₖ, (LₖLₖᵀ)⁻¹), π = softmax(logits), as an indexed log-sum-exp over k;
    groups ``logits`` 'alpha' (K,), ``means`` 'mu' (K, D), ``prec_chol`` 'L' (K, D, D)
    lower ((K, D) for diag, (K,) for iso). Defaults as the unrolled family."""
    import math
    from .lse import IndexedLogSumExp
    x = x_base()
    G = GroupList()
    alpha = G.add("logits", "alpha", (K,), "vector")
    mu = G.add("means", "mu", (K, D), "full")
    c = sp.Symbol("c", integer=True)   # component index (bound by the log-sum-exp)
    if kind == "full":
        L = G.add("prec_chol", "L", (K, D, D), "lower")
        u = _sum(L[c, i, m] * (x[i] - mu[c, i]), i, D)
        quad, logdet = _sum(u**2, m, D), _sum(sp.log(L[c, m, m]), m, D)
    elif kind == "diag":
        L = G.add("prec_chol", "L", (K, D), "full", POSITIVE)
        quad = _sum(L[c, i]**2 * (x[i] - mu[c, i])**2, i, D)
        logdet = _sum(sp.log(L[c, i]), i, D)
    else:
        L = G.add("prec_chol", "L", (K,), "vector", POSITIVE)
        quad = L[c]**2 * _sum((x[i] - mu[c, i])**2, i, D)
        # kept as a sum: exp(D·log L) would be rewritten L**D by SymPy (overflow)
        logdet = sp.Sum(sp.log(L[c]), (i, 0, D - 1))
    # the common −(D/2) log 2π stays outside the log-sum-exp, for the same reason
    body = alpha[c] + logdet - quad / 2
    logp = (IndexedLogSumExp(body, c, 0, K - 1) - sp.S(D) / 2 * sp.log(2 * sp.pi)
            - IndexedLogSumExp(alpha[c], c, 0, K - 1))
    def defaults():
        means = np.zeros((K, D))
        if K > 1:
            for k_ in range(K):
                means[k_, 0] = 4.0 * math.cos(2 * math.pi * k_ / K)
                if D > 1:
                    means[k_, 1] = 4.0 * math.sin(2 * math.pi * k_ / K)
        one = {"full": 1.5 * np.broadcast_to(np.eye(D), (K, D, D)),
               "diag": np.full((K, D), 1.5), "iso": np.full(K, 1.5)}[kind]
        return {"logits": np.zeros(K), "means": means, "prec_chol": one}
    return _finish(Structure(D, x, tuple(G), logp),
                   name or f"gaussian_mixture(dim={D}, components={K}, kind={kind})", defaults)


#: family name → (builder, its size options in order, other options with defaults)
SYMBOLIC_FAMILIES = {
    "gaussian": (gaussian, ("dim",), {"kind": "full"}),
    "gaussian_graphical": (gaussian_graphical, ("dim",), {}),
    "ica": (ica, ("dim",), {}),
    "student_t": (student_t, ("dim",), {"kind": "full"}),
    "gaussian_bernoulli_rbm": (gaussian_bernoulli_rbm, ("dim", "hidden"),
                               {"learn_sigma": False}),
    "gaussian_mixture": (gaussian_mixture, ("dim", "components"), {"kind": "full"}),
}


def symbolic(family: str, **options):
    """The :class:`Structure` of a family with sizes given as names (symbols), e.g.
    ``symbolic("gaussian", dim="D")``: derivations that hold for every D.

    >>> symbolic("gaussian", dim="D", kind="iso").divergence
    -D*L**2
    """
    from ..errors import DensityError
    if family not in SYMBOLIC_FAMILIES:
        raise DensityError(f"no symbolic-size form of {family!r}; available: "
                           f"{sorted(SYMBOLIC_FAMILIES)}")
    build, sizes, extra = SYMBOLIC_FAMILIES[family]
    unknown = set(options) - set(sizes) - set(extra)
    if unknown:
        raise DensityError(f"unknown option(s) {sorted(unknown)} for {family}")
    args = []
    for s in sizes:
        v = options.get(s, s[0].upper())
        args.append(sp.Symbol(v, integer=True, positive=True) if isinstance(v, str) else v)
    kw = {k: options.get(k, v) for k, v in extra.items()}
    return build(*args, **kw)
