"""The safe parser: valid text builds the expected SymPy expression; hostile text is
refused with a ParseError naming the problem, without running anything."""

import time

import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from symscore import Density, LogSumExp, ParseError, Softplus, SymscoreError
from symscore.parse import parse_expression

x, y = sp.symbols("x y", real=True)
a = sp.Symbol("a", positive=True)
SYMS = [x, y, a]


@pytest.mark.parametrize("text, expected", [
    ("-x**2/2", -x**2 / 2),
    ("-(x - a)**2 / (2*a**2) - log(a)", -(x - a)**2 / (2 * a**2) - sp.log(a)),
    ("exp(-x) * cos(y) + sqrt(a)", sp.exp(-x) * sp.cos(y) + sp.sqrt(a)),
    ("logsumexp(-x**2, -y**2, x)", LogSumExp(-x**2, -y**2, x)),
    ("softplus(x) - 2*abs(y)", Softplus(x) - 2 * sp.Abs(y)),
    ("pi * e**x + E", sp.pi * sp.E**x + sp.E),
    ("1.5e-3 * x", sp.Float("1.5e-3") * x),
    ("+x - -y", x + y),
    ("tanh(x) + erf(y) + log1p(x**2)", sp.tanh(x) + sp.erf(y) + sp.log(1 + x**2)),
])
def test_valid_text_builds_expected_expression(text, expected):
    got = parse_expression(text, SYMS)
    assert sp.simplify(got.rewrite(sp.log) - expected.rewrite(sp.log)) == 0


def test_density_parse_kinds_agree():
    text_log, text_energy = "-(x - a)**2 / 2", "(x - a)**2 / 2"
    d1 = Density.parse(text_log, ["x"], [("a", "real")])
    d2 = Density.parse(text_energy, ["x"], [("a", "real")], kind="energy")
    d3 = Density.parse("exp(-(x - a)**2 / 2)", ["x"], [("a", "real")], kind="density")
    assert d1.score == d2.score == d3.score
    with pytest.raises(SymscoreError, match="kind"):
        Density.parse(text_log, ["x"], ["a"], kind="pdf")


def test_parsed_mixture_is_stabilised():
    d = Density.parse("log(exp(-(x-3)**2/2) + exp(-(x+3)**2/2))", ["x"])
    assert d.log_density.has(LogSumExp)
    assert sp.N(d.score[0].subs(d.variables[0], 1000)) == pytest.approx(-997)


HOSTILE = [
    ("__import__('os').system('touch SENTINEL')", "attribute"),
    ("__import__('os')", "not allowed"),
    ("(lambda: 0)()", "calling anything"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute"),
    ("lambda: 0", "lambda"),
    ("x.real", "attribute"),
    ("open('SENTINEL', 'w')", "'open' is not allowed"),
    ("exec('import os')", "'exec' is not allowed"),
    ("eval('1')", "'eval' is not allowed"),
    ("getattr(x, 'real')", "'getattr' is not allowed"),
    ("__builtins__", "not allowed"),
    ("_x", "not allowed"),
    ("9**9**9**9", "power tower"),
    ("(9**9)**(9**9)", "power tower"),
    ("2**100000", "too large"),
    ("10**400", "too large"),
    ("9.0**999", "too large"),
    ("(" * 10_000 + "x" + ")" * 10_000, "limit"),
    ("(" * 200 + "x" + ")" * 200, "deeper"),
    ("x+" * 400_000 + "x", "limit"),
    ("x if x else 1", "conditional"),
    ("[x for x in y]", "comprehension"),
    ("{x: 1}", "dict"),
    ("(x, y)", "tuple"),
    ("x[0]", "subscript"),
    ("f'{x}'", "f-string"),
    ("(z := 1)", "assignment"),
    ("x ^ 2", "'^'"),
    ("x % 2", "'%'"),
    ("x // 2", "'//'"),
    ("x @ y", "'@'"),
    ("x < 1", "comparison"),
    ("x and y", "boolean"),
    ("not x", "unary"),
    ("1e999999", "overflow"),
    ("1" * 100, "digits"),
    ("'text'", "literal"),
    ("True", "literal"),
    ("3j", "literal"),
    ("exp(x, y)", "argument"),
    ("exp(x=1)", "keyword"),
    ("exp(*y)", "starred"),
    ("logsumexp()", "at least 1"),
    ("exp", "without calling"),
    ("zz + 1", "unknown name 'zz'"),
    ("", "empty"),
    ("   ", "empty"),
    ("x; import os", "syntax"),
    ("x\nimport os", "syntax"),
    ("x +", "syntax"),
    ("await x", "not allowed"),
]


@pytest.mark.parametrize("text, message", HOSTILE, ids=[repr(t[:24]) for t, _ in HOSTILE])
def test_hostile_text_is_refused_without_running(text, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace("^", r"\^")):
        parse_expression(text, SYMS)
    assert time.perf_counter() - start < 5  # generous: refusal never does real work
    assert not (tmp_path / "SENTINEL").exists()


def test_non_string_is_refused():
    with pytest.raises(ParseError, match="must be a string"):
        parse_expression(b"x", SYMS)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
def test_random_text_parses_or_raises_parse_error(text):
    try:
        expr = parse_expression(text, SYMS)
    except ParseError:
        return
    assert isinstance(expr, sp.Expr)
    assert expr.free_symbols <= set(SYMS)


@settings(max_examples=100)
@given(st.lists(st.sampled_from(["x", "y", "a", "2", "0.5", "+", "-", "*", "/", "**", "(", ")",
                                 "exp(", "log(", "sin(", ","]), max_size=20))
def test_token_soup_parses_or_raises_parse_error(tokens):
    try:
        parse_expression(" ".join(tokens), SYMS)
    except ParseError:
        pass
