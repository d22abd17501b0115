"""No control characters (a tab from a non-raw "\\theta", a bell from "\\a…") in any
output format: Markdown, LaTeX, JSON (decoded strings) and the plain-text lines."""

import json

import pytest

import symscore as ss
from symscore.cli import main
from symscore.proof import compare_minimisers, prove_ism_equivalence, prove_weighted_ism

F = ss.families
ALLOWED = {"\n"}


def _control(text: str):
    return sorted({repr(c) for c in text if (ord(c) < 32 or ord(c) == 127) and c not in ALLOWED})


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


@pytest.fixture(scope="module")
def proofs():
    # a failing proof (the conclusion text that once held "$<TAB>heta$"), a passing one,
    # a weighted one and the minimiser comparison
    return [prove_ism_equivalence(F.exponential(1), confirm="none"),
            prove_ism_equivalence(F.gaussian(1), confirm="none"),
            prove_weighted_ism(F.exponential(1), confirm="none"),
            compare_minimisers(F.exponential(1))]


def test_the_control_character_detector_works():
    assert _control("$\theta$") == ["'\\t'"] and _control(r"$\theta$") == []
    assert list(_strings({"a": ["\x07"]})) == ["a", "\x07"]


@pytest.mark.parametrize("fmt", ["md", "tex", "json", "text"])
def test_proof_outputs_have_no_control_characters(proofs, fmt):
    for p in proofs:
        if fmt == "md":
            texts = [p.to_markdown()]
        elif fmt == "tex":
            texts = [p.to_latex()]
        elif fmt == "json":
            texts = list(_strings(json.loads(p.to_json())))
        else:
            texts = [p.summary, repr(p)] + [s.title + s.justification for s in p.steps]
        for t in texts:
            assert _control(t) == [], (p.title, fmt, t[:200])


def test_cli_outputs_have_no_control_characters(capsys):
    for fmt in ("md", "tex", "json"):
        main(["prove", "exponential:dim=1", "--confirm", "none", "--format", fmt])
        out, err = capsys.readouterr()
        assert _control(out) == [] and _control(err) == [], fmt
    for args in (["derive", "gmm:dim=1,components=2"], ["derive", "gaussian:dim=2", "--latex"],
                 ["derive", "gaussian:dim=1", "--json"], ["families"]):
        assert main(args) == 0
        out, err = capsys.readouterr()
        assert _control(out) == [] and _control(err) == [], args
