"""Structured densities from text: ``x @ K @ x``, ``W @ x``, ``sum(...)``, elementwise
``log(cosh(...))`` — read by the same safe parser (:mod:`symscore.parse`: an AST
whitelist, nothing is ever evaluated), with arrays instead of scalars.

Operands are arrays with shapes: the variable x (D,), parameter groups (their
shape), scalars and numbers. Allowed on top of the scalar grammar:

* ``a @ b`` — contraction of the last axis of a with the first of b (vector·vector
  → scalar, matrix·vector → vector, vector·matrix, matrix·matrix), one ``Sum``;
* ``+ - * / **`` elementwise with scalar broadcasting, and every function of
  :data:`symscore.parse.FUNCTIONS` elementwise;
* ``sum(a)`` (all entries), ``transpose(A)``, ``diag(A)`` (the vector A[i, i]),
  ``trace(A)``.

The log-density must come out a scalar. Shapes are checked and a mismatch is a
:class:`~symscore.ParseError` naming both shapes.

>>> d = structured_from_text("-(x @ K @ x) / 2", {"x": 50},
...                          {"K": {"shape": [50, 50], "pattern": "symmetric"}})
>>> d.structure.score
-Sum(K[j, i]*x[i], (i, 0, 49))
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from ..errors import DensityError, ParseError
from ..params import POSITIVE, REAL, as_domain
from ..parse import FUNCTIONS, _Builder, parse_tree
from ..stable import stabilize
from .core import DUMMIES, Structure, StructuredDensity, x_base
from .groups import PATTERNS

__all__ = ["structured_from_text", "Arr"]


@dataclass(frozen=True)
class Arr:
    """An array operand: ``shape`` and its entry as a function of index expressions."""

    shape: tuple
    elem: Callable

    def at(self, idx):
        return self.elem(*idx)


def _scalar(e) -> Arr:
    return Arr((), lambda: e)


class _Dummies:
    """Fresh summation indices i, k, l, m, n, i1, k1, … (never j, p, q, r)."""

    def __init__(self):
        self.n = 0

    def __call__(self):
        base = DUMMIES[self.n % len(DUMMIES)]
        rnd = self.n // len(DUMMIES)
        self.n += 1
        return base if rnd == 0 else sp.Symbol(f"{base.name}{rnd}", integer=True)


class _ArrayBuilder(_Builder):
    def __init__(self, arrays, scalars):
        super().__init__(scalars)
        self.arrays = arrays
        self.fresh = _Dummies()

    # -- helpers --------------------------------------------------------------
    def lift(self, v) -> Arr:
        return v if isinstance(v, Arr) else _scalar(v)

    def broadcast(self, node, a, b, op):
        a, b = self.lift(a), self.lift(b)
        if a.shape and b.shape and a.shape != b.shape:
            raise ParseError(f"shape mismatch at column {node.col_offset + 1}: {a.shape} and "
                             f"{b.shape} (elementwise operations need equal shapes or a scalar)")
        shape = a.shape or b.shape
        return Arr(shape, lambda *i: op(a.at(i if a.shape else ()), b.at(i if b.shape else ())))

    def matmul(self, node, a, b):
        a, b = self.lift(a), self.lift(b)
        if not a.shape or not b.shape or len(a.shape) > 2 or len(b.shape) > 2 \
                or a.shape[-1] != b.shape[0]:
            raise ParseError(f"'@' at column {node.col_offset + 1} cannot contract shapes "
                             f"{a.shape} and {b.shape}")
        n = a.shape[-1]
        shape = a.shape[:-1] + b.shape[1:]
        ra = len(a.shape) - 1

        def elem(*idx):
            d = self.fresh()
            return sp.Sum(a.at(idx[:ra] + (d,)) * b.at((d,) + idx[ra:]), (d, 0, n - 1))
        return Arr(shape, elem)

    # -- grammar ---------------------------------------------------------------
    def name(self, node):
        if node.id in self.arrays:
            return self.arrays[node.id]
        return super().name(node)

    def build(self, node, depth):
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Pow):
            d = depth + 1
            if isinstance(node.op, ast.MatMult):
                return self.matmul(node, self.build(node.left, d), self.build(node.right, d))
            ops = {ast.Add: lambda u, v: u + v, ast.Sub: lambda u, v: u - v,
                   ast.Mult: lambda u, v: u * v, ast.Div: lambda u, v: u / v}
            op = ops.get(type(node.op))
            if op is not None:
                left, right = self.build(node.left, d), self.build(node.right, d)
                if isinstance(left, Arr) or isinstance(right, Arr):
                    return self.broadcast(node, left, right, op)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = self.build(node.operand, depth + 1)
            if isinstance(v, Arr):
                return Arr(v.shape, lambda *i: -v.at(i))
            return -v
        return super().build(node, depth)

    def power(self, node, d):
        base, exponent = self.build(node.left, d), self.build(node.right, d)
        if isinstance(base, Arr) or isinstance(exponent, Arr):
            return self.broadcast(node, base, exponent, sp.Pow)
        node2 = node
        return super().power(node2, d)

    _ARRAY_FUNCS = ("sum", "transpose", "diag", "trace")

    def call(self, node, d):
        if isinstance(node.func, ast.Name) and node.func.id in self._ARRAY_FUNCS:
            if len(node.args) != 1 or node.keywords:
                raise ParseError(f"{node.func.id}() takes exactly one argument")
            a = self.lift(self.build(node.args[0], d))
            return getattr(self, "f_" + node.func.id)(node, a)
        if isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            args = [self.build(a, d) for a in node.args]
            if any(isinstance(a, Arr) for a in args):
                func, counts = FUNCTIONS[node.func.id]
                if len(args) != 1 or node.keywords:
                    raise ParseError(f"{node.func.id}() applies elementwise to one array "
                                     "argument")
                a = args[0]
                return Arr(a.shape, lambda *i: func(a.at(i)))
        return super().call(node, d)

    def f_sum(self, node, a):
        if not a.shape:
            return a.at(())
        idx = [self.fresh() for _ in a.shape]
        body = a.at(tuple(idx))
        for i, n in reversed(list(zip(idx, a.shape))):
            body = sp.Sum(body, (i, 0, n - 1))
        return body

    def f_transpose(self, node, a):
        if len(a.shape) != 2:
            raise ParseError(f"transpose() needs a matrix, got shape {a.shape}")
        return Arr(a.shape[::-1], lambda i, k: a.at((k, i)))

    def f_diag(self, node, a):
        if len(a.shape) != 2 or a.shape[0] != a.shape[1]:
            raise ParseError(f"diag() needs a square matrix, got shape {a.shape}")
        return Arr(a.shape[:1], lambda i: a.at((i, i)))

    def f_trace(self, node, a):
        return self.f_sum(node, self.f_diag(node, a))


def _group_spec(name, spec, dims):
    """(shape, pattern, domain, diag_domain) of a [params] entry."""
    if isinstance(spec, (str, list)) or isinstance(spec, sp.Set):
        return (), "scalar", as_domain(spec, f"parameter {name!r}"), POSITIVE
    if not isinstance(spec, dict):
        raise DensityError(f"parameter {name!r}: give a domain or a table with shape")
    unknown = set(spec) - {"shape", "pattern", "domain", "diagonal"}
    if unknown:
        raise DensityError(f"parameter {name!r}: unknown key(s) {sorted(unknown)}")
    shape = []
    for s in spec.get("shape", []):
        if isinstance(s, str) and s in dims:
            s = dims[s]
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise DensityError(f"parameter {name!r}: shape entries must be positive integers "
                               f"or a variable name, got {s!r}")
        shape.append(s)
    shape = tuple(shape)
    pattern = spec.get("pattern", "full" if len(shape) >= 2 else
                       "vector" if shape else "scalar")
    if pattern not in PATTERNS:
        raise DensityError(f"parameter {name!r}: pattern must be one of {PATTERNS}")
    domain = as_domain(spec.get("domain", "real"), f"parameter {name!r}")
    diag = as_domain(spec.get("diagonal", "positive" if pattern in ("lower", "symmetric")
                              else spec.get("domain", "real")), f"diagonal of {name!r}")
    return shape, pattern, domain, diag


def _default_value(g, value):
    """A [values] entry: a number (c·I for square groups, c everywhere otherwise),
    "identity", or nested lists of the group's shape."""
    if isinstance(value, str):
        if value.lower() not in ("identity", "eye"):
            raise DensityError(f"value of {g.name!r}: a number, 'identity' or an array")
        value = 1.0
        if len(g.shape) < 2:
            return np.ones(g.shape)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if len(g.shape) >= 2 and g.shape[-1] == g.shape[-2]:
            return float(value) * np.broadcast_to(np.eye(g.shape[-1]), g.shape)
        return np.full(g.shape, float(value))
    return np.asarray(value, dtype=float)


