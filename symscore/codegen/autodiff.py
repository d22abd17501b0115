"""Symbolic automatic differentiation on a :class:`~symscore.codegen.tape.Tape`.

Reverse mode gives a gradient in one sweep (the score ∇x log p~, a θ-gradient
of a loss integrand); forward mode over the reverse sweep gives Hessian columns
(∂ⱼ s = H e_j), hence the divergence Σⱼ ∂ⱼ sⱼ. All new quantities are appended
to the same tape, so they share sub-expressions with what is already there.

>>> import sympy as sp
>>> from symscore.codegen.tape import Tape
>>> x, a = sp.symbols("x a", real=True)
>>> tape = Tape(varying=[x])
>>> f = tape.linearize(-a * x**4 / 4)
>>> (g,) = reverse(tape, f, [x])
>>> (h,) = forward(tape, {x: sp.Integer(1)}, [g])
>>> sp.simplify(materialize(tape, g)), sp.simplify(materialize(tape, h))
(-a*x**3, -3*a*x**2)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import sympy as sp

from .tape import Tape

__all__ = ["reverse", "forward", "materialize"]


def reverse(tape: Tape, output: sp.Expr, wrt: Sequence[sp.Symbol],
            seed: sp.Expr = sp.S.One) -> list[sp.Expr]:
    """Operands for ∂output/∂w (times ``seed``) for every w in ``wrt``.

    ``wrt`` may hold input symbols or tape nodes."""
    wanted = set(wrt)
    adj: dict[sp.Symbol, list[sp.Expr]] = {}
    output = sp.sympify(output)
    if output.is_Number:
        return [sp.S.Zero for _ in wrt]
    atom = tape.as_node(output) if not output.is_Symbol else output
    adj[atom] = [seed]
    order = tape.ancestors([atom])
    done: dict[sp.Symbol, sp.Expr] = {}
    for n in reversed(order):
        contrib = adj.pop(n, None)
        if not contrib:
            continue
        bar = _shared(tape, tape.linearize(sp.Add(*contrib)))
        done[n] = bar
        if bar == 0:
            continue
        for a in tape.args[n]:
            if a in tape.stopgrad:
                continue
            if a not in tape.index and a not in wanted:
                continue
            p = tape.partial(n, a)
            if p != 0:
                adj.setdefault(a, []).append(tape.linearize(bar * p))
    out = []
    for w in wrt:
        if w in done:
            out.append(done[w])
        elif w in adj:
            out.append(tape.linearize(sp.Add(*adj[w])))
        else:
            out.append(sp.S.Zero)
    return out


def forward(tape: Tape, seeds: Mapping[sp.Symbol, sp.Expr],
            outputs: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Directional derivatives of ``outputs`` along ``seeds`` (input or node → tangent)."""
    tan: dict[sp.Symbol, sp.Expr] = {k: v for k, v in seeds.items() if v != 0}
    outs = [sp.sympify(o) for o in outputs]
    outs = [o if o.is_Number or o.is_Symbol else tape.as_node(o) for o in outs]
    for n in tape.ancestors([o for o in outs if not o.is_Number]):
        if n in tan or n in tape.stopgrad:
            continue
        terms = [tape.linearize(tape.partial(n, a) * tan[a]) for a in tape.args[n]
                 if a in tan and a not in tape.stopgrad]
        terms = [t for t in terms if t != 0]
        if terms:
            tan[n] = _shared(tape, tape.linearize(sp.Add(*terms)))
    return [sp.S.Zero if o.is_Number else tan.get(o, sp.S.Zero) for o in outs]


def _shared(tape: Tape, operand: sp.Expr) -> sp.Expr:
    """Adjoints and tangents are reused by every consumer: keep a product of
    several atoms in a node of its own instead of re-multiplying it everywhere."""
    if operand.is_Atom or (operand.is_Mul and len(operand.args) == 2
                           and operand.args[0].is_Number):
        return operand
    return tape.as_node(operand)


def materialize(tape: Tape, operand: sp.Expr) -> sp.Expr:
    """Substitute the tape back into an operand (for tests and headers; may be big)."""
    memo: dict[sp.Symbol, sp.Expr] = {}
    for n in tape.ancestors([operand]):
        expr = tape.nodes[tape.index[n]][1]
        memo[n] = expr.xreplace(memo)
    return sp.sympify(operand).xreplace(memo)
