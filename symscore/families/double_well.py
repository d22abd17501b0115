"""A quartic double-well energy in every coordinate (2^D modes).

    E(x) = Σᵢ [ a xᵢ⁴/4 − b xᵢ²/2 ],   log p~ = −E,   a > 0, b real.

For b > 0 each coordinate has wells at ±√(b/a) separated by a barrier of
height b²/(4a); b ≤ 0 gives a single (flat-topped) well. The score is
sᵢ = −a xᵢ³ + b xᵢ. log p~ is linear in (a, b) — an exponential family — so
the ISM estimate of (a, b) has a closed form (useful to check fitting code).
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ._common import check_count, variables


def double_well(dim: int = 1, name: str | None = None) -> Density:
    """Product of quartic double wells (unnormalised).

    Parameters (scalar groups): ``a`` > 0 (quartic coefficient), ``b`` real
    (quadratic coefficient). Defaults: a = 1, b = 2 (wells at ±√2, barrier 1).

    >>> double_well(dim=2).score.T
    Matrix([[-a*x_0**3 + b*x_0, -a*x_1**3 + b*x_1]])
    """
    check_count(dim, "dim")
    xs = variables(dim)
    a = sp.Symbol("a", positive=True)
    b = sp.Symbol("b", real=True)
    energy = sp.Add(*[a * x**4 / 4 - b * x**2 / 2 for x in xs])
    return Density.from_energy(energy, xs, [(a, "positive"), (b, "real")],
                               name=name or f"double_well(dim={dim})",
                               defaults={"a": 1.0, "b": 2.0})
