"""A D = 1000 Gaussian end to end with structured (index-form) kernels: derive, prove,
compile, sample (MALA), fit — each step timed. The numbers in README.md
("Any dimension") come from this script.

Run:  python benchmarks/example_structured_1000.py     (several minutes on 2 cores)
"""
import time, numpy as np, symscore as ss
from symscore.proof import prove_ism_equivalence
T = {}
t = time.perf_counter()
d = ss.families.gaussian(dim=1000)                 # index form chosen automatically
s = d.structure
print("s_j =", s.score)
print("div =", s.divergence)
s.ism; s.ism_grad
T["derive"] = time.perf_counter() - t

t = time.perf_counter()
proof = prove_ism_equivalence(d)
T["prove"] = time.perf_counter() - t
print(proof.verdict.name, "-", proof.summary)

rng = np.random.default_rng(0)
D = 1000
L = np.eye(D) * 1.5 + np.tril(rng.normal(scale=0.02, size=(D, D)), -1)
mu = np.linspace(-1, 1, D)
truth = {"mean": mu, "prec_chol": L}

t = time.perf_counter()
k = ss.compile(d)
X = rng.normal(size=(20_000, D))
loss = k.ism_loss(X, truth)
T["compile+first ISM"] = time.perf_counter() - t
t = time.perf_counter(); k.ism_loss(X, truth); T["ISM loss N=2e4, same X"] = time.perf_counter() - t
X2 = rng.normal(size=(20_000, D))
t = time.perf_counter(); k.ism_loss(X2, truth); T["ISM loss N=2e4, new X"] = time.perf_counter() - t

t = time.perf_counter()
r = ss.mala(k, rng.normal(size=(1000, D)) / 1.5 + mu, truth, step_size=0.05, n_steps=200, seed=1)
T["mala 1000 chains x 200"] = time.perf_counter() - t
print("acceptance", float(np.mean(r.acceptance)))

# fit: exact draws (N = 20 000) from the truth
Xf = mu + np.linalg.solve(L.T, rng.normal(size=(D, 20_000))).T
t = time.perf_counter()
f = ss.fit(d, Xf)
T["fit N=2e4"] = time.perf_counter() - t
C = np.cov(Xf.T, bias=True)
P_hat = f.params["prec_chol"] @ f.params["prec_chol"].T
print("fit:", f.method, "| vs closed form inv(cov):",
      np.abs(P_hat - np.linalg.inv(C)).max() / np.abs(P_hat).max())
for k_, v in T.items():
    print(f"{k_:>24}: {v:6.2f} s")
