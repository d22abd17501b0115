"""Structured (loop) kernels against peers measured in the same run, by dimension.

    python benchmarks/bench_dimension.py             # the full table (many minutes)
    python benchmarks/bench_dimension.py --quick     # small sizes, smoke test
    python benchmarks/bench_dimension.py --json out.json

Workloads (float64, the public API, validation included; best of several runs):

* ``gaussian(dim=D)`` (full precision Cholesky factor), D ∈ {2, 10, 100, 1000}:
  ISM loss over N = 2e4 samples — symscore (loops for the structured density;
  at D = 2, 10 also the unrolled scalar path) vs JAX jit + vmap with the exact
  Hessian trace, JAX with one Rademacher Hutchinson probe, and the NumPy closed
  form −tr(P) + ½ mean ‖P(x − μ)‖² (the Gaussian score is affine: symscore takes
  the moment path of :mod:`symscore.moments` — "symscore" is a repeated call on the
  same X, "new_X" a first call on new data, "per_sample" the per-sample pass,
  ``use_moments = False``); plus, in fresh processes, the cold start
  (empty cache: import, build the density and derive, then generate + compile
  to a first ISM loss on 8 samples, then the full ISM loss; drawing the data is
  not counted), the warm start (same, cache filled: "load" is the time from
  compile() to the first loss) and
  the structured ``prove`` time.
* ``ica(dim=64)``: ISM loss and its θ-gradient (4,096 parameters), N = 2e4, vs
  JAX value_and_grad of the exact ISM loss.
* sliced score matching (one Rademacher direction per sample), N = 2e4, for
  ``gaussian_bernoulli_rbm(dim=100, hidden=50)``, ``ica(dim=64)``, ``gaussian(dim=100)``:
  symscore's vᵀ(∇s)v by a symbolic directional derivative vs JAX's jvp of the score
  (one Hessian–vector product per sample).
* ``gaussian_bernoulli_rbm(dim=100, hidden=50)``: ULA and MALA, 1,000 chains ×
  200 steps, vs JAX (lax.scan of the vmapped step, jit).

Ratios are symscore / peer speed (> 1: symscore faster); contenders are timed in
alternation (best of several rounds of back-to-back calls, as timeit does) so that
load changes hit all alike. Every peer's value is
compared with symscore's and the relative difference printed (exact peers must
agree to ~1e-10; Hutchinson is an estimate). Timings on a shared machine are
noisy: only ratios measured in the same run mean something.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np


def interleaved(fns, rounds=3, min_time=0.3, batch_time=0.02):
    """Best time per call of each callable, measured in alternation (round robin), so
    that a change of machine load during the run hits every contender alike. Like
    timeit, a contender's time is the mean over a batch of back-to-back calls (as in
    a fit's loop; a batch lasts ≥ ``batch_time``)."""
    reps = {}
    for name, fn in fns.items():
        t = time.perf_counter()
        fn()
        reps[name] = max(1, int(batch_time / max(time.perf_counter() - t, 1e-6)))
    best = {name: float("inf") for name in fns}
    t0 = time.perf_counter()
    r = 0
    while r < rounds or (time.perf_counter() - t0 < min_time * len(fns) and r < 20):
        for name, fn in fns.items():
            t = time.perf_counter()
            for _ in range(reps[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t) / reps[name])
        r += 1
    return best


def perturbed_theta(d, seed=0, scale=0.05):
    rng = np.random.default_rng(seed)
    import symscore as ss
    th = ss.compile(d, target="cpu").theta(None)
    lo, hi = (np.asarray(b) for b in d.theta_bounds()[:2]) if hasattr(d, "theta_bounds") \
        else (np.full(th.size, -np.inf), np.full(th.size, np.inf))
    pos = lo >= 0
    noise = scale * rng.standard_normal(th.size)
    return np.where(pos, th * np.exp(noise), th + noise)


def dense_params(d, th):
    return {g.name: np.asarray(g.dense(th)) for g in d.structure.groups}


