"""symscore on Dask: the same public calls on dask arrays give the single-process
numbers — losses and gradients equal to the last bit, chains bit for bit — on a
process cluster whose workers start with an empty kernel cache, and after a
worker dies in the middle of a computation."""

import os
import subprocess
import sys
import threading
import time
from dataclasses import fields

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

import symscore as ss  # noqa: E402
from symscore.distributed import exactsum  # noqa: E402
from symscore.errors import DaskUnavailableError, InputValueError  # noqa: E402

GAUSS = {"mean": [0.5, -1.0], "prec_chol": [[1.2, 0.0], [0.3, 0.8]]}


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-cache")


@pytest.fixture(scope="module")
def client(worker_cache):
    """Two spawned worker processes (dask's default start method is spawn: numba's
    OpenMP layer does not survive a fork), one thread each, numba single-threaded,
    and a kernel cache of their own that starts empty."""
    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
    env = {"SYMSCORE_CACHE_DIR": str(worker_cache), "NUMBA_NUM_THREADS": "1"}
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None, env=env) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _same(a, b):
    """Every field of two SampleResults equal (NaNs included), but the timing."""
    for f in fields(a):
        if f.name == "seconds":
            continue
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            assert va is not None and vb is not None, f.name
            assert va.dtype == vb.dtype and np.array_equal(va, vb, equal_nan=True), f.name
        else:
            assert va == vb, f.name


def _data(n=200_001, d=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) * 0.8 + 0.3


# -- kernels compiled on workers with an empty cache -----------------------------------------

def test_cold_workers_get_the_source_and_never_generate(client, worker_cache):
    """The workers' cache starts empty; they install the shipped source (generation is
    disabled on them) and compile it; the loss equals the NumPy-input loss exactly."""
    def forbid():
        import symscore.codegen.module as m

        def no(*a, **k):
            raise AssertionError("a worker generated kernel source")
        m._real_generate_source, m.generate_source = m.generate_source, no

    def allow():
        import symscore.codegen.module as m
        m.generate_source = m._real_generate_source
    assert not any(worker_cache.glob("kernels/*.py"))
    client.run(forbid)
    try:
        k = ss.compile(ss.families.gaussian(dim=1), target="cpu")
        X = _data(150_000, 1)
        th = [0.2, 1.3]
        assert k.ism_loss(da.from_array(X, chunks=(65536, 1)), th) == k.ism_loss(X, th)
    finally:
        client.run(allow)
    digest = k.module.SYMSCORE_HASH
    from symscore.codegen.cache import module_name
    assert (worker_cache / "kernels" / f"{module_name(digest)}.py").exists()


def test_workers_report_installed_sources(client):
    k = ss.compile(ss.families.gaussian(dim=2), target="numpy")
    X = da.from_array(_data(70_000), chunks=(65536, 2))
    k.ism_loss(X, GAUSS)
    stats = client.run(lambda: __import__("symscore.distributed.shipping",
                                          fromlist=["stats"]).stats())
    assert sum(s["installed"] for s in stats.values()) >= 1


# -- losses and gradients: the single-process float, bit for bit -----------------------------

@pytest.mark.parametrize("chunks", [65536, 100_000, 200_001])
def test_losses_equal_single_process(client, chunks):
    k = ss.compile(ss.families.gaussian(dim=2), target="numpy")
    X = _data()
    Xd = da.from_array(X, chunks=(chunks, 2))
    assert k.ism_loss(Xd, GAUSS) == k.ism_loss(X, GAUSS)
    loss, grad = k.ism_loss_and_grad(Xd, GAUSS)
    ref_loss, ref_grad = k.ism_loss_and_grad(X, GAUSS)
    assert loss == ref_loss and grad.dtype == np.float64 and np.array_equal(grad, ref_grad)
    assert k.dsm_loss(Xd, GAUSS, sigma=[1.0, 0.3], seed=5) == \
        k.dsm_loss(X, GAUSS, sigma=[1.0, 0.3], seed=5)
    assert k.ssm_loss(Xd, GAUSS, n_projections=3, seed=2) == \
        k.ssm_loss(X, GAUSS, n_projections=3, seed=2)
    ref = ss.families.gaussian(dim=2)
    assert k.esm_loss(Xd, GAUSS, ref) == k.esm_loss(X, GAUSS, ref)


