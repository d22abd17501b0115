"""symscore — score-based statistics, verified symbolically and executed fast.

>>> import symscore as ss
>>> d = ss.families.gaussian_mixture(dim=2, components=2)
>>> d.dim, d.n_params
(2, 12)
"""

from . import calculus, families, objectives, stable
from .density import Density
from .errors import (BackendUnavailableError, CodegenError, DensityError, DomainError,
                     DuplicateSymbolError, FitError, InputValueError, MissingVariableError,
                     NonRealSymbolError, ParseError, ShapeError, SymscoreError,
                     UnknownSymbolError)
from .params import ParamGroup, pack, unpack
from .fit import FitResult, fit
from .kernels import Kernels, compile
from .errors import CacheError, SamplerError
from .sampling import (SampleResult, annealed_langevin, geometric_sigmas, langevin, mala,
                       paper_epsilon_from_step, step_from_paper_epsilon)
from .stable import LogSumExp, Sigmoid, Softplus
from .numeric import MPMATH_FUNCTIONS, NUMPY_FUNCTIONS, lambdify

__version__ = "0.1.0"

__all__ = ["Density", "ParamGroup", "pack", "unpack", "calculus", "objectives", "families",
           "stable", "LogSumExp", "Softplus", "Sigmoid", "SymscoreError", "DensityError",
           "DomainError", "DuplicateSymbolError", "FitError", "InputValueError",
           "MissingVariableError", "NonRealSymbolError", "ParseError", "ShapeError",
           "UnknownSymbolError", "BackendUnavailableError", "CodegenError", "fit", "FitResult",
           "compile", "Kernels", "SamplerError", "langevin", "mala", "annealed_langevin",
           "geometric_sigmas", "step_from_paper_epsilon", "paper_epsilon_from_step",
           "SampleResult", "lambdify", "NUMPY_FUNCTIONS", "MPMATH_FUNCTIONS", "proof"]


def __getattr__(name):
    """``symscore.proof`` is imported on first use (it pulls in scipy.stats)."""
    if name == "proof":
        import importlib
        return importlib.import_module(".proof", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
