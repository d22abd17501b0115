"""Compiled kernels against the numpy target and independent oracles.

Oracles: closed-form mixture score/divergence (tests/oracles.py), 50-digit
mpmath finite differences, central differences of the loss for θ-gradients,
direct formulas built from the score kernel (DSM, ESM, weighted ISM), and
exact identities (1-D Rademacher SSM = ISM, ESM of a model against itself = 0).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symscore as ss
from oracles import (fd_gradient, fd_laplacian, log_density_mp, mixture_score_numpy,
                     rel_err)

numba = pytest.importorskip("numba")

GM = ss.families.gaussian_mixture(dim=2, components=3)


def _theta(density, seed=0, scale=0.2):
    """Defaults perturbed (positive parameters stay positive)."""
    rng = np.random.default_rng(seed)
    th = np.array(density.defaults, dtype=float)
    pos = np.array([not dom.contains(-1) for dom in density.domains])
    noise = rng.normal(scale=scale, size=th.shape)
    return np.where(pos, th * np.exp(noise), th + noise)


@pytest.fixture(scope="module")
def gm():
    th = _theta(GM)
    X = np.random.default_rng(1).normal(scale=3.0, size=(3000, 2))
    return {"cpu": ss.compile(GM, "cpu"), "np": ss.compile(GM, "numpy"), "theta": th, "X": X}


def _close(a, b, rtol):
    a, b = np.asarray(a, float), np.asarray(b, float)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b)))))


# -- cpu target == numpy target ------------------------------------------------------------

@pytest.mark.parametrize("what", ["log_density", "score", "divergence", "ism"])
def test_per_sample_agrees_with_numpy_target(gm, what):
    got = getattr(gm["cpu"], what)(gm["X"], gm["theta"])
    want = getattr(gm["np"], what)(gm["X"], gm["theta"])
    assert got.shape == want.shape == ((3000, 2) if what == "score" else (3000,))
    _close(got, want, 1e-12)


def test_ism_loss_is_mean_of_ism_and_matches_numpy(gm):
    X, th = gm["X"], gm["theta"]
    loss = gm["cpu"].ism_loss(X, th)
    assert loss == pytest.approx(float(np.mean(gm["cpu"].ism(X, th))), rel=1e-12)
    assert loss == pytest.approx(gm["np"].ism_loss(X, th), rel=1e-12)


def test_loss_and_grad_matches_numpy_and_finite_differences(gm):
    X, th = gm["X"][:800], gm["theta"]
    loss, grad = gm["cpu"].ism_loss_and_grad(X, th)
    loss_np, grad_np = gm["np"].ism_loss_and_grad(X, th)
    assert loss == pytest.approx(gm["cpu"].ism_loss(X, th), rel=1e-12)
    assert loss == pytest.approx(loss_np, rel=1e-12)
    _close(grad, grad_np, 1e-11)
    h = 1e-6
    fd = np.array([(gm["np"].ism_loss(X, th + h * e) - gm["np"].ism_loss(X, th - h * e)) / (2 * h)
                   for e in np.eye(th.size)])
    _close(grad, fd, 1e-6)


def test_closed_form_mixture_score_and_divergence(gm):
    p = ss.unpack(GM, gm["theta"])
    w = np.exp(p["logits"] - p["logits"].max())
    w /= w.sum()
    covs = [np.linalg.inv(L @ L.T) for L in p["prec_chol"]]
    X = gm["X"][:50]
    s = gm["cpu"].score(X, gm["theta"])
    div = gm["cpu"].divergence(X, gm["theta"])
    for i, x in enumerate(X):
        s_ref, div_ref = mixture_score_numpy(w, p["means"], covs, x)
        _close(s[i], s_ref, 1e-10)
        assert div[i] == pytest.approx(div_ref, rel=1e-9, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(angle=st.floats(0, 2 * math.pi), log_r=st.floats(0, 6))
def test_mixture_far_away_matches_50_digit_mpmath(gm, angle, log_r):
    """Finite and accurate to 1e-8 (relative) up to ‖x‖ = 1e6."""
    x = 10.0**log_r * np.array([math.cos(angle), math.sin(angle)])
    X, th = x[None, :], gm["theta"]
    f = log_density_mp(GM, th)
    with mp.workdps(50):
        lp, grad, lap = f(list(x)), fd_gradient(f, list(x)), fd_laplacian(f, list(x))
    got_lp = gm["cpu"].log_density(X, th)[0]
    got_s = gm["cpu"].score(X, th)[0]
    got_div = gm["cpu"].divergence(X, th)[0]
    assert np.all(np.isfinite([got_lp, got_div, *got_s]))
    assert rel_err([got_lp], [lp], floor=0) < 1e-8
    assert rel_err(list(got_s), grad, floor=0) < 1e-8
    assert rel_err([got_div], [lap], floor=0) < 1e-8


def test_float32_within_float32_tolerance(gm):
    k32 = ss.compile(GM, "cpu", "float32")
    X, th = gm["X"], gm["theta"]
    s32 = k32.score(X, th)
    assert s32.dtype == np.float32
    _close(s32, gm["cpu"].score(X, th), 2e-5)
    _close(k32.ism(X, th), gm["cpu"].ism(X, th), 2e-5)
    assert k32.ism_loss(X, th) == pytest.approx(gm["cpu"].ism_loss(X, th), rel=1e-5)
    l32, g32 = k32.ism_loss_and_grad(X[:500], th)
    l64, g64 = gm["cpu"].ism_loss_and_grad(X[:500], th)
    assert l32 == pytest.approx(l64, rel=1e-5)
    _close(g32, g64, 1e-4)


def test_results_do_not_depend_on_thread_count(gm):
    X = np.random.default_rng(5).normal(size=(20000, 2))
    th = gm["theta"]
    old = numba.get_num_threads()
    res = []
    try:
        for t in sorted({1, old}):
            numba.set_num_threads(t)
            res.append((gm["cpu"].ism_loss(X, th), gm["cpu"].ism_loss_and_grad(X, th)[1].tolist(),
                        gm["cpu"].score(X, th).tobytes()))
    finally:
        numba.set_num_threads(old)
    assert all(r == res[0] for r in res)


# -- the other objectives ----------------------------------------------------------------

def test_dsm_with_given_noise_matches_direct_formula(gm):
    X, th = gm["X"][:1000], gm["theta"]
    Z = np.random.default_rng(2).normal(size=X.shape)
    sigma = 0.7
    s = gm["cpu"].score(X + sigma * Z, th)
    want = np.mean(0.5 * np.sum((s + Z / sigma) ** 2, axis=1))
    assert gm["cpu"].dsm_loss(X, th, sigma, noise=Z) == pytest.approx(want, rel=1e-12)
    sig = [1.5, 0.5]
    ZZ = np.random.default_rng(3).normal(size=(2,) + X.shape)
    want_l = np.mean([np.mean(0.5 * np.sum((sl * gm["cpu"].score(X + sl * z, th) + z) ** 2,
                                           axis=1)) for sl, z in zip(sig, ZZ)])
    assert gm["cpu"].dsm_loss(X, th, sig, noise=ZZ) == pytest.approx(want_l, rel=1e-12)


def test_dsm_seeded_reproducible_and_same_on_both_targets(gm):
    X, th = gm["X"], gm["theta"]
    a = gm["cpu"].dsm_loss(X, th, [1.0, 0.3], seed=11)
    assert a == gm["cpu"].dsm_loss(X, th, [1.0, 0.3], seed=11)
    assert a != gm["cpu"].dsm_loss(X, th, [1.0, 0.3], seed=12)
    assert a == pytest.approx(gm["np"].dsm_loss(X, th, [1.0, 0.3], seed=11), rel=1e-12)


def test_ssm_agrees_with_numpy_and_its_expectation_is_ism(gm):
    X, th = gm["X"][:400], gm["theta"]
    for kind in ("rademacher", "gaussian"):
        a = gm["cpu"].ssm_loss(X, th, 3, kind, seed=4)
        assert a == pytest.approx(gm["np"].ssm_loss(X, th, 3, kind, seed=4), rel=1e-12)
    many = gm["cpu"].ssm_loss(X, th, 400, "rademacher", seed=1)
    ism = gm["cpu"].ism_loss(X, th)
    assert abs(many - ism) < 0.02 * abs(ism) + 0.05


def test_ssm_in_one_dimension_with_rademacher_is_exactly_ism():
    d = ss.families.logistic()
    k = ss.compile(d, "cpu")
    X = np.linspace(-4, 4, 301)[:, None]
    assert k.ssm_loss(X, None, 2, "rademacher", seed=0) == pytest.approx(k.ism_loss(X), rel=1e-12)


def test_esm_matches_direct_formula_and_vanishes_at_the_reference(gm):
    ref = ss.families.gaussian(dim=2)
    X, th = gm["X"][:1000], gm["theta"]
    kref = ss.compile(ref, "numpy")
    want = np.mean(0.5 * np.sum((gm["cpu"].score(X, th) - kref.score(X)) ** 2, axis=1))
    assert gm["cpu"].esm_loss(X, th, ref) == pytest.approx(want, rel=1e-12)
    assert gm["np"].esm_loss(X, th, ref) == pytest.approx(want, rel=1e-12)
    assert gm["cpu"].esm_loss(X, th, GM, th) == pytest.approx(0.0, abs=1e-20)


def test_weighted_ism_on_a_half_line_matches_formula():
    d = ss.families.gamma()
    kc, kn = ss.compile(d, "cpu"), ss.compile(d, "numpy")
    X = np.linspace(0.05, 6.0, 500)[:, None]
    th = d.defaults
    s, div, x = kc.score(X, th)[:, 0], kc.divergence(X, th), X[:, 0]
    want = 0.5 * x**2 * s**2 + x**2 * div + 2 * x * s  # h = x², h' = 2x
    _close(kc.weighted_ism(X, th), want, 1e-12)
    assert kc.weighted_ism_loss(X, th) == pytest.approx(float(np.mean(want)), rel=1e-12)
    assert kn.weighted_ism_loss(X, th) == pytest.approx(float(np.mean(want)), rel=1e-12)
    x_sym = d.variables[0]
    ones = kc.weighted_ism_loss(X, th, weights=[x_sym**0])
    assert ones == pytest.approx(kc.ism_loss(X, th), rel=1e-12)


@pytest.mark.parametrize("name", ["student_t", "gaussian_bernoulli_rbm"])
def test_other_families_agree_with_numpy_and_finite_differences(name):
    d = getattr(ss.families, name)()
    kc, kn = ss.compile(d, "cpu"), ss.compile(d, "numpy")
    X = np.random.default_rng(7).normal(scale=2.0, size=(500, d.dim))
    th = np.array(d.defaults)
    _close(kc.ism(X, th), kn.ism(X, th), 1e-12)
    _close(kc.score(X, th), kn.score(X, th), 1e-12)
    f = log_density_mp(d, th)
    for x in X[:3]:
        with mp.workdps(50):
            assert rel_err(list(kc.score(x[None], th)[0]), fd_gradient(f, list(x))) < 1e-12
            assert rel_err([kc.divergence(x[None], th)[0]], [fd_laplacian(f, list(x))]) < 1e-11


def test_mapping_theta_and_defaults(gm):
    X = gm["X"][:10]
    p = ss.unpack(GM, gm["theta"])
    np.testing.assert_array_equal(gm["cpu"].score(X, p), gm["cpu"].score(X, gm["theta"]))
    np.testing.assert_array_equal(gm["cpu"].score(X), gm["cpu"].score(X, GM.defaults))


def test_empty_input_gives_empty_per_sample_results(gm):
    X = np.empty((0, 2))
    assert gm["cpu"].score(X, gm["theta"]).shape == (0, 2)
    assert gm["cpu"].ism(X, gm["theta"]).shape == (0,)


def test_module_exposes_contract_functions(gm):
    mod = gm["cpu"].module
    for name in ("consts", "logp", "score", "logp_score", "score_c", "logp_score_c",
                 "score_col", "logp_score_col"):
        assert callable(getattr(mod, name)), name
    x = np.array([0.3, -1.2])
    out = np.empty(2)
    lp = mod.logp_score(x, gm["theta"], out)
    assert lp == pytest.approx(gm["cpu"].log_density(x[None], gm["theta"])[0], rel=1e-14)
    _close(out, gm["cpu"].score(x[None], gm["theta"])[0], 1e-14)
