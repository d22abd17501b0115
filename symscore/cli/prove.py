"""``symscore prove``: ESM ⇔ ISM for a model, step by step (or the weighted
objective with ``--weight``)."""

from __future__ import annotations

import sys

from .common import (UsageError, add_subcommand, check_out, load_model, progress, seed_int,
                     write_output)

EXAMPLE = 'symscore prove gmm:dim=2,components=2 --format md --out proof.md'


def _weights(model, text: str):
    """``--weight``: 'auto' (the squared distance to the finite end, x² on (0, ∞)) or one
    expression per coordinate in the model's variables, separated by ';'."""
    from ..objectives import default_weights
    from ..parse import parse_expression
    if text.strip().lower() == "auto":
        return default_weights(model)
    parts = [t for t in (s.strip() for s in text.split(";")) if t]
    if len(parts) != model.dim:
        raise UsageError(f"--weight needs one expression per coordinate of {model.name} "
                         f"({model.dim}, separated by ';'), got {len(parts)}")
    return tuple(parse_expression(t, model.variables) for t in parts)


def weighted_suggestion(model) -> str | None:
    """The weighted objective to use when plain ISM fails at a finite end of the support."""
    from ..objectives import default_weights
    if model.has_full_support:
        return None
    h = default_weights(model)
    shown = "; ".join(str(w) for w in h)
    return (f"the boundary term at a finite end of the support breaks plain ISM; the weighted "
            f"objective with h = {shown} (vanishing at the end; Hyvärinen 2007) removes it — "
            f"prove that "
            f"with `symscore prove MODEL --weight auto` (or --weight '{shown}'). "
            "A bounded weight such as min(x, C)² (Yu, Drton & Shojaie 2019) also vanishes at 0, "
            "but symscore's proof needs a smooth weight.")


def run(args) -> int:
    from ..proof import Status, prove_ism_equivalence
    from ..proof.weighted import prove_weighted_ism
    check_out(args.out)
    model = load_model(args.model)
    data = load_model(args.data) if args.data else None
    if args.weight:
        weights = _weights(model, args.weight)
        progress(f"proving the weighted ESM ⇔ ISM for {model.name}")
        proof = prove_weighted_ism(model, data, weights, confirm=args.confirm, seed=args.seed,
                                   time_limit=args.time_limit)
    else:
        progress(f"proving ESM ⇔ ISM for {model.name}")
        proof = prove_ism_equivalence(model, data, confirm=args.confirm, seed=args.seed,
                                      time_limit=args.time_limit)
    text = {"md": proof.to_markdown, "tex": proof.to_latex, "json": proof.to_json}[args.format]()
    write_output(args.out, text)
    verdict = proof.verdict
    line = f"verdict: {verdict.name} — {proof.summary}"
    if not args.weight and any(s.key.startswith("boundary") for s in proof.failed()):
        hint = weighted_suggestion(model)
        if hint:
            line += "\nhint: " + hint.replace("MODEL", args.model)
    if args.out not in (None, "-"):
        print(f"{line}\nwrote {args.out}")
    else:
        print(line, file=sys.stderr)
    return 1 if verdict == Status.FAILED else 0


def register(subs) -> None:
    p = add_subcommand(subs, "prove", "prove ESM ⇔ ISM for a model, step by step",
             "Run the proof engine: ESM ⇔ ISM (Hyvärinen 2005) for MODEL against --data "
             "(default: the model itself), or with --weight the weighted objective "
             "Σᵢ ½hᵢsᵢ² + hᵢ∂ᵢsᵢ + hᵢ′sᵢ (Hyvärinen 2007) for supports with a finite "
             "end. "
             "Exit status 0 when the verdict is PROVEN or CHECKED (or ASSUMED), 1 when a "
             "step FAILED.", EXAMPLE, run)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--data", metavar="MODEL", help="the data density (default: the model)")
    p.add_argument("--weight", metavar="H",
                   help="prove the weighted objective: 'auto' (hᵢ = squared distance to the "
                        "finite end, x² on (0, ∞)) or one expression per coordinate in the "
                        "model's variables, separated by ';' (e.g. 'x_0**2')")
    p.add_argument("--format", choices=("md", "tex", "json"), default="md",
                   help="report format")
    p.add_argument("--out", help="write the report here (default: stdout)")
    p.add_argument("--confirm", default="auto",
                   choices=("auto", "closed_form", "monte_carlo", "both", "none"),
                   help="numerical/closed-form confirmation (default: auto)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of Monte Carlo checks")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                   help="seconds for the proof's symbolic work (default 60, at most S/4 "
                        "per step); a step that runs out of time is reported ASSUMED "
                        "('timed out')")
