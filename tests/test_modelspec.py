"""MODEL specs: family specs and TOML density files, and their error paths."""

import numpy as np
import pytest

import symscore as ss
from symscore.modelspec import ModelSpecError, list_families, load_model


@pytest.mark.parametrize("spec, dim, n_params", [
    ("gmm:dim=2,components=8", 2, 48),
    ("gaussian:dim=3", 3, 9),
    ("gaussian:dim=3,kind=diag", 3, 6),
    ("exponential", 1, 1),
    ("rbm:dim=2,hidden=3", 2, None),
    ("banana", 2, None),
])
def test_family_specs(spec, dim, n_params):
    d = load_model(spec)
    assert d.dim == dim
    if n_params is not None:
        assert d.n_params == n_params
    assert d.defaults is not None and len(d.defaults) == d.n_params


def test_spec_equals_direct_construction():
    assert load_model("gmm:dim=2,components=3") == ss.families.gaussian_mixture(dim=2, components=3)


TOML = """
name = "quartic"
variables = ["x", "y"]
energy = "a * (x**4 + y**4) / 4 - (x**2 + y**2) / 2"
[params]
a = "positive"
[values]
a = 2.0
"""


def test_toml_file(tmp_path):
    p = tmp_path / "quartic.toml"
    p.write_text(TOML)
    d = load_model(str(p))
    assert d.name == "quartic" and d.dim == 2 and d.defaults == (2.0,)
    x, y = d.variables
    a = d.params[0]
    assert ss.calculus.score(d)[0] == -a * x**3 + x


def test_toml_support_and_density_kind(tmp_path):
    p = tmp_path / "expo.toml"
    p.write_text('variables = ["x"]\ndensity = "exp(-r * x)"\n'
                 '[params]\nr = "positive"\n[support]\nx = [0, "oo"]\n[values]\nr = 1.5\n')
    with pytest.raises(ss.SymscoreError):  # "oo" is not a number
        load_model(str(p))
    p.write_text('variables = ["x"]\ndensity = "exp(-r * x)"\n'
                 '[params]\nr = "positive"\n[support]\nx = "positive"\n[values]\nr = 1.5\n')
    d = load_model(str(p))
    assert not d.has_full_support
    assert list(ss.unpack(d, d.defaults).values())[0] == pytest.approx(1.5)


def test_shipped_example_loads():
    d = load_model("derivations/models/banana.toml")
    assert d.dim == 2 and d.defaults == (5.0,)


@pytest.mark.parametrize("spec, message", [
    ("nosuch:dim=2", "unknown model family 'nosuch'"),
    ("gmm:dimm=2", "unknown option 'dimm'"),
    ("gmm:dim", "key=value"),
    ("gmm:dim=__import__", "not allowed|positive integer"),
    ("gmm:dim=1;2", "expected a number"),
    ("gmm:dim=0", "dim"),
    ("missing.toml", "does not exist"),
    ("", "MODEL"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ss.SymscoreError, match=message):
        load_model(spec)


@pytest.mark.parametrize("body, message", [
    ("variables = [", "TOML syntax"),
    ('variables = ["x"]\n', "exactly one of"),
    ('variables = ["x"]\nenergy = "x**2"\nlog_density = "x"\n', "exactly one of"),
    ('variables = "x"\nenergy = "x**2"\n', "variables"),
    ('variables = ["x"]\nenergy = "x**2 + q"\n', "unknown name 'q'"),
    ('variables = ["x"]\nenergy = "__import__(1)"\n', "not allowed"),
    ('variables = ["x"]\nenergy = "x**2"\n[support]\nz = "real"\n', "support"),
    ('variables = ["x"]\nenergy = "a*x**2"\n[params]\na = "positive"\n[values]\na = -1.0\n',
     "outside its domain"),
])
def test_bad_toml(tmp_path, body, message):
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(ss.SymscoreError, match=message):
        load_model(str(p))


def test_list_families_rows():
    rows = {r["name"]: r for r in list_families()}
    assert "gaussian_mixture" in rows and "gmm" in rows["gaussian_mixture"]["aliases"]
    assert "components=2" in rows["gaussian_mixture"]["options"]
    assert all(r["summary"] for r in rows.values())
    assert np.all([isinstance(r["options"], str) for r in rows.values()])


def test_toml_noise_scale_declares_perturbed_density():
    d = load_model("derivations/models/two_gaussians_perturbed.toml")
    assert d.noise_scale is not None and d.noise_scale.name == "sigma"
    assert d.log_density.has(ss.LogSumExp)


def test_toml_noise_scale_must_be_a_parameter(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('variables = ["x"]\nenergy = "x**2"\nnoise_scale = "s"\n')
    with pytest.raises(ss.SymscoreError, match="noise_scale"):
        load_model(str(p))
