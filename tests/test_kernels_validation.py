"""Every validation path of the kernels API raises a SymscoreError subclass whose
message names the offending argument, shape or value."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore.errors import (BackendUnavailableError, CodegenError, DomainError,
                             InputValueError, ShapeError, SymscoreError)

G2 = ss.families.gaussian(dim=2)


@pytest.fixture(scope="module")
def k():
    return ss.compile(G2, target="numpy")


@pytest.fixture(scope="module")
def k_strict():
    return ss.compile(G2, target="numpy", copy=False)


X = np.arange(12.0).reshape(6, 2) / 5


def test_import_does_not_import_numba():
    import subprocess
    code = "import sys, symscore; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("bad, match", [
    (np.zeros((5, 3)), r"shape \(N, 2\).*\(5, 3\)"),
    (np.zeros(2), r"single point needs shape \(1, 2\)"),
    (np.zeros((2, 2, 2)), r"shape \(N, 2\)"),
    (np.zeros((0, 2)), "no samples"),
    (np.zeros((3, 2), dtype=complex), "real numbers.*complex"),
    (np.array([["a", "b"]]), "real numbers"),
    (np.zeros((3, 2), dtype=bool), "real numbers.*bool"),
    ([[1.0, 2.0], [3.0]], "array of real numbers|real numbers"),
])
def test_bad_sample_arrays(k, bad, match):
    with pytest.raises(ShapeError, match=match):
        k.ism_loss(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_name_the_entry(k, value):
    bad = X.copy()
    bad[4, 1] = value
    with pytest.raises(InputValueError, match=r"X\[4, 1\] = .* not finite"):
        k.score(bad)


def test_float32_overflow_is_reported():
    k32 = ss.compile(G2, target="numpy", dtype="float32")
    with pytest.raises(InputValueError, match=r"X\[0, 0\].*float32"):
        k32.score(np.array([[1e300, 0.0]]))
    with pytest.raises(DomainError, match="mu_0.*overflows float32"):
        k32.score(X, [1e300, 0, 1, 0, 1])


def test_copy_policy(k, k_strict):
    nc = np.asfortranarray(X)
    assert not nc.flags.c_contiguous
    np.testing.assert_array_equal(k.score(nc), k.score(X))
    x32 = X.astype(np.float32)
    np.testing.assert_array_equal(k.score(x32), k.score(x32.astype(np.float64)))
    np.testing.assert_array_equal(k.score(X.astype(np.int64)), k.score(np.trunc(X)))
    np.testing.assert_array_equal(k.score(X[:, ::-1][:, ::-1]), k.score(X))
    with pytest.raises(ShapeError, match="C-contiguous float64"):
        k_strict.score(nc)
    with pytest.raises(ShapeError, match="dtype float32"):
        k_strict.score(X.astype(np.float32))
    assert k_strict.ism_loss(X) == k.ism_loss(X)


@pytest.mark.parametrize("theta, err, match", [
    ([0.0, 0.0, 1.0], ShapeError, r"shape \(5,\)"),
    ([[0.0] * 5], ShapeError, r"shape \(5,\)"),
    ({"mean": [0, 0], "prec_chol": [[1, 0], [0, 1]], "bogus": 1}, DomainError, "bogus"),
    ({"mean": [0, 0]}, DomainError, "no value given.*L_0_0"),
    ({"mean": [0, 0, 0], "prec_chol": [[1, 0], [0, 1]]}, ShapeError, "mean"),
    ([0.0, 0.0, -1.0, 0.0, 1.0], DomainError, "L_0_0 = .*-1.0"),
    ([0.0, np.nan, 1.0, 0.0, 1.0], DomainError, "mu_1"),
    ("theta", ShapeError, "θ must"),
])
def test_bad_theta(k, theta, err, match):
    with pytest.raises(err, match=match):
        k.score(X, theta)


def test_theta_none_without_defaults():
    x, m = sp.symbols("x m", real=True)
    d = ss.Density.from_log_density(-(x - m)**2 / 2, [x], [m])
    kd = ss.compile(d, target="numpy")
    with pytest.raises(DomainError, match="no θ given.*no default"):
        kd.score(np.zeros((2, 1)))
    assert kd.score(np.zeros((2, 1)), [1.0]).tolist() == [[1.0], [1.0]]


@pytest.mark.parametrize("sigma, match", [
    (0.0, "sigma = 0.0 must be positive"), (-1.0, "must be positive"),
    (np.nan, "must be positive"), ([1.0, -2.0], "sigma = -2.0"), ([], "1-D sequence"),
    ([[1.0]], "1-D sequence"), ("big", "positive number"),
])
def test_bad_sigma(k, sigma, match):
    with pytest.raises(DomainError, match=match):
        k.dsm_loss(X, None, sigma, seed=0)


def test_bad_dsm_noise_and_seed(k):
    with pytest.raises(SymscoreError, match="either seed or noise"):
        k.dsm_loss(X, None, 1.0, seed=0, noise=np.zeros_like(X))
    with pytest.raises(ShapeError, match=r"noise must have shape \(6, 2\)"):
        k.dsm_loss(X, None, 1.0, noise=np.zeros((5, 2)))
    with pytest.raises(ShapeError, match=r"noise must have shape \(2, 6, 2\)"):
        k.dsm_loss(X, None, [1.0, 0.5], noise=np.zeros_like(X))
    bad = np.zeros_like(X)
    bad[2, 0] = np.nan
    with pytest.raises(InputValueError, match=r"noise\[2, 0\]"):
        k.dsm_loss(X, None, 1.0, noise=bad)
    for seed in (-1, 1.5, "s", True):
        with pytest.raises(SymscoreError, match="seed must be"):
            k.dsm_loss(X, None, 1.0, seed=seed)


def test_bad_ssm_arguments(k):
    for n in (0, -3, 2.0, True):
        with pytest.raises(SymscoreError, match="n_projections"):
            k.ssm_loss(X, None, n, seed=0)
    with pytest.raises(SymscoreError, match="kind must be"):
        k.ssm_loss(X, None, 1, "uniform", seed=0)


def test_bad_reference_and_weights(k):
    with pytest.raises(ShapeError, match="reference density has dimension 1"):
        k.esm_loss(X, None, ss.families.gaussian(dim=1))
    with pytest.raises(SymscoreError, match="reference must be a symscore Density"):
        k.esm_loss(X, None, "gaussian")
    with pytest.raises(DomainError, match="L_0_0"):
        k.esm_loss(X, None, G2, [0, 0, -1, 0, 1])
    x0, x1 = G2.variables
    with pytest.raises(SymscoreError, match="one weight per coordinate"):
        k.weighted_ism_loss(X, None, [x0**2])
    with pytest.raises(SymscoreError, match="may depend on x_0 only"):
        k.weighted_ism_loss(X, None, [x1**2, x1**2])
    with pytest.raises(SymscoreError, match="sympy expressions"):
        k.weighted_ism_loss(X, None, ["import os", 1])
    with pytest.raises(SymscoreError, match="sequence of D sympy"):
        k.weighted_ism_loss(X, None, "x_0")


def test_bad_compile_arguments():
    with pytest.raises(CodegenError, match="unknown target 'gpu'"):
        ss.compile(G2, target="gpu")
    with pytest.raises(CodegenError, match="dtype must be"):
        ss.compile(G2, dtype="float16")
    with pytest.raises(CodegenError, match="dtype must be"):
        ss.compile(G2, dtype="banana")
    with pytest.raises(SymscoreError, match="needs a symscore Density"):
        ss.compile("x**2")


def test_unsupported_function_fails_at_compile_not_silently():
    x = sp.Symbol("x", real=True)
    d = ss.Density.from_log_density(-x**2 / 2 + sp.log(sp.besselj(0, x)**2 + 1), [x])
    with pytest.raises(CodegenError, match="besselj"):
        ss.compile(d, target="numpy").score(np.zeros((1, 1)))


def test_cuda_target_without_gpu_is_a_clear_error():
    try:
        from symscore.backends.cuda import cuda_status
        ok, _ = cuda_status()
    except ImportError:
        ok = False
    if ok:
        pytest.skip("a GPU is present")
    with pytest.raises(BackendUnavailableError, match="cuda"):
        ss.compile(G2, target="cuda")
