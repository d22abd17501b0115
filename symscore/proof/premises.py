"""Premises every score-matching proof needs about a density p~ (model and data):

* **positivity** — p~ > 0 and finite on the open support, i.e. log p~ is real and
  finite there: every log / log1p / loggamma argument is positive, every
  fractional power has a non-negative base, every negative power a non-zero one
  (decided by SymPy with the support encoded in the symbols' assumptions);
* **normalisability** — Z(θ) = ∫ p~ dx < ∞, by a tail-growth argument:
  Gaussian-type log-densities (a negative-definite quadratic plus terms of degree
  ≤ 1, or a log-sum-exp of such), power tails −γ·log(c + Q) (finite iff 2γ > D),
  sums of negative squares of a triangular polynomial map (Rosenbrock's banana:
  a unit-Jacobian change of variables makes it Gaussian), and separable
  log-densities coordinate by coordinate (asymptotic forms in the tails, exact
  leading terms at finite ends). FAILED when a lower bound proves divergence,
  ASSUMED (with the reason) when nothing decides;
* **singular points** — where log p~ is finite but not smooth (a fractional power
  whose base can vanish, e.g. √(x² + y²) at the origin): listed for the
  differentiability step.

>>> import symscore as ss
>>> d = ss.Density.parse("-log(1 + x**2)/4", ["x"])
>>> normalisability_step(d, "data").status.name
'FAILED'
>>> positivity_step(ss.families.gaussian(dim=1), "model").status.name
'PROVEN'
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

from ..stable import LogSumExp, Sigmoid, Softplus
from .asymptotics import Y, TailAnalysis, leading_term, substitute_end
from .core import Status, Step
from .gaussian import is_negative_definite, quadratic_parts
from .growth import (_Growth, _gaussian_type, _pd_quadratic_plus_constant, _power_tail,
                     triangular_squares)
from .notation import Tex, cheap_to_expand
from .numeric import separable_terms

__all__ = ["positivity_step", "normalisability_step", "singular_sets", "support_assumptions",
           "premise_steps"]

_T = sp.Symbol("t", positive=True)
_YSHOW = sp.Symbol("y", positive=True)
#: functions smooth (C^∞) on all of ℝ
_ENTIRE = (sp.exp, sp.sin, sp.cos, sp.tanh, sp.sinh, sp.cosh, sp.atan, sp.erf, Softplus,
           LogSumExp, Sigmoid)


def support_assumptions(density):
    """{xᵢ: an expression in a positive Dummy covering the open support of xᵢ}
    (ℝ: xᵢ itself; (a, ∞): a + t; (−∞, b): b − t; (a, b): a + (b − a)·t/(1 + t))."""
    sub = {}
    for x, iv in zip(density.variables, density.support):
        a, b = iv.start, iv.end
        if a.is_infinite and b.is_infinite:
            continue
        t = sp.Dummy(f"t_{x.name}", positive=True)
        if b.is_infinite:
            sub[x] = a + t
        elif a.is_infinite:
            sub[x] = b - t
        else:
            sub[x] = a + (b - a) * t / (1 + t)
    return sub


def _with_domains(density, expr):
    """expr with parameters of positive domains replaced by positive symbols."""
    pos = {p: sp.Dummy(p.name, positive=True) for p, d in zip(density.params, density.domains)
           if not p.is_positive and d.is_subset(sp.Interval.open(0, sp.oo))}
    return expr.xreplace(pos)


def _conditions(density):
    """[(kind, sub-expression, requirement, decided)] for log p~ to be real, finite
    and smooth on the open support: requirement is a relation on the
    sub-expression's argument; decided is True / False / None."""
    xs = set(density.variables)
    sub = support_assumptions(density)
    out = []

    def decide(rel):
        return _with_domains(density, rel.xreplace(sub)) if sub else _with_domains(density, rel)

    for e in sp.preorder_traversal(density.log_density):
        if not (getattr(e, "free_symbols", set()) & xs):
            continue
        if isinstance(e, (sp.log, sp.loggamma)):
            g = e.args[0]
            out.append(("finite", e, sp.StrictGreaterThan(g, 0), decide(g).is_positive))
        elif isinstance(e, log1p):
            g = e.args[0]
            out.append(("finite", e, sp.StrictGreaterThan(g, -1), decide(1 + g).is_positive))
        elif e.is_Pow and e.base.free_symbols & xs:
            b, r = e.args
            if r.is_Integer and r.is_nonnegative:
                continue
            if r.is_Integer:            # negative integer power: b ≠ 0
                out.append(("finite", e, sp.Ne(b, 0), decide(b).is_nonzero))
            elif r.is_negative:         # b^(−r) with fractional r: b > 0
                out.append(("finite", e, sp.StrictGreaterThan(b, 0), decide(b).is_positive))
            else:                       # b^r, 0 < r ∉ ℤ: real iff b ≥ 0, smooth iff b > 0
                nonneg = decide(b).is_nonnegative
                out.append(("finite", e, sp.GreaterThan(b, 0), nonneg))
                if nonneg:
                    out.append(("smooth", e, sp.StrictGreaterThan(b, 0), decide(b).is_positive))
    return out