def test_weighted_loss_and_noise_given(client):
    k = ss.compile(ss.families.exponential(dim=1), target="numpy")
    X = np.abs(_data(150_000, 1)) + 0.01
    Xd = da.from_array(X, chunks=(50_000, 1))
    assert k.weighted_ism_loss(Xd, [1.5]) == k.weighted_ism_loss(X, [1.5])
    a, ga = k.weighted_ism_loss_and_grad(Xd, [1.5])
    b, gb = k.weighted_ism_loss_and_grad(X, [1.5])
    assert a == b and np.array_equal(ga, gb)
    kg = ss.compile(ss.families.gaussian(dim=2), target="numpy")
    X2 = _data(100_000)
    Z = np.random.default_rng(3).normal(size=X2.shape)
    assert kg.dsm_loss(da.from_array(X2, chunks=(65536, 2)), GAUSS, sigma=0.5,
                       noise=da.from_array(Z, chunks=(30_000, 2))) == \
        kg.dsm_loss(X2, GAUSS, sigma=0.5, noise=Z)


def test_losses_cpu_target_threaded_scheduler():
    """The CPU kernels' chunk sums reproduced exactly (dask's threaded scheduler)."""
    k = ss.compile(ss.families.gaussian(dim=2), target="cpu")
    X = _data()
    with dask.config.set(scheduler="threads"):
        for chunks in (65536, 77_777):
            Xd = da.from_array(X, chunks=(chunks, 2))
            assert k.ism_loss(Xd, GAUSS) == k.ism_loss(X, GAUSS)
            loss, grad = k.ism_loss_and_grad(Xd, GAUSS)
            ref_loss, ref_grad = k.ism_loss_and_grad(X, GAUSS)
            assert loss == ref_loss and np.array_equal(grad, ref_grad)


def test_per_sample_methods_are_lazy(client):
    k = ss.compile(ss.families.gaussian(dim=2), target="numpy")
    X = _data(50_000)
    Xd = da.from_array(X, chunks=(12_345, 2))
    for name in ("log_density", "score", "divergence", "ism"):
        out = getattr(k, name)(Xd, GAUSS)
        assert isinstance(out, da.Array) and out.chunks[0] == Xd.chunks[0]
        assert np.array_equal(out.compute(), getattr(k, name)(X, GAUSS)), name


def test_nonfinite_row_named_globally(client):
    k = ss.compile(ss.families.gaussian(dim=2), target="numpy")
    X = _data(70_000)
    X[66_000, 1] = np.nan
    with pytest.raises(InputValueError, match=r"X\[66000, 1\]"):
        k.ism_loss(da.from_array(X, chunks=(65536, 2)), GAUSS)


def test_dask_input_errors(client):
    from symscore.errors import ShapeError
    k = ss.compile(ss.families.gaussian(dim=2), target="numpy")
    with pytest.raises(ShapeError, match=r"shape \(N, 2\)"):
        k.ism_loss(da.zeros((10, 3), chunks=5))
    with pytest.raises(ShapeError, match="holds no samples"):
        k.ism_loss(da.zeros((0, 2), chunks=5))
    with pytest.raises(ShapeError, match="must be a dask array"):
        k.ism_loss(dask.delayed(np.zeros((4, 2))))


def test_exact_sum_is_order_free():
    rng = np.random.default_rng(1)
    vals = rng.normal(size=5000) * 10.0 ** rng.integers(-20, 20, 5000)
    parts = [exactsum.expansion(c) for c in np.array_split(vals, 7)]
    import math
    for order in (parts, parts[::-1], parts[3:] + parts[:3]):
        assert exactsum.total(exactsum.merge_many(order)) == math.fsum(vals)


# -- samplers: the single-process chains, bit for bit ------------------------------------------

