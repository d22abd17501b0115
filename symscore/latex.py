"""Readable text of symbolic objects: size-guarded LaTeX and the Markdown card of a
:class:`~symscore.Density`. Symbolic-core level (SymPy only), so the density, the
proof renderers and the reports all use the same printer.

>>> import sympy as sp, symscore as ss
>>> latex_of(sp.Symbol("x") + 1)
'x + 1'
>>> "**Score**" in density_markdown(ss.families.gaussian(dim=1))
True
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["LATEX_LIMIT", "node_count", "latex_of", "density_markdown"]

#: expressions above this many nodes are not printed (a note says so instead)
LATEX_LIMIT = 700


def node_count(expr, limit: int = 10_000) -> int:
    """Number of nodes of ``expr`` (stops counting past ``limit``)."""
    n = 0
    for _ in sp.preorder_traversal(expr):
        n += 1
        if n > limit:
            break
    return n


class LatexPrinterWithProducts(LatexPrinter):
    """SymPy's LaTeX, with ∂(f g)/∂x printed with parentheses around f g."""

    def _print_Derivative(self, expr):
        out = super()._print_Derivative(expr)
        if expr.expr.is_Mul or expr.expr.is_Add:
            inner = self._print(expr.expr)
            if out.endswith(inner):
                out = out[:-len(inner)] + r"\left(" + inner + r"\right)"
        return out


def latex_of(expr, note: str = "see the JSON report") -> str:
    """LaTeX of a SymPy object, or a short note (``note`` says where it lives
    instead) when it is too large to read."""
    n = node_count(expr, LATEX_LIMIT)
    if n > LATEX_LIMIT:
        return r"\text{(a large expression, more than %d nodes%s)}" % (
            LATEX_LIMIT, f": {note}" if note else "")
    return LatexPrinterWithProducts().doprint(expr)


def _interval(s) -> str:
    return "\\mathbb{R}" if s == sp.S.Reals else sp.latex(s)


def density_markdown(density, heading: int = 3, *, theta=None, derivatives: bool = True,
                     title: str | None = None) -> str:
    """A Markdown card for a :class:`~symscore.Density`: variables, parameters and
    domains, support, log-density, score, divergence, smoothness, defaults
    (``heading``: the Markdown level of its title; ``theta``: parameter values to
    show instead of the defaults; ``derivatives=False`` leaves out the score and
    divergence, e.g. for a caller that prints them in a structured form)."""
    xs = ", ".join(f"${sp.latex(v)}$" for v in density.variables)
    lines = [f"{'#' * heading} {title or density.name}", "",
             f"- **Variables** ({density.dim}): {xs}",
             f"- **Support**: $" + r" \times ".join(_interval(s) for s in density.support) + "$"]
    if density.params:
        shown = density.params[:24]
        ps = ", ".join(f"${sp.latex(p)} \\in {_interval(d)}$"
                       for p, d in zip(shown, density.domains))
        more = f", … ({density.n_params} in all)" if density.n_params > len(shown) else ""
        lines.append(f"- **Parameters** ({density.n_params}): {ps}{more}")
    values = density.defaults if theta is None else tuple(theta)
    if values is not None and density.params:
        vals = ", ".join(f"${sp.latex(p)} = {v:g}$"
                         for p, v in zip(density.params[:24], values))
        label = "Defaults" if theta is None else "Parameter values"
        lines.append(f"- **{label}**: {vals}{', …' if density.n_params > 24 else ''}")
    if density.noise_scale is not None:
        lines.append(f"- **Noise scale**: ${sp.latex(density.noise_scale)}$")
    smooth = ("smooth in $x$" if density.is_smooth else
              "NOT smooth in $x$: " + ", ".join(f"${sp.latex(e)}$"
                                                for e in density.nonsmooth_parts))
    note = "print it with `symscore derive`"
    lines += [f"- **Smoothness**: {smooth}", "",
              "**Log-density** (unnormalised)", "", "$$",
              r"\log\tilde p(x;\theta) = " + latex_of(density.log_density, note), "$$", ""]
    if not derivatives:
        return "\n".join(lines)
    lines += ["**Score** $s(x;\\theta) = \\nabla_x \\log\\tilde p$", "", "$$",
              r"s(x;\theta) = " + latex_of(density.score, note), "$$", "",
              "**Divergence** $\\nabla\\cdot s$", "", "$$",
              r"\nabla\cdot s = " + latex_of(density.divergence, note), "$$", ""]
    return "\n".join(lines)
