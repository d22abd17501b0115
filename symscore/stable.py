"""Numerically stable primitives as SymPy functions, and the rewrite into them.

``log(exp(a) + exp(b))`` overflows/underflows in floating point long before the
mathematics does (a 2-D Gaussian mixture already gives NaN at x = (40, 40)).
These functions carry their own derivatives, so differentiating a mixture never
re-creates the naive form:

* ``LogSumExp(a_1, ..., a_K) = log Σ_k exp(a_k)``;  ∂/∂a_k = exp(a_k − LSE)  (softmax weight)
* ``Softplus(z) = log(1 + exp(z))``;                 d/dz = Sigmoid(z)
* ``Sigmoid(z) = 1 / (1 + exp(−z))``;                 d/dz = Sigmoid(z)·(1 − Sigmoid(z))
* ``log1p`` from :mod:`sympy.codegen.cfunctions` for ``log(1 + z)``.

Example
-------
>>> import sympy as sp
>>> from symscore.stable import stabilize, LogSumExp
>>> a, b = sp.symbols("a b", real=True)
>>> stabilize(sp.log(sp.exp(a) + sp.exp(b)))
LogSumExp(a, b)
>>> sp.diff(LogSumExp(a, b), a)
exp(a - LogSumExp(a, b))
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.core.logic import fuzzy_and
from sympy.codegen.cfunctions import log1p

__all__ = ["LogSumExp", "Softplus", "Sigmoid", "log1p", "stabilize", "STABLE_FUNCTIONS"]


def _all_real(args) -> bool | None:
    return fuzzy_and(a.is_extended_real for a in args)


def _mp_evalf(args, prec, formula):
    """Evaluate ``formula`` with mpmath at ``prec`` bits (+ guard bits) on the
    numeric values of ``args`` (Floats taken at their exact binary value);
    None if an argument is not a real number. Relative accuracy holds even
    where the result is tiny (softplus(−800) ≈ 3.7e−348, not 0)."""
    try:
        vals = [a._to_mpmath(prec + 20) for a in args]
    except (ValueError, TypeError, AttributeError):
        return None
    if not all(isinstance(v, (int, mpmath.mpf)) for v in vals):
        return None
    with mpmath.workprec(prec + 20):
        return sp.Float._new(formula(*map(mpmath.mpf, vals))._mpf_, prec)


class LogSumExp(sp.Function):
    """``log Σ_k exp(a_k)``, evaluated as ``m + log Σ exp(a_k − m)`` with ``m = max a_k``."""

    nargs = None  # variadic

    @classmethod
    def eval(cls, *args):
        if not args:
            raise TypeError("LogSumExp needs at least one argument")
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_is_extended_real(self):
        return _all_real(self.args)

    def _eval_is_finite(self):
        return fuzzy_and(a.is_finite for a in self.args)

    def _eval_rewrite_as_log(self, *args, **kwargs):
        return sp.log(sp.Add(*[sp.exp(a) for a in args]))

    def _eval_evalf(self, prec):
        return _mp_evalf(self.args, prec, lambda *a: max(a) + mpmath.log(
            mpmath.fsum(mpmath.exp(v - max(a)) for v in a)))

    def _latex(self, printer, exp=None):
        inner = ", ".join(printer._print(a) for a in self.args)
        out = r"\operatorname{logsumexp}\left(%s\right)" % inner
        return out if exp is None else r"%s^{%s}" % (out, exp)


class Softplus(sp.Function):
    """``log(1 + exp(z))``, evaluated as ``max(z, 0) + log1p(exp(−|z|))``."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.log(2)
        return None

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_log(self, z, **kwargs):
        return sp.log(1 + sp.exp(z))

    def _eval_evalf(self, prec):
        return _mp_evalf(self.args, prec,
                         lambda z: max(z, 0) + mpmath.log1p(mpmath.exp(-abs(z))))

    def _latex(self, printer, exp=None):
        out = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return out if exp is None else r"%s^{%s}" % (out, exp)


class Sigmoid(sp.Function):
    """The logistic function ``1 / (1 + exp(−z))``, evaluated without overflow."""

    nargs = 1

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.Rational(1, 2)
        return None

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_is_extended_real(self):
        return self.args[0].is_extended_real

    def _eval_is_positive(self):
        return self.args[0].is_extended_real

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return _mp_evalf(self.args, prec, lambda z: 1 / (1 + mpmath.exp(-z)) if z >= 0
                         else mpmath.exp(z) / (1 + mpmath.exp(z)))

    def _latex(self, printer, exp=None):   # exp: SymPy prints powers f(x)**n as f^{n}(x)
        out = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return out if exp is None else r"%s^{%s}" % (out, exp)


STABLE_FUNCTIONS = (LogSumExp, Softplus, Sigmoid, log1p)


# ---------------------------------------------------------------------------
# rewriting naive user input into the stable primitives


def _split_exp(term: sp.Expr) -> tuple[sp.Expr, sp.Expr, bool]:
    """Write ``term = c · exp(a)``; return (c, a, whether an exp factor was found)."""
    coeff, exponent, found = [], [], False
    for f in sp.Mul.make_args(term):
        if isinstance(f, sp.exp):
            exponent.append(f.args[0])
            found = True
        else:
            coeff.append(f)
    return sp.Mul(*coeff), sp.Add(*exponent), found


def _log_of(u: sp.Expr) -> sp.Expr:
    """Stable form of ``log(u)`` for an already-stabilised argument ``u``."""
    if isinstance(u, sp.exp) and u.args[0].is_extended_real:
        return u.args[0]
    if isinstance(u, sp.cosh) and u.args[0].is_extended_real:
        z = u.args[0]  # log cosh z = softplus(2z) − z − log 2
        return Softplus(2 * z) - z - sp.log(2)
    if u.is_Mul and all(f.is_positive for f in u.args):
        return sp.Add(*[_log_of(f) for f in u.args])
    if u.is_Pow and u.base.is_positive and u.exp.is_extended_real:
        return u.exp * _log_of(u.base)
    if u.is_Add:
        parts = [_split_exp(t) for t in u.args]
        if any(found for _, _, found in parts) and all(c.is_positive for c, _, _ in parts):
            exponents = [a if c == 1 else a + _log_of(c) for c, a, _ in parts]
            if len(exponents) == 2 and 0 in exponents:
                return Softplus(exponents[1 - exponents.index(0)])
            return LogSumExp(*exponents)
        const, rest = u.as_independent(*u.free_symbols, as_Add=True)
        if const == 1 and rest != 0 and not u.has(sp.exp):
            return log1p(rest)
    return sp.log(u)


def stabilize(expr: sp.Expr) -> sp.Expr:
    """Rewrite naive ``log Σ exp``, ``log(1+exp)``, ``log cosh`` and ``log(1+z)`` forms.

    The rewrite is exact (an identity for real arguments); it only fires where
    positivity of the mixture weights is known from the symbols' assumptions.
    """
    if expr.is_Atom:
        return expr
    args = tuple(stabilize(a) if isinstance(a, sp.Basic) else a for a in expr.args)
    if args != expr.args:
        expr = expr.func(*args)
    if isinstance(expr, sp.log):
        return _log_of(expr.args[0])
    return expr
