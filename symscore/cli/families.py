"""``symscore families``: the built-in density families and their options."""

from __future__ import annotations

import json

from .common import add_subcommand

EXAMPLE = 'symscore families'


def run(args) -> int:
    from ..modelspec import list_families
    rows = list_families()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len(r["name"]) for r in rows) + 2
    for r in rows:
        alias = f" (alias: {r['aliases']})" if r.get("aliases") else ""
        print(f"{r['name']:<{width}}{r.get('options', '')}{alias}")
        if r.get("summary"):
            print(f"{'':<{width}}{r['summary'].replace('``', '')}")
    print("\nMODEL is `family:key=value,…` (e.g. gmm:dim=2,components=8) or a .toml file "
          "declaring variables, [params] with domains, [values] and the log-density.\n"
          "`sample --sampler annealed` needs a noise scale σ: the *_perturbed families, a "
          "file declaring noise_scale, or a gaussian / gmm model (perturbed at its θ).")
    return 0


def register(subs) -> None:
    p = add_subcommand(subs, "families", "list the built-in density families and their options",
             "List the built-in density families and their options.", EXAMPLE, run)
    p.add_argument("--json", action="store_true", help="print JSON")