def singular_sets(density):
    """Sets {g = 0} inside the support where log p~ is finite but not smooth
    (a fractional power of a base that may vanish), as SymPy equations."""
    return tuple(dict.fromkeys(sp.Eq(rel.lhs, 0) for kind, _, rel, ok in _conditions(density)
                               if kind == "smooth" and ok is not True))


def _violation(density, values, rel_exprs, seed=0):
    """A point of the open support (and the parameter values) where log p~ is not
    real and finite, found by evaluating it on random points; or None."""
    if values is None:
        return None
    from .numeric import lambdify_numpy
    f = lambdify_numpy(list(density.variables) + list(density.params), [density.log_density])
    rng = np.random.default_rng(seed)
    D = density.dim
    pts = np.empty((400, D))
    for i, iv in enumerate(density.support):
        a, b = iv.start, iv.end
        z = rng.standard_normal(400) * 3
        if a.is_finite and b.is_finite:
            pts[:, i] = float(a) + float(b - a) * rng.random(400)
        elif a.is_finite:
            pts[:, i] = float(a) + np.abs(z)
        elif b.is_finite:
            pts[:, i] = float(b) - np.abs(z)
        else:
            pts[:, i] = z
    with np.errstate(all="ignore"):
        v = np.asarray(f(*pts.T.astype(complex), *[complex(t) for t in values])[0]) \
            * np.ones(len(pts))
    bad = ~np.isfinite(v) | (np.abs(np.imag(v)) > 1e-9 * (1 + np.abs(np.real(v))))
    if not bad.any():
        return None
    k = int(np.argmax(bad))
    return tuple(float(t) for t in pts[k])


def positivity_step(density, role: str, values=None) -> Step:
    """p~ > 0 and finite on the open support (``role``: "model" or "data")."""
    key = f"positivity[{role}]"
    title = f"Positivity of the {role} density on its support"
    stmt = sp.StrictLessThan(0, Tex(r"\tilde p(x;\theta) < \infty"), evaluate=False)
    conds = [c for c in _conditions(density) if c[0] == "finite"]
    bad = [c for c in conds if c[3] is False]
    open_ = [c for c in conds if c[3] is None]
    if not bad and not open_:
        return Step(key, title, stmt, Status.PROVEN, "sign assumptions on the support",
                    r"$\tilde p = e^{\log\tilde p}$ and $\log\tilde p$ is real and finite on "
                    r"the open support: every logarithm has a positive argument, every "
                    r"fractional power a non-negative base and every negative power a "
                    r"non-zero one (" + (f"{len(conds)} conditions, " if conds else "none "
                                         "needed, ") + r"decided by SymPy from the support "
                    r"and the parameter domains).",
                    {"conditions": tuple(c[2] for c in conds)})
    point = _violation(density, values, conds)
    if bad or point is not None:
        ev = {"violated": tuple(c[2] for c in bad)}
        if point is not None:
            ev.update(point=point, theta=tuple(values))
        where = (f" (e.g. at x = {point}, θ = {tuple(values)})" if point is not None else "")
        return Step(key, title, stmt, Status.FAILED, "sign assumptions / evaluation",
                    r"$\log\tilde p$ is NOT real and finite on the whole support" + where +
                    ": " + ", ".join(f"${sp.latex(c[2])}$" for c in bad[:3]) +
                    r" fails, so $\tilde p$ is not a positive density there.", ev)
    return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                r"Assumed: SymPy could not decide " +
                ", ".join(f"${sp.latex(c[2])}$" for c in open_[:3]) +
                r" on the support for every parameter value, so $\tilde p > 0$ and finite "
                r"there is a hypothesis.", {"undecided": tuple(c[2] for c in open_)})


# -- normalisability -------------------------------------------------------------------

