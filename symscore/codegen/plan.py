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
    c0 = c[0]
    x0 = x[0]
    return x0*c0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..errors import CodegenError
from .printer import ScalarPrinter, VectorPrinter, op_count
from .tape import Tape

__all__ = ["Fn", "Plan", "plan_module", "print_function", "print_consts", "body_parts",
           "column_name", "ROW_ARGS"]

ROW_ARGS = frozenset({"x", "z", "v", "s", "H", "out", "g"})  # per-sample arrays


@dataclass(frozen=True)
class Fn:
    """A generated per-sample function.

    ``outputs``: (mode, (array, index) or None, operand) with mode ``return``,
    ``store`` (array[index] = value) or ``add`` (array[index] += value).
    ``hoisted``: read θ-only values from ``c`` (else compute them inline).
    ``ranges``: which CPU range drivers to print for it (``"sums"``,
    ``"values"``, ``"grad"``; see :mod:`symscore.codegen.ranges`)."""

    name: str
    args: tuple[str, ...]
    outputs: tuple
    doc: str = ""
    hoisted: bool = True
    ranges: tuple = ()


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

def _expr(tape, n):
    return tape.nodes[tape.index[n]][1]


def plan_module(tape: Tape, fns, inputs) -> Plan:
    plan = Plan(tape, list(fns), dict(inputs))
    const_refs: set[sp.Symbol] = set()
    for fn in plan.fns:
        needed = tape.ancestors(_operands(fn))
        if fn.hoisted:
            body = [n for n in needed if n in tape.varying]
            exprs = [_expr(tape, n) for n in body] + [sp.sympify(o) for o in _operands(fn)]
            for e in exprs:
                const_refs.update(a for a in e.free_symbols
                                  if a in tape.index and a not in tape.varying)
        else:
            body = needed
        plan.bodies[fn.name] = body
        plan.ops[fn.name] = (sum(op_count(_expr(tape, n)) for n in body)
                             + sum(op_count(sp.sympify(o)) for o in _operands(fn)))
    for k, n in enumerate(sorted(const_refs, key=tape.index.__getitem__)):
        plan.slots[n] = k
    cbody = tape.ancestors(list(plan.slots))
    plan.bodies["consts"] = cbody
    plan.ops["consts"] = sum(op_count(_expr(tape, n)) for n in cbody)
    return plan


def column_name(name: str) -> str:
    """``ism_c`` -> ``ism_col``; ``ssm_from`` -> ``ssm_from_col``."""
    return (name[:-2] if name.endswith("_c") else name) + "_col"


def _column_args(args):
    out, seen_row = [], False
    for a in args:
        if a in ROW_ARGS:
            out.append(a + "b")
            if not seen_row:
                out.append("n")
                seen_row = True
        else:
            out.append(a)
    return tuple(out)


def _printer(table, style, dtype, fast_exp):
    if style == "scalar":
        return ScalarPrinter(table, dtype=dtype, fast_exp=fast_exp)
    return VectorPrinter(table, dtype=dtype)


def _element(arg, idx, style, column):
    if arg in ROW_ARGS and column:
        return f"{arg}b[{idx}, n]"
    if arg in ROW_ARGS and style == "vector":
        return f"{arg}[:, {idx}]"
    return f"{arg}[{idx}]"


def body_parts(plan: Plan, body, outputs, style, dtype, use_slots, column, fast_exp,
               split_invariant=False):
    """(invariant loads, lines, returned value) of a function body, unindented.

    Lines are: element loads first (so that a loop over samples around an
    inlined call vectorises), then assignments, then stores. With
    ``split_invariant`` the loads of θ and c entries are returned separately so
    that a caller can hoist them above a loop over samples."""
    tape = plan.tape
    exprs = [_expr(tape, n) for n in body] + [sp.sympify(o) for _, _, o in outputs]
    used = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
    table = {n: f"t{i}" for n, i in tape.index.items()}
    loads = []
    for sym in used:
        if sym in plan.inputs:
            arg, idx = plan.inputs[sym]
            if idx is None:
                table[sym] = arg
                continue
            local = f"{'th' if arg == 'theta' else arg}{idx}"
            loads.append(((arg, idx), local, _element(arg, idx, style, column)))
            table[sym] = local
        elif use_slots and sym in plan.slots:
            k = plan.slots[sym]
            loads.append((("c", k), f"c{k}", f"c[{k}]"))
            table[sym] = f"c{k}"
    pr = _printer(table, style, dtype, fast_exp)
    loads.sort()
    invariant = [f"{local} = {src}" for (arg, _), local, src in loads
                 if split_invariant and arg not in ROW_ARGS]
    lines = [f"{local} = {src}" for (arg, _), local, src in loads
             if not (split_invariant and arg not in ROW_ARGS)]
    for n in body:
        lines.append(f"{table[n]} = {pr.doprint(_expr(tape, n))}")
    ret = None
    for mode, dest, operand in outputs:
        operand = sp.sympify(operand)
        value = pr.doprint(operand)
        if mode == "return":
            ret = value
            continue
        target = _element(dest[0], dest[1], style, column)
        if mode == "store" or (mode == "add" and column):
            lines.append(f"{target} = {value}")
        elif mode == "add":
            if operand != 0:
                lines.append(f"{target} += {value}")
        else:  # pragma: no cover - internal misuse
            raise CodegenError(f"unknown output mode {mode!r}")
    plan.__dict__.setdefault("helpers", set()).update(pr.helpers_used)
    return invariant, lines, ret


def _body(plan, body, outputs, style, dtype, use_slots, column, fast_exp):
    _, lines, ret = body_parts(plan, body, outputs, style, dtype, use_slots, column, fast_exp)
    if ret is not None:
        lines.append(f"return {ret}")
    return ["    " + line for line in lines]


def print_function(plan: Plan, fn: Fn, style: str, dtype: str, decorator: str | None = None,
                   column: bool = False, fast_exp: bool = False) -> str:
    """Source of one function. ``style``: ``"scalar"`` (numba) or ``"vector"``
    (NumPy). ``column=True`` gives the block variant ``<name>_col`` reading sample
    n of column-major blocks (``xb[i, n]``) and storing into ``outb[i, n]`` /
    ``gb[j, n]`` (every j), so that a loop over n around it vectorises."""
    name = column_name(fn.name) if column else fn.name
    args = _column_args(fn.args) if column else fn.args
    lines = [decorator] if decorator else []
    lines.append(f"def {name}({', '.join(args)}):")
    doc = (fn.doc + " " if fn.doc else "") + f"ops: {plan.ops[fn.name]}"
    lines.append(f"    '''{doc}'''")
    lines += _body(plan, plan.bodies[fn.name], fn.outputs, style, dtype, fn.hoisted, column,
                   fast_exp)
    return "\n".join(lines)


def print_consts(plan: Plan, style: str, dtype: str, decorator: str | None = None,
                 fast_exp: bool = False) -> str:
    """``consts(theta, c)``: the θ-only values the hoisted functions read from c."""
    outputs = [("store", ("c", k), n) for n, k in plan.slots.items()]
    if not outputs:
        outputs = [("store", ("c", 0), sp.S.Zero)]
    lines = [decorator] if decorator else []
    lines.append("def consts(theta, c):")
    lines.append(f"    '''θ-only sub-expressions: c[0:{plan.n_consts}]. "
                 f"ops: {plan.ops['consts']}'''")
    lines += _body(plan, plan.bodies["consts"], outputs, style, dtype, False, False, fast_exp)
    return "\n".join(lines)
