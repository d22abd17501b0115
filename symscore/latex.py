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

__all__ = ["LATEX_LIMIT", "node_count", "latex_of", "density_markdown", "mixture_markdown"]

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


def _huge_power(expr) -> bool:
    """An integer power above 12 of a sum: SymPy's printer may expand it (minutes for
    (x² + y² + 1)**500), so it is not printed."""
    return any(e.is_Pow and e.exp.is_Integer and abs(e.exp) > 12 and e.base.is_Add
               for e in sp.preorder_traversal(expr))


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
    if n > LATEX_LIMIT or (isinstance(expr, sp.Basic) and _huge_power(expr)):
        return r"\text{(a large expression, more than %d nodes%s)}" % (
            LATEX_LIMIT, f": {note}" if note else "")
    return LatexPrinterWithProducts().doprint(expr)


def _interval(s) -> str:
    return "\\mathbb{R}" if s == sp.S.Reals else sp.latex(s)


def density_markdown(density, heading: int = 3, *, theta=None, derivatives: bool = True,
                     title: str | None = None, name: str = "p") -> str:
    """A Markdown card for a :class:`~symscore.Density`: variables, parameters and
    domains, support, log-density, score, divergence, smoothness, defaults
    (``heading``: the Markdown level of its title; ``theta``: parameter values to
    show instead of the defaults, and to substitute into a mixture's structured
    score; ``derivatives=False`` leaves out the score and divergence). A mixture's
    score and divergence are shown structured (:func:`mixture_markdown`, with
    ``name`` for the density), others as SymPy prints them."""
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
    structured = mixture_markdown(density, theta, name=name)
    if structured is not None:
        return "\n".join(lines + ["**Score and divergence** (exact: the expressions SymPy "
                                   "differentiates, grouped by mixture component)", "",
                                   structured, ""])
    lines += ["**Score** $s(x;\\theta) = \\nabla_x \\log\\tilde p$", "", "$$",
              r"s(x;\theta) = " + latex_of(density.score, note), "$$", "",
              "**Divergence** $\\nabla\\cdot s$", "", "$$",
              r"\nabla\cdot s = " + latex_of(density.divergence, note), "$$", ""]
    return "\n".join(lines)


def mixture_markdown(density, theta=None, name: str = "p") -> str | None:
    """Markdown (LaTeX maths) of the structured score and divergence of a mixture,
    or None when ``density`` is not one (see :func:`symscore.readable.mixture_form`)."""
    from .readable import centre_form, mixture_form
    form = mixture_form(density, theta)
    if form is None:
        return None
    xs = form.variables
    K = len(form.terms)
    lines = [f"With $a_k(x) = \\log w_k + \\log \\mathcal N_k(x)$, the log-density is "
             f"$\\log {name}(x) = \\operatorname{{logsumexp}}_k a_k(x)$"
             + (" $+\\,b(x)$" if form.rest.free_symbols & set(xs) else " (+ a constant)")
             + ", and with the responsibilities "
             "$r_k(x) = e^{a_k(x) - \\operatorname{logsumexp}_j a_j(x)}$ "
             "(the posterior weight of component $k$ at $x$; $\\sum_k r_k = 1$):", "",
             "$$", r"s(x) = \nabla\log " + name + r"(x) = \sum_{k=1}^{%d} r_k(x)\,\nabla a_k(x),"
             r"\qquad \nabla\cdot s = \sum_k r_k\left(\Delta a_k + \|\nabla a_k\|^2\right)"
             r" - \|s\|^2" % K, "$$", "", "| $k$ | $a_k(x)$ | $\\nabla a_k(x)$ | "
             "$\\Delta a_k$ |", "|---:|---|---|---|"]
    for k, (a, g, lap) in enumerate(zip(form.terms, form.grads, form.laplacians), 1):
        centre = centre_form(g, xs)
        if centre is not None:
            P, m = centre
            mu = "(" + ", ".join(_num(v) for v in m) + ")"
            extra = ""
            const = _num(sp.expand_log(sp.simplify(a.xreplace(dict(zip(xs, m)))), force=True))
            if P.is_diagonal() and len(set(P.diagonal())) == 1:
                c = P[0, 0]
                cl = "" if c == 1 else _num(c) + r"\,"
                quad = (r"\tfrac12" if c == 1 else r"\tfrac12\," + _num(c) + r"\,") + \
                    r"\|x - \mu_{%d}\|^2" % k
            else:
                cl = r"P_{%d}" % k
                quad = (r"\tfrac12 (x - \mu_{%d})^\top P_{%d} (x - \mu_{%d})" % (k, k, k))
                extra = r", $P_{%d} = %s$" % (k, _num(P))
            grad = r"$%s\left(\mu_{%d} - x\right)$" % (cl, k)
            term = r"$%s - %s$, $\mu_{%d} = %s$" % (const, quad, k, mu) + extra
        else:
            grad = "$" + latex_of(sp.Matrix(g).T, "") + r"^\top$"
            term = "$" + latex_of(sp.expand(a), "") + "$"
        row = f"| {k} | {term} | {grad} | ${_num(lap)}$ |"
        lines.append(row.replace(r"\|", r"\Vert "))   # a bare | would end the table cell
    if form.rest.free_symbols & set(xs):
        lines += ["", f"and $b(x) = {latex_of(form.rest, '')}$."]
    return "\n".join(lines)


def _num(expr) -> str:
    """LaTeX with floats shown to 6 significant digits."""
    expr = sp.sympify(expr)
    if expr.atoms(sp.Float):
        expr = expr.xreplace({f: sp.Float(f, 6) for f in expr.atoms(sp.Float)})
    return latex_of(expr, "")
