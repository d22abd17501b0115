"""04 — When ISM fails: supports with a finite end (exponential, gamma on (0, ∞))
leave a boundary term; non-smooth models (Laplace) fail differentiability. The
weighted objective with h(x) = x² repairs the first case; for data Exp(λ*) and
model e^{−λx}, plain ISM (λ²/2) is minimised at λ → 0 while weighted ISM gives λ*.

    python derivations/04_boundary_failure.py [--out DIR]
"""

import sys
import time

import symscore as ss
from symscore.proof import compare_minimisers, prove_ism_equivalence, prove_weighted_ism

from _common import Section, parse, write

PREAMBLE = (
    "On $(0,\\infty)$ the integration by parts leaves $[s_\\theta\\,p]_0^\\infty$. For the "
    "exponential the score is constant and $p(0) = \\lambda^* > 0$, so the term "
    "$-\\lambda\\lambda^*$ survives and $J_{\\mathrm{ISM}} = \\lambda^2/2$ no longer differs from "
    "$J_{\\mathrm{ESM}}$ by a constant. Weighting coordinate $i$ by $h_i(x_i) = x_i^2$ makes the "
    "boundary term $h_i s_i p$ vanish at $0$ (Hyvärinen 2007; Yu, Drton & Shojaie 2019).")


def main(argv=None) -> int:
    args = parse(argv)
    t0 = time.perf_counter()
    F = ss.families
    sections = [
        Section("Exponential model: plain ISM fails at 0", "Expected: the boundary step at "
                "$x_0 \\to 0^+$ FAILS with the surviving term $-\\lambda\\lambda^*$.",
                prove_ism_equivalence(F.exponential(dim=1)),
                expect_fail=("boundary[0,0+]", "integration_by_parts", "conclusion",
                             "confirm[closed_form]")),
        Section("Gamma model: plain ISM fails at 0", "Expected: FAILED boundary (and moment) "
                "steps at $0$: they hold only for some shapes.",
                prove_ism_equivalence(F.gamma(dim=1), confirm="none"),
                expect_fail=("boundary[0,0+]", "moment*", "integration_by_parts", "conclusion")),
        Section("Laplace model: not differentiable", "Expected: FAILED at differentiability.",
                prove_ism_equivalence(F.laplace(dim=1), confirm="none"),
                expect_fail=("differentiability", "moment[divergence]", "integration_by_parts",
                             "conclusion")),
        Section("Exponential model, weighted objective $h = x^2$", "Expected: holds.",
                prove_weighted_ism(F.exponential(dim=1))),
        Section("Gamma model, weighted objective $h = x^2$", "Expected: holds.",
                prove_weighted_ism(F.gamma(dim=1), confirm="none")),
        Section("Exp(λ*) data: which λ does each objective pick?",
                "Expected: the naive minimiser step FAILS, the weighted one is PROVEN.",
                compare_minimisers(F.exponential(dim=1)), expect_fail=("naive_minimiser",)),
    ]
    return write("04_boundary_failure", "Boundary failure and the weighted fix", PREAMBLE,
                 sections, args.out, t0)


if __name__ == "__main__":
    sys.exit(main())
