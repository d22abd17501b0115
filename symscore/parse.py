"""Safe parsing of density strings: user text is never executed.

The text is checked for length and nesting, parsed by :func:`ast.parse` (which
builds a syntax tree and runs nothing), and the tree is walked against a strict
whitelist, building SymPy objects directly — ``sympify``/``eval`` are never
called on it. Accepted: int/float literals, the declared symbols, ``pi`` and
``e``/``E``, ``+ - * / **``, unary ``+ -``, parentheses, and calls (positional
arguments only) of :data:`FUNCTIONS`. Everything else raises
:class:`~symscore.ParseError` naming the offending construct.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> parse_expression("-x**2/2 + log(1 + exp(x))", [x])
-x**2/2 + log(exp(x) + 1)
"""

from __future__ import annotations

import ast
import math
from typing import Sequence

import sympy as sp

from .errors import ParseError
from .stable import LogSumExp, Sigmoid, Softplus, log1p

MAX_LENGTH = 20_000        # characters
MAX_DEPTH = 60             # parentheses / syntax-tree nesting
MAX_NODES = 20_000         # syntax-tree nodes
MAX_INT_DIGITS = 60        # digits in an integer literal
MAX_NUMERIC_EXPONENT = 1000  # |exponent| of a power with a numeric base

# name -> (sympy callable, allowed argument counts; None = one or more)
FUNCTIONS = {
    "exp": (sp.exp, {1}), "log": (sp.log, {1}), "sqrt": (sp.sqrt, {1}), "abs": (sp.Abs, {1}),
    "sin": (sp.sin, {1}), "cos": (sp.cos, {1}), "tan": (sp.tan, {1}),
    "sinh": (sp.sinh, {1}), "cosh": (sp.cosh, {1}), "tanh": (sp.tanh, {1}),
    "asin": (sp.asin, {1}), "acos": (sp.acos, {1}), "atan": (sp.atan, {1}),
    "asinh": (sp.asinh, {1}), "atanh": (sp.atanh, {1}), "erf": (sp.erf, {1}),
    "log1p": (log1p, {1}), "softplus": (Softplus, {1}), "sigmoid": (Sigmoid, {1}),
    "logsumexp": (LogSumExp, None),
}
CONSTANTS = {"pi": sp.pi, "e": sp.E, "E": sp.E}

_BINOPS = {ast.Add: sp.Add, ast.Mult: sp.Mul,
           ast.Sub: lambda a, b: sp.Add(a, -b), ast.Div: lambda a, b: sp.Mul(a, sp.Pow(b, -1))}
_DESCRIBE = {ast.Attribute: "attribute access ('.')", ast.Subscript: "subscripts ('[...]')",
             ast.Lambda: "lambda", ast.IfExp: "conditional expressions",
             ast.Compare: "comparisons", ast.BoolOp: "boolean operators ('and'/'or')",
             ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions",
             ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
             ast.JoinedStr: "f-strings", ast.NamedExpr: "assignment (':=')",
             ast.Starred: "starred arguments", ast.List: "lists", ast.Tuple: "tuples",
             ast.Dict: "dicts", ast.Set: "sets", ast.Await: "await", ast.Yield: "yield"}


def _depth_precheck(text: str) -> None:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"expression nests deeper than {MAX_DEPTH} brackets")
        elif ch in ")]}":
            depth -= 1


