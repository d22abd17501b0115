r"""Renderers of :class:`~symscore.proof.core.Proof` data: Markdown with LaTeX
maths (``$…$`` / ``$$…$$``), standalone LaTeX, and a MathJax fragment for
notebooks. They only read the proof; they compute nothing.

Prose fields (titles, justifications) are text with inline maths in ``$…$``.

>>> import sympy as sp
>>> from symscore.proof.core import Proof, Status, Step
>>> x = sp.Symbol("x", real=True)
>>> p = Proof("demo", (Step("a", "square", sp.Eq((x+1)**2, x**2+2*x+1), Status.PROVEN,
...                         "sympy.expand", "Expand both sides."),))
>>> "\\left(x + 1\\right)^{2} = x^{2} + 2 x + 1" in proof_markdown(p)
True
"""

from __future__ import annotations

import math
import re

import sympy as sp

from ..latex import LATEX_LIMIT, latex_of
from .core import RENDERERS, Proof, Step

__all__ = ["proof_markdown", "proof_latex", "proof_latex_fragment", "latex_of", "LATEX_LIMIT"]

_MATH = re.compile(r"(\$\$.*?\$\$|\$[^$]*\$)", re.S)


def _fmt_number(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.6g}"


def _inline(value) -> str:
    """Markdown for one evidence value (no newlines)."""
    if isinstance(value, sp.Basic):
        return f"${latex_of(value)}$"
    if isinstance(value, (bool, int, float)):
        return _fmt_number(value)
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        if len(value) > 12:
            return ", ".join(_inline(v) for v in value[:12]) + f", … ({len(value)} in all)"
        return ", ".join(_inline(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items())
    return str(value)


def _cell(text: str) -> str:
    """Table-cell text: bars inside maths become \\vert/\\Vert, elsewhere &#124;."""
    parts = []
    for part in _MATH.split(text):
        if part and _MATH.fullmatch(part):
            parts.append(part.replace(r"\|", r"\Vert ").replace("|", r"\vert "))
        else:
            parts.append(part.replace("|", "&#124;"))
    return "".join(parts).replace("\n", " ")


def _evidence_markdown(evidence) -> list[str]:
    lines = []
    for key, value in evidence.items():
        label = key.replace("_", " ")
        if key == "chain" and value:
            lines.append(f"- **{label}** (the completed argument):")
            lines.append("")
            lines.append("$$")
            lines.append(r"\begin{aligned}")
            lines += [latex_of(eq).replace("=", "&=", 1) + r" \\" for eq in value]
            lines.append(r"\end{aligned}")
            lines.append("$$")
            lines.append("")
        elif isinstance(value, tuple) and value and all(isinstance(v, dict) for v in value):
            keys = list(value[0])
            lines.append(f"- **{label}**:")
            lines.append("")
            lines.append("  | " + " | ".join(k.replace("_", " ") for k in keys) + " |")
            lines.append("  |" + "---|" * len(keys))
            for row in value:
                lines.append("  | " + " | ".join(_cell(_inline(row.get(k))) for k in keys) + " |")
            lines.append("")
        else:
            lines.append(f"- **{label}**: {_inline(value)}")
    return lines


def step_markdown(step: Step, number: int) -> str:
    lines = [f"### {number}. {step.title} — {step.status.badge}", "",
             f"*Method:* {step.method} · *key:* `{step.key}`", "",
             step.justification, "", "$$", latex_of(step.statement), "$$", ""]
    if step.evidence:
        lines.append("**Evidence**")
        lines.append("")
        lines += _evidence_markdown(step.evidence)
        lines.append("")
    return "\n".join(lines)


def proof_markdown(proof: Proof) -> str:
    """The whole proof as Markdown with LaTeX maths."""
    out = [f"## {proof.title}", "", f"**Verdict: {proof.verdict.badge}**", ""]
    if proof.model:
        out.append(f"- **Model:** `{proof.model}`")
    if proof.data:
        out.append(f"- **Data:** `{proof.data}`")
    if proof.model or proof.data:
        out.append("")
    if proof.claim is not sp.S.true:
        out += ["**Claim**", "", "$$", latex_of(proof.claim), "$$", ""]
    if proof.summary:
        out += [proof.summary, ""]
    out += ["| # | step | status | method |", "|---|---|---|---|"]
    for n, s in enumerate(proof.steps, 1):
        out.append(f"| {n} | {_cell(s.title)} | {s.status.badge} | {_cell(s.method)} |")
    out.append("")
    out += [step_markdown(s, n) for n, s in enumerate(proof.steps, 1)]
    return "\n".join(out).rstrip() + "\n"


# -- LaTeX -------------------------------------------------------------------------------

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_UNICODE = {"θ": r"$\theta$", "∇": r"$\nabla$", "‖": r"$\|$", "·": r"$\cdot$", "→": r"$\to$",
            "⇔": r"$\Leftrightarrow$", "≤": r"$\le$", "≥": r"$\ge$", "±": r"$\pm$",
            "∞": r"$\infty$", "…": r"\ldots{}", "—": "---", "–": "--", "’": "'", "ä": r"\"a",
            "ö": r"\"o", "ü": r"\"u", "é": r"\'e", "≠": r"$\neq$", "∈": r"$\in$",
            "σ": r"$\sigma$", "λ": r"$\lambda$", "μ": r"$\mu$", "ν": r"$\nu$", "ε": r"$\varepsilon$",
            "²": r"$^2$", "ᵢ": r"$_i$", "⁺": r"$^+$", "✅": "", "🔢": "", "⚠️": "", "❌": ""}


def _tex_text(text: str) -> str:
    """Prose → LaTeX: maths segments kept, the rest escaped; unicode mapped."""
    out = []
    for part in _MATH.split(text):
        if _MATH.fullmatch(part or "x") and part:
            out.append(part)
        else:
            esc = "".join(_TEXT_ESCAPES.get(ch, ch) for ch in part)
            out.append("".join(_UNICODE.get(ch, ch if ord(ch) < 128 else "?") for ch in esc))
    return "".join(out)


def _evidence_latex(evidence) -> list[str]:
    lines = [r"\begin{itemize}"]
    for key, value in evidence.items():
        label = _tex_text(key.replace("_", " "))
        if key == "chain" and value:
            lines.append(r"\item \textbf{%s}:" % label)
            lines.append(r"\begin{align*}")
            lines.append((r" \\" + "\n").join(latex_of(eq).replace("=", "&=", 1)
                                              for eq in value))
            lines.append(r"\end{align*}")
        else:
            lines.append(r"\item \textbf{%s}: %s" % (label, _tex_text(_inline(value))))
    lines.append(r"\end{itemize}")
    return lines


def proof_latex(proof: Proof, standalone: bool = True) -> str:
    """A LaTeX document (or, with ``standalone=False``, its body)."""
    body = [r"\section*{%s}" % _tex_text(proof.title),
            r"\textbf{Verdict: %s}\\" % proof.verdict.name]
    if proof.model:
        body.append(r"Model: \texttt{%s}\\" % _tex_text(proof.model))
    if proof.data:
        body.append(r"Data: \texttt{%s}\\" % _tex_text(proof.data))
    if proof.claim is not sp.S.true:
        body.append(r"\[ %s \]" % latex_of(proof.claim))
    if proof.summary:
        body.append(_tex_text(proof.summary))
    body.append(r"\begin{enumerate}")
    for s in proof.steps:
        body.append(r"\item \textbf{%s} (\textsc{%s}; %s)\par" % (
            _tex_text(s.title), s.status.name.lower(), _tex_text(s.method)))
        body.append(_tex_text(s.justification))
        body.append(r"\[ %s \]" % latex_of(s.statement))
        if s.evidence:
            body += _evidence_latex(s.evidence)
    body.append(r"\end{enumerate}")
    text = "\n".join(body)
    if not standalone:
        return text
    return "\n".join([r"\documentclass[10pt]{article}", r"\usepackage[utf8]{inputenc}",
                      r"\usepackage[T1]{fontenc}", r"\usepackage{amsmath,amssymb}",
                      r"\usepackage[margin=2cm]{geometry}", r"\allowdisplaybreaks",
                      r"\begin{document}", text, r"\end{document}", ""])


def _math_text(text: str) -> str:
    """Prose as a MathJax row: \\text{…} around plain parts, maths inline."""
    out = []
    for part in _MATH.split(text):
        if not part:
            continue
        if _MATH.fullmatch(part):
            out.append(part.strip("$"))
        else:
            out.append(r"\text{%s}" % part.replace("{", "(").replace("}", ")")
                       .replace("\\", "/"))
    return "".join(out)


def proof_latex_fragment(proof: Proof) -> str:
    """A MathJax-renderable summary for notebooks (``_repr_latex_``)."""
    rows = [r"\textbf{%s}\ \text{— verdict: %s}" % (_math_text(proof.title).replace(
        r"\text", r"\textbf"), proof.verdict.name)]
    for n, s in enumerate(proof.steps, 1):
        rows.append(r"\text{%d. [%s] }%s:\quad %s" % (n, s.status.name, _math_text(s.title),
                                                      latex_of(s.statement)))
    return "$$\\begin{array}{l}\n" + " \\\\\n".join(rows) + "\n\\end{array}$$"


RENDERERS.update(markdown=proof_markdown, latex=proof_latex,
                 latex_fragment=proof_latex_fragment)
