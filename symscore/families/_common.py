"""Helpers shared by the family constructors: argument checks, the variables
x_0 … x_{D-1}, and named per-coordinate parameter vectors."""

from __future__ import annotations

import sympy as sp

from ..errors import DensityError
from ..params import ParamGroup


def check_count(value, what: str, minimum: int = 1) -> int:
    """``value`` must be an int ≥ ``minimum`` (bools rejected); returns it."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise DensityError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def check_choice(value, what: str, choices) -> str:
    if value not in choices:
        raise DensityError(f"{what} must be one of {tuple(choices)}, got {value!r}")
    return value


def variables(dim: int) -> tuple[sp.Symbol, ...]:
    """The real variables x_0 … x_{dim-1} (the same names in every family)."""
    return tuple(sp.Symbol(f"x_{i}", real=True) for i in range(dim))


def vector(prefix: str, n: int, group: str, positive: bool = False
           ) -> tuple[list[sp.Symbol], ParamGroup]:
    """Symbols ``prefix_0 … prefix_{n-1}`` and the (n,)-shaped group named ``group``."""
    assume = {"positive": True} if positive else {"real": True}
    syms = [sp.Symbol(f"{prefix}_{i}", **assume) for i in range(n)]
    return syms, ParamGroup(group, (n,), tuple(((i,), s) for i, s in enumerate(syms)))


def declared(*symbol_lists) -> list[tuple[sp.Symbol, str]]:
    """(Symbol, domain) pairs: positive symbols get the positive domain, others real."""
    return [(s, "positive" if s.is_positive else "real") for syms in symbol_lists for s in syms]


CHOLESKY_KINDS = ("full", "diag", "iso")


def precision_cholesky(dim: int, kind: str, name: str = "L"):
    """A lower-triangular factor L of a precision P = L Lᵀ with positive diagonal.

    Returns (L as nested lists, group entries, group shape): ``kind="full"``
    has symbols ``L_i_j`` (j ≤ i), ``"diag"`` ``L_i``, ``"iso"`` one ``L``.
    """
    check_choice(kind, "kind", CHOLESKY_KINDS)
    if kind == "full":
        L = [[(sp.Symbol(f"{name}_{i}_{j}", positive=True) if i == j
               else sp.Symbol(f"{name}_{i}_{j}", real=True)) if j <= i else sp.S.Zero
              for j in range(dim)] for i in range(dim)]
        return L, tuple(((i, j), L[i][j]) for i in range(dim) for j in range(i + 1)), (dim, dim)
    if kind == "diag":
        d = [sp.Symbol(f"{name}_{i}", positive=True) for i in range(dim)]
        L = [[d[i] if i == j else sp.S.Zero for j in range(dim)] for i in range(dim)]
        return L, tuple(((i,), d[i]) for i in range(dim)), (dim,)
    c = sp.Symbol(name, positive=True)
    L = [[c if i == j else sp.S.Zero for j in range(dim)] for i in range(dim)]
    return L, (((), c),), ()


def identity_like(dim: int, kind: str, scale: float = 1.0):
    """``scale``·I in the array layout of :func:`precision_cholesky`'s group."""
    if kind == "full":
        return [[scale * (i == j) for j in range(dim)] for i in range(dim)]
    return [scale] * dim if kind == "diag" else scale


def mahalanobis(L, r) -> sp.Expr:
    """‖Lᵀ r‖² = rᵀ L Lᵀ r, with (Lᵀ r)_j = Σ_{i ≥ j} L_ij r_i."""
    D = len(r)
    return sp.Add(*[sp.Add(*[L[i][j] * r[i] for i in range(j, D)])**2 for j in range(D)])
