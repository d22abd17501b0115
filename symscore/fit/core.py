"""Score-matching estimation: θ̂ = argmin_θ of the sample mean of Hyvärinen's
integrand (or its weighted form on bounded supports), with standard errors.

``fit(density, X)`` chooses, unless told otherwise:

* **the objective** — plain ISM ∇·s + ½‖s‖² when every boundary term of the
  integration by parts vanishes (the support is ℝ^D, or the proof engine shows
  sᵢ p → 0 at each finite end); otherwise the weighted objective
  Σⱼ ½hⱼsⱼ² + hⱼ∂ⱼsⱼ + hⱼ′sⱼ with hⱼ = (xⱼ − aⱼ)² (Hyvärinen 2007). Forcing
  plain ISM there needs ``objective="ism", allow_boundary_bias=True`` and warns.
* **the method** — ``"exact"`` when the score is affine in θ (exponential
  families, detected symbolically): the objective is ½θᵀAθ + bᵀθ + c and one
  linear solve gives θ̂ (:mod:`symscore.fit.exact`); otherwise ``"lbfgs"``:
  L-BFGS-B on the compiled loss and θ-gradient, domains as box bounds
  (:mod:`symscore.fit.numeric`).

Evaluation engines: plain ISM on the numerical path runs on the generated
kernels (``Kernels.ism_loss_and_grad``, target ``"cpu"`` or ``"numpy"``), and
so does the weighted objective (``Kernels.weighted_ism_loss_and_grad``); a NumPy
(SymPy lambdify + CSE) fallback remains for kernels without that method (CUDA).
``FitResult.details["engine"]`` says which was used. The exact path's per-sample A(x), b(x), c(x) are small expressions
evaluated the same way.

Standard errors come from the sandwich H⁻¹VH⁻¹/N (H: Hessian of the objective,
V: covariance of per-sample θ-gradients). Exact path: H = Ā and per-sample
gradients A(xᵢ)θ̂ + b(xᵢ) in closed form. Numerical path: H by central
differences of the compiled gradient, V from batch means of the gradient.
Directions along which the objective is flat (e.g. a common shift of mixture
logits) are reported and handled with the pseudo-inverse.

>>> import numpy as np, symscore as ss
>>> g = ss.families.gaussian_natural(dim=1)
>>> X = np.array([[0.0], [1.0], [3.0]])
>>> r = ss.fit(g, X, prove=False)
>>> r.method, r.objective, round(float(r.params["precision"][0, 0] * X.var()), 12)
('exact', 'ism', 1.0)
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import sympy as sp

from . import checks as fit_checks, exact as fit_exact, numeric as fit_numeric
from ..density import Density
from ..distributed import is_dask
from ..errors import DensityError, FitError, InputValueError, ShapeError, SymscoreError
from ..objectives import default_weights, foreign_weight_symbols
from ..params import in_domain, neutral_theta, pack, unpack
from .result import FitResult, _interval_text

__all__ = ["fit", "FitResult", "BoundaryBiasWarning", "FitWarning"]


class BoundaryBiasWarning(UserWarning):
    """Plain ISM was fitted although a boundary term does not vanish (biased)."""


class FitWarning(UserWarning):
    """The optimiser did not converge or the estimate lies on a domain bound."""


# -- input checks ----------------------------------------------------------------------

def _as_data(density, X) -> np.ndarray:
    if is_dask(X):   # checked chunk by chunk
        from ..distributed.fitting import as_data
        return as_data(density, X)
    try:
        X = np.array(X, dtype=np.float64, order="C")
    except (TypeError, ValueError):
        raise ShapeError(f"X must be an array of numbers, got {type(X).__name__}") from None
    if X.ndim == 1 and density.dim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != density.dim:
        raise ShapeError(f"X must have shape (N, {density.dim}) for {density.name}, "
                         f"got {X.shape}")
    if X.shape[0] < 2:
        raise ShapeError(f"X needs at least 2 samples, got {X.shape[0]}")
    bad = np.argwhere(~np.isfinite(X))
    if len(bad):
        i, j = bad[0]
        raise InputValueError(f"X[{i}, {j}] = {X[i, j]} is not finite "
                              f"({len(bad)} non-finite entries)")
    for j, (v, sup) in enumerate(zip(density.variables, density.support)):
        if sup == sp.S.Reals:
            continue
        col = X[:, j]
        inside = np.array([in_domain(t, sup) for t in (col.min(), col.max())])
        if not inside.all():
            t = col.min() if not inside[0] else col.max()
            raise InputValueError(f"X[:, {j}] has value {t!r} outside the support "
                                  f"{_interval_text(sup)} of {v}")
    return X


def _resolve_weights(density, weights):
    if isinstance(weights, str):
        if weights != "default":
            raise FitError(f"weights must be 'default' or one expression hⱼ(xⱼ) per "
                           f"coordinate, got {weights!r}")
        return default_weights(density)
    try:
        h = tuple(_weight_expr(w, density) for w in weights)
    except (sp.SympifyError, TypeError):
        raise FitError("weights must be SymPy expressions hⱼ(xⱼ) (or strings), one per "
                       "coordinate") from None
    if len(h) != density.dim:
        raise FitError(f"weights need one expression per coordinate ({density.dim}), "
                       f"got {len(h)}")
    # a symbol named like a variable IS that variable (whatever its assumptions)
    by_name = {v.name: v for v in density.variables}
    h = tuple(hj.xreplace({s: by_name[s.name] for s in hj.free_symbols if s.name in by_name})
              for hj in h)
    bad = foreign_weight_symbols(h, density.variables)
    if bad:
        raise FitError(f"weight h_{bad[0]} may depend on {bad[1]} only; it uses "
                       f"{', '.join(bad[2])}")
    for j, (hj, x, sup) in enumerate(zip(h, density.variables, density.support)):
        ends = ((sup.start, "+"), (sup.end, "-")) if sup != sp.S.Reals else ()
        for end, side in ends:
            if end.is_finite and sp.limit(hj, x, end, dir=side) != 0:
                warnings.warn(f"weight h_{j} = {hj} does not vanish at the boundary "
                              f"{x} = {end}: the weighted objective's own boundary term "
                              "hⱼ sⱼ p need not vanish there", BoundaryBiasWarning,
                              stacklevel=3)
    return h


def _weight_expr(w, density) -> sp.Expr:
    if isinstance(w, str):
        from ..parse import parse_expression   # the safe parser: never eval
        return parse_expression(w, density.variables)
    return sp.sympify(w, strict=True)


# -- the proofs, cached per density ---------------------------------------------------

@lru_cache(maxsize=32)
def _proof(density, weights=None):
    """(Proof or None, note): ISM equivalence (``weights`` None) or the weighted
    objective's proof, without the optional closed-form / Monte Carlo confirmations."""
    try:
        from ..proof import prove_ism_equivalence, prove_weighted_ism
    except ImportError:
        return None, "proof engine unavailable"
    try:
        if weights is None:
            return prove_ism_equivalence(density, confirm="none"), "proof engine"
        return prove_weighted_ism(density, weights=list(weights), confirm="none"), "proof engine"
    except SymscoreError as exc:
        return None, f"the proof engine could not run: {exc}"


