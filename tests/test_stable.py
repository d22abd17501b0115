"""Stable primitives: derivatives vs finite differences, numeric evaluation vs
mpmath at extreme arguments, and the rewrite of naive forms (an identity)."""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symscore.stable import LogSumExp, Sigmoid, Softplus, log1p, stabilize

from oracles import (FLOAT_FUNCTIONS, fd_gradient, float_callable, mp_callable, rel_err)

a, b, c, z = sp.symbols("a b c z", real=True)
w1, w2 = sp.symbols("w1 w2", positive=True)
u = sp.Symbol("u")  # no assumptions

args = st.floats(-30, 30)


def _mp(expr, syms, vals, dps=50):
    with mp.workdps(dps):
        return mp_callable(expr, syms)(*vals)


# -- derivatives ---------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(vals=st.lists(args, min_size=1, max_size=4))
def test_logsumexp_gradient_is_softmax(vals):
    syms = sp.symbols(f"a0:{len(vals)}", real=True)
    f = LogSumExp(*syms)
    naive = sp.log(sp.Add(*[sp.exp(s) for s in syms]))  # the oracle: the naive form
    g_fd = fd_gradient(lambda v: _mp(naive, syms, v), vals)
    g = [_mp(sp.diff(f, s), syms, vals) for s in syms]
    assert rel_err(g, g_fd) < 1e-25
    with mp.workdps(50):
        assert abs(mp.fsum(g) - 1) < 1e-40  # softmax weights sum to one
        if len(syms) > 1:  # second derivatives: ∂ⱼ wᵢ = wᵢ(δᵢⱼ − wⱼ)
            h = _mp(sp.diff(f, syms[0], syms[1]), syms, vals)
            assert rel_err(h, -g[0] * g[1]) < 1e-40


@settings(max_examples=30, deadline=None)
@given(v=st.floats(-40, 40))
def test_softplus_and_sigmoid_derivatives(v):
    for f, naive in [(Softplus(z), sp.log(1 + sp.exp(z))), (Sigmoid(z), 1 / (1 + sp.exp(-z))),
                     (Sigmoid(z).diff(z), (1 / (1 + sp.exp(-z))).diff(z))]:
        fd = fd_gradient(lambda x: _mp(naive, [z], x), [v])[0]
        # FD cancels against |f| ≤ 1 (sigmoid → 1): absolute 1e-33, so floor the scale
        assert rel_err(_mp(f.diff(z), [z], [v]), fd, floor=1e-8) < 1e-25
    assert Softplus(z).diff(z) == Sigmoid(z)
    assert Sigmoid(z).diff(z) == Sigmoid(z) * (1 - Sigmoid(z))


def test_chain_rule_through_primitives():
    e = LogSumExp(a * b, Softplus(a - b), c**2)
    for s in (a, b, c):
        vals = [0.7, -1.3, 0.4]
        naive = e.rewrite(sp.log).rewrite(sp.log)
        fd = fd_gradient(lambda v: _mp(naive, [a, b, c], v), vals)
        got = [_mp(sp.diff(e, t), [a, b, c], vals) for t in (a, b, c)]
        assert rel_err(got, fd) < 1e-25


# -- numeric evaluation ------------------------------------------------------------

EXTREME = [-1e4, -800.0, -40.0, -1.5, 0.0, 2.5, 40.0, 800.0, 1e4]


@pytest.mark.parametrize("v", EXTREME)
def test_evalf_matches_mpmath_at_extremes(v):
    with mp.workdps(60):
        x = mp.mpf(v)
        sp_ref = mp.log1p(mp.exp(x))
        sg_ref = 1 / (1 + mp.exp(-x))
        exact = sp.Rational(repr(v))  # a Float argument would evaluate at once, to 15 digits
        for expr, ref in [(Softplus(exact), sp_ref), (Sigmoid(exact), sg_ref)]:
            got = expr.evalf(40)
            assert got.is_Float and got != 0
            assert abs(mp.mpf(got._mpf_) / ref - 1) < mp.mpf(10)**-35, (expr, got, ref)


def test_logsumexp_evalf_matches_mpmath():
    with mp.workdps(60):
        for vals in ([1000, 1001, -100000], [-100000, -100001], [0, 0, 0], [-1e4, 3]):
            exact = [sp.Integer(int(v)) for v in vals]
            ref = mp.log(mp.fsum(mp.exp(mp.mpf(v)) for v in vals))
            got = LogSumExp(*exact).evalf(40)
            assert abs(mp.mpf(got._mpf_) - ref) <= mp.mpf(10)**-35 * max(1, abs(ref))
    assert LogSumExp(a, b).evalf() == LogSumExp(a, b)  # symbolic stays symbolic
    assert LogSumExp(a, 2 * a).evalf(subs={a: -3}).is_Float
    assert Softplus(z).subs(z, -1000).evalf() > 0  # relative accuracy, not 0
    assert LogSumExp(a) == a and Softplus(0) == sp.log(2) and Sigmoid(0) == sp.Rational(1, 2)
    with pytest.raises(TypeError):
        LogSumExp()


