"""``symscore derive``: the score, its divergence and the ISM integrand."""

from __future__ import annotations

import json

from .common import add_subcommand, check_out, load_model, pretty, progress, write_output

EXAMPLE = 'symscore derive gaussian:dim=2 --latex'


#: above this many expression nodes in all, derive prints a common-subexpression form
DIRECT_LIMIT = 600


def _structured_items(d):
    """Index form: s_j with a free index j, ∇·s, the ISM integrand, θ-gradients."""
    s = d.structure
    items = [("log p~(x; θ)", r"\log\tilde p(x;\theta)", s.log_density),
             ("score s_j = ∂ log p~ / ∂x[j]  (j = 0 … D−1)", "s_{j}", s.score),
             ("divergence ∇·s", r"\nabla\cdot s", s.divergence),
             ("ISM integrand ∇·s + ½‖s‖²", r"\nabla\cdot s + \tfrac12\Vert s\Vert^2", s.ism)]
    for g in s.groups:
        expr, idx = s.ism_grad[g.name]
        sub = ", ".join(map(str, idx))
        items.append((f"∂ ISM / ∂{g.base_name}[{sub}]" if idx else f"∂ ISM / ∂{g.base_name}",
                      r"\partial_{" + g.base_name + (f"_{{{sub}}}" if idx else "")
                      + r"}\,\mathrm{ISM}", expr))
    return items, []


def _derived(d):
    """[(label, LaTeX label, expr)] for log p~, the score, ∇·s and the ISM integrand, and
    the CSE replacements [(t_i, expr)] when they are large (else [])."""
    import sympy as sp
    if d.structure is not None:
        return _structured_items(d)
    from ..objectives import ism_integrand
    from ..proof.notation import node_count
    items = [("log p~(x; θ)", r"\log\tilde p(x;\theta)", d.log_density)]
    items += [(f"score s_{i} = ∂ log p~ / ∂{v.name}", f"s_{{{i}}}", s)
              for i, (v, s) in enumerate(zip(d.variables, d.score))]
    items += [("divergence ∇·s", r"\nabla\cdot s", d.divergence),
              ("ISM integrand ∇·s + ½‖s‖²", r"\nabla\cdot s + \tfrac12\Vert s\Vert^2",
               ism_integrand(d))]
    if sum(node_count(e, DIRECT_LIMIT + 1) for _, _, e in items) <= DIRECT_LIMIT:
        return items, []
    names = sp.numbered_symbols("t_", real=True)
    replacements, reduced = sp.cse([e for _, _, e in items], symbols=names)
    return [(a, b, e) for (a, b, _), e in zip(items, reduced)], replacements


def _symbolic_model(spec: str):
    """``gaussian:dim=D`` (a size given as a name): a stand-in whose ``structure`` holds
    for every D; None for an ordinary MODEL."""
    import re
    from types import SimpleNamespace
    from ..modelspec import ALIASES
    from ..structured.models import SYMBOLIC_FAMILIES, symbolic
    name, _, rest = spec.partition(":")
    family = ALIASES.get(name.strip().lower(), name.strip().lower())
    if family not in SYMBOLIC_FAMILIES or spec.strip().lower().endswith(".toml"):
        return None
    opts = {}
    for item in filter(None, (t.strip() for t in rest.split(","))):
        key, _, val = item.partition("=")
        opts[key.strip()] = val.strip()
    sizes = SYMBOLIC_FAMILIES[family][1]
    if not any(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", opts.get(s, "0")) for s in sizes):
        return None
    for key, val in opts.items():
        if key in sizes and re.fullmatch(r"\d{1,9}", val):
            opts[key] = int(val)
        elif val.lower() in ("true", "false"):
            opts[key] = val.lower() == "true"
    s = symbolic(family, **opts)
    return SimpleNamespace(structure=s, name=spec.strip(), dim=s.D, n_params="symbolic")


def run(args) -> int:
    import sympy as sp
    check_out(args.out)
    d = _symbolic_model(args.model) or load_model(args.model)
    progress(f"differentiating {d.name}")
    items, cse = _derived(d)
    if d.structure is not None:
        groups = [f"{g.name} {g.base_name}{list(g.shape)} ({g.pattern})"
                  for g in d.structure.groups]
        head = [f"model: {d.name}", f"x ∈ ℝ^{d.dim} (x[i], i = 0 … {d.dim - 1})"
                + ("  — holds for every value of the size symbols"
                   if isinstance(d.n_params, str) else ""),
                f"θ: {'; '.join(groups)}  ({d.n_params} numbers)", ""]
    if args.json and d.structure is not None:
        out = {"model": d.name, "dim": str(d.dim), "structured": True,
               "groups": [{"name": g.name, "symbol": g.base_name,
                           "shape": [v if isinstance(v, int) else str(v) for v in g.shape],
                           "pattern": g.pattern} for g in d.structure.groups],
               "expressions": [{"name": a, "sympy": sp.sstr(e), "latex": sp.latex(e)}
                               for a, _, e in items]}
        write_output(args.out, json.dumps(out, indent=2, ensure_ascii=False))
    elif args.json:
        out = {"model": d.name, "variables": [v.name for v in d.variables],
               "params": [p.name for p in d.params],
               "domains": [str(dom) for dom in d.domains],
               "support": [str(s) for s in d.support],
               "common_subexpressions": [[t.name, sp.sstr(e)] for t, e in cse],
               "expressions": [{"name": a, "sympy": sp.sstr(e), "latex": sp.latex(e)}
                               for a, _, e in items]}
        write_output(args.out, json.dumps(out, indent=2, ensure_ascii=False))
    elif args.latex:
        lines = [f"{sp.latex(t)} &= {sp.latex(e)} \\\\" for t, e in cse]
        lines += [f"{b} &= {sp.latex(e)} \\\\" for _, b, e in items]
        lines[-1] = lines[-1][:-3]
        write_output(args.out, "\\begin{align*}\n" + "\n".join(lines) + "\n\\end{align*}")
    elif d.structure is not None:
        parts = head + [f"{a} =\n{pretty(e)}\n" for a, _, e in items]
        write_output(args.out, "\n".join(parts))
    else:
        parts = [f"model: {d.name}", f"x = ({', '.join(v.name for v in d.variables)})",
                 f"θ = ({', '.join(p.name for p in d.params)})", ""]
        if cse:
            parts += [f"(large expressions: shown with {len(cse)} common subexpressions t_i)",
                      ""] + [f"{t} = {sp.sstr(e)}" for t, e in cse] + [""]
            parts += [f"{a} =\n{sp.sstr(e)}\n" for a, _, e in items]
        else:
            parts += [f"{a} =\n{pretty(e)}\n" for a, _, e in items]
        write_output(args.out, "\n".join(parts))
    return 0


def register(subs) -> None:
    p = add_subcommand(subs, "derive", "print the score, divergence and ISM integrand",
             "Print the score s = ∇x log p~, its divergence ∇·s and Hyvärinen's integrand "
             "∇·s + ½‖s‖² (pretty text by default).", EXAMPLE, run)
    p.add_argument("model", metavar="MODEL")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (an align* block)")
    fmt.add_argument("--json", action="store_true", help="JSON (SymPy strings and LaTeX)")
    p.add_argument("--out", help="write to this file instead of stdout")