def _boundary_terms_vanish(proof) -> bool | None:
    steps = [] if proof is None else proof.steps_with_prefix("boundary")
    if not steps:
        return None
    return all(s.holds for s in steps)


def _choose_objective(density, objective, weights, allow_boundary_bias, prove):
    """(objective, weights or None, explanation)."""
    if objective not in ("auto", "ism", "weighted"):
        raise FitError(f"objective must be 'auto', 'ism' or 'weighted', got {objective!r}")
    proof, how = _proof(density) if prove else (None, "not proved")
    vanish = _boundary_terms_vanish(proof)
    if density.has_full_support:
        vanish, why = True, "support is ℝ^D: no finite boundary"
    elif vanish:
        why = f"the boundary terms sᵢp vanish at every finite end ({how})"
    elif vanish is False:
        failed = ", ".join(s.key for s in proof.steps_with_prefix("boundary") if not s.holds)
        why = f"a boundary term sᵢp does not vanish: {failed} FAILED ({how})"
    else:
        why = f"the support has a finite end and its boundary term is unverified ({how})"
    if weights is not None:
        if objective == "ism":
            raise FitError("weights were given but objective='ism'; use objective="
                           "'weighted' (or 'auto')")
        return "weighted", _resolve_weights(density, weights), why
    if objective == "weighted" or (objective == "auto" and not vanish):
        return "weighted", default_weights(density), why
    if not vanish:
        if not allow_boundary_bias:
            raise FitError(f"plain ISM is biased for {density.name}: {why}. Use the "
                           "weighted objective (the default), or pass objective='ism', "
                           "allow_boundary_bias=True to fit it anyway")
        warnings.warn(f"fitting plain ISM although {why}: the estimate is biased",
                      BoundaryBiasWarning, stacklevel=3)
    return "ism", None, why


