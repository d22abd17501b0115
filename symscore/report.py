"""User-facing reports: Markdown for densities and proofs (LaTeX maths inside
``$…$`` / ``$$…$$``), standalone LaTeX and JSON for proofs. Renderers only read
data; the mathematics lives in :mod:`symscore.proof`.

>>> import symscore as ss
>>> md = density_markdown(ss.families.gaussian(dim=1))
>>> "**Score**" in md and "$$" in md
True
"""

from __future__ import annotations

import sympy as sp

from .proof.jsonio import proof_from_json, proof_to_json
from .proof.render import latex_of, proof_latex, proof_markdown

__all__ = ["density_markdown", "proof_markdown", "proof_latex", "proof_to_json",
           "proof_from_json", "write_proof"]


def _interval(s) -> str:
    return "\\mathbb{R}" if s == sp.S.Reals else sp.latex(s)


def density_markdown(density) -> str:
    """A Markdown card for a :class:`~symscore.Density`: variables, parameters and
    domains, support, log-density, score, divergence, smoothness, defaults."""
    xs = ", ".join(f"${sp.latex(v)}$" for v in density.variables)
    lines = [f"### {density.name}", "",
             f"- **Variables** ({density.dim}): {xs}",
             f"- **Support**: $" + r" \times ".join(_interval(s) for s in density.support) + "$"]
    if density.params:
        shown = density.params[:24]
        ps = ", ".join(f"${sp.latex(p)} \\in {_interval(d)}$"
                       for p, d in zip(shown, density.domains))
        more = f", … ({density.n_params} in all)" if density.n_params > len(shown) else ""
        lines.append(f"- **Parameters** ({density.n_params}): {ps}{more}")
    if density.defaults is not None:
        vals = ", ".join(f"{v:g}" for v in density.defaults[:24])
        lines.append(f"- **Defaults**: ({vals}{', …' if density.n_params > 24 else ''})")
    if density.noise_scale is not None:
        lines.append(f"- **Noise scale**: ${sp.latex(density.noise_scale)}$")
    smooth = ("smooth in $x$" if density.is_smooth else
              "NOT smooth in $x$: " + ", ".join(f"${sp.latex(e)}$"
                                                for e in density.nonsmooth_parts))
    lines += [f"- **Smoothness**: {smooth}", "",
              "**Log-density** (unnormalised)", "", "$$",
              r"\log\tilde p(x;\theta) = " + latex_of(density.log_density), "$$", "",
              "**Score** $s(x;\\theta) = \\nabla_x \\log\\tilde p$", "", "$$",
              r"s(x;\theta) = " + latex_of(density.score), "$$", "",
              "**Divergence** $\\nabla\\cdot s$", "", "$$",
              r"\nabla\cdot s = " + latex_of(density.divergence), "$$", ""]
    return "\n".join(lines)


def write_proof(proof, directory, stem: str, formats=("md", "json")) -> list:
    """Write ``proof`` as ``stem.md`` / ``stem.tex`` / ``stem.json`` under ``directory``."""
    from pathlib import Path
    from .outfiles import write_text
    out = []
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    render = {"md": proof_markdown, "tex": proof_latex, "json": proof_to_json}
    for fmt in formats:
        path = directory / f"{stem}.{fmt}"
        write_text(path, render[fmt](proof))
        out.append(path)
    return out
