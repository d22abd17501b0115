"""Exact, order-independent summation of float64 partial sums.

The host kernels reduce a loss in fixed chunks of rows and add the chunk sums
with ``math.fsum`` (the correctly rounded value of their exact sum). Over Dask
each worker holds only some of those chunk sums. :func:`expansion` turns them
into a short list of floats whose *exact* sum equals theirs (a non-overlapping
expansion: the correctly rounded sum, then the correctly rounded remainder, …),
:func:`merge` combines two expansions exactly, and :func:`total` rounds once at
the end. Whatever the tree, the order or the grouping, ``total`` equals
``math.fsum`` of all the chunk sums: the single-process result, bit for bit.

>>> vals = [1e16, 1.0, -1e16, 1e-3]
>>> a, b = expansion(vals[:2]), expansion(vals[2:])
>>> total(merge(a, b)) == math.fsum(vals) == 1.001
True
>>> sum(vals)   # naive order-dependent summation loses the 1.0
0.001
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["expansion", "merge", "total", "expansions", "totals", "merge_many"]


def expansion(values) -> list[float]:
    """Floats whose exact sum is the exact sum of ``values`` (at most ~40 of them).

    Non-finite values (or an overflowing sum) give the one-element list of their
    IEEE sum (inf or nan), as the single-process ``fsum`` would not be finite either."""
    vals = [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]
    try:
        out = []
        s = math.fsum(vals)
        while s != 0.0:
            out.append(s)
            s = math.fsum(vals + [-t for t in out])
        if not all(math.isfinite(t) for t in out):
            raise OverflowError
        return out
    except (OverflowError, ValueError):
        return [float(np.sum(np.asarray(vals)))]


def merge(a: list[float], b: list[float]) -> list[float]:
    """An expansion of the exact sum of two expansions."""
    return expansion(list(a) + list(b))


def merge_many(items) -> list[float]:
    """An expansion of the exact sum of several expansions."""
    return expansion([t for item in items for t in item])


def total(exp: list[float]) -> float:
    """The correctly rounded value of an expansion (= ``math.fsum`` of what it sums)."""
    if len(exp) == 1:
        return float(exp[0])
    return math.fsum(exp) if exp else 0.0


def expansions(columns) -> list[list[float]]:
    """One expansion per column of a 2-D array of partial sums (rows: chunks)."""
    cols = np.asarray(columns, dtype=np.float64)
    return [expansion(cols[:, j]) for j in range(cols.shape[1])]


def totals(exps) -> np.ndarray:
    """The rounded values of a list of expansions, as a float64 array."""
    return np.array([total(e) for e in exps], dtype=np.float64)
