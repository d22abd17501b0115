"""ESM ⇔ ISM, step by step, for a given model (and data density).

    J_ESM(θ) = ½ E_p ‖s_θ − ∇log p‖²  =  E_p[∇·s_θ + ½‖s_θ‖²] + ½ E_p‖∇log p‖²
             =  J_ISM(θ) + C

Hyvärinen (2005), Theorem 1, by the coordinate-wise integration by parts of
his Appendix A. The universal identities are proven once with undefined
functions (:mod:`~symscore.proof.identities`); what is model-specific are the
differentiability, the boundary terms and the moment conditions.

>>> import symscore as ss
>>> proof = prove_ism_equivalence(ss.families.gaussian(dim=1), confirm=False)
>>> proof.verdict.name, len(proof.steps)
('PROVEN', 17)
"""

from __future__ import annotations

import sympy as sp

from .. import calculus, objectives
from .boundary import boundary_steps
from .confirm import closed_form_step, monte_carlo_step
from .core import ProofError, Proof, Status, Step, weakest
from .identities import (expansion_identity, log_derivative_identity, normaliser_identity,
                         pointwise_identity, product_rule_identity)
from .moments import moment_steps
from .notation import Tex, is_small
from .pairing import Pair, pair
from .premises import singular_sets
from .timeout import Budget

__all__ = ["prove_ism_equivalence", "differentiability_step", "model_steps", "CLAIM",
           "DEFAULT_TIME_LIMIT", "timed_out_step"]

CLAIM = sp.Eq(Tex(r"J_{\mathrm{ESM}}(\theta)"),
              Tex(r"J_{\mathrm{ISM}}(\theta)") + Tex("C"), evaluate=False)

_CONFIRM = ("auto", "closed_form", "monte_carlo", "both", "none")


def _kinks(density):
    out = []
    for part in density.nonsmooth_parts:
        if isinstance(part, (sp.Abs, sp.sign, sp.Heaviside)):
            out.append(sp.Eq(part.args[0], 0))
        else:
            out.append(part)
    return tuple(out)


def differentiability_step(pr: Pair, weights=None) -> Step:
    """The model's and the data's log-densities (and weights) are smooth in x on the
    open support: no Abs / sign / Piecewise / Max / … of x."""
    model, data = pr.model, pr.data
    bad = {"model": model.nonsmooth_parts, "data": data.nonsmooth_parts if data is not model
           else ()}
    if weights is not None:
        from ..density import _NONSMOOTH
        xs = set(model.variables)
        bad["weights"] = tuple(a for w in weights for a in sp.sympify(w).atoms(*_NONSMOOTH)
                               if a.free_symbols & xs)
    n = sum(len(v) for v in bad.values())
    stmt = sp.Eq(Tex(r"\#\{\text{non-smooth sub-expressions of } x\}"), n, evaluate=False)
    title = "Differentiability of the model and the data density"
    if n == 0:
        sing = {"model": singular_sets(model)}
        if data is not model:
            sing["data"] = singular_sets(data)
        sets = tuple(dict.fromkeys(e for v in sing.values() for e in v))
        if sets:
            named = ", ".join(f"${sp.latex(e)}$" for e in sets[:4])
            return Step("differentiability", title, stmt, Status.ASSUMED,
                        "structural inspection (singular sets)",
                        r"The log-densities are finite on the open support but NOT smooth "
                        r"where " + named + r" (a fractional power of a quantity that "
                        r"vanishes there: the score is not differentiable on that set). The "
                        r"identity still holds if this set is null, $s_i\,p$ stays bounded "
                        r"near it and $s$, $\nabla\cdot s$ are locally integrable (the flux "
                        r"through a small sphere around it then vanishes); that is assumed, "
                        r"not verified.",
                        {"nonsmooth_parts": 0, "singular_sets": sets})
        return Step("differentiability", title, stmt, Status.PROVEN, "structural inspection",
                    r"The log-densities are built from smooth functions of $x$ (polynomials, "
                    r"exp, log of positive quantities, log-sum-exp, softplus, sigmoid, …) with "
                    r"no Abs, sign, Piecewise, Max/Min or step functions of $x$, and every "
                    r"fractional power, logarithm and denominator of $x$ has an argument "
                    r"SymPy proves non-zero on the support; they are infinitely "
                    r"differentiable on the open support, as the identities require.",
                    {"nonsmooth_parts": 0})
    where = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in bad.items() if v)
    kinks = _kinks(model) + (_kinks(data) if data is not model else ())
    return Step("differentiability", title, stmt, Status.FAILED, "structural inspection",
                r"NOT differentiable: the log-density contains " + where.replace("_", r"\_") +
                r". At the kink the score jumps and $\nabla\cdot s$ contains a Dirac delta, "
                r"so the integration by parts picks up jump terms and Hyvärinen's objective "
                r"is not equivalent to ESM as it stands (smooth the density, e.g. replace "
                r"$|u|$ by a smooth surrogate, or use a method that does not differentiate "
                r"the score).",
                {"nonsmooth_parts": {k: tuple(v) for k, v in bad.items() if v},
                 "kinks": kinks})


