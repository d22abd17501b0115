"""Langevin samplers: statistics against closed forms, the compiled CPU drivers
against the NumPy reference implementation, reproducibility, diagnostics."""

import math
import warnings

import numpy as np
import pytest

import symscore as ss
from symscore.backends import rng
from symscore.sampling import NonFiniteChainsWarning

MU, SD = 1.0, 2.0
THETA_1D = {"mean": [MU], "prec_chol": [[1 / SD]]}   # N(1, 2²)
I2 = np.eye(2)


@pytest.fixture(scope="module")
def gauss1():
    d = ss.families.gaussian(dim=1)
    return ss.compile(d), ss.compile(d, target="numpy")


@pytest.fixture(scope="module")
def mixture():
    """The Song & Ermon toy mixture, noise-perturbed (σ is its only parameter)."""
    d = ss.families.gaussian_mixture_perturbed([0.2, 0.8], [[-5, -5], [5, 5]], [I2, 0.5 * I2])
    return ss.compile(d), ss.compile(d, target="numpy")


@pytest.fixture(scope="module")
def gauss3():
    d = ss.families.gaussian(dim=3, kind="full")
    L = np.array([[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [-0.3, 0.4, 0.8]])
    theta = {"mean": [1.0, -2.0, 0.5], "prec_chol": L}
    return ss.compile(d), ss.compile(d, target="numpy"), theta, np.linalg.inv(L @ L.T)


def _ula_variance(h, s=SD):
    """Stationary variance of ULA on N(μ, s²): x' = (1 − h/s²)x + hμ/s² + √(2h)z."""
    return s**2 / (1 - h / (2 * s**2))


# -- statistics against closed forms ---------------------------------------------------------

def test_ula_has_the_known_biased_stationary_variance(gauss1):
    k, _ = gauss1
    N, h = 20000, 1.0
    r = ss.langevin(k, np.zeros((N, 1)), THETA_1D, h, 120, seed=1)
    x = r.x[:, 0]
    v = _ula_variance(h)                       # 4/(1 − 1/8) = 4.571…
    se_v = v * math.sqrt(2 / N)
    assert abs(x.mean() - MU) < 4 * math.sqrt(v / N)
    assert abs(x.var() - v) < 4 * se_v
    assert abs(x.var() - SD**2) > 8 * se_v      # the bias is resolved: not N(1, 4)


def test_mala_targets_the_exact_variance(gauss1):
    k, _ = gauss1
    N, h = 20000, 1.0
    r = ss.mala(k, np.zeros((N, 1)), THETA_1D, h, 200, seed=2)
    x = r.x[:, 0]
    se_v = SD**2 * math.sqrt(2 / N)
    assert abs(x.mean() - MU) < 4 * SD / math.sqrt(N)
    assert abs(x.var() - SD**2) < 4 * se_v
    assert abs(x.var() - _ula_variance(h)) > 8 * se_v
    assert r.acceptance.shape == (N,) and 0.5 < r.acceptance.mean() < 1.0
    assert np.all((r.acceptance >= 0) & (r.acceptance <= 1))
    assert r.nonfinite_proposals.sum() == 0 and r.n_nonfinite == 0


def test_mala_covariance_in_three_dimensions(gauss3):
    k, _, theta, cov = gauss3
    N = 8000
    r = ss.mala(k, np.zeros((N, 3)), theta, 0.15, 300, seed=3)
    emp = np.cov(r.x.T)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / N)
    assert np.all(np.abs(emp - cov) < 5 * se)
    assert np.allclose(r.x.mean(0), theta["mean"], atol=5 * math.sqrt(cov.max() / N))


def test_step_convention_and_noise_order(gauss3):
    """One step is x + h·s(x) + √(2h)·z with z the chain's Box–Muller normals
    (coordinates (0, 1), (2, ·) from consecutive pairs)."""
    k, _, theta, _ = gauss3
    x0 = np.random.default_rng(0).normal(size=(5, 3))
    h = 0.3
    r = ss.langevin(k, x0, theta, h, 1, seed=9)
    z = rng.normals(9, 5, 4)[:, :3]
    assert np.allclose(r.x, x0 + h * k.score(x0, theta) + math.sqrt(2 * h) * z,
                       rtol=0, atol=1e-13)
    assert ss.step_from_paper_epsilon(0.1) == 0.05
    assert ss.paper_epsilon_from_step(ss.step_from_paper_epsilon(0.37)) == 0.37


