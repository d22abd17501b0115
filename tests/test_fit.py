"""symscore.fit: objective choice on bounded supports, the numerical path, standard
errors, input validation. Oracles: closed-form estimators and asymptotic variances
derived by hand (stated next to each test), numpy MLEs."""

import warnings

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore.fit import BoundaryBiasWarning, FitWarning
from symscore.fit.numeric import batch_gradient_cov, hessian_fd, lbfgs, sandwich

RNG = np.random.default_rng(20240607)
N = 100_000


@pytest.fixture(scope="module")
def exp_data():
    return np.random.default_rng(1).exponential(1 / 2.5, size=(N, 1))   # λ0 = 2.5


# -- bounded supports --------------------------------------------------------------

def test_exponential_weighted_objective_recovers_the_rate(exp_data):
    r = ss.fit(ss.families.exponential(1), exp_data, prove=False)
    assert r.objective == "weighted" and r.weights == (sp.Symbol("x_0", real=True)**2,)
    assert r.method == "exact" and r.converged
    # h = x²: λ̂ = 2 mean(x) / mean(x²) exactly
    assert r.theta[0] == pytest.approx(2 * exp_data.mean() / (exp_data**2).mean(), rel=1e-12)
    assert abs(r.theta[0] - 2.5) < 4 * r.stderr[0] and abs(r.theta[0] - 2.5) < 0.05


def test_exponential_naive_ism_fails_at_lambda_zero(exp_data):
    d = ss.families.exponential(1)
    with pytest.raises(ss.FitError, match="biased.*allow_boundary_bias"):
        ss.fit(d, exp_data, objective="ism", prove=False)
    # J_ISM(λ) = λ²/2 for any data: minimiser λ = 0, on the edge of the domain (0, ∞)
    with pytest.warns(BoundaryBiasWarning), pytest.warns(FitWarning, match="outside"):
        r = ss.fit(d, exp_data, objective="ism", allow_boundary_bias=True, prove=False)
    assert r.objective == "ism" and not r.converged and r.theta[0] == 0.0
    assert r.at_bound == ("rate_0",) and r.stderr is None
    with pytest.warns(BoundaryBiasWarning), pytest.warns(FitWarning, match="bound"):
        r = ss.fit(d, exp_data, method="lbfgs", objective="ism", allow_boundary_bias=True,
                   prove=False)
    assert not r.converged and r.at_bound == ("rate_0",) and r.theta[0] < 1e-8


def test_gamma_weighted_objective_recovers_shape_and_rate():
    X = np.random.default_rng(2).gamma(3.0, 1 / 2.0, size=(N, 1))   # k0 = 3, β0 = 2
    r = ss.fit(ss.families.gamma(1), X, prove=False)
    assert r.objective == "weighted" and r.converged
    # h = x²: the estimating equations are the method of moments, k = m²/v, β = m/v
    m, v = X.mean(), X.var()
    assert r.params["shape"][0] == pytest.approx(m * m / v, rel=1e-10)
    assert r.params["rate"][0] == pytest.approx(m / v, rel=1e-10)
    assert np.all(np.abs(r.theta - [3.0, 2.0]) < 4 * r.stderr)


def test_the_proof_engine_decides_the_objective_and_its_proof_is_reported(exp_data):
    r = ss.fit(ss.families.exponential(1), exp_data[:1000])
    assert r.objective == "weighted" and "boundary[0,0+] FAILED" in r.boundary
    assert r.proof is not None and "Weighted" in r.proof.title
    assert r.proof_verdict == r.proof.verdict.name != "FAILED"
    g = ss.fit(ss.families.gaussian_natural(1), exp_data[:1000])
    assert g.objective == "ism" and "ESM ⇔ ISM" in g.proof.title
    assert g.proof_verdict in ("PROVEN", "CHECKED")
    assert f"objective equals ESM up to a constant: {g.proof_verdict}" in g._repr_markdown_()