# -- the estimator ---------------------------------------------------------------------

_METHODS = ("auto", "exact", "lbfgs")


def fit(density, X, theta0=None, method: str = "auto", weights=None, *,
        objective: str = "auto", allow_boundary_bias: bool = False,
        standard_errors: bool = True, prove: bool = True, restarts: int = 0,
        seed: int = 0, tol: float = 1e-8, max_iter: int = 2000, target: str = "cpu",
        se_batches: int | None = None, se_hessian_rows: int = 200_000) -> FitResult:
    """Fit θ by score matching to the rows of X (shape (N, D)).

    Parameters
    ----------
    method : ``"auto"`` (exact when the score is affine in θ, else L-BFGS-B),
        ``"exact"`` (an error if the model is not linear in θ) or ``"lbfgs"``.
    weights : the weighted objective's hⱼ(xⱼ), one SymPy expression per coordinate
        (or ``"default"``: (xⱼ − aⱼ)² for a finite end aⱼ, 1 on ℝ); implies
        ``objective="weighted"``.
    objective : ``"auto"`` (see the module docstring), ``"ism"`` or ``"weighted"``;
        plain ISM where a boundary term survives needs ``allow_boundary_bias=True``.
    theta0 : start of L-BFGS-B (flat or by name); default ``density.defaults``, else
        :func:`symscore.params.neutral_theta` (0 on ℝ, 1 on (0, ∞), midpoints, …).
        Unused by the exact path.
    prove : run the (cached) proofs of :mod:`symscore.proof` (without their optional
        confirmations): on a bounded support the ISM proof's boundary steps decide
        the objective; the result carries the proof of the objective used.
    restarts, seed : extra L-BFGS-B starts, jittered around θ0.
    tol : L-BFGS-B's projected-gradient tolerance.
    target : kernel target for the numerical path (``"cpu"`` or ``"numpy"``).
    se_batches : batches for the batch-means gradient covariance of the numerical
        path (default max(50, 5P), at most N/2).
    se_hessian_rows : the numerical path's Hessian H = E[∇²θ j] is differenced on
        at most this many rows (a seeded random subset; its relative sampling error
        ~ rows^-½ is negligible next to the standard errors it feeds).
    """
    if not isinstance(density, Density):
        raise DensityError(f"fit needs a symscore.Density, got {type(density).__name__}")
    if method not in _METHODS:
        raise FitError(f"method must be one of {_METHODS}, got {method!r}")
    if not density.is_smooth:
        raise FitError(f"score matching needs a log-density differentiable in x; "
                       f"{density.name} has non-smooth parts "
                       f"{', '.join(map(str, density.nonsmooth_parts[:3]))}")
    X = _as_data(density, X)
    unused = fit_checks.unused_params(density)
    if unused:
        raise FitError(f"the score of {density.name} does not depend on parameter(s) "
                       f"{', '.join(unused)}: score matching cannot estimate them (fix their "
                       "values in the density, or remove them)")
    objective, h, why = _choose_objective(density, objective, weights, allow_boundary_bias,
                                          prove)
    proof = _proof(density, h)[0] if prove else None
    common = dict(density=density, objective=objective, weights=h, proof=proof,
                  proof_verdict=None if proof is None else proof.verdict.name,
                  boundary=why, n_samples=len(X))
    if density.structure is not None:
        return _fit_structured(X, method, theta0, standard_errors, restarts, seed, tol,
                               max_iter, target, (se_batches, se_hessian_rows), common)
    lin = fit_exact.linear_structure(density)
    if method == "exact" and not lin.affine:
        raise FitError(f"method='exact' needs a score affine in θ; for {density.name} "
                       f"{lin.reason}. Use method='lbfgs'")
    if method == "exact" or (method == "auto" and lin.affine):
        result = _fit_exact(X, standard_errors, common)
    else:
        result = _fit_lbfgs(X, theta0, standard_errors, restarts, seed, tol, max_iter,
                            target, (se_batches, se_hessian_rows), common)
    if not result.converged:
        warnings.warn(f"{density.name}: {result.message}", FitWarning, stacklevel=2)
    return result


