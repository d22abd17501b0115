"""Weighted score matching (and the Exp(λ*) example), DSM, SSM and Hyvärinen's
Gaussian example, with independent numeric oracles."""

import itertools

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore.proof import (Status, compare_minimisers, prove_dsm, prove_gaussian_sm_equals_mle,
                            prove_ssm, prove_weighted_ism)
from symscore.proof.confirm import closed_form_objectives
from symscore.proof.pairing import pair
from symscore.proof.weighted import weights_step

F = ss.families
lam, lam_s = sp.Symbol("rate_0", positive=True), sp.Symbol("rate_0^*", positive=True)


@pytest.mark.parametrize("family", [lambda: F.exponential(1), lambda: F.gamma(1),
                                    lambda: F.exponential(2)])
def test_weighted_objective_holds_on_the_orthant(family):
    proof = prove_weighted_ism(family(), n_samples=5000)
    assert proof.verdict in (Status.PROVEN, Status.CHECKED)
    lower = [s for s in proof.steps if s.key.startswith("boundary") and s.key.endswith("+]")]
    assert lower and all(s.status == Status.PROVEN for s in lower)


def test_weighted_closed_form_for_the_exponential():
    d = F.exponential(1)
    cf = closed_form_objectives(d, weights=[d.variables[0]**2])
    # h = x²: J_h = ½λ²E[x²] − 2λE[x] = λ²/λ*² − 2λ/λ*   (E x = 1/λ*, E x² = 2/λ*²)
    assert sp.simplify(cf["J_ISM"] - (lam**2 / lam_s**2 - 2 * lam / lam_s)) == 0
    # Monte Carlo oracle at λ = 0.8, λ* = 1.5
    X = np.random.default_rng(1).exponential(1 / 1.5, 400_000)
    vals = 0.5 * X**2 * 0.8**2 + 2 * X * (-0.8)
    exact = float(cf["J_ISM"].subs({lam: 0.8, lam_s: 1.5}))
    assert abs(vals.mean() - exact) < 5 * vals.std() / np.sqrt(len(X))


def test_naive_versus_weighted_minimisers():
    proof = compare_minimisers(F.exponential(1))
    assert proof.step("objectives").evidence["J_ISM"] == lam**2 / 2
    gap = proof.step("boundary_gap")
    assert gap.status == Status.PROVEN and sp.simplify(gap.evidence["gap"] + lam * lam_s) == 0
    assert proof.step("naive_minimiser").status == Status.FAILED
    w = proof.step("weighted_minimiser")
    assert w.status == Status.PROVEN and w.evidence["stationary_points"] == ((lam_s,),)


def test_weights_must_be_admissible():
    d = F.exponential(2)
    x0, x1 = d.variables
    pr = pair(d)
    assert weights_step(pr, (x0 * x1, x1**2)).status == Status.FAILED      # depends on x1
    assert weights_step(pr, (-x0**2, x1**2)).status == Status.FAILED       # negative
    assert weights_step(pr, (x0**2, x1**2)).status == Status.PROVEN
    with pytest.raises(ss.SymscoreError, match="one weight per coordinate"):
        prove_weighted_ism(d, weights=[x0**2])
    with pytest.raises(ss.SymscoreError, match="h_0 may depend on x_0 only"):
        prove_weighted_ism(d, weights=[x0 * x1, x1**2])


def test_dsm_closed_form_and_integrand():
    proof = prove_dsm(F.gaussian(1))
    assert proof.verdict == Status.PROVEN
    sigma = sp.Symbol("sigma", positive=True)
    Ls = sp.Symbol("L_0_0^*", positive=True)
    S = 1 / Ls**2             # data variance; C_σ = 1/(2σ²) − ½/(S + σ²)
    gap = proof.step("confirm[dsm]").evidence["gap"]
    assert sp.simplify(gap - (1 / (2 * sigma**2) - 1 / (2 * (S + sigma**2)))) == 0
    assert proof.step("dsm_integrand").evidence["residual"] == 0
    mix = prove_dsm(F.gaussian_mixture_perturbed([1, 1], [[0.0], [1.0]], [[[1.0]], [[0.5]]]))
    assert mix.verdict == Status.PROVEN
    assert mix.steps[-1].key == "dsm_conclusion"     # σ renamed apart from the model's σ
    assert "sigma_q" in str(mix.step("dsm_integrand").statement)


@pytest.mark.parametrize("D", [1, 2, 3, 4])
def test_ssm_scale_facts(D):
    proof = prove_ssm(F.gaussian(D))
    assert proof.verdict == Status.PROVEN
    assert proof.step("ssm[unit_sphere]").evidence["factor"] == sp.Rational(1, D)
    assert proof.step("ssm[rademacher]").evidence["factor"] == 1


def test_ssm_numeric_oracle():
    """Rademacher average by enumeration = ISM integrand; unit vectors by MC = ISM/D."""
    d = F.gaussian_bernoulli_rbm(dim=3, hidden=2)
    v = ss.objectives.auxiliary_symbols(d, "v")
    f_ssm = sp.lambdify(list(d.variables) + list(d.params) + list(v),
                        ss.objectives.ssm_integrand(d, v),
                        modules=[{"Sigmoid": lambda z: 1 / (1 + np.exp(-z)),
                                  "Softplus": lambda z: np.logaddexp(0, z)}, "numpy"])
    f_ism = sp.lambdify(list(d.variables) + list(d.params), ss.objectives.ism_integrand(d),
                        modules=[{"Sigmoid": lambda z: 1 / (1 + np.exp(-z)),
                                  "Softplus": lambda z: np.logaddexp(0, z)}, "numpy"])
    x = [0.3, -1.2, 0.7]
    th = d.defaults
    ism = f_ism(*x, *th)
    rad = np.mean([f_ssm(*x, *th, *sg) for sg in itertools.product([-1, 1], repeat=3)])
    assert rad == pytest.approx(ism, rel=1e-12, abs=1e-12)
    V = np.random.default_rng(0).standard_normal((200_000, 3))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    vals = f_ssm(*x, *th, V[:, 0], V[:, 1], V[:, 2])
    assert abs(vals.mean() - ism / 3) < 5 * vals.std() / np.sqrt(len(V))


@pytest.mark.parametrize("dim", [1, 2])
def test_gaussian_example_sm_is_mle(dim):
    proof = prove_gaussian_sm_equals_mle(dim, n_samples=300)
    assert proof.verdict == Status.CHECKED
    assert all(s.status == Status.PROVEN for s in proof.steps if s.key != "numeric")
    assert proof.step("numeric").evidence["relative_error"] < 1e-6
