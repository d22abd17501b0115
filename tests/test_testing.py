"""symscore.testing: the assertions accept correct hand-written code and catch the
sign/scale bugs they are meant to catch; the strategies respect supports and domains.

Oracles here are independent closed forms written out by hand (NumPy), never the
symbolic machinery under test.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

import symscore as ss
from symscore.testing import (assert_loss_matches, assert_score_matches, parameters, points,
                              symbolic_loss, symbolic_score)


@pytest.fixture(scope="module")
def iso2():
    return ss.families.gaussian(dim=2, kind="iso")   # θ = (μ₀, μ₁, L), s = −L²(x − μ)


@pytest.fixture(scope="module")
def mix():
    return ss.families.gaussian_mixture(dim=2, components=2, kind="iso")


MIX_THETA = {"logits": [0.3, -0.2], "means": [[-1.0, 0.5], [2.0, -1.5]], "prec_chol": [1.5, 0.7]}


def mixture_score(X):
    """Closed form: s = Σₖ rₖ(x)·(−Lₖ²(x − μₖ)), r the responsibilities (stable)."""
    w = np.exp(np.array(MIX_THETA["logits"]))
    w /= w.sum()
    mu, L = np.array(MIX_THETA["means"]), np.array(MIX_THETA["prec_chol"])
    logs = np.stack([np.log(w[k]) + 2 * np.log(L[k]) - 0.5 * L[k]**2 *
                     np.sum((X - mu[k])**2, axis=1) for k in range(2)], axis=1)
    r = np.exp(logs - logs.max(axis=1, keepdims=True))
    r /= r.sum(axis=1, keepdims=True)
    return sum(r[:, [k]] * (-L[k]**2 * (X - mu[k])) for k in range(2))


def iso_score(X, theta):
    return -theta[2]**2 * (X - theta[:2])


# -- assert_score_matches ----------------------------------------------------------------------

def test_correct_scores_pass(iso2, mix):
    assert_score_matches(iso2, iso_score, takes_theta=True, max_examples=25)
    assert_score_matches(mix, mixture_score, MIX_THETA, max_examples=25, scale=30.0)


@pytest.mark.parametrize("bug", [lambda X, t: iso_score(X, t) * -1,        # sign
                                 lambda X, t: -t[2] * (X - t[:2]),          # L instead of L²
                                 lambda X, t: iso_score(X, t)[:, ::-1]])    # swapped coords
def test_wrong_scores_are_caught(iso2, bug):
    with pytest.raises(AssertionError, match=r"score mismatch at x = \[.*θ = "):
        assert_score_matches(iso2, bug, takes_theta=True, max_examples=25)


def test_score_shape_and_nonfinite_are_reported(iso2):
    with pytest.raises(AssertionError, match="shape"):
        assert_score_matches(iso2, lambda X: X[:, 0], max_examples=5)
    with pytest.raises(AssertionError, match="mismatch"):
        assert_score_matches(iso2, lambda X: np.full_like(X, np.nan), max_examples=5)


def test_explicit_points_and_tensor_like_results(iso2):
    class FakeTensor:   # what a torch tensor offers
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    theta = [0.5, -1.0, 2.0]
    X = np.array([[0.0, 0.0], [1.0, -3.0]])
    assert_score_matches(iso2, lambda X: FakeTensor(iso_score(X, np.array(theta))), theta, at=X,
                         convert=lambda a: a.copy())
    with pytest.raises(AssertionError, match=r"at x = \[1.0, -3.0\]"):
        assert_score_matches(iso2, lambda X: iso_score(X, np.array(theta)) + (X[:, :1] > 0),
                             theta, at=X)


def test_bad_arguments_raise_symscore_errors(iso2):
    with pytest.raises(ss.DensityError):
        assert_score_matches("not a density", iso_score)
    with pytest.raises(ss.ShapeError):
        assert_score_matches(iso2, iso_score, theta=[1.0, 2.0])
    with pytest.raises(ss.DomainError, match="L"):
        assert_score_matches(iso2, iso_score, theta=[0.0, 0.0, -1.0])
    with pytest.raises(ss.SymscoreError, match="kind"):
        assert_loss_matches(iso2, lambda X: 0.0, kind="esm")
    with pytest.raises(ss.SymscoreError, match="callable"):
        assert_loss_matches(iso2, 3.0)


# -- assert_loss_matches -----------------------------------------------------------------------

THETA = np.array([0.5, -1.0, 1.7])   # μ = (0.5, −1), L = 1.7 → s = −L²(x − μ), ∇·s = −2L²


def s_of(X):
    return -THETA[2]**2 * (X - THETA[:2])


def ism_per_sample(X):
    return -2 * THETA[2]**2 + 0.5 * np.sum(s_of(X)**2, axis=1)


def test_ism_correct_per_sample_and_mean_pass(iso2):
    assert_loss_matches(iso2, ism_per_sample, "ism", THETA, max_examples=20)
    assert_loss_matches(iso2, lambda X: ism_per_sample(X).mean(), "ism", THETA, max_examples=20)


@pytest.mark.parametrize("bug", [
    lambda X: 2 * THETA[2]**2 + 0.5 * np.sum(s_of(X)**2, axis=1),      # sign of ∇·s
    lambda X: -2 * THETA[2]**2 + np.sum(s_of(X)**2, axis=1),           # ‖s‖² without ½
    lambda X: -THETA[2]**2 + 0.5 * np.sum(s_of(X)**2, axis=1),         # ∇·s of one coordinate
])
def test_ism_bugs_are_caught(iso2, bug):
    with pytest.raises(AssertionError, match="ism loss mismatch"):
        assert_loss_matches(iso2, bug, "ism", THETA, max_examples=20)


def test_ism_sum_instead_of_mean_is_caught(iso2):
    with pytest.raises(AssertionError, match="mean of the integrand"):
        assert_loss_matches(iso2, lambda X: ism_per_sample(X).sum(), "ism", THETA,
                            max_examples=20)


def dsm_per_sample(X, Z, sigma):
    return 0.5 * np.sum((s_of(X + sigma * Z) + Z / sigma)**2, axis=1)


def test_dsm_correct_and_weighted(iso2):
    assert_loss_matches(iso2, dsm_per_sample, "dsm", THETA, max_examples=20)
    weighted = lambda X, Z, sig: sig**2 * dsm_per_sample(X, Z, sig)       # λ(σ) = σ²
    assert_loss_matches(iso2, weighted, "dsm", THETA, weighted=True, max_examples=20)
    with pytest.raises(AssertionError, match="dsm loss mismatch"):
        assert_loss_matches(iso2, weighted, "dsm", THETA, max_examples=20)


def test_dsm_target_bugs_are_caught(iso2):
    wrong_target = lambda X, Z, sig: 0.5 * np.sum((s_of(X + sig * Z) + Z * sig)**2, axis=1)
    wrong_sign = lambda X, Z, sig: 0.5 * np.sum((s_of(X + sig * Z) - Z / sig)**2, axis=1)
    for bug in (wrong_target, wrong_sign):
        with pytest.raises(AssertionError, match=r"dsm loss mismatch .*z = .*σ = "):
            assert_loss_matches(iso2, bug, "dsm", THETA, max_examples=20)
    # at σ = 1 the first bug is invisible: a fixed sigma is honoured
    assert_loss_matches(iso2, wrong_target, "dsm", THETA, sigma=1.0, max_examples=10)


def ssm_per_sample(X, V):   # vᵀ(∇s)v + ½(vᵀs)² with ∇s = −L² I
    return -THETA[2]**2 * np.sum(V**2, axis=1) + 0.5 * np.sum(V * s_of(X), axis=1)**2


def test_ssm_correct_and_unit_norm_bug(iso2):
    assert_loss_matches(iso2, ssm_per_sample, "ssm", THETA, max_examples=20)
    unit = lambda X, V: ssm_per_sample(X, V / (1e-12 + np.linalg.norm(V, axis=1, keepdims=True)))
    with pytest.raises(AssertionError, match="ssm loss mismatch"):
        assert_loss_matches(iso2, unit, "ssm", THETA, max_examples=20)


def test_loss_with_drawn_theta(iso2):
    def ism(X, theta):
        s = -theta[2]**2 * (X - theta[:2])
        return -2 * theta[2]**2 + 0.5 * np.sum(s**2, axis=1)
    assert_loss_matches(iso2, ism, "ism", takes_theta=True, max_examples=25)


# -- the symbolic side against closed forms ----------------------------------------------------

def test_symbolic_side_matches_closed_forms(iso2, mix):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 2)) * 4
    np.testing.assert_allclose(symbolic_score(iso2, X, THETA), s_of(X), rtol=1e-13)
    np.testing.assert_allclose(symbolic_loss(iso2, "ism", X, THETA), ism_per_sample(X),
                               rtol=1e-12)
    far = np.array([[1e3, -1e3], [-700.0, 20.0]])   # stable: finite far from the modes
    np.testing.assert_allclose(symbolic_score(mix, far, MIX_THETA), mixture_score(far),
                               rtol=1e-9)   # −L²x + L²μ in float64: cancellation ~1e-11
    with pytest.raises(ss.InputValueError):
        symbolic_score(iso2, np.array([[np.nan, 0.0]]), THETA)


# -- strategies -------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(X=points(ss.families.exponential(dim=2), n=4))
def test_points_respect_a_half_line_support(X):
    assert X.shape == (4, 2) and np.all(X > 0) and np.all(np.isfinite(X))


def test_points_respect_a_bounded_support():
    x = sp.Symbol("x", real=True)
    d = ss.Density.from_log_density(sp.log(x) + sp.log(1 - x), [x], support=(0, 1))

    @settings(max_examples=30, deadline=None)
    @given(points(d, n=3))
    def check(X):
        assert np.all((X > 0) & (X < 1))
    check()


@settings(max_examples=30, deadline=None)
@given(theta=parameters(ss.families.gamma(dim=2)))
def test_parameters_respect_positive_domains(theta):
    assert theta.shape == (4,) and np.all(theta > 0)
    ss.pack(ss.families.gamma(dim=2), theta)   # in-domain: no DomainError


def test_parameters_respect_an_interval_domain():
    x, a = sp.Symbol("x", real=True), sp.Symbol("a", real=True)
    d = ss.Density.from_log_density(-a * x**2, [x], [(a, (sp.Rational(1, 2), 2))])

    @settings(max_examples=30, deadline=None)
    @given(parameters(d))
    def check(theta):
        assert 0.5 < theta[0] < 2
    check()
