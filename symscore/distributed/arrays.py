"""The :class:`~symscore.Kernels` methods on dask arrays chunked along samples.

Per-sample methods (``log_density``, ``score``, ``divergence``, ``ism``,
``weighted_ism``) return lazy dask arrays with X's row chunks. Losses and
θ-gradients return what the NumPy call returns, computed with the current Dask
scheduler (a ``distributed.Client`` if one is active):

* each chunk computes the *same* partial sums as the single-process kernels
  (rows are cut into the same fixed blocks, so chunk boundaries must be
  multiples of :data:`ALIGN` rows — other chunkings are rechunked to aligned
  ones first), turns them into an exact expansion (:mod:`.exactsum`), and
  the expansions are merged up a tree; the final rounding gives the
  single-process ``math.fsum`` — bit for bit on identical hardware, whatever
  the scheduler, the number of workers or the chunk size;
* ``dsm_loss`` / ``ssm_loss`` with a ``seed`` draw their noise from one
  sequential NumPy stream, exactly as the single-process call does: a chain of
  small tasks replays the stream to find each chunk's starting state (serial,
  costing one noise generation), then the chunks compute in parallel.

Inputs are checked lazily: a non-finite entry raises
:class:`~symscore.InputValueError` (naming its global row) when the chunk is
computed. Example (dask's threaded scheduler; a ``distributed.Client`` works
the same):

>>> import numpy as np, dask.array as da, symscore as ss
>>> k = ss.compile(ss.families.gaussian(dim=1), target="numpy")
>>> X = np.linspace(-3, 3, 300_000)[:, None]
>>> k.ism_loss(da.from_array(X, chunks=(65536, 1)), [0.5, 1.0]) == k.ism_loss(X, [0.5, 1.0])
True
"""

from __future__ import annotations

import numpy as np

from ..errors import InputValueError, ShapeError, SymscoreError
from . import exactsum
from .shipping import payload_for, worker_kernels

__all__ = ["dispatch", "ALIGN", "aligned", "tree_reduce", "check_block", "checked"]

ALIGN = 1 << 16   # a multiple of every kernel's reduction block (CPU 1024/256, NumPy 4096)
_FAN_IN = 8


# -- helpers ------------------------------------------------------------------------------

def check_block(X, offset: int, name: str = "X"):
    """Raise :class:`InputValueError` naming the global row of a non-finite entry."""
    if X.size and not (np.isfinite(X.min()) and np.isfinite(X.max())):
        i, j = (int(v) for v in np.argwhere(~np.isfinite(X))[0])
        raise InputValueError(f"{name}[{offset + i}, {j}] = {X[i, j]} is not finite")


def checked(k, X, offset: int, name: str = "X"):
    """``k.samples(X)`` (one pass: dtype, layout, finiteness), a non-finite entry
    reported with its global row."""
    try:
        return k.samples(X, name=name, allow_empty=True)
    except InputValueError:
        check_block(X, offset, name)
        raise


def _rows(k, X, name="X", allow_empty=False):
    """Client-side checks of a dask array of samples; rows in one column chunk."""
    import dask.array as da
    D = k.density.dim
    if not isinstance(X, da.Array):
        raise ShapeError(f"{name} must be a dask array (dask.array.Array), got "
                         f"{type(X).__module__}.{type(X).__name__}")
    if X.ndim != 2 or X.shape[1] != D:
        raise ShapeError(f"{name} must have shape (N, {D}) (D = {D}), got {X.shape}")
    if np.isnan(X.shape[0]):
        raise ShapeError(f"{name} has an unknown number of rows; call "
                         f"{name}.compute_chunk_sizes() first")
    if X.dtype.kind not in "fiu":
        raise ShapeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.shape[0] == 0 and not allow_empty:
        raise ShapeError(f"{name} holds no samples (shape {X.shape})")
    if X.dtype != k._np_dtype and not k.copy:
        raise ShapeError(f"{name} must be a {k.dtype} array (got dtype {X.dtype}); convert "
                         "it, or compile with copy=True")
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def aligned(X, unit: int):
    """X with row-chunk boundaries at multiples of ``unit`` (rechunked if needed)."""
    chunks = X.chunks[0]
    bounds = np.cumsum(chunks)[:-1]
    if np.all(bounds % unit == 0):
        return X
    size = max(unit, int(round(float(np.median(chunks)) / unit)) * unit)
    return X.rechunk({0: size})


def _offsets(X):
    return [int(v) for v in np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])]


def _delayed_payload(k, sets):
    """The payload of ``k`` for ``sets`` as one delayed value (built once per Kernels
    object and sets; shipped once to each worker that needs it)."""
    import dask
    from ..codegen.module import spec_key
    key = tuple((s, spec_key(spec)) for s, spec in sets)
    cache = k.__dict__.setdefault("_dask_payloads", {})
    if key not in cache:
        cache[key] = dask.delayed(payload_for(k, sets), pure=True)
    return cache[key]


def tree_reduce(leaves, combine):
    """Combine delayed leaves in a fixed tree of fan-in 8 (``combine(*items)``)."""
    import dask
    level = list(leaves)
    f = dask.delayed(combine, pure=True)
    while len(level) > 1:
        level = [f(*level[i:i + _FAN_IN]) if len(level[i:i + _FAN_IN]) > 1 else level[i]
                 for i in range(0, len(level), _FAN_IN)]
    return level[0]


def _compute(obj):
    import dask
    return dask.compute(obj)[0]


# -- per-sample methods -------------------------------------------------------------------

def _values_block(block, payload, method, th, extra, block_info=None):
    k = worker_kernels(payload)
    X = checked(k, block, block_info[0]["array-location"][0][0])
    return getattr(k, method)(X, th, *extra)


