"""01 — The Stein score and the normaliser.

For several models, the score ∇x log p~ is derived exactly, the normaliser Z(θ)
is shown to drop out (generic identity + the model's own check), and Stein's
identity E_p[∇·s + s·∇log p] = 0 is proved with its boundary and moment
conditions.

    python derivations/01_stein_score.py [--out DIR]
"""

import sys
import time

import symscore as ss
from symscore.proof import prove_stein_identity
from symscore.report import density_markdown

from _common import Section, parse, write

PREAMBLE = (
    "The score $s(x;\\theta) = \\nabla_x \\log p(x;\\theta)$ of $p = \\tilde p / Z(\\theta)$ does "
    "not involve $Z(\\theta) = \\int \\tilde p\\,dx$: $\\log p = \\log\\tilde p - \\log Z(\\theta)$ "
    "and $Z$ does not depend on $x$. That is why score-based methods can work with "
    "unnormalised models. Each section below shows the model, its exact score and divergence, "
    "and Stein's identity for it (with the model at parameters $\\theta$ as the test field and "
    "at $\\theta^*$ as the density).")


def main(argv=None) -> int:
    args = parse(argv)
    t0 = time.perf_counter()
    models = [ss.families.gaussian(dim=2), ss.families.gaussian_mixture(dim=2, components=3),
              ss.families.student_t(dim=2), ss.families.gaussian_bernoulli_rbm(dim=2, hidden=2)]
    sections = []
    for d in models:
        check = ss.calculus.normaliser_drops_out(d)
        intro = (density_markdown(d) + "\n" +
                 f"Normaliser check on this model: ∇x log(p~/Z(θ)) − ∇x log p~ = "
                 f"{'0 exactly' if check.holds else 'NOT zero'}.")
        sections.append(Section(d.name, intro, prove_stein_identity(d, n_samples=10_000)))
    return write("01_stein_score", "Stein score and the normaliser", PREAMBLE, sections,
                 args.out, t0)


if __name__ == "__main__":
    sys.exit(main())
