"""Benchmark: the symbolic side of structured (index-form) densities, by dimension —
derivation, vector-form proof and the exact structured fit. (Kernel speed and cold
compile times are in ``bench_dimension.py``.)

Printed, all measured in this run (wall time, one process, SymPy's cache shared):

* derive: build the density, then score s_j, divergence, ISM integrand and the
  θ-gradients of the ISM integrand of every parameter group, in index form; with the
  expression size (SymPy ``count_ops``) — independent of D;
* prove: ``prove_ism_equivalence`` (vector form) and its verdict;
* fit: the exact structured fit of a Gaussian graphical model (Lyapunov normal
  equations) and of a full Gaussian, D = 100 from N = 1e5 samples by default,
  with the largest deviation from the NumPy closed form inv(S) / inv(Σ̂).

Run:  python benchmarks/bench_structured.py [--fit-dim 100] [--n 100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sympy as sp


def derive_and_prove(label, make):
    from symscore.proof import prove_ism_equivalence
    t0 = time.perf_counter()
    d = make()
    s = d.structure
    exprs = [s.score, s.divergence, s.ism]
    t1 = time.perf_counter()
    grads = [e for e, _ in s.ism_grad.values()]
    t2 = time.perf_counter()
    p = prove_ism_equivalence(d)
    t3 = time.perf_counter()
    ops = sum(sp.count_ops(e) for e in exprs + grads)
    print(f"{label:<42} P = {d.n_params:>7}  derive {t1 - t0:6.2f} s (+θ-grads "
          f"{t2 - t1:5.2f} s, {ops} ops)  prove {t3 - t2:5.2f} s {p.verdict.name}")


def fits(D, N):
    import symscore as ss
    rng = np.random.default_rng(0)
    K = np.eye(D) + 0.3 * (np.eye(D, k=1) + np.eye(D, k=-1))
    X = rng.multivariate_normal(np.linspace(-1, 1, D), np.linalg.inv(K), size=N)
    Xc = X - X.mean(axis=0)
    for label, d, ref, get in [
            ("gaussian_graphical", ss.families.gaussian_graphical(dim=D),
             np.linalg.inv(X.T @ X / N), lambda r: r.params["precision"]),
            ("gaussian (full Cholesky)", ss.families.gaussian(dim=D),
             np.linalg.inv(Xc.T @ Xc / N),
             lambda r: r.params["prec_chol"] @ r.params["prec_chol"].T)]:
        ss.fit(d, X[:1000])   # proof cache and imports warm: the fit itself is timed
        t0 = time.perf_counter()
        r = ss.fit(d, X)
        t = time.perf_counter() - t0
        dev = np.abs(get(r) - ref).max() / np.abs(ref).max()
        print(f"fit {label:<26} D = {D}, N = {N}: {t:6.2f} s, {r.method} ({r.message}); "
              f"max |Δ| / max|ref| vs NumPy closed form = {dev:.1e}")


def main(argv=None):
    import symscore as ss
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit-dim", type=int, default=100)
    ap.add_argument("--n", type=int, default=100_000)
    a = ap.parse_args(argv)
    F = ss.families
    for D in (2, 100, 1000):
        derive_and_prove(f"gaussian(dim={D}) full", lambda: F.gaussian(dim=D, structured=True))
    derive_and_prove("gaussian_graphical(dim=1000)", lambda: F.gaussian_graphical(dim=1000))
    derive_and_prove("ica(dim=64)", lambda: F.ica(dim=64))
    derive_and_prove("gaussian_bernoulli_rbm(dim=100, hidden=50)",
                     lambda: F.gaussian_bernoulli_rbm(dim=100, hidden=50))
    derive_and_prove("student_t(dim=100)", lambda: F.student_t(dim=100))
    derive_and_prove("gaussian_mixture(dim=100, components=4)",
                     lambda: F.gaussian_mixture(dim=100, components=4))
    fits(a.fit_dim, a.n)


if __name__ == "__main__":
    main()
