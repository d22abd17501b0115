"""Printers from tape expressions to Python source.

:class:`ScalarPrinter` (a ``PythonCodePrinter``) emits scalar ``math.*`` code for
numba (CPU and CUDA): Piecewise as conditional expressions, small integer
powers as products, the stable primitives as helper calls, every literal as a
float of the kernel dtype (``DTYPE(0.5)`` in float32 so nothing promotes to
float64). :class:`VectorPrinter` emits the same expressions as vectorised NumPy
(the ``numpy`` target). Functions without a known translation raise
:class:`~symscore.CodegenError` naming them.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> p = ScalarPrinter({x: "x[0]"})
>>> p.doprint(sp.Piecewise((x**2, x > 0), (sp.exp(-x) / 2, True)))
'((x[0]*x[0]) if (x[0] > 0.0) else 0.5*math.exp(-x[0]))'
>>> ScalarPrinter({x: "x[0]"}, dtype="float32").doprint(3 * x + 1)
'DTYPE(3.0)*x[0] + DTYPE(1.0)'
>>> VectorPrinter({x: "x[:, 0]"}).doprint(sp.Max(x, 0) + sp.log(x))
'np.log(x[:, 0]) + np.maximum(0.0, x[:, 0])'
"""

from __future__ import annotations

from typing import Mapping

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter

from ..errors import CodegenError

__all__ = ["ScalarPrinter", "VectorPrinter", "HELPERS_SCALAR", "HELPERS_VECTOR"]

_MATH = {sp.exp: "exp", sp.log: "log", log1p: "log1p", expm1: "expm1", sp.sin: "sin",
         sp.cos: "cos", sp.tan: "tan", sp.asin: "asin", sp.acos: "acos", sp.atan: "atan",
         sp.sinh: "sinh", sp.cosh: "cosh", sp.tanh: "tanh", sp.asinh: "asinh",
         sp.acosh: "acosh", sp.atanh: "atanh", sp.erf: "erf", sp.erfc: "erfc",
         sp.gamma: "gamma", sp.loggamma: "lgamma"}
_NUMPY = {sp.exp: "np.exp", sp.log: "np.log", log1p: "np.log1p", expm1: "np.expm1",
          sp.sin: "np.sin", sp.cos: "np.cos", sp.tan: "np.tan", sp.asin: "np.arcsin",
          sp.acos: "np.arccos", sp.atan: "np.arctan", sp.sinh: "np.sinh", sp.cosh: "np.cosh",
          sp.tanh: "np.tanh", sp.asinh: "np.arcsinh", sp.acosh: "np.arccosh",
          sp.atanh: "np.arctanh", sp.erf: "_sps.erf", sp.erfc: "_sps.erfc",
          sp.gamma: "_sps.gamma", sp.loggamma: "_sps.gammaln"}

# helper functions the printed code may call (name -> source); scalar versions are
# decorated by the module writer for numba
HELPERS_SCALAR = {
    "_exp": '''def _exp(x):
    # e^x = 2^k e^r with k = round(x / ln 2), r = x - k ln 2, |r| <= ln2/2 (ln 2 in two
    # parts, Cody-Waite); e^r by its Taylor polynomial of degree 13 (truncation
    # < 1e-17); 2^k added to the exponent bits of e^r (integer arithmetic, exact),
    # results below 2^-1000 via an extra exact factor 2^-64 (gradual underflow);
    # overflow gives inf, NaN stays NaN. No branches and no libm call: loops over
    # samples that inline it vectorise.
    xc = min(max(x, -746.0), 710.0)
    y = xc * 1.4426950408889634 + 0.5
    k = math.floor(y)
    # the same integer once more, from truncation: fastmath 'reassoc' may not merge
    # k*hi + k2*lo into k*(hi + lo) when it cannot see that k2 == k
    ki = np.int64(y)
    ki = ki - 1 if y < np.float64(ki) else ki
    r = (xc - k * 0.6931471803691238) - np.float64(ki) * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.6666666666666666e-01 + r * (
        4.1666666666666664e-02 + r * (8.3333333333333332e-03 + r * (
            1.3888888888888889e-03 + r * (1.9841269841269841e-04 + r * (
                2.4801587301587302e-05 + r * (2.7557319223985893e-06 + r * (
                    2.7557319223985888e-07 + r * (2.5052108385441720e-08 + r * (
                        2.0876756987868100e-09 + r * 1.6059043836821613e-10))))))))))))
    tiny = ki < -1000
    kk = ki + 64 if tiny else ki
    e = np.int64(np.float64(p).view(np.int64) + (kk << 52)).view(np.float64)
    e = e * 5.421010862427522e-20 if tiny else e
    e = math.inf if x > 709.782712893384 else e
    return e if x == x else x''',
    "_softplus": '''def _softplus(z):
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large |z|
    return max(z, DTYPE(0.0)) + math.log1p(math.exp(-abs(z)))''',
    "_sigmoid": '''def _sigmoid(z):
    # 1/(1 + e^-z) evaluated with e^-|z| <= 1
    e = math.exp(-abs(z))
    return DTYPE(1.0) / (DTYPE(1.0) + e) if z >= DTYPE(0.0) else e / (DTYPE(1.0) + e)''',
    "_sign": '''def _sign(z):
    return DTYPE(1.0) if z > DTYPE(0.0) else (DTYPE(-1.0) if z < DTYPE(0.0) else DTYPE(0.0))''',
    "_heaviside": '''def _heaviside(z, h0):
    return DTYPE(1.0) if z > DTYPE(0.0) else (DTYPE(0.0) if z < DTYPE(0.0) else h0)''',
}
HELPERS_VECTOR = {
    "_softplus": '''def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))''',
    "_sigmoid": '''def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))''',
    "_sign": '''def _sign(z):
    return np.sign(z)''',
    "_heaviside": '''def _heaviside(z, h0):
    return np.where(z > 0.0, 1.0, np.where(z < 0.0, 0.0, h0))''',
}


