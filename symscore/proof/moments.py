"""Moment (integrability) conditions under the data density p:

* E_p‖s_θ‖² < ∞ (weighted: E_p Σᵢ hᵢ s_{θ,i}²),
* E_p‖∇log p‖² < ∞ (weighted: E_p Σᵢ hᵢ (∂ᵢ log p)²),
* E_p|∇·s_θ| < ∞ (weighted: E_p|Σᵢ hᵢ ∂ᵢs_{θ,i} + hᵢ′ s_{θ,i}|),

so that the expectations of the pointwise identity may be split term by term.

Methods in order: exact Gaussian expectation (polynomial integrand, Gaussian-type
data) → PROVEN with the value; polynomial majorant of joint degree k and data
moments of every order below m with k < m → PROVEN; per-coordinate
integrability for separable data (tails by asymptotic forms, finite ends by the
exact leading term) → PROVEN, or FAILED when a lower bound proves the tail or
end divergent. A sufficient symbolic condition that failed (k ≥ m) is never
upgraded by Monte Carlo: the step is then ASSUMED with the condition. Only when
SymPy knows nothing may a Monte Carlo estimate at the numeric parameters CHECK
the moment, and only if a tail diagnostic (Hill indices of the integrand and of
the importance weights, both > 2) supports a finite-variance estimate; else
ASSUMED. Each step says which evidence it used.

>>> import symscore as ss
>>> from symscore.proof.pairing import pair
>>> [s.status.name for s in moment_steps(pair(ss.families.gaussian(dim=1)))]
['PROVEN', 'PROVEN', 'PROVEN']
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .asymptotics import Y, TailAnalysis, leading_term, substitute_end
from .boundary import support_ends
from .core import ProofError, Status, Step
from .gaussian import expect_polynomial, gaussian_moments
from .growth import _Growth, joint_degree, moment_order
from .notation import Tex, cheap_to_expand, is_small
from .numeric import (draw, finite_variance_evidence, lambdify_numpy, mc_mean, quiet,
                      separable_terms)

__all__ = ["moment_steps", "integrands"]

_T = sp.Symbol("t", positive=True)
_YSHOW = sp.Symbol("y", positive=True)


def integrands(pr, weights=None):
    """[(key, TeX of the expectation, integrand f, take |f|)] for the three conditions."""
    model, data = pr.model, pr.data
    xs = model.variables
    s, t = model.score, data.score
    if weights is None:
        return [
            ("moment[model_score]", r"\mathbb{E}_{p}\left[\|s_\theta\|^2\right]",
             sp.Add(*[si**2 for si in s]), False),
            ("moment[data_score]", r"\mathbb{E}_{p}\left[\|\nabla\log p\|^2\right]",
             sp.Add(*[ti**2 for ti in t]), False),
            ("moment[divergence]", r"\mathbb{E}_{p}\left[|\nabla\cdot s_\theta|\right]",
             model.divergence, True)]
    h = [sp.sympify(w) for w in weights]
    dss = [sp.diff(s[i], x) for i, x in enumerate(xs)]
    return [
        ("moment[model_score]", r"\mathbb{E}_{p}\left[\sum_i h_i s_{\theta,i}^2\right]",
         sp.Add(*[hi * si**2 for hi, si in zip(h, s)]), False),
        ("moment[data_score]", r"\mathbb{E}_{p}\left[\sum_i h_i (\partial_i\log p)^2\right]",
         sp.Add(*[hi * ti**2 for hi, ti in zip(h, t)]), False),
        ("moment[divergence]",
         r"\mathbb{E}_{p}\left[\left|\sum_i h_i\partial_i s_{\theta,i} + h_i' s_{\theta,i}\right|\right]",
         sp.Add(*[hi * d + sp.diff(hi, x) * si for hi, d, si, x in zip(h, dss, s, xs)]), True)]


def moment_steps(pr, weights=None, *, seed: int = 0, n_samples: int = 20_000) -> list[Step]:
    cache: dict = {}
    return [_moment(pr, key, tex, f, absolute, seed, n_samples, cache)
            for key, tex, f, absolute in integrands(pr, weights)]


def _moment(pr, key, tex, f, absolute, seed, n, cache) -> Step:
    data, xs = pr.data, pr.model.variables
    E = Tex(tex)
    stmt = sp.StrictLessThan(E, sp.oo, evaluate=False)
    title = f"Moment condition ${tex} < \\infty$"
    xset = set(xs)
    if f.has(sp.DiracDelta):
        return Step(key, title, stmt, Status.FAILED, "non-smooth integrand",
                    r"The integrand contains a Dirac delta (the score jumps where the "
                    r"log-density has a kink): it is a distribution, not a function, so this "
                    r"expectation is not a finite integral of a function.",
                    {"dirac_terms": tuple(sorted(map(str, f.atoms(sp.DiracDelta))))[:6]})
    if not (f.free_symbols & xset):
        return Step(key, title, sp.Eq(E, sp.Abs(f) if absolute else f, evaluate=False),
                    Status.PROVEN, "constant integrand",
                    "The integrand does not depend on $x$: its expectation is the constant itself.",
                    {"value": f})

    # 1. exact Gaussian expectation
    if "gm" not in cache:
        cache["gm"] = gaussian_moments(data)
    gm = cache["gm"]
    growth = _Growth(xs)
    if gm is not None and growth.poly_degree(f) is not None and is_small(f, 600):
        value = expect_polynomial(f, xs, *gm)
        if absolute:
            return Step(key, title, stmt, Status.PROVEN, "polynomial under a Gaussian",
                        r"The integrand is a polynomial in $x$ and the data density is Gaussian "
                        r"(negative-definite quadratic log-density), which has finite moments of "
                        r"every order; its mean is shown in the evidence.",
                        {"mean_of_integrand": value})
        return Step(key, title, sp.Eq(E, value, evaluate=False), Status.PROVEN,
                    "exact Gaussian expectation (Isserlis)",
                    r"The integrand is a polynomial and the data density is Gaussian with mean "
                    r"and covariance read off its quadratic log-density; Isserlis' theorem gives "
                    r"the expectation exactly, and it is finite.", {"value": value})

    condition = None
    # 2. polynomial majorant + moment order (full support)
    if data.has_full_support:
        jd = joint_degree(f, xs)
        if "mo" not in cache:
            cache["mo"] = moment_order(data)
        mo = cache["mo"]
        if jd is not None and mo is not None:
            k, slack = jd
            m, why = mo
            normalisable = m == sp.oo or m.is_positive is True
            ok = normalisable and (m == sp.oo or k < 0 or (m - k).is_positive is True)
            ev = {"majorant_degree": k, "moment_order": m, "tails": why}
            if ok:
                return Step(key, title, stmt, Status.PROVEN, "polynomial majorant + tails",
                            rf"Exact bounds give $|f(x)| \le C(1+\|x\|)^{{{sp.latex(k)}}}$"
                            + (" (times an arbitrarily small power, from logarithms)"
                               if slack else "") + rf", and the data density has "
                            rf"finite moments of every order below ${sp.latex(m)}$ ({why}); "
                            rf"since ${sp.latex(k)} < {sp.latex(m)}$ the expectation is finite.",
                            ev)
            condition = sp.StrictLessThan(k, m) if normalisable else sp.StrictGreaterThan(
                m, 0)

    # 3. per-coordinate integrability (separable data and integrand, or D = 1)
    per = _per_coordinate(f, data, xs)
    if per is not None:
        status, ev, text = per
        return Step(key, title, stmt, status, "per-coordinate tails and end points", text, ev)

    # a sufficient condition failed: Monte Carlo may not overrule it
    if condition is not None:
        return Step(key, title, stmt, Status.ASSUMED, "hypothesis (sufficient condition failed)",
                    rf"Assumed, not proven: the sufficient condition ${sp.latex(condition)}$ "
                    r"(integrand growth below the data's moment order) does not hold or "
                    r"cannot be decided, and no exact tail analysis settled the "
                    r"expectation. A Monte Carlo estimate cannot establish a moment whose "
                    r"finiteness the tails do not support, so none is used.",
                    {"symbolic_condition": condition, "evidence_used": "symbolic (failed)"})

    # 4. Monte Carlo at the numeric parameters, only with a finite-variance diagnostic
    if pr.numeric:
        return _monte_carlo(pr, key, title, stmt, f, absolute, seed, n, condition)
    return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                "Assumed: SymPy could not bound this expectation and no numeric parameter "
                "values were given to estimate it.", {"evidence_used": "none"})


def _integrable_form(fm) -> bool:
    """exp(P(y) + α log y) is integrable at y → ∞."""
    if fm.poly != 0:
        return fm.direction() == -1
    return (fm.alpha + 1).is_negative is True


def _divergent_form(fm) -> bool:
    """exp(F(y)) ≥ c/y eventually, so its integral at y → ∞ diverges."""
    if fm.poly != 0:
        return fm.direction() == 1
    a1 = fm.alpha + 1
    return (a1.is_positive is True) or (a1.is_zero is True and not fm.slack)


def _separable_terms(f, xs):
    return separable_terms(sp.expand(f) if is_small(f, 300) and cheap_to_expand(f) else f, xs)


def _per_coordinate(f, data, xs):
    """For separable data: each 1-D factor integrates |fᵢ|·pᵢ at every end."""
    log_parts = _separable_terms(data.log_density, xs)
    f_parts = {xs[0]: f} if len(xs) == 1 else _separable_terms(f, xs)
    if log_parts is None or f_parts is None:
        return None
    conditions, notes = [], []
    for i, x in enumerate(xs):
        fi, gi = f_parts[x], log_parts[x]
        if fi == 0:
            continue
        for end in support_ends(data.support[i]):
            if end[0].is_infinite:
                T = TailAnalysis()
                forms = T._cross([T.mag_upper(substitute_end(fi, x, end)),
                                  T.upper(substitute_end(gi, x, end))])
                if forms is not None and all(_integrable_form(fm) for fm in forms):
                    notes.append(f"x_{i}→{end[0]}: integrable tail")
                    continue
                low = T._cross([T.mag_lower(substitute_end(fi, x, end)),
                                T.lower(substitute_end(gi, x, end))])
                if low is not None and all(_divergent_form(fm) for fm in low):
                    shown = tuple(fm.as_expr().xreplace({Y: _YSHOW}) for fm in low[:4])
                    return (Status.FAILED,
                            {"coordinate": i, "end": str(end[0]), "log_lower_bound": shown,
                             "evidence_used": "symbolic lower bound of the tail"},
                            rf"The expectation is infinite: as $x_{{{i}}}\to{sp.latex(end[0])}$ "
                            r"(with $y = |x_i|$), exact lower bounds give $\log(|f_i|\,p_i) "
                            r"\ge \min_k F_k(y) + O(1)$ with every $F_k(y) \ge -\log y$ "
                            rf"eventually (forms ${', '.join(sp.latex(e) for e in shown)}$), so "
                            r"$|f_i|\,p_i \ge c/y$ is not integrable there.")
                return None
            else:
                lt = leading_term((fi * sp.exp(gi)).xreplace({x: end[0] + end[1] * _T}), _T)
                if lt is None:
                    return None
                power = lt[1]
                if (power + 1).is_positive:
                    notes.append(f"x_{i}→{end[0]}: integrand ~ t^({power})")
                    continue
                cond = sp.StrictGreaterThan(power + 1, 0)
                ev = {"coordinate": i, "end": str(end[0]), "leading_power": power,
                      "leading_coefficient": lt[0], "integrable_iff": cond}
                why = ("diverges" if (power + 1).is_nonpositive else
                       "converges only when " + f"${sp.latex(cond)}$, not for every "
                       "parameter value in the domain")
                return (Status.FAILED, ev,
                        rf"Near $x_{{{i}}} = {sp.latex(end[0])}$ the integrand times the density "
                        rf"behaves like $c\,t^{{{sp.latex(power)}}}$ ($t$ = distance to the end), "
                        rf"whose integral {why}.")
    return (Status.PROVEN, {"checks": tuple(notes), "evidence_used": "symbolic tails"},
            "The data density factorises over coordinates and so does the integrand; every "
            "one-dimensional factor is integrable at both ends of its support (tails bounded "
            "by exact asymptotic forms, finite ends by the exact leading term).")


@quiet
def _monte_carlo(pr, key, title, stmt, f, absolute, seed, n, condition) -> Step:
    try:
        d = draw(pr.data, pr.theta_data, n, seed)
    except ProofError as exc:
        ev = {"condition": condition} if condition is not None else {}
        return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                    f"Assumed: SymPy could not bound this expectation and no Monte Carlo "
                    f"estimate is possible ({exc}).", ev)
    fn = lambdify_numpy(pr.args, [f])
    X = d.samples
    with np.errstate(all="ignore"):
        vals = np.asarray(fn(*X.T, *pr.values)[0], dtype=float) * np.ones(len(X))
    if absolute:
        vals = np.abs(vals)
    with np.errstate(all="ignore"):
        est, se = mc_mean(vals, d.weights)
    diag = finite_variance_evidence(vals, d.weights, seed)
    ev = {"estimate": est, "standard_error": se, "n_samples": n, "seed": seed,
          "sampler": d.method, "effective_sample_size": d.ess, **diag,
          "theta": pr.theta, "theta_data": pr.theta_data}
    if np.all(np.isfinite(vals)) and np.isfinite(est) and diag["finite_variance_supported"]:
        return Step(key, title, stmt, Status.CHECKED, "Monte Carlo estimate + tail diagnostic",
                    rf"SymPy could not settle this symbolically. At the numeric parameters a "
                    rf"Monte Carlo estimate with {n} samples (seed {seed}, {d.method}) is "
                    rf"${est:.6g} \pm {se:.2g}$, and the tails support its finiteness: the "
                    rf"Hill tail index of the integrand is {diag['tail_index']:.3g} $\pm$ "
                    rf"{diag['tail_index_se']:.2g} > 2 (finite variance)"
                    + (", and so is that of the importance weights" if d.weights is not None
                       else "") + ". (A finite estimate at these parameters does not prove "
                    "finiteness for other parameters.)", {**ev, "evidence_used":
                                                          "Monte Carlo + Hill tail index"})
    return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                "Assumed: SymPy could not settle this, and a Monte Carlo estimate cannot vouch "
                "for it: the tail diagnostic does not support a finite variance (Hill tail "
                f"index {diag['tail_index']:.3g} ± {diag['tail_index_se']:.2g}"
                + (f", weights {diag['weights_tail_index']:.3g}" if d.weights is not None else "")
                + ", needs > 2).", {**ev, "evidence_used": "Monte Carlo rejected by the tail "
                                    "diagnostic"})