def _xpart(density):
    xs = set(density.variables)
    return sp.Add(*[t for t in sp.Add.make_args(density.log_density) if t.free_symbols & xs])


def _gaussian_like(L, xs):
    g = _Growth(xs)
    if isinstance(L, LogSumExp):
        return all(_gaussian_type(a, xs, g) for a in L.args)
    return _gaussian_type(L, xs, g)


def _power_of_pd(L, xs):
    """L = −c·(a + Q)^k + const, c > 0, a > 0, Q positive definite, k ≥ 1: k, else None."""
    c, f = L.as_independent(*xs, as_Add=False)
    if not (c.is_negative and f.is_Pow and (f.exp - 1).is_nonnegative is True):
        return None
    return f.exp if _pd_quadratic_plus_constant(f.base, xs) is True else None


def _tail_verdict(g, x, end):
    """'finite' / 'infinite' / None for ∫ e^g at an infinite end."""
    T = TailAnalysis()
    up = T.upper(substitute_end(g, x, end))
    if up is not None and all((f.direction() == -1) if f.poly != 0 else
                              (f.alpha + 1).is_negative is True for f in up):
        return "finite", up
    low = T.lower(substitute_end(g, x, end))
    if low is not None and all((f.direction() == 1) if f.poly != 0 else
                               ((f.alpha + 1).is_positive is True or
                                ((f.alpha + 1).is_zero is True and not f.slack)) for f in low):
        return "infinite", low
    return None, None


def _separable(density, values):
    """Per-coordinate: (status, notes, evidence) or None when not separable."""
    xs = density.variables
    parts = separable_terms(density.log_density, xs)
    if parts is None:
        return None
    notes, open_ = [], []
    for i, x in enumerate(xs):
        g = parts[x]
        for end in ((density.support[i].start, 1), (density.support[i].end, -1)):
            if end[0].is_infinite:
                verdict, forms = _tail_verdict(g, x, end)
                label = f"x_{i}→{end[0]}"
                if verdict == "finite":
                    notes.append(f"{label}: log p̃ ≤ {_show(forms)} + O(1), integrable")
                elif verdict == "infinite":
                    return (Status.FAILED, [f"{label}: log p̃ ≥ {_show(forms)} + O(1) ≥ "
                                            f"−log|x| eventually: the integral diverges"],
                            {"coordinate": i, "end": str(end[0]),
                             "log_lower_bound": tuple(f.as_expr().xreplace({Y: _YSHOW})
                                                      for f in forms[:4])})
                else:
                    open_.append(label)
            else:
                lt = leading_term(sp.exp(g).xreplace({x: end[0] + end[1] * _T}), _T)
                label = f"x_{i}→{end[0]}{'+' if end[1] > 0 else '-'}"
                if lt is None:
                    open_.append(label)
                elif (lt[1] + 1).is_positive:
                    notes.append(f"{label}: p̃ ~ c·t^({lt[1]}), integrable")
                elif (lt[1] + 1).is_nonpositive:
                    return (Status.FAILED, [f"{label}: p̃ ~ c·t^({lt[1]}) with exponent ≤ −1: "
                                            "the integral diverges"],
                            {"coordinate": i, "end": str(end[0]), "leading_power": lt[1]})
                else:
                    open_.append(f"{label} (integrable iff {lt[1]} > −1)")
    if open_:
        return Status.ASSUMED, notes + [f"undecided at {', '.join(open_)}"], {}
    return Status.PROVEN, notes, {}


def _show(forms):
    return " or ".join(str(f.as_expr().xreplace({Y: _YSHOW})) for f in forms[:3])