# -- the compiled drivers against the NumPy reference ------------------------------------------

def _close(a, b, tol=1e-12):
    scale = max(1.0, float(np.max(np.abs(b))))
    return np.max(np.abs(a - b)) <= tol * scale


def test_cpu_equals_numpy_reference(mixture, gauss3):
    (kc, kn), x0 = mixture, np.random.default_rng(1).uniform(-8, 8, (300, 2))
    a, b = (ss.langevin(k, x0, [1.5], 0.05, 60, seed=4, thin=20) for k in (kc, kn))
    assert _close(a.x, b.x) and _close(a.trace, b.trace)
    assert np.array_equal(a.trace_steps, [20, 40, 60])
    a, b = (ss.mala(k, x0, [0.7], 0.1, 60, seed=5, thin=30) for k in (kc, kn))
    assert _close(a.x, b.x) and _close(a.trace, b.trace)
    assert np.array_equal(a.acceptance, b.acceptance)
    sig = ss.geometric_sigmas(10.0, 0.5, 4)
    a, b = (ss.annealed_langevin(k, x0, None, 0.01, 15, seed=6, sigmas=sig, denoise=True,
                                 thin=10) for k in (kc, kn))
    assert _close(a.x, b.x) and _close(a.trace, b.trace)
    kc3, kn3, theta, _ = gauss3                     # odd dimension
    x3 = np.zeros((70, 3))
    a, b = (ss.langevin(k, x3, theta, 0.05, 40, seed=7) for k in (kc3, kn3))
    assert _close(a.x, b.x)
    a, b = (ss.mala(k, x3, theta, 0.2, 40, seed=7) for k in (kc3, kn3))
    assert _close(a.x, b.x) and np.array_equal(a.acceptance, b.acceptance)


# -- reproducibility ---------------------------------------------------------------------

def test_same_seed_same_chains_other_seed_other_chains(mixture):
    k, _ = mixture
    x0 = np.zeros((40, 2))
    a = ss.langevin(k, x0, [1.0], 0.05, 30, seed=123)
    b = ss.langevin(k, x0, [1.0], 0.05, 30, seed=123)
    c = ss.langevin(k, x0, [1.0], 0.05, 30, seed=124)
    assert np.array_equal(a.x, b.x)
    assert not np.any(a.x == c.x)
    assert np.array_equal(x0, np.zeros((40, 2)))   # the input is not modified


_THREADS_SCRIPT = r"""
import sys, numpy as np, numba, symscore as ss
d = ss.families.gaussian_mixture_perturbed([0.2, 0.8], [[-5, -5], [5, 5]],
                                           [np.eye(2), 0.5 * np.eye(2)])
k = ss.compile(d)
x0 = np.random.default_rng(1).uniform(-8, 8, (700, 2))
a = ss.langevin(k, x0, [1.0], 0.05, 40, seed=8, thin=10)
b = ss.mala(k, x0, [1.0], 0.1, 40, seed=8)
c = ss.annealed_langevin(k, x0, None, 0.01, 10, seed=8, sigmas=[5.0, 2.0, 1.0])
np.savez(sys.argv[1], a=a.x, t=a.trace, b=b.x, acc=b.acceptance, c=c.x,
         threads=numba.get_num_threads())
"""