def _fit_structured(X, method, theta0, standard_errors, restarts, seed, tol, max_iter,
                    target, se_options, common) -> FitResult:
    """Structured densities: the exact structured normal equations when log p~ is a
    recognised Gaussian quadratic form, else L-BFGS-B on the generated kernels.
    Curvature check and sandwich standard errors as on the numerical path, for at
    most ``_MAX_FD_HESSIAN`` parameters (the sandwich is P×P; P = D(D+1)/2 + D for a
    full Gaussian)."""
    from . import structured as fit_structured
    density = common["density"]
    weighted = common["objective"] != "ism"
    form = fit_structured.exact_form(density) if method != "lbfgs" and not weighted else None
    if method == "exact" and form is None:
        why = ("the structured normal equations solve the unweighted ISM objective"
               if weighted else "log p~ must be a recognised Gaussian quadratic form")
        raise FitError(f"method='exact' is not available for the structured density "
                       f"{density.name} ({why}); use method='lbfgs'")
    if form is None:
        return _fit_lbfgs(X, theta0, standard_errors, restarts, seed, tol, max_iter, target,
                          se_options, common)
    theta, loss, converged, message, cond = fit_structured.fit_exact_structured(
        density, X, form)
    f, _ = _loss_and_grad(density, "ism", None, target)
    cov, note = _curvature_and_errors(f, X, theta, None, converged, standard_errors,
                                      se_options, seed, density, check=False)
    return _result(theta + 0.0, loss, 0, converged, message, "exact", cov, note, (), cond,
                   {"engine": f"structured normal equations ({form[0]})"}, common)


def _outside_domain(density, theta) -> list[str]:
    return [f"{p.name} = {t:.6g} ∉ {_interval_text(dom)}" for p, dom, t in
            zip(density.params, density.domains, theta) if not in_domain(t, dom)]


def _fit_exact(X, standard_errors, common) -> FitResult:
    density = common["density"]
    plan = fit_exact.quadratic_plan(density, common["weights"])
    A, b, c = plan.moments(X)
    theta, cond = fit_exact.solve_quadratic(A, b, density.params)
    theta = theta + 0.0   # no negative zeros in reports
    fit_numeric.check_finite_theta(theta, density.params)
    loss = float(0.5 * theta @ A @ theta + b @ theta + c)
    outside = _outside_domain(density, theta)
    at_bound = tuple(p.name for p, dom, t in zip(density.params, density.domains, theta)
                     if not in_domain(t, dom))
    if outside:
        converged = False
        message = ("the minimiser of the quadratic objective lies outside the parameter "
                   f"domain ({'; '.join(outside)}): no minimiser inside the domain")
    else:
        converged, message = True, f"closed form: one linear solve (condition {cond:.3g})"
    cov, note = None, ""
    if standard_errors and converged:
        V = plan.gradient_covariance(X, theta, center=A @ theta + b)
        cov, note = fit_numeric.sandwich(A, V, len(X), density.params)
        note = note or "sandwich A⁻¹VA⁻¹/N with exact per-sample gradients"
    return _result(theta, loss, 0, converged, message, "exact", cov, note, at_bound, cond, {},
                   common)


