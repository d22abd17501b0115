"""Renderers: JSON round trip, Markdown content, LaTeX well-formedness (compiled
when pdflatex exists), notebook hooks, density cards, and the safe loader."""

import json
import re
import shutil
import subprocess

import pytest
import sympy as sp

import symscore as ss
from symscore.proof import (Proof, ProofError, Status, Step, compare_minimisers, prove_dsm,
                            prove_ism_equivalence, prove_ssm, prove_weighted_ism)
from symscore.proof.jsonio import load_sympy
from symscore.proof.render import LATEX_LIMIT, latex_of
from symscore.report import density_markdown, proof_latex, write_proof

F = ss.families


@pytest.fixture(scope="module")
def sample_proofs():
    return [prove_ism_equivalence(F.gaussian(1)),
            prove_ism_equivalence(F.exponential(1)),
            prove_ism_equivalence(F.gaussian_mixture(2, 2), n_samples=3000),
            prove_ism_equivalence(F.laplace(1), confirm="none"),
            prove_ssm(F.gaussian(2)),
            compare_minimisers(F.exponential(1)),
            prove_weighted_ism(F.exponential(1)),
            prove_dsm(F.gaussian(1))]


def test_json_round_trip(sample_proofs):
    for p in sample_proofs:
        text = p.to_json()
        back = Proof.from_json(text)
        assert back == p and back.verdict == p.verdict
        data = json.loads(text)
        assert data["verdict"] == p.verdict.name and len(data["steps"]) == len(p.steps)


def test_markdown_contains_every_step(sample_proofs):
    for p in sample_proofs:
        md = p.to_markdown()
        assert md == p._repr_markdown_()
        assert f"**Verdict: {p.verdict.badge}**" in md
        for n, s in enumerate(p.steps, 1):
            assert f"### {n}. {s.title} — {s.status.badge}" in md
            assert s.justification in md
        assert md.count("$$") % 2 == 0
        for row in (line for line in md.splitlines() if line.startswith("| ")):
            assert row.count("|") == 5 or row.startswith("| #")     # bars never leak


def test_markdown_shows_the_surviving_term(sample_proofs):
    md = sample_proofs[1].to_markdown()
    assert r"- rate_{0} rate^{*}_{0}" in md and "❌ FAILED" in md


def _strip_math_escapes(tex):
    return re.sub(r"\\[{}]", "", tex)


def test_latex_is_well_formed(sample_proofs, tmp_path):
    for p in sample_proofs:
        tex = p.to_latex()
        assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
        body = _strip_math_escapes(tex)
        assert body.count("{") == body.count("}")
        assert tex.count(r"\begin{") == tex.count(r"\end{")
        non_ascii = {ch for ch in tex if ord(ch) > 127} - {"ä"}
        assert not non_ascii, non_ascii
        assert p._repr_latex_().startswith("$$") and p._repr_latex_().endswith("$$")
    if shutil.which("pdflatex"):
        (tmp_path / "p.tex").write_text(sample_proofs[1].to_latex(), encoding="utf-8")
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "p.tex"], cwd=tmp_path,
                           capture_output=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:]


def test_large_expressions_are_summarised():
    d = F.gaussian_mixture(2, 8)
    assert "large expression" in latex_of(d.divergence)
    assert "large expression" not in latex_of(d.score[0] * 0 + sp.Symbol("x"))
    assert LATEX_LIMIT > 100


def test_density_markdown():
    md = density_markdown(F.gamma(1))
    assert "**Score**" in md and "0, \\infty" in md and "$$" in md
    assert F.laplace(1)._repr_markdown_().count("NOT smooth") == 1


def test_write_proof(tmp_path, sample_proofs):
    paths = write_proof(sample_proofs[0], tmp_path, "g", formats=("md", "tex", "json"))
    assert [p.suffix for p in paths] == [".md", ".tex", ".json"]
    assert Proof.from_json(paths[2].read_text()) == sample_proofs[0]
    assert proof_latex(sample_proofs[0]) == paths[1].read_text()


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "Symbol.__class__",
                                  "lambdify(Symbol('x'), 1)", "open('f')", "Symbol('x') + 1"])
def test_loader_refuses_code(text):
    with pytest.raises(ProofError):
        load_sympy(text)


def test_from_json_rejects_foreign_documents():
    with pytest.raises(ProofError, match="format"):
        Proof.from_json('{"title": "x"}')
    with pytest.raises(ProofError, match="not JSON"):
        Proof.from_json("{")
    x = sp.Symbol("x", real=True)
    p = Proof("t", (Step("a", "a", sp.Eq(x, 1), Status.ASSUMED, "m", "j", {"v": float("nan")}),))
    assert Proof.from_json(p.to_json()) == p
