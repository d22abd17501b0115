"""The banana (Rosenbrock) energy, chained over D ≥ 2 coordinates.

    E(x) = Σ_{i=0}^{D−2} [ b (x_{i+1} − xᵢ²)² + c (a − xᵢ)² ],   log p~ = −E,

with a real, b > 0, c > 0. The defaults a = 1, b = 5, c = 1/20 give Goodman &
Weare's (2010) Rosenbrock density exp(−[100(x₁ − x₀²)² + (1 − x₀)²]/20): a
thin curved ridge along x_{i+1} = xᵢ², hard for isotropic samplers.
"""

from __future__ import annotations

import sympy as sp

from ..density import Density
from ._common import check_count, variables


def banana(dim: int = 2, name: str | None = None) -> Density:
    """Rosenbrock's banana in ``dim`` ≥ 2 dimensions (unnormalised).

    Parameters (scalar groups): ``a`` real (ridge end), ``b`` > 0 (ridge
    stiffness), ``c`` > 0 (pull towards a). Defaults: a = 1, b = 5, c = 0.05.

    >>> banana().score.T
    Matrix([[4*b*x_0*(-x_0**2 + x_1) - c*(-2*a + 2*x_0), -b*(-2*x_0**2 + 2*x_1)]])
    """
    check_count(dim, "dim", minimum=2)
    xs = variables(dim)
    a = sp.Symbol("a", real=True)
    b, c = sp.symbols("b c", positive=True)
    energy = sp.Add(*[b * (xs[i + 1] - xs[i]**2)**2 + c * (a - xs[i])**2 for i in range(dim - 1)])
    return Density.from_energy(energy, xs, [(a, "real"), (b, "positive"), (c, "positive")],
                               name=name or f"banana(dim={dim})",
                               defaults={"a": 1.0, "b": 5.0, "c": 0.05})
