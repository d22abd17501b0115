"""Exact derivatives of index expressions (``IndexedBase`` / ``Sum``), D-free.

SymPy differentiates ``Sum``/``Indexed`` expressions itself: ∂x[i]/∂x[j] is
``KroneckerDelta(i, j)``. It leaves ``Sum(KroneckerDelta(i, j)·f(i), (i, 0, D−1))``
unevaluated (or, with ``doit``, wrapped in a ``Piecewise`` range guard
``0 ≤ j ≤ D−1``). :func:`contract` removes them: Σᵢ δ(i, e)·f(i) = f(e) whenever e
is known to lie in the summation range — the free indices and the dummies of the
enclosing sums carry their ranges, so the guard is *proved* true and dropped,
never assumed. A Sum whose summand does not depend on its index becomes
(hi − lo + 1)·summand. Nothing is expanded into D terms.

>>> import sympy as sp
>>> x, mu = sp.IndexedBase("x", real=True), sp.IndexedBase("mu", real=True)
>>> i, j = sp.symbols("i j", integer=True)
>>> D = sp.Symbol("D", integer=True, positive=True)
>>> logp = -sp.Sum((x[i] - mu[i])**2, (i, 0, D - 1)) / 2
>>> s = derivative(logp, x[j], {j: (0, D - 1)})
>>> s
mu[j] - x[j]
>>> derivative(s, x[j], {j: (0, D - 1)})
-1
"""

from __future__ import annotations

import sympy as sp

from ..errors import SymscoreError

__all__ = ["contract", "derivative", "directional_derivative", "StructureError"]


class StructureError(SymscoreError, ValueError):
    """A structured (index) expression could not be handled."""


def _within(rng, lo, hi) -> bool:
    """Whether an index range (a, b) lies inside [lo, hi] (decided, not assumed)."""
    a, b = rng
    return bool(sp.simplify(a - lo) >= 0) and bool(sp.simplify(hi - b) >= 0)


def _index_range(e, ranges):
    """(lo, hi) of an integer index expression e: a known index (free or dummy of an
    enclosing Sum), or None when unknown."""
    if e in ranges:
        return ranges[e]
    if e.is_Integer:
        return (e, e)
    return None


def _delta_partner(factor, i):
    """For a KroneckerDelta(i, e) / (e, i) factor with e free of i: e, else None."""
    if isinstance(factor, sp.KroneckerDelta):
        a, b = factor.args
        if a == i and not b.has(i):
            return b
        if b == i and not a.has(i):
            return a
    return None


def _terms(f, i):
    """f as a list of additive terms, distributing products over sums only where a
    KroneckerDelta in the summation index ``i`` sits inside (no blind expansion)."""
    out = []
    for t in sp.Add.make_args(f):
        factors = sp.Mul.make_args(t)
        for n, fac in enumerate(factors):
            if isinstance(fac, sp.Add) and any(_delta_partner(g, i) is not None
                                               for a in fac.args for g in sp.Mul.make_args(a)):
                rest = sp.Mul(*(factors[:n] + factors[n + 1:]))
                out += _terms(sp.Add(*[rest * a for a in fac.args]), i)
                break
        else:
            out.append(t)
    return out


def _subs_free(expr, i, e):
    """expr with the FREE occurrences of the index i replaced by e: sums and indexed
    log-sum-exps that bind i themselves are left alone (no capture)."""
    from .lse import IndexedLogSumExp
    if expr == i:
        return e
    if not expr.args or not expr.has(i):
        return expr
    if isinstance(expr, sp.Sum) and any(lim[0] == i for lim in expr.limits):
        return expr
    if isinstance(expr, IndexedLogSumExp) and expr.args[1] == i:
        return expr
    if isinstance(expr, sp.Indexed):
        return expr.xreplace({i: e})
    return rebuild(expr, [_subs_free(a, i, e) for a in expr.args])


