"""``Kernels.weighted_ism_loss_and_grad``: the fused weighted ISM loss and its
θ-gradient, against the numpy target, central differences of the weighted loss
in θ, the existing ``weighted_ism_loss`` and, for the gamma family with
h = x², the closed form (s = (a−1)/x − b):
J = ½((a−1) − bx)² + (a−1) − 2bx, ∂J/∂a = a − bx, ∂J/∂b = −x((a−1) − bx) − 2x.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symscore as ss

pytest.importorskip("numba")

EXP2 = ss.families.exponential(dim=2)
GAMMA = ss.families.gamma(dim=1)
_x0, _x1 = EXP2.variables
_g = GAMMA.variables[0]

# (density, weights or None for the defaults, θ)
CASES = {
    "exponential2-default": (EXP2, None, [0.7, 1.6]),
    "exponential2-custom": (EXP2, (_x0**3, _x1**2 / (1 + _x1)), [1.3, 0.4]),
    "gamma1-default": (GAMMA, None, [2.5, 1.7]),
    "gamma1-custom": (GAMMA, (_g**3 / (1 + _g),), [3.2, 0.8]),
}


def _close(a, b, rel):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(1.0, float(np.max(np.abs(b))))
    assert float(np.max(np.abs(a - b))) <= rel * scale, (a, b)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    d, w, th = CASES[request.param]
    X = np.random.default_rng(3).gamma(2.0, 1.0, size=(700, d.dim)) + 0.05
    return {"cpu": ss.compile(d, "cpu"), "np": ss.compile(d, "numpy"), "w": w,
            "theta": np.array(th), "X": X}


def test_gradient_agrees_with_numpy_target_and_loss_with_weighted_loss(case):
    X, th, w = case["X"], case["theta"], case["w"]
    loss, grad = case["cpu"].weighted_ism_loss_and_grad(X, th, weights=w)
    loss_np, grad_np = case["np"].weighted_ism_loss_and_grad(X, th, weights=w)
    assert isinstance(loss, float) and grad.dtype == np.float64 and grad.shape == th.shape
    _close(grad, grad_np, 1e-12)
    assert loss == pytest.approx(loss_np, rel=1e-12)
    assert loss == pytest.approx(case["cpu"].weighted_ism_loss(X, th, weights=w), rel=1e-12)
    assert loss_np == pytest.approx(case["np"].weighted_ism_loss(X, th, weights=w), rel=1e-12)


def test_gradient_matches_central_differences_of_the_weighted_loss(case):
    X, th, w = case["X"], case["theta"], case["w"]
    _, grad = case["cpu"].weighted_ism_loss_and_grad(X, th, weights=w)
    h = 1e-6
    f = case["np"].weighted_ism_loss
    fd = np.array([(f(X, th + h * e, weights=w) - f(X, th - h * e, weights=w)) / (2 * h)
                   for e in np.eye(th.size)])
    _close(grad, fd, 1e-6)


@pytest.fixture(scope="module")
def gamma_kernels():
    return {"cpu": ss.compile(GAMMA, "cpu"), "numpy": ss.compile(GAMMA, "numpy")}


@settings(max_examples=15, deadline=None)
@given(a=st.floats(0.6, 8.0), b=st.floats(0.2, 5.0),
       xs=st.lists(st.floats(0.01, 20.0), min_size=1, max_size=40),
       target=st.sampled_from(["cpu", "numpy"]))
def test_gamma_default_weights_match_closed_form(gamma_kernels, a, b, xs, target):
    x = np.array(xs)
    r = (a - 1) - b * x
    want_loss = np.mean(0.5 * r**2 + (a - 1) - 2 * b * x)
    want_grad = [np.mean(a - b * x), np.mean(-x * r - 2 * x)]
    loss, grad = gamma_kernels[target].weighted_ism_loss_and_grad(x[:, None], [a, b])
    assert loss == pytest.approx(want_loss, rel=1e-10, abs=1e-10)
    _close(grad, want_grad, 1e-10)


def test_bad_weights_and_inputs_raise_symscore_errors(gamma_kernels):
    k = gamma_kernels["numpy"]
    with pytest.raises(ss.SymscoreError, match="one weight per coordinate"):
        k.weighted_ism_loss_and_grad([[1.0]], None, weights=[_g, _g])
    y = sp.Symbol("y", real=True)
    with pytest.raises(ss.SymscoreError, match="uses \\['y'\\]"):
        k.weighted_ism_loss_and_grad([[1.0]], None, weights=[y * _g])
    with pytest.raises(ss.SymscoreError, match="shape"):
        k.weighted_ism_loss_and_grad([1.0, 2.0], None)


def test_target_without_a_generic_gradient_path_raises():
    k = ss.compile(GAMMA, "numpy")
    k._ops, k.target = object(), "cuda"  # stands for an ops class with no grad_sum
    with pytest.raises(ss.BackendUnavailableError, match="weighted_ism_loss_and_grad"):
        k.weighted_ism_loss_and_grad([[1.0]], None)
