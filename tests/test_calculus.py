"""Exact calculus on random smooth log-densities: divergence = Σ ∂²/∂xᵢ²,
Hessian = Jacobian of the score (symmetric), normaliser independence, and
θ-gradients — all against 50-digit finite differences."""

from __future__ import annotations

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symscore as ss
from symscore import calculus, objectives
from symscore.stable import LogSumExp, Sigmoid, Softplus

from oracles import (fd_gradient, fd_hessian, fd_jacobian, fd_laplacian, mp_callable,
                     rel_err)

X = sp.symbols("x_0:3", real=True)
THETA = sp.symbols("t_0:2", real=True)

# unary maps that keep values moderate on [-1, 1]^3 (no exp-of-exp towers)
UNARY = [sp.sin, sp.cos, sp.tanh, Softplus, Sigmoid,
         lambda e: sp.exp(sp.sin(e)), lambda e: sp.exp(-e**2 / 2),
         lambda e: sp.log(1 + e**2), lambda e: e**2, lambda e: e**3,
         lambda e: sp.sqrt(1 + e**2)]
BINARY = [sp.Add, sp.Mul, lambda a, b: LogSumExp(a, b), lambda a, b: a - b]

leaves = st.one_of(st.sampled_from(X), st.sampled_from(X + THETA),
                   st.integers(-3, 3).map(sp.Integer),
                   st.fractions(-2, 2, max_denominator=4).map(sp.Rational))


def _grow(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0](t[1])),
        st.tuples(st.sampled_from(BINARY), children, children).map(lambda t: t[0](t[1], t[2])))


def _with_x(e):  # a log-density must depend on x
    return e if e.free_symbols & set(X) else e - X[0]**2 / 2


def _with_theta(e):
    return e if e.free_symbols & set(THETA) else e + Softplus(THETA[0] * X[0])


trees = st.recursive(leaves, _grow, max_leaves=8)
# a + b·c of three random trees: sums, products and compositions at once
smooth_exprs = st.tuples(trees, trees, trees).map(lambda t: t[0] + t[1] * t[2]).map(_with_x)
parametric_exprs = smooth_exprs.map(_with_theta)


def _density(expr):
    xs = tuple(x for x in X if x in expr.free_symbols)
    thetas = tuple(t for t in THETA if t in expr.free_symbols)
    return ss.Density.from_log_density(expr, xs, thetas)


def _eval(density, expr, x, theta):
    f = mp_callable(expr, list(density.variables) + list(density.params))

    def g(v):
        with mp.workdps(max(50, mp.mp.dps)):
            return f(*(list(v) + list(theta)))
    return g


points = st.lists(st.floats(-1, 1), min_size=3, max_size=3)
thetas = st.lists(st.floats(-1.5, 1.5), min_size=2, max_size=2)


@settings(max_examples=40, deadline=None)
@given(expr=smooth_exprs, x=points, theta=thetas)
def test_divergence_is_sum_of_second_derivatives(expr, x, theta):
    d = _density(expr)
    x, theta = x[:d.dim], theta[:d.n_params]
    f = _eval(d, d.log_density, x, theta)
    # the stabilising rewrite is an identity
    assert rel_err(f(x), _eval(d, expr, x, theta)(x)) < 1e-40
    assert rel_err(_eval(d, d.divergence, x, theta)(x), fd_laplacian(f, x)) < 1e-15


@settings(max_examples=25, deadline=None)
@given(expr=smooth_exprs, x=points, theta=thetas)
def test_hessian_is_symmetric_jacobian_of_score(expr, x, theta):
    d = _density(expr)
    x, theta = x[:d.dim], theta[:d.n_params]
    H = _eval(d, d.hessian, x, theta)(x)
    n = d.dim
    assert H == [H[j * n + i] for i in range(n) for j in range(n)]  # symmetric
    J = fd_jacobian(_eval(d, d.score, x, theta), x)
    assert rel_err(H, [J[i][j] for i in range(n) for j in range(n)]) < 1e-20
    Hf = fd_hessian(_eval(d, d.log_density, x, theta), x)
    assert rel_err(H, [Hf[i][j] for i in range(n) for j in range(n)]) < 1e-15
    # the trace of the Hessian is the divergence (both code paths agree)
    fresh = ss.Density.from_log_density(expr, d.variables, d.params)
    assert sp.expand(fresh.divergence - sp.Add(*d.hessian.diagonal())) == 0


@settings(max_examples=25, deadline=None)
@given(expr=smooth_exprs)
def test_normaliser_drops_out(expr):
    d = _density(expr)
    check = calculus.normaliser_drops_out(d)
    assert check.holds
    assert check.score == d.score
    Z = [f for f in check.normalised_score.atoms(sp.Function) if f.func.__name__ == "Z"]
    assert all(z.free_symbols <= set(d.params) for z in Z)


def test_normaliser_check_detects_x_dependence():
    """The check is not vacuous: an x-dependent 'normaliser' would not drop out."""
    x = X[0]
    d = ss.Density.from_log_density(-x**2, [x])
    log_p = sp.log(sp.exp(d.log_density) / sp.Function("Z", positive=True)(x))
    diff = sp.diff(log_p, x) - d.score[0]
    assert sp.expand(sp.powsimp(diff)) != 0


@settings(max_examples=30, deadline=None)
@given(expr=parametric_exprs, x=points, theta=thetas)
def test_param_gradient_matches_finite_differences_in_theta(expr, x, theta):
    d = _density(expr)
    x, theta = x[:d.dim], theta[:d.n_params]
    for integrand in (d.log_density, objectives.ism_integrand(d)):
        grad = calculus.param_gradient(d, integrand)
        assert grad.shape == (d.n_params, 1)
        got = [_eval(d, g, x, theta)(x) for g in grad]
        f = mp_callable(integrand, list(d.variables) + list(d.params))

        def in_theta(t):
            with mp.workdps(max(50, mp.mp.dps)):
                return f(*(list(x) + list(t)))
        assert rel_err(got, fd_gradient(in_theta, theta)) < 1e-20


def test_param_gradient_rejects_non_expressions():
    d = ss.families.gaussian(1)
    with pytest.raises(ss.SymscoreError, match="Matrix"):
        calculus.param_gradient(d, d.score)


def test_calculus_is_cached_and_exact():
    d = ss.families.gaussian_mixture(2, 2)
    assert d.score is d.score and d.hessian is d.hessian
    assert calculus.score(d) == d.score and calculus.hessian(d) == d.hessian
    x = X[0]
    a = sp.Symbol("a", positive=True)
    q = ss.Density.from_energy(a * x**4 / 4, [x], [a])
    assert q.score[0] == -a * x**3 and q.divergence == -3 * a * x**2


def test_normaliser_drops_out_when_expansion_alone_leaves_exponentials():
    # found by hypothesis: expand(powsimp(·)) left e^{x²}(x² + 2) in a denominator
    x = X[0]
    d = ss.Density.from_log_density(x**2 + sp.log(x**2 + 2), [x])
    assert calculus.normaliser_drops_out(d).holds
