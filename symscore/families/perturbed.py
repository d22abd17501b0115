"""Noise-perturbed Gaussian mixtures: p_σ = p ∗ N(0, σ²I) in closed form.

For a fixed numeric mixture p = Σₖ wₖ N(μₖ, Σₖ), adding independent noise
σz, z ~ N(0, I), gives exactly p_σ = Σₖ wₖ N(μₖ, Σₖ + σ²I). With the
eigendecomposition Σₖ = Uₖ diag(λₖ) Uₖᵀ (λ ≥ 0),

    (Σₖ + σ²I)⁻¹ = Uₖ diag(1/(λₖⱼ + σ²)) Uₖᵀ,   log det(Σₖ + σ²I) = Σⱼ log(λₖⱼ + σ²),

so with yₖⱼ = uₖⱼᵀ(x − μₖ)

    log p_σ(x) = LogSumExp_k [ log wₖ − (D/2) log 2π − ½ Σⱼ log(λₖⱼ + σ²)
                                − ½ Σⱼ yₖⱼ² / (λₖⱼ + σ²) ].

σ is the only parameter (``noise_scale``), so the score ∇x log p_σ is the exact
target of denoising score matching / annealed Langevin dynamics (Song & Ermon
2019) at every noise level. Σₖ = 0 is allowed: the noised empirical
distribution of K points.

Exactness: the σ-dependence is exact. The data enter as exact rationals equal
to the shortest decimal that round-trips their float64 value (0.1 → 1/10).
Diagonal Σₖ are used as given (Uₖ = I, exact); other Σₖ through numpy's
float64 ``eigh``, i.e. exact up to its ~1e-16 relative rounding.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..density import Density
from ..errors import DensityError
from ..stable import LogSumExp
from ._common import variables


def _exact(value: float) -> sp.Rational:
    """The rational equal to the shortest decimal that round-trips ``value``."""
    return sp.Rational(repr(float(value)))


def _array(value, what: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise DensityError(f"{what} must be a numeric array, got {value!r}") from None
    if arr.ndim != ndim or 0 in arr.shape:
        raise DensityError(f"{what} must be a non-empty {ndim}-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DensityError(f"{what} holds NaN or infinite values")
    return arr


def _eigen(cov: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(λ ≥ 0, U) with cov = U diag(λ) Uᵀ; U = I exactly for a diagonal cov."""
    scale = max(1.0, float(np.max(np.abs(cov))))
    if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-12 * scale):
        raise DensityError(f"covs[{k}] is not symmetric")
    if np.count_nonzero(cov - np.diag(np.diag(cov))) == 0:
        lam, U = np.diag(cov).copy(), np.eye(len(cov))
    else:
        lam, U = np.linalg.eigh((cov + cov.T) / 2)
    if np.min(lam) < -1e-12 * scale:
        raise DensityError(f"covs[{k}] is not positive semi-definite "
                           f"(eigenvalue {np.min(lam):.3g})")
    return np.maximum(lam, 0.0), U


def gaussian_mixture_perturbed(weights, means, covs, name: str | None = None) -> Density:
    """p ∗ N(0, σ²I) for the numeric mixture Σₖ wₖ N(μₖ, Σₖ) (normalised).

    ``weights`` (K,) positive (normalised to sum 1), ``means`` (K, D),
    ``covs`` (K, D, D) symmetric positive semi-definite. The only parameter is
    ``sigma`` > 0 (also ``density.noise_scale``); default σ = 1.

    >>> d = gaussian_mixture_perturbed([1, 3], [[-1.0], [2.0]], [[[0.5]], [[0.0]]])
    >>> d.params, d.noise_scale, type(d.log_density).__name__
    ((sigma,), sigma, 'LogSumExp')
    >>> d.log_density.args[1]  # weight 3/4, a point mass at 2, noised: N(2, σ²)
    -log(sigma) - log(pi)/2 - log(2)/2 + log(3/4) - (x_0 - 2)**2/(2*sigma**2)
    """
    w = _array(weights, "weights", 1)
    mu = _array(means, "means", 2)
    cov = _array(covs, "covs", 3)
    K, D = mu.shape
    if len(w) != K or cov.shape != (K, D, D):
        raise DensityError(f"weights (K,), means (K, D) and covs (K, D, D) disagree: shapes "
                           f"{w.shape}, {mu.shape}, {cov.shape}")
    if np.any(w <= 0):
        raise DensityError(f"weights must be positive, got {w.tolist()}")
    xs = variables(D)
    sigma = sp.Symbol("sigma", positive=True)
    w_exact = [_exact(v) for v in w]
    total = sp.Add(*w_exact)
    terms = []
    for k in range(K):
        lam, U = _eigen(cov[k], k)
        r = [x - _exact(m) for x, m in zip(xs, mu[k])]
        y = [sp.Add(*[_exact(U[i, j]) * r[i] for i in range(D) if U[i, j] != 0])
             for j in range(D)]
        var = [_exact(lj) + sigma**2 for lj in lam]
        terms.append(sp.log(w_exact[k] / total) - sp.Rational(D, 2) * sp.log(2 * sp.pi)
                     - sp.Add(*[sp.log(v) for v in var]) / 2
                     - sp.Add(*[yj**2 / v for yj, v in zip(y, var)]) / 2)
    return Density(LogSumExp(*terms), xs, [(sigma, "positive")], noise_scale=sigma,
                   name=name or f"gaussian_mixture_perturbed(dim={D}, components={K})",
                   defaults={"sigma": 1.0})


