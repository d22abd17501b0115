"""The closed-form path of score matching (score affine in θ).

Oracles: the objective integrands of :mod:`symscore.objectives` (the one
definition of ISM / weighted ISM) evaluated symbolically; Hyvärinen's (2005)
Gaussian result (SM estimate = MLE for any sample) computed with numpy.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import symscore as ss
from symscore.fit.exact import linear_structure, quadratic_plan, solve_quadratic
from symscore.objectives import default_weights, ism_integrand, weighted_ism_integrand

x0, x1 = sp.symbols("x_0 x_1", real=True)
a, b = sp.symbols("a b", real=True)
k = sp.Symbol("k", positive=True)


def logcosh_family():
    """log p~ = a x + b x² − 2 log cosh x: exponential family with a non-trivial base."""
    return ss.Density.from_log_density(a * x0 - k * x0**2 - 2 * sp.log(sp.cosh(x0)),
                                       [x0], [a, k], name="logcosh-expfam")


def two_d_expfam():
    """Interacting 2-D family: θ = (a, b) multiplies x0 x1 and x0⁴ (base −x1⁴)."""
    return ss.Density.from_log_density(a * x0 * x1 - k * x0**4 - x1**4 + b * x1,
                                       [x0, x1], [a, k, b], name="2d-expfam")


AFFINE = {
    "natural-1": lambda: ss.families.gaussian_natural(1),
    "natural-3": lambda: ss.families.gaussian_natural(3),
    "exponential-2": lambda: ss.families.exponential(2),
    "gamma-1": lambda: ss.families.gamma(1),
    "logcosh": logcosh_family,
    "2d": two_d_expfam,
}
NOT_AFFINE = {
    "gaussian-chol": lambda: ss.families.gaussian(2),
    "mixture": lambda: ss.families.gaussian_mixture(1, 2),
    "ica": lambda: ss.families.ica(2),
    "student_t": lambda: ss.families.student_t(1),
}


@pytest.mark.parametrize("case", sorted(AFFINE))
def test_affine_scores_are_detected_and_G_g_reconstruct_the_score(case):
    d = AFFINE[case]()
    lin = linear_structure(d)
    assert lin.affine, lin.reason
    theta = sp.Matrix(d.params)
    assert all(not (e.free_symbols & set(d.params)) for e in list(lin.G) + list(lin.g))
    diff = (lin.g + lin.G * theta - d.score).applyfunc(sp.simplify)
    assert diff == sp.zeros(d.dim, 1)


@pytest.mark.parametrize("case", sorted(NOT_AFFINE))
def test_nonlinear_scores_are_rejected_with_a_reason(case):
    lin = linear_structure(NOT_AFFINE[case]())
    assert not lin.affine and ("affine" in lin.reason or "depends on θ" in lin.reason)


def _plan_value(plan, d, xv, tv):
    """½θᵀA(x)θ + b(x)ᵀθ + c(x) at one point, from the plan's numeric evaluation."""
    G, bi, ci, h = plan._eval(np.atleast_2d(np.asarray(xv, dtype=float)))
    A = np.einsum("nj,njk,njl->kl", h, G, G)
    return 0.5 * tv @ A @ tv + bi[0] @ tv + float(ci[0])


def _sym_value(expr, d, xv, tv):
    subs = dict(zip(d.variables, map(sp.Float, xv))) | dict(zip(d.params, map(sp.Float, tv)))
    return float(expr.xreplace(subs).evalf(30))


@pytest.mark.parametrize("case,weighted", [("natural-3", False), ("logcosh", False),
                                           ("2d", False), ("exponential-2", True),
                                           ("gamma-1", True), ("natural-1", True)])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_quadratic_plan_equals_the_objectives_integrand(case, weighted, data):
    d = AFFINE[case]()
    lo = 0.05 if not d.has_full_support else -3.0
    xv = data.draw(st.lists(st.floats(lo, 3.0), min_size=d.dim, max_size=d.dim))
    tv = np.array(data.draw(st.lists(st.floats(0.1, 3.0), min_size=d.n_params,
                                     max_size=d.n_params)))
    if weighted:
        h = default_weights(d) if not d.has_full_support else (1 + d.variables[0]**2,)
        plan, J = quadratic_plan(d, h), weighted_ism_integrand(d, h)
    else:
        plan, J = quadratic_plan(d), ism_integrand(d)
    want = _sym_value(J, d, xv, tv)
    assert _plan_value(plan, d, xv, tv) == pytest.approx(want, rel=1e-10, abs=1e-10)


