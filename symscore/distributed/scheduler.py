"""Where Dask computations run, for the CLI's ``--scheduler ADDRESS | local:N``.

``local:N`` starts a local cluster of N spawned worker processes (one Dask thread
each; numba gets cores/N threads per worker); anything else is the address of a
running scheduler (``tcp://host:8786``, e.g. started by dask-jobqueue or the Dask
Kubernetes operator). Data files become dask arrays read *on the workers*
(``.npy`` as memory maps, chunk by chunk): the path must be visible to them.

>>> parse("local:4"), parse("tcp://10.0.0.5:8786")
(('local', 4), ('address', 'tcp://10.0.0.5:8786'))
"""

from __future__ import annotations

import logging
import math
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import DaskUnavailableError, SymscoreError
from . import require_dask

__all__ = ["parse", "session", "data_rows", "chain_rows", "open_npy"]

DATA_ROWS = 1 << 21   # data chunks: multiples of every reduction block (2¹⁶; fit's ≤ 2²¹)


def parse(spec: str):
    """``("local", N)`` or ``("address", spec)``; a SymscoreError for a bad spec."""
    if spec.startswith("local:"):
        try:
            n = int(spec[len("local:"):])
        except ValueError:
            n = 0
        if n < 1:
            raise SymscoreError(f"--scheduler {spec!r}: local:N needs a positive number of "
                                "workers N")
        return "local", n
    if not spec or spec.isspace():
        raise SymscoreError("--scheduler needs ADDRESS or local:N")
    return "address", spec


@contextmanager
def session(spec: str | None):
    """A ``distributed.Client`` as the default scheduler for the block (None: none)."""
    if spec is None:
        yield None
        return
    kind, value = parse(spec)
    require_dask("--scheduler")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise DaskUnavailableError(f"--scheduler needs distributed: pip install \".[dask]\" "
                                   f"in the symscore source tree (or pip install distributed) "
                                   f"({exc})") from None
    if kind == "local":
        threads = str(max(1, (os.cpu_count() or 1) // value))
        with LocalCluster(n_workers=value, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR,
                          env={"NUMBA_NUM_THREADS": threads}) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(value, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise SymscoreError(f"--scheduler {value!r}: cannot reach the scheduler ({exc})") \
            from None
    with client:
        yield client


def _workers(client) -> int:
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # noqa: BLE001 - a count for chunk sizes only
        return 1


def data_rows(n: int, client) -> int:
    """Rows per data chunk: a multiple of :data:`DATA_ROWS`, about 8 chunks per worker."""
    per = math.ceil(n / (8 * _workers(client) * DATA_ROWS))
    return DATA_ROWS * max(1, per)


def chain_rows(n: int, client) -> int:
    """Chains per chunk: two chunks per worker (the chains do not depend on it)."""
    return max(1, math.ceil(n / (2 * _workers(client))))


def _npy_rows(path, lo, hi):
    """Rows lo…hi of a .npy file: a memory-mapped view (read when used; a copy only
    if Dask moves it to another worker)."""
    rows = np.load(path, mmap_mode="r", allow_pickle=False)[lo:hi]
    return rows[:, None] if rows.ndim == 1 else rows


def open_npy(path, client):
    """A ``.npy`` file as a dask array whose chunks are read (memory-mapped) on the
    workers; the file is not loaded on the client."""
    import dask
    import dask.array as da
    path = str(Path(path).resolve())
    mm = np.load(path, mmap_mode="r", allow_pickle=False)
    if mm.ndim == 1:
        mm = mm[:, None]
    n, rest = mm.shape[0], mm.shape[1:]
    rows = data_rows(n, client)
    load = dask.delayed(_npy_rows, pure=True)
    parts = [da.from_delayed(load(path, lo, min(lo + rows, n)), (min(lo + rows, n) - lo,)
                             + rest, dtype=mm.dtype) for lo in range(0, n, rows)]
    X = da.concatenate(parts, axis=0)
    return X