def _normaliser_step(pr: Pair) -> Step:
    st = normaliser_identity()
    ev = dict(st.evidence)
    if is_small(pr.model.log_density, 150):
        check = calculus.normaliser_drops_out(pr.model)
        ev["model_check"] = "holds" if check.holds else "residual"
        if not check.holds:
            return st.with_status(Status.FAILED, evidence={**ev, "residual":
                                                           tuple(check.difference)})
    else:
        ev["model_check"] = "instantiated by substitution (universal identity)"
    return st.with_status(st.status, evidence=ev)


def _expansion_step(pr: Pair) -> Step:
    st = expansion_identity()
    overlap = pr.data.log_density.free_symbols & set(pr.model.params)
    ev = {**st.evidence, "last_term_theta_free": not overlap}
    if overlap:
        return st.with_status(Status.FAILED, evidence=ev, justification=st.justification +
                              " But the data density depends on the model parameters "
                              f"{sorted(map(str, overlap))}, so the last term is not constant.")
    return st.with_status(st.status, evidence=ev, justification=st.justification +
                          r" The last term involves only the data density, not $\theta$: it "
                          r"is the constant $C$.")


def _pointwise_step(pr: Pair) -> Step:
    st = pointwise_identity()
    model = pr.model
    ism = objectives.ism_integrand(model)
    structural = ism == model.divergence + sp.Rational(1, 2) * sp.Add(*[s**2 for s in model.score])
    ev = {**st.evidence, "integrand_is_objectives_ism_integrand": bool(structural),
          "ism_integrand": ism if is_small(ism) else
          Tex(r"\nabla\cdot s_\theta + \tfrac12\|s_\theta\|^2")}
    return st.with_status(st.status if structural else Status.FAILED, evidence=ev)


def timed_out_step(key: str, title: str, budget: Budget) -> Step:
    """The ASSUMED step that replaces a step whose symbolic work ran out of time."""
    return Step(key, title, Tex(r"\text{undecided (time limit)}"), Status.ASSUMED,
                "time limit",
                f"Assumed: the symbolic work for this step timed out (the proof's time "
                f"limit is {budget.seconds:g} s, at most {budget.step_cap:g} s per step), so "
                "it is a hypothesis. "
                "Raise the limit (prove --time-limit / time_limit=) to try harder.",
                {"timed_out_after_s": float(budget.seconds)})


def _guarded(budget, fn, keys_titles):
    """fn() → list of steps, or ASSUMED timed-out steps for ``keys_titles``."""
    return budget.run(fn, lambda: [timed_out_step(k, t, budget) for k, t in keys_titles])


def _boundary_keys(pr):
    from .boundary import end_label, support_ends
    return [(f"boundary[{i},{end_label(end)}]", f"Boundary term, coordinate {i}")
            for i in range(pr.model.dim) for end in support_ends(pr.data.support[i])]


_MOMENT_KEYS = [("moment[model_score]", "Moment condition on the model score"),
                ("moment[data_score]", "Moment condition on the data score"),
                ("moment[divergence]", "Moment condition on the divergence")]


