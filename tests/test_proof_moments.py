"""Moment conditions, global growth degrees, moment orders, exact Gaussian
expectations (checked against mpmath quadrature and closed-form moments)."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symscore as ss
from symscore.proof import Status
from symscore.proof.gaussian import expect_polynomial, gaussian_moments, is_negative_definite
from symscore.proof.growth import joint_degree, moment_order
from symscore.proof.moments import moment_steps
from symscore.proof.pairing import pair

F = ss.families


@settings(max_examples=15, deadline=None)
@given(st.floats(-2, 2), st.floats(0.3, 3), st.integers(0, 5))
def test_expect_polynomial_matches_quadrature(m, s, k):
    x = sp.Symbol("x", real=True)
    val = expect_polynomial(x**k + 2 * x, [x], sp.Matrix([m]), sp.Matrix([s**2]))
    with mp.workdps(30):
        q = mp.quad(lambda t: (t**k + 2 * t) * mp.npdf(t, m, s), [-mp.inf, m, mp.inf])
    assert float(val) == pytest.approx(float(q), rel=1e-10, abs=1e-12)


def test_gaussian_moments_of_the_family():
    d = F.gaussian(dim=2)
    mean, cov = gaussian_moments(d)
    L = sp.Matrix([[d.params[2], 0], [d.params[3], d.params[4]]])
    assert sp.simplify(cov - (L * L.T).inv()) == sp.zeros(2, 2)
    assert list(mean) == list(d.params[:2])
    assert gaussian_moments(F.student_t(dim=1)) is None
    assert is_negative_definite(-sp.eye(3)) is True and is_negative_definite(sp.eye(2)) is False


@pytest.mark.parametrize("family, expr_of, degree", [
    (lambda: F.gaussian_mixture(2, 3), lambda d: sum(s**2 for s in d.score), 2),
    (lambda: F.student_t(2), lambda d: d.score[0], -1),
    (lambda: F.logistic(2), lambda d: d.divergence, 0),
    (lambda: F.gaussian_bernoulli_rbm(2, 2), lambda d: d.score[1], 1),
    (lambda: F.double_well(1), lambda d: d.score[0]**2, 6)])
def test_joint_degree(family, expr_of, degree):
    d = family()
    k, _ = joint_degree(expr_of(d), d.variables)
    assert k == degree


def test_joint_degree_is_a_true_bound_numerically():
    """|f(x)|/(1+‖x‖)^k stays bounded along rays out to ‖x‖ = 1e6 (mixture ‖s‖²)."""
    d = F.gaussian_mixture(2, 3)
    f = sum(s**2 for s in d.score)
    k, _ = joint_degree(f, d.variables)
    g = sp.lambdify(list(d.variables) + list(d.params), f,
                    modules=[{"LogSumExp": lambda *a: np.logaddexp.reduce(a)}, "numpy"])
    th = d.defaults
    ratios = [g(r * np.cos(a), r * np.sin(a), *th) / (1 + r)**k
              for r in (1e2, 1e4, 1e6) for a in np.linspace(0, 6, 7)]
    assert max(ratios) < 10 * min(max(ratios[:7]), 1e3)


def test_moment_orders():
    assert moment_order(F.gaussian_mixture(2, 2))[0] == sp.oo
    assert moment_order(F.gaussian_bernoulli_rbm(2, 2))[0] == sp.oo
    nu = sp.Symbol("nu", positive=True)
    assert moment_order(F.student_t(2))[0] == nu
    assert moment_order(F.logistic(1))[0] == sp.oo
    # banana: negative squares of a triangular polynomial map (Gaussian after a change of
    # variables); ICA (W may be singular) is not decided
    assert moment_order(F.banana(2))[0] == sp.oo
    assert moment_order(F.ica(2)) is None


def test_moment_steps_statuses():
    assert [s.status for s in moment_steps(pair(F.gaussian(1)))] == [Status.PROVEN] * 3
    g = moment_steps(pair(F.gaussian(1)))[0]
    L, Ls = sp.Symbol("L_0_0", positive=True), sp.Symbol("L_0_0^*", positive=True)
    mu, mus = sp.Symbol("mu_0", real=True), sp.Symbol("mu_0^*", real=True)
    # E‖s‖² = L⁴ (1/L*² + (μ* − μ)²): independent closed form
    assert sp.simplify(g.evidence["value"] - L**4 * (1 / Ls**2 + (mus - mu)**2)) == 0
    gamma = moment_steps(pair(F.gamma(1)))
    assert all(s.status == Status.FAILED for s in gamma)
    assert "integrable_iff" in gamma[0].evidence
    banana = moment_steps(pair(F.banana(2)), n_samples=4000)
    assert all(s.status == Status.PROVEN for s in banana)
    lap = moment_steps(pair(F.laplace(1)))
    assert lap[2].status == Status.FAILED and "Dirac" in lap[2].justification


def test_moment_without_numbers_is_assumed():
    b = F.ica(2)        # undecided symbolically; without defaults nothing to compute
    d = ss.Density(b.log_density, b.variables, list(zip(b.params, b.domains)))
    steps = moment_steps(pair(d))
    assert all(s.status == Status.ASSUMED for s in steps)
    assert all("Assumed" in s.justification for s in steps)


def test_separable_tails_are_proven_without_numbers():
    x, a = sp.Symbol("x", real=True), sp.Symbol("a", positive=True)
    d = ss.Density.from_log_density(-a * x**4 - sp.cos(x)**2 * x**2, [x], [a])
    assert all(s.status == Status.PROVEN for s in moment_steps(pair(d)))
