"""Normalisation of indexed SymPy expressions before they are lowered to loops.

The loop lowering (:mod:`.loops`) works on expressions built from ``Indexed``
entries of ``IndexedBase`` arrays (x, parameter groups), scalar Symbols, ``Sum``
over index ranges whose bounds are expressions in the dimension symbols
(D, K, ...) and elementwise functions. Before lowering, every expression is put
into a small canonical form:

* every ``Sum`` has one limit and a fresh integer bound index (nested sums for
  several limits), so one index name never stands for two ranges;
* a ``Sum`` of an ``Add`` is split into a sum of ``Sum``s, and the factors of a
  product that do not depend on the summation index are pulled out of it
  (Σₖ aᵢ·bᵢₖ = aᵢ·Σₖ bᵢₖ: the contraction nests the way a hand-written kernel
  would);
* ``KroneckerDelta(k, e)`` inside Σₖ substitutes k = e (with a range test kept
  unless e is known to lie in the summation range), elsewhere it is an
  equality test;
* ``Piecewise`` range guards such as ``(j >= 0) & (j <= D − 1)`` (left by
  SymPy's indexed differentiation) are decided from the known index ranges.

>>> import sympy as sp
>>> D = sp.Symbol("D", integer=True, positive=True)
>>> x, P = sp.IndexedBase("x"), sp.IndexedBase("P")
>>> i, j, k = sp.symbols("i j k", integer=True)
>>> ranges = {j: (sp.S.Zero, D - 1)}
>>> e = sp.Sum(x[i] * P[j, i] * x[j] * sp.KroneckerDelta(i, j), (i, 0, D - 1))
>>> normalize(e, ranges)
P[j, j]*x[j]**2
"""

from __future__ import annotations

import sympy as sp
from sympy.functions.special.tensor_functions import KroneckerDelta

from ..errors import CodegenError

__all__ = ["normalize", "index_symbols", "Ranges", "decide"]

Ranges = dict  # index Symbol -> (lo, hi), inclusive, SymPy integer expressions

def _fresh(name: str) -> sp.Symbol:
    return sp.Dummy(f"{name}", integer=True)


def index_symbols(expr, ranges) -> set:
    """Free index symbols of ``expr`` (those with a known range)."""
    return {s for s in expr.free_symbols if s in ranges}


def decide(cond, ranges):
    """True / False when ``cond`` follows from the index ranges, else ``cond``."""
    if cond in (sp.true, sp.false):
        return cond
    if isinstance(cond, sp.And):
        parts = [decide(c, ranges) for c in cond.args]
        if any(p == sp.false for p in parts):
            return sp.false
        rest = [p for p in parts if p != sp.true]
        return sp.And(*rest) if rest else sp.true
    if isinstance(cond, sp.Or):
        parts = [decide(c, ranges) for c in cond.args]
        if any(p == sp.true for p in parts):
            return sp.true
        rest = [p for p in parts if p != sp.false]
        return sp.Or(*rest) if rest else sp.false
    if isinstance(cond, sp.core.relational.Relational):
        # rewrite as d = lhs - rhs (op) 0 and bound d by interval arithmetic on indices
        d = sp.expand(cond.lhs - cond.rhs)
        lo, hi = _bounds(d, ranges)
        op = cond.rel_op
        if lo is None or hi is None:
            return cond
        for test, verdict in _TESTS.get(op, ()):
            if test(lo, hi) is True:  # the test proves the verdict
                return sp.true if verdict else sp.false
        return cond
    return cond


def _sign(e):
    """+1 / 0 / -1 when the sign of e is known (dimension symbols are positive)."""
    if e is None:
        return None
    if e.is_zero:
        return 0
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    if e.is_nonnegative:
        return 0.5
    if e.is_nonpositive:
        return -0.5
    return None


def _ge0(e):
    s = _sign(e)
    return None if s is None else s >= 0


def _gt0(e):
    s = _sign(e)
    return None if s is None or s in (0.5,) else s > 0


# each entry: (test(lo, hi) -> bool/None, which result means True)
_TESTS = {
    ">=": ((lambda lo, hi: _ge0(lo), True), (lambda lo, hi: _gt0(-hi), False)),
    ">": ((lambda lo, hi: _gt0(lo), True), (lambda lo, hi: _ge0(-hi), False)),
    "<=": ((lambda lo, hi: _ge0(-hi), True), (lambda lo, hi: _gt0(lo), False)),
    "<": ((lambda lo, hi: _gt0(-hi), True), (lambda lo, hi: _ge0(lo), False)),
    "==": ((lambda lo, hi: (lo == 0 and hi == 0) or None, True),
           (lambda lo, hi: _gt0(lo), False), (lambda lo, hi: _gt0(-hi), False)),
    "!=": ((lambda lo, hi: (lo == 0 and hi == 0) or None, False),
           (lambda lo, hi: _gt0(lo), True), (lambda lo, hi: _gt0(-hi), True)),
}


