"""symscore.fit reports an estimate only when it is one: an objective unbounded below
(degenerate data), a singular curvature, a parameter the density does not depend on
and an estimate on a domain edge are refused or flagged by name; ``converged`` is
true only at a stationary point with positive definite curvature; the iteration
count is never negative. Oracles: data whose degeneracy is known by construction,
and a model with an exact symmetry (mixture logits) that must still fit."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore.fit import FitWarning
from symscore.fit.checks import degeneracy, stationarity
from symscore.fit.numeric import lbfgs

RNG = np.random.default_rng(11)
_t = RNG.normal(size=20)

DEGENERATE = {
    "identical rows": (np.ones((500, 2)), "all 500 rows are identical"),
    "two rows": (RNG.normal(size=(2, 2)), "only 2 samples in 2 dimensions"),
    "3 samples in 5-D": (RNG.normal(size=(3, 5)), "only 3 samples in 5 dimensions"),
    "collinear": (np.stack([_t, 2 * _t + 1], axis=1), "span only 1 of 2 dimensions"),
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_data_give_no_minimiser_not_a_converged_fit(case):
    X, why = DEGENERATE[case]
    d = ss.families.gaussian(dim=X.shape[1])
    target = "cpu" if X.shape[1] == 2 else "numpy"   # no compilation for the 5-D model
    with pytest.raises(ss.FitError, match="unbounded below") as e:
        ss.fit(d, X, prove=False, standard_errors=False, target=target, max_iter=150)
    assert why in str(e.value)


def test_the_exact_path_refuses_the_same_data():
    X, _ = DEGENERATE["collinear"]
    with pytest.raises(ss.FitError, match="singular or ill-conditioned"):
        ss.fit(ss.families.gaussian_natural(dim=2), X, prove=False)


def test_a_parameter_the_density_does_not_depend_on_is_refused_by_name():
    x = sp.Symbol("x", real=True)
    m, c = sp.symbols("m c", real=True)
    d = ss.Density.from_log_density(-(x - m)**4 / 4 + c, [x], [m, c], defaults=[0.0, 0.0])
    with pytest.raises(ss.FitError, match=r"does not depend on parameter\(s\) c"):
        ss.fit(d, RNG.normal(size=(50, 1)), prove=False)


def test_data_that_leave_a_direction_undetermined_give_singular_curvature():
    # log p = −(x − a)²/2 − b (x − 1)⁴/4: at x ≡ 1 the integrand is −1 + ½(1 − a)², free
    # of b — bounded, minimised at a = 1, but flat along b for these data (not for others)
    x = sp.Symbol("x", real=True)
    a, b = sp.symbols("a b", real=True)
    d = ss.Density.from_log_density(-(x - a)**2 / 2 - b * (x - 1)**4 / 4, [x], [a, b],
                                    defaults=[0.5, 0.3])
    with pytest.raises(ss.FitError, match=r"singular curvature: the data do not determine "
                                          r"the direction\(s\) b .*identical"):
        ss.fit(d, np.ones((20, 1)), method="lbfgs", prove=False)
    with pytest.raises(ss.FitError, match="zero curvature"):   # the exact path agrees
        ss.fit(d, np.ones((20, 1)), method="exact", prove=False)


def test_an_exact_symmetry_is_not_an_error():
    rng = np.random.default_rng(7)
    X = np.concatenate([rng.normal(-3, 1, (600, 1)), rng.normal(2, 1, (400, 1))])
    r = ss.fit(ss.families.gaussian_mixture(1, 2), X, prove=False)
    assert r.converged and r.iterations > 0 and "flat along" in r.stderr_note


def test_converged_only_at_a_stationary_point_and_iterations_never_negative():
    a = [sp.Symbol("a", real=True)]
    # unbounded below: f = −a, the relative-reduction test stops it far out
    r = lbfgs(lambda t: (-float(t[0]), np.array([-1.0])), np.array([1.0]), [(None, None)], a)
    assert not r.converged and r.stopped_early and r.iterations > 0 and r.stationarity >= 0.5
    # NaN beyond |a| > 1: stopped, not converged, a real iteration count
    f = lambda t: ((-t[0], np.array([-1.0])) if abs(t[0]) < 1 else (np.nan, np.array([np.nan])))
    r = lbfgs(f, np.zeros(1), [(None, None)], a)
    assert not r.converged and r.iterations >= 0
    assert stationarity(np.array([3.0]), 0.5, np.array([0.0]), [(None, None)]) == 0.0
    # a gradient pushing against an active bound does not count
    assert stationarity(np.array([0.0]), 0.5, np.array([2.0]), [(0.0, None)]) == 0.0


def test_an_estimate_on_the_domain_edge_is_not_converged():
    X = np.random.default_rng(1).exponential(0.4, size=(2000, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ss.fit(ss.families.exponential(1), X, method="lbfgs", objective="ism",
                   allow_boundary_bias=True, prove=False)
    assert not r.converged and r.at_bound == ("rate_0",) and r.iterations >= 0


def test_degeneracy_words():
    assert degeneracy(np.zeros((4, 3))) == "all 4 rows are identical"
    assert degeneracy(np.random.default_rng(0).normal(size=(100, 3))) is None


def test_cli_fit_exit_2_with_the_cause(tmp_path):
    np.save(tmp_path / "two.npy", DEGENERATE["two rows"][0])
    (tmp_path / "r.json").write_text("previous")
    p = subprocess.run([sys.executable, "-m", "symscore.cli", "fit", "gaussian:dim=2",
                        "two.npy", "--json", "--out", "r.json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("symscore: error: no minimiser")
    assert "only 2 samples in 2 dimensions" in p.stderr and p.stdout == ""
    assert (tmp_path / "r.json").read_text() == "previous"
