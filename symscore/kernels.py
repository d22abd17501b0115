"""Compiled kernels for a density: score, divergence and score-matching losses.

``symscore.compile(density, target, dtype)`` returns a :class:`Kernels` object.
Everything is checked at this boundary: shapes, dtypes, finiteness of inputs,
θ (a flat array in ``density.params`` order or a mapping by name, checked
against the parameter domains). Losses are means over samples:

* ``ism_loss``  J(θ) = mean ∇·s + ½‖s‖²                       (Hyvärinen)
* ``esm_loss``  mean ½‖s − t‖², t the score of a reference density
* ``dsm_loss``  one σ:  mean ½‖s(x + σz) + z/σ‖²  (Vincent);
  several σ₁…σ_L: (1/L) Σₗ λ(σₗ) mean ½‖s(x + σₗz) + z/σₗ‖² with NCSN's
  weighting λ(σ) = σ², i.e. (1/L) Σₗ mean ½‖σₗ s(x + σₗz) + z‖²
* ``ssm_loss``  mean over samples and projections v of vᵀ∇s v + ½(vᵀs)²
* ``weighted_ism_loss``  mean Σⱼ ½hⱼsⱼ² + hⱼ∂ⱼsⱼ + hⱼ′sⱼ (bounded supports)
  (``weighted_ism_loss_and_grad``: with its θ-gradient, targets cpu and numpy)

Targets: ``"cpu"`` (numba, parallel, vectorised), ``"numpy"`` (the same
generated expressions vectorised with NumPy: no numba needed; the reference the
CPU kernels are tested against), ``"cuda"`` (numba-cuda). Importing this module
does not import numba.

Example
-------
>>> import numpy as np, symscore as ss
>>> k = ss.compile(ss.families.gaussian(dim=1), target="numpy")
>>> X = np.array([[0.0], [2.0], [3.0]])
>>> k.score(X, {"mean": [1.0], "prec_chol": [[1.0]]}).ravel()
array([ 1., -1., -2.])
>>> round(k.ism_loss(X, [1.0, 1.0]), 12)   # mean(−1 + ½(x−1)²) = −1 + 1
0.0
"""

from __future__ import annotations

import importlib.util
from typing import Mapping, Sequence

import numpy as np
import sympy as sp

from .errors import (BackendUnavailableError, CodegenError, DomainError, InputValueError,
                     ShapeError, SymscoreError)
from .params import pack
from .distributed import is_dask
from . import backends as _backends  # noqa: F401 - declares the driver providers to codegen

__all__ = ["compile", "Kernels"]

_TARGETS = ("cpu", "numpy", "cuda")
NOISE_BLOCK = 1 << 16  # rows of noise drawn at a time (fixed: results depend on N only)