# -- JAX peers ------------------------------------------------------------------------
def jax_setup():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_logp(kind):
    import jax.numpy as jnp
    if kind == "gaussian":
        def f(x, p):
            L, mu = p["prec_chol"], p["mean"]
            u = L.T @ (x - mu)
            return (jnp.sum(jnp.log(jnp.diag(L))) - 0.5 * u @ u
                    - 0.5 * x.shape[0] * jnp.log(2 * jnp.pi))
    elif kind == "ica":
        c = np.pi / (2 * np.sqrt(3))

        def f(x, p):
            a = c * (p["W"] @ x)
            return jnp.sum(-2 * (jnp.logaddexp(a, -a) - jnp.log(2.0)))
    elif kind == "rbm":
        def f(x, p):
            return (-0.5 * jnp.sum((x - p["b"]) ** 2)
                    + jnp.sum(jnp.logaddexp(0.0, p["c"] + x @ p["W"])))
    else:
        raise ValueError(kind)
    return f


def jax_ism(jax, logp, probe=False):
    import jax.numpy as jnp
    score = jax.grad(logp)

    def exact(x, p):
        s = score(x, p)
        return jnp.trace(jax.jacfwd(score)(x, p)) + 0.5 * s @ s

    def hutch(x, v, p):
        s, hv = jax.jvp(lambda y: score(y, p), (x,), (v,))
        return v @ hv + 0.5 * s @ s

    if probe:
        return jax.jit(lambda X, V, p: jnp.mean(jax.vmap(hutch, (0, 0, None))(X, V, p)))
    return jax.jit(lambda X, p: jnp.mean(jax.vmap(exact, (0, None))(X, p)))


# -- cold / warm starts in fresh processes -------------------------------------------
_CHILD = """
import time, json, sys
t0 = time.perf_counter()
import numpy as np, symscore as ss
d = ss.families.gaussian(dim={D}, structured=True)
_ = d.structure.ism
tb = time.perf_counter() - t0
X = np.random.default_rng(1).standard_normal(({N}, {D}))  # data: not part of the load
t1 = time.perf_counter()
k = ss.compile(d)
k.ism_loss(X[:8], None)
t2 = time.perf_counter()
loss = k.ism_loss(X, None)
t3 = time.perf_counter()
data = t1 - t0 - tb
out = {{"build_s": tb, "ready_s": t2 - t1, "total_s": t3 - t0 - data, "loss": loss,
       "data_s": data}}
if {prove}:
    from symscore.proof.structured import prove_structured_ism
    t3 = time.perf_counter()
    pr = prove_structured_ism(d)
    out["prove_s"] = time.perf_counter() - t3
    v = getattr(pr, "verdict", "?")
    out["verdict"] = str(getattr(v, "name", v))
print("RESULT" + json.dumps(out))
"""


def child(D, N, cache, prove=False):
    env = dict(os.environ, SYMSCORE_CACHE_DIR=cache)
    code = _CHILD.format(D=D, N=N, prove=prove)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=1800)
    wall = time.perf_counter() - t
    for line in r.stdout.splitlines():
        if line.startswith("RESULT"):
            out = json.loads(line[6:])
            out["wall_s"] = wall
            return out
    return {"error": (r.stderr or r.stdout)[-400:], "wall_s": wall}


