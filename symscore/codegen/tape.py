"""An SSA tape of small assignments ``t_i = f(atoms)`` built from SymPy expressions.

Every sub-expression is stored once (hash-consing), so all outputs computed on
one tape share their common sub-expressions. ``LogSumExp(a_1..a_K)`` is split
into ``m = max(a)``, ``e_k = exp(a_k − m)``, ``S = Σ e_k`` and ``m + log S``; m is a
*stop-gradient* node: the value of ``m + log Σ exp(a_k − m)`` does not depend on
m, so treating m as a constant when differentiating is exact, and the softmax
weights ``∂/∂a_k = e_k / S`` reuse the K exponentials.

>>> import sympy as sp
>>> from symscore.stable import LogSumExp
>>> a, b = sp.symbols("a b", real=True)
>>> tape = Tape(varying=[a, b])
>>> out = tape.linearize(LogSumExp(a, b))
>>> [type(e).__name__ for _, e in tape.nodes]
['StopMax', 'Add', 'exp', 'Add', 'exp', 'Add', 'log', 'Add']
>>> is_operand(tape.linearize(3 * a**2 * sp.exp(b)))   # monomials stay inline
True
"""

from __future__ import annotations

from typing import Iterable

import sympy as sp
from sympy.core.logic import fuzzy_and

from ..errors import CodegenError
from ..stable import LogSumExp

__all__ = ["Tape", "StopMax", "is_operand"]


_NONFINITE = {sp.zoo, sp.nan, sp.oo, -sp.oo}


class StopMax(sp.Function):
    """``max(a_1, …)`` whose derivative is taken as zero (used only where the
    enclosing expression is exactly invariant to its value)."""

    nargs = None

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _eval_is_extended_real(self):
        return fuzzy_and(a.is_extended_real for a in self.args)

    def _eval_evalf(self, prec):
        vals = [a._eval_evalf(prec) for a in self.args]
        if any(v is None or not v.is_Number for v in vals):
            return None
        return max(vals)


def is_operand(e: sp.Expr) -> bool:
    """An atom or a monomial ``c·∏ aᵢ^kᵢ`` of atoms with integer powers: cheap to
    inline, so it is never a node of its own (a node holds a sum or a function)."""
    if e.is_Atom:
        return True
    if e.is_Pow:
        return e.base.is_Atom and e.exp.is_Integer
    if e.is_Mul:
        return all(a.is_Atom or (a.is_Pow and a.base.is_Atom and a.exp.is_Integer)
                   for a in e.args)
    return False