def _bounds(d, ranges):
    """(lower, upper) bound of the linear integer expression d over the index
    ranges (None when unknown); dimension symbols stay symbolic (positive)."""
    if not d.free_symbols & set(ranges):
        return d, d
    if not d.is_Add and not d.is_Mul and not d.is_Symbol:
        return None, None
    lo, hi = sp.S.Zero, sp.S.Zero
    for term in sp.Add.make_args(d):
        coeff, rest = term.as_independent(*ranges)
        if rest == 1:
            lo, hi = lo + term, hi + term
            continue
        if rest not in ranges or not coeff.is_number:
            return None, None
        a, b = ranges[rest]
        if coeff >= 0:
            lo, hi = lo + coeff * a, hi + coeff * b
        else:
            lo, hi = lo + coeff * b, hi + coeff * a
    return sp.expand(lo), sp.expand(hi)


def _in_range(e, lo, hi, ranges):
    c = decide(sp.And(sp.Ge(e, lo), sp.Le(e, hi)), ranges)
    return c


def normalize(expr, ranges: Ranges, sample=(), lower=()):
    """Canonical form of ``expr`` (see the module docstring). ``ranges`` maps the
    free index symbols to their ranges; it is extended in place with the fresh
    bound indices of every ``Sum``. ``sample``: the per-sample bases/symbols (x);
    with them two exact sum rewrites are enabled:

    * Σⱼ Σₖ A(k)·B(j,k) → Σₖ A(k)·Σⱼ B(j,k) when A does not depend on j (the
      inner sum may then be θ-only, e.g. ‖wₖ‖² in the ICA divergence);
    * Σₖ A(k)·Σᵢ B(i,k)·h(i) → Σᵢ h(i)·Σₖ A(k)·B(i,k) for θ-only A, B and a
      per-sample h (the θ-only contraction, e.g. LLᵀ, is then hoisted: one
      mat-vec per sample instead of two).

    ``lower``: bases of lower-triangular arrays (zero above the diagonal): a θ-only
    Σₖ with a factor L[a, k] runs over k ≤ a only (L[k, a]: k ≥ a), e.g. LLᵀ in
    D³/3 operations."""
    expr = sp.sympify(expr)
    global _SAMPLE, _LOWER
    old, _SAMPLE, _LOWER = (_SAMPLE, _LOWER), frozenset(sample), frozenset(lower)
    try:
        return _norm(expr, ranges)
    finally:
        _SAMPLE, _LOWER = old


_SAMPLE = frozenset()
_LOWER = frozenset()


def _triangle(inside, k, ranges):
    """Restrict k's range by a lower-triangular factor of a θ-only summand."""
    lo, hi = ranges[k]
    for f in inside:
        if f.is_Pow and f.exp.is_Integer and f.exp > 0:
            f = f.base
        if isinstance(f, sp.Indexed) and f.base in _LOWER and len(f.indices) >= 2:
            row, col = f.indices[-2], f.indices[-1]
            if col == k and k not in row.free_symbols:
                ranges[k] = (lo, sp.Min(hi, row))
                return
            if row == k and k not in col.free_symbols:
                ranges[k] = (sp.Max(lo, col), hi)
                return


def _is_sample(e) -> bool:
    for a in sp.preorder_traversal(e):
        if isinstance(a, sp.Indexed) and a.base in _SAMPLE:
            return True
        if isinstance(a, sp.Symbol) and a in _SAMPLE:
            return True
    return False


def _norm(e, ranges):
    if e.is_Atom or isinstance(e, sp.Indexed):
        return e
    if isinstance(e, sp.Sum):
        return _norm_sum(e, ranges)
    if isinstance(e, KroneckerDelta):
        a, b = (_norm(x, ranges) for x in e.args)
        c = decide(sp.Eq(a, b), ranges)
        if c == sp.true:
            return sp.S.One
        if c == sp.false:
            return sp.S.Zero
        return sp.Piecewise((sp.S.One, sp.Eq(a, b)), (sp.S.Zero, True))
    if isinstance(e, sp.Piecewise):
        pairs = []
        for val, cond in e.args:
            cond = decide(cond, ranges)
            if cond == sp.false:
                continue
            pairs.append((_norm(val, ranges), cond))
            if cond == sp.true:
                break
        if len(pairs) == 1 and pairs[0][1] == sp.true:
            return pairs[0][0]
        return sp.Piecewise(*pairs) if pairs else sp.S.NaN
    if isinstance(e, (sp.Derivative, sp.Integral)):
        raise CodegenError(f"cannot lower an unevaluated {type(e).__name__}: "
                           f"{sp.sstr(e)[:80]}")
    args = [(_norm(a, ranges) if isinstance(a, sp.Basic) and not isinstance(a, sp.Tuple)
             else a) for a in e.args]
    return e.func(*args)


def _limits(e):
    """[(k, lo, hi), ...] innermost first, checked."""
    out = []
    for lim in e.limits:
        if len(lim) != 3:
            raise CodegenError(f"a Sum needs explicit bounds (k, lo, hi): {sp.sstr(e)[:80]}")
        out.append(tuple(lim))
    return out


