"""Scale-out on Dask: the same public calls on dask arrays, the same numbers.

This layer sits on top of the public API (nothing below it knows about Dask):

* :mod:`.arrays` — every :class:`~symscore.Kernels` method on a ``dask.array``
  chunked along samples: per-sample methods return lazy dask arrays; losses and
  θ-gradients return the float / NumPy array of the NumPy call, through an exact
  tree reduction (:mod:`.exactsum`), so the result does not depend on the
  scheduler, the number of workers or the order in which chunks finish
  (:mod:`.noise`: ``dsm_loss``/``ssm_loss`` with the single-process noise);
* :mod:`.samplers` — ``langevin``, ``mala``, ``annealed_langevin`` with ``x0`` a
  dask array chunked along chains: each chunk runs with the per-chain streams of
  its *global* chain indices, so every chain is bit for bit the one of the
  single-process run;
* :mod:`.fitting` — ``fit`` on a dask array (exact path: sufficient statistics
  accumulated chunk by chunk);
* :mod:`.shipping` — workers receive the generated kernel source with the task
  (content-hashed), write it into their own symscore cache and compile it once
  per process;
* :mod:`.scheduler` — ``--scheduler ADDRESS | local:N`` for the CLI.

Needs the ``[dask]`` extra (``pip install ".[dask]"`` in the source tree, or
``pip install "dask[array]" distributed``); without it a dask
input raises :class:`~symscore.errors.DaskUnavailableError`. Importing symscore
never imports dask.

>>> import numpy as np
>>> is_dask(np.zeros(3))
False
"""

from __future__ import annotations

from ..errors import DaskUnavailableError

__all__ = ["is_dask", "require_dask", "DaskUnavailableError"]


def is_dask(obj) -> bool:
    """Whether ``obj`` is a dask collection (checked without importing dask)."""
    return type(obj).__module__.partition(".")[0] == "dask"


def require_dask(what: str = "dask arrays"):
    """Import and return ``dask.array``, or raise :class:`DaskUnavailableError`."""
    try:
        import dask.array as da
    except ImportError as exc:
        raise DaskUnavailableError(
            f"using {what} needs dask: pip install \".[dask]\" in the symscore source tree "
            f"(or pip install \"dask[array]\" distributed) ({exc})") from None
    return da
