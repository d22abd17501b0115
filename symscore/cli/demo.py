"""``symscore demo``: the Song & Ermon toy end to end, with a report."""

from __future__ import annotations

from .common import add_subcommand, progress, seed_int

EXAMPLE = 'symscore demo --out demo'


def run(args) -> int:
    from ..demo import run_demo
    result = run_demo(args.out, size=args.size, seed=args.seed, figure=not args.no_figure,
                      progress=progress)
    print(result.summary())
    return 0 if result.ok else 1


def register(subs) -> None:
    p = add_subcommand(subs, "demo", "the Song & Ermon toy end to end, with a report",
             "The Song & Ermon (2019) toy end to end: the mixture 1/5·N((−5,−5), I) + "
             "4/5·N((5,5), I), its score and divergence, the ESM ⇔ ISM proof, compiled "
             "kernels, Langevin vs annealed Langevin sampling, and a Markdown report with "
             "the mode shares and a figure (when matplotlib is installed).", EXAMPLE, run)
    p.add_argument("--out", default="symscore-demo", help="output folder (default: %(default)s)")
    p.add_argument("--size", choices=("full", "small", "tiny"), default="full",
                   help="full: the paper's 1280 chains; small/tiny: quick runs")
    p.add_argument("--small", dest="size", action="store_const", const="small",
                   help="same as --size small")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--no-figure", action="store_true", help="skip the figures")
