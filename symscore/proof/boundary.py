"""Boundary terms of the integration by parts: for each coordinate i and each
end of the data support, lim hᵢ·sᵢ·p = 0 (hᵢ = 1 for plain ISM), with the
other coordinates x₋ᵢ held fixed.

Methods, in order (the first that decides wins):

1. asymptotic majorant (:mod:`~symscore.proof.asymptotics`): log|hᵢsᵢp| ≤ a form
   tending to −∞, decided by SymPy's sign assumptions → PROVEN;
2. at a finite end, the exact leading term c·tᵖ (t = distance to the end):
   p > 0 → PROVEN; p = 0 → FAILED with the surviving term c; p < 0 or an
   undecidable sign → FAILED with the condition under which it would vanish;
3. ``sympy.limit`` under a time limit (small expressions only);
4. a numeric tail evaluation at the numeric parameters → CHECKED (or FAILED
   when the term visibly does not decay);
5. otherwise ASSUMED, stating the hypothesis.

>>> import symscore as ss
>>> from symscore.proof.pairing import pair
>>> [s.status.name for s in boundary_steps(pair(ss.families.exponential(dim=1)))]
['FAILED', 'PROVEN']
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..stable import LogSumExp, Sigmoid, Softplus
from .asymptotics import Y, TailAnalysis, dominance_lemma, leading_term, substitute_end
from .core import Status, Step
from .notation import Tex, cheap_to_expand, is_small
from .numeric import tail_values
from .timeout import call_with_timeout

__all__ = ["boundary_steps", "support_ends", "end_label", "boundary_limit"]

_T = sp.Symbol("t", positive=True)       # distance to a finite end, in leading terms
_YSHOW = sp.Symbol("y", positive=True)   # the tail variable, for display


def support_ends(interval):
    """[(value, side)]: side +1 = approached from above (a lower end), −1 from below."""
    return [(interval.start, 1), (interval.end, -1)]


def end_label(end) -> str:
    value, side = end
    if value == sp.oo:
        return "+oo"
    if value == -sp.oo:
        return "-oo"
    return f"{value}{'+' if side > 0 else '-'}"


def _limit_args(x, end):
    value, side = end
    return (x, value, "+" if side > 0 else "-") if value.is_finite else (x, value)


def elementary(expr):
    """Rewrite the stable primitives into elementary functions (for sympy.limit)."""
    return expr.replace(lambda e: isinstance(e, (LogSumExp, Softplus)),
                        lambda e: e.rewrite(sp.log)).replace(
        lambda e: isinstance(e, Sigmoid), lambda e: e.rewrite(sp.exp)).replace(
        lambda e: type(e).__name__ == "log1p", lambda e: sp.log(1 + e.args[0]))


def boundary_limit(factor, log_density, x, end, seconds: float = 2.0):
    """lim factor·exp(log_density) at ``end`` by ``sympy.limit`` (elementary
    rewrite, time-limited): the value, or None if SymPy did not finish/decide."""
    expr = elementary(factor * sp.exp(log_density))
    try:
        ok, value = call_with_timeout(lambda: sp.limit(expr, *_limit_args(x, end)), seconds)
    except (NotImplementedError, ValueError, TypeError, ZeroDivisionError,
            sp.PoleError):   # SymPy gave up: "depends on the sign of …" and similar
        return None
    if not ok or value is None or value.has(sp.Limit, sp.AccumBounds, sp.nan):
        return None
    return value


def _majorant(factor, log_density, x, end):
    T = TailAnalysis()
    forms = T._cross([T.mag_upper(substitute_end(factor, x, end)),
                      T.upper(substitute_end(log_density, x, end))])
    if forms is None:
        return None, None
    dirs = [f.direction() for f in forms]
    return forms, dirs


def pretty_exp(log_density):
    """exp(log p) written as a product of powers: Σ cₖ log gₖ + r ↦ Π gₖ^cₖ · e^r
    (loggamma shown as log Γ), for readable statements."""
    L = log_density.replace(sp.loggamma, lambda a: sp.log(sp.gamma(a)))
    factors, rest = [], []
    for term in sp.Add.make_args(L):
        c, f = term.as_independent(sp.log, as_Add=False)
        if isinstance(f, sp.log):
            factors.append(sp.Pow(f.args[0], c))
        else:
            rest.append(term)
    return sp.Mul(*factors) * sp.exp(sp.Add(*rest))


def _display_term(factor, log_density, names):
    if is_small(factor * log_density) and cheap_to_expand(factor * log_density):
        return factor * pretty_exp(log_density)
    return Tex(names)


def boundary_steps(pr, weights=None, *, seconds: float = 1.5, seed: int = 0,
                   key_prefix: str = "boundary") -> list[Step]:
    """One step per coordinate and end of the data support (see module docstring).
    ``weights`` (one expression per coordinate, in xᵢ) gives the weighted terms hᵢsᵢp."""
    model, data = pr.model, pr.data
    steps = []
    for i, x in enumerate(model.variables):
        h = sp.S.One if weights is None else sp.sympify(weights[i])
        factor = h * model.score[i]
        hname = "" if weights is None else rf"h_{{{i}}}(x_{{{i}}})\,"
        names = rf"{hname}s_{{\theta,{i}}}(x)\,p(x)"
        for end in support_ends(data.support[i]):
            steps.append(_one(pr, i, x, end, factor, names, h, seconds, seed, key_prefix,
                                  weights is not None))
    return steps


def _one(pr, i, x, end, factor, names, h, seconds, seed, prefix, weighted) -> Step:
    data = pr.data
    logp = data.log_density
    term = _display_term(factor, logp, names)
    lim = sp.Limit(term, *_limit_args(x, end))
    key = f"{prefix}[{i},{end_label(end)}]"
    where = (rf"$x_{{{i}}}\to{sp.latex(end[0])}$" if end[0].is_infinite else
             rf"$x_{{{i}}}\to {sp.latex(end[0])}^{{{'+' if end[1] > 0 else '-'}}}$")
    title = f"Boundary term, coordinate {i}, {where}"
    what = r"h_i s_i p" if weighted else r"s_i p"
    fixed = r" (the other coordinates held fixed)" if pr.model.dim > 1 else ""
    base = {"coordinate": i, "end": end_label(end)}

    # 1. asymptotic majorant
    forms, dirs = _majorant(factor, logp, x, end)
    if forms is not None and all(d == -1 for d in dirs):
        deg = max(f.degree() for f in forms)
        lemma, value = dominance_lemma(deg if deg > 0 else 0)
        shown = tuple(f.as_expr().xreplace({Y: _YSHOW}) for f in forms[:8])
        dist = "|x_i|" if end[0].is_infinite else r"1/|x_i-a|"
        return Step(key, title, sp.Eq(lim, 0, evaluate=False), Status.PROVEN,
                    "asymptotic majorant + symbolic limit",
                    rf"With $y = {dist}\to\infty${fixed}, exact bounds give "
                    rf"$\log|{what}| \le \max_k F_k(y) + O(1)$ with every $F_k\to-\infty$ "
                    r"(the sign of each leading coefficient is decided by SymPy from the "
                    r"parameter domains), and SymPy computes the dominating limit "
                    rf"${sp.latex(lemma)} = {sp.latex(value)}$. Hence the boundary term vanishes.",
                    {**base, "log_majorant_forms": shown, "n_forms": len(forms),
                     "lemma": sp.Eq(lemma, value, evaluate=False)})

    # 2. exact leading term at a finite end
    if end[0].is_finite:
        sub = {x: end[0] + end[1] * _T}
        lt = leading_term((factor * sp.exp(logp)).xreplace(sub), _T)
        if lt is not None:
            return _from_leading(key, title, lim, lt, x, end, base, what, fixed)

    # 3. sympy.limit, time-limited, on small expressions — unless the majorant only
    #    failed on undecidable signs (SymPy's limit then fails for the same reason)
    sign_bound = forms is not None and all(d in (-1, None) for d in dirs)
    if not sign_bound and is_small(factor * sp.exp(logp), 120):
        value = boundary_limit(factor, logp, x, end, seconds)
        if value is not None:
            ok = value == 0
            return Step(key, title, sp.Eq(lim, value, evaluate=False),
                        Status.PROVEN if ok else Status.FAILED, "sympy.limit",
                        ("SymPy computes the limit exactly" + fixed + ": " +
                         ("the boundary term vanishes." if ok else
                          "it does NOT vanish, so integration by parts leaves this term.")),
                        {**base, "limit": value})

    # 4. numeric tail evaluation
    undecided = {**base, "symbolic": "undecided (majorant signs or limit not decidable)"}
    if pr.numeric:
        return _numeric(pr, key, title, lim, factor, x, i, end, seed, undecided, what)
    return Step(key, title, sp.Eq(lim, 0, evaluate=False), Status.ASSUMED, "hypothesis",
                rf"Assumed: ${what}\to 0$ here{fixed}. SymPy could not decide it and no "
                "numeric parameter values were given to check it.", undecided)


def _tidy(expr):
    """Simplify a small coefficient (time-limited); leave big ones alone."""
    if not is_small(expr, 60):
        return expr
    expr = expr.replace(sp.exp, lambda a: pretty_exp(a))
    ok, value = call_with_timeout(lambda: sp.simplify(expr), 1.0)
    return value if ok else expr


def _from_leading(key, title, lim, lt, x, end, base, what, fixed) -> Step:
    coef, power = _tidy(lt[0]), lt[1]
    t = sp.Abs(x - end[0]) if end[1] < 0 else x - end[0]
    lead = coef * t**power
    ev = {**base, "leading_term": lead, "leading_power": power, "leading_coefficient": coef}
    if power.is_positive:
        return Step(key, title, sp.Eq(lim, 0, evaluate=False), Status.PROVEN,
                    "exact leading term", rf"Near the end{fixed}, ${what} \sim "
                    rf"{sp.latex(lead)}$ with a positive power, so it tends to $0$.", ev)
    if power.is_zero:
        return Step(key, title, sp.Eq(lim, coef, evaluate=False), Status.FAILED,
                    "exact leading term (limit)",
                    rf"The boundary term does not vanish{fixed}: ${what} \to "
                    rf"{sp.latex(coef)}$. Integration by parts leaves this term, so the ISM "
                    r"objective is not equivalent to ESM here.", {**ev, "surviving_term": coef})
    cond = sp.StrictGreaterThan(power, 0)
    if power.is_negative:
        why = rf"the term diverges like ${sp.latex(lead)}$"
    else:
        why = (rf"it vanishes only when ${sp.latex(cond)}$, which does not hold for every "
               r"parameter value in the domain")
    ratio = sp.Mul(lim.args[0], sp.Pow(lead, -1, evaluate=False), evaluate=False)
    return Step(key, title, sp.Eq(sp.Limit(ratio, *lim.args[1:]), 1, evaluate=False),
                Status.FAILED, "exact leading term",
                rf"Near the end{fixed}, ${what} \sim {sp.latex(lead)}$: {why}. "
                r"Integration by parts leaves a boundary term.",
                {**ev, "surviving_term": lead, "vanishes_iff": cond})


def _numeric(pr, key, title, lim, factor, x, i, end, seed, ev, what) -> Step:
    model, data = pr.model, pr.data
    D = model.dim
    rng = np.random.default_rng(seed)
    others = rng.standard_normal((5, D - 1)) if D > 1 else np.zeros((1, 0))
    for j in range(D - 1):
        k = j if j < i else j + 1
        sup = data.support[k]
        if sup.start.is_finite:
            others[:, j] = float(sup.start) + np.abs(others[:, j]) + 0.5
        elif sup.end.is_finite:
            others[:, j] = float(sup.end) - np.abs(others[:, j]) - 0.5
    log_abs = sp.log(sp.Abs(factor)) + data.log_density
    pos, vals = tail_values(log_abs, pr.args, pr.values, i, end, D, others)
    tol = 1e-10
    last = vals[-1]
    finite = np.all(~np.isnan(vals))
    decays = finite and np.all((last < np.log(tol)) | np.isneginf(last))
    slope = (vals[-1] - vals[-4]) / 3.0 if len(vals) >= 4 else np.zeros_like(last)
    num_ev = {**ev, "method_detail": "log|term| evaluated with numpy at growing distance",
              "positions": pos, "max_log_abs_term": [float(np.max(r)) for r in vals],
              "tolerance": tol, "seed": seed, "n_other_points": int(others.shape[0]),
              "theta": pr.theta, "theta_data": pr.theta_data}
    if decays:
        return Step(key, title, sp.Eq(lim, 0, evaluate=False), Status.CHECKED,
                    "numeric tail evaluation",
                    rf"SymPy could not decide the limit symbolically; at the numeric parameters "
                    rf"$|{what}|$ falls below {tol:g} along the coordinate at {len(others)} "
                    rf"points of the other coordinates (seed {seed}).", num_ev)
    if finite and np.all(np.abs(slope) < 0.05) and np.all(last > np.log(tol)):
        return Step(key, title, sp.Eq(lim, 0, evaluate=False), Status.FAILED,
                    "numeric tail evaluation",
                    rf"At the numeric parameters $|{what}|$ stays near "
                    rf"{float(np.exp(np.max(last))):.4g} and does not decay.", num_ev)
    return Step(key, title, sp.Eq(lim, 0, evaluate=False), Status.ASSUMED, "hypothesis",
                rf"Assumed: ${what}\to 0$. Neither SymPy nor the numeric tail evaluation "
                "was conclusive.", num_ev)