# -- workloads -------------------------------------------------------------------------
def gaussian_rows(dims, N, jax, rows):
    import symscore as ss
    for D in dims:
        d = ss.families.gaussian(dim=D, structured=True)
        th = perturbed_theta(d)
        X = np.random.default_rng(1).standard_normal((N, D))
        k = ss.compile(d)
        val = k.ism_loss(X, th)
        p = dense_params(d, th)
        P = p["prec_chol"] @ p["prec_chol"].T

        def numpy_ism():
            S = (X - p["mean"]) @ P
            return -np.trace(P) + 0.5 * np.mean(np.einsum("ni,ni->n", S, S))
        ref = numpy_ism()
        row = {"workload": f"ISM gaussian(dim={D}) N={N}", "numpy_rel": abs(val - ref) / abs(ref)}
        fns = {"symscore": lambda: k.ism_loss(X, th), "numpy": numpy_ism}
        if k._loss_rows(X) is not X:
            # affine score: the moment path (symscore.moments) is taken. Also time a
            # first call on new data (moments not cached) and the per-sample pass
            kp = ss.compile(d)
            kp.use_moments = False
            row["per_sample_rel"] = abs(val - kp.ism_loss(X, th)) / abs(val)

            def new_x():
                k.__dict__.pop("_moment_cache", None)
                return k.ism_loss(X, th)
            fns["new_X"] = new_x
            fns["per_sample"] = lambda: kp.ism_loss(X, th)
        if D <= 10:
            ku = ss.compile(d.unrolled())
            fns["unrolled"] = lambda: ku.ism_loss(X, th)
        if jax is not None:
            import jax.numpy as jnp
            f = jax_ism(jax, jax_logp("gaussian"))
            fh = jax_ism(jax, jax_logp("gaussian"), probe=True)
            Xj = jnp.asarray(X)
            V = jnp.asarray(np.random.default_rng(2).choice([-1.0, 1.0], size=(N, D)))
            pj = {a: jnp.asarray(v) for a, v in p.items()}
            if D <= 200:  # exact trace: D JVPs per sample and an (N, D, D) Hessian batch
                fns["jax_exact"] = lambda: f(Xj, pj).block_until_ready()
                row["jax_exact_rel"] = abs(val - float(f(Xj, pj))) / abs(val)
            else:
                row["note"] = "JAX exact skipped at D > 200 (N·D³ work, N·D² memory)"
            fns["jax_hutch"] = lambda: fh(Xj, V, pj).block_until_ready()
            row["jax_hutch_rel"] = abs(val - float(fh(Xj, V, pj))) / abs(val)
        row.update({f"{n}_s": t for n, t in interleaved(fns).items()})
        rows.append(row)
        print(fmt(row), flush=True)


def starts(dims, N, rows, prove=True):
    for D in dims:
        with tempfile.TemporaryDirectory() as cache:
            cold = child(D, N, cache, prove=prove)
            warm = child(D, N, cache)
        row = {"workload": f"start gaussian(dim={D})", "cold": cold, "warm": warm}
        rows.append(row)
        print(fmt(row), flush=True)


def ica_row(D, N, jax, rows, kind="ica"):
    import symscore as ss
    if kind == "ica":
        d = ss.families.ica(dim=D, structured=True)
        X = np.random.default_rng(1).logistic(size=(N, D)) * np.sqrt(3) / np.pi
    else:
        d = ss.families.gaussian(dim=D, structured=True)
        X = np.random.default_rng(1).standard_normal((N, D))
    th = perturbed_theta(d)
    k = ss.compile(d)
    val, g = k.ism_loss_and_grad(X, th)
    row = {"workload": f"ISM + grad {kind}(dim={D}) N={N}"}
    fns = {"symscore": lambda: k.ism_loss_and_grad(X, th)}
    if jax is not None:
        import jax.numpy as jnp
        f = jax_ism(jax, jax_logp(kind))
        vg = jax.jit(jax.value_and_grad(lambda p, X: f(X, p)))
        pd = dense_params(d, th)
        pj = {a: jnp.asarray(v) for a, v in pd.items()}
        Xj = jnp.asarray(X)
        fns["jax_exact"] = lambda: vg(pj, Xj)[0].block_until_ready()
        v, gj = vg(pj, Xj)
        row["jax_exact_rel"] = abs(val - float(v)) / abs(val)
        # symscore's θ: the groups' stored entries, in order (lower: the triangle)
        flat = np.concatenate([np.asarray(gj[grp.name])[np.tril_indices(D)]
                               if grp.pattern == "lower" else np.asarray(gj[grp.name]).ravel()
                               for grp in d.structure.groups])
        row["jax_grad_rel"] = float(np.max(np.abs(flat - g)) / np.max(np.abs(g)))
    row.update({f"{n}_s": t for n, t in interleaved(fns, rounds=2).items()})
    rows.append(row)
    print(fmt(row), flush=True)


def jax_ssm(jax, logp):
    """Sliced integrand per sample with one Hessian–vector product (jvp of the score)."""
    import jax.numpy as jnp
    score = jax.grad(logp)

    def one(x, v, p):
        s, hv = jax.jvp(lambda y: score(y, p), (x,), (v,))
        return v @ hv + 0.5 * (v @ s) ** 2
    return jax.jit(lambda X, V, p: jnp.mean(jax.vmap(one, (0, 0, None))(X, V, p)))