def structured_from_text(text: str, variables: dict, params: dict, *, kind="log_density",
                         name: str = "density", values: dict | None = None
                         ) -> StructuredDensity:
    """A :class:`StructuredDensity` from text (see the module docstring).
    ``variables``: ``{"x": D}`` (one vector variable); ``params``: name → domain string
    (a scalar) or a table ``{shape = [..], pattern = "lower"|"symmetric"|"full", domain,
    diagonal}``; ``values``: defaults by name."""
    from .models import GroupList
    if not isinstance(variables, dict) or len(variables) != 1:
        raise DensityError("a structured density has one vector variable, e.g. "
                           "variables = { x = 100 }")
    (vname, D), = variables.items()
    if isinstance(D, bool) or not isinstance(D, int) or D < 1:
        raise DensityError(f"the dimension of {vname!r} must be a positive integer, got {D!r}")
    x = x_base()
    G = GroupList()
    arrays = {vname: Arr((D,), lambda i: x[i])}
    scalars = {}
    for pname, spec in params.items():
        if pname == vname:
            raise DensityError(f"{pname!r} is declared as a variable and a parameter")
        shape, pattern, domain, diag = _group_spec(pname, spec, {vname: D})
        base = G.add(pname, pname, shape, pattern, domain, diag)
        if shape:
            arrays[pname] = Arr(shape, lambda *i, b=base: b[i])
        else:
            scalars[pname] = base
    tree = parse_tree(text)
    expr = _ArrayBuilder(arrays, scalars).build(tree.body, 0)
    if isinstance(expr, Arr):
        if expr.shape:
            raise ParseError(f"the {kind.replace('_', ' ')} must be a scalar; the text gives "
                             f"an array of shape {expr.shape} (wrap it in sum(...)?)")
        expr = expr.at(())
    expr = sp.sympify(expr)
    if kind == "energy":
        expr = -expr
    elif kind == "density":
        expr = sp.log(expr)
    elif kind != "log_density":
        raise DensityError(f"kind must be log_density, density or energy, got {kind!r}")
    if not expr.has(x):
        raise DensityError(f"the variable {vname!r} does not appear in the {kind}")
    defaults = None
    if values:
        groups = {g.name: g for g in G}
        defaults = {}
        for g in G:
            if g.name not in values:
                raise DensityError(f"[values] has no value for {g.name!r}")
            defaults[g.name] = _default_value(g, values[g.name]) if g.shape else \
                float(values[g.name])
        extra = set(values) - set(groups)
        if extra:
            raise DensityError(f"[values] names unknown parameter(s) {sorted(extra)}")
    return StructuredDensity(Structure(D, x, tuple(G), stabilize(expr)), name,
                             defaults=defaults)
