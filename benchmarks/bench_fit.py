"""Benchmark: score-matching fit of a 2-D Gaussian mixture (K = 8 full-precision
components) to 1e6 samples with ``symscore.fit`` (L-BFGS-B on the generated ISM
loss + θ-gradient), started near the truth.

Printed, all measured in this run on this machine:
  * the kernel build (derive + generate + compile, or load from cache) time;
  * one ISM loss + θ-gradient evaluation over the N samples, for the CPU
    kernels and for the peers — symscore's NumPy target and SymPy lambdify
    (numpy, cse=True) of the integrand and its θ-gradient (measured on a subsample,
    scaled to N) — as samples/s and ratios;
  * the fit itself: evaluations, iterations, wall time without and with the
    sandwich standard errors, and the projected fit time with each peer as
    (evaluations × its time per evaluation).

Run:  python benchmarks/bench_fit.py [--n 1000000] [--components 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np


def mixture_truth(K: int, rng):
    angles = 2 * math.pi * np.arange(K) / K
    means = np.stack([4 * np.cos(angles), 4 * np.sin(angles)], axis=1)
    chol = np.zeros((K, 2, 2))
    for k in range(K):
        a = rng.uniform(1.2, 2.0, size=2)
        chol[k] = [[a[0], 0.0], [rng.uniform(-0.4, 0.4), a[1]]]
    logits = rng.normal(scale=0.3, size=K)
    return {"logits": logits - logits.mean(), "means": means, "prec_chol": chol}


def sample_mixture(truth, n: int, rng) -> np.ndarray:
    w = np.exp(truth["logits"])
    w /= w.sum()
    z = rng.choice(len(w), size=n, p=w)
    X = np.empty((n, 2))
    for k in range(len(w)):
        idx = np.flatnonzero(z == k)
        L = truth["prec_chol"][k]
        # x = μ + L⁻ᵀ ε has covariance (L Lᵀ)⁻¹
        X[idx] = truth["means"][k] + np.linalg.solve(L.T, rng.standard_normal((2, idx.size))).T
    return X


def best_time(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--components", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-n", type=int, default=20_000, help="subsample for slow peers")
    args = ap.parse_args(argv)

    import symscore as ss
    from symscore.fit import _numpy_objective

    rng = np.random.default_rng(0)
    K, N = args.components, args.n
    truth = mixture_truth(K, rng)
    X = sample_mixture(truth, N, rng)
    d = ss.families.gaussian_mixture(2, K)
    theta_true = ss.pack(d, truth)
    start = ss.pack(d, {"logits": truth["logits"] + 0.2, "means": truth["means"] + 0.25,
                        "prec_chol": truth["prec_chol"] * 1.1})

    t = time.perf_counter()
    kern = ss.compile(d, target="cpu", dtype="float64")
    kern.ism_loss_and_grad(X[:100], start)
    t_build = time.perf_counter() - t

    t_cpu = best_time(lambda: kern.ism_loss_and_grad(X, start), args.repeat)
    peers = {"symscore cpu kernels": t_cpu}
    Xs = X[:args.peer_n]
    try:
        knp = ss.compile(d, target="numpy", dtype="float64")
        knp.ism_loss_and_grad(Xs[:10], start)
        peers["symscore numpy target"] = best_time(
            lambda: knp.ism_loss_and_grad(Xs, start), 1) * N / len(Xs)
    except ss.SymscoreError as exc:   # pragma: no cover - reported, not fatal
        print(f"(numpy target unavailable: {exc})")
    lam = _numpy_objective(d, "ism", None)
    lam(Xs[:10], start)
    peers["sympy lambdify (numpy, cse)"] = best_time(lambda: lam(Xs, start), 1) * N / len(Xs)

    t = time.perf_counter()
    r = ss.fit(d, X, theta0=start, standard_errors=False, prove=False)
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    r_se = ss.fit(d, X, theta0=start, standard_errors=True, prove=False)
    t_fit_se = time.perf_counter() - t
    evals = r.details["evaluations"]
    err = np.max(np.abs(r.params["means"] - truth["means"]))

    print(f"# fit: 2-D Gaussian mixture, K = {K} (P = {d.n_params}), N = {N:,}")
    print(f"kernel build / load (cold or cached): {t_build:.2f} s")
    print("\n| ISM loss + θ-gradient over N | seconds | M samples/s | vs cpu kernels |")
    print("|---|---:|---:|---:|")
    for name, sec in peers.items():
        print(f"| {name} | {sec:.4f} | {N / sec / 1e6:.2f} | {sec / t_cpu:.1f}× |")
    print(f"\n| fit (L-BFGS-B from a perturbed truth) | value |\n|---|---:|")
    print(f"| converged | {r.converged} |\n| iterations | {r.iterations} |")
    print(f"| loss + gradient evaluations | {evals} |")
    print(f"| wall time, no standard errors | {t_fit:.2f} s |")
    print(f"| wall time, with sandwich standard errors | {t_fit_se:.2f} s |")
    print(f"| max abs error of the means vs truth | {err:.4f} |")
    print(f"| max abs (θ̂ − θ_true) / SE, means & Cholesky | "
          f"{np.max(np.abs(r_se.theta - theta_true)[K:] / r_se.stderr[K:]):.2f} |")
    for name, sec in peers.items():
        if name != "symscore cpu kernels":
            print(f"| projected fit time with {name} (evaluations × time) | {evals * sec:.0f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
