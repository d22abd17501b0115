"""Figures (matplotlib, the ``plot`` extra: ``pip install ".[plot]"`` in the source tree).

* :func:`score_field` — the score vector field over density contours (2-D), or
  the log-density and score curves (1-D);
* :func:`samples_vs_density` — samples against the true density: hexbin or
  scatter over density contours, with marginal histograms against the true
  marginals (2-D), or a histogram against the density curve (1-D);
* :func:`traces` — Langevin traces: each coordinate against the step (noise-level
  changes marked for annealed runs), and for 2-D the chains' paths over the
  density contours;
* :func:`sampler_comparison` — samplers side by side over the density, and a
  statistic (a mode's share) against the annealing noise level.

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

__all__ = ["score_field", "samples_vs_density", "traces", "sampler_comparison", "auto_bounds"]

_CMAP = "Blues"
_LINE = "#1f3b73"
_SAMPLE = "#d95f02"


def _mpl():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise BackendUnavailableError("figures need matplotlib: pip install matplotlib (or "
                                      "pip install \".[plot]\" in the symscore source "
                                      "tree)") from None
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
    from .numeric import log_density_at
    return log_density_at(density, X, theta)


def _score(density, theta, X):
    from .numeric import score_at
    return score_at(density, X, theta)


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
    read; a key arrow gives the scale), or log p~ and s against x (1-D).
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
    q = ax.quiver(Xa[ok, 0], Xa[ok, 1], U[ok], V[ok], color=_SAMPLE, angles="xy",
                  scale_units="xy", scale=big / (0.95 * span), width=0.0033, headwidth=3.6,
                  headlength=4.2, edgecolor="white", linewidth=0.25)
    ref = _round_number(float(np.median(mag[ok & (mag > 0)])) if np.any(mag > 0) else 1.0)
    ax.quiverkey(q, 0.99, 1.015, np.sqrt(ref), f"‖s‖ = {ref:g}   (arrow length ∝ √‖s‖)",
                 labelpos="W", coordinates="axes", fontproperties={"size": 8})
    fig.colorbar(filled, ax=ax, label="density (normalised on the window)", shrink=0.85,
                 format="%.2g")
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    ax.set_aspect("equal" if _similar(bounds) else "auto")
    _labels(ax, density, 0, 1)
    ax.set_title(title or f"score field of {density.name}", fontsize=10, pad=16)
    return _finish(fig, path)


def _round_number(v: float) -> float:
    """1, 2 or 5 × a power of ten, near ``v``."""
    if not np.isfinite(v) or v <= 0:
        return 1.0
    e = np.floor(np.log10(v))
    m = v / 10 ** e
    return float((1 if m < 1.5 else 2 if m < 3.5 else 5) * 10 ** e)


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
    own = ax is None
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
    hb = None
    if kind == "hexbin":
        hb = ax.hexbin(S[:, 0], S[:, 1], gridsize=45, extent=(*bounds[0], *bounds[1]),
                       cmap="Oranges", mincnt=1, linewidths=0.1)
    else:
        ax.scatter(S[:, 0], S[:, 1], s=4, color=_SAMPLE, alpha=0.5, linewidths=0)
    _contours(ax, axes, p)
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    if _similar(bounds):
        ax.set_aspect("equal", adjustable="box")
    _labels(ax, density, 0, 1)
    from matplotlib.lines import Line2D
    ax.legend(handles=[Line2D([], [], color=_LINE, lw=0.8,
                              label="density: 20/50/80/95/99 % regions")],
              loc="lower right", fontsize=7, frameon=True, framealpha=0.8)
    from mpl_toolkits.axes_grid1 import make_axes_locatable
    div = make_axes_locatable(ax)
    if hb is not None:   # the count scale, inside the panel's upper-left corner
        cax = ax.inset_axes([0.04, 0.93, 0.3, 0.025])
        cb = fig.colorbar(hb, cax=cax, orientation="horizontal")
        cb.set_label("samples per hexagon", fontsize=7, labelpad=1)
        cb.ax.tick_params(labelsize=6.5, length=2, pad=1)
    top = div.append_axes("top", size="22%", pad=0.08, sharex=ax)
    right = div.append_axes("right", size="22%", pad=0.08, sharey=ax)
    dx = [(hi - lo) / 200 for lo, hi in bounds]
    for i, (mar, orient) in enumerate(((top, "vertical"), (right, "horizontal"))):
        marg = p.sum(axis=i) * dx[1 - i]   # p[row = x₁ index, column = x₀ index]
        mar.hist(S[:, i], bins=50, range=bounds[i], density=True, color=_SAMPLE, alpha=0.55,
                 orientation=orient, label="samples")
        if orient == "vertical":
            mar.plot(axes[0], marg, color=_LINE, lw=1.4, label="true marginal")
            mar.legend(fontsize=7, frameon=False, loc="upper left")
        else:
            mar.plot(marg, axes[1], color=_LINE, lw=1.4)
        mar.tick_params(labelbottom=False, labelleft=False, left=False, bottom=False)
        for side in ("top", "right", "left" if i == 0 else "bottom"):
            mar.spines[side].set_visible(False)
    if own:  # our own figure: a title over everything
        fig.suptitle(label, fontsize=10)
    else:
        top.set_title(label, fontsize=10)
    return _finish(fig, path)


def traces(trace, density=None, theta=None, *, steps=None, chains: int = 6, bounds=None,
           levels=None, title: str | None = None, path=None):
    """Langevin traces: ``trace`` is (R, C, D) (recorded states × chains × coordinates;
    ``steps`` (R,) the step numbers of the records, e.g. ``result.trace_steps``).
    One panel per coordinate (up to 4) shows ``chains`` chains against the step
    (the title says how many of how many); for a 2-D ``density`` a last panel shows
    their paths over its contours, in ``bounds`` (default: where the chains spend
    the second half of the trace, so the contours stay visible; excursions leave
    the window). ``levels``: annealed runs' ``(σ, last step of the level)`` pairs,
    drawn as dotted lines where the noise level changes.
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
    levels = [] if levels is None else [(float(sg), float(end)) for sg, end in levels]
    pick = np.linspace(0, n_chains - 1, min(chains, n_chains)).astype(int)
    n_coord = min(D, 4)
    paths = density is not None and D == 2
    fig = _new_figure((11.5 if paths else 7.0, 2.5 * max(n_coord, 2 if paths else 1)))
    gs = fig.add_gridspec(n_coord, 2 if paths else 1, width_ratios=[1.3, 1] if paths else None)
    colors = _palette(len(pick))
    shown = f"{len(pick)} of {n_chains} traced chains" if len(pick) < n_chains else \
        f"{n_chains} traced chains"
    for i in range(n_coord):
        ax = fig.add_subplot(gs[i, 0])
        for c, k in zip(colors, pick):
            ax.plot(steps, T[:, k, i], color=c, lw=0.8, alpha=0.9)
        for sg, end in levels[:-1]:
            ax.axvline(end, color="0.45", lw=0.7, ls=":")
        if i == 0 and levels:
            top = ax.secondary_xaxis("top")
            starts = [0.0] + [end for _, end in levels[:-1]]
            top.set_xticks([(a + e) / 2 for a, (_, e) in zip(starts, levels)],
                           [f"{sg:.2g}" for sg, _ in levels], fontsize=7)
            top.set_xlabel("noise level σ (dotted: σ changes)", fontsize=8)
        name = density.variables[i].name if density is not None else f"x_{i}"
        ax.set_ylabel(f"${name}$")
        if i == n_coord - 1:
            ax.set_xlabel("step")
        else:
            ax.tick_params(labelbottom=False)
    head = f"{title}: " if title else "Langevin traces: "
    fig.suptitle(f"{head}{shown}", fontsize=10)
    if paths:
        theta = _theta(density, theta)
        ax = fig.add_subplot(gs[:, 1])
        settled = T[n_rec // 2:, pick].reshape(-1, 2)
        settled = settled[np.all(np.isfinite(settled), axis=1)]
        bounds = _check_bounds(density, bounds, settled if len(settled) else None)
        if bounds is not None and _similar(bounds):   # a square window around the centre
            c = [(lo + hi) / 2 for lo, hi in bounds]
            half = max(hi - lo for lo, hi in bounds) / 2
            bounds = [(ci - half, ci + half) for ci in c]
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
        ax.set_aspect("equal" if _similar(bounds) else "auto")
        _labels(ax, density, 0, 1)
        ax.set_title("paths over the density contours\n(● first record, ★ last; "
                     "excursions may leave the window)", fontsize=9)
    return _finish(fig, path)


def sampler_comparison(density, theta, panels, *, level_shares=None, target=None,
                       share_label: str = "share", divider=None, bounds=None,
                       title: str | None = None, path=None):
    """Samples of several samplers side by side over the density's contours, and (for
    annealing) a statistic against the noise level.

    ``panels``: ``(label, samples (N, 2), value)`` per sampler (``value`` e.g. the
    share of samples in a mode, shown in the panel title and as a horizontal
    line on the right); ``level_shares``: ``(σ, value after that level)`` of an
    annealed run; ``target``: the true value (a dotted line); ``divider``: a line
    ``((x0, y0), (x1, y1))`` drawn dashed on each panel (e.g. the boundary the
    share is measured against). The last panel is the annealed run whose values
    ``level_shares`` follow.
    """
    theta = _theta(density, theta)
    if density.dim != 2:
        raise ShapeError(f"sampler_comparison draws 2-D densities; {density.name} has "
                         f"dimension {density.dim}")
    panels = [(str(lab), _as_samples(density, X), v) for lab, X, v in panels]
    allX = np.concatenate([X for _, X, _ in panels])
    bounds = _check_bounds(density, bounds, allX[np.all(np.isfinite(allX), axis=1)])
    right = level_shares is not None
    n = len(panels)
    fig = _new_figure((4.1 * n + (5.0 if right else 0), 4.6))
    gs = fig.add_gridspec(1, n + int(right), width_ratios=[1] * n + ([1.25] if right else []))
    axes_, G, Xg, p = _density_on_grid(density, theta, bounds, 200)
    colors = ["0.45"] + [_palette(10)[i] for i in (3, 0, 2, 4, 1)]
    for j, (lab, X, v) in enumerate(panels):
        ax = fig.add_subplot(gs[0, j])
        _contours(ax, axes_, p)
        if divider is not None:
            (x0, y0), (x1, y1) = divider
            ax.plot([x0, x1], [y0, y1], color="0.6", lw=0.8, ls="--")
        ax.scatter(X[:, 0], X[:, 1], s=3, alpha=0.5, color=colors[j % len(colors)], lw=0)
        ax.set_xlim(bounds[0])
        ax.set_ylim(bounds[1])
        ax.set_aspect("equal" if _similar(bounds) else "auto")
        _labels(ax, density, 0, 1)
        extra = f"\n{share_label.split(' (')[0]}: {v:.3f}" if v is not None else ""
        ax.set_title(f"{lab} ({len(X)} samples){extra}", fontsize=9)
    if right:
        ax = fig.add_subplot(gs[0, n])
        sig = [float(a) for a, _ in level_shares]
        val = [float(b) for _, b in level_shares]
        ax.semilogx(sig, val, "o-", color=colors[2 % len(colors)],
                    label="annealed: after level σ")
        if target is not None:
            ax.axhline(target, color="k", lw=1, ls=":", label=f"true value {target:g}")
        for j, (lab, X, v) in enumerate(panels[:-1]):   # the last panel: the curve's end
            if v is not None:
                ax.axhline(v, color=colors[j % len(colors)], lw=1.1, ls="--" if j else "-.",
                           label=f"{lab} ({v:.3f})")
        ax.invert_xaxis()
        ticks = [t for t in (50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1) if min(sig) <= t <= max(sig)]
        if ticks:
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
        ax.set_xlabel("noise level σ (annealing runs right →)")
        ax.set_ylabel(share_label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="best")
        ax.set_title(f"{share_label} against the noise level", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10.5)
    return _finish(fig, path)


def _palette(n):
    matplotlib, _ = _mpl()
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]