def _contract_sum(summand, i, lo, hi, ranges):
    inner = dict(ranges)
    inner[i] = (lo, hi)
    summand = _contract(summand, inner)
    kept, done = [], []
    for t in _terms(summand, i):
        if t == 0:
            continue
        if not t.has(i):
            # n·log(y) is left as a sum: inside an exponent SymPy would turn it into yⁿ
            done.append(sp.Sum(t, (i, lo, hi)) if t.has(sp.log) else (hi - lo + 1) * t)
            continue
        for fac in sp.Mul.make_args(t):
            e = _delta_partner(fac, i)
            if e is None:
                continue
            rng = _index_range(e, ranges)
            if rng is None or not _within(rng, lo, hi):
                raise StructureError(f"cannot remove the range guard of {fac}: the range of "
                                     f"{e} is not known to lie in [{lo}, {hi}]")
            done.append(_subs_free(t / fac, i, e))
            break
        else:
            kept.append(t)
    for t in kept:  # factors free of i move out of the Sum (exact; exposes deltas)
        inside, outside = [], []
        for f in sp.Mul.make_args(t):
            (inside if f.has(i) else outside).append(f)
        done.append(sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), (i, lo, hi)))
    return sp.Add(*done)


def _contract(expr, ranges):
    if not expr.args or expr.is_Atom or isinstance(expr, sp.Indexed):
        return expr
    if isinstance(expr, sp.Sum):
        body = expr.function
        limits = list(expr.limits)
        # innermost limit first: Sum(f, (i, ..), (k, ..)) = Σ_k Σ_i f
        for (i, lo, hi) in limits[:-1]:
            body = sp.Sum(body, (i, lo, hi))
        i, lo, hi = limits[-1]
        if len(limits) > 1:
            inner = dict(ranges)
            inner[i] = (lo, hi)
            body = _contract(body, inner)
        return _contract_sum(body, i, lo, hi, ranges)
    if isinstance(expr, sp.Piecewise):
        raise StructureError(f"unexpected Piecewise in an index expression: {expr}")
    from .lse import IndexedLogSumExp
    if isinstance(expr, IndexedLogSumExp):
        body, k, lo, hi = expr.args
        inner = dict(ranges)
        inner[k] = (lo, hi)
        new = _contract(body, inner)
        return expr if new is body else expr.func(new, k, lo, hi)
    new = [_contract(a, ranges) for a in expr.args]
    if all(a is b for a, b in zip(new, expr.args)):
        return expr
    return rebuild(expr, new)


def rebuild(expr, args):
    """expr.func(*args), keeping an exp unevaluated (SymPy would pull n·log y terms out
    of the exponent as yⁿ, which overflows where the exponent itself does not)."""
    if isinstance(expr, sp.exp):
        return sp.exp(args[0], evaluate=False)
    return expr.func(*args)


def contract(expr, ranges) -> sp.Expr:
    """Eliminate Kronecker deltas against sums (see the module docstring).
    ``ranges`` maps each free index symbol to its (lo, hi), inclusive."""
    return _contract(sp.sympify(expr), dict(ranges))


def derivative(expr, wrt, ranges) -> sp.Expr:
    """∂expr/∂wrt (``wrt`` an Indexed element or a Symbol) by SymPy's own ``diff``,
    then :func:`contract`; the free indices in ``ranges`` range over their (lo, hi)."""
    d = sp.diff(expr, wrt)
    return contract(d, ranges)


def _set_zero(expr, eps):
    """expr with the Symbol eps set to 0, rebuilt with :func:`rebuild` (no exp is
    re-evaluated)."""
    if not expr.has(eps):
        return expr
    if expr == eps:
        return sp.S.Zero
    return rebuild(expr, [_set_zero(a, eps) for a in expr.args])


def directional_derivative(expr, x, v, ranges) -> sp.Expr:
    """Σ_l v[l] ∂expr/∂x[l] (forward mode): d/dε expr(x + εv) at ε = 0.

    Differentiating along the direction keeps the nesting of the sums in expr, so
    the result costs what expr costs (a Hessian–vector product when expr is vᵀs),
    where the sum over l of the partial derivatives would nest one sum deeper.

    >>> x, v, W = (sp.IndexedBase(n, real=True) for n in "xvW")
    >>> i, k = sp.symbols("i k", integer=True)
    >>> f = sp.Sum(sp.log(sp.cosh(sp.Sum(W[k, i] * x[i], (i, 0, 9)))), (k, 0, 4))
    >>> directional_derivative(f, x, v, {})
    Sum(sinh(Sum(W[k, i]*x[i], (i, 0, 9)))*Sum(W[k, i]*v[i], (i, 0, 9))/cosh(Sum(W[k, i]*x[i], (i, 0, 9))), (k, 0, 4))
    """
    eps = sp.Dummy("eps", real=True)
    moved = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == x,
                         lambda e: e + eps * v[e.indices])
    return contract(_set_zero(sp.diff(moved, eps), eps), ranges)
