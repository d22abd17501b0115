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
    coeff, atom = _split_operand(output)
    if atom is None:
        return [sp.S.Zero for _ in wrt]
    adj[atom] = [seed * coeff]
    order = tape.ancestors([atom])
    done: dict[sp.Symbol, sp.Expr] = {}
    for n in reversed(order):
        contrib = adj.pop(n, None)
        if not contrib:
            continue
        bar = tape.linearize(sp.Add(*contrib))
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
    atoms = [_split_operand(o) for o in outputs]
    for n in tape.ancestors([a for _, a in atoms if a is not None]):
        if n in tan or n in tape.stopgrad:
            continue
        terms = [tape.linearize(tape.partial(n, a) * tan[a]) for a in tape.args[n]
                 if a in tan and a not in tape.stopgrad]
        terms = [t for t in terms if t != 0]
        if terms:
            tan[n] = tape.linearize(sp.Add(*terms))
    res = []
    for coeff, atom in atoms:
        t = tan.get(atom, sp.S.Zero) if atom is not None else sp.S.Zero
        res.append(tape.linearize(coeff * t))
    return res


def _split_operand(e: sp.Expr):
    """(coefficient, atom) of an operand; atom None for a pure number."""
    e = sp.sympify(e)
    if e.is_Number:
        return e, None
    if e.is_Atom:
        return sp.S.One, e
    return e.args[0], e.args[1]


def materialize(tape: Tape, operand: sp.Expr) -> sp.Expr:
    """Substitute the tape back into an operand (for tests and headers; may be big)."""
    memo: dict[sp.Symbol, sp.Expr] = {}
    for n in tape.ancestors([operand]):
        expr = tape.nodes[tape.index[n]][1]
        memo[n] = expr.xreplace(memo)
    return sp.sympify(operand).xreplace(memo)
