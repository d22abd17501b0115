"""Numerical score matching: L-BFGS-B on a loss-and-gradient function, with the
parameter domains as box bounds, and the sandwich covariance of an M-estimator.

Domains are bounds, not transforms: a parameter declared on (lo, hi) is
optimised on [lo + margin·max(1, |lo|), hi − …] (open ends moved inwards by
``margin`` so the kernels never see a value outside the domain). An estimate
that ends on such a bound is reported (``at_bound``): the objective then has no
minimiser inside the domain (e.g. the naive ISM of an exponential, minimised
at λ → 0).

Sandwich estimator: θ̂ minimises the sample mean of j(x; θ); with
H = E[∇²θ j] and V = Cov[∇θ j], √N (θ̂ − θ*) → N(0, H⁻¹ V H⁻¹).

>>> import numpy as np
>>> f = lambda t: (float((t[0] - 3.0)**2), np.array([2 * (t[0] - 3.0)]))
>>> r = lbfgs(f, np.array([0.0]), [(None, None)], ["a"])
>>> round(float(r.theta[0]), 6), r.converged
(3.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..errors import FitError

__all__ = ["bounds_for", "lbfgs", "NumericResult", "hessian_fd", "batch_gradient_cov",
           "sandwich"]


def bounds_for(density, margin: float = 1e-10) -> list[tuple[float | None, float | None]]:
    """L-BFGS-B bounds from the parameter domains (open ends moved in by ``margin``)."""
    out = []
    for dom in density.domains:
        if dom == sp.S.Reals:
            out.append((None, None))
            continue
        lo = float(dom.start) if dom.start.is_finite else None
        hi = float(dom.end) if dom.end.is_finite else None
        if lo is not None and dom.left_open:
            lo += margin * max(1.0, abs(lo))
        if hi is not None and dom.right_open:
            hi -= margin * max(1.0, abs(hi))
        out.append((lo, hi))
    return out


@dataclass
class NumericResult:
    theta: np.ndarray
    loss: float
    iterations: int
    evaluations: int
    converged: bool
    message: str
    at_bound: tuple[str, ...] = ()
    starts: list = field(default_factory=list)   # (start θ, final loss) per start
    stationarity: float = 0.0   # see symscore.fit.checks.stationarity
    stopped_early: bool = False  # the optimiser's own test stopped a non-stationary run


#: iterations of the continuation run after a stop on the relative-reduction test
_CONTINUE = 200


class _NonFinite(Exception):
    def __init__(self, theta):
        self.theta = theta


def _guarded(fun):
    """Wrap fun so a NaN/inf loss or gradient aborts the run (never a silent NaN θ)."""
    best = {"loss": np.inf, "theta": None, "n": 0}

    def wrapped(theta):
        best["n"] += 1
        loss, grad = fun(theta)
        loss, grad = float(loss), np.asarray(grad, dtype=float)
        if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
            raise _NonFinite(theta.copy())
        if loss < best["loss"]:
            best["loss"], best["theta"] = loss, theta.copy()
        return loss, grad
    return wrapped, best


def _one_start(fun, theta0, bounds, params, tol, max_iter):
    from .checks import STATIONARY, stationarity
    wrapped, best = _guarded(fun)
    iterations = [0]

    def count(*_):
        iterations[0] += 1
    import scipy.optimize as so  # imported on first fit: keeps `import symscore` light
    try:
        res = so.minimize(wrapped, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
                          callback=count,
                          options={"maxiter": max_iter, "gtol": tol, "ftol": 1e2 * tol**2,
                                   "maxcor": 20})
    except _NonFinite as e:
        if best["theta"] is None:
            raise FitError("the loss or its gradient is not finite at the start θ0 = "
                           f"{_fmt(params, e.theta)}") from None
        loss, _ = fun(best["theta"])
        return NumericResult(best["theta"], float(loss), iterations[0], best["n"], False,
                             "stopped: the loss or gradient became non-finite at θ = "
                             f"{_fmt(params, e.theta)}; returning the best finite point")
    theta = np.asarray(res.x, dtype=float)
    loss, grad = wrapped(theta)
    station = stationarity(theta, loss, grad, bounds)
    if res.success and station > STATIONARY:
        # stopped by the relative-reduction test away from a stationary point: go on,
        # on the gradient test alone, for a bounded number of iterations
        try:
            more = so.minimize(wrapped, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                               callback=count, options={"maxiter": min(_CONTINUE, max_iter),
                                                        "gtol": tol, "ftol": 0.0, "maxcor": 20})
        except _NonFinite:
            more = None
        if more is not None and more.fun <= loss:
            more.nit += res.nit
            res = more
            theta = np.asarray(res.x, dtype=float)
            loss, grad = wrapped(theta)
            station = stationarity(theta, loss, grad, bounds)
    pg = _projected_gradient(theta, grad, bounds)
    ok = bool(res.success) or (pg <= 1e3 * tol * (1 + abs(loss)))
    msg = str(res.message)
    if not ok and res.status == 1:   # out of iterations
        msg = (f"L-BFGS-B used all {max_iter} iterations (max_iter) without meeting the "
               f"gradient tolerance {tol:g} (projected gradient {pg:.2g}, relative "
               f"{station:.2g}): raise max_iter, loosen tol, or start nearer (theta0); a "
               "flat, weakly identified objective needs more data")
    if ok and not res.success:
        msg = f"{msg} (accepted: projected gradient {pg:.2g} is at the noise level)"
    early = False
    if ok and station > STATIONARY:
        ok, early = False, True
        msg = (f"the optimiser stopped ({msg}) where the loss is still falling: relative "
               f"gradient {station:.2g} (a minimum has ~0)")
    at = tuple(p.name for p, t, (lo, hi) in zip(params, theta, bounds)
               if (lo is not None and t <= lo) or (hi is not None and t >= hi))
    return NumericResult(theta, loss, int(res.nit), best["n"], ok, msg, at,
                         stationarity=station, stopped_early=early)


def _projected_gradient(theta, grad, bounds) -> float:
    g = grad.copy()
    for k, (lo, hi) in enumerate(bounds):
        if (lo is not None and theta[k] <= lo and g[k] > 0) or \
                (hi is not None and theta[k] >= hi and g[k] < 0):
            g[k] = 0.0
    return float(np.max(np.abs(g))) if g.size else 0.0


def _fmt(params, theta, n=6):
    parts = [f"{p.name}={t:.4g}" for p, t in zip(params, theta)]
    return "(" + ", ".join(parts[:n]) + (", …)" if len(parts) > n else ")")


def lbfgs(fun, theta0, bounds, params, *, tol: float = 1e-8, max_iter: int = 2000,
          restarts: int = 0, jitter: float = 0.5, seed: int = 0) -> NumericResult:
    """Minimise ``fun(θ) -> (loss, grad)`` with L-BFGS-B from θ0 and ``restarts``
    jittered copies — θ0 + jitter·(1 + |θ0|)·z on unbounded coordinates,
    lo + (θ0 − lo)·exp(jitter·z) above a lower bound lo, z ~ N(0, 1), clipped
    into the bounds; the lowest final loss among converged runs wins.
    ``params`` (symbols or names) label messages."""
    params = [p if hasattr(p, "name") else sp.Symbol(str(p)) for p in params]
    theta0 = np.asarray(theta0, dtype=float)
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    rng = np.random.default_rng(seed)
    starts = [np.clip(theta0, lo, hi)]
    above = np.isfinite(lo) & (theta0 > lo)
    for _ in range(restarts):
        z = rng.standard_normal(theta0.shape)
        t = np.where(above, lo + (theta0 - np.where(above, lo, 0)) * np.exp(jitter * z),
                     theta0 + jitter * (1 + np.abs(theta0)) * z)
        starts.append(np.clip(t, lo, hi))
    results = []
    for t0 in starts:
        try:
            results.append(_one_start(fun, t0, bounds, params, tol, max_iter))
        except FitError:
            if len(starts) == 1:
                raise
    if not results:
        raise FitError("every start gave a non-finite loss or gradient")
    best = min(results, key=lambda r: (not r.converged, r.loss))
    best.starts = [(t0, r.loss) for t0, r in zip(starts, results)]
    return best


# -- the sandwich --------------------------------------------------------------------

def hessian_fd(grad, theta, bounds, rel_step: float = 1e-5) -> np.ndarray:
    """Central differences of ``grad`` (one-sided next to a bound), symmetrised."""
    P = len(theta)
    H = np.empty((P, P))
    for k in range(P):
        h = rel_step * max(1.0, abs(theta[k]))
        lo, hi = bounds[k]
        up = int(theta[k] + h <= (np.inf if hi is None else hi))
        down = int(theta[k] - h >= (-np.inf if lo is None else lo))
        tp, tm = theta.copy(), theta.copy()
        if up:
            tp[k] += h
        if down:
            tm[k] -= h
        H[:, k] = (grad(tp) - grad(tm)) / ((up + down) * h)
    return (H + H.T) / 2


def batch_gradient_cov(grad_on, n: int, n_batches: int) -> np.ndarray:
    """V = Cov[∇θ j(x)] from ``n_batches`` contiguous batch means gᵦ of the gradient:
    Cov(gᵦ) ≈ V / m for batches of m samples, so V ≈ m · Cov_b(gᵦ).
    ``grad_on(lo, hi)`` returns the mean gradient over samples lo..hi-1."""
    edges = np.linspace(0, n, n_batches + 1).astype(int)
    g = np.array([grad_on(a, b) for a, b in zip(edges[:-1], edges[1:])])
    m = np.diff(edges).astype(float)
    mean = (m[:, None] * g).sum(0) / n
    r = (g - mean) * np.sqrt(m)[:, None]
    return r.T @ r / (n_batches - 1)


def sandwich(H, V, n: int, params, rel_tol: float = 1e-9):
    """(covariance of θ̂, note) = H⁻¹ V H⁻¹ / n. A singular H (a non-identifiable
    direction, e.g. a common shift of mixture logits) uses the pseudo-inverse and
    says so; an H that is not positive semi-definite gives (None, reason)."""
    H = (np.asarray(H) + np.asarray(H).T) / 2
    evals, evecs = np.linalg.eigh(H)
    scale = max(float(np.max(np.abs(evals))), np.finfo(float).tiny)
    if evals[0] < -1e-6 * scale:
        return None, (f"no standard errors: the Hessian of the objective has a negative "
                      f"eigenvalue ({evals[0]:.3g}); θ̂ is not a local minimum")
    keep = evals > rel_tol * scale
    note = ""
    if not np.all(keep):
        dirs = []
        for v in evecs[:, ~keep].T:
            v = v / v[np.argmax(np.abs(v))]
            dirs.append(_combination(params, v))
        note = ("the objective is flat along " + "; ".join(dirs) + " (not identifiable); "
                "standard errors use the pseudo-inverse, i.e. they are those of the "
                "identifiable combinations")
    Hinv = (evecs[:, keep] / evals[keep]) @ evecs[:, keep].T
    return Hinv @ V @ Hinv / n, note


def _combination(params, v) -> str:
    """'a + 0.5·b − c' for coefficients v (entries below 1e-3 dropped)."""
    out = ""
    for p, w in zip(params, v):
        if abs(w) <= 1e-3:
            continue
        sign = "−" if w < 0 else "+"
        term = p.name if abs(abs(w) - 1) < 1e-9 else f"{abs(w):.2g}·{p.name}"
        out += (f"{'−' if w < 0 else ''}{term}" if not out else f" {sign} {term}")
    return out


def check_finite_theta(theta, params):
    bad = [p.name for p, t in zip(params, theta) if not np.isfinite(t)]
    if bad:
        raise FitError(f"the estimate is not finite for {', '.join(bad)}")



# -- a NumPy loss-and-gradient (used where no compiled kernel offers the objective) ----

class NumpyObjective:
    """Mean and θ-gradient of a symbolic per-sample integrand j(x; θ), evaluated with
    NumPy (SymPy lambdify + CSE, in chunks). Slower than the generated kernels;
    used for objectives the kernels do not provide with a θ-gradient."""

    def __init__(self, density, integrand):
        from .exact import numpy_function
        grad = [sp.diff(integrand, p) for p in density.params]
        self.P = density.n_params
        self._f = numpy_function([integrand] + grad,
                                 list(density.variables) + list(density.params))

    def __call__(self, X, theta, chunk: int = 1 << 16):
        loss, grad = 0.0, np.zeros(self.P)
        for lo in range(0, len(X), chunk):
            Xc = X[lo:lo + chunk]
            out = self._f(*Xc.T, *theta)
            loss += float(np.sum(out[0]))
            grad += np.array([np.sum(o) for o in out[1:]])
        return loss / len(X), grad / len(X)