@pytest.mark.parametrize("chunks", [256, 333, 1000])
def test_samplers_bit_for_bit(client, chunks):
    g = ss.families.gaussian(dim=3)
    x0 = _data(1000, 3, seed=4)
    X = da.from_array(x0, chunks=(chunks, 3))
    kw = dict(target="numpy")
    _same(ss.langevin(g, X, None, 0.05, 20, seed=9, thin=6, **kw),
          ss.langevin(g, x0, None, 0.05, 20, seed=9, thin=6, **kw))
    _same(ss.mala(g, X, None, 0.4, 15, seed=2**63 + 1, thin=5, **kw),
          ss.mala(g, x0, None, 0.4, 15, seed=2**63 + 1, thin=5, **kw))
    mix = ss.families.gaussian_mixture_perturbed([1, 2], [[-1.0, 0.0], [2.0, 1.0]],
                                                 [np.eye(2) * 0.5, np.eye(2)])
    x2 = np.ascontiguousarray(x0[:, :2])
    akw = dict(sigmas=ss.geometric_sigmas(2.0, 0.1, 3), denoise=True, **kw)
    _same(ss.annealed_langevin(mix, da.from_array(x2, chunks=(chunks, 2)), None, 0.01, 5,
                               seed=3, **akw),
          ss.annealed_langevin(mix, x2, None, 0.01, 5, seed=3, **akw))


def test_cpu_sampler_chunks_threaded_scheduler():
    k = ss.compile(ss.families.gaussian(dim=1), target="cpu")
    x0 = _data(700, 1, seed=5)
    th = {"mean": [1.0], "prec_chol": [[0.5]]}
    with dask.config.set(scheduler="threads"):
        _same(ss.langevin(k, da.from_array(x0, chunks=(300, 1)), th, 0.1, 25, seed=11,
                          thin=5),
              ss.langevin(k, x0, th, 0.1, 25, seed=11, thin=5))


def test_nonfinite_chains_warn_once_with_global_indices(client):
    g = ss.families.gaussian(dim=1)
    x0 = np.linspace(-1, 1, 40)[:, None]
    with pytest.warns(ss.sampling.NonFiniteChainsWarning) as rec:
        r = ss.langevin(g, da.from_array(x0, chunks=(15, 1)), None, 50.0, 300, seed=1,
                        target="numpy")
    with pytest.warns(ss.sampling.NonFiniteChainsWarning):
        ref = ss.langevin(g, x0, None, 50.0, 300, seed=1, target="numpy")
    assert rec[0].filename == __file__
    assert len(rec) == 1 and r.n_nonfinite > 0
    _same(r, ref)


def test_runaway_chains_judged_on_all_starting_points(client):
    """Runaway = far beyond the spread of *all* starting points: chunks whose own x0
    are tightly packed must not change the verdict."""
    g = ss.families.gaussian(dim=1)
    x0 = np.concatenate([np.full(20, 0.01), np.linspace(-500, 500, 20)])[:, None]
    kw = dict(target="numpy")
    with pytest.warns(ss.sampling.RunawayChainsWarning) as rec:
        r = ss.langevin(g, da.from_array(x0, chunks=(20, 1)), None, 2.5, 42, seed=2, **kw)
    with pytest.warns(ss.sampling.RunawayChainsWarning):
        ref = ss.langevin(g, x0, None, 2.5, 42, seed=2, **kw)
    # the tight first chunk alone would call its chains runaway; against all x0 it does not
    assert len(rec) == 1 and ref.n_runaway == 20 and ref.runaway.min() == 20
    _same(r, ref)


def test_worker_dies_mid_run(client):
    """A worker killed while it runs chains: its chunks are recomputed elsewhere and
    the result is still the single-process one."""
    g = ss.families.gaussian(dim=2)
    x0 = _data(2000, 2, seed=6)
    args = (g, None, 0.05, 300)
    out = {}

    def run():
        out["r"] = ss.langevin(args[0], da.from_array(x0, chunks=(100, 2)), *args[1:],
                               seed=7, target="numpy")
    t = threading.Thread(target=run)
    t.start()
    victim = None
    deadline = time.time() + 60
    while victim is None and time.time() < deadline and t.is_alive():
        busy = {w: ks for w, ks in client.processing().items() if ks}
        if busy and any("_chunk" in str(key) for ks in busy.values() for key in ks):
            victim = next(iter(busy))
        else:
            time.sleep(0.05)
    assert victim is not None, "no chunk was seen running"
    async def die():   # (wait=False needs a coroutine function)
        os._exit(1)
    client.run(die, workers=[victim], wait=False)
    t.join(120)
    assert not t.is_alive()
    assert victim not in client.scheduler_info()["workers"]   # it did die
    _same(out["r"], ss.langevin(args[0], x0, *args[1:], seed=7, target="numpy"))


# -- fit on a dask array ----------------------------------------------------------------------

