"""Parameter domains, named parameter groups, and packing θ to/from a flat vector.

A density's parameters θ are ordered SymPy symbols; kernels take θ as one flat
float array in that order. Families group them into named arrays (``means`` of
shape (K, D), lower-triangular ``prec_chol`` of shape (K, D, D), ...):
:func:`pack` and :func:`unpack` convert between the two views.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np
import sympy as sp

from .errors import DensityError, DomainError, ShapeError

REAL = sp.S.Reals
POSITIVE = sp.Interval.open(0, sp.oo)
NONNEGATIVE = sp.Interval(0, sp.oo)

_NAMED_DOMAINS = {"real": REAL, "positive": POSITIVE, "nonnegative": NONNEGATIVE}


def as_domain(spec, what: str) -> sp.Set:
    """Turn ``"real"``, ``"positive"``, ``"nonnegative"``, ``(lo, hi)`` or a SymPy
    Interval into a SymPy set ⊆ ℝ; ``what`` names the symbol in errors."""
    if isinstance(spec, str):
        try:
            return _NAMED_DOMAINS[spec.strip().lower()]
        except KeyError:
            raise DensityError(
                f"unknown domain {spec!r} for {what}; use one of {sorted(_NAMED_DOMAINS)}, "
                "a (lo, hi) pair or a sympy Interval") from None
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        try:
            lo, hi = (sp.sympify(v, strict=True) for v in spec)
        except (sp.SympifyError, TypeError):
            raise DensityError(f"domain bounds of {what} must be numbers, got {spec!r}") from None
        if not (lo.is_extended_real and hi.is_extended_real) or not bool(lo < hi):
            raise DensityError(f"domain of {what} must be an interval lo < hi, got {spec!r}")
        return sp.Interval(lo, hi, left_open=lo.is_infinite, right_open=hi.is_infinite)
    if isinstance(spec, sp.Set):
        if spec == REAL or (isinstance(spec, sp.Interval) and spec.is_subset(REAL)
                            and spec.measure > 0):
            return spec
        raise DensityError(f"domain of {what} must be the reals or an interval of positive "
                           f"length, got {spec}")
    raise DensityError(f"cannot understand domain {spec!r} for {what}")


def domain_from_assumptions(symbol: sp.Symbol) -> sp.Set:
    if symbol.is_positive:
        return POSITIVE
    if symbol.is_nonnegative:
        return NONNEGATIVE
    return REAL


@lru_cache(maxsize=None)
def _bounds(domain: sp.Set) -> tuple[float, float, bool, bool]:
    if domain == REAL:
        return -np.inf, np.inf, True, True
    return float(domain.start), float(domain.end), bool(domain.left_open), bool(domain.right_open)


def in_domain(value: float, domain: sp.Set) -> bool:
    """Whether a finite number lies in ``domain`` (bounds are read once per domain)."""
    lo, hi, lo_open, hi_open = _bounds(domain)
    if not np.isfinite(value):
        return False
    above = value > lo if lo_open else value >= lo
    below = value < hi if hi_open else value <= hi
    return bool(above and below)


@dataclass(frozen=True)
class ParamGroup:
    """A named array of parameters: ``entries`` pairs an index into an array of
    ``shape`` with the symbol stored there; unlisted entries are fixed at zero
    (e.g. the upper triangle of a Cholesky factor)."""

    name: str
    shape: tuple[int, ...]
    entries: tuple[tuple[tuple[int, ...], sp.Symbol], ...]


def scalar_groups(params) -> tuple[ParamGroup, ...]:
    return tuple(ParamGroup(p.name, (), (((), p),)) for p in params)


def _real_scalar(v) -> bool:
    """A real number: int/float/NumPy scalars, or a real SymPy constant (π, √2, 1/2);
    not a boolean."""
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, numbers.Real):
        return True
    return isinstance(v, sp.Expr) and bool(v.is_number) and bool(v.is_extended_real)


def _numbers(value, what: str) -> np.ndarray:
    """``value`` (a number or nested sequence/array of numbers) as a float array;
    booleans, strings, None and ragged nesting are refused, naming ``what``."""
    if not isinstance(value, (list, tuple, np.ndarray, numbers.Number, str, bytes, sp.Basic)) \
            and value is not None and hasattr(value, "__array__"):
        value = np.asarray(value)     # other array types (jax, dask, …)
    if isinstance(value, sp.MatrixBase):
        value = value.tolist()
    stack = [value]
    while stack:   # iterative: hostile input may nest deeply
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, np.ndarray):
            if v.dtype.kind == "O":
                stack.extend(v.ravel().tolist())
            elif v.dtype.kind not in "iuf":
                raise DomainError(f"{what} must be real numbers, got an array of {v.dtype}")
        elif not _real_scalar(v):
            shown = "true/false" if isinstance(v, (bool, np.bool_)) else repr(v)
            raise DomainError(f"{what} must be a real number, got {shown:.60}"
                              + (f" ({type(v).__name__})" if not isinstance(v, str) else ""))
    try:
        return np.array(value, dtype=float)
    except (ValueError, OverflowError, RecursionError, TypeError) as e:
        raise ShapeError(f"{what} is not a regular array of numbers "
                         f"({' '.join(str(e).split())[:120]})") from None


def pack(density, values, fallback=None) -> np.ndarray:
    """θ as a flat float64 vector in ``density.params`` order.

    ``values`` is a flat sequence of length P, or a mapping from group names
    (arrays of the group's shape) and/or parameter names (scalars) to values.
    ``fallback`` (a flat θ, e.g. ``density.defaults``) supplies the parameters a
    mapping does not name. Every parameter is checked against its domain.

    >>> import symscore as ss
    >>> g = ss.families.gaussian(dim=1)
    >>> ss.pack(g, {"mean": [0.5], "prec_chol": [[2.0]]})
    array([0.5, 2. ])
    >>> ss.pack(g, {"mean": [0.5]}, fallback=g.defaults)
    array([0.5, 1. ])
    """
    params = density.params
    if isinstance(values, Mapping):
        theta = (np.full(len(params), np.nan) if fallback is None
                 else np.array(fallback, dtype=float).reshape(len(params)))
        index = {p: i for i, p in enumerate(params)}
        by_name = {p.name: p for p in params}
        groups = {g.name: g for g in density.param_groups}
        given = [None] * len(params)      # how each parameter was set
        for key, val in values.items():
            key = key.name if isinstance(key, sp.Symbol) else str(key)
            if key in groups:
                g = groups[key]
                arr = _numbers(val, f"parameter {key!r}" if g.shape == () else
                               f"parameter group {key!r}")
                if arr.shape != g.shape:
                    raise ShapeError(f"parameter group {key!r} needs shape {g.shape}, "
                                     f"got {arr.shape}")
                _check_fixed_zeros(g, arr)
                targets = [(index[sym], arr[idx], f"group {key!r}") for idx, sym in g.entries]
            elif key in by_name:
                arr = _numbers(val, f"parameter {key!r}")
                if arr.size != 1:
                    raise ShapeError(f"parameter {key!r} is a scalar, got shape {arr.shape}")
                targets = [(index[by_name[key]], arr.reshape(()), f"name {key!r}")]
            else:
                raise DomainError(f"unknown parameter {key!r}; known: "
                                  f"{sorted(groups) + sorted(set(by_name) - set(groups))}")
            seen_here = {}
            for i, v, how in targets:
                if i in seen_here:   # one symbol at several entries (a symmetric matrix)
                    if v != seen_here[i]:
                        raise DomainError(f"{how} gives parameter {params[i].name} two "
                                          f"values, {seen_here[i]!r} and {v!r} (the entries "
                                          "sharing one parameter must be equal, e.g. a "
                                          "symmetric matrix)")
                    continue
                seen_here[i] = v
                if given[i] is not None:
                    raise DomainError(f"parameter {params[i].name} is given twice (by "
                                      f"{given[i]} and by {how})")
                given[i] = how
                theta[i] = v
        missing = [p.name for p, how in zip(params, given) if how is None]
        if missing and fallback is None:
            raise DomainError(f"no value given for parameter(s) {', '.join(missing[:8])}"
                              + (" ..." if len(missing) > 8 else ""))
    else:
        if values is None or isinstance(values, (str, bytes, set, dict)):
            raise ShapeError(f"θ must be a flat array of {len(params)} numbers or a mapping "
                             f"by name, got {type(values).__name__}")
        arr = _numbers(values, "θ")
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1 or arr.shape != (len(params),):
            raise ShapeError(f"θ must have shape ({len(params)},) in density.params order, "
                             f"got shape {arr.shape}")
        theta = arr.reshape(-1)
    for p, dom, v in zip(params, density.domains, theta):
        if not np.isfinite(v):
            raise DomainError(f"parameter {p.name} = {v!r} is not finite")
        if not in_domain(v, dom):
            raise DomainError(f"parameter {p.name} = {v!r} is outside its domain {dom}")
    return theta


def _check_fixed_zeros(group: ParamGroup, arr: np.ndarray) -> None:
    """Entries of a group that are not parameters (e.g. the upper triangle of a
    Cholesky factor) are fixed at zero: a non-zero value there is an error, not
    silently dropped."""
    free = np.ones(arr.shape, dtype=bool)
    for idx, _ in group.entries:
        free[idx] = False
    bad = np.argwhere(free & (arr != 0))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        raise DomainError(f"parameter group {group.name!r}: entry {list(at)} = "
                          f"{float(arr[at])!r} must be 0 (it is not a parameter, e.g. the upper "
                          "triangle of a Cholesky factor)")


def neutral_theta(density) -> np.ndarray:
    """A start θ inside every parameter's domain, from the domains alone: 0 on ℝ, 1 on
    (0, ∞) and [0, ∞), lo + 1 on (lo, ∞), hi − 1 on (−∞, hi), the midpoint of (lo, hi).

    >>> import symscore as ss
    >>> d = ss.Density.parse("-a*x**2 - b*x", ["x"], [("a", "positive"), ("b", (-1, 3))])
    >>> neutral_theta(d)
    array([1., 1.])
    """
    out = []
    for dom in density.domains:
        lo, hi, _, _ = _bounds(dom)
        if np.isfinite(lo) and np.isfinite(hi):
            out.append((lo + hi) / 2)
        elif np.isfinite(lo):
            out.append(1.0 if lo == 0 else lo + 1.0)
        elif np.isfinite(hi):
            out.append(hi - 1.0)
        else:
            out.append(0.0)
    return np.array(out, dtype=float)


def unpack(density, theta, check: bool = True) -> dict[str, np.ndarray]:
    """The inverse of :func:`pack`: a dict of named arrays (group shapes).
    ``check=False`` skips the domain check (e.g. an estimate sitting on a bound)."""
    theta = pack(density, theta) if check else np.asarray(theta, dtype=float).reshape(-1)
    index = {p: i for i, p in enumerate(density.params)}
    out = {}
    for g in density.param_groups:
        arr = np.zeros(g.shape)
        for idx, sym in g.entries:
            arr[idx] = theta[index[sym]]
        out[g.name] = arr
    return out
