"""Display notation for proof statements, and size guards for big expressions.

:class:`Tex` is a SymPy symbol that prints as the given LaTeX (used for the
vector-level statements of the argument: ``J_ESM(θ)``, ``∇·s``, ``C``);
generic identities use undefined functions of (xᵢ, x₋ᵢ) so SymPy can check them.

>>> import sympy as sp
>>> sp.latex(Tex(r"\\nabla\\cdot s") + 1)
'\\\\nabla\\\\cdot s + 1'
>>> node_count(sp.Symbol("x") + 1, limit=10)
3
"""

from __future__ import annotations

import sympy as sp

from ..latex import node_count

__all__ = ["Tex", "XI", "XREST", "generic_coordinate_functions", "node_count", "is_small",
           "shown", "SMALL"]

#: expressions with more nodes than this are summarised in statements/evidence
SMALL = 160


class Tex(sp.Symbol):
    """A symbol whose LaTeX is its name (a piece of mathematical notation)."""

    def _latex(self, printer):
        return self.name


XI = sp.Symbol("x_i", real=True)          # the coordinate being integrated
XREST = sp.Symbol("x_{-i}", real=True)    # all other coordinates, held fixed


def generic_coordinate_functions(*names: str):
    """Undefined functions of (xᵢ, x₋ᵢ): arbitrary smooth fields for generic identities."""
    return tuple(sp.Function(n)(XI, XREST) for n in names)


def is_small(expr, limit: int = SMALL) -> bool:
    return node_count(expr, limit) <= limit


def shown(expr, fallback):
    """``expr`` if small enough to display, else ``fallback`` (notation)."""
    return expr if is_small(expr) else fallback


def cheap_to_expand(expr, max_power: int = 12) -> bool:
    """False when expanding ``expr`` may blow up: an integer power above
    ``max_power`` of a sum (e.g. (x² + y² + 1)**500)."""
    return all(not (e.is_Pow and e.exp.is_Integer and abs(e.exp) > max_power
                    and e.base.is_Add)
               for e in sp.preorder_traversal(expr))
