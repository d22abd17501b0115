"""Public API edges: one NumPy/mpmath mapping for symscore's expressions
(``ss.lambdify``), fit's neutral start, annealed step counts, a 0-d σ."""

import mpmath
import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore.params import neutral_theta
from symscore.stable import LogSumExp, Sigmoid, Softplus, log1p

a, b, z = sp.symbols("a b z", real=True)


@pytest.mark.parametrize("expr, point", [
    (LogSumExp(a, b, z), (800.0, -800.0, 799.0)),
    (LogSumExp(a, b), (-1000.0, -1001.0)),
    (Softplus(a), (-40.0,)), (Softplus(a), (750.0,)), (Softplus(a), (0.3,)),
    (Sigmoid(a), (-800.0,)), (Sigmoid(a), (2.5,)),
    (log1p(a), (1e-12,)),
])
def test_numpy_and_mpmath_mappings_agree_with_sympy_evalf(expr, point):
    args = list(expr.free_symbols)
    args.sort(key=lambda s: s.name)
    names = sorted(s.name for s in expr.free_symbols)
    vals = dict(zip(names, point))
    ordered = [vals[s.name] for s in args]
    exact = expr.xreplace({s: sp.Float(v, 50) for s, v in zip(args, ordered)}).evalf(40)
    f_np = ss.lambdify(args, expr)
    with mpmath.workdps(40):
        f_mp = ss.lambdify(args, expr, backend="mpmath")
        got_mp = f_mp(*[mpmath.mpf(v) for v in ordered])
        assert abs(got_mp - mpmath.mpf(str(exact))) <= mpmath.mpf(10) ** -30 * max(1, abs(got_mp))
    got = float(f_np(*ordered))
    assert np.isfinite(got)
    assert got == pytest.approx(float(exact), rel=1e-13, abs=1e-300)


def test_one_mapping_everywhere():
    from symscore.fit import exact
    from symscore.proof import numeric
    assert exact.NUMPY_FUNCTIONS is ss.NUMPY_FUNCTIONS
    assert all(numeric.NUMPY_FUNCTIONS[k] is v for k, v in ss.NUMPY_FUNCTIONS.items())
    assert not hasattr(exact, "_NUMPY_STABLE")
    with pytest.raises(ss.InputValueError, match="backend"):
        ss.lambdify([a], a, backend="torch")


def test_vectorised_mixture_log_density_is_finite_far_out():
    d = ss.families.gaussian_mixture(dim=2, components=3)
    f = ss.lambdify([*d.variables, *d.params], d.log_density)
    X = np.array([[0.0, 0.0], [60.0, -60.0], [1e3, 1e3]])
    got = f(X[:, 0], X[:, 1], *d.defaults)
    assert np.all(np.isfinite(got))
    # against the unstable form where that is still finite
    naive = sp.lambdify([*d.variables, *d.params], d.log_density.rewrite(sp.log), "numpy")
    assert got[0] == pytest.approx(naive(0.0, 0.0, *d.defaults), rel=1e-12)


def test_neutral_theta_lies_in_every_domain():
    d = ss.Density.parse("-a*x**2 - b*x + c*x - e*x", ["x"],
                         [("a", "positive"), ("b", (-1, 3)), ("c", "real"),
                          ("e", "nonnegative")])
    assert neutral_theta(d).tolist() == [1.0, 1.0, 0.0, 1.0]
    ss.pack(d, neutral_theta(d))       # inside the domains (pack checks)


def test_annealed_step_counts_and_thin_count_the_same_steps():
    d = ss.families.gaussian_perturbed([0.0], [[1.0]])
    sig = ss.geometric_sigmas(4.0, 1.0, 5)
    r = ss.annealed_langevin(d, np.zeros((3, 1)), None, step_size=0.01, n_steps=100, seed=0,
                             thin=100, sigmas=sig, target="numpy")
    assert (r.n_steps, r.n_levels, r.steps_per_level) == (500, 5, 100)
    # thin = steps per level: one trace entry at the end of each level
    assert r.trace_steps.tolist() == [100, 200, 300, 400, 500] and r.trace.shape[0] == 5
    assert np.array_equal(r.trace[-1], r.x)
    assert "5 levels × 100" in repr(r)
    # (the same density: a plain gaussian(dim=1) module loaded here would stay in
    # sys.modules and hide the cache-directory faults test_cache_faults injects)
    u = ss.langevin(d, np.zeros((2, 1)), [1.0], step_size=0.1, n_steps=10, seed=0,
                    target="numpy")
    assert (u.n_steps, u.n_levels, u.steps_per_level) == (10, 1, 10)


def test_dsm_loss_takes_a_0d_array_as_a_number():
    g = ss.families.gaussian(dim=2)
    k = ss.compile(g, target="numpy")
    X = np.random.default_rng(0).normal(size=(200, 2))
    one = k.dsm_loss(X, g.defaults, sigma=0.5, seed=1)
    assert k.dsm_loss(X, g.defaults, sigma=np.array(0.5), seed=1) == one
    assert k.dsm_loss(X, g.defaults, sigma=np.float64(0.5), seed=1) == one
    # a one-element list is the multi-σ (σ²-weighted) form: a different number
    assert k.dsm_loss(X, g.defaults, sigma=[0.5], seed=1) != pytest.approx(one)
