"""``dsm_loss`` and ``ssm_loss`` on dask arrays, with the single-process noise.

The single-process call draws its noise from one NumPy stream
(``numpy.random.default_rng(seed)``) in fixed blocks of rows — DSM: one
``standard_normal((rows, D))`` per block of ``NOISE_BLOCK`` rows and noise
level, levels outermost; SSM: one draw of shape (n_projections, rows, D) per
block of ``NOISE_BLOCK // n_projections`` rows — and adds the per-block sums in
order. Here the row chunks are aligned to those blocks; a chain of small tasks
replays the stream (the same calls, results discarded) to hand each chunk its
starting generator state, then every chunk draws its own noise and computes its
block sums in parallel; the client adds the block sums in the single-process
order. The result is the single-process float, bit for bit. With ``noise``
given (DSM), the noise is split with X's chunks and reduced like the other
losses (:mod:`.arrays`).

>>> import numpy as np, dask.array as da, symscore as ss
>>> k = ss.compile(ss.families.gaussian(dim=2), target="numpy")
>>> X = np.random.default_rng(0).normal(size=(150_000, 2))
>>> Xd = da.from_array(X, chunks=(65536, 2))
>>> k.dsm_loss(Xd, sigma=[1.0, 0.5], seed=3) == k.dsm_loss(X, sigma=[1.0, 0.5], seed=3)
True
"""

from __future__ import annotations

import numpy as np

from ..errors import SymscoreError
from . import exactsum
from .arrays import _compute, _delayed_payload, _merge_sums, _offsets, aligned, \
    checked, tree_reduce
from .shipping import worker_kernels

__all__ = ["dsm_loss", "ssm_loss"]


def _generator(state):
    g = np.random.Generator(getattr(np.random, state["bit_generator"])())
    g.bit_generator.state = state
    return g


def _draw(g, kind, shape, dtype):
    if kind == "normal":
        return g.standard_normal(shape).astype(dtype)
    from ..kernels import draw_directions
    return draw_directions(g, kind, shape, dtype)


def _skip(state, n_rows, unit, kind, lead, D):
    """The generator state after the draws of ``n_rows`` rows (results discarded)."""
    g = _generator(state)
    for lo in range(0, n_rows, unit):
        m = min(unit, n_rows - lo)
        _draw(g, kind, lead + (m, D), np.float64)
    return g.bit_generator.state


def _noise_block(block, offset, state, payload, job):
    """Per-block sums of one chunk and one noise level, as the single process does."""
    k = worker_kernels(payload)
    X = checked(k, block, offset)
    g = _generator(state)
    out = []
    for lo in range(0, X.shape[0], job["unit"]):
        hi = min(lo + job["unit"], X.shape[0])
        Z = _draw(g, job["kind"], job["lead"] + (hi - lo, X.shape[1]), k._np_dtype)
        if job["loss"] == "dsm":
            out.append(k._ops.dsm_sum(X[lo:hi], Z, job["sigma"], job["levels"], job["th"]))
        else:
            out.append(k._ops.ssm_sum(X[lo:hi], Z, job["th"]))
    return out


def _sequential(k, X, seed, jobs, sets):
    """Σ of all block sums in the single-process order (jobs: one per noise level)."""
    import dask
    X = aligned(X, jobs[0]["unit"]) if X.chunks[0] else X
    p = _delayed_payload(k, sets)
    blocks, offsets = X.to_delayed().ravel(), _offsets(X)
    state = k._rng(seed).bit_generator.state
    skip = dask.delayed(_skip, pure=True)
    run = dask.delayed(_noise_block, pure=True)
    tasks = []
    for job in jobs:
        for b, off, n in zip(blocks, offsets, X.chunks[0]):
            tasks.append(run(b, off, state, p, job))
            state = skip(state, int(n), job["unit"], job["kind"], job["lead"], X.shape[1])
    total = 0.0
    for sums in _compute(tasks):
        for s in sums:
            total += s
    return total


def dsm_loss(k, X, a):
    """:meth:`symscore.Kernels.dsm_loss` for a dask array X (arguments bound in ``a``)."""
    from ..kernels import NOISE_BLOCK
    th = k.theta(a["theta"])
    sigmas, levels = k._sigmas(a["sigma"])
    seed, noise = a["seed"], a["noise"]
    if noise is not None and seed is not None:
        raise SymscoreError("give either seed or noise to dsm_loss, not both")
    N, D = X.shape
    if noise is None:
        k._rng(seed)  # validates the seed
        jobs = [dict(loss="dsm", unit=NOISE_BLOCK, kind="normal", lead=(), sigma=s,
                     levels=levels, th=th) for s in sigmas]
        return _sequential(k, X, seed, jobs, [("dsm", None)]) / (N * len(sigmas))
    return _dsm_given_noise(k, X, noise, sigmas, levels, th) / (N * len(sigmas))


def _dsm_noise_block(block, zblock, offset, payload, sigma, levels, th):
    k = worker_kernels(payload)
    X, Z = checked(k, block, offset), checked(k, zblock, offset, "noise")
    ops = k._ops
    parts = ops.dsm_sum_parts(X, Z, sigma, levels, th) if hasattr(ops, "dsm_sum_parts") \
        else [ops.dsm_sum(X, Z, sigma, levels, th)]
    return exactsum.expansion(parts)


def _dsm_given_noise(k, X, noise, sigmas, levels, th):
    import dask
    import dask.array as da
    from ..errors import ShapeError
    from .arrays import ALIGN
    N, D = X.shape
    Z = noise if hasattr(noise, "rechunk") else da.from_array(np.asarray(noise))
    shape = (N, D) if not levels else (len(sigmas), N, D)
    if tuple(Z.shape) != shape:
        raise ShapeError(f"noise must have shape {shape}, got {tuple(Z.shape)}")
    X = aligned(X, ALIGN)
    Zs = [Z] if not levels else [Z[i] for i in range(len(sigmas))]
    p = _delayed_payload(k, [("dsm", None)])
    f = dask.delayed(_dsm_noise_block, pure=True)
    total = 0.0
    for s, z in zip(sigmas, Zs):
        z = z.rechunk((X.chunks[0], (D,)))
        leaves = [f(b, zb, off, p, s, levels, th) for b, zb, off in
                  zip(X.to_delayed().ravel(), z.to_delayed().ravel(), _offsets(X))]
        total += exactsum.total(_compute(tree_reduce(leaves, _merge_sums)))
    return total


def ssm_loss(k, X, a):
    """:meth:`symscore.Kernels.ssm_loss` for a dask array X (arguments bound in ``a``)."""
    from ..kernels import NOISE_BLOCK
    th = k.theta(a["theta"])
    n_proj, kind = a["n_projections"], a["kind"]
    if isinstance(n_proj, bool) or not isinstance(n_proj, (int, np.integer)) or n_proj < 1:
        raise SymscoreError(f"n_projections must be a positive integer, got {n_proj!r}")
    if kind not in ("rademacher", "gaussian"):
        raise SymscoreError(f"kind must be 'rademacher' or 'gaussian', got {kind!r}")
    k._rng(a["seed"])
    rows = max(1, NOISE_BLOCK // int(n_proj))
    jobs = [dict(loss="ssm", unit=rows, kind=kind, lead=(int(n_proj),), th=th)]
    return _sequential(k, X, a["seed"], jobs, [("ssm", None)]) / (X.shape[0] * int(n_proj))