def test_custom_weights_h_equal_x_give_the_exponential_mle(exp_data):
    x = sp.Symbol("x_0", real=True)
    r = ss.fit(ss.families.exponential(1), exp_data, weights=[x], prove=False)
    # h = x: ½xλ² − λ per sample, minimiser 1 / mean(x) — the MLE
    assert r.theta[0] == pytest.approx(1 / exp_data.mean(), rel=1e-12)
    with pytest.warns(BoundaryBiasWarning, match="does not vanish"):
        ss.fit(ss.families.exponential(1), exp_data, weights=[1 + x], prove=False)
    # a symbol merely named like the variable is that variable
    r2 = ss.fit(ss.families.exponential(1), exp_data, weights=[sp.Symbol("x_0")**2],
                prove=False)
    assert r2.theta[0] == ss.fit(ss.families.exponential(1), exp_data, prove=False).theta[0]


def test_weighted_numerical_path_agrees_with_the_exact_one():
    X = np.random.default_rng(3).gamma(4.0, 1.0, size=(5000, 1))
    d = ss.families.gamma(1)
    exact = ss.fit(d, X, prove=False)
    num = ss.fit(d, X, method="lbfgs", theta0={"shape": [2.0], "rate": [0.5]}, tol=1e-11,
                 prove=False)
    assert num.method == "lbfgs" and num.objective == "weighted" and num.converged
    assert np.allclose(num.theta, exact.theta, rtol=1e-6)
    assert num.loss == pytest.approx(exact.loss, rel=1e-10)
    assert np.allclose(num.stderr, exact.stderr, rtol=0.25)


def test_double_well_exact_and_numerical_paths_agree_and_recover_the_truth():
    # 1-D p ∝ exp(−a x⁴/4 + b x²/2), a = 1, b = 2: exact inverse-CDF sampling on a fine grid
    grid = np.linspace(-4, 4, 400_001)
    cdf = np.cumsum(np.exp(-grid**4 / 4 + grid**2))
    X = np.interp(np.random.default_rng(6).uniform(0, cdf[-1], size=(N, 1)), cdf, grid)
    d = ss.families.double_well(1)
    exact = ss.fit(d, X, prove=False)
    num = ss.fit(d, X, method="lbfgs", theta0={"a": 0.5, "b": 0.5}, tol=1e-12, prove=False)
    assert exact.method == "exact" and num.method == "lbfgs" and num.converged
    assert np.allclose(num.theta, exact.theta, rtol=1e-7)
    assert np.all(np.abs(exact.theta - [1.0, 2.0]) < 5 * exact.stderr)
    assert np.allclose(num.stderr, exact.stderr, rtol=0.3)


# -- standard errors ---------------------------------------------------------------

def test_sandwich_se_matches_the_delta_method_for_the_exponential(exp_data):
    # λ̂ = 2m₁/m₂ with m₁ = 1/λ, m₂ = 2/λ², Var x = 1/λ², Var x² = 20/λ⁴,
    # Cov(x, x²) = 4/λ³ ⇒ N·Var λ̂ → λ⁴·λ⁻² + (λ³/2)²·20λ⁻⁴ − 2·λ²·(λ³/2)·4λ⁻³ = 2λ²
    r = ss.fit(ss.families.exponential(1), exp_data, prove=False)
    assert r.stderr[0] == pytest.approx(2.5 * np.sqrt(2 / N), rel=0.05)


def test_sandwich_se_of_the_gaussian_equals_the_inverse_fisher_information():
    mu, sd = 1.5, 0.7
    X = np.random.default_rng(4).normal(mu, sd, size=(N, 1))
    r = ss.fit(ss.families.gaussian_natural(1), X, prove=False)
    # SM = MLE in natural parameters θ = (M, h), T = (−x²/2, x): Cov θ̂ → Cov(T)⁻¹ / N
    v = sd**2
    cov_T = np.array([[(4 * mu**2 * v + 2 * v**2) / 4, -mu * v], [-mu * v, v]])
    want = np.sqrt(np.diag(np.linalg.inv(cov_T)) / N)
    assert np.allclose(r.stderr, want, rtol=0.05)


