"""03 — Hyvärinen's Gaussian example: the score-matching estimator equals the MLE
(sample mean, inverse of the 1/T sample covariance); and the 1-D closed forms
J_ISM = (s² + (m−μ)²)/(2v²) − 1/v, C = 1/(2s²) computed by the engine.

    python derivations/03_hyvarinen_gaussian.py [--out DIR]
"""

import sys
import time

import sympy as sp

import symscore as ss
from symscore.proof import prove_gaussian_sm_equals_mle, prove_ism_equivalence

from _common import Section, parse, write

PREAMBLE = (
    "For the Gaussian model $\\log\\tilde p = -\\tfrac12(x-\\mu)^\\top M(x-\\mu)$ the ISM "
    "integrand is $-\\operatorname{tr}M + \\tfrac12\\|M(x-\\mu)\\|^2$, a quadratic in $x$: the "
    "empirical objective depends on the data only through $\\bar x$ and "
    "$\\hat C = \\tfrac1T\\sum_t (x_t-\\bar x)(x_t-\\bar x)^\\top$, and its minimiser is "
    "$(\\bar x, \\hat C^{-1})$ — the maximum-likelihood estimate (Hyvärinen 2005, section 3).")


def main(argv=None) -> int:
    args = parse(argv)
    t0 = time.perf_counter()
    x, mu, m = sp.symbols("x mu m", real=True)
    v, s = sp.symbols("v s", positive=True)
    model = ss.Density.from_log_density(-(x - mu)**2 / (2 * v) - sp.log(2 * sp.pi * v) / 2,
                                        [x], [mu, v], name="N(mu, v)")
    data = ss.Density.from_log_density(-(x - m)**2 / (2 * s**2) - sp.log(2 * sp.pi * s**2) / 2,
                                       [x], [m, s], name="N(m, s^2)")
    proof = prove_ism_equivalence(model, data, confirm="closed_form")
    cf = proof.step("confirm[closed_form]").evidence
    expected = (s**2 + (m - mu)**2) / (2 * v**2) - 1 / v
    ok = (sp.simplify(cf["J_ISM"] - expected) == 0 and sp.simplify(cf["C"] - 1 / (2 * s**2)) == 0)
    extra = ("The engine's closed forms: $J_{\\mathrm{ISM}} = " + sp.latex(cf["J_ISM"]) +
             "$ and $C = " + sp.latex(cf["C"]) + "$ — " +
             ("equal to $" + sp.latex(expected) + "$ and $\\tfrac{1}{2s^2}$."
              if ok else "NOT the expected formulas."))
    sections = [Section("1-D: model N(μ, v) on data N(m, s²)", "", proof, extra=extra),
                Section("Score matching = MLE, D = 1", "", prove_gaussian_sm_equals_mle(1)),
                Section("Score matching = MLE, D = 2", "", prove_gaussian_sm_equals_mle(2))]
    if not ok:
        sections[0].expect_fail = ("closed-form mismatch",)
    return write("03_hyvarinen_gaussian", "Hyvärinen's Gaussian example", PREAMBLE, sections,
                 args.out, t0)


if __name__ == "__main__":
    sys.exit(main())