def gaussian_perturbed(mean, cov, name: str | None = None) -> Density:
    """N(μ, Σ) ∗ N(0, σ²I) = N(μ, Σ + σ²I) for numeric μ (D,) and Σ (D, D).

    >>> d = gaussian_perturbed([0.0, 0.0], [[1.0, 0.0], [0.0, 0.0]])
    >>> d.score.T
    Matrix([[-x_0/(sigma**2 + 1), -x_1/sigma**2]])
    """
    mu = _array(mean, "mean", 1)
    return gaussian_mixture_perturbed([1.0], mu[None, :], _array(cov, "cov", 2)[None, :, :],
                                      name=name or f"gaussian_perturbed(dim={len(mu)})")


def _base_family(density):
    """(kind of family, dim, K, chol kind) when ``density`` is exactly a built-in
    gaussian / gaussian_mixture (its log-density rebuilt and compared), else None."""
    from .gaussian import gaussian, gaussian_mixture
    groups = {g.name: g for g in density.param_groups}
    D = density.dim
    if set(groups) == {"mean", "prec_chol"}:
        shape, K = groups["prec_chol"].shape, None
    elif set(groups) == {"logits", "means", "prec_chol"}:
        K = groups["logits"].shape[0]
        shape = groups["prec_chol"].shape[1:]
    else:
        return None
    candidates = [c for c in ("full", "diag", "iso")
                  if {"full": (D, D), "diag": (D,), "iso": ()}[c] == shape]
    for kind in candidates:
        rebuilt = gaussian(D, kind) if K is None else gaussian_mixture(D, K, kind)
        if rebuilt.log_density == density.log_density and rebuilt.params == density.params:
            return ("gaussian" if K is None else "gaussian_mixture"), D, K, kind
    return None


def can_perturb(density) -> bool:
    """Whether :func:`perturb` knows ``density`` (a built-in gaussian or
    gaussian_mixture, any ``kind``)."""
    return density.noise_scale is None and _base_family(density) is not None


def perturb(density, theta=None) -> Density:
    """The exact noise-perturbed density p_θ ∗ N(0, σ²I) of a built-in gaussian or
    gaussian_mixture at parameters θ (default: its defaults), with σ the only
    parameter — what annealed Langevin needs.

    >>> from symscore.families import gaussian
    >>> g = gaussian(dim=1)
    >>> p = perturb(g, {"mean": [2.0], "prec_chol": [[0.5]]})   # N(2, 4) ∗ N(0, σ²)
    >>> import sympy as sp
    >>> p.params, sp.factor(p.score[0])
    ((sigma,), -(x_0 - 2)/(sigma**2 + 4))
    """
    from ..params import pack, unpack
    found = _base_family(density)
    if found is None:
        raise DensityError(f"{density.name}: only the built-in gaussian and gaussian_mixture "
                           "families have an exact noise-perturbed form; declare a noise "
                           "scale σ (noise_scale) in a density file instead")
    family, D, K, kind = found
    theta = density.defaults if theta is None else theta
    groups = unpack(density, pack(density, theta, fallback=density.defaults
                                  if isinstance(theta, dict) else None))

    def cov(chol):
        L = {"full": lambda c: np.tril(c), "diag": np.diag,
             "iso": lambda c: float(c) * np.eye(D)}[kind](np.asarray(chol, dtype=float))
        Linv = np.linalg.inv(L)
        return Linv.T @ Linv          # (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹

    if family == "gaussian":
        return gaussian_perturbed(groups["mean"], cov(groups["prec_chol"]),
                                  name=f"{density.name} ∗ N(0, σ²I)")
    logits = groups["logits"]
    w = np.exp(logits - logits.max())
    return gaussian_mixture_perturbed(w / w.sum(), groups["means"],
                                      np.stack([cov(c) for c in groups["prec_chol"]]),
                                      name=f"{density.name} ∗ N(0, σ²I)")
