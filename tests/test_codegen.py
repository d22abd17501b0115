"""Code generation: tape + autodiff against SymPy, printer, golden source.

The tape derivatives are checked against independent references: SymPy's own
``diff`` of the log-density (numerically, at random points) and, through the
numpy target, finite differences in mpmath (tests/oracles.py).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symscore as ss
from symscore.codegen.autodiff import forward, materialize, reverse
from symscore.codegen.module import generate_source, kernel_hash
from symscore.codegen.plan import Fn, plan_module, print_function
from symscore.codegen.printer import HELPERS_SCALAR, ScalarPrinter, VectorPrinter
from symscore.codegen.tape import Tape, is_operand
from symscore.codegen.templates import DriverTemplate, register_template, templates_for
from symscore.errors import CodegenError
from symscore.stable import LogSumExp, Sigmoid, Softplus, log1p

GOLDEN = Path(__file__).parent / "golden" / "gaussian_1d_core_cpu.py.txt"
x, y, a, b = sp.symbols("x y a b", real=True)


def _tape_derivatives(expr, xs):
    tape = Tape(varying=xs)
    L = tape.linearize(expr)
    g = reverse(tape, L, list(xs))
    H = [[forward(tape, {xs[j]: sp.S.One}, [g[i]])[0] for j in range(len(xs))]
         for i in range(len(xs))]
    return tape, L, g, H


EXPRS = [
    -a * x**4 / 4 + b * x**2 * y - sp.exp(a * y) + sp.sin(x * y),
    LogSumExp(-(x - a)**2, -(y + b)**2 / 2, x * y - 3),
    Softplus(a * x - y) - 2 * sp.log(1 + x**2) + Sigmoid(y) * x,
    sp.sqrt(1 + x**2 + y**2) * sp.cos(a) + log1p(y**2) - x**3 / (1 + y**2),
]


@pytest.mark.parametrize("expr", EXPRS, ids=range(len(EXPRS)))
def test_tape_gradient_and_hessian_match_sympy(expr):
    xs = (x, y)
    tape, L, g, H = _tape_derivatives(expr, xs)
    rng = np.random.default_rng(1)
    for _ in range(3):
        vals = {x: rng.normal(), y: rng.normal(), a: rng.uniform(0.5, 2), b: rng.normal()}
        num = lambda e: complex(sp.N(sp.sympify(e).xreplace(vals), 30)).real  # noqa: E731
        assert num(materialize(tape, L)) == pytest.approx(num(expr), rel=1e-12, abs=1e-12)
        for i, xi in enumerate(xs):
            assert num(materialize(tape, g[i])) == pytest.approx(num(sp.diff(expr, xi)),
                                                                 rel=1e-10, abs=1e-10)
            for j, xj in enumerate(xs):
                assert num(materialize(tape, H[i][j])) == pytest.approx(
                    num(sp.diff(expr, xi, xj)), rel=1e-9, abs=1e-9)


def test_logsumexp_reuses_exponentials():
    tape = Tape(varying=[x, y])
    L = tape.linearize(LogSumExp(x, y, x * y))
    reverse(tape, L, [x, y])
    n_exp = sum(1 for _, e in tape.nodes if isinstance(e, sp.exp))
    assert n_exp == 3  # the softmax weights reuse the three exponentials


def test_hash_consing_shares_subexpressions():
    tape = Tape(varying=[x])
    u = tape.linearize(sp.exp(a * x) + 1)
    v = tape.linearize(sp.log(sp.exp(a * x) + 1))
    assert sum(1 for _, e in tape.nodes if isinstance(e, sp.exp)) == 1
    assert u in v.free_symbols or u in tape.nodes[tape.index[v]][1].free_symbols
    assert is_operand(tape.linearize(3 * x**2 * sp.exp(a * x)))


def test_constants_fold_to_floats():
    tape = Tape(varying=[x])
    op = tape.linearize(x + sp.log(2 * sp.pi))
    assert not any(isinstance(e, sp.log) for _, e in tape.nodes)
    (c,) = [t for t in sp.Add.make_args(tape.nodes[tape.index[op]][1]) if t.is_Float]
    assert float(c) == pytest.approx(math.log(2 * math.pi), rel=1e-16)


# -- printer ----------------------------------------------------------------------

def test_scalar_printer_forms():
    p = ScalarPrinter({x: "x0", y: "x1"})
    assert p.doprint(x**2) == "(x0*x0)"
    assert p.doprint(x**-2) == "1.0/(x0*x0)"
    assert p.doprint(x**sp.Rational(1, 2)) == "math.sqrt(x0)"
    assert p.doprint(x**sp.Rational(-3, 2)) == "1.0/(x0*math.sqrt(x0))"
    assert p.doprint(x**y) == "math.pow(x0, x1)"
    assert p.doprint(sp.Piecewise((x, x > 1), (y, x < -1))) == \
        "(x0 if (x0 > 1.0) else (x1 if (x0 < -1.0) else math.nan))"
    assert p.doprint(sp.Max(x, y, 1)) == "max(1.0, x0, x1)"
    assert p.doprint(sp.loggamma(x)) == "math.lgamma(x0)"
    assert p.doprint(Softplus(x)) == "_softplus(x0)" and "_softplus" in p.helpers_used
    assert p.doprint(sp.DiracDelta(x)) == "0.0"


def test_float32_printer_never_prints_bare_literals():
    p = ScalarPrinter({x: "x0"}, dtype="float32")
    text = p.doprint(3 * x**2 / 7 + sp.pi - 1 + sp.Piecewise((x, x > 0.5), (0, True)))
    import re
    bare = re.sub(r"DTYPE\([^()]*\)", "", text)
    assert not re.search(r"(?<![\w\]])\d", bare), text


def test_unknown_function_is_a_codegen_error_naming_it():
    with pytest.raises(CodegenError, match="besselj"):
        ScalarPrinter({x: "x0"}).doprint(sp.besselj(0, x))
    f = sp.Function("mystery")
    with pytest.raises(CodegenError, match="mystery"):
        VectorPrinter({x: "x0"}).doprint(f(x))
    with pytest.raises(CodegenError, match="not finite|non-finite"):
        Tape(varying=[x]).linearize(x + sp.zoo)


def test_vector_printer_matches_numpy():
    p = VectorPrinter({x: "X", y: "Y"})
    expr = sp.Piecewise((sp.exp(-x) * y, x > 0), (log1p(y**2), True)) + sp.Min(x, y)
    code = p.doprint(expr)
    X = np.array([-1.0, 0.5, 2.0])
    Y = np.array([0.3, -0.2, 1.5])
    got = eval(code, {"np": np, "X": X, "Y": Y})
    want = [float(expr.subs({x: u, y: v})) for u, v in zip(X, Y)]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_fast_exp_helper_accuracy_and_edges():
    numba = pytest.importorskip("numba")
    ns = {"numba": numba, "np": np, "math": math,
          "FASTMATH": {"afn", "arcp", "contract", "nsz", "reassoc"}}
    exec('@numba.njit(fastmath=FASTMATH, error_model="numpy")\n' + HELPERS_SCALAR["_exp"], ns)
    fn = ns["_exp"]
    xs = np.concatenate([np.linspace(-745.0, 709.7, 20001), [0.0, -0.0, 1e-300, 709.78]])
    got = np.array([fn(v) for v in xs])
    want = np.exp(xs)
    normal = want > 2.3e-308
    assert np.max(np.abs(got[normal] / want[normal] - 1)) < 5e-16
    assert np.all(np.abs(got[~normal] - want[~normal]) < 1e-320)
    assert fn(710.0) == math.inf and fn(-800.0) == 0.0 and fn(math.inf) == math.inf
    assert math.isnan(fn(math.nan))


# -- plan / generated source ----------------------------------------------------------

def test_plan_hoists_theta_only_work_and_counts_ops():
    tape = Tape(varying=[x])
    out = tape.linearize(sp.exp(-a**2) * sp.log(b) * x + sp.sqrt(b))
    plan = plan_module(tape, [Fn("f", ("x", "theta", "c"), (("return", None, out),))],
                       {x: ("x", 0), a: ("theta", 0), b: ("theta", 1)})
    src = print_function(plan, plan.fns[0], "scalar", "float64")
    assert "math.exp" not in src and "math.log" not in src and "c[" in src
    assert plan.n_consts >= 1 and plan.ops["f"] >= 1


def _stable_part(src: str) -> str:
    """The per-sample part of a generated module (no hash, no driver templates)."""
    body = src.split("# ---- driver template")[0]
    return "\n".join(line for line in body.splitlines()
                     if not line.startswith(("SYMSCORE_HASH", "hash:"))).rstrip() + "\n"


def test_golden_source_small_density():
    src = _stable_part(generate_source(ss.families.gaussian(dim=1), "core", "cpu"))
    assert src.startswith("# symscore generated kernels")
    assert "Kernels for the density 'gaussian(dim=1, kind=full)'" in src
    assert "log p~ = " in src and "def score(x, theta, out):" in src
    if os.environ.get("SYMSCORE_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(src)
    assert src == GOLDEN.read_text(), "generated source changed (SYMSCORE_UPDATE_GOLDEN=1)"


def test_generated_source_is_deterministic_and_hash_depends_on_options():
    g = ss.families.gaussian(dim=2, kind="diag")
    assert generate_source(g, "ism_grad", "numpy") == generate_source(g, "ism_grad", "numpy")
    hashes = {kernel_hash(g, "core", t, d) for t in ("cpu", "numpy") for d in
              ("float64", "float32")}
    assert len(hashes) == 4
    assert kernel_hash(g, "core") != kernel_hash(ss.families.gaussian(dim=2), "core")


def test_float32_module_prints_typed_literals():
    src = generate_source(ss.families.gaussian_mixture(dim=2, components=2), "core", "cpu",
                          "float32")
    assert "DTYPE = np.float32" in src and "DTYPE(0.5)" in src
    assert "_exp(" not in src.split("def consts")[1]  # the float64 fast exp is not used


def test_unknown_kernel_set_target_dtype():
    g = ss.families.gaussian(dim=1)
    for kw, word in [({"kernel_set": "nope"}, "kernel set"), ({"target": "tpu"}, "target"),
                     ({"dtype": "float16"}, "dtype")]:
        args = {"kernel_set": "core", "target": "cpu", "dtype": "float64", **kw}
        with pytest.raises(CodegenError, match=word):
            generate_source(g, args["kernel_set"], args["target"], args["dtype"])


# -- driver templates ---------------------------------------------------------------------

def test_template_validation_errors():
    with pytest.raises(CodegenError, match="must define a function named 'f'"):
        DriverTemplate("f", "cpu", "core", "def g():\n    pass\n")
    with pytest.raises(CodegenError, match="not valid Python"):
        DriverTemplate("f", "cpu", "core", "def f(:\n")
    with pytest.raises(CodegenError, match="redefines generated"):
        DriverTemplate("score", "cpu", "core", "def score(x):\n    pass\n")
    with pytest.raises(CodegenError, match="unknown kernel set"):
        DriverTemplate("f", "cpu", "nope", "def f():\n    pass\n")


def test_registered_template_lands_in_generated_file_and_hash():
    src_t = "def t_probe_driver(X):\n    return X.shape[0]\n"
    before = kernel_hash(ss.families.gaussian(dim=1), "esm", "cpu")
    register_template("t_probe_driver", src_t, target="cpu", kernel_set="esm",
                      owner="tests.test_codegen")
    try:
        with pytest.raises(CodegenError, match="already registered"):
            register_template("t_probe_driver", src_t, target="cpu", kernel_set="esm",
                              owner="someone.else")
        g = ss.families.gaussian(dim=1)
        assert kernel_hash(g, "esm", "cpu") != before
        src = generate_source(g, "esm", "cpu", spec=ss.families.gaussian(dim=1))
        assert "def t_probe_driver(X):" in src
        assert any(t.name == "t_probe_driver" for t in templates_for("cpu", "esm"))
    finally:
        from symscore.codegen import templates as T
        T._registry[("cpu", "esm")].pop("t_probe_driver", None)


_S = sp.Symbol("s", positive=True)
_SMOOTH = ss.Density.from_log_density(-(x - a)**4 / 4 - _S * sp.cosh(y - x) + Softplus(x * y),
                                      [x, y], [a, _S])


@pytest.fixture(scope="module")
def smooth_numpy():
    return ss.compile(_SMOOTH, target="numpy")


@settings(max_examples=15, deadline=None)
@given(u=st.floats(-3, 3), v=st.floats(-3, 3), m=st.floats(-2, 2), s=st.floats(0.2, 3))
def test_numpy_target_score_and_divergence_match_sympy_diff(smooth_numpy, u, v, m, s):
    vals = {x: u, y: v, a: m, _S: s}
    X = np.array([[u, v]])
    want = [float(sp.diff(_SMOOTH.log_density, w).subs(vals)) for w in (x, y)]
    np.testing.assert_allclose(smooth_numpy.score(X, [m, s])[0], want, rtol=1e-12, atol=1e-12)
    lap = float(sum(sp.diff(_SMOOTH.log_density, w, 2) for w in (x, y)).subs(vals))
    assert smooth_numpy.divergence(X, [m, s])[0] == pytest.approx(lap, rel=1e-11, abs=1e-11)
