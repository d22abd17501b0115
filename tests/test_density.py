"""The Density object: constructors, immutability, content identity, and every
declaration error (error class + the offending symbol named in the message)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import symscore as ss
from symscore import Density
from symscore.params import POSITIVE, REAL

x, y, m = sp.symbols("x y m", real=True)
s = sp.Symbol("s", positive=True)


def gauss(name=None, **kw):
    return Density.from_log_density(-(x - m)**2 / (2 * s**2), [x], [m, s], name=name, **kw)


# -- constructors -------------------------------------------------------------

@pytest.mark.parametrize("log_p", [
    -(x - m)**2 / (2 * s**2) - sp.log(s),
    -s * (x**4 + y**2) + m * x * y,
    ss.Softplus(m * x) - y**2 / 2 + sp.cos(x * y),
])
def test_log_density_density_and_energy_constructors_agree(log_p):
    variables = sorted(log_p.free_symbols & {x, y}, key=str)
    params = sorted(log_p.free_symbols - {x, y}, key=str)
    a = Density.from_log_density(log_p, variables, params)
    b = Density.from_density(sp.exp(log_p), variables, params)
    c = Density.from_energy(-log_p, variables, params)
    assert sp.expand(a.log_density - b.log_density) == 0
    assert sp.expand(a.log_density - c.log_density) == 0
    assert a == c
    assert all(sp.expand(u - v) == 0 for u, v in zip(a.score, b.score))


def test_from_density_takes_the_log_stably():
    d = Density.from_density(sp.exp(-x**2) + sp.exp(-(x - m)**2), [x], [m])
    assert isinstance(d.log_density, ss.LogSumExp)
    d = Density.from_density(1 + sp.exp(m * x), [x], [m])
    assert d.log_density == ss.Softplus(m * x)


def test_attributes():
    d = gauss("g")
    assert d.variables == (x,) and d.params == (m, s)
    assert d.domains == (REAL, POSITIVE)
    assert d.support == (sp.S.Reals,) and d.has_full_support
    assert d.dim == 1 and d.n_params == 2 and d.name == "g" and d.is_smooth
    assert d.score.shape == (1, 1) and sp.expand(d.score[0] + (x - m) / s**2) == 0
    assert sp.expand(d.divergence + 1 / s**2) == 0
    assert d.hessian.shape == (1, 1)
    assert str(x) in repr(d) and "g" in repr(d)


def test_names_and_domains_given_as_strings_and_pairs():
    d = Density.from_log_density(-x**2 * sp.Symbol("a", real=True), ["x"],
                                 [("a", "positive")])
    assert d.variables[0].name == "x" and d.variables[0].is_real
    assert d.domains == (POSITIVE,)
    c = sp.Symbol("c", real=True)
    d = Density.from_log_density(-c * x**2, [x], {c: (1, 5)})
    assert d.domains == (sp.Interval(1, 5),)
    d = Density.from_log_density(sp.log(x) - x, [x], support=(0, sp.oo))
    assert d.support == (sp.Interval(0, sp.oo),) and not d.has_full_support


def test_support_per_coordinate():
    d = Density.from_log_density(sp.log(x) - x - y**2, [x, y],
                                 support=[sp.Interval.open(0, sp.oo), "real"])
    assert d.support == (sp.Interval.open(0, sp.oo), sp.S.Reals)


# -- immutability, identity ---------------------------------------------------

def test_immutable():
    d = gauss()
    with pytest.raises(AttributeError):
        d.name = "other"
    with pytest.raises(AttributeError):
        d.log_density = x
    with pytest.raises(AttributeError):
        del d.variables


def test_equal_and_hashed_by_content():
    a, b = gauss("g"), gauss("g")
    assert a is not b and a == b and hash(a) == hash(b) and a.key == b.key
    assert len({a: 1, b: 2}) == 1
    assert re.fullmatch(r"[0-9a-f]{64}", a.key)
    assert gauss("h") != a  # the name is content
    assert gauss("g", defaults=[0.0, 1.0]) != a
    assert gauss("g", support=[(-1, 1)]) != a
    other = Density.from_log_density(-(x - m)**2 / (2 * s**2) + 1, [x], [m, s], name="g")
    assert other != a
    assert a.with_name("h") == gauss("h")
    # computing the cached calculus does not change identity
    key = a.key
    _ = a.score, a.divergence, a.hessian
    assert a.key == key and a == b


def test_defaults_are_plain_floats_in_domain():
    d = gauss(defaults={"m": 0.5, "s": 2})
    assert d.defaults == (0.5, 2.0) and all(type(v) is float for v in d.defaults)
    with pytest.raises(ss.DomainError, match="s"):
        gauss(defaults=[0.0, -1.0])


# -- errors -----------------------------------------------------------------

def _raises(cls, *names):
    """pytest.raises(cls) whose message must name every one of ``names``."""
    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(cls)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            out = self.ctx.__exit__(*exc)
            for n in names:
                assert n in str(self.info.value), (n, str(self.info.value))
            return out
    return _Check()


def test_unknown_symbol():
    z = sp.Symbol("zeta", real=True)
    with _raises(ss.UnknownSymbolError, "zeta"):
        Density.from_log_density(-(x - z)**2, [x], [m])
    with _raises(ss.UnknownSymbolError, "zeta", "m"):
        Density.from_log_density(-(x - z)**2 - m * x, [x])


def test_unknown_symbol_with_clashing_assumptions_gets_a_hint():
    m_plain = sp.Symbol("m")  # same name, no real assumption
    with _raises(ss.UnknownSymbolError, "'m'", "same Symbol"):
        Density.from_log_density(-(x - m_plain)**2, [x], [m])


@pytest.mark.parametrize("variables, params, named", [
    ([x, x], [m], "'x'"), ([x], [m, m], "'m'"), ([x], [x, m], "'x'"),
    ([x], [sp.Symbol("x", positive=True), m], "'x'"),
])
def test_duplicate_symbol(variables, params, named):
    with _raises(ss.DuplicateSymbolError, named):
        Density.from_log_density(-(x - m)**2, variables, params)


def test_missing_variable():
    with _raises(ss.MissingVariableError, "y"):
        Density.from_log_density(-(x - m)**2, [x, y], [m])
    with _raises(ss.MissingVariableError, "x"):
        Density.from_log_density(sp.Integer(3), [x])


@pytest.mark.parametrize("role", ["variable", "parameter"])
def test_non_real_symbol(role):
    w = sp.Symbol("w")
    c = sp.Symbol("c", complex=True)
    for bad in (w, c):
        with _raises(ss.NonRealSymbolError, f"'{bad.name}'"):
            if role == "variable":
                Density.from_log_density(-bad**2 - x**2, [x, bad])
            else:
                Density.from_log_density(-bad * x**2, [x], [bad])


@pytest.mark.parametrize("bad", ["-x**2", 3, 2.5, None, [x], sp.Matrix([x]), sp.Eq(x, 1),
                                 sp.Interval(0, 1)])
def test_log_density_must_be_a_sympy_expression(bad):
    with pytest.raises(ss.DensityError) as info:
        Density.from_log_density(bad, [x])
    assert type(bad).__name__ in str(info.value) or "string" in str(info.value)


@pytest.mark.parametrize("ctor", [Density.from_density, Density.from_energy])
def test_density_and_energy_must_be_sympy_expressions(ctor):
    with _raises(ss.DensityError, "list"):
        ctor([x], [x])


def test_complex_and_undefined_parts_rejected():
    with _raises(ss.DensityError, "I"):
        Density.from_log_density(-x**2 + sp.I * x, [x])
    f = sp.Function("f")
    with _raises(ss.DensityError, "f(x)"):
        Density.from_log_density(-f(x), [x])


def test_variables_must_be_symbols():
    with _raises(ss.DensityError, "x + 1"):
        Density.from_log_density(-x**2, [x + 1])
    with _raises(ss.DensityError, "at least one variable"):
        Density.from_log_density(-m**2, [], [m])


@pytest.mark.parametrize("domain", ["positiv", (2, 1), (0, 0), ("a", "b"), (0, 1, 2),
                                    sp.FiniteSet(1, 2), sp.Interval(0, 0), 7,
                                    sp.Interval(0, 1) * sp.Interval(0, 1)])
def test_bad_parameter_domain_names_the_parameter(domain):
    c = sp.Symbol("c", real=True)
    with _raises(ss.DensityError, "'c'"):
        Density.from_log_density(-c * x**2, [x], [(c, domain)])


@pytest.mark.parametrize("support, named", [
    ([(0, 1), (0, 1)], "one interval per variable"),
    (["positiv"], "coordinate 0"),
    ([(1, 0)], "coordinate 0"),
    ([sp.FiniteSet(0, 1)], "coordinate 0"),
])
def test_bad_support(support, named):
    with _raises(ss.DensityError, named):
        Density.from_log_density(-x**2, [x], support=support)


def test_bad_parameter_groups_and_noise_scale():
    stray = sp.Symbol("q", real=True)
    group = ss.ParamGroup("g", (1,), (((0,), stray),))
    with _raises(ss.DensityError, "q"):
        gauss(param_groups=[group])
    with _raises(ss.DensityError, "noise_scale", "y"):
        gauss(noise_scale=y)
    with pytest.raises(ss.DensityError):
        Density.from_log_density(-x**2, [x], [(m, "real", "extra")])


def test_errors_are_symscore_errors():
    for cls in (ss.UnknownSymbolError, ss.DuplicateSymbolError, ss.MissingVariableError,
                ss.NonRealSymbolError):
        assert issubclass(cls, ss.DensityError) and issubclass(cls, ss.SymscoreError)


# -- pack / unpack errors --------------------------------------------------------

def test_pack_errors_name_the_parameter():
    d = ss.families.gaussian(2)
    with _raises(ss.ShapeError, "mean", "(2,)"):
        ss.pack(d, {"mean": [0.0], "prec_chol": np.eye(2)})
    with _raises(ss.DomainError, "L_0_0"):
        ss.pack(d, {"mean": [0.0, 0.0], "prec_chol": -np.eye(2)})
    with _raises(ss.DomainError, "mu_1"):
        ss.pack(d, {"mean": [0.0, np.inf], "prec_chol": np.eye(2)})
    with _raises(ss.DomainError, "L_0_0", "L_1_1"):
        ss.pack(d, {"mean": [0.0, 0.0]})
    with _raises(ss.DomainError, "nonsense"):
        ss.pack(d, {"nonsense": 1.0})
    with _raises(ss.ShapeError, "(5,)"):
        ss.pack(d, [0.0] * 4)
    np.testing.assert_array_equal(ss.pack(d, {"mean": [1.0, 2.0], "prec_chol": np.eye(2)}),
                                  [1.0, 2.0, 1.0, 0.0, 1.0])