def _per_sample(k, method, X, theta, extra=(), sets=(("core", None),)):
    import dask.array as da
    X = _rows(k, X, allow_empty=True)
    th = k.theta(theta)
    p = _delayed_payload(k, sets)
    kw = {} if method == "score" else {"drop_axis": 1}
    return da.map_blocks(_values_block, X, p, method, th, extra, dtype=k._np_dtype,
                         meta=np.empty((0,) * (2 if method == "score" else 1), k._np_dtype),
                         **kw)


# -- sums ---------------------------------------------------------------------------------

def _sum_block(block, offset, payload, what, th, spec):
    k = worker_kernels(payload)
    X = checked(k, block, offset)
    parts = k._ops.sum_parts(what, X, th, spec) if hasattr(k._ops, "sum_parts") else \
        [k._ops.sum(what, X, th, spec)]
    return exactsum.expansion(parts)


def _grad_block(block, offset, payload, what, th, spec):
    k = worker_kernels(payload)
    X = checked(k, block, offset)
    if not hasattr(k._ops, "grad_sum_parts"):  # (CUDA: one rounded sum per chunk)
        total, grad = k._ops.ism_grad_sum(X, th)
        return [float(total)], [[float(g)] for g in grad]
    part, gpart = k._ops.grad_sum_parts(what, X, th, spec)
    return exactsum.expansion(part), exactsum.expansions(gpart)


def _merge_sums(*items):
    return exactsum.merge_many(items)


def _merge_grads(*items):
    P = len(items[0][1])
    return (exactsum.merge_many(i[0] for i in items),
            [exactsum.merge_many(i[1][j] for i in items) for j in range(P)])


def _reduce(k, X, block_fn, combine, sets, *args):
    import dask
    X = aligned(X, ALIGN)
    p = _delayed_payload(k, sets)
    blocks = X.to_delayed().ravel()
    f = dask.delayed(block_fn, pure=True)
    leaves = [f(b, off, p, *args) for b, off in zip(blocks, _offsets(X))]
    return _compute(tree_reduce(leaves, combine))


def _loss(k, X, th, what, spec, kernel_set):
    X = _rows(k, X)
    exp = _reduce(k, X, _sum_block, _merge_sums, [(kernel_set, spec)], what, th, spec)
    return exactsum.total(exp) / X.shape[0]


def _loss_and_grad(k, X, th, what, spec):
    if what == "weighted" and not hasattr(k._ops, "grad_sum"):
        from ..errors import BackendUnavailableError
        raise BackendUnavailableError(f"weighted_ism_loss_and_grad is not available on "
                                      f"target={k.target!r}; use 'cpu' or 'numpy'")
    X = _rows(k, X)
    e, g = _reduce(k, X, _grad_block, _merge_grads, [(f"{what}_grad", spec)], what, th, spec)
    N = X.shape[0]
    return exactsum.total(e) / N, exactsum.totals(g) / N


# -- dispatch from the public methods -----------------------------------------------------

def dispatch(k, name, X, *args, **kwargs):
    """Run ``Kernels.<name>(X, …)`` for a dask array X (see the module doc)."""
    from . import require_dask
    require_dask(f"Kernels.{name} on a dask array")
    import inspect
    from ..kernels import Kernels
    sig = inspect.signature(getattr(Kernels, name).__wrapped__)
    bound = sig.bind(k, X, *args, **kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    return _HANDLERS[name](k, X, a)


def _weighted_spec(k, a):
    return k._weights(a.get("weights"))


def _h_per_sample(method):
    def run(k, X, a):
        if method == "weighted_ism":
            spec = _weighted_spec(k, a)
            return _per_sample(k, method, X, a["theta"], (a.get("weights"),),
                               (("weighted", spec),))
        return _per_sample(k, method, X, a["theta"])
    return run


def _h_esm(k, X, a):
    from ..density import Density
    ref = a["reference"]
    if not isinstance(ref, Density):
        raise SymscoreError(f"reference must be a symscore Density, got {type(ref).__name__}")
    if ref.dim != k.density.dim:
        raise ShapeError(f"reference density has dimension {ref.dim}, the model "
                         f"{k.density.dim}")
    th = np.concatenate([k.theta(a["theta"]), k.theta(a["reference_theta"], ref)])
    return _loss(k, X, th, "esm", ref, "esm")


def _h_dsm(k, X, a):
    from .noise import dsm_loss
    return dsm_loss(k, _rows(k, X), a)


def _h_ssm(k, X, a):
    from .noise import ssm_loss
    return ssm_loss(k, _rows(k, X), a)


_HANDLERS = {
    "log_density": _h_per_sample("log_density"),
    "score": _h_per_sample("score"),
    "divergence": _h_per_sample("divergence"),
    "ism": _h_per_sample("ism"),
    "weighted_ism": _h_per_sample("weighted_ism"),
    "ism_loss": lambda k, X, a: _loss(k, X, k.theta(a["theta"]), "ism", None, "core"),
    "ism_loss_and_grad": lambda k, X, a: _loss_and_grad(k, X, k.theta(a["theta"]), "ism",
                                                        None),
    "weighted_ism_loss": lambda k, X, a: _loss(k, X, k.theta(a["theta"]), "weighted",
                                               _weighted_spec(k, a), "weighted"),
    "weighted_ism_loss_and_grad": lambda k, X, a: _loss_and_grad(
        k, X, k.theta(a["theta"]), "weighted", _weighted_spec(k, a)),
    "esm_loss": _h_esm,
    "dsm_loss": _h_dsm,
    "ssm_loss": _h_ssm,
}
METHODS = tuple(_HANDLERS)
