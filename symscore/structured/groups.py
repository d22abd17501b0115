"""Array-valued parameter groups of a structured density and their flat θ layout.

A group is an ``IndexedBase`` (a plain real ``Symbol`` for a scalar) of a given
shape with a storage *pattern* on its last two axes:

* ``"full"``      every entry, row-major
* ``"lower"``     entries with column ≤ row (a Cholesky factor), row-major; the
  upper triangle is 0 in expressions and not stored
* ``"symmetric"`` stored like ``"lower"``; in expressions base[i, k] = base[k, i]
* ``"vector"``    shape (n,) or (K, n) — every entry (same as full)
* ``"scalar"``    shape ()

Leading axes (mixture components) are batch axes, outermost in θ. This is the
layout of the unrolled families (θ in the same order), so one flat θ serves both.

>>> import numpy as np
>>> g = ArrayGroup("prec_chol", base("L"), (3, 3), "lower", offset=3)
>>> g.size, g.flat_index((2, 1))
(6, 7)
>>> g.dense(np.arange(9.0))[2]
array([6., 7., 8.])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from ..errors import DomainError, ShapeError
from ..params import POSITIVE, REAL

__all__ = ["ArrayGroup", "base", "PATTERNS"]

PATTERNS = ("full", "lower", "symmetric", "vector", "scalar")


def base(name: str, shape=None):
    """A real ``IndexedBase`` named ``name`` (a real Symbol when ``shape == ()``)."""
    if shape == ():
        return sp.Symbol(name, real=True)
    return sp.IndexedBase(name, real=True)


@dataclass(frozen=True)
class ArrayGroup:
    """A named array parameter (see the module docstring). ``diag_domain`` is the
    domain of diagonal entries of ``lower``/``symmetric`` groups, ``domain`` that of
    every other entry."""

    name: str
    base: object
    shape: tuple
    pattern: str
    offset: int = 0
    domain: sp.Set = REAL
    diag_domain: sp.Set = POSITIVE

    def __post_init__(self):
        if self.pattern not in PATTERNS:
            raise ShapeError(f"unknown storage pattern {self.pattern!r}")
        if self.pattern in ("lower", "symmetric") and (
                len(self.shape) < 2 or self.shape[-1] != self.shape[-2]):
            raise ShapeError(f"group {self.name!r}: pattern {self.pattern!r} needs square "
                             f"last axes, got shape {self.shape}")

    @property
    def triangular(self) -> bool:
        return self.pattern in ("lower", "symmetric")

    @property
    def _block(self) -> int:
        if self.triangular:
            n = self.shape[-1]
            return n * (n + 1) // 2
        return 1

    @property
    def size(self) -> int:
        if self.triangular:
            return int(np.prod(self.shape[:-2], dtype=np.int64)) * self._block
        return int(np.prod(self.shape, dtype=np.int64))

    def flat_index(self, idx) -> int:
        """Position in flat θ of the stored entry ``idx`` (for triangular patterns
        idx[-1] ≤ idx[-2]; symmetric groups accept either order)."""
        idx = tuple(int(v) for v in idx)
        if not self.triangular:
            return self.offset + int(np.ravel_multi_index(idx, self.shape)) if idx else self.offset
        *batch, i, k = idx
        if k > i:
            if self.pattern == "lower":
                raise ShapeError(f"{self.name}[{i}, {k}] lies above the diagonal (not stored)")
            i, k = k, i
        head = int(np.ravel_multi_index(batch, self.shape[:-2])) if batch else 0
        return self.offset + head * self._block + i * (i + 1) // 2 + k

    @cached_property
    def _tril(self):
        return np.tril_indices(self.shape[-1])

    def dense(self, theta) -> np.ndarray:
        """The dense array of this group from the full flat θ (NumPy)."""
        flat = np.asarray(theta, dtype=float)[self.offset:self.offset + self.size]
        if not self.triangular:
            return flat.reshape(self.shape)
        n = self.shape[-1]
        out = np.zeros(self.shape)
        blocks = flat.reshape(self.shape[:-2] + (self._block,))
        out[(...,) + self._tril] = blocks
        if self.pattern == "symmetric":
            out = out + np.swapaxes(out, -1, -2) - out * np.eye(n)
        return out

    def stored(self, array) -> np.ndarray:
        """The flat θ slice of a dense array of this group's shape (inverse of dense;
        a ``lower`` array must be lower-triangular, a symmetric one symmetric)."""
        arr = np.asarray(array, dtype=float)
        if arr.shape != self.shape:
            raise ShapeError(f"parameter group {self.name!r} needs shape {self.shape}, got "
                             f"{arr.shape}")
        if not self.triangular:
            return arr.reshape(-1)
        upper = np.triu(arr, 1)
        if self.pattern == "lower" and np.any(upper != 0):
            raise ShapeError(f"parameter group {self.name!r} must be lower-triangular")
        if self.pattern == "symmetric" and not np.allclose(arr, np.swapaxes(arr, -1, -2),
                                                           rtol=1e-12, atol=0):
            raise ShapeError(f"parameter group {self.name!r} must be symmetric")
        return arr[(...,) + self._tril].reshape(-1)

    def diag_mask(self) -> np.ndarray:
        """Boolean mask over the stored slice: True at diagonal entries."""
        if not self.triangular:
            return np.zeros(self.size, bool)
        i, k = self._tril
        return np.tile(i == k, self.size // self._block)

    def bounds(self):
        """(lo, hi, lo_open, hi_open) arrays over the stored slice."""
        def b(dom):
            if dom == sp.S.Reals:
                return -np.inf, np.inf, True, True
            return float(dom.start), float(dom.end), bool(dom.left_open), bool(dom.right_open)
        rows = np.array([b(self.domain), b(self.diag_domain)], dtype=float)
        sel = self.diag_mask().astype(int)
        lo, hi, lo_open, hi_open = (rows[sel, c] for c in range(4))
        return lo, hi, lo_open.astype(bool), hi_open.astype(bool)

    def check(self, flat) -> None:
        """Raise DomainError naming the first entry outside its domain."""
        lo, hi, lo_open, hi_open = self.bounds()
        ok = (np.isfinite(flat) & np.where(lo_open, flat > lo, flat >= lo)
              & np.where(hi_open, flat < hi, flat <= hi))
        if not ok.all():
            n = int(np.flatnonzero(~ok)[0])
            dom = self.diag_domain if self.diag_mask()[n] else self.domain
            raise DomainError(f"parameter {self.name}{list(self.entry(n))} = {flat[n]!r} is "
                              f"outside its domain {dom}")

    def entry(self, n: int) -> tuple:
        """The array index of the n-th stored entry."""
        if not self.triangular:
            return tuple(int(v) for v in np.unravel_index(n, self.shape)) if self.shape else ()
        head, r = divmod(n, self._block)
        batch = tuple(int(v) for v in np.unravel_index(head, self.shape[:-2])) \
            if len(self.shape) > 2 else ()
        return batch + (int(self._tril[0][r]), int(self._tril[1][r]))

    def symbol_name(self, idx) -> str:
        """The scalar name of an entry in the unrolled family (``L_2_1``, ``mu_0``)."""
        return "_".join([self.base_name] + [str(v) for v in idx])

    @property
    def base_name(self) -> str:
        return self.base.name if isinstance(self.base, sp.Symbol) else str(self.base.label)
