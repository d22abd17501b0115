"""The samplers with ``x0`` a dask array chunked along chains.

Each chunk of chains runs, on whichever worker, the single-process sampler on
its rows with the private ``_first_chain`` = the global index of its first
chain, so its xoroshiro128+ streams are those chains' streams
(:func:`symscore.backends.rng.seed_states` with ``first``). Chains never
interact, so every chain — final state, trace, first non-finite step, MALA
acceptance — is bit for bit the one of the single-process run, for any chunking
and any number of workers; runaway chains are judged on the client against the
spread of all starting points, as in the single process. The result is the same :class:`~symscore.SampleResult`
(NumPy arrays, gathered on the client; a non-finite-chains warning is raised
there, once).

>>> import numpy as np, dask.array as da, symscore as ss
>>> g = ss.families.gaussian(dim=1)
>>> x0 = np.zeros((6, 1))
>>> a = ss.langevin(g, x0, None, 0.1, 20, seed=4, target="numpy")
>>> b = ss.langevin(g, da.from_array(x0, chunks=(4, 1)), None, 0.1, 20, seed=4,
...                 target="numpy")
>>> bool(np.array_equal(a.x, b.x))
True
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import warnings

import numpy as np

from ..errors import SamplerError
from . import require_dask
from .arrays import _compute, _delayed_payload, _offsets, _rows

__all__ = ["run"]

#: the per-chain fields of a SampleResult, concatenated over chunks (``runaway`` is
#: recomputed on the client; the trace's chain axis is 1)
_PER_CHAIN = ("x", "trace", "first_nonfinite_step", "acceptance", "nonfinite_proposals")


def _chunk(block, first, payload, name, args):
    from .. import sampling
    from .shipping import worker_kernels
    k = worker_kernels(payload)
    with warnings.catch_warnings():   # warned once, on the client
        warnings.simplefilter("ignore", sampling.NonFiniteChainsWarning)
        warnings.simplefilter("ignore", sampling.RunawayChainsWarning)
        r = getattr(sampling, name)(k, block, **args, _first_chain=first, progress=False)
    # the starting points too: runaway chains are judged against all of them
    return r, np.array(k.samples(block, name="x0"))


def run(sampler, kernels, x0, *args, **kwargs):
    """Run ``sampler`` (the undecorated public function) on the chunks of x0."""
    import dask
    from ..sampling import _as_kernels, _runaway, _start_spread, _warn_chains
    require_dask(f"{sampler.__name__} with a dask x0")
    started = time.perf_counter()
    bound = inspect.signature(sampler).bind(kernels, x0, *args, **kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    if a.pop("_first_chain"):
        raise SamplerError("_first_chain is private and cannot be combined with a dask x0")
    a.pop("progress")
    k = _as_kernels(a.pop("kernels"), a.pop("target"))
    X = _rows(k, a.pop("x0"), name="x0")
    p = _delayed_payload(k, [("core", None)])
    f = dask.delayed(_chunk, pure=True)
    name = sampler.__name__
    parts = _compute([f(b, off, p, name, a) for b, off in
                      zip(X.to_delayed().ravel(), _offsets(X))])
    results = [r for r, _ in parts]
    cat = {}
    for fld in _PER_CHAIN:
        vals = [getattr(r, fld) for r in results]
        cat[fld] = None if vals[0] is None else np.concatenate(
            vals, axis=1 if fld == "trace" else 0)
    centre, spread = _start_spread(np.concatenate([x for _, x in parts]))
    cat["runaway"] = _runaway(cat["x"], cat["first_nonfinite_step"], centre, spread)
    # every other field (method, seed, step sizes, levels, …) is the same in every chunk
    res = dataclasses.replace(results[0], seconds=time.perf_counter() - started, **cat)
    _warn_chains(res, stacklevel=4)
    return res