def _result(theta, loss, iterations, converged, message, method, cov, note, at_bound,
            cond, details, common) -> FitResult:
    density = common["density"]
    se = None if cov is None else np.sqrt(np.clip(np.diag(cov), 0, None))
    return FitResult(theta=theta, params=unpack(density, theta, check=False), loss=loss,
                     iterations=iterations, converged=converged, message=message,
                     method=method, stderr=se, covariance=cov, stderr_note=note,
                     at_bound=at_bound, condition=cond, details=details, **common)


# -- numerical path ----------------------------------------------------------------------

def _data_hint(X) -> str:
    why = fit_checks.degeneracy(X)
    return f"; the data are degenerate: {why}" if why else ""


def _unbounded(density, X, res, loss0):
    """The optimiser stopped on its relative-reduction test while the loss was still
    falling steeply: the objective has no minimiser (it is unbounded below)."""
    grew = float(np.max(np.abs(res.theta))) if len(res.theta) else 0.0
    raise FitError(
        f"no minimiser: the score-matching objective of {density.name} appears unbounded "
        f"below for these data — the loss fell from {loss0:.4g} to {res.loss:.4g} (|θ| up to "
        f"{grew:.3g}) and is still falling (relative gradient {res.stationarity:.2g})"
        f"{_data_hint(X)}")


def _check_curvature(density, H, loss_on, X, theta, bounds, seed):
    """Refuse an estimate whose curvature is negative, singular (other than along
    exact symmetries of the model) or ill-conditioned."""
    sym, flat, neg, cond = fit_checks.curvature_directions(H, loss_on, density, X, theta,
                                                           bounds, seed=seed)
    params = density.params
    name = lambda v: fit_numeric._combination(params, v)   # noqa: E731
    if neg:
        raise FitError(f"the estimate is not a minimum: the objective curves downwards along "
                       f"{'; '.join(map(name, neg[:3]))} (a saddle point or an objective "
                       f"unbounded below){_data_hint(X)}; try other starting values "
                       "(theta0, restarts)")
    if flat:
        raise FitError(f"singular curvature: the data do not determine the direction(s) "
                       f"{'; '.join(map(name, flat[:3]))} of θ (the objective is flat along "
                       f"them){_data_hint(X)}")
    if not cond <= fit_checks.MAX_CONDITION:
        raise FitError(f"ill-conditioned curvature (condition number {cond:.3g} > "
                       f"{fit_checks.MAX_CONDITION:.0e}): the data barely determine θ"
                       f"{_data_hint(X)}")

@lru_cache(maxsize=16)
def _numpy_objective(density, objective, weights):
    from ..objectives import ism_integrand, weighted_ism_integrand
    j = ism_integrand(density) if objective == "ism" else \
        weighted_ism_integrand(density, weights)
    return fit_numeric.NumpyObjective(density, j)


def _loss_and_grad(density, objective, weights, target):
    """(f(X, θ) → (mean loss, mean θ-gradient), description)."""
    if target not in ("cpu", "numpy"):
        raise FitError(f"target must be 'cpu' or 'numpy', got {target!r}")
    try:
        from ..kernels import compile as compile_kernels
    except ImportError:
        compile_kernels = None
    if compile_kernels is not None:
        kern = compile_kernels(density, target=target, dtype="float64")
        if objective == "ism":
            return kern.ism_loss_and_grad, f"generated kernels (target={target})"
        if hasattr(kern, "weighted_ism_loss_and_grad"):
            return (lambda X, t: kern.weighted_ism_loss_and_grad(X, t, weights=weights),
                    f"generated kernels (target={target})")
    return (_numpy_objective(density, objective, weights),
            "NumPy lambdify of the symbolic integrand and its θ-gradient")


