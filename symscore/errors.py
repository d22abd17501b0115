"""Every error symscore raises on bad input is a :class:`SymscoreError`.

Subclasses name the kind of problem; messages name the offending symbol,
shape or value.
"""


class SymscoreError(Exception):
    """Base class of all symscore errors."""


class DensityError(SymscoreError, ValueError):
    """A density was declared inconsistently (symbols, domains, support)."""


class UnknownSymbolError(DensityError):
    """The expression uses a symbol that is neither a variable nor a parameter."""


class DuplicateSymbolError(DensityError):
    """A symbol was declared twice (as two variables, two parameters, or both)."""


class MissingVariableError(DensityError):
    """A declared variable does not appear in the log-density."""


class NonRealSymbolError(DensityError):
    """A variable or parameter is not declared real."""


class ParseError(SymscoreError, ValueError):
    """A density string was rejected by the safe parser."""


class DomainError(SymscoreError, ValueError):
    """A parameter value lies outside its declared domain."""


class ShapeError(SymscoreError, ValueError):
    """An array has the wrong shape, dtype or memory layout."""


class InputValueError(SymscoreError, ValueError):
    """An input array holds NaN or infinite values."""


class BackendUnavailableError(SymscoreError, RuntimeError):
    """A requested compute target (numba, CUDA) is not available here."""


class CodegenError(SymscoreError, RuntimeError):
    """An expression cannot be compiled (e.g. an unknown function)."""


class FitError(SymscoreError, RuntimeError):
    """Score-matching estimation could not produce a valid estimate."""


class SamplerError(SymscoreError, ValueError):
    """A sampler setting is invalid (step size, number of steps, seed, thinning,
    noise levels, or a density without the noise-scale parameter a sampler needs)."""


class CacheError(SymscoreError, RuntimeError):
    """The kernel cache directory cannot be trusted or used (owned by another user,
    writable by group/others, not writable); the message names the fix."""


class OutputError(SymscoreError, OSError):
    """A result file cannot be written (its directory, a full disk, a device path)."""
