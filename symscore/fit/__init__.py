"""Score-matching estimation (see :mod:`symscore.fit.core`).

* :mod:`~symscore.fit.core` — :func:`fit`: chooses the objective and the method;
* :mod:`~symscore.fit.exact` — the closed form for exponential families;
* :mod:`~symscore.fit.numeric` — L-BFGS-B, Hessians, sandwich standard errors;
* :mod:`~symscore.fit.result` — :class:`FitResult`;
* :mod:`~symscore.fit.metrics` — recovery metrics (Amari index, row alignment).
"""

from .core import BoundaryBiasWarning, FitWarning, _numpy_objective, fit
from .result import FitResult

__all__ = ["fit", "FitResult", "BoundaryBiasWarning", "FitWarning"]
