"""``symscore prove``: ESM ⇔ ISM for a model, step by step."""

from __future__ import annotations

import sys

from .common import add_subcommand, load_model, progress, write_output

EXAMPLE = 'symscore prove gmm:dim=2,components=2 --format md --out proof.md'


def run(args) -> int:
    from ..proof import Status, prove_ism_equivalence
    model = load_model(args.model)
    data = load_model(args.data) if args.data else None
    progress(f"proving ESM ⇔ ISM for {model.name}")
    proof = prove_ism_equivalence(model, data, confirm=args.confirm, seed=args.seed,
                                  time_limit=args.time_limit)
    text = {"md": proof.to_markdown, "tex": proof.to_latex, "json": proof.to_json}[args.format]()
    write_output(args.out, text)
    verdict = proof.verdict
    line = f"verdict: {verdict.name} — {proof.summary}"
    if args.out not in (None, "-"):
        print(f"{line}\nwrote {args.out}")
    else:
        print(line, file=sys.stderr)
    return 1 if verdict == Status.FAILED else 0


def register(subs) -> None:
    p = add_subcommand(subs, "prove", "prove ESM ⇔ ISM for a model, step by step",
             "Run the proof engine: ESM ⇔ ISM (Hyvärinen 2005) for MODEL against --data "
             "(default: the model itself). Exit status 0 when the verdict is PROVEN or "
             "CHECKED (or ASSUMED), 1 when a step FAILED.", EXAMPLE, run)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--data", metavar="MODEL", help="the data density (default: the model)")
    p.add_argument("--format", choices=("md", "tex", "json"), default="md")
    p.add_argument("--out", help="write the report here (default: stdout)")
    p.add_argument("--confirm", default="auto",
                   choices=("auto", "closed_form", "monte_carlo", "both", "none"),
                   help="numerical/closed-form confirmation (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of Monte Carlo checks")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds for the proof's symbolic work (default 60, at most S/4 "
                        "per step); a step that runs out of time is reported ASSUMED "
                        "('timed out')")