class _Common:
    """Shared by both printers: symbol table, literals, products and powers."""

    def __init__(self, symbols: Mapping[sp.Symbol, str], dtype: str = "float64",
                 fast_exp: bool = False):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self.fast_exp = fast_exp and dtype == "float64"
        if dtype not in ("float64", "float32"):
            raise CodegenError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        self.symbols = dict(symbols)
        self.dtype = dtype
        self.helpers_used: set[str] = set()

    # -- atoms ------------------------------------------------------------------
    def _print_Symbol(self, expr):
        try:
            return self.symbols[expr]
        except KeyError:
            raise CodegenError(f"symbol {expr} has no value in the generated code") from None

    _print_Dummy = _print_Symbol

    def _number(self, value) -> str:
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise CodegenError(f"non-finite constant {value} in a kernel expression")
        text = repr(abs(v))
        if self.dtype == "float32":
            text = f"DTYPE({text})"
        return "-" + text if v < 0 or (v == 0 and str(v).startswith("-")) else text

    def _print_Float(self, expr):
        return self._number(expr)

    def _print_Integer(self, expr):
        return self._number(expr)

    _print_Rational = _print_Float
    _print_NegativeOne = _print_Integer
    _print_One = _print_Integer
    _print_Zero = _print_Integer
    _print_Half = _print_Float

    def _print_NumberSymbol(self, expr):
        return self._number(expr.evalf(20))

    _print_Pi = _print_Exp1 = _print_EulerGamma = _print_GoldenRatio = _print_NumberSymbol

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    # -- products and powers -----------------------------------------------------
    def _print_Mul(self, expr):
        coeff, factors = expr.as_coeff_mul()
        num, den = [], []
        for f in factors:
            if f.is_Pow and f.exp.is_Integer and f.exp < 0:
                den.append(sp.Pow(f.base, -f.exp))
            else:
                num.append(f)
        prec = PRECEDENCE["Mul"]
        parts = [self.parenthesize(f, prec, strict=False) for f in num]
        sign = ""
        if coeff == -1:
            sign = "-"
        elif coeff != 1:
            c = self._number(coeff)
            if c.startswith("-"):
                sign, c = "-", c[1:]
            parts.insert(0, c)
        text = "*".join(parts) if parts else self._number(1)
        if den:
            d = "*".join(self.parenthesize(f, prec, strict=True) for f in den)
            text = f"{text}/({d})" if len(den) > 1 else f"{text}/{d}"
        return sign + text

    def _print_Pow(self, expr):
        base, e = expr.base, expr.exp
        b = self.parenthesize(base, PRECEDENCE["Mul"], strict=True)
        if e.is_Integer:
            n = int(e)
            if n == 0:
                return self._number(1)
            if 1 <= abs(n) <= 8:
                prod = "*".join([b] * abs(n))
                prod = f"({prod})" if abs(n) > 1 else prod
                return prod if n > 0 else f"{self._number(1)}/{prod}"
        if e.is_Rational and e.q == 2 and abs(e.p) <= 7:
            root = f"{self._fn('sqrt')}({self._print(base)})"
            k = abs(int(e.p)) // 2
            val = "*".join([b] * k + [root])
            val = f"({val})" if k else val
            return val if e > 0 else f"{self._number(1)}/{val}"
        return self._pow(self._print(base), self._print(e))

    # -- functions -----------------------------------------------------------------
    def _print_Function(self, expr):
        func = type(expr)
        if func is sp.exp and self.fast_exp:
            self.helpers_used.add("_exp")
            return f"_exp({self._print(expr.args[0])})"
        table = self._table()
        if func in table:
            return f"{table[func]}({', '.join(self._print(a) for a in expr.args)})"
        raise CodegenError(f"function {func.__name__!s} has no numeric translation "
                           f"(in {sp.sstr(expr)[:80]}); supported: "
                           f"{sorted(f.__name__ for f in table)} and the stable primitives")

    def _print_not_supported(self, expr):
        raise CodegenError(f"cannot compile {type(expr).__name__} (in {sp.sstr(expr)[:80]})")

    def _print_Softplus(self, expr):
        self.helpers_used.add("_softplus")
        return f"_softplus({self._print(expr.args[0])})"

    def _print_Sigmoid(self, expr):
        self.helpers_used.add("_sigmoid")
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        self.helpers_used.add("_sign")
        return f"_sign({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        self.helpers_used.add("_heaviside")
        h0 = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        return f"_heaviside({self._print(expr.args[0])}, {self._print(h0)})"

    def _print_DiracDelta(self, expr):
        return self._number(0)  # zero almost everywhere: the pointwise derivative

    def _print_LogSumExp(self, expr):
        raise CodegenError("LogSumExp must be expanded on the tape before printing")

    def _print_Abs(self, expr):
        return f"{self._abs()}({self._print(expr.args[0])})"

    _print_Derivative = _print_Integral = _print_not_supported


