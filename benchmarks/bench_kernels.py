"""Benchmark of the generated CPU kernels against peers measured in the same run.

    python benchmarks/bench_kernels.py            # the full table (a few minutes)
    python benchmarks/bench_kernels.py --quick    # small sizes, smoke test
    python benchmarks/bench_kernels.py --start-only   # only the start-up row of 2-D K=8

Workloads (Gaussian mixtures with full precision Cholesky factors, parameters
at the family defaults perturbed):
* ISM loss, 2-D K=8, N = 1e6;  ISM loss, 10-D K=4, N = 1e5;
* ISM loss + θ-gradient, 2-D K=8, N = 1e6;
* cold start (new process, empty cache: derive + generate + compile + first
  call) and warm start (new process, cache filled: import + load + call).
Peers: a vectorised NumPy closed form of the mixture ISM, SymPy ``lambdify``
(numpy, cse=True) of the symbolic ISM integrand, and JAX (jit + vmap of grad and
the Hessian trace, value_and_grad for the gradient) when JAX is installed.
Throughput is samples per second of the public API (validation included), best
of several repetitions; ratios are symscore / peer.
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


def best_time(fn, repeat=5, min_time=0.5):
    fn()
    times = []
    t_start = time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - t_start < min_time and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def mixture(dim, K, seed=0):
    import symscore as ss
    d = ss.families.gaussian_mixture(dim=dim, components=K)
    rng = np.random.default_rng(seed)
    th = np.array(d.defaults)
    pos = np.array([not dom.contains(-1) for dom in d.domains])
    noise = 0.1 * rng.normal(size=th.size)
    th = np.where(pos, th * np.exp(noise), th + noise)
    return d, th


def data(dim, n, seed=1):
    return np.random.default_rng(seed).normal(scale=3.0, size=(n, dim))


# -- peers --------------------------------------------------------------------------

def numpy_closed_form(density, theta):
    """Vectorised NumPy ISM of Σ πₖ N(μₖ, (LₖLₖᵀ)⁻¹), by hand (log-sum-exp weights)."""
    import symscore as ss
    p = ss.unpack(density, theta)
    logits, means, Ls = p["logits"], p["means"], p["prec_chol"]
    D = means.shape[1]
    log_pi = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
    consts = [log_pi[k] + np.log(np.diag(L)).sum() - D / 2 * np.log(2 * np.pi)
              for k, L in enumerate(Ls)]
    traces = [np.sum(L * L) for L in Ls]  # tr(L Lᵀ)

    def loss(X):
        logs, grads, sq = [], [], []
        for k, L in enumerate(Ls):
            u = (X - means[k]) @ L               # (Lᵀ r)ᵀ
            g = -u @ L.T                         # −L Lᵀ r
            logs.append(consts[k] - 0.5 * np.einsum("ij,ij->i", u, u))
            grads.append(g)
            sq.append(np.einsum("ij,ij->i", g, g) - traces[k])
        logs = np.array(logs)
        w = np.exp(logs - logs.max(axis=0))
        w /= w.sum(axis=0)
        s = np.einsum("kn,knd->nd", w, np.array(grads))
        ss_ = np.einsum("nd,nd->n", s, s)
        div = np.einsum("kn,kn->n", w, np.array(sq)) - ss_
        return float(np.mean(div + 0.5 * ss_))
    return loss


def sympy_lambdify(density, theta):
    import scipy.special
    import sympy as sp
    from symscore import objectives
    expr = objectives.ism_integrand(density)
    mods = [{"LogSumExp": lambda *a: scipy.special.logsumexp(np.stack(np.broadcast_arrays(*a)),
                                                             axis=0)}, "numpy"]
    f = sp.lambdify(list(density.variables) + list(density.params), expr, modules=mods, cse=True)

    def loss(X):
        return float(np.mean(f(*X.T, *theta)))
    return loss


def jax_peers(density, theta):
    """(loss, loss_and_grad) in JAX, or (None, None) when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import logsumexp
    except ImportError:
        return None, None
    jax.config.update("jax_enable_x64", True)
    import symscore as ss
    groups = ss.unpack(density, theta)
    D = groups["means"].shape[1]

    def logp(x, th):
        logits, means, Ls = th
        a = []
        for k in range(means.shape[0]):
            L = jnp.tril(Ls[k])
            u = (x - means[k]) @ L
            a.append(logits[k] + jnp.sum(jnp.log(jnp.diag(L))) - 0.5 * u @ u)
        return logsumexp(jnp.array(a)) - logsumexp(logits) - D / 2 * jnp.log(2 * jnp.pi)

    def ism(x, th):
        s = jax.grad(logp)(x, th)
        return jnp.trace(jax.hessian(logp)(x, th)) + 0.5 * s @ s

    th = (jnp.array(groups["logits"]), jnp.array(groups["means"]),
          jnp.array(groups["prec_chol"]))
    batch = jax.jit(lambda X, th: jnp.mean(jax.vmap(ism, in_axes=(0, None))(X, th)))
    vg = jax.jit(jax.value_and_grad(
        lambda th, X: jnp.mean(jax.vmap(ism, in_axes=(0, None))(X, th))))

    def loss(X):
        return float(batch(X, th))

    def loss_grad(X):
        v, g = vg(th, X)
        jax.block_until_ready(g)
        return float(v)
    return loss, loss_grad


