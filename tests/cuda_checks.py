"""CUDA-target checks: every CUDA kernel against the CPU target, run in a process
of its own (started by tests/test_cuda.py).

* under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` set before numba is
  imported), at tiny size (a few hundred simulated threads);
* on a real GPU (``--size full``), at full size.

Float64 results must agree with the CPU target to 1e-12 (relative to the
largest magnitude compared), sampler chains for the same seed included; float32
within float32 rounding. Prints one JSON line per check
(``{"check", "ok", "detail", "seconds"}``) and exits 1 if any check failed,
77 if no CUDA device (or simulator) is usable.

    NUMBA_ENABLE_CUDASIM=1 python tests/cuda_checks.py --size tiny
    python tests/cuda_checks.py --size full          # on a machine with a GPU
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

import numpy as np

SIZES = {"tiny": dict(n=200, chains=64, steps=20),
         "full": dict(n=1_000_000, chains=100_000, steps=200)}
NO_DEVICE = 77


def close(name, got, want, rtol):
    """max |got − want| ≤ rtol · max(1, max |want|), with a message naming the worst entry."""
    got = np.asarray(got.copy_to_host() if hasattr(got, "copy_to_host") else got, float)
    want = np.asarray(want, float)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {got.shape} != {want.shape}")
    if not want.size:
        return
    scale = max(1.0, float(np.max(np.abs(want))))
    err = np.abs(got - want)
    if not np.all(np.isfinite(got) == np.isfinite(want)) or np.nanmax(err) > rtol * scale:
        k = np.unravel_index(int(np.nanargmax(err)), err.shape)
        raise AssertionError(f"{name}: |Δ| = {err[k]:.3e} at {k} (cuda {got[k]!r}, cpu "
                             f"{want[k]!r}); allowed {rtol * scale:.1e}")


class Ctx:
    def __init__(self, size):
        import symscore as ss
        self.ss = ss
        self.size = SIZES[size]
        rng = np.random.default_rng(1)
        self.mix = ss.families.gaussian_mixture(dim=2, components=2)
        self.theta = np.array(self.mix.defaults) + 0.1 * rng.normal(size=self.mix.n_params)
        self.X = rng.normal(size=(self.size["n"], 2)) * 3.0
        # everything else: a 3-D noise-perturbed mixture (odd dimension: the dropped
        # Box–Muller sine; a noise scale σ: annealed Langevin). One density keeps
        # the CPU compile work of the comparisons small.
        self.aux = ss.families.gaussian_mixture_perturbed(
            [1.0], [[-2.0, 0.0, 1.0]], [np.diag([1.0, 0.5, 2.0])])
        self.atheta = np.array([0.8])
        self.Xa = rng.normal(size=(self.size["n"], 3)) * 2.0
        self._k = {}

    def k(self, density, target, dtype="float64"):
        key = (density.key, target, dtype)
        if key not in self._k:
            self._k[key] = self.ss.compile(density, target=target, dtype=dtype)
        return self._k[key]


# ---------------------------------------------------------------------------------- checks

def check_status(ctx):
    from symscore.backends.cuda import cuda_status
    ok, why = cuda_status()
    assert ok, why
    return why


def check_per_sample(ctx):
    g, c = ctx.k(ctx.mix, "cuda"), ctx.k(ctx.mix, "cpu")
    for name in ("log_density", "score", "divergence", "ism"):
        got = getattr(g, name)(ctx.X, ctx.theta)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64, (name, type(got))
        close(name, got, getattr(c, name)(ctx.X, ctx.theta), 1e-12)


def check_losses(ctx):
    g, c = ctx.k(ctx.mix, "cuda"), ctx.k(ctx.mix, "cpu")
    X, th = ctx.X, ctx.theta
    close("ism_loss", g.ism_loss(X, th), c.ism_loss(X, th), 1e-12)
    (lg, gg), (lc, gc) = g.ism_loss_and_grad(X, th), c.ism_loss_and_grad(X, th)
    close("ism_loss_and_grad loss", lg, lc, 1e-12)
    close("ism_loss_and_grad grad", gg, gc, 1e-12)
    assert gg.shape == (ctx.mix.n_params,)
    g, c, X, th = ctx.k(ctx.aux, "cuda"), ctx.k(ctx.aux, "cpu"), ctx.Xa, ctx.atheta
    close("dsm one σ", g.dsm_loss(X, th, 0.5, seed=3), c.dsm_loss(X, th, 0.5, seed=3), 1e-12)
    close("dsm levels", g.dsm_loss(X, th, [2.0, 0.5], seed=3),
          c.dsm_loss(X, th, [2.0, 0.5], seed=3), 1e-12)
    for kind in ("rademacher", "gaussian"):
        close(f"ssm {kind}", g.ssm_loss(X, th, 2, kind, seed=4),
              c.ssm_loss(X, th, 2, kind, seed=4), 1e-12)
    close("weighted", g.weighted_ism_loss(X, th), c.weighted_ism_loss(X, th), 1e-12)
    close("weighted per sample", g.weighted_ism(X, th), c.weighted_ism(X, th), 1e-12)
    reference = ctx.ss.families.gaussian(dim=3, kind="iso")
    close("esm", g.esm_loss(X, th, reference), c.esm_loss(X, th, reference), 1e-12)
    close("esm per sample", g._ops.per_sample("esm", X, np.r_[th, reference.defaults],
                                              reference),
          c._ops.per_sample("esm", X, np.r_[th, reference.defaults], reference), 1e-12)


def check_float32(ctx):
    """float32 kernels return float32 and match the float64 CPU results on the
    same (float32-rounded) points to float32 accuracy."""
    X32 = ctx.X.astype(np.float32)
    X = X32.astype(np.float64)
    g, c = ctx.k(ctx.mix, "cuda", "float32"), ctx.k(ctx.mix, "cpu")
    for name in ("log_density", "score", "divergence", "ism"):
        got = getattr(g, name)(X32, ctx.theta)
        assert got.dtype == np.float32, (name, got.dtype)
        close(name, got, getattr(c, name)(X, ctx.theta), 1e-4)
    close("ism_loss float32", g.ism_loss(X32, ctx.theta), c.ism_loss(X, ctx.theta), 1e-4)
    (lg, gg), (lc, gc) = g.ism_loss_and_grad(X32, ctx.theta), c.ism_loss_and_grad(X, ctx.theta)
    close("ism grad float32", np.r_[lg, gg], np.r_[lc, gc], 1e-4)


def check_device_arrays(ctx):
    from numba import cuda
    from symscore import ShapeError
    g, c = ctx.k(ctx.mix, "cuda"), ctx.k(ctx.mix, "cpu")
    dX = cuda.to_device(ctx.X)
    s = g.score(dX, ctx.theta)
    assert hasattr(s, "copy_to_host") and not isinstance(s, np.ndarray), type(s)
    close("score (device in/out)", s, c.score(ctx.X, ctx.theta), 1e-12)
    close("ism (device in/out)", g.ism(dX, ctx.theta), c.ism(ctx.X, ctx.theta), 1e-12)
    close("ism_loss (device X)", g.ism_loss(dX, ctx.theta), c.ism_loss(ctx.X, ctx.theta), 1e-12)
    ga, ca, dXa, th = ctx.k(ctx.aux, "cuda"), ctx.k(ctx.aux, "cpu"), cuda.to_device(ctx.Xa), \
        ctx.atheta
    close("dsm (device X, seed)", ga.dsm_loss(dXa, th, 0.5, seed=3),
          ca.dsm_loss(ctx.Xa, th, 0.5, seed=3), 1e-12)
    close("ssm (device X)", ga.ssm_loss(dXa, th, 2, seed=4), ca.ssm_loss(ctx.Xa, th, 2, seed=4),
          1e-12)
    Z = np.random.default_rng(6).normal(size=ctx.Xa.shape)
    close("dsm (device X and noise)", ga.dsm_loss(dXa, th, 0.7, noise=cuda.to_device(Z)),
          ca.dsm_loss(ctx.Xa, th, 0.7, noise=Z), 1e-12)
    for bad, why in ((cuda.to_device(ctx.X.astype(np.float32)), "dtype"),
                     (cuda.to_device(np.asfortranarray(ctx.X)), "contiguous"),
                     (cuda.to_device(ctx.X[:, :1].copy()), "shape"),
                     (cuda.to_device(ctx.X[:0].copy()), "no samples")):
        try:
            g.ism_loss(bad, ctx.theta)
        except ShapeError as exc:
            assert why in str(exc), str(exc)
        else:
            raise AssertionError(f"a device array with the wrong {why} was accepted")


def _sample(ctx, method, density, target, x0, theta, **kw):
    import warnings
    from symscore import sampling
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sampling.NonFiniteChainsWarning)
        return getattr(sampling, method)(ctx.k(density, target), x0, theta, **kw)


def _same_chains(label, a, b, fields):
    for name in fields:
        u, v = getattr(b, name), getattr(a, name)
        if u is None or v is None:
            assert u is None and v is None, f"{label} {name}: {type(u)} vs {type(v)}"
            continue
        close(f"{label} {name}", np.asarray(u, float), np.asarray(v, float), 1e-12)


def check_langevin_chains(ctx):
    sz = ctx.size
    rng = np.random.default_rng(2)
    for density, theta in ((ctx.mix, ctx.theta), (ctx.aux, ctx.atheta)):
        x0 = rng.uniform(-6, 6, size=(sz["chains"], density.dim))
        # progress=True splits the run into step ranges: results must not change
        res = [_sample(ctx, "langevin", density, t, x0, theta, step_size=0.1,
                       n_steps=sz["steps"], seed=7, thin=4, progress=(t == "cuda"))
               for t in ("cpu", "cuda")]
        _same_chains(f"langevin D={density.dim}", *res,
                     ("x", "trace", "trace_steps", "first_nonfinite_step"))
    # a huge step blows chains up: the same chains are flagged. The step at which
    # |x| leaves the float64 range may differ by one (rounding near overflow
    # depends on how the compiler contracted x + h·s, which fastmath allows)
    x0 = rng.uniform(-6, 6, size=(sz["chains"], 2))
    a, b = (_sample(ctx, "langevin", ctx.mix, t, x0, ctx.theta, step_size=1e4, n_steps=100,
                    seed=3) for t in ("cpu", "cuda"))
    assert a.n_nonfinite > 0, "the blow-up case did not blow up"
    assert np.array_equal(a.nonfinite, b.nonfinite), "different chains flagged non-finite"
    assert np.abs(a.first_nonfinite_step - b.first_nonfinite_step).max() <= 1


def check_annealed_chains(ctx):
    from symscore import sampling
    sz = ctx.size
    x0 = np.random.default_rng(5).uniform(-8, 8, size=(sz["chains"], 3))
    sig = sampling.geometric_sigmas(20.0, 1.0, 4)
    res = [_sample(ctx, "annealed_langevin", ctx.aux, t, x0, None, step_size=0.05,
                   n_steps=max(2, sz["steps"] // 4), seed=9, sigmas=sig, denoise=True, thin=3)
           for t in ("cpu", "cuda")]
    _same_chains("annealed", *res, ("x", "trace", "first_nonfinite_step"))


def check_mala_chains(ctx):
    sz = ctx.size
    rng = np.random.default_rng(3)
    for density, theta in ((ctx.mix, ctx.theta), (ctx.aux, ctx.atheta)):
        x0 = rng.uniform(-4, 4, size=(sz["chains"], density.dim))
        res = [_sample(ctx, "mala", density, t, x0, theta, step_size=0.4,
                       n_steps=sz["steps"], seed=11, thin=3, progress=(t == "cuda"))
               for t in ("cpu", "cuda")]
        _same_chains(f"mala D={density.dim}", *res,
                     ("x", "trace", "acceptance", "nonfinite_proposals"))
        assert 0 < res[0].acceptance.mean() < 1, "degenerate acceptance"


def check_structured(ctx):
    """A structured (index-form) density: loop kernels with cuda.local.array
    temporaries, against the CPU target's blocked loop kernels."""
    d = ctx.ss.families.gaussian(dim=3, structured=True)
    rng = np.random.default_rng(5)
    th = ctx.k(d, "cpu").theta(None) + 0.1 * rng.normal(size=d.n_params)
    X = rng.normal(size=(min(ctx.size["n"], 64), 3))
    g, c = ctx.k(d, "cuda"), ctx.k(d, "cpu")
    for name in ("log_density", "score", "divergence", "ism"):
        close(f"structured {name}", getattr(g, name)(X, th), getattr(c, name)(X, th), 1e-12)
    close("structured ism_loss", g.ism_loss(X, th), c.ism_loss(X, th), 1e-12)
    close("structured grad", np.r_[g.ism_loss_and_grad(X, th)],
          np.r_[c.ism_loss_and_grad(X, th)], 1e-12)
    close("structured dsm", g.dsm_loss(X, th, 0.5, seed=3), c.dsm_loss(X, th, 0.5, seed=3),
          1e-12)
    close("structured ssm", g.ssm_loss(X, th, 2, seed=4), c.ssm_loss(X, th, 2, seed=4), 1e-12)
    x0 = rng.normal(size=(min(ctx.size["chains"], 16), 3))
    res = [_sample(ctx, method, d, t, x0, th, step_size=0.1, n_steps=5, seed=7)
           for method in ("langevin", "mala") for t in ("cpu", "cuda")]
    _same_chains("structured langevin", res[0], res[1], ("x",))
    _same_chains("structured mala", res[2], res[3], ("x", "acceptance"))


