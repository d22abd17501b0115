"""07 — Score-matching estimation with symscore.fit.

1. Hyvärinen (2005), §4.1: for the Gaussian in natural parameters the
   score-matching estimate IS the maximum-likelihood estimate, for any sample —
   derived symbolically (D = 2, sample moments as symbols) and checked
   numerically (D = 3, random samples, to 1e-8).
2. Bounded support: the exponential on (0, ∞) — plain ISM is minimised at
   λ = 0 whatever the data; the weighted objective (h = x²) recovers λ.
3. Hyvärinen's ICA model (n = 4, unit-variance logistic sources): the
   unmixing matrix is recovered up to order and sign; errors reported as the
   Amari index and the signed-permutation Frobenius error for growing N.

Run:  python derivations/07_fit.py --out OUTDIR     (writes OUTDIR/07_fit.md;
exit status 1 if any check fails).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sympy as sp

import symscore as ss
from symscore.fit import BoundaryBiasWarning, FitWarning
from symscore.fit.metrics import align_rows, amari_index, signed_permutation_error
from symscore.objectives import ism_integrand

CHECKS: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str) -> bool:
    CHECKS.append((name, bool(ok), detail))
    return bool(ok)


# -- 1. Gaussian: SM = MLE ---------------------------------------------------------------

def gaussian_symbolic(out: list[str]) -> None:
    d = ss.families.gaussian_natural(2)
    xs, params = d.variables, d.params
    J = sp.expand(ism_integrand(d))
    mu = sp.symbols("mu_0 mu_1", real=True)
    s00, s11 = sp.symbols("S_00 S_11", positive=True)
    s01 = sp.Symbol("S_01", real=True)
    S = sp.Matrix([[s00, s01], [s01, s11]])

    def moment(alpha):   # E[x^α] of a sample with mean μ and 1/T covariance S
        if sum(alpha) == 0:
            return sp.Integer(1)
        if sum(alpha) == 1:
            return mu[alpha.index(1)]
        i, j = [k for k, a in enumerate(alpha) for _ in range(a)]
        return S[i, j] + mu[i] * mu[j]

    EJ = sp.Add(*[c * moment(list(a)) for a, c in sp.Poly(J, *xs).terms()])
    sol = sp.solve([sp.diff(EJ, p) for p in params], params, dict=True)
    M = sp.Matrix(2, 2, lambda i, j: sol[0][sp.Symbol(f"M_{min(i, j)}_{max(i, j)}",
                                                       **({"positive": True} if i == j
                                                          else {"real": True}))])
    h = sp.Matrix([sol[0][p] for p in params[3:]])
    prec_ok = (M * S - sp.eye(2)).applyfunc(sp.simplify) == sp.zeros(2, 2)
    mean_ok = (M.inv() * h - sp.Matrix(mu)).applyfunc(sp.simplify) == sp.zeros(2, 1)
    check("Gaussian SM = MLE, symbolic (D = 2)", prec_ok and mean_ok and len(sol) == 1,
          "unique stationary point; M S = I and M⁻¹h = μ simplify to zero")
    out += [
        "## 1. The Gaussian: score matching equals maximum likelihood",
        "",
        "Model (natural parameters, linear in θ): "
        f"$\\log\\tilde p(x) = {sp.latex(d.log_density)}$.",
        "",
        "The ISM integrand $\\nabla\\cdot s + \\tfrac12\\|s\\|^2$ is",
        "", f"$$j(x;\\theta) = {sp.latex(J)}.$$", "",
        "Replacing each monomial by the sample moment — $\\overline{x_i} = \\mu_i$, "
        "$\\overline{x_i x_j} = S_{ij} + \\mu_i\\mu_j$ with $S$ the $1/T$ sample covariance — "
        "gives the empirical objective, quadratic in θ:",
        "", f"$$J(\\theta) = {sp.latex(sp.collect(sp.expand(EJ), params))}.$$", "",
        "Setting $\\partial J/\\partial\\theta = 0$ and solving (SymPy, exact):", "",
        f"$$\\hat M = {sp.latex(M.applyfunc(sp.factor))}, \\qquad "
        f"\\hat h = {sp.latex(h.applyfunc(sp.factor))}.$$", "",
        f"- $\\hat M S - I$ simplifies to $0$: **{'PROVEN' if prec_ok else 'FAILED'}** — the "
        "precision estimate is the inverse of the $1/T$ sample covariance.",
        f"- $\\hat M^{{-1}}\\hat h - \\mu$ simplifies to $0$: "
        f"**{'PROVEN' if mean_ok else 'FAILED'}** — the mean estimate is the sample mean.",
        "", "Both are exactly the maximum-likelihood estimates, for any sample with "
        "non-singular $S$ (Hyvärinen 2005, §4.1).", ""]


def gaussian_numeric(out: list[str], rng) -> None:
    rows, worst = [], 0.0
    for T in (5, 20, 1000):
        X = rng.normal(size=(T, 3)) @ rng.normal(size=(3, 3)) + rng.normal(size=3)
        r = ss.fit(ss.families.gaussian_natural(3), X, prove=False)
        S = np.cov(X, rowvar=False, bias=True)
        M = r.params["precision"]
        e_prec = np.max(np.abs(M - np.linalg.inv(S))) / np.max(np.abs(np.linalg.inv(S)))
        e_mean = np.max(np.abs(np.linalg.solve(M, r.params["linear"]) - X.mean(0)))
        worst = max(worst, e_prec, e_mean / (1 + np.abs(X).max()))
        rows.append(f"| {T} | {r.method} | {e_prec:.2e} | {e_mean:.2e} | {r.condition:.3g} |")
    check("Gaussian SM = MLE, numeric (D = 3)", worst < 1e-8, f"worst relative error {worst:.2e}")
    out += ["Numerically, `ss.fit(ss.families.gaussian_natural(3), X)` (closed form, one linear "
            "solve) against numpy's MLE on random samples:", "",
            "| T | method | max rel. error of $\\hat M$ vs $S^{-1}$ | max error of mean | "
            "condition |", "|---:|---|---:|---:|---:|", *rows, ""]


# -- 2. bounded support ----------------------------------------------------------------

def exponential(out: list[str], rng) -> None:
    X = rng.exponential(1 / 2.5, size=(100_000, 1))
    d = ss.families.exponential(1)
    w = ss.fit(d, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (BoundaryBiasWarning, FitWarning))
        n = ss.fit(d, X, objective="ism", allow_boundary_bias=True)
    ok_w = abs(w.theta[0] - 2.5) < 5 * w.stderr[0]
    ok_n = n.theta[0] == 0.0 and not n.converged
    check("exponential: weighted recovers λ", ok_w, f"λ̂ = {w.theta[0]:.4f} ± {w.stderr[0]:.4f}")
    check("exponential: naive ISM minimised at λ = 0", ok_n, n.message)
    out += ["## 2. Bounded support: the exponential on $(0,\\infty)$", "",
            "With $s = -\\lambda$ the ISM integrand is $\\lambda^2/2$ whatever the data, so plain "
            "ISM is minimised at $\\lambda = 0$: the boundary term $s\\,p$ at $x = 0$ does not "
            "vanish. The weighted objective with $h(x) = x^2$ gives "
            "$\\hat\\lambda = 2\\bar x/\\overline{x^2}$.", "",
            f"`ss.fit` chose the weighted objective by itself: *{w.boundary}*.", "",
            "| objective | $\\hat\\lambda$ (true 2.5) | std. error | converged | "
            "proof of the objective |", "|---|---:|---:|---|---|",
            f"| weighted, $h = x^2$ | {w.theta[0]:.4f} | {w.stderr[0]:.4f} | {w.converged} | "
            f"{w.proof_verdict} |",
            f"| plain ISM (forced) | {n.theta[0]:.4f} | — | {n.converged} | "
            f"{n.proof_verdict} |", "",
            f"Plain ISM result: *{n.message}*", ""]


# -- 3. ICA -----------------------------------------------------------------------------

def ica(out: list[str], rng) -> None:
    n = 4
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag([1.0, 1.5, 0.7, 2.0])
    W = np.linalg.inv(A)
    rows, last = [], None
    for N in (3_000, 10_000, 30_000):
        X = rng.logistic(scale=np.sqrt(3) / np.pi, size=(N, n)) @ A.T
        t = time.perf_counter()
        r = ss.fit(ss.families.ica(n), X)
        dt = time.perf_counter() - t
        ai, fe = amari_index(r.params["W"], A), signed_permutation_error(r.params["W"], W)
        rows.append(f"| {N} | {r.iterations} | {r.converged} | {ai:.4f} | {fe:.4f} | {dt:.1f} |")
        last = (r, ai, fe)
    r, ai, fe = last
    aligned, order, _ = align_rows(r.params["W"], W, return_permutation=True)
    z = np.abs(aligned - W) / r.stderr_by_name["W"][order]
    check("ICA: W recovered (N = 30000)", r.converged and ai < 0.03 and fe < 0.05,
          f"Amari index {ai:.4f}, signed-permutation error {fe:.4f}")
    check("ICA: every entry of ΠŴ − W within 5 sandwich SE", bool(np.all(z < 5)),
          f"max z = {z.max():.2f}")
    fmt = lambda M: sp.latex(sp.Matrix(np.round(M, 3)))
    out += ["## 3. Hyvärinen's ICA model, $n = 4$", "",
            "$\\log\\tilde p(x) = \\sum_k G(w_k^\\top x)$ with "
            "$G(u) = -2\\log\\cosh\\big(\\tfrac{\\pi u}{2\\sqrt3}\\big)$, the log-density of a "
            "unit-variance logistic source (up to a constant); the normaliser "
            "$\\log|\\det W|$ never enters. Data: $x = A s$, four independent logistic sources "
            "of unit variance, $A$ a rotation times $\\mathrm{diag}(1, 1.5, 0.7, 2)$. "
            "The objective is not quadratic in $W$: `fit` uses L-BFGS-B from $W = I$ on the "
            f"ISM loss and θ-gradient evaluated by {r.details['engine']}.", "",
            "Errors, invariant to the order and signs of the rows of $\\hat W$: the Amari index "
            "of $P = \\hat W A$ (0 for a scaled signed permutation) and "
            "$\\|\\Pi\\hat W - W\\|_F/\\|W\\|_F$ for the best signed row permutation $\\Pi$ "
            "(the model fixes each source's scale, so $W$ itself is identifiable up to "
            "order and sign).", "",
            "| N | iterations | converged | Amari index | signed-perm. error | seconds |",
            "|---:|---:|---|---:|---:|---:|", *rows, "",
            f"Proof that ISM is valid for this model (well-specified case): "
            f"**{r.proof_verdict}**.", "",
            f"At N = 30000: $W = {fmt(W)}$, aligned $\\Pi\\hat W = {fmt(aligned)}$;"
            f" largest $|\\Pi\\hat W - W|$ / sandwich SE = {z.max():.2f}.", ""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out"),
                    help="output folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=2005)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    out = ["# 07 — Score-matching estimation", "",
           "`symscore.fit` minimises the sample mean of Hyvärinen's integrand "
           "$\\nabla\\cdot s + \\tfrac12\\|s\\|^2$ (or its weighted form where a boundary "
           "term survives): in closed form when the score is affine in θ, by L-BFGS-B "
           "otherwise, with sandwich standard errors.", ""]
    gaussian_symbolic(out)
    gaussian_numeric(out, rng)
    exponential(out, rng)
    ica(out, rng)
    out += ["## Checks", "", "| check | result | detail |", "|---|---|---|"]
    out += [f"| {n} | {'PASS' if ok else '**FAIL**'} | {d} |" for n, ok, d in CHECKS]
    path = Path(args.out)
    path.mkdir(parents=True, exist_ok=True)
    (path / "07_fit.md").write_text("\n".join(out) + "\n", encoding="utf-8")
    failed = [n for n, ok, _ in CHECKS if not ok]
    print(f"wrote {path / '07_fit.md'}: {len(CHECKS) - len(failed)}/{len(CHECKS)} checks pass")
    for n in failed:
        print(f"FAILED: {n}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