def model_steps(pr: Pair, *, seed: int = 0, n_samples: int = 20_000,
                budget: Budget | None = None) -> list[Step]:
    """Positivity, normalisability, differentiability, the universal identities,
    boundary terms and moments; each under ``budget`` (ASSUMED when it runs out)."""
    from .premises import normalisability_step, positivity_step
    budget = budget or Budget(None)
    one = lambda fn, key, title: _guarded(budget, lambda: [fn()], [(key, title)])  # noqa: E731
    steps = []
    for role, dens, vals in (("model", pr.model, pr.theta), ("data", pr.data, pr.theta_data)):
        steps += one(lambda: positivity_step(dens, role, vals), f"positivity[{role}]",
                     f"Positivity of the {role} density on its support")
    for role, dens, vals in (("model", pr.model, pr.theta), ("data", pr.data, pr.theta_data)):
        steps += one(lambda: normalisability_step(dens, role, vals),
                     f"normalisability[{role}]", f"Normalisability of the {role} density")
    steps += one(lambda: differentiability_step(pr), "differentiability",
                 "Differentiability of the model and the data density")
    steps += one(lambda: _normaliser_step(pr), "normaliser", "The normaliser drops out")
    steps += [_expansion_step(pr), log_derivative_identity(), product_rule_identity()]
    steps += one(lambda: _pointwise_step(pr), "pointwise_identity", "Pointwise identity")
    steps += _guarded(budget, lambda: boundary_steps(pr, seed=seed), _boundary_keys(pr))
    moments = _guarded(budget, lambda: moment_steps(pr, seed=seed, n_samples=n_samples),
                       _MOMENT_KEYS)
    if any(s.key == "normalisability[data]" and s.status == Status.FAILED for s in steps):
        moments = [_without_expectations(s) for s in moments]
    return steps + moments


def _without_expectations(step: Step) -> Step:
    """A moment step under a data density that is not normalisable: E_p is undefined,
    so an established finiteness is reduced to ASSUMED (a FAILED one stays)."""
    if step.status not in (Status.PROVEN, Status.CHECKED):
        return step
    return step.with_status(
        Status.ASSUMED, method="not applicable (data not normalisable)",
        justification=r"No expectation under $p$ exists: the data density is not "
        r"normalisable (normalisability[data] FAILED). The integral of the integrand "
        r"against $\tilde p$ was found finite (" + step.method + "), which does not make "
        r"this moment condition meaningful.")


def ibp_step(steps, key="integration_by_parts", weighted=False) -> Step:
    """M = E_p[s·∇log p] = −E_p[∇·s] from the product rule, the boundary terms and
    the moments (its status is the weakest of theirs)."""
    premises = [s for s in steps if s.key.startswith(("boundary", "moment", "product_rule",
                                                      "positivity", "normalisability",
                                                      "weighted_product_rule",
                                                      "log_derivative", "differentiability"))]
    status = weakest(s.status for s in premises)
    failed = [s for s in premises if s.status == Status.FAILED]
    h = r"h_i" if weighted else ""
    M = Tex(r"\mathbb{E}_p[s_\theta\cdot\nabla\log p]" if not weighted else
            r"\mathbb{E}_p\left[\sum_i h_i s_{\theta,i}\,\partial_i\log p\right]")
    rhs = Tex(r"-\mathbb{E}_p[\nabla\cdot s_\theta]" if not weighted else
              r"-\mathbb{E}_p\left[\sum_i h_i\partial_i s_{\theta,i} + h_i' s_{\theta,i}\right]")
    ev = {"premises": tuple(s.key for s in premises),
          "weakest_premise": status.name}
    if failed:
        ev["failed_premises"] = tuple(s.key for s in failed)
        surv = tuple(s.evidence["surviving_term"] for s in failed
                     if "surviving_term" in s.evidence)
        if surv:
            ev["surviving_boundary_terms"] = surv
        flux = Tex(r"\sum_i \int \big[" + h + r" s_{\theta,i}\,p\big]_{\partial} dx_{-i}")
        return Step(key, "Integration by parts", sp.Eq(M, rhs + flux, evaluate=False),
                    Status.FAILED, "derived from the premises",
                    r"Integrating the product rule over the support leaves the boundary "
                    r"values; here they do not all vanish (or the expectations cannot be split: "
                    + ", ".join(s.key for s in failed) + r"), so $M$ keeps the boundary flux "
                    r"and the identity below fails.", ev)
    return Step(key, "Integration by parts", sp.Eq(M, rhs, evaluate=False), status,
                "derived from the premises",
                r"By the log-derivative trick $M = \int " + h + r" s_\theta\cdot\nabla p\,dx$. "
                r"Integrate the product rule $\partial_i(" + h + r"s_i p) = \partial_i(" + h
                + r"s_i)\,p + " + h + r"s_i\,\partial_i p$ over "
                r"$x_i$ with the other coordinates fixed: the fundamental theorem of calculus "
                r"leaves only the boundary values, which vanish (boundary steps), and the "
                r"moment conditions make every expectation finite so the integrals split "
                r"(Fubini). Hence " + (
                    r"$\int \sum_i h_i s_{\theta,i}\,\partial_i p\,dx = -\int \sum_i (h_i\,"
                    r"\partial_i s_{\theta,i} + h_i' s_{\theta,i})\,p\,dx$." if h else
                    r"$M = \int s_\theta\cdot\nabla p\,dx = -\int(\nabla\cdot s_\theta)\,p\,dx"
                    r" = -\mathbb{E}_p[\nabla\cdot s_\theta]$."),
                ev)