def test_numerical_path_se_matches_the_mle_asymptotics_and_the_spread_of_repeats():
    # Cholesky model N(μ, 1/L²) in 1-D: SM = MLE, SE(μ̂) = σ/√N, SE(L̂) = L/√(2N)
    d = ss.families.gaussian(1)
    mu, L, n = 0.3, 2.0, 20_000
    fits = [ss.fit(d, np.random.default_rng(10 + i).normal(mu, 1 / L, size=(n, 1)),
                   prove=False, se_batches=400) for i in range(6)]
    se = np.mean([f.stderr for f in fits], axis=0)
    assert se == pytest.approx([1 / L / np.sqrt(n), L / np.sqrt(2 * n)], rel=0.12)
    spread = np.std([f.theta for f in fits], axis=0, ddof=1)
    assert np.all(spread < 3 * se) and np.all(spread > se / 3)


def test_sandwich_handles_flat_directions_and_saddles():
    p = sp.symbols("a b", real=True)
    # H = 2uuᵀ, u = (1, 1)/√2: H⁺ = uuᵀ/2, H⁺ I H⁺ / 10 = uuᵀ/40 = 0.0125 everywhere
    cov, note = sandwich(np.array([[1.0, 1.0], [1.0, 1.0]]), np.eye(2), 10, p)
    assert "flat along a − b" in note
    assert np.allclose(cov, np.full((2, 2), 0.0125))
    cov, note = sandwich(np.diag([1.0, -1.0]), np.eye(2), 10, p)
    assert cov is None and "negative eigenvalue" in note


def test_batch_means_and_finite_difference_hessian_oracles():
    rng = np.random.default_rng(5)
    G = rng.normal(size=(40_000, 2)) @ np.array([[1.0, 0.0], [0.6, 0.8]])
    # 2000 batches: each entry of V has relative sd ≈ √(2/2000) ≈ 3%
    V = batch_gradient_cov(lambda lo, hi: G[lo:hi].mean(0), len(G), 2000)
    assert np.allclose(V, np.cov(G, rowvar=False), atol=0.15)
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    H = hessian_fd(lambda t: A @ t + t**3, np.array([0.5, -1.0]), [(None, None), (-1.0, 0)])
    # ∇(t³) = 3t² ⇒ H = A + diag(3t²); t₁ = −1 sits on its bound: one-sided, O(h) error
    assert np.allclose(H, A + np.diag([0.75, 3.0]), atol=1e-4)


# -- the numerical path --------------------------------------------------------------

def test_cholesky_gaussian_fitted_numerically_equals_the_mle():
    X = RNG.normal(size=(3000, 2)) @ np.array([[1.0, 0.4], [0.0, 0.5]]) + [1.0, -2.0]
    r = ss.fit(ss.families.gaussian(2), X, tol=1e-12, prove=False)
    assert r.method == "lbfgs" and r.converged
    Lc = r.params["prec_chol"]
    Minv = np.linalg.inv(np.cov(X, rowvar=False, bias=True))
    assert np.max(np.abs(Lc @ Lc.T - Minv)) < 1e-8 * np.max(np.abs(Minv))
    assert np.max(np.abs(r.params["mean"] - X.mean(0))) < 1e-8


def test_numpy_target_gives_the_same_fit_and_a_neutral_start_without_defaults():
    X = RNG.normal(0.5, 2.0, size=2000)          # 1-D data may be a flat array
    d = ss.families.gaussian(1)
    cpu = ss.fit(d, X, prove=False, standard_errors=False)
    npy = ss.fit(d, X, prove=False, standard_errors=False, target="numpy")
    assert npy.details["engine"] == "generated kernels (target=numpy)"
    assert np.allclose(cpu.theta, npy.theta, rtol=1e-7)
    x, m = sp.Symbol("x", real=True), sp.Symbol("m", real=True)
    bare = ss.Density.from_log_density(-(x - m)**4, [x], [m])
    # no defaults and not an exponential family: a neutral start from the domains (m = 0)
    r = ss.fit(bare, X, method="lbfgs", prove=False, standard_errors=False)
    assert r.details["theta0"].tolist() == [0.0] and r.converged
    with pytest.raises(ss.FitError, match="target"):
        ss.fit(d, X, target="gpu", prove=False)


