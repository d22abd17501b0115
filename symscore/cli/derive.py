"""``symscore derive``: the score, its divergence and the ISM integrand."""

from __future__ import annotations

import json

from .common import add_subcommand, check_out, load_model, pretty, progress, write_output

EXAMPLE = 'symscore derive gaussian:dim=2 --latex'


#: above this many expression nodes in all, derive prints a common-subexpression form
DIRECT_LIMIT = 600


def _derived(d):
    """[(label, LaTeX label, expr)] for log p~, the score, ∇·s and the ISM integrand, and
    the CSE replacements [(t_i, expr)] when they are large (else [])."""
    import sympy as sp
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


def run(args) -> int:
    import sympy as sp
    check_out(args.out)
    d = load_model(args.model)
    progress(f"differentiating {d.name}")
    items, cse = _derived(d)
    if args.json:
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