# -- start-up times (separate processes) --------------------------------------------------

_START = textwrap.dedent("""
    import time
    t0, c0 = time.perf_counter(), time.process_time()
    import json, numpy as np
    import symscore as ss
    d = ss.families.gaussian_mixture(dim={dim}, components={K})
    k = ss.compile(d, target="cpu")
    X = np.random.default_rng(0).normal(size=(1000, {dim}))
    v = {call}
    print(json.dumps({{"seconds": time.perf_counter() - t0,
                       "cpu": time.process_time() - c0}}))
""")


def start_time(dim, K, call, cache_dir):
    """(seconds in the process, its CPU seconds, process wall seconds) of one start.
    The CPU seconds are what a machine to itself would take; on a loaded machine
    the wall clock also counts waiting for a core."""
    code = _START.format(dim=dim, K=K, call=call)
    env = dict(os.environ, SYMSCORE_CACHE_DIR=cache_dir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)   # an installed package has its .pyc files
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["seconds"], r["cpu"], wall


def start_rows(cases, warm_repeats=3):
    """One row per case: cold start (empty cache) and the best of ``warm_repeats``
    warm starts (cache filled)."""
    rows = []
    for dim, K, call, label in cases:
        with tempfile.TemporaryDirectory() as tmp:
            cold, cold_cpu, cold_wall = start_time(dim, K, call, tmp)
            warm = min((start_time(dim, K, call, tmp) for _ in range(warm_repeats)),
                       key=lambda r: r[0])
        line = [f"start-up, {label}", f"cold {cold:.1f} s (CPU {cold_cpu:.1f} s, "
                f"process {cold_wall:.1f} s)", f"warm {warm[0]:.2f} s (CPU {warm[1]:.2f} s, "
                f"process {warm[2]:.2f} s)"]
        rows.append(line)
        print(" | ".join(line), flush=True)
    return rows


START_CASES = [(2, 8, "k.ism_loss(X)", "ISM loss 2-D K=8"),
               (2, 8, "k.ism_loss_and_grad(X)", "loss+grad 2-D K=8"),
               (10, 4, "k.ism_loss(X)", "ISM loss 10-D K=4")]


# -- main ------------------------------------------------------------------------------------

def fmt_rate(n, t):
    return f"{n / t / 1e6:.2f} M/s" if t else "n/a"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--no-start", action="store_true", help="skip cold/warm start timing")
    ap.add_argument("--start-only", action="store_true",
                    help="only the cold/warm start rows (the first one: ISM loss, 2-D K=8)")
    args = ap.parse_args(argv)
    if args.start_only:
        return start_rows(START_CASES[:1])
    import numba
    import symscore as ss

    n2, n10 = (20_000, 5_000) if args.quick else (1_000_000, 100_000)
    rows = []
    print(f"# symscore kernel benchmark — {os.cpu_count()} CPUs, numba threads "
          f"{numba.get_num_threads()}, numpy {np.__version__}, numba {numba.__version__}")

    def bench(label, n, ours, peers):
        t_ours = best_time(ours)
        line = [label, f"{n:.0e}", fmt_rate(n, t_ours)]
        for name, fn in peers:
            if fn is None:
                line.append(f"{name}: not installed")
                continue
            t = best_time(fn, repeat=2, min_time=0.0)
            line.append(f"{name} {fmt_rate(n, t)} (×{t / t_ours:.0f})")
        rows.append(line)
        print(" | ".join(line), flush=True)

    # 2-D K=8
    d2, th2 = mixture(2, 8)
    X2 = data(2, n2)
    k2 = ss.compile(d2, "cpu")
    ref = numpy_closed_form(d2, th2)
    assert abs(k2.ism_loss(X2, th2) - ref(X2)) < 1e-9 * abs(ref(X2)) + 1e-12
    lam2 = sympy_lambdify(d2, th2)
    jl2, jg2 = jax_peers(d2, th2)
    bench("ISM loss, 2-D K=8", n2, lambda: k2.ism_loss(X2, th2),
          [("numpy closed form", lambda: ref(X2)), ("sympy lambdify", lambda: lam2(X2)),
           ("jax", jl2 and (lambda: jl2(X2)))])
    k2.ism_loss_and_grad(X2[:10], th2)
    bench("ISM loss + θ-grad, 2-D K=8", n2, lambda: k2.ism_loss_and_grad(X2, th2),
          [("jax value_and_grad", jg2 and (lambda: jg2(X2)))])

    # 10-D K=4
    d10, th10 = mixture(10, 4)
    X10 = data(10, n10)
    k10 = ss.compile(d10, "cpu")
    ref10 = numpy_closed_form(d10, th10)
    assert abs(k10.ism_loss(X10, th10) - ref10(X10)) < 1e-9 * abs(ref10(X10))
    lam10 = sympy_lambdify(d10, th10)
    jl10, _ = jax_peers(d10, th10)
    bench("ISM loss, 10-D K=4", n10, lambda: k10.ism_loss(X10, th10),
          [("numpy closed form", lambda: ref10(X10)), ("sympy lambdify", lambda: lam10(X10)),
           ("jax", jl10 and (lambda: jl10(X10)))])

    if not args.no_start:
        rows += start_rows(START_CASES)
    return rows


if __name__ == "__main__":
    main()