def test_lbfgs_never_returns_nan_silently():
    p = [sp.Symbol("a", real=True)]
    with pytest.raises(ss.FitError, match="not finite at the start"):
        lbfgs(lambda t: (np.nan, np.zeros(1)), np.zeros(1), [(None, None)], p)
    # finite near 0, NaN beyond |a| > 1: the run stops and reports, keeping a finite θ
    f = lambda t: ((-t[0], np.array([-1.0])) if abs(t[0]) < 1 else (np.nan, np.array([np.nan])))
    r = lbfgs(f, np.zeros(1), [(None, None)], p)
    assert not r.converged and "non-finite" in r.message and np.isfinite(r.theta).all()


def test_restarts_pick_the_lowest_minimum():
    f = lambda t: (float((t[0]**2 - 1)**2 + 0.3 * t[0]), np.array([4 * t[0] * (t[0]**2 - 1) + 0.3]))
    one = lbfgs(f, np.array([0.9]), [(None, None)], ["a"])
    many = lbfgs(f, np.array([0.9]), [(None, None)], ["a"], restarts=8, jitter=2.0, seed=1)
    assert one.theta[0] > 0 and many.theta[0] < 0 and many.loss < one.loss
    assert len(many.starts) == 9
    # above a lower bound the jitter is multiplicative: every start stays strictly inside
    pos = lbfgs(lambda t: (float((t[0] - 2)**2), np.array([2 * (t[0] - 2)])), np.array([0.5]),
                [(1e-10, None)], ["a"], restarts=20, jitter=3.0)
    assert all(1e-10 < t0[0] for t0, _ in pos.starts) and len({t0[0] for t0, _ in pos.starts}) == 21


# -- validation and reporting ------------------------------------------------------------

@pytest.mark.parametrize("X,err,match", [
    (np.zeros((10, 3)), ss.ShapeError, r"\(N, 1\)"),
    (np.zeros((1, 1)) + 1, ss.ShapeError, "at least 2"),
    (np.array([[1.0], [np.nan]]), ss.InputValueError, r"X\[1, 0\]"),
    (np.array([[1.0], [-0.5]]), ss.InputValueError, "outside the support"),
])
def test_bad_data_is_rejected_by_name(X, err, match):
    with pytest.raises(err, match=match):
        ss.fit(ss.families.exponential(1), X, prove=False)


def test_bad_options_are_rejected(exp_data):
    d, X = ss.families.exponential(1), exp_data[:100]
    x = sp.Symbol("x_0", real=True)
    with pytest.raises(ss.FitError, match="method"):
        ss.fit(d, X, method="newton", prove=False)
    with pytest.raises(ss.FitError, match="objective"):
        ss.fit(d, X, objective="dsm", prove=False)
    with pytest.raises(ss.FitError, match="one expression per coordinate"):
        ss.fit(d, X, weights=[x, x], prove=False)
    with pytest.raises(ss.FitError, match="x_1"):
        ss.fit(d, X, weights=[sp.Symbol("x_1", real=True)], prove=False)
    with pytest.raises(ss.FitError, match="objective='ism'"):
        ss.fit(d, X, weights=[x**2], objective="ism", prove=False)
    with pytest.raises(ss.FitError, match="method='exact'.*ica"):
        ss.fit(ss.families.ica(1), X, method="exact", prove=False)
    with pytest.raises(ss.DomainError, match="rate_0"):
        ss.fit(d, X, method="lbfgs", theta0=[-1.0], prove=False)
    with pytest.raises(ss.DensityError):
        ss.fit("not a density", X)
    with pytest.raises(ss.FitError, match="differentiable.*Abs"):
        ss.fit(ss.families.laplace(1), X, prove=False)


def test_result_reports_by_name_and_renders(exp_data):
    r = ss.fit(ss.families.gaussian_natural(2), RNG.normal(size=(500, 2)), prove=False)
    assert set(r.params) == {"precision", "linear"} and r.params["precision"].shape == (2, 2)
    assert np.allclose(r.params["precision"], r.params["precision"].T)
    assert set(r.stderr_by_name) == set(r.params)
    md = r._repr_markdown_()
    assert "| $M_{0 1}$ |" in md and "exact" in md and "converged: **True**" in md
    assert "gaussian_natural" in repr(r) and "method=exact" in repr(r)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = ss.fit(ss.families.exponential(1), exp_data, prove=False)._repr_markdown_()
    assert "h_{0} = x_{0}^{2}" in w
