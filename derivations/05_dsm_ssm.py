"""05 — Denoising (Vincent 2011) and sliced score matching: DSM equals ESM against
the noised data up to a constant, without boundary conditions; SSM equals ISM
when E[vvᵀ] = I and ISM/D for unit projections.

    python derivations/05_dsm_ssm.py [--out DIR]
"""

import sys
import time

import symscore as ss
from symscore.proof import prove_dsm, prove_ssm

from _common import Section, parse, write

PREAMBLE = (
    "DSM replaces the unknown $\\nabla\\log p$ by the score of the noise kernel, "
    "$(x-\\tilde x)/\\sigma^2$; SSM replaces the divergence by random projections. The facts "
    "below fix the constants and scales that implementations otherwise get wrong.")


def main(argv=None) -> int:
    args = parse(argv)
    t0 = time.perf_counter()
    F = ss.families
    sections = [
        Section("DSM, 1-D Gaussian model and data", "", prove_dsm(F.gaussian(dim=1))),
        Section("DSM, 2-D Gaussian mixture model", "", prove_dsm(F.gaussian_mixture(2, 2))),
        Section("SSM, 2-D Gaussian model", "", prove_ssm(F.gaussian(dim=2))),
        Section("SSM, 3-D RBM", "", prove_ssm(F.gaussian_bernoulli_rbm(dim=3, hidden=2))),
    ]
    return write("05_dsm_ssm", "Denoising and sliced score matching", PREAMBLE, sections,
                 args.out, t0)


if __name__ == "__main__":
    sys.exit(main())