def test_plan_is_symbolically_the_integrand_for_a_small_family():
    d = two_d_expfam()
    plan = quadratic_plan(d)
    t = sp.Matrix(d.params)
    A = sp.zeros(d.n_params)
    for j in range(d.dim):
        A += plan.h[j] * plan.G[j, :].T * plan.G[j, :]
    quad = (t.T * A * t)[0] / 2 + (plan.b.T * t)[0] + plan.c
    assert sp.expand(quad - ism_integrand(d)) == 0


def test_sample_gradients_match_the_symbolic_gradient():
    d = logcosh_family()
    plan = quadratic_plan(d)
    X = np.array([[-1.5], [0.2], [2.0]])
    tv = np.array([0.7, 1.3])
    grad = [sp.diff(ism_integrand(d), p) for p in d.params]
    want = np.array([[_sym_value(g, d, xv, tv) for g in grad] for xv in X])
    assert np.allclose(plan.sample_gradients(X, tv), want, rtol=1e-12, atol=1e-12)


# -- Hyvärinen (2005), section 4.1: SM estimate = MLE for ANY sample -------------------

@st.composite
def samples(draw):
    D = draw(st.integers(1, 3))
    T = draw(st.integers(D + 2, 25))
    X = draw(arrays(np.float64, (T, D), elements=st.floats(-10, 10)))
    S = np.cov(X, rowvar=False, bias=True).reshape(D, D)
    assume(np.linalg.cond(S) < 1e4 and np.min(np.linalg.eigvalsh(S)) > 1e-3)
    return X


@settings(max_examples=60, deadline=None)
@given(X=samples())
def test_hyvarinen_gaussian_sm_estimate_is_the_mle(X):
    D = X.shape[1]
    r = ss.fit(ss.families.gaussian_natural(D), X, prove=False)
    assert r.method == "exact" and r.objective == "ism" and r.converged
    S = np.cov(X, rowvar=False, bias=True).reshape(D, D)   # 1/T sample covariance
    M = r.params["precision"]
    mean = np.linalg.solve(M, r.params["linear"])
    Minv = np.linalg.inv(S)
    assert np.max(np.abs(M - Minv)) <= 1e-8 * np.max(np.abs(Minv))
    assert np.max(np.abs(mean - X.mean(0))) <= 1e-8 * (1 + np.max(np.abs(X)))


def test_too_few_samples_is_a_clear_fit_error():
    X = np.random.default_rng(0).normal(size=(3, 3))   # rank-2 covariance in 3-D
    with pytest.raises(ss.FitError, match="singular or ill-conditioned.*M_"):
        ss.fit(ss.families.gaussian_natural(3), X, prove=False)
    with pytest.raises(ss.FitError, match="not identifiable|singular"):
        ss.fit(ss.families.gaussian_natural(1), np.ones((5, 1)), prove=False)


def test_solve_quadratic_names_the_degenerate_direction():
    p = sp.symbols("p q r", real=True)
    A = np.array([[1.0, 1.0, 0], [1.0, 1.0, 0], [0, 0, 2.0]])
    with pytest.raises(ss.FitError, match=r"p \(.*q \("):
        solve_quadratic(A, np.zeros(3), p)
    with pytest.raises(ss.FitError, match="does not depend on parameter.*r"):
        solve_quadratic(np.diag([1.0, 1.0, 0.0]), np.zeros(3), p)
    theta, cond = solve_quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, -1.0]),
                                  p[:2])
    assert np.allclose(np.array([[2.0, 0.5], [0.5, 1.0]]) @ theta, [-1.0, 1.0], atol=1e-15)
