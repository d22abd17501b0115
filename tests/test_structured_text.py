"""Structured densities from text and TOML (``variables = { x = D }``): the safe
array parser, equality with the families, and the CLI end to end."""

import json

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from oracles import FLOAT_FUNCTIONS
from symscore import modelspec
from symscore.cli import main
from symscore.objectives import ism_integrand
from symscore.structured import J
from symscore.structured.textform import structured_from_text

CHOL = {"mu": {"shape": ["x"]}, "L": {"shape": ["x", "x"], "pattern": "lower"}}
CHOL_TEXT = "sum((transpose(L) @ (x - mu))**2) / 2 - sum(log(diag(L)))"


def _values(exprs, syms, vals):
    return np.array(sp.lambdify(syms, exprs, [FLOAT_FUNCTIONS, "numpy"])(*vals), dtype=float)


def test_text_cholesky_gaussian_equals_the_unrolled_family():
    d = structured_from_text(CHOL_TEXT, {"x": 3}, CHOL, kind="energy")
    fam = ss.families.gaussian(dim=3, structured=False)
    s = d.structure
    syms = list(fam.variables) + list(fam.params)
    rng = np.random.default_rng(3)
    L = np.tril(rng.normal(size=(3, 3))) + 2 * np.eye(3)
    vals = list(rng.normal(size=3)) + list(ss.pack(fam, {"mean": rng.normal(size=3),
                                                         "prec_chol": L}))
    ours = [s.unroll(s.score.xreplace({J: v})) for v in range(3)] + [s.unroll(s.divergence),
                                                                      s.unroll(s.ism)]
    ref = list(fam.score) + [fam.divergence, ism_integrand(fam)]
    np.testing.assert_allclose(_values(ours, syms, vals), _values(ref, syms, vals), rtol=1e-12)


def test_text_ggm_equals_the_family_expressions():
    d = structured_from_text("-(x @ K @ x) / 2", {"x": 20},
                             {"K": {"shape": [20, 20], "pattern": "symmetric"}})
    g = ss.families.gaussian_graphical(dim=20)
    assert d.structure.score == g.structure.score
    assert d.structure.divergence == g.structure.divergence


def test_elementwise_functions_and_matrix_vector_products():
    d = structured_from_text("sum(-2 * log(cosh(W @ x)))", {"x": 4},
                             {"W": {"shape": [3, "x"]}})
    assert d.structure.log_density.has(ss.Softplus)       # stabilised, never cosh
    W = np.arange(12.0).reshape(3, 4) / 10
    x = np.array([0.3, -0.2, 0.5, 1.0])
    s = d.structure
    syms = list(d.variables) + list(d.params)
    score = [s.unroll(s.score.xreplace({J: v})) for v in range(4)]
    got = _values(score, syms, list(x) + list(W.ravel()))
    np.testing.assert_allclose(got, W.T @ (-2 * np.tanh(W @ x)), rtol=1e-12)


@pytest.mark.parametrize("text,fragment", [
    ("x @ K", "must be a scalar"),
    ("sum(x) + sum(K)", None),
    ("x @ x @ x", "cannot contract"),
    ("sum(x + K)", "shape mismatch"),
    ("x.T @ x", "attribute"),
    ("__import__('os')", "not allowed"),
    ("sum(y)", "unknown name"),
    ("transpose(x)", "needs a matrix"),
])
def test_text_errors_name_the_problem(text, fragment):
    K = {"K": {"shape": [5, 5]}}
    if fragment is None:
        structured_from_text(text, {"x": 5}, K)
        return
    with pytest.raises(ss.SymscoreError, match=fragment):
        structured_from_text(text, {"x": 5}, K)


TOML = """name = "ggm60"
variables = {{ x = 60 }}
log_density = "-(x @ K @ x) / 2"
[params]
K = {{ shape = ["x", "x"], pattern = "symmetric" }}
[values]
K = "identity"
"""


def test_toml_structured_density_from_the_cli(tmp_path, capsys):
    path = tmp_path / "ggm.toml"
    path.write_text(TOML.format())
    d = modelspec.load_model(str(path))
    assert d.structure is not None and d.dim == 60 and d.n_params == 60 * 61 // 2
    assert main(["derive", str(path), "--json", "--out", str(tmp_path / "d.json")]) == 0
    out = json.loads((tmp_path / "d.json").read_text())
    assert out["structured"] and out["groups"][0]["pattern"] == "symmetric"
    assert main(["prove", str(path), "--out", str(tmp_path / "p.md")]) == 0
    X = np.random.default_rng(0).normal(size=(3000, 60)) * 0.5
    np.save(tmp_path / "X.npy", X)
    assert main(["fit", str(path), str(tmp_path / "X.npy"), "--json", "--out",
                 str(tmp_path / "f.json")]) == 0
    fit = json.loads((tmp_path / "f.json").read_text())
    assert fit["method"] == "exact"
    np.testing.assert_allclose(np.array(fit["params"]["K"]), np.linalg.inv(X.T @ X / 3000),
                               rtol=1e-8, atol=1e-10)


def test_toml_structured_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TOML.format().replace('"identity"', '"ones"'))
    with pytest.raises(modelspec.ModelSpecError, match="identity"):
        modelspec.load_model(str(path))
    path.write_text(TOML.format().replace("x = 60", "x = 0"))
    with pytest.raises(modelspec.ModelSpecError, match="positive integer"):
        modelspec.load_model(str(path))


def test_cli_derive_with_a_symbolic_dimension(tmp_path, capsys):
    assert main(["derive", "gaussian:dim=D", "--json", "--out", str(tmp_path / "g.json")]) == 0
    out = json.loads((tmp_path / "g.json").read_text())
    assert out["dim"] == "D"
    div = [e for e in out["expressions"] if e["name"].startswith("divergence")][0]
    assert div["sympy"] == "-Sum(L[j, k]**2, (k, 0, D - 1), (j, 0, D - 1))"
    assert main(["derive", "rbm:dim=D,hidden=H", "--latex", "--out",
                 str(tmp_path / "r.tex")]) == 0
    assert r"\sigma" in (tmp_path / "r.tex").read_text()
