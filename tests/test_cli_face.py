"""The command line as a new user meets it: θ falling back to defaults, models
without parameters, annealed Langevin for the Gaussian families (exact perturbed
densities), the weighted-objective hint and ``prove --weight``, defaults in --help."""

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore.cli import main
from symscore.families.perturbed import can_perturb, perturb
from symscore.modelspec import list_families, load_model


def _sample(tmp_path, *args):
    out = tmp_path / "s.npy"
    rc = main(["sample", *args, "--target", "numpy", "--out", str(out)])
    return rc, (np.load(out) if out.exists() else None)


def test_theta_object_falls_back_to_defaults(tmp_path, capsys):
    rc, X = _sample(tmp_path, "gaussian:dim=2", "--theta", '{"mean": [0, 3]}', "--chains",
                    "256", "--steps", "300", "--step-size", "0.05")
    assert rc == 0, capsys.readouterr().err
    # default prec_chol = I, so the chains sit around (0, 3) with unit spread
    assert abs(X[:, 0].mean()) < 0.3 and abs(X[:, 1].mean() - 3) < 0.3
    assert 0.7 < X[:, 1].std() < 1.3
    # the flat list form still needs every parameter
    assert main(["sample", "gaussian:dim=1", "--theta", "[1]"]) == 2
    assert "shape (2,)" in capsys.readouterr().err


def test_pack_fallback():
    g = ss.families.gaussian(dim=2)
    theta = ss.pack(g, {"mean": [0, 1], "L_1_0": 0.5}, fallback=g.defaults)
    assert theta.tolist() == [0, 1, 1, 0.5, 1]
    with pytest.raises(ss.errors.DomainError, match="L_0_0, L_1_0, L_1_1"):
        ss.pack(g, {"mean": [0, 1]})


def test_a_model_without_parameters_needs_no_theta(tmp_path, capsys):
    f = tmp_path / "donut.toml"
    f.write_text('name = "donut"\nvariables = ["x", "y"]\n'
                 'energy = "(sqrt(x**2 + y**2) - 2)**2 / 0.5"\n')
    rc, X = _sample(tmp_path, str(f), "--chains", "64", "--steps", "200", "--step-size", "0.02")
    assert rc == 0, capsys.readouterr().err
    r = np.hypot(X[:, 0], X[:, 1])
    assert abs(np.median(r) - 2) < 0.5


def _mixture_logpdf(X, w, mu, covs):
    """log Σₖ wₖ N(x; μₖ, Σₖ) with numpy (an oracle independent of SymPy)."""
    out = []
    for k in range(len(w)):
        C = covs[k]
        r = X - mu[k]
        q = np.einsum("ni,ij,nj->n", r, np.linalg.inv(C), r)
        out.append(np.log(w[k]) - 0.5 * (q + np.log(np.linalg.det(2 * np.pi * C))))
    out = np.array(out)
    m = out.max(axis=0)
    return m + np.log(np.exp(out - m).sum(axis=0))


def test_perturb_is_the_exact_convolution():
    gm = ss.families.gaussian_mixture(dim=2, components=2)
    theta = {"logits": [0.0, 1.0], "means": [[-2.0, 0.0], [1.0, 1.0]],
             "prec_chol": [[[1.0, 0.0], [0.5, 2.0]], [[1.5, 0.0], [0.0, 1.5]]]}
    p = perturb(gm, theta)
    assert p.params == (p.noise_scale,) and p.n_params == 1
    w = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    covs = []
    for L in np.array(theta["prec_chol"]):
        covs.append(np.linalg.inv(L @ L.T))
    X = np.random.default_rng(0).normal(size=(5, 2)) * 2
    f = sp.lambdify([*p.variables, p.noise_scale], p.log_density, modules=[ss.NUMPY_FUNCTIONS, "numpy"])
    for sigma in (0.3, 2.0):
        want = _mixture_logpdf(X, w, np.array(theta["means"]),
                               [c + sigma**2 * np.eye(2) for c in covs])
        got = f(X[:, 0], X[:, 1], sigma)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert can_perturb(gm) and can_perturb(ss.families.gaussian(dim=3, kind="iso"))
    assert not can_perturb(ss.families.student_t(dim=1)) and not can_perturb(p)


def test_annealed_langevin_from_a_gmm_spec(tmp_path, capsys):
    rc, X = _sample(tmp_path, "gmm:dim=2,components=2", "--sampler", "annealed",
                    "--chains", "200", "--steps", "100", "--step-size", "0.05",
                    "--sigmas", "8,0.5,5")
    assert rc == 0, capsys.readouterr().err
    # default means at (±4, 0): annealing populates both modes
    share = np.mean(X[:, 0] > 0)
    assert 0.25 < share < 0.75 and np.all(np.abs(np.abs(X[:, 0]) - 4) < 3)
    assert "∗ N(0, σ²I)" in capsys.readouterr().out


def test_perturbed_families_are_listed_and_load():
    names = {r["name"] for r in list_families()}
    assert {"gaussian_perturbed", "gaussian_mixture_perturbed"} <= names
    d = load_model("gmm_perturbed:dim=2,components=3")
    assert d.noise_scale is not None and d.n_params == 1


def test_prove_suggests_the_weighted_objective_and_proves_it(capsys):
    assert main(["prove", "exponential:dim=1", "--confirm", "none"]) == 1
    err = capsys.readouterr().err
    assert "--weight auto" in err and "x_0**2" in err and "min(x, C)²" in err
    assert main(["prove", "exponential:dim=1", "--weight", "auto", "--confirm", "none"]) == 0
    assert "verdict: PROVEN" in capsys.readouterr().err
    assert main(["prove", "exponential:dim=1", "--weight", "x_0**2", "--format", "json",
                 "--confirm", "none"]) == 0
    assert '"weights"' in capsys.readouterr().out
    assert main(["prove", "gaussian:dim=1", "--confirm", "none"]) == 0
    assert "hint" not in capsys.readouterr().err
    assert main(["prove", "exponential:dim=1", "--weight", "x_0; x_0"]) == 2
    assert "one expression per coordinate" in capsys.readouterr().err


def test_help_shows_defaults(capsys):
    assert main(["sample", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for fragment in ("(default: 1024)", "(default: 1000)", "(default: 0.01)",
                     "(default: langevin)", "(default: 0)"):
        assert fragment in out, fragment
    assert "(default: None)" not in out