def ssm_rows(N, jax, rows, quick=False):
    """SSM loss, one Rademacher projection per sample. symscore draws its directions in
    the timed call; JAX gets the same directions precomputed."""
    import symscore as ss
    from symscore.kernels import draw_directions
    cases = [("rbm", ss.families.gaussian_bernoulli_rbm(dim=10 if quick else 100,
                                                         hidden=5 if quick else 50,
                                                         structured=True)),
             ("ica", ss.families.ica(dim=8 if quick else 64, structured=True)),
             ("gaussian", ss.families.gaussian(dim=10 if quick else 100, structured=True))]
    for kind, d in cases:
        th = perturbed_theta(d)
        k = ss.compile(d)
        X = np.random.default_rng(1).standard_normal((N, d.dim))
        val = k.ssm_loss(X, th, 1, "rademacher", seed=0)
        row = {"workload": f"SSM (1 projection) {d.name} N={N}"}
        fns = {"symscore": lambda: k.ssm_loss(X, th, 1, "rademacher", seed=0)}
        if jax is not None:
            import jax.numpy as jnp
            V = draw_directions(np.random.default_rng(0), "rademacher", (N, d.dim))
            f = jax_ssm(jax, jax_logp(kind))
            Xj, Vj = jnp.asarray(X), jnp.asarray(V)
            pj = {a: jnp.asarray(v) for a, v in dense_params(d, th).items()}
            fns["jax_hvp"] = lambda: f(Xj, Vj, pj).block_until_ready()
            row["jax_hvp_rel"] = abs(val - float(f(Xj, Vj, pj))) / abs(val)
        row.update({f"{n}_s": t for n, t in interleaved(fns, rounds=2).items()})
        rows.append(row)
        print(fmt(row), flush=True)


def rbm_rows(D, H, chains, steps, jax, rows):
    import symscore as ss
    d = ss.families.gaussian_bernoulli_rbm(dim=D, hidden=H, structured=True)
    th = ss.compile(d).theta(None)
    k = ss.compile(d)
    x0 = np.random.default_rng(3).standard_normal((chains, D))
    h = 0.01
    for method in ("langevin", "mala"):
        run = getattr(ss, method)
        row = {"workload": f"{method} rbm(dim={D}, hidden={H}) {chains}×{steps}"}
        fns = {"symscore": lambda: run(k, x0, th, h, steps, seed=1),
               "numpy_score_only": numpy_rbm_scores(dense_params(d, th), x0, steps)}
        if jax is not None:
            fns["jax"] = jax_sampler(jax, method, dense_params(d, th), x0, h, steps)
        row.update({f"{n}_s": t for n, t in interleaved(fns, rounds=2).items()})
        rows.append(row)
        print(fmt(row), flush=True)


def numpy_rbm_scores(p, x0, steps):
    """A floor, not a sampler: the score evaluations alone of ``steps`` Langevin
    steps of every chain, s = b − x + W σ(Wᵀx + c), as two BLAS products per step
    (no RNG, no update, no log p~): any implementation that computes the score
    through dense products pays at least this."""
    W, b, c = (np.ascontiguousarray(p[a]) for a in ("W", "b", "c"))
    X = np.array(x0)

    def run():
        for _ in range(steps):
            A = X @ W
            A += c
            np.negative(A, out=A)
            np.exp(A, out=A)
            A += 1.0
            np.reciprocal(A, out=A)
            G = A @ W.T
            G += b
            G -= X
        return G
    return run


