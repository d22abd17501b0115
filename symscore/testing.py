"""Check your own score and loss code against symscore's symbolic ground truth.

For users' test suites: a hand-written score function or score-matching loss
(NumPy, JAX or PyTorch) is compared with the exact symbolic quantity at points
drawn by `hypothesis <https://hypothesis.readthedocs.io>`_ (shrunk to a small
failing example), so sign and scale bugs surface in an ordinary pytest run.

* :func:`assert_score_matches` — ``fn(X)`` against ∇x log p~(x; θ).
* :func:`assert_loss_matches` — ``fn(...)`` against the per-sample integrand
  (or its mean, when ``fn`` returns a scalar) of

  - ``"ism"``: ∇·s + ½‖s‖², called as ``fn(X)``;
  - ``"dsm"``: ½‖s(x + σz) + z/σ‖² (``weighted=True``: ½‖σ s(x + σz) + z‖²),
    called as ``fn(X, Z, sigma)`` with Z the standard-normal noise;
  - ``"ssm"``: vᵀ(∇s)v + ½(vᵀs)², called as ``fn(X, V)``, one projection per row;
  - ``"ssm_vr"``: the variance-reduced vᵀ(∇s)v + ½‖s‖², called as ``fn(X, V)``.

  With ``takes_theta=True`` the flat θ (in ``density.params`` order) is passed as
  a last argument, and θ itself is drawn from :func:`parameters` when not given.
* :func:`points`, :func:`parameters` — hypothesis strategies for points inside
  the support and parameter vectors inside their domains.

Inputs are float64 NumPy arrays; ``convert`` maps them first (e.g.
``torch.from_numpy``); outputs may be NumPy, JAX or PyTorch arrays, and the
default tolerances follow their dtype (float32 results are compared at float32
accuracy). Failures are plain AssertionErrors without symscore's own frames
(``__tracebackhide__``), printing as many digits as it takes to tell the numbers apart.

Use a density of dimension D ≥ 3 for loss tests: at D = 2 a mean over the
coordinates is exactly ½ × their sum, so ``np.mean(s**2)`` written for ½‖s‖²
passes there and is caught only from D = 3 on.

Example: a deliberately wrong ISM loss (the sign of the divergence flipped) is
caught, with the point where it disagrees:

>>> import numpy as np, symscore as ss
>>> g = ss.families.gaussian(dim=1)                 # s(x) = −L²(x − μ)
>>> theta = {"mean": [0.5], "prec_chol": [[2.0]]}  # μ = 0.5, L = 2
>>> def ism(X):                                     # ∇·s + ½‖s‖², averaged
...     s = -4.0 * (X[:, 0] - 0.5)
...     return np.mean(-4.0 + 0.5 * s**2)
>>> assert_loss_matches(g, ism, "ism", theta, max_examples=10)
>>> def ism_wrong(X):                               # ½‖s‖² − ∇·s: a sign bug
...     s = -4.0 * (X[:, 0] - 0.5)
...     return np.mean(4.0 + 0.5 * s**2)
>>> assert_loss_matches(g, ism_wrong, "ism", theta, max_examples=10)
... # doctest: +ELLIPSIS
Traceback (most recent call last):
AssertionError: ism loss ... mismatch at x = [[0.0], ...]: yours 6.0 vs symbolic -2.0 ...
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from .density import Density
from .errors import DensityError, InputValueError, ShapeError, SymscoreError
from .numeric import as_rows as _rows, lambdify, log_density_at, score_at
from .objectives import (auxiliary_symbols, dsm_integrand, ism_integrand, ssm_integrand,
                         ssm_vr_integrand)
from .params import pack

__all__ = ["assert_score_matches", "assert_loss_matches", "points", "parameters",
           "symbolic_score", "symbolic_log_density", "symbolic_loss"]

LOSS_KINDS = ("ism", "dsm", "ssm", "ssm_vr")


def _hypothesis():
    try:
        import hypothesis
        from hypothesis import strategies
    except ImportError:  # pragma: no cover - hypothesis is in the test extra
        raise SymscoreError("symscore.testing needs hypothesis: pip install hypothesis "
                            "(or pip install \".[test]\" in the symscore source tree)") from None
    return hypothesis, strategies


def _check_density(density) -> Density:
    if not isinstance(density, Density):
        raise DensityError(f"expected a symscore.Density, got {type(density).__name__}")
    return density


# -- strategies --------------------------------------------------------------------------

def _bounds(interval, scale: float, margin: float) -> tuple[float, float]:
    """A finite float range inside ``interval``, kept ``margin`` away from finite ends
    and of half-width about ``scale`` where the interval is unbounded."""
    lo, hi = float(interval.inf), float(interval.sup)
    if np.isfinite(lo) and np.isfinite(hi):
        m = min(margin, (hi - lo) / 4)
        return lo + m, hi - m
    if np.isfinite(lo):
        return lo + margin, lo + margin + scale
    if np.isfinite(hi):
        return hi - margin - scale, hi - margin
    return -scale, scale


def _floats(st, lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def points(density, n: int = 8, *, scale: float = 10.0, margin: float = 1e-3):
    """Strategy for (n, D) float64 arrays of points inside the support of ``density``
    (|xᵢ| ≤ ``scale`` on unbounded coordinates, ``margin`` away from finite ends).

    >>> import symscore as ss
    >>> from hypothesis import given
    >>> @given(points(ss.families.exponential(dim=1), n=3))
    ... def test_inside_support(X):
    ...     assert X.shape == (3, 1) and (X > 0).all()
    >>> test_inside_support()
    """
    _, st = _hypothesis()
    density = _check_density(density)
    if not isinstance(n, int) or n < 1:
        raise ShapeError(f"n must be a positive integer, got {n!r}")
    coords = [_floats(st, *_bounds(sup, scale, margin)) for sup in density.support]
    row = st.tuples(*coords)
    return st.lists(row, min_size=n, max_size=n).map(lambda rows: np.array(rows, dtype=float))


def parameters(density, *, scale: float = 3.0, margin: float = 1e-2):
    """Strategy for flat θ vectors (``density.params`` order) inside every parameter's
    domain: real → [−scale, scale]; positive → [1/scale, scale]; intervals inside,
    ``margin`` away from finite ends.

    >>> import symscore as ss
    >>> from hypothesis import given
    >>> d = ss.families.gaussian(dim=1)       # θ = (mean, prec_chol > 0)
    >>> @given(parameters(d))
    ... def test_in_domain(theta):
    ...     assert theta.shape == (2,) and theta[1] > 0
    >>> test_in_domain()
    """
    _, st = _hypothesis()
    density = _check_density(density)
    coords = []
    for dom in density.domains:
        lo, hi = _bounds(dom, scale, margin)
        if dom.is_subset(sp.Interval.open(0, sp.oo)) and dom.sup == sp.oo:
            lo, hi = max(lo, float(dom.inf) + 1.0 / scale), max(hi, float(dom.inf) + scale)
        coords.append(_floats(st, lo, hi))
    return st.tuples(*coords).map(lambda t: np.array(t, dtype=float))


# -- the symbolic side (NumPy evaluation of exact expressions) -------------------------------

@lru_cache(maxsize=64)
def _compiled(density: Density, kind: str, weighted: bool):
    xs, th = list(density.variables), list(density.params)
    if kind == "ism":
        return lambdify(xs + th, [ism_integrand(density)]), ()
    if kind == "dsm":
        z = auxiliary_symbols(density, "z")
        taken = {s.name for s in density.variables + density.params + z}
        name = "sigma"
        while name in taken:
            name += "_"
        sigma = sp.Symbol(name, positive=True)
        expr = dsm_integrand(density, sigma, z, weighted=weighted)
        return lambdify(xs + list(z) + [sigma] + th, [expr]), (z, sigma)
    v = auxiliary_symbols(density, "v")
    integrand = ssm_integrand if kind == "ssm" else ssm_vr_integrand
    return lambdify(xs + list(v) + th, [integrand(density, v)]), (v,)


def _columns(A) -> list[np.ndarray]:
    return [A[:, i] for i in range(A.shape[1])]


def symbolic_score(density, X, theta) -> np.ndarray:
    """The exact score ∇x log p~ at the rows of X, shape (N, D) (NumPy evaluation;
    the same as :func:`symscore.numeric.score_at`).

    >>> import numpy as np, symscore as ss
    >>> symbolic_score(ss.families.gaussian(dim=1), np.array([[1.0]]), [0.0, 2.0])
    array([[-4.]])
    """
    return score_at(_check_density(density), X, theta)


def symbolic_log_density(density, X, theta) -> np.ndarray:
    """log p~(x; θ) at the rows of X, shape (N,) (:func:`symscore.numeric.log_density_at`).

    >>> import numpy as np, symscore as ss
    >>> symbolic_log_density(ss.families.gaussian(dim=1), np.array([[0.0]]), [0.0, 1.0])
    array([-0.91893853])
    """
    return log_density_at(_check_density(density), X, theta)


def symbolic_loss(density, kind: str, X, theta, *, Z=None, sigma=None, V=None,
                  weighted: bool = False) -> np.ndarray:
    """The exact per-sample integrand of ``kind`` (``"ism"``, ``"dsm"``, ``"ssm"``,
    ``"ssm_vr"``), shape (N,). DSM needs the noise Z (N, D) and σ > 0; SSM the
    projections V (N, D).

    >>> import numpy as np, symscore as ss
    >>> symbolic_loss(ss.families.gaussian(dim=1), "ism", np.array([[1.0]]), [0.0, 1.0])
    array([-0.5])
    """
    density = _check_density(density)
    if kind not in LOSS_KINDS:
        raise SymscoreError(f"kind must be one of {LOSS_KINDS}, got {kind!r}")
    X, theta = _rows(density, X), pack(density, theta)
    f, _ = _compiled(density, kind, bool(weighted))
    if kind == "ism":
        out = f(*_columns(X), *theta)
    elif kind == "dsm":
        Z = _rows(density, Z, "Z")
        if Z.shape != X.shape:
            raise ShapeError(f"Z must have the shape of X {X.shape}, got {Z.shape}")
        if sigma is None or not np.isfinite(sigma) or float(sigma) <= 0:
            raise InputValueError(f"sigma must be a positive number, got {sigma!r}")
        out = f(*_columns(X), *_columns(Z), float(sigma), *theta)
    else:
        V = _rows(density, V, "V")
        if V.shape != X.shape:
            raise ShapeError(f"V must have the shape of X {X.shape}, got {V.shape}")
        out = f(*_columns(X), *_columns(V), *theta)
    return np.broadcast_to(np.asarray(out[0], dtype=float), (len(X),)).copy()


# -- assertions ----------------------------------------------------------------------------

def _to_numpy(y) -> tuple[np.ndarray, np.dtype]:
    """A float64 NumPy copy of a NumPy / JAX / PyTorch result, and its own dtype."""
    if hasattr(y, "detach"):  # torch
        y = y.detach().cpu().numpy()
    raw = np.asarray(y)
    dtype = raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.dtype(float)
    return raw.astype(float), dtype


#: default (rtol, atol) by the floating-point size of the user's result; atol is
#: scaled by max(1, the largest |symbolic value| in the batch) (cancellation)
TOLERANCES = {8: (1e-6, 1e-9), 4: (1e-4, 1e-5), 2: (1e-2, 1e-2)}


def tolerances(dtype, rtol=None, atol=None) -> tuple[float, float]:
    """(rtol, atol) for a result of ``dtype``: the given ones, else :data:`TOLERANCES`.

    >>> tolerances(np.float32)
    (0.0001, 1e-05)
    """
    r, a = TOLERANCES.get(np.dtype(dtype).itemsize, TOLERANCES[2])
    return (r if rtol is None else float(rtol)), (a if atol is None else float(atol))


def _digits(a, b) -> int:
    """Significant digits needed to print a and b differently (6 … 17)."""
    a, b = np.atleast_1d(np.asarray(a, float)).ravel(), np.atleast_1d(np.asarray(b, float)).ravel()
    for k in range(6, 18):
        if len(a) != len(b) or any(f"{x:.{k}g}" != f"{y:.{k}g}" for x, y in zip(a, b)):
            return k
    return 17


def _fmt(a, digits: int = 6) -> str:
    a = np.asarray(a, dtype=float)
    return str(np.vectorize(lambda v: float(f"{v:.{digits}g}"))(a).tolist()) if a.size else "[]"


def _compare(what: str, yours, ours, rtol: float, atol: float, where, hint=None) -> None:
    """Raise an AssertionError naming the worst row (``where(i)`` describes row i;
    ``where(None)`` a scalar) unless yours ≈ ours elementwise; ``hint(yours, ours)``
    may name the likely bug."""
    __tracebackhide__ = True
    yours, ours = np.atleast_1d(yours), np.atleast_1d(ours)
    scale = max(1.0, float(np.max(np.abs(ours)))) if np.all(np.isfinite(ours)) else 1.0
    bad = ~np.isclose(yours, ours, rtol=rtol, atol=atol * scale) | ~np.isfinite(yours)
    if not bad.any():
        return
    excess = np.where(bad, np.abs(yours - ours), 0.0)
    excess = np.where(np.isfinite(excess), excess, np.inf)
    rows = excess.reshape(len(excess), -1).max(axis=1)
    i = int(np.argmax(rows))
    label = where(i if len(rows) > 1 or np.ndim(ours) > 0 else None)
    k = _digits(yours[i], ours[i])
    extra = (hint(yours, ours) or "") if hint is not None else ""
    raise AssertionError(f"{what} mismatch {label}: yours {_fmt(yours[i], k)} vs symbolic "
                         f"{_fmt(ours[i], k)} (|difference| {rows[i]:.3g}; rtol={rtol:g}, "
                         f"atol={atol * scale:.3g})" + (f". {extra}" if extra else ""))


def _theta_for(density, theta, takes_theta: bool):
    if theta is not None:
        return pack(density, theta)
    if takes_theta:
        return None  # drawn
    if density.defaults is None:
        raise DensityError(f"{density.name} has no default θ; pass theta")
    return np.array(density.defaults)


def _run(check, strategies: dict, max_examples: int, explicit: dict | None) -> None:
    """Run ``check(**values)`` on explicit values, or under hypothesis; a failure is
    re-raised as one clean AssertionError naming the (shrunk) failing example."""
    __tracebackhide__ = True
    if explicit is not None:
        check(**explicit)
        return
    hypothesis, st = _hypothesis()
    health = [h for h in hypothesis.HealthCheck
              if h.name in ("too_slow", "nested_given", "differing_executors",
                            "function_scoped_fixture")]

    def check_all(values):
        __tracebackhide__ = True
        check(**values)

    phases = [p for p in hypothesis.Phase if p.name != "explain"]  # explain: slow, unused
    run = hypothesis.settings(max_examples=max_examples, deadline=None, database=None,
                              derandomize=True, suppress_health_check=health,
                              print_blob=False, phases=phases)(
        hypothesis.given(st.fixed_dictionaries(strategies))(check_all))
    try:
        run()
    except AssertionError as err:
        raise AssertionError(str(err)) from None


def assert_score_matches(density, fn, theta=None, *, rtol: float | None = None,
                         atol: float | None = None,
                         n: int = 8, max_examples: int = 50, scale: float = 10.0,
                         at=None, takes_theta: bool = False, convert=None) -> None:
    """Assert ``fn(X)`` (N×D scores) equals the symbolic ∇x log p~(x; θ) at
    hypothesis-drawn batches of ``n`` points in the support (``max_examples``
    batches, |xᵢ| ≤ ``scale``), or at the rows of ``at`` when given.

    ``theta`` (flat or by name; default ``density.defaults``) fixes θ; with
    ``takes_theta=True`` fn is called as ``fn(X, theta)`` and θ is drawn too
    when not given. ``convert`` maps X before the call (``torch.from_numpy``).
    ``rtol``/``atol`` default to :data:`TOLERANCES` for the dtype ``fn`` returns
    (float32 code is held to float32 accuracy).

    >>> import numpy as np, symscore as ss
    >>> g = ss.families.gaussian(dim=2, kind="iso")   # θ = (μ₀, μ₁, L)
    >>> def score(X, theta):                          # −L²(x − μ)
    ...     return -theta[2]**2 * (X - theta[:2])
    >>> assert_score_matches(g, score, takes_theta=True, max_examples=20)
    """
    __tracebackhide__ = True
    density = _check_density(density)
    if not callable(fn):
        raise SymscoreError(f"fn must be callable, got {type(fn).__name__}")
    fixed = _theta_for(density, theta, takes_theta)
    conv = convert or (lambda a: a)

    def check(X, theta=None):
        __tracebackhide__ = True
        th = fixed if fixed is not None else theta
        ours = symbolic_score(density, X, th)
        args = (conv(X.copy()),) + ((conv(th.copy()),) if takes_theta else ())
        yours, dtype = _to_numpy(fn(*args))
        if yours.shape != ours.shape:
            raise AssertionError(f"score has shape {yours.shape}, expected {ours.shape} "
                                 f"(one row per point)")
        r, a = tolerances(dtype, rtol, atol)
        _compare(f"score ({dtype})" if dtype != np.float64 else "score", yours, ours, r, a,
                 lambda i: f"at x = {_fmt(X[i])}, θ = {_fmt(th)}")

    strategies = {"X": points(density, n, scale=scale)}
    if fixed is None:
        strategies["theta"] = parameters(density)
    explicit = None if at is None else {"X": _rows(density, at, "at"), "theta": fixed}
    if explicit is not None and fixed is None:
        raise SymscoreError("with explicit points (at=...), pass theta as well")
    _run(check, strategies, max_examples, explicit)


def assert_loss_matches(density, fn, kind: str = "ism", theta=None, *,
                        rtol: float | None = None, atol: float | None = None, n: int = 8, max_examples: int = 50,
                        scale: float = 5.0, sigma=None, weighted: bool = False,
                        takes_theta: bool = False, convert=None) -> None:
    """Assert a score-matching loss ``fn`` equals symscore's integrand of ``kind``.

    ``fn`` returns either one value per sample (shape (N,)) or their mean (a
    scalar); calls are ``fn(X)`` (ISM), ``fn(X, Z, sigma)`` (DSM: x̃ = x + σz,
    ``weighted`` selects the λ(σ) = σ² form) and ``fn(X, V)`` (``"ssm"``:
    vᵀ(∇s)v + ½(vᵀs)²; ``"ssm_vr"``, variance-reduced: vᵀ(∇s)v + ½‖s‖²), plus θ
    last when ``takes_theta``. ``sigma`` fixes the noise level (drawn in [0.05, 3]
    otherwise). SSM projections are drawn with every |vᵢ| ≥ 0.25 (never v = 0).
    ``rtol``/``atol`` default to :data:`TOLERANCES` for the dtype ``fn`` returns.
    Common bugs it catches: a flipped sign of the divergence, ‖s‖² without the ½,
    sum instead of mean, unit-norm projections (named in the message), the DSM
    target −z·σ instead of −z/σ — and a mean over coordinates instead of the sum,
    but only when D ≥ 3: at D = 2, mean(s²) is exactly ½‖s‖², so test with a
    density of dimension ≥ 3 (e.g. ``gaussian(dim=3)``).

    >>> import numpy as np, symscore as ss
    >>> g = ss.families.gaussian(dim=2, kind="iso")
    >>> def dsm(X, Z, sigma):     # s(x) = −(x − 0): θ = defaults (μ = 0, L = 1)
    ...     s = -(X + sigma * Z)
    ...     return 0.5 * np.sum((s + Z / sigma)**2, axis=1)
    >>> assert_loss_matches(g, dsm, "dsm", max_examples=20)
    """
    __tracebackhide__ = True
    density = _check_density(density)
    if kind not in LOSS_KINDS:
        raise SymscoreError(f"kind must be one of {LOSS_KINDS}, got {kind!r}")
    if not callable(fn):
        raise SymscoreError(f"fn must be callable, got {type(fn).__name__}")
    if sigma is not None and not (np.isfinite(sigma) and float(sigma) > 0):
        raise InputValueError(f"sigma must be a positive number, got {sigma!r}")
    fixed = _theta_for(density, theta, takes_theta)
    conv = convert or (lambda a: a)
    _, st = _hypothesis()

    def check(X, theta=None, Z=None, sig=None, V=None):
        __tracebackhide__ = True
        th = fixed if fixed is not None else theta
        sig = float(sigma) if sigma is not None else sig
        ours = symbolic_loss(density, kind, X, th, Z=Z, sigma=sig, V=V, weighted=weighted)
        args = {"ism": (X,), "dsm": (X, Z, sig), "ssm": (X, V), "ssm_vr": (X, V)}[kind]
        args = tuple(conv(a.copy()) if isinstance(a, np.ndarray) else a for a in args)
        if takes_theta:
            args += (conv(th.copy()),)
        yours, dtype = _to_numpy(fn(*args))
        r, a = tolerances(dtype, rtol, atol)
        name = f"{kind} loss" + (f" ({dtype})" if dtype != np.float64 else "")

        def where(i):
            rows = slice(None) if i is None else slice(i, i + 1)
            extra = (f", z = {_fmt(Z[rows])}, σ = {sig:.6g}" if kind == "dsm" else
                     f", v = {_fmt(V[rows])}" if kind.startswith("ssm") else "")
            return f"at x = {_fmt(X[rows])}{extra}, θ = {_fmt(th)}"

        def hint(y, o):
            return _ssm_hint(density, kind, X, th, V, y, r, a) if kind.startswith("ssm") \
                else None

        if yours.ndim == 0:
            _compare(f"{name} (your scalar vs the mean of the integrand)", yours,
                     np.mean(ours), r, a, lambda i: where(None), hint)
        elif yours.shape == ours.shape:
            _compare(name, yours, ours, r, a, where, hint)
        else:
            raise AssertionError(f"{kind} loss has shape {yours.shape}; expected a scalar "
                                 f"(the mean) or {ours.shape} (per sample)")

    strategies = {"X": points(density, n, scale=scale)}
    if fixed is None:
        strategies["theta"] = parameters(density)
    if kind == "dsm":
        strategies["Z"] = st.lists(st.tuples(*[_floats(st, -4.0, 4.0)] * density.dim),
                                   min_size=n, max_size=n).map(np.array)
        if sigma is None:
            strategies["sig"] = _floats(st, 0.05, 3.0)
    if kind.startswith("ssm"):
        # |vᵢ| ∈ [0.25, 3] with either sign: never v = 0 (where a unit-norm bug gives NaN)
        coord = st.tuples(st.sampled_from((-1.0, 1.0)), _floats(st, 0.25, 3.0)).map(
            lambda t: t[0] * t[1])
        strategies["V"] = st.lists(st.tuples(*[coord] * density.dim),
                                   min_size=n, max_size=n).map(np.array)
    _run(check, strategies, max_examples, None)


def _ssm_hint(density, kind, X, th, V, yours, rtol, atol):
    """Name the usual SSM bug: projections normalised to unit length."""
    if not np.all(np.isfinite(yours)):
        return ("your loss is not finite at these projections: is v divided by ‖v‖ (or "
                "another quantity that can vanish)?")
    unit = symbolic_loss(density, kind, X, th, V=V / np.linalg.norm(V, axis=1, keepdims=True))
    unit = np.mean(unit) if np.ndim(yours) == 0 else unit
    if np.allclose(yours, unit, rtol=rtol, atol=atol * max(1.0, float(np.max(np.abs(unit))))):
        return ("your loss equals the integrand at the unit vectors v/‖v‖: sliced score "
                "matching's projections are not normalised (E[vvᵀ] = I, e.g. Rademacher or "
                "N(0, I) entries); drop the normalisation")
    return None