def test_identical_for_one_and_two_threads(tmp_path, mixture):
    import os
    import subprocess
    import sys
    out = {}
    for n in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(n))
        path = tmp_path / f"t{n}.npz"
        subprocess.run([sys.executable, "-c", _THREADS_SCRIPT, str(path)], env=env,
                       check=True, timeout=600)
        out[n] = np.load(path)
    assert int(out[1]["threads"]) == 1 and int(out[2]["threads"]) == 2
    for key in ("a", "t", "b", "acc", "c"):
        assert np.array_equal(out[1][key], out[2][key]), key
    # and the same as this process (700 chains = 3 blocks over its own threads)
    k, _ = mixture
    x0 = np.random.default_rng(1).uniform(-8, 8, (700, 2))
    assert np.array_equal(ss.langevin(k, x0, [1.0], 0.05, 40, seed=8).x, out[1]["a"])


def test_progress_chunks_do_not_change_results(mixture, capsys):
    k, _ = mixture
    x0 = np.zeros((30, 2))
    a = ss.mala(k, x0, [1.0], 0.1, 45, seed=3, thin=5, progress=True)
    assert "mala [" in capsys.readouterr().err
    b = ss.mala(k, x0, [1.0], 0.1, 45, seed=3, thin=5, progress=False)
    assert capsys.readouterr().err == ""
    assert np.array_equal(a.x, b.x) and np.array_equal(a.trace, b.trace)
    assert np.array_equal(a.acceptance, b.acceptance)


# -- diagnostics -------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["cpu", "numpy"])
def test_nonfinite_chains_are_reported(target):
    d = ss.families.double_well(dim=1)
    x0 = np.array([[0.5], [30.0], [-0.3], [-40.0]])
    with pytest.warns(NonFiniteChainsWarning, match="2 of 4 chains"):
        r = ss.langevin(d, x0, None, 0.01, 200, seed=1, target=target)
    assert r.nonfinite.tolist() == [1, 3] and r.n_nonfinite == 2
    assert np.all(r.first_nonfinite_step[[1, 3]] >= 1)
    assert np.all(r.first_nonfinite_step[[0, 2]] == -1)
    assert np.all(np.isfinite(r.x[[0, 2]]))


def test_mala_rejects_nonfinite_proposals():
    d = ss.families.double_well(dim=1)
    x0 = np.array([[1e70], [0.5]])   # log p~ finite at 1e70, −inf at the proposal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = ss.mala(d, x0, None, 0.01, 25, seed=2)
    assert r.x[0, 0] == 1e70 and r.acceptance[0] == 0.0
    assert r.nonfinite_proposals.tolist()[0] == 25 and r.nonfinite_proposals[1] == 0
    assert r.acceptance[1] > 0.5 and r.n_nonfinite == 0


# -- annealed Langevin -------------------------------------------------------------------

def test_annealed_levels_steps_and_denoising(mixture):
    k, _ = mixture
    sig = ss.geometric_sigmas(8.0, 0.5, 5)
    x0 = np.random.default_rng(2).uniform(-8, 8, (50, 2))
    plain = ss.annealed_langevin(k, x0, None, 0.02, 6, seed=11, sigmas=sig, thin=3)
    assert np.allclose(plain.step_sizes, 0.02 * (sig / 0.5) ** 2, rtol=1e-15)
    assert plain.trace.shape == (10, 50, 2) and plain.n_steps == 30
    assert np.array_equal(plain.trace[-1], plain.x)
    den = ss.annealed_langevin(k, x0, {}, 0.02, 6, seed=11, sigmas=sig, denoise=True)
    want = plain.x + 0.5**2 * k.score(plain.x, [0.5])
    assert np.allclose(den.x, want, rtol=0, atol=1e-12)


def test_annealed_level_uses_its_sigma(mixture):
    """With one level, annealed Langevin is ULA at that σ."""
    k, _ = mixture
    x0 = np.zeros((20, 2))
    a = ss.annealed_langevin(k, x0, None, 0.03, 12, seed=5, sigmas=[2.5])
    b = ss.langevin(k, x0, [2.5], 0.03, 12, seed=5)
    assert np.array_equal(a.x, b.x)


def test_geometric_sigmas():
    s = ss.geometric_sigmas(20.0, 1.0, 10)
    assert s[0] == 20.0 and s[-1] == 1.0 and s.shape == (10,)
    assert np.allclose(s[1:] / s[:-1], 20.0 ** (-1 / 9), rtol=1e-13)
    with pytest.raises(ss.SamplerError):
        ss.geometric_sigmas(1.0, 2.0, 3)
    with pytest.raises(ss.SamplerError):
        ss.geometric_sigmas(1.0, 0.0, 3)