@settings(max_examples=40, deadline=None)
@given(vals=st.lists(st.floats(-1e5, 1e5), min_size=1, max_size=5))
def test_float_implementations_are_stable(vals):
    """The float64 formulas a kernel uses agree with 50-digit mpmath anywhere."""
    with mp.workdps(50):
        ref = mp.log(mp.fsum(mp.exp(mp.mpf(v)) for v in vals))
        assert abs(FLOAT_FUNCTIONS["LogSumExp"](*vals) - ref) <= 1e-15 * max(1, abs(ref)) * 4
        for v in vals:
            for name, ref in [("Softplus", mp.log1p(mp.exp(mp.mpf(v)))),
                              ("Sigmoid", 1 / (1 + mp.exp(-mp.mpf(v))))]:
                got = FLOAT_FUNCTIONS[name](v)
                if ref > 1e-300:  # relative accuracy in the normal range
                    assert abs(got / ref - 1) < 1e-14, (name, v)
                else:  # subnormal or underflow: absolute
                    assert abs(got - ref) < 1e-320, (name, v)


def test_attributes_and_latex():
    assert LogSumExp(a, b).is_extended_real and Softplus(a).is_positive
    assert Sigmoid(a).is_positive and LogSumExp(a, u).is_extended_real is None
    assert sp.latex(LogSumExp(a, b)) == r"\operatorname{logsumexp}\left(a, b\right)"
    assert "softplus" in sp.latex(Softplus(a)) and r"\sigma" in sp.latex(Sigmoid(a))
    assert sp.simplify(LogSumExp(a, b).rewrite(sp.log) - sp.log(sp.exp(a) + sp.exp(b))) == 0


# -- rewrites -----------------------------------------------------------------

REWRITES = [
    (sp.log(sp.exp(a) + sp.exp(b)), LogSumExp(a, b)),
    (sp.log(w1 * sp.exp(a) + w2 * sp.exp(b) + sp.exp(c)),
     LogSumExp(a + sp.log(w1), b + sp.log(w2), c)),
    (sp.log(1 + sp.exp(z)), Softplus(z)),
    (sp.log(sp.exp(-z) + 1), Softplus(-z)),
    (sp.log(sp.cosh(a)), Softplus(2 * a) - a - sp.log(2)),
    (sp.log(1 + a**2), log1p(a**2)),
    (sp.log(sp.exp(a)), a),
    (sp.log(w1 * w2), sp.log(w1) + sp.log(w2)),
    (sp.log(w1**3), 3 * sp.log(w1)),
    (-2 * sp.log(sp.cosh(sp.pi * a / (2 * sp.sqrt(3)))),
     -2 * (Softplus(sp.pi * a / sp.sqrt(3)) - sp.pi * a / (2 * sp.sqrt(3)) - sp.log(2))),
    (sp.exp(-a**2) * sp.log(1 + sp.exp(a * sp.log(1 + b**2))), None),  # nested: inner first
]


@pytest.mark.parametrize("naive, stable", REWRITES)
def test_rewrite_forms(naive, stable):
    got = stabilize(naive)
    if stable is not None:
        assert sp.expand(got - stable) == 0, got
    else:
        assert got.has(Softplus) and got.has(log1p) and not got.has(sp.log(1 + b**2))


def test_mixture_with_positive_weights_rewrites():
    x = sp.Symbol("x", real=True)
    mix = w1 * sp.exp(-(x - a)**2 / 2) + w2 * sp.exp(-(x - b)**2 / 2)
    got = stabilize(sp.log(mix / (w1 + w2)))
    assert got.atoms(LogSumExp)
    assert not got.has(sp.exp)


@pytest.mark.parametrize("naive", [
    sp.log(sp.exp(a) - sp.exp(b)),           # a difference is no log-sum-exp
    sp.log(u * sp.exp(a) + sp.exp(b)),       # weight of unknown sign
    sp.log(a * sp.exp(a) + sp.exp(b)),       # real weight, maybe negative
    sp.log(sp.cosh(u)),                      # argument not known real
    sp.log(a**2 + sp.exp(b)),                # a**2 may be zero
])
def test_no_rewrite_without_positivity(naive):
    assert stabilize(naive) == naive


SYMS = [a, b, c, z, w1, w2]


@pytest.mark.parametrize("naive", [n for n, _ in REWRITES] + [
    sp.log(w1 * sp.exp(a * b) + sp.exp(-c**2) + w2),
    sp.log(1 + sp.exp(a)) * sp.log(sp.cosh(b)) + sp.log(1 + c**4),
])
def test_rewrite_is_an_identity_numerically(naive):
    """At 50 digits the stable and the naive forms agree at random points."""
    import random
    rng = random.Random(1)
    f_naive = mp_callable(naive, SYMS)
    f_stable = mp_callable(stabilize(naive), SYMS)
    for _ in range(5):
        vals = [rng.uniform(-3, 3) for _ in range(4)] + [rng.uniform(0.1, 3) for _ in range(2)]
        with mp.workdps(50):
            assert rel_err(f_stable(*vals), f_naive(*vals)) < 1e-40


def test_rewrite_survives_float_overflow():
    """Naive forms overflow in float64; the stabilised ones stay exact."""
    e = stabilize(sp.log(sp.exp(a) + sp.exp(b)) + sp.log(1 + sp.exp(c)) + sp.log(sp.cosh(z)))
    f = float_callable(e, [a, b, c, z])
    got = f(1000.0, 999.0, 800.0, -900.0)
    ref = 1000 + math.log1p(math.exp(-1)) + 800 + 900 - math.log(2)
    assert math.isfinite(got) and abs(got - ref) < 1e-12 * ref
    naive = sp.lambdify([a, b], sp.log(sp.exp(a) + sp.exp(b)), "math")
    with pytest.raises(OverflowError):
        naive(1000.0, 999.0)
