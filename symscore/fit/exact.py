"""Closed-form score matching when the score is affine in θ (exponential families).

If log p~(x; θ) = Σₖ θₖ Tₖ(x) + base(x) + c(θ), the score is affine in θ:

    s(x; θ) = g(x) + G(x) θ,      G = ∂s/∂θ (D×P, θ-free),  g = ∇base.

The weighted integrand Σⱼ [½ hⱼ sⱼ² + hⱼ ∂ⱼsⱼ + hⱼ′ sⱼ] (plain ISM: hⱼ = 1,
hⱼ′ = 0) is then an exact quadratic ½ θᵀA(x)θ + b(x)ᵀθ + c(x) with

    A(x) = Σⱼ hⱼ Gⱼᵀ Gⱼ                       (Gⱼ: row j of G)
    b(x) = Σⱼ [hⱼ gⱼ Gⱼ + hⱼ ∂ⱼGⱼ + hⱼ′ Gⱼ]      (ISM: b = ΔT + Σᵢ ∂ᵢbase ∂ᵢT)
    c(x) = Σⱼ [½ hⱼ gⱼ² + hⱼ ∂ⱼgⱼ + hⱼ′ gⱼ],

and the estimator solves Ā θ = −b̄ with Ā, b̄ the sample means. Detection is
symbolic: every ∂sᵢ/∂θₖ must be free of θ (after a cheap numerical midpoint
screen that rules out clearly non-affine scores without symbolic work).

Per-sample expressions are evaluated by :func:`numpy_function` (SymPy
``lambdify`` to NumPy with CSE and NumPy versions of the stable primitives) —
they are small (D·P + P + 1 expressions) and the sums are BLAS contractions.

>>> import numpy as np, symscore as ss
>>> d = ss.families.exponential(dim=1)
>>> plan = quadratic_plan(d, weights=ss.objectives.default_weights(d))
>>> X = np.array([[0.5], [1.0], [1.5]])
>>> A, b, c = plan.moments(X)
>>> float(-b[0] / A[0, 0])   # λ̂ = 2 mean(x) / mean(x²)
1.7142857142857142
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from ..distributed import is_dask
from ..errors import FitError
from ..numeric import NUMPY_FUNCTIONS

__all__ = ["LinearStructure", "linear_structure", "QuadraticPlan", "quadratic_plan",
           "numpy_function", "solve_quadratic"]

_CHUNK_FLOATS = 1 << 22   # per-chunk N·D·P floats (32 MB)


# -- NumPy versions of the stable primitives (for lambdify) ----------------------------

def numpy_function(exprs, symbols):
    """f(*columns) → list of float arrays broadcast to the columns' shape, one per
    expression (SymPy lambdify with CSE; the stable primitives evaluated stably)."""
    exprs = [sp.sympify(e) for e in exprs]
    raw = sp.lambdify(list(symbols), exprs, modules=[NUMPY_FUNCTIONS, "numpy"], cse=True)

    def f(*cols):
        shape = np.shape(cols[0])
        return [np.broadcast_to(np.asarray(v, dtype=float), shape) for v in raw(*cols)]
    return f


# -- detection ------------------------------------------------------------------------

@dataclass(frozen=True)
class LinearStructure:
    """s(x; θ) = g(x) + G(x) θ exactly; ``reason`` says why not when ``affine`` is False."""

    affine: bool
    G: sp.ImmutableMatrix | None = None   # D×P, ∂sᵢ/∂θₖ
    g: sp.ImmutableMatrix | None = None   # D×1, the score at θ = 0
    reason: str = ""


def _random_point(density, rng):
    def inside(dom, scale):
        if dom == sp.S.Reals:
            return rng.uniform(-scale, scale)
        lo = float(dom.start) if dom.start.is_finite else None
        hi = float(dom.end) if dom.end.is_finite else None
        if lo is not None and hi is not None:
            return lo + (hi - lo) * rng.uniform(0.2, 0.8)
        return lo + rng.uniform(0.3, 2.0) if lo is not None else hi - rng.uniform(0.3, 2.0)
    x = {v: sp.Float(inside(s, 1.5)) for v, s in zip(density.variables, density.support)}
    return x, lambda: {p: sp.Float(inside(d, 1.0)) for p, d in zip(density.params,
                                                                   density.domains)}


def _clearly_not_affine(density) -> str:
    """Midpoint test s(θa) + s(θb) − 2 s((θa+θb)/2) ≠ 0 at random (x, θa, θb): a
    nonzero value proves the score is not affine in θ (domains are convex)."""
    rng = random.Random(20240607)
    for _ in range(2):
        x, draw = _random_point(density, rng)
        ta, tb = draw(), draw()
        tm = {p: (ta[p] + tb[p]) / 2 for p in density.params}
        for i, s in enumerate(density.score):
            sx = s.xreplace(x)
            vals = [complex(sx.xreplace(t).evalf(30)) for t in (ta, tb, tm)]
            gap = abs(vals[0] + vals[1] - 2 * vals[2])
            if gap > 1e-12 * (1 + max(map(abs, vals))):
                return (f"the score component s_{i} is not affine in θ (midpoint gap "
                        f"{gap:.3g} at a random point)")
    return ""


@lru_cache(maxsize=64)
def linear_structure(density) -> LinearStructure:
    """Decide symbolically whether the score is affine in θ and return G, g.

    >>> import symscore as ss
    >>> linear_structure(ss.families.gamma(dim=1)).G
    Matrix([[1/x_0, -1]])
    >>> linear_structure(ss.families.gaussian(dim=1)).affine
    False
    """
    params = density.params
    if not params:
        return LinearStructure(False, reason="the density has no parameters")
    why = _clearly_not_affine(density)
    if why:
        return LinearStructure(False, reason=why)
    theta = set(params)
    G = []
    for i, s in enumerate(density.score):
        row = []
        for p in params:
            d = sp.diff(s, p)
            if d.free_symbols & theta:
                d = sp.simplify(d)
            if d.free_symbols & theta:
                return LinearStructure(False, reason=f"∂s_{i}/∂{p} = {d} depends on θ")
            row.append(d)
        G.append(row)
    G = sp.ImmutableMatrix(G)
    g = []
    for i, s in enumerate(density.score):
        gi = sp.expand(s - sum(G[i, k] * p for k, p in enumerate(params)))
        if gi.free_symbols & theta:
            gi = sp.simplify(gi)
        if gi.free_symbols & theta:
            return LinearStructure(False, reason=f"s_{i} − (Gθ)_{i} = {gi} depends on θ")
        g.append(gi)
    return LinearStructure(True, G, sp.ImmutableMatrix(g))


# -- the quadratic -------------------------------------------------------------------

class QuadraticPlan:
    """Per-sample A(x), b(x), c(x) of the (weighted) ISM integrand for an affine score;
    ``weights`` None means plain ISM (hⱼ = 1)."""

    def __init__(self, density, weights):
        lin = linear_structure(density)
        if not lin.affine:
            raise FitError(f"{density.name}: no closed form — {lin.reason}; "
                           "use method='lbfgs'")
        xs, D, P = density.variables, density.dim, density.n_params
        h = [sp.Integer(1)] * D if weights is None else [sp.sympify(w) for w in weights]
        dh = [sp.diff(hj, xj) for hj, xj in zip(h, xs)]
        G, g = lin.G, lin.g
        b = [sp.Add(*[h[j] * g[j] * G[j, k] + h[j] * sp.diff(G[j, k], xs[j]) + dh[j] * G[j, k]
                      for j in range(D)]) for k in range(P)]
        c = sp.Add(*[h[j] * g[j]**2 / 2 + h[j] * sp.diff(g[j], xs[j]) + dh[j] * g[j]
                     for j in range(D)])
        self.density, self.weights = density, None if weights is None else tuple(h)
        self.G, self.b, self.c, self.h = G, sp.ImmutableMatrix(b), c, tuple(h)
        self._f = numpy_function(list(G) + b + [c] + h, xs)

    def _eval(self, X):
        D, P = self.density.dim, self.density.n_params
        out = self._f(*X.T)
        G = np.stack(out[:D * P], axis=-1).reshape(len(X), D, P)
        b = np.stack(out[D * P:D * P + P], axis=-1)
        return G, b, out[D * P + P], np.stack(out[D * P + P + 1:], axis=-1)

    @property
    def _chunk(self) -> int:
        """Rows per block: a power of two (so that Dask chunks of 2¹⁶·k rows align)."""
        rows = max(256, _CHUNK_FLOATS // (self.density.dim * self.density.n_params + 1))
        return 1 << (rows.bit_length() - 1)

    def moments(self, X):
        """(Ā, b̄, c̄): sample means of A(x), b(x), c(x) over the rows of X (a dask
        array: block sums computed chunk by chunk on the workers).

        Sums run over fixed blocks of :attr:`_chunk` rows and the block sums are
        added with ``math.fsum`` (correctly rounded), so the result does not depend
        on how the blocks are grouped — the Dask path gives the same bits."""
        if is_dask(X):
            from ..distributed.fitting import moments
            return moments(self, X)
        A, b, c = self.block_sums(X)
        N = len(X)
        return _fsum0(A) / N, _fsum0(b) / N, _fsum0(c) / N

    def block_sums(self, X):
        """Per block of ``_chunk`` rows: (Σ A (n, P, P), Σ b (n, P), Σ c (n,))."""
        P, N, m = self.density.n_params, len(X), self._chunk
        As, bs, cs = [], [], []
        for lo in range(0, N, m):
            G, bi, ci, h = self._eval(X[lo:lo + m])
            Gf = G.reshape(-1, P)
            As.append((G * h[:, :, None]).reshape(-1, P).T @ Gf)  # Σₙ Σⱼ hⱼ Gⱼᵀ Gⱼ (BLAS)
            bs.append(bi.sum(axis=0))
            cs.append(float(ci.sum()))
        n = len(cs)
        return (np.array(As).reshape(n, P, P), np.array(bs).reshape(n, P), np.array(cs))

    def sample_gradients(self, X, theta):
        """∇θ of the integrand per sample, A(xᵢ)θ + b(xᵢ) (N×P)."""
        out, m = np.empty((len(X), self.density.n_params)), self._chunk
        for lo in range(0, len(X), m):
            G, bi, _, h = self._eval(X[lo:lo + m])
            out[lo:lo + m] = np.einsum("nj,njk,nj->nk", h, G, G @ theta) + bi
        return out

    def gradient_covariance(self, X, theta, center):
        """The (biased) covariance of the per-sample θ-gradients gᵢ = A(xᵢ)θ + b(xᵢ):
        Σ(g − m)(g − m)ᵀ/N − d dᵀ with d = Σ(g − m)/N, m = ``center`` (their mean
        Āθ + b̄, known from the moments, so one pass suffices); block sums added
        with ``math.fsum`` as in :meth:`moments`. A dask X runs on the workers."""
        if is_dask(X):
            from ..distributed.fitting import gradient_covariance
            return gradient_covariance(self, X, theta, center)
        S, s = self.gradient_block_sums(X, theta, center)
        N = len(X)
        d = _fsum0(s) / N
        return _fsum0(S) / N - np.outer(d, d)

    def gradient_block_sums(self, X, theta, center):
        """Per block of ``_chunk`` rows: (Σ (g − m)(g − m)ᵀ (n, P, P), Σ (g − m) (n, P))."""
        P, m = self.density.n_params, self._chunk
        Ss, ss = [], []
        for lo in range(0, len(X), m):
            g = self.sample_gradients(X[lo:lo + m], theta) - center
            Ss.append(g.T @ g)
            ss.append(g.sum(axis=0))
        return np.array(Ss).reshape(len(ss), P, P), np.array(ss).reshape(len(ss), P)


def _fsum0(blocks) -> np.ndarray | float:
    """``math.fsum`` over axis 0 (element by element)."""
    a = np.asarray(blocks, dtype=np.float64)
    flat = np.array([math.fsum(col) for col in a.reshape(a.shape[0], -1).T])
    return float(flat[0]) if a.ndim == 1 else flat.reshape(a.shape[1:])


@lru_cache(maxsize=64)
def _plan(density, weights):
    return QuadraticPlan(density, weights)


def quadratic_plan(density, weights=None) -> QuadraticPlan:
    """The cached :class:`QuadraticPlan` (weights: a tuple of hⱼ(xⱼ), or None for ISM)."""
    return _plan(density, None if weights is None else tuple(sp.sympify(w) for w in weights))


def solve_quadratic(A, b, params, max_condition: float = 1e12) -> tuple[np.ndarray, float]:
    """θ = −A⁻¹b for the symmetric positive semi-definite A, after equilibration
    (A → SAS with S = diag(A)^-½). Returns (θ, condition number of SAS). A singular
    or ill-conditioned A raises :class:`FitError` naming the parameters involved."""
    d = np.diag(A).copy()
    zero = [p.name for p, v in zip(params, d) if not v > 0]
    if zero:
        raise FitError(f"the objective does not depend on parameter(s) {', '.join(zero)} "
                       "for this data (zero curvature): they are not identifiable")
    S = 1 / np.sqrt(d)
    As = A * S[:, None] * S[None, :]
    evals, evecs = np.linalg.eigh(As)
    cond = float(evals[-1] / evals[0]) if evals[0] > 0 else float("inf")
    if not cond < max_condition:
        v = evecs[:, 0] * S
        v /= np.max(np.abs(v))
        involved = ", ".join(f"{p.name} ({w:+.2g})" for p, w in zip(params, v) if abs(w) > 1e-3)
        raise FitError(f"the score-matching system is singular or ill-conditioned "
                       f"(condition number {cond:.3g} > {max_condition:.0e}); the data do not "
                       f"determine the direction {involved} — too few or degenerate samples?")
    theta = -S * np.linalg.solve(As, S * b)
    theta -= S * np.linalg.solve(As, S * (A @ theta + b))   # one step of refinement
    return theta, cond