def _chain():
    T = Tex
    return (
        sp.Eq(T(r"J_{\mathrm{ESM}}(\theta)"),
              T(r"\tfrac12\mathbb{E}_p\|s_\theta\|^2 - M + C"), evaluate=False),
        sp.Eq(T("M"), T(r"\mathbb{E}_p[s_\theta\cdot\nabla\log p] = \int s_\theta\cdot\nabla p"
                        r"\,dx"), evaluate=False),
        sp.Eq(T("M"), T(r"-\int(\nabla\cdot s_\theta)\,p\,dx = -\mathbb{E}_p[\nabla\cdot "
                        r"s_\theta]"), evaluate=False),
        sp.Eq(T(r"J_{\mathrm{ESM}}(\theta)"),
              T(r"\mathbb{E}_p\big[\nabla\cdot s_\theta + \tfrac12\|s_\theta\|^2\big] + C"),
              evaluate=False),
        sp.Eq(T("C"), T(r"\tfrac12\mathbb{E}_p\|\nabla\log p\|^2 \quad(\text{free of } "
                        r"\theta)"), evaluate=False),
    )


def conclusion_step(steps, weighted=False) -> Step:
    status = weakest(s.status for s in steps)
    failed = [s.key for s in steps if s.status == Status.FAILED]
    if weighted:
        claim = sp.Eq(Tex(r"J_{h,\mathrm{ESM}}(\theta)"),
                      Tex(r"J_{h}(\theta)") + Tex(r"C_h"), evaluate=False)
        text = (r"$J_{h,\mathrm{ESM}}(\theta) = \tfrac12\mathbb{E}_p\sum_i h_i(s_{\theta,i}-"
                r"\partial_i\log p)^2 = \mathbb{E}_p\sum_i\big[\tfrac12 h_i s_{\theta,i}^2 + "
                r"h_i\partial_i s_{\theta,i} + h_i' s_{\theta,i}\big] + C_h$ with "
                r"$C_h = \tfrac12\mathbb{E}_p\sum_i h_i(\partial_i\log p)^2$ free of $\theta$.")
    else:
        claim = CLAIM
        text = (r"Expanding the square and dropping the $\theta$-free term gives "
                r"$J_{\mathrm{ESM}} = \tfrac12\mathbb{E}_p\|s_\theta\|^2 - M + C$ with "
                r"$M = \mathbb{E}_p[s_\theta\cdot\nabla\log p]$. Integration by parts gave "
                r"$M = -\mathbb{E}_p[\nabla\cdot s_\theta]$; substituting it back: $J_{\mathrm{ESM}}(\theta) = \mathbb{E}_p[\nabla\cdot s_\theta + "
                r"\tfrac12\|s_\theta\|^2] + C = J_{\mathrm{ISM}}(\theta) + C$, "
                r"$C = \tfrac12\mathbb{E}_p\|\nabla\log p\|^2$. Minimising $J_{\mathrm{ISM}}$ "
                r"therefore minimises $J_{\mathrm{ESM}}$ without knowing $p$.")
    ev = {"chain": _chain() if not weighted else (), "weakest_premise": status.name}
    if failed:
        ev = {"weakest_premise": status.name, "failed_premises": tuple(failed)}
        boundary = any(k.startswith("boundary") for k in failed)
        h = "h_i " if weighted else ""
        flux = Tex(r"\sum_i \int \big[" + h + r"s_{\theta,i}\,p\big]_{\partial} dx_{-i}")
        stmt = (sp.Eq(claim.lhs, claim.rhs - flux, evaluate=False) if boundary else
                sp.Ne(claim.lhs, claim.rhs, evaluate=False))
        return Step("conclusion", "Conclusion", stmt, Status.FAILED, "derived from the premises",
                    "The equivalence does NOT follow: " + ", ".join(failed) + " failed. " +
                    ("The boundary flux of the integration by parts survives, so the implicit "
                     r"objective differs from the explicit one by the $\theta$-dependent flux "
                     "shown (minimising the implicit objective minimises the wrong function)."
                     if boundary else
                     "Without these premises the expectations cannot be split or integrated "
                     "by parts, so the two objectives need not differ by a constant."), ev)
    return Step("conclusion", "Conclusion", claim, status, "derived from the premises", text, ev)


