"""Figures (matplotlib, the ``plot`` extra: ``pip install symscore[plot]``).

* :func:`score_field` — the score vector field over density contours (2-D), or
  the log-density and score curves (1-D);
* :func:`samples_vs_density` — samples against the true density: hexbin or
  scatter over density contours, with marginal histograms against the true
  marginals (2-D), or a histogram against the density curve (1-D);
* :func:`traces` — Langevin traces: each coordinate against the step, and for
  2-D the chains' paths over the density contours.

Every function returns a ``matplotlib.figure.Figure`` (built without pyplot, so
nothing global changes and no display is needed) and saves it when ``path``
is given. The density is evaluated exactly with NumPy (no numba) and
normalised numerically over the plotted window.

>>> import numpy as np, symscore as ss
>>> fig = score_field(ss.families.gaussian(dim=2), bounds=[(-3, 3), (-3, 3)], grid=24)
>>> len(fig.axes) >= 1
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .density import Density
from .errors import BackendUnavailableError, DensityError, ShapeError
from .params import pack

__all__ = ["score_field", "samples_vs_density", "traces", "auto_bounds"]

_CMAP = "Blues"
_LINE = "#1f3b73"
_SAMPLE = "#d95f02"


def _mpl():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise BackendUnavailableError("figures need matplotlib: pip install 'symscore[plot]' "
                                      "(or pip install matplotlib)") from None
    return matplotlib, Figure


def _theta(density, theta):
    if not isinstance(density, Density):
        raise DensityError(f"expected a symscore.Density, got {type(density).__name__}")
    if theta is None:
        if density.defaults is None:
            raise DensityError(f"{density.name} has no default θ; pass theta")
        return np.array(density.defaults)
    return pack(density, theta)


def _logp(density, theta, X):
    from .testing import symbolic_log_density
    return symbolic_log_density(density, X, theta)


def _score(density, theta, X):
    from .testing import symbolic_score
    return symbolic_score(density, X, theta)


def auto_bounds(density, samples=None, pad: float = 0.08) -> list[tuple[float, float]]:
    """A plotting window per coordinate: the 0.2–99.8 % sample quantiles padded by
    ``pad`` of their range, or [−5, 5] (within the support) without samples.

    >>> import symscore as ss
    >>> auto_bounds(ss.families.exponential(dim=1))
    [(0.0, 5.0)]
    """
    out = []
    for i, sup in enumerate(density.support):
        lo_s, hi_s = float(sup.inf), float(sup.sup)
        if samples is not None and len(samples):
            col = np.asarray(samples)[:, i]
            col = col[np.isfinite(col)]
            if len(col):
                lo, hi = np.quantile(col, [0.002, 0.998])
                width = max(hi - lo, 1e-6)
                lo, hi = lo - pad * width, hi + pad * width
            else:
                lo, hi = -5.0, 5.0
        else:
            lo, hi = -5.0, 5.0
            if np.isfinite(lo_s):
                lo, hi = lo_s, lo_s + 5.0
            if np.isfinite(hi_s):
                lo, hi = (lo if np.isfinite(lo_s) else hi_s - 5.0), hi_s
        out.append((max(lo, lo_s), min(hi, hi_s)))
    return out


def _check_bounds(density, bounds, samples=None):
    bounds = auto_bounds(density, samples) if bounds is None else [tuple(map(float, b))
                                                                   for b in bounds]
    if len(bounds) != density.dim or any(len(b) != 2 or not b[0] < b[1] for b in bounds):
        raise ShapeError(f"bounds must be {density.dim} pairs (lo, hi) with lo < hi, "
                         f"got {bounds}")
    return bounds


def _grid(bounds, n):
    """Cell-centred grid: the first coordinate along columns, the second along rows."""
    axes = [lo + (np.arange(n) + 0.5) * (hi - lo) / n for lo, hi in bounds]
    G = np.meshgrid(*axes, indexing="xy")
    return axes, G, np.stack([g.ravel() for g in G], axis=1)


def _inside(density, X):
    ok = np.ones(len(X), bool)
    for i, sup in enumerate(density.support):
        lo, hi = float(sup.inf), float(sup.sup)
        ok &= (X[:, i] > lo) & (X[:, i] < hi)
    return ok


def _density_on_grid(density, theta, bounds, n):
    """Normalised density on the window (∫ over the window = 1) and the grid."""
    axes, G, X = _grid(bounds, n)
    lp = np.full(len(X), -np.inf)
    ok = _inside(density, X)
    lp[ok] = _logp(density, theta, X[ok])
    lp[~np.isfinite(lp)] = -np.inf
    p = np.exp(lp - np.max(lp))
    cell = np.prod([(hi - lo) / n for lo, hi in bounds])
    p /= p.sum() * cell
    return axes, G, X, p.reshape(G[0].shape)


def _new_figure(size):
    _, Figure = _mpl()
    return Figure(figsize=size, layout="constrained")


def _finish(fig, path):
    if path is not None:
        from .outfiles import atomic_path
        path = Path(path)
        with atomic_path(path) as tmp:   # written whole or not at all
            fig.savefig(tmp, dpi=130, format=path.suffix[1:] or None)
    return fig


def _hdr_levels(p, masses=(0.99, 0.95, 0.8, 0.5, 0.2)):
    """Density thresholds whose super-level sets hold the given probability masses
    (highest-density regions), increasing — for contour lines that mean something."""
    flat = np.sort(p.ravel())[::-1]
    cum = np.cumsum(flat) / flat.sum()
    levels = [flat[min(np.searchsorted(cum, m), len(flat) - 1)] for m in masses]
    return np.unique([v for v in levels if v > 0])


def _contours(ax, axes, p):
    """Contour lines of the 99, 95, 80, 50 and 20 % highest-density regions."""
    levels = _hdr_levels(p)
    if len(levels):
        ax.contour(axes[0], axes[1], p, levels=levels, colors=_LINE, linewidths=0.8,
                   alpha=0.8)


def _labels(ax, density, i, j=None):
    ax.set_xlabel(f"${density.variables[i].name}$")
    if j is not None:
        ax.set_ylabel(f"${density.variables[j].name}$")


def score_field(density, theta=None, *, bounds=None, grid: int = 28, title: str | None = None,
                path=None):
    """The score s(x) = ∇x log p~ as arrows over filled density contours (2-D;
    arrow length ∝ ‖s‖^½, so that both the flat middle and the steep tails
    read), or log p~ and s against x (1-D).
    """
    theta = _theta(density, theta)
    bounds = _check_bounds(density, bounds)
    if density.dim == 1:
        return _score_curves(density, theta, bounds, title, path)
    if density.dim != 2:
        raise ShapeError(f"score_field draws 1-D or 2-D densities; {density.name} has "
                         f"dimension {density.dim}")
    fig = _new_figure((6.4, 5.4))
    ax = fig.add_subplot()
    axes, G, X, p = _density_on_grid(density, theta, bounds, 220)
    filled = ax.contourf(axes[0], axes[1], p, levels=16, cmap=_CMAP)
    _, Ga, Xa = _grid(bounds, grid)
    ok = _inside(density, Xa)
    S = np.zeros_like(Xa)
    S[ok] = _score(density, theta, Xa[ok])
    S[~np.isfinite(S)] = 0.0
    mag = np.linalg.norm(S, axis=1)
    U, V = (S * (np.sqrt(mag) / np.where(mag > 0, mag, 1.0))[:, None]).T
    span = min(hi - lo for lo, hi in bounds) / grid
    big = max(float(np.sqrt(mag).max()), 1e-300)
    ax.quiver(Xa[ok, 0], Xa[ok, 1], U[ok], V[ok], color=_SAMPLE, angles="xy",
              scale_units="xy", scale=big / (0.95 * span), width=0.0033, headwidth=3.6,
              headlength=4.2, edgecolor="white", linewidth=0.25)
    fig.colorbar(filled, ax=ax, label="density (normalised on the window)", shrink=0.85,
                 format="%.2g")
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    ax.set_aspect("equal" if _similar(bounds) else "auto")
    _labels(ax, density, 0, 1)
    ax.set_title(title or f"score field of {density.name}", fontsize=10)
    return _finish(fig, path)


def _similar(bounds) -> bool:
    w = [hi - lo for lo, hi in bounds]
    return max(w) / min(w) < 2.5


def _score_curves(density, theta, bounds, title, path):
    fig = _new_figure((6.4, 4.6))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    x = np.linspace(*bounds[0], 600)[1:-1]
    X = x[:, None]
    ok = _inside(density, X)
    lp = np.full(len(x), np.nan)
    s = np.full(len(x), np.nan)
    lp[ok] = _logp(density, theta, X[ok])
    s[ok] = _score(density, theta, X[ok])[:, 0]
    ax1.plot(x, lp, color=_LINE)
    ax1.set_ylabel(r"$\log\tilde p(x)$")
    ax2.plot(x, s, color=_SAMPLE)
    ax2.axhline(0, color="0.6", lw=0.8)
    for a, v in ((ax1, lp), (ax2, s)):  # poles at a support end would flatten the rest
        v = v[np.isfinite(v)]
        if len(v):
            lo, hi = np.quantile(v, [0.02, 0.98])
            pad = 0.1 * max(hi - lo, 1e-9)
            a.set_ylim(lo - pad, hi + pad)
    ax2.set_ylabel(r"$s(x)=\partial_x\log\tilde p$")
    _labels(ax2, density, 0)
    ax1.set_title(title or f"log-density and score of {density.name}", fontsize=10)
    return _finish(fig, path)


def _as_samples(density, samples, what="samples"):
    S = np.asarray(samples, dtype=float)
    if S.ndim == 1 and density.dim == 1:
        S = S[:, None]
    if S.ndim != 2 or S.shape[1] != density.dim or len(S) == 0:
        raise ShapeError(f"{what} must have shape (N, {density.dim}) with N ≥ 1, "
                         f"got {S.shape}")
    return S


def samples_vs_density(density, samples, theta=None, *, bounds=None, kind: str = "hexbin",
                       title: str | None = None, ax=None, path=None):
    """Samples (N, D) against the true density. 2-D: hexbin (or ``kind="scatter"``)
    over the density's contour lines (the 99, 95, 80, 50 and 20 % highest-density
    regions), with marginal histograms against the true
    marginals on top and right; 1-D: histogram against the density. Non-finite
    samples are dropped and counted in the title. Draws into ``ax`` when given
    (the marginals are appended beside it), else into a new figure.
    """
    theta = _theta(density, theta)
    S = _as_samples(density, samples)
    finite = np.all(np.isfinite(S), axis=1)
    dropped = int((~finite).sum())
    S = S[finite]
    bounds = _check_bounds(density, bounds, S)
    if kind not in ("hexbin", "scatter"):
        raise ShapeError(f"kind must be 'hexbin' or 'scatter', got {kind!r}")
    if density.dim not in (1, 2):
        raise ShapeError(f"samples_vs_density draws 1-D or 2-D densities; {density.name} has "
                         f"dimension {density.dim}")
    fig = _new_figure((6.2, 6.0) if density.dim == 2 else (6.2, 4.0)) if ax is None \
        else ax.figure
    ax = ax or fig.add_subplot()
    note = f" ({dropped} non-finite dropped)" if dropped else ""
    label = (title or f"{len(S)} samples vs {density.name}") + note
    if density.dim == 1:
        x = np.linspace(*bounds[0], 600)[1:-1]
        _, _, _, p = _density_on_grid(density, theta, bounds, 600)
        grid = bounds[0][0] + (np.arange(600) + 0.5) * (bounds[0][1] - bounds[0][0]) / 600
        ax.hist(S[:, 0], bins=60, range=bounds[0], density=True, color=_SAMPLE, alpha=0.55,
                label="samples")
        ax.plot(grid, p, color=_LINE, lw=1.6, label="density")
        ax.legend(frameon=False)
        _labels(ax, density, 0)
        ax.set_title(label, fontsize=10)
        return _finish(fig, path)
    axes, G, X, p = _density_on_grid(density, theta, bounds, 200)
    if kind == "hexbin":
        ax.hexbin(S[:, 0], S[:, 1], gridsize=45, extent=(*bounds[0], *bounds[1]), cmap="Oranges",
                  mincnt=1, linewidths=0.1)
    else:
        ax.scatter(S[:, 0], S[:, 1], s=4, color=_SAMPLE, alpha=0.5, linewidths=0)
    _contours(ax, axes, p)
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    _labels(ax, density, 0, 1)
    from mpl_toolkits.axes_grid1 import make_axes_locatable
    div = make_axes_locatable(ax)
    top = div.append_axes("top", size="22%", pad=0.08, sharex=ax)
    right = div.append_axes("right", size="22%", pad=0.08, sharey=ax)
    dx = [(hi - lo) / 200 for lo, hi in bounds]
    for i, (mar, orient) in enumerate(((top, "vertical"), (right, "horizontal"))):
        marg = p.sum(axis=i) * dx[1 - i]   # p[row = x₁ index, column = x₀ index]
        mar.hist(S[:, i], bins=50, range=bounds[i], density=True, color=_SAMPLE, alpha=0.55,
                 orientation=orient)
        if orient == "vertical":
            mar.plot(axes[0], marg, color=_LINE, lw=1.4)
        else:
            mar.plot(marg, axes[1], color=_LINE, lw=1.4)
        mar.tick_params(labelbottom=False, labelleft=False, left=False, bottom=False)
        for side in ("top", "right", "left" if i == 0 else "bottom"):
            mar.spines[side].set_visible(False)
    if len(fig.axes) == 3:  # our own figure: a title over everything
        fig.suptitle(label, fontsize=10)
    else:
        top.set_title(label, fontsize=10)
    return _finish(fig, path)


def traces(trace, density=None, theta=None, *, steps=None, chains: int = 6, bounds=None,
           title: str | None = None, path=None):
    """Langevin traces: ``trace`` is (R, C, D) (recorded states × chains × coordinates;
    ``steps`` (R,) the step numbers of the records, e.g. ``result.trace_steps``).
    One panel per coordinate (up to 4) shows ``chains`` chains against the step;
    for a 2-D ``density`` a last panel shows their paths over its contours.
    """
    T = np.asarray(trace, dtype=float)
    if T.ndim != 3 or 0 in T.shape:
        raise ShapeError(f"trace must have shape (steps, chains, D), got {T.shape}")
    n_rec, n_chains, D = T.shape
    if density is not None and density.dim != D:
        raise ShapeError(f"trace has D = {D} but {density.name} has dimension {density.dim}")
    steps = np.arange(1, n_rec + 1) if steps is None else np.asarray(steps, dtype=float)
    if steps.shape != (n_rec,):
        raise ShapeError(f"steps must have shape ({n_rec},), got {steps.shape}")
    pick = np.linspace(0, n_chains - 1, min(chains, n_chains)).astype(int)
    n_coord = min(D, 4)
    paths = density is not None and D == 2
    fig = _new_figure((11.0 if paths else 7.0, 2.4 * max(n_coord, 2 if paths else 1)))
    gs = fig.add_gridspec(n_coord, 2 if paths else 1, width_ratios=[1.4, 1] if paths else None)
    colors = _palette(len(pick))
    for i in range(n_coord):
        ax = fig.add_subplot(gs[i, 0])
        for c, k in zip(colors, pick):
            ax.plot(steps, T[:, k, i], color=c, lw=0.8, alpha=0.9)
        name = density.variables[i].name if density is not None else f"x_{i}"
        ax.set_ylabel(f"${name}$")
        if i == n_coord - 1:
            ax.set_xlabel("step")
        else:
            ax.tick_params(labelbottom=False)
    fig.axes[0].set_title(title or f"Langevin traces ({len(pick)} of {n_chains} chains)",
                          fontsize=10)
    if paths:
        theta = _theta(density, theta)
        ax = fig.add_subplot(gs[:, 1])
        flat = T[:, pick].reshape(-1, 2)
        bounds = _check_bounds(density, bounds, flat[np.all(np.isfinite(flat), axis=1)])
        axes, G, X, p = _density_on_grid(density, theta, bounds, 160)
        _contours(ax, axes, p)
        for c, k in zip(colors, pick):
            ax.plot(T[:, k, 0], T[:, k, 1], color=c, lw=0.6, alpha=0.55)
        for c, k in zip(colors, pick):
            ax.plot(T[0, k, 0], T[0, k, 1], "o", color=c, ms=6, mec="black", mew=0.8,
                    zorder=5)
            ax.plot(T[-1, k, 0], T[-1, k, 1], "*", color=c, ms=12, mec="black", mew=0.8,
                    zorder=5)
        ax.set_xlim(bounds[0])
        ax.set_ylim(bounds[1])
        if _similar(bounds):
            ax.set_aspect("equal")
        _labels(ax, density, 0, 1)
        ax.set_title("paths over the density contours (● first record, ★ last)", fontsize=10)
    return _finish(fig, path)


def _palette(n):
    matplotlib, _ = _mpl()
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]