def _norm_sum(e, ranges):
    body = e.function
    for k, lo, hi in _limits(e):
        if hi.has(sp.oo) or lo.has(-sp.oo):
            raise CodegenError(f"Sum over {k} needs finite bounds: {sp.sstr(e)[:80]}")
        kk = _fresh(getattr(k, "name", "k"))
        ranges[kk] = (sp.sympify(lo), sp.sympify(hi))
        body = _sum1(body.xreplace({k: kk}), kk, ranges)
    return body


def _sum1(body, k, ranges):
    """Σ_k body over ranges[k], normalised."""
    body = _norm(body, ranges)
    lo, hi = ranges[k]
    if body == 0:
        return sp.S.Zero
    if body.is_Add:
        return sp.Add(*[_sum1(t, k, ranges) for t in body.args])
    if k not in body.free_symbols:
        return body * (hi - lo + 1)
    factors = sp.Mul.make_args(body)
    outside = [f for f in factors if k not in f.free_symbols]
    inside = [f for f in factors if k in f.free_symbols]
    # Kronecker delta over the summation index: substitute
    for f in inside:
        target = _delta_target(f, k)
        if target is not None:
            rest = sp.Mul(*[g for g in inside if g is not f]).xreplace({k: target})
            cond = _in_range(target, lo, hi, ranges)
            val = sp.Mul(*outside) * _norm(rest, ranges)
            if cond == sp.true:
                return val
            if cond == sp.false:
                return sp.S.Zero
            return sp.Piecewise((val, cond), (sp.S.Zero, True))
    inner = sp.Mul(*inside)
    if inner.is_Add:  # after pulling factors out, the rest may split again
        return sp.Mul(*outside) * sp.Add(*[_sum1(t, k, ranges) for t in inner.args])
    if _SAMPLE:
        alt = _interchange(inside, k, ranges)
        if alt is not None:
            return sp.Mul(*outside) * alt
        if _LOWER and not _is_sample(inner):
            _triangle(inside, k, ranges)
            lo, hi = ranges[k]
    return sp.Mul(*outside) * sp.Sum(inner, (k, lo, hi))


def _independent(lims, k, ranges):
    """No bound of ``lims`` depends on k, and k's range on none of their indices."""
    vs = {v for v, _, _ in lims}
    klo, khi = (sp.sympify(r) for r in ranges[k])
    if (klo.free_symbols | khi.free_symbols) & vs:
        return False
    return all(k not in (sp.sympify(a).free_symbols | sp.sympify(b).free_symbols)
               for _, a, b in lims)


def _interchange(inside, k, ranges):
    """The two sum rewrites of :func:`normalize` (None when neither applies)."""
    lo, hi = ranges[k]
    sums = [f for f in inside if isinstance(f, sp.Sum)]
    if len(inside) == 1 and sums:
        S = sums[0]
        lims = [tuple(l) for l in S.limits]
        if not _independent(lims, k, ranges):
            return None
        A = [f for f in sp.Mul.make_args(S.function) if k not in f.free_symbols]
        B = [f for f in sp.Mul.make_args(S.function) if k in f.free_symbols]
        if not any(not a.is_Number for a in A) or not B:
            return None
        body = sp.Mul(*A) * _sum1(sp.Mul(*B), k, ranges)
        for v, _, _ in lims:
            body = _sum1(body, v, ranges)
        return body
    if len(sums) != 1 or len(sums[0].limits) != 1:
        return None
    S = sums[0]
    A = [f for f in inside if f is not S]
    if not A or any(_is_sample(a) for a in A):
        return None
    (i, ilo, ihi), = S.limits
    if not _independent([(i, ilo, ihi)], k, ranges):
        return None
    g = sp.Mul.make_args(S.function)
    B = [f for f in g if not _is_sample(f)]
    h = [f for f in g if _is_sample(f)]
    if not h or any(k in f.free_symbols for f in h) or not any(k in f.free_symbols for f in B):
        return None
    hoisted = (set().union(*(a.free_symbols for a in A + B)) & set(ranges)) - {k}
    if len(hoisted) > 2:  # the θ-only contraction would be too large to store
        return None
    inner = _sum1(sp.Mul(*A) * sp.Mul(*B), k, ranges)
    return _sum1(sp.Mul(*h) * inner, i, ranges)


def _delta_target(f, k):
    """e when f is KroneckerDelta(k, e) or Piecewise((1, Eq(k, e)), (0, True))."""
    if isinstance(f, KroneckerDelta):
        a, b = f.args
    elif (isinstance(f, sp.Piecewise) and len(f.args) == 2 and f.args[0][0] == 1
          and f.args[1] == (0, True) and isinstance(f.args[0][1], sp.Eq)):
        a, b = f.args[0][1].args
    else:
        return None
    if a == k and k not in b.free_symbols:
        return b
    if b == k and k not in a.free_symbols:
        return a
    sol = sp.solve(sp.Eq(a, b), k) if k in (a - b).free_symbols else []
    if len(sol) == 1 and sol[0].is_integer is not False:
        s = sol[0]
        if (a - b).diff(k) in (1, -1):
            return s
    return None
