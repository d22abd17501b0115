"""User-facing reports: Markdown for densities and proofs (LaTeX maths inside
``$…$`` / ``$$…$$``), standalone LaTeX and JSON for proofs. Renderers only read
data; the mathematics lives in :mod:`symscore.proof`.

>>> import symscore as ss
>>> md = density_markdown(ss.families.gaussian(dim=1))
>>> "**Score**" in md and "$$" in md
True
"""

from __future__ import annotations

from .latex import density_markdown
from .proof.jsonio import proof_from_json, proof_to_json
from .proof.render import proof_latex, proof_markdown

__all__ = ["density_markdown", "proof_markdown", "proof_latex", "proof_to_json",
           "proof_from_json", "write_proof"]


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