def test_fit_lbfgs_follows_the_same_path(client):
    """Every loss and gradient is the single-process one, so L-BFGS-B takes the
    same steps: the estimate, loss and standard errors are identical."""
    X = _data(8000) @ np.array([[1.0, 0.3], [0.0, 0.7]])
    kw = dict(prove=False, target="numpy", se_batches=12)
    a = ss.fit(ss.families.gaussian(dim=2), X, **kw)
    b = ss.fit(ss.families.gaussian(dim=2), da.from_array(X, chunks=(3000, 2)), **kw)
    assert a.method == b.method == "lbfgs"
    assert np.array_equal(a.theta, b.theta) and a.loss == b.loss
    assert a.details["evaluations"] == b.details["evaluations"]
    np.testing.assert_allclose(b.stderr, a.stderr, rtol=1e-12)


def _set_block_floats(n):
    import importlib
    fe = importlib.import_module("symscore.fit.exact")
    old, fe._CHUNK_FLOATS = fe._CHUNK_FLOATS, n
    return old


def test_fit_exact_sufficient_statistics_by_chunk(client, tmp_path):
    """Exponential families: Ā, b̄, c̄ summed chunk by chunk (here from a memory-mapped
    .npy file); the same bits as the in-memory fit."""
    rng = np.random.default_rng(2)
    X = rng.gamma(2.0, 1.5, size=(30_000, 1))
    np.save(tmp_path / "x.npy", X)
    Xd = da.from_array(np.load(tmp_path / "x.npy", mmap_mode="r"), chunks=(8000, 1))
    old = _set_block_floats(3000)   # blocks of 512 rows here and on the workers
    code = "import importlib; importlib.import_module('symscore.fit.exact')._CHUNK_FLOATS = {}"
    client.run(exec, code.format(3000), {})
    try:
        a = ss.fit(ss.families.gamma(dim=1), X, prove=False)
        b = ss.fit(ss.families.gamma(dim=1), Xd, prove=False)
    finally:
        _set_block_floats(old)
        client.run(exec, code.format(old), {})
    assert a.method == b.method == "exact" and b.objective == a.objective
    assert np.array_equal(b.theta, a.theta) and b.loss == a.loss
    assert np.array_equal(b.stderr, a.stderr)
    bad = X.copy()
    bad[20_001, 0] = -1.0
    with pytest.raises(InputValueError, match="outside the support"):
        ss.fit(ss.families.gamma(dim=1), da.from_array(bad, chunks=(8000, 1)), prove=False)


# -- the command line ---------------------------------------------------------------------------

def test_cli_scheduler_gives_the_same_output(client, tmp_path, capsys):
    from symscore.cli import main
    addr = client.scheduler.address
    base = ["sample", "gaussian:dim=2", "--sampler", "mala", "--chains", "700", "--steps",
            "30", "--step-size", "0.2", "--seed", "5", "--target", "numpy"]
    assert main(base + ["--out", str(tmp_path / "a.npy")]) == 0
    assert main(base + ["--out", str(tmp_path / "b.npy"), "--scheduler", addr]) == 0
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    X = np.random.default_rng(8).gamma(2.0, 1.5, size=(5000, 1))
    np.save(tmp_path / "x.npy", X)
    outs = []
    for extra in ([], ["--scheduler", addr]):
        capsys.readouterr()
        assert main(["fit", "gamma:dim=1", str(tmp_path / "x.npy"), "--json"] + extra) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and '"method": "exact"' in outs[0]


def test_cli_scheduler_errors(monkeypatch, capsys, tmp_path):
    from symscore.cli import main
    args = ["sample", "gaussian:dim=1", "--chains", "4", "--steps", "2", "--target", "numpy",
            "--out", str(tmp_path / "s.npy")]
    assert main(args + ["--scheduler", "local:0"]) == 2
    assert "local:N needs a positive number" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert main(args + ["--scheduler", "local:2"]) == 2
    assert '".[dask]"' in capsys.readouterr().err


# -- packaging --------------------------------------------------------------------------------

def test_import_symscore_does_not_import_dask():
    code = "import sys, symscore; print(any(m.split('.')[0] in ('dask', 'distributed') " \
           "for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_clear_error_without_the_extra(monkeypatch):
    from symscore.distributed import require_dask
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(DaskUnavailableError, match=r'"\.\[dask\]"'):
        require_dask()
