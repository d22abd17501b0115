"""Global growth in x (all coordinates jointly) and moment orders of densities.

:func:`joint_degree` returns (k, slack) with |f(x)| ≤ C(1+‖x‖)^(k+ε) on ℝ^D
(ε only when ``slack``), from exact one-line rules: polynomial degree, sums and
products, softmax weights ≤ 1, sigmoid/tanh ≤ 1, softplus(z) ≤ |z| + log 2,
|log Σ exp(aₖ)| ≤ maxₖ|aₖ| + log K, and denominators c + Q with c > 0 and Q a
positive-definite quadratic (≥ c′(1+‖x‖)²).

:func:`moment_order` returns m (possibly ∞) with E‖x‖^k < ∞ for every k < m:
Gaussian-type tails (possibly a log-sum-exp of them, or plus terms of degree
≤ 1) have all moments; −γ·log(1 + Q/ν) tails have m = 2γ − D; separable
log-densities are analysed per coordinate.

>>> import symscore as ss
>>> d = ss.families.student_t(dim=2)
>>> joint_degree(d.score[0], d.variables)
(-1, False)
>>> moment_order(d)[0]
nu
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ..stable import LogSumExp, Sigmoid, Softplus
from .asymptotics import TailAnalysis, substitute_end
from .gaussian import is_negative_definite, quadratic_parts

__all__ = ["joint_degree", "moment_order", "lower_degree", "triangular_squares"]

_BOUNDED = (Sigmoid, sp.tanh, sp.sin, sp.cos, sp.atan, sp.erf, sp.sign)


class _Growth:
    def __init__(self, xs):
        self.xs = tuple(xs)
        self.xset = set(xs)
        self.memo: dict = {}

    def poly_degree(self, e):
        """Total degree if e is a polynomial in x (bottom-up, linear time), else None."""
        key = ("p", e)
        if key in self.memo:
            return self.memo[key]
        if not (e.free_symbols & self.xset):
            out = 0
        elif e in self.xset:
            out = 1
        elif e.is_Add:
            ds = [self.poly_degree(a) for a in e.args]
            out = None if None in ds else max(ds)
        elif e.is_Mul:
            ds = [self.poly_degree(a) for a in e.args]
            out = None if None in ds else sum(ds)
        elif e.is_Pow and e.exp.is_Integer and e.exp >= 0:
            d = self.poly_degree(e.base)
            out = None if d is None else d * int(e.exp)
        else:
            out = None
        self.memo[key] = out
        return out

    def degree(self, e):
        key = ("d", e)
        if key not in self.memo:
            self.memo[key] = self._degree(e)
        return self.memo[key]

    def _degree(self, e):
        pd = self.poly_degree(e)
        if pd is not None:
            return sp.Integer(pd), False
        if e.is_Add or e.is_Mul:
            parts = [self.degree(a) for a in e.args]
            if any(p is None for p in parts):
                return None
            ks = [k for k, _ in parts]
            slack = any(s for _, s in parts)
            if e.is_Add:
                top = max(ks, key=lambda k: float(k))
                return top, slack
            return sp.Add(*ks), slack
        if e.is_Pow:
            b, r = e.args
            if not (r.is_number and r.is_real):
                return None
            if r > 0:
                inner = self.degree(b)
                return None if inner is None else (inner[0] * r, inner[1])
            low = lower_degree(b, self.xs, self)
            return None if low is None else (low * r, False)
        if isinstance(e, sp.exp):
            return (sp.S.Zero, False) if self._softmax(e.args[0]) else None
        if isinstance(e, _BOUNDED):
            return sp.S.Zero, False
        if isinstance(e, Softplus):
            inner = self.degree(e.args[0])
            return None if inner is None else (max(inner[0], sp.S.Zero, key=float), inner[1])
        if isinstance(e, LogSumExp):
            parts = [self.degree(a) for a in e.args]
            if any(p is None for p in parts):
                return None
            return max((k for k, _ in parts), key=float), any(s for _, s in parts)
        if isinstance(e, sp.Abs):
            return self.degree(e.args[0])
        if isinstance(e, sp.log):
            g = e.args[0]
            if self.degree(g) is not None and lower_degree(g, self.xs, self) is not None:
                return sp.S.Zero, True
            return None
        if isinstance(e, log1p):
            g = e.args[0]
            if g.is_nonnegative and self.degree(g) is not None:
                return sp.S.Zero, True
            return None
        return None

    def _softmax(self, g) -> bool:
        for term in sp.Add.make_args(g):
            if term.is_Mul and len(term.args) == 2 and term.args[0] == -1 \
                    and isinstance(term.args[1], LogSumExp):
                lse = term.args[1]
                rest = g + lse
                if any(not ((rest - a).free_symbols & self.xset) for a in lse.args):
                    return True
        return False


def joint_degree(expr, xs):
    """(k, slack) with |expr| ≤ C(1+‖x‖)^(k[+ε]) on ℝ^D, or None (see module doc)."""
    return _Growth(xs).degree(sp.sympify(expr))


def triangular_squares(L, xs):
    """L = −Σ cⱼ gⱼ² + const with cⱼ > 0 and (gⱼ) a triangular polynomial map with
    constant non-zero diagonal (gⱼ = aⱼ x_{σ(j)} + hⱼ(earlier x)): True/None."""
    if len(xs) < 2:
        return None
    squares = []
    for term in sp.Add.make_args(L):
        if not (term.free_symbols & set(xs)):
            continue
        c, rest = term.as_independent(*xs, as_Add=False)
        if not (c.is_negative and rest.is_Pow and rest.exp == 2
                and rest.base.is_polynomial(*xs)):
            return None
        squares.append(rest.base)
    if len(squares) != len(xs):
        return None
    done: set = set()
    left = list(squares)
    while left:
        for g in left:
            new = [x for x in xs if x not in done and g.has(x)]
            if len(new) != 1:
                continue
            x = new[0]
            P = sp.Poly(g, x)
            if P.degree() == 1 and not (P.LC().free_symbols & set(xs)) and P.LC().is_zero is False:
                done.add(x)
                left.remove(g)
                break
        else:
            return None
    return True


def _pd_quadratic_plus_constant(b, xs):
    """b = c + Q(x) with c > 0 constant part and Q ≥ 0 … → (True if the quadratic
    part is positive definite, else False), or None if b is not of that form."""
    const, rest = b.as_independent(*xs, as_Add=True)
    if not (const.is_positive and (rest.is_nonnegative or rest == 0)):
        return None
    parts = quadratic_parts(b, xs)
    if parts is None:
        return False
    return is_negative_definite(-parts[0]) is True


def lower_degree(b, xs, growth=None):
    """m with |b| ≥ c(1+‖x‖)^m > 0 on ℝ^D (m ∈ {0, 2}), or None."""
    xs = tuple(xs)
    if not (b.free_symbols & set(xs)):
        return sp.S.Zero if b.is_zero is False else None
    pd = _pd_quadratic_plus_constant(b, xs)
    if pd is None:
        return None
    return sp.Integer(2) if pd else sp.S.Zero


def _gaussian_type(expr, xs, growth) -> bool:
    """expr = (quadratic with negative-definite quadratic part) + terms of degree ≤ 1."""
    poly, rest = [], []
    for t in sp.Add.make_args(expr):
        (poly if growth.poly_degree(t) is not None else rest).append(t)
    parts = quadratic_parts(sp.Add(*poly), xs)
    if parts is None or is_negative_definite(parts[0]) is not True:
        return False
    for t in rest:
        d = growth.degree(t)
        if d is None or float(d[0]) > 1:
            return False
    return True


def moment_order(density):
    """(m, reason): E‖x‖^k < ∞ for all k < m under ``density`` (m may be ∞), or None."""
    xs = density.variables
    xset = set(xs)
    growth = _Growth(xs)
    L = density.log_density
    xpart = sp.Add(*[t for t in sp.Add.make_args(L) if t.free_symbols & xset])
    if density.has_full_support:
        if isinstance(xpart, LogSumExp):
            if all(_gaussian_type(a, xs, growth) for a in xpart.args):
                return sp.oo, "log-sum-exp of Gaussian-type terms: every moment is finite"
        elif _gaussian_type(xpart, xs, growth):
            return sp.oo, "Gaussian-type tails: every moment is finite"
        power = _power_tail(xpart, xs)
        if power is not None:
            return power
        if triangular_squares(_positive_domains(density, xpart), xs):
            return sp.oo, ("negative squares of a triangular polynomial map: Gaussian after a "
                           "polynomial change of variables with polynomial inverse, so every "
                           "moment is finite")
    return _separable_order(density)


def _positive_domains(density, expr):
    pos = {p: sp.Dummy(p.name, positive=True) for p, d in zip(density.params, density.domains)
           if not p.is_positive and d.is_subset(sp.Interval.open(0, sp.oo))}
    return expr.xreplace(pos)


def _power_tail(xpart, xs):
    """xpart = −γ·log1p(Q/ν) or −γ·log(c + Q), Q a PD quadratic: m = 2γ − D."""
    c, f = xpart.as_independent(*xs, as_Add=False)
    if not (c.is_negative and isinstance(f, (log1p, sp.log))):
        return None
    inner = 1 + f.args[0] if isinstance(f, log1p) else f.args[0]
    if _pd_quadratic_plus_constant(inner, xs) is not True:
        return None
    gamma = -c
    return (sp.expand(2 * gamma - len(xs)),
            r"power-law tails $(1+Q)^{-\gamma}$ with $Q$ positive definite: "
            r"$\mathbb{E}\|x\|^k<\infty$ iff $k < 2\gamma - D$")


def _separable_order(density):
    xs = density.variables
    xset = set(xs)
    parts = {x: [] for x in xs}
    for t in sp.Add.make_args(density.log_density):
        fx = t.free_symbols & xset
        if len(fx) > 1:
            return None
        if fx:
            parts[fx.pop()].append(t)
    order = sp.oo
    for i, x in enumerate(xs):
        g = sp.Add(*parts[x])
        sup = density.support[i]
        for end in ((sup.start, 1), (sup.end, -1)):
            if end[0].is_finite:
                continue
            forms = TailAnalysis().upper(substitute_end(g, x, end))
            if forms is None:
                return None
            for f in forms:
                d = f.direction()
                if d == -1 and f.poly != 0:
                    continue
                if f.poly == 0 and d == -1:
                    order = sp.Min(order, -1 - f.alpha) if order != sp.oo else -1 - f.alpha
                    continue
                return None
    return order, "separable density, per-coordinate tails"
