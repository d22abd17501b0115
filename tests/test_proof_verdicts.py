"""The proof engine on every family: verdicts, the surviving boundary terms, the
closed forms the issue names, weighted / DSM / SSM proofs and the renderers."""

import json

import pytest
import sympy as sp

import symscore as ss
from symscore.proof import (Status, closed_form_objectives, compare_minimisers, prove_dsm,
                            prove_ibp_identity, prove_ism_equivalence, prove_ssm,
                            prove_stein_identity, prove_weighted_ism)

SMOOTH_FULL_SUPPORT = ["gaussian", "gaussian_mixture", "student_t", "logistic",
                       "gaussian_bernoulli_rbm", "double_well", "banana"]


def test_ica_normalisability_is_assumed():
    """W ranges over all real matrices and Z = ∞ for a singular W: not provable for every θ."""
    proof = prove_ism_equivalence(ss.families.ica(), confirm="none")
    assert proof.step("normalisability[model]").status == Status.ASSUMED
    assert proof.verdict == Status.ASSUMED


@pytest.mark.parametrize("dim", [3, 40])
def test_graphical_model_rests_on_a_positive_definite_precision(dim):
    """K ranges over symmetric matrices; Z = ∞ unless K ≻ 0: a stated hypothesis, not PROVEN
    (unrolled at D = 3, structured at D = 40)."""
    proof = prove_ism_equivalence(ss.families.gaussian_graphical(dim=dim), confirm="none")
    assert proof.verdict == Status.ASSUMED, proof.to_markdown()


@pytest.mark.parametrize("name", SMOOTH_FULL_SUPPORT)
def test_smooth_families_on_the_real_line_are_proven_or_checked(name):
    proof = prove_ism_equivalence(ss.families.FAMILIES[name](), confirm="none")
    assert proof.verdict in (Status.PROVEN, Status.CHECKED), proof.to_markdown()
    keys = [s.key for s in proof.steps]
    for key in ("differentiability", "normaliser", "expansion", "log_derivative",
                "product_rule", "pointwise_identity", "integration_by_parts", "conclusion"):
        assert key in keys
    assert any(k.startswith("boundary[") for k in keys)
    assert any(k.startswith("moment[") for k in keys)
    for step in proof.steps:  # CHECKED steps record how they were checked
        if step.status == Status.CHECKED:
            assert step.evidence, step.key


def test_every_registered_family_has_a_verdict_case():
    expected = set(SMOOTH_FULL_SUPPORT) | {"ica", "gaussian_graphical", "laplace",
                                           "exponential", "gamma",
                                           "gaussian_mixture_perturbed", "gaussian_perturbed"}
    assert set(ss.families.FAMILIES) <= expected


@pytest.mark.parametrize("name", ["exponential", "gamma"])
def test_half_line_boundary_term_survives_and_fails(name):
    proof = prove_ism_equivalence(ss.families.FAMILIES[name](), confirm="none")
    assert proof.verdict == Status.FAILED
    step = proof.step("boundary[0,0+]")
    assert step.status == Status.FAILED
    assert step.evidence["leading_term"] != 0


def test_exponential_surviving_term_is_minus_rate_times_data_rate():
    d = ss.families.exponential(dim=1)
    step = prove_ism_equivalence(d, confirm="none").step("boundary[0,0+]")
    term = sp.sympify(step.evidence["leading_term"])
    rate = d.params[0]
    (data_rate,) = term.free_symbols - {rate}
    # s·p at x → 0+ with s = −λ and p = λ* e^{−λ* x}: the term −λ λ* does not vanish
    assert sp.simplify(term + rate * data_rate) == 0


def test_laplace_fails_at_differentiability():
    proof = prove_ism_equivalence(ss.families.laplace(), confirm="none")
    step = proof.step("differentiability")
    assert step.status == Status.FAILED
    assert "Abs" in str(step.evidence)


def test_one_dimensional_gaussian_closed_form():
    """Model N(μ, v), data N(m, s²): J_ISM = (s² + (m−μ)²)/(2v²) − 1/v and C = 1/(2s²)."""
    g = ss.families.gaussian(dim=1, kind="iso")
    forms = closed_form_objectives(g)
    assert forms is not None
    mu, L = g.params
    syms = {s.name: s for e in forms.values() if isinstance(e, sp.Basic) for s in e.free_symbols}
    m, Ls = syms["mu_0^*"], syms["L^*"]
    v, s2 = 1 / L**2, 1 / Ls**2
    assert sp.simplify(forms["J_ISM"] - ((s2 + (m - mu)**2) / (2 * v**2) - 1 / v)) == 0
    assert sp.simplify(forms["C"] - 1 / (2 * s2)) == 0
    assert sp.simplify(forms["J_ESM"] - forms["J_ISM"] - forms["C"]) == 0


def test_misspecified_pair_and_monte_carlo_confirmation():
    model = ss.families.gaussian_mixture(dim=2, components=2)
    proof = prove_ism_equivalence(model, ss.families.gaussian(dim=2), n_samples=4000)
    assert proof.verdict in (Status.PROVEN, Status.CHECKED)
    confirm = proof.steps_with_prefix("confirm")
    assert confirm and all(s.status in (Status.PROVEN, Status.CHECKED) for s in confirm)


def test_weighted_objective_holds_on_the_half_line():
    for name in ("exponential", "gamma"):
        proof = prove_weighted_ism(ss.families.FAMILIES[name](), confirm="none")
        assert proof.verdict in (Status.PROVEN, Status.CHECKED), proof.to_markdown()


def test_exponential_minimisers_naive_versus_weighted():
    """Data Exp(λ*), model e^{−λx}: naive ISM = λ²/2 is minimised at the boundary λ → 0
    (that step must FAIL), the boundary term equals the gap, and h = x² recovers λ*."""
    proof = compare_minimisers(ss.families.exponential(dim=1))
    status = {s.key: s.status for s in proof.steps}
    assert status == {"objectives": Status.PROVEN, "boundary_gap": Status.PROVEN,
                      "naive_minimiser": Status.FAILED, "weighted_minimiser": Status.PROVEN}
    assert proof.verdict == Status.FAILED


def test_dsm_ssm_ibp_and_stein_are_proven():
    g = ss.families.gaussian(dim=2)
    for proof in (prove_dsm(g), prove_ssm(g), prove_ibp_identity(g, confirm=False),
                  prove_stein_identity(g, confirm=False)):
        assert proof.verdict in (Status.PROVEN, Status.CHECKED), proof.to_markdown()


def test_renderers_read_the_same_data():
    proof = prove_ism_equivalence(ss.families.exponential(dim=1), confirm="none")
    md, tex = proof.to_markdown(), proof.to_latex()
    assert "FAILED" in md and "$" in md
    for step in proof.steps:
        assert step.title in md
    assert tex.lstrip().startswith("\\documentclass") and "\\end{document}" in tex
    back = ss.proof.Proof.from_json(proof.to_json())
    assert back.verdict == proof.verdict
    assert [s.key for s in back.steps] == [s.key for s in proof.steps]
    assert json.loads(proof.to_json())["steps"]
    assert proof._repr_markdown_() == md
