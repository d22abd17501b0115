"""Overhead of running on Dask: a 2-worker local process cluster against one process.

    python benchmarks/bench_dask.py             # issue sizes: 1e8 samples, 1e6 chains × 1000 steps
    python benchmarks/bench_dask.py --quick     # 1e7 samples, 1e5 chains × 200 steps

Workloads (issue 15), both on the 2-D Gaussian mixture with K = 8 components
(family defaults, as in bench_sampling.py), target "cpu":

* ISM loss over N samples read from a memory-mapped ``.npy`` file (written
  once to ``--data-dir``): single process ``k.ism_loss(np.load(path, mmap_mode="r"))``
  with numba on all cores, against ``k.ism_loss(X)`` with X a dask array read on
  the workers (``symscore.distributed.scheduler.open_npy``);
* the same loss with the samples already in memory on both sides
  (``--memory``: each worker generates its chunks, persisted before timing;
  the client holds the same numbers), which isolates Dask's own overhead from
  reading the file;
* ULA with C chains × T steps: ``ss.langevin(k, x0, …)`` against the same call
  with x0 a dask array chunked along chains.

The cluster has as many workers as cores (``--workers``, default 2), one Dask
thread each, numba single-threaded in the workers, so both sides use the same
cores. Everything is compiled and warm (client and workers) before timing; best
of ``--repeat``. Each pair of results is checked for equality (bit for bit).
overhead = t_dask / t_single − 1 (target ≤ 15 %), in wall time and in CPU time
(all processes: client with its in-process scheduler, and workers). On a
machine shared with other jobs wall times are noisy — a process waits for a core
— and the CPU-time overhead is the steadier measure of the extra work; report
the load with the numbers.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import symscore as ss


def best(fn, repeat, client=None):
    """(best wall time, best CPU time, outputs) of ``fn(i)``, i = 0 … repeat−1 (each
    repetition gets other inputs: Dask would otherwise reuse results still held
    from the previous one). CPU time: this process's (all its threads; with
    ``client`` it includes the in-process scheduler) plus every worker process's."""
    walls, cpus, outs = [], [], []
    for i in range(repeat):
        c0 = cpu_now(client)
        t = time.perf_counter()
        outs.append(fn(i))
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_now(client) - c0)
    return min(walls), min(cpus), outs


def cpu_now(client=None) -> float:
    t = time.process_time()
    if client is not None:
        t += sum(client.run(time.process_time).values())
    return t


def data_file(directory: Path, n: int) -> Path:
    """N × 2 float64 samples written once, in blocks (never all in memory)."""
    path = directory / f"bench_dask_{n}.npy"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float64, shape=(n, 2))
    rng = np.random.default_rng(0)
    for lo in range(0, n, 1 << 22):
        hi = min(lo + (1 << 22), n)
        mm[lo:hi] = rng.normal(size=(hi - lo, 2)) * 2.0
    mm.flush()
    del mm
    os.replace(tmp, path)
    return path


def _chunk_rows(lo, hi):
    return np.random.default_rng(lo).normal(size=(hi - lo, 2)) * 2.0


def in_memory(n: int, client):
    """The same N × 2 samples on the client (NumPy) and on the workers (persisted)."""
    import dask
    import dask.array as da
    from symscore.distributed.scheduler import data_rows
    rows = data_rows(n, client)
    bounds = [(lo, min(lo + rows, n)) for lo in range(0, n, rows)]
    Xd = da.concatenate([da.from_delayed(dask.delayed(_chunk_rows)(lo, hi), (hi - lo, 2),
                                         dtype=np.float64) for lo, hi in bounds])
    Xd = client.persist(Xd)
    X = np.empty((n, 2))
    for lo, hi in bounds:
        X[lo:hi] = _chunk_rows(lo, hi)
    from distributed import wait
    wait(Xd)
    return X, Xd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=float, default=None)
    ap.add_argument("--chains", type=float, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--data-dir", default="/tmp/symscore-bench")
    ap.add_argument("--skip", choices=("ism", "ula"), action="append", default=[])
    ap.add_argument("--memory", action="store_true",
                    help="ISM loss on samples held in memory (no file), see above")
    a = ap.parse_args()
    N = int(a.samples or (1e7 if a.quick else 1e8))
    C = int(a.chains or (1e5 if a.quick else 1e6))
    T = int(a.steps or (200 if a.quick else 1000))

    import dask.array as da
    from distributed import Client, LocalCluster
    from symscore.distributed.scheduler import open_npy, chain_rows

    density = ss.families.gaussian_mixture(dim=2)
    k = ss.compile(density, target="cpu")
    theta = density.defaults
    print(f"load average at start: {os.getloadavg()}, cores {os.cpu_count()}, "
          f"workers {a.workers}")
    threads = str(max(1, (os.cpu_count() or 1) // a.workers))
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env={"NUMBA_NUM_THREADS": threads}) as cl, \
            Client(cl) as client:
        rows = []
        if "ism" not in a.skip:
            if a.memory:
                X, Xd = in_memory(N, client)
                where = "in memory"
            else:
                path = data_file(Path(a.data_dir), N)
                X = np.load(path, mmap_mode="r")
                Xd = open_npy(path, client)
                where = "mmap .npy"
            small = da.from_array(np.asarray(X[:300_000]), chunks=(1 << 16, 2))
            k.ism_loss(small, theta), k.ism_loss(X[:1000], theta)   # compile both sides
            th = lambda i: np.asarray(theta) + 1e-6 * i   # noqa: E731
            t1, c1, v1 = best(lambda i: k.ism_loss(X, th(i)), a.repeat)
            t2, c2, v2 = best(lambda i: k.ism_loss(Xd, th(i)), a.repeat, client)
            rows.append((f"ISM loss, {N:.0e} samples ({where})", t1, t2, c1, c2, v1 == v2))
            del X, Xd
        if "ula" not in a.skip:
            x0 = np.random.default_rng(1).normal(size=(C, 2))
            x0d = da.from_array(x0, chunks=(chain_rows(C, client), 2))
            run = dict(step_size=0.01, n_steps=T)
            ss.langevin(k, da.from_array(x0[:512], chunks=(256, 2)), theta, 0.01, 2, seed=1)
            ss.langevin(k, x0[:512], theta, 0.01, 2, seed=1)
            t1, c1, r1 = best(lambda i: ss.langevin(k, x0, theta, seed=3 + i, **run), a.repeat)
            t2, c2, r2 = best(lambda i: ss.langevin(k, x0d, theta, seed=3 + i, **run),
                              a.repeat, client)
            rows.append((f"ULA, {C:.0e} chains × {T} steps", t1, t2, c1, c2,
                         all(np.array_equal(p.x, q.x) for p, q in zip(r1, r2))))
    print(f"load average at end: {os.getloadavg()}")
    print(f"{'workload':<38} {'wall: single':>12} {'dask':>7} {'overhead':>8}   "
          f"{'CPU: single':>11} {'dask':>7} {'overhead':>8}  equal")
    for name, t1, t2, c1, c2, eq in rows:
        print(f"{name:<38} {t1:11.2f}s {t2:6.2f}s {100 * (t2 / t1 - 1):7.1f}%   "
              f"{c1:10.2f}s {c2:6.2f}s {100 * (c2 / c1 - 1):7.1f}%  {eq}")


if __name__ == "__main__":
    main()