def normalisability_step(density, role: str, values=None) -> Step:
    """Z(θ) = ∫ p~ dx < ∞ for every θ in the domain (see module docstring)."""
    key = f"normalisability[{role}]"
    title = f"Normalisability of the {role} density"
    stmt = sp.StrictLessThan(Tex(r"Z(\theta) = \int \tilde p(x;\theta)\,dx"), sp.oo,
                             evaluate=False)
    xs = density.variables
    L = _with_domains(density, _xpart(density))
    full = density.has_full_support
    sub_full = "" if full else r" (a bound on $\mathbb{R}^D$, so also on the support)"

    def proven(method, text, ev=None):
        return Step(key, title, stmt, Status.PROVEN, method, text + sub_full, ev or {})

    from .notation import is_small
    if _gaussian_like(L, xs) or (is_small(L, 200) and cheap_to_expand(L, 4)
                                 and _gaussian_like(sp.expand(L), xs)):
        return proven("Gaussian-type tails",
                      r"$\log\tilde p$ is a negative-definite quadratic plus terms of degree "
                      r"at most 1 (or a log-sum-exp of such), so $\log\tilde p \le "
                      r"-c\|x\|^2 + C$ with $c > 0$ and $Z(\theta) < \infty$")
    k = _power_of_pd(L, xs)
    if k is not None:
        return proven("power of a positive-definite quadratic",
                      rf"$\log\tilde p = -c\,(a + Q(x))^{{{sp.latex(k)}}}$ with $c, a > 0$, "
                      r"$Q$ positive definite and exponent at least 1, so "
                      r"$\log\tilde p \le -c'\|x\|^2 + C$ and $Z(\theta) < \infty$")
    power = _power_tail(L, xs)      # (2γ − D, its description) or None
    if power is not None:
        m = power[0]
        ev = {"integrable_iff": sp.StrictGreaterThan(m, 0)}
        if m.is_positive:
            return proven("power-law tails",
                          rf"$\tilde p = (c + Q)^{{-\gamma}}$ with $Q$ positive definite decays "
                          rf"like $\|x\|^{{-2\gamma}}$, integrable on $\mathbb{{R}}^D$ iff "
                          rf"$2\gamma - D = {sp.latex(m)} > 0$, which holds", ev)
        if full and m.is_nonpositive:
            return Step(key, title, stmt, Status.FAILED, "power-law tails",
                        rf"NOT normalisable: $\tilde p \ge c\,\|x\|^{{-2\gamma}}$ for large "
                        rf"$\|x\|$ with $2\gamma - D = {sp.latex(m)} \le 0$, so "
                        r"$\int\tilde p\,dx = \infty$: $\tilde p$ is not a density.", ev)
        if full and values is not None:
            mv = m.xreplace(dict(zip(density.params, [sp.Float(v) for v in values])))
            if mv.is_nonpositive:
                return Step(key, title, stmt, Status.FAILED, "power-law tails",
                            rf"NOT normalisable at the given parameters: $2\gamma - D = "
                            rf"{sp.latex(mv)} \le 0$ there.", {**ev, "theta": tuple(values)})
        return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                    rf"Assumed: $Z < \infty$ iff ${sp.latex(m)} > 0$, which SymPy cannot "
                    r"decide on the whole parameter domain.", ev)
    if triangular_squares(L, xs):
        return proven("triangular change of variables",
                      r"$\log\tilde p = -\sum_j c_j g_j(x)^2 + C$ with $c_j > 0$ and "
                      r"$u = g(x)$ a triangular polynomial map with constant non-zero "
                      r"diagonal: a diffeomorphism of $\mathbb{R}^D$ with constant Jacobian, "
                      r"so $Z = |\det|^{-1}\int e^{-\sum_j c_j u_j^2}du < \infty$")
    sep = _separable(density, values)
    if sep is not None:
        status, notes, ev = sep
        ev = {**ev, "checks": tuple(notes)}
        if status == Status.PROVEN:
            return Step(key, title, stmt, status, "per-coordinate tails and end points",
                        r"$\tilde p$ factorises over coordinates and every factor is "
                        r"integrable at both ends of its support (tails bounded by exact "
                        r"asymptotic forms, finite ends by the exact leading term): "
                        + "; ".join(notes) + ".", ev)
        if status == Status.FAILED:
            return Step(key, title, stmt, status, "per-coordinate tails and end points",
                        r"NOT normalisable: $\tilde p$ factorises over coordinates and "
                        + notes[0] + r", so $Z(\theta) = \infty$ and $\tilde p$ is not a "
                        r"density.", ev)
        return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                    "Assumed: " + "; ".join(notes) + ".", ev)
    return Step(key, title, stmt, Status.ASSUMED, "hypothesis",
                r"Assumed: no tail-growth bound $\log\tilde p \le -c\|x\|^\alpha + C$ (or "
                r"polynomial decay faster than $\|x\|^{-D}$) was found for this "
                r"log-density, so $Z(\theta) < \infty$ is a hypothesis.", {})


def premise_steps(pr) -> list[Step]:
    """Positivity and normalisability of the model (at symbolic θ; a numeric θ
    only serves to find counterexamples) and of the data."""
    return [positivity_step(pr.model, "model", pr.theta),
            positivity_step(pr.data, "data", pr.theta_data),
            normalisability_step(pr.model, "model", pr.theta),
            normalisability_step(pr.data, "data", pr.theta_data)]
