"""Asymptotic bounds along one coordinate, with the other coordinates held fixed.

Tails: substitute xᵢ = ±y (or xᵢ = a ± 1/y at a finite end a) and let y → +∞.
A :class:`Form` is an asymptotic expression P(y) + α·log y + O(1) (P a
polynomial without constant term, plus an o(log y) slack when ``slack``).
Bounds are tuples of forms:

* ``upper(e)``: e ≤ max over the forms (+O(1));   ``lower(e)``: e ≥ min over them;
* ``mag_upper(e)``: log|e| ≤ max …;                ``mag_lower(e)``: log|e| ≥ min …

derived by exact rules: polynomials, sums and products, powers, exp/log,
log Σ exp ≤ max + log K, softmax weights e^{aₖ − LSE(a)} ≤ 1, softplus(z) ≤ |z|+log 2,
sigmoid ≤ 1, …. Each rule is a one-line inequality, so a bound that tends to
−∞ (leading coefficient negative, decided by SymPy's assumptions) proves the
limit of the bounded expression is 0 (lemma: y^a·e^{−c yⁿ} → 0, c > 0, n ≥ 1,
computed by ``sympy.limit`` once in :func:`dominance_lemma`). ``None`` means
"no bound found" — callers fall back to other methods.

Near a finite end, :func:`leading_term` gives the exact leading behaviour
c·tᵖ (t → 0⁺), which is what a FAILED boundary step shows.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True); c = sp.Symbol("c", positive=True)
>>> T = TailAnalysis()
>>> T.upper((-c * x**2 + x).subs(x, Y))[0].poly == -c * Y**2 + Y
True
>>> T.mag_upper((x**3 / (1 + x**2)).subs(x, Y))[0].alpha
1
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ..stable import LogSumExp, Sigmoid, Softplus
from .notation import cheap_to_expand

__all__ = ["Y", "Form", "TailAnalysis", "leading_term", "dominance_lemma", "substitute_end"]

#: the tail variable, y → +∞
Y = sp.Dummy("y", positive=True)
_C = sp.Dummy("C", positive=True)   # an unknown positive constant in crude bounds

_BOUNDED = (Sigmoid, sp.tanh, sp.sin, sp.cos, sp.atan, sp.erf, sp.sign)


@dataclass(frozen=True)
class Form:
    """P(y) + α·log y + O(1) (+ o(log y) if ``slack``)."""

    poly: sp.Expr = sp.S.Zero
    alpha: sp.Expr = sp.S.Zero
    slack: bool = False

    def __add__(self, other: "Form") -> "Form":
        return Form(sp.expand(self.poly + other.poly), sp.expand(self.alpha + other.alpha),
                    self.slack or other.slack)

    def scale(self, c) -> "Form":
        return Form(sp.expand(c * self.poly), sp.expand(c * self.alpha), self.slack)

    def as_expr(self) -> sp.Expr:
        return self.poly + self.alpha * sp.log(Y)

    def direction(self) -> int | None:
        """+1 (→ +∞), −1 (→ −∞), 0 (bounded) or None (undecided)."""
        if self.poly != 0:
            lc = sp.Poly(self.poly, Y).LC()
            return 1 if lc.is_positive else -1 if lc.is_negative else None
        a = self.alpha
        if a.is_positive:
            return 1
        if a.is_negative:
            return -1
        if a.is_zero and not self.slack:
            return 0
        return None

    def degree(self) -> int:
        return sp.Poly(self.poly, Y).degree() if self.poly != 0 else 0


ZERO = Form()


def _dedupe(forms):
    return tuple(dict.fromkeys(forms))


class TailAnalysis:
    """Bounds of expressions in ``Y`` as Y → +∞ (see module docstring).

    Results are memoised per instance (one instance per boundary/moment question)."""

    def __init__(self, max_forms: int = 96):
        self.max_forms = max_forms
        self._memo: dict = {}

    # -- combinators ---------------------------------------------------------------
    def _cross(self, bounds):
        acc = (ZERO,)
        for b in bounds:
            if b is None:
                return None
            acc = _dedupe(a + f for a in acc for f in b)
            if len(acc) > self.max_forms:
                return None
        return acc

    def _union(self, *bounds):
        if any(b is None for b in bounds):
            return None
        out = _dedupe(f for b in bounds for f in b)
        return out if len(out) <= self.max_forms else None

    @staticmethod
    def _scale(bound, c):
        return None if bound is None else _dedupe(f.scale(c) for f in bound)

    @staticmethod
    def _poly_form(e):
        if not e.is_polynomial(Y) or not cheap_to_expand(e):
            return None
        coeffs: dict[int, list] = {}
        for term in sp.Add.make_args(sp.expand(e)):   # cheaper than Poly with symbolic coeffs
            c, r = term.as_independent(Y, as_Add=False)
            k = 0 if r == 1 else 1 if r == Y else int(r.exp)
            coeffs.setdefault(k, []).append(c)
        return Form(sp.Add(*[sp.Add(*cs) * Y**k for k, cs in coeffs.items() if k > 0]),
                    sp.S.Zero)

    def _cached(self, kind, e, fn):
        key = (kind, e)
        if key not in self._memo:
            self._memo[key] = fn(e)
        return self._memo[key]

    # -- real-valued bounds -------------------------------------------------------------
    def upper(self, e):
        return self._cached("u", e, self._upper)

    def lower(self, e):
        return self._cached("l", e, self._lower)

    def _upper(self, e):
        if Y not in e.free_symbols:
            return (ZERO,)
        pf = self._poly_form(e)
        if pf is not None:
            return (pf,)
        if e.is_Add:
            return self._cross([self.upper(a) for a in e.args])
        if e.is_Mul:
            c, r = e.as_independent(Y, as_Add=False)
            if c != 1 and c.is_positive:
                return self._scale(self.upper(r), c)
            if c != 1 and c.is_negative:
                return self._scale(self.lower(r), c)
            if c != 1 and self._exact(r) is not None:   # r = F(y) + O(1) exactly
                return (self._exact(r).scale(c),)
            return self._upper_from_magnitude(e)
        if isinstance(e, sp.log):
            return self.mag_upper(e.args[0])
        if isinstance(e, log1p):
            return self.mag_upper(1 + e.args[0])
        if isinstance(e, Softplus):
            return self._union(self.upper(e.args[0]), (ZERO,))
        if isinstance(e, LogSumExp):
            return self._union(*[self.upper(a) for a in e.args])
        if isinstance(e, _BOUNDED):
            return (ZERO,)
        if isinstance(e, sp.Abs):
            return self._abs_poly(e.args[0]) or self._upper_from_magnitude(e)
        return self._upper_from_magnitude(e)

    def _exact(self, r):
        """The single form F with r = F(y) + O(1) when upper and lower bounds agree."""
        up, low = self.upper(r), self.lower(r)
        if up is not None and low is not None and len(up) == 1 and up == low \
                and not up[0].slack:
            return up[0]
        return None

    def _abs_poly(self, g):
        """|g| = ±g eventually, for a polynomial g whose leading sign is known."""
        if not g.is_polynomial(Y) or Y not in g.free_symbols or not cheap_to_expand(g):
            return None
        lc = sp.Poly(g, Y).LC()
        if lc.is_positive:
            return (self._poly_form(g),)
        if lc.is_negative:
            return (self._poly_form(-g),)
        return None

    def _lower(self, e):
        if Y not in e.free_symbols:
            return (ZERO,)
        pf = self._poly_form(e)
        if pf is not None:
            return (pf,)
        if e.is_Add:
            return self._cross([self.lower(a) for a in e.args])
        if e.is_Mul:
            c, r = e.as_independent(Y, as_Add=False)
            if c != 1 and c.is_positive:
                return self._scale(self.lower(r), c)
            if c != 1 and c.is_negative:
                return self._scale(self.upper(r), c)
            if c != 1 and self._exact(r) is not None:
                return (self._exact(r).scale(c),)
            return self._lower_from_magnitude(e)
        if isinstance(e, sp.log):
            return self.mag_lower(e.args[0])
        if isinstance(e, log1p):
            g = e.args[0]
            low = self.mag_lower(g) if g.is_nonnegative else None
            if low is not None and all(f.direction() == 1 for f in low):
                return low
            return (ZERO,) if g.is_nonnegative else None
        if isinstance(e, Softplus):
            low = self.lower(e.args[0])
            if low is not None and all(f.direction() == 1 for f in low):
                return low
            return (ZERO,)
        if isinstance(e, LogSumExp):
            for a in e.args:
                low = self.lower(a)
                if low is not None:
                    return low
            return None
        if isinstance(e, _BOUNDED):
            return (ZERO,)
        if isinstance(e, sp.Abs):
            return self._abs_poly(e.args[0]) or (ZERO,)
        return self._lower_from_magnitude(e)

    def _power_growth(self, e):
        """|e| ≤ C·yⁿ: returns n (an int ≥ 0) or None."""
        mag = self.mag_upper(e)
        if mag is None or any(f.poly != 0 for f in mag):
            return None
        top = 0
        for f in mag:
            if f.direction() in (-1, 0):
                continue
            if not (f.alpha.is_number and f.alpha.is_real):
                return None
            top = max(top, int(sp.ceiling(f.alpha + (sp.Rational(1, 2) if f.slack else 0))))
        return top

    def _upper_from_magnitude(self, e):
        n = self._power_growth(e)
        if n is None:
            return None
        return (ZERO,) if n == 0 else (Form(_C * Y**n),)

    def _lower_from_magnitude(self, e):
        if e.is_nonnegative:
            return (ZERO,)
        n = self._power_growth(e)
        if n is None:
            return None
        return (ZERO,) if n == 0 else (Form(-_C * Y**n),)

    # -- bounds on log|e| -----------------------------------------------------------------
    def mag_upper(self, e):
        return self._cached("mu", e, self._mag_upper)

    def mag_lower(self, e):
        return self._cached("ml", e, self._mag_lower)

    def _mag_upper(self, e):
        if Y not in e.free_symbols:
            return (ZERO,)
        if e.is_polynomial(Y) and cheap_to_expand(e):
            return (Form(sp.S.Zero, sp.Integer(sp.degree(e, Y))),)
        if e.is_Add:
            return self._union(*[self.mag_upper(a) for a in e.args])
        if e.is_Mul:
            return self._cross([self.mag_upper(a) for a in e.args])
        if e.is_Pow:
            b, r = e.args
            if Y in r.free_symbols:
                return None
            if r.is_positive:
                return self._scale(self.mag_upper(b), r)
            if r.is_negative:
                return self._scale(self.mag_lower(b), r)
            return None
        if isinstance(e, sp.exp):
            return (ZERO,) if _is_softmax_exponent(e.args[0]) else self.upper(e.args[0])
        if isinstance(e, (sp.log, log1p)):
            g = e.args[0] if isinstance(e, sp.log) else 1 + e.args[0]
            up, low = self.mag_upper(g), self.mag_lower(g)
            if low is None and isinstance(e, log1p) and e.args[0].is_nonnegative:
                low = (ZERO,)   # log(1 + g) ≥ 0
            if up is None or low is None:
                return None
            if all(f.poly == 0 for f in up + low):
                return (Form(sp.S.Zero, sp.S.Zero, slack=True),)   # |log g| = O(log y)
            return (Form(sp.S.Zero, sp.Integer(max(f.degree() for f in up + low))),)
        if isinstance(e, Softplus):
            return self._union(self.mag_upper(e.args[0]), (ZERO,))
        if isinstance(e, LogSumExp):
            return self._union(*[self.mag_upper(a) for a in e.args])
        if isinstance(e, _BOUNDED):
            return (ZERO,)
        if isinstance(e, sp.Abs):
            return self.mag_upper(e.args[0])
        return None

    def _mag_lower(self, e):
        if Y not in e.free_symbols:
            return (ZERO,) if e.is_zero is False else None
        if e.is_polynomial(Y) and cheap_to_expand(e):
            P = sp.Poly(e, Y)
            return (Form(sp.S.Zero, sp.Integer(P.degree())),) if P.LC().is_zero is False else None
        if e.is_Mul:
            return self._cross([self.mag_lower(a) for a in e.args])
        if e.is_Pow:
            b, r = e.args
            if Y in r.free_symbols:
                return None
            if r.is_positive:
                return self._scale(self.mag_lower(b), r)
            if r.is_negative:
                return self._scale(self.mag_upper(b), r)
            return None
        if isinstance(e, sp.exp):
            return self.lower(e.args[0])
        if isinstance(e, (Sigmoid, Softplus)):
            low = self.lower(e.args[0])
            return None if low is None else self._union(low, (ZERO,))
        if e.is_Add:
            terms = e.args
            if all(t.is_positive for t in terms) or all(t.is_negative for t in terms):
                for t in terms:   # |Σ tⱼ| ≥ |tⱼ| when all tⱼ share a sign
                    low = self.mag_lower(t)
                    if low is not None:
                        return low
            return None
        if isinstance(e, sp.Abs):
            return self.mag_lower(e.args[0])
        return None


def _is_softmax_exponent(g) -> bool:
    """g = aₖ − LSE(a₁, …, a_K) + c with aₖ among the arguments and c free of y
    (SymPy pulls log-constants out of exp), so e^g ≤ e^c = O(1)."""
    for term in sp.Add.make_args(g):
        if term.is_Mul and len(term.args) == 2 and term.args[0] == -1 \
                and isinstance(term.args[1], LogSumExp):
            lse = term.args[1]
            rest = g + lse
            if any(Y not in (rest - a).free_symbols for a in lse.args):
                return True
    return False


def substitute_end(expr, x, end):
    """expr with x moved to an end of its support, as a function of ``Y`` → +∞:
    +∞: x = y; −∞: x = −y; finite a approached from above/below: x = a ± 1/y.
    ``end`` is (value, side) with side +1 (approach from above) or −1."""
    value, side = end
    if value == sp.oo:
        return expr.xreplace({x: Y})
    if value == -sp.oo:
        return expr.xreplace({x: -Y})
    return expr.xreplace({x: value + side / Y})


@lru_cache(maxsize=None)
def dominance_lemma(degree: int):
    """lim_{y→∞} y^a e^{−c yⁿ} = 0 for every real a and c > 0, by ``sympy.limit``.

    Returns (the limit expression, its value). Lower-order terms of a
    polynomial P with negative leading coefficient −c are absorbed since
    P(y) ≤ −(c/2) yⁿ for large y.
    """
    y = sp.Symbol("y", positive=True)
    a = sp.Symbol("a", real=True)
    c = sp.Symbol("c", positive=True)
    expr = y**a * sp.exp(-c * y**degree) if degree > 0 else y**(-a**2 - 1)
    value = sp.limit(expr, y, sp.oo)
    return sp.Limit(expr, y, sp.oo), value


# -- exact leading behaviour near a finite end: e ~ c·tᵖ as t → 0⁺ --------------------

def leading_term(e, t):
    """(c, p) with e ~ c·tᵖ as t → 0⁺ (t a positive symbol), or None if the rules
    do not apply (logarithmic factors, essential singularities, cancellations
    SymPy cannot decide). The coefficient c may vanish for special parameter
    values; callers state that."""
    if t not in e.free_symbols:
        return (e, sp.S.Zero) if e.is_zero is not True else None
    if e == t:
        return (sp.S.One, sp.S.One)
    if e.is_Mul:
        coef, power = sp.S.One, sp.S.Zero
        for f in e.args:
            lt = leading_term(f, t)
            if lt is None:
                return None
            coef, power = coef * lt[0], power + lt[1]
        return coef, sp.expand(power)
    if e.is_Pow:
        b, r = e.args
        if t in r.free_symbols:
            return None
        lt = leading_term(b, t)
        return None if lt is None else (lt[0]**r, sp.expand(lt[1] * r))
    if e.is_Add:
        return _leading_of_sum([leading_term(a, t) for a in e.args])
    if isinstance(e, sp.exp):
        coef, power = sp.S.One, sp.S.Zero
        for term in sp.Add.make_args(sp.expand_log(sp.expand(e.args[0]), force=False)):
            c, rest = term.as_independent(t, as_Add=False)
            if rest == 1:
                coef *= sp.exp(term)
            elif isinstance(rest, sp.log) and rest.args[0] == t:
                power += c
            elif isinstance(rest, (sp.log, log1p)) and leading_term(
                    rest.args[0] if isinstance(rest, sp.log) else 1 + rest.args[0], t):
                # e^{c·log G} = G^c: the leading term of G, raised to c
                g = leading_term(rest.args[0] if isinstance(rest, sp.log)
                                 else 1 + rest.args[0], t)
                if g[0].is_positive is not True and not g[1].is_zero:
                    return None
                coef *= g[0]**c
                power += c * g[1]
            else:
                lt = leading_term(term, t)
                if lt is None:
                    return None
                if lt[1].is_positive:
                    continue            # term → 0: the factor e^term → 1
                if lt[1].is_zero:
                    coef *= sp.exp(lt[0])
                else:
                    return None         # essential singularity or undecided
        return coef, sp.expand(power)
    if isinstance(e, log1p):
        lt = leading_term(e.args[0], t)
        if lt is not None and lt[1].is_positive:      # log1p(u) ~ u as u → 0
            return lt
        return None
    if isinstance(e, sp.log):
        lt = leading_term(e.args[0], t)
        if lt is not None and lt[1].is_zero and sp.log(lt[0]).is_zero is False:
            return sp.log(lt[0]), sp.S.Zero
        return None
    if isinstance(e, sp.Function) and len(e.args) == 1:
        inner = leading_term(e.args[0], t)
        if inner is not None and inner[1].is_positive:   # argument → 0: continuous there
            value = e.func(0)
            if value.is_zero is False and value.is_finite:
                return value, sp.S.Zero
        return None
    return None


def _leading_of_sum(parts):
    if any(p is None for p in parts):
        return None
    groups: list[list] = []
    for c, p in parts:
        for g in groups:
            if (g[0][1] - p).is_zero:
                g.append((c, p))
                break
        else:
            groups.append([(c, p)])

    def before(a, b):   # a's power strictly below b's
        d = (b[0][1] - a[0][1])
        return d.is_positive

    remaining = groups[:]
    while remaining:
        lowest = [g for g in remaining
                  if all(g is h or before(g, h) for h in remaining)]
        if len(lowest) != 1:
            return None   # powers not comparable
        g = lowest[0]
        coef = sp.Add(*[c for c, _ in g])
        if sp.expand(coef) == 0:
            remaining.remove(g)
            continue
        return coef, g[0][1]
    return None