class ScalarPrinter(_Common, PythonCodePrinter):
    """Scalar ``math.*`` code for numba kernels."""

    def _table(self):
        return {**{f: f"math.{n}" for f, n in _MATH.items()}}

    def _fn(self, name):
        return f"math.{name}"

    def _pow(self, b, e):
        return f"math.pow({b}, {e})"

    def _abs(self):
        return "abs"

    def _print_Max(self, expr):
        return f"max({', '.join(self._print(a) for a in expr.args)})"

    _print_StopMax = _print_Max

    def _print_Min(self, expr):
        return f"min({', '.join(self._print(a) for a in expr.args)})"

    def _print_floor(self, expr):
        return f"DTYPE(math.floor({self._print(expr.args[0])}))"

    def _print_ceiling(self, expr):
        return f"DTYPE(math.ceil({self._print(expr.args[0])}))"

    def _print_Piecewise(self, expr):
        parts, tail = [], None
        for e, c in expr.args:
            if c == sp.true:
                tail = self._print(e)
                break
            parts.append((self._print(e), self._print(c)))
        text = tail if tail is not None else self._number_nan()
        for e, c in reversed(parts):
            text = f"({e} if {c} else {text})"
        return text

    def _number_nan(self):
        return "DTYPE(math.nan)" if self.dtype == "float32" else "math.nan"


class VectorPrinter(_Common, PythonCodePrinter):
    """Vectorised NumPy code (rows are samples) for the ``numpy`` target."""

    def _table(self):
        return dict(_NUMPY)

    def _fn(self, name):
        return f"np.{name}"

    def _pow(self, b, e):
        return f"np.power({b}, {e})"

    def _abs(self):
        return "np.abs"

    def _nary(self, fn, args):
        text = self._print(args[-1])
        for a in reversed(args[:-1]):
            text = f"{fn}({self._print(a)}, {text})"
        return text

    def _print_Max(self, expr):
        return self._nary("np.maximum", expr.args)

    _print_StopMax = _print_Max

    def _print_Min(self, expr):
        return self._nary("np.minimum", expr.args)

    def _print_floor(self, expr):
        return f"np.floor({self._print(expr.args[0])})"

    def _print_ceiling(self, expr):
        return f"np.ceil({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr):
        parts, tail = [], "np.nan"
        for e, c in expr.args:
            if c == sp.true:
                tail = self._print(e)
                break
            parts.append((self._print(e), self._print(c)))
        text = tail
        for e, c in reversed(parts):
            text = f"np.where({c}, {e}, {text})"
        return text

    def _print_And(self, expr):
        return " & ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Or(self, expr):
        return " | ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Not(self, expr):
        return f"~({self._print(expr.args[0])})"


def op_count(expr: sp.Expr) -> int:
    """Arithmetic operations in one tape expression (SymPy's count, visual=False)."""
    return int(sp.count_ops(expr))


# PythonCodePrinter defines _print_exp, _print_log, ... itself: route them all
# through the table of the concrete printer instead
for _f in set(_MATH) | set(_NUMPY):
    setattr(_Common, f"_print_{_f.__name__}", _Common._print_Function)
del _f