def _curvature_and_errors(f, X, theta, bounds, converged, standard_errors, se_options,
                          seed, density, check=True):
    """Check the curvature at a converged estimate (FitError when it is not a strict
    minimum; ``check=False`` for a minimum already established, e.g. by exact normal
    equations) and compute its sandwich covariance H⁻¹VH⁻¹/N: H by central differences
    of the mean θ-gradient f(X, θ)[1], V from batch means. (covariance or None, note).
    ``bounds``: the L-BFGS-B bounds, or None to derive them here."""
    n, P = len(X), density.n_params
    se_batches, rows = se_options
    if not converged:
        return None, ""
    if density.structure is not None and P > _MAX_FD_HESSIAN:
        # 2P gradient passes and a P×P covariance from more than P batches: too many
        return None, (f"curvature not checked and no standard errors: a finite-difference "
                      f"Hessian needs {2 * P} gradient passes (P = {P} > {_MAX_FD_HESSIAN})")
    if not (check or standard_errors):
        return None, ""
    bounds = fit_numeric.bounds_for(density) if bounds is None else bounds
    XH = X if n <= rows else X[np.sort(np.random.default_rng(seed).choice(n, rows, False))]
    H = fit_numeric.hessian_fd(lambda t: f(XH, t)[1], theta, bounds)
    if check:
        _check_curvature(density, H, lambda Z, t: f(Z, t)[0], XH, theta, bounds, seed)
    if not standard_errors:
        return None, ""
    batches = int(min(se_batches or max(50, 5 * P), n // 2))
    if batches <= P:
        return None, (f"no standard errors: {batches} gradient batches cannot estimate a "
                      f"{P}×{P} covariance (need more samples or se_batches > {P})")
    V = fit_numeric.batch_gradient_cov(lambda lo, hi: f(X[lo:hi], theta)[1], n, batches)
    cov, note = fit_numeric.sandwich(H, V, n, density.params)
    if note and not check:
        # a unique minimum (established without H) whose differenced H looks flat or
        # indefinite: rounding, not a property of the model — no standard errors
        ev = np.linalg.eigvalsh((H + H.T) / 2)
        return None, (f"no standard errors: the finite-difference Hessian is too "
                      f"ill-conditioned to invert (eigenvalues {ev[0]:.3g} … {ev[-1]:.3g}; "
                      "the minimum itself is unique)")
    return cov, note or (f"sandwich H⁻¹VH⁻¹/N; H by central differences of the gradient on "
                         f"{len(XH)} rows, V from {batches} batch means")


#: structured densities with more parameters skip the finite-difference Hessian
_MAX_FD_HESSIAN = 500


def _fit_lbfgs(X, theta0, standard_errors, restarts, seed, tol, max_iter, target,
               se_options, common) -> FitResult:
    density = common["density"]
    params = density.params
    if theta0 is None:
        # the model's defaults, else a neutral point of the domains (0 on ℝ, 1 on (0, ∞), …)
        theta0 = density.defaults if density.defaults is not None else neutral_theta(density)
    theta0 = pack(density, theta0)
    f, engine = _loss_and_grad(density, common["objective"], common["weights"], target)
    bounds = fit_numeric.bounds_for(density)
    res = fit_numeric.lbfgs(lambda t: f(X, t), theta0, bounds, params, tol=tol,
                            max_iter=max_iter, restarts=restarts, seed=seed)
    fit_numeric.check_finite_theta(res.theta, params)
    converged, message = res.converged, res.message
    if res.stopped_early or not res.converged:
        loss0 = f(X, theta0)[0]
        # stopped on the relative-reduction test while falling, or out of iterations
        # far below the start and still falling at a rate comparable to the loss itself
        if res.stationarity > 0.1 and (res.stopped_early or
                                       res.loss < loss0 - 1e3 * max(1.0, abs(loss0))):
            _unbounded(density, X, res, loss0)
    if res.at_bound:
        converged = False
        message = (f"the estimate sits on the bound of the domain of {', '.join(res.at_bound)}:"
                   f" the objective decreases towards the domain's edge ({res.message})")
    cov, note = _curvature_and_errors(f, X, res.theta, bounds, converged, standard_errors,
                                      se_options, seed, density)
    details = {"engine": engine, "evaluations": res.evaluations, "starts": res.starts,
               "theta0": theta0}
    return _result(res.theta, res.loss, res.iterations, converged, message, "lbfgs", cov,
                   note, res.at_bound, None, details, common)