def jax_sampler(jax, method, params, x0, h, steps):
    import jax.numpy as jnp
    logp = jax_logp("rbm")
    pj = {a: jnp.asarray(v) for a, v in params.items()}
    lg = jax.vmap(jax.value_and_grad(logp), (0, None))

    def ula(X, key):
        def step(X, key):
            _, g = lg(X, pj)
            z = jax.random.normal(key, X.shape, X.dtype)
            return X + h * g + jnp.sqrt(2 * h) * z, None
        X, _ = jax.lax.scan(step, X, jax.random.split(key, steps))
        return X

    def mala(X, key):
        def step(carry, key):
            X, l, g = carry
            k1, k2 = jax.random.split(key)
            Y = X + h * g + jnp.sqrt(2 * h) * jax.random.normal(k1, X.shape, X.dtype)
            ly, gy = lg(Y, pj)
            fwd = jnp.sum((Y - X - h * g) ** 2, 1) / (4 * h)
            rev = jnp.sum((X - Y - h * gy) ** 2, 1) / (4 * h)
            acc = jnp.log(jax.random.uniform(k2, l.shape)) < ly - l + fwd - rev
            return (jnp.where(acc[:, None], Y, X), jnp.where(acc, ly, l),
                    jnp.where(acc[:, None], gy, g)), None
        l, g = lg(X, pj)
        (X, _, _), _ = jax.lax.scan(step, (X, l, g), jax.random.split(key, steps))
        return X

    fn = jax.jit(ula if method == "langevin" else mala)
    X = jnp.asarray(x0)
    key = jax.random.PRNGKey(0)
    return lambda: fn(X, key).block_until_ready()


def fmt(row):
    w = row["workload"]
    if "cold" in row:
        c, wm = row["cold"], row["warm"]
        if "error" in c:
            return f"{w}: cold start failed: {c['error']}"
        prove = f", prove {c['prove_s']:.2f} s ({c.get('verdict')})" if "prove_s" in c else ""
        return (f"{w}: cold {c['total_s']:.2f} s to the first full ISM loss (import + build "
                f"{c['build_s']:.2f} s, compile {c['ready_s']:.2f} s){prove}; warm "
                f"{wm.get('total_s', float('nan')):.2f} s (import + build "
                f"{wm.get('build_s', float('nan')):.2f} s, load {wm.get('ready_s', float('nan')):.2f} s)")
    parts = [f"{w}: symscore {row['symscore_s'] * 1e3:.1f} ms"]
    for peer in ("new_X", "per_sample", "unrolled", "numpy", "numpy_score_only", "jax_exact",
                 "jax_hutch", "jax_hvp", "jax"):
        if f"{peer}_s" in row:
            ratio = row[f"{peer}_s"] / row["symscore_s"]
            rel = row.get(f"{peer}_rel")
            note = f", rel diff {rel:.1e}" if rel is not None else ""
            parts.append(f"{peer} {row[f'{peer}_s'] * 1e3:.1f} ms (×{ratio:.2f}{note})")
    if "note" in row:
        parts.append(row["note"])
    if "jax_grad_rel" in row:
        parts.append(f"grad rel diff {row['jax_grad_rel']:.1e}")
    return "; ".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--json", help="write the rows to this file")
    ap.add_argument("--only", choices=["gaussian", "starts", "ica", "rbm", "ssm"],
                    action="append")
    a = ap.parse_args(argv)
    jax = jax_setup()
    if jax is None:
        print("JAX not installed (pip install symscore[bench]): JAX peers skipped")
    only = set(a.only or ["gaussian", "starts", "ica", "rbm", "ssm"])
    rows = []
    dims = [2, 10] if a.quick else [2, 10, 100, 1000]
    N = 2000 if a.quick else 20000
    print(textwrap.dedent(f"""\
        bench_dimension: float64, N = {N}; ratio = peer time / symscore time
        (×2 means symscore twice as fast); timings on a shared machine are noisy"""))
    if "gaussian" in only:
        gaussian_rows(dims, N, jax, rows)
    if "starts" in only:
        starts([10, 100] if a.quick else [100, 1000], N, rows)
    if "gaussian" in only:
        ica_row(10 if a.quick else 100, N, jax, rows, kind="gaussian")
    if "ica" in only:
        ica_row(8 if a.quick else 64, N, jax, rows)
    if "ssm" in only:
        ssm_rows(N, jax, rows, quick=a.quick)
    if "rbm" in only:
        rbm_rows(10 if a.quick else 100, 5 if a.quick else 50, 200 if a.quick else 1000,
                 20 if a.quick else 200, jax, rows)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
