"""Score matching for structured (index-form) densities.

**Exact path.** When the vector-form recogniser of :mod:`symscore.proof.structured`
shows log p~ = c(θ) + q(x) with q a Gaussian quadratic form (its index Hessian
is free of x and recognised, the mean is where the score vanishes), the ISM objective depends on the data only through
the first two moments, and its normal equations are solved with the structure,
in O(D³) whatever N:

* Gaussian graphical model, q = −½xᵀKx: J(K) = −tr K + ½ tr(K S K) with the
  second moment S = XᵀX/N; ∂J/∂K = 0 is the Lyapunov equation K S + S K = 2I
  (Lin, Drton & Shojaie 2016), solved by ``scipy.linalg.solve_continuous_lyapunov``;
* Cholesky Gaussian, q = −½‖Lᵀ(x−μ)‖²: in P = LLᵀ the same equation with the
  centred covariance Σ̂ and μ̂ = x̄; L̂ = chol(P̂) (L ↦ LLᵀ is a bijection onto the
  positive-definite matrices, so the minimiser over L is the image of P̂);
* diagonal / isotropic precision: per-coordinate (pooled) variances.

The estimate is in the interior of the domain iff P̂ ≻ 0 (S ≻ 0); otherwise the
result says so (``converged=False``). Other structured densities use L-BFGS-B on
the generated kernels' ISM loss and θ-gradient.

>>> import numpy as np, symscore as ss
>>> X = np.random.default_rng(0).normal(size=(2000, 30)) @ np.diag(np.linspace(1, 2, 30))
>>> r = ss.fit(ss.families.gaussian_graphical(dim=30), X)
>>> r.method, bool(np.allclose(r.params["precision"], np.linalg.inv(X.T @ X / len(X))))
('exact', True)
"""

from __future__ import annotations

import numpy as np

from ..errors import FitError

__all__ = ["exact_form", "fit_exact_structured"]


def exact_form(density):
    """(kind, quadratic group, mean group or None) when the exact path applies, else None."""
    from ..proof.structured import quadratic_form
    found = quadratic_form(density.structure)
    if found is None:
        return None
    kind, g, mg, _ = found
    return kind, g, mg


def _lyapunov(S):
    """The solution P of P S + S P = 2I for S ≻ 0. It is unique (the eigenvalues of S
    sum pairwise to nonzero numbers) and equals S⁻¹ (S⁻¹S + SS⁻¹ = 2I), computed by a
    Cholesky solve (D³/3 flops, a tenth of Bartels–Stewart) and then checked by its
    residual; Bartels–Stewart (scipy) is the fallback."""
    from scipy.linalg import cho_factor, cho_solve, solve_continuous_lyapunov
    D = S.shape[0]
    I2 = 2.0 * np.eye(D)
    try:
        P = cho_solve(cho_factor(S), np.eye(D))
    except np.linalg.LinAlgError:
        P = solve_continuous_lyapunov(S, I2)
    P = (P + P.T) / 2
    resid = np.abs(P @ S + S @ P - I2).max()
    if not resid < 1e-8 * max(1.0, np.abs(P).max() * np.abs(S).max()):
        P = solve_continuous_lyapunov(S, I2)
        P = (P + P.T) / 2
    return P


def fit_exact_structured(density, X, form):
    """(θ̂, loss, converged, message, condition) for a recognised quadratic form."""
    kind, g, mg = form
    N, D = X.shape
    theta = np.array(density.defaults if density.defaults is not None
                     else np.zeros(density.n_params), dtype=float)
    mean = X.mean(axis=0) if mg is not None else np.zeros(D)
    R = X - mean
    if kind in ("symmetric", "cholesky"):
        S = R.T @ R / N
        cond = float(np.linalg.cond(S))
        if not np.isfinite(cond) or cond > 1e12:
            raise FitError(f"the {'second-moment' if mg is None else 'covariance'} matrix of "
                           f"the data is singular or ill-conditioned (condition {cond:.3g}): "
                           "the precision is not identifiable (too few or degenerate samples?)")
        P = _lyapunov(S)
        loss = float(-np.trace(P) + 0.5 * np.trace(P @ S @ P))
        try:
            C = np.linalg.cholesky(P)
        except np.linalg.LinAlgError:
            C = None
        if kind == "symmetric":
            block = g.stored(P)
        elif C is None:
            return theta, loss, False, "the stationary precision is not positive definite", cond
        else:
            block = g.stored(C)
        converged = C is not None
        message = ("closed form: Lyapunov equation P S + S P = 2I (structured normal "
                   f"equations, D = {D})" if converged else
                   "the stationary precision is not positive definite: no minimiser inside "
                   "the domain")
    else:
        v = (R**2).mean(axis=0)
        if np.any(v <= 0):
            raise FitError("a coordinate of the data has zero variance: its precision is not "
                           "identifiable")
        if kind == "diagonal":
            d2 = 1.0 / v
            block = np.sqrt(d2)
            loss = float(np.sum(-d2 + 0.5 * d2**2 * v))
        else:
            c2 = D / v.sum()
            block = np.array([np.sqrt(c2)])
            loss = float(-D * c2 + 0.5 * c2**2 * v.sum())
        cond = float(v.max() / v.min())
        converged, message = True, "closed form: per-coordinate moments"
    theta[g.offset:g.offset + g.size] = block
    if mg is not None:
        theta[mg.offset:mg.offset + mg.size] = mean
    return theta, loss, converged, message, cond