def draw_directions(rng, kind: str, shape, dtype=np.float64) -> np.ndarray:
    """Sliced-score-matching directions: ``"gaussian"`` (standard normal entries) or
    ``"rademacher"`` (±1, one random bit each: eight per drawn byte).

    >>> V = draw_directions(np.random.default_rng(0), "rademacher", (2, 3, 5))
    >>> V.shape, sorted(set(V.ravel().tolist()))
    ((2, 3, 5), [-1.0, 1.0])
    """
    if kind == "gaussian":
        return rng.standard_normal(shape).astype(dtype, copy=False)
    n = int(np.prod(shape))
    bits = np.unpackbits(rng.integers(0, 256, size=(n + 7) // 8, dtype=np.uint8))[:n]
    V = bits.astype(dtype)
    V *= 2
    V -= 1
    return V.reshape(shape)


def compile(density, target: str = "cpu", dtype="float64", *, copy: bool = True) -> "Kernels":
    """Compile the kernels of ``density`` for ``target`` ("cpu", "numpy", "cuda")
    and ``dtype`` ("float64" or "float32"). Kernel files are generated lazily
    (on first use of each kernel family) and cached on disk.

    ``copy=True`` converts inputs of another dtype or memory layout (a copy);
    ``copy=False`` refuses them with a :class:`~symscore.ShapeError` instead."""
    from .density import Density
    if not isinstance(density, Density):
        raise SymscoreError(f"compile needs a symscore Density, got {type(density).__name__}")
    if target not in _TARGETS:
        raise CodegenError(f"unknown target {target!r}; use one of {_TARGETS}")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in ("float64", "float32"):
        raise CodegenError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return Kernels(density, target, dt.name, copy=copy)


def _ops(density, target, dtype):
    if target == "numpy":
        from .backends.numpy_target import NumpyOps
        return NumpyOps(density, dtype)
    if target == "cpu":
        if importlib.util.find_spec("numba") is None:
            raise BackendUnavailableError("target='cpu' needs numba (pip install numba); "
                                          "target='numpy' works without it")
        from .backends.cpu import CpuOps
        return CpuOps(density, dtype)
    try:
        from .backends.cuda.ops import CudaOps
    except ModuleNotFoundError as exc:
        raise BackendUnavailableError(f"target='cuda' is unavailable ({exc}); install the "
                                      "extra: pip install \".[cuda]\" in the symscore "
                                      "source tree (or pip install numba-cuda)") from None
    return CudaOps(density, dtype)


class Kernels:
    """The compiled kernels of one density for one target and dtype.

    Arrays X are (N, D) with N samples of dimension D = ``density.dim``; θ is a
    flat array in ``density.params`` order or a mapping by parameter/group
    name, ``None`` meaning ``density.defaults``. Per-sample results come back in
    the kernel dtype, losses as Python floats, θ-gradients as float64 arrays.
    """

    def __init__(self, density, target: str, dtype: str, copy: bool = True):
        self.density = density
        self.target = target
        self.dtype = dtype
        self.copy = copy
        self._np_dtype = np.dtype(dtype)
        self._ops = _ops(density, target, dtype)

    def __repr__(self):
        return (f"Kernels({self.density.name!r}, target={self.target!r}, "
                f"dtype={self.dtype!r})")

    # -- generated modules (for drivers such as the samplers) ----------------------
    @property
    def module(self):
        """The loaded ``core`` module (per-sample functions and registered drivers)."""
        return self._ops.module("core")

    def module_for(self, kernel_set: str, spec=None):
        """The loaded module of another kernel set (``ism_grad``, ``dsm``, ``ssm``,
        ``weighted``, ``esm``)."""
        return self._ops.module(kernel_set, spec)

    # -- validation ------------------------------------------------------------------
    def samples(self, X, name: str = "X", allow_empty: bool = False) -> np.ndarray:
        """X as a C-contiguous (N, D) array of the kernel dtype, checked finite."""
        return self._array(X, name, (None, self.density.dim), allow_empty)

    def _array(self, X, name, shape, allow_empty=False, check_finite=True):
        if self.target == "cuda" and not isinstance(X, np.ndarray):
            dev = self._ops.device_array(X, name, shape, allow_empty)  # device in/out
            if dev is not None:
                return dev
        if isinstance(X, np.ndarray):
            arr = X
        else:
            try:
                arr = np.asarray(X)
            except (TypeError, ValueError):
                raise ShapeError(f"{name} must be an array of real numbers, got "
                                 f"{type(X).__name__}") from None
        if arr.dtype.kind not in "fiu":
            raise ShapeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        if arr.ndim != len(shape) or any(s is not None and a != s
                                         for a, s in zip(arr.shape, shape)):
            hint = (f"; a single point needs shape (1, {shape[-1]})"
                    if arr.ndim == len(shape) - 1 and name == "X" else "")
            raise ShapeError(f"{name} must have shape {want} (D = {self.density.dim}), got "
                             f"{arr.shape}{hint}")
        if arr.shape[-2 if len(shape) > 1 else 0] == 0 and not allow_empty:
            raise ShapeError(f"{name} holds no samples (shape {arr.shape})")
        if arr.dtype != self._np_dtype or not arr.flags.c_contiguous:
            if not self.copy:
                raise ShapeError(f"{name} must be a C-contiguous {self.dtype} array (got "
                                 f"dtype {arr.dtype}, C-contiguous {arr.flags.c_contiguous});"
                                 " convert it, or compile with copy=True")
            with np.errstate(over="ignore"):
                arr = np.ascontiguousarray(arr, dtype=self._np_dtype)
        if check_finite and arr.size and not (np.isfinite(arr.min())
                                              and np.isfinite(arr.max())):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            note = f" (in {self.dtype})" if self.dtype == "float32" else ""
            raise InputValueError(f"{name}[{', '.join(map(str, idx))}] = {arr[idx]} is not "
                                  f"finite{note}")
        return arr

    def theta(self, theta=None, density=None) -> np.ndarray:
        """θ as a flat float64 array in ``density.params`` order (domains checked)."""
        density = density or self.density
        if theta is None and not density.n_params:
            return np.zeros(0)
        if theta is None:
            if density.defaults is None:
                raise DomainError(f"no θ given and {density.name!r} has no default parameters")
            theta = density.defaults
        th = self._flat_theta(density, theta)
        if th is None:
            th = pack(density, theta)  # mappings, and errors with the usual messages
        if self.dtype == "float32":
            with np.errstate(over="ignore"):
                cast = th.astype(np.float32)
            bad = np.flatnonzero(~np.isfinite(cast))
            if bad.size:
                p = density.params[bad[0]]
                raise DomainError(f"parameter {p.name} = {th[bad[0]]!r} overflows float32")
        return th

    def _flat_theta(self, density, theta):
        """Fast path for a flat θ array (the domain test vectorised with bounds
        read once per density; a per-call SymPy interval test costs ~40 ms at 264
        parameters). None when θ is not a valid flat array: :func:`pack` then
        handles it, with its error messages."""
        if isinstance(theta, Mapping) or density is not self.density:
            return None
        try:
            th = np.array(theta, dtype=float)
        except (TypeError, ValueError):
            return None
        if th.shape != (density.n_params,):
            return None
        lo, hi, lo_open, hi_open = self._bounds
        ok = (np.isfinite(th) & np.where(lo_open, th > lo, th >= lo)
              & np.where(hi_open, th < hi, th <= hi))
        return th if ok.all() else None

    @property
    def _bounds(self):
        b = self.__dict__.get("_bounds_cache")
        if b is None and hasattr(self.density, "theta_bounds"):
            b = self.density.theta_bounds()   # structured: array groups, vectorised
            self.__dict__["_bounds_cache"] = b
        if b is None:
            rows = []
            for dom in self.density.domains:
                if dom == sp.S.Reals:
                    rows.append((-np.inf, np.inf, True, True))
                else:
                    rows.append((float(dom.start), float(dom.end), bool(dom.left_open),
                                 bool(dom.right_open)))
            b = tuple(np.array(col) for col in zip(*rows)) if rows else (np.zeros(0),) * 4
            self.__dict__["_bounds_cache"] = b
        return b

    # -- per-sample quantities ---------------------------------------------------------
    def log_density(self, X, theta=None) -> np.ndarray:
        """log p~(x; θ) for every row of X, shape (N,)."""
        return self._per_sample("logp", X, theta)

    def score(self, X, theta=None) -> np.ndarray:
        """s(x; θ) = ∇x log p~ for every row of X, shape (N, D)."""
        X = self.samples(X, allow_empty=True)
        th = self.theta(theta)
        if X.shape[0] == 0:
            return np.empty((0, self.density.dim), self._np_dtype)
        return self._ops.score(X, th)

    def divergence(self, X, theta=None) -> np.ndarray:
        """∇·s = Σᵢ ∂sᵢ/∂xᵢ for every row of X, shape (N,)."""
        return self._per_sample("divergence", X, theta)

    def ism(self, X, theta=None) -> np.ndarray:
        """The ISM integrand ∇·s + ½‖s‖² for every row of X, shape (N,)."""
        return self._per_sample("ism", X, theta)

    def weighted_ism(self, X, theta=None, weights=None) -> np.ndarray:
        """The weighted ISM integrand per row (weights hⱼ(xⱼ); default
        :func:`symscore.objectives.default_weights`)."""
        return self._per_sample("weighted", X, theta, self._weights(weights))

    def _per_sample(self, what, X, theta, spec=None):
        X = self.samples(X, allow_empty=True)
        th = self.theta(theta)
        if X.shape[0] == 0:
            return np.empty(0, self._np_dtype)
        return self._ops.per_sample(what, X, th, spec)

    # -- losses --------------------------------------------------------------------------
    def ism_loss(self, X, theta=None) -> float:
        """mean over rows of ∇·s + ½‖s‖² (one fused parallel pass; for an affine
        score, see :attr:`use_moments`)."""
        X = self._loss_rows(X)
        return self._ops.sum("ism", X, self.theta(theta)) / X.shape[0]

    def ism_loss_and_grad(self, X, theta=None):
        """(ISM loss, its gradient with respect to θ in ``density.params`` order)."""
        X = self._loss_rows(X)
        total, grad = self._ops.ism_grad_sum(X, self.theta(theta))
        return total / X.shape[0], np.asarray(grad, dtype=np.float64) / X.shape[0]

    #: ``ism_loss`` / ``ism_loss_and_grad`` of a structured density whose score is
    #: affine in x (``structure.score_is_affine``: Gaussian families, GGM), on the
    #: cpu target in float64 with N ≥ 4D samples, run the kernels on the 2D
    #: moment points of X (:mod:`symscore.moments`): exact, equal to the per-sample
    #: mean up to rounding (~1e-13 relative), O(N·D²) BLAS once per X. Set False
    #: to always use the per-sample pass.
    use_moments = True

    def _loss_rows(self, X):
        """The validated rows of X, or their moment points where the moment path
        applies (X's finiteness then follows from its finite moments)."""
        st = getattr(self.density, "structure", None)
        if (not self.use_moments or st is None or self.target != "cpu"
                or self.dtype != "float64" or not st.score_is_affine):
            return self.samples(X)
        X = self._array(X, "X", (None, self.density.dim), check_finite=False)
        if X.shape[0] < 4 * X.shape[1]:
            return self.samples(X)
        cache = self.__dict__.get("_moment_cache")
        if cache is None:
            from .moments import MomentCache
            cache = self.__dict__["_moment_cache"] = MomentCache()
        Z = cache.points(X)
        # non-finite moments: a non-finite entry (samples() names it) or overflowing
        # squares (the per-sample pass)
        return self.samples(X) if Z is None else Z

    def weighted_ism_loss(self, X, theta=None, weights=None) -> float:
        """mean over rows of the weighted ISM integrand (for bounded supports)."""
        X = self.samples(X)
        return self._ops.sum("weighted", X, self.theta(theta),
                             self._weights(weights)) / X.shape[0]

    def weighted_ism_loss_and_grad(self, X, theta=None, weights=None):
        """(weighted ISM loss, its gradient with respect to θ in ``density.params``
        order), fused in one pass; targets ``cpu`` and ``numpy``.

        >>> import symscore as ss
        >>> k = ss.compile(ss.families.exponential(dim=1), target="numpy")
        >>> loss, grad = k.weighted_ism_loss_and_grad([[1.0], [2.0]], [1.0])
        >>> round(loss, 12) == round(k.weighted_ism_loss([[1.0], [2.0]], [1.0]), 12)
        True
        """
        if not hasattr(self._ops, "grad_sum"):
            raise BackendUnavailableError(f"weighted_ism_loss_and_grad is not available on "
                                          f"target={self.target!r}; use 'cpu' or 'numpy'")
        X = self.samples(X)
        total, grad = self._ops.grad_sum("weighted", X, self.theta(theta),
                                         self._weights(weights))
        return total / X.shape[0], np.asarray(grad, dtype=np.float64) / X.shape[0]

    def esm_loss(self, X, theta, reference, reference_theta=None) -> float:
        """mean over rows of ½‖s(x; θ) − t(x)‖², t = score of the ``reference``
        Density at ``reference_theta`` (default: its defaults)."""
        from .density import Density
        if not isinstance(reference, Density):
            raise SymscoreError(f"reference must be a symscore Density, got "
                                f"{type(reference).__name__}")
        if reference.dim != self.density.dim:
            raise ShapeError(f"reference density has dimension {reference.dim}, the model "
                             f"{self.density.dim}")
        X = self.samples(X)
        if self.density.structure is not None or reference.structure is not None:
            return self._esm_from_scores(X, theta, reference, reference_theta)
        th = np.concatenate([self.theta(theta), self.theta(reference_theta, reference)])
        return self._ops.sum("esm", X, th, reference) / X.shape[0]

    def _esm_from_scores(self, X, theta, reference, reference_theta) -> float:
        """ESM with a structured model or reference: both scores from their own kernels,
        ½‖s − t‖² summed in blocks of rows (no fused kernel for two structures)."""
        import math
        ref = Kernels(reference, self.target, self.dtype, copy=self.copy)
        th, th_ref = self.theta(theta), ref.theta(reference_theta)
        parts = []
        for lo in range(0, X.shape[0], NOISE_BLOCK):
            Xb = X[lo:lo + NOISE_BLOCK]
            s, t = (a.copy_to_host() if hasattr(a, "copy_to_host") else a   # CUDA device
                    for a in (self._ops.score(Xb, th), ref._ops.score(Xb, th_ref)))
            diff = np.asarray(s, dtype=np.float64) - np.asarray(t, dtype=np.float64)
            parts.append(0.5 * float(np.einsum("ij,ij->", diff, diff)))
        return math.fsum(parts) / X.shape[0]

    def dsm_loss(self, X, theta=None, sigma=1.0, seed=None, noise=None) -> float:
        """Denoising score matching with x̃ = x + σz, z ~ N(0, I).

        ``sigma`` a positive number: mean ½‖s(x̃) + z/σ‖². ``sigma`` a sequence
        σ₁…σ_L: (1/L) Σₗ mean ½‖σₗ s(x + σₗz) + z‖² (NCSN, λ(σ) = σ²).
        Give either ``seed`` (noise drawn with ``numpy.random.default_rng(seed)``
        in fixed blocks, identical on every target) or ``noise`` itself: shape
        (N, D) for one σ, (L, N, D) for L levels."""
        X = self.samples(X)
        th = self.theta(theta)
        sigmas, levels = self._sigmas(sigma)
        N, D = X.shape
        if noise is not None and seed is not None:
            raise SymscoreError("give either seed or noise to dsm_loss, not both")
        total = 0.0
        if noise is not None:
            shape = (N, D) if not levels else (len(sigmas), N, D)
            Z = self._array(noise, "noise", shape)
            if not levels:
                Z = [Z]  # (a list: CUDA device arrays have no [None] indexing)
            for s, z in zip(sigmas, Z):
                total += self._ops.dsm_sum(X, z, s, levels, th)
        else:
            rng = self._rng(seed)
            for s in sigmas:
                for lo in range(0, N, NOISE_BLOCK):
                    hi = min(lo + NOISE_BLOCK, N)
                    z = rng.standard_normal((hi - lo, D)).astype(self._np_dtype)
                    total += self._ops.dsm_sum(X[lo:hi], z, s, levels, th)
        return total / (N * len(sigmas))

    def ssm_loss(self, X, theta=None, n_projections: int = 1, kind: str = "rademacher",
                 seed=None) -> float:
        """Sliced score matching: mean over rows and ``n_projections`` random
        directions v (``kind`` "rademacher": ±1 entries, or "gaussian") of
        vᵀ∇s v + ½(vᵀs)²; v drawn with ``numpy.random.default_rng(seed)``."""
        X = self.samples(X)
        th = self.theta(theta)
        if isinstance(n_projections, bool) or not isinstance(n_projections, (int, np.integer)) \
                or n_projections < 1:
            raise SymscoreError(f"n_projections must be a positive integer, got "
                                f"{n_projections!r}")
        if kind not in ("rademacher", "gaussian"):
            raise SymscoreError(f"kind must be 'rademacher' or 'gaussian', got {kind!r}")
        N, D = X.shape
        rng = self._rng(seed)
        rows = max(1, NOISE_BLOCK // int(n_projections))
        total = 0.0
        for lo in range(0, N, rows):
            hi = min(lo + rows, N)
            size = (int(n_projections), hi - lo, D)
            V = draw_directions(rng, kind, size, self._np_dtype)
            total += self._ops.ssm_sum(X[lo:hi], V, th)
        return total / (N * int(n_projections))

    # -- argument helpers ------------------------------------------------------------------
    @staticmethod
    def _rng(seed):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise SymscoreError(f"seed must be a non-negative integer or None, got {seed!r}")
        return np.random.default_rng(seed)

    @staticmethod
    def _sigmas(sigma):
        # a 0-d array is a number, not a list of noise levels
        levels = (isinstance(sigma, (Sequence, np.ndarray)) and not isinstance(sigma, str)
                  and np.ndim(sigma) > 0)
        try:
            values = np.atleast_1d(np.asarray(sigma, dtype=float))
        except (TypeError, ValueError):
            raise DomainError(f"sigma must be a positive number or a sequence of them, got "
                              f"{sigma!r}") from None
        if values.ndim != 1 or values.size == 0 or (not levels and values.size != 1):
            raise DomainError(f"sigma must be a positive number or a 1-D sequence of them, "
                              f"got {sigma!r}")
        bad = [float(v) for v in values if not (np.isfinite(v) and v > 0)]
        if bad:
            raise DomainError(f"noise level sigma = {bad[0]!r} must be positive and finite")
        return [float(v) for v in values], levels

    def _weights(self, weights):
        if weights is None:
            return None
        if isinstance(weights, (str, bytes)) or not isinstance(weights, (Sequence, np.ndarray)):
            raise SymscoreError("weights must be a sequence of D sympy expressions hⱼ(xⱼ)")
        try:
            ws = tuple(sp.sympify(w, strict=True) for w in weights)
        except (sp.SympifyError, TypeError):
            raise SymscoreError(f"weights must be sympy expressions, got {weights!r}") from None
        if len(ws) != self.density.dim:
            raise SymscoreError(f"need one weight per coordinate ({self.density.dim}), got "
                                f"{len(ws)}")
        return ws


# -- dask arrays: the same methods, delegated to symscore.distributed -------------------------

def _dask_aware(method):
    """``method`` unchanged for NumPy-like X; a dask array X (recognised without
    importing dask) goes to :func:`symscore.distributed.arrays.dispatch`."""
    import functools

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if is_dask(X):
            from .distributed.arrays import dispatch
            return dispatch(self, method.__name__, X, *args, **kwargs)
        return method(self, X, *args, **kwargs)
    return wrapper


for _name in ("log_density", "score", "divergence", "ism", "weighted_ism", "ism_loss",
              "ism_loss_and_grad", "weighted_ism_loss", "weighted_ism_loss_and_grad",
              "esm_loss", "dsm_loss", "ssm_loss"):
    setattr(Kernels, _name, _dask_aware(getattr(Kernels, _name)))
del _name