class Tape:
    """Ordered assignments over input symbols.

    ``varying`` are per-sample inputs (x, noise, projections, σ); every other
    free symbol is a parameter. Nodes that depend on no varying input are
    θ-only and may be hoisted out of per-sample loops.
    """

    def __init__(self, varying: Iterable[sp.Symbol] = ()):
        self.nodes: list[tuple[sp.Symbol, sp.Expr]] = []
        self.index: dict[sp.Symbol, int] = {}
        self.args: dict[sp.Symbol, tuple[sp.Symbol, ...]] = {}
        self.varying_inputs = set(varying)
        self.varying: set[sp.Symbol] = set()
        self.stopgrad: set[sp.Symbol] = set()
        self._table: dict[sp.Expr, sp.Symbol] = {}
        self._memo: dict[sp.Expr, sp.Expr] = {}
        self._partials: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}

    # -- building ------------------------------------------------------------
    def is_node(self, s) -> bool:
        return s in self.index

    def depends_on_sample(self, e: sp.Expr) -> bool:
        return any(s in self.varying or s in self.varying_inputs for s in e.free_symbols)

    def node(self, expr: sp.Expr) -> sp.Expr:
        """The operand standing for ``expr`` (whose sub-expressions are operands)."""
        if is_operand(expr):
            return expr
        if not expr.free_symbols:  # a numeric constant such as log(2π): fold it
            value = expr.evalf(40)
            if not value.is_Number or not value.is_finite:
                raise CodegenError(f"constant {expr} is not a finite real number")
            return sp.Float(value, 40)
        sym = self._table.get(expr)
        if sym is not None:
            return sym
        return self._new(expr)

    def _new(self, expr: sp.Expr) -> sp.Symbol:
        if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise CodegenError(f"expression {sp.sstr(expr)[:80]} is not finite")
        i = len(self.nodes)
        sym = sp.Dummy(f"t{i}", real=True)
        self.nodes.append((sym, expr))
        self.index[sym] = i
        self._table[expr] = sym
        self.args[sym] = tuple(sorted((s for s in expr.free_symbols if s not in self.stopgrad),
                                      key=sp.default_sort_key))
        if self.depends_on_sample(expr):
            self.varying.add(sym)
        return sym

    def as_node(self, operand: sp.Expr) -> sp.Expr:
        """A node symbol holding ``operand`` (numbers stay numbers)."""
        operand = sp.sympify(operand)
        if operand.is_Number or operand in self.index:
            return operand
        sym = self._table.get(operand)
        if sym is None:
            sym = self._new(operand)
        return sym

    def linearize(self, expr) -> sp.Expr:
        """Add ``expr`` to the tape; return the operand holding its value."""
        expr = sp.sympify(expr)
        if expr.is_Atom and expr in _NONFINITE:
            raise CodegenError(f"an expression to compile contains the non-finite {expr}")
        if is_operand(expr):
            return expr
        hit = self._memo.get(expr)
        if hit is not None:
            return hit
        if isinstance(expr, LogSumExp):
            out = self._logsumexp([self.linearize(a) for a in expr.args])
        elif isinstance(expr, sp.Piecewise):
            pairs = [(self.linearize(e), self._condition(c)) for e, c in expr.args]
            out = self.node(sp.Piecewise(*pairs))
        elif isinstance(expr, (sp.Derivative, sp.Integral, sp.Subs)) or not expr.args:
            raise CodegenError(f"cannot compile {type(expr).__name__}: {sp.sstr(expr)[:80]}")
        else:
            args = [self.linearize(a) if isinstance(a, sp.Expr) else a for a in expr.args]
            out = self.node(expr.func(*args))
        self._memo[expr] = out
        return out

    def _condition(self, cond):
        if cond in (sp.true, sp.false):
            return cond
        if isinstance(cond, sp.core.relational.Relational):
            return cond.func(self.linearize(cond.lhs), self.linearize(cond.rhs))
        if isinstance(cond, (sp.And, sp.Or, sp.Not)):
            return cond.func(*[self._condition(c) for c in cond.args])
        raise CodegenError(f"cannot compile the condition {cond}")

    def _logsumexp(self, a):
        m = self.node(StopMax(*a))
        self.stopgrad.add(m)
        e = [self.node(sp.exp(self.node(ak - m))) for ak in a]
        s = self.node(sp.Add(*e))
        return self.node(m + self.node(sp.log(s)))

    # -- local derivatives ----------------------------------------------------
    def partial(self, node: sp.Symbol, arg: sp.Symbol) -> sp.Expr:
        """∂(expression of ``node``)/∂``arg`` as an operand on this tape."""
        key = (node, arg)
        hit = self._partials.get(key)
        if hit is None:
            expr = self.nodes[self.index[node]][1]
            try:
                d = sp.diff(expr, arg)
            except Exception as exc:  # pragma: no cover - SymPy internals
                raise CodegenError(f"cannot differentiate {sp.sstr(expr)[:80]}: {exc}") from None
            hit = self.linearize(d)
            self._partials[key] = hit
        return hit

    def ancestors(self, outputs: Iterable[sp.Expr]) -> list[sp.Symbol]:
        """Nodes needed to compute ``outputs``, in tape order."""
        seen: set[sp.Symbol] = set()
        stack = [s for o in outputs for s in sp.sympify(o).free_symbols if s in self.index]
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            stack.extend(a for a in self.nodes[self.index[s]][1].free_symbols
                         if a in self.index and a not in seen)
        return sorted(seen, key=self.index.__getitem__)