def parse_expression(text: str, symbols: Sequence[sp.Symbol]) -> sp.Expr:
    """Parse ``text`` into a SymPy expression over the declared ``symbols``."""
    if not isinstance(text, str):
        raise ParseError(f"density text must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"density text is {len(text)} characters long; the limit is "
                         f"{MAX_LENGTH}")
    if not text.strip():
        raise ParseError("density text is empty")
    if "^" in text:
        raise ParseError("'^' is not a power operator here; write x**2 for x squared")
    _depth_precheck(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ParseError("density text is too deeply nested or malformed") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ParseError(f"expression has {nodes} syntax nodes; the limit is {MAX_NODES}")
    names = {s.name: s for s in symbols}
    try:
        expr = _Builder(names).build(tree.body, 0)
    except RecursionError:
        raise ParseError("density text is too deeply nested") from None
    _finite(expr, lambda: "the expression")
    return expr


_NOT_FINITE = (sp.zoo, sp.oo, -sp.oo, sp.nan)


def _finite(value, what) -> None:
    """Refuse a value that is or contains ∞, complex infinity or NaN (e.g. atanh(1),
    log(0), 0**-1), naming the construct ``what()``."""
    if value.has(*_NOT_FINITE):
        shown = what()
        shown = shown if len(shown) <= 80 else shown[:77] + "…"
        raise ParseError(f"{shown} is not finite (it evaluates to {_infinity_of(value)}): "
                         "undefined at these arguments")


def _infinity_of(value) -> str:
    if value in _NOT_FINITE:
        return {sp.zoo: "complex infinity", sp.oo: "∞", -sp.oo: "−∞", sp.nan: "NaN"}[value]
    return "an expression with ∞ or NaN"


class _Builder:
    def __init__(self, names):
        self.names = names

    def fail(self, node, what):
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        raise ParseError(f"{what} not allowed{where}")

    def build(self, node, depth):
        if depth > MAX_DEPTH:
            raise ParseError(f"expression nests deeper than {MAX_DEPTH} levels")
        d = depth + 1
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.build(node.operand, d)
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, d)
            self.fail(node, f"unary operator '{type(node.op).__name__}'")
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return self.power(node, d)
            if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                return self.chain(node, d)
            op = _BINOPS.get(type(node.op))
            if op is None:
                sym = {ast.BitXor: "'^' (use ** for powers)", ast.Mod: "'%'",
                       ast.FloorDiv: "'//'", ast.MatMult: "'@'", ast.BitAnd: "'&'",
                       ast.BitOr: "'|'", ast.LShift: "'<<'", ast.RShift: "'>>'"}
                self.fail(node, f"operator {sym.get(type(node.op), type(node.op).__name__)}")
            return op(self.build(node.left, d), self.build(node.right, d))
        if isinstance(node, ast.Call):
            return self.call(node, d)
        self.fail(node, _DESCRIBE.get(type(node), f"'{type(node).__name__}' syntax"))

    def chain(self, node, d):
        """A chain a ± b ± c … (or a ·/ b ·/ c …) is one level, however long: it is
        walked iteratively, so depth means nesting, not the number of terms."""
        additive = isinstance(node.op, (ast.Add, ast.Sub))
        ops = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        parts = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            parts.append((node.op, node.right))
            node = node.left
        terms = [self.build(node, d)]
        for op, operand in reversed(parts):
            value = self.build(operand, d)
            if isinstance(op, ast.Sub):
                value = -value
            elif isinstance(op, ast.Div):
                if value == 0:
                    raise ParseError(f"division by zero at column {operand.col_offset + 1}")
                value = sp.Pow(value, -1)
            terms.append(value)
        return sp.Add(*terms) if additive else sp.Mul(*terms)

    def constant(self, node):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(node, f"literal {v!r:.40}")
        if isinstance(v, int):
            if len(str(abs(v))) > MAX_INT_DIGITS:
                raise ParseError(f"integer literal with more than {MAX_INT_DIGITS} digits")
            return sp.Integer(v)
        if not math.isfinite(v):
            raise ParseError(f"number literal overflows to {v}")
        return sp.Float(repr(v))

    def name(self, node):
        n = node.id
        if n.startswith("__") or n.startswith("_"):
            raise ParseError(f"name {n!r} is not allowed (underscore-prefixed names are refused)")
        if n in self.names:
            return self.names[n]
        if n in CONSTANTS:
            return CONSTANTS[n]
        if n in FUNCTIONS:
            raise ParseError(f"function {n!r} used without calling it")
        declared = ", ".join(sorted(self.names)) or "none"
        raise ParseError(f"unknown name {n!r}; declared symbols: {declared}")

    def power(self, node, d):
        if isinstance(node.right, ast.BinOp) and isinstance(node.right.op, ast.Pow):
            raise ParseError(f"nested power (power tower) at column {node.col_offset + 1}; "
                             "add parentheses around an evaluated exponent")
        base, exponent = self.build(node.left, d), self.build(node.right, d)
        if exponent.is_Number and abs(exponent) > MAX_NUMERIC_EXPONENT:
            raise ParseError(f"exponent {exponent} is too large (limit ±{MAX_NUMERIC_EXPONENT})")
        if base.is_Number and exponent.has(sp.Pow):
            raise ParseError("numeric base raised to a power expression is refused")
        if base.is_Number and exponent.is_Number and abs(base) > 1 and abs(exponent) > 1:
            digits = float(abs(exponent)) * math.log10(float(abs(base)))
            if digits > 300:
                raise ParseError(f"{base}**{exponent} is too large a number")
        value = sp.Pow(base, exponent)
        _finite(value, lambda: f"({base})**({exponent})")
        return value

    def call(self, node, d):
        if not isinstance(node.func, ast.Name):
            what = _DESCRIBE.get(type(node.func), "calling an expression")
            self.fail(node.func, what if "(" in what else "calling anything but a function name")
        fname = node.func.id
        if fname not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ParseError(f"function {fname!r} is not allowed; allowed: {allowed}")
        if node.keywords:
            raise ParseError(f"keyword arguments in call of {fname!r} are not allowed")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise ParseError(f"starred arguments in call of {fname!r} are not allowed")
        func, counts = FUNCTIONS[fname]
        n = len(node.args)
        if (counts is None and n < 1) or (counts is not None and n not in counts):
            want = "at least 1" if counts is None else " or ".join(map(str, sorted(counts)))
            raise ParseError(f"{fname}() takes {want} argument(s), got {n}")
        args = [self.build(a, d) for a in node.args]
        value = func(*args)
        _finite(value, lambda: f"{fname}({', '.join(map(str, args))})")
        return value
