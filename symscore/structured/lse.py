"""Log-sum-exp over an index range, with the component index bound.

``IndexedLogSumExp(body, k, lo, hi)`` = log Σ_{k=lo}^{hi} exp(body): k is a bound
(dummy) variable, so it is not among the free symbols. Its derivative is the
softmax-weighted sum Σ_k exp(body − LSE)·∂body (weights in (0, 1], no overflow),
written with a fresh dummy so that substituting the outer index never touches
the bound one. Code generators evaluate it with the max shift.

>>> import sympy as sp
>>> a = sp.IndexedBase("a", real=True)
>>> k, x = sp.Symbol("k", integer=True), sp.Symbol("x", real=True)
>>> f = IndexedLogSumExp(a[k] * x, k, 0, 2)
>>> sorted(map(str, f.free_symbols))
['a', 'x']
>>> sp.diff(f, x)
Sum(exp(x*a[k1] - IndexedLogSumExp(x*a[k], k, 0, 2))*a[k1], (k1, 0, 2))
"""

from __future__ import annotations

import sympy as sp

__all__ = ["IndexedLogSumExp"]


class IndexedLogSumExp(sp.Function):
    """log Σ_{k=lo}^{hi} exp(body), k bound (see the module docstring)."""

    nargs = 4

    @property
    def bound(self):
        return self.args[1]

    @property
    def free_symbols(self):
        body, k, lo, hi = self.args
        inner = {s for s in body.free_symbols
                 if s == k or (isinstance(s, sp.Indexed) and s.has(k))}
        return (body.free_symbols - inner) | lo.free_symbols | hi.free_symbols

    def _fresh(self, s):
        body, k, lo, hi = self.args
        used = {a.name for a in self.atoms(sp.Symbol)} | {a.name for a in
                                                           sp.sympify(s).atoms(sp.Symbol)}
        n = 1
        while f"{k.name}{n}" in used:
            n += 1
        return sp.Symbol(f"{k.name}{n}", integer=True)

    def _eval_derivative(self, s):
        body, k, lo, hi = self.args
        d = sp.diff(body, s)
        if d == 0:
            return sp.S.Zero
        k1 = self._fresh(s)
        # unevaluated: SymPy would rewrite exp(n·log y + …) as yⁿ·exp(…) (overflow)
        weight = sp.exp(body.xreplace({k: k1}) - self, evaluate=False)
        return sp.Sum(weight * d.xreplace({k: k1}), (k1, lo, hi))

    def _latex(self, printer, exp=None):
        body, k, lo, hi = self.args
        out = r"\log\sum_{%s=%s}^{%s} e^{%s}" % (printer._print(k), printer._print(lo),
                                                 printer._print(hi), printer._print(body))
        return out if exp is None else r"\left(%s\right)^{%s}" % (out, exp)

    def _sympystr(self, printer):
        body, k, lo, hi = self.args
        return "IndexedLogSumExp(%s, %s, %s, %s)" % tuple(printer._print(a) for a in self.args)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def expand_terms(self):
        """LogSumExp of the written-out terms (integer bounds)."""
        from ..stable import LogSumExp
        body, k, lo, hi = self.args
        return LogSumExp(*[body.xreplace({k: sp.Integer(v)})
                           for v in range(int(lo), int(hi) + 1)])
