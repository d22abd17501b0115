"""symscore.testing at its edges: float32 results at float32 tolerances, messages
with enough digits, no internal frames, variance-reduced SSM, projections never 0
(and the unit-norm bug named), the D = 2 blind spot of mean-vs-sum."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symscore as ss
from symscore.testing import assert_loss_matches, assert_score_matches, tolerances

G3 = ss.families.gaussian(dim=3, kind="iso")      # s = −L²(x − μ), θ = (μ, L)
THETA = {"mean": [0.5, -1.0, 2.0], "prec_chol": 1.5}
MU, L2 = np.array([0.5, -1.0, 2.0]), 2.25


def score(X):
    return -L2 * (X - MU)


def test_float32_results_pass_at_float32_tolerances_and_bugs_still_fail():
    assert tolerances(np.float32) == (1e-4, 1e-5) and tolerances(np.float64) == (1e-6, 1e-9)
    f32 = lambda X: score(X.astype(np.float32)).astype(np.float32)
    assert_score_matches(G3, f32, THETA, max_examples=30)
    ism32 = lambda X: (np.float32(-3 * L2) + 0.5 * np.sum(f32(X) ** 2, axis=1)).astype(np.float32)
    assert_loss_matches(G3, ism32, "ism", THETA, max_examples=30)
    # a float32 bug of 1 part in 1000 is still caught, and the dtype is named
    wrong = lambda X: (f32(X) * np.float32(1.001)).astype(np.float32)
    with pytest.raises(AssertionError, match=r"score \(float32\) mismatch"):
        assert_score_matches(G3, wrong, THETA, max_examples=30)
    # explicit tolerances win over the dtype's
    with pytest.raises(AssertionError, match="rtol=1e-12"):
        assert_loss_matches(G3, ism32, "ism", THETA, max_examples=30, rtol=1e-12, atol=0)


def test_the_message_prints_enough_digits_to_show_the_difference():
    off = lambda X: score(X) * (1 + 3e-6)
    with pytest.raises(AssertionError) as e:
        assert_score_matches(G3, off, THETA, at=np.array([[1.0, 2.0, 3.0]]))
    msg = str(e.value)
    yours = msg.split("yours ")[1].split(" vs")[0]
    ours = msg.split("symbolic ")[1].split(" (")[0]
    assert yours != ours, msg


def test_variance_reduced_ssm():
    def ssm_vr(X, V):         # vᵀ(∇s)v + ½‖s‖², ∇s = −L² I
        return -L2 * np.sum(V**2, axis=1) + 0.5 * np.sum(score(X) ** 2, axis=1)
    assert_loss_matches(G3, ssm_vr, "ssm_vr", THETA, max_examples=12)
    with pytest.raises(AssertionError, match="ssm loss mismatch"):
        assert_loss_matches(G3, ssm_vr, "ssm", THETA, max_examples=12)


def test_projections_are_never_zero_and_the_unit_norm_bug_is_named():
    seen = []

    def ssm_unit(X, V):      # the bug: normalising v
        seen.append(np.min(np.abs(V)))
        U = V / np.linalg.norm(V, axis=1, keepdims=True)
        s = score(X)
        return -L2 * np.sum(U**2, axis=1) + 0.5 * np.sum(U * s, axis=1) ** 2
    with pytest.raises(AssertionError) as e:
        assert_loss_matches(G3, ssm_unit, "ssm", THETA, max_examples=12)
    assert "unit vectors" in str(e.value) and "nan" not in str(e.value)
    assert min(seen) >= 0.25


def test_mean_over_coordinates_is_caught_from_d3_and_documented_at_d2():
    def ism_mean(d, mu):
        return lambda X: -d * L2 + np.mean((L2 * (X - mu)) ** 2, axis=1)
    with pytest.raises(AssertionError):
        assert_loss_matches(G3, ism_mean(3, MU), "ism", THETA, max_examples=20)
    g2 = ss.families.gaussian(dim=2, kind="iso")
    # mean(s²) = ½‖s‖² at D = 2: invisible there, which the docs say
    assert_loss_matches(g2, ism_mean(2, MU[:2]), "ism",
                        {"mean": MU[:2], "prec_chol": 1.5}, max_examples=20)
    assert "D ≥ 3" in assert_loss_matches.__doc__


def test_failures_show_no_internal_frames(tmp_path):
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""
        import numpy as np, symscore as ss
        from symscore.testing import assert_score_matches

        def test_user():
            g = ss.families.gaussian(dim=1)
            assert_score_matches(g, lambda X: X, max_examples=5)
    """))
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--no-header", "-o", "addopts=", str(tmp_path / "test_user.py")],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert p.returncode == 1 and "score mismatch" in p.stdout, p.stdout[-3000:]
    assert "symscore/testing.py" not in p.stdout and "hypothesis/core.py" not in p.stdout, \
        p.stdout[-3000:]
