"""The Gaussian graphical model (Lin, Drton & Shojaie 2016): a centred Gaussian
with its precision matrix K as the parameter,

    log p~(x) = −½ xᵀ K x,      K symmetric positive definite,

unnormalised (½ log det K − (D/2) log 2π is θ-only). The zeros of K are the
missing edges of the graph. Linear in K, so score matching is an exact
quadratic (normal equations: the Lyapunov equation K Σ̂ + Σ̂ K = 2I).
"""

from __future__ import annotations

from ..density import Density
from ._common import check_count


def gaussian_graphical(dim: int = 2, name: str | None = None,
                       structured: bool | None = None) -> Density:
    """Centred Gaussian graphical model with precision K (unnormalised).

    Parameter group ``precision`` (D, D) symmetric, stored as its lower triangle
    (symbols ``K_i_k``, k ≤ i, row-major; diagonal positive). Default K = I.
    ``structured`` as for :func:`~symscore.families.gaussian`.

    >>> d = gaussian_graphical(dim=2)
    >>> [p.name for p in d.params], d.score.T
    (['K_0_0', 'K_1_0', 'K_1_1'], Matrix([[-K_0_0*x_0 - K_1_0*x_1, -K_1_0*x_0 - K_1_1*x_1]]))
    """
    D = check_count(dim, "dim")
    from .. import structured as _structured
    from ..structured import models
    d = models.gaussian_graphical(D, name)
    return d if _structured.choose(structured, D) else d.unrolled()