# groups, so that a test run can use several processes (most of the time is the
# CPU target's compilation of the kernels compared against)
GROUPS = {"kernels": ["status", "per_sample", "losses", "float32", "device_arrays"],
          "samplers": ["langevin_chains", "annealed_chains", "mala_chains"],
          "structured": ["structured"]}
CHECKS = GROUPS["kernels"] + GROUPS["samplers"] + GROUPS["structured"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--only", nargs="*", default=None, help="names of checks to run")
    ap.add_argument("--group", choices=sorted(GROUPS), default=None, help="a group of checks")
    args = ap.parse_args(argv)
    from symscore.backends.cuda import cuda_status
    ok, why = cuda_status()
    if not ok:
        print(json.dumps({"check": "status", "ok": False, "detail": why, "seconds": 0}))
        return NO_DEVICE
    ctx = Ctx(args.size)
    failed = 0
    for name in args.only or (GROUPS[args.group] if args.group else CHECKS):
        t = time.perf_counter()
        try:
            detail, ok = globals()["check_" + name](ctx) or "", True
        except Exception:
            detail, ok = traceback.format_exc(limit=6), False
        failed += not ok
        print(json.dumps({"check": name, "ok": ok, "detail": str(detail),
                          "seconds": round(time.perf_counter() - t, 2)}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