#: default time limit of a proof's symbolic work, in seconds
DEFAULT_TIME_LIMIT = 60.0


def prove_ism_equivalence(model, data=None, *, confirm: str = "auto", theta=None,
                          theta_data=None, seed: int = 0, n_samples: int = 20_000,
                          time_limit: float | None = DEFAULT_TIME_LIMIT) -> Proof:
    """Prove J_ESM(θ) = J_ISM(θ) + C for ``model`` against ``data`` (default: the
    model itself at parameters θ*, the well-specified case).

    ``confirm``: ``"auto"`` (closed form if SymPy finds one, else Monte Carlo),
    ``"closed_form"``, ``"monte_carlo"``, ``"both"`` or ``"none"``. ``theta`` /
    ``theta_data``: numeric parameters for numeric fallbacks and Monte Carlo
    (default: the densities' defaults); ``seed`` and ``n_samples`` fix them.
    ``time_limit``: seconds for the whole proof (None: no limit); a step that runs
    out of time becomes ASSUMED "timed out after S s" (needs the main thread to
    interrupt SymPy; elsewhere the steps run unguarded).
    """
    if confirm is False:
        confirm = "none"
    if confirm not in _CONFIRM:
        raise ProofError(f"confirm must be one of {_CONFIRM}, got {confirm!r}")
    if getattr(model, "structure", None) is not None and data is None:
        from .structured import prove_structured_ism   # vector form, independent of D
        return prove_structured_ism(model, confirm)
    pr = pair(model, data, theta=theta, theta_data=theta_data)
    budget = Budget(time_limit)
    steps = model_steps(pr, seed=seed, n_samples=n_samples, budget=budget)
    steps.append(ibp_step(steps))
    steps.append(conclusion_step(steps))
    steps += budget.run(lambda: confirmation_steps(pr, confirm, seed=seed,
                                                   n_samples=n_samples), list)
    return Proof(f"Score matching: ESM ⇔ ISM for {pr.model.name}", tuple(steps), CLAIM,
                 model=pr.model.name, data=pr.data_label,
                 summary=_summary(steps))


def confirmation_steps(pr, confirm, *, seed=0, n_samples=20_000) -> list[Step]:
    out = []
    if confirm == "none":
        return out
    cf = None
    if confirm in ("auto", "closed_form", "both"):
        cf = closed_form_step(pr)
        if cf is not None:
            out.append(cf)
    if confirm in ("monte_carlo", "both") or (confirm == "auto" and cf is None):
        mc = monte_carlo_step(pr, seed=seed, n_samples=n_samples)
        if mc is not None:
            out.append(mc)
    return out


def _summary(steps) -> str:
    status = weakest(s.status for s in steps)
    if status == Status.FAILED:
        failed = [s for s in steps if s.status == Status.FAILED]
        return ("The equivalence does not hold as stated: " +
                "; ".join(f"{s.title} ({s.key})" for s in failed[:4]) + ".")
    if status == Status.PROVEN:
        return "Every step is proven symbolically."
    premises = [s for s in steps if not s.key.startswith("confirm")]
    if weakest(s.status for s in premises) == Status.PROVEN:
        return ("Every premise is proven symbolically; the numerical confirmation is "
                f"{status.name} (as numerical evidence always is).")
    weak = [s.key for s in steps if s.status == status]
    return (f"The equivalence holds; the weakest steps are {status.name}: "
            f"{', '.join(weak[:6])}.")
