"""Structured densities: x ∈ ℝ^D and θ as vectors and matrices, kept in index form
(``IndexedBase`` / ``Sum``) so that deriving, proving and compiling cost the same
at D = 1000 as at D = 2. See :mod:`.core` (the density), :mod:`.indexed` (exact
derivatives with range guards removed), :mod:`.models` (the families).

The families choose the form automatically (``structured=None``: index form from
``STRUCTURED_FROM_DIM`` dimensions on) and accept ``structured=True/False``.

>>> import symscore as ss
>>> ss.families.gaussian(dim=3).structure is None, ss.families.gaussian(dim=200).dim
(True, 200)

With a symbolic dimension the model builders return the :class:`Structure` itself,
whose derivations hold for every D:

>>> import sympy as sp
>>> from symscore.structured import models
>>> models.gaussian_graphical(sp.Symbol("D", integer=True, positive=True)).divergence
-Sum(K[i, i], (i, 0, D - 1))
"""

from ..errors import DensityError
from .core import GRAD_INDICES, J, Structure, StructuredDensity
from .groups import ArrayGroup
from .indexed import StructureError, contract, derivative

__all__ = ["Structure", "StructuredDensity", "ArrayGroup", "StructureError", "contract",
           "derivative", "J", "GRAD_INDICES", "STRUCTURED_FROM_DIM", "choose"]

#: from this dimension on the families build the index form unless told otherwise
STRUCTURED_FROM_DIM = 16


def choose(structured, dim: int) -> bool:
    """Resolve a family's ``structured`` option (None = automatic by dimension)."""
    if structured is None:
        return dim >= STRUCTURED_FROM_DIM
    if not isinstance(structured, bool):
        raise DensityError(f"structured must be True, False or None, got {structured!r}")
    return structured