# -- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x0=np.zeros(5)), ss.ShapeError, "x0 must have shape"),
    (dict(x0=np.zeros((5, 2))), ss.ShapeError, r"\(N, 1\)"),
    (dict(x0=np.array([[np.nan]])), ss.InputValueError, "not finite"),
    (dict(step_size=0.0), ss.SamplerError, "step_size"),
    (dict(step_size=-1.0), ss.SamplerError, "step_size"),
    (dict(step_size=float("nan")), ss.SamplerError, "step_size"),
    (dict(step_size=True), ss.SamplerError, "step_size"),
    (dict(n_steps=0), ss.SamplerError, "n_steps"),
    (dict(n_steps=10.0), ss.SamplerError, "n_steps"),
    (dict(seed=1.5), ss.SamplerError, "seed"),
    (dict(seed=-3), ss.SamplerError, "seed"),
    (dict(seed=None), ss.SamplerError, "seed"),
    (dict(thin=0), ss.SamplerError, "thin"),
    (dict(thin=11), ss.SamplerError, "thin"),
    (dict(theta={"mean": [0.0], "prec_chol": [[-1.0]]}), ss.DomainError, "L_0_0"),
    (dict(theta=[0.0, 1.0, 2.0]), ss.ShapeError, "θ must have shape"),
])
def test_invalid_inputs_raise_named_errors(gauss1, kwargs, error, match):
    k, _ = gauss1
    args = dict(x0=np.zeros((4, 1)), theta=THETA_1D, step_size=0.1, n_steps=10, seed=0)
    args.update(kwargs)
    for sampler in (ss.langevin, ss.mala):
        with pytest.raises(error, match=match):
            sampler(k, **args)


def test_invalid_densities_and_levels(gauss1, mixture):
    k, _ = gauss1
    with pytest.raises(ss.SamplerError, match="noise-scale"):
        ss.annealed_langevin(k, np.zeros((2, 1)), THETA_1D, 0.1, 5, seed=0, sigmas=[2.0, 1.0])
    km, _ = mixture
    for bad in ([1.0, 2.0], [], [[2.0, 1.0]], [2.0, -1.0]):
        with pytest.raises(ss.SamplerError, match="noise levels|sigmas"):
            ss.annealed_langevin(km, np.zeros((2, 2)), None, 0.1, 5, seed=0, sigmas=bad)
    with pytest.raises(ss.SymscoreError, match="Kernels or a Density"):
        ss.langevin("gaussian", np.zeros((2, 1)), None, 0.1, 5, seed=0)
    with pytest.raises(ss.SamplerError, match="target"):
        ss.langevin(k, np.zeros((2, 1)), THETA_1D, 0.1, 5, seed=0, target="numpy")


def test_starts_outside_the_support_are_rejected():
    d = ss.families.exponential()
    with pytest.raises(ss.DomainError, match="outside the support"):
        ss.langevin(d, np.array([[1.0], [-0.5]]), None, 0.01, 5, seed=0, target="numpy")


def test_nonfinite_score_at_start_is_rejected():
    d = ss.families.double_well(dim=1)
    with pytest.raises(ss.InputValueError, match=r"chain\(s\) \[1\]"):
        ss.mala(d, np.array([[0.0], [1e80]]), None, 0.01, 5, seed=0, target="numpy")


def test_float32_kernels_sample_in_float32():
    d = ss.families.gaussian(dim=1)
    k32 = ss.compile(d, target="numpy", dtype="float32")
    k64 = ss.compile(d, target="numpy")
    x0 = np.zeros((10, 1))
    a = ss.langevin(k32, x0, THETA_1D, 0.1, 20, seed=0)
    b = ss.langevin(k64, x0, THETA_1D, 0.1, 20, seed=0)
    assert a.x.dtype == np.float32 and np.allclose(a.x, b.x, rtol=0, atol=1e-5)
