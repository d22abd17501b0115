"""Throughput of the fused Langevin samplers against peers measured in the same run.

    python benchmarks/bench_sampling.py            # full sizes (a few minutes)
    python benchmarks/bench_sampling.py --quick    # small sizes, smoke test

Workload (issue 5): unadjusted Langevin on a 2-D Gaussian mixture with K = 8
full-precision components (the family defaults), 1e5 chains × 1000 steps,
step_size 0.01; throughput in particle-steps per second (chains × steps / s).
Also MALA on the same density, and annealed Langevin (L = 10 levels × T = 100)
on the exactly noise-perturbed K = 8 mixture.

Peers: a NumPy loop (vectorised closed-form mixture score, numpy.random noise)
and JAX (``lax.fori_loop`` over ``vmap(grad(log p))``, float64, jit) when JAX is
importable. Each peer's score is checked against symscore's before timing.
symscore is timed through the public API (validation, seeding included), warm
(compiled), best of ``--repeat`` runs; ratios are symscore / peer.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import symscore as ss

K, D = 8, 2


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def mixture_arrays(density, theta):
    g = ss.unpack(density, theta)
    return g["logits"], g["means"], g["prec_chol"]


# -- peers ---------------------------------------------------------------------------------

def numpy_score(X, logits, means, L):
    """Σₖ rₖ(x)·(−LₖLₖᵀ(x − μₖ)), rₖ the softmax responsibilities (closed form,
    one vectorised pass per component)."""
    logpi = logits - np.logaddexp.reduce(logits)
    logw, grads = [], []
    for k in range(len(logits)):
        Y = (X - means[k]) @ L[k]                              # Lₖᵀ(x − μₖ) per row
        logw.append(logpi[k] + np.log(np.diag(L[k])).sum() - 0.5 * (Y * Y).sum(1))
        grads.append(-(Y @ L[k].T))
    logw = np.array(logw)
    w = np.exp(logw - logw.max(0))
    w /= w.sum(0)
    return sum(wk[:, None] * gk for wk, gk in zip(w, grads))


def numpy_ula(X, arrays, h, n_steps, seed=0):
    rng = np.random.default_rng(seed)
    noise = math.sqrt(2 * h)
    for _ in range(n_steps):
        X = X + h * numpy_score(X, *arrays) + noise * rng.standard_normal(X.shape)
    return X


def jax_peer(arrays, h):
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax
    logits, means, L = (jnp.asarray(a) for a in arrays)

    def logp(x):
        Y = jnp.einsum("kd,kde->ke", x[None, :] - means, L)
        logdet = jnp.log(jnp.abs(jnp.einsum("kdd->kd", L))).sum(1)
        return jax.scipy.special.logsumexp(jax.nn.log_softmax(logits) + logdet
                                           - 0.5 * (Y * Y).sum(-1))

    score = jax.jit(jax.vmap(jax.grad(logp)))
    noise = math.sqrt(2 * h)

    @jax.jit
    def run(X, key, n_steps):
        def body(_, carry):
            X, key = carry
            key, sub = jax.random.split(key)
            return X + h * jax.vmap(jax.grad(logp))(X) + noise * jax.random.normal(
                sub, X.shape, X.dtype), key
        return lax.fori_loop(0, n_steps, body, (X, key))[0]

    def ula(X, n_steps):
        return np.asarray(run(jnp.asarray(X), jax.random.PRNGKey(0), n_steps)
                          .block_until_ready())

    return jax.__version__, (lambda X: np.asarray(score(jnp.asarray(X)))), ula


# -- the benchmark ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    import numba
    N, T = (10_000, 100) if args.quick else (100_000, 1000)
    h = 0.01
    peer_steps = 10 if args.quick else 40
    threads = numba.get_num_threads()

    dens = ss.families.gaussian_mixture(dim=D, components=K)
    theta = np.array(dens.defaults)
    k = ss.compile(dens)
    arrays = mixture_arrays(dens, theta)
    X0 = np.random.default_rng(0).uniform(-8, 8, (N, D))
    ref = k.score(X0[:1000], theta)
    assert np.allclose(numpy_score(X0[:1000], *arrays), ref, rtol=1e-10, atol=1e-12)

    w = np.full(K, 1 / K)
    covs = np.array([np.linalg.inv(Lk @ Lk.T) for Lk in arrays[2]])
    pert = ss.families.gaussian_mixture_perturbed(w, arrays[1], covs)
    kp = ss.compile(pert)
    sig = ss.geometric_sigmas(10.0, 0.1, 10)
    t_level = max(1, T // 10)

    rows = []

    def add(name, seconds, work, note=""):
        rows.append((name, work / seconds, note))
        print(f"  {name}: {work / seconds / 1e6:.2f} M particle-steps/s ({seconds:.2f} s){note}",
              flush=True)

    print(f"ULA, 2-D K={K} full mixture, {N} chains × {T} steps, numba threads = {threads}")
    t = time.perf_counter()
    ss.langevin(k, X0[:512], theta, h, 2, seed=0)          # compile (or load the cache)
    ss.mala(k, X0[:512], theta, h, 2, seed=0)
    ss.annealed_langevin(kp, X0[:512], None, h, 2, seed=0, sigmas=sig)
    print(f"  compile/load: {time.perf_counter() - t:.1f} s")
    def checked(result):
        assert result.n_nonfinite == 0 and np.all(np.isfinite(result.x))
        return result

    for n in sorted({1, threads}):
        numba.set_num_threads(n)
        sec = best(lambda: checked(ss.langevin(k, X0, theta, h, T, seed=1)), args.repeat)
        add(f"symscore ULA (cpu, {n} thread{'s' * (n > 1)})", sec, N * T)
    numba.set_num_threads(threads)
    sec = best(lambda: checked(ss.mala(k, X0, theta, h, T, seed=1)), args.repeat)
    add(f"symscore MALA (cpu, {threads} threads)", sec, N * T)
    sec = best(lambda: checked(ss.annealed_langevin(kp, X0, None, h, t_level, seed=1,
                                                    sigmas=sig)), args.repeat)
    add(f"symscore annealed, exact p_σ of the mixture, L=10×T={t_level} "
        f"(cpu, {threads} threads)", sec, N * 10 * t_level)
    symscore_ula = max(r[1] for r in rows if r[0].startswith("symscore ULA"))

    sec = best(lambda: numpy_ula(X0, arrays, h, peer_steps), 1)
    add("NumPy loop ULA", sec, N * peer_steps, f"  ({peer_steps} steps)")
    jp = jax_peer(arrays, h)
    if jp is None:
        print("  JAX: not installed (skipped)")
    else:
        version, jscore, jula = jp
        assert np.allclose(jscore(X0[:1000]), ref, rtol=1e-10, atol=1e-12)
        jula(X0, 2)                                          # compile
        sec = best(lambda: jula(X0, peer_steps), args.repeat)
        add(f"JAX {version} fori_loop+vmap(grad) ULA", sec, N * peer_steps,
            f"  ({peer_steps} steps)")

    print("\n| sampler | particle-steps/s | symscore ULA / this |")
    print("|---|---:|---:|")
    for name, rate, _ in rows:
        print(f"| {name} | {rate / 1e6:.2f} M | {symscore_ula / rate:.2f}× |")
    print(f"\ntarget ≥ 20 M particle-steps/s for ULA: "
          f"{'met' if symscore_ula >= 20e6 else 'NOT met'} ({symscore_ula / 1e6:.1f} M)")


if __name__ == "__main__":
    main()
