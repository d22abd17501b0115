"""Kernel plan: which tape assignments each generated function needs, in order.

A :class:`Fn` names its arguments and its outputs (``return``, ``store`` into
an output array, or ``add`` into an accumulator). :func:`plan_module` removes
dead assignments per function, hoists θ-only ones into a shared
``consts(theta, c)`` function (c[k] slots), and counts operations.
:func:`print_function` turns a planned function into Python source.

>>> import sympy as sp
>>> from symscore.codegen.tape import Tape
>>> x, a = sp.symbols("x a", real=True)
>>> tape = Tape(varying=[x])
>>> y = tape.linearize(sp.exp(-a**2) * x)
>>> plan = plan_module(tape, [Fn("f", ("x", "theta", "c"), (("return", None, y),))],
...                    {x: ("x", 0), a: ("theta", 0)})
>>> print(print_function(plan, plan.fns[0], "scalar", "float64"))
def f(x, theta, c):
    '''ops: 1'''
    t2 = x[0]*c[0]
    return t2
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..errors import CodegenError
from .printer import ScalarPrinter, VectorPrinter, op_count
from .tape import Tape

__all__ = ["Fn", "Plan", "plan_module", "print_function", "print_consts"]

ROW_ARGS = frozenset({"x", "z", "v", "s", "H", "out", "g"})  # per-sample arrays


@dataclass(frozen=True)
class Fn:
    """A generated per-sample function.

    ``outputs``: (mode, (array, index) or None, operand) with mode ``return``,
    ``store`` (array[index] = value) or ``add`` (array[index] += value).
    ``hoisted``: read θ-only values from ``c`` (else compute them inline)."""

    name: str
    args: tuple[str, ...]
    outputs: tuple
    doc: str = ""
    hoisted: bool = True


@dataclass
class Plan:
    tape: Tape
    fns: list[Fn]
    inputs: dict  # input symbol -> (argument name, index or None)
    slots: dict = field(default_factory=dict)  # θ-only node -> c index
    bodies: dict = field(default_factory=dict)  # fn name -> ordered nodes
    ops: dict = field(default_factory=dict)  # fn name -> operation count

    @property
    def n_consts(self) -> int:
        return len(self.slots)


def _operands(fn: Fn):
    return [o for _, _, o in fn.outputs]


def plan_module(tape: Tape, fns, inputs) -> Plan:
    plan = Plan(tape, list(fns), dict(inputs))
    const_refs: set[sp.Symbol] = set()
    for fn in plan.fns:
        needed = tape.ancestors(_operands(fn))
        if fn.hoisted:
            body = [n for n in needed if n in tape.varying]
            for n in body:
                const_refs.update(a for a in tape.nodes[tape.index[n]][1].free_symbols
                                  if a in tape.index and a not in tape.varying)
            for o in _operands(fn):
                const_refs.update(a for a in sp.sympify(o).free_symbols
                                  if a in tape.index and a not in tape.varying)
        else:
            body = needed
        plan.bodies[fn.name] = body
        plan.ops[fn.name] = sum(op_count(tape.nodes[tape.index[n]][1]) for n in body)
    for k, n in enumerate(sorted(const_refs, key=tape.index.__getitem__)):
        plan.slots[n] = k
    cbody = tape.ancestors(list(plan.slots))
    plan.bodies["consts"] = cbody
    plan.ops["consts"] = sum(op_count(tape.nodes[tape.index[n]][1]) for n in cbody)
    return plan


def _symbol_table(plan: Plan, style: str, use_slots: bool) -> dict:
    table = {}
    for sym, (arg, idx) in plan.inputs.items():
        if idx is None:
            table[sym] = arg
        elif style == "vector" and arg in ROW_ARGS:
            table[sym] = f"{arg}[:, {idx}]"
        else:
            table[sym] = f"{arg}[{idx}]"
    for n, i in plan.tape.index.items():
        table[n] = f"t{i}"
    if use_slots:
        for n, k in plan.slots.items():
            table[n] = f"c[{k}]"
    return table


def _printer(table, style, dtype):
    cls = ScalarPrinter if style == "scalar" else VectorPrinter
    return cls(table, dtype=dtype)


def _dest(arr, idx, style):
    return f"{arr}[:, {idx}]" if style == "vector" and arr in ROW_ARGS else f"{arr}[{idx}]"


def print_function(plan: Plan, fn: Fn, style: str, dtype: str,
                   decorator: str | None = None) -> str:
    """Source of one function; ``style`` is ``"scalar"`` (numba) or ``"vector"`` (NumPy)."""
    tape = plan.tape
    table = _symbol_table(plan, style, fn.hoisted)
    pr = _printer(table, style, dtype)
    lines = [decorator] if decorator else []
    lines.append(f"def {fn.name}({', '.join(fn.args)}):")
    doc = (fn.doc + " " if fn.doc else "") + f"ops: {plan.ops[fn.name]}"
    lines.append(f"    '''{doc}'''")
    for n in plan.bodies[fn.name]:
        lines.append(f"    {table[n]} = {pr.doprint(tape.nodes[tape.index[n]][1])}")
    ret = None
    for mode, dest, operand in fn.outputs:
        value = pr.doprint(sp.sympify(operand))
        if mode == "return":
            ret = value
        elif mode == "store":
            lines.append(f"    {_dest(*dest, style)} = {value}")
        elif mode == "add":
            lines.append(f"    {_dest(*dest, style)} += {value}")
        else:  # pragma: no cover - internal misuse
            raise CodegenError(f"unknown output mode {mode!r}")
    if ret is not None:
        lines.append(f"    return {ret}")
    pr_helpers = pr.helpers_used
    plan.__dict__.setdefault("helpers", set()).update(pr_helpers)
    return "\n".join(lines)


def print_consts(plan: Plan, style: str, dtype: str, decorator: str | None = None,
                 args: tuple[str, ...] = ("theta", "c")) -> str:
    """``consts(theta, c)``: the θ-only values the hoisted functions read from c."""
    tape = plan.tape
    table = _symbol_table(plan, style, use_slots=False)
    pr = _printer(table, style, dtype)
    lines = [decorator] if decorator else []
    lines.append(f"def consts({', '.join(args)}):")
    lines.append(f"    '''θ-only sub-expressions: c[0:{plan.n_consts}]. ops: "
                 f"{plan.ops['consts']}'''")
    for n in plan.bodies["consts"]:
        lines.append(f"    {table[n]} = {pr.doprint(tape.nodes[tape.index[n]][1])}")
    for n, k in plan.slots.items():
        lines.append(f"    c[{k}] = {table[n]}")
    if not plan.slots:
        lines.append("    c[0] = " + pr.doprint(sp.S.Zero))
    plan.__dict__.setdefault("helpers", set()).update(pr.helpers_used)
    return "\n".join(lines)
